"""Frontends over the link, on a listening session with real spawned servers: a dropped link is said
at once and resumed without loss; a program drives the session with the native API (`core.attach`)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import core
from core.events import CommandFinished
from core.frontends.local import LocalFrontend
from core.frontends.remote import RemoteFrontend
from core.frontends.replica import Replica
from core.frontends.sealed import LINK_RESULT_LIMIT
from mpi_helpers import listening_session, private_runtime_dir

TIMEOUT = 60


@pytest.fixture(scope="module")
def session():
    with private_runtime_dir(), listening_session(2) as (host, listener):
        yield host, listener


def _history(model) -> list[tuple]:
    return [(e.id, e.command, e.server, str(e.status), e.origin) for e in model.history.values()]


def _caught_up(replica: Replica, host) -> bool:
    with host._lock:
        expected = _history(host.model)
    return replica.wait_for(lambda model: _history(model) == expected, TIMEOUT)


class LinkStates:
    """What a frontend's `on_link` heard, to wait for."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, state: str) -> None:
        with self.changed:
            self.heard.append(state)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.heard) >= count, TIMEOUT), self.heard
            return list(self.heard)


def test_a_dropped_link_is_said_at_once_and_resumed_after_the_last_event(session):
    host, listener = session
    frontend, replica, states = RemoteFrontend(host.info.session_id, "attached:test:1"), Replica(), LinkStates()
    frontend.open(replica.on_snapshot, replica.on_events, states)
    local = LocalFrontend(host)
    local.submit("1", [1])[0].result(TIMEOUT)
    assert _caught_up(replica, host)
    [connection] = [c for c in listener.connections if c.label == "attached:test:1"]
    connection.link.close()  # as a broken link would
    futures = [f for index in range(20) for f in local.submit(f"{index}", [1 + index % 2])]
    heard = states.wait_for(3)
    assert heard[0] == "up" and heard[1].startswith("down: ") and heard[2] == "up"
    assert all(future.result(TIMEOUT)["successful"] for future in futures)
    assert _caught_up(replica, host) and replica.snapshots == 1  # resumed from the journal
    [remote_future] = frontend.submit("'after'", [2])
    assert remote_future.result(TIMEOUT)["ret"] == "after"
    frontend.detach()


def test_a_program_uses_the_native_api_on_the_session(session):
    host, listener = session
    with core.attach(host.info.session_id) as client:
        assert client.server_ranks() == [1, 2] and client.session_id == host.info.session_id
        assert set(client.get_server_status()) == {1, 2}
        seen = []
        unsubscribe = client.subscribe(seen.append)
        ids = client.push_command_request("x = 6", target_server=[1, 2])
        assert [r["status"] for r in client.get_command_response(ids, block=True, timeout=TIMEOUT)] == ["done"] * 2
        [response] = client.push_command_request("x * 7", block=True, target_server=2)
        assert response["ret"] == 42 and response["parameters"] is None
        assert client.get_command_response_event(ids).wait(TIMEOUT)
        assert set(ids) <= set(client.get_command_response_list())
        [square] = client.push_command_request("a * a", True, 1, parameters={"a": np.arange(3)})
        assert list(square["ret"]) == [0, 1, 4]
        unsubscribe()
        assert set(ids) <= {e.response["id"] for e in seen if isinstance(e, CommandFinished)}
        origins = client.read(lambda model: {model.history[i].origin for i in ids})
        assert origins == {client.frontend.label} and client.frontend.label.startswith("attached:")


def test_a_large_result_is_summarised_on_the_feed_and_fetched_whole(session):
    host, listener = session
    frontend, replica = RemoteFrontend(host.info.session_id), Replica()
    frontend.open(replica.on_snapshot, replica.on_events)
    with core.attach(host.info.session_id) as client:
        size = 2 * LINK_RESULT_LIMIT
        [response] = client.push_command_request(f"bytes({size})", block=True, target_server=1)
        assert response["ret"] == bytes(size) and response["ret_dropped"] is None
        command_id = response["id"]
        assert replica.wait_for(lambda model: model.history[command_id].response is not None, TIMEOUT)
        dropped = replica.read(lambda model: model.history[command_id].response["ret_dropped"])
        assert dropped["reason"] == "link" and dropped["summary"]["type"] == "bytes"
        assert client.get_command_response([command_id])[0]["ret"] == bytes(size)
    frontend.detach()


def test_an_attached_program_submits_with_the_text_to_show_and_gets_whole_results(session):
    host, listener = session
    size = 2 * LINK_RESULT_LIMIT
    with core.attach(host.info.session_id) as client:
        [answer] = client.push_command_request("6 * 7", True, 1, shown="the answer")
        large, both = client.submit(f"bytes({size})", target=2, shown="a large result"), client.submit("1", [1, 2])
        response = large.result(TIMEOUT)
        assert response["ret"] == bytes(size) and large.command_id == response["id"]
        assert [future.result(TIMEOUT)["server"] for future in both] == [1, 2]
        shown = client.read(lambda model: [model.history[r["id"]].text for r in (answer, response)])
        assert shown == ["the answer", "a large result"] and answer["shown"] == "the answer"
        assert client.get_command_response([f.command_id for f in both]) == [f.result() for f in both]


def test_interrupt_and_cancel_reach_the_servers(session):
    host, listener = session
    with core.attach(host.info.session_id) as client:
        [running] = client.push_command_request("import time\nwhile True: time.sleep(0.01)", target_server=1)
        [waiting] = client.push_command_request("'never'", target_server=1)
        client.cancel([waiting])
        assert client.get_command_response([waiting], block=True, timeout=TIMEOUT)[0]["status"] == "cancelled"
        assert client.replica.wait_for(lambda model: model.running.get(1) == running, TIMEOUT)
        client.interrupt(server=1)
        [interrupted] = client.get_command_response([running], block=True, timeout=TIMEOUT)
        assert interrupted["status"] == "interrupted"
        with pytest.raises(ValueError, match="unknown command id 999999"):
            client.get_command_response([999999])


def test_a_submitted_command_cancelled_before_the_session_numbered_it_is_cancelled(session):
    host, listener = session
    with core.attach(host.info.session_id) as client:
        [running] = client.push_command_request("import time\nwhile True: time.sleep(0.01)", target_server=2)
        waiting = client.submit("'never'", target=2)
        waiting.cancel()  # at once: its id is a round trip away
        assert waiting.result(TIMEOUT)["status"] == "cancelled"
        client.interrupt(server=2)
        assert client.get_command_response([running], block=True, timeout=TIMEOUT)[0]["status"] == "interrupted"


def test_an_attached_program_moves_data_with_the_clients_own_logic(session):
    host, listener = session
    with core.attach(host.info.session_id) as client:
        pushed = client.push({"block": np.arange(6)}, targets=[1, 2])
        assert [r["server"] for r in pushed] == [1, 2]
        assert {rank: list(value) for rank, value in client.pull("block", targets=[1, 2]).items()} == \
               {1: list(range(6)), 2: list(range(6))}
        client.scatter("part", list(range(10)), targets=[1, 2])
        assert client.gather("part", targets=[1, 2]) == list(range(10))
        client.push({"large": np.zeros(300_000)}, targets=1)  # beyond the link's limit: fetched whole
        assert client.pull("large", targets=1)[1].nbytes == 2_400_000
        with pytest.raises(core.DataMoveError, match="pull of 'nothing_here' on server 1 failed"):
            client.pull("nothing_here", targets=1)
        ids = {response["id"] for response in pushed}
        origins = client.read(lambda model: {model.history[i].origin for i in ids})
        assert origins == {client.frontend.label}
