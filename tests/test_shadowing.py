"""A user's own `core/` or `app/` folder, in the working directory or on PYTHONPATH, never replaces
mpipanel's packages in the servers and workers a client starts (they import the client's copy)."""
from __future__ import annotations

import json

import pytest

from mpi_helpers import REPO, run_mpiexec, run_python, script_file

CLIENT = """
    import json, sys
    sys.path.insert(0, {repo!r})  # the client's own copy, as an installed package would be found
    import core
    from core import MPICommandClient
    client = MPICommandClient(servers=2, print_output=False, session_log=False)
    client.start_services()
    answers = client.push_command_request(
        "(__import__('core').__file__, __import__('helper_module').VALUE)", block=True, target_server=[1, 2])
    print(json.dumps({{"client": core.__file__, "servers": [a["ret"] for a in answers],
                       "tracebacks": [a["traceback"] for a in answers]}}))
    client.stop_services()
"""


@pytest.fixture
def hostile(tmp_path):
    """A working directory and a PYTHONPATH entry whose `core` and `app` refuse to be imported,
    beside a module of the user's own that commands may import."""
    for place in ("cwd", "pythonpath"):
        for package in ("core", "app"):
            folder = tmp_path / place / package
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text(f"raise ImportError('the {place} {package} was imported')\n")
    (tmp_path / "cwd" / "helper_module.py").write_text("VALUE = 'from the working directory'\n")
    script = script_file(tmp_path, CLIENT.format(repo=str(REPO)), "client_script.py")
    env = {"PYTHONPATH": str(tmp_path / "pythonpath")}
    return script, tmp_path / "cwd", env


def _check(result) -> None:
    assert result.returncode == 0, result.stderr
    seen = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    expected = str(REPO / "core" / "__init__.py")
    assert seen["tracebacks"] == [None, None]
    assert seen["client"] == expected
    assert seen["servers"] == [[expected, "from the working directory"]] * 2


def test_spawned_servers_and_their_workers_import_the_clients_core(hostile):
    script, cwd, env = hostile
    _check(run_python(str(script), cwd=cwd, env=env, timeout=120))


def test_mpiexec_servers_and_their_workers_import_the_clients_core(hostile):
    script, cwd, env = hostile
    _check(run_mpiexec(3, str(script), cwd=cwd, env=env, timeout=120))
