"""MPI messages with a TCP doorbell beside them, so that a waiting side can sleep instead of spin.

MPICH's blocking receive busy-polls a whole core. So each side waits in `select()` on a doorbell
socket when it has been idle for a moment, and a sender writes one byte on the peer's socket for
an MPI envelope it sends. The byte may arrive before `Iprobe` can see the MPI message, so the
receiver counts: `rung` bytes read versus `received` envelopes taken; while `received < rung` the
missing envelopes are certainly in flight and a blocking receive for them is short. A peer on the
same host counts its envelopes on the receiver's board instead (`core.wire.boards`), and rings
only a receiver that sleeps.

An envelope is `(payload, inline_buffers, raw_buffer_count)`: the buffers of a pickled value (see
`core.wire.blobs`) ride inside the envelope when they are small and follow as raw `Tag.BUFFER`
messages, sent with `Isend`, when they are large. Envelopes themselves stay small, so their
blocking `send` is eager and two sides sending to each other at once can never deadlock.

Nothing here is thread-safe: each side serialises its MPI calls with one lock.
"""
from __future__ import annotations

import os
import socket
import time
from typing import Any
from collections.abc import Callable

from mpi4py import MPI

from core.wire import blobs
from core.wire.boards import Board, PeerBoard
from core.wire.messages import Tag

INLINE_LIMIT = 16 * 1024
"""Buffers totalling at most this many bytes travel inside the envelope."""
RING_LIMIT = 10.0
"""Seconds a receive the doorbell announced (or the buffers an envelope announced) may wait for
its message before the peer counts as broken: a peer that rings and sends nothing must not hold
the receiver forever. Sent before its ring, a message is normally there within microseconds."""
_SPIN = 0.002
_PAUSE = 0.001


class PeerLost(Exception):  # noqa: N818 - an event the caller handles, not an error
    """The peer's doorbell socket closed or broke, or it announced a message that never came:
    the peer process is gone or broken. `source`: its rank in the communicator, when known."""

    def __init__(self, message: str, source: int | None = None):
        super().__init__(message)
        self.source = source


class Peer:
    """One MPI peer (`comm`, `rank`) and the doorbell socket shared with it."""

    __slots__ = ("comm", "rank", "sock", "rung", "received", "sent", "pending_sends", "on_sent", "board",
                 "inbox", "inbox_slot")

    def __init__(self, comm: MPI.Comm, rank: int, sock: socket.socket):
        self.comm = comm
        self.rank = rank
        self.sock = sock
        self.rung = 0
        self.received = 0
        self.sent = 0
        """Envelopes sent to the peer."""
        self.board: PeerBoard | None = None
        """The peer's board, when it is on this host (`boards.board_for`): rung only when asleep."""
        self.inbox: Board | None = None
        """This process's board, where the peer counts what it has sent (at `inbox_slot`) once
        it has mapped it; its bytes count until then."""
        self.inbox_slot = 0
        self.pending_sends: list[tuple[MPI.Request, memoryview, Any, int]] = []
        """(request, the view it sends, the buffer given to `send`, the number of its envelope)
        of each large send in flight."""
        self.on_sent: Callable[[Any], None] | None = None
        """Called with each buffer given to `send` once its large send has completed."""

    def send(self, tag: Tag, payload: Any, buffers: list | tuple = ()) -> None:
        """Send one envelope (plus its large buffers) and ring the peer's doorbell once."""
        inline, raw = _split_buffers(buffers)
        self.comm.send((payload, inline, len(raw)), self.rank, tag)
        for buf in raw:
            view = memoryview(buf).cast("B")
            self.pending_sends.append((self.comm.Isend([view, MPI.BYTE], self.rank, Tag.BUFFER), view, buf,
                                       self.sent + 1))
        self._announce()

    def send_tracked(self, tag: Tag, payload: Any) -> MPI.Request:
        """Send an envelope synchronously-nonblocking: the request completes once the peer has
        started receiving it, which is what flow control counts."""
        request = self.comm.issend((payload, None, 0), self.rank, tag)
        self._announce()
        return request

    def _announce(self) -> None:
        """Tell the peer an envelope was sent: on its board, ringing only if it sleeps, or by a byte."""
        self.sent += 1
        if self.board is None or self.board.count(self.sent):
            self.ring()

    def ring(self) -> None:
        try:
            self.sock.sendall(b"\x01")
        except OSError as exc:
            raise PeerLost(str(exc)) from exc

    def read_rings(self) -> None:
        """Count the doorbell bytes waiting on the socket; raise `PeerLost` on end of file."""
        try:
            data = self.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as exc:
            raise PeerLost(str(exc)) from exc
        if not data:
            raise PeerLost("doorbell socket closed")
        self.rung += len(data)

    @property
    def owed(self) -> int:
        """Envelopes announced (by the doorbell, or counted on this process's board) but not
        received yet: they are certainly in flight."""
        if self.inbox is None:
            return self.rung - self.received
        return max(self.rung, self.inbox.sent(self.inbox_slot)) - self.received

    @property
    def rings_always(self) -> bool:
        """The peer rings for every envelope: it has not counted any on this process's board."""
        return self.inbox is None or not self.inbox.sent(self.inbox_slot)

    def complete_sends(self, taken: int = 0) -> bool:
        """Forget the large sends that have completed; True when none is left in flight. Those of
        the first `taken` envelopes, which the peer is known to have received whole, are waited
        for: they complete at once, but a test may not see it before a later call into MPI."""
        if self.pending_sends:
            in_flight, done = [], []
            for send in self.pending_sends:
                if send[3] <= taken:
                    send[0].Wait()
                    done.append(send)
                else:
                    (done if send[0].Test() else in_flight).append(send)
            self.pending_sends = in_flight
            self._sent(done)
        return not self.pending_sends

    def wait_sends(self) -> None:
        for req, *_ in self.pending_sends:
            req.Wait()
        done, self.pending_sends = self.pending_sends, []
        self._sent(done)

    def _sent(self, done: list) -> None:
        if self.on_sent is not None:
            for _, _, buf, _ in done:
                self.on_sent(buf)


def _split_buffers(buffers) -> tuple[list | None, list | tuple]:
    """Small buffers ride inside the envelope; large ones follow it as raw messages."""
    if not buffers:
        return None, ()
    if sum(memoryview(b).nbytes for b in buffers) <= INLINE_LIMIT:
        return [bytes(b) for b in buffers], ()
    return None, buffers


def send_unannounced(comm: MPI.Comm, rank: int, tag: Tag, payload: Any) -> None:
    """An envelope sent before the doorbell exists (the hello, or a stop that needs no hello)."""
    comm.send((payload, None, 0), rank, tag)


def receive(comm: MPI.Comm, status: MPI.Status, source: int = MPI.ANY_SOURCE, block: bool = False):
    """Take one envelope from `comm` if there is one: `(source, tag, payload, buffers)` or None.

    The caller must add one to that source's `Peer.received`. With `block`, a message is known to
    be on its way (the doorbell rang): raises PeerLost if it does not come within `RING_LIMIT`.
    """
    if block:
        message = _probe_within(comm, source, MPI.ANY_TAG, status, "the message its doorbell announced")
    else:
        message = comm.improbe(source, MPI.ANY_TAG, status)
        if message is None:
            return None
    payload, inline, nraw = message.recv()
    source, tag = status.Get_source(), status.Get_tag()
    buffers = inline or [_receive_buffer(comm, source, status) for _ in range(nraw)]
    return source, tag, payload, buffers


def _receive_buffer(comm: MPI.Comm, source: int, status: MPI.Status):
    message = _probe_within(comm, source, Tag.BUFFER, status, "a buffer its envelope announced")
    buf = blobs.allocate(status.Get_count(MPI.BYTE))
    message.Recv([buf, MPI.BYTE])
    return buf


def _probe_within(comm: MPI.Comm, source: int, tag: int, status: MPI.Status, what: str) -> MPI.Message:
    """A message known to be on its way, or PeerLost after `RING_LIMIT`: `mprobe` would wait
    forever. Spins (yielding the core) for a moment, then polls every `_PAUSE`."""
    started = time.monotonic()
    while (message := comm.improbe(source, tag, status)) is None:
        waited = time.monotonic() - started
        if waited > RING_LIMIT:
            raise PeerLost(f"rank {source} did not send {what} within {RING_LIMIT:g} s", source)
        if waited < _SPIN:
            os.sched_yield()
        else:
            time.sleep(_PAUSE)
    return message
