"""Bounded client memory: old results are let go beyond `result_memory`, and say so; large
parameters as soon as they are sent."""
from __future__ import annotations

import gc
import json
import weakref

import numpy as np

import psutil
import pytest

from core import MPICommandClient

MB = 1_000_000


def test_result_memory_must_be_a_number_of_bytes(client):
    with pytest.raises(ValueError, match="result_memory must be a number of bytes"):
        MPICommandClient(result_memory=-1)
    with pytest.raises(ValueError, match="result_memory must be a number of bytes"):
        MPICommandClient(result_memory=1.5e9)
    with pytest.raises(ValueError, match="result_memory must be a number of bytes"):
        client.result_memory = "1 GB"


def test_lowering_result_memory_lets_go_of_old_results_now(client):
    limit = client.result_memory
    try:
        [old] = client.push_command_request("list(range(1000))", block=True, target_server=1)
        [new] = client.push_command_request("list(range(1000))", block=True, target_server=1)
        client.result_memory = 0
        assert client.result_memory == 0
        assert old["ret"] is None and old["ret_dropped"]["reason"] == "budget" and new["ret"] is not None
    finally:
        client.result_memory = limit


def test_a_large_parameter_is_let_go_once_sent_and_summarised_where_it_was(client):
    array = np.arange(100_000, dtype=np.float64)
    parameters = {"data": array, "label": "block 1"}
    alive = weakref.ref(array)
    responses = client.push_command_request("float(data.sum())", block=True, target_server=[1, 2],
                                            parameters=parameters)
    assert [r["ret"] for r in responses] == [float(array.sum())] * 2
    assert parameters == {"data": array, "label": "block 1"}  # the caller's dict stays the caller's
    del array, parameters
    gc.collect()
    assert alive() is None  # nor the ledger, the events, the responses nor a finished send keep it
    for response in responses:
        released, label = response["parameters"]["data"], response["parameters"]["label"]
        assert (released.summary["type"], released.summary["shape"], label) == ("numpy.ndarray", [100000], "block 1")
        assert "digest" not in released.summary  # hashing what the client sends would slow every push
        assert repr(released) == "<numpy.ndarray shape=[100000] dtype=float64 size=100000: sent, not kept>"


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
