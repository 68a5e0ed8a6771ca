"""The control panel window on a running session: the window's own, or one it is attached to.

Left: the command editor, the targets, the parameters, the time limit and retries, Run, and the
history. Right: a pane per server plus the merged "all servers" pane, the client's pane (code run
on rank 0 itself, scripts), the overview and, when asked for, the Stacks view, and the load chart
under them. The window reaches the core only through
`SessionBridge` and keeps no session state of its own: it draws the bridge's replica of the
session model, whatever frontend feeds it; nothing here waits on MPI.
"""
from __future__ import annotations

import shlex
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QMainWindow, QMessageBox, QPushButton, QSplitter, QTabBar, QTabWidget,
                               QVBoxLayout)

from core.events import CLIENT_RANK
from core.frontends.model import HistoryEntry, ResultMemoryChanged
from core.sessions.file_checks import SessionFileError
from core.wire.responses import ReleasedValue

from . import backlog
from .about import about_text
from .attaching import choose_and_attach
from .bridge import SessionBridge
from .client_progress import ClientProgress
from .command_editor import CommandEditorPanel
from .command_limits import CommandLimits
from .command_text import progress_text
from .explorer_feed import ExplorerFeed
from .gui_thread_collector import collect_on_the_gui_thread
from .history_table import HistoryTable
from .icon import app_icon
from .load_chart import LoadChart
from .parameter_table import ParameterError, ParameterTable
from .rank_ranges import ranks_text
from .replay_panel import ReplayPanel
from .result_memory_dialog import ResultMemoryDialog
from .save_session_dialog import SaveSessionDialog
from .server_overview import ServerOverview
from .server_pane import ServerPane
from .stacks_view import StacksView
from .session_status import Closing, SessionStatus
from .sizes import size_text
from .target_picker import TargetError, TargetPicker
from .theme import THEMES, apply_theme

MANY_SERVERS = 16
"""From this many servers on, panes open on demand (from the overview) instead of as tabs."""


class MainWindow(QMainWindow):
    def __init__(self, bridge: SessionBridge, theme: str | None = None, closing: Closing = "stop"):
        """`bridge`: the session to show, through its frontend (it knows which session it is: a
        frontend in this process at once, one behind a link once its snapshot came; the window
        opens the bridge if it is not yet). `closing` says what closing the window does to the
        session: 'stop' it (the window's own session: asking first if commands still run), 'ask'
        whether to detach or stop (a window attached to a session that lives elsewhere), or
        'detach' without asking (an embedding, a test)."""
        super().__init__()
        collect_on_the_gui_thread(self)
        self.bridge = bridge
        bridge.setParent(self)
        self.session = SessionStatus(self.bridge, closing, self)
        self.setWindowTitle(self.session.title())
        self.setWindowIcon(app_icon())
        self.settings = QSettings("mpipanel", "mpipanel")
        ranks = self.bridge.ranks
        self.last_sent: list[int | None] = []
        self.last_futures: list[Future] = []

        self.editor_panel = CommandEditorPanel(self)
        self.editor = self.editor_panel.editor
        self.targets = TargetPicker(ranks, self)
        self.parameters = ParameterTable(self)
        self.limits = CommandLimits(self)
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
        self.stacks_view: StacksView | None = None
        """The Stacks tab, made when first asked for."""
        self.pane_tabs = QTabWidget(self, objectName="paneTabs")
        self.pane_tabs.setTabsClosable(True)
        for fixed, title in ((self.all_pane, "All servers"), (self.client_pane, "Client"),
                             (self.overview, "Overview")):
            index = self.pane_tabs.addTab(fixed, title)
            self.pane_tabs.tabBar().setTabButton(index, QTabBar.ButtonPosition.RightSide, None)
        if len(ranks) < MANY_SERVERS:
            for rank, pane in self.panes.items():
                self.pane_tabs.addTab(pane, f"Server {rank}")
        self.chart = LoadChart(ranks, self, host_of=self._host_of)

        self._build_layout()
        self._build_menus()
        self._connect()
        self._restore_settings(theme)
        self.memory_label = QLabel(self, objectName="resultMemoryLabel")
        self.memory_label.setToolTip("Memory the session keeps for command results (View > Result memory…)")
        self.statusBar().addPermanentWidget(self.client_progress)
        self.statusBar().addPermanentWidget(self.memory_label)
        self.session.add_labels(self.statusBar())
        self.session.attachRequested.connect(
            lambda: choose_and_attach(self, self._attached_window, exclude=self.bridge.info.session_id))
        self._update_status_bar()
        bridge.open()
        if bridge.model is not None:  # its snapshot came before this window
            self._show_snapshot()

    # ----- construction -------------------------------------------------------------------
    def _build_layout(self) -> None:
        command_box = QGroupBox("Command", self)
        command_layout = QVBoxLayout(command_box)
        command_layout.addWidget(self.editor_panel, 3)
        command_layout.addWidget(QLabel("<b>Targets</b>", self))
        command_layout.addWidget(self.targets)
        command_layout.addWidget(QLabel("<b>Parameters</b>", self))
        command_layout.addWidget(self.parameters, 2)
        command_layout.addWidget(self.limits)
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
        self.session.add_actions(file_menu)
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
        view.addAction("&Stacks of all servers", lambda: self.show_stacks(None))
        view.addSeparator()
        view.addAction("Result &memory…", self.choose_result_memory)
        view.addAction("&Free all results", lambda: self.free_results(None))
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About mpipanel", self.show_about)

    def _connect(self) -> None:
        self.editor.runRequested.connect(self.run)
        self.editor.textChanged.connect(self._update_run_enabled)
        self.editor.syntaxChecked.connect(lambda _error: self._update_run_enabled())
        self.run_button.clicked.connect(lambda: self.run(self.editor.toPlainText()))
        self.targets.changed.connect(lambda: self.message.clear())
        self.parameters.changed.connect(lambda: self.message.clear())
        self.limits.changed.connect(lambda: self.message.clear())
        bridge = self.bridge
        bridge.snapshotLoaded.connect(self._show_snapshot)
        bridge.commandQueued.connect(self.history.on_queued)
        bridge.commandQueued.connect(self.client_progress.on_queued)
        bridge.commandStarted.connect(self._on_started)
        bridge.commandFinished.connect(self._on_finished)
        bridge.commandProgress.connect(self._on_progress)
        bridge.commandRetried.connect(lambda event: self.history.on_changed(event.id))
        bridge.serverStatus.connect(self._on_status)
        bridge.serverOutput.connect(self._on_output)
        bridge.resultsDropped.connect(self._on_results_dropped)
        bridge.loadSampled.connect(self.chart.add_sample)
        bridge.resultMemory.connect(self._show_result_memory)
        self.history.responseSelected.connect(self.show_response)
        self.history.rerunRequested.connect(self.rerun)
        self.history.interruptRequested.connect(lambda command_id: bridge.interrupt([command_id]))
        self.history.cancelRequested.connect(lambda command_id: bridge.cancel([command_id]))
        self.history.freeRequested.connect(lambda command_id: self.free_results([command_id]))
        self.history.stacksRequested.connect(self.show_stacks)
        self.overview.openPaneRequested.connect(self.open_pane)
        self.pane_tabs.tabCloseRequested.connect(self._close_pane_tab)
        for pane in (self.client_pane, *self.panes.values()):
            pane.interruptRequested.connect(bridge.interrupt_server)
            pane.restartRequested.connect(self.restart_server)
        for pane in (self.all_pane, self.client_pane, *self.panes.values()):
            pane.stacksRequested.connect(self.show_stacks)
            pane.response.resultWanted.connect(lambda command_id, panel=pane.response: self._fetch(panel, command_id))

    # ----- running commands ---------------------------------------------------------------
    def _update_run_enabled(self) -> None:
        text = self.editor.toPlainText()
        self.run_button.setEnabled(bool(text.strip()) and self.editor.syntax_error is None
                                   and self.session.accepts_commands())

    def run(self, command: str) -> list[int | None]:
        """Send `command` with the chosen targets and parameters: the ids of the commands sent,
        or [] (and a message saying why) when refused. `last_sent` keeps the ids too, and
        `last_futures` the futures of their responses. A window attached to a session elsewhere
        learns the ids a round trip later (`future.command_id`): None until then."""
        self.editor.check_syntax()
        if self.editor.syntax_error and command == self.editor.toPlainText():
            return self._refuse(self.editor.syntax_error)
        try:
            target = self.targets.targets()
            parameters = self.parameters.parameters()
            time_limit = self.limits.time_limit()
            futures = self.bridge.submit(command, target, parameters, timeout=time_limit,
                                         retries=self.limits.retries())
        except (TargetError, ParameterError, ValueError, TypeError, RuntimeError) as exc:
            return self._refuse(str(exc))
        self.last_futures = futures
        self.last_sent = [future.command_id for future in futures]
        for future in futures:
            if future.command_id is None:  # over a link, a refusal comes a round trip later
                self.bridge.when_done(future, self._refused_later)
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
        self.last_sent, self.last_futures = [], []
        return []

    def rerun(self, entry: HistoryEntry) -> None:
        released = [(name, value) for name, value in (entry.parameters or {}).items()
                    if isinstance(value, ReleasedValue)]
        if released:
            name, value = released[0]
            self._refuse(f"parameter {name!r} was {value!r}: the client lets go of a large array once "
                         f"it is sent, so send that command again from code that has the array")
            return
        self.editor.setPlainText(entry.command)
        self.targets.select(entry.target)
        self.parameters.set_parameters(entry.parameters)
        self.limits.set_limits(entry.time_limit, entry.retries)
        self.run(entry.command)

    def _refused_later(self, future: Future) -> None:
        problem = future.exception()
        if problem is not None and future.command_id is None:
            self._refuse(str(problem))

    def restart_server(self, rank: int) -> None:
        where = "the client-side worker" if rank == CLIENT_RANK else f"server {rank}"
        answer = QMessageBox.question(self, "Restart server", f"Give {where} a fresh, empty namespace? "
                                                              "A command running there fails.")
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.when_done(self.bridge.restart_server(rank), self._warn_if_restart_failed)

    def _warn_if_restart_failed(self, future: Future) -> None:
        """A dialog, not the status bar: asked for, a restart that fails says why in full (a lost
        launcher's reason, and what to do, is longer than the bar)."""
        problem = future.exception()
        if problem is not None:
            QMessageBox.warning(self, "Server not restarted", str(problem))

    def _say_if_failed(self, future: Future) -> None:
        problem = future.exception()
        if problem is not None:
            self.statusBar().showMessage(str(problem), 8000)

    # ----- what the session says ----------------------------------------------------------
    def _show_snapshot(self) -> None:
        """Draw the whole session again: the window was just attached, or its link could not
        resume where it left off."""
        model = self.bridge.model
        self.history.show_entries(list(model.history.values()))
        result_lines: dict = {}  # each command's line made once, for its server's pane and the merged one
        for rank, (parts, dropped) in backlog.for_panes(model, list(self.panes)).items():
            pane = self.all_pane if rank is None else self.client_pane if rank == CLIENT_RANK else self.panes[rank]
            pane.show_backlog(parts, dropped, result_lines)
        for rank, status in model.servers.items():
            self._on_status(rank, status)
        self.explorer_feed.show_namespaces(model.namespaces)
        self.chart.show_samples(list(model.load))
        self.client_progress.show_session(model)
        self._show_result_memory(model.result_memory)
        self.session.show_snapshot()

    def _on_started(self, command_id: int, server: int) -> None:
        self.history.on_changed(command_id)
        if server == CLIENT_RANK:
            entry = self.history.model_.row_of(command_id)
            self.client_progress.on_started(command_id, entry.text if entry else "")

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
            self.explorer_feed.command_finished(server)

    def _on_progress(self, event) -> None:
        """A running command's progress (`core.events.CommandProgress`): its history row, its
        server's pane and the overview."""
        self.history.on_changed(event.id)
        self._show_progress(event.server)

    def _show_progress(self, rank: int) -> None:
        """The progress of the command running on `rank` now, as the model has it ('' for none)."""
        progress = self.bridge.model.progress_of(rank) if self.bridge.model is not None else None
        text = progress_text(progress) if progress is not None else ""
        pane = self.client_pane if rank == CLIENT_RANK else self.panes.get(rank)
        if pane is not None:
            pane.show_progress(text)
        if rank == CLIENT_RANK:
            self.client_progress.show_progress(text)
        self.overview.set_progress(rank, text)

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
        elif rank in self.panes:
            self.targets.set_host(rank, status.get("processor") or "")
            self.targets.set_state(rank, status["state"])
            self.overview.set_status(rank, status, status["state"])
            self.panes[rank].set_status(status)
            self._update_status_bar()
        self._show_progress(rank)

    def _host_of(self, rank: int) -> str | None:
        status = self.bridge.model.servers.get(rank) if self.bridge.model is not None else None
        return status["processor"] if status is not None else None

    def _update_status_bar(self) -> None:
        if self.session.stopping:
            return  # it says what the window waits for
        model = self.bridge.model
        counts: dict[str, int] = {}
        for rank in self.panes:
            state = model.state_of(rank) if model is not None else "starting"
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
        info = self.bridge.info
        self.statusBar().showMessage(f"{len(self.panes)} servers: {summary}  ·  launch mode: "
                                     f"{info.launch_mode}  ·  isolation: {info.isolation}")

    def show_response(self, response: dict[str, Any]) -> None:
        """Show a command's response in its server's pane, opening the pane if needed."""
        server = response.get("server")
        if server == CLIENT_RANK:
            self.pane_tabs.setCurrentWidget(self.client_pane)
            self.client_pane.response.show_response(response, fetch=True)
        elif server in self.panes:
            self.open_pane(server)
            self.panes[server].response.show_response(response, fetch=True)

    def _fetch(self, panel, command_id: int) -> None:
        """Bring a result the session kept (too large to come with the events) to `panel`."""
        def fetched(future: Future) -> None:
            if future.exception() is not None:
                self._say_if_failed(future)
            else:
                panel.show_fetched(future.result())

        self.bridge.when_done(self.bridge.response(command_id), fetched)

    def open_pane(self, rank: int) -> None:
        pane = self.panes[rank]
        if self.pane_tabs.indexOf(pane) < 0:
            self.pane_tabs.addTab(pane, f"Server {rank}")
        self.pane_tabs.setCurrentWidget(pane)

    def show_stacks(self, servers: list[int] | None) -> StacksView:
        """The Stacks tab, asking these servers (None: all) where their commands are now."""
        if self.stacks_view is None:
            self.stacks_view = StacksView(self.bridge, self)
        if self.pane_tabs.indexOf(self.stacks_view) < 0:
            self.pane_tabs.addTab(self.stacks_view, "Stacks")
        self.pane_tabs.setCurrentWidget(self.stacks_view)
        self.stacks_view.show_stacks(servers)
        return self.stacks_view

    def _close_pane_tab(self, index: int) -> None:
        widget = self.pane_tabs.widget(index)
        if widget in self.panes.values() or isinstance(widget, (ReplayPanel, StacksView)):
            self.pane_tabs.removeTab(index)

    # ----- results kept in memory ---------------------------------------------------------
    def choose_result_memory(self) -> None:
        figures = self.bridge.model.result_memory if self.bridge.model is not None else None
        dialog = ResultMemoryDialog(figures.limit if figures else None, figures.used if figures else 0, self)
        if dialog.exec() == ResultMemoryDialog.DialogCode.Accepted:
            self.bridge.when_done(self.bridge.set_result_memory(dialog.limit()), self._say_if_failed)

    def free_results(self, command_ids: list[int] | None) -> None:
        """Let go of these results' values (all for None); the history and panes say so."""
        self.bridge.when_done(self.bridge.purge_results(command_ids), self._on_freed)

    def _on_freed(self, future: Future) -> None:
        if future.exception() is not None:
            self._say_if_failed(future)
            return
        self.statusBar().showMessage(f"Freed {size_text(future.result())} of results", 8000)

    def _on_results_dropped(self, command_ids: list[int], _reason: str) -> None:
        self.history.model_.refresh(command_ids)
        dropped = set(command_ids)
        for pane in (self.all_pane, *self.panes.values()):
            shown = pane.response.response
            if shown is not None and shown["id"] in dropped:
                pane.response.show_response(shown)

    def _show_result_memory(self, figures: ResultMemoryChanged | None) -> None:
        if figures is None:
            self.memory_label.setText("")
            return
        self.memory_label.setText(f"results: {size_text(figures.used)} of "
                                  + ("no limit" if figures.limit is None else size_text(figures.limit)))

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

    def save_script(self, path: str | Path, **options) -> Future:
        """Ask the session for its script and write it to `path` (here, where this window runs)
        once it comes; a failure is shown in a message box. The future of the script's text."""
        future = self.bridge.session_script(name=Path(path).name, **options)
        self.bridge.when_done(future, lambda done: self._write_script(Path(path), done))
        return future

    def _write_script(self, path: Path, future: Future) -> None:
        try:
            path.write_text(future.result())
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Session not saved", str(exc))
            return
        self.statusBar().showMessage(f"Session saved as {path}", 8000)

    def _attached_window(self, bridge: SessionBridge) -> MainWindow:
        return MainWindow(bridge, self.theme, closing="ask")

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
        QMessageBox.about(self, "About mpipanel", about_text(self.bridge.info,
                                                             self.bridge.model.servers if self.bridge.model else None))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.session.may_close():
            self.save_settings()
            event.accept()
        else:
            event.ignore()
