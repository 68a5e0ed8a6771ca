"""All servers at a glance, grouped by host: state, pids, CPU, memory, queue, current command.

With many servers, per-server tabs stop being a way to look around; this table is. Double-click
a server to open its pane.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from .server_states import state_icon

COLUMNS = ("Server", "State", "PID", "Worker", "CPU %", "Memory MB", "Queue", "Command")


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
        # Room for "server 9999" beside the host's indentation, or rows read "server …".
        self.setColumnWidth(0, self.indentation() + self.fontMetrics().horizontalAdvance("server 99999") + 8)
        self.hosts: dict[str, QTreeWidgetItem] = {}
        self.items: dict[int, QTreeWidgetItem] = {}
        self.itemDoubleClicked.connect(self._on_double_click)

    def set_status(self, rank: int, status: dict[str, Any], state: str) -> None:
        item = self._item(rank, status.get("processor") or "starting…")
        command = (status.get("command") or "").strip().splitlines()
        values = (f"server {rank}", state, status.get("pid") or "", status.get("worker_pid") or "",
                  f"{status.get('cpu_percent', 0):.0f}", f"{(status.get('rss') or 0) / 1e6:.0f}",
                  status.get("queue_length", 0), command[0] if command else "")
        for column, value in enumerate(values):
            item.setText(column, str(value))
        item.setIcon(1, state_icon(state))
        for column in range(2, 7):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _item(self, rank: int, host: str) -> QTreeWidgetItem:
        item = self.items.get(rank)
        if item is not None and item.parent() is self.hosts.get(host):
            return item
        if item is not None:
            item.parent().removeChild(item)
        group = self.hosts.get(host)
        if group is None:
            group = QTreeWidgetItem(self, [host])
            group.setFirstColumnSpanned(True)
            group.setExpanded(True)
            self.hosts[host] = group
        item = item or QTreeWidgetItem()
        item.setData(0, Qt.ItemDataRole.UserRole, rank)
        ranks = [group.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(group.childCount())]
        group.insertChild(sum(r < rank for r in ranks), item)
        group.setText(0, f"{host} — {group.childCount()} server{'s' if group.childCount() > 1 else ''}")
        self.items[rank] = item
        return item

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        rank = item.data(0, Qt.ItemDataRole.UserRole)
        if rank is not None:
            self.openPaneRequested.emit(rank)
