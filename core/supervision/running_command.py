"""The command running where user code runs, and what is due for it: one state, no I/O.

Whoever runs commands (a worker's supervisor, `core.supervision.supervisor`; a server rank running
them itself, `core.server.inline_executor`) keeps one `RunningCommand` per command and asks it what
to do when: `step(now)` names the next action that is due, and `due_in(now)` when to ask again. So
the rules are written once, and tested without processes:

* an interrupt is sent again every `INTERRUPT_RETRY` until the command ends;
* at its time limit (`CommandRequest.time_limit`) its stack is taken and it is interrupted; if it
  has not ended `grace` seconds later, it is ended by force (its worker killed), as a command still
  running `grace` seconds after a forced stop is;
* its response says so: status 'expired', the stack, and how it ended (`outcome`, `killed`).
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from core.wire.messages import CommandRequest
from core.wire.responses import Status, failure

INTERRUPT_RETRY = 0.25
"""An interrupt that did not land (the command was between two steps, or had not begun executing)
is sent again this often, until the command ends."""


class Step(enum.Enum):
    INTERRUPT = "interrupt"
    """Send the interrupt again."""
    EXPIRE = "expire"
    """The time limit is reached: take the stack (`expire`), and interrupt."""
    KILL = "kill"
    """The grace after an expiry or a forced stop is over: end the command by force, or say that
    this cannot be done (`cannot_kill`)."""


@dataclass(eq=False)
class RunningCommand:
    request: CommandRequest
    started: float
    """`time.monotonic()` when it was handed to whatever runs it (`start_clock`)."""
    deadline: float | None = field(init=False)
    """When its time limit is reached; None without one."""
    interrupt_sent: float | None = None
    """When the latest interrupt was sent; None until one is."""
    expired_at: float | None = None
    expired_wall: float | None = None
    """`time.time()` at the expiry: a command that ended before it (its response's `time_end`, on
    the same host's clock) ended in time, whatever the interrupt found."""
    stack: str | None = None
    """The text of its stack when the time limit was reached."""
    kill_at: float | None = None
    """When it is to be ended by force, if it has not ended by itself."""
    stopping: bool = False
    """A forced stop interrupted it (rather than its time limit)."""
    unkillable: bool = False
    """Its grace ran out where there is nothing to kill (isolation 'none')."""

    def __post_init__(self) -> None:
        self.start_clock(self.started)

    def start_clock(self, now: float) -> None:
        """It starts now: its time limit counts from here (a fresh worker's preload is over)."""
        self.started = now
        limit = self.request.time_limit
        self.deadline = None if limit is None else now + limit

    def hold(self) -> None:
        """Its worker is not ready yet (it starts, or runs its preload): its time limit waits for
        `start_clock`, so that a slow start is not the command's."""
        self.deadline = None

    def interrupted(self, now: float) -> None:
        """An interrupt was sent now; it is sent again every `INTERRUPT_RETRY` until the end."""
        self.interrupt_sent = now

    def expire(self, now: float, stack: str) -> None:
        """The time limit was reached now and the stack taken; the caller interrupts it next."""
        self.expired_at = now
        self.expired_wall = time.time()
        self.stack = stack
        self.kill_at = now + self.request.grace

    def stop(self, now: float, grace: float) -> None:
        """A forced stop: the caller interrupts it now; it is ended by force `grace` s later."""
        self.stopping = True
        self.kill_at = now + grace if self.kill_at is None else min(self.kill_at, now + grace)

    def cannot_kill(self) -> None:
        self.kill_at = None
        self.unkillable = True

    def due_in(self, now: float) -> float | None:
        """Seconds until `step` has something to do (0: now); None when nothing is pending."""
        if self.deadline is None and self.interrupt_sent is None and self.kill_at is None:
            return None  # the common case, on a server's hot path
        times = [self.kill_at]
        if self.deadline is not None and self.expired_at is None:
            times.append(self.deadline)
        if self.interrupt_sent is not None:
            times.append(self.interrupt_sent + INTERRUPT_RETRY)
        pending = [when for when in times if when is not None]
        return max(0.0, min(pending) - now) if pending else None

    def step(self, now: float) -> Step | None:
        """What is due now, if anything (the caller does it and says so: `expire`, `interrupted`,
        `cannot_kill`)."""
        if self.deadline is None and self.interrupt_sent is None and self.kill_at is None:
            return None
        if self.deadline is not None and self.expired_at is None and now >= self.deadline:
            return Step.EXPIRE
        if self.kill_at is not None and now >= self.kill_at:
            return Step.KILL
        if self.interrupt_sent is not None and now - self.interrupt_sent >= INTERRUPT_RETRY:
            return Step.INTERRUPT
        return None

    # ----- what its response says -----------------------------------------------------------
    def outcome(self, fields: dict[str, Any], now: float) -> dict[str, Any]:
        """The response fields of a command that ended by itself, `fields` as it made them. One
        that ran past its time limit is 'expired', however it ended: on the interrupt, on an error,
        or (having caught the interrupt) with a value, which is kept. One that ended within its
        limit keeps its outcome, even if the interrupt was sent as it ended."""
        if self.expired_at is None or fields["time_end"] < self.expired_wall:
            return fields
        duration = fields["time_end"] - fields["time_start"]
        text = f"{self._expiry()} and was interrupted"
        if self.unkillable:
            text += (f"; it did not end within the grace of {self.request.grace:g} s, and with isolation 'none' "
                     f"it runs in the server rank itself, where there is nothing to kill")
        if fields["successful"]:
            text += f"; it caught the interrupt and returned {duration:.1f} s after it started (its value is kept)"
        elif self.unkillable:
            text += f"; it ended {duration:.1f} s after it started"
        return {**fields, "status": Status.EXPIRED, "successful": False,
                "traceback": (fields.get("traceback") or "") + text + ".\n", "stack": self.stack}

    def ended_by_force(self, detail: str, status: Status, now: float) -> dict[str, Any]:
        """The response fields of a command whose worker ended under it (it died, or was killed),
        `detail` saying how; it started when it was handed over, not now."""
        return {**failure(status, detail + "\n", time_start=time.time() - (now - self.started)),
                "namespace_reset": True}

    def killed(self, pid: int, now: float) -> tuple[str, dict[str, Any]]:
        """Its worker (`pid`) was killed: what to say (the log, the namespace lost) and its
        response fields."""
        after = f"did not end within the grace of {self.request.grace:g} s after the interrupt"
        if self.expired_at is not None:
            detail = f"{self._expiry()} and {after}, so its worker process (pid {pid}) was killed."
            status = Status.EXPIRED
        else:
            detail = (f"Command {self.request.id} {after} of a forced stop, so its worker process (pid {pid}) "
                      f"was killed.")
            status = Status.INTERRUPTED
        detail += " Its namespace is lost; a fresh worker has started."
        return detail, {**self.ended_by_force(detail, status, now), "stack": self.stack}

    def _expiry(self) -> str:
        return f"Time limit expired: command {self.request.id} ran past its limit of {self.request.time_limit:g} s"
