"""`progress(done, total, text='')`: how far a command is, said from inside it, at a cost a tight
loop can pay; and, in a worker process, the thread that reports it and shows the worker alive.

A call only stores the latest values (one attribute store: no lock, no system call, well under
2 µs). Whoever reports them looks at most every `REPORT_INTERVAL` and sends them when they changed,
and once more when the command ends: the `Reporter` thread of a worker process, or, with isolation
'none', the rank's pump (`core.server.inline_executor`). The same thread sends a `BEAT` frame when
the worker sent nothing for `BEAT_INTERVAL` while it works: a supervisor that hears nothing for
long knows the worker's threads cannot run (C code holding the GIL, a stopped process), without
ever interrupting the command to ask.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.wire.messages import ProgressItem, WorkerKind

REPORT_INTERVAL = 0.2
"""At most five progress reports a second reach the server, whatever the command calls."""
BEAT_INTERVAL = 1.0
TEXT_LIMIT = 200
"""Characters of a progress text kept."""


class ProgressSlot:
    """The latest `progress` of the running command; its `progress` method is the builtin."""

    def __init__(self) -> None:
        self.latest: tuple[Any, Any, Any] | None = None
        self.command_id: int | None = None
        self._taken: tuple[Any, Any, Any] | None = None

    def progress(self, done, total, text="") -> None:
        """Say how far the running command is: `done` of `total` (numbers), and what it does now."""
        self.latest = (done, total, text)

    def start(self, command_id: int | None) -> None:
        """A command starts (None: no command, e.g. the preload): what came before is forgotten."""
        self.command_id = command_id
        self.latest = self._taken = None

    def take(self) -> ProgressItem | None:
        """The latest progress if it changed since last taken, else None."""
        latest = self.latest
        if latest is None or self.command_id is None or latest == self._taken:
            return None
        self._taken = latest
        done, total, text = latest
        return ProgressItem(self.command_id, _number(done), _number(total), str(text)[:TEXT_LIMIT], time.time())


def _number(value: Any) -> float:
    """A plain int or float as it is; anything else as a float (numpy's scalars: the server rank
    must be able to read the report without numpy), or NaN, so that a mistaken call never fails
    the command it reports on."""
    if type(value) in (int, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


class Reporter:
    """A worker's thread that, while the worker works, sends its progress (`PROGRESS`) and signs of
    life (`BEAT`); it sleeps while the worker is idle."""

    def __init__(self, channel, slot: ProgressSlot, on_start: Callable[[], None] = lambda: None):
        """`on_start()` runs first on the reporter's thread (the worker lets the forced stack signal reach it)."""
        self.channel = channel
        self.slot = slot
        self._on_start = on_start
        self._lock = threading.Lock()
        """Held while a report is taken and sent, so that the last one (at the end) comes last."""
        self._working = threading.Event()
        """Set while the worker works, or until the thread has seen it stopped: commands of a
        few microseconds come and go without a wake-up of this thread each."""
        self._busy = False
        self._last_sent = 0.0
        threading.Thread(target=self._run, name="mpipanel-reporter", daemon=True).start()

    def busy(self, command_id: int | None) -> None:
        """The worker starts working: a command (its id), or the preload (None)."""
        self.slot.start(command_id)
        self._last_sent = time.monotonic()
        self._busy = True
        if not self._working.is_set():
            self._working.set()

    def idle(self) -> None:
        """The work is over: its last progress goes now, before its response."""
        self._busy = False
        with self._lock:
            self._send_progress()
            self.slot.start(None)

    def _run(self) -> None:
        self._on_start()
        while True:
            self._working.wait()
            time.sleep(REPORT_INTERVAL)
            with self._lock:
                if not self._busy:
                    self._working.clear()
                    if self._busy:  # it began again meanwhile, seeing the event still set
                        self._working.set()
                    continue
                if not self._send_progress() and time.monotonic() - self._last_sent >= BEAT_INTERVAL:
                    self._send(WorkerKind.BEAT, None)

    def _send_progress(self) -> bool:
        item = self.slot.take()
        if item is not None:
            self._send(WorkerKind.PROGRESS, item)
        return item is not None

    def _send(self, kind: WorkerKind, payload) -> None:
        try:
            self.channel.send(kind, payload)
        except OSError:
            return  # the supervisor has gone; the lifeline ends this process
        self._last_sent = time.monotonic()
