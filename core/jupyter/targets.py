"""`%px --targets`: which servers a cell goes to, read from text without evaluating any of it.

`all` (every server that is not lost, the default), `first` (the first available one), or ranks:
`2`, `1,3`, `1-4`, `1-2,5`. A bad choice is refused with a message that names the option.
"""
from __future__ import annotations

import re

ALL = "all"
FIRST = "first"
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
OPTION = "--targets"
MAX_RANK = 1 << 20
"""Far beyond any job here; the bound keeps `1-10000000000` from filling the memory."""


class TargetsError(ValueError):
    """A `--targets` value that names no servers, or servers that cannot take the cell."""


def parse_targets(text: str) -> str | tuple[int, ...]:
    """`ALL`, `FIRST`, or the ranks the text names, in ascending order, each once."""
    choice = text.strip().lower()
    if choice in (ALL, FIRST):
        return choice
    ranks: set[int] = set()
    for part in choice.split(","):
        match = _RANGE.match(part.strip())
        if match is None:
            raise TargetsError(f"{OPTION} {text!r}: expected 'all', 'first', a rank, ranks such as 1,3 "
                               f"or a range such as 1-4, not {part.strip()!r}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise TargetsError(f"{OPTION} {text!r}: the range {part.strip()} runs backwards")
        if high > MAX_RANK:
            raise TargetsError(f"{OPTION} {text!r}: {high} is no server rank (at most {MAX_RANK})")
        ranks.update(range(low, high + 1))
    return tuple(sorted(ranks))


def resolve_targets(choice: str | tuple[int, ...], servers: dict[int, bool]) -> list[int] | None:
    """The ranks to send to (None: the first available server), given each server's rank and
    whether it can take commands (False once it is lost). Raises TargetsError naming the option."""
    usable = sorted(rank for rank, ok in servers.items() if ok)
    if not usable:
        raise TargetsError(f"{OPTION}: no server can take commands (servers {_listed(sorted(servers))} are lost)")
    if choice == FIRST:
        return None
    if choice == ALL:
        return usable
    unknown = [rank for rank in choice if rank not in servers]
    if unknown:
        raise TargetsError(f"{OPTION}: no server {_listed(unknown)}; the servers are {_listed(sorted(servers))}")
    lost = [rank for rank in choice if not servers[rank]]
    if lost:
        raise TargetsError(f"{OPTION}: server {_listed(lost)} is lost and cannot take commands")
    return list(choice)


def _listed(ranks: list[int]) -> str:
    return ", ".join(map(str, ranks))
