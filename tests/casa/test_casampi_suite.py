"""casampi 0.6.0's own test classes that need no CASA data, unmodified, on mpipanel's casampi layer.

The test file comes from the casampi wheel on PyPI (LGPL, fetched at test time, never stored
here) and runs under `--casa`, which makes its `import casampi...` mpipanel's, in both launch
modes. The classes run in one process, in casampi's order: `test_0_MPICommandClient`,
`test_0_MPIInterface`, then `test_MPICommandServer`, which must come last (it leaves a server stuck
in `pow` for good, which the session's stop ends by killing its worker). That class also stops a
server rank (SIGSTOP) until it times out and lets it go on (SIGCONT), holds the client's GIL for
seconds (its servers must not time out for it) and suspends time-outs (casampi's debugging mode).
`test_0_MPIInterface` reads `OMPI_COMM_WORLD_LOCAL_SIZE`, which Open MPI's launcher sets and casampi
expects: the test sets it as that launcher would. casampi's other classes need CASA's test data
(casatestdata) or casampi internals; the README lists them.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.casa.offline import private_config
from mpi_helpers import run_mpiexec, run_python

pytestmark = pytest.mark.timeout(1200)

CASAMPI = "casampi==0.6.0"
TEST_CLASSES = ("test_casampi.test_0_MPICommandClient", "test_casampi.test_0_MPIInterface",
                "test_casampi.test_MPICommandServer")
TESTS = 50 + 1 + 5
RANKS = 3


@pytest.fixture(scope="module")
def casampi_tests(tmp_path_factory) -> Path:
    """A directory holding casampi's test_casampi.py, taken from the wheel `pip download` fetches."""
    directory = tmp_path_factory.mktemp("casampi")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", CASAMPI,
                    "-d", str(directory)], check=True, timeout=300)
    wheel, = directory.glob("casampi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (directory / "test_casampi.py").write_bytes(archive.read("casampi/tests/test_casampi.py"))
    return directory


def _environment(directory: Path) -> dict[str, str]:
    return {**private_config(directory), "MPIPANEL_SERVERS": str(RANKS - 1),
            "OMPI_COMM_WORLD_LOCAL_SIZE": str(RANKS)}


def _check_all_passed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-5000:]
    assert f"Ran {TESTS} tests" in result.stderr, result.stderr[-5000:]
    assert result.stderr.rstrip().endswith("OK"), result.stderr[-5000:]


def test_casampis_client_interface_and_server_tests_pass_with_spawned_servers(casampi_tests, tmp_path):
    result = run_python("-m", "core", "--casa", "-m", "unittest", *TEST_CLASSES, cwd=casampi_tests,
                        env=_environment(tmp_path), timeout=1100)
    _check_all_passed(result)


def test_casampis_client_interface_and_server_tests_pass_under_mpiexec(casampi_tests, tmp_path):
    result = run_mpiexec(RANKS, "-m", "core", "--casa", "-m", "unittest", *TEST_CLASSES, cwd=casampi_tests,
                         env=_environment(tmp_path), timeout=1100)
    _check_all_passed(result)
