"""`RemoteFrontend`: a frontend of a session in another process, over the frontend link.

It reaches the session through its endpoint (`core.frontends.endpoints`: the session's socket on
this machine, or ssh to a bridge on another), gets a snapshot and then the numbered events, and
sends requests as frames (`core.wire.link`). When the link drops (ssh killed, a link silent for
`DEAD_AFTER`) it says 'down: REASON' at once, keeps what it has, and reconnects with growing
pauses, asking for the events after the last number it saw: the session answers from its
journal, or with a fresh snapshot when the journal no longer goes back that far. Nothing is lost
and nothing comes twice; a command's future resolves whenever its response comes, before or
after a reconnect. A session found gone meanwhile ends the frontend: 'ended: REASON', naming
its session log (`session_log()` reads it, from the session's machine).

Every callback runs on the link's reader thread, in order; they must be quick.
"""
from __future__ import annotations

import collections
import itertools
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from core import __version__
from core.events import CommandFinished
from core.frontends import sealed
from core.frontends.connection_files import ConnectionFile
from core.frontends.endpoints import SessionGoneError, endpoint_for
from core.frontends.frontend import Numbered
from core.frontends.requests import FutureRequests, Request
from core.frontends.model import SessionEnded, SessionInfo, SessionSnapshot
from core.wire.blobs import Packed
from core.wire.link import Frame, Link, LinkClosedError, LinkError, RefusedError

_log = logging.getLogger("mpipanel.session")

CONNECT_TIMEOUT = 10.0
RETRY_FIRST = 0.1
RETRY_MAX = 5.0
"""Seconds between two attempts to reconnect: from the first, doubling up to the last."""
RECENT_RESPONSES = 4096
"""Responses kept for futures whose command's id comes after its response (a busy link)."""
REPLY_OPENS = {Request.RESPONSE: sealed.open_response}
"""Answers that carry the user's values sealed on their own (see `listener.REPLY_SEALS`)."""


def default_label() -> str:
    return f"attached:{socket.gethostname()}:{os.getpid()}"


def _targets_count(target: int | list[int] | None) -> int:
    """The commands a push to `target` makes (the session refuses a target it cannot take)."""
    return len(target) if isinstance(target, (list, tuple)) else 1


class RemoteCommandFuture(Future):
    """The future of a command sent over a link: its response, once the feed brings it.
    `command_id` is None until the session has said it (a round trip); `numbered()` waits for it."""

    def __init__(self, frontend: RemoteFrontend):
        super().__init__()
        self.command_id: int | None = None
        self._frontend = frontend
        self._numbering: Future = Future()

    def numbered(self, timeout: float | None = None) -> int:
        """The command's id once the session has numbered it, waiting up to `timeout` seconds
        (TimeoutError); raises what the session refused the command with (ValueError,
        TypeError), or ConnectionError when the link dropped before the answer."""
        return self._numbering.result(timeout)

    def _number(self, command_id: int | None, error: BaseException | None) -> None:
        """The session's answer: the command's id, or why it refused it."""
        if error is not None:
            self._numbering.set_exception(error)
            self.set_exception(error)
        else:
            self.command_id = command_id
            self._numbering.set_result(command_id)

    def cancel(self) -> bool:
        """Cancel the command if it has not started (as `CommandFuture.cancel`); the future
        itself resolves with the 'cancelled' response. Called before the session has numbered
        the command, the cancel goes out once it has."""
        if not self.done():
            self._numbering.add_done_callback(self._cancel_numbered)
        return False

    def _cancel_numbered(self, numbering: Future) -> None:
        if numbering.exception() is None and not self.done():
            self._frontend.cancel([numbering.result()])


class RemoteFrontend(FutureRequests):
    """A `core.frontends.frontend.SessionFrontend` over a link to a session of another process.

    `target`: a session id (or its unique start), a connection file's path, a `ConnectionFile`,
    None for the only session running here, or `ssh://[user@]host[:port][/SESSION_ID]` for one
    on another machine (`remote_python`, `ssh`: see `core.frontends.ssh`). `kind`: 'window',
    'program' or 'notebook'. ValueError when the target names no session."""

    def __init__(self, target: str | os.PathLike | ConnectionFile | None = None, label: str | None = None,
                 kind: str = "program", remote_python: str | None = None, ssh: str | list[str] | None = None):
        self.endpoint = endpoint_for(target, remote_python, ssh)
        self.label = label or default_label()
        self.kind = kind
        self.info: SessionInfo | None = None
        """The session's facts, once its first snapshot came."""
        self.state = "new"
        """'up', 'down: REASON', 'ended: REASON' or 'detached'."""
        self._link: Link | None = None
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._pending: dict[int, tuple[Future, Request]] = {}
        self._awaiting: dict[int, list[Future]] = {}
        self._recent: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self._last_seq: int | None = None
        self._leaving = threading.Event()
        self._on_snapshot: Callable[[SessionSnapshot], None] = _ignore
        self._on_events: Callable[[Numbered], None] = _ignore
        self._on_link: Callable[[str], None] = _ignore
        self._frames = {Frame.SNAPSHOT: self._got_snapshot, Frame.EVENTS: self._got_events,
                        Frame.REPLY: self._got_reply, Frame.HEARTBEAT: _ignore, Frame.ENDED: self._got_ended}
        self._thread: threading.Thread | None = None

    # ----- the link -----------------------------------------------------------------------
    @property
    def session(self) -> str:
        """The session's id (over ssh without one, what the first hand-shake said)."""
        return self.endpoint.session or str(self.endpoint)

    def open(self, on_snapshot: Callable[[SessionSnapshot], None], on_events: Callable[[Numbered], None],
             on_link: Callable[[str], None] | None = None) -> None:
        """Connect now (raising RefusedError, `SessionGoneError` among them, LinkError or OSError,
        `core.frontends.ssh.SshError` among them, when the session cannot be reached), then feed
        the callbacks on the link's thread."""
        self._on_snapshot, self._on_events = on_snapshot, on_events
        self._on_link = on_link or _ignore
        link = self._connect()
        self._set_state("up")
        self._thread = threading.Thread(target=self._serve, args=(link,), daemon=True,
                                        name=f"mpipanel-attached-{self.session}")
        self._thread.start()

    def _hello(self) -> dict[str, Any]:
        return {"mpipanel": __version__, "label": self.label, "kind": self.kind, "resume_after": self._last_seq}

    def _connect(self) -> Link:
        stream, _answer = self.endpoint.connect(self._hello())
        link = Link(stream, f"session-{self.session}")
        with self._lock:
            self._link = link
        return link

    def _serve(self, link: Link) -> None:
        """Read frames; after a drop, reconnect until the session is gone or this leaves."""
        while True:
            reason = self._read(link)
            if reason is None or self._leaving.is_set():
                return
            self._lost(f"down: {reason}")
            link = self._reconnect()
            if link is None:
                return
            self._set_state("up")

    def _read(self, link: Link) -> str | None:
        """Dispatch frames until the link ends; why it ended, or None when it ended for good."""
        while True:
            try:
                kind, payload = link.receive()
            except LinkClosedError as exc:
                return None if self._leaving.is_set() or self.state.startswith("ended") else str(exc)
            except LinkError as exc:
                link.close()
                return str(exc)
            handler = self._frames.get(kind)
            if handler is None:
                link.close()
                return f"the session sent a {kind.name} frame, which only a frontend sends"
            handler(payload)
            if self.state.startswith("ended"):
                link.close()
                return None

    def _reconnect(self) -> Link | None:
        delay = RETRY_FIRST
        while not self._leaving.wait(delay):
            delay = min(2 * delay, RETRY_MAX)
            gone = self.endpoint.gone()
            if gone is not None:
                self._end(self._with_log(gone))
                return None
            try:
                return self._connect()
            except SessionGoneError as exc:
                self._end(self._with_log(f"while this frontend was away: {exc}"))
                return None
            except RefusedError as exc:
                if not exc.answer.get("retry"):
                    self._end(f"the session refused to take this frontend back: {exc}")
                    return None
                self._still_down(str(exc))
            except (LinkError, OSError) as exc:
                self._still_down(str(exc))
        return None

    def _still_down(self, reason: str) -> None:
        """Another try failed: say why, when it says something new (ssh's reason, the bridge's)."""
        _log.debug("reconnecting to %s: %s", self.endpoint, reason)
        if self.state != f"down: {reason}":
            self._set_state(f"down: {reason}")

    def _with_log(self, reason: str) -> str:
        """`reason`, naming the session's log when it is known (the window offers to open it)."""
        path = self.info.session_log_path if self.info is not None else None
        return f"{reason}; its session log: {path}" if path and "session log" not in reason else reason

    def session_log(self, path: str | None = None) -> str:
        """The text of the session's log (`path`, else the one its snapshot named), read on the
        session's machine: through ssh for a session on another one. Blocks; OSError or
        RefusedError saying why it cannot be read."""
        path = path or (self.info.session_log_path if self.info is not None else None)
        if path is None:
            raise ValueError(f"session {self.session} named no session log")
        return self.endpoint.read_session_log(path, self._hello())

    def _set_state(self, state: str) -> None:
        self.state = state
        self._on_link(state)

    def _lost(self, state: str) -> None:
        """The link is gone: fail the requests waiting for an answer (the commands' futures wait
        on), but for a stop of a session that has ended, which is done."""
        with self._lock:  # one step: whoever finds no link finds the state that says why
            self._link = None
            self.state = state
            pending, self._pending = self._pending, {}
        for future, request in pending.values():
            if request is Request.STOP_SESSION and state.startswith("ended"):
                future.set_result(None)
            else:
                future.set_exception(ConnectionError(f"the link to session {self.session} dropped before "
                                                     f"the answer to {request.value} came (it may have run)"))
        self._on_link(state)

    def _end(self, reason: str) -> None:
        """The session is over: fail whatever still waits."""
        self._lost(f"ended: {reason}")
        with self._lock:
            awaiting, self._awaiting = self._awaiting, {}
        for futures in awaiting.values():
            for future in futures:
                future.set_exception(ConnectionError(f"session {self.session} ended ({reason}) before "
                                                     f"this command's response came"))

    # ----- frames from the session ----------------------------------------------------------
    def _got_snapshot(self, snapshot: SessionSnapshot) -> None:
        snapshot = sealed.open_snapshot(snapshot)
        self.info = snapshot.info
        self._last_seq = snapshot.seq
        for entry in snapshot.history:
            if entry.response is not None:
                self._finished(entry.response)
        self._on_snapshot(snapshot)

    def _got_events(self, batch: Numbered) -> None:
        batch = sealed.open_events(batch)
        self._last_seq = max(self._last_seq or 0, max(seq for seq, _ in batch))
        ended = [event.reason for _, event in batch if isinstance(event, SessionEnded)]
        if ended:
            self.state = f"ended: {ended[-1]}"  # before the replica says so (`on_link` hears it below)
        self._on_events(batch)
        for _, event in batch:
            if isinstance(event, CommandFinished):
                self._finished(event.response)
        if ended:
            self._end(ended[-1])

    def _finished(self, response: dict[str, Any]) -> None:
        with self._lock:
            self._recent[response["id"]] = response
            while len(self._recent) > RECENT_RESPONSES:
                self._recent.popitem(last=False)
            futures = self._awaiting.pop(response["id"], ())
        for future in futures:
            future.set_result(response)

    def _got_reply(self, payload: tuple[int, bool, Packed]) -> None:
        number, raised, packed = payload
        with self._lock:
            future, request = self._pending.pop(number, (None, None))
        if future is None:
            return
        try:
            value = packed.unpack()
        except Exception as exc:  # noqa: BLE001 - whatever unpickling the user's value raises
            future.set_exception(RuntimeError(f"the answer to {request.value} cannot be rebuilt here: "
                                              f"{type(exc).__name__}: {exc}"))
            return
        if raised:
            future.set_exception(value if isinstance(value, BaseException) else RuntimeError(str(value)))
        else:
            opened = REPLY_OPENS.get(request)
            future.set_result(opened(value) if opened is not None else value)

    def _got_ended(self, reason: str) -> None:
        """The session's last word (its `SessionEnded` came before, unless it ended at once)."""
        if not self.state.startswith("ended"):
            self._end(str(reason))

    # ----- requests -----------------------------------------------------------------------
    def _ask(self, request: Request, *args, **kwargs) -> Future:
        """Send a request; the future of its answer. Fails at once when the link is down."""
        future: Future = Future()
        packed = Packed((args, kwargs))
        with self._lock:
            link = self._link
            if link is not None:
                number = next(self._numbers)
                self._pending[number] = (future, request)
        if link is None:
            future.set_exception(ConnectionError(f"not connected to session {self.session} ({self.state})"))
        else:
            link.post(Frame.REQUEST, (number, request.value, packed))
        return future

    def _command_futures(self, ids: Future, count: int) -> list[RemoteCommandFuture]:
        """Futures of the `count` commands whose ids `ids` brings, resolved by the feed."""
        futures = [RemoteCommandFuture(self) for _ in range(count)]

        def assign(done: Future) -> None:
            error = done.exception()
            for index, future in enumerate(futures):
                future._number(None if error else done.result()[index], error)
                if error is not None:
                    continue
                with self._lock:
                    response = self._recent.get(future.command_id)
                    if response is None:
                        self._awaiting.setdefault(future.command_id, []).append(future)
                if response is not None:
                    future.set_result(response)

        ids.add_done_callback(assign)
        return futures

    def submit_with_ids(self, command: str, target: int | list[int] | None, parameters: dict[str, Any] | None = None,
                        origin: str | None = None, shown: str | None = None, *, timeout: float | None = None,
                        retries: int = 0) -> tuple[Future, list[Future]]:
        """`submit`, and the future of the commands' ids (a round trip away)."""
        ids = self._ask(Request.SUBMIT, command, target, parameters, origin, shown, timeout, retries)
        return ids, self._command_futures(ids, _targets_count(target))

    def submit(self, command: str, target: int | list[int] | None, parameters: dict[str, Any] | None = None,
               origin: str | None = None, shown: str | None = None, *, timeout: float | None = None,
               retries: int = 0) -> list[Future]:
        return self.submit_with_ids(command, target, parameters, origin, shown, timeout=timeout, retries=retries)[1]

    def run_script(self, path: str, args: list[str]) -> Future:
        return self._command_futures(self._ask(Request.RUN_SCRIPT, str(path), [str(a) for a in args]), 1)[0]

    def interrupt(self, command_ids: list[int]) -> Future:
        """Over a link, the future of the session's answer (None, or why it refused)."""
        return self._ask(Request.INTERRUPT, list(command_ids))

    def interrupt_server(self, rank: int) -> Future:
        return self._ask(Request.INTERRUPT_SERVER, rank)

    def cancel(self, command_ids: list[int]) -> Future:
        return self._ask(Request.CANCEL, list(command_ids))

    def detach(self) -> None:
        """Leave the session running; the link closes once the DETACH frame is out."""
        self._leaving.set()
        with self._lock:
            link = self._link
        if link is not None:
            link.post(Frame.DETACH)
            link.finish()
        self._lost("detached")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CONNECT_TIMEOUT)


def _ignore(*_args: Any) -> None:
    """A frame or a callback with nothing to do."""
