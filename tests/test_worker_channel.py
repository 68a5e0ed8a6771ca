"""A large result is lent by the worker and read from its memory; where that is refused, sent."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from core.wire import cross_memory
from core.wire.messages import CommandRequest, WorkerKind
from core.supervision.worker_process import WorkerProcess

pytestmark = pytest.mark.skipif(not cross_memory.available(), reason="no process_vm_readv here")

LARGE = "bytes(range(256)) * 40_000"  # 10 MB: lent
SMALL = "b'x' * 1000"                 # rides in the frame


def _run(worker: WorkerProcess, command_id: int, command: str):
    worker.run(CommandRequest(command_id, command), [])
    while True:
        kind, fields, buffers = worker.channel.receive()
        if kind == WorkerKind.DONE:
            assert fields["successful"], fields["traceback"]
            return pickle.loads(buffers[0], buffers=buffers[1:])


def _unused_pid() -> int:
    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


@pytest.fixture
def worker():
    process = WorkerProcess()
    yield process
    process.kill()


def test_rank_reads_a_lent_result_from_the_worker_and_the_worker_serves_on(worker):
    assert _run(worker, 1, LARGE) == bytes(range(256)) * 40_000
    assert _run(worker, 2, SMALL) == b"x" * 1000
    assert _run(worker, 3, LARGE) == bytes(range(256)) * 40_000


def test_refused_read_makes_the_worker_send_the_bytes_instead(worker):
    worker.channel.lender_pid = _unused_pid()  # the read fails with ESRCH
    assert _run(worker, 1, LARGE) == bytes(range(256)) * 40_000
    assert _run(worker, 2, LARGE) == bytes(range(256)) * 40_000


def test_address_of_a_read_only_buffer_is_where_its_bytes_are():
    data = b"mpipanel" * 1000
    copy = bytearray(len(data))
    cross_memory.read_into(os.getpid(), cross_memory.address_of(memoryview(data)), copy)
    assert copy == data
