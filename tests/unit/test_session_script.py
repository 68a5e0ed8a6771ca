"""Recorded pushes written as a seed-API script and read back with `ast`, never run."""
from __future__ import annotations

import ast
import json

import pytest

from core.client.ledger import CommandRecord
from core.events import CLIENT_RANK
from core.sessions import session_script
from core.sessions.file_checks import SessionFileError
from core.sessions.recorded import Outcome, RecordedPush, from_records, read_log, read_script

HEADER = {"servers": [1, 2], "launch_mode": "spawn", "log_mode": "redirect"}


def _push(command, target=None, block=False, parameters=None, statuses=("done",)):
    encoded = None if parameters is None else {name: {"literal": repr(value)} for name, value in parameters.items()}
    outcomes = [Outcome(i, 1, status, status == "done") for i, status in enumerate(statuses, 1)]
    return RecordedPush(command, target, block, encoded, outcomes)


def _record(command_id, command, push, push_target, parameters=None, response=None):
    record = CommandRecord(id=command_id, command=command, parameters=parameters, target=None, block=False,
                           buffers=None, cancel=lambda ids: None, push=push,
                           push_target=push_target)
    record.response = response
    return record


def _response(command_id, server, status, ret):
    return {"id": command_id, "server": server, "status": status, "successful": status == "done",
            "ret": ret, "traceback": None}


def _shape(pushes):
    return [(p.command, p.target, p.block, p.parameters) for p in pushes]


def test_a_saved_script_reads_back_as_the_same_pushes_in_the_same_order(tmp_path):
    pushes = [_push("import math\ntotal = 0", target=[1, 2]),
              _push("total += 3", target=2),
              _push("total", target=1, block=True),
              _push("scale * math.sqrt(x)", parameters={"scale": 2, "x": 16.0, "names": ["a", "b"]}),
              _push("print('''quoted''')\ns = \"\"\"q\"\"\"")]
    script = session_script.save(tmp_path / "session.py", pushes, HEADER)
    header, read = read_script(script)
    assert header == {"servers_count": 2}
    assert _shape(read) == _shape(pushes)


def test_a_saved_script_writes_each_push_as_a_seed_api_call():
    text = session_script.render([_push("import math\ntotal = 0", target=[1, 2]),
                                  _push("total", target=1, block=True),
                                  _push("a + b", parameters={"a": 1, "b": "two"})], HEADER)
    lines = text.splitlines()
    assert 'ids += client.push_command_request("""import math' in lines
    assert 'total = 0""", target_server=[1, 2])' in lines
    assert "client.push_command_request('total', block=True, target_server=1)" in lines
    assert "ids += client.push_command_request('a + b', parameters={'a': 1, 'b': 'two'})" in lines
    start = lines.index("SERVERS = 2")
    assert lines[start + 1:start + 5] == [
        "TARGETED = [1, 2]", "",
        "client = MPICommandClient(servers=None if MPIEnvironment.mpi_world_size > 1 else SERVERS)",
        "client.set_log_mode('redirect')"]
    assert lines[-2:] == ["client.get_command_response(ids, block=True)", "client.stop_services()"]
    ast.parse(text)


def test_a_multi_line_command_that_triple_quotes_cannot_hold_is_written_as_a_plain_string():
    command = 'x = """a"""\ny = 1'
    text = session_script.render([_push(command)], HEADER)
    assert f"ids += client.push_command_request({command!r})" in text.splitlines()


def test_the_script_names_the_servers_it_targets_and_how_many_the_session_had():
    text = session_script.render([_push("1", target=3), _push("2", target=[5, 1]), _push("3")],
                                 {"servers_count": 6, "launch_mode": "mpiexec", "log_mode": "unified"})
    lines = text.splitlines()
    assert "SERVERS = 6" in lines and "TARGETED = [1, 3, 5]" in lines and "client.set_log_mode('unified')" in lines
    assert "Recorded with 6 server(s) in mpiexec launch mode; 3 command(s)." in lines
    assert "Run it with `python session.py` (spawns the servers) or `mpiexec -n 7 python -m core session.py`." in lines


def test_a_parameter_without_a_literal_form_is_refused_by_name_and_nothing_is_written(tmp_path):
    records = [_record(1, "len(items)", 1, None, {"items": {1, 2}}, _response(1, 1, "done", 2)),
               _record(2, "value", 2, None, {"value": float("nan")}, _response(2, 1, "done", float("nan")))]
    pushes = from_records(records)
    assert pushes[1].parameters == {"value": {"summary": {"type": "float", "repr": "nan"}}}
    with pytest.raises(ValueError, match="^parameter 'value' of command 'value' has no literal form "
                                         r"\(float\), so it cannot be replayed$"):
        session_script.save(tmp_path / "refused.py", pushes, HEADER)
    assert not (tmp_path / "refused.py").exists()


def test_pushes_are_read_from_records_one_per_push_with_an_outcome_per_server():
    records = [_record(1, "who", 1, [1, 2], None, _response(1, 1, "done", "one")),
               _record(2, "who", 1, [1, 2], None, _response(2, 2, "failed", None)),
               _record(3, "later", 3, None, {"n": 5}, None)]
    first, later = from_records(records)
    assert (first.command, first.target, first.parameters) == ("who", [1, 2], None)
    assert [(o.id, o.server, o.status, o.ret) for o in first.outcomes] == [
        (1, 1, "done", {"literal": "'one'"}), (2, 2, "failed", {"literal": "None"})]
    assert first.status == "failed"
    assert (later.parameters, later.outcomes, later.status) == ({"n": {"literal": "5"}}, [], "queued")


@pytest.mark.parametrize("statuses, status", [
    ((), "queued"), (("done", "done"), "done"), (("done", "interrupted", "failed"), "interrupted"),
])
def test_a_push_is_done_only_when_every_server_succeeded(statuses, status):
    assert _push("1", statuses=statuses).status == status


@pytest.mark.parametrize("only_successful, include_interrupted_cancelled, kept", [
    (False, True, ["ok", "bad", "stopped", "dropped"]),
    (True, True, ["ok"]),
    (False, False, ["ok", "bad"]),
    (True, False, ["ok"]),
])
def test_saving_keeps_only_the_pushes_asked_for(only_successful, include_interrupted_cancelled, kept):
    pushes = [_push("ok"), _push("bad", statuses=("failed",)), _push("stopped", statuses=("interrupted",)),
              _push("dropped", statuses=("cancelled",))]
    chosen = session_script.choose(pushes, only_successful, include_interrupted_cancelled)
    assert [p.command for p in chosen] == kept


def test_a_script_with_a_computed_argument_is_refused_naming_the_line(tmp_path):
    script = tmp_path / "computed.py"
    script.write_text("client.push_command_request('1')\nclient.push_command_request(make_command())\n")
    with pytest.raises(SessionFileError, match=r"computed.py, line 2: push_command_request's command must be a "
                                               r"literal, not make_command\(\)$"):
        read_script(script)


def test_positional_arguments_of_a_hand_written_script_are_read_like_keywords(tmp_path):
    script = tmp_path / "positional.py"
    script.write_text("c.push_command_request('x', True, [1, 2], {'a': 1})\n")
    assert _shape(read_script(script)[1]) == [("x", [1, 2], True, {"a": {"literal": "1"}})]


def test_a_session_log_is_read_up_to_a_line_cut_short(tmp_path):
    log = tmp_path / "session.jsonl"
    lines = [{"event": "session", "servers": [1]},
             {"event": "queued", "id": 1, "push": 1, "command": "6 * 7", "target": None, "block": True,
              "parameters": None},
             {"event": "finished", "id": 1, "server": 1, "status": "done", "successful": True,
              "ret": {"literal": "42"}, "traceback": None}]
    log.write_text("\n".join(map(json.dumps, lines)) + '\n{"event": "queued", "id": 2, "pu')
    header, [push] = read_log(log)
    assert header == lines[0]
    assert _shape([push]) == [("6 * 7", None, True, None)]
    assert push.outcomes == [Outcome(1, 1, "done", True, {"literal": "42"}, None)]
    assert push.shown is None  # a log written before commands had a text to show them by


def test_the_text_a_push_is_shown_by_is_written_and_read_back_while_the_command_stays_as_sent(tmp_path):
    wrapper = "__import__('adapter').run(globals())"
    record = _record(1, wrapper, 1, 2, {"request": ("f()", "eval", {"a": 1})})
    record.shown = "f(a=1)"
    [push] = from_records([record])
    assert (push.command, push.shown) == (wrapper, "f(a=1)")
    script = session_script.save(tmp_path / "session.py", [push], HEADER)
    assert "ids += client.push_command_request(\"__import__('adapter').run(globals())\", target_server=2, " \
           "parameters={'request': ('f()', 'eval', {'a': 1})}, shown='f(a=1)')" in script.read_text()
    [read] = read_script(script)[1]
    assert (read.command, read.shown) == (wrapper, "f(a=1)")
    assert read.parameter_values() == {"request": ("f()", "eval", {"a": 1})}


def test_client_side_code_keeps_the_text_it_is_shown_by_in_a_saved_script(tmp_path):
    record = _record(1, "run_script('a.py', [])", 1, CLIENT_RANK)
    record.shown = "a.py"
    script = session_script.save(tmp_path / "session.py", from_records([record]), HEADER)
    assert "console.run(\"run_script('a.py', [])\", shown='a.py').result()" in script.read_text()
    [read] = read_script(script)[1]
    assert (read.command, read.on_client, read.shown) == ("run_script('a.py', [])", True, "a.py")


def test_a_file_without_a_session_line_is_not_a_session_log(tmp_path):
    log = tmp_path / "other.jsonl"
    log.write_text('{"level": "info", "message": "hello"}\n')
    with pytest.raises(SessionFileError, match=f"^{log}: not an mpipanel session log \\(no session line\\)$"):
        read_log(log)


def test_a_push_keeps_its_time_limit_and_a_stopped_one_gets_its_recorded_duration_plus_a_margin():
    limited = RecordedPush("work()", 1, False, None, [Outcome(1, 1, "expired", False, duration=2.1)], time_limit=2.0)
    interrupted = RecordedPush("time.sleep(30)", 1, False, None, [Outcome(2, 1, "interrupted", False, duration=3.0),
                                                                   Outcome(3, 2, "done", True, duration=30.0)])
    long = RecordedPush("work()", 1, False, None, [Outcome(4, 1, "expired", False, duration=50.0)])
    assert (limited.replay_limit(), interrupted.replay_limit(), long.replay_limit()) == (2.0, 4.0, 55.0)
    assert _push("ok").replay_limit() is None


def test_a_saved_script_gives_each_push_its_limit_and_retries_and_reads_them_back(tmp_path):
    pushes = [RecordedPush("time.sleep(30)", 1, False, None, [Outcome(1, 1, "interrupted", False, duration=2.5)]),
              RecordedPush("work()", None, True, None, [], time_limit=60.0, retries=2)]
    text = session_script.render(pushes, HEADER)
    assert "ids += client.push_command_request('time.sleep(30)', target_server=1, timeout=3.5)" in text
    assert "client.push_command_request('work()', block=True, timeout=60.0, retries=2)" in text
    script = tmp_path / "limits.py"
    script.write_text(text)
    read = read_script(script)[1]
    assert [(p.time_limit, p.retries) for p in read] == [(3.5, 0), (60.0, 2)]


def test_a_log_gives_the_last_outcome_of_a_command_whose_timeout_was_replaced(tmp_path):
    log = tmp_path / "session.jsonl"
    lines = [{"event": "session", "servers": [1]},
             {"event": "queued", "id": 1, "push": 1, "command": "work()", "target": 1, "block": False,
              "parameters": None, "time_limit": 5.0, "retries": 1},
             {"event": "retried", "id": 1, "attempt": 2, "server": 1, "reason": "died", "time": 1.0},
             {"event": "finished", "id": 1, "server": 1, "status": "timeout", "successful": False,
              "ret": {"literal": "None"}, "traceback": "silent", "provisional": True},
             {"event": "finished", "id": 1, "server": 1, "status": "done", "successful": True,
              "ret": {"literal": "3"}, "traceback": None, "time_start": 10.0, "time_end": 12.5}]
    log.write_text("\n".join(map(json.dumps, lines)) + "\n")
    [push] = read_log(log)[1]
    assert (push.time_limit, push.retries) == (5.0, 1)
    assert [(o.status, o.ret, o.duration) for o in push.outcomes] == [("done", {"literal": "3"}, 2.5)]


def test_a_time_limit_that_is_no_positive_number_is_refused_naming_the_line(tmp_path):
    script = tmp_path / "bad_limit.py"
    script.write_text("client.push_command_request('1', timeout=-1)\n")
    with pytest.raises(SessionFileError, match=r"bad_limit.py, line 1: timeout must be None or a positive number"):
        read_script(script)
