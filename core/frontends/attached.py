"""`AttachedClient`: the native client API on a session that runs in another process.

    import core
    with core.attach("3f2a9c1e") as client:        # a session id, a connection file, or None
        client.push_command_request("x = 42", target_server=1)
        [response] = client.push_command_request("x", block=True, target_server=1)

A script, a notebook or a test works on a running session (`python -m core --serve`, a program
run with `--listen`, an `mpipanel` window) as on a client of its own: the same calls, the same
response dicts, with full results (a result the link summarised is fetched whole when asked for).
Its commands are recorded with its origin (`attached:HOST:PID`). `detach()` (or leaving the
`with` block) leaves the session running; `stop_services()` ends it, for every frontend.

It keeps a replica of the session's model (`core.frontends.replica`), fed by its link: statuses,
history and responses are read from there, without a round trip.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple

from core.client import data_moves
from core.events import Event, notify
from core.futures import command_ids, done_future, when_all
from core.frontends.connection_files import ConnectionFile
from core.frontends.remote import CONNECT_TIMEOUT, RemoteCommandFuture, RemoteFrontend
from core.frontends.replica import Replica
from core.frontends.frontend import Numbered
from core.frontends.model import SessionInfo, SessionModel, SessionSnapshot

def attach(target: str | os.PathLike | ConnectionFile | None = None, label: str | None = None,
           kind: str = "program", remote_python: str | None = None,
           ssh: str | list[str] | None = None) -> AttachedClient:
    """An `AttachedClient` on a running session of this user: `target` is its id (or the start of
    it), its connection file, or None for the only one running on this machine; or
    `ssh://[user@]host[:port][/SESSION_ID]` for one on another machine, reached with the user's
    ssh (`remote_python`: the far side's interpreter, default `$MPIPANEL_REMOTE_PYTHON` or python3;
    `ssh`: the ssh command, default `$MPIPANEL_SSH` or ssh). `label` is the origin of its commands
    (default `attached:HOST:PID`); `kind` 'program' or 'notebook'. Raises ValueError when no such
    session runs here, `core.frontends.ssh.SshError` (a ConnectionError) saying why ssh could not
    reach it, `core.wire.link.RefusedError` when it refuses (`core.frontends.endpoints.SessionGoneError`
    when it is not there)."""
    return AttachedClient(target, label, kind, remote_python=remote_python, ssh=ssh)


class AttachedClient:
    def __init__(self, target: str | os.PathLike | ConnectionFile | None = None, label: str | None = None,
                 kind: str = "program", timeout: float = CONNECT_TIMEOUT, remote_python: str | None = None,
                 ssh: str | list[str] | None = None):
        self.frontend = RemoteFrontend(target, label, kind, remote_python=remote_python, ssh=ssh)
        self.replica = Replica()
        self._subscribers: list[Callable[[Event], None]] = []
        self._waiting: dict[int, list[Future]] = {}
        """The futures of responses not yet in the replica, by command id (`_response_futures`)."""
        self._waiting_lock = threading.Lock()
        self._issued: set[int] = set()
        self._link_watchers: list[Callable[[str], None]] = []
        self._moves = _Moves(self)
        self.frontend.open(self._on_snapshot, self._on_events, self._on_link)
        if not self.replica.wait_for(lambda model: True, timeout):
            self.frontend.detach()
            raise TimeoutError(f"session {self.frontend.session} sent no snapshot within {timeout:g} s")

    @property
    def info(self) -> SessionInfo:
        return self.replica.model.info

    @property
    def session_id(self) -> str:
        return self.info.session_id

    @property
    def link_state(self) -> str:
        """'up', 'down: REASON' (reconnecting), 'ended: REASON' or 'detached'."""
        return self.frontend.state

    # ----- the feed (the link's thread) -----------------------------------------------------
    def _on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.replica.on_snapshot(snapshot)
        self._settle()

    def _on_events(self, batch: Numbered) -> None:
        self.replica.on_events(batch)
        for _, event in batch:
            notify(self._subscribers, event)
        self._settle()

    def _on_link(self, state: str) -> None:
        for watcher in self._link_watchers:
            watcher(state)

    def watch_link(self, callback: Callable[[str], None]) -> None:
        """Call `callback` with each new link state ('down: REASON' the moment the link drops,
        'up' once it is back, 'ended: REASON'), on the link's thread."""
        self._link_watchers = [*self._link_watchers, callback]

    def _settle(self) -> None:
        """Resolve the waiting futures whose responses the replica now has (on the link's thread)."""
        with self._waiting_lock:
            if not self._waiting:
                return
            arrived = self.replica.read(lambda model: {command_id: response for command_id in self._waiting
                                                       if (response := _response(model, command_id)) is not None})
            settled = [(self._waiting.pop(command_id), response) for command_id, response in arrived.items()]
        for futures, response in settled:
            for future in futures:
                future.set_result(response)

    def _response_futures(self, ids: list[int]) -> list[Future]:
        """A future of each command's response as the replica gets it (its result as the link
        sent it: see `_fetched`); those not there yet resolve on the link's thread (`_settle`)."""
        futures = []
        with self._waiting_lock:
            responses = self.replica.read(lambda model: [_response(model, command_id) for command_id in ids])
            for command_id, response in zip(ids, responses):
                future: Future = Future()
                if response is None:
                    self._waiting.setdefault(command_id, []).append(future)
                else:
                    future.set_result(response)
                futures.append(future)
        return futures

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Deliver every event of the session (`core.events`, and the session's own:
        `core.frontends.model.LoadSampled`...) to `callback`, on the link's thread; returns a
        function that stops it."""
        self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    # ----- commands ---------------------------------------------------------------------------
    def push_command_request(self, command: str, block: bool = False, target_server=None,
                             parameters: dict[str, Any] | None = None, *, origin: str | None = None,
                             shown: str | None = None):
        """As `MPICommandClient.push_command_request`: the command ids, or with `block` the
        responses (results whole). `origin` is recorded with it (default: this client's label),
        `shown` is the text histories show for it instead of `command`."""
        ids, futures = self.frontend.submit_with_ids(command, target_server, parameters, origin, shown)
        issued = ids.result()
        self._issued.update(issued)
        if not block:
            return issued
        return when_all([self._whole_future(future) for future in futures]).result()

    def submit(self, command: str, target=None, parameters: dict[str, Any] | None = None, *,
               origin: str | None = None, shown: str | None = None, timeout: float | None = None,
               retries: int = 0):
        """As `MPICommandClient.submit`: a future of the response (a list of them for a list of
        targets), its result whole; it never waits, not even for the session to number the command."""
        ids, futures = self.frontend.submit_with_ids(command, target, parameters, origin, shown, timeout=timeout,
                                                     retries=retries)
        ids.add_done_callback(self._note_issued)
        whole = [self._whole_future(future) for future in futures]
        return whole if isinstance(target, (list, tuple)) else whole[0]

    def get_command_response(self, command_request_id_list, block: bool = False,
                             timeout: float | None = None) -> list[dict[str, Any]]:
        """Responses for the ids (nested lists allowed): all of them when blocking (TimeoutError
        after `timeout`), else those that are done, in the order asked."""
        ids = self._known(command_request_id_list)
        if not block:
            responses = self.replica.read(lambda model: [_response(model, i) for i in ids])
            return self._whole_all([response for response in responses if response is not None])
        try:
            return self._whole_all(when_all(self._response_futures(ids)).result(timeout))
        except TimeoutError:
            raise TimeoutError(f"commands {self._unfinished(ids)} still pending after {timeout:g} s") from None

    def get_command_response_list(self) -> dict[int, dict[str, Any]]:
        """Every response of the session so far, by id (casampi's `get_command_response_list`)."""
        responses = self.replica.read(lambda model: [e.response for e in model.history.values()
                                                     if e.response is not None])
        return {response["id"]: response for response in self._whole_all(responses)}

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        """A `threading.Event` set once every listed command has its response."""
        event = threading.Event()
        when_all(self._response_futures(self._known(command_request_id_list))).add_done_callback(
            lambda _all: event.set())
        return event

    def _note_issued(self, ids: Future) -> None:
        """Once the session has numbered commands of this client's, their ids are known here (`_known`)."""
        if ids.exception() is None:
            self._issued.update(ids.result())

    def _fetched(self, response: dict[str, Any]) -> Future:
        """A future of `response` with its result: fetched when the link sent only a summary of it."""
        dropped = response.get("ret_dropped")
        if dropped is not None and dropped.get("reason") == "link":
            return self.frontend.response(response["id"])
        return done_future(response)

    def _whole_future(self, future: RemoteCommandFuture) -> AttachedCommandFuture:
        """A future of the response of `future` with its result (`_fetched`); it never blocks the
        link's thread, which resolves both."""
        whole = AttachedCommandFuture(future)

        def done(_future: Future) -> None:
            if future.exception() is not None:
                whole.set_exception(future.exception())
            else:
                self._fetched(future.result()).add_done_callback(lambda fetched: _pass_on(fetched, whole))

        future.add_done_callback(done)
        return whole

    def _whole_all(self, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The responses with their results, those the link summarised fetched at once."""
        return when_all([self._fetched(response) for response in responses]).result()

    def _known(self, ids) -> list[int]:
        listed = command_ids(ids)
        known = self.replica.read(lambda model: set(model.history))
        unknown = [i for i in listed if i not in known and i not in self._issued]
        if unknown:
            raise ValueError(f"unknown command id {unknown[0]!r}")
        return listed

    def _unfinished(self, ids: list[int]) -> list[int]:
        return self.replica.read(lambda model: [i for i in ids if _response(model, i) is None])

    def interrupt(self, command_request_id_list=None, *, server: int | None = None) -> None:
        """Raise KeyboardInterrupt in running commands: the listed ones, or whatever `server` runs."""
        if server is not None:
            self.frontend.interrupt_server(server).result()
        else:
            self.frontend.interrupt(self._known(command_request_id_list)).result()

    def cancel(self, command_request_id_list) -> None:
        """Cancel commands that have not started; their response has status 'cancelled'."""
        self.frontend.cancel(self._known(command_request_id_list)).result()

    def restart_server(self, rank: int) -> Future:
        """A fresh namespace for server `rank`; the future of its status once it is ready."""
        return self.frontend.restart_server(rank)

    # ----- data (`core.client.data_moves`, the client's own logic) -------------------------------
    def push(self, variables: dict[str, Any], targets=None, block: bool = True):
        """Bind `variables` on the targets (None or 'all': every server); the responses
        (`MPICommandClient.push`). Raises DataMoveError naming a server where it failed."""
        return data_moves.push(self._moves, variables, targets, block)

    def pull(self, names: str | list[str], targets=None, block: bool = True):
        """`{rank: value}` of one name on the targets, or `{rank: {name: value}}` for a list."""
        return data_moves.pull(self._moves, names, targets, block)

    def scatter(self, name: str, sequence, targets=None, block: bool = True):
        """Split `sequence` into one part per target and bind `name` to it there, in server order."""
        return data_moves.scatter(self._moves, name, sequence, targets, block)

    def gather(self, name: str, targets=None, block: bool = True):
        """Pull `name` from the targets and join the parts in server order."""
        return data_moves.gather(self._moves, name, targets, block)

    # ----- servers and the session ------------------------------------------------------------
    def server_ranks(self) -> list[int]:
        return sorted(self.info.servers)

    def get_server_status(self) -> dict[int, dict[str, Any]]:
        """Per server rank: state, busy, command, pid, processor, timeout, CPU %, RSS ... as the
        session last heard (heartbeats come every second)."""
        ranks = self.server_ranks()
        return self.replica.read(lambda model: {rank: dict(model.servers[rank]) for rank in ranks
                                                if rank in model.servers})

    def purge_results(self, ids=None) -> int:
        return self.frontend.purge_results(None if ids is None else command_ids(ids)).result()

    def save_session(self, path: str | os.PathLike, only_successful: bool = False,
                     include_interrupted_cancelled: bool = True):
        """Write the session as a replayable script here, on this machine; its path."""
        from pathlib import Path
        path = Path(path)
        path.write_text(self.frontend.session_script(only_successful, include_interrupted_cancelled,
                                                     path.name).result(), encoding="utf-8")
        return path

    def session_log(self) -> str:
        """The text of the session's log, read on the session's machine (also once it has ended)."""
        return self.frontend.session_log()

    def read(self, look: Callable[[SessionModel], Any]) -> Any:
        """`look(model)` on this client's replica of the session, with no event applied meanwhile."""
        return self.replica.read(look)

    def detach(self) -> None:
        """Leave; the session goes on."""
        self.frontend.detach()

    def stop_services(self, force_command_request_interruption: bool = True) -> None:
        """End the session: its servers stop (what runs is interrupted), every frontend is told."""
        self.frontend.stop_session().result()
        self.frontend.detach()

    def __enter__(self) -> AttachedClient:
        return self

    def __exit__(self, *exc) -> None:
        self.detach()


class AttachedCommandFuture(Future):
    """A command's future on an attached client: its response, the result whole. `command_id`
    (None until the session has numbered the command) and `cancel()` as a client's `CommandFuture`."""

    def __init__(self, sent: RemoteCommandFuture):
        super().__init__()
        self._sent = sent

    @property
    def command_id(self) -> int | None:
        return self._sent.command_id

    def cancel(self) -> bool:
        """Cancel the command if it has not started; this future resolves with its 'cancelled' response."""
        return self._sent.cancel()


class _Sent(NamedTuple):
    """A command a move sent over the link (`core.client.data_moves.Queued`)."""

    future: Future
    """The command's response, its result whole."""


class _Moves:
    """What a data move needs of a session (`core.client.data_moves.Sender`), over a link: the
    moves' own logic (names, splitting, joining, failures) is the client's, not a copy."""

    def __init__(self, client: AttachedClient):
        self.client = client

    def available_servers(self) -> list[int]:
        return self.client.replica.read(lambda model: [rank for rank in sorted(model.info.servers)
                                                       if model.state_of(rank) != "lost"])

    def push(self, *, command: str, target: list[int], parameters: dict[str, Any] | None, block: bool,
             direct: bool, origin: str | None) -> list[_Sent]:
        """Queue the commands; the session's TypeError or ValueError for what it refuses, as a
        client's push raises them (a round trip)."""
        ids, futures = self.client.frontend.submit_with_ids(command, target, parameters, origin)
        self.client._issued.update(ids.result())
        return [_Sent(self.client._whole_future(future)) for future in futures]

    def wait(self, future: Future) -> None:
        future.result()


def _response(model: SessionModel, command_id: int) -> dict[str, Any] | None:
    entry = model.history.get(command_id)
    return entry.response if entry is not None else None


def _pass_on(source: Future, target: Future) -> None:
    """Give `target` the outcome of `source` (done)."""
    if source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())
