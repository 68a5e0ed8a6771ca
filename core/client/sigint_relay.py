"""A terminal's Ctrl-C reaches a script's main thread, whichever of its threads the kernel gives it to.

A SIGINT sent to a process goes to one of its threads that does not block it. Under Open MPI 5,
1 Ctrl-C in 3-5 went to a thread Open MPI makes at spawn (`perf`'s `signal_deliver`): Python's C
handler noted it there, but the main thread slept on in C (`time.sleep`, a blocking wait) and
raised KeyboardInterrupt only when that ended, which might be never. Blocking SIGINT in our
threads, and in those `MPI_Init` makes, did not help.

So Python is asked to write each signal's number to a pipe (`signal.set_wakeup_fd`), whatever
thread takes it, and a thread of ours reads it. On a SIGINT it wakes the main thread with a signal
of its own (`WAKE_SIGNAL`, whose handler does nothing): the system call the main thread sleeps in
ends (EINTR), and Python, before it calls it again, runs the handlers of the signals noted
meanwhile, SIGINT's among them. A wake that comes after the main thread took the SIGINT itself
does nothing, so nothing is counted and no Ctrl-C ever raises twice; whoever handles SIGINT
(Python's own handler, a block that holds it) handles it as before.

It is set up where Python's own handler is SIGINT's and no wakeup fd is set, on the main thread: a
script, not the window (its Qt loop has both) or a Jupyter kernel. It steps aside for a wakeup fd
set later.
"""
from __future__ import annotations

import os
import signal
import threading

WAKE_SIGNAL = signal.SIGRTMIN + 4
"""The relay's signal to the main thread: one the worker's stack signals (`core.wire.messages`)
leave free, and no MPI library we run uses."""


class SigintRelay:
    """Started by `start()` on the main thread; `stop()` puts back what it replaced."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)  # Python's C handler must never wait on it
        self._running = False

    @classmethod
    def start(cls) -> SigintRelay | None:
        """A running relay, or None where SIGINT is someone else's to handle (or not on the main thread)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
                or signal.getsignal(WAKE_SIGNAL) not in (signal.SIG_DFL, None)):
            return None
        relay = cls()
        previous = signal.set_wakeup_fd(relay._write, warn_on_full_buffer=False)
        if previous != -1:  # another loop reads the wakeup fd: leave it its signals
            signal.set_wakeup_fd(previous)
            os.close(relay._read)
            os.close(relay._write)
            return None
        signal.signal(WAKE_SIGNAL, _woken)
        relay._running = True
        # A forked child (multiprocessing's) has no relay thread, and its Ctrl-C is its own: were
        # its signals written to this pipe, the parent would wake for them.
        os.register_at_fork(after_in_child=relay.stop)
        threading.Thread(target=relay._relay, name="mpipanel-sigint-relay", daemon=True).start()
        return relay

    def _relay(self) -> None:
        main = threading.main_thread().ident
        while True:
            try:
                numbers = os.read(self._read, 256)
            except OSError:
                numbers = b""
            if not numbers:
                os.close(self._read)
                return  # stopped
            if signal.SIGINT in numbers and self._running:
                signal.pthread_kill(main, WAKE_SIGNAL)

    def stop(self) -> None:
        """Put back no wakeup fd and the wake signal's default, where they are still the relay's.
        On the main thread (Python allows neither change elsewhere)."""
        if not self._running or threading.current_thread() is not threading.main_thread():
            return
        self._running = False
        if signal.getsignal(WAKE_SIGNAL) is _woken:
            signal.signal(WAKE_SIGNAL, signal.SIG_DFL)
        current = signal.set_wakeup_fd(-1)
        if current == self._write:
            os.close(self._write)  # the relay thread reads end-of-file, and ends
        else:  # another took the wakeup fd, and may hand the relay's back: keep the pipe open
            signal.set_wakeup_fd(current)


def _woken(signum, frame) -> None:
    """The wake signal's handler: its work is done once the main thread's system call has ended."""
