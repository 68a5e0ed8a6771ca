"""Commands on servers: results, namespaces, order, targets and the ways to wait for them."""
from __future__ import annotations

import asyncio
import time

import pytest

from mpi_helpers import recorded_events

RESPONSE_KEYS = {"id", "command", "parameters", "mode", "server", "status", "successful",
                 "traceback", "ret", "time_start", "time_end"}


def test_seed_example_runs_as_documented(client):
    ids = client.push_command_request("x = 2 * 21", target_server=1)
    assert isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], int)
    [response] = client.push_command_request("x", block=True, target_server=1)
    assert response["successful"] and response["ret"] == 42
    ids = client.push_command_request("a + b", parameters={"a": 1, "b": 2})
    [response] = client.get_command_response(ids, block=True)
    assert response["ret"] == 3


def test_response_has_every_documented_key(client):
    [response] = client.push_command_request("'hello'", block=True, target_server=2)
    assert response.keys() >= RESPONSE_KEYS
    assert response["command"] == "'hello'" and response["server"] == 2
    assert response["status"] == "done" and response["traceback"] is None
    assert response["time_start"] <= response["time_end"]


def test_expression_is_evaluated_and_statements_are_executed(client):
    [expression] = client.push_command_request("3 * 7", block=True, target_server=1)
    [statements] = client.push_command_request("y = 3\nz = y * 7", block=True, target_server=1)
    assert (expression["mode"], expression["ret"]) == ("eval", 21)
    assert (statements["mode"], statements["ret"]) == ("exec", None)


def test_statements_ending_in_an_expression_give_its_value_as_in_ipython(client):
    [response] = client.push_command_request("w = 20\nw + 1", block=True, target_server=2)
    assert (response["mode"], response["ret"]) == ("exec", 21)
    [quiet] = client.push_command_request("w + 1;", block=True, target_server=2)
    assert (quiet["mode"], quiet["ret"]) == ("exec", None)


def test_each_server_keeps_its_own_namespace(client):
    client.push_command_request("who = 'one'", target_server=1)
    client.push_command_request("who = 'two'", target_server=2)
    responses = client.push_command_request("who", block=True, target_server=[1, 2])
    assert [r["ret"] for r in responses] == ["one", "two"]
    assert [r["server"] for r in responses] == [1, 2]


def test_commands_for_one_server_run_in_the_order_pushed(client):
    client.push_command_request("order = []", block=True, target_server=2)
    ids = [client.push_command_request(f"order.append({i})", target_server=2)[0] for i in range(50)]
    client.get_command_response(ids, block=True)
    [response] = client.push_command_request("order", block=True, target_server=2)
    assert response["ret"] == list(range(50))


def test_parameters_are_bound_as_names_with_their_native_types(client):
    parameters = {"vis": "X54.ms", "spw": [1, 3, 5, 7], "flags": {"a": (1, 2.5)}, "n": None}
    [response] = client.push_command_request("(vis, spw, flags, n)", block=True, target_server=1,
                                             parameters=parameters)
    assert response["ret"] == ("X54.ms", [1, 3, 5, 7], {"a": (1, 2.5)}, None)
    assert response["parameters"] == parameters


def test_large_arrays_travel_both_ways_intact(client):
    np = pytest.importorskip("numpy")
    data = np.arange(1_000_000, dtype=np.float64)
    [response] = client.push_command_request("data * 2", block=True, target_server=2,
                                             parameters={"data": data})
    assert response["successful"], response["traceback"]
    assert np.array_equal(response["ret"], data * 2)


def test_consecutive_large_results_stay_intact_while_the_rank_reuses_its_buffers(client):
    pytest.importorskip("numpy")
    client.push_command_request("import numpy as np", block=True, target_server=1)
    for size, value in ((8_000_000, 1), (4_000_000, 2), (8_000_000, 3)):
        [response] = client.push_command_request(f"np.full({size}, {value}, dtype=np.uint8)", block=True,
                                                 target_server=1)
        assert response["successful"], response["traceback"]
        assert response["ret"].nbytes == size and (response["ret"] == value).all()
    [pair] = client.push_command_request("np.full(3_000_000, 4, np.uint8), np.full(5_000_000, 5, np.uint8)",
                                         block=True, target_server=1)
    first, second = pair["ret"]
    assert (first == 4).all() and (second == 5).all() and (first.size, second.size) == (3_000_000, 5_000_000)


def test_stop_after_medium_sized_messages_does_not_hang():
    from core import MPICommandClient
    with MPICommandClient(servers=1, print_output=False, session_log=False) as fresh:
        [response] = fresh.push_command_request("data", block=True, parameters={"data": bytes(100_000)})
        assert response["ret"] == bytes(100_000)


def test_first_available_spreads_work_over_idle_servers(client):
    ids = client.push_command_request("import time, os; time.sleep(0.3); os.getpid()", target_server=None)
    ids += client.push_command_request("import time, os; time.sleep(0.3); os.getpid()", target_server=None)
    responses = client.get_command_response(ids, block=True)
    assert {r["server"] for r in responses} == {1, 2}


def test_first_available_waits_for_a_server_to_become_idle(client):
    client.push_command_request("import time", block=True, target_server=[1, 2])
    busy = client.push_command_request("time.sleep(0.5)", target_server=[1, 2])
    queued = client.push_command_request("'ran'")
    [waiting] = client.commands[-1:]
    assert waiting.id == queued[0] and waiting.server is None
    [response] = client.get_command_response(queued, block=True)
    assert response["ret"] == "ran"
    assert all(r["status"] == "done" for r in client.get_command_response(busy, block=True))


def test_a_first_available_command_sent_behind_a_long_one_moves_to_the_server_that_becomes_idle(client):
    client.push_command_request("import time", block=True, target_server=[1, 2])
    [long] = client.push_command_request("time.sleep(60)", target_server=1)
    client.push_command_request("time.sleep(0.3)", target_server=2)
    client.push_command_request("'short'", target_server=2)
    waiting = [client.push_command_request(f"{i}")[0] for i in range(3)]  # more than servers: a backlog
    first = next(record for record in client.commands if record.id == waiting[0])
    deadline = time.monotonic() + 10  # the progress thread may be the one to place it
    while first.server is None and not first.done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.server == 1, "the first went behind the long command, the busier server being 2"
    responses = client.get_command_response(waiting, block=True, timeout=30)
    assert [r["server"] for r in responses] == [2, 2, 2] and [r["ret"] for r in responses] == [0, 1, 2]
    assert client.get_command_response([long]) == []
    client.interrupt([long])
    assert client.get_command_response([long], block=True, timeout=10)[0]["status"] == "interrupted"


def test_under_a_backlog_every_first_available_command_runs_once_on_either_server(client):
    client.push_command_request("runs = []", block=True, target_server=[1, 2])
    ids = [client.push_command_request(f"runs.append({i}) or {i}")[0] for i in range(300)]
    responses = client.get_command_response(ids, block=True, timeout=60)
    assert [r["ret"] for r in responses] == list(range(300)) and {r["server"] for r in responses} == {1, 2}
    ran = client.push_command_request("runs", block=True, target_server=[1, 2])
    assert sorted(ran[0]["ret"] + ran[1]["ret"]) == list(range(300))


def test_a_first_available_command_behind_a_long_one_moves_while_others_keep_coming(client):
    client.push_command_request("import time", block=True, target_server=[1, 2])
    [long] = client.push_command_request("time.sleep(60)", target_server=1)
    stream = [client.push_command_request(f"time.sleep(0.004) or {i}")[0] for i in range(1000)]  # ≈ 4 s on server 2
    responses = client.get_command_response(stream, block=True, timeout=60)
    assert {r["server"] for r in responses} == {2} and [r["ret"] for r in responses] == list(range(1000))
    placed_behind_the_long_one = [r for r in responses if r["id"] < stream[50]]  # before server 2 ran a backlog
    last_ones = sorted(r["time_start"] for r in responses)[-100:]
    assert max(r["time_start"] for r in placed_behind_the_long_one) < min(last_ones), \
        "a command waited behind the long one until the stream had drained"
    client.interrupt([long])


def test_blocking_push_to_a_list_returns_one_response_per_server(client):
    responses = client.push_command_request("1 + 1", block=True, target_server=[2, 1])
    assert [r["server"] for r in responses] == [2, 1]
    assert [r["ret"] for r in responses] == [2, 2]


def test_nested_id_lists_are_accepted_as_in_the_seed(client):
    first = client.push_command_request("'a'", target_server=1)
    second = client.push_command_request("'b'", target_server=[1, 2])
    responses = client.get_command_response([first, [second]], block=True)
    assert [r["ret"] for r in responses] == ["a", "b", "b"]


def test_non_blocking_get_returns_only_finished_responses(client):
    client.push_command_request("import threading; gate = threading.Event()", block=True, target_server=1)
    waiting = client.push_command_request("gate.wait(30)", target_server=1)
    assert client.get_command_response(waiting) == []
    client.interrupt(waiting)
    [response] = client.get_command_response(waiting, block=True)
    assert response["status"] == "interrupted"


def test_response_event_is_set_when_all_commands_are_done(client):
    ids = client.push_command_request("import time; time.sleep(0.2)", target_server=[1, 2])
    event = client.get_command_response_event(ids)
    assert not event.is_set()
    assert event.wait(30)
    assert all(r["successful"] for r in client.get_command_response(ids))


def test_submit_returns_futures_that_asyncio_can_await(client):
    future = client.submit("6 * 7", target=2)
    assert future.result(timeout=30)["ret"] == 42
    futures = client.submit("'both'", target=[1, 2])

    async def gather():
        return await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

    assert [r["ret"] for r in asyncio.run(gather())] == ["both", "both"]


def test_events_follow_a_command_from_queued_to_finished(client):
    from core import events
    with recorded_events(client) as seen:
        [response] = client.push_command_request("print('out'); 5", block=True, target_server=1)
    mine = [e for e in seen if getattr(e, "id", None) == response["id"]
            or (isinstance(e, events.CommandFinished) and e.response["id"] == response["id"])]
    assert [type(e).__name__ for e in mine] == ["CommandQueued", "CommandStarted", "CommandFinished"]
    output = [item for e in seen if isinstance(e, events.ServerOutput) for item in e.items
              if item.command_id == response["id"]]
    assert [(item.stream, item.text) for item in output] == [("stdout", "out\n")]


def test_server_status_reports_each_server(client):
    status = client.get_server_status()
    assert sorted(status) == [1, 2]
    for rank, entry in status.items():
        assert entry["rank"] == rank and entry["state"] in ("idle", "busy")
        assert isinstance(entry["pid"], int) and isinstance(entry["worker_pid"], int)
        assert entry["processor"] and entry["timeout"] is False
        assert {"busy", "command", "cpu_percent", "rss"} <= entry.keys()


def test_output_of_commands_queued_in_the_worker_is_put_down_to_the_command_that_wrote_it(client):
    """A server hands its worker the commands queued behind the one running, and the worker starts
    each as soon as it ends the one before; what each prints still goes with it."""
    from core import events
    client.push_command_request("import os, sys", block=True, target_server=1)
    commands = [f"print('python {i}'); os.write(1, b'c {i}\\n'); print('err {i}', file=sys.stderr); {i}"
                for i in range(40)]
    with recorded_events(client) as seen:
        ids = [client.push_command_request(command, target_server=1)[0] for command in commands]
        responses = client.get_command_response(ids, block=True, timeout=60)
    assert [r["ret"] for r in responses] == list(range(40))
    printed: dict = {}
    for event in seen:
        if isinstance(event, events.ServerOutput):
            for item in event.items:
                if getattr(item, "text", None):
                    printed.setdefault((item.command_id, item.stream), []).append(item.text)
    for i, command_id in enumerate(ids):
        assert "".join(printed[(command_id, "stdout")]) == f"python {i}\nc {i}\n"
        assert "".join(printed[(command_id, "stderr")]) == f"err {i}\n"
