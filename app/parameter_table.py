"""The parameter table: names and Python-literal values, checked as they are typed.

Values are parsed with `ast.literal_eval` (never `eval`): `[1, 3, 5]`, `'X54.ms'`, `{'a': 1.5}`,
`None`. The parsed type shows beside each value; a bad name or value marks its cell and says why,
and `parameters()` refuses to give a dict while any row is bad, naming the first bad field.
"""
from __future__ import annotations

import ast
import keyword
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

NAME, VALUE, TYPE = range(3)
_BAD = QBrush(QColor(211, 47, 47, 60))


class ParameterError(ValueError):
    """A row that cannot become a parameter; the message names the field."""


def parse_name(text: str) -> str:
    name = text.strip()
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ParameterError(f"parameter name {text!r} is not a Python identifier")
    return name


def parse_value(name: str, text: str) -> Any:
    """The Python literal in `text`; raises ParameterError naming the parameter."""
    if not text.strip():
        raise ParameterError(f"parameter {name!r} has no value (type a Python literal, e.g. None)")
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        reason = "not a Python literal" if not isinstance(exc, SyntaxError) else f"syntax error: {exc.msg}"
        raise ParameterError(f"parameter {name!r}: {text.strip()!r} is {reason}") from None


def describe_type(value: Any) -> str:
    if isinstance(value, (list, tuple, set, dict)):
        return f"{type(value).__name__}[{len(value)}]"
    return type(value).__name__


class ParameterTable(QWidget):
    """Rows of name = value; the table itself has the objectName `parameterTable`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 3, self, objectName="parameterTable")
        self.table.setHorizontalHeaderLabels(["Name", "Value (Python literal)", "Type"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(TYPE, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(self._on_item_changed)
        add = QPushButton("Add", self, objectName="parameterAdd")
        remove = QPushButton("Remove", self, objectName="parameterRemove")
        add.clicked.connect(lambda: self.add_row())
        remove.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def add_row(self, name: str = "", value: str = "") -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        type_item = QTableWidgetItem("")
        type_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.table.setItem(row, TYPE, type_item)
        self.table.setItem(row, NAME, QTableWidgetItem(name))
        self.table.setItem(row, VALUE, QTableWidgetItem(value))
        return row

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.rowCount():
            rows = [self.table.rowCount() - 1]
        for row in rows:
            self.table.removeRow(row)
        self.changed.emit()

    def set_parameters(self, parameters: dict[str, Any] | None) -> None:
        """Show `parameters` (e.g. of a command from the history) as rows."""
        self.table.setRowCount(0)
        for name, value in (parameters or {}).items():
            self.add_row(name, repr(value))

    def parameters(self) -> dict[str, Any]:
        """The table as a dict; raises ParameterError (the first problem) if a row is bad."""
        result: dict[str, Any] = {}
        for row in range(self.table.rowCount()):
            name_text, value_text = self._text(row, NAME), self._text(row, VALUE)
            if not name_text.strip() and not value_text.strip():
                continue
            name = parse_name(name_text)
            if name in result:
                raise ParameterError(f"parameter {name!r} appears twice")
            result[name] = parse_value(name, value_text)
        return result

    def problem(self) -> str | None:
        try:
            self.parameters()
        except ParameterError as exc:
            return str(exc)
        return None

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == TYPE:
            return
        self._check_row(item.row())
        self.changed.emit()

    def _check_row(self, row: int) -> None:
        name_item, value_item, type_item = (self.table.item(row, c) for c in (NAME, VALUE, TYPE))
        if None in (name_item, value_item, type_item):
            return
        self.table.blockSignals(True)
        try:
            for cell in (name_item, value_item):
                cell.setBackground(QBrush())
                cell.setToolTip("")
            type_item.setText("")
            if not name_item.text().strip() and not value_item.text().strip():
                return
            try:
                name = parse_name(name_item.text())
            except ParameterError as exc:
                name_item.setBackground(_BAD)
                name_item.setToolTip(str(exc))
                name = name_item.text()
            try:
                type_item.setText(describe_type(parse_value(name, value_item.text())))
            except ParameterError as exc:
                value_item.setBackground(_BAD)
                value_item.setToolTip(str(exc))
                type_item.setText("invalid")
        finally:
            self.table.blockSignals(False)
