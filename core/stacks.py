"""Where a running command is now: its threads' stacks, read without stopping it, and grouped.

A worker's supervisor has the worker write every thread's stack to a pipe with `faulthandler`
(`core.worker`): a thread of the worker's that holds the GIL meanwhile, or, while C code holds the
GIL and no Python thread could answer, faulthandler's C signal handler. `parse_faulthandler` reads that
text; with isolation 'none' the rank reads its own threads (`current_threads`). Either way
`command_threads` keeps what belongs to the command: the thread running it, cut to the command's
own calls (named `COMMAND_THREAD`), and the threads its code started, without the machinery's.

`group_stacks` groups servers by identical call path, for a view that reads "14 servers in
flagdata → … → wait_for; server 3 in …" (`describe_groups`). Pure: no I/O, no MPI; the window may
import it.
"""
from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import NamedTuple

COMMAND_THREAD = "command"
"""The name of the thread that runs the command (its stack starts at the command's own code)."""
_CORE = os.path.dirname(__file__) + os.sep
_THREADING = threading.__file__
_RUNNER = (os.path.join(_CORE, "worker", "execution.py"), "_run_command")
"""The frame that calls the command's code (`core.worker.execution.CommandRunner._run_command`)."""


class StackFrame(NamedTuple):
    file: str
    line: int | None
    """None where faulthandler could not tell ('???')."""
    function: str


class ThreadStack(NamedTuple):
    name: str
    frames: list[StackFrame]
    """Outermost call first, as a traceback lists them."""


NOT_READ = ThreadStack(COMMAND_THREAD, [StackFrame("<worker>", None, "<not readable now>")])
"""Where the running command is when its stack could not be read safely: the worker's threads
could not take it, the machine being too busy (`core.supervision.thread_states`)."""


class StackReport(NamedTuple):
    """One server's answer to `MPICommandClient.stacks()`: the threads of its running command,
    without stopping it; no threads when it runs nothing."""

    rank: int
    command_id: int | None
    threads: list[ThreadStack]


CallPath = tuple[tuple[str, str], ...]
"""A call path: `(file, function)` of each frame, outermost first; lines are left out, so that
servers in the same loop at different lines group together, and a command's own file is
`<command>` whatever its id (one push to 16 servers is 16 commands of the same text)."""

_COMMAND_FILE = re.compile(r"^<command \d+>$")
_HEADER = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-fA-F]+) \(most recent call first\):$")
_FRAME = re.compile(r'^  File "(.*)", line (\d+|\?\?\?) in (.*)$')


def parse_faulthandler(text: str) -> list[ThreadStack]:
    """The threads of `faulthandler.dump_traceback(all_threads=True)`'s text, in its order; a
    thread cut short (the dump was not complete) keeps the frames read so far."""
    threads: list[ThreadStack] = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            threads.append(ThreadStack(f"Thread {header.group(1)}", []))
            continue
        frame = _FRAME.match(line)
        if frame and threads:
            file, number, function = frame.groups()
            threads[-1].frames.insert(0, StackFrame(file, None if number == "???" else int(number), function))
    return threads


def current_threads(skip: set[int] = frozenset()) -> list[ThreadStack]:
    """This process's threads now, but those whose ident is in `skip` (the caller's own)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return [ThreadStack(names.get(ident, f"Thread 0x{ident:x}"), _frames_of(frame))
            for ident, frame in sys._current_frames().items() if ident not in skip]


def _frames_of(frame: FrameType | None) -> list[StackFrame]:
    frames = []
    while frame is not None:
        frames.append(StackFrame(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return frames[::-1]


def command_threads(threads: list[ThreadStack]) -> list[ThreadStack]:
    """The command's threads: the one running it first, named `COMMAND_THREAD` and cut to the
    command's own calls, then the others but those of the machinery, whose first call is core's
    (a worker's lifeline and reporter, the client-side worker's event thread, a worker's main
    thread between commands)."""
    command: list[ThreadStack] = []
    others: list[ThreadStack] = []
    for thread in threads:
        runner = [index for index, frame in enumerate(thread.frames) if (frame.file, frame.function) == _RUNNER]
        if runner:
            command.append(ThreadStack(COMMAND_THREAD, thread.frames[runner[-1] + 1:]))
        elif not _machinery(thread):
            others.append(thread)
    return command + others


def _machinery(thread: ThreadStack) -> bool:
    """True when the thread's first call, past `threading`'s start and a `python -c` program's
    line, is core's."""
    entry = next((frame for frame in thread.frames if frame.file not in (_THREADING, "<string>")), None)
    return entry is None or entry.file.startswith(_CORE)


def format_threads(threads: list[ThreadStack]) -> str:
    """The stacks as text read like a traceback: each thread, innermost call last."""
    blocks = []
    for thread in threads:
        lines = [f"Thread {thread.name!r} (most recent call last):"]
        lines += [f'  File "{frame.file}", line {"?" if frame.line is None else frame.line}, in {frame.function}'
                  for frame in thread.frames] or ["  (no Python frame)"]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def call_path(report: StackReport) -> CallPath:
    """The call path of the thread running the command (the first thread), () when idle."""
    if not report.threads:
        return ()
    return tuple((_COMMAND_FILE.sub("<command>", frame.file), frame.function) for frame in report.threads[0].frames)


def group_stacks(reports: list[StackReport]) -> list[tuple[CallPath, list[int]]]:
    """The reports' ranks grouped by identical call path, the largest group first (ties: the
    lowest rank first); the servers that run nothing have the empty path."""
    groups: dict[CallPath, list[int]] = {}
    for report in sorted(reports, key=lambda report: report.rank):
        groups.setdefault(call_path(report), []).append(report.rank)
    return sorted(groups.items(), key=lambda group: (-len(group[1]), group[1][0]))


def describe_path(path: CallPath, shown: int = 3) -> str:
    """'flagdata → … → wait_for': the outermost function, then the innermost `shown - 1`."""
    if not path:
        return "idle"
    names = [function for _, function in path]
    if len(names) > shown:
        names = [names[0], "…", *names[-(shown - 1):]]
    return " → ".join(names)


def describe_groups(groups: list[tuple[CallPath, list[int]]],
                    name_of: Callable[[int], str] = "server {}".format) -> str:
    """'14 servers in flagdata → … → wait_for; server 3 in …; 2 servers idle'; `name_of(rank)`
    names a group of one (the window says 'the client' for rank 0's client-side worker)."""
    return "; ".join((f"{len(ranks)} servers" if len(ranks) > 1 else name_of(ranks[0]))
                     + (f" in {describe_path(path)}" if path else " idle") for path, ranks in groups)
