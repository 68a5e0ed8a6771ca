"""A worker answering its client itself, past its server rank (`core.wire.answers`): only what
said nothing else on the way, and never ahead of what the rank sent before."""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import pytest

from core import MPICommandClient
from core.events import CommandFinished, CommandProgress, ServerOutput
from core.wire.boards import Board
from xvfb_display import wait_until

pytestmark = pytest.mark.skipif(not Board.available(), reason="workers answer where boards work (memfd, x86)")


@contextmanager
def rank_stopped(client: MPICommandClient, rank: int):
    """Server `rank`'s process stopped (SIGSTOP) meanwhile: whatever reaches the client then came
    from elsewhere. (A stopped rank does not end the job, as a killed one would.)"""
    pid = client.get_server_status()[rank]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def settle_rank(client: MPICommandClient, rank: int) -> None:
    """Run a first command that server `rank` answers itself (a time limit is judged there), so
    that the rank is idle when the next one comes. One its worker answered may leave the rank yet
    to read that command's end: the next is then handed to the worker behind it, and only the
    rank answers such a command (`core.server.rank.Server._answer_terms`). Seen under Open MPI,
    1 run in 17 under load."""
    client.push_command_request("1", block=True, target_server=rank, timeout=60)


def started_marker(tmp_path, name: str) -> tuple[str, str]:
    """A command's first line that leaves a file once it runs, and that file."""
    path = tmp_path / name
    return f"open({str(path)!r}, 'w').close()\n", str(path)


def test_a_command_that_says_nothing_else_is_answered_by_its_worker_while_its_rank_is_stopped(tmp_path):
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        settle_rank(client, 1)
        begin, marker = started_marker(tmp_path, "running")
        future = client.submit(begin + "import time\ntime.sleep(0.3)\n6 * 7", target=1)
        assert wait_until(lambda: os.path.exists(marker), 10)
        with rank_stopped(client, 1):
            response = future.result(10)
        assert response["ret"] == 42 and response["server"] == 1 and not response["namespace_reset"]
        # The rank heard of its end all the same: the next command runs after it.
        assert client.push_command_request("7", block=True, target_server=1)[0]["ret"] == 7


SAYS_MORE = {
    "print": ("print('said')", ServerOutput),
    "os.write": ("import os\nos.write(1, b'said at fd level\\n')", ServerOutput),
    "a log record": ("import logging\nlogging.getLogger('t').warning('said')", ServerOutput),
    "progress": ("progress(1, 2, 'half')", CommandProgress),
    "a large result": ("b'x' * 100_000", None),
}


@pytest.mark.parametrize(("says", "said"), SAYS_MORE.values(), ids=SAYS_MORE.keys())
def test_a_command_that_says_more_is_answered_by_its_rank_after_what_it_said(tmp_path, says, said):
    events = []
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        client.subscribe(events.append)
        settle_rank(client, 1)
        begin, marker = started_marker(tmp_path, "running")
        future = client.submit(begin + "import time\ntime.sleep(0.3)\n" + says, target=1)
        assert wait_until(lambda: os.path.exists(marker), 10)
        with rank_stopped(client, 1):
            assert not wait_until(future.done, 1.0)  # its rank answers, and it is stopped
        assert future.result(10)["successful"]
        finished = next(i for i, e in enumerate(events) if isinstance(e, CommandFinished)
                        and e.response["id"] == future.command_id)
        if said is not None:
            assert any(isinstance(e, said) for e in events[:finished])


def test_a_command_with_a_time_limit_is_answered_by_its_rank(tmp_path):
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        begin, marker = started_marker(tmp_path, "running")
        future = client.submit(begin + "import time\ntime.sleep(0.3)\n5", target=1, timeout=30)
        assert wait_until(lambda: os.path.exists(marker), 10)
        with rank_stopped(client, 1):
            assert not wait_until(future.done, 1.0)
        assert future.result(10)["ret"] == 5


def test_an_answer_never_overtakes_the_response_its_rank_sent_before():
    """The first command's response is large (its buffers follow the envelope over MPI), the
    second's answer small and quick; the second was not handed to the worker behind the first
    (its parameter is too large for the command queue), so the rank starts it once the first's
    response is sent, and its worker may answer it."""
    events = []
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        client.subscribe(events.append)
        for _ in range(20):
            events.clear()
            first = client.submit("bytes(8_000_000)", target=1)
            second = client.submit("len(p)", target=1, parameters={"p": "x" * 40_000})
            assert second.result(10)["ret"] == 40_000 and first.result(10)["successful"]
            order = [e.response["id"] for e in events if isinstance(e, CommandFinished)]
            assert order == [first.command_id, second.command_id]
