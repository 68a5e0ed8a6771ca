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
def kernel(tmp_path):
    """A kernel with the extension loaded and 2 servers started; stopped (and checked) after."""
    kernel = Kernel(tmp_path)
    try:
        assert kernel.run("%load_ext core.jupyter").status == "ok"
        started = kernel.run("%mpipanel start -n 2")
        assert started.status == "ok", started.messages
        yield kernel
        if kernel.manager.is_alive():
            assert kernel.run("%mpipanel stop").status == "ok"
    finally:
        kernel.close()
