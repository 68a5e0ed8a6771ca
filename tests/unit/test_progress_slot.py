"""progress(): the latest values kept, reported when they changed, as plain numbers."""
from __future__ import annotations

import math

from core.wire.messages import ProgressItem
from core.worker.progress import ProgressSlot


def test_only_the_latest_progress_is_reported_and_only_when_it_changed():
    slot = ProgressSlot()
    slot.start(5)
    for done in range(100):
        slot.progress(done, 100, "reading")
    item = slot.take()
    assert isinstance(item, ProgressItem) and (item.command_id, item.done, item.total, item.text) == (5, 99, 100,
                                                                                                      "reading")
    assert slot.take() is None
    slot.progress(99, 100, "reading")
    assert slot.take() is None


def test_progress_outside_a_command_is_not_reported():
    slot = ProgressSlot()
    slot.progress(1, 2)
    assert slot.take() is None
    slot.start(3)
    assert slot.take() is None


def test_values_that_are_not_plain_numbers_become_floats_or_nan():
    class Count:
        def __float__(self) -> float:
            return 3.0

    slot = ProgressSlot()
    slot.start(1)
    slot.progress(Count(), "ten", 42)
    item = slot.take()
    assert type(item.done) is float and item.done == 3.0 and math.isnan(item.total) and item.text == "42"
