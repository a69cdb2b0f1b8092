"""The live plots' curve item: pyqtgraph's bounds and pixels, without its per-call checks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from biofeedback.ui.plot_items import Curve

NAN = np.nan
SERIES = {
    "beats": (np.linspace(0.0, 300.0, 351), 60.0 + 8.0 * np.sin(np.linspace(0.0, 40.0, 351))),
    "breaks": (np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
               np.array([NAN, 800.0, 812.5, NAN, 790.0, NAN])),
    "all_nan": (np.array([1.0, 2.0]), np.array([NAN, NAN])),
    "one": (np.array([7.0]), np.array([3.25])),
    "negative_zero": (np.array([-0.0, 0.0, 1.0]), np.array([0.0, -0.0, -1.5])),
    "infinite": (np.array([0.0, 1.0, 2.0]), np.array([1.0, np.inf, -2.0])),
}
PENS = {
    "thin": pg.mkPen("#c8372d", width=1),
    "wide dashed": pg.mkPen("#7d3cb5", width=2, style=Qt.PenStyle.DashLine),
    "wide": pg.mkPen("#1e8a55", width=2),
    "not cosmetic": pg.mkPen("#1e8a55", width=3, cosmetic=False),
}


def _bounds(item: pg.PlotCurveItem, ax: int, **kwargs: object) -> tuple:
    lo, hi = item.dataBounds(ax, **kwargs)
    return tuple("nan" if v is not None and np.isnan(v) else v for v in (lo, hi))


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("pen", PENS)
def test_curve_bounds_are_pyqtgraphs(name, pen):
    x, y = SERIES[name]
    for connect in ("finite", "pairs"):
        ours = Curve(x, y, pen=PENS[pen], connect=connect)
        theirs = pg.PlotCurveItem(x, y, pen=PENS[pen], connect=connect)
        for ax in (0, 1):
            assert _bounds(ours, ax) == _bounds(theirs, ax)
            assert _bounds(ours, ax, frac=0.5) == _bounds(theirs, ax, frac=0.5)
            assert _bounds(ours, ax, orthoRange=(0.5, 3.5)) == _bounds(
                theirs, ax, orthoRange=(0.5, 3.5)
            )
            assert _bounds(ours, ax) == _bounds(theirs, ax)  # cached
        ours.setData(x[:1], y[:1], connect=connect)  # new data: bounds computed again
        theirs.setData(x[:1], y[:1], connect=connect)
        assert _bounds(ours, 1) == _bounds(theirs, 1)
    assert Curve().dataBounds(0) == pg.PlotCurveItem().dataBounds(0) == (None, None)


def test_curves_draw_pyqtgraphs_pixels(qtbot):
    """Lines with breaks, wide and dashed pens, a grid-like 'pairs' item and a filled
    curve (pyqtgraph's own paint) give the same image with either item."""
    images = []
    for cls in (Curve, pg.PlotCurveItem):
        widget = pg.GraphicsLayoutWidget()
        qtbot.addWidget(widget)
        plot = widget.addPlot()
        plot.setXRange(0.0, 300.0, padding=0)
        plot.setYRange(40.0, 90.0, padding=0)
        x, y = SERIES["beats"]
        y = y.copy()
        y[100] = NAN
        for i, pen in enumerate(("thin", "wide dashed", "wide")):
            plot.addItem(cls(x, y - 5.0 * i, pen=PENS[pen], connect="finite"))
        grid_x = np.repeat(np.arange(30.0, 300.0, 30.0), 2)
        grid_y = np.tile([40.0, 90.0], grid_x.size // 2)
        plot.addItem(cls(grid_x, grid_y, pen=pg.mkPen((0, 0, 0, 40)), connect="pairs"))
        plot.addItem(cls(x[:50], y[:50] - 20.0, pen=pg.mkPen(None), brush=pg.mkBrush(
            90, 169, 255, 110), fillLevel=40.0))
        widget.resize(600, 300)
        widget.show()
        qtbot.waitExposed(widget)
        images.append(widget.grab().toImage())
    assert images[0] == images[1]
    assert not images[0].isNull()
