"""A command's result as a tree: dicts, lists, tuples, sets and arrays unfold; the rest is repr.

Big containers show their first `MAX_CHILDREN` entries and say how many more there are; arrays
show shape, dtype and a few statistics, never millions of rows.
"""
from __future__ import annotations

import reprlib
from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

MAX_CHILDREN = 200
MAX_DEPTH = 6
_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 10


def summary(value: Any) -> str:
    """One line about a value: its type and size or its (shortened) repr."""
    if _is_array(value):
        return f"{type(value).__name__} shape={tuple(value.shape)} dtype={value.dtype}"
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return f"{type(value).__name__} of {len(value)}"
    return _repr.repr(value)


def _children(value: Any) -> list[tuple[str, Any]] | None:
    if isinstance(value, dict):
        return [(repr(k), v) for k, v in list(value.items())[:MAX_CHILDREN]]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value[:MAX_CHILDREN])]
    if isinstance(value, (set, frozenset)):
        return [("•", v) for v in list(value)[:MAX_CHILDREN]]
    if _is_array(value):
        return _array_facts(value)
    return None


def _is_array(value: Any) -> bool:
    """An array-like with a shape (numpy scalars, with shape (), are shown as values)."""
    shape = getattr(value, "shape", None)
    return bool(shape) and hasattr(value, "dtype") and hasattr(value, "size")


def _array_facts(array) -> list[tuple[str, Any]]:
    facts: list[tuple[str, Any]] = [("size", int(array.size)), ("nbytes", int(getattr(array, "nbytes", 0)))]
    try:
        if array.size and array.dtype.kind in "biuf":
            facts += [("min", array.min().item()), ("max", array.max().item()),
                      ("mean", float(array.mean()))]
        flat = array.reshape(-1)[:10]
        facts.append(("first values", flat.tolist()))
    except (TypeError, ValueError, AttributeError):
        pass
    return facts


class ResultView(QTreeWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultView")
        self.setColumnCount(2)
        self.setHeaderLabels(["Key", "Value"])
        self.setAlternatingRowColors(True)

    def show_value(self, value: Any) -> None:
        self.clear()
        root = QTreeWidgetItem(self, ["ret", summary(value)])
        self._add_children(root, value, 0)
        root.setExpanded(True)
        self.resizeColumnToContents(0)

    def _add_children(self, item: QTreeWidgetItem, value: Any, depth: int) -> None:
        children = _children(value)
        if not children or depth >= MAX_DEPTH:
            return
        for key, child in children:
            node = QTreeWidgetItem(item, [key, summary(child)])
            if isinstance(child, (dict, list, tuple, set, frozenset)) or _is_array(child):
                self._add_children(node, child, depth + 1)
        total = len(value) if isinstance(value, (dict, list, tuple, set, frozenset)) else None
        if total is not None and total > MAX_CHILDREN:
            QTreeWidgetItem(item, ["…", f"{total - MAX_CHILDREN} more"])
