"""The GUI's figures for `python -m benchmarks`, measured on the real window, offscreen.

    python -m benchmarks.gui stall SERVERS SECONDS LINES_PER_S
        longest Qt main-thread stall while every server prints LINES_PER_S for SECONDS, and how
        much the process's memory grew
    python -m benchmarks.gui click ROUNDS
        time from a click on Run to the result shown in its pane
    python -m benchmarks.gui big_result BYTES ROUNDS
        time from Run to a BYTES-sized array result shown, and the longest stall meanwhile
    python -m benchmarks.gui idle SERVERS SECONDS
        CPU % of the window's process while nothing happens but heartbeats and the live chart
    python -m benchmarks.gui explorer SERVERS NAMES ROUNDS
        with the all-servers variable explorer in sight and NAMES variables on every server: the
        longest stall from a command to all servers until every server's new names are shown, and
        how long that took
    python -m benchmarks.gui answers SERVERS ROUNDS
        the longest stall while SERVERS servers answer one tiny command at once (median and
        maximum over ROUNDS commands)
    python -m benchmarks.gui cluster SERVERS ROUNDS
        at cluster scale (SERVERS light servers, isolation 'none'): the time to build, fill and
        paint the target picker, overview and chart, and the whole window; then the longest stall
        while every server's status arrives at once (median and maximum over ROUNDS rounds)

Prints one JSON object.
"""
from __future__ import annotations

import gc
import os
import statistics
import sys
import threading
import time

import psutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QApplication, QSplitter

from app.__main__ import SERVER_NICE
from app.load_chart import LoadChart
from app.main_window import MainWindow
from app.server_overview import ServerOverview
from app.target_picker import TargetPicker
from benchmarks.measurement import measure_main
from core import MPICommandClient

WINDOW_SIZE = (1500, 920)
"""A full-screen window on a common laptop: painting costs grow with it, so it is fixed here
rather than whatever size the last session saved."""

FLOOD = """
import time
start = time.monotonic()
line = 0
while time.monotonic() - start < {seconds}:
    for _ in range({per_tick}):
        print('flood line', line)
        line += 1
    time.sleep(max(0.0, start + line / {rate} - time.monotonic()))
"""


def _window(servers: int) -> tuple[QApplication, MPICommandClient, MainWindow]:
    app = QApplication.instance() or QApplication([])
    client = MPICommandClient(servers=servers, print_output=False, session_log=False, server_nice=SERVER_NICE)
    client.start_services()
    window = MainWindow(client, theme="light", owns_client=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    # The first paint of every widget, the first chart sample and the servers' first status are
    # start-up, not what a figure measures: let them happen before it starts.
    samples = window.chart.samples
    _wait(app, lambda: window.chart.samples > samples and all(window.chart.status.get(rank)
                                                              for rank in client.server_ranks()))
    gc.freeze()  # as `mpipanel` does once its window is up
    return app, client, window


def _wait(app: QApplication, done) -> None:
    while not done():
        app.processEvents()
        time.sleep(0.0005)


class StallMeter:
    """The longest gap between the ticks of a 1 ms timer: how long the event loop was held up."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self._clock = QElapsedTimer()
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._beat = QTimer(interval=1, timerType=Qt.TimerType.PreciseTimer)
        self._beat.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        self.longest_ms = max(self.longest_ms, (now - self._last) / 1e6)
        self._last = now

    def start(self) -> None:
        self._last = self._clock.nsecsElapsed()
        self._beat.start()

    def stop(self) -> None:
        self._beat.stop()


def _longest_stall(app: QApplication, act) -> float:
    """The longest stall of the event loop from `act()` until the condition it returns holds, and
    for 100 ms more: what the event leaves for later turns of the loop counts too."""
    meter = StallMeter()
    meter.start()
    _wait(app, act())
    settle = time.monotonic() + 0.1
    _wait(app, lambda: time.monotonic() > settle)
    meter.stop()
    return meter.longest_ms


def _answered(window: MainWindow, ids: list[int]):
    rows = window.history.model_
    return lambda: all(rows.row_of(i) and rows.row_of(i).response for i in ids)


def stall(servers: int, seconds: float, rate: int) -> dict:
    app, client, window = _window(servers)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    meter = StallMeter()
    window.targets.select(client.server_ranks())
    ids = window.run(FLOOD.format(seconds=seconds, rate=rate, per_tick=max(1, rate // 1000)))
    meter.start()
    _wait(app, _answered(window, ids))
    meter.stop()
    lines = sum(window.panes[rank].output.line_count + window.panes[rank].output.dropped
                for rank in client.server_ranks())
    result = {"longest_stall_ms": meter.longest_ms,
              "memory_growth_mb": (process.memory_info().rss - rss_before) / 1e6, "lines_seen": lines}
    window.detach()
    client.stop_services()
    return result


def big_result(size: int, rounds: int) -> dict:
    app, client, window = _window(1)
    window.targets.select([1])
    _wait(app, _answered(window, window.run(f"import numpy as np; big = np.ones({size}, dtype=np.uint8)")))
    meter = StallMeter()
    meter.start()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        _wait(app, _answered(window, window.run("big")))
        times.append((time.perf_counter() - start) * 1e3)
    meter.stop()
    window.detach()
    client.stop_services()
    return {"median_ms": statistics.median(times), "longest_stall_ms": meter.longest_ms}


def idle(servers: int, seconds: float) -> dict:
    """Measured inside one run of the event loop: quitting it closes the window (Qt 6), and a
    window closed costs nothing."""
    app, client, window = _window(servers)
    process = psutil.Process()
    marks: list[tuple[float, float]] = []

    def mark() -> None:
        marks.append((sum(process.cpu_times()[:2]), time.monotonic()))

    QTimer.singleShot(1000, mark)  # after the start-up's last repaints
    QTimer.singleShot(1000 + int(seconds * 1000), lambda: (mark(), app.quit()))
    app.exec()
    (cpu_before, start), (cpu_after, end) = marks
    window.detach()
    client.stop_services()
    return {"cpu_percent": (cpu_after - cpu_before) / (end - start) * 100}


NAMESPACE = """
import numpy as np
for i in range({names}):
    kind = i % 4
    globals()[f"v{{i}}"] = (i if kind == 0 else [i] * 10 if kind == 1 else f"text {{i}}" if kind == 2
                           else np.full((8, 8), float(i)))
"""


def explorer(servers: int, names: int, rounds: int) -> dict:
    app, client, window = _window(servers)
    ranks = client.server_ranks()
    shown = window.all_pane.explorer.model_
    window.targets.select(ranks)
    _wait(app, _answered(window, window.run(NAMESPACE.format(names=names))))

    def every_server_shows(name: str):
        return lambda: {rank for rank, entry in shown.rows if entry.name == name} == set(ranks)

    _wait(app, every_server_shows(f"v{names - 1}"))
    meter = StallMeter()
    meter.start()
    times = []
    for round_ in range(rounds):
        start = time.perf_counter()
        window.run(f"added_{round_} = {round_}")  # a new name each round: the whole table is rebuilt
        _wait(app, every_server_shows(f"added_{round_}"))
        times.append((time.perf_counter() - start) * 1e3)
    meter.stop()
    rows = len(shown.rows)
    window.detach()
    client.stop_services()
    return {"longest_stall_ms": meter.longest_ms, "median_ms": statistics.median(times), "rows": rows}


def answers(servers: int, rounds: int) -> dict:
    app, client, window = _window(servers)
    window.targets.select(client.server_ranks())
    _wait(app, _answered(window, window.run("0")))
    stalls = [_longest_stall(app, lambda r=round_: _answered(window, window.run(f"{r} + 1")))
              for round_ in range(rounds)]
    window.detach()
    client.stop_services()
    return {"median_stall_ms": statistics.median(stalls), "max_stall_ms": max(stalls)}


def _build_cluster_widgets(statuses: dict[int, dict]) -> float:
    """Milliseconds to build the target picker, overview and chart for these servers, give them
    their statuses, lay them out as the window does and paint them once."""
    start = time.perf_counter()
    ranks = sorted(statuses)
    picker, overview, chart = TargetPicker(ranks), ServerOverview(), LoadChart(ranks)
    for rank, status in statuses.items():
        picker.set_state(rank, status["state"])
        picker.set_host(rank, status["processor"])
        overview.set_status(rank, status, status["state"])
        chart.set_status(rank, status)
    chart.sample()
    left, right = QSplitter(Qt.Orientation.Vertical), QSplitter(Qt.Orientation.Vertical)
    left.addWidget(picker)
    right.addWidget(overview)
    right.addWidget(chart)
    main = QSplitter()
    main.addWidget(left)
    main.addWidget(right)
    main.resize(*WINDOW_SIZE)
    main.show()
    QApplication.processEvents()
    main.grab()
    took = (time.perf_counter() - start) * 1e3
    chart.timer.stop()
    main.deleteLater()
    QApplication.processEvents()
    return took


def _emit_statuses(bridge, statuses: dict[int, dict]) -> None:
    for rank, status in statuses.items():
        bridge.serverStatus.emit(rank, status)


def cluster(servers: int, rounds: int) -> dict:
    app = QApplication.instance() or QApplication([])
    client = MPICommandClient(servers=servers, print_output=False, session_log=False, server_nice=SERVER_NICE,
                              isolation="none")
    client.start_services()
    widgets_ms = _build_cluster_widgets(client.last_server_status())
    start = time.perf_counter()
    window = MainWindow(client, theme="light", owns_client=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    app.processEvents()
    window.grab()
    window_ms = (time.perf_counter() - start) * 1e3
    _wait(app, lambda: all(window.chart.status.get(rank) for rank in client.server_ranks()))
    marks: list[float] = []
    # After the window's own queued slot: once every marked status got here, the window has had it.
    window.bridge.serverStatus.connect(lambda _rank, status: marks.append(status["cpu_percent"]),
                                       Qt.ConnectionType.QueuedConnection)

    def deliver(round_: int):
        """Every server's status at once, each changed (a state, its figures), as after a heartbeat
        everyone missed: from another thread, as the core delivers them."""
        mark = round_ + 0.5
        sent = {rank: {**status, "state": "timeout" if round_ % 2 == 0 else "idle", "cpu_percent": mark}
                for rank, status in client.last_server_status().items()}
        threading.Thread(target=_emit_statuses, args=(window.bridge, sent)).start()
        return lambda: marks.count(mark) == servers

    stalls = [_longest_stall(app, lambda r=round_: deliver(r)) for round_ in range(rounds)]
    window.detach()
    client.stop_services()
    return {"widgets_ms": widgets_ms, "window_ms": window_ms, "median_stall_ms": statistics.median(stalls),
            "max_stall_ms": max(stalls)}


def click(rounds: int) -> dict:
    app, client, window = _window(1)
    window.targets.select([1])
    window.editor.setPlainText("6 * 7")
    shown: dict[int, float] = {}
    window.bridge.commandFinished.connect(lambda response: shown.setdefault(response["id"], time.perf_counter()),
                                          Qt.ConnectionType.QueuedConnection)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        window.run_button.click()
        [command_id] = window.last_sent
        _wait(app, lambda sent=command_id: sent in shown)
        assert window.panes[1].response.response["id"] == command_id
        times.append((shown[command_id] - start) * 1e3)
    window.detach()
    client.stop_services()
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
