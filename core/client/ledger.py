"""The client's book of commands: every command's record and where each one waits.

A command targeted at a server is sent at once and waits in that server's FIFO; a command for
"the first available server" waits here until some server has nothing in flight. Each server
runs what it was sent in order, so the head of a server's in-flight FIFO is the command running
there. A command whose server timed out has a provisional response but stays in the FIFO, since
it may still run there (`time_out`); one whose worker died may be sent again (`requeue`). No MPI
here; the engine calls it with its lock held.

Under a backlog (every server busy, more commands waiting than servers) a server is given more
first-available commands than it runs (up to `FIRST_AVAILABLE_DEPTH`), so that it starts the next
the moment one ends instead of a round trip later; such a command is *waiting behind* the running
one. So that "first available" still means the first server that is free, a server left with
nothing to do while no command waits here asks back the oldest first-available command waiting
behind another (`recall_for`); one that waits behind a command running for `STUCK_AFTER` seconds or
more is asked back for a server that will be free sooner even while others keep coming
(`rescue_stuck`), so that it does not wait for a long command, nor for the whole backlog to drain.
The server it is asked back for is kept for it (no other first-available command goes there) until
it comes back or starts where it is; a server kept for a command on a server gone silent takes
other work meanwhile. Start order is close to push order but not exactly it: a server starts those
it holds one after the other, and one asked back may start after later ones.
"""
from __future__ import annotations

import collections
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from core.events import CommandQueued, Event
from core.futures import CommandFuture
from core.wire.messages import TIME_LIMIT_GRACE
from core.wire.responses import CommandResponse, Status

STUCK_AFTER = 1.0
"""Seconds a command has run (as the client saw it start) after which a first-available command
waiting behind it is asked back for a server that will be free sooner (`Ledger.rescue_stuck`)."""

FIRST_AVAILABLE_DEPTH = 32
"""First-available commands one server may hold at once under a backlog: the running one and those
waiting behind it, which its worker starts one after the other without a round trip
(`core.wire.command_queue`) and whose responses come back several to an envelope. Measured
(`tools/command_profile.py`, all processes, µs a command, 1 / 2 servers): 553 / 495 with 2,
260 / 248 with 8, 193 / 180 with 16, 172 / 168 with 32 (`docs/benchmarks.md`)."""


_FUTURES_MADE = threading.Lock()
"""Serialises making a record's future with resolving it (`CommandRecord.future`, `resolve`)."""


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
    cancel: Callable[[list[int]], Any]
    """What its future's `cancel()` calls (the client's `cancel`)."""
    push: int
    """The id of the first command of the same push (see `core.events.CommandQueued`)."""
    push_target: int | list[int] | None = None
    origin: str | None = None
    """Who sent it (see `core.events.CommandQueued.origin`)."""
    shown: str | None = None
    """The text to show for it (see `core.events.CommandQueued.shown`)."""
    time_limit: float | None = None
    grace: float = TIME_LIMIT_GRACE
    retries: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """The attempts that failed because their worker died (`core.events.CommandRetried`)."""
    time_queued: float = field(default_factory=time.time)
    server: int | None = None
    status: Status = Status.QUEUED
    response: CommandResponse | None = None
    if_given_back: Status | None = None
    """How it ends if its server gives it back unrun: cancelled or interrupted when that was asked
    of the server while it was being recalled; None: it waits for the first available server again."""
    provisional: bool = False
    """Its response is a provisional 'timeout', which the real one may still replace."""
    running_since: float = 0.0
    """When it became the head of its server's FIFO (`time.monotonic()`, the client's view)."""
    resolved: bool = False
    """Its (first) response was delivered (`resolve`): its future is done, or is made done."""
    _future: CommandFuture | None = field(default=None, init=False, repr=False)

    @property
    def future(self) -> CommandFuture:
        """The command's future, made when first asked for: a blocking push never asks, and a
        future costs its `Condition` and, resolved, a notify (≈ 3 µs of each round trip). Made
        after `resolve`, it is done at once."""
        with _FUTURES_MADE:
            if self._future is None:
                self._future = CommandFuture(self.id, self.cancel)
                if self.resolved:
                    self._future.set_result(self.response)
            return self._future

    def resolve(self, response: CommandResponse) -> None:
        """Resolve its future with `response`, if it was made (else it is made done): run in
        order with the events, after the `CommandFinished` that carries the response."""
        with _FUTURES_MADE:
            self.resolved = True
            future = self._future
        if future is not None:
            future.set_result(response)

    def queued_event(self) -> CommandQueued:
        """Its `CommandQueued`, made from the fields it was opened with, which never change."""
        return CommandQueued(id=self.id, command=self.command, parameters=self.parameters, target=self.target,
                             block=self.block, time=self.time_queued, push=self.push, push_target=self.push_target,
                             origin=self.origin, shown=self.shown, time_limit=self.time_limit, retries=self.retries)

    @property
    def done(self) -> bool:
        return self.response is not None

    @property
    def may_retry(self) -> bool:
        """Its worker's death sends it again (its parameters are kept for that)."""
        return len(self.attempts) < self.retries


class Ledger:
    def __init__(self, ranks: list[int], announce: Callable[[Callable[[], Event]], None]):
        """`announce`: where each opened command's `CommandQueued` goes, as the function that makes
        it (the client's event hub, `EventHub.post_made`: it is made when it is delivered)."""
        self.records: dict[int, CommandRecord] = {}
        self.first_available: collections.deque[CommandRecord] = collections.deque()
        self.in_flight: dict[int, collections.deque[CommandRecord]] = {r: collections.deque() for r in ranks}
        self.waiting_behind: dict[int, CommandRecord] = {}
        """First-available commands placed behind a running one, by id (see the module's doc)."""
        self.recalls: dict[int, int] = {}
        """Commands asked back from their server, by id: the idle server kept for each one."""
        self._announce = announce
        self._ids = itertools.count(1)
        self._ranks = sorted(ranks)
        self._next_server = 0

    def open(self, *, command: str, parameters: dict[str, Any] | None, buffers: list | None,
             targets: list[int | None], push_target: int | list[int] | None, block: bool,
             origin: str | None, cancel: Callable[[list[int]], Any], shown: str | None = None,
             server: int | None = None, time_limit: float | None = None, grace: float = TIME_LIMIT_GRACE,
             retries: int = 0) -> list[CommandRecord]:
        """File one push, the one way a command comes into being: a record per target, in order,
        with ids counting on (the first is the push's id) and a future whose `cancel()` calls
        `cancel`, each announced by a `CommandQueued`. `server` is where they run, if that is
        known already (rank 0's own work); otherwise the engine places them. `time_limit`,
        `grace` and `retries` are the push's (`MPICommandClient.push_command_request`)."""
        records = []
        for target in targets:
            record_id = next(self._ids)
            record = CommandRecord(id=record_id, command=command, parameters=parameters, target=target,
                                   block=block, buffers=buffers, cancel=cancel,
                                   push=records[0].id if records else record_id, push_target=push_target,
                                   origin=origin, shown=shown, server=server, time_limit=time_limit, grace=grace,
                                   retries=retries)
            self.records[record_id] = record
            self._announce(record.queued_event)
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
            record.status, record.running_since = Status.RUNNING, time.monotonic()
            return True
        if record.target is None:
            self.waiting_behind[record.id] = record
        return False

    def idle_ranks(self, usable: Callable[[int], bool]) -> list[int]:
        """Servers with nothing in flight and no recalled command on its way to them, starting
        after the last one chosen (round robin)."""
        kept = self._kept(usable)
        return [r for r in self._round_robin() if not self.in_flight[r] and r not in kept and usable(r)]

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
        kept = self._kept(usable)
        chosen, load = None, FIRST_AVAILABLE_DEPTH
        for step in range(len(ranks)):  # round robin: the first of the least busy
            rank = ranks[(start + step) % len(ranks)]
            if len(in_flight[rank]) < load and rank not in kept and usable(rank):
                chosen, load = rank, len(in_flight[rank])
                if not load:
                    break
        if chosen is None or (load and len(self.first_available) <= sum(map(usable, ranks))):
            return None
        self.advance_past(chosen)
        return chosen

    def recall_for(self, idle: int, usable: Callable[[int], bool]) -> CommandRecord | None:
        """The oldest command waiting behind another on a server that can answer, not asked back
        yet, to ask back for server `idle`, which is kept for it from now on (see the module's doc)."""
        candidates = [r for r in self.waiting_behind.values() if r.id not in self.recalls and usable(r.server)]
        if not candidates:
            return None
        record = min(candidates, key=lambda r: r.id)
        self.recalls[record.id] = idle
        return record

    def rescue_stuck(self, now: float, usable: Callable[[int], bool]) -> list[CommandRecord]:
        """The first-available commands waiting behind a command that has run for `STUCK_AFTER` s
        or more (`now`: monotonic), to ask back each for the least busy other server that is idle
        or whose command started later, which is kept for it from now on."""
        kept = self._kept(usable)
        rescued = []
        for rank, fifo in self.in_flight.items():
            if not fifo or now - fifo[0].running_since < STUCK_AFTER or not usable(rank):
                continue
            stuck = [r for r in fifo if r.id in self.waiting_behind and r.id not in self.recalls]
            load = {other: len(queue) for other, queue in self.in_flight.items()
                    if other != rank and other not in kept and usable(other)
                    and (not queue or queue[0].running_since > fifo[0].running_since)}
            for record in stuck if load else ():
                helper = min(load, key=load.__getitem__)
                load[helper] += 1
                self.recalls[record.id] = helper
                rescued.append(record)
        return rescued

    def _kept(self, usable: Callable[[int], bool]) -> set[int]:
        """The servers kept for a command asked back from a server that can still answer."""
        return {idle for command_id, idle in self.recalls.items() if usable(self.records[command_id].server)}

    def give_back(self, record: CommandRecord) -> int | None:
        """Its server gave `record` back unrun: take it off there; returns the server it was
        asked back for, where it goes next."""
        self.in_flight[record.server].remove(record)
        self.waiting_behind.pop(record.id, None)
        record.server, record.status = None, Status.QUEUED
        return self.recalls.pop(record.id, None)

    def wait_again(self, record: CommandRecord) -> None:
        """`record` waits for the first available server again, ahead of those pushed after it."""
        waiting = self.first_available
        waiting.insert(next((i for i, r in enumerate(waiting) if r.id > record.id), len(waiting)), record)

    def finish(self, record: CommandRecord, response: dict[str, Any]) -> CommandRecord | None:
        """Record the final response (in place of a provisional one, in the same dict); returns
        the command that starts running next, if any."""
        if record.provisional:
            record.response.update(response)
            record.provisional = False
        else:
            record.response = response
        record.status = response["status"]
        record.buffers = None
        return self._leave(record)

    def time_out(self, record: CommandRecord, response: dict[str, Any]) -> None:
        """Give `record` a provisional response ('timeout'); it stays where it waits or runs."""
        record.response = response
        record.status = response["status"]
        record.provisional = True

    def requeue(self, record: CommandRecord, attempt: dict[str, Any]) -> CommandRecord | None:
        """`record`'s worker died and it is to be sent again: note the failed `attempt`, take it off
        its server (a command for the first available server may go elsewhere); returns the
        command that starts running next there, if any."""
        record.attempts.append(attempt)
        following = self._leave(record)
        record.status = Status.QUEUED
        if record.target is None:
            record.server = None
        return following

    def _leave(self, record: CommandRecord) -> CommandRecord | None:
        """Take `record` off the queue it is in; the command that starts running next, if any."""
        if record.server is None:
            if record in self.first_available:
                self.first_available.remove(record)
            return None
        self.waiting_behind.pop(record.id, None)
        self.recalls.pop(record.id, None)  # it ran where it was: the server kept for it is free
        fifo = self.in_flight.get(record.server, ())  # none for rank 0's own work (core.console)
        was_head = bool(fifo) and fifo[0] is record
        if record in fifo:
            fifo.remove(record)
        if was_head and fifo:
            fifo[0].running_since = time.monotonic()
            if not fifo[0].provisional:
                fifo[0].status = Status.RUNNING
            self.recalls.pop(fifo[0].id, None)  # it starts where it is, not given back
            if self.waiting_behind.pop(fifo[0].id, None) is not None and not fifo[0].may_retry:
                fifo[0].buffers = None  # it runs: it will not be sent again, unless it is retried
            return fifo[0]
        return None

    def running_on(self, rank: int) -> CommandRecord | None:
        fifo = self.in_flight.get(rank)
        return fifo[0] if fifo else None
