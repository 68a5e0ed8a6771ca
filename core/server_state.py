"""One server's state as the client reports it: `get_server_status()`'s entry, defined once.

The client builds it for its servers (`core.client.engine`), rank 0's client-side worker for
itself (`core.console.host`, as `CLIENT_RANK`), and the session model derives busy/idle from the
commands it saw start and finish (`core.frontends.model`). A dict, because mpi4casa's API hands
out dicts (`status['timeout']`); a TypedDict, so that its keys are written down in one place.
"""
from __future__ import annotations

from typing import TypedDict

STATES = ("starting", "idle", "busy", "timeout", "lost", "stopped")


class ServerState(TypedDict):
    rank: int
    state: str
    """One of `STATES`."""
    busy: bool
    command_id: int | None
    """The command running there, if any."""
    command: str | None
    queue_length: int
    """Commands waiting behind the running one."""
    pid: int | None
    """The server rank's process (rank 0's own for the client-side worker)."""
    worker_pid: int | None
    """The worker process that runs its commands; None with isolation 'none'."""
    processor: str | None
    """The host it runs on."""
    timeout: bool
    """It sent no heartbeat for longer than the client's `heartbeat_timeout`."""
    lost: bool
    cpu_percent: float
    """CPU use of the rank and its worker, in % of one core."""
    rss: int
    """Resident memory of the rank and its worker, in bytes."""
    preload_error: str | None
    """The traceback of the preload in its current namespace, if that failed."""
    last_heard: float | None
    """`time.monotonic()` in the client's process when it last heard from it."""
    log_file: str | None
    """Where the server writes its output and logs under the 'separated' log mode."""
    progress: dict | None
    """The running command's latest `progress(done, total, text)`: `{done, total, text, time}`."""


def server_state(rank: int, state: str, *, busy: bool | None = None, command_id: int | None = None,
                 command: str | None = None, queue_length: int = 0, pid: int | None = None,
                 worker_pid: int | None = None, processor: str | None = None, timeout: bool = False,
                 lost: bool = False, cpu_percent: float = 0.0, rss: int = 0, preload_error: str | None = None,
                 last_heard: float | None = None, log_file: str | None = None,
                 progress: dict | None = None) -> ServerState:
    """The one way to make a `ServerState`. `busy` follows from `state` unless given: a server
    that timed out may still be running a command."""
    if state not in STATES:
        raise ValueError(f"server state must be one of {STATES}, not {state!r}")
    return ServerState(rank=rank, state=state, busy=state == "busy" if busy is None else busy,
                       command_id=command_id, command=command, queue_length=queue_length, pid=pid,
                       worker_pid=worker_pid, processor=processor, timeout=timeout, lost=lost,
                       cpu_percent=cpu_percent, rss=rss, preload_error=preload_error, last_heard=last_heard,
                       log_file=log_file, progress=progress)
