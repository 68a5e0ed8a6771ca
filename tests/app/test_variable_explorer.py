"""The variable explorer: each server's names with their facts, a filter, pulling a value, and
asking the servers only while an explorer is in sight."""
from __future__ import annotations

from PySide6.QtCore import Qt

from core.wire.messages import NameSummary
from gui_helpers import response


def _rows(explorer) -> dict[str, tuple]:
    """What the explorer shows, through its filter: name -> the displayed cells."""
    model = explorer.model_
    first = explorer.model_.first
    return {model.index(row, first).data(): tuple(model.index(row, column).data()
                                                 for column in range(model.columnCount()))
            for row in range(model.rowCount())}


def _run_on(qtbot, window, rank: int, command: str) -> dict:
    window.targets.select([rank])
    [command_id] = window.run(command)
    return response(qtbot, window, command_id)


def _double_click(qtbot, explorer, name: str) -> None:
    model = explorer.model_
    [row] = [r for r in range(model.rowCount()) if model.index(r, explorer.model_.first).data() == name]
    index = model.index(row, explorer.model_.first)
    explorer.table.scrollTo(index)
    where = explorer.table.visualRect(index).center()
    qtbot.mouseClick(explorer.table.viewport(), Qt.MouseButton.LeftButton, pos=where)  # Qt wants the press first
    qtbot.mouseDClick(explorer.table.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_a_servers_pane_lists_its_variables_after_a_command_there(qtbot, window):
    window.open_pane(1)
    explorer = window.panes[1].explorer
    _run_on(qtbot, window, 1, "import numpy as np\ngrid = np.zeros((3, 4))\nwords = ['a', 'b']\nniter = 7")
    qtbot.waitUntil(lambda: {"grid", "words", "niter"} <= set(_rows(explorer)))
    rows = _rows(explorer)
    assert rows["grid"][:4] == ("grid", "ndarray", "3 × 4", "96 B")
    assert rows["grid"][4].startswith("float64 [0.0, 0.0")
    assert rows["words"][:3] == ("words", "list", "2") and rows["niter"][4] == "7"
    assert "np" not in rows  # modules are the code's furniture, not data
    _run_on(qtbot, window, 1, "del words\nniter = 8")
    qtbot.waitUntil(lambda: "words" not in _rows(explorer) and _rows(explorer)["niter"][4] == "8")


def test_the_filter_box_narrows_the_names(qtbot, window):
    window.open_pane(2)
    explorer = window.panes[2].explorer
    _run_on(qtbot, window, 2, "alpha_one = 1; alpha_two = 2; beta = 3")
    qtbot.waitUntil(lambda: {"alpha_one", "alpha_two", "beta"} <= set(_rows(explorer)))
    qtbot.keyClicks(explorer.filter, "ALPHA")
    assert set(_rows(explorer)) == {"alpha_one", "alpha_two"}
    assert explorer.count.text().startswith("2 of ")
    explorer.filter.clear()
    assert "beta" in _rows(explorer)


def test_the_all_servers_explorer_says_which_server_holds_what(qtbot, window):
    window.pane_tabs.setCurrentWidget(window.all_pane)
    window.targets.select([1, 3])
    ids = window.run("shared_name = __import__('os').environ['MPIPANEL_SERVER_RANK']")
    for command_id in ids:
        response(qtbot, window, command_id)
    explorer = window.all_pane.explorer
    model = explorer.model_

    def held() -> set:
        return {(rank, entry.preview) for rank, entry in model.rows if entry.name == "shared_name"}

    qtbot.waitUntil(lambda: held() == {(1, "'1'"), (3, "'3'")})
    assert model.columns[0] == "Server"


def test_double_click_pulls_the_value_into_the_panes_result_tree(qtbot, window):
    window.open_pane(3)
    pane = window.panes[3]
    _run_on(qtbot, window, 3, "table = {'spw': [1, 3, 5], 'vis': 'X54.ms'}")
    qtbot.waitUntil(lambda: "table" in _rows(pane.explorer))
    _double_click(qtbot, pane.explorer, "table")
    qtbot.waitUntil(lambda: pane.response.result.topLevelItem(0) is not None
                    and pane.response.result.topLevelItem(0).text(0) == "table")
    root = pane.response.result.topLevelItem(0)
    assert root.text(1) == "dict of 2"
    assert {root.child(i).text(0) for i in range(root.childCount())} == {"'spw'", "'vis'"}
    assert "pulled from server 3" in pane.response.heading.text() and pane.explorer.message.isHidden()


def test_pulling_a_name_that_no_longer_exists_names_the_variable_and_the_server(qtbot, window):
    window.open_pane(2)
    pane, other = window.panes[2], window.panes[1]
    _run_on(qtbot, window, 2, "kept = 5")
    qtbot.waitUntil(lambda: "kept" in _rows(pane.explorer))
    other_heading = other.response.heading.text()
    # A summary that went stale: the server lost `ghost` after it was described.
    pane.explorer.set_names(2, [*pane.explorer.model_.namespaces[2], NameSummary("ghost", "int", None, None, 28, "1")])
    pane.explorer.apply_pending()
    _double_click(qtbot, pane.explorer, "ghost")
    qtbot.waitUntil(lambda: "NameError" in pane.explorer.message.text())
    message = pane.explorer.message.text()
    assert "'ghost'" in message and "server 2" in message and "NameError" in message
    assert other.response.heading.text() == other_heading
    qtbot.waitUntil(lambda: "ghost" not in _rows(pane.explorer))  # the failed pull refreshed it
    assert _run_on(qtbot, window, 2, "kept + 1")["ret"] == 6


def test_servers_are_asked_only_while_an_explorer_is_in_sight(qtbot, window):
    window.open_pane(1)
    qtbot.waitUntil(lambda: 1 not in window.explorer_feed._asking)
    window.pane_tabs.setCurrentWidget(window.overview)
    asked = window.explorer_feed.requests
    _run_on(qtbot, window, 1, "unseen = 1")
    assert window.explorer_feed.requests == asked
    window.pane_tabs.setCurrentWidget(window.panes[1])
    qtbot.waitUntil(lambda: "unseen" in _rows(window.panes[1].explorer))
    assert window.explorer_feed.requests == asked + 1


def test_the_model_filters_and_sorts_every_servers_rows_and_keeps_them_through_refreshes(qtbot):
    from app.variable_explorer import NamespaceModel
    model = NamespaceModel(with_server=True)

    def names(rank: int, sizes: list[int]) -> list[NameSummary]:
        return [NameSummary(f"n{size}", "bytes", None, size, size, "b''") for size in sizes]

    model.set_namespaces({1: names(1, [30, 10]), 2: names(2, [20, 110])})
    model.sort(4, Qt.SortOrder.DescendingOrder)  # Size
    assert [(rank, entry.nbytes) for rank, entry in model.rows] == [(2, 110), (1, 30), (2, 20), (1, 10)]
    model.set_filter("N1")
    assert [entry.name for _, entry in model.rows] == ["n110", "n10"] and model.total == 4
    model.set_namespaces({2: names(2, [120])})
    assert [entry.name for _, entry in model.rows] == ["n120", "n10"] and model.total == 3
    assert model.index(1, 4).data() == "10 B" and model.index(1, 0).data() == 1
