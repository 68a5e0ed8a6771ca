"""`python -m benchmarks`: mpipanel's speed beside its baselines, measured in the same run.

Run from a source checkout (the benchmarks are not installed with the package). Each figure group
below is one function, registered by name for `--only`; every figure in it runs in its own process
(`benchmarks.figures`, `benchmarks.baselines`, `benchmarks.gui`, `benchmarks.console`,
`benchmarks.sessions`, `benchmarks.casa`, `benchmarks.jupyter`, see `benchmarks.measurement`).
The table gives each figure, its baseline, their ratio, the target and whether it is met; `--json
FILE` writes the same rows. Absolute times on a shared 2-core VM are noisy; ratios hold better.
`--compare REF` measures this tree against a git ref in interleaved rounds (`benchmarks.compare`).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from benchmarks.checkout import commit_of
from benchmarks.compare import ROUNDS, compare
from benchmarks.measurement import REPO, core_under_test, run_child
from core.frontends.feed import MAX_HANDOVER_CHARS, OUTPUT_INTERVAL
from benchmarks.table import Row, compare_row, format_table, machine, not_measured, target_row


@dataclass(frozen=True)
class Settings:
    """How much a run measures; `--quick` is the one-minute version, `--no-baselines` leaves the
    peers out (what a `--compare` round measures)."""
    quick: bool
    rounds: int  # round trips per RTT figure
    count: int  # commands per throughput figure
    idle_seconds: float
    big: int = 100_000_000  # bytes of the large-result figures
    baselines: bool = True


FULL = Settings(quick=False, rounds=20_000, count=10_000, idle_seconds=5.0)
QUICK = Settings(quick=True, rounds=2_000, count=2_000, idle_seconds=2.0)

COMPARED = ("rtt", "throughput")
"""What `--compare` measures unless `--only` says: the command path."""

CASA_SUB_MS = 16
"""Sub-MSs of the CASA group's Multi-MS (8 scans x 2 spws: one scan each)."""

Group = Callable[[Settings], list[Row]]
_registry: dict[str, Group] = {}


def _register(group: Group) -> Group:
    _registry[group.__name__] = group
    return group


def _baseline(run: Settings, module: str, *args: object, mpiexec: int = 0) -> dict:
    """A baseline's figures, or a note that this run leaves baselines out."""
    if not run.baselines:
        return {"skipped": "baseline not measured (--no-baselines)"}
    return run_child(module, *args, mpiexec=mpiexec)


@_register
def rtt(run: Settings) -> list[Row]:
    """tiny-command round trips against raw mpi4py and mpi4py.futures, and after an idle second"""
    rows = []
    raw = _baseline(run, "baselines", "pingpong", mpiexec=2)
    futures = _baseline(run, "baselines", "futures_rtt", 1)
    for isolation, limit in (("none", 3), ("process", 6)):
        ours = run_child("figures", "rtt", isolation, run.rounds)
        name = f"tiny command RTT, isolation '{isolation}'"
        rows.append(compare_row(name, "µs", ours, "rtt_us", "raw mpi4py ping-pong", raw, "rtt_us", f"≤ {limit}×",
                                lambda v, b: v / b, lambda r, limit=limit: r <= limit))
        rows.append(compare_row(name, "µs", ours, "rtt_us", "mpi4py.futures submit().result()", futures, "rtt_us",
                                "≥ 5× faster", lambda v, b: b / v, lambda r: r >= 5))
    # 15 samples, not 5: with 5, one tree's median against another's swung from 0.78 to 1.09 between
    # runs of a morning; with 20 each, three interleaved pairs of the same trees gave 0.96-1.02.
    idle = run_child("figures", "idle_rtt", "process", 3 if run.quick else 15)
    rows.append(target_row("RTT after 1 s idle (median of samples)", idle, "ms", "ms", "≤ 2 ms",
                           lambda ms: ms <= 2, f"max {idle.get('max_ms', 0):.2f} ms"))
    return rows


@_register
def throughput(run: Settings) -> list[Row]:
    """tiny commands per second against mpi4py.futures and ipyparallel (mpipanel[bench])"""
    rows = []
    for servers in (1, 2):
        futures = _baseline(run, "baselines", "futures_throughput", servers, run.count)
        ipp = _baseline(run, "baselines", "ipyparallel_throughput", servers, run.count // 5)
        # Both peers run tasks in the process that talks to the client, as isolation 'none' does.
        for isolation in ("process", "none"):
            ours = run_child("figures", "throughput", servers, run.count, isolation)
            name = f"throughput, {run.count:,} tiny commands, {servers} server(s), isolation '{isolation}'"
            rows.append(compare_row(name, "cmd/s", ours, "per_s", "mpi4py.futures submit", futures, "per_s",
                                    "≥ 2×", lambda v, b: v / b, lambda r: r >= 2))
            rows.append(compare_row(name, "cmd/s", ours, "per_s", "ipyparallel load-balanced view", ipp,
                                    "per_s", "≥ 10×", lambda v, b: v / b, lambda r: r >= 10))
            # What caps throughput once the cores are busy.
            cpu = f"CPU per command, all processes, {servers} server(s), isolation '{isolation}'"
            if isolation == "process":
                rows.append(target_row(cpu, ours, "cpu_us_per_command", "µs", "≤ 200 µs", lambda us: us <= 200, ""))
            else:
                rows.append(Row(cpu, ours.get("cpu_us_per_command"), "µs", note=not_measured(ours)))
    return rows


@_register
def bandwidth(run: Settings) -> list[Row]:
    """a 100 MB numpy result against raw Send/Recv"""
    rows = []
    ours = run_child("figures", "big_result", run.big)
    for keep, baseline_name in (("discard", "raw mpi4py Send/Recv"),
                                ("keep", "raw Send/Recv keeping each array, as the client does")):
        raw = _baseline(run, "baselines", "buffer", run.big, keep, mpiexec=2)
        rows.append(compare_row("100 MB numpy result (median of 5)", "MB/s", ours, "mb_per_s", baseline_name,
                                raw, "mb_per_s", "≥ 0.5×", lambda v, b: v / b, lambda r: r >= 0.5))
    if "best_mb_per_s" in ours:
        rows[-1].note = f"best {ours['best_mb_per_s']:,.0f} MB/s"
    return rows


@_register
def idle(run: Settings) -> list[Row]:
    """idle CPU of every process of a session, and of an mpi4py.futures pool for reference"""
    ours = run_child("figures", "idle", 2, run.idle_seconds)
    futures = _baseline(run, "baselines", "futures_idle", 2, run.idle_seconds)
    if "cpu_percent" not in ours:
        return [Row("idle CPU", None, "% of a core", note=not_measured(ours))]
    rows = [Row(f"idle CPU over {run.idle_seconds:g} s, {process}", percent, "% of a core", target="≤ 1%",
                met=percent <= 1) for process, percent in ours["cpu_percent"].items()]
    if "cpu_percent" in futures:
        rows.append(Row("idle CPU, mpi4py.futures (reference, busiest process)",
                        max(futures["cpu_percent"].values()), "% of a core"))
    return rows


@_register
def startup(run: Settings) -> list[Row]:
    """spawning servers until all are ready, against an mpi4py.futures pool"""
    rows = []
    for servers in (4,) if run.quick else (4, 32):
        ours = run_child("figures", "startup", servers)
        futures = _baseline(run, "baselines", "futures_startup", servers)
        rows.append(compare_row(f"start-up to all {servers} servers ready (spawn)", "s", ours, "seconds",
                                "mpi4py.futures pool start-up", futures, "seconds", "≤ 1.5×",
                                lambda v, b: v / b, lambda r: r <= 1.5))
    return rows


@_register
def gui(run: Settings) -> list[Row]:
    """the real window, offscreen: stalls under an output flood, a big result, idle CPU, a click,
    the variable explorer refreshed from every server; a window attached to a session in another
    process: attaching, a click, a flood"""
    stall = run_child("gui", "stall", 4, "3.0" if run.quick else "10.0", 50_000)
    servers = 8 if run.quick else 32
    explorer = run_child("gui", "explorer", servers, 200, 5)
    answers = run_child("gui", "answers", servers, 10)
    shown = run_child("gui", "big_result", run.big, 3)
    idle = run_child("gui", "idle", 4, run.idle_seconds)
    click = run_child("gui", "click", 10 if run.quick else 30)
    attached_click = run_child("gui", "click_attached", 10 if run.quick else 30)
    attached_stall = run_child("gui", "stall_attached", 4, "3.0" if run.quick else "10.0", 50_000)
    commands = 2_000 if run.quick else 10_000
    attach = run_child("gui", "attach", 16, commands)
    return [
        target_row("GUI: longest main-thread stall, 4 servers × 50k lines/s", stall, "longest_stall_ms", "ms",
                   "< 50 ms", lambda ms: ms < 50, f"memory grew {stall.get('memory_growth_mb', 0):.0f} MB; "
                                                   f"{stall.get('lines_seen', 0):,} lines"),
        Row("GUI: 100 MB array result, Run to shown (median of 3)", shown.get("median_ms"), "ms",
            note=not_measured(shown) or f"longest stall {shown.get('longest_stall_ms', 0):.0f} ms"),
        Row(f"GUI: the window's process idle over {run.idle_seconds:g} s, 4 servers (live chart)",
            idle.get("cpu_percent"), "% of a core", note=not_measured(idle)),
        target_row("GUI: Run click to result in the pane (median)", click, "median_ms", "ms", "< 20 ms",
                   lambda ms: ms < 20, f"max {click.get('max_ms', 0):.1f} ms"),
        Row(f"GUI: longest stall, a command to {servers} servers × 200 names until the explorer shows them",
            explorer.get("longest_stall_ms"), "ms",
            note=not_measured(explorer) or f"shown in {explorer.get('median_ms', 0):.0f} ms (median of 5); "
                                           f"{explorer.get('rows', 0):,} rows"),
        Row(f"GUI: longest stall while {servers} servers answer one command at once (median of 10)",
            answers.get("median_stall_ms"), "ms",
            note=not_measured(answers) or f"max {answers.get('max_stall_ms', 0):.0f} ms"),
        target_row(f"GUI: attach a window to a session of 16 servers × {commands:,} commands until it answers", attach,
                   "usable_ms", "ms", "< 1 s", lambda ms: ms < 1000, f"{attach.get('rows', 0):,} history rows"),
        compare_row("GUI attached: Run click to result in the pane (median)", "ms", attached_click, "median_ms",
                    "the same click in the embedded window", click, "median_ms", "≤ 1.5×", lambda v, b: v / b,
                    lambda r: r <= 1.5),
        target_row("GUI attached: longest main-thread stall, 4 servers × 50k lines/s", attached_stall,
                   "longest_stall_ms", "ms", "< 50 ms", lambda ms: ms < 50,
                   f"memory grew {attached_stall.get('memory_growth_mb', 0):.0f} MB; "
                   f"{attached_stall.get('lines_seen', 0):,} lines"),
    ]


@_register
def console(run: Settings) -> list[Row]:
    """client code's commands through rank 0's client-side worker, against the window's own"""
    ours = run_child("console", "proxy_rtt", run.rounds // 4)
    name = "client-side worker: tiny command RTT through the proxy (median)"
    row = compare_row(name, "µs", ours, "proxy_us", "the same command from the window (submit().result())", ours,
                      "window_us", "≤ 2×", lambda v, b: v / b, lambda r: r <= 2)
    if "script_us" in ours:
        row.note = f"rank 0's blocking push: {ours['script_us']:.0f} µs"
    return [row]


@_register
def limits(run: Settings) -> list[Row]:
    """progress() in a tight loop on a server; the stacks of 16 busy servers, request to answer and
    request to the window's Stacks view filled"""
    calls = run_child("figures", "progress_call", 200_000 if run.quick else 2_000_000)
    stacks = run_child("figures", "stacks", 16, 5 if run.quick else 20)
    view = run_child("gui", "stacks_view", 16, 5 if run.quick else 20)
    row = compare_row("progress() in a tight loop, in a server's worker, per call", "µs", calls, "call_us",
                      "a Python function that does nothing, same loop", calls, "nothing_us", "≤ 2 µs",
                      lambda v, b: v / b, lambda r: calls["call_us"] <= 2)
    return [row, target_row("stacks() of 16 busy servers, request to answer (median)", stacks, "median_ms", "ms",
                            "< 1,000 ms", lambda ms: ms < 1000, f"max {stacks.get('max_ms', 0):.0f} ms"),
            target_row("Stacks view of 16 busy servers, Refresh to view filled and painted (median)", view,
                       "median_ms", "ms", "< 1,000 ms", lambda ms: ms < 1000,
                       f"max {view.get('max_ms', 0):.0f} ms; opening the view: {view.get('first_ms', 0):.0f} ms")]


@_register
def sessions(run: Settings) -> list[Row]:
    """attaching to a running session until the replica is built; a click's round trip from an
    attached program against the session's own client"""
    commands = 2_000 if run.quick else 10_000
    attached = run_child("sessions", "attach", 16, commands, 3 if run.quick else 5)
    click = run_child("sessions", "click", run.rounds // 10)
    rows = [target_row(f"attach to a session of {commands:,} commands, 16 servers: connect to replica built (median)",
                       attached, "seconds", "s", "< 1 s", lambda seconds: seconds < 1,
                       f"max {attached.get('max_seconds', 0):.2f} s; the snapshot took "
                       f"{attached.get('snapshot_ms', 0):.1f} ms of the session's lock"),
            compare_row("attached program: tiny blocking command RTT (median)", "µs", click, "attached_us",
                        "the session's own client, push_command_request(block=True)", click, "embedded_us",
                        "≤ 1.5×", lambda v, b: v / b, lambda r: r <= 1.5)]
    if "window_us" in click:
        rows[-1].note = f"the window's way in the session, submit().result(): {click['window_us']:.0f} µs"
    return rows


FEED_BUDGET = MAX_HANDOVER_CHARS / OUTPUT_INTERVAL
"""Characters of output a second a frontend's feed hands over at most."""


@_register
def ssh(run: Settings) -> list[Row]:
    """attaching over ssh to localhost and the bytes crossing its link under a flood, beside the
    session's local socket (needs ssh to this machine: .ci/services sshd, or MPIPANEL_BENCH_SSH)"""
    commands = 2_000 if run.quick else 10_000
    attached = run_child("ssh_link", "attach", 16, commands, 3 if run.quick else 6)
    flood = run_child("ssh_link", "flood", 4, 3 if run.quick else 6, 50_000)
    name = f"attach over ssh to a session of {commands:,} commands, 16 servers: attach to replica built (median)"
    if not_measured(attached):
        rows = [Row(name, None, "s", target="< 2 s", note=not_measured(attached))]
    else:
        ours, local = attached["ssh_seconds"], attached["local_seconds"]
        rows = [Row(name, ours, "s", "the local socket", local, ours / local, "< 2 s", ours < 2,
                    f"max {attached['ssh_max_seconds']:.2f} s; `ssh HOST true` alone took "
                    f"{attached['ssh_true_seconds']:.2f} s (median)")]
    name = "bytes/s crossing an ssh link, 4 servers × 50k lines/s each"
    if not_measured(flood):
        return [*rows, Row(name, None, "kB/s", note=not_measured(flood))]
    ours, local = flood["ssh"], flood["local"]
    return [*rows, Row(name, ours["bytes_per_s"] / 1e3, "kB/s", "the local socket", local["bytes_per_s"] / 1e3,
                       ours["bytes_per_s"] / local["bytes_per_s"], f"≤ 1.5 × the feed's {FEED_BUDGET / 1e3:.0f} kB/s",
                       ours["bytes_per_s"] <= 1.5 * FEED_BUDGET,
                       f"the flood printed {ours['printed_bytes_per_s'] / 1e3:,.0f} kB/s ({ours['printed']:,} lines); "
                       f"{ours['lines']:,} came, {ours['dropped']:,} were counted as let go")]


@_register
def scale(run: Settings) -> list[Row]:
    """round trips with 32 servers and with large payloads; a 32-server output flood (not --quick);
    the window's targets, overview and chart at 128 servers (16 with --quick)"""
    rows = []
    if not run.quick:
        scaled = run_child("figures", "scale", 32, 500)
        if "one_us" in scaled:
            rows.append(Row("RTT with 32 servers (oversubscribed), one server", scaled["one_us"], "µs"))
            rows.append(Row("RTT with 32 servers, each in turn", scaled["round_robin_us"], "µs"))
        stall = run_child("gui", "stall", 32, "10.0", 2000)
        rows.append(Row("GUI: longest main-thread stall, 32 servers × 2k lines/s", stall.get("longest_stall_ms"),
                        "ms", note=not_measured(stall) or f"memory grew {stall.get('memory_growth_mb', 0):.0f} MB"))
    servers = 16 if run.quick else 128
    cluster = run_child("gui", "cluster", servers, 6)
    rows.append(Row(f"GUI at {servers} servers: targets, overview and chart built, filled and painted",
                    cluster.get("widgets_ms"), "ms",
                    note=not_measured(cluster) or f"whole window, a pane per server: {cluster['window_ms']:.0f} ms"))
    rows.append(target_row(f"GUI: longest stall while {servers} servers' statuses arrive at once (median of 6)",
                           cluster, "median_stall_ms", "ms", "< 50 ms", lambda ms: ms < 50,
                           f"max {cluster.get('max_stall_ms', 0):.0f} ms"))
    for size in (1_000, 100_000, 10_000_000):
        sized = run_child("figures", "size_rtt", size, 20 if size > 1e6 else 200)
        rows.append(Row(f"RTT, {size:,} B parameter and result", sized.get("rtt_us"), "µs",
                        note=not_measured(sized)))
    return rows


@_register
def casa(run: Settings) -> list[Row]:
    """CASA's parallel flagdata, 16 sub-MSs, 2 servers: --casa against the real casampi (median of 3)"""
    jobs: dict[str, list[dict]] = {"mpipanel": [], "casampi": []}
    with tempfile.TemporaryDirectory(prefix="mpipanel-bench-casa-") as directory:
        data = run_child("casa", "data", directory, CASA_SUB_MS)
        for _ in range(0 if not_measured(data) else 1 if run.quick else 3):
            for which, results in jobs.items():  # in turns, so that a neighbour's load falls on both
                job = ("casa", "job", which, directory, CASA_SUB_MS)
                results.append(run_child(*job) if which == "mpipanel" else _baseline(run, *job))
    ours, theirs = (_median_job(results) if results else data for results in jobs.values())
    name = f"CASA flagdata manual, clip, summary over a {CASA_SUB_MS}-sub-MS Multi-MS, 2 servers"
    baseline = "casampi 0.6.0 (MPICH's mpiexec)"
    rows = [compare_row(f"{name}: the calls", "s", ours, "calls_s", baseline, theirs, "calls_s",
                        "≥ 3× shorter", lambda v, b: b / v, lambda r: r >= 3),
            compare_row(f"{name}: the job, mpiexec to exit", "s", ours, "process_s", baseline, theirs,
                        "process_s", "≥ 3× shorter", lambda v, b: b / v, lambda r: r >= 3)]
    if rows[0].ratio is not None:
        same = (ours["flagged"], ours["total"]) == (theirs["flagged"], theirs["total"])
        rows[0].note = (f"summaries {'agree' if same else 'DIFFER'}: {ours['flagged']:,.0f} of "
                        f"{ours['total']:,.0f} flagged ({theirs['flagged']:,.0f} under casampi)")
    return rows


@_register
def jupyter(run: Settings) -> list[Row]:
    """a tiny %%px cell on 4 servers in a real kernel, against ipyparallel's %%px on 4 engines"""
    rounds = 20 if run.quick else 100
    theirs = run_child("jupyter", "ipyparallel_px", 4, rounds)
    rows = []
    for isolation in ("process", "none"):
        ours = run_child("jupyter", "mpipanel_px", 4, rounds, isolation)
        for what, key in (("assigning (x = 1)", "statement_ms"), ("showing each server's value", "value_ms")):
            row = compare_row(f"notebook: %%px cell {what}, 4 servers, isolation '{isolation}', request to reply "
                              f"(median of {rounds})", "ms", ours, key, "ipyparallel's %%px, 4 engines (blocking)",
                              theirs, key, "≥ 5× faster", lambda v, b: b / v, lambda r: r >= 5)
            if row.ratio is not None:
                beyond = (theirs[key] - theirs["plain_ms"]) / max(ours[key] - ours["plain_ms"], 1e-3)
                row.note = (f"a plain cell costs {ours['plain_ms']:.1f} ms here ({theirs['plain_ms']:.1f} ms in "
                            f"ipyparallel's kernel); beyond it, {beyond:.1f}× faster")
            rows.append(row)
    return rows


def _median_job(results: list[dict]) -> dict:
    """The median of each figure over the runs of a job, or why one run gave none."""
    failed = [result for result in results if not_measured(result)]
    if failed:
        return failed[0]
    return {key: statistics.median(result[key] for result in results) for key in results[0]}


def _first_of_each_name(rows: list[Row]) -> dict[str, Row]:
    first: dict[str, Row] = {}
    for row in rows:
        first.setdefault(row.name, row)
    return first


def _groups(text: str) -> list[str]:
    names = text.split(",")
    unknown = [name for name in names if name not in _registry]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(_registry)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="groups:\n" + "\n".join(f"  {name:<11} {group.__doc__}" for name, group in _registry.items()))
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no 32-server figures (≈1 min)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--only", type=_groups, metavar="GROUP,...", help="measure only these groups")
    parser.add_argument("--no-baselines", action="store_true",
                        help="measure mpipanel's own figures only, not the peers' (what a --compare round runs)")
    parser.add_argument("--compare", metavar="REF",
                        help="measure this tree against git REF in interleaved rounds "
                             f"(groups {','.join(COMPARED)} unless --only; see docs/benchmarks.md)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, metavar="N",
                        help=f"with --compare: rounds, each measuring both sides (default {ROUNDS})")
    parser.add_argument("--ref-benchmarks", action="store_true",
                        help="with --compare: run REF's own benchmarks on its side, for a REF whose core this "
                             "tree's cannot drive (figures they lack are reported missing for REF)")
    args = parser.parse_args(argv)
    if args.compare:
        commit = commit_of(args.compare)
        if commit is None:
            parser.error(f"--compare: {args.compare!r} names no commit of {REPO}")
        return compare(commit, args.compare, args.only or list(COMPARED), args.rounds, args.quick,
                       args.ref_benchmarks, args.json)
    run = replace(QUICK if args.quick else FULL, baselines=not args.no_baselines)
    print(f"machine: {machine()}", flush=True)
    rows = [row for name in args.only or _registry for row in _registry[name](run)]
    if not run.baselines:  # a figure's rows then differ only in the baseline left out: one is enough
        rows = list(_first_of_each_name(rows).values())
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "core": core_under_test(),
                                         "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
