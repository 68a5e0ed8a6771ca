"""Moving data between the client and its servers: push, pull, scatter and gather.

Each move is made of ordinary commands, so it shows in the history, the session log and a saved
script like any other, and a replay repeats it:

* push binds variables on servers. The server binds a command's parameters by name before it
  runs the command (`core.worker.execution`), so a push is the statement `pass  # push: a, b`
  with the variables as its parameters;
* pull evaluates the names: `a`, or `{'a': a, 'b': b}` for several;
* scatter pushes one part of a sequence to each server (`pass  # scatter: x, part 1 of 3`);
* gather pulls the name from each server and joins the parts in server order.

Values travel as every parameter and result does (pickle 5, large arrays out of band). A saved
script replays a move only while its values have literal forms: an array has none, and
`save_session` refuses such a push by naming the variable.

Targets: None (or 'all') is every server that is not lost, a rank is that server, a list is those
servers; moves address servers in rank order. `origin` is recorded with each command, as a push's
is (the client-side worker's proxy moves with 'client' or 'script:LINE'). `block=False` returns a
`concurrent.futures.Future` of what the blocking call returns (or raises). A move that fails on a
server raises `DataMoveError` naming the variables and the server; the other servers' parts still ran.
"""
from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from core.futures import when_all


class DataMoveError(RuntimeError):
    """A push, pull, scatter or gather failed on a server."""


class Queued(Protocol):
    """What a move keeps of a command it queued (a `CommandRecord` is one)."""

    future: Future
    """Its response, once it has one."""


class Sender(Protocol):
    """What a move needs of a running client (its `core.client.dispatcher.Dispatcher` is one; an
    attached program's link is another, `core.frontends.attached`)."""

    def available_servers(self) -> list[int]:
        """The servers that are not lost, in rank order."""

    def push(self, *, command: str, target: list[int], parameters: dict[str, Any] | None, block: bool,
             direct: bool, origin: str | None) -> list[Queued]:
        """Queue one push of `command` to the `target` ranks (see `Dispatcher.push`)."""

    def wait(self, future: Future) -> None:
        """Block until `future` is done, driving MPI progress on this thread."""


def push(sender: Sender, variables: dict[str, Any], targets=None, block: bool = True, origin: str | None = None):
    """Bind `variables` on the targets; returns their responses in server order."""
    if not isinstance(variables, dict) or not variables:
        raise TypeError(f"push needs a non-empty dict of names to values, not {variables!r}")
    names = _check_names(list(variables), "push")
    what = f"push of {_quoted(names)}"
    ranks = _ranks(sender, targets, what)
    records = _queue(sender, f"pass  # push: {', '.join(names)}", ranks, variables, block, what, origin)
    return _settle(sender, records, _responses(what), block)


def pull(sender: Sender, names: str | Sequence[str], targets=None, block: bool = True, origin: str | None = None):
    """The values of `names` on the targets: `{rank: value}` for one name (casampi's `pull`),
    `{rank: {name: value}}` for a list of names."""
    single = isinstance(names, str)
    listed = _check_names([names] if single else list(names), "pull")
    what = f"pull of {_quoted(listed)}"
    ranks = _ranks(sender, targets, what)
    command = listed[0] if single else "{" + ", ".join(f"{n!r}: {n}" for n in listed) + "}"
    records = _queue(sender, command, ranks, None, block, what, origin)
    return _settle(sender, records, _values_by_rank(what), block)


def scatter(sender: Sender, name: str, sequence: Any, targets=None, block: bool = True,
            origin: str | None = None):
    """Bind `name` on each target to its part of `sequence` (split along the first axis, the
    first parts one longer when it does not divide evenly); returns the responses."""
    [name] = _check_names([name], "scatter")
    what = f"scatter of {name!r}"
    ranks = _ranks(sender, targets, what)
    parts = split(sequence, len(ranks), what)
    records = [record for index, (rank, part) in enumerate(zip(ranks, parts))
               for record in _queue(sender, f"pass  # scatter: {name}, part {index + 1} of {len(ranks)}",
                                    [rank], {name: part}, block, what, origin)]
    return _settle(sender, records, _responses(what), block)


def gather(sender: Sender, name: str, targets=None, block: bool = True, origin: str | None = None):
    """The parts of `name` on the targets joined in server order (what `scatter` split)."""
    [name] = _check_names([name], "gather")
    what = f"gather of {name!r}"
    ranks = _ranks(sender, targets, what)
    records = _queue(sender, name, ranks, None, block, what, origin)
    pulled = _values_by_rank(what)
    return _settle(sender, records, lambda outcomes: join(list(pulled(outcomes).items()), what), block)


def split(sequence: Any, count: int, what: str = "scatter") -> list:
    """`count` contiguous parts of `sequence`; an array is split along its first axis."""
    if hasattr(sequence, "ndim") and hasattr(sequence, "shape"):
        if sequence.ndim == 0:
            raise TypeError(f"{what}: a 0-d array has no first axis to split")
        import numpy
        return numpy.array_split(sequence, count)
    try:
        length = len(sequence)
        sequence[0:0]
    except TypeError:
        raise TypeError(f"{what}: a {type(sequence).__name__} cannot be split; give a list, tuple, "
                        f"string or array") from None
    size, extra = divmod(length, count)
    bounds = [index * size + min(index, extra) for index in range(count + 1)]
    return [sequence[start:end] for start, end in zip(bounds, bounds[1:])]


def join(parts: list[tuple[int, Any]], what: str = "gather") -> Any:
    """The `(rank, part)` parts joined into one: arrays concatenated along the first axis,
    lists, tuples and strings added up."""
    values = [part for _, part in parts]
    if any(hasattr(value, "ndim") and hasattr(value, "shape") for value in values):
        import numpy
        return numpy.concatenate(values)
    for kind in (list, tuple, str):
        if all(isinstance(value, kind) for value in values):
            return kind().join(values) if kind is str else sum(values, kind())
    held = ", ".join(f"server {rank} holds a {type(part).__name__}" for rank, part in parts)
    raise DataMoveError(f"{what}: the parts cannot be joined ({held}); lists, tuples, strings "
                        f"or arrays can")


def _check_names(names: list, what: str) -> list[str]:
    if not names:
        raise ValueError(f"{what} needs at least one variable name")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{what}: variable name {name!r} is not a Python identifier")
    return names


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _ranks(sender: Sender, targets, what: str) -> list[int]:
    """The target ranks, sorted: None or 'all' is every server not lost."""
    if targets is None or targets == "all":
        ranks = sender.available_servers()
        if not ranks:
            raise RuntimeError(f"{what}: no server is available, all servers are lost")
        return ranks
    if isinstance(targets, (list, tuple)) and not targets:
        raise ValueError(f"{what} to no server: targets is empty")
    listed = list(targets) if isinstance(targets, (list, tuple)) else [targets]
    for rank in listed:
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError(f"{what}: targets must be None, 'all', a server rank or a list of ranks; "
                            f"got {type(rank).__name__} {rank!r}")
    return sorted(set(listed))


def _queue(sender: Sender, command: str, ranks: list[int], parameters: dict | None,
           block: bool, what: str, origin: str | None) -> list[Queued]:
    """Queue one push of `command` to `ranks`; a refused argument names the move."""
    try:
        return sender.push(command=command, target=ranks, parameters=parameters, block=block, direct=block,
                           origin=origin)
    except (TypeError, ValueError) as exc:
        where = f"server {ranks[0]}" if len(ranks) == 1 else f"servers {', '.join(map(str, ranks))}"
        raise type(exc)(f"{what} on {where}: {exc}") from None


def _settle(sender: Sender, records: list[Queued],
            conclude: Callable[[list[tuple[dict, Any]]], Any], block: bool):
    """Wait for (or return a future of) `conclude` of every `(response, value)`, in record order.

    Each value is taken as its future resolves, before the client's result budget can drop it."""
    future: Future = Future()

    def concluded(outcomes: Future) -> None:
        try:
            future.set_result(conclude(outcomes.result()))
        except Exception as exc:  # noqa: BLE001 - the caller gets it from the future
            future.set_exception(exc)

    when_all([record.future for record in records], take=_response_and_value).add_done_callback(concluded)
    if not block:
        return future
    sender.wait(future)
    return future.result()


def _response_and_value(future: Future) -> tuple[dict, Any]:
    response = future.result()
    return response, response["ret"]


def _check_outcomes(outcomes: list[tuple[dict, Any]], what: str) -> None:
    for response, _ in outcomes:
        if not response["successful"]:
            lines = (response["traceback"] or "").strip().splitlines()
            reason = lines[-1] if lines else response["status"]
            outcome = "failed" if response["status"] == "failed" else f"was {response['status']}"
            raise DataMoveError(f"{what} on server {response['server']} {outcome}: {reason}")


def _responses(what: str) -> Callable:
    def conclude(outcomes):
        _check_outcomes(outcomes, what)
        return [response for response, _ in outcomes]
    return conclude


def _values_by_rank(what: str) -> Callable:
    def conclude(outcomes):
        _check_outcomes(outcomes, what)
        return {response["server"]: value for response, value in outcomes}
    return conclude
