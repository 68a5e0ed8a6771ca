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
    python -m benchmarks.gui attach SERVERS COMMANDS
        a session of SERVERS servers in another process that ran COMMANDS commands: time from
        attaching a window to it until the window is up and its event loop answers
    python -m benchmarks.gui click_attached ROUNDS / stall_attached SERVERS SECONDS LINES_PER_S
        click and stall, with the window attached to a session in another process
    python -m benchmarks.gui serve SERVERS
        the session the attached figures use: as mpipanel's own (servers at the window's nice),
        in a process of its own, until SIGTERM; prints its id first
    python -m benchmarks.gui cluster SERVERS ROUNDS
        at cluster scale (SERVERS light servers, isolation 'none'): the time to build, fill and
        paint the target picker, overview and chart, and the whole window; then the longest stall
        while every server's status arrives at once (median and maximum over ROUNDS rounds)

Prints one JSON object.
"""
from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QApplication, QSplitter

from app.__main__ import SERVER_NICE
from app.bridge import own_session
from app.load_chart import LoadChart
from app.main_window import MainWindow
from app.server_overview import ServerOverview
from app.target_picker import TargetPicker
from benchmarks.measurement import REPO, flood_command, measure_main
from core import MPICommandClient
from core.events import ServerStatusChanged
from core.frontends.model import LoadFigures, LoadSampled

WINDOW_SIZE = (1500, 920)
"""A full-screen window on a common laptop: painting costs grow with it, so it is fixed here
rather than whatever size the last session saved."""

def _window(servers: int) -> tuple[QApplication, MPICommandClient, MainWindow]:
    app = QApplication.instance() or QApplication([])
    client = MPICommandClient(servers=servers, print_output=False, session_log=False, server_nice=SERVER_NICE)
    client.start_services()
    window = MainWindow(own_session(client), theme="light", closing="detach")
    _settle(app, window)
    return app, client, window


def _settle(app: QApplication, window: MainWindow) -> None:
    """Show the window and let start-up happen: the first paint of every widget, the first chart
    sample and the servers' first status are not what a figure measures."""
    window.resize(*WINDOW_SIZE)
    window.show()
    _wait(app, lambda: window.bridge.model is not None)
    samples = window.chart.samples
    _wait(app, lambda: window.chart.samples > samples
          and all(window.bridge.model.state_of(rank) != "starting" for rank in window.bridge.ranks))
    gc.freeze()  # as `mpipanel` does once its window is up


def _close(window: MainWindow, client: MPICommandClient) -> None:
    """Detach the window, end its session and stop the servers."""
    window.close()
    window.bridge.frontend.host.close()
    client.stop_services()


@contextlib.contextmanager
def _served(servers: int):
    """A session of `servers` servers in a process of its own (`serve`), found through a runtime
    directory of its own: its id."""
    runtime = tempfile.mkdtemp(prefix="mpipanel-bench-rt-", dir="/tmp")
    os.environ["XDG_RUNTIME_DIR"] = runtime
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.gui", "serve", str(servers)], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                               start_new_session=True)  # MPICH may kill its launcher's process group
    try:
        if not select.select([process.stdout], [], [], 300)[0]:
            raise TimeoutError("the session did not start")
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)


def _attached(app: QApplication, session: str) -> MainWindow:
    from app.attaching import open_attached
    windows: list[MainWindow] = []
    open_attached(session, lambda bridge: windows.append(MainWindow(bridge, theme="light", closing="detach"))
                  or windows[-1], on_failure=lambda reason: sys.exit(f"cannot attach: {reason}"))
    _wait(app, lambda: bool(windows))
    return windows[0]


def serve(servers: int) -> dict:
    """The session of the attached figures, as mpipanel's own (servers at the window's nice, which
    `python -m core --serve` does not ask for), until SIGTERM."""
    from core.frontends.host import SessionHost
    from core.frontends.listener import Listener
    client = MPICommandClient(servers=servers, print_output=False, session_log=False, server_nice=SERVER_NICE)
    client.start_services()
    host = SessionHost(client, info_kind="serve")
    listener = Listener(host)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(host.info.session_id, flush=True)
    while not stop.wait(0.5):
        pass
    host.stop("the benchmark ended")
    listener.close()
    return {}


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


def _answered(window: MainWindow):
    """True once the window's history has the responses of the commands it sent last (an attached
    window learns their ids a round trip after sending)."""
    futures, rows = list(window.last_futures), window.history.model_
    return lambda: all(f.command_id is not None and rows.row_of(f.command_id) and rows.row_of(f.command_id).response
                       for f in futures)


def stall(servers: int, seconds: float, rate: int) -> dict:
    app, client, window = _window(servers)
    result = _stall(app, window, seconds, rate)
    _close(window, client)
    return result


def stall_attached(servers: int, seconds: float, rate: int) -> dict:
    app = QApplication.instance() or QApplication([])
    with _served(servers) as session:
        window = _attached(app, session)
        _settle(app, window)
        result = _stall(app, window, seconds, rate)
        window.close()
    return result


def _stall(app: QApplication, window: MainWindow, seconds: float, rate: int) -> dict:
    process = psutil.Process()
    rss_before = process.memory_info().rss
    meter = StallMeter()
    window.targets.select(window.bridge.ranks)
    window.run(flood_command(seconds, rate))
    meter.start()
    _wait(app, _answered(window))
    meter.stop()
    lines = sum(window.panes[rank].output.line_count + window.panes[rank].output.dropped
                for rank in window.bridge.ranks)
    return {"longest_stall_ms": meter.longest_ms,
            "memory_growth_mb": (process.memory_info().rss - rss_before) / 1e6, "lines_seen": lines}


def big_result(size: int, rounds: int) -> dict:
    app, client, window = _window(1)
    window.targets.select([1])
    window.run(f"import numpy as np; big = np.ones({size}, dtype=np.uint8)")
    _wait(app, _answered(window))
    meter = StallMeter()
    meter.start()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        window.run("big")
        _wait(app, _answered(window))
        times.append((time.perf_counter() - start) * 1e3)
    meter.stop()
    _close(window, client)
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
    _close(window, client)
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
    window.run(NAMESPACE.format(names=names))
    _wait(app, _answered(window))

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
    _close(window, client)
    return {"longest_stall_ms": meter.longest_ms, "median_ms": statistics.median(times), "rows": rows}


def answers(servers: int, rounds: int) -> dict:
    app, client, window = _window(servers)
    window.targets.select(client.server_ranks())
    window.run("0")
    _wait(app, _answered(window))

    def answer(round_: int):
        window.run(f"{round_} + 1")
        return _answered(window)

    stalls = [_longest_stall(app, lambda r=round_: answer(r)) for round_ in range(rounds)]
    _close(window, client)
    return {"median_stall_ms": statistics.median(stalls), "max_stall_ms": max(stalls)}


def _build_cluster_widgets(statuses: dict[int, dict]) -> float:
    """Milliseconds to build the target picker, overview and chart for these servers, give them
    their statuses, lay them out as the window does and paint them once."""
    start = time.perf_counter()
    ranks = sorted(statuses)
    picker, overview = TargetPicker(ranks), ServerOverview()
    chart = LoadChart(ranks, host_of=lambda rank: statuses[rank]["processor"])
    for rank, status in statuses.items():
        picker.set_state(rank, status["state"])
        picker.set_host(rank, status["processor"])
        overview.set_status(rank, status, status["state"])
    chart.add_sample(LoadSampled(time.time(), {rank: LoadFigures(status["cpu_percent"], status["rss"],
                                                                 status["queue_length"], int(status["busy"]))
                                               for rank, status in statuses.items()}))
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
    main.deleteLater()
    QApplication.processEvents()
    return took


def _publish_statuses(client: MPICommandClient, statuses: dict[int, dict]) -> None:
    for rank, status in statuses.items():
        client.publish(ServerStatusChanged(rank, status))


def cluster(servers: int, rounds: int) -> dict:
    app = QApplication.instance() or QApplication([])
    client = MPICommandClient(servers=servers, print_output=False, session_log=False, server_nice=SERVER_NICE,
                              isolation="none")
    client.start_services()
    widgets_ms = _build_cluster_widgets(client.last_server_status())
    start = time.perf_counter()
    window = MainWindow(own_session(client), theme="light", closing="detach")
    window.resize(*WINDOW_SIZE)
    window.show()
    app.processEvents()
    window.grab()
    window_ms = (time.perf_counter() - start) * 1e3
    _wait(app, lambda: window.bridge.model is not None
          and all(window.bridge.model.state_of(rank) != "starting" for rank in client.server_ranks()))
    marks: list[float] = []
    # After the window's own queued slot: once every marked status got here, the window has had it.
    window.bridge.serverStatus.connect(lambda _rank, status: marks.append(status["cpu_percent"]),
                                       Qt.ConnectionType.QueuedConnection)

    def deliver(round_: int):
        """Every server's status at once, each changed (a state, its figures), as after a heartbeat
        everyone missed: published by the client from another thread, through the session to the
        window, as the core delivers them."""
        mark = round_ + 0.5
        sent = {rank: {**status, "state": "timeout" if round_ % 2 == 0 else "idle", "cpu_percent": mark}
                for rank, status in client.last_server_status().items()}
        threading.Thread(target=_publish_statuses, args=(client, sent)).start()
        return lambda: marks.count(mark) == servers

    stalls = [_longest_stall(app, lambda r=round_: deliver(r)) for round_ in range(rounds)]
    _close(window, client)
    return {"widgets_ms": widgets_ms, "window_ms": window_ms, "median_stall_ms": statistics.median(stalls),
            "max_stall_ms": max(stalls)}


def click(rounds: int) -> dict:
    app, client, window = _window(1)
    result = _clicks(app, window, rounds)
    _close(window, client)
    return result


def click_attached(rounds: int) -> dict:
    app = QApplication.instance() or QApplication([])
    with _served(1) as session:
        window = _attached(app, session)
        _settle(app, window)
        result = _clicks(app, window, rounds)
        window.close()
    return result


def _clicks(app: QApplication, window: MainWindow, rounds: int) -> dict:
    window.targets.select([1])
    window.editor.setPlainText("6 * 7")
    shown: dict[int, float] = {}
    window.bridge.commandFinished.connect(lambda response: shown.setdefault(response["id"], time.perf_counter()),
                                          Qt.ConnectionType.QueuedConnection)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        window.run_button.click()
        [future] = window.last_futures
        _wait(app, lambda sent=future: sent.command_id is not None and sent.command_id in shown)
        assert window.panes[1].response.response["id"] == future.command_id
        times.append((shown[future.command_id] - start) * 1e3)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def attach(servers: int, commands: int) -> dict:
    """Attach a window to a session of `servers` servers that ran `commands` commands (each
    printing a line): from the call until the window is up, drawn, and its event loop answers."""
    import core
    app = QApplication.instance() or QApplication([])
    with _served(servers) as session:
        with core.attach(session) as program:
            ids = []
            for index in range(commands):
                ids += program.push_command_request(f"print('line', {index}); {index}",
                                                    target_server=1 + index % servers)
            program.get_command_response(ids, block=True, timeout=600)
        gc.collect()
        answered: list[float] = []
        start = time.perf_counter()
        window = _attached(app, session)
        window.resize(*WINDOW_SIZE)
        window.show()
        _wait(app, lambda: window.windowHandle() is not None and window.windowHandle().isExposed())
        QTimer.singleShot(0, lambda: answered.append(time.perf_counter()))
        _wait(app, lambda: bool(answered))
        rows = window.history.model_.rowCount()
        window.close()
    return {"usable_ms": (answered[0] - start) * 1e3, "rows": rows}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
