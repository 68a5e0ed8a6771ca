"""A command that kills its worker costs that server's namespace, never the client or the others."""
from __future__ import annotations

import re

import pytest

from mpi_helpers import recorded_events


@pytest.mark.parametrize("command, how", [
    ("import ctypes; ctypes.string_at(0)", "was killed by signal SIGSEGV"),
    ("import os; os._exit(3)", "exited with code 3"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal SIGKILL"),
])
def test_dying_worker_gives_a_failed_response_and_a_fresh_namespace(client, command, how):
    client.push_command_request("state = 'kept'", block=True, target_server=[1, 2])
    [died] = client.push_command_request(command, block=True, target_server=1)
    assert died["successful"] is False and died["status"] == "failed"
    assert re.fullmatch(rf"The worker process of server 1 \(pid \d+ on \S+\) {how}\. "
                        r"Its namespace is lost; a fresh worker has started\.\n", died["traceback"]), died["traceback"]
    assert "Its namespace is lost" in died["traceback"] and died["namespace_reset"] is True
    [fresh] = client.push_command_request("'state' in globals()", block=True, target_server=1)
    assert fresh["successful"] and fresh["ret"] is False and fresh["namespace_reset"] is True
    [later] = client.push_command_request("1", block=True, target_server=1)
    assert later["namespace_reset"] is False
    [other] = client.push_command_request("state", block=True, target_server=2)
    assert other["ret"] == "kept"


def test_worker_death_is_logged_to_the_client(client):
    from core import events
    with recorded_events(client) as seen:
        [died] = client.push_command_request("import os; os._exit(7)", block=True, target_server=2)
    records = [item for e in seen if isinstance(e, events.ServerOutput) and e.server == 2
               for item in e.items if hasattr(item, "level")]
    detail = died["traceback"].rstrip("\n")
    assert re.fullmatch(r"The worker process of server 2 \(pid \d+ on \S+\) exited with code 7\. "
                        r"Its namespace is lost; a fresh worker has started\.", detail)
    assert ([(r.command_id, r.level, r.logger, r.message) for r in records]
            == [(died["id"], 40, "mpipanel.server", detail)])


def test_traceback_names_the_command_that_failed_even_when_its_text_repeats(client):
    first, second = (client.push_command_request("undefined_name", block=True, target_server=1)[0]
                     for _ in range(2))
    assert f'File "<command {first["id"]}>"' in first["traceback"]
    assert f'File "<command {second["id"]}>"' in second["traceback"]
