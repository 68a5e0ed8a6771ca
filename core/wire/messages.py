"""The whole protocol between the client (rank 0), its servers and their workers, in one place.

Client and server share this module and nothing else. Every MPI message is a pickled tuple whose
kind is its MPI tag. A command's parameters and its result travel as the message's buffers
(`core.wire.blobs`: pickle-5 data plus out-of-band buffers; `core.wire.transport` sends large ones as raw
`Tag.BUFFER` messages right behind the envelope), so a 100 MB array is never copied into a pickle.
Beside an MPI message the sender writes one byte on the peer's TCP doorbell socket (on one host,
only when the peer sleeps: `core.wire.boards`); that is what lets an idle side sleep in `select()`
instead of spinning in MPI (see `core.wire.transport`).

Server and worker (a child process without MPI) speak over a local socket with `WorkerKind`
frames; the worker's stdout and stderr are plain pipes the server reads.
"""
from __future__ import annotations

import enum
import signal
from typing import NamedTuple

from core.wire.boards import BoardAddress


@enum.unique
class Tag(enum.IntEnum):
    """MPI tags; each names one message kind and the payload it carries."""

    # client -> server
    HELLO = 1          # ServerConfig
    COMMAND = 2        # CommandRequest; buffers: the pickled parameters, if any
    CANCEL = 3         # list of command ids still queued on the server
    INTERRUPT = 4      # command id to interrupt, or None for whatever runs
    SET_LOG_MODE = 5   # one of LOG_MODES
    STOP = 6           # StopRequest
    RESTART = 7        # None: drop the namespace (kill the worker), answer READY again
    SET_LOG_LEVEL = 8  # int: the `logging` level below which the server's records are dropped
    STACKS = 9         # int: a request number; answered by a STACK_REPORT of the same number
    RECALL = 0         # list of ids of first-available commands queued behind another: give back any not started
    # server -> client
    READY = 10         # ServerInfo, at start and after each restart
    RESPONSE = 11      # dict of response fields; buffers: the pickled result unless it is None
    OUTPUT = 12        # list of OutputItem / LogItem, batched
    STATUS = 13        # ServerStatus (heartbeat)
    STOPPED = 14       # None
    STACK_REPORT = 15  # (request number, core.stacks.StackReport): where the running command is now
    RECALLED = 16      # list of the ids a RECALL got back: they never ran here and never will
    # either way
    BUFFER = 20        # one raw buffer of the envelope sent just before it
    WHERE = 21         # before the hello (mpiexec): client -> server None; server -> client
                       # (processor name, its IPv4 addresses), so the doorbell listens where they reach


def tag_name(tag: int) -> str:
    """The name of `tag` (`'RESPONSE'`), or its number when this protocol has no such tag: what
    an error about a message that no handler takes names."""
    try:
        return Tag(tag).name
    except ValueError:
        return str(tag)


LOG_MODES = ("redirect", "unified", "separated")
"""'redirect': server output and log records go to the client; 'unified': to the server's own
terminal; 'separated': to one file per server (`core.server.separate_log`)."""
ISOLATION_MODES = ("process", "none")

TIME_LIMIT_GRACE = 5.0
"""Seconds a command that reached its time limit (or a forced stop) has to end after the interrupt
before its worker is killed, unless the client says otherwise (`MPICommandClient(time_limit_grace=...)`)."""

STACK_SIGNAL = signal.SIGRTMIN + 2
"""The signal on which a worker writes every thread's stack to the pipe its supervisor reads
(`core.supervision.worker_process`), then `STACKS_END`: its stacks thread, holding the GIL, so that
no other thread runs Python meanwhile. A real-time signal, which user code hardly ever takes for
itself, unlike SIGUSR1."""
FORCED_STACK_SIGNAL = signal.SIGRTMIN + 3
"""The signal on which a worker's `faulthandler` writes every thread's stack from its signal
handler, without the GIL: for a worker whose C code holds the GIL, so that `STACK_SIGNAL` gets no
answer. Only then: a dump from a signal handler reads the frames of threads that may run on, and
crashes the worker (SIGSEGV) when one of them pushes and pops frames meanwhile."""
STACKS_END = b"\0"
"""Written after a dump taken on `STACK_SIGNAL`: the dump is whole, no thread of the worker is
being read any longer."""


SERVER_RANK_VARIABLE = "MPIPANEL_SERVER_RANK"
"""Set by a server rank in its own environment, which its worker inherits, to its rank: code that
runs a server's commands (casampi's `MPIEnvironment` in `core.casampi`) can tell where it runs
without touching MPI."""


class ServerConfig(NamedTuple):
    rank: int
    log_mode: str
    isolation: str
    heartbeat_interval: float
    doorbell_addresses: list[str]
    doorbell_port: int
    doorbell_token: bytes
    client_host: str
    replaces_lost: bool
    """This server takes the rank of one that was lost: its first response says so."""
    nice: int
    """Added to the niceness of the server and its worker when they share the client's host."""
    log_level: int = 20
    """The `logging` level below which the server's records are dropped (`logging.INFO`)."""
    preload: str | None = None
    """Code run in every fresh namespace before its first command (`MPICommandClient(preload=...)`)."""
    board: BoardAddress | None = None
    """The client's board (`core.wire.boards`), where this server counts its envelopes at `board_slot`."""
    board_slot: int = 0
    answers: bytes | None = None
    """The client's `core.wire.answers.AnswerBox`, where this server's worker may answer it itself."""


class StopRequest(NamedTuple):
    force: bool
    """Cancel the queue and interrupt the running command, instead of finishing them first; a
    command still running `grace` seconds later has its worker killed."""
    finalize: bool
    """False once a rank was lost: then MPI_Finalize would wait forever, so exit without it."""
    grace: float = TIME_LIMIT_GRACE


class ServerInfo(NamedTuple):
    rank: int
    host: str
    pid: int
    worker_pid: int | None
    board: BoardAddress | None = None
    """The server's board, where the client counts its envelopes (slot 0)."""


class CommandRequest(NamedTuple):
    """A command as its server and worker get it. It travels as a plain tuple (`tuple(request)`),
    made one again where it arrives (`CommandRequest._make`): pickled, a NamedTuple names its
    class, which costs ≈ 2.5 µs to pickle and 2 to unpickle on each hop (a plain tuple ≈ 0.5 each)."""

    id: int
    command: str
    summarize: bool = False
    """Answer with a summary of the namespace after the command (response field `namespace`)."""
    time_limit: float | None = None
    """Seconds the command may run before it is interrupted (status 'expired'); None: no limit."""
    grace: float = TIME_LIMIT_GRACE
    """Seconds it has to end after that interrupt before its worker is killed."""


class NameSummary(NamedTuple):
    """One name of a server's namespace, described without its value (`core.worker.namespace_summary`)."""

    name: str
    type: str
    shape: tuple[int, ...] | None
    """An array's shape; None for a value without one."""
    length: int | None
    """`len(value)` for a sized value that has no shape, else None."""
    nbytes: int
    """An array's data size; for anything else the shallow `sys.getsizeof`."""
    preview: str


class OutputItem(NamedTuple):
    command_id: int | None
    stream: str        # 'stdout' or 'stderr'
    text: str


class LogItem(NamedTuple):
    command_id: int | None
    time: float
    level: int
    logger: str
    message: str


class ProgressItem(NamedTuple):
    """How far a command is, as its code last said with `progress(done, total, text)`
    (`core.worker.progress`); it travels batched with the output."""

    command_id: int
    done: float
    total: float
    text: str
    time: float


class ServerStatus(NamedTuple):
    rank: int
    busy: bool
    command_id: int | None
    command: str | None
    queue_length: int
    pid: int
    worker_pid: int | None
    host: str
    cpu_percent: float
    rss: int
    time: float
    preload_error: str | None = None
    """The traceback of the preload in the current namespace, if it failed."""
    log_file: str | None = None
    """The file the 'separated' log mode writes to, once made (`core.server.separate_log`)."""
    worker_silence: float = 0.0
    """Seconds the running command's worker has not shown a sign of life (a frame, output): its
    threads cannot run (C code holding the GIL, a stopped process); 0 when nothing runs. The
    client counts it as it counts the rank's own silence (`heartbeat_timeout`)."""
    progress: ProgressItem | None = None
    """The running command's latest progress, if it said any."""


@enum.unique
class WorkerKind(enum.IntEnum):
    """Frames between a server rank (or rank 0, `core.console`) and its worker process."""

    RUN = 1            # server -> worker: CommandRequest as a plain tuple, buffers: parameters
    LOG = 2            # worker -> server: LogItem
    DONE = 3           # worker -> server: dict of response fields, buffers: result
    RELEASE = 4        # server -> worker: the buffers lent in the last frame are copied
    RESEND = 5         # server -> worker: they could not be read; send that frame's bytes instead
    SET_LOG_LEVEL = 6  # server -> worker: int, the `logging` level of its records from now on
    PRELOAD = 7        # server -> worker: the preload's code (None: none), run before any RUN
    PRELOADED = 8      # worker -> server: ready; None, or the traceback of the failed preload
    PROGRESS = 13      # worker -> server: ProgressItem, at most every REPORT_INTERVAL (core.worker.progress)
    BEAT = 14          # worker -> server: None, a sign of life while it works (core.worker.progress)
    # Only between rank 0 and its client-side worker (core.console), while a command runs there:
    CALL = 9           # worker -> rank 0: (call number, method, origin), buffers: blobs of (args, kwargs)
    REPLY = 10         # rank 0 -> worker: (call number, raised), buffers: blobs of the value or exception
    EVENT = 11         # rank 0 -> worker: None, buffers: blobs of an event about a command it pushed
    RESOLVED = 12      # rank 0 -> worker: (call number, index, raised), buffers: blobs of the outcome of
                       #   the index-th future that call's answer promised (a command's response, ...)
    # Only between a server rank and a worker that takes its commands from a queue (core.wire.command_queue):
    DRAINED = 15       # server -> worker: None, the output its DONE said was unread is read: go on
    RUN_AND_ANSWER = 16  # server -> worker: (CommandRequest, AnswerTerms), both as plain tuples,
                         #   buffers: parameters; the worker may answer the client itself (core.wire.answers)


@enum.unique
class ConsoleCall(str, enum.Enum):
    """The calls code in rank 0's client-side worker makes of rank 0's client: a CALL frame's
    method. `core.console.proxy` makes them and `core.console.host` answers each with the handler
    its table names, so both ends refer to the same member and an unknown call is one error."""

    PUSH_COMMAND_REQUEST = "push_command_request"
    GET_COMMAND_RESPONSE = "get_command_response"
    COMMAND_FUTURES = "command_futures"        # its answer promises one future per command id
    GET_SERVER_STATUS = "get_server_status"
    SERVER_RANKS = "server_ranks"
    INTERRUPT = "interrupt"
    CANCEL = "cancel"
    RESTART_SERVER = "restart_server"          # promises the future of the server's status
    SET_LOG_MODE = "set_log_mode"
    SET_LOG_LEVEL = "set_log_level"
    SUBSCRIBE = "subscribe"
    ENVIRONMENT = "environment"
    SETTINGS = "settings"                      # the client's settings and its session log's path
    SAVE_SESSION = "save_session"
    SESSION_SCRIPT = "session_script"
    PUSH = "push"                              # data moves: blocking, or promising the move's future
    PULL = "pull"
    SCATTER = "scatter"
    GATHER = "gather"
    PURGE_RESULTS = "purge_results"
    SET_RESULT_MEMORY = "set_result_memory"
    WATCH_NAMESPACES = "watch_namespaces"
    REQUEST_NAMESPACE_SUMMARIES = "request_namespace_summaries"  # promises the summaries' future
    NAMESPACE_SUMMARY = "namespace_summary"
    STACKS = "stacks"                          # promises the future of the servers' stacks
    SUSPEND_TIMEOUTS = "suspend_timeouts"

    def __str__(self) -> str:
        return self.value
