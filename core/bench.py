"""`python -m core.bench`: mpipanel's speed beside its baselines, measured in the same run.

Every figure runs in its own process (`core.bench_figures`, `core.bench_baselines`,
`app.bench_gui`), so that one cannot disturb another and MPI starts fresh each time. The table
gives each figure, its baseline, their ratio, the target and whether it is met; `--json FILE`
writes the same rows. Absolute times on a shared 2-core VM are noisy; ratios hold better.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 900


@dataclass
class Row:
    name: str
    value: float | None
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


def run_child(args: list[str], mpiexec: int = 0) -> dict:
    """Run one measurement process and return the JSON it printed (or {'error': ...})."""
    command = [sys.executable, "-m", *args]
    if mpiexec:
        launcher = Path(sys.executable).with_name("mpiexec")
        command = [str(launcher if launcher.exists() else "mpiexec"), "-n", str(mpiexec), *command]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(lines[-1])


def compare_row(name: str, unit: str, ours: dict, key: str, baseline_name: str, theirs: dict,
                baseline_key: str, target: str, ratio: Callable[[float, float], float],
                met: Callable[[float], bool]) -> Row:
    if "error" in ours or "skipped" in ours:
        return Row(name, None, unit, note=ours.get("error") or ours.get("skipped"))
    if "error" in theirs or "skipped" in theirs:
        return Row(name, ours[key], unit, baseline_name, None, None, target, None,
                   theirs.get("error") or theirs.get("skipped"))
    value, base = ours[key], theirs[baseline_key]
    r = ratio(value, base)
    return Row(name, value, unit, baseline_name, base, r, target, met(r))


def measure(quick: bool, only: set[str] | None) -> list[Row]:
    rounds = 2_000 if quick else 20_000
    count = 2_000 if quick else 10_000
    idle_seconds = 2.0 if quick else 5.0
    big = 100_000_000
    rows: list[Row] = []

    def wanted(group: str) -> bool:
        return only is None or group in only

    if wanted("rtt"):
        raw = run_child(["core.bench_baselines", "pingpong"], mpiexec=2)
        futures = run_child(["core.bench_baselines", "futures_rtt", "1"])
        for isolation, limit in (("none", 3), ("process", 6)):
            ours = run_child(["core.bench_figures", "rtt", isolation, str(rounds)])
            rows.append(compare_row(f"tiny command RTT, isolation '{isolation}'", "µs", ours, "rtt_us",
                                    "raw mpi4py ping-pong", raw, "rtt_us", f"≤ {limit}×",
                                    lambda v, b: v / b, lambda r, limit=limit: r <= limit))
            rows.append(compare_row(f"tiny command RTT, isolation '{isolation}'", "µs", ours, "rtt_us",
                                    "mpi4py.futures submit().result()", futures, "rtt_us", "≥ 5× faster",
                                    lambda v, b: b / v, lambda r: r >= 5))
        idle = run_child(["core.bench_figures", "idle_rtt", "process", "3" if quick else "5"])
        rows.append(Row("RTT after 1 s idle (median of samples)", idle.get("ms"), "ms", target="≤ 2 ms",
                        met=idle["ms"] <= 2 if "ms" in idle else None,
                        note=idle.get("error", f"max {idle.get('max_ms', 0):.2f} ms")))
    if wanted("throughput"):
        for servers in (1, 2):
            futures = run_child(["core.bench_baselines", "futures_throughput", str(servers), str(count)])
            ipp = run_child(["core.bench_baselines", "ipyparallel_throughput", str(servers), str(count // 5)])
            # Both peers run tasks in the process that talks to the client, as isolation 'none' does.
            for isolation in ("process", "none"):
                ours = run_child(["core.bench_figures", "throughput", str(servers), str(count), isolation])
                name = f"throughput, {count:,} tiny commands, {servers} server(s), isolation '{isolation}'"
                rows.append(compare_row(name, "cmd/s", ours, "per_s", "mpi4py.futures submit", futures, "per_s",
                                        "≥ 2×", lambda v, b: v / b, lambda r: r >= 2))
                if "cpu_us_per_command" in ours:  # what caps throughput once the cores are busy
                    rows[-1].note = f"{ours['cpu_us_per_command']:.0f} µs CPU per command, all processes"
                rows.append(compare_row(name, "cmd/s", ours, "per_s", "ipyparallel load-balanced view", ipp,
                                        "per_s", "≥ 10×", lambda v, b: v / b, lambda r: r >= 10))
    if wanted("bandwidth"):
        ours = run_child(["core.bench_figures", "big_result", str(big)])
        for keep, baseline_name in (("discard", "raw mpi4py Send/Recv"),
                                    ("keep", "raw Send/Recv keeping each array, as the client does")):
            raw = run_child(["core.bench_baselines", "buffer", str(big), keep], mpiexec=2)
            rows.append(compare_row("100 MB numpy result (median of 5)", "MB/s", ours, "mb_per_s", baseline_name,
                                    raw, "mb_per_s", "≥ 0.5×", lambda v, b: v / b, lambda r: r >= 0.5))
        if "best_mb_per_s" in ours:
            rows[-1].note = f"best {ours['best_mb_per_s']:,.0f} MB/s"
    if wanted("idle"):
        ours = run_child(["core.bench_figures", "idle", "2", str(idle_seconds)])
        futures = run_child(["core.bench_baselines", "futures_idle", "2", str(idle_seconds)])
        if "cpu_percent" in ours:
            for process, percent in ours["cpu_percent"].items():
                rows.append(Row(f"idle CPU over {idle_seconds:g} s, {process}", percent, "% of a core",
                                target="≤ 1%", met=percent <= 1))
        else:
            rows.append(Row("idle CPU", None, "% of a core", note=ours.get("error", "")))
        if "cpu_percent" in futures:
            worst = max(futures["cpu_percent"].values())
            rows.append(Row("idle CPU, mpi4py.futures (reference, busiest process)", worst, "% of a core"))
    if wanted("startup"):
        for servers in (4,) if quick else (4, 32):
            ours = run_child(["core.bench_figures", "startup", str(servers)])
            futures = run_child(["core.bench_baselines", "futures_startup", str(servers)])
            rows.append(compare_row(f"start-up to all {servers} servers ready (spawn)", "s", ours, "seconds",
                                    "mpi4py.futures pool start-up", futures, "seconds", "≤ 1.5×",
                                    lambda v, b: v / b, lambda r: r <= 1.5))
    if wanted("gui"):
        seconds = "3.0" if quick else "10.0"
        stall = run_child(["app.bench_gui", "stall", "4", seconds, "50000"])
        rows.append(Row("GUI: longest main-thread stall, 4 servers × 50k lines/s", stall.get("longest_stall_ms"),
                        "ms", target="< 50 ms", met=stall["longest_stall_ms"] < 50 if "longest_stall_ms" in stall else None,
                        note=stall.get("error", f"memory grew {stall.get('memory_growth_mb', 0):.0f} MB; "
                                                f"{stall.get('lines_seen', 0):,} lines")))
        shown = run_child(["app.bench_gui", "big_result", str(big), "3"])
        rows.append(Row("GUI: 100 MB array result, Run to shown (median of 3)", shown.get("median_ms"), "ms",
                        note=shown.get("error", f"longest stall {shown.get('longest_stall_ms', 0):.0f} ms")))
        idle = run_child(["app.bench_gui", "idle", "4", str(idle_seconds)])
        rows.append(Row(f"GUI: the window's process idle over {idle_seconds:g} s, 4 servers (live chart)",
                        idle.get("cpu_percent"), "% of a core", note=idle.get("error", "")))
        click = run_child(["app.bench_gui", "click", "10" if quick else "30"])
        rows.append(Row("GUI: Run click to result in the pane (median)", click.get("median_ms"), "ms",
                        target="< 20 ms", met=click["median_ms"] < 20 if "median_ms" in click else None,
                        note=click.get("error", f"max {click.get('max_ms', 0):.1f} ms")))
    if wanted("scale"):
        if not quick:
            scaled = run_child(["core.bench_figures", "scale", "32", "500"])
            if "one_us" in scaled:
                rows.append(Row("RTT with 32 servers (oversubscribed), one server", scaled["one_us"], "µs"))
                rows.append(Row("RTT with 32 servers, each in turn", scaled["round_robin_us"], "µs"))
            stall = run_child(["app.bench_gui", "stall", "32", "10.0", "2000"])
            rows.append(Row("GUI: longest main-thread stall, 32 servers × 2k lines/s", stall.get("longest_stall_ms"),
                            "ms", note=stall.get("error", f"memory grew {stall.get('memory_growth_mb', 0):.0f} MB")))
        for size in (1_000, 100_000, 10_000_000):
            sized = run_child(["core.bench_figures", "size_rtt", str(size), "20" if size > 1e6 else "200"])
            rows.append(Row(f"RTT, {size:,} B parameter and result", sized.get("rtt_us"), "µs",
                            note=sized.get("error", "")))
    return rows


def machine() -> str:
    try:
        from mpi4py import MPI
        mpi = MPI.Get_library_version().strip().splitlines()[0]
        import mpi4py
        mpi += f", mpi4py {mpi4py.__version__}"
    except ImportError:
        mpi = "no MPI"
    cpu = platform.processor() or platform.machine()
    try:
        import re
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    import psutil
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
            f"Python {platform.python_version()}; {mpi}")


def format_table(rows: list[Row]) -> str:
    headers = ("figure", "value", "unit", "baseline", "baseline value", "ratio", "target", "met", "note")
    cells = [[r.name, _number(r.value), r.unit, r.baseline, _number(r.baseline_value),
              "" if r.ratio is None else f"{r.ratio:.2f}×", r.target,
              "" if r.met is None else ("yes" if r.met else "NO"), r.note] for r in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *cells)]
    line = lambda values: "  ".join(str(v).ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line("-" * w for w in widths), *map(line, cells)])


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no 32-server figures (≈1 min)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--only", help="comma-separated groups: rtt, throughput, bandwidth, idle, "
                                       "startup, gui, scale")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    print(f"machine: {machine()}", flush=True)
    rows = measure(args.quick, only)
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
