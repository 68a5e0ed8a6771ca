"""The load chart: what it plots of the session's load samples, and axes that move in steps."""
from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF

from app.load_chart import HISTORY_SECONDS, LoadChart, step_above
from core.frontends.model import LoadFigures, LoadSampled
from gui_helpers import server_status


@pytest.fixture
def chart(qtbot):
    widget = LoadChart([1, 2])
    qtbot.addWidget(widget)
    widget.resize(800, 300)
    widget.show()
    return widget


def _figures(cpu: float, rss_mb: float, queue: int, activity: int = 1) -> LoadFigures:
    return LoadFigures(cpu, int(rss_mb * 1e6), queue, activity)


def _sample(**figures: LoadFigures) -> LoadSampled:
    """A sample of the servers named `s1`, `s2`, ..."""
    return LoadSampled(0.0, {int(name[1:]): value for name, value in figures.items()})


def _top(plot) -> float:
    return plot.viewRange()[1][1]


def test_a_sample_plots_each_servers_cpu_memory_queue_and_busy_state(chart):
    chart.add_sample(_sample(s1=_figures(40, 120, 3, activity=1), s2=_figures(0, 80, 0, activity=2)))
    assert (chart.cpu[0, -1], chart.memory[0, -1], chart.queue[0, -1]) == (40, 120, 3)
    assert list(chart.activity[-1]) == [1, 2]  # busy, lost
    cpu_curve = chart._curves[0][0]
    assert cpu_curve.getData()[1][-1] == 40


def test_value_axes_step_to_the_next_1_2_5_above_the_highest_point(chart):
    cpu, memory, queue = chart._plots
    chart.add_sample(_sample(s1=_figures(30, 120, 3)))
    assert (_top(cpu), _top(memory), _top(queue)) == (100, 200, 5)
    chart.add_sample(_sample(s1=_figures(150, 130, 1)))
    assert (_top(cpu), _top(memory), _top(queue)) == (200, 200, 5)
    assert [step_above(v) for v in (0.3, 1, 95, 96, 480)] == [0.5, 2, 100, 200, 1000]


def test_the_time_axis_grows_a_minute_at_a_time_up_to_the_history(chart):
    def shown() -> float:
        return -chart._plots[0].viewRange()[0][0]
    chart.add_sample(_sample())
    assert shown() == 60
    for _ in range(60):
        chart.add_sample(_sample())
    assert shown() == 120
    for _ in range(HISTORY_SECONDS):
        chart.add_sample(_sample())
    assert shown() == HISTORY_SECONDS


def test_a_snapshots_samples_replace_what_was_shown_newest_last(chart):
    chart.add_sample(_sample(s1=_figures(90, 500, 9)))
    chart.show_samples([_sample(s1=_figures(10 * i, 100, i % 2)) for i in range(90)])
    assert chart.cpu[0, -1] == 890 and chart.cpu[0, -90] == 0 and math.isnan(chart.cpu[0, -91])
    assert chart.samples == 90 and -chart._plots[0].viewRange()[0][0] == 120
    assert chart._curves[0][0].getData()[1][-1] == 890


def test_beyond_eight_servers_the_chart_plots_mean_and_max_while_the_strip_keeps_a_row_each(qtbot):
    chart = LoadChart(list(range(1, 13)))
    qtbot.addWidget(chart)
    chart.add_sample(LoadSampled(0.0, {rank: _figures(10 * rank, 100, rank % 3, activity=int(rank == 12))
                                       for rank in range(1, 13)}))
    [mean, maximum] = chart._curves[0]
    assert (mean.name(), maximum.name()) == ("mean", "max")
    assert mean.getData()[1][-1] == 65 and maximum.getData()[1][-1] == 120
    assert chart.activity.shape[1] == 12 and chart.activity[-1, 11] == 1


@pytest.fixture
def cluster_chart(qtbot):
    """A chart of 128 servers at its minimum height; two samples with every fifth server busy and
    server 77 lost in the second."""
    chart = LoadChart(list(range(1, 129)), host_of=lambda rank: server_status(rank)["processor"])
    qtbot.addWidget(chart)
    chart.resize(880, chart.minimumHeight())
    chart.show()
    qtbot.waitExposed(chart)
    for lost in (None, 77):
        chart.add_sample(LoadSampled(0.0, {
            rank: _figures(1, 100, 0, activity=2 if rank == lost else int(rank % 5 == 0)) for rank in chart.ranks}))
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
