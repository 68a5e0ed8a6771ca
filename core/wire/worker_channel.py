"""Framed messages between a server rank and its worker process over a local socket pair.

A frame is a length-prefixed pickled `(kind, payload, buffer_sizes, lent_addresses)` header
followed by the raw buffers, so a large result is never copied into a pickle. A buffer of at least
`LEND_MIN` bytes may instead be *lent*: the header carries its address in the sender's memory, the
sender keeps it alive, and the receiver (the sender's parent) copies it with `core.wire.cross_memory`
and answers `WorkerKind.RELEASE`; if it cannot, it answers `WorkerKind.RESEND` and the sender
sends the bytes after all. Either way the data lands in memory the receiver allocated for it
(`core.wire.blobs.allocate`). Sending is locked because a worker's logging handler may send from any
of the user's threads.

The receiver trusts no length it is sent: a header over `MAX_HEADER_BYTES`, buffers over
`max_buffer` bytes in all, or a header that is not one is refused (`FrameRefusedError`) before
anything is allocated, and the channel counts as broken, as one whose frame stalled does: its rank
kills the worker and starts a fresh one. A forged length used to raise MemoryError in the rank and
leave the channel out of step.
"""
from __future__ import annotations

import pickle
import select
import socket
import struct
import threading
from typing import Any

import psutil

from core.wire import blobs, cross_memory, interrupts
from core.wire.messages import WorkerKind

_LENGTH = struct.Struct("!Q")
SMALL_FRAME = 64 * 1024
LEND_MIN = blobs.LARGE_BUFFER_MIN
MAX_HEADER_BYTES = 256 * 1024 * 1024
"""A frame's pickled header (the command, a log record, a response's fields) is at most this."""


def default_buffer_limit() -> int:
    """The bytes of buffers one frame may carry unless the channel is told otherwise: this
    machine's memory (a result larger than that could not have been made)."""
    return psutil.virtual_memory().total


def frame_bytes(kind: int, payload: Any, buffers: list | tuple = ()) -> bytes:
    """One frame, buffers and all, as `FrameChannel.send` writes it (nothing lent): for a frame
    that travels elsewhere (`core.wire.command_queue`) and is read by `FrameChannel.decode`."""
    return b"".join(_frame_parts(kind, payload, buffers, [None] * len(buffers)))


def _frame_parts(kind: int, payload: Any, buffers, addresses: list) -> list:
    """The length, the header and the buffers not lent (those whose address is None). The kind
    goes as a plain int: an enum member costs ≈ 2 µs to pickle and as much to unpickle."""
    header = pickle.dumps((int(kind), payload, [memoryview(b).nbytes for b in buffers], addresses), protocol=5)
    return [_LENGTH.pack(len(header)), header, *(b for b, address in zip(buffers, addresses) if address is None)]


class FrameStalledError(OSError):
    """The other side began a frame and sent nothing more of it for the channel's `stall_limit`."""


class FrameRefusedError(OSError):
    """The other side sent a frame this side will not read: too large, or not a frame at all."""


def decode_frame(frame: memoryview, max_buffer: int) -> tuple[int, Any, list]:
    """A whole frame from `frame_bytes`, its buffers views of `frame`, with at most `max_buffer`
    bytes of them; raises FrameRefusedError for one that is not whole."""
    if len(frame) < _LENGTH.size or _LENGTH.size + _LENGTH.unpack_from(frame)[0] > len(frame):
        raise FrameRefusedError("sent a frame that is not whole")
    length = _LENGTH.unpack_from(frame)[0]
    kind, payload, sizes, addresses = _header(frame[_LENGTH.size:_LENGTH.size + length], max_buffer)
    start, buffers = _LENGTH.size + length, []
    for size in sizes:
        buffers.append(frame[start:start + size])
        start += size
    if start != len(frame) or any(address is not None for address in addresses):
        raise FrameRefusedError("sent a frame that is not whole")
    return kind, payload, buffers


def _header(data, max_buffer: int) -> tuple[int, Any, list[int], list]:
    """A frame's header, once it is sure to be one whose buffers (at most `max_buffer` bytes) the
    receiver will take."""
    try:
        kind, payload, sizes, addresses = pickle.loads(data)
        valid = (isinstance(sizes, list) and isinstance(addresses, list) and len(sizes) == len(addresses)
                 and all(type(size) is int and size >= 0 for size in sizes))
    except Exception:  # noqa: BLE001 - whatever a forged header raises, it is no frame
        valid = False
    if not valid:
        raise FrameRefusedError("sent a frame header that is not one")
    if sum(sizes) > max_buffer:
        raise FrameRefusedError(f"announced buffers of {sum(sizes)} bytes (at most {max_buffer})")
    return kind, payload, sizes, addresses


class FrameChannel:
    def __init__(self, fd: int, lender_pid: int | None = None, allocate=None, stall_limit: float | None = None,
                 max_buffer: int | None = None):
        """`lender_pid`: the process at the other end, whose lent buffers this side reads;
        `allocate(size)`: where received buffers go (`core.wire.blobs.allocate` by default);
        `stall_limit`: seconds a frame, once begun, may pause before `receive` raises FrameStalledError
        (None: wait as long as it takes). A server rank reading its worker sets it: a worker
        stopped half-way through a frame would otherwise hold the rank, heartbeats and all.
        `max_buffer`: bytes of buffers a received frame may carry (`default_buffer_limit()`)."""
        self.sock = socket.socket(fileno=fd)
        self.lender_pid = lender_pid
        self.allocate = allocate or blobs.allocate
        self.stall_limit = stall_limit
        self.max_buffer = max_buffer or default_buffer_limit()
        self.broken: str | None = None
        """Why the channel is broken (a frame stalled, or was refused), once it is: the other side
        is out of step from then on."""
        self._send_lock = threading.Lock()
        self.frames_sent = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, kind: int, payload: Any, buffers: list | tuple = (), lend: bool = False) -> bool:
        """Send one frame; with `lend`, large buffers are lent, and the caller must keep them
        alive until the receiver's RELEASE or RESEND. Returns True when something was lent."""
        addresses = [cross_memory.address_of(b) if lend and memoryview(b).nbytes >= LEND_MIN else None
                     for b in buffers]
        parts = _frame_parts(kind, payload, buffers, addresses)
        with interrupts.deferred(), self._send_lock:
            self.frames_sent += 1
            if sum(memoryview(b).nbytes for b in parts[2:]) < SMALL_FRAME:
                self.sock.sendall(b"".join(parts))  # one write, one wake-up of the reader
            else:
                for part in parts:
                    self.sock.sendall(part)
        return any(address is not None for address in addresses)

    def receive(self) -> tuple[int, Any, list]:
        """Next frame, lent buffers included; raises EOFError when the other side has gone. An
        interrupt waits until the frame is read whole: a caller that must stay interruptible
        while no frame comes waits for one first (`poll`, `select`)."""
        with interrupts.deferred():
            return self._receive()

    def _receive(self) -> tuple[int, Any, list]:
        while True:
            try:
                length = _LENGTH.unpack(self._read_into(bytearray(_LENGTH.size)))[0]
                if length > MAX_HEADER_BYTES:
                    raise FrameRefusedError(f"announced a frame header of {length} bytes (at most {MAX_HEADER_BYTES})")
                kind, payload, sizes, addresses = _header(self._read_into(bytearray(length)), self.max_buffer)
                try:
                    buffers = [self.allocate(size) for size in sizes]
                except MemoryError:
                    raise FrameRefusedError(f"sent buffers of {sum(sizes)} bytes, more than this process could "
                                            f"allocate") from None
            except FrameRefusedError as exc:
                self.broken = str(exc)  # the other side is out of step from here on
                raise
            borrowed = []
            for buffer, address in zip(buffers, addresses):
                if address is None:
                    self._read_into(buffer)
                else:
                    borrowed.append((address, buffer))
            if not borrowed:
                return kind, payload, buffers
            if self._borrow(borrowed):
                self.send(WorkerKind.RELEASE, None)
                return kind, payload, buffers
            self.send(WorkerKind.RESEND, None)  # and the frame comes again, with its bytes

    def decode(self, frame: memoryview) -> tuple[int, Any, list]:
        """A whole frame from `frame_bytes` (its buffers are views of `frame`), checked as
        `receive` checks one; raises FrameRefusedError for one that is not whole."""
        try:
            return decode_frame(frame, self.max_buffer)
        except FrameRefusedError as exc:
            self.broken = str(exc)
            raise

    def _borrow(self, borrowed: list) -> bool:
        try:
            for address, buffer in borrowed:
                cross_memory.read_into(self.lender_pid, address, buffer)
        except OSError:
            return False
        return True

    def _read_into(self, buffer):
        view = memoryview(buffer).cast("B")
        while view:
            count = self._recv_into(view)
            if count == 0:
                raise EOFError("the other side of the worker channel closed")
            view = view[count:]
        return buffer

    def _recv_into(self, view) -> int:
        if self.stall_limit is None:
            return self.sock.recv_into(view)
        try:
            return self.sock.recv_into(view, 0, socket.MSG_DONTWAIT)  # a whole frame is usually there
        except BlockingIOError:
            pass
        if not select.select([self.sock], [], [], self.stall_limit)[0]:
            self.broken = (f"stopped half-way through a message to its server for {self.stall_limit:g} s "
                           f"(stopped by a signal, or wedged)")
            raise FrameStalledError(f"the frame stopped half-way: nothing more of it for {self.stall_limit:g} s")
        return self.sock.recv_into(view)

    def poll(self) -> bool:
        """True when a frame (or the end of the channel) is waiting."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def close(self) -> None:
        self.sock.close()
