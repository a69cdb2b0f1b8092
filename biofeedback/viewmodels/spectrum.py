"""The live spectrum: power spectral density of the recent NN intervals, without Qt.

Built with the live indices' own functions (:mod:`biofeedback.live.spectral`): the quadratic
spline resampling at 4 Hz and neurokit2's Welch settings, so the shaded HF band of the plot
integrates to the HF value the live indices show for the same window. The breathing peak is
picked with the rule shared by the live indices and the analysis
(:func:`biofeedback.core.breathing.pick_breathing_peak`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from biofeedback.core.breathing import pick_breathing_peak
from biofeedback.core.hrv_indices import HF_BAND_HZ, LF_BAND_HZ, live_window_s
from biofeedback.live import spectral

if TYPE_CHECKING:
    from biofeedback.live.processor import LiveProcessor
    from biofeedback.session.live_session import LiveSession

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "HF_BAND_HZ",
    "LF_BAND_HZ",
    "MIN_SPECTRUM_S",
    "LiveSpectrum",
    "current_segment",
    "live_spectrum",
    "session_spectrum",
]

MIN_SPECTRUM_S = live_window_s("breaths_per_min")
"""Shortest gap-free span shown as a spectrum, s: the breathing-rate window of the live
indices. Welch with neurokit2's settings starts at ``4 / duration`` Hz, 0.0625 Hz here, so the
whole HF band and most of LF are drawn."""


@dataclass(frozen=True, slots=True)
class LiveSpectrum:
    """Welch power spectral density of the newest gap-free NN intervals.

    Attributes
    ----------
    freq_hz : ndarray of float
        Frequencies, Hz (from neurokit2's minimum frequency ``4 / duration`` up to 2 Hz).
    psd_ms2_hz : ndarray of float
        One-sided power spectral density, ms^2/Hz.
    lf_band_hz, hf_band_hz : tuple of float
        Band edges, Hz.
    lf_ms2, hf_ms2 : float or None
        Band powers, ms^2 (None when the spectrum does not reach the band's lower edge).
    breathing_peak_hz : float or None
        Breathing (RSA) peak, Hz; None when no peak in 0.05-0.5 Hz.
    start_s, end_s : float
        Time span of the NN intervals used, s.
    n_beats : int
        NN intervals used.
    """

    freq_hz: FloatArray
    psd_ms2_hz: FloatArray
    lf_band_hz: tuple[float, float]
    hf_band_hz: tuple[float, float]
    lf_ms2: float | None
    hf_ms2: float | None
    breathing_peak_hz: float | None
    start_s: float
    end_s: float
    n_beats: int

    @property
    def breaths_per_min(self) -> float | None:
        """The breathing peak in breaths/min."""
        return None if self.breathing_peak_hz is None else 60.0 * self.breathing_peak_hz

    @property
    def duration_s(self) -> float:
        """Span of the NN intervals used, s."""
        return self.end_s - self.start_s


def live_spectrum(
    times_s: npt.ArrayLike,
    nn_ms: npt.ArrayLike,
    window_s: float = 120.0,
    *,
    min_duration_s: float = MIN_SPECTRUM_S,
    lf_band_hz: tuple[float, float] = LF_BAND_HZ,
    hf_band_hz: tuple[float, float] = HF_BAND_HZ,
) -> LiveSpectrum | None:
    """Welch PSD of the last ``window_s`` of one gap-free segment of NN intervals.

    Parameters
    ----------
    times_s : array of float
        Beat times (end of each interval), s, strictly increasing, one gap-free segment
        (e.g. from :func:`current_segment`).
    nn_ms : array of float
        Corrected NN intervals, ms.
    window_s : float
        Trailing window, s (default 120 s, the live HF window): intervals with beat time in
        ``(t_last - window_s, t_last]``.
    min_duration_s : float
        Shortest span, s, measured from the start of the segment's first interval, that gives
        a spectrum (default :data:`MIN_SPECTRUM_S`).
    lf_band_hz, hf_band_hz : tuple of float
        Band edges, Hz.

    Returns
    -------
    LiveSpectrum or None
        None when the segment spans less than ``min_duration_s`` or holds fewer than 4 beats.
    """
    t = np.asarray(times_s, dtype=np.float64)
    nn = np.asarray(nn_ms, dtype=np.float64)
    if t.size < 4 or t.size != nn.size:
        return None
    segment_start = float(t[0] - nn[0] / 1000.0)
    if float(t[-1]) - segment_start < min_duration_s - 1e-9:
        return None
    first = int(np.searchsorted(t, t[-1] - window_s, side="right"))
    tw = t[first:]
    nw = nn[first:]
    if tw.size < 4:
        return None
    resampled = spectral.resample_nn(tw, nw, spectral.INTERPOLATION_RATE_HZ)
    if resampled.size < 16:
        return None
    freq, psd = spectral.welch_psd(resampled, spectral.INTERPOLATION_RATE_HZ)
    peak_breaths_per_min = pick_breathing_peak(freq, psd)
    return LiveSpectrum(
        freq_hz=freq,
        psd_ms2_hz=psd,
        lf_band_hz=lf_band_hz,
        hf_band_hz=hf_band_hz,
        lf_ms2=spectral.band_power(freq, psd, *lf_band_hz),
        hf_ms2=spectral.band_power(freq, psd, *hf_band_hz),
        breathing_peak_hz=None if peak_breaths_per_min is None else peak_breaths_per_min / 60.0,
        start_s=float(tw[0] - nw[0] / 1000.0),
        end_s=float(tw[-1]),
        n_beats=int(tw.size),
    )


def session_spectrum(
    source: LiveSession | LiveProcessor, window_s: float | None = None
) -> LiveSpectrum | None:
    """The live spectrum of a session's (or processor's) current gap-free segment.

    Computed with the live indices' own settings (:class:`~biofeedback.live.indices.
    LiveHrvSettings`): their HF window (120 s by default), LF and HF bands and breathing
    window as the shortest span shown, so the shaded bands match the values shown. About
    2 ms, meant for a once-a-second refresh (see :func:`live_spectrum` for when it is None).

    Parameters
    ----------
    source : LiveSession or LiveProcessor
        A running session (its current processor) or a processor.
    window_s : float, optional
        Newest span used, s; default the live indices' ``hf_window_s``.
    """
    processor = _processor(source)
    settings = processor.hrv.settings
    return live_spectrum(
        *current_segment(processor),
        settings.hf_window_s if window_s is None else window_s,
        min_duration_s=settings.breathing_window_s,
        lf_band_hz=settings.lf_band_hz,
        hf_band_hz=settings.hf_band_hz,
    )


def current_segment(source: LiveSession | LiveProcessor) -> tuple[FloatArray, FloatArray]:
    """Beat times (s) and corrected NN intervals (ms) of the current gap-free segment.

    Parameters
    ----------
    source : LiveSession or LiveProcessor
        A running session (its current processor: a replay seek replaces it) or a processor.

    Returns
    -------
    times_s, nn_ms : ndarray of float
        Copies; the beats whose artifact class is final (the live indices' input), i.e. up
        to two beats behind the newest raw beat.
    """
    processor = _processor(source)
    return processor.hrv.segment_arrays()


def _processor(source: LiveSession | LiveProcessor) -> LiveProcessor:
    """A session's current processor (a replay seek replaces it), or the processor itself."""
    from biofeedback.live.processor import LiveProcessor

    return source if isinstance(source, LiveProcessor) else source.processor
