"""The client-side worker's channel: `core.worker`'s frames, plus calls answered by rank 0.

While a command runs in rank 0's client-side worker, its code may call the session's client
(`core.console.proxy`): a CALL frame goes to rank 0 (`core.console.host`) and the caller waits for
the REPLY with the same number. One thread reads every frame off the socket and hands replies to
their callers and everything else to `receive` (the worker's loop), so a caller waits on an event,
not on the socket: an Interrupt (SIGINT, raising KeyboardInterrupt anywhere) then never leaves half
a frame unread, and the reply to an abandoned call is dropped by its number when it comes. The
same thread hands EVENT frames (events about the commands this process pushed, once it has
subscribed) to `subscribers`.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import signal
import threading
from typing import Any

from core.wire import blobs
from core.wire.messages import WorkerKind
from core.wire.worker_channel import FrameChannel

_log = logging.getLogger(__name__)


class _Call:
    def __init__(self) -> None:
        self.answered = threading.Event()
        self.raised = False
        self.buffers: list = []


class CallingChannel:
    def __init__(self, channel: FrameChannel):
        self.channel = channel
        self._frames: queue.SimpleQueue = queue.SimpleQueue()
        self._calls: dict[int, _Call] = {}
        self._numbers = itertools.count(1)
        self._closed = False
        self.subscribers: list = []
        """Callables given each event of an EVENT frame, on the reading thread."""
        threading.Thread(target=self._read, name="mpipanel-console-reader", daemon=True).start()

    def send(self, kind: int, payload: Any, buffers: list | tuple = (), lend: bool = False) -> bool:
        return self.channel.send(kind, payload, buffers, lend)

    def receive(self) -> tuple[int, Any, list]:
        frame = self._frames.get()
        if frame is None:
            raise EOFError("rank 0 closed the client-side worker's channel")
        return frame

    def call(self, method: str, args: tuple, kwargs: dict, origin: str, timeout: float | None = None) -> Any:
        """Call `method` of rank 0's client and return its value, or raise what it raised.

        Blocks this thread only; raises TimeoutError after `timeout` seconds (None: no limit)."""
        buffers = blobs.pack((args, kwargs))  # an unpicklable argument fails here, in the caller
        number = next(self._numbers)
        call = self._calls[number] = _Call()
        try:
            if self._closed:
                raise ConnectionError("rank 0 has closed the client-side worker's channel")
            with _interrupts_held():
                self.channel.send(WorkerKind.CALL, (number, method, origin), buffers)
            if not call.answered.wait(timeout):
                raise TimeoutError(f"{method} did not return within {timeout:g} s")
        finally:
            self._calls.pop(number, None)
        value = blobs.unpack(call.buffers)
        if call.raised:
            raise value
        return value

    def _read(self) -> None:
        try:
            while True:
                kind, payload, buffers = self.channel.receive()
                if kind == WorkerKind.EVENT:
                    self._deliver(blobs.unpack(buffers))
                    continue
                if kind != WorkerKind.REPLY:
                    self._frames.put((kind, payload, buffers))
                    continue
                number, raised = payload
                call = self._calls.get(number)
                if call is not None:
                    call.raised, call.buffers = raised, buffers
                    call.answered.set()
        except (EOFError, OSError):
            self._closed = True
            gone = blobs.pack(ConnectionError("rank 0 has closed the client-side worker's channel"))
            for call in list(self._calls.values()):
                call.raised, call.buffers = True, gone
                call.answered.set()
            self._frames.put(None)

    def _deliver(self, event: Any) -> None:
        for subscriber in list(self.subscribers):
            try:
                subscriber(event)
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop this thread
                _log.exception("event subscriber %r failed", subscriber)


@contextlib.contextmanager
def _interrupts_held():
    """Hold SIGINT back while a frame is written: a KeyboardInterrupt half-way through would leave
    rank 0 reading a broken stream. It is delivered as soon as the frame is out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
