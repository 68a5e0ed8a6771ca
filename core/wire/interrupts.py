"""KeyboardInterrupt only between frames: an Interrupt must never cut a worker's frame in half.

A worker's SIGINT handler (`core.worker.__main__`) raises KeyboardInterrupt in whatever its main
thread is doing, which may be writing a log record's frame or reading a proxied call's reply. In a
`deferred()` section it is held until the section ends, and raised there; outside one, at once.
Only the main thread runs Python's signal handlers, so only its sections count. A section that
waits for something the user may give up on (a reply that never comes) must wait outside it.

Signal masks cannot do this: `signal.pthread_sigmask` runs a handler that is already pending
inside the call, so a section could be interrupted as it opens or closes.
"""
from __future__ import annotations

import threading

_depth = 0
_pending = False


class _Deferred:
    """A class, not a generator: it is on every frame's path, where it costs ≈ 0.5 µs."""

    def __enter__(self) -> None:
        global _depth
        if threading.current_thread() is threading.main_thread():
            _depth += 1

    def __exit__(self, *exc_info) -> None:
        global _depth, _pending
        if threading.current_thread() is not threading.main_thread():
            return
        _depth -= 1
        if not _depth and _pending:
            _pending = False
            raise KeyboardInterrupt


_section = _Deferred()


def deferred() -> _Deferred:
    """Hold an interrupt of the main thread until this section (or the outermost one) ends."""
    return _section


def interrupt() -> None:
    """For a SIGINT handler: raise KeyboardInterrupt now, or when the section under way ends."""
    global _pending
    if _depth:
        _pending = True
    else:
        raise KeyboardInterrupt
