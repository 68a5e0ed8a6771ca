"""The control panel window around a started `MPICommandClient`.

Left: the command editor, the targets, the parameters, Run, and the history. Right: a pane per
server plus the merged "all servers" pane, the client's pane (code run on rank 0 itself, scripts)
and the overview, and the load chart under them. The window reaches the core only through
`ClientBridge`; nothing here waits on MPI.
"""
from __future__ import annotations

import shlex
import sys
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QMainWindow, QMessageBox, QPushButton, QSplitter, QTabBar, QTabWidget,
                               QVBoxLayout)

from core.events import CLIENT_RANK
from core.sessions.file_checks import SessionFileError
from core.wire.responses import ReleasedValue

from .about import about_text
from .bridge import ClientBridge
from .client_progress import ClientProgress
from .command_editor import CommandEditorPanel
from .explorer_feed import ExplorerFeed
from .history_table import HistoryRow, HistoryTable
from .icon import app_icon
from .load_chart import LoadChart
from .parameter_table import ParameterError, ParameterTable
from .rank_ranges import ranks_text
from .replay_panel import ReplayPanel
from .result_memory_dialog import ResultMemoryDialog
from .save_session_dialog import SaveSessionDialog
from .server_overview import ServerOverview
from .server_pane import ServerPane
from .sizes import size_text
from .target_picker import TargetError, TargetPicker
from .theme import THEMES, apply_theme

MANY_SERVERS = 16
"""From this many servers on, panes open on demand (from the overview) instead of as tabs."""


class MainWindow(QMainWindow):
    servicesStopped = Signal(str)
    """The servers of an owned client have stopped; the text says what went wrong, if anything."""

    def __init__(self, client, theme: str | None = None, owns_client: bool = True):
        """`owns_client`: closing the window stops the client's servers (after asking, if
        commands still run). Pass False when something else stops them (an embedding, a test)."""
        super().__init__()
        self.owns_client = owns_client
        self.shutdown = ""
        """'' while the window works; 'stopping' while an owned client's servers stop; 'stopped'."""
        self.bridge = ClientBridge(client, self)
        self.setWindowTitle(f"mpipanel — {self.bridge.launch_mode} session")
        self.setWindowIcon(app_icon())
        self.settings = QSettings("mpipanel", "mpipanel")
        ranks = self.bridge.ranks
        self.states: dict[int, str] = {}
        self.last_sent: list[int] = []
        self.status: dict[int, dict[str, Any]] = {}
        self.running: dict[int, int | None] = {rank: None for rank in ranks}

        self.editor_panel = CommandEditorPanel(self)
        self.editor = self.editor_panel.editor
        self.targets = TargetPicker(ranks, self)
        self.parameters = ParameterTable(self)
        self.run_button = QPushButton("Run  (Ctrl+Enter)", self, objectName="runButton")
        self.run_button.setEnabled(False)
        self.message = QLabel(self, objectName="runMessage")
        self.message.setWordWrap(True)
        self.history = HistoryTable(self)
        self.client_progress = ClientProgress(self)

        self.all_pane = ServerPane(None, self, ranks)
        self.client_pane = ServerPane(CLIENT_RANK, self)
        self.panes = {rank: ServerPane(rank, self) for rank in ranks}
        self.explorer_feed = ExplorerFeed(self.bridge, [self.all_pane, *self.panes.values()], self)
        self.overview = ServerOverview(self)
        self.pane_tabs = QTabWidget(self, objectName="paneTabs")
        self.pane_tabs.setTabsClosable(True)
        for fixed, title in ((self.all_pane, "All servers"), (self.client_pane, "Client"),
                             (self.overview, "Overview")):
            index = self.pane_tabs.addTab(fixed, title)
            self.pane_tabs.tabBar().setTabButton(index, QTabBar.ButtonPosition.RightSide, None)
        if len(ranks) < MANY_SERVERS:
            for rank, pane in self.panes.items():
                self.pane_tabs.addTab(pane, f"Server {rank}")
        self.chart = LoadChart(ranks, self)

        self._build_layout()
        self._build_menus()
        self._connect()
        for rank, status in self.bridge.server_statuses().items():
            self._on_status(rank, status)
        self._restore_settings(theme)
        self.log_label = QLabel(self, objectName="sessionLogLabel")
        log_path = self.bridge.session_log_path
        if log_path is not None:
            self.log_label.setText(f"session log: {log_path.name}")
            self.log_label.setToolTip(str(log_path))
        self.statusBar().addPermanentWidget(self.client_progress)
        self.memory_label = QLabel(self, objectName="resultMemoryLabel")
        self.statusBar().addPermanentWidget(self.memory_label)
        self.statusBar().addPermanentWidget(self.log_label)
        self._show_result_memory()
        self._update_status_bar()

    # ----- construction -------------------------------------------------------------------
    def _build_layout(self) -> None:
        command_box = QGroupBox("Command", self)
        command_layout = QVBoxLayout(command_box)
        command_layout.addWidget(self.editor_panel, 3)
        command_layout.addWidget(QLabel("<b>Targets</b>", self))
        command_layout.addWidget(self.targets)
        command_layout.addWidget(QLabel("<b>Parameters</b>", self))
        command_layout.addWidget(self.parameters, 2)
        run_row = QHBoxLayout()
        run_row.addWidget(self.message, 1)
        run_row.addWidget(self.run_button)
        command_layout.addLayout(run_row)
        history_box = QGroupBox("History", self)
        QVBoxLayout(history_box).addWidget(self.history)

        self.left = QSplitter(Qt.Orientation.Vertical, self, objectName="leftSplitter")
        self.left.addWidget(command_box)
        self.left.addWidget(history_box)
        self.left.setStretchFactor(0, 3)
        self.left.setStretchFactor(1, 2)
        self.right = QSplitter(Qt.Orientation.Vertical, self, objectName="rightSplitter")
        self.right.addWidget(self.pane_tabs)
        self.right.addWidget(self.chart)
        self.right.setStretchFactor(0, 3)
        self.right.setStretchFactor(1, 2)
        self.main = QSplitter(Qt.Orientation.Horizontal, self, objectName="mainSplitter")
        self.main.addWidget(self.left)
        self.main.addWidget(self.right)
        self.main.setStretchFactor(0, 2)
        self.main.setStretchFactor(1, 3)
        self.setCentralWidget(self.main)
        self.resize(1400, 900)
        self.main.setSizes([520, 880])
        self.left.setSizes([560, 300])
        self.right.setSizes([540, 320])

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.file_menu = file_menu
        file_menu.addAction("&Open Session…", self.choose_session).setShortcut(QKeySequence.StandardKey.Open)
        file_menu.addAction("&Save Session As Script…", self.choose_script_path).setShortcut(
            QKeySequence.StandardKey.Save)
        file_menu.addAction("&Run Script…", self.choose_script).setShortcut("Ctrl+R")
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        view = self.menuBar().addMenu("&View")
        self.theme_actions = QActionGroup(self)
        for theme in THEMES:
            action = QAction(f"{theme.title()} theme", self, checkable=True)
            action.setData(theme)
            action.triggered.connect(lambda _checked, t=theme: self.set_theme(t))
            self.theme_actions.addAction(action)
            view.addAction(action)
        view.addSeparator()
        view.addAction("Server &overview", lambda: self.pane_tabs.setCurrentWidget(self.overview))
        view.addSeparator()
        view.addAction("Result &memory…", self.choose_result_memory)
        view.addAction("&Free all results", lambda: self.free_results(None))
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About mpipanel", self.show_about)

    def _connect(self) -> None:
        self.servicesStopped.connect(self._on_services_stopped)
        self.editor.runRequested.connect(self.run)
        self.editor.textChanged.connect(self._update_run_enabled)
        self.editor.syntaxChecked.connect(lambda _error: self._update_run_enabled())
        self.run_button.clicked.connect(lambda: self.run(self.editor.toPlainText()))
        self.targets.changed.connect(lambda: self.message.clear())
        self.parameters.changed.connect(lambda: self.message.clear())
        # Queued even from the GUI thread: output and responses keep the order they happened in.
        queued = Qt.ConnectionType.QueuedConnection
        self.bridge.commandQueued.connect(self.history.on_queued, queued)
        self.bridge.commandQueued.connect(self.client_progress.on_queued, queued)
        self.bridge.commandStarted.connect(self._on_started, queued)
        self.bridge.commandFinished.connect(self._on_finished, queued)
        self.bridge.serverStatus.connect(self._on_status, queued)
        self.bridge.serverOutput.connect(self._on_output, queued)
        self.history.responseSelected.connect(self.show_response)
        self.history.rerunRequested.connect(self.rerun)
        self.history.interruptRequested.connect(lambda command_id: self.bridge.interrupt([command_id]))
        self.history.cancelRequested.connect(lambda command_id: self.bridge.cancel([command_id]))
        self.history.freeRequested.connect(lambda command_id: self.free_results([command_id]))
        self.bridge.resultsDropped.connect(self._on_results_dropped, queued)
        self.overview.openPaneRequested.connect(self.open_pane)
        self.pane_tabs.tabCloseRequested.connect(self._close_pane_tab)
        for pane in (self.client_pane, *self.panes.values()):
            pane.interruptRequested.connect(self.bridge.interrupt_server)
            pane.restartRequested.connect(self.restart_server)

    # ----- running commands ---------------------------------------------------------------
    def _update_run_enabled(self) -> None:
        text = self.editor.toPlainText()
        self.run_button.setEnabled(bool(text.strip()) and self.editor.syntax_error is None)

    def run(self, command: str) -> list[int]:
        """Send `command` with the chosen targets and parameters: the ids of the commands sent,
        or [] (and a message saying why) when refused. `last_sent` keeps the ids too."""
        self.editor.check_syntax()
        if self.editor.syntax_error and command == self.editor.toPlainText():
            return self._refuse(self.editor.syntax_error)
        try:
            target = self.targets.targets()
            parameters = self.parameters.parameters()
            futures = self.bridge.submit(command, target, parameters)
        except (TargetError, ParameterError, ValueError, TypeError, RuntimeError) as exc:
            return self._refuse(str(exc))
        self.last_sent = [future.command_id for future in futures]
        self.editor.remember(command)
        self.message.setStyleSheet("")
        self.message.setText("Sent to " + ("the first available server" if target is None else
                                          "the client (rank 0)" if target == [CLIENT_RANK] else
                                          f"server{'s' if len(target) > 1 else ''} {ranks_text(target)}") + ".")
        return self.last_sent

    def choose_script(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Run Script", str(Path.home()), "Python scripts (*.py)")
        if not path:
            return
        text, accepted = QInputDialog.getText(self, "Run Script", f"Arguments for {Path(path).name}:")
        if accepted:
            self.run_script(path, shlex.split(text))

    def run_script(self, path: str | Path, args: list[str]) -> int | None:
        """Run a script in the client-side worker, shown live in the client's pane: its command id."""
        try:
            future = self.bridge.run_script(path, args)
        except (ValueError, TypeError, RuntimeError) as exc:
            self._refuse(str(exc))
            return None
        self.pane_tabs.setCurrentWidget(self.client_pane)
        return future.command_id

    def _refuse(self, reason: str) -> list[int]:
        self.message.setStyleSheet("color: #d32f2f;")
        self.message.setText(f"Not sent: {reason}")
        self.statusBar().showMessage(f"Not sent: {reason}", 8000)
        self.last_sent = []
        return []

    def rerun(self, row: HistoryRow) -> None:
        released = [(name, value) for name, value in (row.parameters or {}).items()
                    if isinstance(value, ReleasedValue)]
        if released:
            name, value = released[0]
            self._refuse(f"parameter {name!r} was {value!r}: the client lets go of a large array once "
                         f"it is sent, so send that command again from code that has the array")
            return
        self.editor.setPlainText(row.command)
        self.targets.select(row.target)
        self.parameters.set_parameters(row.parameters)
        self.run(row.command)

    def restart_server(self, rank: int) -> None:
        where = "the client-side worker" if rank == CLIENT_RANK else f"server {rank}"
        answer = QMessageBox.question(self, "Restart server", f"Give {where} a fresh, empty namespace? "
                                                              "A command running there fails.")
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.restart_server(rank)

    # ----- what the servers say -----------------------------------------------------------
    def _on_started(self, command_id: int, server: int) -> None:
        self.history.on_started(command_id, server)
        if server == CLIENT_RANK:
            row = self.history.model_.row_of(command_id)
            self.client_progress.on_started(command_id, row.shown_command if row else "")
            return
        self.running[server] = command_id
        self._refresh_state(server)

    def _on_finished(self, response: dict[str, Any]) -> None:
        server = response["server"]
        self.history.on_finished(response)
        self.client_progress.on_finished(response)
        if server == CLIENT_RANK:
            self.client_pane.add_response(response)
            return
        self.all_pane.add_response(response)
        if server in self.panes:
            self.panes[server].add_response(response)
            if self.running.get(server) == response["id"]:
                self.running[server] = None
            self._refresh_state(server)
            self.explorer_feed.command_finished(server)
        self._show_result_memory()

    def _on_output(self, server: int, items: list, dropped: int) -> None:
        if server == CLIENT_RANK:
            self.client_pane.add_output(server, items, dropped)
            return
        self.all_pane.add_output(server, items, dropped)
        if server in self.panes:
            self.panes[server].add_output(server, items, dropped)

    def _on_status(self, rank: int, status: dict[str, Any]) -> None:
        if rank == CLIENT_RANK:
            self.client_pane.set_status(status)
            return
        self.status[rank] = status
        self.targets.set_host(rank, status.get("processor") or "")
        self.chart.set_status(rank, status)
        self._refresh_state(rank)

    def _refresh_state(self, rank: int) -> None:
        status = self.status.get(rank)
        state = status["state"] if status else "starting"
        if state in ("idle", "busy"):
            state = "busy" if self.running.get(rank) is not None else "idle"
        self.states[rank] = state
        self.targets.set_state(rank, state)
        self.chart.set_busy(rank, state == "busy")
        if status:
            self.overview.set_status(rank, status, state)
            self.panes[rank].set_status({**status, "state": state})
        self._update_status_bar()

    def _update_status_bar(self) -> None:
        counts: dict[str, int] = {}
        for state in self.states.values():
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
        self.statusBar().showMessage(
            f"{len(self.panes)} servers: {summary or 'starting'}  ·  launch mode: "
            f"{self.bridge.launch_mode}  ·  isolation: {self.bridge.isolation}")

    def show_response(self, response: dict[str, Any]) -> None:
        """Show a command's response in its server's pane, opening the pane if needed."""
        server = response.get("server")
        if server == CLIENT_RANK:
            self.pane_tabs.setCurrentWidget(self.client_pane)
            self.client_pane.response.show_response(response)
        elif server in self.panes:
            self.open_pane(server)
            self.panes[server].response.show_response(response)

    def open_pane(self, rank: int) -> None:
        pane = self.panes[rank]
        if self.pane_tabs.indexOf(pane) < 0:
            self.pane_tabs.addTab(pane, f"Server {rank}")
        self.pane_tabs.setCurrentWidget(pane)

    def _close_pane_tab(self, index: int) -> None:
        widget = self.pane_tabs.widget(index)
        if widget in self.panes.values() or isinstance(widget, ReplayPanel):
            self.pane_tabs.removeTab(index)

    # ----- results kept in memory ---------------------------------------------------------
    def choose_result_memory(self) -> None:
        dialog = ResultMemoryDialog(self.bridge.result_memory, self.bridge.result_memory_used(), self)
        if dialog.exec() == ResultMemoryDialog.DialogCode.Accepted:
            self.bridge.result_memory = dialog.limit()
            self._show_result_memory()

    def free_results(self, command_ids: list[int] | None) -> None:
        """Let go of these results' values (all for None); the history and panes say so."""
        freed = self.bridge.purge_results(command_ids)
        self.statusBar().showMessage(f"Freed {size_text(freed)} of results", 8000)
        self._show_result_memory()

    def _on_results_dropped(self, command_ids: list[int], _reason: str) -> None:
        self.history.model_.refresh(command_ids)
        dropped = set(command_ids)
        for pane in (self.all_pane, *self.panes.values()):
            shown = pane.response.response
            if shown is not None and shown["id"] in dropped:
                pane.response.show_response(shown)
        self._show_result_memory()

    def _show_result_memory(self) -> None:
        limit = self.bridge.result_memory
        self.memory_label.setText(f"results: {size_text(self.bridge.result_memory_used())} of "
                                  + ("no limit" if limit is None else size_text(limit)))
        self.memory_label.setToolTip("Memory the window keeps for command results (View > Result memory…)")

    # ----- sessions -----------------------------------------------------------------------
    def choose_session(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Session", str(Path.home()),
                                              "Sessions (*.jsonl *.py);;All files (*)")
        if path:
            self.open_session(path)

    def open_session(self, path: str | Path) -> ReplayPanel | None:
        """Load a session log or script into a replay tab; None (and a message) if it cannot."""
        try:
            panel = ReplayPanel(self.bridge, path, self)
        except (OSError, ValueError) as exc:  # SessionFileError for a bad file names it, and the line
            text = str(exc) if isinstance(exc, SessionFileError) else f"{path}:\n{exc}"
            QMessageBox.warning(self, "Cannot open session", text)
            return None
        self.pane_tabs.addTab(panel, f"Replay: {Path(path).name}")
        self.pane_tabs.setCurrentWidget(panel)
        return panel

    def choose_script_path(self) -> None:
        dialog = SaveSessionDialog(self)
        if dialog.exec() != SaveSessionDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save Session As Script",
                                              str(Path.home() / "session.py"), "Python scripts (*.py)")
        if path:
            self.save_script(path, **dialog.options())

    def save_script(self, path: str | Path, **options) -> bool:
        try:
            saved = self.bridge.save_session(path, **options)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Session not saved", str(exc))
            return False
        self.statusBar().showMessage(f"Session saved as {saved}", 8000)
        return True

    # ----- looks, settings, about, closing ------------------------------------------------
    def set_theme(self, theme: str) -> None:
        apply_theme(QApplication.instance(), theme)
        self.editor.highlighter.set_theme(theme)
        for pane in (self.all_pane, self.client_pane, *self.panes.values()):
            pane.response.traceback.highlighter.set_theme(theme)
        self.chart.set_theme(theme)
        for action in self.theme_actions.actions():
            action.setChecked(action.data() == theme)
        self.theme = theme
        self.settings.setValue("theme", theme)

    def _restore_settings(self, theme: str | None) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        for splitter in (self.main, self.left, self.right):
            state = self.settings.value(f"splitters/{splitter.objectName()}")
            if isinstance(state, QByteArray):
                splitter.restoreState(state)
        saved = self.settings.value("theme", "light")
        self.set_theme(theme or (saved if saved in THEMES else "light"))

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        for splitter in (self.main, self.left, self.right):
            self.settings.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        self.settings.sync()

    def show_about(self) -> None:
        QMessageBox.about(self, "About mpipanel", about_text(self.bridge))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.shutdown:  # the servers are stopping: the window goes once they have
            event.setAccepted(self.shutdown == "stopped")
            return
        pending = self.bridge.unfinished_commands() if self.owns_client else 0
        if pending:
            answer = QMessageBox.question(
                self, "Commands are still running",
                f"{pending} command(s) have not finished. Quit anyway? They will be "
                "interrupted or cancelled and the servers stopped.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.save_settings()
        if self.owns_client:
            self.shut_down()
            event.ignore()
        else:
            self.detach()
            event.accept()

    def detach(self) -> None:
        """Stop listening to the client, leaving its servers running."""
        self.chart.timer.stop()
        self.bridge.close()

    def shut_down(self) -> None:
        """Detach, stop the servers (interrupting what runs), and close once they have stopped.

        The stop runs on a thread: a server busy in code that ignores the interrupt, or one that
        does not answer, can take the client's whole stop timeout, and the window must keep
        painting and say what it waits for meanwhile."""
        self.detach()
        self.shutdown = "stopping"
        self.centralWidget().setEnabled(False)
        self.menuBar().setEnabled(False)
        self.statusBar().showMessage("Stopping the servers…")
        threading.Thread(target=self._stop_services, name="mpipanel-stop", daemon=True).start()

    def _stop_services(self) -> None:
        try:
            self.bridge.stop_services()
        except RuntimeError as problem:
            self.servicesStopped.emit(str(problem))
        else:
            self.servicesStopped.emit("")

    def _on_services_stopped(self, problem: str) -> None:
        if problem:
            print(f"mpipanel: {problem}", file=sys.stderr)
        self.shutdown = "stopped"
        self.close()

