"""Bounded client memory in the window: freeing results from the history or the View menu, the
result-memory setting, and how a freed result shows."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from gui_helpers import choose_from_next_menu, response
from app.history_table import STATUS_COLUMN


def _run(qtbot, window, command: str) -> dict:
    window.targets.select([1])
    [command_id] = window.run(command)
    return response(qtbot, window, command_id)


def _status(window, command_id: int) -> str:
    model = window.history.model_
    row = model._index[command_id]
    return (model.index(row, STATUS_COLUMN).data(),
            model.index(row, STATUS_COLUMN).data(Qt.ItemDataRole.ToolTipRole))


def test_free_result_in_the_history_menu_keeps_the_status_and_says_what_went(qtbot, window):
    freed = _run(qtbot, window, "list(range(1000))")
    window.history.selectRow(window.history.model_._index[freed["id"]])
    pane = window.panes[1]
    qtbot.waitUntil(lambda: pane.response.response is freed)
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)  # a later message may replace it at once
    choose_from_next_menu("Free result")
    row = window.history.model_.index(window.history.model_._index[freed["id"]], 0)
    window.history.customContextMenuRequested.emit(window.history.visualRect(row).center())
    qtbot.waitUntil(lambda: "its result was freed" in pane.response.heading.text())
    assert _status(window, freed["id"])[0] == "done · result freed"
    tooltip = _status(window, freed["id"])[1]
    assert "freed on request" in tooltip and "type list" in tooltip and "size 1000" in tooltip
    assert freed["ret"] is None and freed["status"] == "done" and freed["time_end"]
    root = pane.response.result.topLevelItem(0)
    assert "freed on request" in root.text(1)
    assert {root.child(i).text(0) for i in range(root.childCount())} >= {"type", "size", "repr"}
    assert any(message.startswith("Freed ") and message.endswith("KiB of results") for message in said), said


def test_free_all_results_in_the_view_menu_frees_every_kept_result(qtbot, window):
    first, second = _run(qtbot, window, "'x' * 5000"), _run(qtbot, window, "[0] * 5000")
    [action] = [a for a in window.menuBar().actions()[1].menu().actions() if a.text() == "&Free all results"]
    action.trigger()
    qtbot.waitUntil(lambda: all(_status(window, r["id"])[0] == "done · result freed" for r in (first, second)))
    qtbot.waitUntil(lambda: window.bridge.model.result_memory.used == 0)
    assert window.memory_label.text().startswith("results: 0 B of")


def test_lowering_the_result_memory_frees_the_oldest_results_and_keeps_the_newest(qtbot, window):
    from app.result_memory_dialog import ResultMemoryDialog
    before = window.bridge.model.result_memory.limit
    old, new = _run(qtbot, window, "list(range(2000))"), _run(qtbot, window, "list(range(3000))")

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ResultMemoryDialog):
            QTimer.singleShot(20, answer)
            return
        dialog.unlimited.setChecked(False)
        dialog.megabytes.setValue(0)
        dialog.accept()

    QTimer.singleShot(0, answer)
    try:
        window.choose_result_memory()
        qtbot.waitUntil(lambda: window.bridge.model.result_memory.limit == 0)
        qtbot.waitUntil(lambda: _status(window, old["id"])[0] == "done · result freed")
        assert "result memory" in _status(window, old["id"])[1]
        assert _status(window, new["id"])[0] == "done" and new["ret"] == list(range(3000))
        assert window.memory_label.text().endswith("of 0 B")
    finally:
        window.bridge.set_result_memory(before).result(10)
