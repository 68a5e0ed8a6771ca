"""Where a tiny command's round trip goes, stamped in the client and in its rank on one clock.

    python tools/round_trip_stamps.py [--rounds 3] [--count 3000] [--wrap MODULE:QUALNAME ...] [TREE ...]

Each session (one per TREE per round, the trees interleaved; default: this tree) starts a client
with one server, isolation 'none', and pushes COUNT blocking "1" commands to it after a warm-up.
Every process of the session loads `tools/round_trip_stamps_hook` (first on its PYTHONPATH), which
notes each envelope received and the start and end of each `Peer.send`, by tag, on
`time.perf_counter_ns()`: CLOCK_MONOTONIC, one clock for all the processes of a host. A command's
round trip is then cut into segments, each the median over the session's commands:

  push→send    the client's work from the call to its MPI send (checks, record, batch)
  send         the client's send (pickling, MPI, the board)
  →got         until the rank has received it (its poll, its receive and unpickling)
  rank         the rank's work up to its response's send, the command's run included
  rank send    the rank's send
  →back        until the client has received the response (its poll and receive)
  →return      the client's work until the push returns (the response, the events)

A segment moves by a µs or less between sessions on a quiet machine, so two trees compare well
within one run; the stamps themselves add ≈ 2 µs to the round trip. `--wrap` also notes the entry
and exit of these functions (`core.server.rank:Server._start`, …), printed as offsets from the
round's start in their process (push in the client, the command's receipt in the rank); each adds
≈ 0.6 µs to what follows it. An isolated command's worker answers the client on a path these
stamps do not see, hence isolation 'none'.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOOK = Path(__file__).resolve().parent / "round_trip_stamps_hook"
COMMAND, RESPONSE = 2, 11
"""`core.wire.messages.Tag` values, fixed here so that any tree's hook notes compare."""
WARMUP = 500
SEGMENTS = [("push→send", "push0", "c_send0"), ("send", "c_send0", "c_send1"), ("→got", "c_send1", "r_recv"),
            ("rank", "r_recv", "r_send0"), ("rank send", "r_send0", "r_send1"), ("→back", "r_send1", "c_recv"),
            ("→return", "c_recv", "push1"), ("round trip", "push0", "push1")]


def session(count: int) -> None:
    """Run in a session's client process (this tree's `core` comes first on the path)."""
    import sitecustomize as hook
    from core import MPICommandClient
    with MPICommandClient(servers=1, isolation="none", print_output=False, session_log=False) as client:
        push = client.push_command_request
        for _ in range(WARMUP):
            push("1", block=True, target_server=1)
        hook.NOTES.clear()
        for _ in range(count):
            hook.note("push0")
            push("1", block=True, target_server=1)
            hook.note("push1")


def run_session(tree: Path, count: int, wrap: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as stamps:
        env = dict(os.environ, ROUND_TRIP_STAMPS=stamps, ROUND_TRIP_WRAP=",".join(wrap),
                   PYTHONPATH=os.pathsep.join([str(tree), str(HOOK)]))
        subprocess.run([sys.executable, __file__, "--session", str(count)], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return [json.loads(path.read_text())["stamps"] for path in Path(stamps).glob("*.json")]


def _rounds(notes: list, starts) -> list[tuple[int, dict[str, list[int]]]]:
    """`(start, {what: [times]})` for each round of one process, a round starting where `starts`."""
    rounds = []
    for what, time_ns, tag in notes:
        if starts(what, tag):
            rounds.append((time_ns, collections.defaultdict(list)))
        if rounds:
            rounds[-1][1][what if what not in ("recv", "send0", "send1") else f"{what}:{tag}"].append(time_ns)
    return rounds


def analyse(processes: list[list], count: int) -> tuple[dict[str, float], list[tuple[str, str, float]]]:
    """The segments' medians (µs), and each wrapped note's median offset: (process, note, µs)."""
    client = next(notes for notes in processes if any(n[0] == "push0" for n in notes))
    rank = max((notes for notes in processes if notes is not client), key=len)
    client_rounds = _rounds(client, lambda what, tag: what == "push0")[-count:]
    rank_rounds = _rounds(rank, lambda what, tag: what == "recv" and tag == COMMAND)[-count:]
    points = []
    for (_, mine), (_, theirs) in zip(client_rounds, rank_rounds):
        try:
            points.append({"push0": mine["push0"][0], "c_send0": mine[f"send0:{COMMAND}"][0],
                           "c_send1": mine[f"send1:{COMMAND}"][0], "r_recv": theirs[f"recv:{COMMAND}"][0],
                           "r_send0": theirs[f"send0:{RESPONSE}"][0], "r_send1": theirs[f"send1:{RESPONSE}"][0],
                           "c_recv": mine[f"recv:{RESPONSE}"][0], "push1": mine["push1"][0]})
        except (KeyError, IndexError):
            continue  # a heartbeat or a stray envelope took that round's place
    segments = {name: statistics.median(p[end] - p[start] for p in points) / 1000 for name, start, end in SEGMENTS}
    offsets = []
    for role, rounds in (("client", client_rounds), ("rank", rank_rounds)):
        names = {what for _, notes in rounds for what in notes if what.endswith((">", "<"))}
        for what in names:
            offsets.append((role, what, statistics.median(notes[what][0] - start for start, notes in rounds
                                                            if what in notes) / 1000))
    return segments, sorted(offsets, key=lambda row: (row[0], row[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[REPO])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--wrap", nargs="*", default=[], metavar="MODULE:QUALNAME")
    parser.add_argument("--session", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.session:
        session(args.session)
        return
    by_tree: dict[Path, list[dict[str, float]]] = {tree: [] for tree in args.trees}
    print("round  tree  " + "  ".join(f"{name:>10s}" for name, _, _ in SEGMENTS) + "   (µs)")
    for number in range(1, args.rounds + 1):
        for tree in args.trees:
            segments, offsets = analyse(run_session(tree.resolve(), args.count, args.wrap), args.count)
            by_tree[tree].append(segments)
            print(f"{number:5d}  {args.trees.index(tree):4d}  " + "  ".join(f"{v:10.2f}" for v in segments.values()))
            for role, what, offset in offsets:
                print(f"{'':13s}{role:6s} {offset:8.2f}  {what}")
    print("median of rounds:")
    for index, (tree, rows) in enumerate(by_tree.items()):
        print(f"{'':5s}  {index:4d}  " + "  ".join(f"{statistics.median(r[name] for r in rows):10.2f}"
                                             for name, _, _ in SEGMENTS) + f"   {tree}")


if __name__ == "__main__":
    main()
