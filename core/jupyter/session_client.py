"""The calls the notebook's magics make on a session's client, all in one place.

Two kinds of client stand behind it, both with mpipanel's native API: a `core.MPICommandClient`
that this kernel started (`%mpipanel start`), and, once the attach protocol exists (issue 21), the
client object of a session the notebook attaches to (`%mpipanel attach`): the magics reach either
only through `SessionClient`, so attaching is one more way of making one. What a client must
offer is exactly what this class calls: `submit(command, target=, origin=, timeout=)` returning
futures with a `command_id`, `subscribe(callback)` for `core.events`, `interrupt(ids)`,
`cancel(ids)`, `get_server_status()`, `session_log_path` and, for a client the kernel owns,
`stop_services(force_command_request_interruption=True)`.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

ORIGIN = "notebook"
"""Every command a notebook sends is recorded with this origin, in the history and the session log."""


class SessionClient:
    def __init__(self, client: Any, owned: bool):
        self.client = client
        self.owned = owned
        """True when this kernel started the session: `close` stops its servers."""

    def send(self, command: str, target: list[int] | None, timeout: float | None = None) -> list[Future]:
        """Send `command` to each rank of `target` (None: the first available server); one
        future per command, whose result is the response and whose `command_id` is its id.
        `timeout`: each command's time limit, which its server enforces (`%%px --timeout`)."""
        futures = self.client.submit(command, target=target, origin=ORIGIN, timeout=timeout)
        return futures if isinstance(futures, list) else [futures]

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
        """Where the session's commands are logged (None when it is not logged)."""
        return self.client.session_log_path

    def close(self) -> None:
        """End the notebook's part: a session the kernel started is stopped, its running
        commands interrupted."""
        if self.owned:
            self.client.stop_services(force_command_request_interruption=True)
