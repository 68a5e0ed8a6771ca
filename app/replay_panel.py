"""The replay panel: a saved script or session log, stepped through again on the live servers.

Each row is one recorded push: its command (the first line, marked `⏎ +N lines` when more
follow; the whole of it in the tooltip and, for the selected row, in the view below), target, the
recorded result and, once replayed, the new result, with differences marked. A file written by
another user asks before anything of it runs. Step runs the next push, Run to end the rest, Run from here
everything from the selected row on; a push that blocked when recorded is waited for before the
next one is sent, as it was then. Nothing here blocks the GUI: the table is a model whose cost is
the rows in sight, and the verdicts are counted as they come (a table of widget items took 0.7 s
to open a log of 10,000 commands, and recounting every row after each push made a long replay
quadratic).
"""
from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPlainTextEdit,
                               QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from core.events import CLIENT_RANK
from core.futures import when_all
from core.sessions import literals
from core.sessions.recorded import RecordedPush, read_session

from .command_text import marked_first_line, shown_text
from .table_model import ColumnsModel

COLUMNS = ("#", "Command", "Target", "Recorded", "Replayed", "")
_DIFFERS = QBrush(QColor(211, 47, 47, 60))
_MATCHES = QBrush(QColor(46, 125, 50, 40))


def recorded_text(push: RecordedPush) -> str:
    if not push.outcomes:
        return "—"
    outcome = sorted(push.outcomes, key=lambda o: o.id)[0]
    if not outcome.successful:
        lines = (outcome.traceback or outcome.status).strip().splitlines()
        return f"{outcome.status}: {lines[-1] if lines else ''}"
    encoded = outcome.ret or {"literal": "None"}
    return encoded.get("literal") or encoded["summary"]["repr"]


def replayed_text(response: dict) -> str:
    if not response["successful"]:
        lines = (response["traceback"] or response["status"]).strip().splitlines()
        return f"{response['status']}: {lines[-1] if lines else ''}"
    return literals.encode(response["ret"], 200).get("literal") or literals.summary(response["ret"])["repr"]


class ReplayModel(ColumnsModel):
    """The recorded pushes, and for each one replayed its new result and verdict."""

    def __init__(self, pushes: list[RecordedPush], parent: QObject | None = None):
        super().__init__(COLUMNS, parent)
        self.pushes = pushes
        self.recorded = [recorded_text(push) for push in pushes]
        self.replayed = [""] * len(pushes)
        self.verdicts = [""] * len(pushes)
        """'matches', 'differs' or '' (not compared) per push."""
        self.differences = [""] * len(pushes)
        self.counts = {"matches": 0, "differs": 0}

    def row_count(self) -> int:
        return len(self.pushes)

    def text(self, row: int, column: int) -> str:
        push = self.pushes[row]
        if column == 0:
            return str(row + 1)
        if column == 1:
            return marked_first_line(_shown(push))
        if column == 2:
            return _target_text(push.target)
        return (self.recorded, self.replayed, self.verdicts)[column - 3][row]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return _shown(self.pushes[row])
            return self.differences[row] if column == 5 else self.text(row, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            return {"differs": _DIFFERS, "matches": _MATCHES}.get(self.verdicts[row])
        return None

    def set_running(self, row: int) -> None:
        self.replayed[row] = "running…"
        self.row_changed(row)

    def set_outcome(self, row: int, replayed: str, verdict: str, differences: str) -> None:
        for old_or_new, step in ((self.verdicts[row], -1), (verdict, 1)):
            if old_or_new in self.counts:
                self.counts[old_or_new] += step
        self.replayed[row], self.verdicts[row], self.differences[row] = replayed, verdict, differences
        self.row_changed(row)


class _Done(QObject):
    """Carries a replayed push's completion from the core's thread to the GUI thread."""

    finished = Signal(int)


class ReplayPanel(QWidget):
    def __init__(self, bridge, path: str | Path, parent: QWidget | None = None):
        """Raises OSError for an unreadable file, SessionFileError (a ValueError naming the line)
        for one that is not a session, and ValueError when it targets servers this session does
        not have."""
        super().__init__(parent)
        self.setObjectName("replayPanel")
        self.path = Path(path)
        self.owner = os.stat(self.path).st_uid
        """Who wrote the file: one of another user's asks before it runs (`confirmed`)."""
        self.confirmed = self.owner == os.getuid()
        _, pushes = read_session(self.path)
        self.replay = bridge.replay(pushes)
        self.next_index = 0
        self._chain: int | None = None
        """Index where an automatic run stops, while one goes on."""
        self._done = _Done(self)
        self._done.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

        self.model = ReplayModel(self.replay.pushes, self)
        self.table = QTableView(self, objectName="replayTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for column in (1, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.detail = QPlainTextEdit(self, objectName="replayDetail", readOnly=True)
        """The whole command of the selected row, every line of it."""
        self.detail.setPlaceholderText("Select a command to see all of it.")
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.selectionModel().currentRowChanged.connect(lambda current, _: self._show_detail(current.row()))
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([400, 100])
        self.summary = QLabel(self, objectName="replaySummary")
        self.step_button = QPushButton("Step", self, objectName="replayStep")
        self.run_button = QPushButton("Run to end", self, objectName="replayRunToEnd")
        self.from_here_button = QPushButton("Run from here", self, objectName="replayRunFromHere")
        self.step_button.clicked.connect(self.step)
        self.run_button.clicked.connect(lambda: self.run_from(self.next_index))
        self.from_here_button.clicked.connect(lambda: self.run_from(max(0, self.table.currentIndex().row())))
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(f"<b>{self.path.name}</b>", self))
        buttons.addStretch()
        for button in (self.step_button, self.run_button, self.from_here_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(split)
        layout.addWidget(self.summary)
        self._update_summary()

    def _show_detail(self, row: int) -> None:
        self.detail.setPlainText(_shown(self.replay.pushes[row]) if row >= 0 else "")

    # ----- running ------------------------------------------------------------------------
    def confirm_run(self) -> bool:
        """True when the file may run: it is the user's own, or they said so once for this panel.
        A log or script written by someone else can run anything as this user."""
        if not self.confirmed:
            answer = QMessageBox.question(
                self, "Run another user's session?",
                f"{self.path} belongs to {_user_name(self.owner)}, not to you. Replaying it runs its "
                f"commands as you, on the servers and on this machine. Read them first (select a row to "
                f"see all of a command). Run them?")
            self.confirmed = answer == QMessageBox.StandardButton.Yes
        return self.confirmed

    def step(self) -> None:
        if self.next_index < len(self.replay.pushes) and self.confirm_run():
            self._send(self.next_index)

    def run_from(self, index: int) -> None:
        """Replay `index` and everything after it, one push after another."""
        if not self.confirm_run():
            return
        self._chain = len(self.replay.pushes)
        self.next_index = index
        self._continue_chain()

    def _continue_chain(self) -> None:
        while self._chain is not None and self.next_index < self._chain:
            index = self.next_index
            self._send(index)
            if self.replay.pushes[index].waits:
                return  # go on when it has finished, as the recording did
        self._chain = None

    def _send(self, index: int) -> None:
        self.model.set_running(index)
        self.table.selectRow(index)
        self.next_index = index + 1
        try:
            futures = self.replay.submit(index)
        except (ValueError, TypeError) as exc:  # a parameter without literal form, a target refused
            self.model.set_outcome(index, f"not sent: {exc}", "differs", str(exc))
            self._chain = None
            self._update_summary()
            return
        when_all(futures).add_done_callback(lambda _: self._done.finished.emit(index))

    def _on_finished(self, index: int) -> None:
        comparisons = self.replay.comparisons(index)
        responses = [future.result() for future in self.replay.futures[index]]
        differing = [c for c in comparisons if c.recorded and not c.matches]
        verdict = "differs" if differing else "matches" if any(c.recorded for c in comparisons) else ""
        self.model.set_outcome(index, "; ".join(replayed_text(r) for r in responses), verdict,
                               "\n".join(f"server {c.server}: {c.difference}" for c in differing))
        self._update_summary()
        if self._chain is not None and self.replay.pushes[index].waits:
            self._continue_chain()

    def _update_summary(self) -> None:
        total, counts = self.model.rowCount(), self.model.counts
        self.summary.setText(f"{total} commands · {counts['matches']} match · {counts['differs']} differ · "
                             f"{total - counts['matches'] - counts['differs']} not compared")


def _shown(push: RecordedPush) -> str:
    return shown_text(push.command, push.shown)


def _user_name(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _target_text(target) -> str:
    if target == CLIENT_RANK:
        return "client"
    if target is None:
        return "any"
    return str(target) if isinstance(target, int) else ", ".join(map(str, target))
