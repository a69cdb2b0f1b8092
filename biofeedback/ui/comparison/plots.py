"""The comparison's plots: the paired differences with their CIs, each participant's pair of
values, and the resting baseline over time.

pyqtgraph is imported only when the first result is drawn, so the window opens as fast as
without the comparison view.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from biofeedback.core.formatting import format_number
from biofeedback.ui.comparison.tables import make_item, make_table
from biofeedback.viewmodels.comparison_format import metric_parts

if TYPE_CHECKING:
    import pyqtgraph as pg

__all__ = ["DifferencePlots", "IndividualsPage", "TrendsPage"]

_SIGNIFICANT = "#1565c0"
_NOT_SIGNIFICANT = "#757575"
_MAX_LEGEND_ENTRIES = 12


def _caption(parent: QWidget, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(wrap)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _style_axes(item: Any) -> None:
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen("#303030")
        item.getAxis(axis).setPen("#808080")
        item.getAxis(axis).enableAutoSIPrefix(False)  # units as labelled, no "x0.001"


def _new_plot(parent: QWidget, layout: Any, index: int) -> pg.PlotWidget:
    import pyqtgraph as pg

    plot = pg.PlotWidget(parent)
    plot.setBackground("w")
    plot.setMinimumHeight(200)
    plot.showGrid(x=False, y=True, alpha=0.25)
    plot.hideButtons()
    _style_axes(plot.getPlotItem())
    layout.insertWidget(index, plot, 1)
    return plot


def _reset(plot: Any) -> Any:
    """Clear a plot and its legend; returns its PlotItem."""
    plot.clear()
    item = plot.getPlotItem()
    if item.legend is not None:
        item.legend.clear()
    return item


def _add_legend(item: Any, entries: int) -> None:
    import pyqtgraph as pg

    if entries <= _MAX_LEGEND_ENTRIES:
        legend = item.legend or item.addLegend(offset=(-10, 10))
        legend.setColumnCount(2 if entries > 6 else 1)
        legend.setBrush(pg.mkBrush(255, 255, 255, 210))
        legend.setLabelTextColor("#303030")


def _participant_curve(plot: Any, xs: list[float], ys: list[float], colour: QColor,
                       name: str, **options: Any) -> Any:
    import pyqtgraph as pg

    return plot.plot(
        xs, ys, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=8,
        symbolBrush=colour, symbolPen=pg.mkPen("w", width=0.5), name=name, **options,
    )


class DifferencePlots(QWidget):
    """One small plot per metric: the paired mean difference and its 95 % CI."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.caption = _caption(
            self, "Paired mean difference, self-soothing − attention, with its 95 % CI "
            "(blue: the CI excludes 0)", wrap=False,
        )
        self._layout.addWidget(self.caption)
        self.plots: Any = None
        """The pg.GraphicsLayoutWidget, built with the first result."""

    def _ensure_plots(self) -> pg.GraphicsLayoutWidget:
        if self.plots is None:
            import pyqtgraph as pg

            self.plots = pg.GraphicsLayoutWidget(self)
            self.plots.setBackground("w")
            self.plots.setMinimumHeight(220)
            self._layout.addWidget(self.plots)
        return self.plots

    def draw(self, comparisons: list[dict[str, Any]]) -> None:
        """Draw one plot per comparison (the ``comparisons`` of the CLI's JSON)."""
        import pyqtgraph as pg

        plots = self._ensure_plots()
        plots.clear()
        for column, c in enumerate(comparisons):
            metric = str(c.get("metric"))
            name, unit, decimals = metric_parts(metric)
            plot = plots.addPlot(row=0, col=column)
            plot.setTitle(name, size="10pt", color="#202020")
            plot.setLabel("left", unit)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(y=True, alpha=0.25)
            plot.getAxis("bottom").setTicks([[(0.0, f"n = {c.get('n')}")]])
            plot.setXRange(-1.0, 1.0, padding=0)
            plot.addLine(y=0.0, pen=pg.mkPen("#9e9e9e", width=1, style=Qt.PenStyle.DashLine))
            _style_axes(plot)
            self._draw_difference(plot, c, decimals)

    @staticmethod
    def _draw_difference(plot: Any, c: dict[str, Any], decimals: int) -> None:
        import numpy as np
        import pyqtgraph as pg

        mean, low, high = c.get("mean_diff"), c.get("ci_low"), c.get("ci_high")
        if mean is None or not math.isfinite(mean):
            text = pg.TextItem("not computed", color="#8b1a1a", anchor=(0.5, 0.5))
            plot.addItem(text)
            text.setPos(0.0, 0.0)
            plot.setYRange(-1.0, 1.0, padding=0)
            plot.getAxis("left").setTicks([[(0.0, "0")]])
            return
        excludes_zero = low is not None and high is not None and (low > 0 or high < 0)
        colour = _SIGNIFICANT if excludes_zero else _NOT_SIGNIFICANT
        if low is not None and high is not None:
            bar = pg.ErrorBarItem(
                x=np.array([0.0]), y=np.array([mean]), top=np.array([high - mean]),
                bottom=np.array([mean - low]), beam=0.25,
                pen=pg.mkPen(colour, width=2),
            )
            plot.addItem(bar)
        plot.plot([0.0], [mean], pen=None, symbol="o", symbolSize=10,
                  symbolBrush=colour, symbolPen=colour)
        label = pg.TextItem(
            f"{format_number(mean, decimals)}\nd_z {format_number(c.get('d_z'), 2)}",
            color=colour, anchor=(0.0, 0.5),
        )
        plot.addItem(label)
        label.setPos(0.15, mean)
        values = [v for v in (mean, low, high, 0.0) if v is not None and math.isfinite(v)]
        span = (max(values) - min(values)) or 1.0
        plot.setYRange(min(values) - 0.1 * span, max(values) + 0.1 * span, padding=0)


class IndividualsPage(QWidget):
    """Each participant's Δ lnRMSSD in both categories, joined by a line, and the mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = _caption(self)
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.caption)
        self.plot: Any = None
        """The pg.PlotWidget, built with the first result."""
        self.curves: dict[str, Any] = {}
        """Participant id -> the PlotDataItem drawn for them."""
        self.mean_curve: Any = None
        """The mean's PlotDataItem (None when not drawn)."""

    def draw(self, participants: Any) -> None:
        """Draw the ``participants`` list of the CLI's JSON (None: an older result)."""
        import pyqtgraph as pg

        self.curves = {}
        self.mean_curve = None
        if self.plot is None:
            self.plot = _new_plot(self, self._layout, 1)
        plot = self.plot
        item = _reset(plot)
        entries = [e for e in participants or [] if isinstance(e, dict)]
        plot.setVisible(bool(entries))
        if not isinstance(participants, list):
            self.caption.setText(
                "No per-participant values in this result (it was made by an older version "
                "of biofeedback compare): compare again to see them."
            )
            return
        if not entries:
            self.caption.setText("No participant has a Δ lnRMSSD to show.")
            return
        item.setLabel("left", "Δ lnRMSSD from the session baseline", units="ln ms")
        item.setLabel("bottom", "Practice category")
        item.getAxis("bottom").setTicks([[(0.0, "Self-soothing"), (1.0, "Attention")]])
        item.setXRange(-0.35, 1.35, padding=0)
        item.setMouseEnabled(x=False, y=True)
        plot.addLine(y=0.0, pen=pg.mkPen("#9e9e9e", width=1, style=Qt.PenStyle.DashLine))
        _add_legend(item, len(entries))
        paired, partial = self._draw_pairs(entries)
        self._draw_mean(paired)
        values = [y for c in self.curves.values() for y in c.getData()[1]]
        if values:
            low, high = min([*values, 0.0]), max([*values, 0.0])
            span = (high - low) or 1.0
            item.setYRange(low - 0.08 * span, high + 0.08 * span, padding=0)
        caption = (
            "Each participant's mean Δ lnRMSSD (change from the session's resting baseline, "
            "ln ms) during self-soothing and during attention practices, joined by a line; "
            f"thick black: the mean of the {len(paired)} participant"
            f"{'' if len(paired) == 1 else 's'} with both values."
        )
        if partial:
            caption += f" Not paired ({len(partial)}): " + ", ".join(partial) + "."
        self.caption.setText(caption)

    def _draw_pairs(
        self, entries: list[dict[str, Any]]
    ) -> tuple[list[tuple[float, float]], list[str]]:
        """One curve per participant; returns the complete pairs and the incomplete ones."""
        paired: list[tuple[float, float]] = []
        partial: list[str] = []
        for index, entry in enumerate(entries):
            participant = str(entry.get("participant_id"))
            soothing = finite(entry.get("delta_ln_rmssd_self_soothing"))
            attention = finite(entry.get("delta_ln_rmssd_attention"))
            points = [(x, y) for x, y in ((0.0, soothing), (1.0, attention)) if y is not None]
            if not points:
                partial.append(f"{participant} (no value)")
                continue
            if len(points) == 1:
                missing = "attention" if soothing is not None else "self-soothing"
                partial.append(f"{participant} (no {missing} value: single point)")
            else:
                paired.append((soothing, attention))  # type: ignore[arg-type]
            self.curves[participant] = _participant_curve(
                self.plot, [x for x, _ in points], [y for _, y in points],
                participant_colour(index, len(entries)), participant,
            )
        return paired, partial

    def _draw_mean(self, paired: list[tuple[float, float]]) -> None:
        import pyqtgraph as pg

        if not paired:
            return
        mean = (
            sum(a for a, _ in paired) / len(paired), sum(b for _, b in paired) / len(paired)
        )
        self.mean_curve = self.plot.plot(
            [0.0, 1.0], list(mean), pen=pg.mkPen("#202020", width=4), symbol="s",
            symbolSize=11, symbolBrush="#202020", symbolPen="#202020",
            name=f"mean (n = {len(paired)})",
        )
        self.mean_curve.setZValue(10)


class TrendsPage(QWidget):
    """Per participant, the resting baseline lnRMSSD over days since their first session,
    with the least-squares slope per week in a table beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = _caption(self)
        self.slope_table = make_table(self, ("Participant", "Sessions", "Slope (ln ms/week)"))
        header = self.slope_table.horizontalHeaderItem(2)
        if header is not None:  # make_table sets every header item
            header.setToolTip("Least-squares change of the resting baseline lnRMSSD per week")
        self.slope_table.setMinimumWidth(300)
        self.slope_table.setMaximumWidth(360)
        self.slope_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        self._row = QHBoxLayout()
        self._row.addWidget(self.slope_table)
        layout.addLayout(self._row, 1)
        self.plot: Any = None
        """The pg.PlotWidget, built with the first result."""
        self.curves: dict[str, Any] = {}
        """Participant id -> their baseline-lnRMSSD PlotDataItem."""

    def draw(self, trends: Any) -> None:
        """Draw the ``trends`` list of the CLI's JSON (None: an older result)."""
        self.curves = {}
        if self.plot is None:
            self.plot = _new_plot(self, self._row, 0)
            self._row.setStretch(0, 3)
            self._row.setStretch(1, 1)
        item = _reset(self.plot)
        entries = [e for e in trends or [] if isinstance(e, dict)]
        self.plot.setVisible(bool(entries))
        self.slope_table.setVisible(bool(entries))
        self.slope_table.setRowCount(0)
        if not isinstance(trends, list):
            self.caption.setText(
                "No session-by-session trends in this result (it was made by an older "
                "version of biofeedback compare): compare again to see them."
            )
            return
        if not entries:
            self.caption.setText("No sessions to show over time.")
            return
        item.setLabel("left", "Resting baseline lnRMSSD", units="ln ms")
        item.setLabel("bottom", "Time since the participant's first session", units="days")
        item.setMouseEnabled(x=True, y=True)
        _add_legend(item, len(entries))
        self.slope_table.setRowCount(len(entries))
        xs_all: list[float] = []
        ys_all: list[float] = []
        most_sessions = 0
        for index, entry in enumerate(entries):
            xs, ys, n_sessions = self._draw_participant(index, entry, len(entries))
            most_sessions = max(most_sessions, n_sessions)
            xs_all += xs
            ys_all += ys
        if xs_all:
            item.setXRange(min(0.0, *xs_all), max(7.0, *xs_all), padding=0.05)
            # At least 0.5 ln ms shown, so a tiny spread does not look like a big change.
            low, high = min(ys_all), max(ys_all)
            middle, half = (low + high) / 2.0, max((high - low) * 0.55, 0.25)
            item.setYRange(middle - half, middle + half, padding=0)
        self.caption.setText(
            "Resting baseline lnRMSSD of each session against days since the participant's "
            "first session (benefits are reported to build over 4-8 weeks of practice). "
            "Slope: least-squares change per week, computed with at least 3 baselines "
            "spanning more than a day."
            + ("" if most_sessions > 1 else " Only one session per participant so far: no "
               "trend yet.")
        )

    def _draw_participant(
        self, index: int, entry: dict[str, Any], count: int
    ) -> tuple[list[float], list[float], int]:
        """One participant's curve and slope row; returns their finite points and sessions."""
        participant = str(entry.get("participant_id"))
        sessions = [s for s in entry.get("sessions") or [] if isinstance(s, dict)]
        xs = [float(s.get("days_since_first") or 0.0) for s in sessions]
        ys = [finite(s.get("baseline_ln_rmssd")) for s in sessions]
        self.curves[participant] = _participant_curve(
            self.plot, xs, [math.nan if y is None else y for y in ys],
            participant_colour(index, count), participant, connect="finite",
        )
        slope = finite(entry.get("baseline_slope_per_week"))
        n_baselines = sum(y is not None for y in ys)
        tip = ("" if slope is not None else
               "Needs at least 3 baselines spanning more than a day "
               f"({n_baselines} here)")
        cells = [
            make_item(participant, participant, numeric=False),
            make_item(str(len(sessions)), len(sessions)),
            make_item(format_number(slope, 3) if slope is None else f"{slope:+.3f}", slope,
                      tip=tip),
        ]
        for column, cell in enumerate(cells):
            self.slope_table.setItem(index, column, cell)
        kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        return [x for x, _ in kept], [y for _, y in kept], len(sessions)


def finite(value: Any) -> float | None:
    """``value`` as a float, None when missing or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_PARTICIPANT_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


def participant_colour(index: int, count: int) -> QColor:
    """The same colour for a participant on both plots (distinct up to 10, then a hue wheel)."""
    if count <= len(_PARTICIPANT_COLOURS):
        return QColor(_PARTICIPANT_COLOURS[index])
    return QColor.fromHsv(int(360 * index / count) % 360, 170, 200)

