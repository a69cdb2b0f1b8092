"""The ECG strip (last 10 s, mV) and the respiration trace (last 60 s), drawn with pyqtgraph.

The widget only draws a :class:`~biofeedback.viewmodels.signal_traces.SignalTraces` it is
given; the window calls :meth:`SignalStrip.redraw` on its frame cadence
(:mod:`biofeedback.ui.frame_cadence`), never per chunk, and each plot's single curve gets
``setData`` only when its model changed. Each plot is shown only when the user wants it
(View menu) and the session sends its stream.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from biofeedback.ui.plot_items import Curve, Theme, finite_min_max
from biofeedback.viewmodels.signal_traces import SignalTraces

__all__ = ["SignalStrip"]

_ECG_RANGE_MV = (-0.8, 1.6)
"""Least y range of the ECG strip, mV (a chest strap's R wave is ~1 mV): a flat lead does
not blow the noise up to full height."""


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
        self.ecg_plot = self._plot("ECG (mV)", theme.hr)
        self.ecg_curve = Curve(pen=pg.mkPen(theme.hr, width=1))
        self.ecg_plot.addItem(self.ecg_curve)
        self.resp_plot = self._plot("breathing (mG)", theme.ln_rmssd)
        self.resp_curve = Curve(pen=pg.mkPen(theme.ln_rmssd, width=1.5))
        self.resp_plot.addItem(self.resp_curve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.ecg_plot)
        layout.addWidget(self.resp_plot)
        self.ecg_plot.setFixedHeight(150)
        self.resp_plot.setFixedHeight(110)
        self._apply_visibility()

    def _plot(self, label: str, colour: object) -> pg.PlotWidget:
        theme = self._theme
        plot = pg.PlotWidget(background=theme.background)
        item = plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.disableAutoRange()
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
            t, mv = signals.ecg.arrays()
            self.ecg_curve.setData(t, mv)
            if t.size:
                end = float(t[-1])
                self.ecg_plot.setXRange(end - signals.ecg.span_s, end, padding=0)
                low, high = finite_min_max(mv)
                self.ecg_plot.setYRange(
                    min(low, _ECG_RANGE_MV[0]), max(high, _ECG_RANGE_MV[1]), padding=0.05
                )
        if resp_version != self._drawn[1]:
            resp = signals.respiration
            self.resp_curve.setData(resp.times_s, resp.values_mg)
            if resp.times_s.size:
                end = float(resp.times_s[-1])
                self.resp_plot.setXRange(end - resp.span_s, end, padding=0)
                peak = float(np.max(np.abs(resp.values_mg))) or 1.0
                self.resp_plot.setYRange(-peak, peak, padding=0.1)
        self._drawn = (ecg_version, resp_version)
