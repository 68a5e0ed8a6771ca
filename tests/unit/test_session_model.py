"""The session model: events in, history, states, output and load out; a replica agrees with it."""
from __future__ import annotations

import pickle

import pytest

from core.events import (CommandFinished, CommandQueued, CommandStarted, NamespaceChanged, ResultsDropped,
                         ServerOutput, ServerStatusChanged)
from core.server_state import server_state
from core.frontends.model import (LoadFigures, LoadSampled, ResultMemoryChanged, SessionEnded, SessionInfo,
                                SessionModel)
from core.wire.messages import LogItem, OutputItem


def _info(servers=(1, 2)) -> SessionInfo:
    return SessionInfo(session_id="abc", host="here", pid=1, started=0.0, version="0", launch_mode="spawn",
                       isolation="process", servers=tuple(servers), kind="serve")


def _queued(command_id: int, command: str = "x", target=None, shown=None) -> CommandQueued:
    return CommandQueued(id=command_id, command=command, parameters=None, target=target, block=False, time=1.0,
                         push=command_id, push_target=target, origin="typed", shown=shown)


def _finished(command_id: int, server: int, ret=None, status="done") -> CommandFinished:
    return CommandFinished({"id": command_id, "command": "x", "shown": None, "parameters": None, "mode": "eval",
                            "server": server, "status": status, "successful": status == "done", "traceback": None,
                            "ret": ret, "time_start": 1.0, "time_end": 2.0, "namespace_reset": False,
                            "ret_size": 8 if ret is not None else 0, "ret_dropped": None})


def _idle(rank: int) -> ServerStatusChanged:
    return ServerStatusChanged(rank, server_state(rank, "idle", pid=10 + rank, processor="here"))


def _events():
    return [_idle(1), _idle(2), _queued(1, shown="flagdata(vis='a.ms')"), CommandStarted(1, 1, 1.5),
            ServerOutput(1, [OutputItem(1, "stdout", "hello\n"), LogItem(1, 1.6, 30, "casa", "careful")]),
            _finished(1, 1, ret=42), _queued(2), CommandStarted(2, 2, 2.5),
            NamespaceChanged(2, [], None, 3.0), ResultMemoryChanged(8, 100),
            LoadSampled(3.0, {1: LoadFigures(0.0, 5, 0, 0), 2: LoadFigures(90.0, 6, 0, 1)})]


def test_every_event_gets_the_next_sequence_number():
    model = SessionModel(_info())
    assert [model.apply(event) for event in _events()] == list(range(1, 12))
    assert model.seq == 11


def test_history_follows_a_command_from_queued_to_finished_with_its_shown_text():
    model = SessionModel(_info())
    for event in _events():
        model.apply(event)
    first, second = model.history.values()
    assert (first.status, first.server, first.response["ret"]) == ("done", 1, 42)
    assert first.text == "flagdata(vis='a.ms')" and first.command == "x"
    assert (second.status, second.server, second.response) == ("running", 2, None)


def test_busy_and_idle_come_from_the_commands_seen_not_from_an_older_heartbeat():
    model = SessionModel(_info())
    for event in _events():
        model.apply(event)
    assert model.state_of(1) == "idle"
    assert model.state_of(2) == "busy" and model.servers[2]["busy"] and model.servers[2]["command_id"] == 2
    model.apply(_idle(2))  # a heartbeat sent before the command started
    assert model.state_of(2) == "busy"
    model.apply(_finished(2, 2))
    assert model.state_of(2) == "idle"


def test_a_server_that_timed_out_keeps_that_state_while_its_command_runs():
    model = SessionModel(_info())
    model.apply(_queued(1, target=1))
    model.apply(CommandStarted(1, 1, 1.0))
    model.apply(ServerStatusChanged(1, server_state(1, "timeout", busy=True, timeout=True)))
    assert model.state_of(1) == "timeout"


def test_output_is_kept_per_server_within_its_limit_counting_what_went():
    model = SessionModel(_info(servers=range(1, 65)))
    limit = model.output_limit()
    assert limit == 1_000_000
    model.apply(ServerOutput(3, [OutputItem(None, "stdout", "x" * 99 + "\n") for _ in range(20_000)]))
    backlog = model.output[3]
    assert backlog.chars <= limit and backlog.dropped == 20_000 - limit // 100


def test_output_kept_per_server_shrinks_with_many_servers():
    assert SessionModel(_info(servers=range(1, 129))).output_limit() == 500_000


def test_a_replica_from_a_snapshot_applies_the_same_events_to_the_same_state():
    model = SessionModel(_info())
    events = _events()
    for event in events[:5]:
        model.apply(event)
    replica = SessionModel.from_snapshot(pickle.loads(pickle.dumps(model.snapshot())))
    for event in events[5:]:
        assert model.apply(event) == replica.apply(pickle.loads(pickle.dumps(event)))
    assert replica.servers == model.servers and replica.running == model.running
    assert [(e.id, e.status, e.response and e.response["ret"]) for e in replica.history.values()] == \
           [(e.id, e.status, e.response and e.response["ret"]) for e in model.history.values()]
    assert list(replica.output[1].items) == list(model.output[1].items)
    assert list(replica.load) == list(model.load) and replica.result_memory == model.result_memory


def test_a_snapshot_does_not_change_when_the_model_goes_on():
    model = SessionModel(_info())
    for event in _events()[:5]:
        model.apply(event)
    snapshot = model.snapshot()
    model.apply(_finished(1, 1, ret=42))
    model.apply(ServerOutput(1, [OutputItem(1, "stdout", "more\n")]))
    assert snapshot.history[0].status == "running" and len(snapshot.output[1].items) == 2


def test_a_result_dropped_by_the_session_is_dropped_in_a_replica_too():
    model = SessionModel(_info())
    for event in _events():
        model.apply(event)
    replica = SessionModel.from_snapshot(pickle.loads(pickle.dumps(model.snapshot())))
    dropped = {"reason": "budget", "time": 5.0, "summary": {"type": "int"}}
    replica.apply(ResultsDropped([1], "budget", {1: dropped}))
    assert replica.history[1].response["ret"] is None and replica.history[1].response["ret_dropped"] == dropped


def test_an_ended_session_says_why():
    model = SessionModel(_info())
    model.apply(SessionEnded("stopped by attached:laptop:4242"))
    assert model.snapshot().ended.reason == "stopped by attached:laptop:4242"


def test_an_event_of_an_unknown_kind_is_one_clear_error():
    with pytest.raises(TypeError, match="no rule for a str event"):
        SessionModel(_info()).apply("hello")
