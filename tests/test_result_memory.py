"""Bounded client memory: old results are let go beyond `result_memory`, and say so."""
from __future__ import annotations

import json

import numpy as np
import psutil
import pytest

from core import MPICommandClient
from core.client.result_budget import ResultBudget
from core.events import CommandFinished, EventHub, ResultsDropped

MB = 1_000_000


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


def test_result_memory_must_be_a_number_of_bytes():
    with pytest.raises(ValueError, match="result_memory must be a number of bytes"):
        MPICommandClient(result_memory=-1)
    with pytest.raises(ValueError, match="result_memory must be a number of bytes"):
        MPICommandClient(result_memory=1.5e9)


def test_purge_results_frees_on_demand_and_the_history_shows_it(client):
    [response] = client.push_command_request("list(range(1000))", block=True, target_server=1)
    assert response["ret_size"] > 0 and response["ret_dropped"] is None
    assert client.purge_results([response["id"]]) == response["ret_size"]
    [record] = [r for r in client.commands if r.id == response["id"]]
    assert record.response["ret"] is None and record.response["ret_dropped"]["summary"]["size"] == 1000
    with pytest.raises(ValueError, match="unknown command id 123456"):
        client.purge_results([123456])


BUDGET = 320 * MB
PIECE = 100 * MB
OVERHEAD = 2 * PIECE
"""One piece arriving while the budget is full, and as much again for what else the process grows by."""


def test_two_gigabytes_of_results_keep_the_client_within_its_budget(tmp_path):
    log = tmp_path / "soak.jsonl"
    me = psutil.Process()
    with MPICommandClient(servers=1, print_output=False, session_log=log, result_memory=BUDGET) as client:
        client.push_command_request(f"import numpy as np; piece = np.ones({PIECE}, dtype=np.uint8)", block=True)
        baseline = me.memory_info().rss
        peak = 0
        for _ in range(20):
            client.push_command_request("piece", block=True, target_server=1)
            peak = max(peak, me.memory_info().rss - baseline)
            assert client.result_memory_used <= BUDGET
        responses = [r.response for r in client.commands[1:]]
    assert peak <= BUDGET + OVERHEAD, f"the client grew by {peak / MB:.0f} MB"
    kept = [r for r in responses if r["ret_dropped"] is None]
    assert len(kept) == 3 and all(r["ret"].nbytes == PIECE for r in kept)
    gone = [r for r in responses if r["ret_dropped"] is not None]
    assert len(gone) == 17 and all(r["ret"] is None and r["status"] == "done" and r["successful"] for r in gone)
    assert gone[0]["ret_dropped"]["summary"]["shape"] == [PIECE]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    results = [line["ret"] for line in logged if line["event"] == "finished"][1:]
    assert len(results) == 20 and all(r["summary"]["shape"] == [PIECE] for r in results)
