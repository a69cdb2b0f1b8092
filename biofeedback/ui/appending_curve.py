"""Plot curves and points drawn in pieces, so that a beat's frame repaints only their end.

A pyqtgraph item repaints its whole bounding rectangle when its data change, and Qt repaints
every item that rectangle touches: with the plots' range standing still, appending one beat to
a curve across the plot still repainted the whole plot (grid, phase shading, the artifact
points) on every beat. Here the points drawn before are kept in frozen pieces (items whose
data no longer change, each a short stretch of the curve) and only the newest points go to a
short tail item: Qt then repaints the tail's small rectangle, and paints only the pieces and
items inside it. Data that do not extend the drawn data (a range step, a zoom level, a seek)
are drawn again in full.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtGui import QPen

from biofeedback.ui.plot_items import Curve

__all__ = ["PIECE_POINTS", "VOLATILE_POINTS", "AppendingCurve", "AppendingPoints"]

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

    def __init__(self, target: pg.PlotItem | pg.ViewBox) -> None:
        self._view = target.vb if isinstance(target, pg.PlotItem) else target
        self._pieces: list[pg.GraphicsObject] = []
        self._n_pieces = 0
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
        frozen = self._frozen_x.size
        if (
            0 < frozen <= n
            and np.array_equal(x[:frozen], self._frozen_x)
            and np.array_equal(y[:frozen], self._frozen_y, equal_nan=True)
        ):
            if n - frozen > PIECE_POINTS + VOLATILE_POINTS:
                cut = n - VOLATILE_POINTS
                self._set_piece(self._n_pieces, x[frozen - 1 : cut], y[frozen - 1 : cut])
                self._n_pieces += 1
                self._freeze(x, y, cut)
                frozen = cut
        else:
            self.full_redraws += 1
            frozen = max(n - VOLATILE_POINTS, 0)
            used = 0
            for start in range(0, max(frozen - 1, 0), FULL_PIECE_POINTS):
                # consecutive pieces share a point: no hole in the line
                end = min(start + FULL_PIECE_POINTS + 1, frozen)
                self._set_piece(used, x[start:end], y[start:end])
                used += 1
            for piece in self._pieces[used : self._n_pieces]:
                self._fill(piece, _EMPTY, _EMPTY)
            self._n_pieces = used
            self._freeze(x, y, frozen)
        start = max(frozen - 1, 0)
        self._fill(self._tail, x[start:], y[start:])
        self._x, self._y = x, y

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
        consecutive ones share their joining point."""
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
    """Scatter points in pieces (a point shared by two pieces is drawn twice, unchanged).

    Parameters
    ----------
    target : pg.PlotItem or pg.ViewBox
        Where the points are drawn.
    tooltip : str
        Tooltip of every piece.
    **style : object
        :class:`pyqtgraph.ScatterPlotItem` options (size, symbol, pen, brush, pxMode).
    """

    def __init__(
        self, target: pg.PlotItem | pg.ViewBox, tooltip: str, **style: object
    ) -> None:
        self._style = style
        self._tooltip = tooltip
        super().__init__(target)

    def _new_item(self) -> pg.ScatterPlotItem:
        item = pg.ScatterPlotItem(**self._style)
        item.setToolTip(self._tooltip)
        item.setZValue(10)
        return item

    def _fill(self, item: pg.GraphicsObject, x: FloatArray, y: FloatArray) -> None:
        old_x, old_y = item.getData()
        # a scatter rebuilds every spot on setData: not when nothing changed
        if old_x is not None and np.array_equal(old_x, x) and np.array_equal(old_y, y):
            return
        item.setData(x, y)
