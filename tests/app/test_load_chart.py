"""The load chart: what it plots from the servers' status, and axes that move in steps."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF

from app.load_chart import HISTORY_SECONDS, LoadChart, step_above
from gui_helpers import server_status


@pytest.fixture
def chart(qtbot):
    widget = LoadChart([1, 2])
    qtbot.addWidget(widget)
    widget.timer.stop()  # the test takes the samples
    widget.resize(800, 300)
    widget.show()
    return widget


def _status(cpu: float, rss_mb: float, queue: int, state: str = "busy") -> dict:
    return {"state": state, "cpu_percent": cpu, "rss": rss_mb * 1e6, "queue_length": queue}


def _top(plot) -> float:
    return plot.viewRange()[1][1]


def test_a_sample_plots_each_servers_cpu_memory_queue_and_busy_state(chart):
    chart.set_status(1, _status(40, 120, 3))
    chart.set_busy(1, True)
    chart.set_status(2, _status(0, 80, 0, state="lost"))
    chart.sample()
    assert (chart.cpu[0, -1], chart.memory[0, -1], chart.queue[0, -1]) == (40, 120, 3)
    assert list(chart.activity[-1]) == [1, 2]  # busy, lost
    cpu_curve = chart._curves[0][0]
    assert cpu_curve.getData()[1][-1] == 40


def test_value_axes_step_to_the_next_1_2_5_above_the_highest_point(chart):
    cpu, memory, queue = chart._plots
    chart.set_status(1, _status(30, 120, 3))
    chart.sample()
    assert (_top(cpu), _top(memory), _top(queue)) == (100, 200, 5)
    chart.set_status(1, _status(150, 130, 1))
    chart.sample()
    assert (_top(cpu), _top(memory), _top(queue)) == (200, 200, 5)
    assert [step_above(v) for v in (0.3, 1, 95, 96, 480)] == [0.5, 2, 100, 200, 1000]


def test_the_time_axis_grows_a_minute_at_a_time_up_to_the_history(chart):
    def shown() -> float:
        return -chart._plots[0].viewRange()[0][0]
    chart.sample()
    assert shown() == 60
    for _ in range(60):
        chart.sample()
    assert shown() == 120
    for _ in range(HISTORY_SECONDS):
        chart.sample()
    assert shown() == HISTORY_SECONDS


def test_beyond_eight_servers_the_chart_plots_mean_and_max_while_the_strip_keeps_a_row_each(qtbot):
    chart = LoadChart(list(range(1, 13)))
    qtbot.addWidget(chart)
    chart.timer.stop()
    for rank in range(1, 13):
        chart.set_status(rank, _status(10 * rank, 100, rank % 3))
    chart.set_busy(12, True)
    chart.sample()
    [mean, maximum] = chart._curves[0]
    assert (mean.name(), maximum.name()) == ("mean", "max")
    assert mean.getData()[1][-1] == 65 and maximum.getData()[1][-1] == 120
    assert chart.activity.shape[1] == 12 and chart.activity[-1, 11] == 1


@pytest.fixture
def cluster_chart(qtbot):
    """A chart of 128 servers at its minimum height; two samples with every fifth server busy and
    server 77 lost in the second."""
    chart = LoadChart(list(range(1, 129)))
    qtbot.addWidget(chart)
    chart.timer.stop()
    chart.resize(880, chart.minimumHeight())
    chart.show()
    qtbot.waitExposed(chart)
    for lost in (None, 77):
        for rank in chart.ranks:
            state = "lost" if rank == lost else "busy" if rank % 5 == 0 else "idle"
            chart.set_status(rank, server_status(rank, state))
            chart.set_busy(rank, state == "busy")
        chart.sample()
    return chart


def test_at_128_servers_every_server_keeps_a_pixel_row_of_the_strip_and_the_plots_two_lines(cluster_chart):
    strip = cluster_chart._strip_plot
    assert strip.vb.height() >= 128 and cluster_chart.minimumHeight() > 240
    assert all(len(plot.listDataItems()) == 2 for plot in cluster_chart._plots)  # mean and max
    assert cluster_chart.strip.image.shape == cluster_chart.activity.shape == (cluster_chart.seconds.size, 128)
    assert list(cluster_chart.activity[-1, 74:77]) == [1, 0, 2]  # servers 75 busy, 76 idle, 77 lost


def test_the_strip_names_the_server_its_host_and_its_state_under_the_mouse(cluster_chart):
    assert cluster_chart.strip_readout(-0.5, 76.5) == "server 77 on node03: lost or silent, now"
    assert cluster_chart.strip_readout(-1.5, 76.5) == "server 77 on node03: idle, 1 s ago"
    assert cluster_chart.strip_readout(-0.2, 9.2) == "server 10 on node01: busy, now"
    assert cluster_chart.strip_readout(-100, 9.2) == "server 10 on node01: not sampled yet"
    assert cluster_chart.strip_readout(-0.5, 128.5) == "" and cluster_chart.strip_readout(0.5, 3) == ""
    strip = cluster_chart._strip_plot
    strip.scene().sigMouseMoved.emit(strip.vb.mapViewToScene(QPointF(-0.5, 127.5)))
    assert cluster_chart.strip.toolTip() == "server 128 on node04: idle, now"
