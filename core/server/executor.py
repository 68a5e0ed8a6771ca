"""What a server rank needs from whatever runs its commands: one interface, two isolation modes.

`WorkerSupervisor` (isolation 'process', `core.supervision.supervisor`, shared with rank 0's
client-side worker) runs them in a supervised worker process; `InlineExecutor` (isolation 'none',
`core.server.inline_executor`) in the rank itself. The rank holds one executor and never asks which
it is. An executor reports back through the rank (`core.supervision.supervisor.Owner`):
`complete(fields, result)` when a command is over, `add_output` / `add_log` / `add_progress` for
what it printed, logged or said of its progress, `namespace_lost(detail, fields)` when its
namespace was lost (a worker died, a restart), and `give_back(items)` for commands handed over
ahead of time (`hand_over`) that never started.
"""
from __future__ import annotations

from typing import Protocol

from core.stacks import ThreadStack
from core.wire.answers import AnswerTerms
from core.wire.messages import CommandRequest


class Executor(Protocol):
    pid: int | None
    """The worker process's pid; None when commands run in the rank."""

    def run(self, request: CommandRequest, buffers: list, terms: AnswerTerms | None = None) -> None:
        """Start the command (a worker) or run it to its end (the rank itself). `terms` (a
        worker, only): it may answer the client itself, on those terms (`core.wire.answers`)."""

    @property
    def running(self) -> CommandRequest | None:
        """The command that runs now: after `complete`, the next one handed over, if any."""

    @property
    def handed_over(self) -> int:
        """How many commands are handed over behind the running one."""

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """Give the command now, to start once the running one ends, if that can be taken back
        until then (`core.wire.command_queue`); False: it waits in the rank."""

    def take_back(self, ids: set[int] | None = None) -> None:
        """Take back what was handed over and has not started (given `ids`: unless none of them
        is among it), giving it back to the rank (`give_back`); what runs is `running` then."""

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running command, and again until it ends."""

    def stop_running(self, grace: float) -> None:
        """A forced stop: interrupt the running command, and end it by force if it has not
        ended `grace` seconds later (where that can be done)."""

    def stacks(self) -> list[ThreadStack]:
        """The running command's threads now, without stopping it (`core.stacks`)."""

    def worker_silence(self, now: float) -> float:
        """Seconds the process running the command has shown no sign of life (0 when nothing
        runs; always 0 in the rank itself, whose own silence the client sees)."""

    def restart(self) -> bool:
        """Drop the namespace. True when it is fresh now (the rank was told: `namespace_lost`);
        False when that can only happen once the running command has ended (the rank then
        interrupts it and asks again)."""

    def due_in(self, now: float) -> float | None:
        """Seconds until `on_timers` has something to do; None when nothing is pending."""

    def on_timers(self, now: float) -> None:
        """Do what is due for the running command (an interrupt sent again, ...)."""

    def set_log_level(self, level: int) -> None:
        """Records below `level` (a `logging` level) are dropped where they are made, from the
        next command on (a worker reads it between commands)."""

    def pause_output(self, paused: bool) -> None:
        """Stop (or resume) reading the command's output while the client is behind."""

    def usage(self) -> tuple[float, int]:
        """CPU % and resident bytes used beyond the rank's own process."""

    def close(self) -> None:
        """The rank is leaving: end the worker, if any."""
