"""How a server's state looks everywhere in the window: one colour and one word per state."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

STATE_COLORS = {
    "idle": "#2e7d32",
    "busy": "#f9a825",
    "timeout": "#ef6c00",
    "lost": "#c62828",
    "starting": "#9e9e9e",
    "stopped": "#616161",
}

STATUS_COLORS = {
    "queued": "#9e9e9e",
    "running": "#f9a825",
    "done": "#2e7d32",
    "failed": "#c62828",
    "interrupted": "#ef6c00",
    "timeout": "#ef6c00",
    "expired": "#8e24aa",
    "cancelled": "#616161",
    "lost": "#c62828",
}
"""A command's status, coloured like the server state it resembles."""

_icons: dict[str, QIcon] = {}


def state_color(state: str) -> QColor:
    return QColor(STATE_COLORS.get(state, "#9e9e9e"))


def state_icon(state: str) -> QIcon:
    """A small filled circle in the state's colour."""
    if state not in _icons:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(state_color(state))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        _icons[state] = QIcon(pixmap)
    return _icons[state]
