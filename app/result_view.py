"""A command's result as a tree: dicts, lists, tuples, sets and arrays unfold; the rest is repr.

A result the client let go of (`ret_dropped`, see `core.client.result_budget`) shows why and when,
and the summary kept in its place.

Big containers show their first `MAX_CHILDREN` entries and say how many more there are; arrays
show shape, dtype and a few statistics, never millions of rows. The statistics run on the GUI
thread, so one result gets them for at most `STATS_ELEMENTS` elements in all (min, max and mean of
a 100 MB array took 48 ms, once per pane showing it); larger arrays say they were skipped.
"""
from __future__ import annotations

import itertools
import reprlib
import time
from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

DROP_REASONS = {"budget": "let go to keep the client within its result memory",
                "purged": "freed on request",
                "link": "kept by the session: a result this large comes to an attached window when shown",
                "unrebuilt": "it cannot be rebuilt in this window's process"}
NOT_HERE = {"link": "at the session", "unrebuilt": "not rebuilt here"}
"""Results that were not freed, only not brought to this window: the session keeps a 'link'
result and sends it when asked (`SessionFrontend.response`)."""


def is_freed(dropped: dict[str, Any] | None) -> bool:
    return dropped is not None and dropped["reason"] not in NOT_HERE
MAX_CHILDREN = 200
MAX_DEPTH = 6
STATS_ELEMENTS = 2_000_000
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


def _children(value: Any, with_stats: bool) -> list[tuple[str, Any]] | None:
    if isinstance(value, dict):
        return [(repr(k), v) for k, v in itertools.islice(value.items(), MAX_CHILDREN)]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value[:MAX_CHILDREN])]
    if isinstance(value, (set, frozenset)):
        return [("•", v) for v in itertools.islice(value, MAX_CHILDREN)]
    if _is_array(value):
        return _array_facts(value, with_stats)
    return None


def _is_array(value: Any) -> bool:
    """An array-like with a shape (numpy scalars, with shape (), are shown as values)."""
    shape = getattr(value, "shape", None)
    return bool(shape) and hasattr(value, "dtype") and hasattr(value, "size")


def _array_facts(array, with_stats: bool) -> list[tuple[str, Any]]:
    facts: list[tuple[str, Any]] = [("size", int(array.size)), ("nbytes", int(getattr(array, "nbytes", 0)))]
    try:
        if array.size and array.dtype.kind in "biuf":
            if with_stats:
                facts += [("min", array.min().item()), ("max", array.max().item()),
                          ("mean", float(array.mean()))]
            else:
                facts.append(("min, max, mean", f"not computed: over {STATS_ELEMENTS:,} elements in this result"))
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
        self._stats_left = STATS_ELEMENTS

    def show_value(self, value: Any, key: str = "ret") -> None:
        self.clear()
        self._stats_left = STATS_ELEMENTS
        root = QTreeWidgetItem(self, [key, summary(value)])
        self._add_children(root, value, 0)
        root.setExpanded(True)
        self.resizeColumnToContents(0)

    def show_dropped(self, dropped: dict[str, Any], size: int | None) -> None:
        """What is left of a result whose value was let go: why, when, and its summary."""
        self.clear()
        why = DROP_REASONS.get(dropped["reason"], dropped["reason"])
        when = time.strftime("%H:%M:%S", time.localtime(dropped["time"]))
        root = QTreeWidgetItem(self, ["ret", f"freed at {when}: {why}" if is_freed(dropped) else why])
        facts = [*dropped["summary"].items(), *([("size kept", f"{size:,} B")] if size else [])]
        for key, fact in facts:
            QTreeWidgetItem(root, [key, fact if isinstance(fact, str) else repr(fact)])
        root.setExpanded(True)
        self.resizeColumnToContents(0)

    def _add_children(self, item: QTreeWidgetItem, value: Any, depth: int) -> None:
        with_stats = _is_array(value) and value.size <= self._stats_left
        if with_stats:
            self._stats_left -= value.size
        children = _children(value, with_stats)
        if not children or depth >= MAX_DEPTH:
            return
        for key, child in children:
            node = QTreeWidgetItem(item, [key, summary(child)])
            if isinstance(child, (dict, list, tuple, set, frozenset)) or _is_array(child):
                self._add_children(node, child, depth + 1)
        total = len(value) if isinstance(value, (dict, list, tuple, set, frozenset)) else None
        if total is not None and total > MAX_CHILDREN:
            QTreeWidgetItem(item, ["…", f"{total - MAX_CHILDREN} more"])
