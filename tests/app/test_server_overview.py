"""The overview at cluster scale: 128 servers grouped by host, each host counting its servers' states."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.server_overview import ServerOverview
from gui_helpers import server_status


def _labels(overview: ServerOverview) -> list[str]:
    return [overview.topLevelItem(i).text(0) for i in range(overview.topLevelItemCount())]


@pytest.fixture
def overview(qtbot) -> ServerOverview:
    """128 servers on four hosts of 32, every fifth busy, arriving in reverse order."""
    widget = ServerOverview()
    qtbot.addWidget(widget)
    widget.resize(880, 540)
    widget.show()
    for rank in range(128, 0, -1):
        state = "busy" if rank % 5 == 0 else "idle"
        widget.set_status(rank, server_status(rank, state), state)
    return widget


def test_servers_are_grouped_by_host_in_order_and_each_host_counts_its_states(qtbot, overview):
    expected = ["node01 — 32 servers: 6 busy, 26 idle", "node02 — 32 servers: 6 busy, 26 idle",
                "node03 — 32 servers: 7 busy, 25 idle", "node04 — 32 servers: 6 busy, 26 idle"]
    qtbot.waitUntil(lambda: _labels(overview) == expected)  # hosts in name order, as ranks in a host
    for host, group in overview.hosts.items():
        ranks = [group.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(group.childCount())]
        first = 32 * (int(host[-2:]) - 1) + 1
        assert ranks == list(range(first, first + 32))
    for rank in range(33, 65):
        overview.set_status(rank, server_status(rank, "timeout"), "timeout")
    qtbot.waitUntil(lambda: overview.hosts["node02"].text(0) == "node02 — 32 servers: 32 timeout")


def test_a_server_that_names_its_host_late_leaves_the_starting_group(qtbot):
    overview = ServerOverview()
    qtbot.addWidget(overview)
    overview.set_status(1, {**server_status(1), "processor": None}, "starting")
    overview.set_status(2, server_status(2), "idle")
    qtbot.waitUntil(lambda: _labels(overview) == ["node01 — 1 server: 1 idle", "starting… — 1 server: 1 starting"])
    overview.set_status(1, server_status(1), "idle")
    qtbot.waitUntil(lambda: _labels(overview) == ["node01 — 2 servers: 2 idle"])
    assert list(overview.hosts) == ["node01"]


def test_double_clicking_any_of_128_servers_asks_for_its_pane(qtbot, overview):
    item = overview.items[117]
    overview.scrollToItem(item)
    assert overview.viewport().rect().contains(overview.visualItemRect(item))
    with qtbot.waitSignal(overview.openPaneRequested) as opened:
        overview.itemDoubleClicked.emit(item, 0)
    assert opened.args == [117]
