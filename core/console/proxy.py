"""`MPICommandClient` and `MPIEnvironment` inside rank 0's client-side worker: proxies of rank 0's.

Code typed for the Client target, and scripts run in the panel, are the session's MPI client, as a
CASA prompt is; but they run in a worker process so that a crash there never takes the window or
the servers with it, and that process has no MPI and must never initialise it. `install` makes
`from core import MPICommandClient, MPIEnvironment` give these proxies there: each method is a call
(`ConsoleCall`) answered by rank 0 (`core.console.client_calls`) through the window's own client,
so what the code pushes or moves goes to the real servers and is recorded with its origin
('client', or 'script:LINE' for the innermost line of the running script). The proxy offers the
client's whole API, call for call: a blocking call blocks this process only; a future it returns
(`submit`, `command_futures`, a data move with `block=False`, `restart_server`) resolves here, once
rank 0 has the outcome. What cannot work from here (rank 0's own bookkeeping of this worker's
commands, records that hold rank 0's futures) raises `UnavailableCallError` naming the call and why.
`start_services` and `stop_services` do nothing: the window started the servers and owns them.
`subscribe` gets the events of the commands this process pushed, without their results (casampi's
client, `core.casampi.MPICommandClient`, follows its requests' statuses with them).
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from core.console import scripts
from core.console.calls import CallingChannel
from core.futures import CommandFuture, command_ids, when_all
from core.wire.messages import ConsoleCall

_channel: CallingChannel | None = None


class UnavailableCallError(RuntimeError):
    """A call of the client that rank 0's client-side worker cannot make."""


def install(channel: CallingChannel) -> None:
    """Answer this process's `core.MPICommandClient` and `core.MPIEnvironment` with the proxies."""
    global _channel
    _channel = channel
    import core
    core.MPICommandClient = MPICommandClient
    core.MPIEnvironment = MPIEnvironment


def _call(method: ConsoleCall, *args: Any, wait: float | None = None, promised: Sequence[Future] = (),
          **kwargs: Any) -> Any:
    if _channel is None:
        raise RuntimeError("this process is not rank 0's client-side worker")
    return _channel.call(method, args, kwargs, _origin(), wait, promised)


def _origin() -> str:
    """'script:LINE' for the innermost line of the running script that led here, else 'client'."""
    script = scripts.running
    frame = sys._getframe(2)
    while script is not None and frame is not None:
        if frame.f_code.co_filename == script:
            return f"script:{frame.f_lineno}"
        frame = frame.f_back
    return "client"


def _promise(method: ConsoleCall, *args: Any, **kwargs: Any) -> Future:
    """Call `method`, whose answer promises one future, and return that future."""
    future: Future = Future()
    _call(method, *args, promised=[future], **kwargs)
    return future


def _move(method: ConsoleCall, block: bool, *args: Any) -> Any:
    """A data move: its outcome when blocking, else a future of it."""
    return _call(method, *args, block=True) if block else _promise(method, *args, block=False)


def _setting(name: str) -> property:
    """A setting of rank 0's client (as its attribute `name` reads now)."""
    return property(lambda self: _call(ConsoleCall.SETTINGS)[name])


def _unavailable(name: str, why: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise UnavailableCallError(f"MPICommandClient.{name} is not available in rank 0's client-side worker: {why}")
    return refuse


_OWN_BOOKKEEPING = ("rank 0 keeps the books of the commands that run in this worker (core.console.host); "
                    "code here is one of them")


class MPICommandClient:
    """The session's client, seen from client-side code: rank 0's `MPICommandClient`, call for
    call (the constructor's options are ignored: the servers exist already)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> MPICommandClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        """Nothing to stop: the window owns its servers."""

    # ----- life cycle and settings --------------------------------------------------------
    def start_services(self) -> None:
        """Nothing to do: the window has started its servers."""

    def stop_services(self, force_command_request_interruption: bool = False) -> None:
        """Nothing to do: the window owns its servers and stops them when it closes."""

    @property
    def launch_mode(self) -> str:
        return MPIEnvironment.launch_mode

    def set_log_mode(self, mode: str) -> None:
        _call(ConsoleCall.SET_LOG_MODE, mode)

    def set_log_level(self, level: int | str) -> None:
        _call(ConsoleCall.SET_LOG_LEVEL, level)

    log_mode = _setting("log_mode")
    log_level = _setting("log_level")
    isolation = _setting("isolation")
    server_nice = _setting("server_nice")
    preload = _setting("preload")
    heartbeat_interval = _setting("heartbeat_interval")
    heartbeat_timeout = _setting("heartbeat_timeout")
    session_log_path = _setting("session_log_path")
    time_limit_grace = _setting("time_limit_grace")

    def save_session(self, path: str | os.PathLike, only_successful: bool = False,
                     include_interrupted_cancelled: bool = True) -> Path:
        """Rank 0 writes the session as a script; a relative `path` is this process's."""
        return _call(ConsoleCall.SAVE_SESSION, os.path.abspath(path), only_successful, include_interrupted_cancelled)

    def session_script(self, only_successful: bool = False, include_interrupted_cancelled: bool = True,
                       name: str = "session.py") -> str:
        """The text `save_session` writes, made by rank 0 (for code that keeps it its own way)."""
        return _call(ConsoleCall.SESSION_SCRIPT, only_successful, include_interrupted_cancelled, name)

    # ----- commands -----------------------------------------------------------------------
    def push_command_request(self, command: str, block: bool = False, target_server=None,
                             parameters: dict[str, Any] | None = None, *, shown: str | None = None,
                             timeout: float | None = None, grace: float | None = None, retries: int = 0):
        return _call(ConsoleCall.PUSH_COMMAND_REQUEST, command, block, target_server, parameters, shown=shown,
                     timeout=timeout, grace=grace, retries=retries)

    def submit(self, command: str, target=None, parameters: dict[str, Any] | None = None, *,
               shown: str | None = None, timeout: float | None = None, grace: float | None = None,
               retries: int = 0):
        """A `CommandFuture` (a list of them for a list of targets) resolved here with the response."""
        ids = _call(ConsoleCall.PUSH_COMMAND_REQUEST, command, False, target, parameters, shown=shown,
                    timeout=timeout, grace=grace, retries=retries)
        futures = self._futures_of(ids)
        return futures if isinstance(target, (list, tuple)) else futures[0]

    def get_command_response(self, command_request_id_list, block: bool = False,
                             timeout: float | None = None) -> list[dict[str, Any]]:
        return _call(ConsoleCall.GET_COMMAND_RESPONSE, command_request_id_list, block, wait=timeout)

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        event = threading.Event()
        when_all(self.command_futures(command_request_id_list)).add_done_callback(lambda _: event.set())
        return event

    def command_futures(self, command_request_id_list) -> list[CommandFuture]:
        return self._futures_of(command_ids(command_request_id_list))

    def _futures_of(self, ids: list[int]) -> list[CommandFuture]:
        futures = [CommandFuture(command_id, self.cancel) for command_id in ids]
        _call(ConsoleCall.COMMAND_FUTURES, ids, promised=futures)
        return futures

    def cancel(self, command_request_id_list) -> None:
        _call(ConsoleCall.CANCEL, command_request_id_list)

    def interrupt(self, command_request_id_list=None, *, server: int | None = None) -> None:
        _call(ConsoleCall.INTERRUPT, command_request_id_list, server=server)

    def restart_server(self, rank: int) -> Future:
        return _promise(ConsoleCall.RESTART_SERVER, rank)

    # ----- data and namespaces ------------------------------------------------------------
    def push(self, variables: dict[str, Any], targets=None, block: bool = True):
        return _move(ConsoleCall.PUSH, block, variables, targets)

    def pull(self, names: str | list[str], targets=None, block: bool = True):
        return _move(ConsoleCall.PULL, block, names, targets)

    def scatter(self, name: str, sequence, targets=None, block: bool = True):
        return _move(ConsoleCall.SCATTER, block, name, sequence, targets)

    def gather(self, name: str, targets=None, block: bool = True):
        return _move(ConsoleCall.GATHER, block, name, targets)

    def purge_results(self, ids=None) -> int:
        return _call(ConsoleCall.PURGE_RESULTS, ids)

    result_memory = _setting("result_memory").setter(
        lambda self, limit: _call(ConsoleCall.SET_RESULT_MEMORY, limit))

    result_memory_used = _setting("result_memory_used")

    def watch_namespaces(self, on: bool = True) -> None:
        _call(ConsoleCall.WATCH_NAMESPACES, on)

    def request_namespace_summaries(self, targets=None) -> Future:
        return _promise(ConsoleCall.REQUEST_NAMESPACE_SUMMARIES, targets)

    def namespace_summary(self, rank: int):
        return _call(ConsoleCall.NAMESPACE_SUMMARY, rank)

    def stacks(self, servers=None) -> Future:
        return _promise(ConsoleCall.STACKS, servers)

    def suspend_timeouts(self, on: bool = True) -> None:
        _call(ConsoleCall.SUSPEND_TIMEOUTS, on)

    # ----- servers and events -------------------------------------------------------------
    def server_ranks(self) -> list[int]:
        return _call(ConsoleCall.SERVER_RANKS)

    def get_server_status(self) -> dict[int, dict[str, Any]]:
        """What each server last reported (rank 0's `last_server_status`: it never waits for MPI)."""
        return _call(ConsoleCall.GET_SERVER_STATUS)

    def last_server_status(self) -> dict[int, dict[str, Any]]:
        return _call(ConsoleCall.GET_SERVER_STATUS)

    def subscribe(self, callback) -> Callable[[], None]:
        """Deliver `core.events`' CommandStarted and CommandFinished of the commands that code in
        this process pushed to `callback`, on this process's event thread; a CommandFinished's
        response has no `ret` (`get_command_response` has it). Returns a function that stops it."""
        if _channel is None:
            raise RuntimeError("this process is not rank 0's client-side worker")
        first = not _channel.subscribed
        unsubscribe = _channel.subscribe(callback)
        if first:
            _call(ConsoleCall.SUBSCRIBE)  # rank 0 starts forwarding; once is enough for this process
        return unsubscribe

    # ----- rank 0's own machinery ---------------------------------------------------------
    commands = property(_unavailable("commands", "its records hold rank 0's futures and locks, which "
                                     "cannot cross to this process; get_command_response and "
                                     "command_futures give the responses"))
    open_local_command = _unavailable("open_local_command", _OWN_BOOKKEEPING)
    start_local_command = _unavailable("start_local_command", _OWN_BOOKKEEPING)
    close_local_command = _unavailable("close_local_command", _OWN_BOOKKEEPING)
    publish = _unavailable("publish", _OWN_BOOKKEEPING)


class _Environment:
    """The mpi4casa `MPIEnvironment` of rank 0, as its client-side code sees it."""

    is_mpi_enabled = True
    is_mpi_client = True
    is_spawned_server = False
    mpi_processor_rank = 0

    def __getattr__(self, name: str) -> Any:
        facts = _call(ConsoleCall.ENVIRONMENT)
        if name not in facts:
            raise AttributeError(name)
        return facts[name]

    def mpi_server_rank_list(self) -> list[int]:
        return _call(ConsoleCall.SERVER_RANKS)


MPIEnvironment = _Environment()
