"""Real Jupyter kernels (ipykernel) that load `core.jupyter` and spawn real servers: notebooks run
end to end by nbclient, and kernels driven message by message with jupyter_client where a test
must act while a cell runs (stream, interrupt, ask the kernel something)."""
from __future__ import annotations

import pytest

from notebook_helpers import Kernel

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.fixture
def bare_kernel(tmp_path):
    """A kernel with the extension loaded and no servers; shut down after the test."""
    kernel = Kernel(tmp_path)
    try:
        assert kernel.run("%load_ext core.jupyter").status == "ok"
        yield kernel
    finally:
        kernel.close()


@pytest.fixture
def kernel(bare_kernel):
    """A kernel with 2 servers started; stopped after the test."""
    started = bare_kernel.run("%mpipanel start -n 2")
    assert started.status == "ok", started.messages
    yield bare_kernel
    if bare_kernel.manager.is_alive():
        assert bare_kernel.run("%mpipanel stop").status == "ok"
