"""Reusable memory for the large results that pass through a server rank on their way out.

A result the worker lends is copied into the rank (`core.wire.worker_channel`) and sent on to the
client; that copy lives only until the send completes. What costs is not the copy but fresh
memory: on this kind of VM the host takes back freed memory within a second or two, and mapping
100 MB in again took 45 ms (`MAP_POPULATE`) or 150–260 ms (huge pages the host had reclaimed),
while copying into memory already touched takes about 10 ms. So the rank keeps the buffers it
staged results in and reuses them, up to `KEEP_BYTES` in all, for `KEEP_SECONDS` after their
last use.
"""
from __future__ import annotations

import time
import weakref

from core.wire import blobs

KEEP_BYTES = 1 << 30
KEEP_SECONDS = 30.0


class StagingArea:
    def __init__(self) -> None:
        self._idle: list[tuple[float, object]] = []
        """(last use, buffer) of the kept buffers waiting to be reused."""
        self._lent: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
        """The buffers handed out and not given back; one dropped instead is simply freed."""

    def take(self, size: int):
        """A writable buffer of `size` bytes: a view of a kept buffer if one is large enough."""
        if size < blobs.LARGE_BUFFER_MIN:
            return blobs.allocate(size)
        fitting = [entry for entry in self._idle if len(entry[1]) >= size]
        if fitting:
            entry = min(fitting, key=lambda e: len(e[1]))
            self._idle.remove(entry)
            buffer = entry[1]
        else:
            buffer = blobs.allocate(size)
        self._lent[id(buffer)] = buffer
        return memoryview(buffer)[:size]

    def give_back(self, buffer) -> None:
        """`buffer` (from `take`) is no longer used: keep what it views for reuse, within the
        limits. Anything else is ignored."""
        if not isinstance(buffer, memoryview) or self._lent.pop(id(buffer.obj), None) is not buffer.obj:
            return
        if self.kept_bytes + len(buffer.obj) <= KEEP_BYTES:
            self._idle.append((time.monotonic(), buffer.obj))

    def expire(self, now: float) -> None:
        """Free the kept buffers unused for `KEEP_SECONDS`."""
        if self._idle:
            self._idle = [(used, buffer) for used, buffer in self._idle if now - used < KEEP_SECONDS]

    @property
    def kept_bytes(self) -> int:
        return sum(len(buffer) for _, buffer in self._idle)
