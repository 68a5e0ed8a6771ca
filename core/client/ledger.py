"""The client's book of commands: every command's record and where each one waits.

A command targeted at a server is sent at once and waits in that server's FIFO; a command for
"the first available server" waits here until some server has nothing in flight. Each server
runs what it was sent in order, so the head of a server's in-flight FIFO is the command running
there. No MPI here; the engine calls it with its lock held.

Under a backlog (every server busy, more commands waiting than servers) a server is given more
first-available commands than it runs (up to `FIRST_AVAILABLE_DEPTH`), so that it starts the next
the moment one ends instead of a round trip later; such a command is *waiting behind* the running
one, and the engine recalls one for each server that has nothing to do, so that "first available"
still means the first server that is free.
"""
from __future__ import annotations

import collections
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from core.events import CommandQueued, Event
from core.futures import CommandFuture
from core.wire.responses import CommandResponse, Status

FIRST_AVAILABLE_DEPTH = 32
"""First-available commands one server may hold at once under a backlog: the running one and those
waiting behind it, which its worker starts one after the other without a round trip
(`core.wire.command_queue`) and whose responses come back several to an envelope. Measured
(`tools/command_profile.py`, all processes, µs a command, 1 / 2 servers): 553 / 495 with 2,
260 / 248 with 8, 193 / 180 with 16, 172 / 168 with 32 (`docs/benchmarks.md`)."""


@dataclass(eq=False, kw_only=True)
class CommandRecord:
    id: int
    command: str
    parameters: dict[str, Any] | None
    target: int | None
    block: bool
    buffers: list | None
    """The pickled parameters until the command is sent (until it starts, if it waits behind
    another: it may be given back, and sent again)."""
    future: CommandFuture
    push: int
    """The id of the first command of the same push (see `core.events.CommandQueued`)."""
    push_target: int | list[int] | None = None
    origin: str | None = None
    """Who sent it (see `core.events.CommandQueued.origin`)."""
    shown: str | None = None
    """The text to show for it (see `core.events.CommandQueued.shown`)."""
    time_queued: float = field(default_factory=time.time)
    server: int | None = None
    status: Status = Status.QUEUED
    response: CommandResponse | None = None
    recalling: bool = False
    """A first-available command waiting behind another, asked back from its server."""
    if_given_back: Status | None = None
    """How it ends if its server gives it back unrun: cancelled or interrupted when that was asked
    of the server while it was being recalled; None: it waits for the first available server again."""

    @property
    def done(self) -> bool:
        return self.response is not None


class Ledger:
    def __init__(self, ranks: list[int], announce: Callable[[Event], None]):
        """`announce`: where each opened command's `CommandQueued` goes (the client's event hub)."""
        self.records: dict[int, CommandRecord] = {}
        self.first_available: collections.deque[CommandRecord] = collections.deque()
        self.in_flight: dict[int, collections.deque[CommandRecord]] = {r: collections.deque() for r in ranks}
        self.waiting_behind: dict[int, CommandRecord] = {}
        """First-available commands placed behind a running one, by id (see the module's doc)."""
        self._announce = announce
        self._ids = itertools.count(1)
        self._ranks = sorted(ranks)
        self._next_server = 0

    def open(self, *, command: str, parameters: dict[str, Any] | None, buffers: list | None,
             targets: list[int | None], push_target: int | list[int] | None, block: bool,
             origin: str | None, cancel: Callable[[list[int]], Any], shown: str | None = None,
             server: int | None = None) -> list[CommandRecord]:
        """File one push, the one way a command comes into being: a record per target, in order,
        with ids counting on (the first is the push's id) and a future whose `cancel()` calls
        `cancel`, each announced by a `CommandQueued`. `server` is where they run, if that is
        known already (rank 0's own work); otherwise the engine places them."""
        records = []
        for target in targets:
            record_id = next(self._ids)
            record = CommandRecord(id=record_id, command=command, parameters=parameters, target=target,
                                   block=block, buffers=buffers, future=CommandFuture(record_id, cancel),
                                   push=records[0].id if records else record_id, push_target=push_target,
                                   origin=origin, shown=shown, server=server)
            self.records[record_id] = record
            self._announce(CommandQueued(id=record_id, command=command, parameters=parameters, target=target,
                                         block=block, time=record.time_queued, push=record.push,
                                         push_target=push_target, origin=origin, shown=shown))
            records.append(record)
        return records

    def add_rank(self, rank: int) -> None:
        self.in_flight.setdefault(rank, collections.deque())
        self._ranks = sorted(self.in_flight)

    def pending(self) -> list[CommandRecord]:
        return [r for r in list(self.records.values()) if not r.done]

    def place_on(self, record: CommandRecord, rank: int) -> bool:
        """Put `record` at the end of `rank`'s FIFO (the engine sends it there); True when it runs
        there at once."""
        record.server = rank
        fifo = self.in_flight[rank]
        fifo.append(record)
        if len(fifo) == 1:
            record.status = Status.RUNNING
            return True
        if record.target is None:
            self.waiting_behind[record.id] = record
        return False

    def idle_ranks(self, usable: Callable[[int], bool]) -> list[int]:
        """Servers with nothing in flight, starting after the last one chosen (round robin)."""
        return [r for r in self._round_robin() if not self.in_flight[r] and usable(r)]

    def _round_robin(self) -> list[int]:
        ranks = self._ranks
        start = self._next_server % len(ranks) if ranks else 0
        return ranks[start:] + ranks[:start]

    def advance_past(self, rank: int) -> None:
        """Start the next round-robin search after `rank` (it was just given a command)."""
        self._next_server = self._ranks.index(rank) + 1

    def next_server(self, usable: Callable[[int], bool]) -> int | None:
        """The server for the first command waiting for any server, or None (it waits on): an
        idle one, round robin; under a backlog (more commands waiting than usable servers, none
        idle) the least busy one with room under `FIRST_AVAILABLE_DEPTH`."""
        ranks, in_flight = self._ranks, self.in_flight
        start = self._next_server
        chosen, load = None, FIRST_AVAILABLE_DEPTH
        for step in range(len(ranks)):  # round robin: the first of the least busy
            rank = ranks[(start + step) % len(ranks)]
            if len(in_flight[rank]) < load and usable(rank):
                chosen, load = rank, len(in_flight[rank])
                if not load:
                    break
        if chosen is None or (load and len(self.first_available) <= sum(map(usable, ranks))):
            return None
        self.advance_past(chosen)
        return chosen

    def to_recall(self) -> CommandRecord | None:
        """A command waiting behind another that is not being recalled yet: the last one of the
        busiest server, which would wait longest."""
        candidates = [r for r in self.waiting_behind.values() if not r.recalling]
        if not candidates:
            return None
        return max(candidates, key=lambda r: (len(self.in_flight[r.server]), r.id))

    def give_back(self, record: CommandRecord) -> None:
        """Its server gave `record` back unrun: it waits for the first available server again,
        ahead of those that came after it."""
        self.in_flight[record.server].remove(record)
        self.waiting_behind.pop(record.id, None)
        record.server, record.status, record.recalling = None, Status.QUEUED, False
        waiting = self.first_available
        waiting.insert(next((i for i, r in enumerate(waiting) if r.id > record.id), len(waiting)), record)

    def finish(self, record: CommandRecord, response: dict[str, Any]) -> CommandRecord | None:
        """Record the final response; returns the command that starts running next, if any."""
        record.response = response
        record.status = response["status"]
        record.buffers = None
        if record.server is None:
            if record in self.first_available:
                self.first_available.remove(record)
            return None
        self.waiting_behind.pop(record.id, None)
        fifo = self.in_flight.get(record.server, ())  # none for rank 0's own work (core.console)
        was_head = bool(fifo) and fifo[0] is record
        if record in fifo:
            fifo.remove(record)
        if was_head and fifo:
            fifo[0].status = Status.RUNNING
            if self.waiting_behind.pop(fifo[0].id, None) is not None:
                fifo[0].buffers = None  # it runs: it will not be sent again
            return fifo[0]
        return None

    def running_on(self, rank: int) -> CommandRecord | None:
        fifo = self.in_flight.get(rank)
        return fifo[0] if fifo else None
