"""Run command strings in one persistent namespace: the heart of a server, free of MPI.

Used by the worker process (the default) and, with isolation 'none', by the server rank itself.
A command that compiles as an expression is evaluated and its value returned (`mode` 'eval');
anything else is executed as statements (`mode` 'exec'), and, as in IPython, when the last
statement is an expression its value is the result (`x = 1\nx + 1` gives 2; a trailing `;`
gives None). Compiled code is cached by its text because a compile costs tens of microseconds on
the hot path, and registered with `linecache` so tracebacks show the command's own lines.
"""
from __future__ import annotations

import ast
import builtins
import collections
import io
import linecache
import logging
import time
import tokenize
import traceback
from collections.abc import Callable
from types import CodeType
from typing import Any, NamedTuple

from core.wire import blobs
from core.worker import namespace_summary
from core.wire.messages import CommandRequest
from core.wire.responses import Status, UnsentValue, failure, success

AT_COMMAND_END: list[Callable[[], None]] = []
"""Called after every command, before its response is made, for what a preload must hand over
as that command's output (CASA's casalog lines, `core.casa.server_setup`)."""

_log = logging.getLogger(__name__)

CODE_CACHE_SIZE = 512
PRELOAD_FILENAME = "<preload>"
LINECACHE_SIZE = 1000
"""Source lines kept for tracebacks of the latest commands (a traceback of an older one just
lacks the source line)."""


class CompiledCommand(NamedTuple):
    """A command's code: `statements` run first (exec), then `value` is evaluated and is the
    command's result. An expression has only `value`; statements that do not end in an
    expression (or end in `;`) have only `statements`."""

    mode: str
    """'eval' for an expression, 'exec' for statements."""
    statements: CodeType | None
    value: CodeType | None

    def named(self, filename: str) -> CompiledCommand:
        """The same code, with tracebacks naming `filename` (a cached command run again)."""
        return CompiledCommand(self.mode, _named(self.statements, filename), _named(self.value, filename))


def _named(code: CodeType | None, filename: str) -> CodeType | None:
    if code is None or code.co_filename == filename:
        return code
    return code.replace(co_filename=filename)


def compile_command(command: str, filename: str = "<command>") -> CompiledCommand:
    """Compile `command` as an expression if it is one, else as statements whose last
    expression statement, if any, is compiled apart as the value. Compiling the parsed tree
    keeps every line number, so tracebacks point into the command's own text.

    Raises SyntaxError for text that is neither.
    """
    try:
        return CompiledCommand("eval", None, compile(command, filename, "eval"))
    except SyntaxError:
        pass
    tree = ast.parse(command, filename, "exec")
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or _ends_with_semicolon(command):
        return CompiledCommand("exec", compile(tree, filename, "exec"), None)
    tree.body.pop()
    return CompiledCommand("exec", compile(tree, filename, "exec"),
                           compile(ast.Expression(last.value), filename, "eval"))


_NOT_CODE = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER, tokenize.INDENT,
             tokenize.DEDENT}


def _ends_with_semicolon(command: str) -> bool:
    """True when the last token of the code is `;`: IPython's way of asking for no value."""
    last = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(command).readline):
            if token.type not in _NOT_CODE:
                last = token
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.string == ";"


def set_log_level(handler: logging.Handler, level: int) -> None:
    """Records below `level` are dropped: the root logger's threshold for the loggers without
    their own, and the forwarding handler's for those with one."""
    logging.getLogger().setLevel(level)
    handler.setLevel(level)


class CommandRunner:
    """One server's namespace and the commands run in it, one at a time."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__name__": "__mpipanel__", "__builtins__": builtins}
        self.executing = False
        """True exactly while user code runs: an interrupt outside that window is ignored."""
        self._code: dict[str, CompiledCommand] = {}
        self._named: collections.deque[str] = collections.deque()

    def _compiled(self, request: CommandRequest) -> CompiledCommand:
        """The command's code, named `<command ID>` so that its traceback names this command."""
        filename = f"<command {request.id}>"
        cached = self._code.get(request.command)
        if cached is None:
            cached = compile_command(request.command, filename)
            if len(self._code) >= CODE_CACHE_SIZE:
                self._code.clear()
            self._code[request.command] = cached
        linecache.cache[filename] = (len(request.command), None,
                                     request.command.splitlines(keepends=True), filename)
        self._named.append(filename)
        if len(self._named) > LINECACHE_SIZE:
            linecache.cache.pop(self._named.popleft(), None)
        return cached.named(filename)

    def run(self, request: CommandRequest, parameter_buffers: list) -> tuple[dict[str, Any], list]:
        """Run one command: `(response fields, result buffers)`, no buffers for a None result.

        Never raises: every failure, SystemExit included, is a failed response. With
        `request.summarize`, the last `fields['namespace']` buffers are the pickled summary of the
        namespace as the command left it: buffers, because the response's envelope must stay small.
        """
        fields, result = self._run_command(request, parameter_buffers)
        for hook in AT_COMMAND_END:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the command's response comes all the same
                _log.exception("a hook at the end of command %s failed", request.id)
        if request.summarize:
            summary = blobs.pack(namespace_summary.summarize(self.namespace))
            fields["namespace"] = len(summary)
            result = [*result, *summary]
        return fields, result

    def _run_command(self, request: CommandRequest, parameter_buffers: list) -> tuple[dict[str, Any], list]:
        time_start = time.time()
        mode = None
        ret = None
        try:
            compiled = self._compiled(request)
            mode = compiled.mode
            if parameter_buffers:
                self.namespace.update(blobs.unpack(parameter_buffers))
            self.executing = True
            try:
                if compiled.statements is not None:
                    exec(compiled.statements, self.namespace)
                if compiled.value is not None:
                    ret = eval(compiled.value, self.namespace)
            finally:
                self.executing = False
        except KeyboardInterrupt as exc:
            return self._failure(mode, time_start, exc, Status.INTERRUPTED)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and all: the server lives on
            return self._failure(mode, time_start, exc, Status.FAILED)
        fields = success(mode, time_start)
        if ret is None:
            return fields, []
        try:
            packed = blobs.pack(ret)
        except Exception as exc:  # noqa: BLE001 - any pickling failure becomes a failed response
            if mode == "exec":  # the value was not asked for: the statements did run
                return fields, blobs.pack(UnsentValue.of(ret, exc))
            return failure(Status.FAILED, f"The command ran, but its result cannot be sent to the "
                                          f"client:\n{blobs.describe_unpicklable(ret, exc)}\n",
                           mode, time_start), []
        return fields, packed

    def preload(self, code: str) -> str | None:
        """Run the session's set-up code (`MPICommandClient(preload=...)`) in this namespace, as
        statements: None, or the traceback of its failure. Never raises, like `run`."""
        linecache.cache[PRELOAD_FILENAME] = (len(code), None, code.splitlines(keepends=True), PRELOAD_FILENAME)
        try:
            exec(compile(code, PRELOAD_FILENAME, "exec"), self.namespace)
        except BaseException as exc:  # noqa: BLE001 - the server lives on and says so
            return _user_traceback(exc)
        return None

    @staticmethod
    def _failure(mode, time_start, exc, status) -> tuple[dict[str, Any], list]:
        return failure(status, _user_traceback(exc), mode, time_start), []


def _user_traceback(exc: BaseException) -> str:
    """The traceback of `exc` without the runner's own frame: it starts in the user's code."""
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    return "".join(traceback.format_exception(type(exc), exc, tb))
