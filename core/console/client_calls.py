"""Rank 0's answers to the calls of its client-side worker: one handler per `ConsoleCall`.

Code in the worker calls the session's client through `core.console.proxy`; each CALL frame is
answered here, through rank 0's own client, by the handler the table names. Nothing here waits for
the servers: a call that waits (a blocking push or data move) is answered from its futures'
callback once they are done, and one that returns futures (`submit`, `command_futures`, a data move
without blocking, `restart_server`) is answered at once and keeps its promise later, one RESOLVED
frame per future (`Answer.later`). So neither the console's thread nor the GUI's blocks; only the
caller in the worker does. A refused argument raises in the handler and so in the caller's code,
as the same call on rank 0 would raise.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from core.futures import when_all
from core.wire import blobs
from core.wire.messages import ConsoleCall, WorkerKind

HOT_WAIT = 0.002
"""How long this thread drives the client's progress itself after a blocking call, as a script's
blocking push does: a tiny command's response is then in hand without two more thread hand-overs
(the proxy's cost per command halved); a longer one is answered from its futures' callback, so the
thread is never held longer than this."""


class Answer:
    """How one call is answered: once, now or when something is done (its REPLY), and for a call
    that promised futures, each one's outcome once it is done (RESOLVED frames)."""

    def __init__(self, channel, number: int, method: str):
        self.channel = channel
        self.number = number
        self.method = method

    def __call__(self, value: Any, raised: bool = False) -> None:
        self._send(WorkerKind.REPLY, (self.number,), value, raised)

    def when_done(self, future: Future) -> None:
        """Answer with `future`'s outcome once it is done (the caller is blocked meanwhile)."""
        future.add_done_callback(lambda done: self._send_outcome(WorkerKind.REPLY, (self.number,), done))

    def later(self, futures: list[Future]) -> None:
        """Answer None now, and the outcome of each of `futures` (the ones the caller made before
        the call, in this order) once it is done."""
        self(None)
        for index, future in enumerate(futures):
            future.add_done_callback(
                lambda done, index=index: self._send_outcome(WorkerKind.RESOLVED, (self.number, index), done))

    def _send_outcome(self, kind: WorkerKind, header: tuple, future: Future) -> None:
        try:
            value, raised = future.result(), False
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's code
            value, raised = exc, True
        self._send(kind, header, value, raised)

    def _send(self, kind: WorkerKind, header: tuple, value: Any, raised: bool) -> None:
        try:
            packed = blobs.pack(value)
        except Exception as exc:  # noqa: BLE001 - say so to the caller instead
            packed, raised = blobs.pack(RuntimeError(f"{self.method}'s answer cannot be pickled: {exc}")), True
        try:
            self.channel.send(kind, (*header, raised), packed)
        except OSError:
            pass  # the worker has gone meanwhile


class ClientCalls:
    """The handlers of the worker's calls, through rank 0's `client`."""

    def __init__(self, client, facts: dict[str, Any], forward_events: Callable[[], None]):
        """`facts`: what the worker's `MPIEnvironment` says; `forward_events`: start sending the
        worker the events of the commands its code pushed (`core.console.host`)."""
        self.client = client
        self._facts = facts
        self._forward_events = forward_events
        self._handlers: dict[str, Callable[..., None]] = {
            ConsoleCall.PUSH_COMMAND_REQUEST: self._push_command_request,
            ConsoleCall.GET_COMMAND_RESPONSE: self._get_command_response,
            ConsoleCall.COMMAND_FUTURES: self._command_futures,
            ConsoleCall.GET_SERVER_STATUS: self._get_server_status,
            ConsoleCall.SERVER_RANKS: self._server_ranks,
            ConsoleCall.INTERRUPT: self._interrupt,
            ConsoleCall.CANCEL: self._cancel,
            ConsoleCall.RESTART_SERVER: self._restart_server,
            ConsoleCall.SET_LOG_MODE: self._set_log_mode,
            ConsoleCall.SET_LOG_LEVEL: self._set_log_level,
            ConsoleCall.SUBSCRIBE: self._subscribe,
            ConsoleCall.ENVIRONMENT: self._environment,
            ConsoleCall.SETTINGS: self._settings,
            ConsoleCall.SAVE_SESSION: self._save_session,
            ConsoleCall.SESSION_SCRIPT: self._session_script,
            ConsoleCall.PUSH: self._push,
            ConsoleCall.PULL: self._pull,
            ConsoleCall.SCATTER: self._scatter,
            ConsoleCall.GATHER: self._gather,
            ConsoleCall.PURGE_RESULTS: self._purge_results,
            ConsoleCall.SET_RESULT_MEMORY: self._set_result_memory,
            ConsoleCall.WATCH_NAMESPACES: self._watch_namespaces,
            ConsoleCall.REQUEST_NAMESPACE_SUMMARIES: self._request_namespace_summaries,
            ConsoleCall.NAMESPACE_SUMMARY: self._namespace_summary,
            ConsoleCall.STACKS: self._stacks,
            ConsoleCall.SUSPEND_TIMEOUTS: self._suspend_timeouts,
        }
        """Each call's handler: `handler(answer, origin, *args, **kwargs)`."""

    def answer(self, channel, payload: tuple[int, str, str], buffers: list) -> None:
        """Answer one CALL frame: its handler answers now or later; what it raises goes back."""
        number, method, origin = payload
        answer = Answer(channel, number, method)
        try:
            args, kwargs = blobs.unpack(buffers)
            handler = self._handlers.get(method)
            if handler is None:
                raise LookupError(f"rank 0 answers no call {method!r} of its client-side worker")
            handler(answer, origin, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's code
            answer(exc, raised=True)

    # ----- commands -----------------------------------------------------------------------
    def _push_command_request(self, answer, origin, command, block=False, target_server=None, parameters=None,
                              **options) -> None:
        # Non-blocking, and sent from this thread when the MPI lock is free (else by the progress
        # thread): a hand-over to the progress thread costs as much as the server's round trip.
        # `options`: shown, timeout, grace, retries.
        ids = self.client.push_command_request(command, False, target_server, parameters, origin=origin, **options)
        if block:
            self._get_command_response(answer, origin, ids, block=True)
        else:
            answer(ids)

    def _get_command_response(self, answer, origin, ids, block=False) -> None:
        if not block:
            answer(self.client.get_command_response(ids))
            return
        futures = self.client.command_futures(ids)
        try:
            self.client.get_command_response(ids, block=True, timeout=HOT_WAIT)
        except TimeoutError:
            pass  # answered from the futures' callback when they are done
        answer.when_done(when_all(futures))

    def _command_futures(self, answer, origin, ids) -> None:
        answer.later(self.client.command_futures(ids))

    def _interrupt(self, answer, origin, ids=None, server=None) -> None:
        answer(self.client.interrupt(ids, server=server))

    def _cancel(self, answer, origin, ids) -> None:
        answer(self.client.cancel(ids))

    # ----- servers and settings -----------------------------------------------------------
    def _get_server_status(self, answer, origin) -> None:
        answer(self.client.last_server_status())

    def _server_ranks(self, answer, origin) -> None:
        answer(self.client.server_ranks())

    def _restart_server(self, answer, origin, rank) -> None:
        answer.later([self.client.restart_server(rank)])

    def _set_log_mode(self, answer, origin, mode) -> None:
        answer(self.client.set_log_mode(mode))

    def _set_log_level(self, answer, origin, level) -> None:
        answer(self.client.set_log_level(level))

    def _subscribe(self, answer, origin) -> None:
        self._forward_events()
        answer(None)

    def _environment(self, answer, origin) -> None:
        answer({**self._facts, "log_mode": self.client.log_mode})

    def _settings(self, answer, origin) -> None:
        client = self.client
        answer({"launch_mode": client.launch_mode, "log_mode": client.log_mode, "log_level": client.log_level,
                "isolation": client.isolation, "server_nice": client.server_nice, "preload": client.preload,
                "heartbeat_interval": client.heartbeat_interval, "heartbeat_timeout": client.heartbeat_timeout,
                "session_log_path": client.session_log_path, "result_memory": client.result_memory,
                "result_memory_used": client.result_memory_used, "time_limit_grace": client.time_limit_grace})

    def _save_session(self, answer, origin, path, *args, **kwargs) -> None:
        answer(self.client.save_session(os.fspath(path), *args, **kwargs))

    def _session_script(self, answer, origin, *args, **kwargs) -> None:
        answer(self.client.session_script(*args, **kwargs))

    # ----- data and namespaces: a blocking move is answered when it is done ---------------
    def _push(self, answer, origin, variables, targets=None, block=True) -> None:
        self._move(answer, block, self.client.push(variables, targets, block=False, origin=origin))

    def _pull(self, answer, origin, names, targets=None, block=True) -> None:
        self._move(answer, block, self.client.pull(names, targets, block=False, origin=origin))

    def _scatter(self, answer, origin, name, sequence, targets=None, block=True) -> None:
        self._move(answer, block, self.client.scatter(name, sequence, targets, block=False, origin=origin))

    def _gather(self, answer, origin, name, targets=None, block=True) -> None:
        self._move(answer, block, self.client.gather(name, targets, block=False, origin=origin))

    @staticmethod
    def _move(answer: Answer, block: bool, future: Future) -> None:
        if block:
            answer.when_done(future)
        else:
            answer.later([future])

    def _purge_results(self, answer, origin, ids=None) -> None:
        answer(self.client.purge_results(ids))

    def _set_result_memory(self, answer, origin, limit) -> None:
        self.client.result_memory = limit
        answer(None)

    def _watch_namespaces(self, answer, origin, on=True) -> None:
        answer(self.client.watch_namespaces(on))

    def _request_namespace_summaries(self, answer, origin, targets=None) -> None:
        answer.later([self.client.request_namespace_summaries(targets)])

    def _namespace_summary(self, answer, origin, rank) -> None:
        answer(self.client.namespace_summary(rank))

    def _stacks(self, answer, origin, servers=None) -> None:
        answer.later([self.client.stacks(servers)])

    def _suspend_timeouts(self, answer, origin, on=True) -> None:
        answer(self.client.suspend_timeouts(on))
