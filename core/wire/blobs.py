"""Pickle values for the wire as a list of buffers, large arrays out of band (pickle protocol 5).

A command's parameters and result cross two hops (client, server rank, worker process). They are
pickled once where they are made and unpickled once where they are used: the server rank only
forwards the buffers, so it never imports the user's modules and never copies an array into a
pickle stream.
"""
from __future__ import annotations

import ctypes
import mmap
import pickle
import sys
from typing import Any

from core.wire import cross_memory

OUT_OF_BAND_MIN = 64 * 1024
"""Buffers of at least this many bytes are kept out of the pickle stream."""


def pack(value: Any) -> list:
    """Return `[pickle_bytes, *out_of_band_buffers]`; raises whatever pickling raises."""
    buffers: list = []

    def keep_large_out_of_band(buffer: pickle.PickleBuffer) -> bool:
        view = buffer.raw()
        if view.nbytes < OUT_OF_BAND_MIN:
            return True
        buffers.append(view)
        return False

    data = pickle.dumps(value, protocol=5, buffer_callback=keep_large_out_of_band)
    return [data, *buffers]


LARGE_BUFFER_MIN = 1 << 20
"""Buffers of at least this size get memory of their own with every page mapped in up front
(see `allocate`): a VM pays dearly for each fresh 4 kB page that MPI or a socket faults in while
copying (100 MB: 62 ms into a bytearray, 45 ms populated). Transparent huge pages were faster
(12 ms) only while the memory was warm: this kind of VM hands freed memory back to its host
within a second or two, and huge pages mapped in again from there took 150–260 ms, so results
sent a few seconds apart landed in the slow case most of the time."""


_MADV_POPULATE_WRITE = 23
"""Linux 5.14+: map every page of a range in, writable, as MAP_POPULATE does at `mmap` time."""
_libc = ctypes.CDLL(None, use_errno=True)


def allocate(size: int):
    """A writable buffer of `size` bytes to receive into.

    The pages are mapped in by `madvise` through ctypes, which lets go of the GIL: Python's own
    `mmap(..., MAP_POPULATE)` holds it for the whole 35–45 ms a 100 MB buffer takes, and the
    client receives on its progress thread while the GUI's thread waits for the GIL."""
    if size < LARGE_BUFFER_MIN or not hasattr(mmap, "MAP_ANONYMOUS"):
        return bytearray(size)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    buffer = mmap.mmap(-1, size, flags=flags)
    madvise = getattr(_libc, "madvise", None) if sys.platform.startswith("linux") else None
    if madvise is not None and madvise(ctypes.c_void_p(cross_memory.address_of(buffer)), ctypes.c_size_t(size),
                                       _MADV_POPULATE_WRITE) == 0:
        return buffer
    buffer.close()  # an older kernel: populate at mmap time, holding the GIL
    return mmap.mmap(-1, size, flags=flags | getattr(mmap, "MAP_POPULATE", 0))


def unpack(buffers: list) -> Any:
    return pickle.loads(buffers[0], buffers=buffers[1:])


def describe_unpicklable(value: Any, exc: BaseException) -> str:
    """Say which value could not be pickled, for a message the user reads."""
    return f"a value of type {type(value).__module__}.{type(value).__qualname__} cannot be pickled: {exc}"


class Packed:
    """A value pickled on its own inside a larger message (a frame of the frontend link,
    `core.wire.link`): unpickling the message never needs the value's classes, so a value the
    receiver cannot rebuild fails alone, in `unpack`, instead of taking the message with it."""

    __slots__ = ("buffers",)

    def __init__(self, value: Any):
        self.buffers = [bytes(buffer) for buffer in pack(value)]

    def unpack(self) -> Any:
        return unpack(self.buffers)

    @property
    def nbytes(self) -> int:
        return sum(len(buffer) for buffer in self.buffers)
