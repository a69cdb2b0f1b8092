"""The live view: heart rate, RR tachogram, lnRMSSD/HF trend and spectrum (pyqtgraph).

The widget only draws a :class:`~biofeedback.viewmodels.traces.LiveTraces` model it is given
(:meth:`LiveView.set_traces`; the session's view-model feeds it, cheaply, without repaint) and
:meth:`LiveView.redraw`, called by the window from a coalescing timer, hands each curve the
clipped and decimated slice of its series for the visible time range. Nothing is redrawn
per beat, and with 2 h of data a curve holds about two points per pixel column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from biofeedback.core.types import PhaseSpan
from biofeedback.ui.appending_curve import AppendingCurve, AppendingPoints
from biofeedback.ui.clock_axis import LeanAxis
from biofeedback.ui.plot_items import (
    PHASE_COLOURS,
    ClockAxis,
    Grid,
    MarkerLines,
    PhaseItems,
    StableRange,
    Theme,
    finite_min_max,
)
from biofeedback.ui.spectrum_plot import SpectrumPlot
from biofeedback.viewmodels.spectrum import LiveSpectrum
from biofeedback.viewmodels.traces import LiveTraces

__all__ = [
    "PHASE_COLOURS",
    "SPAN_CHOICES_S",
    "TREND_PERIOD_S",
    "ClockAxis",
    "LiveView",
    "span_end_s",
    "whole_session_end_s",
]

SPAN_CHOICES_S: tuple[tuple[str, float], ...] = (
    ("1 min", 60.0),
    ("2 min", 120.0),
    ("5 min", 300.0),
    ("10 min", 600.0),
    ("30 min", 1800.0),
    ("whole session", 0.0),
)
"""Choices of the span selector: label and visible span, s (0 = the whole session)."""

TREND_PERIOD_S = 5.0
"""Session time between two redraws of the trend curves (lnRMSSD, HF) while the time range
stands still, s: the trends move slowly, and a beat's frame then repaints only the beat plots."""

_WHOLE_HEADROOM = 0.05
"""Room ahead of the newest data when the whole session is shown, as a share of its length
(rounded up to a time-axis step): the range then stands still for minutes, and a beat's frame
appends to the curves instead of rescaling every plot and regenerating the time axis."""


_SPAN_STEP_SHARE = 0.1
"""Least step of a span's right edge, as a share of the span (rounded up to a time-axis
step): over 5 min the range stands still for 30 s and then jumps by 30 s, so a beat's frame
appends to the curves instead of scrolling every plot and regenerating the time axis."""


def span_end_s(last_s: float, span_s: float) -> float:
    """Right edge of the plots showing the last ``span_s`` up to ``last_s``, s.

    The next multiple past ``last_s`` of the smallest time-axis step that is at least
    :data:`_SPAN_STEP_SHARE` of the span, and never before ``span_s``: the range jumps by
    that step (30 s over 5 min, 10 s over 1 min) and shows between ``span_s`` minus a step
    and ``span_s`` of data.
    """
    wanted = _SPAN_STEP_SHARE * span_s
    step = float(next((s for s in ClockAxis.STEPS_S if s >= wanted), ClockAxis.STEPS_S[-1]))
    return max(span_s, (math.floor(float(last_s) / step) + 1) * step)


def whole_session_end_s(last_s: float) -> float:
    """Right edge of the plots showing the whole session up to ``last_s``, s.

    The next multiple past ``last_s`` of the smallest time-axis step that is at least
    :data:`_WHOLE_HEADROOM` of it (at least 60 s shown): 7,800 s for 2 h, 93,600 s for 24 h.
    """
    last_s = max(float(last_s), 60.0)
    wanted = _WHOLE_HEADROOM * last_s
    step = float(next((s for s in ClockAxis.STEPS_S if s >= wanted), ClockAxis.STEPS_S[-1]))
    return (math.floor(last_s / step) + 1) * step


class LiveView(QWidget):
    """HR, RR tachogram, lnRMSSD/HF trend and spectrum of a session, scrolling.

    Parameters
    ----------
    traces : LiveTraces, optional
        The model drawn (an empty one when not given; see :meth:`set_traces`). The view
        never feeds it: a :class:`~biofeedback.viewmodels.session_view.SessionViewModel` does.
    span_s : float
        Initial visible span, s (0 = whole session).
    parent : QWidget, optional
        Parent widget.

    Signals
    -------
    span_changed(float)
        The visible span changed (s; 0 = whole session), by the selector or
        :meth:`set_span_s`; the window persists it.
    """

    span_changed = Signal(float)

    def __init__(
        self,
        traces: LiveTraces | None = None,
        *,
        span_s: float = 300.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.traces = traces if traces is not None else LiveTraces()
        self._span_s = float(span_s)
        self._theme = Theme.from_palette(self.palette())
        self._now_s: float | None = None
        self._drawn_key: tuple[object, ...] | None = None
        self._drawn_ranges: tuple[float | None, ...] = ()
        self._trend_key: tuple[object, ...] | None = None
        self._trend_drawn_s = -math.inf
        self._spectrum: LiveSpectrum | None = None
        self.points_drawn: dict[str, int] = {}
        """Points handed to each curve by the last :meth:`redraw` (for tests and benchmarks)."""

        self._build_controls()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(self._controls)
        layout.addWidget(self.graphics, 1)
        self._select_span_in_combo(self._span_s)
        self.show_spectrum(None)

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        self.span_combo = QComboBox()
        self.span_combo.setToolTip("Time shown by the heart-rate, RR and trend plots")
        for label, span in SPAN_CHOICES_S:
            self.span_combo.addItem(label, span)
        self.span_combo.currentIndexChanged.connect(self._on_span_index)
        span_label = QLabel("Show")
        span_label.setBuddy(self.span_combo)
        self._controls = QHBoxLayout()
        self._controls.setContentsMargins(4, 0, 4, 0)
        self._controls.addStretch(1)
        self._controls.addWidget(span_label)
        self._controls.addWidget(self.span_combo)

    def _time_plot(self, row: int, col: int, colspan: int, *, show_time: bool) -> pg.PlotItem:
        axes = {"bottom": ClockAxis("bottom"), "left": LeanAxis("left"), "right": LeanAxis("right")}
        plot = self.graphics.addPlot(row=row, col=col, colspan=colspan, axisItems=axes)
        self._style_plot(plot)
        plot.setMouseEnabled(x=False, y=False)
        plot.getAxis("left").setWidth(58)
        # an empty right axis as wide as the trend's HF axis: the time axes line up
        plot.showAxis("right")
        plot.getAxis("right").setWidth(58)
        plot.getAxis("right").setStyle(showValues=False)
        if not show_time:
            # the time axis is drawn once, under the trend: an axis regenerates its ticks
            # and labels on every scroll, a third of a frame's cost with three of them
            plot.hideAxis("bottom")
        # hidden axes follow no range: each range step updated them (the top axes' labels
        # were set again as HTML, their SI prefix recomputed) for nothing drawn
        for name in ("top", "bottom"):
            if not plot.getAxis(name).isVisible():
                plot.getAxis(name).unlinkFromView()
        return plot

    def _style_plot(self, plot: pg.PlotItem) -> None:
        theme = self._theme
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        # clipping and downsampling are done once on the model's slice (LiveTraces.view)
        plot.setClipToView(False)
        plot.setDownsampling(auto=False)
        for name in ("left", "bottom", "right", "top"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.foreground))
            axis.setTextPen(pg.mkPen(theme.foreground))
            axis.enableAutoSIPrefix(False)

    def _build_plots(self) -> None:
        theme = self._theme
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(theme.background)
        self.graphics.ci.layout.setSpacing(4)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)

        # (a) heart rate and RR tachogram, linked time axes
        self.hr_plot = self._time_plot(0, 0, 1, show_time=False)
        self.hr_plot.setLabel("left", "HR (bpm)", color=theme.hr.name())
        self.hr_curve = AppendingCurve(self.hr_plot, pg.mkPen(theme.hr, width=1))
        self.hr_artifacts = self._artifact_points(self.hr_plot)

        self.rr_plot = self._time_plot(1, 0, 1, show_time=False)
        self.rr_plot.setLabel("left", "RR (ms)", color=theme.rr.name())
        self.rr_plot.setXLink(self.hr_plot)
        self.rr_curve = AppendingCurve(self.rr_plot, pg.mkPen(theme.rr, width=1))
        self.rr_artifacts = self._artifact_points(self.rr_plot)

        self._build_trend_plot()

        # (d) spectrum, beside the three time plots
        spectrum = SpectrumPlot(self.graphics, theme, self._style_plot)
        self._spectrum_view = spectrum
        self.spectrum_plot, self.psd_curve = spectrum.plot, spectrum.psd_curve
        self.lf_fill, self.hf_fill = spectrum.lf_fill, spectrum.hf_fill
        self.breathing_line = spectrum.breathing_line
        self.spectrum_message = spectrum.message

        layout = self.graphics.ci.layout
        layout.setColumnStretchFactor(0, 7)
        layout.setColumnStretchFactor(1, 2)
        for row in range(3):
            layout.setRowStretchFactor(row, 1)

        self._hr_range = StableRange(min_span=20.0, step=5.0, floor=0.0)
        self._rr_range = StableRange(min_span=200.0, step=50.0, floor=0.0)
        self._ln_range = StableRange(min_span=1.0, step=0.25)
        self._hf_range = StableRange(min_span=200.0, step=100.0, floor=0.0)
        self.hr_plot.setYRange(50, 90, padding=0)
        self.rr_plot.setYRange(600, 1100, padding=0)
        self.trend_plot.setYRange(2.5, 4.5, padding=0)
        self.hf_view.setYRange(0, 1000, padding=0)

        self._time_plots = (self.hr_plot, self.rr_plot, self.trend_plot)
        self._grids = [Grid(plot, theme) for plot in self._time_plots]
        self._phase_items: list[PhaseItems] = []
        self._marker_lines = [
            MarkerLines(self.hr_plot, theme, labelled=True),
            MarkerLines(self.rr_plot, theme, labelled=False),
            MarkerLines(self.trend_plot, theme, labelled=False),
        ]

    def _build_trend_plot(self) -> None:
        """(c) the trend of lnRMSSD (left axis) and HF (right axis, its own view box)."""
        theme = self._theme
        self.trend_plot = self._time_plot(2, 0, 1, show_time=True)
        self.trend_plot.setXLink(self.hr_plot)
        self.trend_plot.setLabel("left", "lnRMSSD (ln ms)", color=theme.ln_rmssd.name())
        self.trend_plot.setLabel("bottom", "session time (min:s)", color=theme.foreground.name())
        self.ln_rmssd_curve = AppendingCurve(
            self.trend_plot, pg.mkPen(theme.ln_rmssd, width=2)
        )
        self.hf_view = pg.ViewBox(enableMouse=False)
        self.hf_view.disableAutoRange()
        self.trend_plot.showAxis("right")
        self.trend_plot.scene().addItem(self.hf_view)
        right = self.trend_plot.getAxis("right")
        right.linkToView(self.hf_view)
        right.setLabel("HF (ms²)", color=theme.hf.name())
        right.setStyle(showValues=True)
        right.setWidth(58)
        self.hf_view.setXLink(self.trend_plot)
        self.hf_curve = AppendingCurve(
            self.hf_view, pg.mkPen(theme.hf, width=2, style=Qt.PenStyle.DashLine)
        )
        self.trend_plot.vb.sigResized.connect(self._sync_hf_view)

    def _artifact_points(self, plot: pg.PlotItem) -> AppendingPoints:
        theme = self._theme
        return AppendingPoints(
            plot,
            "beat classed as an artifact",
            size=8,
            pen=pg.mkPen(theme.background, width=1),
            brush=pg.mkBrush(theme.artifact),
        )

    def _sync_hf_view(self) -> None:
        self.hf_view.setGeometry(self.trend_plot.vb.sceneBoundingRect())
        self.hf_view.linkedViewChanged(self.trend_plot.vb, self.hf_view.XAxis)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """About 900 x 600 px."""
        return QSize(900, 600)

    # ------------------------------------------------------------------ span
    @property
    def span_s(self) -> float:
        """Visible span, s (0 = whole session)."""
        return self._span_s

    def set_span_s(self, span_s: float) -> None:
        """Show the last ``span_s`` seconds (0 = the whole session); emits
        :attr:`span_changed` when it changes."""
        span_s = max(0.0, float(span_s))
        self._select_span_in_combo(span_s)
        if span_s != self._span_s:
            self._span_s = span_s
            self._drawn_key = None
            self.span_changed.emit(span_s)

    def _select_span_in_combo(self, span_s: float) -> None:
        index = self.span_combo.findData(span_s)
        if index < 0:
            self.span_combo.addItem(f"{span_s / 60.0:g} min", span_s)
            index = self.span_combo.count() - 1
        if index != self.span_combo.currentIndex():
            blocked = self.span_combo.blockSignals(True)
            self.span_combo.setCurrentIndex(index)
            self.span_combo.blockSignals(blocked)

    def _on_span_index(self, index: int) -> None:
        span = self.span_combo.itemData(index)
        if span is not None:
            self.set_span_s(float(span))
            self.redraw(self._now_s)

    # ------------------------------------------------------------------ model
    def set_traces(self, traces: LiveTraces) -> None:
        """Draw ``traces`` from now on (a new session's), with its phases; no spectrum yet."""
        self.traces = traces
        self._draw_phases()
        self._reset_view()

    def _draw_phases(self) -> None:
        for items in self._phase_items:
            items.remove()
        plots = self._time_plots
        self._phase_items = [PhaseItems(p, plots, self._theme) for p in self.traces.phases]
        self._drawn_key = None

    def set_phases(self, phases: Sequence[PhaseSpan]) -> None:
        """Shade these phases (an open phase, ``end_s <= start_s``, reaches to now)."""
        self.traces.set_phases(phases)
        self._draw_phases()

    def reset(self) -> None:
        """Forget the session: empty plots, no phases, no spectrum."""
        self.traces.clear()
        self.set_phases(())
        self._reset_view()

    def _reset_view(self) -> None:
        self._now_s = None
        for stable in (self._hr_range, self._rr_range, self._ln_range, self._hf_range):
            stable.reset()
        self.show_spectrum(None)
        self._drawn_key = None
        self._trend_key = None
        self.redraw()

    def truncate_after(self, t_s: float) -> None:
        """Drop everything at or after ``t_s`` (a replay seeking backwards), s."""
        self.traces.truncate_after(t_s)
        if self._now_s is not None and self._now_s > t_s:
            self._now_s = t_s
        self._drawn_key = None

    # ------------------------------------------------------------------ drawing
    def visible_range(self, now_s: float | None = None) -> tuple[float, float]:
        """The time range (s) the plots show for ``now_s`` (default: the newest data); it
        ends a step ahead (:func:`span_end_s`, :func:`whole_session_end_s`) and stands still
        between steps."""
        right = now_s if now_s is not None else (self.traces.last_time_s or 0.0)
        if self._span_s > 0:
            x1 = span_end_s(right, self._span_s)
            return x1 - self._span_s, x1
        return 0.0, whole_session_end_s(right)

    def seconds_to_step(self, now_s: float) -> float:
        """Session time until the drawn range steps, s, for the plots' clock at ``now_s``
        (s); 0 when the range drawn is no longer the one for ``now_s`` (a step is due).

        Either way the range moves when the clock reaches its right edge (a whole session's
        range also when its step grows, which a later check finds due).
        """
        x0, x1 = self.visible_range(now_s)
        if (x0, x1) != self._drawn_ranges[:2]:
            return 0.0
        return x1 - now_s

    def _max_points(self, plot: pg.PlotItem) -> int:
        width = plot.vb.width()
        # two points (min and max) per pixel column
        return max(200, int(2 * width)) if width > 10 else 2000

    def redraw(self, now_s: float | None = None) -> None:
        """Update every curve for the visible range ending at ``now_s`` (default: newest).

        Each curve gets the model's clipped and decimated slice (:meth:`LiveTraces.view`);
        does nothing when neither the model nor the range changed since the last call.
        """
        if now_s is not None:
            self._now_s = now_s
        traces = self.traces
        x0, x1 = self.visible_range(now_s if now_s is not None else None)
        width = int(self.hr_plot.vb.width())
        key = (traces.version, x0, x1, width, int(self.trend_plot.vb.width()))
        if key == self._drawn_key:
            return
        self._drawn_key = key
        if (x0, x1) != self._drawn_ranges[:2]:
            self.hr_plot.setXRange(x0, x1, padding=0)

        n_beat = self._max_points(self.hr_plot)
        hr_x, hr_y = traces.view("hr", x0, x1, n_beat)
        rr_x, rr_y = traces.view("rr", x0, x1, n_beat)
        self.hr_curve.setData(hr_x, hr_y)
        self.rr_curve.setData(rr_x, rr_y)
        ax, ay = traces.view("hr_artifacts", x0, x1, n_beat)
        self.hr_artifacts.setData(ax, ay)
        bx, by = traces.view("rr_artifacts", x0, x1, n_beat)
        self.rr_artifacts.setData(bx, by)

        self.points_drawn.update({
            "hr": int(hr_x.size),
            "rr": int(rr_x.size),
            "hr_artifacts": int(ax.size),
            "rr_artifacts": int(bx.size),
        })
        # only the points inside the view decide the y range (not the one either side)
        self._fit_y(self.hr_plot, self._hr_range, hr_x, hr_y, x0, x1)
        self._fit_y(self.rr_plot, self._rr_range, rr_x, rr_y, x0, x1)
        self._redraw_trends(x0, x1)

        for grid in self._grids:
            grid.update()
        y_top = self._hr_range.hi
        px_per_s = max(self.hr_plot.vb.width(), 1.0) / max(x1 - x0, 1e-9)
        for items in self._phase_items:
            items.place(x0, x1, y_top, px_per_s)
        markers = traces.markers_in(x0, x1)
        for lines in self._marker_lines:
            lines.show(markers, px_per_s)
        ranges = (x0, x1, *(
            bound for stable in (self._hr_range, self._rr_range, self._ln_range, self._hf_range)
            for bound in (stable.lo, stable.hi)
        ))
        if ranges != self._drawn_ranges:
            self._drawn_ranges = ranges
            # pyqtgraph moves the items to a new range only when the paint begins, and they
            # then ask for a second full repaint after it: moved now, one paint shows it all
            self.graphics.scene().prepareForPaint()

    def _redraw_trends(self, x0: float, x1: float) -> None:
        """The trend curves, on their own cadence: when the range moved (or the trends were
        rewritten), else every :data:`TREND_PERIOD_S` of new trend data."""
        traces = self.traces
        trend_end = traces.trend_end_s
        n_trend = self._max_points(self.trend_plot)
        key = (x0, x1, n_trend, traces.rewrites)
        if key == self._trend_key and trend_end < self._trend_drawn_s + TREND_PERIOD_S:
            return
        self._trend_key = key
        self._trend_drawn_s = trend_end
        ln_x, ln_y = traces.view("ln_rmssd", x0, x1, n_trend)
        hf_x, hf_y = traces.view("hf", x0, x1, n_trend)
        self.ln_rmssd_curve.setData(ln_x, ln_y)
        self.hf_curve.setData(hf_x, hf_y)
        self.points_drawn.update({"ln_rmssd": int(ln_x.size), "hf": int(hf_x.size)})
        self._fit_y(self.trend_plot, self._ln_range, ln_x, ln_y, x0, x1)
        self._fit_y(self.hf_view, self._hf_range, hf_x, hf_y, x0, x1)

    @staticmethod
    def _fit_y(
        target: pg.PlotItem | pg.ViewBox,
        stable: StableRange,
        x: np.ndarray,
        y: np.ndarray,
        x0: float,
        x1: float,
    ) -> None:
        inside = (x >= x0) & (x <= x1)
        lo, hi = finite_min_max(y[inside] if inside.any() else y)
        new = stable.update(lo, hi)
        if new is not None:
            target.setYRange(new[0], new[1], padding=0)

    # ------------------------------------------------------------------ spectrum
    def show_spectrum(self, spectrum: LiveSpectrum | None) -> None:
        """Draw the spectrum with its LF and HF bands shaded and the breathing peak marked;
        None shows why there is none yet."""
        self._spectrum = spectrum
        self._spectrum_view.show(spectrum)

    @property
    def spectrum(self) -> LiveSpectrum | None:
        """The spectrum shown (None: none yet)."""
        return self._spectrum

