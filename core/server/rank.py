"""An MPI server rank: receives commands from the client and runs them in FIFO order.

The rank hands its commands to one executor (`core.server.executor`): by default a worker process
that it supervises, so that it never runs user code itself (`core.supervision.supervisor`, which
rank 0's client-side worker uses too); with isolation 'none' the rank runs them itself
(`core.server.inline_executor`): faster, but a crash in a command ends the job.

The rank waits without burning a core: right after activity it spins on `Iprobe` for
`SPIN_SECONDS` to keep a conversation hot, yielding the core between probes, then sleeps in
`select()` on the doorbell socket and the worker's pipes (`core.wire.transport`). It spins only
while spinning pays: when the client's last command came within a spin of the rank's activity
before it (a script's loop), not when it came later (a notebook's cells, a person at the window),
where the spin would only take the cores the client needs meanwhile. A heartbeat
`Tag.STATUS` goes out every `heartbeat_interval`, also while a command runs.
"""
from __future__ import annotations

import collections
import os
import selectors
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import psutil
from mpi4py import MPI

from core.wire import answers, boards, doorbell

from core import priority
from core.stacks import StackReport
from core.wire.messages import (SERVER_RANK_VARIABLE, CommandRequest, LogItem, ProgressItem, ServerConfig,
                               ServerInfo, ServerStatus, StopRequest, Tag, tag_name)
from core.wire.responses import NOT_STARTED, Status, failure
from core.server.separate_log import SeparateLog
from core.supervision.output_batch import OutputBatch
from core.supervision.supervisor import WorkerSupervisor, WorkerWords
from core.server.staging import StagingArea
from core.wire.batches import Batch, unbatch
from core.wire.transport import Peer, PeerLost, receive, send_unannounced
from core.server.executor import Executor
from core.server.inline_executor import InlineExecutor

SPIN_SECONDS = 0.002
MAX_OUTPUT_IN_FLIGHT = 4
"""Output batches sent but not yet received by the client; past this the rank stops reading the
worker's pipes, the worker blocks in `write`, and a flood costs bounded memory everywhere."""

INTERNAL_ERROR_PAUSE = 0.1

_STOP = object()  # queue entry: stop once everything queued before it has run


class Server:
    """One server rank's state and loop: its queue of commands, its executor, its output batch.

    It exists so that a rank does nothing but talk to the client and supervise what runs the
    commands: it takes messages as they come (also while a command runs), runs the queue in FIFO
    order, relays output in bounded batches and sends a heartbeat every interval, and no
    exception of its own ends the loop (in spawn mode a server that exits takes the client down).
    """

    def __init__(self, peer: Peer, config: ServerConfig):
        self.peer = peer
        self.rank = config.rank
        self.log_mode = config.log_mode
        self.preload = config.preload
        self.preload_error: str | None = None
        self.log_level = config.log_level
        self.heartbeat_interval = config.heartbeat_interval
        self.host = MPI.Get_processor_name()
        self.separate_log = SeparateLog(self.rank, self.host, self._separate_log_opened)
        self.lock = threading.Lock()
        """Serialises MPI calls: with isolation 'none' a pump thread talks while a command runs."""
        self.status = MPI.Status()
        self.queue: collections.deque = collections.deque()
        self.responses = Batch()
        """Responses made in this step: they go in one envelope at its end, or before anything
        else this rank sends (`core.wire.batches`)."""
        self.running: CommandRequest | None = None
        self.running_since = 0.0
        self.progress: ProgressItem | None = None
        """The running command's latest progress, for the heartbeat."""
        self.stopping = False
        self.finished = False
        self.namespace_reset = config.replaces_lost
        self.reset_pending = False
        self.interrupt_on_start: set[int] = set()
        self.finalize = True
        self.client_alive = True
        self.batch = OutputBatch()
        self.output_lock = threading.Lock()
        """Guards the batch: with isolation 'none' the user's threads print into it."""
        self.output_in_flight: list[MPI.Request] = []
        self.next_heartbeat = time.monotonic()
        self.process = psutil.Process()
        self.staging = StagingArea()
        peer.on_sent = self.staging.give_back
        self.selector = selectors.DefaultSelector()
        self.selector.register(peer.sock, selectors.EVENT_READ, self._on_doorbell)
        self._handlers: dict[int, Callable[[Any, list], None]] = {
            Tag.COMMAND: self._on_command, Tag.CANCEL: self._on_cancel, Tag.INTERRUPT: self._on_interrupt,
            Tag.SET_LOG_MODE: self._on_set_log_mode, Tag.SET_LOG_LEVEL: self._on_set_log_level,
            Tag.RESTART: self._on_restart, Tag.STOP: self._on_stop, Tag.RECALL: self._on_recall,
            Tag.STACKS: self._on_stacks}
        """What a message from the client does, by its tag: `handler(payload, buffers)`."""
        os.environ[SERVER_RANK_VARIABLE] = str(self.rank)  # for the preload and commands; the worker inherits it
        self.words = WorkerWords(
            died=(f"The worker process of server {self.rank} (pid {{pid}} on {self.host}) {{how}}. "
                  f"Its namespace is lost; a fresh worker has started."),
            restarted=f"Server {self.rank} was restarted at the client's request; its namespace is lost.")
        self.answers = _answer_route(config, peer)
        """How this rank's workers answer the client themselves (`core.wire.answers`); None when
        the client is on another host."""
        self.executor: Executor = (
            WorkerSupervisor(self.selector, self, self.words, preload=config.preload, log_level=config.log_level,
                             allocate=self.staging.take, queued=True, answers=self.answers)
            if config.isolation == "process" else InlineExecutor(self))

    # ----- the loop -------------------------------------------------------------------------
    def serve(self) -> None:
        """Run until the client says stop; raises PeerLost if the client vanishes.

        Nothing else may end this loop: a spawned server that exits takes the client down.
        """
        self.send(Tag.READY, self._info())
        self._last_activity = time.monotonic()
        self._spin_pays = True
        """The client's last command came within `SPIN_SECONDS` of this rank's activity before it."""
        while not self.finished:
            try:
                self._step()
            except PeerLost:
                raise
            except Exception:  # noqa: BLE001 - report our own bug and keep serving
                self._report_internal_error()
        self._finish()

    def _step(self) -> None:
        with self.lock:
            active = received = self._receive_all()
            if self.reset_pending and self.running is None:
                self.reset_pending = False
                self._restart()
            next_item = self._next_item() if self.running is None else None
            now = time.monotonic()
            self._timers(now)
        if self.finished:
            return
        if next_item is not None:
            self._start(*next_item)
            active = True
        if self.responses.items or (self.running is not None and self.queue):
            with self.lock:
                active = self._hand_over() or active
                self.flush_responses()
        if received and self.peer.rings_always:
            # Their doorbell bytes are read now, once the command is on its way: else `select()`
            # would wake for them at once, and the rank would take a whole step for nothing.
            with self.lock:
                self._on_doorbell(self.peer.sock)
        if active:
            self._last_activity = time.monotonic()
            if next_item is not None and self.running is not None:
                # It runs in the worker now, and this step did what was due: the rank sleeps until
                # its DONE or the client's next message, without a step that would find nothing
                # first (≈ 10 µs on the core the worker needs, as they often share one).
                self._wait(now)
        elif self.running is not None or not self._spin_pays or now - self._last_activity >= SPIN_SECONDS:
            self._wait(now)
        else:
            self._spin(self._last_activity + SPIN_SECONDS)

    def _spin(self, until: float) -> None:
        """Poll for the client's next message until `until`, and nothing else: a whole `_step`
        per poll cost ≈ 10 µs of Python, 8-15 of them per command. Nothing else can be due
        meanwhile: no command runs, its output went out before its response, and the timers
        wait at most a spin longer (heartbeats are a second apart, output batches 20 ms)."""
        comm, source, lock = self.peer.comm, self.peer.rank, self.lock
        while time.monotonic() < until:
            with lock:
                if comm.iprobe(source, MPI.ANY_TAG):
                    return
            # A spin that keeps its core starves the processes it waits for when they share it:
            # with two servers, their workers and the client on two cores, yielding here (and in
            # the client's spins) raised throughput from about 2,700 to 4,500 commands/s.
            os.sched_yield()

    def _report_internal_error(self) -> None:
        self.add_log(LogItem(self.running.id if self.running else None, time.time(), 50,
                             "mpipanel.server", f"Internal error in server {self.rank}, which "
                             f"goes on serving:\n{traceback.format_exc()}"))
        time.sleep(INTERNAL_ERROR_PAUSE)  # a persistent fault must not spin a core

    def _wait(self, now: float) -> None:
        timeout = self.next_heartbeat - now
        due = self.batch.due_in(now)
        if due is not None:
            timeout = min(timeout, due)
        if self.output_in_flight:
            timeout = min(timeout, 0.001)
        due = self.executor.due_in(now)
        if due is not None:
            timeout = min(timeout, due)
        if self.peer.pending_sends:
            timeout = 0.0  # a large send only moves while this side calls MPI
        inbox = self.peer.inbox
        if inbox is not None:
            inbox.fall_asleep()  # from here the client rings; what it counted before, it did not
            if self.peer.owed > 0:
                inbox.wake_up()
                with self.lock:
                    self._on_doorbell(self.peer.sock)
                return
        ready = self.selector.select(max(0.0, timeout))
        if inbox is not None:
            inbox.wake_up()
        for key, _ in ready:
            with self.lock:
                key.data(key.fileobj)

    def _receive_all(self) -> bool:
        got = False
        while True:
            message = receive(self.peer.comm, self.status, self.peer.rank)
            if message is None:
                return got
            self.peer.received += 1
            self._handle(*message[1:])
            got = True

    def pump(self) -> None:
        """One round of MPI duties while a command runs in the rank (isolation 'none')."""
        self._receive_all()
        self._timers(time.monotonic())

    def _on_doorbell(self, sock) -> None:
        self.peer.read_rings()
        while self.peer.owed > 0:
            message = receive(self.peer.comm, self.status, self.peer.rank, block=True)
            self.peer.received += 1
            self._handle(*message[1:])

    def _timers(self, now: float) -> None:
        self.peer.complete_sends()
        self.staging.expire(now)
        self.executor.on_timers(now)
        if self.output_in_flight:
            self.output_in_flight = [req for req in self.output_in_flight if not req.Test()]
            self.executor.pause_output(len(self.output_in_flight) >= MAX_OUTPUT_IN_FLIGHT)
        if self.batch.due(now):
            self.flush_output()
        if now >= self.next_heartbeat:
            self.flush_output()
            self.send(Tag.STATUS, self.server_status())
            self.next_heartbeat = now + self.heartbeat_interval

    # ----- messages from the client ---------------------------------------------------------
    def _handle(self, tag: int, payload, buffers: list) -> None:
        """Give a message from the client to the handler of its tag (`handlers`)."""
        handler = self._handlers.get(tag)
        if handler is None:
            self.add_log(LogItem(None, time.time(), 40, "mpipanel.server",
                                 f"Internal error in server {self.rank}: the client (rank 0) sent a message "
                                 f"with tag {tag_name(tag)}, which a server does not handle; it was dropped."))
            return
        handler(payload, buffers)

    def _on_command(self, requests: list, buffers: list) -> None:
        """Commands, a batch of them (`core.wire.batches`) as plain tuples, queued in order."""
        self._spin_pays = time.monotonic() - self._last_activity < SPIN_SECONDS
        make = CommandRequest._make
        self.queue.extend((make(fields), own) for fields, own in unbatch(requests, buffers))

    def _on_cancel(self, ids: list[int], buffers: list) -> None:
        self._cancel(set(ids))

    def _on_interrupt(self, command_id: int | None, buffers: list) -> None:
        self._request_interrupt(command_id)

    def _on_set_log_mode(self, mode: str, buffers: list) -> None:
        self.log_mode = mode

    def _on_set_log_level(self, level: int, buffers: list) -> None:
        self.log_level = level
        self.executor.set_log_level(level)

    def _on_restart(self, payload: None, buffers: list) -> None:
        self._restart()

    def _on_stop(self, request: StopRequest, buffers: list) -> None:
        self.finalize = request.finalize
        if request.force:
            self._pull_back()
            self._cancel({item[0].id for item in self.queue if item is not _STOP})
            if self.running is not None:
                self.executor.stop_running(request.grace)
        self.queue.append(_STOP)

    def _on_recall(self, ids: list[int], buffers: list) -> None:
        """Give back the queued commands among `ids` (first-available ones another server is free
        for) that wait behind another, but those an interrupt awaits (they are answered here, as
        interrupted). So a command comes back only while the one before it runs, and the client
        has the answer before that one's response."""
        self._pull_back(set(ids))
        wanted = set(ids) - self.interrupt_on_start
        if self.running is None and self.queue and self.queue[0] is not _STOP:
            wanted.discard(self.queue[0][0].id)  # it starts now
        given = self._take_queued(wanted)
        if given:
            self.send(Tag.RECALLED, [request.id for request in given])

    def _on_stacks(self, number: int, buffers: list) -> None:
        """Where the running command is now (`core.stacks`), without stopping it."""
        threads = self.executor.stacks() if self.running is not None else []
        running = self.running  # read after: the executor first reads what ended meanwhile
        self.send(Tag.STACK_REPORT, (number, StackReport(self.rank, running.id if running else None, threads)))

    def _cancel(self, ids: set[int]) -> None:
        self._pull_back(ids)
        for request in self._take_queued(ids):
            self._respond_unrun(request, Status.CANCELLED)

    def _take_queued(self, ids: set[int]) -> list[CommandRequest]:
        """Take the commands among `ids` out of the queue, in order."""
        taken = [item[0] for item in self.queue if item is not _STOP and item[0].id in ids]
        if taken:
            self.queue = collections.deque(item for item in self.queue if item is _STOP or item[0].id not in ids)
        return taken

    def _next_item(self):
        if not self.queue:
            return None
        item = self.queue.popleft()
        if item is _STOP:
            self.finished = True
            return None
        return item

    # ----- running commands -----------------------------------------------------------------
    def _start(self, request: CommandRequest, buffers: list) -> None:
        if request.id in self.interrupt_on_start:
            self.interrupt_on_start.discard(request.id)
            self._respond_unrun(request, Status.INTERRUPTED)
            return
        self.running = request
        self.running_since = time.monotonic()
        self.progress = None
        self.executor.run(request, buffers, self._answer_terms(request))

    def _answer_terms(self, request: CommandRequest) -> answers.AnswerTerms | None:
        """The terms on which the worker may answer `request` itself (`core.wire.answers`): the
        client must first have all this rank has made so far, sent now; the client's envelopes
        taken here so far are whole here. None when this rank answers: its time limit is judged
        here, and a fresh namespace said here. A command
        handed over behind another (`_hand_over`) is never answered by its worker: the rank may
        not have sent the response of the one before yet. Nor is one with others queued behind
        it: their responses go together, in one envelope, and none waits for one alone."""
        if self.answers is None or request.time_limit is not None or self.namespace_reset or self.queue:
            return None
        self.flush_output()
        self.flush_responses()
        return answers.AnswerTerms(self.peer.sent, self.peer.received)

    def _request_interrupt(self, command_id: int | None) -> None:
        """Interrupt `command_id` (None: what runs, else what runs next) now or when it starts.

        The client may see a command as running a moment before this rank starts it."""
        self._pull_back()
        if self.running is not None and command_id in (None, self.running.id):
            self.executor.interrupt()
        elif command_id is not None:
            self.interrupt_on_start.add(command_id)
        elif self.queue and self.queue[0] is not _STOP:
            self.interrupt_on_start.add(self.queue[0][0].id)

    def complete(self, fields: dict, result: list) -> None:
        """The running command is over: send its output, then its response. The worker has
        started the first command handed over behind it, if any (`_hand_over`). When none runs
        now, no other response can join this one in the step: it goes at once, not after the
        rest of the step (≈ 20 µs of a single command's round trip)."""
        request, self.running = self.running, self.executor.running
        if self.running is not None:
            self.running_since = time.monotonic()
            self.progress = None
        if fields.get("answered"):
            return  # its worker answered the client (`core.wire.answers`); it printed nothing
        self.flush_output()
        self._respond(request, fields, result)
        if self.running is None:
            self.flush_responses()

    # ----- commands handed to the worker ahead of time ------------------------------------------
    def _hand_over(self) -> bool:
        """Hand the executor the commands queued behind the one it runs, for its worker to start
        one after the other (`core.supervision.supervisor.WorkerSupervisor.hand_over`): not one
        that an interrupt awaits (it is answered in `_start`), nor past a stop or a pending restart."""
        handed = False
        while (self.running is not None and not self.reset_pending and self.queue and self.queue[0] is not _STOP
               and self.queue[0][0].id not in self.interrupt_on_start and self.executor.hand_over(*self.queue[0])):
            self.queue.popleft()
            handed = True
        return handed

    def _pull_back(self, ids: set[int] | None = None) -> None:
        """Take back what was handed over and has not started (given `ids`: unless none of them
        is among it), to the head of the queue (`give_back`), so that a cancel, a recall, an
        interrupt or a stop finds every command where it would be had none been handed over, and
        `running` is what runs."""
        self.executor.take_back(ids)

    def give_back(self, items: list[tuple[CommandRequest, list]]) -> None:
        """Commands handed over that the worker never started: first in the queue again."""
        self.queue.extendleft(reversed(items))

    def _respond_unrun(self, request: CommandRequest, status: Status) -> None:
        """Answer for a command that never ran (cancelled, or interrupted before it started)."""
        self._respond(request, failure(status, NOT_STARTED[status]), [])

    def _respond(self, request: CommandRequest, fields: dict, result: list) -> None:
        fields["id"] = request.id
        fields["server"] = self.rank
        fields["namespace_reset"] = self.namespace_reset
        if fields["status"] != Status.CANCELLED:
            self.namespace_reset = False
        self.responses.add(fields, result)
        if self.responses.full:
            self.flush_responses()

    def flush_responses(self) -> None:
        """Send the responses made so far, in one envelope."""
        if self.responses.items:
            batch, self.responses = self.responses, Batch()
            self.peer.send(Tag.RESPONSE, batch.items, batch.buffers)

    def _info(self) -> ServerInfo:
        """What READY says: who runs this rank, and where the client counts its envelopes."""
        inbox = self.peer.inbox
        return ServerInfo(self.rank, self.host, os.getpid(), self.worker_pid,
                          inbox.address() if inbox is not None else None)

    def send(self, tag: Tag, payload) -> None:
        """Send one envelope to the client, after the responses made before it."""
        self.flush_responses()
        self.peer.send(tag, payload)

    def _restart(self) -> None:
        """The client asked for a fresh namespace (its `restart_server`)."""
        self._pull_back()
        if not self.executor.restart():
            self.reset_pending = True  # asked again once the running command ends, see `_step`
            self.executor.interrupt()

    def namespace_lost(self, detail: str, fields: dict | None) -> None:
        """Say plainly that the namespace is gone: in the log, in the response of the command
        that was running (`fields`), in the next command's response, and with a new READY."""
        self.add_log(LogItem(self.running.id if self.running else None, time.time(), 40,
                             "mpipanel.server", detail))
        self.namespace_reset = True
        if self.running is not None and fields is not None:
            self.complete(fields, [])
            self.namespace_reset = True  # and the next command will say so again
        self.send(Tag.READY, self._info())

    def preloaded(self, error: str | None) -> None:
        """The preload ran in a fresh namespace. A failure does not stop the server: its
        traceback goes to the log as an ERROR record and into every status until the next
        fresh namespace preloads cleanly; the next heartbeat goes out now."""
        self.preload_error = error
        if error is not None:
            self.add_log(LogItem(None, time.time(), 40, "mpipanel.preload",
                                 f"The preload of server {self.rank} failed; its commands run "
                                 f"without the rest of it:\n{error}"))
        self.next_heartbeat = time.monotonic()

    @property
    def worker_pid(self) -> int | None:
        return self.executor.pid

    # ----- output -------------------------------------------------------------------------
    def add_output(self, stream: str, data: bytes) -> None:
        if self.log_mode == "separated":
            self.separate_log.write_output(data)
            return
        if self.log_mode == "unified":
            target = sys.__stdout__ if stream == "stdout" else sys.__stderr__
            target.buffer.write(data)
            target.flush()
            return
        command_id = self.running.id if self.running else None
        with self.output_lock:
            self.batch.add_output(command_id, stream, data)

    def add_progress(self, item: ProgressItem) -> None:
        """Progress goes to the client whatever the log mode: it is the command's state, not output."""
        self.progress = item
        with self.output_lock:
            self.batch.add_progress(item)

    def add_log(self, item: LogItem) -> None:
        if self.log_mode == "separated":
            self.separate_log.write_log(item)
            return
        if self.log_mode == "unified":
            print(f"{item.logger}: {item.message}", file=sys.__stderr__, flush=True)
            return
        with self.output_lock:
            self.batch.add_log(item)

    def _separate_log_opened(self, path) -> None:
        """Say where the 'separated' log went in the server's pane (not in the file itself): its
        name is not the predicted one when that was taken."""
        with self.output_lock:
            self.batch.add_log(LogItem(None, time.time(), 20, "mpipanel.server",
                                       f"Server {self.rank} writes its output and log records to {path}"))

    def output_due(self) -> bool:
        """True when the output batch must go now (it is full, or its oldest item old enough)."""
        with self.output_lock:
            return self.batch.due(time.monotonic())

    def flush_output(self) -> None:
        with self.output_lock:
            items = self.batch.take() if self.batch.items else None
        if items:
            self.flush_responses()
            self.output_in_flight.append(self.peer.send_tracked(Tag.OUTPUT, items))

    def server_status(self) -> ServerStatus:
        cpu, rss = self._usage()
        running = self.running
        return ServerStatus(self.rank, running is not None, running.id if running else None,
                            running.command if running else None,
                            sum(item is not _STOP for item in self.queue) + self.executor.handed_over, os.getpid(),
                            self.worker_pid, self.host, cpu, rss, time.time(), self.preload_error,
                            str(self.separate_log.path) if self.separate_log.path else None,
                            self.executor.worker_silence(time.monotonic()),
                            self._progress_of(running))

    def _progress_of(self, running: CommandRequest | None) -> ProgressItem | None:
        """The running command's latest progress (not a late one of the command before it)."""
        progress = self.progress
        return progress if running is not None and progress is not None and progress.command_id == running.id else None

    def _usage(self) -> tuple[float, int]:
        """CPU % and resident memory of this rank plus its worker."""
        cpu, rss = self.executor.usage()
        return cpu + self.process.cpu_percent(None), rss + self.process.memory_info().rss

    def _finish(self) -> None:
        self.flush_output()
        for req in self.output_in_flight:
            req.Wait()
        self.separate_log.close()
        self.send(Tag.STOPPED, None)
        self.peer.wait_sends()


def _await_hello(comm: MPI.Comm) -> ServerConfig | StopRequest:
    """Wait for the client's hello, or a stop before any; sleep meanwhile, do not spin. Asked
    where this rank runs first (`Tag.WHERE`), say so and wait on."""
    status = MPI.Status()
    while True:
        delay = 0.0005
        while not comm.Iprobe(0, MPI.ANY_TAG, status):
            time.sleep(delay)
            delay = min(2 * delay, 0.05)
        _, tag, payload, _ = receive(comm, status, 0, block=True)
        if tag != Tag.WHERE:
            return payload
        send_unannounced(comm, 0, Tag.WHERE, (MPI.Get_processor_name(), doorbell.host_addresses()))


def _answer_route(config: ServerConfig, peer: Peer) -> answers.AnswerRoute | None:
    if not config.answers or peer.board is None:  # the client offers its box to workers only
        return None
    sock = answers.connect(config.answers)
    return None if sock is None else answers.AnswerRoute(sock, peer.board.fd)


def _client_peer(comm: MPI.Comm, sock, config: ServerConfig) -> Peer:
    """The client as this rank's peer, with the boards of both when they share a host
    (`core.wire.boards`): this rank's own, announced in READY, and the client's."""
    peer = Peer(comm, 0, sock)
    peer.board = boards.board_for(config.board, config.board_slot)
    if peer.board is not None:
        peer.inbox = boards.Board(slots=1)
    return peer


def main() -> None:
    """Entry point of a server rank, in either launch mode."""
    parent = MPI.Comm.Get_parent()
    comm = MPI.COMM_WORLD if parent == MPI.COMM_NULL else parent
    # A terminal's Ctrl-C reaches every rank; the client decides what stops. Workers inherit the
    # ignored SIGINT until they install their own handler, so an early interrupt cannot kill one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = _await_hello(comm)
    if isinstance(config, StopRequest):
        return
    same_host = config.client_host == MPI.Get_processor_name()
    if same_host and config.nice:
        priority.lower(config.nice)  # before the worker starts: it inherits the niceness
    sock = doorbell.connect(config.doorbell_addresses, config.doorbell_port,
                            config.doorbell_token, config.rank, same_host)
    server = Server(_client_peer(comm, sock, config), config)
    try:
        server.serve()
    except PeerLost:
        server.client_alive = server.finalize = False  # MPI_Finalize would wait for it forever
    server.executor.close()
    if comm is parent and server.client_alive:
        comm.Disconnect()  # collective: the client disconnects every healthy spawned group
        server.finalize = True  # and then this process's MPI stands alone
    if not server.finalize:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    sock.close()


if __name__ == "__main__":
    main()
