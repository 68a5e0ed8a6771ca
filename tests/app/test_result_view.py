"""The result tree: containers unfold, arrays show their facts, statistics stay within a budget."""
from __future__ import annotations

import numpy as np
import pytest

from app.result_view import MAX_CHILDREN, STATS_ELEMENTS, ResultView


@pytest.fixture
def view(qtbot):
    widget = ResultView()
    qtbot.addWidget(widget)
    return widget


def _rows(item) -> dict[str, str]:
    return {item.child(i).text(0): item.child(i).text(1) for i in range(item.childCount())}


def test_an_array_shows_shape_dtype_size_and_statistics(view):
    view.show_value(np.arange(10, dtype=np.int64))
    root = view.topLevelItem(0)
    assert root.text(1) == "ndarray shape=(10,) dtype=int64"
    facts = _rows(root)
    assert (facts["size"], facts["min"], facts["max"], facts["mean"]) == ("10", "0", "9", "4.5")
    assert facts["first values"] == "list of 10"


def test_statistics_stop_at_a_budget_so_a_huge_result_cannot_hold_up_the_window(view):
    small, huge = np.ones(10, np.uint8), np.ones(STATS_ELEMENTS + 1, np.uint8)
    view.show_value([small, huge])
    first, second = (view.topLevelItem(0).child(i) for i in range(2))
    assert _rows(first)["mean"] == "1.0"
    assert "not computed" in _rows(second)["min, max, mean"] and "mean" not in _rows(second)


def test_big_containers_show_their_first_entries_and_how_many_more(view):
    view.show_value(list(range(MAX_CHILDREN + 5)))
    rows = _rows(view.topLevelItem(0))
    assert len(rows) == MAX_CHILDREN + 1 and rows["…"] == "5 more"
