"""What a caller passes is checked before anything is queued, with messages naming the bad argument."""
from __future__ import annotations

import re
import threading

import pytest

from core.client.validation import check_command, check_parameters, check_targets
from core.wire import blobs


@pytest.mark.parametrize("target, targets", [
    (None, [None]), (2, [2]), ([2, 1], [2, 1]), ((1,), [1]), ([1, 1], [1, 1]),
])
def test_a_good_target_becomes_a_list_of_ranks_or_none_for_the_first_available(target, targets):
    assert check_targets(target, [1, 2]) == targets


@pytest.mark.parametrize("target, ranks, error, message", [
    (7, [1, 2], ValueError, "target_server 7 is not a server; the servers are 1, 2"),
    ([1, 9], [1, 2], ValueError, "target_server 9 is not a server; the servers are 1, 2"),
    (5, [1, 2, 3, 4], ValueError, "target_server 5 is not a server; the servers are 1..4"),
    (2, [1, 3, 4], ValueError, "target_server 2 is not a server; the servers are 1, 3, 4"),
    (1, [], ValueError, "target_server 1 is not a server; the servers are none"),
    ("1", [1, 2], TypeError, "target_server must be None, a server rank or a list of ranks; got str '1'"),
    ([1, 2.0], [1, 2], TypeError, "target_server must be None, a server rank or a list of ranks; got float 2.0"),
    (True, [1, 2], TypeError, "target_server must be None, a server rank or a list of ranks; got bool True"),
    ([], [1, 2], ValueError, "target_server is an empty list; give None for the first available server"),
])
def test_a_bad_target_is_refused_naming_it_and_the_servers(target, ranks, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        check_targets(target, ranks)


def test_a_lost_server_cannot_be_targeted_but_the_first_available_still_can():
    with pytest.raises(ValueError, match="^target_server 2 is lost and cannot take commands$"):
        check_targets([1, 2], [1, 2], is_lost={2}.__contains__)
    assert check_targets(None, [1, 2], is_lost={2}.__contains__) == [None]


def test_the_first_available_server_is_refused_when_every_server_is_lost():
    with pytest.raises(RuntimeError, match="^no server is available: all servers are lost$"):
        check_targets(None, [1, 2], is_lost={1, 2}.__contains__)


@pytest.mark.parametrize("command", ["x = 1", "3 * 7", "for i in range(3):\n    print(i)", "await_ = 1"])
def test_a_command_that_compiles_is_returned_unchanged(command):
    assert check_command(command) == command


@pytest.mark.parametrize("command, error, message", [
    ("x = = 1", ValueError, "command has a syntax error at line 1, column 5: invalid syntax"),
    ("for i in range(3):\nprint(i)", ValueError,
     "command has a syntax error at line 2, column 1: expected an indented block after 'for' statement on line 1"),
    ("(", ValueError, "command has a syntax error at line 1, column 1: '(' was never closed"),
    ("   \n", ValueError, "command is empty"),
    (42, TypeError, "command must be a string of Python code, not int"),
    (b"1", TypeError, "command must be a string of Python code, not bytes"),
])
def test_a_bad_command_is_refused_saying_where_and_why(command, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        check_command(command)


def test_no_or_empty_parameters_pickle_to_nothing():
    assert check_parameters(None) is None
    assert check_parameters({}) is None


def test_good_parameters_are_pickled_once_and_read_back_equal():
    parameters = {"vis": "X54.ms", "spw": [1, 3, 5, 7], "n": None}
    assert blobs.unpack(check_parameters(parameters)) == parameters


@pytest.mark.parametrize("parameters, error, message", [
    ([("a", 1)], TypeError, "parameters must be a dict of names to values, not list"),
    ({"not valid": 1}, ValueError, "parameter name 'not valid' is not a Python identifier"),
    ({1: 1}, ValueError, "parameter name 1 is not a Python identifier"),
    ({"ok": 1, "lock": threading.Lock()}, TypeError,
     "parameter 'lock': a value of type _thread.lock cannot be pickled: cannot pickle '_thread.lock' object"),
    ({"gen": (i for i in range(3))}, TypeError,
     "parameter 'gen': a value of type builtins.generator cannot be pickled: cannot pickle 'generator' object"),
])
def test_bad_parameters_are_refused_naming_the_parameter(parameters, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        check_parameters(parameters)
