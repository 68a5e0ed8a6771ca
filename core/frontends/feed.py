"""One frontend's stream of a session's numbered events: everything in order, output coalesced.

A frontend must never fall behind a flood: four servers printing 50k lines a second would bury
a window (or a link) under events. So a feed passes every other event on as it comes, in order,
and holds each server's output in a `BoundedOutput` that it hands over at most every
`OUTPUT_INTERVAL` seconds, keeping the newest `MAX_HANDOVER_CHARS` of a hand-over shared by the
servers and counting the lines let go (`ServerOutput.dropped`). What a command printed is handed
over before its `CommandFinished`, so a frontend shows a command's last lines before its result.

The numbers: each event keeps its session number; a server's coalesced output carries the number
of its last part, so it may come after a higher number (another server's event) in the same
hand-over. A frontend resumes after the highest number it saw; what output its feed still held
when its link dropped is lost, as output let go under a flood is. Pure logic: the host
(`core.frontends.host`) feeds it under its lock and hands over on its feed thread.
"""
from __future__ import annotations

from core.events import CommandFinished, ServerOutput
from core.frontends.frontend import Numbered
from core.frontends.model import SessionEvent
from core.frontends.output import BoundedOutput

OUTPUT_INTERVAL = 0.1
"""Seconds between two hand-overs of output (the window's panes used to refresh this often)."""
MAX_HANDOVER_CHARS = 32_000
"""Per hand-over, at most this much output goes to a frontend, shared among the servers (each
keeps its newest `MAX_HANDOVER_CHARS / servers`, but at least `MIN_SERVER_CHARS`); the rest is
counted as dropped. That is 320 kB/s, more than anyone reads, and it keeps each hand-over short
whatever the number of servers, so a flood cannot stall a window."""
MIN_SERVER_CHARS = 1_000


def server_output_limit(servers: int) -> int:
    """Characters of one server's output a hand-over carries at most."""
    return max(MIN_SERVER_CHARS, MAX_HANDOVER_CHARS // max(1, servers))


class Feed:
    """The events of one frontend since `after`, waiting for their hand-over."""

    def __init__(self, servers: int, after: int):
        self.last_seq = after
        """The number of the last event added."""
        self._limit = server_output_limit(servers)
        self._events: Numbered = []
        self._output: dict[int, BoundedOutput] = {}
        self._output_seq: dict[int, int] = {}
        self._next_output = 0.0

    def add(self, seq: int, event: SessionEvent) -> None:
        self.last_seq = seq
        if isinstance(event, ServerOutput):
            pending = self._output.get(event.server)
            if pending is None:
                pending = self._output[event.server] = BoundedOutput(self._limit)
            pending.add(event.items)
            pending.dropped += event.dropped
            self._output_seq[event.server] = seq
        else:
            self._events.append((seq, event))

    @property
    def waiting(self) -> int:
        """Events other than output waiting for their hand-over."""
        return len(self._events)

    def due_in(self, now: float) -> float | None:
        """Seconds until something is to be handed over (0: now); None when nothing waits."""
        if self._events:
            return 0.0
        if self._output:
            return max(0.0, self._next_output - now)
        return None

    def take(self, now: float, flush: bool = False) -> Numbered:
        """What is due: every event waiting, each `CommandFinished` after its server's output,
        and every server's output once `OUTPUT_INTERVAL` has passed since the last (or at once
        with `flush`, for a feed that ends)."""
        batch: Numbered = []
        for seq, event in self._events:
            if isinstance(event, CommandFinished) and event.response["server"] in self._output:
                batch.append(self._hand_over(event.response["server"]))
            batch.append((seq, event))
        self._events = []
        if self._output and (flush or now >= self._next_output):
            batch.extend(self._hand_over(server) for server in list(self._output))
            self._next_output = now + OUTPUT_INTERVAL
        return batch

    def _hand_over(self, server: int) -> tuple[int, ServerOutput]:
        items, dropped = self._output.pop(server).take()
        return self._output_seq.pop(server), ServerOutput(server, items, dropped)
