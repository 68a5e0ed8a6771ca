"""File > Attach…: the running sessions of this user on this machine, one row each, to open one;
or a host to reach over ssh.

The rows are what `python -m core --sessions` lists (the sessions' connection files): id, kind,
program, host, servers, when it started and its mpipanel version. Refresh reads them again
(sessions come and go; files of sessions that are gone are removed as they are read). A host
typed below (`node017`, `ana@node017:2222/3f2a9c1e`, or a whole `ssh://` target) is attached to
over ssh instead, with the far side's Python named beside it (docs/cluster.md).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from core.frontends.connection_files import ConnectionFile
from core.frontends.ssh import REMOTE_PYTHON_VARIABLE, SCHEME

COLUMNS = ("Session", "Kind", "Program", "Host", "Servers", "Started", "Version")


def started_text(started: float) -> str:
    """When a session started: the time alone today, else the date too."""
    moment = datetime.datetime.fromtimestamp(started)
    return moment.strftime("%H:%M:%S" if moment.date() == datetime.date.today() else "%Y-%m-%d %H:%M")


def row_texts(session: ConnectionFile) -> tuple[str, ...]:
    return (session.session, session.kind, Path(session.program).name if session.program else "",
            session.host, str(len(session.servers)), started_text(session.started), session.mpipanel)


def ssh_target_text(host: str) -> str | None:
    """The ssh target a host field names (`ssh://` added when left out); None when it is empty."""
    text = host.strip()
    if not text:
        return None
    return text if text.startswith(SCHEME) else SCHEME + text


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
                            "<code>python -m core --listen</code>; or name a host below.", self, wordWrap=True)
        self.host = QLineEdit(self, objectName="sshHost", clearButtonEnabled=True)
        self.host.setPlaceholderText("empty: this machine; else [user@]host[:port][/session id], over ssh")
        self.host.setToolTip("A session on another machine, reached with your ssh and ~/.ssh/config "
                             "(ProxyJump for a compute node); without a session id, the only one there")
        self.python = QLineEdit(self, objectName="remotePython", clearButtonEnabled=True)
        self.python.setPlaceholderText(f"python3, or ${REMOTE_PYTHON_VARIABLE}")
        self.python.setToolTip("The Python that has mpipanel on that host (a path, or a command for its "
                               "shell such as ~/venvs/mpipanel/bin/python)")
        self.host.textChanged.connect(self._update_attach)
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
        remote = QFormLayout()
        remote.addRow("Host (ssh):", self.host)
        remote.addRow("Remote Python:", self.python)
        layout.addLayout(remote)
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

    def chosen(self) -> ConnectionFile | str | None:
        """The session chosen: the ssh target the host field names, else the row selected, or None."""
        remote = ssh_target_text(self.host.text())
        if remote is not None:
            return remote
        rows = self.table.selectionModel().selectedRows()
        return self.sessions[rows[0].row()] if rows else None

    def remote_python(self) -> str | None:
        """The far side's Python as typed (None: the default)."""
        return self.python.text().strip() or None
