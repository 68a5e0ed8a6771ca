"""All servers at a glance, grouped by host: state, pids, CPU, memory, queue, the current command
and its progress.

With many servers, per-server tabs stop being a way to look around; this table is. Double-click
a server to open its pane. A host's row counts its servers by state (`node01 — 32 servers: 30
idle, 2 busy`), so with its servers folded away a cluster of 128 still reads at a glance.
"""
from __future__ import annotations

import bisect
import collections
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from .server_states import state_icon

COLUMNS = ("Server", "State", "PID", "Worker", "CPU %", "Memory MB", "Queue", "Progress", "Command")
PROGRESS_COLUMN = COLUMNS.index("Progress")


class ServerOverview(QTreeWidget):
    openPaneRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("serverOverview")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.header().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        # Columns as wide as their longest title, not Qt's 100 px: nine of those overflow a pane.
        self.header().setDefaultSectionSize(self.fontMetrics().horizontalAdvance("Memory MB") + 12)
        self.setColumnWidth(PROGRESS_COLUMN, self.fontMetrics().horizontalAdvance("1,234/5,678 flagging") + 12)
        # Room for "server 9999" beside the host's indentation, or rows read "server …".
        self.setColumnWidth(0, self.indentation() + self.fontMetrics().horizontalAdvance("server 99999") + 8)
        self.hosts: dict[str, QTreeWidgetItem] = {}
        self.items: dict[int, QTreeWidgetItem] = {}
        self.states: dict[int, str] = {}
        self.ranks_on: dict[str, list[int]] = {}
        """Each host's servers, in rank order, as its group lists them."""
        self._stale: set[str] = set()
        self._relabel = QTimer(self, singleShot=True, interval=0)
        self._relabel.timeout.connect(self._label_stale_hosts)
        self.itemDoubleClicked.connect(self._on_double_click)

    def set_status(self, rank: int, status: dict[str, Any], state: str) -> None:
        host = status.get("processor") or "starting…"
        item = self._item(rank, host)
        command = (status.get("command") or "").strip().splitlines()
        values = (f"server {rank}", state, status.get("pid") or "", status.get("worker_pid") or "",
                  f"{status.get('cpu_percent', 0):.0f}", f"{(status.get('rss') or 0) / 1e6:.0f}",
                  status.get("queue_length", 0), command[0] if command else "")
        for column, value in zip((*range(PROGRESS_COLUMN), PROGRESS_COLUMN + 1), values):
            item.setText(column, str(value))
        if self.states.get(rank) != state:
            self.states[rank] = state
            item.setIcon(1, state_icon(state))
            self._label_later(host)

    def set_progress(self, rank: int, text: str) -> None:
        """The progress of the command running on `rank` ('37/100 flagging'), '' for none."""
        item = self.items.get(rank)
        if item is not None:
            item.setText(PROGRESS_COLUMN, text)
            item.setToolTip(PROGRESS_COLUMN, text)

    def _item(self, rank: int, host: str) -> QTreeWidgetItem:
        item = self.items.get(rank)
        if item is not None and item.parent() is self.hosts.get(host):
            return item
        if item is not None:
            self._leave(item)
        group = self.hosts.get(host)
        if group is None:  # hosts in name order, whichever reported first
            group = QTreeWidgetItem([host])
            self.insertTopLevelItem(sum(other < host for other in self.hosts), group)
            group.setFirstColumnSpanned(True)
            group.setExpanded(True)
            self.hosts[host] = group
        if item is None:
            item = QTreeWidgetItem()
            item.setData(0, Qt.ItemDataRole.UserRole, rank)
            for column in range(2, 7):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        ranks = self.ranks_on.setdefault(host, [])
        bisect.insort(ranks, rank)
        group.insertChild(ranks.index(rank), item)
        self.items[rank] = item
        self._label_later(host)
        return item

    def _leave(self, item: QTreeWidgetItem) -> None:
        """Take a server from its host's group (it reported another host), and an empty group away."""
        group = item.parent()
        group.removeChild(item)
        host = next(name for name, shown in self.hosts.items() if shown is group)
        self.ranks_on[host].remove(item.data(0, Qt.ItemDataRole.UserRole))
        if self.ranks_on[host]:
            self._label_later(host)
        else:
            self.takeTopLevelItem(self.indexOfTopLevelItem(group))
            del self.hosts[host], self.ranks_on[host]

    def _label_later(self, host: str) -> None:
        """Count a host's states once this turn of the event loop is over: when 128 statuses
        arrive together, each host is counted once, not once per server."""
        self._stale.add(host)
        self._relabel.start()

    def _label_stale_hosts(self) -> None:
        """Each changed host's name, its count of servers, and how many are in each state."""
        for host in self._stale & self.hosts.keys():
            ranks = self.ranks_on[host]
            counts = collections.Counter(self.states.get(rank, "starting") for rank in ranks)
            states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
            self.hosts[host].setText(0, f"{host} — {len(ranks)} server{'s' if len(ranks) > 1 else ''}: {states}")
        self._stale.clear()

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        rank = item.data(0, Qt.ItemDataRole.UserRole)
        if rank is not None:
            self.openPaneRequested.emit(rank)
