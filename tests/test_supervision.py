"""A worker under supervision (`core.supervision.supervisor`), driven as its owner's loop drives it:
one `select()` on its channel and pipes, each ready file's callback called in turn."""
from __future__ import annotations

import os
import select
import selectors
import time

from core.supervision.supervisor import WorkerSupervisor, WorkerWords
from core.supervision.worker_process import WORKER_CODE
from core.wire.messages import CommandRequest

WORDS = WorkerWords(died="The worker (pid {pid}) {how}.", restarted="The worker was restarted.")


class Reports:
    """What the supervisor tells its owner, kept."""

    def __init__(self) -> None:
        self.output: list[tuple[str, bytes]] = []
        self.responses: list[dict] = []
        self.lost: list[str] = []

    def add_output(self, stream: str, data: bytes) -> None:
        self.output.append((stream, data))

    def add_log(self, item) -> None:
        pass

    def add_progress(self, item) -> None:
        pass

    def output_due(self) -> bool:
        return False

    def complete(self, fields: dict, buffers: list) -> None:
        self.responses.append(fields)

    def preloaded(self, error: str | None) -> None:
        pass

    def namespace_lost(self, detail: str, fields: dict | None) -> None:
        self.lost.append(detail)

    def give_back(self, items: list) -> None:
        pass


def _until_responses(supervisor: WorkerSupervisor, selector, reports: Reports, count: int) -> None:
    """Drive the supervisor as its owner's loop does until `count` responses are in (or 15 s)."""
    deadline = time.monotonic() + 15
    while len(reports.responses) < count and time.monotonic() < deadline:
        due = supervisor.due_in(time.monotonic())
        for key, _ in selector.select(0.1 if due is None else min(0.1, due)):
            key.data(key.fileobj)
        supervisor.on_timers(time.monotonic())


def test_a_command_given_a_fresh_worker_as_it_starts_has_its_whole_time_limit_once_it_is_ready():
    selector = selectors.DefaultSelector()
    reports = Reports()
    slow_start = "import time; time.sleep(3); " + WORKER_CODE  # a loaded machine's start, or longer
    supervisor = WorkerSupervisor(selector, reports, WORDS, code=slow_start)
    try:
        supervisor.run(CommandRequest(1, "kept = 'yes'", time_limit=1.0, grace=5.0), [])
        _until_responses(supervisor, selector, reports, 1)
        assert [response["status"] for response in reports.responses] == ["done"], reports.responses
    finally:
        supervisor.close()
        selector.close()


def test_a_pipe_of_a_worker_replaced_earlier_in_the_same_select_round_is_not_read():
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(16)]  # numbers below the worker's
    selector = selectors.DefaultSelector()
    reports = Reports()
    supervisor = WorkerSupervisor(selector, reports, WORDS)
    try:
        supervisor.run(CommandRequest(1, "print('old', flush=True)\nimport time\ntime.sleep(60)"), [])
        [stdout] = [fd for fd, name in supervisor.worker.streams.items() if name == "stdout"]
        assert select.select([stdout], [], [], 10)[0]
        stale = selector.get_map()[stdout]  # a key select() returned in this round
        for fd in held:
            os.close(fd)  # the fresh worker's files take these numbers: `stdout` stays closed
        supervisor.restart()  # what a callback before it in the round may do
        stale.data(stale.fileobj)
        supervisor.run(CommandRequest(2, "6 * 7"), [])
        _until_responses(supervisor, selector, reports, 1)
        assert reports.lost == ["The worker was restarted."]
        assert [response["status"] for response in reports.responses] == ["done"]
    finally:
        supervisor.close()
        selector.close()
