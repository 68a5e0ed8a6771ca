"""The client's open requests for its servers' stacks (`MPICommandClient.stacks`).

Each request has a number; every server asked answers with a `Tag.STACK_REPORT` of that number
(`core.stacks.StackReport`), and the request's future gets `{rank: report}` once all have. A server
that was lost, or that did not answer within `STACKS_DEADLINE` (a stopped rank), gets None, so a
Stacks view never waits on one. No MPI here; the engine calls it with its lock held.
"""
from __future__ import annotations

import itertools
from concurrent.futures import Future

from core.client.gathering import Gathering
from core.events import EventHub
from core.stacks import StackReport

STACKS_DEADLINE = 5.0
"""Seconds a server has to answer: a busy server answers in milliseconds (its worker's stack is
written by a signal handler), a stopped one never."""


class StackRequests:
    def __init__(self, hub: EventHub):
        self._hub = hub
        self._numbers = itertools.count(1)
        self._open: dict[int, tuple[Gathering, float]] = {}

    def open(self, ranks: list[int], future: Future, now: float) -> int:
        """A new request to `ranks`; its number, for the messages that ask them."""
        number = next(self._numbers)
        gathering = Gathering(ranks, self._hub, future)
        if ranks:
            self._open[number] = (gathering, now + STACKS_DEADLINE)
        return number

    def answer(self, number: int, rank: int, report: StackReport) -> None:
        self._give(number, rank, report)

    def lost(self, rank: int) -> None:
        for number in list(self._open):
            self._give(number, rank, None)

    def expire(self, now: float) -> None:
        """Give up on the servers that have not answered in time."""
        for number, (gathering, deadline) in list(self._open.items()):
            if now >= deadline:
                for rank in list(gathering.waiting):
                    self._give(number, rank, None)

    def _give(self, number: int, rank: int, report: StackReport | None) -> None:
        entry = self._open.get(number)
        if entry is None:
            return
        entry[0].answer(rank, report)
        if not entry[0].waiting:
            del self._open[number]
