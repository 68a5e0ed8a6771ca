"""One answer from each of several servers, gathered into one future: `{rank: answer}`.

A request the client sends to several servers at once (namespace summaries, `core.client.namespace_watch`;
stacks, `core.client.stack_requests`) is answered server by server; its future is resolved, in order
with the events, once the last one has answered (None for one that could not: lost, or too late).
"""
from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from core.events import EventHub


class Gathering:
    def __init__(self, ranks: list[int], hub: EventHub, future: Future):
        self.future = future
        self.waiting = set(ranks)
        self._answers: dict[int, Any] = {}
        self._hub = hub
        if not ranks:
            hub.post_call(lambda: future.set_result({}))

    def answer(self, rank: int, value: Any) -> None:
        if rank not in self.waiting:
            return
        self._answers[rank] = value
        self.waiting.discard(rank)
        if not self.waiting:
            answers = dict(sorted(self._answers.items()))
            self._hub.post_call(lambda: self.future.set_result(answers))
