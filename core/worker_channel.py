"""Framed messages between a server rank and its worker process over a local socket pair.

A frame is a length-prefixed pickled `(kind, payload, buffer_sizes)` header followed by those raw
buffers, so a large result crosses the socket once, without being copied into a pickle, straight
into memory the receiver allocated for it (`core.blobs.allocate`). Sending is locked because a
worker's logging handler may send from any of the user's threads.
"""
from __future__ import annotations

import pickle
import select
import socket
import struct
import threading
from typing import Any

from . import blobs

_LENGTH = struct.Struct("!Q")
SMALL_FRAME = 64 * 1024


class FrameChannel:
    def __init__(self, fd: int):
        self.sock = socket.socket(fileno=fd)
        self._send_lock = threading.Lock()

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, kind: int, payload: Any, buffers: list | tuple = ()) -> None:
        sizes = [memoryview(b).nbytes for b in buffers]
        header = pickle.dumps((kind, payload, sizes), protocol=5)
        parts = [_LENGTH.pack(len(header)), header, *buffers]
        with self._send_lock:
            if sum(sizes) < SMALL_FRAME:
                self.sock.sendall(b"".join(parts))  # one write, one wake-up of the reader
            else:
                for part in parts:
                    self.sock.sendall(part)

    def receive(self) -> tuple[int, Any, list]:
        """Next frame; raises EOFError when the other side has gone."""
        length = _LENGTH.unpack(self._read_into(bytearray(_LENGTH.size)))[0]
        kind, payload, sizes = pickle.loads(self._read_into(bytearray(length)))
        return kind, payload, [self._read_into(blobs.allocate(size)) for size in sizes]

    def _read_into(self, buffer):
        view = memoryview(buffer).cast("B")
        while view:
            count = self.sock.recv_into(view)
            if count == 0:
                raise EOFError("the other side of the worker channel closed")
            view = view[count:]
        return buffer

    def poll(self) -> bool:
        """True when a frame (or the end of the channel) is waiting."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def close(self) -> None:
        self.sock.close()
