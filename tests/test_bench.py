"""`python -m benchmarks` works: it prints its table and writes the documented JSON, a baseline
that is not installed leaves a note rather than a failure, and `--compare` measures a git ref
beside the working tree and leaves no worktree behind (no speed is asserted here; the figures
live in docs/benchmarks.md)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.baselines import ipyparallel_throughput
from benchmarks.table import compare_row, format_table
from mpi_helpers import REPO, run_python, server_processes, wait_for_no_servers

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


def test_ssh_figures_attach_and_flood_over_ssh_beside_the_local_socket(sshd):
    attached = run_python("-m", "benchmarks.ssh_link", "attach", "2", "100", "3", timeout=300)
    assert attached.returncode == 0, attached.stderr
    figures = json.loads(attached.stdout.strip().splitlines()[-1])
    assert figures["commands"] == 100 and figures["ssh_max_seconds"] >= figures["ssh_seconds"] > 0
    assert figures["local_seconds"] > 0
    flooded = run_python("-m", "benchmarks.ssh_link", "flood", "2", "1", "5000", timeout=300)
    assert flooded.returncode == 0, flooded.stderr
    for way in json.loads(flooded.stdout.strip().splitlines()[-1]).values():
        assert way["lines"] + way["dropped"] == way["printed"] > 0 and way["bytes_per_s"] > 0


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
    known = "rtt, throughput, bandwidth, idle, startup, gui, console, limits, sessions, ssh, scale, casa, jupyter"
    assert f"unknown group(s) speed; known: {known}" in result.stderr


def test_casa_figures_where_casa_is_missing_are_noted_as_not_measured(monkeypatch, tmp_path):
    from benchmarks.casa import data
    monkeypatch.setattr("core.casa.offline.missing_casa", lambda: "casatools not installed (simulated)")
    assert data(str(tmp_path), 16) == {"skipped": "not measured: casatools not installed (simulated)"}


COMPARE = ("-m", "benchmarks", "--compare", "HEAD", "--rounds", "1", "--quick", "--only", "rtt")
needs_git = pytest.mark.skipif(not (REPO / ".git").exists(), reason="not a git checkout")


def worktrees() -> str:
    return subprocess.run(["git", "-C", str(REPO), "worktree", "list", "--porcelain"], capture_output=True,
                          text=True, check=True).stdout


def checkout_in(output: str) -> Path:
    return Path(re.search(r"checked out in (\S+)", output).group(1))


@needs_git
@pytest.mark.timeout(600)
def test_compare_with_head_prints_a_ratio_per_figure_and_removes_its_worktree():
    result = run_python(*COMPARE, timeout=600)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("tiny command RTT, isolation 'process'"))
    assert re.search(r"µs +lower +[\d,.]+ +[\d,.]+ +\d+\.\d{3} +\d+\.\d\d–\d+\.\d\d +1/1 +no verdict from 1 pair", row)
    assert "round 1/1, working tree:" in result.stderr and "round 1/1, HEAD:" in result.stderr
    checkout = checkout_in(result.stdout)
    assert not checkout.parent.exists() and str(checkout) not in worktrees()


@needs_git
@pytest.mark.timeout(300)
def test_an_interrupted_compare_stops_its_servers_and_removes_its_worktree():
    compare = subprocess.Popen([sys.executable, *COMPARE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        checkout = checkout_in(next(line for line in compare.stdout if "checked out in" in line))
        deadline = time.monotonic() + 120
        while not server_processes() and compare.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server_processes(), "no server started"
        compare.send_signal(signal.SIGINT)
        assert compare.wait(60) != 0
    finally:
        compare.kill()
    assert wait_for_no_servers(timeout=30), server_processes()
    assert not checkout.parent.exists() and str(checkout) not in worktrees()


@pytest.mark.timeout(300)
def test_command_profile_counts_commands_batched_in_envelopes_and_handed_to_the_worker_in_datagrams(tmp_path):
    """A burst of isolated commands: several ride in one MPI envelope each way, with a doorbell byte
    for at most each envelope (on one host, only one whose receiver sleeps); the rank hands them to
    its worker through the command queue (no frame of its own) and reads one DONE frame per command."""
    out = tmp_path / "profile.json"
    result = run_python("tools/command_profile.py", "--servers", "1", "--isolation", "process", "--count", "300",
                        "--repeat", "1", "--json", str(out), cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| CPU µs |" in result.stdout
    client, rank, worker = (json.loads(out.read_text())["1 server(s), isolation 'process'"]["per_command"][role]
                            for role in ("client", "rank", "worker"))
    assert 0 < client["MPI envelopes sent"] < 1 and client["doorbell bytes written"] <= client["MPI envelopes sent"]
    assert 0 < rank["MPI envelopes sent"] < 1 and rank["doorbell bytes written"] <= rank["MPI envelopes sent"]
    assert rank["worker frames sent"] == 0 and rank["worker frames received"] == worker["worker frames sent"] == 1.0
    assert all(role["CPU µs"] > 0 and role["wake-ups (voluntary switches)"] > 0 for role in (client, rank, worker))


@pytest.mark.timeout(300)
def test_round_trip_stamps_cut_a_round_trip_into_segments_of_the_client_and_its_rank():
    """Every segment is stamped and positive but the rank's detection, which may be; together
    they make the round trip; a wrapped function's entry comes before its exit, in its process."""
    result = run_python("tools/round_trip_stamps.py", "--rounds", "1", "--count", "300",
                        "--wrap", "core.server.rank:Server._start", cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    number, tree, *segments = lines[1].split()
    segments = [float(value) for value in segments]
    assert (number, tree, len(segments)) == ("1", "0", 8)
    push_to_send, send, to_got, rank, rank_send, back, to_return, round_trip = segments
    assert min(push_to_send, send, rank, rank_send, back, to_return) > 0
    assert round_trip == pytest.approx(sum(segments[:-1]), rel=0.3)
    offsets = {line.split()[-1]: float(line.split()[1]) for line in lines if "Server._start" in line}
    assert 0 <= offsets["Server._start>"] < offsets["Server._start<"]
