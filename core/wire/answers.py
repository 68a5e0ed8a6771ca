"""A worker's response sent to the client itself, past its server rank, when both share a host.

On a blocking round trip to an isolated server, the rank's part after the command (woken by the
worker's DONE, reading it, sending the response over MPI) was ≈ 60-80 µs of the ≈ 290 µs, paid in
series on the core the worker had just used (docs/benchmarks.md). So a worker whose command left
nothing else to say answers the client on a datagram socket, then tells its rank with the DONE,
which the rank reads while the client already goes on.

What the response must never overtake is what the rank sent the client before the command: an
earlier command's response or output. The rank hands such a command over only once all of that is
sent, with the count of envelopes it has sent so far (`sent_before`, as `core.wire.boards` counts
them); the client handles the answer only once it has received that many from the rank, waiting
for them if needed. What the command itself says otherwise (output, log records, progress, an
interrupt, a time limit, a large result) goes through the rank, and so does its response then
(the worker decides, `core.worker`). The answer is sent before the DONE: a worker that dies
between the two has answered, and the rank's word of its death comes after the answer.

The client's socket is in the abstract namespace, where any local user could send to it: it takes
an answer only with the kernel's word (`SO_PASSCRED`) that the sender runs as this user.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import secrets
import socket
import struct
from typing import NamedTuple

from core.wire.worker_channel import FrameRefusedError, decode_frame, frame_bytes

MAX_ANSWER = 32 * 1024
"""The largest answer a worker sends past its rank; a larger one goes the rank's way."""
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_ANCILLARY = socket.CMSG_SPACE(_CREDENTIALS.size)


class Answer(NamedTuple):
    rank: int
    rank_pid: int
    """The rank whose worker answers: a late answer from the worker of a rank since replaced is dropped."""
    sent_before: int
    """The envelopes the rank had sent the client when it handed the command over."""
    taken: int
    """The client's envelopes the rank had taken then, buffers and all: their sends are over."""
    responses: list
    """A batch of responses (`core.wire.batches`), as the rank's RESPONSE carries."""


def answer_bytes(answer: Answer, buffers: list) -> bytes:
    """What a worker sends: a frame (`core.wire.worker_channel`) with the answer for header."""
    return frame_bytes(0, tuple(answer), buffers)


class AnswerBox:
    """The client's side: the answers waiting, in the order they came."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.address = b"\0mpipanel-answers-" + secrets.token_hex(8).encode()
        self._sock.bind(self.address)
        self._sock.setblocking(False)
        self._scratch = bytearray(MAX_ANSWER)
        self._uid = os.getuid()

    def fileno(self) -> int:
        return self._sock.fileno()

    def take(self) -> tuple[Answer, list] | None:
        """The next answer and its buffers (copies), or None when none waits. One from another
        user, or that is not an answer, is dropped."""
        while True:
            try:
                size, ancillary, flags, _ = self._sock.recvmsg_into([self._scratch], _ANCILLARY)
            except BlockingIOError:
                return None
            if flags & socket.MSG_TRUNC or not self._from_this_user(ancillary):
                continue
            try:
                _, fields, buffers = decode_frame(memoryview(self._scratch[:size]), MAX_ANSWER)  # a slice: a copy
                answer = Answer(*fields)
            except (FrameRefusedError, TypeError):
                continue
            return answer, buffers

    def _from_this_user(self, ancillary: list) -> bool:
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= _CREDENTIALS.size:
                return _CREDENTIALS.unpack_from(data)[1] == self._uid
        return False

    def close(self) -> None:
        self._sock.close()


class AnswerTerms(NamedTuple):
    """What a rank says when it lets its worker answer a command (`WorkerKind.RUN_AND_ANSWER`)."""

    sent: int
    """The envelopes the rank has sent the client: the client handles the answer after them."""
    taken: int
    """The client's envelopes the rank has taken, whole: the client's sends of them are over, and
    it lets go of their buffers (a command's large parameters) once the answer comes."""


class AnswerRoute(NamedTuple):
    """What a rank's workers inherit to answer the client: a socket to its `AnswerBox`, and the
    client's board (`core.wire.boards`), whose *answered* word they set after each answer, so
    that the client looks at its box only then, not with a system call at every poll."""

    sock: socket.socket
    board_fd: int

    def fds(self) -> tuple[int, int]:
        return self.sock.fileno(), self.board_fd


def connect(address: bytes) -> socket.socket | None:
    """A rank's socket to the client's `AnswerBox`; None when the box cannot be reached (then
    every response goes the rank's way)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        return None
    return sock


class AnswerSender:
    """The worker's side."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)

    def send(self, data: bytes) -> bool:
        """Send one answer without waiting; False when it cannot go now (too large, the client's
        queue full, the client gone): then the rank answers."""
        if len(data) > MAX_ANSWER:
            return False
        try:
            self._sock.send(data, socket.MSG_DONTWAIT)
        except OSError:
            return False
        return True


def fits(buffers: list) -> bool:
    """A result this small may go past the rank (a first look, before anything is pickled)."""
    return sum(memoryview(b).nbytes for b in buffers) < MAX_ANSWER


class StreamReads:
    """How many times the rank has begun to read its worker's stdout and stderr, in a page both
    map: a worker that finds its pipes empty and this count unchanged since its command began
    printed nothing during it, not even what the rank has read and holds (its output goes before
    the response, so the rank must answer). The rank counts before each read, the worker looks at
    its pipes before the count: a read that emptied them has been counted by then."""

    def __init__(self, fd: int | None = None) -> None:
        """The rank's side makes the page; the worker's maps the one it inherited (`fd`)."""
        if fd is None:
            fd = os.memfd_create("mpipanel-stream-reads", 0)
            os.ftruncate(fd, mmap.PAGESIZE)
        self.fd = fd
        self._map = mmap.mmap(fd, mmap.PAGESIZE)
        self._count = ctypes.c_uint64.from_buffer(self._map)

    def bump(self) -> None:
        self._count.value += 1

    @property
    def count(self) -> int:
        return self._count.value

    def close(self) -> None:
        del self._count
        self._map.close()
        os.close(self.fd)
