"""The rows `python -m benchmarks` prints and writes: a figure, its baseline, their ratio, the
target and whether it is met, and the machine they were measured on; and which way each unit
is better, for `--compare`."""
from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil


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


BETTER = {"µs": "lower", "ms": "lower", "s": "lower", "% of a core": "lower", "cmd/s": "higher", "MB/s": "higher"}
"""Which way a figure in each unit is better: the one place `--compare` learns it from."""


def not_measured(result: dict) -> str:
    """Why a measurement process gave no figure ('' if it gave one)."""
    return result.get("error") or result.get("skipped") or ""


def compare_row(name: str, unit: str, ours: dict, key: str, baseline_name: str, theirs: dict,
                baseline_key: str, target: str, ratio: Callable[[float, float], float],
                met: Callable[[float], bool]) -> Row:
    """Our figure beside a baseline's; either may be missing, and the note then says why."""
    if not_measured(ours):
        return Row(name, None, unit, note=not_measured(ours))
    if not_measured(theirs):
        return Row(name, ours[key], unit, baseline_name, target=target, note=not_measured(theirs))
    value, base = ours[key], theirs[baseline_key]
    r = ratio(value, base)
    return Row(name, value, unit, baseline_name, base, r, target, met(r))


def target_row(name: str, result: dict, key: str, unit: str, target: str, met: Callable[[float], bool],
               note: str) -> Row:
    """A figure with a target and no baseline; `note` is used only when it was measured."""
    if not_measured(result):
        return Row(name, None, unit, target=target, note=not_measured(result))
    return Row(name, result[key], unit, target=target, met=met(result[key]), note=note)


def machine() -> str:
    try:
        import mpi4py
        from mpi4py import MPI
        mpi = f"{MPI.Get_library_version().strip().splitlines()[0]}, mpi4py {mpi4py.__version__}"
    except ImportError:
        mpi = "no MPI"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
            f"Python {platform.python_version()}; {mpi}")


def format_table(rows: list[Row]) -> str:
    headers = ("figure", "value", "unit", "baseline", "baseline value", "ratio", "target", "met", "note")
    return columns(headers, [[r.name, number(r.value), r.unit, r.baseline, number(r.baseline_value),
                              "" if r.ratio is None else f"{r.ratio:.2f}×", r.target,
                              "" if r.met is None else ("yes" if r.met else "NO"), r.note] for r in rows])


def columns(headers: tuple[str, ...], cells: list[list[str]]) -> str:
    """Plain-text columns, as wide as their widest cell, under a ruled header."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *cells)]

    def line(values) -> str:
        return "  ".join(str(v).ljust(w) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(headers), line("-" * w for w in widths), *map(line, cells)])


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
