"""The command running where user code runs, and what is due for it: one state, no I/O.

Whoever runs commands (a worker's supervisor, `core.supervision.supervisor`; a server rank running
them itself, `core.server.inline_executor`) keeps one `RunningCommand` per command and asks it what
to do when: `step(now)` names the next action that is due, and `due_in(now)` when to ask again. So
the rules (an interrupt is sent again every `INTERRUPT_RETRY` until the command ends) are written
once, and tested without processes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from core.wire.messages import CommandRequest

INTERRUPT_RETRY = 0.25
"""An interrupt that did not land (the command was between two steps, or had not begun executing)
is sent again this often, until the command ends."""


class Step(enum.Enum):
    INTERRUPT = "interrupt"
    """Send the interrupt (again)."""


@dataclass(eq=False)
class RunningCommand:
    request: CommandRequest
    started: float
    """`time.monotonic()` when it was handed to whatever runs it."""
    interrupt_sent: float | None = None
    """When the latest interrupt was sent; None until one is."""

    def interrupted(self, now: float) -> None:
        """An interrupt was sent now; it is sent again every `INTERRUPT_RETRY` until the end."""
        self.interrupt_sent = now

    def due_in(self, now: float) -> float | None:
        """Seconds until `step` has something to do (0: now); None when nothing is pending."""
        if self.interrupt_sent is None:
            return None
        return max(0.0, self.interrupt_sent + INTERRUPT_RETRY - now)

    def step(self, now: float) -> Step | None:
        """What is due now, if anything (the caller does it and says so: `interrupted`)."""
        if self.interrupt_sent is not None and now - self.interrupt_sent >= INTERRUPT_RETRY:
            return Step.INTERRUPT
        return None
