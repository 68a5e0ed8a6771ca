"""Make the README's screenshot: a realistic session in the real window, grabbed to a PNG.

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshot.py resources/screenshot.png

Four spawned servers load data, log, print, fail once, and one keeps working while the load chart
fills for `--seconds`; then the window is grabbed. With `--servers N` (say 16 or 128, with
`--isolation none` to keep them light) the window is the same at cluster scale: every server
but the first four works for up to half a minute, so the busy strip and the targets show a mix;
`--overview` ends on the overview of the servers instead of the failed command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    args = parser.parse_args()
    app = QApplication([])
    client = MPICommandClient(servers=args.servers, isolation=args.isolation, print_output=False)
    client.start_services()
    window = MainWindow(client, theme=args.theme)
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

    def show_failure() -> None:
        failed = next(i for i, row in enumerate(window.history.model_.rows) if row.status == "failed")
        window.history.selectRow(failed)
        if args.overview:
            window.pane_tabs.setCurrentWidget(window.overview)
        QTimer.singleShot(300, grab)  # the pane it opens is laid out first

    def grab() -> None:
        window.grab().save(str(args.output))
        window.owns_client = False
        window.close()

    QTimer.singleShot(500, play)
    QTimer.singleShot(int(args.seconds * 1000), show_failure)
    app.exec()
    window.deleteLater()
    app.processEvents()
    client.stop_services(force_command_request_interruption=True)
    print(f"saved {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
