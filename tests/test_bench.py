"""`python -m core.bench` works: it prints its table and writes the documented JSON (no speed
is asserted here; the figures live in docs/benchmarks.md)."""
from __future__ import annotations

import json

from mpi_helpers import run_python

KEYS = {"name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met", "note"}


def test_quick_bench_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run_python("-m", "core.bench", "--quick", "--only", "startup,idle", "--json", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("machine: ")
    assert "start-up to all 4 servers ready (spawn)" in result.stdout and "mpi4py.futures pool start-up" in result.stdout
    data = json.loads(out.read_text())
    assert data["machine"] and data["rows"]
    for row in data["rows"]:
        assert set(row) == KEYS
    startup = next(row for row in data["rows"] if row["name"].startswith("start-up"))
    assert startup["value"] > 0 and startup["baseline_value"] > 0 and startup["met"] in (True, False)
    idle = [row for row in data["rows"] if row["name"].startswith("idle CPU over")]
    assert {row["name"].split(", ")[-1] for row in idle} == {"client", "server 1", "server 2", "worker 1", "worker 2"}


def test_gui_figures_are_measured_on_the_real_window():
    result = run_python("-m", "app.bench_gui", "click", "3", env={"QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["median_ms"] > 0 and figures["max_ms"] >= figures["median_ms"]
