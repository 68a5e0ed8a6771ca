"""Bad calls fail at once with a message naming the problem; nothing is queued; the client lives."""
from __future__ import annotations

import pytest

from core import MPICommandClient


def _command_count(client) -> int:
    return len(client.commands)


@pytest.mark.parametrize("arguments, error, message", [
    ({"target_server": 7}, ValueError, "target_server 7 is not a server; the servers are 1, 2"),
    ({"command": "x = = 1"}, ValueError, "command has a syntax error at line 1, column 5: invalid syntax"),
    ({"parameters": {"ok": 1, "gen": (i for i in range(3))}}, TypeError, "parameter 'gen'"),
])
def test_a_refused_call_queues_nothing(client, arguments, error, message):
    """Each kind of check runs before queuing; the messages themselves are in tests/unit/test_validation.py."""
    before = _command_count(client)
    with pytest.raises(error, match=message):
        client.push_command_request(**{"command": "1", "target_server": 1, **arguments})
    assert _command_count(client) == before


def test_client_stays_usable_after_refused_calls(client):
    with pytest.raises(ValueError, match="'\\(' was never closed"):
        client.push_command_request("(", target_server=1)
    [response] = client.push_command_request("'still here'", block=True, target_server=1)
    assert response["ret"] == "still here"


def test_unknown_command_id_is_refused(client):
    with pytest.raises(ValueError, match="unknown command id 999999"):
        client.get_command_response([999999])
    with pytest.raises(TypeError, match="command ids are ints"):
        client.get_command_response(["1"])


def test_failing_command_reports_its_traceback_and_keeps_the_namespace(client):
    client.push_command_request("kept = 'value'", block=True, target_server=2)
    [failed] = client.push_command_request("def f():\n    raise KeyError('missing')\nf()",
                                           block=True, target_server=2)
    assert failed["successful"] is False and failed["status"] == "failed"
    assert failed["ret"] is None
    assert 'File "<command' in failed["traceback"] and "in f" in failed["traceback"]
    assert failed["traceback"].rstrip().endswith("KeyError: 'missing'")
    assert "raise KeyError('missing')" in failed["traceback"]
    [after] = client.push_command_request("kept", block=True, target_server=2)
    assert after["ret"] == "value"


def test_sys_exit_in_a_command_is_a_failed_command_not_a_dead_server(client):
    [response] = client.push_command_request("import sys; sys.exit(3)", block=True, target_server=1)
    assert response["successful"] is False and "SystemExit: 3" in response["traceback"]
    [after] = client.push_command_request("'alive'", block=True, target_server=1)
    assert after["ret"] == "alive"


def test_result_that_cannot_be_pickled_names_its_type(client):
    [response] = client.push_command_request("(i for i in range(3))", block=True, target_server=1)
    assert response["successful"] is False
    assert response["traceback"] == ("The command ran, but its result cannot be sent to the client:\n"
                                     "a value of type builtins.generator cannot be pickled: "
                                     "cannot pickle 'generator' object\n")


def test_calls_before_start_and_after_stop_raise_clearly():
    fresh = MPICommandClient(servers=1, print_output=False)
    with pytest.raises(RuntimeError, match="call start_services"):
        fresh.push_command_request("1")
    with pytest.raises(RuntimeError, match="call start_services"):
        fresh.get_server_status()
    fresh.start_services()
    fresh.stop_services()
    with pytest.raises(RuntimeError, match="were stopped"):
        fresh.push_command_request("1")
    with pytest.raises(RuntimeError, match="create a new MPICommandClient"):
        fresh.start_services()


@pytest.mark.parametrize("kwargs, message", [
    ({"servers": 0}, "servers must be a positive whole number"),
    ({"servers": "2"}, "servers must be a positive whole number"),
    ({"isolation": "thread"}, "isolation must be one of"),
    ({"server_nice": 20}, "server_nice must be a whole number from 0 to 19"),
    ({"server_nice": -1}, "server_nice must be a whole number from 0 to 19"),
])
def test_bad_client_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MPICommandClient(**kwargs)


def test_bad_log_mode_is_refused(client):
    with pytest.raises(ValueError, match="log mode must be one of"):
        client.set_log_mode("loud")
