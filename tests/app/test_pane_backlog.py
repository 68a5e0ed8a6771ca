"""What a pane is handed of a session it did not watch (`app.backlog`): pure logic on a session model
fed with events, no MPI."""
from __future__ import annotations

from app import backlog
from core.events import CommandFinished, CommandQueued, CommandStarted, ServerOutput
from core.frontends.model import SessionInfo, SessionModel
from core.wire.messages import OutputItem

INFO = SessionInfo(session_id="s", host="h", pid=1, started=0.0, version="0", launch_mode="spawn",
                   isolation="process", servers=(1, 2), kind="serve")


def _ran(model: SessionModel, command_id: int, server: int, start: float, printed: str | None = None) -> None:
    """Command `command_id` queued, started on `server` at `start`, printing `printed`, finished."""
    model.apply(_queued(command_id, server, start))
    model.apply(CommandStarted(command_id, server, start))
    if printed is not None:
        model.apply(ServerOutput(server, [OutputItem(command_id, "stdout", printed)]))
    model.apply(CommandFinished({"id": command_id, "server": server, "status": "done"}))


def _queued(command_id: int, server: int, time: float) -> CommandQueued:
    return CommandQueued(id=command_id, command=f"c{command_id}", parameters=None, target=server, block=False,
                         time=time, push=command_id, push_target=server)


def _described(parts: list[backlog.Part]) -> list[str]:
    return [part.what.text.strip() if part.kind == backlog.OUTPUT else f"#{part.what['id']}" for part in parts]


def test_a_commands_output_comes_before_its_result_in_the_order_the_commands_started():
    model = SessionModel(INFO)
    _ran(model, 2, 1, start=10.0, printed="ran first\n")  # sent after command 1, it ran before it
    _ran(model, 1, 1, start=20.0, printed="ran second\n")
    model.apply(ServerOutput(1, [OutputItem(None, "stdout", "between commands\n")]))
    parts = backlog.server_parts(model, 1, backlog.ran_by_server(model)[1])
    assert _described(parts) == ["ran first", "#2", "ran second", "#1", "between commands"]


def test_the_merged_pane_interleaves_the_servers_by_when_their_commands_started():
    model = SessionModel(INFO)
    _ran(model, 1, 1, start=10.0, printed="one\n")
    _ran(model, 2, 2, start=15.0, printed="two\n")
    _ran(model, 3, 1, start=20.0, printed="three\n")
    finished = backlog.ran_by_server(model)
    merged = backlog.merged(backlog.server_parts(model, rank, finished[rank]) for rank in (1, 2))
    assert _described(list(merged)) == ["one", "#1", "two", "#2", "three", "#3"]


def test_output_of_a_command_still_running_comes_last():
    model = SessionModel(INFO)
    _ran(model, 1, 1, start=10.0, printed="done before\n")
    model.apply(_queued(2, 1, 20.0))
    model.apply(CommandStarted(2, 1, 20.0))
    model.apply(ServerOutput(1, [OutputItem(2, "stdout", "still running\n")]))
    parts = backlog.server_parts(model, 1, backlog.ran_by_server(model)[1])
    assert _described(parts) == ["done before", "#1", "still running"]


def test_only_the_newest_lines_a_pane_holds_are_made_and_the_rest_are_counted():
    model = SessionModel(INFO)
    _ran(model, 1, 1, start=10.0, printed="a\nb\nc\n")
    _ran(model, 2, 1, start=20.0, printed="d\n")
    parts = backlog.server_parts(model, 1, backlog.ran_by_server(model)[1])
    kept, left_out = backlog.newest(parts, lines=3)
    assert _described(kept) == ["#1", "d", "#2"] and left_out == 3
    assert backlog.newest(parts, lines=100) == (parts, 0)
