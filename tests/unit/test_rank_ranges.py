"""Server ranges as typed in the Servers field: what they choose, what they refuse, how they read back."""
from __future__ import annotations

import pytest

from app.rank_ranges import RankRangeError, parse_ranks, ranks_text

SIXTEEN = list(range(1, 17))


@pytest.mark.parametrize(("text", "chosen"), [
    ("1-8, 12", [1, 2, 3, 4, 5, 6, 7, 8, 12]),
    ("1-8,12", [1, 2, 3, 4, 5, 6, 7, 8, 12]),
    (" 3 - 5 ,1 ", [1, 3, 4, 5]),
    ("7", [7]),
    ("4, 4, 2-4", [2, 3, 4]),
    ("1-2,", [1, 2]),  # a trailing comma, as while typing the next part
    ("all", SIXTEEN),
    (" ALL ", SIXTEEN),
    ("none", []),
    ("", []),
])
def test_numbers_ranges_and_the_words_all_and_none_choose_servers_in_rank_order(text, chosen):
    assert parse_ranks(text, SIXTEEN) == chosen


@pytest.mark.parametrize(("text", "message"), [
    ("3-1", "'3-1' runs backwards: write 1-3"),
    ("1-4, 20", "'20': this session has no server 20 (its servers are 1-16)"),
    ("0-3", "'0-3': this session has no server 0"),
    ("12-99", "'12-99': this session has no server 99"),
    ("1-4, x", "'x' is not a server number or a range like 1-8"),
    ("-3", "'-3' is not a server number or a range like 1-8"),
    ("1--2", "'1--2' is not a server number or a range like 1-8"),
    ("1 2", "'1 2' is not a server number"),  # not twelve
    ("1;2", "'1;2' is not a server number"),
    ("__import__('os')", "is not a server number or a range"),
    ("9" * 5000, "this session has no server 999"),
])
def test_a_bad_range_is_refused_naming_its_bad_part(text, message):
    with pytest.raises(RankRangeError) as refused:
        parse_ranks(text, SIXTEEN)
    assert message in str(refused.value)


def test_a_selection_reads_back_as_runs_of_consecutive_ranks():
    assert ranks_text([1, 2, 3, 4, 7]) == "1-4, 7"
    assert ranks_text([9, 1, 3, 2]) == "1-3, 9"
    assert ranks_text([5]) == "5"
    assert ranks_text([]) == ""
    assert ranks_text(range(1, 129)) == "1-128"


def test_what_is_read_back_parses_to_the_same_selection():
    for chosen in ([1, 2, 3, 4, 7], [2, 4, 6, 8], SIXTEEN, [16], []):
        assert parse_ranks(ranks_text(chosen), SIXTEEN) == chosen
