"""Ctrl-C reaches a script's main thread even when another thread takes the signal (as one of Open
MPI's did, 1 time in 3-5): real processes, real signals. Linux: the main thread's state is read
from /proc, to signal it once it sleeps in C (running Python, it would see the signal itself)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

AS_IN_A_TERMINAL = """
    import faulthandler, signal
    faulthandler.dump_traceback_later(30, exit=True)  # a script that sleeps on ends, and the test fails
    # Python's own handler, as a script run from a terminal has it: one started in the background
    # of a shell without job control (a CI runner's, say) inherits SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
"""

SCRIPT = textwrap.dedent(AS_IN_A_TERMINAL + """
    import sys, threading, time
    from core.client.sigint_relay import SigintRelay
    relay = SigintRelay.start() if sys.argv[1] == "relay" else None

    def main_thread_asleep():
        with open(f"/proc/self/task/{threading.main_thread().native_id}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "S"

    def other_thread():  # takes the signal itself: a thread-directed SIGINT goes nowhere else
        for line in sys.stdin:
            while not main_thread_asleep():  # in time.sleep, not between bytecodes, where it would see the signal
                time.sleep(0.001)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    threading.Thread(target=other_thread, daemon=True).start()
    for round in range(2):
        try:
            print("asleep", flush=True)
            time.sleep(600)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    print("asleep", flush=True)
    time.sleep(0.5)  # a second KeyboardInterrupt for one signal would end it here
    relay.stop() if relay else None
    print("default handler back:", signal.getsignal(signal.SIGINT) is signal.default_int_handler,
          signal.set_wakeup_fd(-1), flush=True)
""")


def _run(mode: str, signals: list[str], timeout: float) -> tuple[list[str], str]:
    """The script's lines; `signals`, one per round: 'thread' (another thread takes it) or
    'process' (the kernel's choice, the main thread here)."""
    with subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        lines = []
        try:
            for how in signals:
                lines.append(process.stdout.readline().strip())
                while lines[-1] not in ("asleep", ""):  # until the next sleep has begun
                    lines.append(process.stdout.readline().strip())
                if how == "thread":
                    process.stdin.write("go\n")
                    process.stdin.flush()
                else:
                    process.send_signal(subprocess.signal.SIGINT)
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        return lines + out.splitlines(), err


def test_a_sigint_another_thread_takes_wakes_the_sleeping_main_thread_each_time():
    lines, err = _run("relay", ["thread", "thread"], timeout=60)
    assert lines == ["asleep", "interrupted", "asleep", "interrupted", "asleep",
                     "default handler back: True -1"], err


def test_one_the_main_thread_takes_itself_raises_there_once():
    lines, err = _run("relay", ["process", "thread"], timeout=60)
    assert lines == ["asleep", "interrupted", "asleep", "interrupted", "asleep",
                     "default handler back: True -1"], err


def test_without_the_relay_the_main_thread_sleeps_on():
    """The premise of the tests above: Python's C handler notes the signal in the thread that took
    it, and the main thread, asleep in C, raises only when its sleep ends."""
    lines, _ = _run("none", ["thread"], timeout=3)
    assert lines == ["asleep"]


def test_a_forked_child_has_neither_the_relay_nor_its_pipe():
    """Its signals would come to the parent's pipe, which would count them as the parent's own."""
    code = textwrap.dedent(AS_IN_A_TERMINAL + """
    import os
    from core.client.sigint_relay import SigintRelay
    from core.client.sigint_relay import WAKE_SIGNAL
    relay = SigintRelay.start()
    pid = os.fork()
    if pid == 0:
        os._exit(signal.set_wakeup_fd(-1) == -1 and signal.getsignal(WAKE_SIGNAL) is signal.SIG_DFL)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), signal.getsignal(WAKE_SIGNAL) is not signal.SIG_DFL)
    """)
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "1 True\n"
