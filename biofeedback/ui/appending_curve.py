"""Plot curves and points drawn in pieces, so that a beat's frame repaints only their end.

A pyqtgraph item repaints its whole bounding rectangle when its data change, and Qt repaints
every item that rectangle touches: with the plots' range standing still, appending one beat to
a curve across the plot still repainted the whole plot (grid, phase shading, the artifact
points) on every beat. Here the points drawn before are kept in frozen pieces (items whose
data no longer change, each a short stretch of the curve) and only the newest points go to a
short tail item: Qt then repaints the tail's small rectangle, and paints only the pieces and
items inside it. Data that do not extend the drawn data (a range step, a zoom level, a seek)
are drawn again in full, except when a range step only clipped the oldest points off: the
pieces before the new first point are then emptied, and the others kept.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPen, QPixmap

from biofeedback.ui.plot_items import Curve

__all__ = ["PIECE_POINTS", "VOLATILE_POINTS", "AppendingCurve", "AppendingPoints", "Dots"]

FloatArray = npt.NDArray[np.float64]

PIECE_POINTS = 48
"""Points the tail grows to before they are frozen into a piece of their own (the tail's
repaint grows with its width; a piece costs nothing until the range changes)."""

FULL_PIECE_POINTS = 4 * PIECE_POINTS
"""Points per piece when the whole curve is drawn again: each beat's repaint then paints the
last of them only, not a curve across the plot."""

VOLATILE_POINTS = 4
"""Newest points never frozen: a decimated curve's last bucket (its min, max and a break)
changes as beats arrive, and must stay in the tail."""

_EMPTY = np.empty(0)


class _AppendingItems:
    """Frozen pieces and a tail of one series; the subclasses make and fill the items."""

    piece_points = PIECE_POINTS
    """Points the tail grows to before they become a piece."""
    full_piece_points = FULL_PIECE_POINTS
    """Points per piece when everything is drawn again."""
    volatile_points = VOLATILE_POINTS
    """Newest points kept in the tail (they may still change)."""
    overlap = 1
    """Points two consecutive items share (1: a line without holes)."""

    def __init__(self, target: pg.PlotItem | pg.ViewBox) -> None:
        self._view = target.vb if isinstance(target, pg.PlotItem) else target
        self._pieces: list[pg.GraphicsObject] = []
        self._n_pieces = 0
        self._extents: list[tuple[int, int]] = []
        """Which frozen points each piece in use draws: start and end index."""
        self._tail = self._add(self._new_item())
        self._tail.setZValue(self._tail.zValue() + 0.1)  # the newest over the piece it joins
        self._frozen_x: FloatArray = _EMPTY
        self._frozen_y: FloatArray = _EMPTY
        self._x: FloatArray = _EMPTY
        self._y: FloatArray = _EMPTY
        self.full_redraws = 0
        """Calls that drew every piece again (for tests and benchmarks)."""

    def _new_item(self) -> pg.GraphicsObject:
        raise NotImplementedError

    def _fill(self, item: pg.GraphicsObject, x: FloatArray, y: FloatArray) -> None:
        raise NotImplementedError

    def _add(self, item: pg.GraphicsObject) -> pg.GraphicsObject:
        self._view.addItem(item, ignoreBounds=True)
        return item

    def setData(self, x: FloatArray, y: FloatArray) -> None:  # noqa: N802 - pyqtgraph's name
        """Draw the points ``x`` (s), ``y``; for a curve NaN in ``y`` breaks it.

        When the first points are the ones frozen before, only the tail is set (and, once it
        is :data:`PIECE_POINTS` long, its older points become a new piece); else every piece,
        :data:`FULL_PIECE_POINTS` points each.
        """
        n = x.size
        self._drop_before(x, y)
        frozen = self._frozen_x.size
        overlap, volatile = self.overlap, self.volatile_points
        if (
            0 < frozen <= n
            and np.array_equal(x[:frozen], self._frozen_x)
            and np.array_equal(y[:frozen], self._frozen_y, equal_nan=True)
        ):
            if n - frozen > self.piece_points + volatile:
                cut = n - volatile
                first = frozen - overlap
                self._set_piece(self._n_pieces, x[first:cut], y[first:cut])
                self._extents.append((first, cut))
                self._n_pieces += 1
                self._freeze(x, y, cut)
                frozen = cut
        else:
            self.full_redraws += 1
            frozen = max(n - volatile, 0)
            used = 0
            size = self.full_piece_points
            self._extents = []
            for start in range(0, max(frozen - overlap, 0), size):
                # consecutive pieces of a line share a point: no hole in it
                end = min(start + size + overlap, frozen)
                self._set_piece(used, x[start:end], y[start:end])
                self._extents.append((start, end))
                used += 1
            for piece in self._pieces[used : self._n_pieces]:
                self._fill(piece, _EMPTY, _EMPTY)
            self._n_pieces = used
            self._freeze(x, y, frozen)
        start = max(frozen - overlap, 0)
        self._fill(self._tail, x[start:], y[start:])
        self._x, self._y = x, y

    def _drop_before(self, x: FloatArray, y: FloatArray) -> None:
        """Forget the frozen points before ``x[0]`` when ``x`` goes on from one of them.

        A range step to the right clips the oldest points off the data and keeps the rest:
        the pieces wholly before the new first point are emptied, the one across it is set
        from it on, and the others stay as they are (Qt moves them, it does not rebuild
        their paths). Anything else is left to :meth:`setData`'s checks.
        """
        frozen_x = self._frozen_x
        if frozen_x.size == 0 or x.size == 0 or not x[0] > frozen_x[0]:
            return
        k = int(np.searchsorted(frozen_x, x[0]))
        kept = min(frozen_x.size - k, x.size)
        if (
            k >= frozen_x.size
            or not np.array_equal(x[:kept], frozen_x[k : k + kept])
            or not np.array_equal(y[:kept], self._frozen_y[k : k + kept], equal_nan=True)
        ):
            return
        live: list[pg.GraphicsObject] = []
        dropped: list[pg.GraphicsObject] = []
        extents: list[tuple[int, int]] = []
        for piece, (start, end) in zip(
            self._pieces[: self._n_pieces], self._extents, strict=True
        ):
            if end <= k:
                self._fill(piece, _EMPTY, _EMPTY)
                dropped.append(piece)
                continue
            if start < k:
                self._fill(piece, frozen_x[k:end], self._frozen_y[k:end])
                start = k
            live.append(piece)
            extents.append((start - k, end - k))
        self._pieces = [*live, *dropped, *self._pieces[self._n_pieces :]]
        self._n_pieces = len(live)
        self._extents = extents
        self._frozen_x = frozen_x[k:]
        self._frozen_y = self._frozen_y[k:]

    def _freeze(self, x: FloatArray, y: FloatArray, cut: int) -> None:
        self._frozen_x = x[:cut].copy()
        self._frozen_y = y[:cut].copy()

    def _set_piece(self, index: int, x: FloatArray, y: FloatArray) -> None:
        while len(self._pieces) <= index:
            self._pieces.append(self._add(self._new_item()))
        self._fill(self._pieces[index], x, y)

    def getData(self) -> tuple[FloatArray, FloatArray]:  # noqa: N802 - pyqtgraph's name
        """The points last set: times (s) and values."""
        return self._x, self._y

    def drawn_pieces(self) -> list[tuple[FloatArray, FloatArray]]:
        """The data of each item drawn, oldest first, the tail last (empty ones left out);
        consecutive ones share :attr:`overlap` points."""
        items = [*self._pieces[: self._n_pieces], self._tail]
        drawn = [item.getData() for item in items]
        return [(px, py) for px, py in drawn if px is not None and px.size]


class AppendingCurve(_AppendingItems):
    """A line (``connect="finite"``: NaN breaks it) in pieces.

    Parameters
    ----------
    target : pg.PlotItem or pg.ViewBox
        Where the curve is drawn.
    pen : QPen
        Pen of the line.
    """

    def __init__(self, target: pg.PlotItem | pg.ViewBox, pen: QPen) -> None:
        self._pen = pen
        super().__init__(target)

    def _new_item(self) -> Curve:
        return Curve(pen=self._pen, connect="finite")

    def _fill(self, item: pg.GraphicsObject, x: FloatArray, y: FloatArray) -> None:
        item.setData(x, y, connect="finite")


class AppendingPoints(_AppendingItems):
    """Scatter points in pieces of a few points each.

    A scatter paints (in Python) every point it holds whenever any part of it is exposed:
    short pieces keep the points a beat's repaint touches to the newest few. Points do not
    change once drawn (none is volatile) and pieces share none.

    Parameters
    ----------
    target : pg.PlotItem or pg.ViewBox
        Where the points are drawn.
    tooltip : str
        Tooltip of every piece.
    **style : object
        :class:`Dots` options (size, pen, brush).
    """

    piece_points = 16
    full_piece_points = 16
    volatile_points = 0
    overlap = 0

    def __init__(
        self, target: pg.PlotItem | pg.ViewBox, tooltip: str, **style: object
    ) -> None:
        self._style = style
        self._tooltip = tooltip
        super().__init__(target)

    def _new_item(self) -> Dots:
        item = Dots(**self._style)  # type: ignore[arg-type]
        item.setToolTip(self._tooltip)
        item.setZValue(10)
        return item

    def _fill(self, item: pg.GraphicsObject, x: FloatArray, y: FloatArray) -> None:
        old_x, old_y = item.getData()
        if np.array_equal(old_x, x) and np.array_equal(old_y, y):
            return  # unchanged: no repaint
        item.setData(x, y)


class Dots(pg.GraphicsObject):
    """Round dots of a fixed size in pixels at data points (a lean ``ScatterPlotItem``).

    pyqtgraph's scatter item costs a fraction of a millisecond of Python per paint however
    few of its points are exposed; this draws the points it holds with one ellipse each.

    Parameters
    ----------
    size : float
        Diameter of a dot, px.
    pen : QPen
        Outline of a dot.
    brush : QBrush
        Fill of a dot.
    """

    def __init__(self, size: float, pen: QPen, brush: QBrush) -> None:
        super().__init__()
        self._radius = 0.5 * float(size)
        self._pen = QPen(pen)
        self._brush = QBrush(brush)
        self._x: FloatArray = _EMPTY
        self._y: FloatArray = _EMPTY
        self._data_rect = QRectF()
        self._rect: QRectF | None = None

    def setData(self, x: FloatArray, y: FloatArray) -> None:  # noqa: N802 - pyqtgraph's name
        """Show dots at ``x`` (s) and ``y``."""
        self.prepareGeometryChange()
        self._x = np.array(x, dtype=np.float64)
        self._y = np.array(y, dtype=np.float64)
        if self._x.size:
            x0, x1 = float(self._x.min()), float(self._x.max())
            y0, y1 = float(self._y.min()), float(self._y.max())
            self._data_rect = QRectF(x0, y0, x1 - x0, y1 - y0)
        else:
            self._data_rect = QRectF()
        self._rect = None
        self.update()

    def getData(self) -> tuple[FloatArray, FloatArray]:  # noqa: N802 - pyqtgraph's name
        """The points shown: times (s) and values."""
        return self._x, self._y

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.prepareGeometryChange()
        self._rect = None

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        """The points' extent, padded by a dot's radius (and its pen) in data units."""
        if self._rect is None:
            if not self._x.size:
                self._rect = QRectF()
                return self._rect
            px, py = self.pixelVectors()
            if px is None or py is None:
                return QRectF()
            pad = self._radius + self._pen.widthF() + 1.0
            dx = pad * math.hypot(px.x(), px.y())
            dy = pad * math.hypot(py.x(), py.y())
            self._rect = self._data_rect.adjusted(-dx, -dy, dx, dy)
        return self._rect

    def paint(self, painter: QPainter, *_: object) -> None:
        """One ellipse per point, in device pixels (the size does not scale with the view)."""
        if not self._x.size:
            return
        t = painter.transform()
        dot = self._dot(painter.device().devicePixelRatioF())
        offset = self._radius + self._pen.widthF()
        xs = t.m11() * self._x + t.m21() * self._y + (t.dx() - offset)
        ys = t.m12() * self._x + t.m22() * self._y + (t.dy() - offset)
        painter.save()
        painter.resetTransform()
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            painter.drawPixmap(QPointF(x, y), dot)
        painter.restore()

    def _dot(self, ratio: float) -> QPixmap:
        """One dot drawn once (antialiased), stamped at every point."""
        key = (self._radius, self._pen.color().rgba(), self._pen.widthF(),
               self._brush.color().rgba(), ratio)
        dot = _DOTS.get(key)
        if dot is None:
            side = 2.0 * (self._radius + self._pen.widthF())
            dot = QPixmap(math.ceil(side * ratio), math.ceil(side * ratio))
            dot.setDevicePixelRatio(ratio)
            dot.fill(Qt.GlobalColor.transparent)
            p = QPainter(dot)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setPen(self._pen)
            p.setBrush(self._brush)
            centre = 0.5 * side
            p.drawEllipse(QPointF(centre, centre), self._radius, self._radius)
            p.end()
            _DOTS[key] = dot
        return dot


_DOTS: dict[tuple[float, ...], QPixmap] = {}
"""Dot pixmaps by style (every artifact piece of a plot stamps the same one)."""
