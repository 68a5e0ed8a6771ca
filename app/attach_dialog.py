"""File > Attach…: the running sessions of this user on this machine, one row each, to open one.

The rows are what `python -m core --sessions` lists (the sessions' connection files): id, kind,
program, host, servers, when it started and its mpipanel version. Refresh reads them again
(sessions come and go; files of sessions that are gone are removed as they are read).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from core.frontends.connection_files import ConnectionFile

COLUMNS = ("Session", "Kind", "Program", "Host", "Servers", "Started", "Version")


def started_text(started: float) -> str:
    """When a session started: the time alone today, else the date too."""
    moment = datetime.datetime.fromtimestamp(started)
    return moment.strftime("%H:%M:%S" if moment.date() == datetime.date.today() else "%Y-%m-%d %H:%M")


def row_texts(session: ConnectionFile) -> tuple[str, ...]:
    return (session.session, session.kind, Path(session.program).name if session.program else "",
            session.host, str(len(session.servers)), started_text(session.started), session.mpipanel)


class AttachDialog(QDialog):
    def __init__(self, list_sessions: Callable[[], list[ConnectionFile]], exclude: str | None = None,
                 parent: QWidget | None = None):
        """`list_sessions()`: the sessions to offer; `exclude`: a session id left out (the one
        the asking window shows)."""
        super().__init__(parent)
        self.setWindowTitle("Attach to a Session")
        self.setObjectName("attachDialog")
        self.list_sessions = list_sessions
        self.exclude = exclude
        self.sessions: list[ConnectionFile] = []
        self.table = QTableWidget(0, len(COLUMNS), self, objectName="sessionTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemDoubleClicked.connect(lambda _item: self.accept())
        self.empty = QLabel("No other session of yours is running on this machine. Start one with "
                            "<code>python -m core --serve</code>, or run a program with "
                            "<code>python -m core --listen</code>.", self, wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.attach_button = buttons.addButton("Attach", QDialogButtonBox.ButtonRole.AcceptRole)
        refresh = QPushButton("Refresh", self, objectName="refreshSessions")
        buttons.addButton(refresh, QDialogButtonBox.ButtonRole.ResetRole)
        refresh.clicked.connect(self.refresh)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.table.itemSelectionChanged.connect(self._update_attach)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Open a window on a running session; the session goes on when the "
                                "window goes (File > Detach).", self, wordWrap=True))
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        layout.addWidget(buttons)
        self.resize(760, 320)
        self.refresh()

    def refresh(self) -> None:
        self.sessions = [s for s in self.list_sessions() if s.session != self.exclude]
        self.table.setRowCount(len(self.sessions))
        for row, session in enumerate(self.sessions):
            for column, text in enumerate(row_texts(session)):
                item = QTableWidgetItem(text)
                if column == COLUMNS.index("Servers"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.empty.setVisible(not self.sessions)
        self.table.setVisible(bool(self.sessions))
        if self.sessions:
            self.table.selectRow(0)
        self._update_attach()

    def _update_attach(self) -> None:
        self.attach_button.setEnabled(self.chosen() is not None)

    def chosen(self) -> ConnectionFile | None:
        """The session chosen, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.sessions[rows[0].row()] if rows else None
