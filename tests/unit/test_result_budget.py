"""The result budget: oldest results let go first, the newest kept, purges counted (`core.client.result_budget`)."""
from __future__ import annotations

import numpy as np

from core.client.result_budget import ResultBudget
from core.events import CommandFinished, EventHub, ResultsDropped


def _finished(command_id: int, size: int) -> CommandFinished:
    return CommandFinished({"id": command_id, "ret": np.zeros(size, dtype=np.uint8), "ret_size": size,
                            "ret_dropped": None, "status": "done"})


def _budget(limit):
    hub = EventHub()
    dropped: list = []
    hub.subscribe(lambda event: dropped.append(event) if isinstance(event, ResultsDropped) else None)
    return ResultBudget(limit, hub), hub, dropped


def test_oldest_results_go_first_and_the_newest_always_stays():
    budget, hub, dropped = _budget(250)
    events = [_finished(i, 100) for i in (1, 2, 3)]
    for event in events:
        budget(event)
    hub.deliver()
    assert [e.ids for e in dropped] == [[1]] and budget.kept_bytes == 200
    first = events[0].response
    assert first["ret"] is None and first["status"] == "done"
    assert first["ret_dropped"]["reason"] == "budget"
    assert first["ret_dropped"]["summary"]["shape"] == [100]
    huge = _finished(4, 1000)
    budget(huge)
    assert huge.response["ret"] is not None and budget.kept_bytes == 1000


def test_purge_drops_the_named_results_or_all_and_counts_the_bytes():
    budget, hub, dropped = _budget(None)
    events = [_finished(i, 10 * i) for i in (1, 2, 3)]
    for event in events:
        budget(event)
    assert budget.purge([2, 99]) == 20
    assert events[1].response["ret_dropped"]["reason"] == "purged" and events[0].response["ret"] is not None
    assert budget.purge() == 40 and budget.kept_bytes == 0
    hub.deliver()
    assert [(e.ids, e.reason) for e in dropped] == [([2], "purged"), ([1, 3], "purged")]


def test_results_of_none_or_failed_commands_cost_nothing():
    budget, _, _ = _budget(10)
    budget(CommandFinished({"id": 1, "ret": None, "ret_size": 0, "ret_dropped": None}))
    assert budget.kept_bytes == 0


def test_a_lower_limit_lets_go_of_the_oldest_results_at_once():
    budget, hub, dropped = _budget(None)
    events = [_finished(i, 100) for i in (1, 2, 3)]
    for event in events:
        budget(event)
    budget.set_limit(150)
    hub.deliver()
    assert [(e.ids, e.reason) for e in dropped] == [([1, 2], "budget")] and budget.kept_bytes == 100
    budget.set_limit(0)
    assert events[2].response["ret"] is not None  # the newest stays, as on arrival
