"""The `--casa` switch: `import casampi` is mpipanel's layer in the client, in every server and in
every worker, in both launch modes, and a machine without CASA is told how to install it."""
from __future__ import annotations

import pytest

from core.casa.offline import private_config
from mpi_helpers import run_mpiexec, run_python, script_file

INSTALL_HINT = "pip install 'mpipanel[casa]'"

ALIAS_SCRIPT = """
    import sys
    import casampi, casampi.MPICommandClient, core.casampi, core.casampi.MPICommandClient
    from core import MPICommandClient
    assert casampi is core.casampi and casampi.MPICommandClient is core.casampi.MPICommandClient
    assert core.casampi.__spec__.name == "core.casampi"
    client = MPICommandClient(isolation=sys.argv[1], print_output=False, session_log=False)
    client.start_services()
    client.push_command_request("import sys, casampi, casampi.private.start_mpi; "
                                "from casampi.MPIEnvironment import MPIEnvironment as E", True, [1, 2])
    probe = "casampi.__name__, E.is_mpi_enabled, E.is_mpi_client, E.mpi_processor_rank, 'mpi4py' in sys.modules"
    for response in client.push_command_request(probe, True, [1, 2]):
        assert response["successful"], response["traceback"]
        print(*response["ret"])
    client.stop_services()
"""


@pytest.mark.parametrize("launch, isolation", [("spawn", "process"), ("spawn", "none"),
                                               ("mpiexec", "process")])
def test_casampi_is_mpipanels_in_the_client_the_servers_and_the_workers(tmp_path, launch, isolation):
    script = str(script_file(tmp_path, ALIAS_SCRIPT))
    env = private_config(tmp_path)
    if launch == "spawn":
        result = run_python("-m", "core", "--casa", script, isolation, env={**env, "MPIPANEL_SERVERS": "2"},
                            cwd=tmp_path)
    else:
        result = run_mpiexec(3, "-m", "core", "--casa", script, isolation, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # A worker has no MPI, and casampi's start_mpi must not bring it; a rank running commands has.
    mpi_loaded = isolation == "none"
    assert result.stdout == f"core.casampi True False 1 {mpi_loaded}\ncore.casampi True False 2 {mpi_loaded}\n"


@pytest.fixture
def no_casa(tmp_path) -> dict[str, str]:
    """A PYTHONPATH on which `import casatools` fails, as where CASA is not installed."""
    package = tmp_path / "fake" / "casatools"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('No module named casatools (simulated)')\n")
    from mpi_helpers import REPO
    return {"PYTHONPATH": f"{tmp_path / 'fake'}:{REPO}"}


def test_casa_switch_without_casa_says_how_to_install_it(no_casa):
    result = run_python("-m", "core", "--casa", "-c", "print('ran')", env=no_casa, timeout=60)
    assert result.returncode != 0
    assert "ran" not in result.stdout
    assert INSTALL_HINT in result.stderr


def test_casa_switch_without_casa_under_mpiexec_ends_every_rank(no_casa):
    result = run_mpiexec(3, "-m", "core", "--casa", "-c", "print('ran')", env=no_casa, timeout=60)
    assert result.returncode != 0
    assert INSTALL_HINT in result.stderr


def test_mpipanel_casa_without_casa_says_how_to_install_it(no_casa):
    result = run_python("-m", "app", "--casa", env=no_casa, timeout=60)
    assert result.returncode != 0
    assert INSTALL_HINT in result.stderr
