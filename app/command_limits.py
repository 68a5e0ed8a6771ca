"""The command's limits under the parameters: a time limit in seconds and how often to retry it.

A command past its time limit is interrupted on its server and ends 'expired' with the stack it
was in (`core.supervision`); `retries` sends it again when the worker running it dies. The limit
is typed, so it is parsed as the parameters are (`ast.literal_eval`, never `eval`): empty means
none, anything but a positive number of seconds marks the field and is refused, naming it.
"""
from __future__ import annotations

import ast
import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

MAX_RETRIES = 10
_BAD_STYLE = "background: rgba(211, 47, 47, 60);"
LIMIT_TIP = ("Seconds the command may run on its server; past them it is interrupted and ends 'expired' "
             "with the stack it was in")


class TimeLimitError(ValueError):
    """The time limit typed is no positive number of seconds; the message names the field."""


def parse_time_limit(text: str) -> float | None:
    """Seconds, or None for an empty field; raises TimeLimitError naming the field."""
    typed = text.strip()
    if not typed:
        return None
    try:
        value = ast.literal_eval(typed)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise TimeLimitError(f"time limit {typed!r} is not a positive number of seconds "
                             f"(leave it empty for no limit)")
    return float(value)


class CommandLimits(QWidget):
    """'Time limit [   ] s   Retries [0]'; `time_limit()` and `retries()` for the next command."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.time_limit_field = QLineEdit(self, objectName="timeLimitField", placeholderText="none",
                                          clearButtonEnabled=True)
        self.time_limit_field.setToolTip(LIMIT_TIP)
        self.time_limit_field.setMaximumWidth(self.fontMetrics().horizontalAdvance("0" * 12) + 30)
        self.retries_field = QSpinBox(self, objectName="retriesField", minimum=0, maximum=MAX_RETRIES)
        self.retries_field.setToolTip("Send the command again this many times if the worker running it dies "
                                      "(never one that raised)")
        self.time_limit_field.textChanged.connect(self._check)
        self.retries_field.valueChanged.connect(lambda _value: self.changed.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Time limit</b>", self))
        layout.addWidget(self.time_limit_field)
        layout.addWidget(QLabel("s", self))
        layout.addSpacing(12)
        layout.addWidget(QLabel("<b>Retries</b>", self))
        layout.addWidget(self.retries_field)
        layout.addStretch()

    def time_limit(self) -> float | None:
        """The limit typed, None for none; raises TimeLimitError for a bad one."""
        return parse_time_limit(self.time_limit_field.text())

    def retries(self) -> int:
        return self.retries_field.value()

    def set_limits(self, time_limit: float | None, retries: int) -> None:
        """Show a command's limits (re-running it from the history)."""
        self.time_limit_field.setText("" if time_limit is None else f"{time_limit:g}")
        self.retries_field.setValue(retries)

    def _check(self) -> None:
        try:
            self.time_limit()
        except TimeLimitError as exc:
            self.time_limit_field.setStyleSheet(_BAD_STYLE)
            self.time_limit_field.setToolTip(str(exc))
        else:
            self.time_limit_field.setStyleSheet("")
            self.time_limit_field.setToolTip(LIMIT_TIP)
        self.changed.emit()
