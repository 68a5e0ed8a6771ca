"""The wake pipe of a loop asleep in select(): a wake reaches it, a wake after close reaches nothing."""
from __future__ import annotations

import os
import select

from core.wire.wake_pipe import WakePipe


def test_a_wake_makes_the_pipe_readable_until_drained():
    pipe = WakePipe()
    try:
        pipe.wake()
        pipe.wake()
        assert select.select([pipe], [], [], 0)[0] == [pipe]
        pipe.drain()
        assert select.select([pipe], [], [], 0)[0] == []
    finally:
        pipe.close()


def test_a_wake_after_close_writes_nothing_into_the_file_that_got_its_numbers():
    pipe = WakePipe()
    pipe.close()
    reused_read, reused_write = os.pipe()  # the lowest free numbers: the closed pipe's
    try:
        pipe.wake()
        pipe.close()
        assert select.select([reused_read], [], [], 0)[0] == []
    finally:
        os.close(reused_read)
        os.close(reused_write)
