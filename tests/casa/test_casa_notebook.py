"""`%mpipanel start --casa` in a real notebook: every server a casampi server, as `mpipanel --casa`."""
from __future__ import annotations

import pytest

from notebook_helpers import error_of, plain_of, run_notebook

pytest.importorskip("nbclient")
pytestmark = pytest.mark.timeout(400)


def test_a_notebook_started_with_casa_runs_in_casampis_namespace_on_its_servers(casa_config, tmp_path):
    cells = run_notebook(["%load_ext core.jupyter", "%mpipanel start --casa -n 1",
                          "%px callable(flagdata) and casalog.version() is not None",
                          "import casampi.MPIEnvironment\ncasampi.MPIEnvironment.__name__",
                          "%mpipanel stop"], tmp_path).cells
    assert [error_of(cell) for cell in cells] == [None] * len(cells)
    assert plain_of(cells[2]) == [f"Out[1:{cells[2]['execution_count']}]: True"]
    assert plain_of(cells[3]) == ["'core.casampi.MPIEnvironment'"]  # the kernel's casampi is mpipanel's
