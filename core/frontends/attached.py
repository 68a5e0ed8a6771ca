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

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from core.events import Event
from core.frontends.connection_files import ConnectionFile
from core.frontends.remote import CONNECT_TIMEOUT, RemoteFrontend
from core.frontends.replica import Replica
from core.frontends.frontend import Numbered
from core.frontends.model import SessionInfo, SessionModel, SessionSnapshot

_log = logging.getLogger("mpipanel.session")


def attach(target: str | os.PathLike | ConnectionFile | None = None, label: str | None = None,
           kind: str = "program") -> AttachedClient:
    """An `AttachedClient` on a running session of this user on this machine: `target` is its id
    (or the start of it), its connection file, or None for the only one running; `label` the
    origin of its commands (default `attached:HOST:PID`); `kind` 'program' or 'notebook'. Raises
    ValueError when no such session runs, `core.wire.link.RefusedError` when it refuses."""
    return AttachedClient(target, label, kind)


class AttachedClient:
    def __init__(self, target: str | os.PathLike | ConnectionFile | None = None, label: str | None = None,
                 kind: str = "program", timeout: float = CONNECT_TIMEOUT):
        self.frontend = RemoteFrontend(target, label, kind)
        self.replica = Replica()
        self._subscribers: list[Callable[[Event], None]] = []
        self._watchers: list[tuple[list[int], threading.Event]] = []
        self._watch_lock = threading.Lock()
        self._issued: set[int] = set()
        self.frontend.open(self._on_snapshot, self._on_events)
        if not self.replica.wait_for(lambda model: True, timeout):
            self.frontend.detach()
            raise TimeoutError(f"session {self.frontend.entry.session} sent no snapshot within {timeout:g} s")

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
        self._check_watchers()

    def _on_events(self, batch: Numbered) -> None:
        self.replica.on_events(batch)
        for _, event in batch:
            for subscriber in self._subscribers:
                try:
                    subscriber(event)
                except Exception:  # noqa: BLE001 - one bad subscriber must not stop the rest
                    _log.exception("event subscriber %r failed", subscriber)
        self._check_watchers()

    def _check_watchers(self) -> None:
        with self._watch_lock:
            if not self._watchers:
                return
            done = self.replica.read(lambda model: [(ids, event) for ids, event in self._watchers
                                                    if _all_finished(model, ids)])
            for watcher in done:
                self._watchers.remove(watcher)
        for _, event in done:
            event.set()

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
                             parameters: dict[str, Any] | None = None):
        """As `MPICommandClient.push_command_request`: the command ids, or with `block` the
        responses (results whole)."""
        ids, futures = self.frontend.submit_with_ids(command, _as_list(target_server), parameters)
        issued = ids.result()
        self._issued.update(issued)
        if not block:
            return issued
        return [self._whole(future.result()) for future in futures]

    def get_command_response(self, command_request_id_list, block: bool = False,
                             timeout: float | None = None) -> list[dict[str, Any]]:
        """Responses for the ids (nested lists allowed): all of them when blocking (TimeoutError
        after `timeout`), else those that are done, in the order asked."""
        ids = self._known(command_request_id_list)
        if block and not self.replica.wait_for(lambda model: _all_finished(model, ids), timeout):
            raise TimeoutError(f"commands {self._unfinished(ids)} still pending after {timeout:g} s")
        responses = self.replica.read(lambda model: [_response(model, i) for i in ids])
        return [self._whole(response) for response in responses if response is not None]

    def get_command_response_list(self) -> dict[int, dict[str, Any]]:
        """Every response of the session so far, by id (casampi's `get_command_response_list`)."""
        responses = self.replica.read(lambda model: [e.response for e in model.history.values()
                                                     if e.response is not None])
        return {response["id"]: self._whole(response) for response in responses}

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        """A `threading.Event` set once every listed command has its response."""
        ids = self._known(command_request_id_list)
        event = threading.Event()
        with self._watch_lock:
            self._watchers.append((ids, event))
        self._check_watchers()
        return event

    def _whole(self, response: dict[str, Any]) -> dict[str, Any]:
        """The response with its result, fetched when the link sent only a summary of it."""
        dropped = response.get("ret_dropped")
        if dropped is None or dropped.get("reason") != "link":
            return response
        return self.frontend.response(response["id"]).result()

    def _known(self, ids) -> list[int]:
        listed = list(command_ids(ids))
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
        return self.frontend.purge_results(None if ids is None else list(command_ids(ids))).result()

    def save_session(self, path: str | os.PathLike, only_successful: bool = False,
                     include_interrupted_cancelled: bool = True):
        """Write the session as a replayable script here, on this machine; its path."""
        from pathlib import Path
        path = Path(path)
        path.write_text(self.frontend.session_script(only_successful, include_interrupted_cancelled,
                                                     path.name).result(), encoding="utf-8")
        return path

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


def _response(model: SessionModel, command_id: int) -> dict[str, Any] | None:
    entry = model.history.get(command_id)
    return entry.response if entry is not None else None


def _all_finished(model: SessionModel, ids: Iterable[int]) -> bool:
    return all(_response(model, i) is not None for i in ids)


def _as_list(target_server) -> list[int] | None:
    if target_server is None or isinstance(target_server, list):
        return target_server
    return list(target_server) if isinstance(target_server, tuple) else [target_server]


def command_ids(ids) -> Iterable[int]:
    """The ids in `ids`: an id, or nested lists of them (as mpi4casa takes them). Issue 20 makes
    this `core.futures.command_ids`, shared with the client."""
    if isinstance(ids, (list, tuple)):
        for item in ids:
            yield from command_ids(item)
    elif isinstance(ids, bool) or not isinstance(ids, int):
        raise TypeError(f"command ids are ints (or nested lists of them), not {type(ids).__name__}")
    else:
        yield ids
