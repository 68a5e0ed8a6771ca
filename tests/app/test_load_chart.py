"""The load chart: what it plots of the session's load samples, and axes that move in steps."""
from __future__ import annotations

import math

import pytest

from app.load_chart import HISTORY_SECONDS, LoadChart, step_above
from core.frontends.model import LoadFigures, LoadSampled


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
