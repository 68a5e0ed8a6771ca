"""Make the README's screenshot: a realistic session in the real window, grabbed to a PNG.

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshot.py resources/screenshot.png
    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshot.py --attached attached.png

Four spawned servers load data, log, print, fail once, and one keeps working while the load chart
fills for `--seconds`; then the window is grabbed. With `--servers N` (say 16 or 128, with
`--isolation none` to keep them light) the window is the same at cluster scale: every server
but the first four works for up to half a minute, so the busy strip and the targets show a mix;
`--overview` ends on the overview of the servers instead of the failed command. With `--attached`
a program plays the session on a headless one (`python -m core --serve`), and a window attached
afterwards is grabbed.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bridge import own_session
from app.main_window import MainWindow
from core import MPICommandClient

SESSION = [
    ([1, 2, 3, 4], "import logging, numpy as np\nlog = logging.getLogger('survey')"),
    ([1, 2, 3, 4], "log.info('loading block'); rng = np.random.default_rng(7)\n"
                   "data = rng.normal(size=(512, 512)); print('loaded', data.shape)"),
    ([3], "log.warning('RFI detected in channel 17'); data[17] = 0"),
    ([4], "def smooth(a):\n    return a / norm\nsmooth(data)"),
    ([1], "import time\nfor step in range(12):\n    time.sleep(0.4); print('iteration', step, flush=True)"),
    ([2], "{'mean': float(data.mean()), 'std': float(data.std()), 'shape': data.shape,\n"
          " 'flags': ['ok', 'calibrated']}"),
]
BEYOND_FOUR = "import os, time\ntime.sleep(os.getpid() % 7 * 5)"
"""For servers beyond the first four: a mix of busy and idle ones while the chart fills."""
NEXT_COMMAND = "result = calibrate(vis, spw=spw, niter=niter)\nresult.summary()"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--seconds", type=float, default=8.0, help="how long the session runs first")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--isolation", choices=("process", "none"), default="process")
    parser.add_argument("--overview", action="store_true", help="end on the overview, not on the failure")
    parser.add_argument("--attached", action="store_true",
                        help="a program plays the session on `python -m core --serve`, then a window attaches")
    args = parser.parse_args()
    app = QApplication([])
    if args.attached:
        attached(app, args)
    else:
        embedded(app, args)
    print(f"saved {args.output}")
    return 0


def embedded(app: QApplication, args: argparse.Namespace) -> None:
    """The window plays the session on its own servers."""
    client = MPICommandClient(servers=args.servers, isolation=args.isolation, print_output=False)
    client.start_services()
    session = own_session(client)
    window = MainWindow(session, theme=args.theme, closing="detach")
    window.resize(1500, 920)
    window.show()

    def play() -> None:
        if args.servers > 4:
            window.targets.select(client.server_ranks()[4:])
            window.run(BEYOND_FOUR)
        for targets, command in SESSION:
            window.targets.select(targets)
            window.editor.setPlainText(command)
            window.run(command)
        window.targets.select(None)
        for name, value in (("vis", "'X54.ms'"), ("spw", "[1, 3, 5, 7]"), ("niter", "1_000")):
            window.parameters.add_row(name, value)
        window.editor.setPlainText(NEXT_COMMAND)

    QTimer.singleShot(500, play)
    QTimer.singleShot(int(args.seconds * 1000), lambda: grab_failure(window, args))
    app.exec()
    window.deleteLater()
    app.processEvents()
    session.frontend.host.close()
    client.stop_services(force_command_request_interruption=True)


def attached(app: QApplication, args: argparse.Namespace) -> None:
    """A program plays the session on a headless one; then a window attaches and shows it all."""
    import core
    from app.attaching import open_attached
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="mpipanel-shot-rt-", dir="/tmp")
    served = subprocess.Popen([sys.executable, "-m", "core", "--serve", "--servers", str(args.servers)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    session = served.stdout.readline().split()[1].rstrip(":")
    with core.attach(session) as program:
        if args.servers > 4:
            program.push_command_request(BEYOND_FOUR, target_server=program.server_ranks()[4:])
        for targets, command in SESSION:
            program.push_command_request(command, target_server=targets)
        time.sleep(args.seconds)

    def make_window(bridge) -> MainWindow:
        window = MainWindow(bridge, theme=args.theme, closing="detach")
        window.resize(1500, 920)
        window.editor.setPlainText(NEXT_COMMAND)
        QTimer.singleShot(500, lambda: grab_failure(window, args))
        return window

    open_attached(session, make_window, on_failure=lambda reason: sys.exit(f"cannot attach: {reason}"))
    app.exec()
    served.send_signal(signal.SIGTERM)
    served.wait(60)


def grab_failure(window: MainWindow, args: argparse.Namespace) -> None:
    """Select the failed command (and show the overview, with `--overview`), then grab the window
    once the pane it opens is laid out."""
    failed = next(i for i, row in enumerate(window.history.model_.rows) if row.status == "failed")
    window.history.selectRow(failed)
    if args.overview:
        window.pane_tabs.setCurrentWidget(window.overview)

    def grab() -> None:
        window.grab().save(str(args.output))
        window.close()

    QTimer.singleShot(300, grab)


if __name__ == "__main__":
    sys.exit(main())
