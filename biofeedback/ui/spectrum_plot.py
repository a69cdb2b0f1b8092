"""The spectrum plot of the live view: PSD with the LF and HF bands shaded, breathing peak.

Beside the three time plots of :class:`biofeedback.ui.live_view.LiveView`, in the same
graphics layout; it draws a :class:`~biofeedback.viewmodels.spectrum.LiveSpectrum` (or says
why there is none yet).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from biofeedback.ui.clock_axis import LeanAxis
from biofeedback.ui.plot_items import Curve, Grid, StableRange, Theme
from biofeedback.viewmodels.spectrum import LiveSpectrum

__all__ = ["SPECTRUM_MAX_HZ", "SpectrumPlot"]

SPECTRUM_MAX_HZ = 0.5
"""Right edge of the spectrum plot, Hz (breathing band up to 30/min)."""


class SpectrumPlot:
    """The spectrum's plot items, in column 1 of ``graphics`` beside the time plots.

    Parameters
    ----------
    graphics : pg.GraphicsLayoutWidget
        The live view's layout (the plot spans its three rows).
    theme : Theme
        Colours.
    style_plot : callable
        Styles a plot like the time plots (axes, no menu, no auto range).
    """

    def __init__(
        self,
        graphics: pg.GraphicsLayoutWidget,
        theme: Theme,
        style_plot: Callable[[pg.PlotItem], None],
    ) -> None:
        self._theme = theme
        # pyqtgraph's axes and curve, drawn alike without their per-label and per-paint
        # overhead (the PSD range changes now and then, and its axis is regenerated)
        axes = {name: LeanAxis(name) for name in ("left", "bottom")}
        self.plot = graphics.addPlot(row=0, col=1, rowspan=3, axisItems=axes)
        style_plot(self.plot)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("bottom", "frequency (Hz)", color=theme.foreground.name())
        self.plot.setLabel("left", "PSD (ms²/Hz)", color=theme.foreground.name())
        self.plot.getAxis("left").setWidth(72)  # PSD reaches 6 digits
        self.plot.setXRange(0.0, SPECTRUM_MAX_HZ, padding=0)
        self.lf_fill = pg.PlotCurveItem(
            pen=pg.mkPen(None), brush=pg.mkBrush(theme.lf_fill), fillLevel=0.0
        )
        self.hf_fill = pg.PlotCurveItem(
            pen=pg.mkPen(None), brush=pg.mkBrush(theme.hf_fill), fillLevel=0.0
        )
        self.psd_curve = Curve(pen=pg.mkPen(theme.foreground, width=1.5))
        for item in (self.lf_fill, self.hf_fill, self.psd_curve):
            self.plot.addItem(item)
        self.lf_label = pg.TextItem("LF", color=theme.foreground, anchor=(0.5, 0))
        self.hf_label = pg.TextItem("HF", color=theme.foreground, anchor=(0.5, 0))
        for item in (self.lf_label, self.hf_label):
            self.plot.addItem(item, ignoreBounds=True)
        self.breathing_line = pg.InfiniteLine(
            pos=0.1,
            angle=90,
            movable=False,
            pen=pg.mkPen(theme.peak, width=2),
            label="",
            labelOpts={"position": 0.93, "color": theme.peak, "anchors": [(0, 0.5), (1, 0.5)]},
        )
        self.breathing_line.setToolTip("breathing rate: the respiratory peak of the spectrum")
        self.plot.addItem(self.breathing_line, ignoreBounds=True)
        self.message = pg.TextItem("", color=theme.foreground, anchor=(0.5, 0.5))
        self.plot.addItem(self.message, ignoreBounds=True)
        self._range = StableRange(min_span=100.0, step=100.0, floor=0.0)
        self._grid = Grid(self.plot, theme)
        self._title: str | None = None

    def show(self, spectrum: LiveSpectrum | None) -> None:
        """Draw ``spectrum`` (bands shaded, breathing peak marked); None shows why there is
        none yet."""
        plot = self.plot
        if spectrum is None:
            for curve in (self.psd_curve, self.lf_fill, self.hf_fill):
                curve.setData([], [])
            self.breathing_line.setVisible(False)
            self.lf_label.setVisible(False)
            self.hf_label.setVisible(False)
            self._range.reset()
            plot.setYRange(0.0, 1000.0, padding=0)
            self.message.setText("Spectrum\nafter 64 s\nwithout\na gap")
            self.message.setPos(0.5 * SPECTRUM_MAX_HZ, 500.0)
            self.message.setVisible(True)
            self._set_title("Spectrum")
            self._grid.update()
            return
        self.message.setVisible(False)
        freq = spectrum.freq_hz
        psd = spectrum.psd_ms2_hz
        shown = freq <= SPECTRUM_MAX_HZ + 1e-9
        self.psd_curve.setData(freq[shown], psd[shown])
        bands = ((self.lf_fill, spectrum.lf_band_hz), (self.hf_fill, spectrum.hf_band_hz))
        for curve, band in bands:
            fx, fy = _band_slice(freq, psd, band)
            curve.setData(fx, fy)
        peak_max = float(psd[shown].max()) if shown.any() else 0.0
        new = self._range.update(0.0, peak_max)
        if new is not None:
            plot.setYRange(new[0], new[1], padding=0)
        top = self._range.hi or peak_max
        self.lf_label.setPos(0.5 * sum(spectrum.lf_band_hz), top)
        self.hf_label.setPos(0.5 * sum(spectrum.hf_band_hz), top)
        self.lf_label.setVisible(True)
        self.hf_label.setVisible(True)
        peak = spectrum.breathing_peak_hz
        self.breathing_line.setVisible(peak is not None)
        if peak is not None:
            self.breathing_line.setValue(peak)
            self.breathing_line.label.setFormat(f"{60.0 * peak:.1f}/min")
        self._set_title(f"Spectrum, last {spectrum.duration_s:.0f} s")
        self._grid.update()

    def _set_title(self, text: str) -> None:
        # a new title re-lays out the whole graphics layout: only when the text changes
        if text != self._title:
            self._title = text
            self.plot.setTitle(text, color=self._theme.foreground.name(), size="9pt")


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

