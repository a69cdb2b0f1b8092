"""The ECG strip (last 10 s, mV) and the respiration trace (last 60 s), drawn with pyqtgraph.

The widget only draws a :class:`~biofeedback.viewmodels.signal_traces.SignalTraces` it is
given; the window calls :meth:`SignalStrip.redraw` on its frame cadence
(:mod:`biofeedback.ui.frame_cadence`), never per chunk, and each plot's single curve gets
``setData`` only when its model changed. Each plot is shown only when the user wants it
(View menu) and the session sends its stream.

What keeps a frame cheap (``benchmarks/ecg_strip_redraw.py``): the curves are drawn against
time before the newest sample, so the x ranges are fixed ([-10, 0] s and [-60, 0] s) and the
axes keep their cached pictures (moving the x range re-laid both axes on every frame: most
of the old frame's 6 ms); the y ranges are :class:`StableRange` s that move only when the
signal leaves them; the ECG is decimated to two points per pixel column (min/max) when it
has more samples than that; ``setData`` skips pyqtgraph's finite check (the buffers hold
no NaN), no antialiasing, and one-pixel pens (a wider pen makes pyqtgraph draw segments).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from biofeedback.ui.plot_items import Curve, StableRange, Theme
from biofeedback.viewmodels.signal_traces import ECG_SPAN_S, RESPIRATION_SPAN_S, SignalTraces

__all__ = ["SignalStrip"]

_ECG_MIN_SPAN_MV = 2.4
"""Least y span of the ECG strip, mV (a chest strap's R wave is ~1 mV): a flat lead does
not blow the noise up to full height."""
_RESPIRATION_MIN_SPAN_MG = 20.0
"""Least y span of the respiration trace, mG (quiet breathing moves the chest ~10-50 mG)."""


class _SecondsBeforeAxis(pg.AxisItem):
    """Time axis of a strip drawn against time before its newest sample: "-4 s" … "0"."""

    def tickStrings(  # noqa: N802 - pyqtgraph's name
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        """Tick labels, s before the newest sample."""
        del scale, spacing
        return [f"{v:g} s" if round(v, 6) else "0" for v in values]


class SignalStrip(QWidget):
    """The ECG strip above the respiration trace.

    Parameters
    ----------
    parent : QWidget, optional
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = Theme.from_palette(self.palette())
        self._signals: SignalTraces | None = None
        self._drawn: tuple[int, int] = (-1, -1)
        self.want_ecg = True
        self.want_respiration = True
        theme = self._theme
        self.ecg_range = StableRange(_ECG_MIN_SPAN_MV, 0.5)
        self.resp_range = StableRange(_RESPIRATION_MIN_SPAN_MG, 10.0)
        self.ecg_plot = self._plot("ECG (mV)", theme.hr, ECG_SPAN_S)
        self.ecg_curve = _curve(theme.hr)
        self.ecg_plot.addItem(self.ecg_curve)
        self.resp_plot = self._plot("breathing (mG)", theme.ln_rmssd, RESPIRATION_SPAN_S)
        self.resp_curve = _curve(theme.ln_rmssd)
        self.resp_plot.addItem(self.resp_curve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.ecg_plot)
        layout.addWidget(self.resp_plot)
        self.ecg_plot.setFixedHeight(150)
        self.resp_plot.setFixedHeight(110)
        self._apply_visibility()

    def _plot(self, label: str, colour: object, span_s: float) -> pg.PlotWidget:
        theme = self._theme
        plot = pg.PlotWidget(
            background=theme.background,
            axisItems={"bottom": _SecondsBeforeAxis(orientation="bottom")},
        )
        item = plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.disableAutoRange()
        item.setXRange(-span_s, 0.0, padding=0)
        # No grid: an alpha grid over 900 px tripled the paint (benchmarks/ecg_strip_redraw.py).
        item.setLabel("left", label, color=colour.name())  # type: ignore[attr-defined]
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.foreground))
            axis.setTextPen(pg.mkPen(theme.foreground))
            axis.enableAutoSIPrefix(False)
        return plot

    @property
    def signals(self) -> SignalTraces | None:
        """What is drawn (None: nothing)."""
        return self._signals

    def set_signals(self, signals: SignalTraces | None) -> None:
        """Draw ``signals`` from now on (None: nothing; both plots hide)."""
        self._signals = signals
        self._drawn = (-1, -1)
        self.ecg_curve.setData([], [])
        self.resp_curve.setData([], [])
        self.ecg_range.reset()
        self.resp_range.reset()
        self._apply_visibility()

    def set_wanted(self, ecg: bool, respiration: bool) -> None:
        """Whether the user wants the ECG strip and the respiration trace (View menu)."""
        self.want_ecg = ecg
        self.want_respiration = respiration
        self._drawn = (-1, -1)
        self._apply_visibility()

    @property
    def ecg_shown(self) -> bool:
        """The ECG strip is to be shown (wanted, and the session sends ECG)."""
        return self.want_ecg and self._signals is not None and self._signals.has_ecg

    @property
    def respiration_shown(self) -> bool:
        """The respiration trace is to be shown (wanted, and the session sends ACC)."""
        return (
            self.want_respiration and self._signals is not None and self._signals.has_acc
        )

    def _apply_visibility(self) -> None:
        self.ecg_plot.setVisible(self.ecg_shown)
        self.resp_plot.setVisible(self.respiration_shown)
        self.setVisible(self.ecg_shown or self.respiration_shown)

    def redraw(self) -> None:
        """Hand the curves what changed since the last frame (called once per frame)."""
        signals = self._signals
        if signals is None:
            return
        self._apply_visibility()
        ecg_version = signals.ecg.version if self.ecg_shown else self._drawn[0]
        resp_version = signals.respiration.version if self.respiration_shown else self._drawn[1]
        if ecg_version != self._drawn[0]:
            self._draw_ecg(signals)
        if resp_version != self._drawn[1]:
            self._draw_respiration(signals)
        self._drawn = (ecg_version, resp_version)

    def _draw_ecg(self, signals: SignalTraces) -> None:
        x, mv = signals.ecg.curve(int(self.ecg_plot.getPlotItem().vb.width()))
        self.ecg_curve.setData(x, mv, skipFiniteCheck=True)
        if mv.size:
            self._fit_y(self.ecg_plot, self.ecg_range, float(mv.min()), float(mv.max()))

    def _draw_respiration(self, signals: SignalTraces) -> None:
        resp = signals.respiration
        self.resp_curve.setData(resp.before_newest_s, resp.values_mg, skipFiniteCheck=True)
        if resp.values_mg.size:
            peak = float(np.max(np.abs(resp.values_mg)))
            self._fit_y(self.resp_plot, self.resp_range, -peak, peak)

    @staticmethod
    def _fit_y(plot: pg.PlotWidget, stable: StableRange, low: float, high: float) -> None:
        new = stable.update(low, high)
        if new is not None:
            plot.setYRange(*new, padding=0)


def _curve(colour: QColor) -> Curve:
    """A one-pixel, aliased curve whose points are all joined (the buffers hold no NaN)."""
    return Curve(pen=pg.mkPen(colour, width=1), antialias=False, connect="all",
                 skipFiniteCheck=True)
