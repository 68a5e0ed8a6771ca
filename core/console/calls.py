"""The client-side worker's channel: `core.worker`'s frames, plus calls answered by rank 0.

While a command runs in rank 0's client-side worker, its code may call the session's client
(`core.console.proxy`): a CALL frame goes to rank 0 (`core.console.host`) and the caller waits for
the REPLY with the same number. A call may also promise futures (a command's response, a data move
without blocking): the caller makes them before the call, and rank 0 resolves each with a RESOLVED
frame of the call's number once it is done, so a future never waits on a number it cannot know.

There is no reading thread in between: whichever thread needs a frame (a caller for its reply, the
worker's loop for its next request, the event thread for events) reads the socket itself if no
other thread is reading, and otherwise waits until the reader has handed it what it needs (leader
and followers). A blocking call from client code then costs one wake-up of this process, not two
(a reading thread's, then the caller's). An Interrupt (KeyboardInterrupt, raised in the main
thread) lands only while a thread waits, never while it reads a frame or hands it over
(`core.wire.interrupts`); the reply to an abandoned call is dropped by its number when it comes.

EVENT frames (events about the commands this process pushed, once it has subscribed) and RESOLVED
frames are queued and delivered on a thread of their own (to the subscribers; to the futures, whose
callbacks run there), never on a caller's: a subscriber or a callback that takes a lock its caller
holds then waits for the caller instead of deadlocking it.
"""
from __future__ import annotations

import collections
import functools
import itertools
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from core.events import notify
from core.wire import blobs, interrupts
from core.wire.messages import WorkerKind
from core.wire.worker_channel import FrameChannel


class CallingChannel:
    def __init__(self, channel: FrameChannel):
        self.channel = channel
        self._state = threading.Condition(threading.Lock())
        self._reading = False
        """True while some thread reads the socket (the leader); the others wait on `_state`."""
        self._closed = False
        self._frames: collections.deque = collections.deque()
        """Frames for `receive` (the worker's loop)."""
        self._waiting: set[int] = set()
        """Numbers of the calls whose callers still wait."""
        self._replies: dict[int, tuple[bool, list]] = {}
        self._promised: dict[int, list[Future | None]] = {}
        """By call number, the futures its answer promised that are not resolved yet."""
        self._deliveries: collections.deque[Callable[[], None]] = collections.deque()
        """Events and resolutions for the delivery thread, in the order their frames came."""
        self._delivering = False
        self._subscribers: list[Callable[[Any], None]] = []
        self._numbers = itertools.count(1)

    def send(self, kind: int, payload: Any, buffers: list | tuple = (), lend: bool = False) -> bool:
        return self.channel.send(kind, payload, buffers, lend)

    def receive(self) -> tuple[int, Any, list]:
        if not self._until(lambda: bool(self._frames)):
            raise EOFError("rank 0 closed the client-side worker's channel")
        return self._frames.popleft()

    def call(self, method: str, args: tuple, kwargs: dict, origin: str, timeout: float | None = None,
             promised: Sequence[Future] = ()) -> Any:
        """Call `method` of rank 0's client and return its value, or raise what it raised.

        Blocks this thread only; raises TimeoutError after `timeout` seconds (None: no limit).
        `promised`: futures the answer promises, in the order rank 0 resolves them (on the
        delivery thread, once each is done); forgotten if the call raises or is abandoned."""
        buffers = blobs.pack((args, kwargs))  # an unpicklable argument fails here, in the caller
        number = next(self._numbers)
        deadline = None if timeout is None else time.monotonic() + timeout
        answered = False
        try:
            with interrupts.deferred(), self._state:
                self._waiting.add(number)
                if promised:
                    self._promised[number] = list(promised)
                    self._start_delivering()
            if self._closed:
                raise ConnectionError("rank 0 has closed the client-side worker's channel")
            self.channel.send(WorkerKind.CALL, (number, method, origin), buffers)
            if not self._until(lambda: number in self._replies, deadline):
                if self._closed:
                    raise ConnectionError("rank 0 has closed the client-side worker's channel")
                raise TimeoutError(f"{method} did not return within {timeout:g} s")
            raised, buffers = self._replies.pop(number)
            answered = not raised
        finally:
            with interrupts.deferred(), self._state:
                self._waiting.discard(number)
                self._replies.pop(number, None)
                if not answered:
                    self._promised.pop(number, None)
        value = blobs.unpack(buffers)
        if raised:
            raise value
        return value

    def subscribe(self, subscriber: Callable[[Any], None]) -> Callable[[], None]:
        """Give `subscriber` each event of the EVENT frames, on the event thread; returns a
        function that stops it."""
        with interrupts.deferred(), self._state:
            self._subscribers = [*self._subscribers, subscriber]
            self._start_delivering()

        def unsubscribe() -> None:
            with interrupts.deferred(), self._state:
                self._subscribers = [s for s in self._subscribers if s is not subscriber]

        return unsubscribe

    @property
    def subscribed(self) -> bool:
        return bool(self._subscribers)

    def _start_delivering(self) -> None:
        """Start the delivery thread, once (called with `_state` held)."""
        if not self._delivering:
            self._delivering = True
            threading.Thread(target=self._deliver, name="mpipanel-console-events", daemon=True).start()

    def _until(self, ready: Callable[[], bool], deadline: float | None = None) -> bool:
        """Wait until `ready()` (checked with `_state` held), reading frames while no other thread
        does. False when the channel has closed or `deadline` (monotonic) has passed first.

        Only the waits are interruptible; the bookkeeping around them, and every taking of the
        lock, is a deferred section (`core.wire.interrupts`), so an Interrupt never leaves a
        thread marked as the reader, nor the lock taken."""
        while True:
            claimed = False
            try:
                with interrupts.deferred(), self._state:  # an interrupt held here comes after `claimed`
                    if ready():
                        return True
                    if self._closed:
                        return False
                    claimed, self._reading = not self._reading, True
                if not claimed:
                    if not self._follow(ready, deadline):
                        with interrupts.deferred(), self._state:
                            return ready()
                    continue
                readable = self._wait_readable(deadline)
                with interrupts.deferred():
                    if readable:
                        self._read_one()
                    claimed = False
                    self._resign()
            except BaseException:
                if claimed:
                    with interrupts.deferred():
                        self._resign()
                raise
            if not readable:
                with interrupts.deferred(), self._state:
                    return ready()

    def _follow(self, ready: Callable[[], bool], deadline: float | None) -> bool:
        """Wait while another thread reads, until `ready()` or it stops; False on the deadline.

        The lock is taken in a deferred section and let go in `finally`: `with` on a Condition
        can be interrupted after its lock is taken, inside `Condition.__enter__`, and then never
        lets go of it (seen: the worker's next call waited for the lock forever)."""
        held = False
        try:
            with interrupts.deferred():
                self._state.acquire()
                held = True
            while self._reading and not ready() and not self._closed:
                if not self._state.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                    return False
            return True
        finally:
            if held:
                self._state.release()

    def _read_one(self) -> None:
        try:
            frame = self.channel.receive()
        except (EOFError, OSError):
            frame = None
        with self._state:
            self._take(frame)
            self._state.notify_all()

    def _resign(self) -> None:
        with self._state:
            self._reading = False
            self._state.notify_all()

    def _wait_readable(self, deadline: float | None) -> bool:
        """Wait for a frame or the channel's end, interruptibly (nothing is read yet). Without a
        deadline, a peeking `recv` waits: woken straight in it, this process answers sooner
        than from `select` (measured on this kind of VM: a socket round trip of 44 µs, 56 µs
        through `select`). A broken channel counts as readable: reading it says it has ended."""
        if deadline is None:
            try:
                self.channel.sock.recv(1, socket.MSG_PEEK)
            except OSError:
                pass
            return True
        return bool(select.select([self.channel], [], [], max(0.0, deadline - time.monotonic()))[0])

    def _take(self, frame: tuple[int, Any, list] | None) -> None:
        """File one frame where its reader will look (called with `_state` held)."""
        if frame is None:
            self._closed = True
            closed = ConnectionError("rank 0 has closed the client-side worker's channel")
            for futures in self._promised.values():
                self._deliveries.extend(functools.partial(future.set_exception, closed)
                                        for future in futures if future is not None)
            self._promised.clear()
            return
        kind, payload, buffers = frame
        if kind == WorkerKind.REPLY:
            number, raised = payload
            if number in self._waiting:
                self._replies[number] = (raised, buffers)
        elif kind == WorkerKind.RESOLVED:
            self._take_resolved(*payload, buffers)
        elif kind == WorkerKind.EVENT:
            if self._subscribers:
                self._deliveries.append(functools.partial(self._deliver_event, buffers))
        else:
            self._frames.append(frame)

    def _take_resolved(self, number: int, index: int, raised: bool, buffers: list) -> None:
        """One promised future is done: queue its resolution (dropped if the call was abandoned)."""
        futures = self._promised.get(number)
        if futures is None or futures[index] is None:
            return
        future, futures[index] = futures[index], None
        if all(f is None for f in futures):
            del self._promised[number]
        self._deliveries.append(functools.partial(_resolve, future, raised, buffers))

    def _deliver(self) -> None:
        """The delivery thread: events to the subscribers and outcomes to the promised futures."""
        while self._until(lambda: bool(self._deliveries)):
            with self._state:
                deliveries, self._deliveries = self._deliveries, collections.deque()
            for delivery in deliveries:
                delivery()

    def _deliver_event(self, buffers: list) -> None:
        notify(self._subscribers, blobs.unpack(buffers))


def _resolve(future: Future, raised: bool, buffers: list) -> None:
    try:
        value = blobs.unpack(buffers)
    except Exception as exc:  # noqa: BLE001 - the future carries it
        future.set_exception(exc)
        return
    if raised:
        future.set_exception(value)
    else:
        future.set_result(value)
