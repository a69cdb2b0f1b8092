"""The live plots' axes give pyqtgraph's own ticks, labels and pixels, faster."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QPainter, QPicture

from biofeedback.core.formatting import format_clock
from biofeedback.ui.clock_axis import ClockAxis, LeanAxis
from biofeedback.ui.live_view import span_end_s, whole_session_end_s


class ReferenceAxis(ClockAxis):
    """The axis as it was: pyqtgraph's tick values, draw specs and an uncached label per
    tick; only the tick spacing (the round steps) is the clock axis's."""

    tickValues = pg.AxisItem.tickValues  # noqa: N815 - pyqtgraph's name
    generateDrawSpecs = pg.AxisItem.generateDrawSpecs  # noqa: N815 - pyqtgraph's name

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        return [format_clock(v, signed=True) for v in values]


def _plot(
    qtbot, axis: pg.AxisItem, width: int, y_axes: type[pg.AxisItem] = pg.AxisItem,
    height: int = 200, *, right: bool = False,
) -> tuple[pg.GraphicsLayoutWidget, pg.PlotItem]:
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot(
        axisItems={"bottom": axis, "left": y_axes("left"), "right": y_axes("right")}
    )
    if right:
        plot.showAxis("right")
    for name in ("left", "right"):
        plot.getAxis(name).setWidth(58)
    plot.setLabel("bottom", "session time (min:s)")
    plot.setLabel("left", "RR (ms)")
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, plot


def _specs(axis: pg.AxisItem) -> tuple:
    """The axis's draw specs as plain values (pens as colour and width, points as pairs)."""
    picture = QPicture()
    painter = QPainter(picture)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert specs is not None
    (pen, a, b), ticks, texts = specs

    def pen_of(p):
        return (p.color().rgba(), p.widthF(), p.style())

    return (
        (pen_of(pen), (a.x(), a.y()), (b.x(), b.y())),
        [(pen_of(p), (p1.x(), p1.y()), (p2.x(), p2.y())) for p, p1, p2 in ticks],
        [((r.x(), r.y(), r.width(), r.height()), int(flags), text) for r, flags, text in texts],
    )


def _live_ranges() -> list[tuple[float, float]]:
    """Ranges the live view shows: its spans' steps, the whole session, odd ones too."""
    ranges = []
    for span in (60.0, 120.0, 300.0, 600.0, 1800.0):
        for last in (5.0, 299.0, 301.0, 3599.0, 3601.0, 7201.5, 86399.0):
            end = span_end_s(last, span)
            ranges.append((end - span, end))
    for last in (30.0, 600.4, 3700.0, 7200.0, 40000.0, 86400.0):
        ranges.append((0.0, whole_session_end_s(last)))
    rng = np.random.default_rng(4)
    for _ in range(12):  # not on round steps, some narrow enough for minor labels
        x0 = float(rng.uniform(-100.0, 90000.0))
        ranges.append((x0, x0 + float(rng.choice([3.0, 17.0, 45.0, 333.3, 5000.0]))))
    return ranges


@pytest.mark.parametrize("width", [330, 900, 1500])
def test_clock_axis_draws_what_pyqtgraph_drew(qtbot, width):
    lean_widget, lean_plot = _plot(qtbot, ClockAxis("bottom"), width)
    ref_widget, ref_plot = _plot(qtbot, ReferenceAxis("bottom"), width)
    lean, ref = lean_plot.getAxis("bottom"), ref_plot.getAxis("bottom")
    minor_labels = labelled = 0
    ranges = _live_ranges()
    for i, (x0, x1) in enumerate(ranges):
        for plot in (lean_plot, ref_plot):
            plot.setXRange(x0, x1, padding=0)
        assert lean.range == ref.range == pytest.approx([x0, x1])
        size = lean.width()
        # the tick values of pyqtgraph's search, from the clock axis's round steps
        assert ClockAxis.tickValues(lean, x0, x1, size) == pg.AxisItem.tickValues(
            ref, x0, x1, size
        )
        got, want = _specs(lean), _specs(ref)
        assert got == want
        labels = [text for _, _, text in got[2]]
        assert all(":" in label for label in labels)
        labelled += bool(labels)  # (none fit when the only ticks are at the ends)
        major = lean.tickSpacing(x0, x1, size)[0][0]
        minor_labels += sum(round(float(v) % major, 6) != 0 for v in _label_values(lean, x0, x1))
        if i % 9 == 0:
            # and the same pixels (labels, ticks, the axis line)
            for widget in (lean_widget, ref_widget):
                widget.scene().prepareForPaint()
            assert lean_widget.grab().toImage() == ref_widget.grab().toImage()
    assert labelled > 0.8 * len(ranges)
    assert minor_labels > 0  # the second level's labels were compared too


def _label_values(axis: ClockAxis, x0: float, x1: float) -> list[float]:
    levels = axis.tickValues(x0, x1, axis.width())
    return [v for _, values in levels for v in values]


def test_clock_axis_labels_read_as_session_clock_time(qtbot):
    _, plot = _plot(qtbot, ClockAxis("bottom"), 900)
    axis = plot.getAxis("bottom")
    plot.setXRange(7500.0, 7800.0, padding=0)  # 5 min at 2 h 5 min
    labels = [text for _, _, text in _specs(axis)[2]]
    # (the labels at either end would not fit inside the axis: left out, as pyqtgraph does)
    assert labels == ["2:06:00", "2:07:00", "2:08:00", "2:09:00"]
    plot.setXRange(0.0, 93600.0, padding=0)  # the whole of a day
    labels = [text for _, _, text in _specs(axis)[2]]
    assert labels == ["4:00:00", "8:00:00", "12:00:00", "16:00:00", "20:00:00", "24:00:00"]
    plot.setXRange(-30.0, 60.0, padding=0)  # before the session started
    labels = [text for _, _, text in _specs(axis)[2]]
    assert labels == ["-0:15", "0:00", "0:15", "0:30", "0:45"]


@pytest.mark.parametrize("height", [120, 190, 400])
def test_y_axes_draw_what_pyqtgraph_drew(qtbot, height):
    """The live plots' y axes (pyqtgraph's tick search and number labels), left and right."""
    lean_widget, lean_plot = _plot(qtbot, ClockAxis("bottom"), 700, LeanAxis, height, right=True)
    ref_widget, ref_plot = _plot(qtbot, ClockAxis("bottom"), 700, pg.AxisItem, height, right=True)
    ranges = [(50.0, 90.0), (600.0, 1100.0), (2.5, 4.5), (0.0, 1000.0), (0.0, 200.0),
              (35.0, 140.0), (300.0, 2000.0), (-0.25, 0.25), (0.0, 123456.0), (1.0, 1.0)]
    rng = np.random.default_rng(7)
    ranges += [tuple(sorted(rng.uniform(-50.0, 5000.0, 2).tolist())) for _ in range(10)]
    for i, (y0, y1) in enumerate(ranges):
        for plot in (lean_plot, ref_plot):
            plot.setYRange(y0, y1, padding=0)
        for name in ("left", "right"):
            lean, ref = lean_plot.getAxis(name), ref_plot.getAxis(name)
            assert lean.range == ref.range
            size = lean.height()
            assert LeanAxis.tickValues(lean, y0, y1, size) == pg.AxisItem.tickValues(
                ref, y0, y1, size
            )
            got, want = _specs(lean), _specs(ref)
            assert got == want
            if y1 > y0:
                assert got[2]  # labelled
        if i % 5 == 0:
            for widget in (lean_widget, ref_widget):
                widget.scene().prepareForPaint()
            assert lean_widget.grab().toImage() == ref_widget.grab().toImage()


def test_axis_rectangles_follow_geometry_and_style(qtbot):
    """The kept rectangle is pyqtgraph's after resizes, a wider axis and a style change."""
    widget, plot = _plot(qtbot, ClockAxis("bottom"), 600, LeanAxis, right=True)
    axes = [plot.getAxis(name) for name in ("bottom", "left", "right")]

    def same() -> None:
        for axis in axes:
            assert axis.boundingRect() == pg.AxisItem.boundingRect(axis)
            assert not axis.boundingRect().isEmpty()

    same()
    for width, height in ((900, 200), (330, 420), (900, 600)):
        widget.resize(width, height)
        qtbot.waitUntil(lambda w=width: plot.getAxis("bottom").width() > w - 200)
        same()
    plot.getAxis("left").setWidth(90)
    widget.scene().prepareForPaint()
    qtbot.wait(10)
    same()
    for axis in axes:
        axis.setStyle(tickLength=8, hideOverlappingLabels=False)
    same()
    widget.resize(700, 300)
    qtbot.waitUntil(lambda: plot.getAxis("bottom").width() < 700)
    same()
