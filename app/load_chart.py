"""The live load chart: per server CPU %, memory and queue length, and a busy/idle strip.

The session samples every server's load once a second (`core.frontends.model.LoadSampled`), not
per message, so the chart moves at a steady pace whatever the traffic, and a window that attaches
later is handed the last `HISTORY_SECONDS` of samples with the rest of the session
(`show_samples`); the chart only draws them. Up to `MAX_LEGEND` servers get a line each; beyond
that, 32 tangled lines say less than the mean and the maximum over the servers (and cost ten times
as much to draw), so those are plotted, while the busy strip still has a row per server: an image,
one pixel row or more per server, whatever their number (128 curves would be neither readable nor
cheap). Hovering over the strip names the server, its host and its state at that moment.

Axes move in steps: a value axis goes up to the next 1, 2 or 5 × 10ⁿ above what it shows, and the
time axis grows a minute at a time. Besides reading more calmly than axes that follow every sample,
this keeps repaints cheap: an axis with its grid cost 2-3 ms to draw, and is drawn again only when
its range changes.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QGraphicsItem, QToolTip, QVBoxLayout, QWidget

from core.frontends.model import LOAD_SAMPLES, LoadSampled

SAMPLE_INTERVAL_MS = 1000
"""How often the session samples the load (`core.frontends.host`)."""
_SAMPLES = LOAD_SAMPLES
HISTORY_SECONDS = _SAMPLES * SAMPLE_INTERVAL_MS // 1000
_STEP = SAMPLE_INTERVAL_MS / 1000
"""Seconds between samples."""
MAX_LEGEND = 8
MIN_SPAN_SECONDS = 60
SPAN_STEP_SECONDS = 60
AXIS_WIDTH = 70
"""Pixels for every value axis: room for six-digit labels, and a fixed width means a new label
never changes the layout (which would draw every axis again)."""
MINIMUM_HEIGHT = 240
"""Of the chart's widget, whatever the number of servers (more, to give each a row of the strip)."""
_BUSY_LUT = np.array([[128, 128, 128, 40], [249, 168, 37, 255], [198, 40, 40, 255]], dtype=np.uint8)
_ACTIVITY = ("idle", "busy", "lost or silent")
"""What each value of the busy strip means, as its colours (`_BUSY_LUT`) show it."""


class LoadChart(QWidget):
    def __init__(self, ranks: list[int], parent: QWidget | None = None,
                 host_of: Callable[[int], str | None] = lambda _rank: None):
        """`host_of(rank)`: the host a server runs on, for the strip's readout."""
        super().__init__(parent)
        self.host_of = host_of
        self.setObjectName("loadChart")
        self.ranks = list(ranks)
        self.samples = 0
        self.cpu = np.full((len(ranks), _SAMPLES), np.nan)
        self.memory = np.full((len(ranks), _SAMPLES), np.nan)
        self.queue = np.full((len(ranks), _SAMPLES), np.nan)
        self.activity = np.zeros((_SAMPLES, len(ranks)), dtype=np.uint8)
        self.seconds = np.arange(-_SAMPLES + 1, 1) * SAMPLE_INTERVAL_MS / 1000
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(None)
        self._plots = [self._plot(0, 0, "CPU %"), self._plot(0, 1, "Memory MB"), self._plot(1, 0, "Queue")]
        self._floors = (100.0, 1.0, 1.0)
        """Each value axis shows at least this much: a core's worth of CPU, 1 MB, one command."""
        self._tops = [0.0] * len(self._plots)
        self._shown_span = 0.0
        self.per_server = len(ranks) <= MAX_LEGEND
        names = [f"server {rank}" for rank in ranks] if self.per_server else ["mean", "max"]
        self._legend = self._plots[0].addLegend(offset=(-4, 4), colCount=len(names), labelTextSize="8pt")
        self._curves = [[plot.plot(pen=pg.mkPen(pg.intColor(i, hues=max(len(names), 8)), width=1), name=name)
                         for i, name in enumerate(names)]
                        for plot in self._plots]
        self._strip_plot = strip = self.graphics.addPlot(row=1, col=1)
        strip.setLabel("left", "Busy")
        strip.setLabel("bottom", "seconds ago")
        every = math.ceil(len(ranks) / MAX_LEGEND)  # 32 labels in a strip this high would overlap
        strip.getAxis("left").setTicks([[(i + 0.5, str(r)) for i, r in enumerate(ranks) if i % every == 0]])
        strip.setMouseEnabled(x=False, y=False)
        strip.hideButtons()
        strip.enableAutoRange(x=False, y=False)
        strip.setXLink(self._plots[0])
        self.strip = pg.ImageItem(axisOrder="col-major")
        self.strip.setLookupTable(_BUSY_LUT)
        self.strip.setLevels([0, 2])
        strip.addItem(self.strip)
        strip.scene().sigMouseMoved.connect(self._on_mouse_moved)
        strip.setYRange(0, len(ranks), padding=0)
        strip.getAxis("left").setStyle(tickLength=0)
        strip.getAxis("left").setWidth(AXIS_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.setMinimumHeight(self._height_for_strip_rows())
        self._fit_axes()

    def _plot(self, row: int, col: int, label: str) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=col)
        plot.setLabel("left", label)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.enableAutoRange(x=False, y=False)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        for name in ("left", "bottom"):
            # Drawing an axis with its grid took 2-3 ms each time the chart repainted; cached, an
            # axis is drawn again only when its range changes.
            plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if row or col:
            plot.setXLink(self.graphics.getItem(0, 0))
        if row:
            plot.setLabel("bottom", "seconds ago")
        return plot

    def _height_for_strip_rows(self) -> int:
        """At least `MINIMUM_HEIGHT`, and enough for a pixel row per server in the busy strip:
        drawn smaller, some servers' rows would not be drawn at all. Every plot gets as much, so
        the rows of plots stay even."""
        for plot in (*self._plots, self._strip_plot):
            plot.vb.setMinimumHeight(len(self.ranks))
        self.graphics.ci.layout.invalidate()
        needed = self.graphics.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()
        return max(MINIMUM_HEIGHT, math.ceil(needed) + 2 * self.graphics.frameWidth())

    def set_theme(self, theme: str) -> None:
        color = "#d0d0d0" if theme == "dark" else "#333333"
        for plot in (*self._plots, self._strip_plot):
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(color)
                plot.getAxis(name).setTextPen(color)
        # The legend sits over the top of the CPU plot: a veil keeps it readable over the traces.
        self._legend.setBrush(pg.mkBrush(40, 40, 40, 200) if theme == "dark" else pg.mkBrush(250, 250, 250, 200))

    def add_sample(self, sample: LoadSampled) -> None:
        """Shift every series one step and add the servers' figures at `sample`."""
        for series in (self.cpu, self.memory, self.queue):
            series[:, :-1] = series[:, 1:]
        self.activity[:-1] = self.activity[1:]
        self._put(-1, sample)
        self.samples += 1
        self._draw()

    def show_samples(self, samples: list[LoadSampled]) -> None:
        """Show these samples, oldest first, instead of what was shown (a session's snapshot)."""
        for series in (self.cpu, self.memory, self.queue):
            series.fill(np.nan)
        self.activity.fill(0)
        kept = samples[-_SAMPLES:]
        for offset, sample in enumerate(kept):
            self._put(_SAMPLES - len(kept) + offset, sample)
        self.samples = len(samples)
        self._draw()

    def _put(self, column: int, sample: LoadSampled) -> None:
        for index, rank in enumerate(self.ranks):
            figures = sample.figures.get(rank)
            self.cpu[index, column] = figures.cpu_percent if figures else np.nan
            self.memory[index, column] = figures.rss / 1e6 if figures else np.nan
            self.queue[index, column] = figures.queue_length if figures else np.nan
            self.activity[column, index] = figures.activity if figures else 0

    def _draw(self) -> None:
        for curves, series in zip(self._curves, (self.cpu, self.memory, self.queue)):
            for curve, values in zip(curves, series if self.per_server else mean_and_max(series)):
                curve.setData(self.seconds, values, connect="finite")
        self.strip.setImage(self.activity, autoLevels=False)
        # A sample covers the interval that ends when it was taken: the newest one ends at 0 and shows.
        self.strip.setRect(self.seconds[0] - _STEP, 0, len(self.seconds) * _STEP, len(self.ranks))
        self._fit_axes()

    def strip_readout(self, at: float, row: float) -> str:
        """What the busy strip shows at `at` on its time axis (seconds, 0 is now) and `row`: the
        server, its host, its state then."""
        index = math.floor(row)
        sample = math.floor((at - self.seconds[0]) / _STEP) + 1
        if not (0 <= index < len(self.ranks) and 0 <= sample < len(self.seconds)):
            return ""
        rank = self.ranks[index]
        host = self.host_of(rank)
        server = f"server {rank}" + (f" on {host}" if host else "")
        if sample < len(self.seconds) - self.samples:
            return f"{server}: not sampled yet"
        when = -self.seconds[sample]
        return f"{server}: {_ACTIVITY[self.activity[sample, index]]}" + (f", {when:.0f} s ago" if when else ", now")

    def _on_mouse_moved(self, position) -> None:
        """A tooltip that follows the mouse over the strip: with 128 servers a row is a pixel high."""
        if not self._strip_plot.vb.sceneBoundingRect().contains(position):
            return
        point = self._strip_plot.vb.mapSceneToView(position)
        text = self.strip_readout(point.x(), point.y())
        self.strip.setToolTip(text)
        if QToolTip.isVisible():
            QToolTip.showText(QCursor.pos(), text, self.graphics)

    def _fit_axes(self) -> None:
        """Move an axis only when what it shows has outgrown it (or, for time, by a whole step)."""
        for index, (plot, series, floor) in enumerate(zip(self._plots, (self.cpu, self.memory, self.queue),
                                                          self._floors)):
            top = max(floor, step_above(np.nanmax(series, initial=0.0)))
            if top != self._tops[index]:
                self._tops[index] = top
                plot.setYRange(0, top, padding=0)
        if self.span() != self._shown_span:
            self._shown_span = self.span()
            self._plots[0].setXRange(-self._shown_span, 0, padding=0)

    def span(self) -> float:
        """Seconds shown: the time sampled so far in whole minutes, at least one, at most the history."""
        sampled = self.samples * SAMPLE_INTERVAL_MS / 1000
        return min(HISTORY_SECONDS, max(MIN_SPAN_SECONDS, math.ceil(sampled / SPAN_STEP_SECONDS) * SPAN_STEP_SECONDS))


def mean_and_max(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, the mean and the maximum over the servers that reported (NaN where none did)."""
    reported = np.isfinite(series).sum(axis=0)
    mean = np.where(reported > 0, np.nansum(series, axis=0) / np.maximum(reported, 1), np.nan)
    return mean, np.fmax.reduce(series, axis=0)


def step_above(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` × 1.05 (a margin above the highest point)."""
    target = max(value * 1.05, 1e-9)
    power = 10.0 ** math.floor(math.log10(target))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= target)
