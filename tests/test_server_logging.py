"""Where the servers' logs go and how much of them: the 'separated' log mode (one file per server)
and the servers' logging threshold (`set_log_level`), which restarted workers keep."""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
import threading

import pytest

from core import MPICommandClient
from core.events import ServerOutput, ServerStatusChanged
from core.wire.messages import LogItem
from mpi_helpers import recorded_events


def test_separated_log_mode_writes_one_file_per_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # spawned servers work in the client's directory
    client = MPICommandClient(servers=2, print_output=False, session_log=False)
    client.set_log_mode("separated")
    client.start_services()
    try:
        client.push_command_request("import logging; print('hello', 6 * 7); logging.warning('careful')",
                                    True, [1, 2])
        pids = {rank: status["pid"] for rank, status in client.get_server_status().items()}
    finally:
        client.stop_services()
    for rank, pid in pids.items():
        path, = tmp_path.glob(f"mpipanel-server-{rank}-host-*-pid-{pid}.log")
        lines = path.read_text().splitlines()
        assert lines[0] == "hello 42"
        assert lines[1].endswith(" WARNING root: careful")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_planted_at_a_separated_logs_name_is_not_written_through(tmp_path, monkeypatch):
    """Someone who can write to the working directory plants a link where the server's log will go:
    the server writes to the next free name, and says which in its pane and its status."""
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("")
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    try:
        status = client.get_server_status()[1]
        predicted = tmp_path / f"mpipanel-server-1-host-{status['processor']}-pid-{status['pid']}.log"
        predicted.symlink_to(victim)
        told = threading.Event()
        with recorded_events(client) as events:
            client.subscribe(lambda e: isinstance(e, ServerStatusChanged) and e.status["log_file"] and told.set())
            client.set_log_mode("separated")
            client.push_command_request("print('private words')", True, 1)
            assert told.wait(10)
        log_file = client.get_server_status()[1]["log_file"]
    finally:
        client.stop_services()
    assert victim.read_text() == "" and os.readlink(predicted) == str(victim)
    assert log_file == str(predicted.with_name(predicted.stem + "-1.log"))
    assert "private words" in Path(log_file).read_text() and stat.S_IMODE(os.stat(log_file).st_mode) == 0o600
    announced = [item.message for event in events if isinstance(event, ServerOutput) for item in event.items
                 if isinstance(item, LogItem) and item.logger == "mpipanel.server"]
    assert announced == [f"Server 1 writes its output and log records to {log_file}"]


def _log_messages(events) -> list[str]:
    """What commands logged (not the server's own records, such as its restart notice)."""
    return [item.message for event in events if isinstance(event, ServerOutput)
            for item in event.items if isinstance(item, LogItem) and item.logger == "root"]


def test_log_level_drops_records_below_it_also_after_a_restart(client):
    command = "import logging; logging.debug('fine detail'); logging.warning('careful')"
    try:
        client.set_log_level("DEBUG")
        with recorded_events(client) as events:
            client.push_command_request(command, True, 1)
        assert _log_messages(events) == ["fine detail", "careful"]
        client.set_log_level(logging.ERROR)
        client.restart_server(1).result(timeout=60)
        with recorded_events(client) as events:
            client.push_command_request(command + "; logging.error('broken')", True, 1)
        assert _log_messages(events) == ["broken"]
    finally:
        client.set_log_level("INFO")


@pytest.mark.parametrize("level", ["LOUD", -1, 2.5, True])
def test_bad_log_level_is_refused_naming_it(client, level):
    with pytest.raises(ValueError, match="log level must be a logging level"):
        client.set_log_level(level)
