"""The rank's staging area: large result buffers are reused while warm, within limits."""
from __future__ import annotations

import gc
import time

from core.server import staging
from core.server.staging import StagingArea

MB = 1 << 20


def test_a_buffer_given_back_is_reused_for_the_next_result_that_fits():
    area = StagingArea()
    first = area.take(8 * MB)
    assert len(first) == 8 * MB
    under = first.obj
    area.give_back(first)
    assert area.kept_bytes == len(under)
    smaller = area.take(4 * MB)
    assert smaller.obj is under and len(smaller) == 4 * MB and area.kept_bytes == 0
    larger = area.take(16 * MB)
    assert larger.obj is not under


def test_small_buffers_dropped_views_and_strangers_are_not_kept():
    area = StagingArea()
    small = area.take(1000)
    assert isinstance(small, bytearray)
    area.give_back(small)
    area.give_back(memoryview(bytearray(2 * MB)))
    dropped = area.take(2 * MB)
    del dropped
    gc.collect()
    assert area.kept_bytes == 0 and len(area._lent) == 0


def test_kept_memory_is_capped_and_freed_after_a_while(monkeypatch):
    monkeypatch.setattr(staging, "KEEP_BYTES", 10 * MB)
    area = StagingArea()
    views = [area.take(6 * MB) for _ in range(2)]
    for view in views:
        area.give_back(view)
    assert area.kept_bytes == 6 * MB  # the second would pass the cap
    area.expire(time.monotonic() + staging.KEEP_SECONDS - 1)
    assert area.kept_bytes == 6 * MB
    area.expire(time.monotonic() + staging.KEEP_SECONDS + 1)
    assert area.kept_bytes == 0


def test_fresh_large_buffers_are_zeroed_writable_memory_of_their_own():
    from core.wire import blobs
    buffer = blobs.allocate(3 * MB + 5)
    view = memoryview(buffer)
    assert view.nbytes == 3 * MB + 5 and not view.readonly and not any(view[::4096])
    view[-1] = 7
    assert buffer[-1] == 7
    assert isinstance(blobs.allocate(1000), bytearray)
