"""Pickle values for the wire as a list of buffers, large arrays out of band (pickle protocol 5).

A command's parameters and result cross two hops (client, server rank, worker process). They are
pickled once where they are made and unpickled once where they are used: the server rank only
forwards the buffers, so it never imports the user's modules and never copies an array into a
pickle stream.
"""
from __future__ import annotations

import functools
import mmap
import pickle
from pathlib import Path
from typing import Any

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
"""Buffers of at least this size get memory of their own, mapped for speed: a VM pays dearly for
every fresh 4 kB page that MPI or a socket faults in while copying (100 MB: 62 ms into a
bytearray), so the mapping asks for transparent huge pages (15 ms, as numpy does for its large
arrays) or, where those are off, for every page mapped up front with MAP_POPULATE (43 ms)."""


def allocate(size: int):
    """A writable buffer of `size` bytes to receive into."""
    if size < LARGE_BUFFER_MIN or not hasattr(mmap, "MAP_ANONYMOUS"):
        return bytearray(size)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if not _transparent_huge_pages():
        return mmap.mmap(-1, size, flags=flags | getattr(mmap, "MAP_POPULATE", 0))
    buffer = mmap.mmap(-1, size, flags=flags)
    buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


@functools.cache
def _transparent_huge_pages() -> bool:
    """True when the kernel gives huge pages to a mapping that asks (`madvise` or `always` mode)."""
    if not hasattr(mmap, "MADV_HUGEPAGE"):
        return False
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in mode


def unpack(buffers: list) -> Any:
    return pickle.loads(buffers[0], buffers=buffers[1:])


def describe_unpicklable(value: Any, exc: BaseException) -> str:
    """Say which value could not be pickled, for a message the user reads."""
    return f"a value of type {type(value).__module__}.{type(value).__qualname__} cannot be pickled: {exc}"
