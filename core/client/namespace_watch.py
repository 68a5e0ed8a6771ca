"""The client's latest knowledge of each server's namespace, for a variable explorer.

A server describes its namespace (`core.worker.namespace_summary`, names and facts, never values)
only when asked, because a summary of 1,000 names costs several times a tiny round trip. Two ways
to ask:

* watching: while on, every command carries `summarize` and its response brings the summary
  taken right after it, so a watcher sees each server's namespace after every command there;
* a request: a summary-only command (`SUMMARY_COMMAND`, negative id, no record in the ledger)
  sent to each server. It waits in the server's FIFO like any command, so it describes the
  namespace after everything sent before it; it is not a command of the session (no history,
  no log). It does cost the server's `namespace_reset` flag, which this class carries over to
  that server's next real response.

Every new summary is posted as a `NamespaceChanged` event. No MPI here; the engine calls it with
its lock held.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from core.client.gathering import Gathering
from core.events import EventHub, NamespaceChanged
from core.wire import blobs
from core.wire.messages import CommandRequest, NameSummary

SUMMARY_COMMAND = "None  # mpipanel: namespace summary"


class NamespaceWatch:
    def __init__(self, hub: EventHub):
        self.hub = hub
        self.watching = False
        self.latest: dict[int, NamespaceChanged] = {}
        self._ids = itertools.count(-1, -1)
        self._requests: dict[int, tuple[int, Gathering]] = {}
        self._unreported_reset: set[int] = set()

    def request(self, ranks: list[int], send: Callable[[int, CommandRequest], None], future: Future) -> None:
        """Ask each server for a summary; `future` gets `{rank: names or None}` (None: the
        server was lost, or its summary command was interrupted)."""
        gathering = Gathering(ranks, self.hub, future)
        for rank in ranks:
            request_id = next(self._ids)
            self._requests[request_id] = (rank, gathering)
            send(rank, CommandRequest(request_id, SUMMARY_COMMAND, True))

    def take_summary(self, rank: int, fields: dict[str, Any], buffers: list) -> list:
        """Take the summary out of a response and return the buffers of its result. A response
        with a negative id answered a summary request and is no command's; a command's response
        gets any namespace reset it was owed."""
        count = fields.pop("namespace", 0)
        names = blobs.unpack(buffers[-count:]) if count else None
        buffers = buffers[:-count] if count else buffers
        command_id = fields["id"]
        if command_id > 0:
            if names is not None:
                self._post(rank, names, command_id)
            if rank in self._unreported_reset:
                self._unreported_reset.discard(rank)
                fields["namespace_reset"] = True
            return buffers
        if fields.get("namespace_reset"):
            self._unreported_reset.add(rank)
        if names is not None:
            self._post(rank, names, None)
        request = self._requests.pop(command_id, None)
        if request is not None:
            request[1].answer(rank, names)
        return buffers

    def reset(self, rank: int) -> None:
        """The server (re)started with an empty namespace."""
        self._post(rank, [], None)

    def lost(self, rank: int) -> None:
        for request_id, (owner, gathering) in list(self._requests.items()):
            if owner == rank:
                del self._requests[request_id]
                gathering.answer(rank, None)

    def _post(self, rank: int, names: list[NameSummary], command_id: int | None) -> None:
        event = NamespaceChanged(rank, names, command_id, time.time())
        self.latest[rank] = event
        self.hub.post(event)
