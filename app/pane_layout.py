"""How a tab on the right is laid out: a bar of controls over two parts split vertically (a
server's pane: its output over its response; the Stacks view: the groups over a stack)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QVBoxLayout, QWidget


def bar_over_split(widget: QWidget, bar: QHBoxLayout, upper: QWidget, lower: QWidget,
                   stretch: tuple[int, int]) -> None:
    split = QSplitter(Qt.Orientation.Vertical, widget)
    split.addWidget(upper)
    split.addWidget(lower)
    for index, factor in enumerate(stretch):
        split.setStretchFactor(index, factor)
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addLayout(bar)
    layout.addWidget(split)
