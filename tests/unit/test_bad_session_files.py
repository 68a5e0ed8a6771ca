"""A session log or script that is malformed, cut, edited or hostile is refused with one error,
SessionFileError, naming the file, the line and what is wrong (random and mutated files:
tests/test_session_file_fuzz.py)."""
from __future__ import annotations

import json

import pytest
from core.sessions import file_checks
from core.sessions.file_checks import SessionFileError
from core.sessions.recorded import read_log, read_script, read_session
from session_samples import FINISHED, QUEUED, SESSION, VALID_LOG, VALID_SCRIPT

def _log(tmp_path, *lines) -> str:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([json.dumps(SESSION), *lines]) + "\n")
    return path


@pytest.mark.parametrize("line, problem", ids=["list", "string", "no push", "push a list", "code as literal",
                                                "target a string", "ret a string", "nested 100k deep"], argvalues=[
    ("[1, 2]", "line 2: a JSON object was expected, not a list"),
    ('"text"', "line 2: a JSON object was expected, not a string"),
    (json.dumps({k: v for k, v in QUEUED.items() if k != "push"}), "line 2: the 'queued' line has no 'push'"),
    (json.dumps({**QUEUED, "push": [1]}), "line 2: 'push' of the 'queued' line must be a whole number, not a list [1]"),
    (json.dumps({**QUEUED, "parameters": {"a": {"literal": "__import__('os')"}}}), "line 2: 'parameters' of the"),
    (json.dumps({**QUEUED, "target": "all"}), "line 2: 'target' of the 'queued' line must be null, a server number"),
    (json.dumps({**FINISHED, "ret": "3"}), "line 2: 'ret' of the 'finished' line must be an encoded value"),
    ("[" * 100_000 + "]" * 100_000, "line 2: JSON nested too deeply"),
])
def test_a_malformed_log_line_is_refused_naming_the_file_and_line(tmp_path, line, problem):
    path = _log(tmp_path, line)
    with pytest.raises(SessionFileError) as caught:
        read_session(path)
    assert str(caught.value).startswith(f"{path}, {problem}")
    assert caught.value.line == 2


@pytest.mark.parametrize("line, problem", [
    ("client.push_command_request('a', parameters=[1, 2])", "line 1: parameters must be None or a dict"),
    ("client.push_command_request('a', parameters={[]: 1})", "line 1: push_command_request's parameters must be a "
                                                            "literal, not {[]: 1}"),
    ("client.push_command_request(42)", "line 1: command must be a string, not int 42"),
    ("client.push_command_request('a', block='yes')", "line 1: block must be True or False"),
    ("client.push_command_request('a', target_server=[])", "line 1: target_server must be None, a server number"),
    ("client.push_command_request('a', colour='red')", "line 1: push_command_request has no argument colour"),
    ("client.push_command_request(parameters={})", "line 1: push_command_request has no command"),
    ("SERVERS = 'many'", "line 1: SERVERS must be a positive whole number"),
    ("x = (" * 300 + ")" * 300, "line 1: not Python: too many nested parentheses"),
    ("client.push_command_request('a'\x00)", "not Python: source code string cannot contain null bytes"),
])
def test_a_script_with_wrong_arguments_is_refused_naming_the_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.py"
    path.write_text(line + "\n")
    with pytest.raises(SessionFileError) as caught:
        read_session(path)
    assert str(caught.value).startswith(f"{path}, {problem}") or str(caught.value).startswith(f"{path}: {problem}")


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(json.dumps(SESSION).encode() + b"\n{\"event\": \"caf\xe9\"}\n")
    with pytest.raises(SessionFileError, match=r"latin.jsonl, line 2: not UTF-8 text"):
        read_log(path)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as stream:
        stream.truncate(file_checks.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(SessionFileError, match=r"huge.jsonl: larger than 256 MB, too large for a session file"):
        read_session(path)


def test_the_valid_examples_read(tmp_path):
    log = tmp_path / "ok.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in VALID_LOG))
    header, [push] = read_log(log)
    assert header["servers"] == [1, 2] and push.command == "a + b" and push.outcomes[0].ret == {"literal": "3"}
    script = tmp_path / "ok.py"
    script.write_text(VALID_SCRIPT)
    header, pushes = read_script(script)
    assert header == {"servers_count": 2, "preload": "import math"} and len(pushes) == 3
