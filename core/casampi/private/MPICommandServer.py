"""The server side of casampi's commands, and casampi's `MPICommandServer`, which has no
counterpart to instantiate: mpipanel's server ranks (`core.server.rank`) serve by themselves.

A casampi request travels as an ordinary mpipanel command (`core.casampi.requests.COMMAND`) with
one parameter, `REQUEST_NAME` = (command, mode, parameters). `run_request` then does what
casampi's server does with it, in the server's namespace: dict parameters become names there, and
are deleted again after an 'eval' or 'exec' (even a failed one), but kept after a 'push'; an
'eval' of `f()` with dict parameters calls `f(**parameters)`; `self` in an 'eval' is the server
(for casampi's `self.omp_set_num_threads(n)`). A failure propagates, so mpipanel's response
carries the traceback, and the casampi client adapter (`core.casampi.MPICommandClient`) rebuilds
casampi's response around it. An 'exec' whose last statement is an expression gives that
expression's value, as mpipanel's own commands do (`core.worker.execution`); the adapter keeps
casampi's `ret` None for it and hands the value over as `value`.
"""
from __future__ import annotations

import pickle
from typing import Any

from core.casampi.private.singleton import SingletonHandle
from core.casampi.requests import REQUEST_NAME
from core.wire.responses import UnsentValue
from core.worker.execution import compile_command


class _ServerSelf:
    """What `self` is in a casampi 'eval' command."""

    @staticmethod
    def omp_set_num_threads(omp_num_threads: int) -> None:
        from casatasks import casalog
        casalog.ompSetNumThreads(omp_num_threads)


def run_request(namespace: dict[str, Any]) -> Any:
    """Run the casampi request waiting in `namespace`; its value for an 'eval', else None."""
    command, mode, parameters = namespace.pop(REQUEST_NAME)
    named = isinstance(parameters, dict)
    if named:
        namespace.update(parameters)
    try:
        if mode == "eval":
            if named and command.endswith("()"):
                return eval(command[:-2], namespace)(**parameters)
            return eval(command, namespace, {"self": _ServerSelf})
        if mode == "exec":
            return _trailing_value(command, namespace)
        return None
    finally:
        if named and mode != "push":
            for name in parameters:
                namespace.pop(name, None)


def _trailing_value(command: str, namespace: dict[str, Any]) -> Any:
    """Run casampi's 'exec' command; the value of its trailing expression, if any. A value that
    cannot be pickled is its `UnsentValue`: the statements ran, so the command must not fail
    because of a value nobody asked for (the trial pickling leaves large buffers out of it)."""
    compiled = compile_command(command, "<casampi command>")
    exec(compiled.statements, namespace)
    if compiled.value is None:
        return None
    value = eval(compiled.value, namespace)
    try:
        pickle.dumps(value, protocol=5, buffer_callback=lambda _buffer: False)
    except Exception as exc:  # noqa: BLE001 - whatever pickling the user's value raises
        return UnsentValue.of(value, exc)
    return value


class MPICommandServer(SingletonHandle):
    @classmethod
    def _create(cls):
        from core.casampi.MPIEnvironment import MPIEnvironment
        if MPIEnvironment.is_mpi_client:
            raise Exception("MPICommandServer cannot be instantiated at master MPI process")
        raise NotImplementedError("MPICommandServer(): mpipanel's server ranks serve commands by themselves "
                                  "(core.server.rank); there is no casampi server object to drive")
