"""Skip `MPI_Finalize` at exit once a server was lost: with MPICH it would wait for it forever.

A rank that died under `mpiexec -disable-auto-cleanup`, or a spawned server that had to be
abandoned, can no longer take part in finalization. Then this process ends with `os._exit`
after flushing its streams, from a Python `atexit` handler, which runs before mpi4py's own.
"""
from __future__ import annotations

import atexit
import os
import sys

_reason: str | None = None
_exit_code = 0


def finalize_is_unsafe(reason: str) -> None:
    global _reason
    _reason = _reason or reason


def set_exit_code(code: int) -> None:
    """The status to end with if finalization has to be skipped (a launcher knows it)."""
    global _exit_code
    _exit_code = code


def _skip_finalize() -> None:
    if _reason is None:
        return
    print(f"mpipanel: not finalizing MPI ({_reason}); it would wait forever.", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    os._exit(_exit_code)


atexit.register(_skip_finalize)
