"""The modules this layer tests load neither MPI nor Qt, so the layer runs anywhere, first."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PURE_MODULES = ["core.client.ledger", "core.client.validation", "core.supervision.output_batch", "core.server.staging",
                "core.events", "core.sessions.literals", "core.sessions.recorded", "core.sessions.session_script",
                "core.wire.blobs", "core.client.data_moves", "core.client.result_budget",
                "core.client.namespace_watch", "core.worker.namespace_summary", "app.rank_ranges",
                "core.futures", "benchmarks.compare"]
REPO = Path(__file__).resolve().parents[2]


def test_the_pure_modules_import_neither_mpi4py_nor_a_qt_binding():
    code = (f"import sys\nimport {', '.join(PURE_MODULES)}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mpi4py', 'PySide6', 'shiboken6')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")
