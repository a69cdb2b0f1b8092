"""The live view: heart rate, RR tachogram, lnRMSSD/HF trend and spectrum (pyqtgraph).

The widget only draws a :class:`~biofeedback.app.traces.LiveTraces` model it is given
(:meth:`LiveView.set_traces`; the session's view-model feeds it, cheaply, without repaint) and
:meth:`LiveView.redraw`, called by the window from a coalescing timer, hands each curve the
clipped and decimated slice of its series for the visible time range. Nothing is redrawn
per beat, and with 2 h of data a curve holds about two points per pixel column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from biofeedback.app.spectrum import LiveSpectrum
from biofeedback.app.traces import LiveTraces
from biofeedback.core.types import Marker, PhaseSpan

__all__ = ["PHASE_COLOURS", "SPAN_CHOICES_S", "ClockAxis", "LiveView"]

SPAN_CHOICES_S: tuple[tuple[str, float], ...] = (
    ("1 min", 60.0),
    ("2 min", 120.0),
    ("5 min", 300.0),
    ("10 min", 600.0),
    ("30 min", 1800.0),
    ("whole session", 0.0),
)
"""Choices of the span selector: label and visible span, s (0 = the whole session)."""

PHASE_COLOURS: dict[str, str] = {
    "baseline": "#7f8c9a",
    "stressor": "#e0524a",
    "practice": "#34a86b",
    "recovery": "#3a8ee6",
    "rest": "#a0a0a0",
    "self_report": "#e0b030",
}
"""Shading colour of each phase kind (drawn translucent)."""

SPECTRUM_MAX_HZ = 0.5
"""Right edge of the spectrum plot, Hz (breathing band up to 30/min)."""

_PHASE_ALPHA = 46
_MARKER_POOL_GROWTH = 8
_MARKER_LABEL_GAP_PX = 70.0
"""Least distance between two marker labels, px (closer ones are left out)."""


class _Curve(pg.PlotCurveItem):
    """A curve that keeps its data bounds when the view scrolls.

    pyqtgraph forgets a curve's data bounds on every view change and recomputes them (NaN-aware
    min and max over the data) many times per paint; a scrolling plot changes its view every
    frame, so that was about a fifth of the paint with 2 h on screen. The data bounds only
    change with the data (``setData`` still resets them); the pixel padding is recomputed.
    """

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self._boundingRect = None
        self.prepareGeometryChange()


def _onset(marker: Marker) -> float:
    return marker.onset_s


@dataclass(frozen=True)
class _Theme:
    background: QColor
    foreground: QColor
    hr: QColor
    rr: QColor
    artifact: QColor
    ln_rmssd: QColor
    hf: QColor
    lf_fill: QColor
    hf_fill: QColor
    marker: QColor
    peak: QColor

    @classmethod
    def from_palette(cls, palette: QPalette) -> _Theme:
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        dark = background.lightness() < 128
        # mid-saturation colours that read on dark and light backgrounds; a little lighter
        # on dark ones
        return cls(
            background=background,
            foreground=foreground,
            hr=QColor("#ff6b5e" if dark else "#c8372d"),
            rr=QColor("#5aa9ff" if dark else "#1f6fc5"),
            artifact=QColor("#ffb020" if dark else "#d97a00"),
            ln_rmssd=QColor("#4cc38a" if dark else "#1e8a55"),
            hf=QColor("#c08cf0" if dark else "#7d3cb5"),
            lf_fill=QColor(90, 169, 255, 110) if dark else QColor(31, 111, 197, 90),
            hf_fill=QColor(76, 195, 138, 110) if dark else QColor(30, 138, 85, 90),
            marker=QColor("#d0d0d0" if dark else "#505050"),
            peak=QColor("#ffb020" if dark else "#d97a00"),
        )


class ClockAxis(pg.AxisItem):
    """Time axis in session clock time: ``m:ss`` (``h:mm:ss`` from 1 h), ticks on round
    seconds/minutes."""

    _STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)

    def tickSpacing(  # noqa: N802 - pyqtgraph's name
        self, minVal: float, maxVal: float, size: float  # noqa: N803
    ) -> list[tuple[float, float]]:
        """Major and minor spacing, s: about one major tick per 90 px."""
        span = max(maxVal - minVal, 1e-9)
        wanted = span / max(size / 90.0, 1.0)
        major = next((s for s in self._STEPS_S if s >= wanted), self._STEPS_S[-1])
        minor_candidates = [s for s in self._STEPS_S if s < major and major % s == 0]
        minor = minor_candidates[-2] if len(minor_candidates) >= 2 else major
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(  # noqa: N802 - pyqtgraph's name
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        """Tick labels as clock time."""
        del scale, spacing
        return [_clock(v) for v in values]


def _clock(t_s: float) -> str:
    sign = "-" if t_s < 0 else ""
    total = round(abs(t_s))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{minutes}:{seconds:02d}"


class _StableRange:
    """A y range that follows the data without jitter: it grows at once when data leave it,
    shrinks only when it is more than twice as wide as needed, and sits on round steps."""

    def __init__(self, min_span: float, step: float, floor: float | None = None) -> None:
        self.min_span = min_span
        self.step = step
        self.floor = floor
        self.lo: float | None = None
        self.hi: float | None = None

    def reset(self) -> None:
        self.lo = self.hi = None

    def update(self, y_min: float, y_max: float) -> tuple[float, float] | None:
        """New range, or None when the current one still fits."""
        if not (math.isfinite(y_min) and math.isfinite(y_max)):
            return None
        pad = max(0.08 * (y_max - y_min), 0.1 * self.min_span)
        need_lo, need_hi = y_min - pad, y_max + pad
        if need_hi - need_lo < self.min_span:
            mid = 0.5 * (need_lo + need_hi)
            need_lo, need_hi = mid - 0.5 * self.min_span, mid + 0.5 * self.min_span
        if self.floor is not None and need_lo < self.floor:
            need_lo = self.floor
        lo, hi = self.lo, self.hi
        if (
            lo is not None
            and hi is not None
            and lo <= y_min
            and hi >= y_max
            and (hi - lo) <= 2.0 * (need_hi - need_lo)
        ):
            return None
        step = self.step
        lo = math.floor(need_lo / step) * step
        hi = math.ceil(need_hi / step) * step
        if self.floor is not None:
            lo = max(lo, self.floor)
        self.lo, self.hi = lo, hi
        return lo, hi


def _finite_min_max(*arrays: np.ndarray) -> tuple[float, float]:
    lows, highs = [], []
    for a in arrays:
        if a.size:
            finite = a[np.isfinite(a)]
            if finite.size:
                lows.append(float(finite.min()))
                highs.append(float(finite.max()))
    if not lows:
        return math.nan, math.nan
    return min(lows), max(highs)


class _Grid:
    """Lines at the major ticks of a plot, as one path.

    pyqtgraph's own grid (``showGrid``) made a repaint of this view about three times
    slower (about 5 ms per plot, offscreen raster); one path of a dozen lines costs nothing.
    """

    def __init__(self, plot: pg.PlotItem, theme: _Theme, y_axis: str = "left") -> None:
        self.plot = plot
        self.y_axis = y_axis
        colour = QColor(theme.foreground)
        colour.setAlpha(40)
        self.item = _Curve(pen=pg.mkPen(colour, width=1), connect="pairs")
        self.item.setZValue(-15)
        plot.addItem(self.item, ignoreBounds=True)
        self._key: tuple[float, ...] | None = None
        self._y_key: tuple[float, ...] | None = None
        self._y_values = np.empty(0)
        plot.vb.sigResized.connect(self.update)

    def update(self, *_: object) -> None:
        vb = self.plot.vb
        (x0, x1), (y0, y1) = vb.viewRange()
        width, height = vb.width(), vb.height()
        key = (x0, x1, y0, y1, width, height)
        if key == self._key or width < 2 or height < 2:
            return
        self._key = key
        y_ticks = self._y_ticks(y0, y1, height)
        x_ticks = _major_ticks(self.plot.getAxis("bottom"), x0, x1, width)
        n_y, n_x = y_ticks.size, x_ticks.size
        xs = np.empty(2 * (n_y + n_x))
        ys = np.empty_like(xs)
        xs[: 2 * n_y : 2], xs[1 : 2 * n_y : 2] = x0, x1
        ys[: 2 * n_y : 2] = ys[1 : 2 * n_y : 2] = y_ticks
        xs[2 * n_y :: 2] = xs[2 * n_y + 1 :: 2] = x_ticks
        ys[2 * n_y :: 2], ys[2 * n_y + 1 :: 2] = y0, y1
        self.item.setData(xs, ys, connect="pairs")

    def _y_ticks(self, y0: float, y1: float, height: float) -> np.ndarray:
        # the y range rarely changes (stable ranges): pyqtgraph's tick search only then
        key = (y0, y1, height)
        if self._y_key != key:
            self._y_key = key
            self._y_values = _major_ticks(self.plot.getAxis(self.y_axis), y0, y1, height)
        return self._y_values


def _major_ticks(axis: pg.AxisItem, lo: float, hi: float, size_px: float) -> np.ndarray:
    """Values of an axis's major ticks in ``[lo, hi]``."""
    if isinstance(axis, ClockAxis):
        # the scrolling time axis: computed here on every frame, without pyqtgraph's search
        step = axis.tickSpacing(lo, hi, size_px)[0][0]
        return np.arange(math.ceil(lo / step) * step, hi, step)
    levels = axis.tickValues(lo, hi, size_px)
    return np.asarray(levels[0][1] if levels else [], dtype=np.float64)


class _PhaseItems:
    """The shading of one phase in each time plot, and its name in the top plot."""

    def __init__(
        self, phase: PhaseSpan, plots: Sequence[pg.PlotItem], theme: _Theme
    ) -> None:
        self.phase = phase
        colour = QColor(PHASE_COLOURS.get(phase.kind, "#a0a0a0"))
        colour.setAlpha(_PHASE_ALPHA)
        self.regions: list[pg.LinearRegionItem] = []
        self.plots = list(plots)
        for plot in self.plots:
            region = pg.LinearRegionItem(
                values=(phase.start_s, max(phase.end_s, phase.start_s)),
                brush=pg.mkBrush(colour),
                pen=pg.mkPen(None),
                movable=False,
            )
            region.setZValue(-20)
            region.setAcceptHoverEvents(False)
            plot.addItem(region, ignoreBounds=True)
            self.regions.append(region)
        label_colour = QColor(PHASE_COLOURS.get(phase.kind, "#a0a0a0"))
        label_colour.setAlpha(90)
        self.label = pg.TextItem(
            phase.name, color=theme.foreground, anchor=(0, 0), fill=pg.mkBrush(label_colour)
        )
        self.label.setToolTip(f"{phase.name} ({phase.kind})")
        self.label.setZValue(-5)
        self.plots[0].addItem(self.label, ignoreBounds=True)

    def place(
        self, x0: float, x1: float, now_s: float, y_top: float | None, px_per_s: float
    ) -> bool:
        """Move into the visible range; returns whether the phase is in view. The name is
        shown only where it fits in the phase's visible width (short phases overlap else)."""
        start = self.phase.start_s
        end = self.phase.end_s if self.phase.end_s > start else max(now_s, start)
        visible = start <= x1 and end >= x0
        for region in self.regions:
            region.setVisible(visible)
            if visible:
                region.setRegion((start, end))
        width_px = (min(end, x1) - max(start, x0)) * px_per_s
        fits = width_px >= self.label.boundingRect().width()
        self.label.setVisible(visible and y_top is not None and fits)
        if visible and y_top is not None:
            self.label.setPos(max(start, x0), y_top)
        return visible

    def remove(self) -> None:
        for plot, region in zip(self.plots, self.regions, strict=True):
            plot.removeItem(region)
        self.plots[0].removeItem(self.label)


class _MarkerLines:
    """A pool of vertical lines for the markers in view of one plot (created on demand)."""

    def __init__(self, plot: pg.PlotItem, theme: _Theme, *, labelled: bool) -> None:
        self.plot = plot
        self.theme = theme
        self.labelled = labelled
        self.lines: list[pg.InfiniteLine] = []

    def show(self, markers: Sequence[Marker], px_per_s: float) -> None:
        """Show lines at these markers (hide the rest); a label closer than
        :data:`_MARKER_LABEL_GAP_PX` to the previous one is left out (its tooltip stays)."""
        while len(self.lines) < len(markers):
            for _ in range(_MARKER_POOL_GROWTH):
                self.lines.append(self._new_line())
        last_label_x = -math.inf
        for line, marker in zip(self.lines, sorted(markers, key=_onset), strict=False):
            line.setVisible(True)  # first: a hidden label does not update its text
            line.setValue(marker.onset_s)
            if self.labelled and line.label is not None:
                x_px = marker.onset_s * px_per_s
                room = x_px - last_label_x >= _MARKER_LABEL_GAP_PX
                line.label.setVisible(room)
                if room:
                    last_label_x = x_px
                    # InfLineLabel formats with str.format: braces in a label are literal
                    text = marker.label.replace("{", "{{").replace("}", "}}")
                    if line.label.format != text:
                        line.label.setFormat(text)
            line.setToolTip(f"{_clock(marker.onset_s)} {marker.label} ({marker.kind})")
        for line in self.lines[len(markers) :]:
            line.setVisible(False)

    def visible_count(self) -> int:
        return sum(1 for line in self.lines if line.isVisible())

    def _new_line(self) -> pg.InfiniteLine:
        pen = pg.mkPen(self.theme.marker, width=1, style=Qt.PenStyle.DashLine)
        kwargs: dict[str, object] = {}
        if self.labelled:
            kwargs = {
                "label": "",
                "labelOpts": {
                    "position": 0.06,
                    "color": self.theme.foreground,
                    "anchors": [(0, 1), (0, 1)],
                    "rotateAxis": None,
                },
            }
        line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pen, **kwargs)
        line.setZValue(5)
        line.setVisible(False)
        self.plot.addItem(line, ignoreBounds=True)
        return line


class LiveView(QWidget):
    """HR, RR tachogram, lnRMSSD/HF trend and spectrum of a session, scrolling.

    Parameters
    ----------
    traces : LiveTraces, optional
        The model drawn (an empty one when not given; see :meth:`set_traces`). The view
        never feeds it: a :class:`~biofeedback.app.session_view.SessionViewModel` does.
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
        self._theme = _Theme.from_palette(self.palette())
        self._now_s: float | None = None
        self._drawn_key: tuple[object, ...] | None = None
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
        plot = self.graphics.addPlot(
            row=row, col=col, colspan=colspan, axisItems={"bottom": ClockAxis("bottom")}
        )
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
        return plot

    def _style_plot(self, plot: pg.PlotItem) -> None:
        theme = self._theme
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        # clipping and downsampling are done once on the model's slice (LiveTraces.view)
        plot.setClipToView(False)
        plot.setDownsampling(auto=False)
        for name in ("left", "bottom", "right"):
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
        self.hr_curve = _Curve(pen=pg.mkPen(theme.hr, width=1), connect="finite")
        self.hr_artifacts = self._artifact_points()
        self.hr_plot.addItem(self.hr_curve)
        self.hr_plot.addItem(self.hr_artifacts)

        self.rr_plot = self._time_plot(1, 0, 1, show_time=False)
        self.rr_plot.setLabel("left", "RR (ms)", color=theme.rr.name())
        self.rr_plot.setXLink(self.hr_plot)
        self.rr_curve = _Curve(pen=pg.mkPen(theme.rr, width=1), connect="finite")
        self.rr_artifacts = self._artifact_points()
        self.rr_plot.addItem(self.rr_curve)
        self.rr_plot.addItem(self.rr_artifacts)

        # (c) trend of lnRMSSD (left axis) and HF (right axis, its own view box)
        self.trend_plot = self._time_plot(2, 0, 1, show_time=True)
        self.trend_plot.setXLink(self.hr_plot)
        self.trend_plot.setLabel("left", "lnRMSSD (ln ms)", color=theme.ln_rmssd.name())
        self.trend_plot.setLabel("bottom", "session time (min:s)", color=theme.foreground.name())
        self.ln_rmssd_curve = _Curve(
            pen=pg.mkPen(theme.ln_rmssd, width=2), connect="finite"
        )
        self.trend_plot.addItem(self.ln_rmssd_curve)
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
        self.hf_curve = _Curve(
            pen=pg.mkPen(theme.hf, width=2, style=Qt.PenStyle.DashLine), connect="finite"
        )
        self.hf_view.addItem(self.hf_curve)
        self.trend_plot.vb.sigResized.connect(self._sync_hf_view)

        # (d) spectrum, beside the three time plots
        self.spectrum_plot = self.graphics.addPlot(row=0, col=1, rowspan=3)
        self._style_plot(self.spectrum_plot)
        self.spectrum_plot.setMouseEnabled(x=False, y=False)
        self.spectrum_plot.setLabel("bottom", "frequency (Hz)", color=theme.foreground.name())
        self.spectrum_plot.setLabel("left", "PSD (ms²/Hz)", color=theme.foreground.name())
        self.spectrum_plot.getAxis("left").setWidth(72)  # PSD reaches 6 digits
        self.spectrum_plot.setXRange(0.0, SPECTRUM_MAX_HZ, padding=0)
        self.lf_fill = pg.PlotCurveItem(
            pen=pg.mkPen(None), brush=pg.mkBrush(theme.lf_fill), fillLevel=0.0
        )
        self.hf_fill = pg.PlotCurveItem(
            pen=pg.mkPen(None), brush=pg.mkBrush(theme.hf_fill), fillLevel=0.0
        )
        self.psd_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.foreground, width=1.5))
        for item in (self.lf_fill, self.hf_fill, self.psd_curve):
            self.spectrum_plot.addItem(item)
        self.lf_label = pg.TextItem("LF", color=theme.foreground, anchor=(0.5, 0))
        self.hf_label = pg.TextItem("HF", color=theme.foreground, anchor=(0.5, 0))
        for item in (self.lf_label, self.hf_label):
            self.spectrum_plot.addItem(item, ignoreBounds=True)
        self.breathing_line = pg.InfiniteLine(
            pos=0.1,
            angle=90,
            movable=False,
            pen=pg.mkPen(theme.peak, width=2),
            label="",
            labelOpts={"position": 0.93, "color": theme.peak, "anchors": [(0, 0.5), (1, 0.5)]},
        )
        self.breathing_line.setToolTip("breathing rate: the respiratory peak of the spectrum")
        self.spectrum_plot.addItem(self.breathing_line, ignoreBounds=True)
        self.spectrum_message = pg.TextItem("", color=theme.foreground, anchor=(0.5, 0.5))
        self.spectrum_plot.addItem(self.spectrum_message, ignoreBounds=True)
        self._spectrum_range = _StableRange(min_span=100.0, step=100.0, floor=0.0)

        layout = self.graphics.ci.layout
        layout.setColumnStretchFactor(0, 7)
        layout.setColumnStretchFactor(1, 2)
        for row in range(3):
            layout.setRowStretchFactor(row, 1)

        self._hr_range = _StableRange(min_span=20.0, step=5.0, floor=0.0)
        self._rr_range = _StableRange(min_span=200.0, step=50.0, floor=0.0)
        self._ln_range = _StableRange(min_span=1.0, step=0.25)
        self._hf_range = _StableRange(min_span=200.0, step=100.0, floor=0.0)
        self.hr_plot.setYRange(50, 90, padding=0)
        self.rr_plot.setYRange(600, 1100, padding=0)
        self.trend_plot.setYRange(2.5, 4.5, padding=0)
        self.hf_view.setYRange(0, 1000, padding=0)

        self._time_plots = (self.hr_plot, self.rr_plot, self.trend_plot)
        self._grids = [_Grid(plot, theme) for plot in self._time_plots]
        self._spectrum_grid = _Grid(self.spectrum_plot, theme)
        self._phase_items: list[_PhaseItems] = []
        self._marker_lines = [
            _MarkerLines(self.hr_plot, theme, labelled=True),
            _MarkerLines(self.rr_plot, theme, labelled=False),
            _MarkerLines(self.trend_plot, theme, labelled=False),
        ]

    def _artifact_points(self) -> pg.ScatterPlotItem:
        theme = self._theme
        points = pg.ScatterPlotItem(
            size=8,
            symbol="o",
            pen=pg.mkPen(theme.background, width=1),
            brush=pg.mkBrush(theme.artifact),
            pxMode=True,
        )
        points.setToolTip("beat classed as an artifact")
        points.setZValue(10)
        return points

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
        self._phase_items = [_PhaseItems(p, plots, self._theme) for p in self.traces.phases]
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
        self.redraw()

    def truncate_after(self, t_s: float) -> None:
        """Drop everything at or after ``t_s`` (a replay seeking backwards), s."""
        self.traces.truncate_after(t_s)
        if self._now_s is not None and self._now_s > t_s:
            self._now_s = t_s
        self._drawn_key = None

    # ------------------------------------------------------------------ drawing
    def visible_range(self, now_s: float | None = None) -> tuple[float, float]:
        """The time range (s) the plots show for ``now_s`` (default: the newest data)."""
        right = now_s if now_s is not None else (self.traces.last_time_s or 0.0)
        if self._span_s > 0:
            x1 = max(right, self._span_s)
            return x1 - self._span_s, x1
        return 0.0, max(right, 60.0)

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
        self.hr_plot.setXRange(x0, x1, padding=0)

        n_beat = self._max_points(self.hr_plot)
        hr_x, hr_y = traces.view("hr", x0, x1, n_beat)
        rr_x, rr_y = traces.view("rr", x0, x1, n_beat)
        self.hr_curve.setData(hr_x, hr_y, connect="finite")
        self.rr_curve.setData(rr_x, rr_y, connect="finite")
        ax, ay = traces.view("hr_artifacts", x0, x1, n_beat)
        _set_points(self.hr_artifacts, ax, ay)
        bx, by = traces.view("rr_artifacts", x0, x1, n_beat)
        _set_points(self.rr_artifacts, bx, by)

        n_trend = self._max_points(self.trend_plot)
        ln_x, ln_y = traces.view("ln_rmssd", x0, x1, n_trend)
        hf_x, hf_y = traces.view("hf", x0, x1, n_trend)
        self.ln_rmssd_curve.setData(ln_x, ln_y, connect="finite")
        self.hf_curve.setData(hf_x, hf_y, connect="finite")
        self.points_drawn = {
            "hr": int(hr_x.size),
            "rr": int(rr_x.size),
            "hr_artifacts": int(ax.size),
            "rr_artifacts": int(bx.size),
            "ln_rmssd": int(ln_x.size),
            "hf": int(hf_x.size),
        }

        # only the points inside the view decide the y range (not the one either side)
        self._fit_y(self.hr_plot, self._hr_range, hr_x, hr_y, x0, x1)
        self._fit_y(self.rr_plot, self._rr_range, rr_x, rr_y, x0, x1)
        self._fit_y(self.trend_plot, self._ln_range, ln_x, ln_y, x0, x1)
        self._fit_y(self.hf_view, self._hf_range, hf_x, hf_y, x0, x1)

        for grid in self._grids:
            grid.update()
        now = self._now_s if self._now_s is not None else (traces.last_time_s or 0.0)
        y_top = self._hr_range.hi
        px_per_s = max(self.hr_plot.vb.width(), 1.0) / max(x1 - x0, 1e-9)
        for items in self._phase_items:
            items.place(x0, x1, now, y_top, px_per_s)
        markers = traces.markers_in(x0, x1)
        for lines in self._marker_lines:
            lines.show(markers, px_per_s)

    @staticmethod
    def _fit_y(
        target: pg.PlotItem | pg.ViewBox,
        stable: _StableRange,
        x: np.ndarray,
        y: np.ndarray,
        x0: float,
        x1: float,
    ) -> None:
        inside = (x >= x0) & (x <= x1)
        lo, hi = _finite_min_max(y[inside] if inside.any() else y)
        new = stable.update(lo, hi)
        if new is not None:
            target.setYRange(new[0], new[1], padding=0)

    # ------------------------------------------------------------------ spectrum
    def show_spectrum(self, spectrum: LiveSpectrum | None) -> None:
        """Draw the spectrum with its LF and HF bands shaded and the breathing peak marked;
        None shows why there is none yet."""
        self._spectrum = spectrum
        plot = self.spectrum_plot
        if spectrum is None:
            for curve in (self.psd_curve, self.lf_fill, self.hf_fill):
                curve.setData([], [])
            self.breathing_line.setVisible(False)
            self.lf_label.setVisible(False)
            self.hf_label.setVisible(False)
            self._spectrum_range.reset()
            plot.setYRange(0.0, 1000.0, padding=0)
            self.spectrum_message.setText("Spectrum\nafter 64 s\nwithout\na gap")
            self.spectrum_message.setPos(0.5 * SPECTRUM_MAX_HZ, 500.0)
            self.spectrum_message.setVisible(True)
            plot.setTitle("Spectrum", color=self._theme.foreground.name(), size="9pt")
            self._spectrum_grid.update()
            return
        self.spectrum_message.setVisible(False)
        freq = spectrum.freq_hz
        psd = spectrum.psd_ms2_hz
        shown = freq <= SPECTRUM_MAX_HZ + 1e-9
        self.psd_curve.setData(freq[shown], psd[shown])
        bands = ((self.lf_fill, spectrum.lf_band_hz), (self.hf_fill, spectrum.hf_band_hz))
        for curve, band in bands:
            fx, fy = _band_slice(freq, psd, band)
            curve.setData(fx, fy)
        peak_max = float(psd[shown].max()) if shown.any() else 0.0
        new = self._spectrum_range.update(0.0, peak_max)
        if new is not None:
            plot.setYRange(new[0], new[1], padding=0)
        top = self._spectrum_range.hi or peak_max
        self.lf_label.setPos(0.5 * sum(spectrum.lf_band_hz), top)
        self.hf_label.setPos(0.5 * sum(spectrum.hf_band_hz), top)
        self.lf_label.setVisible(True)
        self.hf_label.setVisible(True)
        peak = spectrum.breathing_peak_hz
        self.breathing_line.setVisible(peak is not None)
        if peak is not None:
            self.breathing_line.setValue(peak)
            self.breathing_line.label.setFormat(f"{60.0 * peak:.1f}/min")
        plot.setTitle(
            f"Spectrum, last {spectrum.duration_s:.0f} s",
            color=self._theme.foreground.name(),
            size="9pt",
        )
        self._spectrum_grid.update()

    @property
    def spectrum(self) -> LiveSpectrum | None:
        """The spectrum shown (None: none yet)."""
        return self._spectrum


def _set_points(points: pg.ScatterPlotItem, x: np.ndarray, y: np.ndarray) -> None:
    """Set scatter data only when it changed (a scatter rebuilds every spot on setData)."""
    old_x, old_y = points.getData()
    if (
        old_x is not None
        and old_x.size == x.size
        and np.array_equal(old_x, x)
        and np.array_equal(old_y, y)
    ):
        return
    points.setData(x, y)


def _band_slice(
    freq: np.ndarray, psd: np.ndarray, band: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The PSD over a band, its edges interpolated so neighbouring fills meet."""
    lo, hi = band
    inside = (freq > lo) & (freq < hi)
    if freq.size < 2 or hi <= freq[0]:
        return np.empty(0), np.empty(0)
    lo = max(lo, float(freq[0]))
    x = np.concatenate(([lo], freq[inside], [hi]))
    y = np.interp(x, freq, psd)
    return x, y

