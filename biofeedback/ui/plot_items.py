"""Plot pieces of the live view (pyqtgraph): theme, time axis, stable y ranges, grid, phase
shading and marker lines. Each draws what it is given; none holds session data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QWidget

from biofeedback.core.formatting import format_clock
from biofeedback.core.phase_colours import PHASE_ALPHA as _PHASE_ALPHA
from biofeedback.core.phase_colours import PHASE_COLOURS
from biofeedback.core.types import Marker, PhaseSpan
from biofeedback.ui.clock_axis import ClockAxis

__all__ = [
    "PHASE_COLOURS",
    "ClockAxis",
    "Curve",
    "Grid",
    "MarkerLines",
    "PhaseItems",
    "StableRange",
    "Theme",
    "finite_min_max",
]

_MARKER_POOL_GROWTH = 8
_MARKER_LABEL_GAP_PX = 70.0
"""Least distance between two marker labels, px (closer ones are left out)."""


class Curve(pg.PlotCurveItem):
    """A curve that keeps its data bounds when the view scrolls.

    pyqtgraph forgets a curve's data bounds on every view change and recomputes them (NaN-aware
    min and max over the data) many times per paint; a scrolling plot changes its view every
    frame, so that was about a fifth of the paint with 2 h on screen. The data bounds only
    change with the data (``setData`` still resets them); the pixel padding is recomputed.
    """

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self._boundingRect = None
        self.prepareGeometryChange()

    def dataBounds(  # noqa: N802 - pyqtgraph's name
        self, ax: int, frac: float = 1.0, orthoRange: object = None  # noqa: N803
    ) -> tuple[float | None, float | None]:
        """pyqtgraph's bounds (min and max ignoring NaN) without its warning filters.

        Each piece set anew (a range step sets them all) asked for both bounds, about 20 us
        apiece in ``np.nanmin``/``np.nanmax`` under ``warnings.catch_warnings``; ``fmin`` and
        ``fmax`` reductions are what those run, without the wrappers. Other requests (a
        fraction, an orthogonal range, a fill level, pens wider than a pixel, infinite
        data) are pyqtgraph's.
        """
        cache = self._boundsCache[ax]
        if cache is not None and cache[0] == (frac, orthoRange):
            return cache[1]
        opts = self.opts
        if (
            ax not in (0, 1)
            or frac < 1.0
            or orthoRange is not None
            or opts["fillLevel"] is not None
            or not all(_cosmetic(opts[name]) for name in ("pen", "shadowPen"))
        ):
            return super().dataBounds(ax, frac, orthoRange)
        x, y = self.getData()
        if x is None or len(x) == 0:
            return (None, None)
        d = x if ax == 0 else y
        bounds = (float(np.fmin.reduce(d)), float(np.fmax.reduce(d)))
        if math.isinf(bounds[0]) or math.isinf(bounds[1]):
            return super().dataBounds(ax, frac, orthoRange)
        self._boundsCache[ax] = [(frac, orthoRange), bounds]
        return bounds

    def paint(self, p: QPainter, *args: object) -> None:
        """pyqtgraph's paint of a plain line (one pen, no fill, no shadow), without its
        checks for the cases it is not; others are pyqtgraph's."""
        opts = self.opts
        if self.xData is None or len(self.xData) == 0:
            return
        widget = args[1] if len(args) > 1 else None
        if (
            opts["fillLevel"] is not None
            or opts["shadowPen"] is not None
            or opts["compositionMode"] is not None
            or self._exportOpts is not False
            or (widget is not None and type(widget) is not QWidget)
        ):
            super().paint(p, *args)
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, opts["antialias"])
        pen = opts["pen"]
        if pen is None or pen.style() == Qt.PenStyle.NoPen:
            return
        p.setPen(pen)
        if self._shouldUseDrawLineSegments(pen):
            p.drawLines(*self._getLineSegments())
        else:
            p.drawPath(self.getPath())


def _cosmetic(pen: QPen | None) -> bool:
    """Whether a pen adds nothing to a curve's data bounds (pyqtgraph's rule)."""
    return pen is None or pen.isCosmetic() or pen.style() == Qt.PenStyle.NoPen


def _onset(marker: Marker) -> float:
    return marker.onset_s


@dataclass(frozen=True)
class Theme:
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
    def from_palette(cls, palette: QPalette) -> Theme:
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


class StableRange:
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


def finite_min_max(*arrays: np.ndarray) -> tuple[float, float]:
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


class Grid:
    """Lines at the major ticks of a plot, as one path.

    pyqtgraph's own grid (``showGrid``) made a repaint of this view about three times
    slower (about 5 ms per plot, offscreen raster); one path of a dozen lines costs nothing.
    """

    def __init__(self, plot: pg.PlotItem, theme: Theme, y_axis: str = "left") -> None:
        self.plot = plot
        self.y_axis = y_axis
        colour = QColor(theme.foreground)
        colour.setAlpha(40)
        self.item = Curve(pen=pg.mkPen(colour, width=1), connect="pairs")
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


class PhaseItems:
    """The shading of one phase in each time plot, and its name in the top plot."""

    def __init__(
        self, phase: PhaseSpan, plots: Sequence[pg.PlotItem], theme: Theme
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

    def place(self, x0: float, x1: float, y_top: float | None, px_per_s: float) -> bool:
        """Move into the visible range ``[x0, x1]`` (s); returns whether the phase is in
        view. An open phase reaches the range's right edge, which stands still between the
        range's steps: shading that reached "now" repainted every plot on every beat. The
        name is shown only where it fits in the phase's visible width (short phases overlap
        else)."""
        start = self.phase.start_s
        end = self.phase.end_s if self.phase.end_s > start else max(x1, start)
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


class MarkerLines:
    """A pool of vertical lines for the markers in view of one plot (created on demand)."""

    def __init__(self, plot: pg.PlotItem, theme: Theme, *, labelled: bool) -> None:
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
            onset = format_clock(marker.onset_s, signed=True)
            line.setToolTip(f"{onset} {marker.label} ({marker.kind})")
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
