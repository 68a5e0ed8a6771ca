"""Shared fixtures: real spawned MPI servers, and the no-orphans check after the run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpi_helpers import server_processes, started_client, wait_for_no_servers
from services import SlurmCluster, service_problem, sshd_login
from xvfb_display import missing_programs, running_xvfb

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

UNIT = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(items):
    """The unit layer runs first: broken pure logic shows in seconds, before any server starts."""
    items.sort(key=lambda item: UNIT not in item.path.parents)


@pytest.fixture(scope="session", autouse=True)
def no_orphan_servers():
    """Tag every process this run starts, and check at the end that none of them outlived it."""
    os.environ["MPIPANEL_TEST_RUN"] = str(os.getpid())
    yield
    assert wait_for_no_servers(), f"server processes left running: {server_processes()}"


@pytest.fixture(scope="module")
def client():
    """Two isolated servers spawned from this test process, shared by a module's tests."""
    with started_client(2) as c:
        yield c


@pytest.fixture
def xvfb():
    """A real X server: (its process, the DISPLAY to reach it)."""
    if missing := missing_programs():
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install xvfb x11-utils)")
    with running_xvfb() as server_and_display:
        yield server_and_display


def _needs(service: str) -> None:
    if problem := service_problem(service):
        pytest.skip(problem)


@pytest.fixture
def slurm(tmp_path):
    """A one-node Slurm cluster (tests/services.py) to sbatch jobs to; this test's unended jobs are
    cancelled afterwards."""
    _needs("slurm")
    cluster = SlurmCluster(tmp_path)
    yield cluster
    cluster.cancel_all()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """The test sshd on 127.0.0.1:2222 (tests/services.py), as an SshLogin with this run's own ssh config."""
    _needs("sshd")
    return sshd_login(tmp_path_factory.mktemp("ssh"))
