"""Summaries of the servers' namespaces: names and facts, never values, only when asked for."""
from __future__ import annotations

import time

import pytest

from core import MPICommandClient
from core.events import NamespaceChanged
from mpi_helpers import recorded_events


def _names(event: NamespaceChanged) -> dict[str, str]:
    return {s.name: s.preview for s in event.names}


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_watched_servers_describe_their_namespace_after_every_command(isolation):
    with MPICommandClient(servers=2, isolation=isolation, print_output=False, session_log=False) as client:
        assert client.namespace_summary(1).names == []
        [unwatched] = client.push_command_request("before = 1", block=True, target_server=1)
        assert client.namespace_summary(1).command_id is None
        client.watch_namespaces()
        with recorded_events(client) as seen:
            [response] = client.push_command_request("after = [1, 2]", block=True, target_server=1)
            client.push({"pushed": "p"}, targets=2)
        changes = [e for e in seen if isinstance(e, NamespaceChanged)]
        assert [(e.server, _names(e)) for e in changes] == [
            (1, {"before": "1", "after": "[1, 2]"}), (2, {"pushed": "'p'"})]
        assert client.namespace_summary(1) is changes[0] and changes[0].command_id == response["id"]
        assert "namespace" not in response
        client.watch_namespaces(False)
        client.push_command_request("later = 3", block=True, target_server=1)
        assert client.namespace_summary(1) is changes[0]
        assert unwatched["successful"]


def test_a_requested_summary_follows_what_was_sent_and_is_no_command(client):
    client.push_command_request("import time; time.sleep(0.2); slow = 'done'", target_server=1)
    before = len(client.commands)
    summaries = client.request_namespace_summaries().result(timeout=30)
    assert "slow" in {s.name for s in summaries[1]} and set(summaries) == {1, 2}
    assert len(client.commands) == before
    assert client.request_namespace_summaries(targets=2).result(timeout=30).keys() == {2}


def test_a_summary_request_keeps_the_news_of_a_lost_namespace_for_the_next_command(client):
    client.restart_server(2).result(timeout=30)
    assert client.namespace_summary(2).names == []
    assert client.request_namespace_summaries(targets=[2]).result(timeout=30) == {2: []}
    [response] = client.push_command_request("1", block=True, target_server=2)
    assert response["namespace_reset"] is True
    [response] = client.push_command_request("1", block=True, target_server=2)
    assert response["namespace_reset"] is False


def test_a_large_summary_travels_beside_the_response_without_stalling_it(client):
    """A summary inside the response's envelope made it too large to send eagerly: each
    response then waited for the next heartbeat, a second."""
    client.push_command_request("for i in range(2000): globals()[f'name_{i}'] = 'x' * i", block=True,
                                target_server=1)
    client.watch_namespaces()
    try:
        started = time.monotonic()
        for _ in range(10):
            client.push_command_request("1", block=True, target_server=1)
        elapsed = time.monotonic() - started
    finally:
        client.watch_namespaces(False)
    assert len(client.namespace_summary(1).names) >= 2000
    assert elapsed < 5, f"10 watched round trips took {elapsed:.1f} s"
