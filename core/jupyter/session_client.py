"""The calls the notebook's magics make on a session's client, all in one place.

Two kinds of client stand behind it, both with mpipanel's native API: a `core.MPICommandClient`
that this kernel started (`%mpipanel start`, `kernel_session`: owned, so leaving stops it), and a
`core.AttachedClient` on a session that runs in another process (`%mpipanel attach`,
`attached_session`: leaving detaches, and the session goes on). The magics reach either only
through `SessionClient`. What a client must offer is exactly what this class calls:
`subscribe(callback)` for `core.events`, `interrupt(ids)`, `cancel(ids)`, `restart_server(rank)`,
`get_server_status()`, `session_log_path`, `stop_services(force_command_request_interruption=True)`;
owned, `push_command_request(command, target_server=, origin=, timeout=)` and `command_futures(ids)`;
attached, `submit(command, target=, origin=, timeout=)` returning futures with `numbered()` (the command's
id, a round trip away), `detach()`, `info` and `link_state`.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

ORIGIN = "notebook"
"""Every command a notebook sends is recorded with this origin, in the history and the session log."""
NUMBERING_TIMEOUT = 30.0
"""Seconds an attached session may take to number a cell's commands (a round trip on its link)."""


class SessionClient:
    def __init__(self, client: Any, owned: bool):
        self.client = client
        self.owned = owned
        """True when this kernel started the session: `close` stops its servers. False for a
        session the notebook attached to: `close` detaches and stops nothing."""

    def send(self, command: str, target: list[int] | None, timeout: float | None = None) -> list[Future]:
        """Send `command` to each rank of `target` (None: the first available server); one
        future per command, whose result is the response and whose `command_id` is its id.
        `timeout`: each command's time limit, which its server enforces (`%%px --timeout`).
        Raises what the session refuses the command with (ValueError, TypeError), and
        ConnectionError when an attached session cannot be reached.

        The kernel's own client sends from this thread, as a script's push does, rather than
        handing the commands to its progress thread and waking it (a cell a few tenths of a ms
        sooner); Kernel > Interrupt is held meanwhile (`_interrupts_held`), and one that came
        stops the commands just sent and raises KeyboardInterrupt. An attached client's link
        sends; the session numbers the commands, a round trip this waits for."""
        if self.owned:
            with _interrupts_held() as interrupted:
                ids = self.client.push_command_request(command, target_server=target, origin=ORIGIN,
                                                       timeout=timeout)
            futures = self.client.command_futures(ids)
            if interrupted():
                self.stop_commands(ids)
                raise KeyboardInterrupt
            return futures
        futures = self.client.submit(command, target=target, origin=ORIGIN, timeout=timeout)
        futures = futures if isinstance(futures, list) else [futures]
        for future in futures:
            future.numbered(NUMBERING_TIMEOUT)
        return futures

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return self.client.subscribe(callback)

    def stop_commands(self, ids: list[int]) -> None:
        """Cancel those still queued and interrupt those running."""
        if ids:
            self.client.cancel(ids)
            self.client.interrupt(ids)

    def servers(self) -> dict[int, dict[str, Any]]:
        """Each server's status by rank (`get_server_status()`: state, pid, host, queue, ...)."""
        return self.client.get_server_status()

    @property
    def session_log_path(self):
        """Where the session's commands are logged (None when it is not logged); an attached
        session's log is on the session's machine."""
        return self.client.session_log_path

    def where(self) -> str:
        """What the notebook works on, for messages: 'the servers this kernel started', or the
        attached session's id, kind and host."""
        if self.owned:
            return "the servers this kernel started"
        info = self.client.info
        return f"session {info.session_id} ({info.kind}, pid {info.pid} on {info.host})"

    def ended(self) -> str | None:
        """Why the session ended under the notebook (an attached one, stopped by another
        frontend or gone), or None while it runs."""
        state = "" if self.owned else self.client.link_state
        return state.removeprefix("ended: ") if state.startswith("ended") else None

    def close(self) -> None:
        """End the notebook's part: a session the kernel started is stopped, its running
        commands interrupted; one it attached to goes on running without it."""
        if self.owned:
            self.client.stop_services(force_command_request_interruption=True)
        else:
            self.client.detach()

    def stop_session(self) -> None:
        """Stop the session's servers, for every frontend of it, interrupting what runs."""
        self.client.stop_services(force_command_request_interruption=True)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[Callable[[], bool]]:
    """SIGINT (Kernel > Interrupt) held on the main thread while the block runs; yields whether
    one came meanwhile. Sending from the cell's thread runs the client's engine there, its MPI
    lock held and its ledger and outbox changing: a KeyboardInterrupt raised in the middle could
    leave a command recorded but never sent, or sent without its doorbell. On another thread, or
    under a handler Python did not install, nothing is held (no KeyboardInterrupt lands there)."""
    arrived: list[int] = []
    held = threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not None
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: arrived.append(signum)) if held else None
    try:
        yield lambda: bool(arrived)
    finally:
        if held:
            signal.signal(signal.SIGINT, previous)
