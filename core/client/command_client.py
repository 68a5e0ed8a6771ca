"""`MPICommandClient`: the mpi4casa client API, plus futures and events for GUIs and asyncio.

Rank 0 sends Python command strings to its servers and gets a response dict for each: to the first
available server, to one server, or to several; blocking or not. The seed API
(`push_command_request`, `get_command_response`, ...) is kept as mpi4casa documents it; `submit`
returns `concurrent.futures.Future`s and `subscribe` streams events (`core.events`).
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from collections.abc import Callable

import psutil

from core import environment, finalize_guard, roles

from core.client import validation
from core.client.console import ConsolePrinter
from core.client.engine import Engine
from core.environment import MPIEnvironment, default_server_count
from core.events import CLIENT_RANK, CommandStarted, Event, EventHub, NamespaceChanged
from core.client.dispatcher import Dispatcher
from core.client.ledger import CommandRecord
from core.client import data_moves
from core.client.result_budget import DEFAULT_RESULT_MEMORY, ResultBudget
from core.client.sigint_relay import SigintRelay
from core.futures import CommandFuture, command_ids, when_all
from core.sessions.session_log import SessionLog, new_log_path
from core.wire.answers import AnswerBox
from core.wire.boards import Board
from core.wire.messages import ISOLATION_MODES, LOG_MODES, TIME_LIMIT_GRACE, ServerConfig, StopRequest, Tag
from core.wire.responses import CommandResponse, Status

STOP_TIMEOUT = 30.0
LOST_RANK_SETTLE = 1.0
_world_claimed = False
"""An mpiexec job's servers serve one client; once it stopped they are gone."""


def stop_everything(force: bool) -> None:
    """Stop every running client, or free the servers of an mpiexec job that no client claimed:
    what a launcher does on its way out, whatever the program did, so that no rank waits forever."""
    try:
        clients = environment.running_clients()
        for client in clients:
            client.stop_services(force_command_request_interruption=force)
        if not clients and MPIEnvironment.launch_mode == "mpiexec" and not _world_claimed:
            from core.client.launch import release_world_servers
            release_world_servers()
    except BaseException:  # noqa: BLE001 - last resort: never leave ranks hanging
        import traceback
        traceback.print_exc()
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(1)


class MPICommandClient:
    """Client of an interactive MPI session: rank 0 of an mpiexec job, or a process that spawns
    its own servers (`servers=K`, else `MPIPANEL_SERVERS`, else min(4, CPU count)).

    `isolation='process'` (the default) runs each server's commands in a worker process that the
    server rank supervises, so a crash in a command costs that server's namespace, never the job.
    `isolation='none'` runs them in the rank itself: lower latency, but a segfault, a kill or
    `os._exit` in a command ends the whole MPI job, this client included.

    `session_log`: True writes every command and its outcome to a new JSON Lines file in the user
    state directory (`session_log_path`); a path writes there; False writes nothing.

    `server_nice` (0–19) lowers the CPU priority of the servers (and their workers) that run on
    this client's machine: a GUI asks for it so that servers saturating the cores cannot starve
    it. An idle GUI costs them nothing; other programs of the same priority do compete.

    `preload`: code text, or the path of a .py file (read here), run in every server's namespace
    before its first command and again in every fresh one (after a crash or a restart): imports,
    `os.environ['OMP_NUM_THREADS']`, `os.chdir(...)`. `MPIPANEL_SERVER_RANK` in `os.environ` holds
    the server's rank. A failing preload leaves the server serving: its traceback is logged as an
    ERROR record and shown as `preload_error` in `get_server_status()`. Default: what
    `--casa` and `python -m core --preload` set (`core.environment.SERVER_PRELOADS`) run first.

    `result_memory`: bytes of command results the client keeps (None: no limit); beyond it the
    oldest results' values are let go (see `core.client.result_budget` and `purge_results`).

    `time_limit_grace`: seconds a command that reached its time limit (`timeout=` of a push), or
    that a forced stop interrupted, has to end before its worker is killed (a push may give its own).
    """

    def __new__(cls, *args, **kwargs):
        """Under mpiexec the job's servers serve one client: made again in a process whose client
        runs, `MPICommandClient()` is that client (as casampi's is), its settings unchanged."""
        running = environment.running_clients()
        if running and MPIEnvironment.launch_mode == "mpiexec":
            return running[0]
        return super().__new__(cls)

    def __init__(self, servers: int | None = None, *, isolation: str = "process",
                 heartbeat_interval: float = 1.0, heartbeat_timeout: float = 10.0,
                 print_output: bool = True, session_log: bool | str | os.PathLike = True,
                 server_nice: int = 0, preload: str | os.PathLike | None = None,
                 result_memory: int | None = DEFAULT_RESULT_MEMORY, time_limit_grace: float = TIME_LIMIT_GRACE):
        if self in environment.running_clients():
            return  # the running client of this mpiexec job, found by `__new__`
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {ISOLATION_MODES}, not {isolation!r}")
        if servers is not None and (isinstance(servers, bool) or not isinstance(servers, int) or servers < 1):
            raise ValueError(f"servers must be a positive whole number, not {servers!r}")
        if heartbeat_interval <= 0 or heartbeat_timeout <= heartbeat_interval:
            raise ValueError("heartbeat_timeout must exceed heartbeat_interval, both positive")
        if isinstance(server_nice, bool) or not isinstance(server_nice, int) or not 0 <= server_nice <= 19:
            raise ValueError(f"server_nice must be a whole number from 0 to 19, not {server_nice!r}")
        _check_result_memory(result_memory)
        self.time_limit_grace = validation.check_grace(time_limit_grace, "time_limit_grace")
        self.server_nice = server_nice
        own = validation.check_preload(preload)
        self.preload = "\n".join(filter(None, [environment.SERVER_PRELOADS.code(), own])) or None
        """The preload's code text (read from its file, if it named one), or None."""
        self._requested_servers = servers
        self.isolation = isolation
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self._log_mode = "redirect"
        self._log_level = logging.INFO
        self._state = "new"
        self._hub = EventHub()
        self._engine: Engine | None = None
        self._dispatcher: Dispatcher | None = None
        self._groups: list = []
        self._sigint_relay: SigintRelay | None = None
        self._board: Board | None = None
        """Where servers on this host count what they send (`core.wire.boards`), once started."""
        self._board_slots: dict[int, int | None] = {}
        """Each server's slot on the board, as its latest hello gave it."""
        self._answers: AnswerBox | None = None
        """Where the workers of servers on this host answer this client themselves (`core.wire.answers`)."""
        self._session_log_choice = session_log
        self._session_log: SessionLog | None = None
        self._budget = ResultBudget(result_memory, self._hub)
        self._hub.subscribe(self._budget)
        self._console = ConsolePrinter() if print_output else None
        if self._console is not None:
            self._hub.subscribe(self._console)
        self._state_lock = threading.Lock()

    # ----- life cycle ---------------------------------------------------------------------
    @property
    def launch_mode(self) -> str:
        """'mpiexec' (servers are world ranks 1..N-1) or 'spawn' (this client spawned them)."""
        return MPIEnvironment.launch_mode

    def set_log_mode(self, mode: str) -> None:
        """'redirect': server output and log records reach the client live (printed as
        `[server N] ...` without a GUI). 'unified': they stay on each server's own streams.
        'separated': each server writes them to a file of its own,
        `mpipanel-server-<rank>-host-<host>-pid-<pid>.log` in its working directory
        (`core.server.separate_log`)."""
        if mode not in LOG_MODES:
            raise ValueError(f"log mode must be one of {LOG_MODES}, not {mode!r}")
        self._log_mode = mode
        self._tell_servers(Tag.SET_LOG_MODE, mode)

    @property
    def log_mode(self) -> str:
        return self._log_mode

    def set_log_level(self, level: int | str) -> None:
        """The servers' logging threshold: records below `level` (a `logging` level, or its name
        such as 'DEBUG') are dropped where the command runs. INFO by default. A running command
        keeps the level it started with."""
        number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"log level must be a logging level or one of DEBUG, INFO, WARNING, "
                             f"ERROR, CRITICAL, not {level!r}")
        self._log_level = number
        self._tell_servers(Tag.SET_LOG_LEVEL, number)

    @property
    def log_level(self) -> int:
        return self._log_level

    def _tell_servers(self, tag: Tag, value) -> None:
        """Send a setting to every server now, if they run; servers started later get it in
        their hello (`_config`)."""
        if self._state == "running":
            self._engine.call(lambda: [self._engine.send(r, tag, value) for r in self._engine.peers],
                              direct=True)

    def start_services(self) -> None:
        """Start (or find) the servers and wait until every one is ready. Idempotent."""
        global _world_claimed
        with self._state_lock:
            if self._state == "running":
                return
            if self._state == "stopped":
                raise RuntimeError("this client's services were stopped; create a new MPICommandClient")
            from core.client import launch
            if not MPIEnvironment.is_mpi_client:
                roles.serve_and_exit()
            log_path = self._session_log_path()  # a state directory that is not private stops us here
            self._board = Board() if Board.available() else None
            # Only workers answer (isolation 'process'); without one, nothing would read the box.
            self._answers = AnswerBox() if self._board is not None and self.isolation == "process" else None
            if self.launch_mode == "mpiexec":
                if _world_claimed:
                    raise RuntimeError("the servers of this mpiexec job already served a client "
                                       "that has stopped them")
                if self._requested_servers not in (None, MPIEnvironment.mpi_world_size - 1):
                    raise ValueError(f"servers={self._requested_servers}, but this mpiexec job has "
                                     f"{MPIEnvironment.mpi_world_size - 1} server ranks")
                _world_claimed = True
                group = launch.world_servers(self._config)
            else:
                count = self._requested_servers or default_server_count()
                group = launch.spawn_servers(1, count, self._config)
            self._engine = engine = Engine(self._hub, self.heartbeat_timeout, self._board, self._answers)
            self._dispatcher = Dispatcher(engine, self.cancel)
            self._groups.append(group)
            self._give_inboxes(group.peers)
            engine.add_servers(group.comm, group.peers)
            engine.start()
            self._state = "running"
            environment.client_started(self)
            atexit.register(self._stop_at_exit)
            self._sigint_relay = SigintRelay.start()
        ranks = set(group.peers)
        ready = self._engine.wait(lambda: all(self._engine.views[r].info is not None for r in ranks),
                                  timeout=launch.CONNECT_TIMEOUT)
        if not ready:
            missing = sorted(r for r in ranks if self._engine.views[r].info is None)
            raise RuntimeError(f"servers {missing} did not report ready")
        self._open_session_log(log_path)
        environment.client_ready(self)

    def _session_log_path(self) -> Path | None:
        choice = self._session_log_choice
        if choice is False:
            return None
        return new_log_path() if choice is True else Path(choice)

    def _open_session_log(self, path: Path | None) -> None:
        if path is None:
            return
        self._session_log = SessionLog(path, self._session_header())
        self._unsubscribe_log = self._hub.subscribe(self._session_log)

    def _session_header(self) -> dict[str, Any]:
        return {"launch_mode": self.launch_mode, "servers": self.server_ranks(), "isolation": self.isolation,
                "log_mode": self._log_mode, "host": MPIEnvironment.hostname, "pid": os.getpid(),
                "preload": self.preload}

    @property
    def session_log_path(self) -> Path | None:
        """Where this session is being logged (None when logging is off or not started)."""
        return self._session_log.path if self._session_log is not None else None

    def save_session(self, path: str | os.PathLike, only_successful: bool = False,
                     include_interrupted_cancelled: bool = True) -> Path:
        """Write the commands sent so far as a replayable script (see `core.sessions.session_script`).

        Raises ValueError naming a parameter that has no literal form; writes nothing then.
        """
        path = Path(path)
        path.write_text(self.session_script(only_successful, include_interrupted_cancelled, path.name),
                        encoding="utf-8")
        return path

    def session_script(self, only_successful: bool = False, include_interrupted_cancelled: bool = True,
                       name: str = "session.py") -> str:
        """The text `save_session` writes, for a frontend that saves it on its own machine; `name`
        is the file's name, which the script's docstring says how to run."""
        from core.sessions import recorded, session_script
        pushes = session_script.choose(recorded.from_records(self.commands), only_successful,
                                       include_interrupted_cancelled)
        return session_script.render(pushes, self._session_header(), name)

    def _config(self, rank: int, listener) -> ServerConfig:
        replaces_lost = self._engine is not None and rank in self._engine.views
        slot = self._board_slots[rank] = self._board.take_slot() if self._board is not None else None
        return ServerConfig(rank, self._log_mode, self.isolation, self.heartbeat_interval,
                            listener.addresses, listener.port, listener.token, MPIEnvironment.hostname,
                            replaces_lost, self.server_nice, self._log_level, self.preload,
                            None if slot is None else self._board.address(), slot or 0,
                            self._answers.address if self._answers is not None else None)

    def _give_inboxes(self, peers: dict) -> None:
        """Servers just greeted count their envelopes on this client's board, at their slots
        (those on this host: the others ring, and `Peer.owed` counts their bytes alone)."""
        for rank, peer in peers.items():
            if (slot := self._board_slots.get(rank)) is not None:
                peer.inbox, peer.inbox_slot = self._board, slot

    def stop_services(self, force_command_request_interruption: bool = False) -> None:
        """Stop every server and wait until they have. Without force, pending commands finish
        first; with it, queued ones are cancelled and running ones interrupted. While the
        session's stop is held (`core.environment.hold_stop`, `--linger`) it returns at once."""
        if environment.stop_is_held(self):
            return
        with self._state_lock:
            if self._state != "running":
                return
            engine = self._engine
            if force_command_request_interruption:
                self.cancel([r.id for r in engine.ledger.pending()], _direct=True)
            else:
                engine.wait(lambda: not engine.ledger.pending())
            live = [r for r, v in engine.views.items() if not (v.lost or v.stopped)]
            lost = engine.lost_any

            def stop(rank: int) -> StopRequest:
                """A timed-out server's command may never end by itself (C code holding the GIL):
                it is stopped by force, its worker killed after the grace, whatever was asked."""
                force = force_command_request_interruption or engine.views[rank].timed_out
                return StopRequest(force, finalize=not lost, grace=self.time_limit_grace)

            engine.call(lambda: [engine.send(r, Tag.STOP, stop(r)) for r in live], direct=True)
            stopped = engine.wait(lambda: all(engine.views[r].stopped or engine.views[r].lost for r in live),
                                  timeout=STOP_TIMEOUT)
            engine.close()
            if self._board is not None:
                self._board.close()
            if self._answers is not None:
                self._answers.close()
            if not stopped:
                finalize_guard.finalize_is_unsafe("a server did not confirm the stop")
            else:
                for rank in live:  # a large send left unfinished would make the disconnect hang
                    engine.peers[rank].wait_sends()
                if not all([group.disconnect() for group in self._groups]):
                    finalize_guard.finalize_is_unsafe("a replaced server cannot disconnect")
            if lost:
                finalize_guard.finalize_is_unsafe("a server rank was lost")
            if self._console is not None:
                self._console.flush()
            if self._session_log is not None:
                self._unsubscribe_log()
                self._session_log.close()
            self._state = "stopped"
            environment.client_stopped(self)
            atexit.unregister(self._stop_at_exit)
            if self._sigint_relay is not None:
                self._sigint_relay.stop()
                self._sigint_relay = None
        if not stopped:
            silent = [r for r in live if not (engine.views[r].stopped or engine.views[r].lost)]
            raise RuntimeError(f"servers {silent} did not confirm the stop within {STOP_TIMEOUT:g} s")

    def _stop_at_exit(self) -> None:
        """A script's end waits for its pending commands, as casampi's does; one ended by Ctrl-C
        (an uncaught KeyboardInterrupt, which Python keeps in `sys.last_value` for the exit
        hooks) interrupts them instead, since the launcher no longer ends the job on that
        SIGINT (`core.mpi_launcher.launcher_in_own_process_group`)."""
        self.stop_services(force_command_request_interruption=isinstance(
            getattr(sys, "last_value", None), KeyboardInterrupt))

    def __enter__(self) -> MPICommandClient:
        self.start_services()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_services(force_command_request_interruption=exc[0] is not None)

    def _require_running(self) -> Engine:
        if self._state != "running":
            raise RuntimeError("the client's services are not running: call start_services() first"
                               if self._state == "new" else
                               "the client's services were stopped")
        return self._engine

    # ----- commands -----------------------------------------------------------------------
    def push_command_request(self, command: str, block: bool = False, target_server=None,
                             parameters: dict[str, Any] | None = None, *, origin: str | None = None,
                             shown: str | None = None, timeout: float | None = None, grace: float | None = None,
                             retries: int = 0):
        """Send `command` to the first available server (None), one rank, or a list of ranks.

        Non-blocking: returns a list of command ids, one per target. Blocking: waits and returns
        the list of response dicts. `origin` is recorded with it, and `shown` is the text that
        histories show for it instead of `command` (see `core.events.CommandQueued`).

        `timeout`: seconds each command may run; the server holds it to that, whatever the client
        does meanwhile: its stack is taken, it is interrupted, and if it has not ended `grace`
        seconds later (default `time_limit_grace`) its worker is killed and replaced (the namespace
        is lost). It ends with status 'expired'; its response carries `stack` and `time_limit`.
        With isolation 'none' it is only interrupted (there is no worker to kill).

        `retries`: how often a command is sent again when the worker running it dies (a segfault,
        a kill, `os._exit`), under the same id: a command that raised, expired, or whose server
        was restarted, is never sent again. A targeted command goes to the same server, one for
        the first available server to any. Its response lists the failed `attempts`.
        """
        records = self._dispatch().push(command=command, target=target_server, parameters=parameters,
                                        block=block, direct=True, origin=origin, shown=shown,
                                        time_limit=timeout, grace=self._grace(grace), retries=retries)
        if not block:
            return [r.id for r in records]
        self._engine.wait(_all_done(records))
        return [r.response for r in records]

    def submit(self, command: str, target=None, parameters: dict[str, Any] | None = None, *,
               origin: str | None = None, shown: str | None = None, timeout: float | None = None,
               grace: float | None = None, retries: int = 0):
        """Like a non-blocking push, but returns a `CommandFuture` (a list of them for a list of
        targets) whose result is the response dict. Never waits on MPI: safe on a GUI thread.
        `timeout`, `grace` and `retries` as for `push_command_request`."""
        records = self._dispatch().push(command=command, target=target, parameters=parameters, origin=origin,
                                        shown=shown, time_limit=timeout, grace=self._grace(grace), retries=retries)
        futures = [r.future for r in records]
        return futures if isinstance(target, (list, tuple)) else futures[0]

    def _grace(self, grace: float | None) -> float:
        return self.time_limit_grace if grace is None else validation.check_grace(grace)

    def _dispatch(self) -> Dispatcher:
        """The way in for new commands (`core.client.dispatcher`); raises unless running."""
        self._require_running()
        return self._dispatcher

    def get_command_response(self, command_request_id_list, block: bool = False,
                             timeout: float | None = None) -> list[CommandResponse]:
        """Responses for the ids (nested lists allowed): all of them when blocking (None for a
        timeout), else those that are done, in the order asked."""
        records = self._records(command_request_id_list)
        if block and not self._engine.wait(_all_done(records), timeout):
            raise TimeoutError(f"commands {[r.id for r in records if not r.done]} still pending "
                               f"after {timeout:g} s")
        return [r.response for r in records if r.done]

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        """A `threading.Event` set once every listed command has its response."""
        event = threading.Event()
        when_all(self.command_futures(command_request_id_list)).add_done_callback(lambda _: event.set())
        return event

    def _records(self, ids) -> list[CommandRecord]:
        if self._engine is None:
            raise RuntimeError("the client's services are not running: call start_services() first")
        records = []
        for command_id in command_ids(ids):
            record = self._engine.ledger.records.get(command_id)
            if record is None:
                raise ValueError(f"unknown command id {command_id!r}")
            records.append(record)
        return records

    def cancel(self, command_request_id_list, _direct: bool = False) -> None:
        """Cancel commands that have not started; their response has status 'cancelled'.
        A command already running is left alone (see `interrupt`)."""
        engine = self._require_running()
        records = self._records(command_request_id_list)

        def cancel_now() -> None:
            per_server: dict[int, list[CommandRecord]] = {}
            for record in records:
                if record.done or record.status == Status.RUNNING or record.server == CLIENT_RANK:
                    continue  # rank 0's own work is cancelled by core.console
                if record.server is None:
                    engine.fail(record, Status.CANCELLED, "Cancelled before it was sent to a server.\n")
                else:
                    per_server.setdefault(record.server, []).append(record)
            for rank, queued in per_server.items():
                engine.cancel_queued(rank, queued)

        engine.call(cancel_now, direct=_direct)

    def interrupt(self, command_request_id_list=None, *, server: int | None = None) -> None:
        """Raise KeyboardInterrupt in running commands: the listed ones, or whatever `server`
        runs. The server keeps its namespace and goes on with its queue."""
        engine = self._require_running()
        if server is not None:
            validation.check_targets(server, engine.views)
            engine.call(lambda: engine.send(server, Tag.INTERRUPT, None), direct=False)
            return
        records = self._records(command_request_id_list)
        engine.call(lambda: [engine.interrupt_command(r) for r in records
                             if r.server not in (None, CLIENT_RANK) and (r.provisional or not r.done)], direct=False)

    def restart_server(self, rank: int) -> Future:
        """Give server `rank` a fresh, empty namespace, and say so in its next responses.

        A live server replaces its worker process (a command running there fails, saying why);
        a lost server is replaced by a newly spawned process under the same rank. Returns a
        future resolved with the server's status once it is ready again.
        """
        engine = self._require_running()
        validation.check_targets(rank, engine.views)
        future: Future = Future()
        if engine.views[rank].lost:
            threading.Thread(target=self._replace_lost_server, args=(rank, future),
                             name=f"mpipanel-replace-{rank}", daemon=True).start()
        else:
            def restart() -> None:
                engine.when_ready(rank, future)
                engine.send(rank, Tag.RESTART, None)
            engine.call(restart, direct=False)
        return future

    def _replace_lost_server(self, rank: int, future: Future) -> None:
        """Spawn a new server process for `rank`.

        MPICH's hydra handles a dead rank asynchronously, and a spawn that races with that
        handling can get the whole job killed: wait until the lost process is gone and give
        hydra `LOST_RANK_SETTLE` seconds before spawning (measured: without it, 1 run in 5 died).
        """
        from core.client import launch
        engine = self._engine
        info = engine.views[rank].info
        if info is not None and info.host == MPIEnvironment.hostname:
            _wait_for_exit(info.pid)
        time.sleep(LOST_RANK_SETTLE)
        with engine.lock:
            try:
                group = launch.spawn_servers(rank, 1, self._config)
            except Exception as exc:  # noqa: BLE001 - the caller's future carries the failure
                future.set_exception(RuntimeError(f"could not spawn a replacement for server {rank}: {exc}"))
                return
            for old in self._groups:
                if rank in old.peers:
                    old.abandon(rank)
            self._groups.append(group)
            self._give_inboxes(group.peers)
            engine.adopt(group.comm, group.peers)
            engine.when_ready(rank, future)
        engine.wake()

    # ----- data and namespaces (`core.client.data_moves`, `core.client.namespace_watch`) ------
    def push(self, variables: dict[str, Any], targets=None, block: bool = True, *, origin: str | None = None):
        """Bind `variables` on the targets (None or 'all': every server); returns the responses
        (casampi's `MPIInterface.push`). Raises DataMoveError naming a server where it failed.
        `origin`, here and in the other moves, is recorded with their commands, as for a push."""
        return data_moves.push(self._dispatch(), variables, targets, block, origin)

    def pull(self, names: str | list[str], targets=None, block: bool = True, *, origin: str | None = None):
        """`{rank: value}` of one name on the targets (casampi's `MPIInterface.pull`), or
        `{rank: {name: value}}` for a list of names."""
        return data_moves.pull(self._dispatch(), names, targets, block, origin)

    def scatter(self, name: str, sequence, targets=None, block: bool = True, *, origin: str | None = None):
        """Split `sequence` (an array along its first axis) into one part per target and bind
        `name` to it there, in server order; returns the responses."""
        return data_moves.scatter(self._dispatch(), name, sequence, targets, block, origin)

    def gather(self, name: str, targets=None, block: bool = True, *, origin: str | None = None):
        """Pull `name` from the targets and join the parts in server order."""
        return data_moves.gather(self._dispatch(), name, targets, block, origin)

    def purge_results(self, ids=None) -> int:
        """Let go of the values of these commands' results (all for None) now; their responses
        keep everything else and say `ret_dropped`. Returns the bytes let go."""
        chosen = None if ids is None else [record.id for record in self._records(ids)]
        freed = self._budget.purge(chosen)
        self._hub.deliver()
        return freed

    @property
    def result_memory(self) -> int | None:
        """Bytes of results the client keeps at most (None: no limit). Set it to change the
        limit while the client runs: a lower one lets go of the oldest results at once."""
        return self._budget.limit

    @result_memory.setter
    def result_memory(self, limit: int | None) -> None:
        _check_result_memory(limit)
        self._budget.set_limit(limit)
        self._hub.deliver()

    @property
    def result_memory_used(self) -> int:
        """Bytes of results the client keeps now (as `result_memory` counts them)."""
        return self._budget.kept_bytes

    def watch_namespaces(self, on: bool = True) -> None:
        """While on, every command's response brings a summary of its server's namespace
        (a `NamespaceChanged` event, and `namespace_summary(rank)`). It costs each command about
        2–4 ms per 1,000 names (`core.worker.namespace_summary`), so it is off by default."""
        self._require_running().namespaces.watching = bool(on)

    def request_namespace_summaries(self, targets=None) -> Future:
        """Ask the targets (None: every server not lost) for a summary of their namespace after
        what they were sent so far; the future gets `{rank: [NameSummary, ...] or None}`.
        Never waits on MPI; no command appears in the history."""
        engine = self._require_running()
        ranks = self._servers_asked(targets)
        future: Future = Future()
        engine.call(lambda: engine.namespaces.request(
            [r for r in ranks if not engine.views[r].lost],
            engine.send_request, future), direct=False)
        return future

    def namespace_summary(self, rank: int) -> NamespaceChanged | None:
        """The latest summary of server `rank`'s namespace that reached the client (its
        `command_id` and `time` say how recent), or None before any."""
        engine = self._require_running()
        validation.check_targets(rank, engine.views)
        return engine.namespaces.latest.get(rank)

    def stacks(self, servers=None) -> Future:
        """Where every running command is now, without stopping it: a future of `{rank:
        core.stacks.StackReport}` (its threads' stacks, innermost call last; no threads for a
        server that runs nothing; None for one that did not answer within
        `core.client.stack_requests.STACKS_DEADLINE`). Read while C code holds the GIL too.
        `servers`: None for every server not lost, a rank, or a list of ranks.
        `core.stacks.group_stacks` groups the reports by call path. Never waits on MPI."""
        engine = self._require_running()
        ranks = self._servers_asked(servers)
        future: Future = Future()
        engine.call(lambda: engine.request_stacks([r for r in ranks if not engine.views[r].lost], future),
                    direct=False)
        return future

    def _servers_asked(self, targets) -> list[int]:
        """The ranks a request to `targets` goes to: None means every server not lost."""
        engine = self._engine
        ranks = validation.check_targets(targets, engine.views, engine.is_lost)
        return sorted(r for r in engine.views if not engine.is_lost(r)) if ranks == [None] else ranks

    def suspend_timeouts(self, on: bool = True) -> None:
        """While on, no server is newly declared timed out, however long it is silent (a debugger
        holds it: casampi's debugging mode); one timed out already stays so until it speaks."""
        self._require_running().heartbeats.suspended = bool(on)

    def command_futures(self, command_request_id_list) -> list[CommandFuture]:
        """The futures of these commands: a way to wait for them that never takes the MPI lock."""
        return [record.future for record in self._records(command_request_id_list)]

    # ----- rank 0's own work (core.console) -----------------------------------------------
    def open_local_command(self, command: str, parameters: dict[str, Any] | None, origin: str | None,
                           shown: str | None = None, timeout: float | None = None,
                           grace: float | None = None) -> CommandRecord:
        """Record a command that runs on rank 0 itself (`core.console`'s client-side worker) as a
        push to `CLIENT_RANK`, so that the history, the session log and saved scripts keep it in
        order with the commands it pushes. Its pickled parameters are in `record.buffers`, as
        for a push. Its runner calls `start_local_command` when it starts,
        `publish`es its output and ends it with `close_local_command`; the servers never see it."""
        return self._dispatch().open_local(command=command, parameters=parameters, origin=origin, shown=shown,
                                           time_limit=timeout, grace=self._grace(grace))

    def start_local_command(self, record: CommandRecord) -> None:
        record.status = Status.RUNNING
        self.publish(CommandStarted(record.id, CLIENT_RANK, time.time()))

    def close_local_command(self, record: CommandRecord, fields: dict[str, Any]) -> None:
        """Give a command of `open_local_command` its response (`fields` as a worker makes them)."""
        engine = self._engine
        engine.call(lambda: engine.finish(record, fields), direct=False)

    def publish(self, event: Event) -> None:
        """Deliver an event about rank 0's own work, in order with the servers' events."""
        self._hub.post(event)
        self._engine.wake()

    # ----- servers and events -------------------------------------------------------------
    def server_ranks(self) -> list[int]:
        return sorted(self._engine.views) if self._engine is not None else []

    def get_server_status(self) -> dict[int, dict[str, Any]]:
        """Per server rank: state, busy, command, pid, processor (host), timeout, CPU %, RSS ..."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("the client's services are not running: call start_services() first")
        with engine.lock:
            return {rank: engine.server_status(rank) for rank in sorted(engine.views)}

    def last_server_status(self) -> dict[int, dict[str, Any]]:
        """What `get_server_status` said when each server last reported (a heartbeat, a state
        change), without waiting for the MPI lock: for threads that must never block (a GUI)."""
        engine = self._require_running()
        return dict(sorted(engine.last_status.items()))

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Deliver every `core.events` event to `callback`; returns a function that stops it."""
        return self._hub.subscribe(callback)

    @property
    def commands(self) -> list[CommandRecord]:
        """Every command sent so far, oldest first."""
        return list(self._engine.ledger.records.values()) if self._engine else []


def _wait_for_exit(pid: int, timeout: float = 5.0) -> None:
    try:
        psutil.Process(pid).wait(timeout)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass


def _all_done(records: list[CommandRecord]) -> Callable[[], bool]:
    """A cheap repeated check that all records are done (commands finish roughly in order)."""
    position = 0

    def check() -> bool:
        nonlocal position
        while position < len(records) and records[position].done:
            position += 1
        return position == len(records)

    return check


def _check_result_memory(limit) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"result_memory must be a number of bytes (or None), not {limit!r}")
