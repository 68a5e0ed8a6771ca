"""The client's MPI engine: the one place where the client sends and receives.

All MPI calls happen under `Engine.lock`. A progress thread holds it in short steps and otherwise
sleeps in `select()` on the servers' doorbells; a thread that blocks on a response (a script's
`block=True`) takes the lock and drives progress itself, because handing each response across
threads would cost more than the MPI round trip. While such a caller is driving (and for
`DRIVER_LINGER` after), the progress thread sleeps so that doorbells do not wake it per message.
Both spin for a moment after activity, yielding the core between steps (see `core.server.rank`).
Threads that must never wait on MPI (the GUI) only append to the outbox and wake the thread.

Events and future results are queued under the lock and delivered after it is released.

A server is timed out when it was silent for `heartbeat_timeout` while the client could listen
(`core.client.heartbeats`), or when its rank says its worker showed no sign of life for as long
(C code holding the GIL forever). Its commands then get a provisional 'timeout' response and stay
where they are: if the server comes back, each real response replaces the provisional one in place
and is posted again (`CommandFinished`). A command whose worker died is sent again while its
`retries` last (`CommandRetried`); a command that raised, expired or was restarted never is.
"""
from __future__ import annotations

import collections
import logging
import os
import selectors
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from mpi4py import MPI

from core.events import (CommandFinished, CommandProgress, CommandRetried, CommandStarted, EventHub, ServerOutput,
                         ServerStatusChanged)
from core.client.heartbeats import HeartbeatWatch
from core.client.ledger import CommandRecord, Ledger
from core.client.namespace_watch import NamespaceWatch
from core.client.stack_requests import StackRequests
from core.server_state import ServerState, server_state
from core.wire.wake_pipe import WakePipe
from core.wire.answers import Answer, AnswerBox
from core.wire.boards import Board, board_for
from core.wire.messages import CommandRequest, ProgressItem, ServerInfo, ServerStatus, Tag, tag_name
from core.wire.responses import NOT_STARTED, Status, failure, rebuild_result
from core.wire.batches import Batch, unbatch
from core.wire.transport import Peer, PeerLost, receive

_log = logging.getLogger(__name__)

PROGRESS_SPIN = 0.001
INTERNAL_ERROR_PAUSE = 0.1
CALLER_SPIN = 0.005
DRIVER_LINGER = 0.002
MESSAGES_PER_STEP = 64
"""Messages taken per step before the events they made are delivered: under a flood that never
pauses (seen under Open MPI, a server logging 1 MB records) taking all of them could hold the
events back, and their memory, until the flood ended."""
_ANSWERS = "answers"
"""The answer box's key in the progress thread's selector (the wake pipe's is None, a doorbell's its rank)."""


@dataclass(eq=False)
class ServerView:
    """What the client knows of one server."""

    rank: int
    info: ServerInfo | None = None
    status: ServerStatus | None = None
    last_heard: float = field(default_factory=time.monotonic)
    timed_out: bool = False
    lost: bool = False
    stopped: bool = False
    progress: ProgressItem | None = None
    """The latest progress of a command on this server."""

    @property
    def state(self) -> str:
        if self.lost:
            return "lost"
        if self.stopped:
            return "stopped"
        if self.timed_out:
            return "timeout"
        if self.info is None:
            return "starting"
        return "ready"


class Engine:
    """The client's one owner of MPI: it sends, receives and keeps each server's state.

    It exists so that every MPI call of the client is made under one lock, by whichever thread
    holds it (the progress thread, or a caller driving its own blocking wait), and so that what
    arrives becomes events and futures delivered outside that lock, in order.
    """

    def __init__(self, hub: EventHub, heartbeat_timeout: float, board: Board | None = None,
                 answers: AnswerBox | None = None):
        """`board`: where the servers on this host count what they send (`core.wire.boards`): it
        says when the progress thread sleeps, so that only then do they ring. `answers`: where
        their workers answer this client themselves (`core.wire.answers`)."""
        self.hub = hub
        self.board = board
        self.answers = answers
        self._answers_waiting: collections.deque[tuple[Answer, list]] = collections.deque()
        """Answers taken from the box, not handled yet (`_take_answers`)."""
        self._taking_answers = False
        self.heartbeat_timeout = heartbeat_timeout
        self.check_interval = min(1.0, heartbeat_timeout / 4)
        self.heartbeats = HeartbeatWatch(deaf_gap=2 * self.check_interval)
        self.stack_requests = StackRequests(hub)
        self.lock = threading.Lock()
        self.peers: dict[int, Peer] = {}
        self.views: dict[int, ServerView] = {}
        self.last_status: dict[int, dict[str, Any]] = {}
        """Each server's status as last posted; read without the lock (see `last_server_status`)."""
        self.ledger = Ledger([], announce=hub.post_made)
        self.namespaces = NamespaceWatch(hub)
        self._channels: list[tuple[MPI.Comm, dict[int, int]]] = []
        self._status = MPI.Status()
        self._outbox: collections.deque[Callable[[], None]] = collections.deque()
        self._wake_pipe = WakePipe()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_pipe, selectors.EVENT_READ, None)
        if answers is not None:
            self._selector.register(answers, selectors.EVENT_READ, _ANSWERS)
        self._changed = threading.Condition()
        self._waiting: list[Callable[[], bool]] = []
        """The conditions of the threads asleep in `wait`: the progress thread wakes them only
        when one holds, not after every message (a script waiting for 5,000 responses was woken
        for each of them, ≈ 2 futex calls and 15-27 µs a command)."""
        self._driver_until = 0.0
        self._asleep = False
        """The progress thread is in (or about to enter) `select()`: only then does `wake` write to
        its pipe (9.5 µs a push, 0.8 pushes in 1 found it awake and wrote all the same)."""
        self._wake_asked = False
        self._next_check = 0.0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._ready_waiters: dict[int, list] = {}
        self._batches: dict[int, Batch] = {}
        """The commands for each server made in this step: they go in one envelope at its end."""
        self.abandoned: list[Peer] = []
        self.lost_any = False
        """A server rank was lost at some point (even if replaced since): MPI cannot finalize."""
        self._handlers: dict[int, Callable[[int, Any, list], None]] = {
            Tag.RESPONSE: self._on_response, Tag.OUTPUT: self._on_output, Tag.STATUS: self._on_status,
            Tag.READY: self._on_ready, Tag.STOPPED: self._on_stopped, Tag.RECALLED: self._on_recalled,
            Tag.STACK_REPORT: self._on_stack_report}
        """What a server's message does, by its tag: `handler(rank, payload, buffers)`."""

    # ----- set-up -------------------------------------------------------------------------
    def add_servers(self, comm: MPI.Comm, peers: dict[int, Peer]) -> None:
        """Adopt peers that share `comm` (one world, or one spawn's intercommunicator)."""
        with self.lock:
            self.adopt(comm, peers)

    def adopt(self, comm: MPI.Comm, peers: dict[int, Peer]) -> None:
        """`add_servers` for a caller that holds the lock; a rank adopted again replaces the old."""
        self._channels.append((comm, {peer.rank: rank for rank, peer in peers.items()}))
        for rank, peer in peers.items():
            if rank in self.peers:
                self._abandon(rank)
            self.peers[rank] = peer
            self.views[rank] = ServerView(rank)
            self.ledger.add_rank(rank)
            self._selector.register(peer.sock, selectors.EVENT_READ, rank)

    def _abandon(self, rank: int) -> None:
        """Stop listening to a replaced server. Its socket stays open on purpose: a spawned
        server that sees its client go away exits, and with MPICH that kills the client."""
        old = self.peers.pop(rank)
        for comm, ranks in self._channels:
            if comm is old.comm:
                ranks.pop(old.rank, None)
        try:
            self._selector.unregister(old.sock)
        except (KeyError, ValueError):
            pass
        self.abandoned.append(old)

    def when_ready(self, rank: int, future) -> None:
        """Resolve `future` with the server's status at its next READY (after a restart)."""
        self._ready_waiters.setdefault(rank, []).append(future)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mpipanel-progress", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing = True
        self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._selector.close()
        self._wake_pipe.close()

    # ----- entry points for other threads -------------------------------------------------
    def call(self, action: Callable[[], None], direct: bool) -> None:
        """Run `action` under the MPI lock: now if `direct` and the lock is free, else on the
        progress thread soon. Never waits for the lock."""
        self._outbox.append(action)
        if direct and self.lock.acquire(blocking=False):
            try:
                self._progress()
            finally:
                self.lock.release()
            self.hub.deliver()
        else:
            self.wake()

    def wake(self) -> None:
        """Have the progress thread take a turn soon (the outbox, events to deliver, closing)."""
        self._wake_asked = True
        if not self._asleep:
            return  # it is awake, and takes a turn before it sleeps (`_progress_until_closed`)
        self._wake_pipe.wake()

    def wait(self, until: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until `until()` is true, driving progress while it is hot; False on timeout.
        Asleep, the thread is woken by the progress thread once `until()` holds (at the latest
        every 50 ms), so `until` must be cheap and safe to call from another thread. It is read
        without the lock, and the progress thread's step makes it true (a command done) a moment
        before it posts the events of that (its `CommandFinished`): the caller returns once that
        step is over and its events delivered, so that what it does next comes after them (in a
        session log, say). Found by reading; the window is a few lines of Python wide."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_activity = time.monotonic()
        while not until():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            if now - last_activity < CALLER_SPIN and self.lock.acquire(blocking=False):
                try:
                    self._driver_until = now + DRIVER_LINGER
                    active = self._progress(enough=until)
                finally:
                    self.lock.release()
                self.hub.deliver()
                if active:
                    last_activity = now  # and look at once: the response may be in
                else:
                    os.sched_yield()
                continue
            with self._changed:
                if not until():
                    wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - now))
                    self._waiting.append(until)
                    try:
                        self._changed.wait(wait)
                    finally:
                        self._waiting.remove(until)
        with self.lock:
            pass  # the step that made `until()` true posts its events before it lets the lock go
        self.hub.deliver()
        return True

    # ----- the progress thread ------------------------------------------------------------
    def _run(self) -> None:
        """The progress thread: it must outlive any bug of ours, or every caller would hang."""
        while not self._closing:
            try:
                self._progress_until_closed()
            except Exception:  # noqa: BLE001 - log, pause, go on
                _log.exception("internal error in the mpipanel progress thread")
                time.sleep(INTERNAL_ERROR_PAUSE)

    def _progress_until_closed(self) -> None:
        last_activity = 0.0
        while not self._closing:
            now = time.monotonic()
            if now < self._driver_until:
                time.sleep(self._driver_until - now)
                continue
            self._wake_asked = False
            with self.lock:
                active = self._progress()
            self._after_progress(active)
            if active:
                last_activity = now
                continue
            if now - last_activity < PROGRESS_SPIN:
                os.sched_yield()
                continue
            self._asleep = True  # then look once more: a `wake` either sees this or is seen here
            if self.board is not None:
                self.board.fall_asleep()  # servers ring from here on; what they counted before, they did not
            try:
                if self._wake_asked or self._closing or self._took_owed():
                    continue
                ready = self._selector.select(max(0.0, self._next_check - now))
            finally:
                self._asleep = False
                if self.board is not None:
                    self.board.wake_up()
            with self.lock:
                for key, _ in ready:
                    if key.data is None:
                        self._wake_pipe.drain()
                    elif key.data is _ANSWERS:
                        self._take_answers(readable=True)
                    else:
                        self._on_doorbell(key.data)
                active = self._progress(poll=not ready)  # a doorbell took what it announced
            self._after_progress(True)
            if active:
                last_activity = time.monotonic()

    def _after_progress(self, active: bool) -> None:
        self.hub.deliver()
        if active and self._waiting:
            with self._changed:
                if any(until() for until in self._waiting):
                    self._changed.notify_all()

    def _took_owed(self) -> bool:
        """Take what servers counted on the board and did not ring for (they saw this thread
        awake); True if there was any. Only with a board: else each envelope rang."""
        if self.board is None:
            return False
        with self.lock:
            owed = [rank for rank, peer in self.peers.items() if peer.owed > 0 and not self.views[rank].lost]
            for rank in owed:
                self._on_doorbell(rank)
        if owed:
            self._after_progress(True)
        return bool(owed)

    def _on_doorbell(self, rank: int) -> None:
        """Receive what server `rank` announced, up to `MESSAGES_PER_STEP`: the rest is taken in
        the next steps, after this one's events are delivered. Receiving until nothing is owed
        chased a flooding server's count on the board (it grows as the client receives): under
        Open MPI, whose sends of 1 MB complete before they are received, one step took hundreds
        of log records and held them all as events (433 MB at the peak, seen with tracemalloc)."""
        peer = self.peers[rank]
        try:
            peer.read_rings()
        except PeerLost as exc:
            self._connection_closed(rank, str(exc))
            return
        last = peer.received + min(peer.owed, MESSAGES_PER_STEP)
        self._receive_until(rank, lambda: peer.received < last)

    def _connection_closed(self, rank: int, detail: str) -> None:
        """Server `rank` closed its doorbell connection: its process ended. A server that stopped
        closes it just after its last envelope, STOPPED, and this side may see the close first
        (1 stop in 3, measured). So what it announced is taken first, and it is lost only if it
        had not stopped. Left unreceived, that STOPPED stayed in MPI's queue, where MPICH let a
        later client of this process, whose communicator reused the context id, take it for its
        own server's: it never told that server to stop (seen in a test run)."""
        peer = self.peers[rank]
        self._unregister(peer)
        self._receive_until(rank, lambda: peer.owed > 0)
        if not self.views[rank].stopped:
            self.lose(rank, f"its connection closed ({detail})")

    def _receive_until(self, rank: int, owed: Callable[[], bool]) -> None:
        """Receive server `rank`'s envelopes while `owed()`: each is certainly on its way."""
        peer = self.peers[rank]
        while owed():
            try:
                source, tag, payload, buffers = receive(peer.comm, self._status, peer.rank, block=True)
            except PeerLost as exc:
                self.lose(rank, str(exc))
                return
            peer.received += 1
            self._handle(rank, tag, payload, buffers)

    def _take_answers(self, rank: int | None = None, before: int = 0, readable: bool = False) -> bool:
        """The responses workers sent this client themselves (`core.wire.answers`), in the order
        they came, each once what its rank had sent before it is in; True if any was taken. Given
        `rank`, only up to its first answer that comes after its envelope number `before`. Not
        again from within (a response received meanwhile came before every answer waiting). The
        box is read when the board says a worker answered, or `readable` (`select()` said so)."""
        if self._taking_answers:
            return False
        self._taking_answers = True
        waiting, took = self._answers_waiting, False
        try:
            if self.board.take_answered() or readable:
                while (taken := self.answers.take()) is not None:
                    waiting.append(taken)
            while waiting and not (waiting[0][0].rank == rank and waiting[0][0].sent_before >= before):
                answer, buffers = waiting.popleft()
                took = True
                peer, view = self.peers.get(answer.rank), self.views.get(answer.rank)
                if peer is None or view.lost or view.info is None or view.info.pid != answer.rank_pid:
                    continue  # from the worker of a rank lost or replaced since
                self._receive_until(answer.rank, lambda peer=peer, count=answer.sent_before: peer.received < count)
                peer.complete_sends(answer.taken)
                if not view.lost:
                    self._take_responses(answer.rank, answer.responses, buffers)
        finally:
            self._taking_answers = False
        return took

    # ----- one step, under the lock -------------------------------------------------------
    def _progress(self, poll: bool = True, enough: Callable[[], bool] | None = None) -> bool:
        """One step: what other threads asked for (the outbox) and the commands it made, then the
        servers' messages (unless not `poll`), the servers' health when due, and the commands made
        meanwhile. A blocking push's command goes before the polls, not after them. A waiting
        caller's `enough()` ends the polls once it holds: the caller returns a probe sooner
        (≈ 2 µs of a round trip), and the next step takes what came after."""
        active = False
        while self._outbox:
            self._outbox.popleft()()
            active = True
        self._send_batches()
        if self.answers is not None and self._take_answers():
            active = True
        for comm, ranks in self._channels if poll else ():
            for _ in range(MESSAGES_PER_STEP):
                try:
                    message = receive(comm, self._status)
                except PeerLost as exc:  # an envelope whose buffers never came
                    if exc.source in ranks:
                        self.lose(ranks[exc.source], str(exc))
                    break
                if message is None:
                    break
                source, tag, payload, buffers = message
                rank = ranks.get(source)
                if rank is None:
                    continue  # from a server that was replaced
                self.peers[rank].received += 1
                self._handle(rank, tag, payload, buffers)
                active = True
                if enough is not None and enough():
                    break
        now = time.monotonic()
        if now >= self._next_check:
            self._check_servers(now)
        self._send_batches()
        return active

    def _send_batches(self) -> None:
        while self._batches:
            self._send_batch(next(iter(self._batches)))

    def _handle(self, rank: int, tag: int, payload: Any, buffers: list) -> None:
        """Give a message from server `rank` to the handler of its tag (`_handlers`)."""
        now = self.views[rank].last_heard = time.monotonic()
        self.heartbeats.heard(rank, now)
        handler = self._handlers.get(tag)
        if handler is None:
            _log.error("internal error: server %d sent a message with tag %s, which the client does not "
                       "handle; it was dropped", rank, tag_name(tag))
            return
        handler(rank, payload, buffers)

    def _on_output(self, rank: int, items: list, buffers: list) -> None:
        """Output and log records go on as `ServerOutput`; a progress report is kept for the
        server's status and posted as `CommandProgress`."""
        output = []
        for item in items:
            if isinstance(item, ProgressItem):
                self.views[rank].progress = item
                self.hub.post(CommandProgress(item.command_id, rank, item.done, item.total, item.text, item.time))
            else:
                output.append(item)
        if output:
            self.hub.post(ServerOutput(rank, output))

    def _on_status(self, rank: int, status: ServerStatus, buffers: list) -> None:
        """A heartbeat clears a time-out, unless it says the server's worker is still silent."""
        view = self.views[rank]
        view.status = status
        if status.worker_silence <= self.heartbeat_timeout:
            view.timed_out = False
        self._post_status(rank)

    def _on_stack_report(self, rank: int, answer: tuple, buffers: list) -> None:
        number, report = answer
        self.stack_requests.answer(number, rank, report)

    def request_stacks(self, ranks: list[int], future) -> None:
        """Ask each server where its running command is now; `future` gets `{rank: StackReport or None}`."""
        number = self.stack_requests.open(ranks, future, time.monotonic())
        for rank in ranks:
            self.send(rank, Tag.STACKS, number)

    def _on_ready(self, rank: int, info: ServerInfo, buffers: list) -> None:
        self.views[rank].info = info
        self.peers[rank].board = board_for(info.board, 0)
        self.namespaces.reset(rank)
        self._post_status(rank)
        status = self.server_status(rank)
        for future in self._ready_waiters.pop(rank, ()):
            self.hub.post_call(lambda f=future: f.set_result(status))

    def _on_stopped(self, rank: int, payload: None, buffers: list) -> None:
        self.views[rank].stopped = True
        self._post_status(rank)

    def _on_response(self, rank: int, responses: list, buffers: list) -> None:
        """Responses from server `rank`, a batch of them (`core.wire.batches`), after the answers
        its workers sent before it: those of commands the rank handed over before it sent this
        envelope (`_take_answers`; the rank sends the response of a later command only after it
        has read the DONE that follows such an answer)."""
        if self.answers is not None:
            self._take_answers(rank, self.peers[rank].received)
        self._take_responses(rank, responses, buffers)

    def _take_responses(self, rank: int, responses: list, buffers: list) -> None:
        self.peers[rank].complete_sends()  # the server has what it ran: let its parameters go now
        for fields, result in unbatch(responses, buffers):
            self._take_response(rank, fields, result)
        if self.ledger.first_available or self.ledger.waiting_behind:
            self._dispatch_first_available()

    def _take_response(self, rank: int, fields: dict, buffers: list) -> None:
        buffers = self.namespaces.take_summary(rank, fields, buffers)
        if fields["id"] < 0:
            return  # it answered a summary request, not a command
        record = self.ledger.records.get(fields["id"])
        if record is None or (record.done and not record.provisional):
            return  # a late answer to a command already given up on (lost)
        if fields.get("worker_died") and record.may_retry:
            self._retry(record, fields)
        else:
            fields["ret_size"] = sum(memoryview(b).nbytes for b in buffers)
            self.finish(record, rebuild_result(fields, buffers))

    def _on_recalled(self, rank: int, ids: list[int], buffers: list) -> None:
        """Server `rank` gave back first-available commands it had not started (`_recall`)."""
        for command_id in ids:
            record = self.ledger.records.get(command_id)
            if record is None or record.done or record.server != rank:
                continue
            kept_for = self.ledger.give_back(record)
            if record.if_given_back is not None:
                self.fail(record, record.if_given_back, NOT_STARTED[record.if_given_back])
            elif kept_for is not None and self.usable(kept_for):
                self._send_command(record, kept_for)
            else:
                self.ledger.wait_again(record)
        self._dispatch_first_available()

    def _response(self, record: CommandRecord, fields: dict) -> dict[str, Any]:
        return {"id": record.id, "command": record.command, "shown": record.shown, "parameters": record.parameters,
                "server": record.server, "ret": None, "namespace_reset": False, "ret_size": 0, "ret_dropped": None,
                "time_limit": record.time_limit, "stack": None, "worker_died": False,
                "attempts": list(record.attempts), **fields}

    def finish(self, record: CommandRecord, fields: dict) -> None:
        """Give `record` its final response (from a server, or made up here). One that replaces a
        provisional response updates it in place (its futures hold that dict) and is posted again."""
        replacing = record.provisional
        response = self._response(record, fields)
        started = self.ledger.finish(record, response)
        response = record.response
        view = self.views.get(record.server)
        if view is not None and view.progress is not None and view.progress.command_id == record.id:
            view.progress = None
        self.hub.post(CommandFinished(response))
        if not replacing:
            self.hub.post_call(lambda: record.resolve(response))
        if started is not None:
            self.hub.post(CommandStarted(started.id, started.server, time.time()))

    def fail(self, record: CommandRecord, status: Status, traceback: str) -> None:
        self.finish(record, failure(status, traceback))

    def time_out(self, record: CommandRecord, traceback: str) -> None:
        """A provisional 'timeout' response: the command stays where it is, and its real response
        replaces this one if its server comes back (`finish`)."""
        response = self._response(record, failure(Status.TIMEOUT, traceback))
        self.ledger.time_out(record, response)
        self.hub.post(CommandFinished(response, provisional=True))
        self.hub.post_call(lambda: record.resolve(response))

    def _retry(self, record: CommandRecord, fields: dict) -> None:
        """The worker running `record` died: send it again, under the same id and future."""
        rank = record.server
        reason = (fields.get("traceback") or "").strip()
        attempt = {"attempt": len(record.attempts) + 1, "server": rank, "reason": reason,
                   "time_start": fields.get("time_start"), "time_end": fields.get("time_end")}
        started = self.ledger.requeue(record, attempt)
        self.hub.post(CommandRetried(record.id, len(record.attempts) + 1, reason, rank, time.time()))
        if started is not None:
            self.hub.post(CommandStarted(started.id, started.server, time.time()))
        if record.target is None:
            self.ledger.first_available.appendleft(record)  # it was there before the others
            self._dispatch_first_available()
        else:
            self.queue(record)

    # ----- sending, under the lock --------------------------------------------------------
    def is_lost(self, rank: int) -> bool:
        return self.views[rank].lost

    def usable(self, rank: int) -> bool:
        view = self.views[rank]
        return not (view.lost or view.stopped or view.timed_out)

    def queue(self, record: CommandRecord) -> None:
        if record.target is None:
            self.ledger.first_available.append(record)
            self._dispatch_first_available()
        elif self.views[record.target].lost:
            self.fail(record, Status.LOST, f"Server {record.target} is lost; the command was not sent.\n")
        else:
            self._send_command(record, record.target)

    def _dispatch_first_available(self) -> None:
        pending = self.ledger.first_available
        while pending:
            rank = self.ledger.next_server(self.usable)
            if rank is None:
                return
            self._send_command(pending.popleft(), rank)
        self._recall()

    def _recall(self) -> None:
        """Nothing waits for a server: ask back, for each idle server, a first-available command
        that waits behind another (`core.client.ledger`), which the idle one will take."""
        if not self.ledger.waiting_behind:
            return
        for idle in self.ledger.idle_ranks(self.usable):
            record = self.ledger.recall_for(idle, self.usable)
            if record is not None:
                self.send(record.server, Tag.RECALL, [record.id])

    def _rescue_stuck(self, now: float) -> None:
        """Ask back first-available commands waiting behind long ones (`Ledger.rescue_stuck`)."""
        asked: dict[int, list[int]] = {}
        for record in self.ledger.rescue_stuck(now, self.usable):
            asked.setdefault(record.server, []).append(record.id)
        for rank, ids in asked.items():
            self.send(rank, Tag.RECALL, ids)

    def cancel_queued(self, rank: int, records: list[CommandRecord]) -> None:
        """Ask server `rank` to cancel these commands if they have not started; one it gives back
        meanwhile (a recall crossed the cancel) ends cancelled too."""
        for record in records:
            if record.id in self.ledger.recalls:
                record.if_given_back = Status.CANCELLED
        self.send(rank, Tag.CANCEL, [record.id for record in records])

    def interrupt_command(self, record: CommandRecord) -> None:
        """Ask its server to interrupt `record`, now or when it starts; given back unrun meanwhile
        (a recall crossed the interrupt), it ends interrupted before it started."""
        if record.id in self.ledger.recalls:
            record.if_given_back = Status.INTERRUPTED
        self.send(record.server, Tag.INTERRUPT, record.id)

    def _send_command(self, record: CommandRecord, rank: int) -> None:
        started = self.ledger.place_on(record, rank)
        buffers = record.buffers or ()
        if record.id not in self.ledger.waiting_behind and not record.may_retry:
            record.buffers = None  # let the parameters go once sent (kept while a recall or a retry may need them)
        self.send_request(rank, CommandRequest(record.id, record.command, self.namespaces.watching,
                                               record.time_limit, record.grace), buffers)
        if started and not record.done:
            started_at = time.time()  # the event is made after the send (`post_made`)
            self.hub.post_made(lambda: CommandStarted(record.id, rank, started_at))

    def send_request(self, rank: int, request: CommandRequest, buffers=()) -> None:
        """Send a command to server `rank` with the others made in this step, in one envelope, at
        the step's end (`_progress`) or before anything else sent there (`core.wire.batches`)."""
        batch = self._batches.get(rank)
        if batch is None:
            batch = self._batches[rank] = Batch()
        batch.add(tuple(request), buffers, len(request.command))  # `CommandRequest` says why a plain tuple
        if batch.full:
            self._send_batch(rank)

    def _send_batch(self, rank: int) -> None:
        batch = self._batches.pop(rank)
        self._send(rank, Tag.COMMAND, batch.items, batch.buffers)

    def send(self, rank: int, tag: Tag, payload: Any, buffers=()) -> None:
        """Send to one server, after the commands made for it in this step; a server found gone
        is marked lost, its commands failed."""
        if rank in self._batches:
            self._send_batch(rank)
        self._send(rank, tag, payload, buffers)

    def _send(self, rank: int, tag: Tag, payload: Any, buffers) -> None:
        if self.views[rank].lost:
            return
        try:
            self.peers[rank].send(tag, payload, buffers)
        except PeerLost as exc:
            self.lose(rank, f"its connection broke ({exc})")

    # ----- server health ------------------------------------------------------------------
    def lose(self, rank: int, reason: str) -> None:
        view = self.views[rank]
        if view.lost:
            return
        view.lost = True
        self.lost_any = True
        self._unregister(self.peers[rank])
        where = self._where(rank)
        for record in list(self.ledger.in_flight[rank]):
            self.fail(record, Status.LOST, f"Server {rank}{where} was lost: {reason}.\n")
        self.namespaces.lost(rank)
        self.stack_requests.lost(rank)
        self._post_status(rank)

    def _unregister(self, peer: Peer) -> None:
        try:
            self._selector.unregister(peer.sock)
        except (KeyError, ValueError):
            pass  # not registered, or no longer

    def _check_servers(self, now: float) -> None:
        self._next_check = now + self.check_interval
        self.heartbeats.listened(now)  # checks come every interval while the client can listen
        for peer in self.peers.values():
            peer.complete_sends()
        self.stack_requests.expire(now)
        if self.ledger.waiting_behind:
            self._rescue_stuck(now)
        if self.heartbeats.suspended:
            return
        for rank, view in self.views.items():
            if view.lost or view.stopped or view.timed_out or view.info is None:
                continue
            silence = self.heartbeats.silent_for(rank, now)
            worker_silence = view.status.worker_silence if view.status is not None else 0.0
            if silence > self.heartbeat_timeout:
                self._time_out(rank, f"Server {rank}{self._where(rank)} sent no heartbeat for {silence:.1f} s "
                                     f"(timeout {self.heartbeat_timeout:g} s)")
            elif worker_silence > self.heartbeat_timeout:
                worker = view.status.worker_pid
                self._time_out(rank, f"The worker process of server {rank}{self._where(rank)} (pid {worker}) "
                                     f"showed no sign of life for {worker_silence:.1f} s (timeout "
                                     f"{self.heartbeat_timeout:g} s): C code holding the GIL, or a stopped process")

    def _time_out(self, rank: int, why: str) -> None:
        """Mark `rank` timed out; its commands get a provisional 'timeout' response."""
        self.views[rank].timed_out = True
        for record in list(self.ledger.in_flight[rank]):
            if not record.done:
                self.time_out(record, f"{why}. If it comes back, the command's real response replaces this "
                                      f"one.\n")
        self._dispatch_first_available()  # servers kept for a command asked back from it are free
        self._post_status(rank)

    def _where(self, rank: int) -> str:
        info = self.views[rank].info
        return f" (pid {info.pid} on {info.host})" if info else ""

    def server_status(self, rank: int) -> ServerState:
        view = self.views[rank]
        status, info = view.status, view.info
        running = self.ledger.running_on(rank)
        state = view.state
        if state == "ready":
            state = "busy" if running else "idle"
        return server_state(
            rank, state, busy=running is not None, command_id=running.id if running else None,
            command=running.command if running else None,
            queue_length=max(0, len(self.ledger.in_flight[rank]) - 1), pid=info.pid if info else None,
            worker_pid=status.worker_pid if status else (info.worker_pid if info else None),
            processor=info.host if info else None, timeout=view.timed_out, lost=view.lost,
            cpu_percent=status.cpu_percent if status else 0.0, rss=status.rss if status else 0,
            preload_error=status.preload_error if status else None,
            log_file=status.log_file if status else None, last_heard=view.last_heard,
            progress=self._progress_of(view, running))

    @staticmethod
    def _progress_of(view: ServerView, running: CommandRecord | None) -> dict[str, Any] | None:
        """The running command's latest progress, `{done, total, text, time}`, if it said any."""
        item = view.progress
        if running is None or item is None or item.command_id != running.id:
            return None
        return {"done": item.done, "total": item.total, "text": item.text, "time": item.time}

    def _post_status(self, rank: int) -> None:
        status = self.server_status(rank)
        self.last_status[rank] = status
        self.hub.post(ServerStatusChanged(rank, status))
