"""The unit layer: pure logic, no MPI, no Qt, no processes; the whole layer runs in seconds."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def no_orphan_servers():
    """Unit tests start no server, so there are no leftovers to look for (overrides tests/conftest.py)."""
    yield
