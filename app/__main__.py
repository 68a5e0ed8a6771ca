"""`mpipanel`: the control panel's command line.

Plain `mpipanel` spawns its MPI servers (no mpiexec line needed); under `mpiexec -n N mpipanel`
rank 0 shows the window and ranks 1..N-1 are its servers. Either way the window shows a session
of its own, which other frontends can attach to while it runs. `mpipanel --attach [SESSION]`
starts no MPI at all: it opens a window on a session that runs elsewhere (`python -m core --serve`,
a program run with `--listen`, another `mpipanel`).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from pathlib import Path

import core
from core.client.result_budget import DEFAULT_RESULT_MEMORY
from core.wire.messages import ISOLATION_MODES, LOG_MODES

from .sizes import MIB
from .theme import THEMES

SERVER_NICE = 19
"""How much lower than the window's the local servers' CPU priority is, unless --server-nice says.
32 servers printing flat out on two cores stalled the window for 3-6 s at equal priority, 650 ms at
nice 10 and 160 ms at 19; the servers lose nothing while the window is idle."""

DESCRIPTION = """\
A desktop control panel for an interactive MPI session: send Python commands to MPI servers and
watch their output, results and load live.

launch modes:
  mpipanel                  spawn the servers locally (--servers K, default min(4, CPU count)
                            or $MPIPANEL_SERVERS); no mpiexec line needed
  mpiexec -n N mpipanel     rank 0 shows the window, ranks 1..N-1 are the servers
  mpipanel --attach [ID]    a window on a session running elsewhere (python -m core --sessions
                            lists them); closing it asks whether to detach or stop the session
  mpipanel --attach ssh://[USER@]HOST[:PORT][/ID] [--remote-python PYTHON]
                            the same on another machine, through ssh (docs/cluster.md)
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mpipanel", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=_whole_number(1, None, "needs at least 1 server"), metavar="K",
                        help="number of servers to spawn (not under mpiexec, where it is N-1)")
    parser.add_argument("--isolation", choices=ISOLATION_MODES, default="process",
                        help="'process' (default): commands run in a worker process per server, so "
                             "a crash costs only that server's namespace; 'none': in the server rank "
                             "itself, faster, but a crash ends the whole MPI job")
    parser.add_argument("--log-mode", choices=LOG_MODES, default="redirect",
                        help="'redirect' (default): server output and logs stream into the window; "
                             "'unified': they stay on the servers' own terminals; 'separated': each "
                             "server writes them to a file of its own")
    parser.add_argument("--server-nice", type=_whole_number(0, 19, "must be from 0 to 19"), default=SERVER_NICE,
                        metavar="N",
                        help=f"lower the CPU priority of servers on this machine by N (0-19, default "
                             f"{SERVER_NICE}), so that busy servers cannot starve the window; 0 keeps "
                             "them equal to it")
    parser.add_argument("--preload", metavar="FILE_OR_CODE",
                        help="code, or a .py file, run on every server before its first command and "
                             "again whenever a server's namespace is fresh (after a crash or a restart): "
                             "imports, OMP_NUM_THREADS, a working directory")
    parser.add_argument("--result-memory", type=_megabytes, default=DEFAULT_RESULT_MEMORY, metavar="MB",
                        help=f"keep at most MB MiB of command results in the window (default "
                             f"{DEFAULT_RESULT_MEMORY // MIB}; 'none' for no limit); beyond it the oldest "
                             "results' values are freed, the history keeps the rest")
    parser.add_argument("--theme", choices=THEMES, help="light or dark (default: the last one used)")
    parser.add_argument("--attach", nargs="?", const="", metavar="SESSION_ID | FILE | ssh://HOST/SESSION_ID",
                        help="open the window on a running session of yours instead of starting one: its id "
                             "(or the start of it), its connection file, or nothing for the only one running "
                             "(a list to choose from when there are several); ssh://[USER@]HOST[:PORT][/ID] "
                             "for one on another machine, reached with your ssh (~/.ssh/config applies)")
    parser.add_argument("--remote-python", metavar="PYTHON",
                        help="with --attach ssh://...: the Python that has mpipanel on that host, a path or a "
                             "command for its shell (default: $MPIPANEL_REMOTE_PYTHON, else python3)")
    parser.add_argument("--session", type=Path, metavar="FILE",
                        help="open a saved session script (.py) or session log (.jsonl) for replay")
    parser.add_argument("--casa", action="store_true",
                        help="CASA mode: `import casampi` in commands (and in CASA's tasks) is "
                             "mpipanel's casampi layer; needs CASA (pip install 'mpipanel[casa]')")
    parser.add_argument("--script", nargs=argparse.REMAINDER, metavar="FILE [ARG ...]",
                        help="run a script in the window's client-side worker (its MPICommandClient() is the "
                             "window's client) and watch it live; the rest of the line is its arguments")
    parser.add_argument("--version", action="version", version=f"mpipanel {core.__version__}")
    args = parser.parse_args(argv)
    if args.preload is not None:
        from core.client.validation import check_preload
        try:
            check_preload(args.preload)
        except (ValueError, TypeError) as exc:
            parser.error(f"--preload: {exc}")
    if args.script is not None and not args.script:
        parser.error("--script needs a script file")
    return args


def _megabytes(text: str) -> int | None:
    """An argparse type: a whole number of MiB, in bytes, or 'none' (None: no limit)."""
    if text.strip().lower() == "none":
        return None
    return _whole_number(0, None, "must be a whole number of MiB, or 'none'")(text) * MIB


def _whole_number(low: int, high: int | None, complaint: str):
    """An argparse type: a whole number from `low` to `high` (None: no limit), else `complaint`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(complaint)
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.attach is not None:
        return attach_main(args)
    if args.casa:
        from core.casampi import switch
        switch.install()  # before MPI starts: spawned servers and workers inherit the switch
    from core import MPICommandClient, MPIEnvironment
    if not MPIEnvironment.is_mpi_client:
        from core.server.rank import main as serve
        serve()
        return 0
    problem = (switch.missing_casa() if args.casa else None) or session_problem(args.session)
    if problem:
        print(f"mpipanel: error: {problem}", file=sys.stderr)
        if MPIEnvironment.launch_mode == "mpiexec":
            from core.client.launch import release_world_servers
            release_world_servers()  # they are waiting for a client
        return 2
    if args.casa:
        switch.set_up_servers(str(Path.cwd()))
        switch.set_up_client_side()
    import qasync
    from PySide6.QtWidgets import QApplication

    from core.client.command_client import stop_everything

    from .display_loss import on_xlib_display_loss
    from .main_window import MainWindow
    app = QApplication(sys.argv[:1])
    app.setApplicationName("mpipanel")
    app.setOrganizationName("mpipanel")
    client = MPICommandClient(servers=args.servers, isolation=args.isolation, print_output=False,
                              server_nice=args.server_nice, preload=args.preload,
                              result_memory=args.result_memory)
    client.set_log_mode(args.log_mode)
    try:
        client.start_services()
    except Exception as problem:  # noqa: BLE001 - whatever stops the start, say it and quit
        report_start_failure(str(problem))
        stop_everything(force=True)
        return 1
    from .bridge import own_session
    session = own_session(client)
    host = session.frontend.host
    window = MainWindow(session, theme=args.theme, closing="stop")
    listener = None

    def display_lost() -> None:
        print("mpipanel: the display went away; stopping the servers and quitting", file=sys.stderr)
        host.close("the display went away")
        if listener is not None:
            listener.close()
        stop_everything(force=True)

    if app.platformName() == "xcb":
        on_xlib_display_loss(display_lost)
    # Ctrl+C in the terminal closes the window as File > Quit does (asking if commands run);
    # set before the window shows, or a Ctrl+C at that moment tears Qt down under it.
    close_on_ctrl_c(window)
    window.show()
    listener = listen(host)  # once the window is up and Ctrl+C closes it
    gc.freeze()  # the objects of start-up stay: full collections need not walk them again
    open_session_and_script(window, args)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    app.lastWindowClosed.connect(loop.stop)
    with loop:
        loop.run_forever()
    if not host.ended.is_set():  # Qt ended the event loop itself: the display went away
        display_lost()
        return 1
    if listener is not None:
        listener.close()
    # Widgets go before the QApplication, or PySide may crash in the interpreter's teardown.
    window.deleteLater()
    app.processEvents()
    return 0


def close_on_ctrl_c(window) -> None:
    """Ctrl+C in the terminal closes `window` as File > Quit does. Python runs a signal's handler
    only between two bytecodes of the main thread, and a Qt event loop with nothing to do runs none
    (an ended session sends nothing): the signal's wake-up byte, watched by a QSocketNotifier,
    makes the loop run Python code at once."""
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer
    receiver, sender = socket.socketpair()
    for end in (receiver, sender):
        end.setblocking(False)
    signal.set_wakeup_fd(sender.fileno())
    notifier = QSocketNotifier(receiver.fileno(), QSocketNotifier.Type.Read, window)
    notifier.activated.connect(lambda: receiver.recv(64))
    notifier.ends = (receiver, sender)  # kept open as long as the notifier
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))


def listen(host):
    """Let other frontends attach to the window's session (a `Listener`); None, with a warning,
    when this user's runtime directory is unusable: the window works without it."""
    from core.frontends.listener import Listener
    try:
        return Listener(host)
    except OSError as problem:
        print(f"mpipanel: other windows cannot attach to this session: {problem}", file=sys.stderr)
        return None


def open_session_and_script(window, args: argparse.Namespace) -> None:
    """--session and --script, once the window shows its session."""
    if args.session is not None:
        window.open_session(args.session)
    if args.script:
        window.run_script(args.script[0], args.script[1:])


def attach_main(args: argparse.Namespace) -> int:
    """`mpipanel --attach [SESSION]`: a window on a running session; no MPI in this process."""
    problem = session_problem(args.session)
    if problem:
        print(f"mpipanel: error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .attach_dialog import AttachDialog
    from .attaching import open_attached
    from .bridge import running_sessions
    from .main_window import MainWindow
    app = QApplication(sys.argv[:1])
    app.setApplicationName("mpipanel")
    app.setOrganizationName("mpipanel")
    target = args.attach or None
    if target is None and len(running_sessions()) > 1:
        dialog = AttachDialog(running_sessions)
        if dialog.exec() != AttachDialog.DialogCode.Accepted or dialog.chosen() is None:
            return 1
        target = dialog.chosen()
        args.remote_python = dialog.remote_python() or args.remote_python
    problems: list[str] = []

    def make_window(bridge):
        window = MainWindow(bridge, theme=args.theme, closing="ask")
        close_on_ctrl_c(window)
        QTimer.singleShot(0, lambda: open_session_and_script(window, args))
        return window

    def failed(reason: str) -> None:
        problems.append(reason)
        app.quit()

    if open_attached(target, make_window, on_failure=failed, remote_python=args.remote_python) is None:
        print(f"mpipanel: cannot attach: {problems[0]}", file=sys.stderr)
        return 2
    app.exec()
    if problems:
        print(f"mpipanel: cannot attach: {problems[0]}", file=sys.stderr)
        return 2
    return 0


def session_problem(path: Path | None) -> str | None:
    """Why the `--session` file cannot be replayed, in one line, or None: said before the servers
    start, as for any other bad argument."""
    if path is None:
        return None
    from core.sessions.file_checks import SessionFileError
    from core.sessions.recorded import read_session
    try:
        read_session(path)
    except SessionFileError as exc:
        return f"--session: {exc}"
    except OSError as exc:
        return f"--session: cannot read {path}: {exc.strerror or exc}"
    return None


def report_start_failure(problem: str) -> None:
    """Say why the servers could not start, on stderr and in a dialog: started from a desktop
    menu, mpipanel has no terminal to print to. Offscreen there is no one to click the dialog."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QMessageBox
    print(f"mpipanel: {problem}", file=sys.stderr)
    if QGuiApplication.platformName() != "offscreen":
        QMessageBox.critical(None, "mpipanel could not start its servers", problem)


if __name__ == "__main__":
    sys.exit(main())
