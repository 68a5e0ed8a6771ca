"""Futures of commands, and the one way to wait for a set of futures.

Rank 0's client (`core.client`), its client-side worker (`core.console`) and the window all hold
`concurrent.futures.Future`s of commands and wait for several at once: a push to many servers, a
data move, a proxied blocking call, a replayed push. `when_all` is that wait, written once; it
never blocks a thread (it resolves on the thread that finishes the last future), so it serves the
GUI thread and the console's serving thread as well as a script. No MPI and no client here: both
sides of the client-side worker import this module.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class CommandFuture(Future):
    """A command's future: its result is the response dict (a failed command does not raise).

    `cancel()` also cancels the command if it is still queued.
    """

    def __init__(self, command_id: int, cancel_command: Callable[[list[int]], Any]):
        super().__init__()
        self.command_id = command_id
        self._cancel_command = cancel_command

    def cancel(self) -> bool:
        if self.done():
            return False
        self._cancel_command([self.command_id])
        return False


def command_ids(ids) -> list[int]:
    """The ids in `ids` (an id, or lists of ids nested at will), in order: how callers name the
    commands whose responses or futures they want."""
    if isinstance(ids, (list, tuple)):
        return [command_id for item in ids for command_id in command_ids(item)]
    if isinstance(ids, bool) or not isinstance(ids, int):
        raise TypeError(f"command ids are ints (or nested lists of them), not {type(ids).__name__}")
    return [ids]


def done_future(value: Any) -> Future:
    """A future already done with `value`: an answer at hand where callers expect a future."""
    future: Future = Future()
    future.set_result(value)
    return future


def when_all(futures: Sequence[Future], take: Callable[[Future], T] = Future.result) -> Future:
    """A future of `[take(f) for f in futures]`, in their order, done once every one is done.

    Each `take(f)` runs as soon as `f` is done, on the thread that finished it, so it sees the
    value as it was then (a command's `ret` that the result budget may drop later). The last one
    to finish resolves the returned future, on its thread; an empty list gives a done future. If
    a `take` raises, the returned future raises the first such exception, once all are done.
    """
    combined: Future = Future()
    taken: list = [None] * len(futures)
    errors: list[Exception] = []
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(index: int, future: Future) -> None:
        try:
            value, error = take(future), None
        except Exception as exc:  # noqa: BLE001 - the combined future carries it
            value, error = None, exc
        with lock:
            taken[index] = value
            if error is not None:
                errors.append(error)
            remaining[0] -= 1
            last = remaining[0] == 0
        if last and errors:
            combined.set_exception(errors[0])
        elif last:
            combined.set_result(taken)

    if not futures:
        combined.set_result([])
    for index, future in enumerate(futures):
        future.add_done_callback(lambda done, index=index: one_done(index, done))
    return combined
