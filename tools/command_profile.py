"""Where the CPU of a tiny command goes, per process: the client, the server ranks, the workers.

    python tools/command_profile.py [--servers 1 2] [--isolation process none] [--count 5000]
        [--repeat 3] [--perf] [--perf-record] [--cprofile] [--py-spy] [--top 12] [--core TREE] [--json FILE]
        [--pattern throughput|rtt]

Each session runs the `throughput` figure of `python -m benchmarks` (COUNT tiny commands pushed to
the first available server, then waited for, after a warm-up) on this tree's `core` (or on
`--core TREE`'s), and measures only that window; `--pattern rtt` runs the `rtt` figure instead
(COUNT blocking pushes to server 1, one after the other). Every figure is per command, summed
over the processes of a role:

* always (`--repeat` sessions, medians): CPU time and run-queue wait from each thread's
  `/proc/PID/task/TID/schedstat`, voluntary context switches (wake-ups: the thread blocked and was
  woken) and involuntary ones from its `status`; MPI envelopes and doorbell bytes sent, and frames
  between rank and worker, counted inside each process by `tools/command_profile_hook`;
* `--perf`: system calls by name and CPU migrations of each process (`perf stat` on its
  tracepoints, in a session of its own);
* `--cprofile`: each process's functions, one cProfile profiler per thread timing CPU, not wall
  time (a session of its own; calls per command are exact, self times are shown as profiled and
  less the profiler's own cost per call, calibrated in each process);
* `--perf-record`: each process's on-CPU samples by shared object (the kernel, libpython, libmpi,
  ...) and by symbol (`perf record`, a session of its own);
* `--py-spy`: each process's Python functions by samples (`py-spy record --nonblocking`, needs
  `pip install py-spy`). It counts a thread that is runnable but waiting for a core as active, so
  on a loaded machine it charges the wait to the call that woke it (`select`, `recv`): trust it
  only where the run-queue wait is small beside the CPU time.

Needs no change to `core`: the hook directory goes first on the session's PYTHONPATH, every
process of the session loads its `sitecustomize`, and SIGUSR1 asks each for a snapshot. The
observers (perf, py-spy) are in `tools/profile_observers.py`.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from profile_observers import Observers

REPO = Path(__file__).resolve().parent.parent
HOOK = Path(__file__).resolve().parent / "command_profile_hook"
ROLES = ("client", "rank", "worker")
SNAPSHOT_WAIT = 60.0
"""Seconds a process may take to write its snapshot: under a load average of 100 a woken process
waits seconds for a core."""
TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")
_libc = ctypes.CDLL(None, use_errno=True)


# ----- inside a session: the client process ----------------------------------------------------
def session(servers: int, isolation: str, count: int, observer: str, directory: str, pattern: str) -> dict:
    import psutil
    import sitecustomize as hook  # this tool's hook: it is first on the path

    from core import MPICommandClient

    with MPICommandClient(servers=servers, isolation=isolation, print_output=False, session_log=False) as client:
        client.get_command_response([client.push_command_request("1") for _ in range(servers * 50)], block=True)
        pids = {"client": os.getpid()}
        for rank, status in client.get_server_status().items():
            pids[f"rank {rank}"] = status["pid"]
            # The rank's child, not the status's `worker_pid`, which may be a heartbeat old.
            for worker in psutil.Process(status["pid"]).children():
                pids[f"worker {rank}"] = worker.pid
        with Observers(observer, pids, Path(directory)) as observers:
            before = _snapshot(hook, pids)
            start = time.perf_counter()
            if pattern == "rtt":
                for _ in range(count):
                    client.push_command_request("1", block=True, target_server=1)
            else:
                ids = [client.push_command_request("1") for _ in range(count)]
                client.get_command_response(ids, block=True)
            seconds = time.perf_counter() - start
            after = _snapshot(hook, pids)
            deadline = time.monotonic() + SNAPSHOT_WAIT
            while not _frames_all_read(before, after) and time.monotonic() < deadline:
                after = _snapshot(hook, pids)  # a rank had not yet read its worker's last DONE
        return {"per_s": count / seconds, "processes": {
            name: {"threads": _thread_diffs(before[name], after[name]),
                   "counts": _diff(before[name]["counts"], after[name]["counts"]),
                   "profile": _profile_diff(before[name], after[name]),
                   "observed": observers.results.get(name, {})} for name in pids}}


def _frames_all_read(before: dict, after: dict) -> bool:
    """Every rank has read what its worker sent. A worker that answers the client itself sends its
    DONE frame as the answer goes: the last response can reach the client before its rank reads
    that frame (a test saw 299 of 300 read)."""
    def frames(name: str, call: str) -> int:
        return _diff(before[name]["counts"], after[name]["counts"]).get(call, 0)
    return all(frames(name, "FrameChannel.receive") == frames(f"worker {name[5:]}", "FrameChannel.send")
               for name in after if name.startswith("rank ") and f"worker {name[5:]}" in after)


def _snapshot(hook, pids: dict[str, int]) -> dict[str, dict]:
    """Every process's hook snapshot, then its /proc figures (so the snapshot's work falls outside)."""
    paths = {}
    for name, pid in pids.items():
        if pid == os.getpid():
            paths[name] = hook.snapshot()
        else:
            paths[name] = _next_snapshot(Path(hook.DIRECTORY), pid)
            _signal_main_thread(pid, signal.SIGUSR1)
    snapshots = {name: json.loads(_wait_for(path).read_text()) for name, path in paths.items()}
    for name, pid in pids.items():
        snapshots[name]["tasks"] = _task_figures(pid)
    return snapshots


def _signal_main_thread(pid: int, signum: int) -> None:
    """Send the signal to the process's main thread, where Python runs its handlers. Sent to the
    process, it may land on another thread while the main one sleeps in a system call, which
    then sleeps on (seen under strace: the worker's lifeline thread took it)."""
    if _libc.tgkill(pid, pid, signum) != 0:
        raise ProcessLookupError(f"tgkill({pid}): errno {ctypes.get_errno()}")


def _next_snapshot(directory: Path, pid: int) -> Path:
    return directory / f"{pid}-{len(list(directory.glob(f'{pid}-*.json')))}.json"


def _wait_for(path: Path) -> Path:
    deadline = time.monotonic() + SNAPSHOT_WAIT
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot {path.name}: is {HOOK} first on the PYTHONPATH?")
        time.sleep(0.005)
    return path


def _task_figures(pid: int) -> dict[str, dict[str, float]]:
    """Each thread's CPU ns (and the kernel's part of it), run-queue wait ns and context switches."""
    tasks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run_ns, wait_ns, _ = map(int, (task / "schedstat").read_text().split())
            status = (task / "status").read_text()
            stat = (task / "stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        switches = {kind: int(re.search(rf"^{kind}_ctxt_switches:\s*(\d+)", status, re.M).group(1))
                    for kind in ("voluntary", "nonvoluntary")}
        # stat's utime and stime (fields 14 and 15) are in clock ticks: coarse, but they split user from kernel
        tasks[task.name] = {"cpu ns": run_ns, "run-queue wait ns": wait_ns, "kernel ns": int(stat[12]) * TICK_NS,
                            "user ns": int(stat[11]) * TICK_NS, "voluntary switches": switches["voluntary"],
                            "nonvoluntary switches": switches["nonvoluntary"]}
    return tasks


def _diff(before: dict, after: dict) -> dict:
    return {key: after.get(key, 0) - before.get(key, 0) for key in after}


def _thread_diffs(before: dict, after: dict) -> dict[str, dict[str, float]]:
    """Each thread's figures within the window, by its Python name (threads named alike summed)."""
    names = {str(tid): name for tid, name in after["threads"].items()}
    threads: dict[str, collections.Counter] = {}
    for tid, figures in after["tasks"].items():
        threads.setdefault(names.get(tid, "other threads"), collections.Counter()).update(
            _diff(before["tasks"].get(tid, {}), figures))
    return {name: dict(figures) for name, figures in threads.items()}


def _profile_diff(before: dict, after: dict) -> list:
    """Each function's (process-wide) calls and self seconds within the window, and its self
    seconds less the profiler's own cost for its calls and the calls it made."""
    def totals(entries):
        summed = collections.defaultdict(lambda: [0, 0.0, 0])
        for _, where, calls, inline, _total, subcalls in entries:
            row = summed[where]
            row[0] += calls
            row[1] += inline
            row[2] += subcalls
        return summed
    old, new = totals(before["profile"]), totals(after["profile"])
    cost = after["profiler cost"]
    rows = []
    for where, (calls, inline, subcalls) in new.items():
        calls, inline, subcalls = calls - old[where][0], inline - old[where][1], subcalls - old[where][2]
        if calls:
            own = inline - calls * cost.get("callee", 0) - subcalls * cost.get("caller", 0)
            rows.append([where, calls, inline, max(0.0, own)])
    return rows


# ----- outside: run the sessions and print the tables -----------------------------------------
def run_session(core: Path, servers: int, isolation: str, count: int, observer: str, cprofile: bool,
                pattern: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="mpipanel-profile-") as directory:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOOK), str(core)]),
               "MPIPANEL_PROFILE_DIR": directory, "MPIPANEL_PROFILE_CPROFILE": "1" if cprofile else "0"}
        # In a directory of its own: older trees start workers with `python -m core.worker`, which
        # would import the `core` of the working directory first (this tree's, run from here).
        done = subprocess.run([sys.executable, __file__, "--session", str(servers), isolation, str(count),
                               observer, directory, pattern], capture_output=True, text=True, env=env,
                              timeout=900, cwd=directory)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"session failed: {done.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def role(name: str) -> str:
    return name.split()[0]


def per_command(run: dict, count: int) -> dict[str, dict[str, float]]:
    """Each role's figures per command (several ranks or workers summed)."""
    table: dict[str, collections.Counter] = {}
    for name, process in run["processes"].items():
        figures = table.setdefault(role(name), collections.Counter())
        counts = process["counts"]
        tasks = collections.Counter()
        for thread in process["threads"].values():
            tasks.update(thread)
        figures["CPU µs"] += tasks["cpu ns"] / 1e3 / count
        figures["of which in the kernel µs (from ticks)"] += tasks["kernel ns"] / 1e3 / count
        for thread, own in process["threads"].items():
            figures[f"of which thread {thread} µs"] += own["cpu ns"] / 1e3 / count
        figures["run-queue wait µs"] += tasks["run-queue wait ns"] / 1e3 / count
        figures["wake-ups (voluntary switches)"] += tasks["voluntary switches"] / count
        figures["preemptions (involuntary switches)"] += tasks["nonvoluntary switches"] / count
        figures["MPI envelopes sent"] += (counts.get("Peer.send", 0) + counts.get("Peer.send_tracked", 0)) / count
        figures["MPI envelopes received"] += counts.get("envelopes received", 0) / count
        figures["doorbell bytes written"] += counts.get("Peer.ring", 0) / count
        figures["worker frames sent"] += counts.get("FrameChannel.send", 0) / count
        figures["worker frames received"] += counts.get("FrameChannel.receive", 0) / count
        if "syscalls" in process["observed"]:
            figures["system calls"] += sum(process["observed"]["syscalls"].values()) / count
            figures["CPU migrations"] += process["observed"]["cpu migrations"] / count
    return {r: dict(table[r]) for r in ROLES if r in table}


def measure(servers: int, isolation: str, args) -> dict:
    plain = [run_session(args.core, servers, isolation, args.count, "none", False, args.pattern)
             for _ in range(args.repeat)]
    tables = [per_command(run, args.count) for run in plain]
    result = {"per_s": statistics.median(run["per_s"] for run in plain),
              "per_command": {r: {figure: statistics.median(t[r].get(figure, 0) for t in tables)
                                  for figure in tables[0][r]} for r in tables[0]}}
    if args.perf:
        counted = run_session(args.core, servers, isolation, args.count, "perf", False, args.pattern)
        result["syscalls"] = _by_role(counted, lambda p: p["observed"].get("syscalls", {}), args.count)
        for r, figures in per_command(counted, args.count).items():
            for figure in ("system calls", "CPU migrations"):
                result["per_command"][r][figure] = figures[figure]
    if args.cprofile:
        profiled = run_session(args.core, servers, isolation, args.count, "none", True, args.pattern)
        result["cprofile"] = _by_role(profiled, lambda p: {where: (calls, inline, own) for where, calls, inline, own
                                                           in p["profile"]}, args.count)
    for observer, wanted, keys in (("py-spy", args.py_spy, ("self",)),
                                   ("perf-record", args.perf_record, ("libraries", "symbols"))):
        if wanted:
            sampled = run_session(args.core, servers, isolation, args.count, observer, False, args.pattern)
            result[observer] = {r: _pooled([p["observed"] for n, p in sampled["processes"].items() if role(n) == r],
                                           keys) for r in ROLES}
    return result


def _by_role(run: dict, figures, count: int) -> dict[str, dict]:
    """`figures(process)` summed over the processes of each role, per command."""
    summed: dict[str, dict] = {r: {} for r in ROLES}
    for name, process in run["processes"].items():
        into = summed[role(name)]
        for key, value in figures(process).items():
            values = value if isinstance(value, tuple) else (value,)
            old = into.get(key, (0,) * len(values))
            into[key] = tuple(o + v / count for o, v in zip(old, values))
    return summed


def _pooled(observed: list[dict], keys: tuple[str, ...]) -> dict:
    """Sample shares of several processes of a role, each weighted by its number of samples."""
    samples = sum(o.get("samples", 0) for o in observed)
    if not samples:
        return {}
    pooled = {"samples": samples}
    for key in keys:
        counts: collections.Counter = collections.Counter()
        for o in observed:
            counts.update({name: share * o["samples"] for name, share in o.get(key, {}).items()})
        pooled[key] = {name: n / samples for name, n in counts.items()}
    return pooled


def report(results: dict[str, dict], top: int) -> str:
    lines = []
    for scenario, result in results.items():
        lines += [f"### {scenario}: {result['per_s']:,.0f} commands/s", "",
                  "| per command | " + " | ".join(ROLES) + " | all |", "|---|" + "---:|" * (len(ROLES) + 1)]
        figures = list(dict.fromkeys(f for one in result["per_command"].values() for f in one))
        threads = [f for f in figures if f.startswith("of which thread")]
        figures = [f for f in figures if f not in threads]
        figures[2:2] = threads  # after CPU and its kernel part
        for figure in figures:
            values = [result["per_command"].get(r, {}).get(figure) for r in ROLES]
            lines.append(f"| {figure} | " + " | ".join(_cell(v) for v in values)
                         + f" | {_cell(sum(v or 0 for v in values))} |")
        for r in ROLES:
            if result.get("syscalls", {}).get(r):
                calls = sorted(result["syscalls"][r].items(), key=lambda kv: -kv[1][0])[:top]
                lines += ["", f"{r}: system calls per command: "
                          + ", ".join(f"{name} {n:.2f}" for name, (n,) in calls)]
            if result.get("cprofile", {}).get(r):
                rows = sorted(result["cprofile"][r].items(), key=lambda kv: -kv[1][2])[:top]
                lines += ["", f"{r}: cProfile per command: self CPU µs less the profiler's cost per call, "
                              "as profiled (in brackets), calls:",
                          *(f"    {own * 1e6:6.1f} µs ({inline * 1e6:5.1f})  {calls:6.2f}×  {where}"
                            for where, (calls, inline, own) in rows)]
            for observer, key, title in (("py-spy", "self", "py-spy, samples by function, running or runnable"),
                                         ("perf-record", "libraries", "perf record, on-CPU samples by library"),
                                         ("perf-record", "symbols", "perf record, on-CPU samples by symbol")):
                if shares := result.get(observer, {}).get(r):
                    cpu = result["per_command"][r]["CPU µs"]
                    rows = sorted(shares[key].items(), key=lambda kv: -kv[1])[:top]
                    lines += ["", f"{r}: {title} (share, × CPU µs per command; {shares['samples']:,} samples):",
                              *(f"    {share * 100:5.1f}%  {share * cpu:6.1f} µs  {where}" for where, share in rows)]
        lines.append("")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}" if value < 10 else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--isolation", nargs="+", default=["process", "none"], choices=["process", "none"])
    parser.add_argument("--count", type=int, default=5000, help="commands in each session's window")
    parser.add_argument("--repeat", type=int, default=3, help="plain sessions per case (medians)")
    parser.add_argument("--perf", action="store_true", help="system calls and CPU migrations (perf stat)")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--perf-record", action="store_true", help="on-CPU samples by library and symbol")
    parser.add_argument("--py-spy", action="store_true")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--core", type=Path, default=REPO, metavar="TREE",
                        help="the tree whose core is measured (default this one; e.g. a `git worktree` of an "
                             "older commit)")
    parser.add_argument("--json", type=Path, metavar="FILE")
    parser.add_argument("--pattern", choices=["throughput", "rtt"], default="throughput",
                        help="pushed to the first available server then waited for, or blocking pushes to server 1")
    parser.add_argument("--session", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.session:
        servers, isolation, count, observer, directory, pattern = args.session
        print(json.dumps(session(int(servers), isolation, int(count), observer, directory, pattern)))
        return 0
    print(f"core: {args.core.resolve()}; load average at the start: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = {f"{servers} server(s), isolation '{isolation}'": measure(servers, isolation, args)
               for servers in args.servers for isolation in args.isolation}
    print(report(results, args.top))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
