"""Random and mutated session logs and scripts (Hypothesis): reading them gives usable pushes or
SessionFileError, never another exception."""
from __future__ import annotations

import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.replay import compare
from core.sessions.file_checks import SessionFileError
from core.sessions.recorded import read_session
from session_samples import VALID_LOG, VALID_SCRIPT

TEXT = st.text(alphabet="ab1 _'\"\\()[]{}:,.\né\x00", max_size=12)
"""Short strings of the characters that matter to JSON and Python literals."""
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
                    max_leaves=8)
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _read_or_refuse(text: str | bytes, suffix: str) -> None:
    """Read the file: success (and pushes that the replay can use) or SessionFileError, nothing else."""
    with tempfile.NamedTemporaryFile("wb", suffix=suffix, delete=False) as stream:
        stream.write(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        try:
            _, pushes = read_session(stream.name)
        except SessionFileError:
            return
        for push in pushes:
            try:
                push.parameter_values()
            except ValueError as exc:
                assert "has no literal form" in str(exc)
            compare(push, [{"server": 1, "status": "done", "successful": True, "ret": 1, "traceback": None}
                           for _ in push.outcomes])
    finally:
        os.unlink(stream.name)


@st.composite
def mutated_logs(draw) -> str:
    lines = [dict(line) for line in VALID_LOG * draw(st.integers(1, 2))]
    for _ in range(draw(st.integers(1, 4))):
        entry = draw(st.sampled_from(lines))
        key = draw(st.sampled_from(sorted(entry)))
        action = draw(st.sampled_from(["delete", "replace", "nest"]))
        if action == "delete":
            entry.pop(key, None)
        elif action == "replace":
            entry[key] = draw(JSON)
        else:
            entry[key] = {"literal": draw(TEXT)} if draw(st.booleans()) else {"summary": draw(JSON)}
    texts = [json.dumps(line) for line in lines]
    if draw(st.booleans()):
        texts.insert(draw(st.integers(0, len(texts))), json.dumps(draw(JSON)))
    return "\n".join(texts) + "\n"


@FUZZ
@given(mutated_logs())
def test_mutated_logs_are_read_or_refused_with_a_session_file_error(text):
    _read_or_refuse(text, ".jsonl")


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_a_session_file_error_as_a_log_or_a_script(data):
    _read_or_refuse(data, ".jsonl")
    _read_or_refuse(data, ".py")


@FUZZ
@given(st.data())
def test_logs_with_bytes_flipped_are_read_or_refused_with_a_session_file_error(data):
    raw = bytearray("".join(json.dumps(line) + "\n" for line in VALID_LOG).encode())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _read_or_refuse(bytes(raw), ".jsonl")


ARGUMENTS = st.one_of(JSON.map(repr), st.sampled_from(["[]", "{[]: 1}", "x", "f()", "1 +", "(1, 2)", "{1, 2}",
                                                        "1e400", "-1", "b'x'", "...", "**k", "*a", "None"]),
                      TEXT)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["", "command=", "block=", "target_server=", "parameters=", "origin=",
                                           "other="]), ARGUMENTS), max_size=5),
       st.sampled_from(["client.push_command_request", "console.run", "SERVERS =", "PRELOAD ="]))
def test_scripts_with_random_arguments_are_read_or_refused_with_a_session_file_error(arguments, call):
    if call.endswith("="):
        script = f"{call} {arguments[0][1] if arguments else ''}\n"
    else:
        script = f"{call}({', '.join(name + value for name, value in arguments)})\n"
    _read_or_refuse(script, ".py")
    _read_or_refuse(VALID_SCRIPT.replace("'a + b'", script.strip(), 1), ".py")
