"""casampi 0.6.0's own `test_0_MPICommandClient`, unmodified, on mpipanel's casampi layer.

The test file comes from the casampi wheel on PyPI (LGPL, fetched at test time, never stored
here) and runs under `--casa`, which makes its `import casampi...` mpipanel's, in both launch
modes. Its other classes need CASA's test data (casatestdata) or casampi internals; the README
lists them.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.casa.offline import private_config
from mpi_helpers import run_mpiexec, run_python

pytestmark = pytest.mark.timeout(600)

CASAMPI = "casampi==0.6.0"
TEST_CLASS = "test_casampi.test_0_MPICommandClient"
TESTS_IN_CLASS = 50


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


def _check_all_passed(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-5000:]
    assert f"Ran {TESTS_IN_CLASS} tests" in result.stderr
    assert result.stderr.rstrip().endswith("OK"), result.stderr[-5000:]


def test_casampi_client_tests_pass_with_spawned_servers(casampi_tests, tmp_path):
    env = {**private_config(tmp_path), "MPIPANEL_SERVERS": "2"}
    result = run_python("-m", "core", "--casa", "-m", "unittest", TEST_CLASS, cwd=casampi_tests,
                        env=env, timeout=540)
    _check_all_passed(result)


def test_casampi_client_tests_pass_under_mpiexec(casampi_tests, tmp_path):
    result = run_mpiexec(3, "-m", "core", "--casa", "-m", "unittest", TEST_CLASS, cwd=casampi_tests,
                         env=private_config(tmp_path), timeout=540)
    _check_all_passed(result)
