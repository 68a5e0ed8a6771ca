"""Opening commands and sending them on their way: what every sender of a command goes through.

A push from a program or the window (`push_command_request`, `submit`, a replay), the commands of
a data move (`core.client.data_moves`) and code run on rank 0 itself (`CLIENT_RANK`,
`core.console`) all come here: the arguments are checked (`core.client.validation`), the ledger
opens the records (ids, futures, `CommandQueued`: `Ledger.open`), and the engine queues them.
Data moves see the client only through this, so they need none of its private parts.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from core.client import validation
from core.client.engine import Engine
from core.client.ledger import CommandRecord
from core.client.result_budget import kept_parameters
from core.events import CLIENT_RANK
from core.wire.messages import TIME_LIMIT_GRACE


class Dispatcher:
    """The one way into the engine for a new command, for a running client."""

    def __init__(self, engine: Engine, cancel: Callable[[list[int]], Any]):
        """`cancel`: what a command's `CommandFuture.cancel()` calls (the client's `cancel`)."""
        self.engine = engine
        self._cancel = cancel

    def push(self, *, command: str, target=None, parameters: dict[str, Any] | None = None,
             block: bool = False, direct: bool = False, origin: str | None = None,
             shown: str | None = None, time_limit: float | None = None, grace: float = TIME_LIMIT_GRACE,
             retries: int = 0) -> list[CommandRecord]:
        """Check, open and queue one push: to the first available server (`target` None), a rank,
        or a list of ranks (one command each). `block` is recorded (a replay waits for it, as the
        caller did); `direct` sends from this thread when the MPI lock is free, for a caller about
        to wait, else the progress thread sends (a GUI thread never waits). `shown`: the text to
        show for it (`core.events.CommandQueued.shown`); `time_limit`, `grace` and `retries` as
        `MPICommandClient.push_command_request` says. Raises the validation's ValueError or
        TypeError, naming the argument, before anything is queued."""
        engine = self.engine
        validation.check_command(command)
        targets = validation.check_targets(target, engine.views, engine.is_lost)
        buffers = validation.check_parameters(parameters)
        records = engine.ledger.open(command=command, parameters=kept_parameters(parameters), buffers=buffers,
                                     targets=targets, block=block, origin=origin, cancel=self._cancel,
                                     shown=validation.check_shown(shown),
                                     push_target=list(target) if isinstance(target, (list, tuple)) else target,
                                     time_limit=validation.check_time_limit(time_limit),
                                     grace=validation.check_grace(grace), retries=validation.check_retries(retries))
        engine.call(lambda: [engine.queue(record) for record in records], direct=direct)
        return records

    def open_local(self, *, command: str, parameters: dict[str, Any] | None = None,
                   origin: str | None = None, shown: str | None = None, time_limit: float | None = None,
                   grace: float = TIME_LIMIT_GRACE) -> CommandRecord:
        """Open a command that runs on rank 0 itself, as a push to `CLIENT_RANK`; nothing is
        queued (`core.console` runs it). Its pickled parameters are in `record.buffers`; `origin`
        and `shown` as for `push`."""
        validation.check_command(command)
        buffers = validation.check_parameters(parameters)
        [record] = self.engine.ledger.open(command=command, parameters=kept_parameters(parameters), buffers=buffers,
                                           targets=[CLIENT_RANK], push_target=CLIENT_RANK, block=False,
                                           origin=origin, cancel=self._cancel, server=CLIENT_RANK,
                                           shown=validation.check_shown(shown),
                                           time_limit=validation.check_time_limit(time_limit),
                                           grace=validation.check_grace(grace))
        self.engine.wake()  # to deliver its CommandQueued
        return record

    def available_servers(self) -> list[int]:
        """The servers that are not lost, in rank order."""
        return sorted(rank for rank, view in self.engine.views.items() if not view.lost)

    def wait(self, future: Future) -> None:
        """Block until `future` is done, driving MPI progress on this thread meanwhile, as a
        blocking push does: no hand-over to the progress thread per response."""
        self.engine.wait(future.done)
