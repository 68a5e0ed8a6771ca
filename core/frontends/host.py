"""`SessionHost`: a running client as its frontends see it: one model, numbered events, requests.

The host lives in the session's own process (rank 0), beside its `MPICommandClient`. It
subscribes to the client's events and applies each to its `SessionModel` under its lock, which
numbers it; it keeps a `Journal` of the recent numbered events and hands them to the `Feed` of
every frontend attached. It adds events of its own: one `LoadSampled` a second, a
`ResultMemoryChanged` soon after results arrive or are let go, and `SessionEnded` when it closes.

What a frontend may ask is one table, `SessionHost.requests`: a `Request` name, the host's
handler, and how the answer comes (`Answer`). The session's own window (`core.frontends.local`)
and every attached frontend (`core.frontends.listener`) go through it alike, so they can do the
same things. No handler waits on MPI: they queue work for the client and answer with futures.

Work for the Client target (code typed for rank 0, scripts) goes to the client-side worker
(`core.console.host.ConsoleHost`), started on first use; its commands are those of
`CLIENT_RANK`, and interrupting, cancelling or restarting them goes to it, not to the servers.

One thread of the host's (`mpipanel-session`) hands the feeds over, posts the load samples and the
result-memory figures; a result that comes alone is handed over at once by the thread that
delivered it. Frontends' callbacks run on those threads and must be quick (re-emit a Qt signal,
queue a frame for a link's writer).
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from core import __version__, environment
from core.console.host import ConsoleHost
from core.environment import MPIEnvironment
from core.events import CLIENT_RANK, CommandFinished, Event, ResultsDropped, ServerStatusChanged
from core.futures import done_future
from core.frontends.feed import Feed
from core.frontends.frontend import Numbered
from core.frontends.journal import Journal
from core.frontends.requests import Answer, Request
from core.frontends.model import (LoadFigures, LoadSampled, ResultMemoryChanged, SessionEnded, SessionEvent,
                                  SessionInfo, SessionModel, SessionSnapshot)

_log = logging.getLogger("mpipanel.session")

LOAD_INTERVAL = 1.0
"""Seconds between two load samples (the load chart's step)."""
MEMORY_INTERVAL = 0.25
"""Result-memory figures are posted at most this often: a thousand results arriving together
make one figure, not a thousand."""
AT_ONCE_WAITING = 4
"""A result is handed over at once by the thread that delivered it when at most this many events
wait in a feed (its own command's queued and started ones, a status): a click's answer does not
wait for the host's thread to wake. More mean a crowd, which goes in batches from there."""
ACTIVITY = {"timeout": 2, "lost": 2}
"""A server's activity in a load sample by its state; any other state: 1 busy, 0 idle."""


@dataclass(frozen=True)
class Asker:
    """Who makes a request, and how it may be served."""

    label: str
    """The origin its commands are recorded with when they give none (see `SessionFrontend.label`)."""
    direct: bool = False
    """The asking thread may send a command itself when the MPI lock is free, a hand-over to the
    progress thread less: a link's reader thread may, a GUI thread must not (it never takes the
    MPI lock, even briefly)."""


@dataclass(frozen=True)
class Handling:
    call: Callable[..., Any]
    """`call(asker, *args, **kwargs)`."""
    answer: Answer


class Subscription:
    """One frontend's feed: its snapshot (if it starts from one), then its numbered events.
    `close()` ends it (the frontend detached); the session goes on."""

    def __init__(self, host: SessionHost, feed: Feed, snapshot: SessionSnapshot | None,
                 on_snapshot: Callable[[SessionSnapshot], None], on_events: Callable[[Numbered], None]):
        self.host = host
        self.feed = feed
        self.snapshot = snapshot
        self.on_snapshot = on_snapshot
        self.on_events = on_events
        self._handing_over = threading.Lock()

    def hand_over(self, now: float, flush: bool = False) -> None:
        """Deliver what is due, in order (see `Feed.take`). Two threads hand over (the host's,
        and the one that delivered a lone result): from the taking to the delivering, a hand-over
        holds this subscription's own lock, so they cannot overtake each other; never the host's
        lock while the frontend's callbacks run."""
        with self._handing_over:
            with self.host._lock:
                snapshot, self.snapshot = self.snapshot, None
                batch = self.feed.take(now, flush)
            try:
                if snapshot is not None:
                    self.on_snapshot(snapshot)
                if batch:
                    self.on_events(batch)
            except Exception:  # noqa: BLE001 - one broken frontend must not stop the others
                _log.exception("a frontend's feed failed; it is detached")
                self.close()

    def due(self, now: float) -> bool:
        """Under the host's lock."""
        return self.snapshot is not None or self.feed.due_in(now) == 0

    def close(self) -> None:
        self.host._drop(self)


class SessionHost:
    """The session of a started client; create it right after `start_services`, before the first
    command (the history starts with it), and `close()` it before the client stops, or end the
    session with `stop(reason)`. `info_kind`: 'window', 'serve' or 'listen' (`SessionInfo.kind`)."""

    def __init__(self, client, info_kind: str = "window", program: str | None = None):
        self.client = client
        log_path = client.session_log_path
        self.info = SessionInfo(
            session_id=secrets.token_hex(4), host=MPIEnvironment.hostname, pid=os.getpid(), started=time.time(),
            version=__version__, launch_mode=client.launch_mode, isolation=client.isolation,
            servers=tuple(client.server_ranks()), kind=info_kind, program=program,
            session_log_path=str(log_path) if log_path is not None else None,
            mpi_library=MPIEnvironment.mpi_library)
        self.model = SessionModel(self.info)
        self.journal = Journal()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._subscriptions: list[Subscription] = []
        self._memory_due: float | None = None
        """When the next result-memory figure is to be posted, if one is."""
        self._memory_posted = 0.0
        self._closing = False
        self.ended = threading.Event()
        """Set once the host has closed (the session ended, or its owner closed it)."""
        self._console: ConsoleHost | None = None
        self._console_lock = threading.Lock()
        self.requests: dict[Request, Handling] = {
            Request.SUBMIT: Handling(self._submit, Answer.COMMANDS),
            Request.RUN_SCRIPT: Handling(self._run_script, Answer.COMMANDS),
            Request.INTERRUPT: Handling(self._interrupt, Answer.VALUE),
            Request.INTERRUPT_SERVER: Handling(self._interrupt_server, Answer.VALUE),
            Request.CANCEL: Handling(self._cancel, Answer.VALUE),
            Request.RESTART_SERVER: Handling(self._restart_server, Answer.FUTURE),
            Request.REQUEST_NAMESPACES: Handling(self._request_namespaces, Answer.FUTURE),
            Request.PULL: Handling(self._pull, Answer.FUTURE),
            Request.PURGE_RESULTS: Handling(self._purge_results, Answer.VALUE),
            Request.SET_RESULT_MEMORY: Handling(self._set_result_memory, Answer.VALUE),
            Request.SESSION_SCRIPT: Handling(self._session_script, Answer.VALUE),
            Request.RESPONSE: Handling(self._response, Answer.FUTURE),
            Request.STOP_SESSION: Handling(self._stop_session, Answer.FUTURE),
        }
        assert set(self.requests) == set(Request), "every request has its handler"
        self._unsubscribe = client.subscribe(self._on_client_event)
        with self._lock:
            for rank, status in client.last_server_status().items():
                if rank not in self.model.servers:  # else an event already said something newer
                    self._record(ServerStatusChanged(rank, status))
            self._record(self._memory_figure())
        self._thread = threading.Thread(target=self._run, name="mpipanel-session", daemon=True)
        self._thread.start()

    # ----- frontends ----------------------------------------------------------------------
    def open_feed(self, on_snapshot: Callable[[SessionSnapshot], None], on_events: Callable[[Numbered], None],
                  resume_after: int | None = None) -> Subscription:
        """A frontend's feed: the events after `resume_after` when the journal still has them all,
        else a snapshot first. The callbacks come in order, never two at once, on the host's
        thread (or the one that delivered a lone result). Raises RuntimeError once it has closed."""
        with self._lock:
            if self._closing:
                raise RuntimeError(f"the session has ended: {self.model.ended.reason}")
            events = self.journal.after(resume_after) if resume_after is not None else None
            if events is None:
                snapshot, after = self.model.snapshot(), self.model.seq
            else:
                snapshot, after = None, resume_after
            feed = Feed(len(self.info.servers), after)
            for seq, event in events or ():
                feed.add(seq, event)
            subscription = Subscription(self, feed, snapshot, on_snapshot, on_events)
            self._subscriptions.append(subscription)
            self._wake.notify()
        return subscription

    def _drop(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def call(self, request: Request, asker: Asker, *args, **kwargs) -> Any:
        """Run a request; what its handler returns (see `Answer`)."""
        return self.requests[request].call(asker, *args, **kwargs)

    # ----- events -------------------------------------------------------------------------
    def _on_client_event(self, event: Event) -> None:
        """On the thread that delivers the client's events; a result that comes alone is handed
        over from here at once (`AT_ONCE_WAITING`)."""
        with self._lock:
            self._record(event)
            finished = isinstance(event, CommandFinished)
            if isinstance(event, ResultsDropped) or (finished and event.response.get("ret_size")):
                self._memory_changed()
            lone = [s for s in self._subscriptions if s.feed.waiting <= AT_ONCE_WAITING] if finished else []
            self._wake.notify()
        for subscription in lone:
            subscription.hand_over(time.monotonic())

    def _record(self, event: SessionEvent) -> None:
        """Apply, number, journal and feed one event; under the lock."""
        seq = self.model.apply(event)
        self.journal.add(seq, event)
        for subscription in self._subscriptions:
            subscription.feed.add(seq, event)

    def _memory_changed(self) -> None:
        if self._memory_due is None:
            self._memory_due = self._memory_posted + MEMORY_INTERVAL

    def _memory_figure(self) -> ResultMemoryChanged:
        return ResultMemoryChanged(self.client.result_memory_used, self.client.result_memory)

    def _sample_load(self) -> LoadSampled:
        return LoadSampled(time.time(), {
            rank: LoadFigures(status["cpu_percent"], status["rss"], status["queue_length"],
                              ACTIVITY.get(status["state"], int(status["busy"])))
            for rank, status in self.model.servers.items()})

    def _run(self) -> None:
        """The host's thread: samples, result-memory figures, and the feeds' hand-overs."""
        next_sample = time.monotonic() + LOAD_INTERVAL
        while True:
            with self._lock:
                now = time.monotonic()
                if now >= next_sample:
                    self._record(self._sample_load())
                    next_sample = max(next_sample + LOAD_INTERVAL, now)
                if self._memory_due is not None and now >= self._memory_due:
                    figure = self._memory_figure()
                    if figure != self.model.result_memory:
                        self._record(figure)
                    self._memory_due, self._memory_posted = None, now
                closing = self._closing
                subscriptions = list(self._subscriptions)
                if not closing and not any(s.due(now) for s in subscriptions):
                    self._wake.wait(self._timeout(now, next_sample))
                    continue
            for subscription in subscriptions:
                subscription.hand_over(now, flush=closing)
            if closing:
                return

    def _timeout(self, now: float, next_sample: float) -> float:
        dues = [next_sample - now, *(d for s in self._subscriptions if (d := s.feed.due_in(now)) is not None)]
        if self._memory_due is not None:
            dues.append(self._memory_due - now)
        return max(0.0, min(dues))

    # ----- the end ------------------------------------------------------------------------
    def close(self, reason: str = "the session's host closed") -> None:
        """End every feed with `SessionEnded(reason)` (unless the session said why already),
        stop the host's thread and the client-side worker. The client is its owner's to stop."""
        with self._lock:
            if self._closing:
                return
            if self.model.ended is None:
                self._record(SessionEnded(reason))
            self._closing = True
            self._wake.notify()
        self._unsubscribe()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._close_console()
        self.ended.set()

    def _close_console(self) -> None:
        with self._console_lock:
            console, self._console = self._console, None
        if console is not None:
            console.close()  # the worker is killed: this takes milliseconds

    def stop(self, reason: str, force: bool = True) -> None:
        """End the session: stop the client-side worker and the servers (interrupting what runs,
        with `force`; else after what is queued), then `close(reason)`. Blocks until they have
        stopped. A stop the session's launcher held (`core.environment.hold_stop`) is let go."""
        self._close_console()
        environment.release_stop(self.client)
        try:
            self.client.stop_services(force_command_request_interruption=force)
        finally:
            self.close(reason)

    def _stop_session(self, asker: Asker) -> Future:
        """`stop` on a thread of its own; the future is done once every frontend was told."""
        future: Future = Future()

        def stop() -> None:
            try:
                self.stop(f"stopped by {asker.label}")
            except BaseException as exc:  # noqa: BLE001 - the asking frontend hears of it
                future.set_exception(exc)
            else:
                future.set_result(None)

        threading.Thread(target=stop, name="mpipanel-stop", daemon=True).start()
        return future

    # ----- the client-side worker ---------------------------------------------------------
    def client_worker(self) -> ConsoleHost:
        """The client-side worker, started on first use."""
        with self._console_lock:
            if self._console is None:
                self._console = ConsoleHost(self.client)
            return self._console

    def _split(self, command_ids: list[int]) -> tuple[list[int], list[int]]:
        """The ids of the client-side worker's commands, and the others."""
        console = self._console
        local = [i for i in command_ids if console is not None and console.owns(i)]
        return local, [i for i in command_ids if i not in local]

    # ----- the requests -------------------------------------------------------------------
    def _submit(self, asker: Asker, command: str, target: int | list[int] | None,
                parameters: dict[str, Any] | None = None, origin: str | None = None,
                shown: str | None = None, timeout: float | None = None, retries: int = 0) -> list[Future]:
        """`origin`: the asker's label unless it names another; `shown`: the text the history
        shows for the command, when the frontend gives one (`core.events.CommandQueued.shown`);
        `timeout` and `retries` as for a push (rank 0's client-side worker has no retries: its
        commands are not re-queued)."""
        origin = origin or asker.label
        if target in (CLIENT_RANK, [CLIENT_RANK]):
            return [self.client_worker().run(command, parameters or None, origin=origin, shown=shown,
                                             timeout=timeout)]
        if asker.direct:  # sent from this thread if the MPI lock is free
            ids = self.client.push_command_request(command, False, target, parameters or None, origin=origin,
                                                   shown=shown, timeout=timeout, retries=retries)
            return self.client.command_futures(ids)
        futures = self.client.submit(command, target=target, parameters=parameters or None, origin=origin,
                                     shown=shown, timeout=timeout, retries=retries)
        return futures if isinstance(futures, list) else [futures]

    def _run_script(self, asker: Asker, path: str, args: list[str]) -> list[Future]:
        """Run a script in the client-side worker, as `python path args` would."""
        command = f"run_script({str(path)!r}, {[str(a) for a in args]!r})"
        return [self.client_worker().run(command, origin=asker.label)]

    def _interrupt(self, asker: Asker, command_ids: list[int]) -> None:
        local, others = self._split(command_ids)
        if local:
            self._console.interrupt()
        if others:
            self.client.interrupt(others)

    def _interrupt_server(self, asker: Asker, rank: int) -> None:
        if rank != CLIENT_RANK:
            self.client.interrupt(server=rank)
        elif self._console is not None:
            self._console.interrupt()

    def _cancel(self, asker: Asker, command_ids: list[int]) -> None:
        local, others = self._split(command_ids)
        if local:
            self._console.cancel(local)
        if others:
            self.client.cancel(others)

    def _restart_server(self, asker: Asker, rank: int) -> Future:
        """The server's status once it is ready again; None for the client-side worker, whose
        fresh process shows in the statuses that follow."""
        if rank != CLIENT_RANK:
            return self.client.restart_server(rank)
        if self._console is not None:
            self._console.restart()
        return done_future(None)

    def _request_namespaces(self, asker: Asker, ranks: list[int]) -> Future:
        return self.client.request_namespace_summaries(ranks)

    def _pull(self, asker: Asker, name: str, rank: int) -> Future:
        return self.client.pull(name, targets=rank, block=False)

    def _purge_results(self, asker: Asker, command_ids: list[int] | None = None) -> int:
        freed = self.client.purge_results(command_ids)
        self._post_memory_now()
        return freed

    def _set_result_memory(self, asker: Asker, limit: int | None) -> None:
        self.client.result_memory = limit
        self._post_memory_now()

    def _post_memory_now(self) -> None:
        with self._lock:
            self._memory_due = 0.0
            self._wake.notify()

    def _session_script(self, asker: Asker, only_successful: bool = False, include_interrupted_cancelled: bool = True,
                        name: str = "session.py") -> str:
        return self.client.session_script(only_successful, include_interrupted_cancelled, name)

    def _response(self, asker: Asker, command_id: int) -> Future:
        return self.client.command_futures([command_id])[0]
