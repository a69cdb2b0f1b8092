"""R-peaks of a raw ECG channel and the RR intervals between them (neurokit2).

An imported ECG file holds no beats; the importer finds them here. The signal is cleaned with
``neurokit2.ecg_clean`` (the same method name where neurokit2 has a cleaning step of that
name, else its default ``"neurokit"`` filter: 0.5 Hz high-pass and 50 Hz powerline notch) and
its R-peaks are found with ``neurokit2.ecg_peaks`` without neurokit2's own artifact
correction (``correct_artifacts=False``): the raw intervals are kept and the artifact
detector classes them at import, as for every other source. neurokit2 is imported on first
use (about 3 s).
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
    import neurokit2 as nk

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
    clean_kwargs: dict[str, Any] = {
        "sampling_rate": fs, "method": method if method in CLEAN_METHODS else "neurokit",
    }
    kwargs: dict[str, Any] = {"sampling_rate": fs, "method": method,
                              "correct_artifacts": False}
    cleaned = nk.ecg_clean(signal, **clean_kwargs)
    _, info = nk.ecg_peaks(cleaned, **kwargs)
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    peaks = np.sort(peaks)
    times = channel.start_s + peaks / fs
    return EcgBeats(
        rr_ms=np.diff(peaks).astype(np.float64) * (1000.0 / fs),
        time_s=times[1:].astype(np.float64),
        peaks=peaks,
        method=method,
        kwargs=kwargs,
        neurokit_version=str(nk.__version__),
        clean_kwargs=clean_kwargs,
    )
