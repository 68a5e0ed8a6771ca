"""`python -m benchmarks` works: it prints its table and writes the documented JSON, and a
baseline that is not installed leaves a note rather than a failure (no speed is asserted here;
the figures live in docs/benchmarks.md)."""
from __future__ import annotations

import json
import sys

from benchmarks.baselines import ipyparallel_throughput
from benchmarks.table import compare_row, format_table
from mpi_helpers import run_python

KEYS = {"name", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met", "note"}


def test_quick_bench_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run_python("-m", "benchmarks", "--quick", "--only", "startup,idle", "--json", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("machine: ")
    assert "start-up to all 4 servers ready (spawn)" in result.stdout
    assert "mpi4py.futures pool start-up" in result.stdout
    data = json.loads(out.read_text())
    assert data["machine"] and data["rows"]
    for row in data["rows"]:
        assert set(row) == KEYS
    startup = next(row for row in data["rows"] if row["name"].startswith("start-up"))
    assert startup["value"] > 0 and startup["baseline_value"] > 0 and startup["met"] in (True, False)
    idle = [row for row in data["rows"] if row["name"].startswith("idle CPU over")]
    assert {row["name"].split(", ")[-1] for row in idle} == {"client", "server 1", "server 2", "worker 1", "worker 2"}


def test_gui_figures_are_measured_on_the_real_window():
    result = run_python("-m", "benchmarks.gui", "click", "3", env={"QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["median_ms"] > 0 and figures["max_ms"] >= figures["median_ms"]


def test_session_figures_attach_from_another_process():
    attached = run_python("-m", "benchmarks.sessions", "attach", "2", "200", "2", timeout=300)
    assert attached.returncode == 0, attached.stderr
    figures = json.loads(attached.stdout.strip().splitlines()[-1])
    assert figures["commands"] == 200 and figures["max_seconds"] >= figures["seconds"] > 0
    clicked = run_python("-m", "benchmarks.sessions", "click", "30", timeout=300)
    assert clicked.returncode == 0, clicked.stderr
    assert set(json.loads(clicked.stdout.strip().splitlines()[-1])) == {"attached_us", "embedded_us", "window_us"}


def test_missing_optional_baseline_is_noted_as_not_measured(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipyparallel", None)  # what `import ipyparallel` meets when absent
    theirs = ipyparallel_throughput(1, 10)
    row = compare_row("throughput", "cmd/s", {"per_s": 5000.0}, "per_s", "ipyparallel load-balanced view", theirs,
                      "per_s", "≥ 10×", lambda v, b: v / b, lambda r: r >= 10)
    assert (row.value, row.ratio, row.met) == (5000.0, None, None)
    assert row.note == "not measured: install mpipanel[bench]"
    assert "not measured: install mpipanel[bench]" in format_table([row])


def test_unknown_group_is_refused_with_the_known_ones():
    result = run_python("-m", "benchmarks", "--only", "rtt,speed", timeout=60)
    assert result.returncode == 2
    known = "rtt, throughput, bandwidth, idle, startup, gui, console, sessions, scale, casa, jupyter"
    assert f"unknown group(s) speed; known: {known}" in result.stderr


def test_casa_figures_where_casa_is_missing_are_noted_as_not_measured(monkeypatch, tmp_path):
    from benchmarks.casa import data
    monkeypatch.setattr("core.casa.offline.missing_casa", lambda: "casatools not installed (simulated)")
    assert data(str(tmp_path), 16) == {"skipped": "not measured: casatools not installed (simulated)"}
