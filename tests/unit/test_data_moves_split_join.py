"""How scatter splits a sequence and gather joins the parts (`core.client.data_moves`)."""
from __future__ import annotations

import numpy as np
import pytest

from core.client.data_moves import DataMoveError, join, split


def test_split_gives_contiguous_parts_the_first_ones_longer():
    assert split([1, 2, 3, 4, 5], 3) == [[1, 2], [3, 4], [5]]
    assert split("abc", 4) == ["a", "b", "c", ""]
    assert [p.shape for p in split(np.zeros((5, 2)), 2)] == [(3, 2), (2, 2)]
    with pytest.raises(TypeError, match="scatter: a int cannot be split"):
        split(7, 2)
    with pytest.raises(TypeError, match="0-d array"):
        split(np.float64(1.0), 2)


def test_join_puts_the_parts_back_in_server_order():
    assert join([(1, [1, 2]), (2, [3])]) == [1, 2, 3]
    assert join([(1, (1,)), (2, (2,))]) == (1, 2)
    assert join([(1, "ab"), (2, "c")]) == "abc"
    assert join([(1, np.arange(2)), (2, np.arange(2, 5))]).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DataMoveError, match="server 1 holds a int, server 2 holds a dict"):
        join([(1, 3), (2, {})], "gather of 'x'")
