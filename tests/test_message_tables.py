"""Each side dispatches messages by an explicit table: a message no handler takes is one clear
error, naming it and who sent it, and the side goes on serving."""
from __future__ import annotations

import logging

from core.client.engine import Engine, ServerView
from core.events import EventHub, ServerOutput
from core.wire.messages import Tag
from mpi_helpers import recorded_events


def test_a_server_drops_a_message_it_has_no_handler_for_says_so_and_goes_on(client):
    engine = client._engine
    with recorded_events(client) as seen:
        engine.call(lambda: [engine.send(1, 99, None), engine.send(1, Tag.READY, None)], direct=True)
        [response] = client.push_command_request("6 * 7", block=True, target_server=1)
    assert response["ret"] == 42  # and what the server logged before it came first (its output precedes it)
    assert _log_lines(seen) == [
        (40, "Internal error in server 1: the client (rank 0) sent a message with tag 99, which a server does "
             "not handle; it was dropped."),
        (40, "Internal error in server 1: the client (rank 0) sent a message with tag READY, which a server "
             "does not handle; it was dropped.")]


def test_the_client_logs_a_message_it_has_no_handler_for_naming_the_tag_and_the_server(caplog):
    engine = Engine(EventHub(), heartbeat_timeout=10.0)
    engine.views[3] = ServerView(3)
    try:
        with caplog.at_level(logging.ERROR, logger="core.client.engine"):
            engine._handle(3, 42, None, [])
            engine._handle(3, Tag.COMMAND, None, [])
    finally:
        engine.close()
    assert [r.getMessage() for r in caplog.records] == [
        "internal error: server 3 sent a message with tag 42, which the client does not handle; it was dropped",
        "internal error: server 3 sent a message with tag COMMAND, which the client does not handle; it was "
        "dropped"]


def _log_lines(events) -> list[tuple[int, str]]:
    return [(item.level, item.message) for event in events if isinstance(event, ServerOutput)
            for item in event.items if getattr(item, "logger", None) == "mpipanel.server"]
