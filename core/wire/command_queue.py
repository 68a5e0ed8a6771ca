"""The commands a server rank has handed its worker ahead of time, which it can take back until the
worker has taken them.

A worker that finds its next command waiting when it ends one starts it at once: no sleep, no
wake-up, no round trip through its rank (measured with 1 server under a backlog: 545 µs of CPU a
command in all processes without it, 190-270 µs with it). But a command handed over too early must
still be cancellable, recallable and interruptible before it starts, at once and exactly, as one
waiting in the rank is. So the commands wait in a datagram socket that both processes hold: the
worker takes one datagram when it is ready to run it, and the rank takes back the ones still there
(`take_back`) and knows that every other one has started. The kernel hands each datagram to one of
them only.

A datagram is `<id><frame>`: the command's id (so that the rank knows what it took back without
unpickling) and its RUN frame as `core.wire.worker_channel` makes it. A command whose frame is too
large for one (`MAX_FRAME`) goes on the worker's stream channel instead, announced by a *nudge* (a
datagram of `NUDGE` alone, "read one frame from the channel"); so does every frame the worker is not
waiting for (the preload, a log level), so that the worker reads it in its turn. Nudges are never
taken back.
"""
from __future__ import annotations

import socket
import struct

_ID = struct.Struct("!q")
NUDGE = b"\x00"
MAX_FRAME = 32 * 1024
"""The largest RUN frame that waits here: a few of them fit the socket's buffer (208 kB)."""


class CommandQueue:
    """The rank's side: hand commands over, nudge, take back."""

    def __init__(self) -> None:
        self._sender, self.worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        """`worker_end` is the worker's (its process inherits it) and the rank's too: what the rank
        reads there is taken back. It stays blocking (the flag is the worker's too): the rank
        reads it with MSG_DONTWAIT."""
        self._sender.setblocking(False)

    def put(self, command_id: int, frame: bytes) -> bool:
        """Hand a command over; False when it does not fit (too large, or the queue is full)."""
        if len(frame) > MAX_FRAME:
            return False
        try:
            self._sender.send(_ID.pack(command_id) + frame)
        except BlockingIOError:
            return False
        return True

    def nudge(self) -> None:
        """Tell the worker to read one frame from its stream channel when its turn comes."""
        self._sender.setblocking(True)  # a nudge must not be lost; the worker reads them in turn
        try:
            self._sender.send(NUDGE)
        finally:
            self._sender.setblocking(False)

    def take_back(self, ids: set[int]) -> set[int]:
        """Take back the commands among `ids` that the worker has not taken; the rest of the queue
        stays as it was, in order. Returns the ids taken back."""
        waiting = []
        while True:
            try:
                waiting.append(self.worker_end.recv(MAX_FRAME + _ID.size, socket.MSG_DONTWAIT))
            except BlockingIOError:
                break
        taken_back = set()
        for datagram in waiting:
            if datagram != NUDGE and (command_id := _ID.unpack_from(datagram)[0]) in ids:
                taken_back.add(command_id)
            else:
                self._sender.setblocking(True)
                try:
                    self._sender.send(datagram)
                finally:
                    self._sender.setblocking(False)
        return taken_back

    def close(self) -> None:
        self._sender.close()
        self.worker_end.close()


class QueueReader:
    """The worker's side: the next datagram, blocking."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)
        self._scratch = bytearray(MAX_FRAME + _ID.size)
        """Where each datagram lands: a fresh 32 kB buffer a command, zeroed, cost ≈ 9 µs of the
        worker's CPU on a round trip (its caches cold after the wake-up)."""

    def take(self) -> memoryview | None:
        """The next command's RUN frame (a writable view of its own: its parameters' buffers may
        outlive the command), or None for a nudge."""
        size = self._sock.recv_into(self._scratch)
        if size == len(NUDGE) and self._scratch[0] == NUDGE[0]:
            return None
        return memoryview(self._scratch[_ID.size:size])
