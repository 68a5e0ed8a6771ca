"""Shared memory beside each doorbell on one host, so that a sender rings only a receiver asleep.

Every MPI envelope used to ring the peer's doorbell (`core.wire.transport`): a TCP byte that costs
the sender a `send` and the receiver a `recv`, ≈ 10 and 4 µs on a command's round trip each way,
though a receiver that is polling (a blocking caller, a server rank between two commands) needs no
wake-up. So each process that receives keeps a `Board` in shared memory: an `asleep` word, set
only while it sleeps in `select()`, and one count per peer of the envelopes that peer has sent it.
A peer on the same host maps it (`PeerBoard`); after each envelope it writes its count there, and
rings only when the word says asleep. The receiver knows what is in flight from the counts, as it
knew it from the bytes (`Peer.owed`).

No wake-up is lost: the receiver sets `asleep`, then reads the counts, and sleeps only when nothing
is owed; the sender writes its count, then reads `asleep`. Each side puts a full barrier between
its write and its read (`_barrier`), so one of them sees the other's write: the sender rings, or
the receiver does not sleep. That barrier is a locked instruction, which orders a store before a
later load on x86 only; elsewhere there are no boards and every envelope rings as before.

A board is a `memfd` (Linux), so it has no name anyone could find or leave behind; a peer opens it
as `/proc/PID/fd/FD`, which only the same user can, and checks the nonce the board begins with, so
that a process that took the announced pid on another host (or after a restart) is never mistaken
for it. A peer that cannot map a board rings every time.
"""
from __future__ import annotations

import mmap
import os
import platform
import secrets
import socket
import threading
from typing import NamedTuple

SLOTS = 4096
"""Counts on a client's board: one for each server process it greets (`Board.take_slot`); a server
greeted after they are all taken rings every time. A server's board has one, its client's."""
_NONCE = 16
_WORD = 8
_ASLEEP = _NONCE // _WORD
"""The `asleep` word's index among the board's words; the *answered* word and the counts follow it."""
_ANSWERED = _ASLEEP + 1
_COUNTS = _ASLEEP + 2
BARRIER_ORDERS_STORE_LOAD = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
"""A locked instruction (an uncontended lock taken and released) is a full barrier here."""


class BoardAddress(NamedTuple):
    """Where a peer finds a board: on `host`, fd `fd` of process `pid`, beginning with `nonce`."""

    host: str
    pid: int
    fd: int
    nonce: bytes


_FENCE = threading.Lock()


def _barrier() -> None:
    """A full memory barrier on x86: taking an uncontended lock is a locked instruction."""
    _FENCE.acquire()
    _FENCE.release()


class Board:
    """This process's board: its `asleep` word, and the counts its peers write."""

    def __init__(self, slots: int = SLOTS):
        self.slots = slots
        self.fd = os.memfd_create("mpipanel-board", os.MFD_CLOEXEC)
        size = _WORD * (_COUNTS + slots)  # the nonce fills the first words
        os.ftruncate(self.fd, size)
        self._map = mmap.mmap(self.fd, size)
        self.nonce = secrets.token_bytes(_NONCE)
        self._map[:_NONCE] = self.nonce
        self._words = memoryview(self._map).cast("Q")
        self._slots_taken = 0

    @staticmethod
    def available() -> bool:
        return BARRIER_ORDERS_STORE_LOAD and hasattr(os, "memfd_create")

    def address(self) -> BoardAddress:
        return BoardAddress(socket.gethostname(), os.getpid(), self.fd, self.nonce)

    def take_slot(self) -> int | None:
        """A slot no peer has had: one for each peer process (a replaced server gets a fresh one,
        as its predecessor's count may still change); None once all are taken."""
        if self._slots_taken == self.slots:
            return None
        self._slots_taken += 1
        return self._slots_taken - 1

    def sent(self, slot: int) -> int:
        """Envelopes the peer of `slot` has sent this process (it counts them after sending)."""
        return self._words[_COUNTS + slot]

    def fall_asleep(self) -> None:
        """Say that this process is about to sleep: from here on, senders ring. The caller then
        looks at what is owed (`Peer.owed`) and sleeps only if nothing is."""
        self._words[_ASLEEP] = 1
        _barrier()

    def wake_up(self) -> None:
        self._words[_ASLEEP] = 0

    def take_answered(self) -> bool:
        """True when a worker has answered since the last call (`core.wire.answers`): the caller
        then reads every answer waiting. The word is cleared first, and a worker sets it after its
        answer is sent, so an answer sent and not read always leaves the word set."""
        if not self._words[_ANSWERED]:
            return False
        self._words[_ANSWERED] = 0
        return True

    def close(self) -> None:
        """Give back its memory and descriptor here (a peer's mapping stays valid)."""
        self._words.release()
        self._map.close()
        os.close(self.fd)


class PeerBoard:
    """A peer's board mapped here: this process's count there, and the peer's `asleep` word."""

    def __init__(self, address: BoardAddress, slot: int):
        """Raises OSError when the board cannot be mapped or is not the one announced."""
        self.fd = os.open(f"/proc/{address.pid}/fd/{address.fd}", os.O_RDWR | os.O_CLOEXEC)
        """Kept open: a server rank's workers inherit it, to say they answered (`answered`)."""
        try:
            self._map = mmap.mmap(self.fd, 0)
        except OSError:
            os.close(self.fd)
            raise
        if self._map[:_NONCE] != address.nonce or len(self._map) < _WORD * (_COUNTS + slot + 1):
            self._map.close()
            os.close(self.fd)
            raise OSError(f"the board at /proc/{address.pid}/fd/{address.fd} is not the one announced")
        self._words = memoryview(self._map).cast("Q")
        self._count = _COUNTS + slot

    def count(self, sent: int) -> bool:
        """Say that `sent` envelopes were sent to the peer so far (after sending the last); True
        when the peer must be rung. The total, not one more: the first count made here covers
        the envelopes that were rung before the board was mapped."""
        self._words[self._count] = sent
        _barrier()
        return self.asleep()

    def asleep(self) -> bool:
        """The peer said it sleeps (or is about to): an envelope sent now must ring it."""
        return self._words[_ASLEEP] != 0


class AnsweredWord:
    """A worker's view of its client's board, inherited from its rank (`PeerBoard.fd`): the word
    it sets once it has sent an answer (`core.wire.answers`, `Board.take_answered`)."""

    def __init__(self, fd: int):
        self._map = mmap.mmap(fd, 0)
        os.close(fd)
        self._words = memoryview(self._map).cast("Q")

    def set(self) -> None:
        self._words[_ANSWERED] = 1


def board_for(address: BoardAddress | None, slot: int) -> PeerBoard | None:
    """The peer's board at `address`, if it is on this host and can be mapped; else None (ring)."""
    if address is None or not Board.available() or address.host != socket.gethostname():
        return None
    try:
        return PeerBoard(address, slot)
    except (OSError, ValueError):
        return None
