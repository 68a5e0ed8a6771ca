"""progress(done, total, text): a builtin wherever commands run, reaching subscribers a few times a second."""
from __future__ import annotations

import threading
import time

from core import MPICommandClient, events
from core.worker.progress import REPORT_INTERVAL

LOOP = ("import time\nstart = time.monotonic()\nsteps = 0\n"
        "while time.monotonic() - start < 2.0:\n    steps += 1\n    progress(steps, 0, 'flagging')\n"
        "progress(steps, steps, 'done')\nsteps")


class _Subscriber:
    """Every event, and a wait until the commands' CommandFinished came."""

    def __init__(self, client) -> None:
        self.events: list = []
        self._changed = threading.Condition()
        self.stop = client.subscribe(self)

    def __call__(self, event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def until_finished(self, ids: list[int], timeout: float = 60) -> None:
        finished = lambda: {e.response["id"] for e in self.events if isinstance(e, events.CommandFinished)}  # noqa: E731
        with self._changed:
            assert self._changed.wait_for(lambda: set(ids) <= finished(), timeout)
        self.stop()

    def progress(self) -> list[events.CommandProgress]:
        return [event for event in self.events if isinstance(event, events.CommandProgress)]


def _until(condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return value


def test_progress_from_four_servers_reaches_a_subscriber_a_few_times_a_second_and_last_as_it_ended():
    with MPICommandClient(servers=4, print_output=False, session_log=False) as client:
        seen = _Subscriber(client)
        ids = client.push_command_request(LOOP, target_server=[1, 2, 3, 4])
        running = _until(lambda: (statuses := client.get_server_status())
                         and all(status["progress"] for status in statuses.values()) and statuses)
        seen.until_finished(ids)
        responses = client.get_command_response(ids)
    assert all(status["progress"]["text"] == "flagging" for status in running.values()), running
    for response in responses:
        mine = [event for event in seen.progress() if event.id == response["id"]]
        assert mine[-1].server == response["server"]
        assert (mine[-1].done, mine[-1].total, mine[-1].text) == (response["ret"], response["ret"], "done")
        assert len(mine) <= 2.0 / REPORT_INTERVAL + 3, len(mine)  # hundreds of thousands of calls, a few reports
        assert response["ret"] > 10_000


def test_progress_is_a_builtin_with_isolation_none_too():
    with MPICommandClient(servers=1, isolation="none", print_output=False, session_log=False) as client:
        seen = _Subscriber(client)
        [command] = client.push_command_request("progress(3, 4, 'nearly')", target_server=1)
        seen.until_finished([command])
    [report] = seen.progress()
    assert (report.id, report.server, report.done, report.total, report.text) == (command, 1, 3, 4, "nearly")
