"""Several commands or responses in one envelope: each item keeps its own buffers, in order."""
from __future__ import annotations

from core.wire.batches import MAX_ITEMS, MAX_TEXT, Batch, unbatch


def test_each_item_of_a_batch_gets_back_its_own_buffers_in_order():
    batch = Batch()
    batch.add("first", [b"a", b"b"])
    batch.add("none", [])
    batch.add("last", [b"c"])
    assert list(unbatch(batch.items, batch.buffers)) == [("first", [b"a", b"b"]), ("none", []), ("last", [b"c"])]


def test_a_batch_is_full_at_its_item_limit_or_its_text_limit():
    by_count, by_text = Batch(), Batch()
    for _ in range(MAX_ITEMS - 1):
        by_count.add("1", [], text=1)
    assert not by_count.full
    by_count.add("1", [], text=1)
    assert by_count.full
    by_text.add("long", [], text=MAX_TEXT)
    assert by_text.full
