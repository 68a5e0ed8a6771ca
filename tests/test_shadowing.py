"""Nothing in the working directory (or on PYTHONPATH) replaces mpipanel's packages or the standard
library in the servers and workers a client starts, nor in `python -m core`'s ranks, while the user's
own modules there stay importable in commands."""
from __future__ import annotations

import json

import pytest

from mpi_helpers import REPO, run_mpiexec, run_python, script_file

CLIENT = """
    import json, sys
    sys.path.insert(0, {repo!r})  # the client's own copy, as an installed package would be found
    import core
    from core import MPICommandClient
    from core.console.host import ConsoleHost
    client = MPICommandClient(servers=2, print_output=False, session_log=False)
    client.start_services()
    answers = client.push_command_request(
        "(__import__('core').__file__, __import__('helper_module').VALUE)", block=True, target_server=[1, 2])
    console = ConsoleHost(client)
    on_client = console.run("__import__('helper_module').VALUE").result(60)
    console.close()
    print(json.dumps({{"client": core.__file__, "servers": [a["ret"] for a in answers],
                       "tracebacks": [a["traceback"] for a in answers],
                       "client_side": [on_client["ret"], on_client["traceback"]]}}))
    client.stop_services()
"""

PLANTED = '''\
"""Planted under a standard library name: leaves a mark, then hands over to the real module."""
import os, sys
_here = os.path.dirname(os.path.abspath(__file__))
open(os.path.join(_here, f"planted-{__name__}-ran-in-{os.getpid()}"), "w").close()
_saved = sys.path[:]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules[__name__]
try:
    _real = __import__(__name__)
finally:
    sys.path[:] = _saved
sys.modules[__name__] = _real
'''
PLANTED_NAMES = ("socket", "selectors")
"""Standard modules that core imports after start-up (`struct`, the issue's example, is loaded at
start-up here by a `.pth` file, so no planted copy of it could run)."""


@pytest.fixture
def hostile(tmp_path):
    """A working directory and a PYTHONPATH entry whose `core` and `app` refuse to be imported, a
    working directory with standard modules planted in it, and a module of the user's own there
    that commands may import."""
    for place in ("cwd", "pythonpath"):
        for package in ("core", "app"):
            folder = tmp_path / place / package
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text(f"raise ImportError('the {place} {package} was imported')\n")
    for name in PLANTED_NAMES:
        (tmp_path / "cwd" / f"{name}.py").write_text(PLANTED)
    (tmp_path / "cwd" / "helper_module.py").write_text("VALUE = 'from the working directory'\n")
    script = script_file(tmp_path, CLIENT.format(repo=str(REPO)), "client_script.py")
    env = {"PYTHONPATH": str(tmp_path / "pythonpath")}
    return script, tmp_path / "cwd", env


def _check(result, cwd) -> None:
    assert result.returncode == 0, result.stderr
    seen = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    expected = str(REPO / "core" / "__init__.py")
    assert seen["tracebacks"] == [None, None]
    assert seen["client"] == expected
    assert seen["servers"] == [[expected, "from the working directory"]] * 2
    assert seen["client_side"] == ["from the working directory", None]
    assert sorted(path.name for path in cwd.glob("planted-*")) == []


def test_spawned_servers_and_workers_import_the_clients_core_and_the_real_standard_library(hostile):
    script, cwd, env = hostile
    _check(run_python(str(script), cwd=cwd, env=env, timeout=120), cwd)


def test_mpiexec_servers_and_workers_import_the_clients_core_and_the_real_standard_library(hostile):
    script, cwd, env = hostile
    _check(run_mpiexec(3, str(script), cwd=cwd, env=env, timeout=120), cwd)


def test_python_m_core_ranks_import_the_real_standard_library_from_a_working_directory(tmp_path):
    """`mpiexec -n 3 python -m core script.py` started where standard modules were planted: no rank,
    worker or client-side worker runs them (a `core/` folder there would still be run: Python finds
    the package `-m` names before any code of ours can run)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in PLANTED_NAMES:
        (cwd / f"{name}.py").write_text(PLANTED)
    (cwd / "helper_module.py").write_text("VALUE = 'from the working directory'\n")
    script = script_file(tmp_path, """
        import json
        from core import MPICommandClient
        from core.console.host import ConsoleHost
        client = MPICommandClient()
        client.start_services()
        answers = client.push_command_request("__import__('helper_module').VALUE", block=True)
        console = ConsoleHost(client)
        on_client = console.run("__import__('helper_module').VALUE").result(60)
        console.close()
        print(json.dumps([answers[0]["ret"], on_client["ret"]]))
    """, "client_script.py")
    result = run_mpiexec(3, "-m", "core", str(script), cwd=cwd, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == ["from the working directory"] * 2
    assert sorted(path.name for path in cwd.glob("planted-*")) == []
