"""Where the servers' logs go and how much of them: the 'separated' log mode (one file per server)
and the servers' logging threshold (`set_log_level`), which restarted workers keep."""
from __future__ import annotations

import logging

import pytest

from core import MPICommandClient
from core.events import ServerOutput
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
