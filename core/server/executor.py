"""What a server rank needs from whatever runs its commands: one interface, two isolation modes.

`WorkerExecutor` (isolation 'process', `core.server.worker_executor`) runs them in a supervised
worker process; `InlineExecutor` (isolation 'none', `core.server.inline_executor`) in the rank
itself. The rank holds one executor and never asks which it is. An executor reports back through
the rank: `complete(fields, result)` when a command is over, `add_output` / `add_log` for what it
printed or logged, and `reset(detail)` when its namespace was lost on its own (a worker died).
"""
from __future__ import annotations

from typing import Protocol

from core.wire.messages import CommandRequest


class Executor(Protocol):
    pid: int | None
    """The worker process's pid; None when commands run in the rank."""

    def run(self, request: CommandRequest, buffers: list) -> None:
        """Start the command (a worker) or run it to its end (the rank itself)."""

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """Give the command now, to start once the running one ends, if that can be taken back
        until then (`core.wire.command_queue`); False: it waits in the rank."""

    def take_back(self, ids: set[int]) -> set[int]:
        """Take back the commands among `ids` handed over and not started yet; their ids."""

    def next_frames(self) -> None:
        """Handle what the worker sent next, waiting for it (its DONE of a command that ended)."""

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running command; the rank repeats it until it lands."""

    def restart(self) -> bool:
        """Drop the namespace. True when it is fresh now; False when that can only happen once
        the running command has ended (the rank then interrupts it and asks again)."""

    def set_log_level(self, level: int) -> None:
        """Records below `level` (a `logging` level) are dropped where they are made, from the
        next command on (a worker reads it between commands)."""

    def pause_output(self, paused: bool) -> None:
        """Stop (or resume) reading the command's output while the client is behind."""

    def usage(self) -> tuple[float, int]:
        """CPU % and resident bytes used beyond the rank's own process."""

    def close(self) -> None:
        """The rank is leaving: end the worker, if any."""
