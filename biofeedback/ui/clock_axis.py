"""The live plots' axes: pyqtgraph's ticks and labels without its per-label measuring, and
the time axis in session clock time (ticks on round seconds and minutes).

pyqtgraph regenerates an axis's ticks and labels whenever its range changes: each step of the
live view's range (every 30 s over 5 min) paid 1-1.7 ms of Python for the time axis (a general
tick search with ``np.isclose`` per level, a ``QPainter.boundingRect`` and an
``AxisItem.boundingRect`` per label), and a y axis as much when its range changed.
:class:`LeanAxis` gives the same draw specs (tests compare them with pyqtgraph's for many ranges
and sizes): label rectangles cached by text, the axis rectangle measured once.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from biofeedback.core.formatting import format_clock

__all__ = ["ClockAxis", "LeanAxis"]

_ALIGN = Qt.AlignmentFlag
_TEXT_FLAGS = {
    "bottom": _ALIGN.AlignHCenter | _ALIGN.AlignTop | Qt.TextFlag.TextDontClip,
    "top": _ALIGN.AlignHCenter | _ALIGN.AlignBottom | Qt.TextFlag.TextDontClip,
    "left": _ALIGN.AlignRight | _ALIGN.AlignVCenter | Qt.TextFlag.TextDontClip,
    "right": _ALIGN.AlignLeft | _ALIGN.AlignVCenter | Qt.TextFlag.TextDontClip,
}
_MEASURE = QRectF(0, 0, 100, 100)
_CACHE_MAX = 20_000
"""Most labels kept measured or formatted (a day of 5-s ticks; then they start over)."""

TickLevels = list[tuple[float, list[float]]]
Specs = tuple[
    tuple[QPen, QPointF, QPointF],
    list[tuple[QPen, QPointF, QPointF]],
    list[tuple[QRectF, object, str]],
]


class LeanAxis(pg.AxisItem):
    """A pyqtgraph axis whose ticks and labels are generated without per-label measuring
    (the same draw specs as :class:`pyqtgraph.AxisItem`'s, pixel for pixel)."""

    _text_rects: ClassVar[dict[tuple[str, str], QRectF]] = {}
    """Measured label rectangle per (font, text), as pyqtgraph measures it (0.8 high);
    shared: the same labels come back at every step of the range, on every plot."""

    _rect_key: tuple[object, ...] | None = None
    _rect = QRectF()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        """pyqtgraph's rectangle (the axis, its ticks and the labels' overhang), computed
        again only when the geometry or the styles it depends on change: Qt asks for it
        several times per paint of every item near the axis."""
        if self.grid is not False:
            return super().boundingRect()
        style = self.style
        geometry = self.geometry()
        key = (geometry.x(), geometry.y(), geometry.width(), geometry.height(),
               self.transform(), style["tickLength"], style["hideOverlappingLabels"])
        if key != self._rect_key:
            self._rect_key = key
            self._rect = super().boundingRect()
        return QRectF(self._rect)

    def tickValues(  # noqa: N802 - pyqtgraph's name
        self, minVal: float, maxVal: float, size: float  # noqa: N803
    ) -> TickLevels:
        """The values of :meth:`pyqtgraph.AxisItem.tickValues` (linear axis): each level's
        ticks in range, without those within 1 % of a spacing of a higher level's."""
        if self.logMode:
            return super().tickValues(minVal, maxVal, size)
        minVal, maxVal = sorted((minVal, maxVal))  # noqa: N806
        scale = self.scale
        minVal *= scale  # noqa: N806
        maxVal *= scale  # noqa: N806
        ticks: TickLevels = []
        seen = np.empty(0)
        for spacing, offset in self.tickSpacing(minVal, maxVal, size):
            start = (math.ceil((minVal - offset) / spacing) * spacing) + offset
            num = int((maxVal - start) / spacing) + 1
            values = (np.arange(num) * spacing + start) / scale
            if seen.size and values.size:
                # distance to the nearest tick of a higher level (seen is sorted)
                if seen.size > 1:
                    at = np.clip(np.searchsorted(seen, values), 1, seen.size - 1)
                    nearest = np.minimum(
                        np.abs(values - seen[at - 1]), np.abs(values - seen[at])
                    )
                else:
                    nearest = np.abs(values - seen[0])
                values = values[~(nearest <= spacing / scale * 0.01)]
            seen = np.sort(np.concatenate([seen, values]))
            ticks.append((spacing / scale, values.tolist()))
        return ticks

    def generateDrawSpecs(self, p: QPainter) -> Specs | None:  # noqa: N802 - pyqtgraph's name
        """pyqtgraph's draw specs of the axis, without its per-label measuring.

        What the live view does not use (explicit ticks, a grid, a log scale, ticks with a
        fixed alpha, an axis line stopped at the ticks) goes to
        :meth:`pyqtgraph.AxisItem.generateDrawSpecs`.
        """
        style = self.style
        if (
            self._tickLevels is not None
            or self.grid is not False
            or any(style["stopAxisAtTick"])
            or style["tickAlpha"] is not None
            or self.logMode
        ):
            return super().generateDrawSpecs(p)
        if style["tickFont"] is not None:
            p.setFont(style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        orientation = self.orientation
        if orientation == "left":
            span = (bounds.topRight() + QPointF(-1.0, -1.0),
                    bounds.bottomRight() + QPointF(-1.0, 1.0))
            tick_stop, tick_dir, axis = bounds.right(), -1, 0
        elif orientation == "right":
            span = (bounds.topLeft() + QPointF(1.0, -1.0),
                    bounds.bottomLeft() + QPointF(1.0, 1.0))
            tick_stop, tick_dir, axis = bounds.left(), 1, 0
        elif orientation == "top":
            span = (bounds.bottomLeft() + QPointF(-1.0, -1.0),
                    bounds.bottomRight() + QPointF(1.0, -1.0))
            tick_stop, tick_dir, axis = bounds.bottom(), -1, 1
        else:
            span = (bounds.topLeft() + QPointF(-1.0, 1.0),
                    bounds.topRight() + QPointF(1.0, 1.0))
            tick_stop, tick_dir, axis = bounds.top(), 1, 1
        ends = [self.mapToDevice(point) for point in span]
        if ends[0] is None or ends[1] is None:
            return None
        length_px = math.hypot(ends[1].x() - ends[0].x(), ends[1].y() - ends[0].y())
        if length_px == 0:
            return None
        lo, hi = self.range
        levels = self.tickValues(lo, hi, length_px)
        dif = hi - lo
        if dif == 0:
            scale, shift = 1.0, 0.0
        elif axis == 0:
            scale = -bounds.height() / dif
            shift = lo * scale - bounds.height()
        else:
            scale = bounds.width() / dif
            shift = lo * scale
        x_min, x_max = sorted((lo * scale - shift, hi * scale - shift))

        positions: list[list[float | None]] = []
        tick_specs: list[tuple[QPen, QPointF, QPointF]] = []
        for i, (_, values) in enumerate(levels):
            tick_end = tick_stop + style["tickLength"] / ((i * 0.5) + 1.0) * tick_dir
            pen = self._level_pen(i)
            level_positions: list[float | None] = []
            for v in values:
                x = (v * scale) - shift
                if x < x_min or x > x_max:
                    level_positions.append(None)
                    continue
                level_positions.append(x)
                if axis == 0:
                    tick_specs.append((pen, QPointF(tick_stop, x), QPointF(tick_end, x)))
                else:
                    tick_specs.append((pen, QPointF(x, tick_stop), QPointF(x, tick_end)))
            positions.append(level_positions)
        axis_spec = (self.pen(), span[0], span[1])
        if not style["showValues"]:
            return axis_spec, tick_specs, []
        text_specs = self._text_specs(p, levels, positions, length_px, tick_stop)
        return axis_spec, tick_specs, text_specs

    def drawPicture(  # noqa: N802 - pyqtgraph's name
        self,
        p: QPainter,
        axisSpec: tuple[QPen, QPointF, QPointF],  # noqa: N803
        tickSpecs: list[tuple[QPen, QPointF, QPointF]],  # noqa: N803
        textSpecs: list[tuple[QRectF, object, str]],  # noqa: N803
    ) -> None:
        """pyqtgraph's drawing of the specs, with the ticks of one level in one call (a
        y axis has some 40 of them: one ``setPen`` and ``drawLine`` each before)."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        pen, start, end = axisSpec
        p.setPen(pen)
        p.drawLine(start, end)
        i, n = 0, len(tickSpecs)
        while i < n:
            pen = tickSpecs[i][0]
            lines = []
            while i < n and tickSpecs[i][0] is pen:
                lines.append(QLineF(tickSpecs[i][1], tickSpecs[i][2]))
                i += 1
            p.setPen(pen)
            p.drawLines(lines)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in textSpecs:
            p.drawText(rect, int(flags), text)  # type: ignore[call-overload]

    def _level_pen(self, level: int) -> QPen:
        pen = self.tickPen()
        if pen.brush().style() == Qt.BrushStyle.SolidPattern:
            pen = QPen(pen)
            colour = QColor(pen.color())
            colour.setAlpha(int(255 / (level + 1)))
            pen.setColor(colour)
        return pen

    def _text_specs(
        self,
        p: QPainter,
        levels: TickLevels,
        positions: list[list[float | None]],
        length_px: float,
        tick_stop: float,
    ) -> list[tuple[QRectF, object, str]]:
        style = self.style
        orientation = self.orientation
        vertical = orientation in ("left", "right")
        font = p.font().key()
        rects_cache = self._text_rects
        offset = max(0, style["tickLength"]) + style["tickTextOffset"][0 if vertical else 1]
        flags = _TEXT_FLAGS[orientation]
        bounds = self.boundingRect()
        along: list[float] = []  # text measured so far along the axis, as pyqtgraph sums it
        across = last_across = 0.0
        text_specs: list[tuple[QRectF, object, str]] = []
        for i in range(min(len(levels), style["maxTextLevel"] + 1)):
            spacing, values = levels[i]
            strings = self.tickStrings(values, self.autoSIPrefixScale * self.scale, spacing)
            if not strings:
                continue
            rects: list[QRectF | None] = []
            for s, x in zip(strings, positions[i], strict=True):
                if x is None:
                    rects.append(None)
                    continue
                rect = rects_cache.get((font, s))
                if rect is None:
                    if len(rects_cache) > _CACHE_MAX:
                        rects_cache.clear()
                    rect = p.boundingRect(_MEASURE, Qt.AlignmentFlag.AlignCenter, s)
                    rect.setHeight(rect.height() * 0.8)
                    rects_cache[(font, s)] = rect
                rects.append(rect)
                if vertical:
                    along.append(rect.height())
                    across = max(across, rect.width())
                else:
                    along.append(rect.width())
                    across = max(across, rect.height())
            if i > 0:
                fill = float(np.sum(along)) / length_px if along else 0.0
                if any(
                    len(text_specs) >= n_texts and fill >= limit
                    for n_texts, limit in style["textFillLimits"]
                ):
                    break
            last_across = across
            for s, x, measured in zip(strings, positions[i], rects, strict=True):
                if x is None or measured is None:
                    continue
                width, height = measured.width(), measured.height()
                if orientation == "left":
                    rect = QRectF(tick_stop - offset - width, x - (height / 2), width, height)
                elif orientation == "right":
                    rect = QRectF(tick_stop + offset, x - (height / 2), width, height)
                elif orientation == "top":
                    rect = QRectF(x - width / 2.0, tick_stop - offset - height, width, height)
                else:
                    rect = QRectF(x - width / 2.0, tick_stop + offset, width, height)
                if bounds & rect != rect:
                    continue
                text_specs.append((rect, flags, s))
        self._updateMaxTextSize(last_across)
        return text_specs


class ClockAxis(LeanAxis):
    """Time axis in session clock time: ``m:ss`` (``h:mm:ss`` from 1 h), ticks on round
    seconds/minutes."""

    STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
    """The round steps ticks fall on, s."""

    _labels: ClassVar[dict[float, str]] = {}
    """Clock label per tick value, s (shared: the same minutes come back at every step)."""

    def tickSpacing(  # noqa: N802 - pyqtgraph's name
        self, minVal: float, maxVal: float, size: float  # noqa: N803
    ) -> list[tuple[float, float]]:
        """Major and minor spacing, s: about one major tick per 90 px."""
        span = max(maxVal - minVal, 1e-9)
        wanted = span / max(size / 90.0, 1.0)
        major = next((s for s in self.STEPS_S if s >= wanted), self.STEPS_S[-1])
        minor_candidates = [s for s in self.STEPS_S if s < major and major % s == 0]
        minor = minor_candidates[-2] if len(minor_candidates) >= 2 else major
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(  # noqa: N802 - pyqtgraph's name
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        """Tick labels as clock time."""
        del scale, spacing
        labels = self._labels
        out = []
        for v in values:
            label = labels.get(v)
            if label is None:
                if len(labels) > _CACHE_MAX:
                    labels.clear()
                label = labels[v] = format_clock(v, signed=True)
            out.append(label)
        return out
