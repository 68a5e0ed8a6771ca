"""`MPICommandClient` and `MPIEnvironment` inside rank 0's client-side worker: proxies of rank 0's.

Code typed for the Client target, and scripts run in the panel, are the session's MPI client, as a
CASA prompt is; but they run in a worker process so that a crash there never takes the window or
the servers with it, and that process has no MPI and must never initialise it. `install` makes
`from core import MPICommandClient, MPIEnvironment` give these proxies there: each method is a call
answered by rank 0's `core.console.host` through the window's own client, so what the code pushes
goes to the real servers and is recorded with its origin ('client', or 'script:LINE' for the
innermost line of the running script). A blocking call blocks this process only.
`start_services` and `stop_services` do nothing: the window started the servers and owns them.
`subscribe` gets the events of the commands this process pushed, without their results (casampi's
client, `core.casampi.MPICommandClient`, follows its requests' statuses with them).
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from core.console import scripts
from core.console.calls import CallingChannel
from core.wire.messages import ConsoleCall

_channel: CallingChannel | None = None


def install(channel: CallingChannel) -> None:
    """Answer this process's `core.MPICommandClient` and `core.MPIEnvironment` with the proxies."""
    global _channel
    _channel = channel
    import core
    core.MPICommandClient = MPICommandClient
    core.MPIEnvironment = MPIEnvironment


def _call(method: ConsoleCall, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
    if _channel is None:
        raise RuntimeError("this process is not rank 0's client-side worker")
    return _channel.call(method, args, kwargs, _origin(), timeout)


def _origin() -> str:
    """'script:LINE' for the innermost line of the running script that led here, else 'client'."""
    script = scripts.running
    frame = sys._getframe(2)
    while script is not None and frame is not None:
        if frame.f_code.co_filename == script:
            return f"script:{frame.f_lineno}"
        frame = frame.f_back
    return "client"


class MPICommandClient:
    """The session's client, seen from client-side code (the constructor's options are ignored:
    the servers exist already)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def start_services(self) -> None:
        """Nothing to do: the window has started its servers."""

    def stop_services(self, force_command_request_interruption: bool = False) -> None:
        """Nothing to do: the window owns its servers and stops them when it closes."""

    def set_log_mode(self, mode: str) -> None:
        _call(ConsoleCall.SET_LOG_MODE, mode)

    def set_log_level(self, level: int | str) -> None:
        _call(ConsoleCall.SET_LOG_LEVEL, level)

    @property
    def log_mode(self) -> str:
        return _call(ConsoleCall.ENVIRONMENT)["log_mode"]

    @property
    def launch_mode(self) -> str:
        return MPIEnvironment.launch_mode

    def push_command_request(self, command: str, block: bool = False, target_server=None,
                             parameters: dict[str, Any] | None = None, *, shown: str | None = None):
        return _call(ConsoleCall.PUSH_COMMAND_REQUEST, command, block, target_server, parameters, shown=shown)

    def get_command_response(self, command_request_id_list, block: bool = False,
                             timeout: float | None = None) -> list[dict[str, Any]]:
        return _call(ConsoleCall.GET_COMMAND_RESPONSE, command_request_id_list, block, timeout=timeout)

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        event = threading.Event()

        def wait() -> None:
            self.get_command_response(command_request_id_list, block=True)
            event.set()

        threading.Thread(target=wait, name="mpipanel-response-event", daemon=True).start()
        return event

    def get_server_status(self) -> dict[int, dict[str, Any]]:
        return _call(ConsoleCall.GET_SERVER_STATUS)

    def server_ranks(self) -> list[int]:
        return _call(ConsoleCall.SERVER_RANKS)

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

    def interrupt(self, command_request_id_list=None, *, server: int | None = None) -> None:
        _call(ConsoleCall.INTERRUPT, command_request_id_list, server=server)

    def cancel(self, command_request_id_list) -> None:
        _call(ConsoleCall.CANCEL, command_request_id_list)


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
