"""What a pane shows of a session it has just been handed (attach, or a reconnect that could not
resume): each server's recent output with the line of every command that finished there, in the
order they happened, as if the pane had been watching all along.

The session keeps each server's newest output (`SessionModel.output`, whose items say the command
that printed them) and every command's response, but no common clock between the two. A server
runs one command at a time, so its output and its result lines are put in the order of the
commands' start times, a command's output before its result line; output printed between commands
stays after the one before it. The merged pane interleaves the servers the same way. Only the
newest `MAX_LINES` a pane can hold are made into lines; the rest count as dropped, so handing a
pane a long session costs what it shows, not what the session kept. The lines are made a few
thousand parts per turn of the event loop (`BacklogDrawing`): twenty thousand lines took 150-300 ms
to make, and a window just attached to a long session answers meanwhile.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from core.events import CLIENT_RANK
from core.frontends.model import HistoryEntry, SessionModel
from core.frontends.output import text_of

from .output_view import MAX_LINES, Line
from .pane_lines import LineSplitter, result_line

PARTS_PER_TURN = 2_000
"""Parts made into lines per turn of the event loop (a few ms of work)."""
OUTPUT, RESULT = 0, 1
AFTER = 2
"""Where output that no command printed goes in a key: after the result of the command before it."""


class Part(NamedTuple):
    """One piece of a pane's backlog: a server's output item, or a finished command's response."""

    key: tuple[float, int, int]
    """(start time of its command, OUTPUT before RESULT before AFTER, order within the server)."""
    server: int
    kind: int
    """OUTPUT or RESULT."""
    what: Any
    """The OutputItem/LogItem, or the response dict."""


def server_parts(model: SessionModel, rank: int, ran: list[HistoryEntry]) -> list[Part]:
    """Server `rank`'s backlog in the order it happened; `ran` are the commands that ran there
    (finished, or running)."""
    started = {entry.id: _start(entry) for entry in ran}
    parts = [Part((started[entry.id], RESULT, 0), rank, RESULT, entry.response)
             for entry in ran if entry.response is not None]
    backlog = model.output.get(rank)
    last = float("-inf")
    for order, item in enumerate(backlog.items if backlog is not None else ()):
        if item.command_id in started:
            last = started[item.command_id]
            parts.append(Part((last, OUTPUT, order), rank, OUTPUT, item))
        else:  # printed between commands: after the result of the one before
            parts.append(Part((last, AFTER, order), rank, OUTPUT, item))
    parts.sort(key=lambda part: part.key)
    return parts


def ran_by_server(model: SessionModel) -> dict[int, list[HistoryEntry]]:
    """The commands that ran (finished, or running) on each server."""
    by_server: dict[int, list[HistoryEntry]] = {}
    for entry in model.history.values():
        if entry.server is not None:
            by_server.setdefault(entry.server, []).append(entry)
    return by_server


def newest(parts: Iterable[Part], lines: int = MAX_LINES) -> tuple[list[Part], int]:
    """The newest parts that make at most about `lines` lines, oldest first, and the lines left out."""
    kept: list[Part] = []
    count = 0
    ordered = list(parts)
    for index in range(len(ordered) - 1, -1, -1):
        count += _lines_of(ordered[index])
        if count > lines:
            left_out = sum(_lines_of(part) for part in itertools.islice(ordered, index + 1))
            return ordered[index + 1:], left_out
        kept.append(ordered[index])
    kept.reverse()
    return kept, 0


def for_panes(model: SessionModel, ranks: list[int]) -> dict[int | None, tuple[list[Part], int]]:
    """What each pane shows of the session: its parts and the lines left out (here, or by the
    session to bound its memory), for the client's pane (`CLIENT_RANK`), each server's in `ranks`,
    and the merged pane of those servers (None)."""
    ran = ran_by_server(model)
    parts = {rank: server_parts(model, rank, ran.get(rank, [])) for rank in (CLIENT_RANK, *ranks)}
    panes: dict[int | None, tuple[list[Part], int]] = {}
    for rank, own in parts.items():
        shown, left_out = newest(own)
        panes[rank] = (shown, left_out + _dropped(model, [rank]))
    shown, left_out = newest(merged(parts[rank] for rank in ranks))
    panes[None] = (shown, left_out + _dropped(model, ranks))
    return panes


def merged(per_server: Iterable[list[Part]]) -> Iterator[Part]:
    """Every server's parts in one order, for the merged pane."""
    return heapq.merge(*per_server, key=lambda part: part.key)


class BacklogDrawing:
    """A pane's backlog being made into lines, `PARTS_PER_TURN` parts at a time (`step`)."""

    def __init__(self, parts: list[Part], dropped: int, prefix_servers: bool, result_lines: dict[int, Line]):
        """`result_lines`: the line of each finished command by id, shared by the panes of one
        snapshot, so that each is made once."""
        self.dropped = dropped
        self.lines: list[Line] = []
        self.last: dict[str, Any] | None = None
        """The last response of the backlog, once it has been reached."""
        self._result_lines = result_lines
        self._splitter = LineSplitter(prefix_servers)
        self._left = iter(parts)

    def step(self) -> bool:
        """Make the next parts into lines; True once every part has been."""
        chunk = list(itertools.islice(self._left, PARTS_PER_TURN))
        for (server, kind), group in itertools.groupby(chunk, key=lambda part: (part.server, part.kind)):
            if kind == OUTPUT:
                self.lines += self._splitter.feed(server, [part.what for part in group])
                continue
            for part in group:
                self.last = part.what
                line = self._result_lines.get(self.last["id"])
                if line is None:
                    line = self._result_lines[self.last["id"]] = result_line(self.last)
                self.lines += [*self._splitter.flush(server), line]
        if len(chunk) == PARTS_PER_TURN:
            return False
        for server in {server for server, _stream in self._splitter.partial}:
            self.lines += self._splitter.flush(server)
        return True


def _dropped(model: SessionModel, ranks: list[int]) -> int:
    return sum(model.output[rank].dropped for rank in ranks if rank in model.output)


def _start(entry: HistoryEntry) -> float:
    return entry.time_started if entry.time_started is not None else entry.time_queued


def _lines_of(part: Part) -> int:
    return 1 if part.kind == RESULT else max(1, text_of(part.what).count("\n"))
