"""Server ranks as a person types them: `1-8, 12`, `all`, `none` — and back.

With 128 servers, ticking boxes one by one is no way to say "the first eight and the twelfth"; a
range is. This is a small parser of its own (numbers, dashes and commas: nothing is evaluated),
and `ranks_text` writes a selection back in the same language, so the field beside the boxes can
always show what is ticked. No Qt here: the parser is tested on its own.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

_PART = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")
_KEYWORDS = {"all", "none"}
_TOO_LONG = 9
"""Digits beyond which a number is surely no server (and `int()` of thousands of digits is slow)."""


class RankRangeError(ValueError):
    """The text is no selection of this session's servers; the message names the bad part."""


def parse_ranks(text: str, ranks: Iterable[int]) -> list[int]:
    """The servers of `ranks` that `text` names, in order: comma-separated numbers and ranges
    (`1-8, 12`; spaces around the numbers optional), `all` or `none` (any case); empty text is none. Raises
    RankRangeError naming the first part that is not a number or a range, a range that runs
    backwards, or the numbers that are no server of `ranks`."""
    known = list(ranks)
    word = text.strip().lower()
    if word in _KEYWORDS:
        return known if word == "all" else []
    chosen: set[int] = set()
    for part in filter(None, (part.strip() for part in text.split(","))):
        match = _PART.fullmatch(part)
        if match is None:
            raise RankRangeError(f"{part!r} is not a server number or a range like 1-8")
        first, last = (_number(digits) for digits in (match[1], match[2] or match[1]))
        if first > last:
            raise RankRangeError(f"{part!r} runs backwards: write {last}-{first}")
        missing = [digits for digits in (match[1], match[2]) if digits and _number(digits) not in known]
        if missing:
            raise RankRangeError(f"{part!r}: this session has no server {missing[0]} (its servers are "
                                 f"{ranks_text(known)})")
        chosen.update(rank for rank in known if first <= rank <= last)
    return [rank for rank in known if rank in chosen]


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _TOO_LONG else 10 ** _TOO_LONG


def ranks_text(ranks: Iterable[int]) -> str:
    """`1-4, 7` for 1, 2, 3, 4 and 7: runs of consecutive ranks as ranges, in order."""
    runs: list[list[int]] = []
    for rank in sorted(set(ranks)):
        if runs and rank == runs[-1][1] + 1:
            runs[-1][1] = rank
        else:
            runs.append([rank, rank])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
