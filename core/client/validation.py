"""Checks on what a caller passes to the client, done before anything is queued.

Each check raises ValueError or TypeError with a message that names the bad argument, so a
mistake costs an exception at the call and never a half-sent batch.
"""
from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from core.wire import blobs
from core.worker.execution import compile_command


def check_command(command: Any) -> str:
    if not isinstance(command, str):
        raise TypeError(f"command must be a string of Python code, not {type(command).__name__}")
    problem = _syntax_problem(command)
    if problem:
        raise ValueError(problem)
    return command


@functools.lru_cache(maxsize=512)
def _syntax_problem(command: str) -> str | None:
    """Why `command` cannot run, or None; cached because scripts repeat their commands."""
    if not command.strip():
        return "command is empty"
    try:
        compile_command(command)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return f"command has a syntax error at {where}: {exc.msg}"
    return None


def check_preload(preload: Any) -> str | None:
    """The preload's code: `preload` itself, or the text of the .py file it names (read here, on
    the client, so that servers on other hosts need no copy). Its syntax is checked now."""
    if preload is None:
        return None
    if isinstance(preload, os.PathLike) or (isinstance(preload, str) and _names_a_file(preload)):
        path = Path(preload)
        try:
            code = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"preload file {str(path)!r} cannot be read: {exc.strerror}") from None
    elif isinstance(preload, str):
        code = preload
    else:
        raise TypeError(f"preload must be code text or the path of a .py file, not {type(preload).__name__}")
    try:
        compile(code, "<preload>", "exec")
    except SyntaxError as exc:
        raise ValueError(f"preload has a syntax error at line {exc.lineno}: {exc.msg}") from None
    return code


def _names_a_file(text: str) -> bool:
    """A one-line text ending in .py is a file name (it must exist); other text is code."""
    return "\n" not in text and text.strip().endswith(".py")


def _never(rank: int) -> bool:
    return False


def check_targets(target: Any, ranks: Collection[int], is_lost: Callable[[int], bool] = _never) -> list[int | None]:
    """Normalise `target_server` to a list: [None] for the first available server, else ranks.
    `is_lost` is asked only of the ranks named (of all of them for the first available, until
    one is not lost): a push to one server of many does not look at every server's state."""
    if target is None:
        if all(is_lost(rank) for rank in ranks):
            raise RuntimeError("no server is available: all servers are lost")
        return [None]
    if isinstance(target, (list, tuple)):
        if not target:
            raise ValueError("target_server is an empty list; give None for the first available server")
        targets = list(target)
    else:
        targets = [target]
    for rank in targets:
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError(f"target_server must be None, a server rank or a list of ranks; "
                            f"got {type(rank).__name__} {rank!r}")
        if rank not in ranks:
            raise ValueError(f"target_server {rank} is not a server; the servers are {_ranges(sorted(ranks))}")
        if is_lost(rank):
            raise ValueError(f"target_server {rank} is lost and cannot take commands")
    return targets


def check_shown(shown: Any) -> str | None:
    """The text to show for a command instead of the command itself, or None."""
    if shown is not None and not isinstance(shown, str):
        raise TypeError(f"shown must be the text to show for the command (or None), not {type(shown).__name__}")
    return shown


def check_time_limit(seconds: Any) -> float | None:
    """A command's time limit (`timeout=`): None, or a positive, finite number of seconds."""
    if seconds is None:
        return None
    if not _is_number(seconds) or not 0 < seconds < math.inf:
        raise ValueError(f"timeout must be a positive number of seconds (or None), not {seconds!r}")
    return float(seconds)


def check_grace(seconds: Any, name: str = "grace") -> float:
    """Seconds a stopped command has to end before its worker is killed: zero or more, finite."""
    if not _is_number(seconds) or not 0 <= seconds < math.inf:
        raise ValueError(f"{name} must be a number of seconds, zero or more, not {seconds!r}")
    return float(seconds)


def check_retries(retries: Any) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number, zero or more, not {retries!r}")
    return retries


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_parameters(parameters: Any) -> list | None:
    """Pickle the parameters once, here, so that a value that cannot travel is named now."""
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict of names to values, not {type(parameters).__name__}")
    for name in parameters:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
    if not parameters:
        return None
    try:
        return blobs.pack(parameters)
    except Exception as exc:  # noqa: BLE001 - find the parameter to blame
        for name, value in parameters.items():
            try:
                blobs.pack(value)
            except Exception as value_exc:  # noqa: BLE001
                raise TypeError(f"parameter {name!r}: {blobs.describe_unpicklable(value, value_exc)}") from None
        raise TypeError(f"parameters cannot be pickled: {exc}") from None


def _ranges(ranks: list[int]) -> str:
    if not ranks:
        return "none"
    if ranks == list(range(ranks[0], ranks[-1] + 1)) and len(ranks) > 2:
        return f"{ranks[0]}..{ranks[-1]}"
    return ", ".join(map(str, ranks))
