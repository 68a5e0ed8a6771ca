"""`%px --timeout SECONDS`: a cell's commands stopped when their time is up.

Kept apart and small because the native API is to get a server-side limit of its own
(`push_command_request(..., timeout=...)`, issue 25); until then the kernel enforces it: at the
deadline it interrupts the cell's unfinished commands (and cancels those still queued), and a
server whose command still runs `RESTART_GRACE` seconds later (a C extension that never returns
to Python, where an interrupt cannot land) gets a fresh worker through `restart_server`, which
ends that command. Timers, not the cell's thread, so that a `--noblock` cell is held to its
limit too while nobody waits for it.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

from core.jupyter.session_client import SessionClient

RESTART_GRACE = 5.0


class TimeLimit:
    def __init__(self, client: SessionClient, futures: list[Future], seconds: float,
                 grace: float = RESTART_GRACE):
        self.client = client
        self.futures = futures
        self.seconds = seconds
        self.grace = grace
        self.stopped: set[int] = set()
        """The ids of the commands the limit stopped."""
        self._lock = threading.Lock()
        self._over = False
        self._timer: threading.Timer | None = None
        self._arm(seconds, self._stop_commands)

    def cancel(self) -> None:
        """The cell's commands are over: the limit has nothing left to do."""
        with self._lock:
            self._over = True
            if self._timer is not None:
                self._timer.cancel()

    def _arm(self, delay: float, action) -> None:
        with self._lock:
            if not self._over:
                self._timer = threading.Timer(delay, action)
                self._timer.daemon = True
                self._timer.start()

    def _unfinished(self) -> list[int]:
        return [future.command_id for future in self.futures if not future.done()]

    def _stop_commands(self) -> None:
        ids = self._unfinished()
        if not ids:
            return
        self.stopped.update(ids)
        self.client.stop_commands(ids)
        self._arm(self.grace, self._restart_stuck_servers)

    def _restart_stuck_servers(self) -> None:
        ids = set(self._unfinished())
        for rank, status in self.client.servers().items():
            if status["command_id"] in ids:
                self.client.restart_server(rank)
