"""`python -m benchmarks --compare REF`: the working tree against a git ref, in interleaved rounds.

Both sides run the same benchmark code, a copy of this tree's `benchmarks` taken when the run
starts, each on its own `core` (`benchmarks.checkout`): a figure has one definition, whatever
REF's own benchmarks say. A round runs the groups once per side, as a process that writes the rows
as JSON (`python -m benchmarks --only GROUPS --no-baselines --json FILE`); the sides take turns
A B, then B A in the next round (ABBA), so that a neighbour's load or the machine's drift falls on
both alike. A figure's result is the median of its per-round ratios A/B, with their min–max.
`--ref-benchmarks` runs REF's own benchmarks on its side instead, for a REF whose `core` this
tree's benchmarks cannot drive; a figure REF's benchmarks lack is then missing for REF.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.checkout import Trees, checked_out, own_benchmarks
from benchmarks.table import BETTER, columns, machine, number

ROUNDS = 5
"""Enough for a median and a spread worth reading in a few minutes (rtt,throughput: ≈1 min a round)."""

JUDGED_FROM = 3
"""Fewer pairs than this give a ratio but no verdict."""

INTERRUPT_GRACE = 20.0
"""Seconds an interrupted round gets to stop its measurement process and that one's MPI servers."""


@dataclass(frozen=True)
class Measured:
    """One figure from one side's round: its value, or why there is none."""
    value: float | None
    unit: str
    note: str = ""


@dataclass(frozen=True)
class SideRun:
    """One side's run of the groups in one round: its figures by name, or why the run gave none."""
    figures: dict[str, Measured]
    error: str = ""


Round = dict[str, SideRun]
"""One round, by side: "work" and "ref"."""

SIDES = {"work": "the working tree", "ref": "REF"}


@dataclass(frozen=True)
class Side:
    """What one side runs each round: a `python -m ... --json FILE` process on one tree's `core`."""
    label: str
    core: Path
    command: list[str]
    cwd: Path
    python_path: str

    def measure(self, output: Path) -> SideRun:
        env = {**os.environ, "PYTHONPATH": self.python_path}
        returncode, stderr = _run([*self.command, "--json", str(output)], self.cwd, env)
        if returncode != 0 or not output.exists():
            return SideRun({}, (stderr.strip().splitlines() or [f"exit {returncode}"])[-1])
        run = json.loads(output.read_text())
        if Path(run.get("core", self.core)) != self.core.resolve():  # older benchmarks do not say
            raise RuntimeError(f"{self.label}: measured the core in {run['core']}, not the one in {self.core}")
        figures: dict[str, Measured] = {}
        for row in run["rows"]:  # a figure beside several baselines has a row for each
            figures.setdefault(row["name"], Measured(row["value"], row["unit"], row["note"]))
        return SideRun(figures)


@dataclass
class Comparison:
    """A figure over all rounds: each side's median, and the median and range of the pair ratios."""
    name: str
    unit: str
    work: float | None
    ref: float | None
    ratio: float | None  # median of the per-round work / ref
    low: float | None
    high: float | None
    pairs: int
    rounds: int
    note: str = ""  # why a side has no figure
    better: str = field(init=False)

    def __post_init__(self) -> None:
        self.better = BETTER.get(self.unit, "")

    @property
    def verdict(self) -> str:
        if not self.pairs:
            return self.note
        if self.pairs < JUDGED_FROM:
            return f"no verdict from {self.pairs} pair(s)"
        if self.low <= 1 <= self.high:
            return "no result: the pair ratios span 1.0"
        higher = self.low > 1
        if not self.better:
            return "higher" if higher else "lower"
        return "better" if higher == (self.better == "higher") else "WORSE"


def compare_rounds(rounds: list[Round]) -> list[Comparison]:
    """Each figure seen in any round, the working tree's first, in the order they were printed."""
    names = dict.fromkeys(name for side in SIDES for one in rounds for name in one[side].figures)
    return [_comparison(name, rounds) for name in names]


def _comparison(name: str, rounds: list[Round]) -> Comparison:
    seen = {side: [one[side].figures.get(name) for one in rounds] for side in SIDES}
    values = {side: [m.value for m in found if m and m.value is not None] for side, found in seen.items()}
    pairs = [(w.value / r.value) for w, r in zip(seen["work"], seen["ref"])
             if w and r and w.value is not None and r.value]
    unit = next(m.unit for found in seen.values() for m in found if m)
    note = "; ".join(f"missing for {label}: {_why_missing(name, [one[side] for one in rounds])}"
                     for side, label in SIDES.items() if not values[side])
    return Comparison(name, unit, *(statistics.median(values[side]) if values[side] else None
                                    for side in ("work", "ref")),
                      statistics.median(pairs) if pairs else None, min(pairs, default=None),
                      max(pairs, default=None), len(pairs), len(rounds), note)


def _why_missing(name: str, runs: list[SideRun]) -> str:
    """The last reason a side's runs gave for having no `name`."""
    for run in reversed(runs):
        found = run.figures.get(name)
        if reason := found.note if found else run.error:
            return reason
    return "not in its output"


def format_comparison(comparisons: list[Comparison], ref_label: str) -> str:
    headers = ("figure", "unit", "better", "working tree", ref_label, "ratio (median of pairs)",
               "pair ratios min–max", "pairs", "verdict")
    return columns(headers, [
        [c.name, c.unit, c.better, number(c.work), number(c.ref), _ratio(c.ratio),
         "" if c.low is None else f"{c.low:.2f}–{c.high:.2f}", f"{c.pairs}/{c.rounds}", c.verdict]
        for c in comparisons])


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.3f}"


def compare(commit: str, ref: str, groups: list[str], rounds: int, quick: bool, ref_benchmarks: bool,
            json_path: Path | None) -> int:
    """Measure the working tree and `commit` (named `ref` by the user) in `rounds` ABBA rounds,
    print the comparison and write it as JSON if asked; 130 if interrupted."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with checked_out(commit) as trees:
            sides = _sides(trees, ref, groups, quick, ref_benchmarks)
            print(f"machine: {machine()}")
            print(f"A: the working tree {trees.work}")
            print(f"B: {ref} = {commit[:12]} ({trees.subject}), checked out in {trees.ref}")
            print(f"benchmarks: this tree's on A, {'REF' if ref_benchmarks else 'this tree'}'s on B; "
                  f"groups {','.join(groups)}; {rounds} round(s), in the order AB BA AB ...")
            print(f"load average at the start: {_load()}", flush=True)
            measured = list(_rounds(sides, rounds, trees.driver.parent))
    except KeyboardInterrupt:
        print("interrupted: REF's worktree is removed", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    comparisons = compare_rounds(measured)
    print(format_comparison(comparisons, ref))
    print(f"load average at the end: {_load()}")
    if not ref_benchmarks and all(c.ref is None for c in comparisons):
        print("REF's core could not be driven by this tree's benchmarks: --ref-benchmarks runs REF's own")
    if json_path:
        json_path.write_text(json.dumps({
            "machine": machine(), "work": str(trees.work), "ref": ref, "commit": commit,
            "figures": [{**asdict(c), "verdict": c.verdict} for c in comparisons],
            "rounds": [{side: {name: m.value for name, m in run.figures.items()} for side, run in one.items()}
                       for one in measured]}, indent=2))
    return 0


def _sides(trees: Trees, ref: str, groups: list[str], quick: bool, ref_benchmarks: bool) -> dict[str, Side]:
    options = ["--only", ",".join(groups), *(["--quick"] if quick else [])]
    ours = [sys.executable, "-m", "benchmarks", *options, "--no-baselines"]
    # The working directory holds only the benchmarks: `python -m` puts it first on the path,
    # and a tree's own working directory would put its own (older) benchmarks there.
    work = Side("working tree", trees.work, ours, trees.driver, f"{trees.driver}{os.pathsep}{trees.work}")
    if ref_benchmarks:
        theirs = [sys.executable, "-m", own_benchmarks(trees.ref), *options]
        return {"work": work, "ref": Side(ref, trees.ref, theirs, trees.ref, str(trees.ref))}
    return {"work": work, "ref": Side(ref, trees.ref, ours, trees.driver, f"{trees.driver}{os.pathsep}{trees.ref}")}


def _rounds(sides: dict[str, Side], rounds: int, scratch: Path) -> Iterator[Round]:
    for index in range(rounds):
        order = ("work", "ref") if index % 2 == 0 else ("ref", "work")
        one: Round = {}
        for key in order:
            start = time.monotonic()
            one[key] = sides[key].measure(scratch / f"round-{index}-{key}.json")
            print(f"round {index + 1}/{rounds}, {sides[key].label}: {time.monotonic() - start:.0f} s"
                  + (f", failed: {one[key].error}" if one[key].error else ""), file=sys.stderr, flush=True)
        yield one


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run a round's process; if this one is interrupted, interrupt it and let it stop its own
    measurement process (and so that one's MPI servers) before the trees go. It runs in a session
    of its own, so that it gets that one interrupt, not the terminal's as well."""
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        _, stderr = child.communicate()
    except BaseException:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(INTERRUPT_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    return child.returncode, stderr


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())
