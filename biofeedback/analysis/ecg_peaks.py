"""R-peaks of a raw ECG channel and the RR intervals between them (neurokit2).

An imported ECG file holds no beats; the importer finds them here. The signal is cleaned with
``neurokit2.ecg_clean`` (the same method name where neurokit2 has a cleaning step of that
name, else its default ``"neurokit"`` filter: 0.5 Hz high-pass and 50 Hz powerline notch) and
its R-peaks are found with ``neurokit2.ecg_peaks`` without neurokit2's own artifact
correction (``correct_artifacts=False``): the raw intervals are kept and the artifact
detector classes them at import, as for every other source. neurokit2 is imported on first
use (about 3 s).

:func:`find_r_peaks` is that cleaning and detection step alone, shared with the chest strap's
ECG stream (:mod:`biofeedback.analysis.ecg_stream`), which also places each peak between
samples with :func:`refine_peaks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.channels import RawChannel

FloatArray = npt.NDArray[np.float64]

CLEAN_METHODS: frozenset[str] = frozenset({
    "neurokit", "biosppy", "pantompkins1985", "hamilton2002", "elgendi2010",
    "engzeemod2012", "vg",
})
"""``ecg_peaks`` methods that ``neurokit2.ecg_clean`` (0.2.13) has a cleaning step of the same
name for; other methods are cleaned with ``"neurokit"``."""


@dataclass
class EcgBeats:
    """R-peaks found in an ECG channel and the RR intervals they make.

    Attributes
    ----------
    rr_ms : ndarray of float
        Interval between successive peaks, ms; ``n_peaks - 1`` of them (the first peak starts
        the series).
    time_s : ndarray of float
        Session time of the peak ending each interval, s
        (``channel.start_s + peak / sampling_rate_hz``).
    peaks : ndarray of int64
        Sample index of every R-peak in the channel.
    method : str
        ``neurokit2.ecg_peaks`` method.
    kwargs : dict
        Every keyword argument passed to ``neurokit2.ecg_peaks``.
    neurokit_version : str
        ``neurokit2.__version__`` that found the peaks.
    clean_kwargs : dict
        Every keyword argument passed to ``neurokit2.ecg_clean`` before.
    """

    rr_ms: FloatArray
    time_s: FloatArray
    peaks: npt.NDArray[np.int64]
    method: str
    kwargs: dict[str, Any]
    neurokit_version: str
    clean_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_beats(self) -> int:
        """Number of RR intervals."""
        return int(self.rr_ms.size)


def rr_from_ecg(channel: RawChannel, *, method: str = "neurokit") -> EcgBeats:
    """R-peaks and RR intervals of an ECG channel.

    Parameters
    ----------
    channel : RawChannel
        ``kind == "ecg"``; its first column is read (any unit: peak detection is
        scale-free).
    method : str
        ``neurokit2.ecg_peaks`` method (neurokit2's default ``"neurokit"``).

    Returns
    -------
    EcgBeats
        Empty arrays when fewer than two peaks are found.

    Raises
    ------
    ValueError
        Not an ECG channel, no samples, a non-positive sampling rate or non-finite samples.
    """
    if channel.kind != "ecg":
        raise ValueError(f"channel {channel.name!r} is {channel.kind!r}, not an ECG")
    fs = float(channel.sampling_rate_hz)
    if not fs > 0:
        raise ValueError(f"sampling rate must be positive, got {fs} Hz")
    signal = np.asarray(channel.samples, dtype=np.float64)
    signal = signal[:, 0] if signal.ndim == 2 else signal.ravel()
    if signal.size == 0:
        raise ValueError(f"channel {channel.name!r} has no samples")
    if not np.all(np.isfinite(signal)):
        raise ValueError(f"channel {channel.name!r} holds non-finite samples")
    peaks, _, kwargs, clean_kwargs, version = find_r_peaks(signal, fs, method=method)
    times = channel.start_s + peaks / fs
    return EcgBeats(
        rr_ms=np.diff(peaks).astype(np.float64) * (1000.0 / fs),
        time_s=times[1:].astype(np.float64),
        peaks=peaks,
        method=method,
        kwargs=kwargs,
        neurokit_version=version,
        clean_kwargs=clean_kwargs,
    )


def find_r_peaks(
    signal: FloatArray, fs: float, *, method: str = "neurokit"
) -> tuple[npt.NDArray[np.int64], FloatArray, dict[str, Any], dict[str, Any], str]:
    """Clean one ECG channel and find its R-peaks (the one neurokit2 step of every ECG source).

    Parameters
    ----------
    signal : ndarray of float, shape (n,)
        Finite ECG samples, any unit.
    fs : float
        Sampling rate, Hz (positive).
    method : str
        ``neurokit2.ecg_peaks`` method.

    Returns
    -------
    peaks : ndarray of int64
        Sorted sample index of every R-peak.
    cleaned : ndarray of float
        The cleaned signal the peaks were found on (peaks are its local maxima).
    kwargs, clean_kwargs : dict
        Every keyword argument passed to ``ecg_peaks`` and to ``ecg_clean``.
    neurokit_version : str
        ``neurokit2.__version__``.
    """
    import neurokit2 as nk

    clean_kwargs: dict[str, Any] = {
        "sampling_rate": fs, "method": method if method in CLEAN_METHODS else "neurokit",
    }
    kwargs: dict[str, Any] = {"sampling_rate": fs, "method": method,
                              "correct_artifacts": False}
    cleaned = np.asarray(nk.ecg_clean(signal, **clean_kwargs), dtype=np.float64)
    _, info = nk.ecg_peaks(cleaned, **kwargs)
    peaks = np.sort(np.asarray(info["ECG_R_Peaks"], dtype=np.int64))
    return peaks, cleaned, kwargs, clean_kwargs, str(nk.__version__)


def refine_peaks(signal: FloatArray, peaks: npt.NDArray[np.int64]) -> FloatArray:
    """Sub-sample R-peak positions: the vertex of the parabola through the 3 samples around
    each peak.

    At 130 Hz a sample is 7.7 ms, so a whole-sample peak is up to 3.8 ms off the true R time;
    the parabola's vertex brings a sharp R wave within a fraction of a millisecond.

    Parameters
    ----------
    signal : ndarray of float, shape (n,)
        The signal the peaks were found on (the cleaned ECG: its peaks are local maxima).
    peaks : ndarray of int
        Sample index of each peak.

    Returns
    -------
    ndarray of float
        Fractional sample position of each peak, within half a sample of ``peaks``. A peak
        on the first or last sample, or where the 3 samples are not concave, stays where it is.
    """
    y = np.asarray(signal, dtype=np.float64)
    p = np.asarray(peaks, dtype=np.int64)
    position = p.astype(np.float64)
    inner = (p > 0) & (p < y.size - 1)
    q = p[inner]
    before, at, after = y[q - 1], y[q], y[q + 1]
    curvature = before - 2.0 * at + after
    concave = curvature < 0
    shift = np.zeros(q.size)
    shift[concave] = 0.5 * (before[concave] - after[concave]) / curvature[concave]
    position[inner] += np.clip(shift, -0.5, 0.5)
    return position
