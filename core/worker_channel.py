"""Framed messages between a server rank and its worker process over a local socket pair.

A frame is a pickled `(kind, payload, buffer_count)` header followed by that many raw buffers, so
a large result crosses the socket once without being copied into a pickle. Sending is locked
because a worker's logging handler may send from any of the user's threads.
"""
from __future__ import annotations

import pickle
import threading
from multiprocessing.connection import Connection
from typing import Any


class FrameChannel:
    def __init__(self, fd: int):
        self.connection = Connection(fd)
        self._send_lock = threading.Lock()

    def fileno(self) -> int:
        return self.connection.fileno()

    def send(self, kind: int, payload: Any, buffers: list | tuple = ()) -> None:
        header = pickle.dumps((kind, payload, len(buffers)), protocol=5)
        with self._send_lock:
            self.connection.send_bytes(header)
            for buf in buffers:
                self.connection.send_bytes(buf)

    def receive(self) -> tuple[int, Any, list]:
        """Next frame; raises EOFError when the other side has gone."""
        kind, payload, count = pickle.loads(self.connection.recv_bytes())
        return kind, payload, [self.connection.recv_bytes() for _ in range(count)]

    def poll(self) -> bool:
        return self.connection.poll(0)

    def close(self) -> None:
        self.connection.close()
