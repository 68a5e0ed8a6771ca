"""A command's value, as IPython gives a cell's: an expression's, or the last expression statement's
(`core.worker.execution`), with tracebacks that still point at the command's own lines."""
from __future__ import annotations

import linecache

from core.wire import blobs
from core.wire.messages import CommandRequest
from core.wire.responses import UnsentValue
from core.worker.execution import CommandRunner, compile_command


def _run(runner: CommandRunner, command: str, command_id: int = 1):
    fields, buffers = runner.run(CommandRequest(command_id, command), [])
    return fields, blobs.unpack(buffers) if buffers else None


def test_statements_ending_in_an_expression_give_its_value_and_stay_exec():
    fields, value = _run(CommandRunner(), "x = 1\nx + 1")
    assert (fields["mode"], fields["successful"], value) == ("exec", True, 2)


def test_an_expression_alone_is_still_evaluated():
    fields, value = _run(CommandRunner(), "6 * 7")
    assert (fields["mode"], value) == ("eval", 42)


def test_statements_ending_in_a_statement_give_no_value():
    runner = CommandRunner()
    assert _run(runner, "y = 3\nz = y * 7")[1] is None
    assert _run(runner, "for i in range(3):\n    z += i")[1] is None
    assert runner.namespace["z"] == 24


def test_a_trailing_semicolon_asks_for_no_value_as_in_ipython():
    runner = CommandRunner()
    assert _run(runner, "x = 5\nx;")[1] is None
    assert _run(runner, "x = 5\nx;  # quiet")[1] is None
    assert _run(runner, "x = 5\n'a;b'")[1] == "a;b"


def test_the_value_of_a_multiline_trailing_expression_is_computed_once():
    runner = CommandRunner()
    _, value = _run(runner, "calls = []\ndef f(v):\n    calls.append(v)\n    return v\n(f(1) +\n f(2))")
    assert value == 3 and runner.namespace["calls"] == [1, 2]


def test_a_failing_trailing_expression_has_a_traceback_at_its_own_line():
    fields, _ = _run(CommandRunner(), "a = 1\nb = 0\n\na / b", command_id=7)
    assert not fields["successful"]
    assert 'File "<command 7>", line 4, in <module>' in fields["traceback"]
    assert "a / b" in fields["traceback"] and "ZeroDivisionError" in fields["traceback"]


def test_a_cached_command_run_again_names_its_new_id_in_tracebacks():
    runner = CommandRunner()
    command = "n = 0\n1 / n"
    _run(runner, command, command_id=3)
    fields, _ = _run(runner, command, command_id=4)
    assert '"<command 4>", line 2' in fields["traceback"] and "<command 3>" not in fields["traceback"]
    assert linecache.getline("<command 4>", 2) == "1 / n"


def test_an_unpicklable_trailing_value_leaves_the_statements_successful_with_its_repr():
    fields, value = _run(CommandRunner(), "import os\nos")
    assert fields["successful"]
    assert isinstance(value, UnsentValue) and value.type == "builtins.module"
    assert repr(value).startswith("<module 'os'") and "cannot be pickled" in value.reason


def test_an_unpicklable_expression_still_fails_because_its_value_was_asked_for():
    fields, _ = _run(CommandRunner(), "__import__('os')")
    assert not fields["successful"] and "cannot be sent to the client" in fields["traceback"]


def test_compiling_splits_the_value_from_the_statements():
    compiled = compile_command("import math\nmath.pi")
    assert compiled.mode == "exec" and compiled.statements is not None and compiled.value is not None
    assert compile_command("math.pi").statements is None
    assert compile_command("x = 1").value is None
