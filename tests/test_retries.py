"""`retries=N`: a command whose worker died is sent again under the same id; one that raised never."""
from __future__ import annotations

import json

from core import MPICommandClient, events
from mpi_helpers import recorded_events

DIES_ONCE = ("import os\nmarker = {path!r}\nif not os.path.exists(marker):\n    open(marker, 'w').close()\n"
             "    os._exit(3)\n'survived'")


def test_a_command_whose_worker_exits_is_sent_again_and_its_attempts_are_recorded(tmp_path):
    log = tmp_path / "retries.jsonl"
    with (MPICommandClient(servers=2, print_output=False, session_log=log) as client,
          recorded_events(client) as seen):
        [response] = client.push_command_request(DIES_ONCE.format(path=str(tmp_path / "died")), block=True,
                                                 target_server=2, retries=2)
    assert (response["status"], response["ret"], response["server"]) == ("done", "survived", 2)
    [attempt] = response["attempts"]
    assert (attempt["attempt"], attempt["server"]) == (1, 2)
    assert "exited with code 3" in attempt["reason"]
    [retried] = [event for event in seen if isinstance(event, events.CommandRetried)]
    assert (retried.id, retried.attempt, retried.server) == (response["id"], 2, 2)
    started = [event.server for event in seen if isinstance(event, events.CommandStarted) and event.id == retried.id]
    assert started == [2, 2]  # a targeted command goes to the same server again
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["event"] for line in lines if line.get("id") == response["id"]] == ["queued", "retried", "finished"]


def test_a_command_that_raised_or_outlived_its_retries_is_not_sent_again(client, tmp_path):
    [raised] = client.push_command_request("1 / 0", block=True, target_server=1, retries=3)
    assert (raised["status"], raised["attempts"], raised["worker_died"]) == ("failed", [], False)
    [died] = client.push_command_request("import os\nos._exit(4)", block=True, target_server=1, retries=1)
    assert (died["status"], died["worker_died"], len(died["attempts"])) == ("failed", True, 1)
    assert "exited with code 4" in died["traceback"]


def test_a_command_for_the_first_available_server_keeps_its_id_and_future_when_sent_again(client, tmp_path):
    future = client.submit(DIES_ONCE.format(path=str(tmp_path / "died")), retries=1)
    response = future.result(60)
    assert (response["id"], response["ret"], len(response["attempts"])) == (future.command_id, "survived", 1)
