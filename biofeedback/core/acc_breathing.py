"""Breathing rate from the chest accelerometer (Polar H10 ACC), beside the RR-based estimate.

The RR-based estimate (:mod:`biofeedback.core.breathing`) reads breathing off the RSA peak of
the RR spectrum, which is circular exactly when it matters: under stress RSA is weak, and in
slow breathing the RSA peak sits in LF beside Mayer waves. The strap's accelerometer moves
with the chest wall whatever the heart does, so this estimate is independent of the RR series.
A chest-worn tri-axial accelerometer follows the breathing as the chest wall tilts it (Bates
et al. 2010): a tilt of a degree moves about 17 mG onto an axis perpendicular to gravity.

Respiration signal (:func:`respiration_signal`)
    1. Movement: the x, y, z samples are high-passed (4th-order Butterworth, 1 Hz, zero-phase)
       and their vector norm's 1-s moving RMS is compared with ``max(MOVEMENT_FLOOR_MG,
       MOVEMENT_FACTOR x its 10th percentile)``; samples above it, widened by
       :data:`MOVEMENT_MARGIN_S` on each side (the filters' transients), are movement. Breathing
       itself (<= 0.7 Hz) is attenuated > 40 dB there, so even deep breaths are not movement.
    2. The axes are low-passed (2 Hz) and put on a uniform :data:`RESPIRATION_RATE_HZ` grid;
       movement and gaps between chunks are bridged by straight lines (so a burst's energy
       does not ring through the band-pass) and flagged invalid.
    3. Band-pass :data:`RESPIRATION_BAND_HZ` (0.05-0.7 Hz = 3-42 breaths/min; 2nd-order
       Butterworth run forwards and backwards, zero-phase, so extrema stay in place).
    4. The breathing axis is the first principal component of the three band-passed axes
       over the valid samples (the direction of most breathing power; posture decides which
       axis that is, so it is not fixed). Windows recompute it over their own samples, so a
       change of posture between windows does not matter.

Rate (:func:`breathing_windows`, :func:`breathing_in_span`)
    Breaths are COUNTED, with the "advanced counting" method of Schäfer & Kratky (2008):
    local maxima and minima of the respiration signal; pairs of neighbouring extrema whose
    vertical difference is below 0.3 x the third quartile of all such differences are
    removed (small ripples, not breaths; 0.3 is, as we read them, their factor for
    respiration signals, smaller for RSA); one breath is the interval between consecutive
    maxima, and between consecutive minima. The rate is ``60 x breaths / their total
    duration``, counting only breaths whose whole cycle is free of movement and gaps.
    Why counting and not the spectral peak: in a 60-s window the spectral resolution is
    1/60 Hz = 1 breath/min, the very tolerance asked for, and at 6/min the window holds six
    cycles only, so leakage from a rate change inside the window moves the peak by more than
    that; counting measures the mean rate over the cycles present with no bin at all, and is
    indifferent to a non-sinusoidal breath shape (harmonics). Schäfer & Kratky (2008)
    compared published estimators of breathing rate (from RSA, and applied to respiration
    signals for reference) and found their advanced counting the most accurate; Charlton et
    al. (2016) review both families. The spectral peak (Hann periodogram, zero-padded) is
    still computed, as a cross-check for the quality flag.

Quality (:attr:`AccBreathing.quality_ok`)
    True when at least :data:`MIN_VALID_FRACTION` of the span is free of movement and gaps,
    the median breath is at least :data:`MIN_BREATH_MG` deep, at least :data:`MIN_BREATHS`
    whole breaths were counted, the breaths are regular (the
    coefficient of variation of their durations is at most :data:`MAX_CYCLE_CV`, the rates of
    the two halves differ by at most :data:`MAX_HALF_CHANGE` of the rate) and the
    counted rate agrees with the spectral peak within :data:`AGREEMENT_PER_MIN` or 15 %.
    Otherwise ``note`` says why; ``breaths_per_min`` is still given when breaths were counted.

Use for ``hf_valid`` and the breathing-confound check (wired in: analysis.phases step 8)
    :attr:`AccBreathing.breaths_per_min` has the same meaning and unit as the RR-based
    ``PhaseResult.breaths_per_min`` (breaths/min over the span, None when not measurable).
    When a phase has ACC, ``biofeedback.analysis.phases._frequency_domain`` will take the
    ACC rate of :func:`breathing_in_span` over the phase's span in place of
    ``breathing_rate(spectra, ...)`` when ``quality_ok`` is true (the RR-based rate stays
    beside it, and a note says which one decided ``hf_valid``); the 9-24/min test is then
    unchanged. The per-participant rates fed to :func:`biofeedback.stats.breathing_confound`
    come from the same per-phase rows, so the confound check uses the ACC rate wherever it
    decided ``hf_valid``; the methods paragraph names the source.

References
----------
Bates, A., Ling, M. J., Mann, J., & Arvind, D. K. (2010). Respiratory rate and flow waveform
estimation from tri-axial accelerometer data. International Conference on Body Sensor
Networks, 144-150.
Charlton, P. H., Bonnici, T., Tarassenko, L., Clifton, D. A., Beale, R., & Watkinson, P. J.
(2016). An assessment of algorithms to estimate respiratory rate from the electrocardiogram
and photoplethysmogram. Physiological Measurement, 37(4), 610-626.
Schäfer, A., & Kratky, K. W. (2008). Estimation of breathing rate from respiratory sinus
arrhythmia: comparison of various methods. Annals of Biomedical Engineering, 36(3), 476-485.
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from biofeedback.core.signals import SignalChunk

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "AccBreathing",
    "RespirationSignal",
    "breathing_in_span",
    "breathing_windows",
    "respiration_from_chunks",
    "respiration_signal",
]

RESPIRATION_BAND_HZ = (0.05, 0.7)
"""Pass band of the respiration signal, Hz: 3-42 breaths/min, slow paced to fast shallow."""
RESPIRATION_RATE_HZ = 10.0
"""Rate of the respiration signal, Hz (14 x its upper band edge)."""
MOVEMENT_HIGHPASS_HZ = 1.0
"""Movement is energy above this, Hz (breathing and its harmonics lie below)."""
MOVEMENT_FLOOR_MG = 15.0
"""Least 1-s RMS of the high-passed ACC norm that counts as movement, mG. A still H10 shows a
few mG of noise; walking and posture changes show hundreds."""
MOVEMENT_FACTOR = 4.0
"""Movement is also anything this many times the run's still level (the 10th percentile of
its high-frequency RMS)."""
MOVEMENT_MARGIN_S = 1.0
"""Movement is widened by this on each side, s (the filters' transients)."""
MIN_VALID_FRACTION = 0.5
"""A span is reliable only when at least this share is free of movement and gaps."""
MIN_COVERED_S = 20.0
"""A span is counted only when it holds at least this much movement-free ACC, s. Our choice:
20 s holds two breaths at 6/min (:data:`MIN_BREATHS`); on a few seconds the band-pass
filter's start-up ripples passed for fast breaths."""
MIN_BREATHS = 2
"""A span is reliable only when at least this many whole breaths were counted."""
MAX_CYCLE_CV = 0.35
"""A span is reliable only when its breath durations vary by at most this CV."""
MIN_BREATH_MG = 4.0
"""A span is reliable only when its median breath (peak to trough of the respiration signal)
is at least this, mG. Our heuristic: the virtual strap's 3-mG noise alone gives 0.7-2 mG at
25-200 Hz, its breathing 20-50 mG; 4 mG is a chest tilt of about 0.25 degrees."""
MAX_HALF_CHANGE = 0.25
"""A span is reliable only when the rates of its two halves differ by at most this fraction
of the whole span's rate (a span across a change of breathing has no one rate)."""
AGREEMENT_PER_MIN = 1.5
"""Counted and spectral rates must agree within this (or 15 %) for a reliable span."""
RIPPLE_NEIGHBOURHOOD_S = 15.0
"""The ripple threshold is taken over this much signal on each side of a pair, s (our
choice: a phase change of breathing depth within a window must not hide the shallow part)."""
_EXTREMA_THRESHOLD = 0.3
"""Schäfer & Kratky (2008): extremum pairs below 0.3 x Q3 of the differences are ripples."""


@dataclass(frozen=True, slots=True, eq=False)
class RespirationSignal:
    """The respiration signal of a stretch of chest ACC, on a uniform grid.

    Attributes
    ----------
    times_s : ndarray of float
        Session time of every sample, s (uniform, :attr:`rate_hz`).
    rate_hz : float
        Sampling rate, Hz.
    axes_mg : ndarray of float, shape (n, 3)
        The band-passed x, y, z, mG (movement and gaps bridged by straight lines).
    trace : ndarray of float
        The first principal component of ``axes_mg`` over the valid samples, mG
        (sign: positive on the axis that loads most), for display.
    valid : ndarray of bool
        False during movement and gaps.
    weights : ndarray of float, shape (3,)
        Unit vector of the first principal component over x, y, z.
    """

    times_s: FloatArray
    rate_hz: float
    axes_mg: FloatArray
    trace: FloatArray
    valid: BoolArray
    weights: FloatArray

    @property
    def movement_fraction(self) -> float:
        """Share of samples that are movement or gaps."""
        return float(1.0 - self.valid.mean()) if self.valid.size else 0.0


@dataclass(frozen=True, slots=True)
class AccBreathing:
    """Breathing rate of one span (window or phase) from the chest ACC.

    Attributes
    ----------
    start_s, end_s : float
        The span, session s.
    breaths_per_min : float or None
        Counted rate, breaths/min (as the RR-based ``breaths_per_min``); None when no whole
        breath free of movement lies in the span.
    spectral_breaths_per_min : float or None
        Spectral peak of the valid part, breaths/min (the cross-check).
    n_breaths : float
        Whole breaths counted: maximum-to-maximum and minimum-to-minimum cycles pooled, halved
        (so it can end in .5).
    valid_fraction : float
        Share of the span free of movement and gaps.
    quality_ok : bool
        Whether the rate is reliable (see the module docstring).
    note : str or None
        Why it is not reliable; None when it is.
    """

    start_s: float
    end_s: float
    breaths_per_min: float | None
    spectral_breaths_per_min: float | None
    n_breaths: float
    valid_fraction: float
    quality_ok: bool
    note: str | None

    def to_dict(self) -> dict[str, str | float | bool | None]:
        """Return every field as a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__slots__}


IMPORT_SWITCH_INTERVAL_S = 0.0002
"""CPython's GIL switch interval while ``scipy.signal`` is imported in the background, s
(its default is 5 ms; the window's audio sets 1 ms). The import is ~1-2 s of Python that
never waits, and the GUI thread gives the GIL up at nearly every Qt call it makes (a paint
calls back into Python for every item): each time, it waited up to a whole interval to get
it back. A GUI turn with 13 ms of its own CPU took 2 s so, and the pacer stalled; with a
CPU-bound thread spinning through 3 s of the window's 2-h case, the longest pacer interval
was 342 ms (20 frames dropped in a row) at 5 ms and 66 ms at 0.2 ms
(``benchmarks/pacer_frames.py --log-turns-ms``). Set back when the import is done."""

_filters_import: threading.Thread | None = None


def import_filters_in_background() -> None:
    """Start importing ``scipy.signal`` in a daemon thread, once.

    A caller on the GUI thread (the window's respiration trace) would otherwise stall ~1-4 s
    at its first filter, the pacer's frames with it; see :func:`filters_ready`. While the
    import runs, the GIL switch interval is :data:`IMPORT_SWITCH_INTERVAL_S` (if it was
    longer), so that the GUI thread gets the GIL back at once between its Qt calls.
    """
    global _filters_import
    if _filters_import is None and "scipy.signal" not in sys.modules:
        before = sys.getswitchinterval()
        if before > IMPORT_SWITCH_INTERVAL_S:
            sys.setswitchinterval(IMPORT_SWITCH_INTERVAL_S)
        _filters_import = threading.Thread(
            target=_import_then_restore, args=(before, sys.getswitchinterval()),
            name="scipy.signal import", daemon=True,
        )
        _filters_import.start()


def _import_then_restore(before_s: float, during_s: float) -> None:
    """The background import; then the switch interval goes back from ``during_s`` to
    ``before_s``, s, unless someone else changed it meanwhile."""
    try:
        _scipy_signal()
    finally:
        if sys.getswitchinterval() == during_s:
            sys.setswitchinterval(before_s)


def filters_ready() -> bool:
    """True when a filter will not wait for ``scipy.signal``'s import (it is complete)."""
    if _filters_import is not None:
        return not _filters_import.is_alive()
    # In sys.modules from the start of its import: only a finished import is ready.
    module = sys.modules.get("scipy.signal")
    return module is not None and hasattr(module, "sosfiltfilt")


def _scipy_signal() -> ModuleType:
    """``scipy.signal``, imported at the first filter: it costs the window's process ~77 MB
    and ~1 s, and a session without ACC never filters (the view-models import this module)."""
    from scipy import signal

    return signal


@functools.lru_cache(maxsize=32)
def _butter_sos(
    order: int, cutoff_hz: float | tuple[float, float], btype: str, fs_hz: float
) -> FloatArray:
    """Butterworth second-order sections, designed once per set of arguments (the design
    was 40 % of the window's once-a-second respiration trace; the filtering is the rest)."""
    # Shared by every caller, none writes to it (scipy's filters need it writeable).
    return np.asarray(_scipy_signal().butter(order, cutoff_hz, btype=btype, fs=fs_hz, output="sos"),
                      dtype=np.float64)


def _convolve_same(x: FloatArray, kernel: FloatArray) -> FloatArray:
    """``np.convolve(x, kernel, "same")``, also as long as ``x`` when the kernel is longer
    (numpy's is then as long as the kernel: a run of ACC shorter than a second between two
    gaps broke the movement mask)."""
    start = (kernel.size - 1) // 2
    return np.convolve(x, kernel, mode="full")[start : start + x.size]


def _moving_rms(x: FloatArray, n: int) -> FloatArray:
    kernel = np.ones(max(1, n)) / max(1, n)
    return np.sqrt(_convolve_same(x * x, kernel))


def _widen(mask: BoolArray, n: int) -> BoolArray:
    if n <= 0 or not mask.any():
        return mask
    return _convolve_same(mask.astype(float), np.ones(2 * n + 1)) > 0.5


def movement_mask(samples_mg: FloatArray, rate_hz: float) -> BoolArray:
    """Which ACC samples are movement (see the module docstring, step 1).

    Parameters
    ----------
    samples_mg : ndarray of float, shape (n, 3)
        x, y, z, mG, uniformly sampled.
    rate_hz : float
        Their sampling rate, Hz (at least 5 Hz).

    Returns
    -------
    ndarray of bool
        True for movement.
    """
    n = samples_mg.shape[0]
    if n < 16:
        return np.zeros(n, dtype=bool)
    sos = _butter_sos(4, MOVEMENT_HIGHPASS_HZ, "highpass", rate_hz)
    high = _scipy_signal().sosfiltfilt(sos, samples_mg, axis=0)
    rms = _moving_rms(np.linalg.norm(high, axis=1), round(rate_hz))
    # The 10th percentile is the still level even when most of the recording moves.
    threshold = max(MOVEMENT_FLOOR_MG, MOVEMENT_FACTOR * float(np.percentile(rms, 10)))
    return _widen(rms > threshold, round(MOVEMENT_MARGIN_S * rate_hz))


def _bridge(values: FloatArray, bad: BoolArray) -> FloatArray:
    """Replace the ``bad`` rows by straight lines between the good ones (per column)."""
    if not bad.any() or bad.all():
        return values
    idx = np.arange(values.shape[0])
    out = values.copy()
    for c in range(values.shape[1]):
        out[bad, c] = np.interp(idx[bad], idx[~bad], values[~bad, c])
    return out


def _first_component(axes: FloatArray, valid: BoolArray) -> tuple[FloatArray, FloatArray]:
    """Unit vector of the first principal component and the projection on it."""
    use = axes[valid] if valid.sum() >= 3 else axes
    if use.shape[0] < 3:
        return np.array([0.0, 0.0, 1.0]), axes[:, 2].copy()
    centred = use - use.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    w = vectors[:, -1]
    w = w if w[np.argmax(np.abs(w))] >= 0 else -w
    return w, axes @ w


def respiration_signal(
    times_s: npt.ArrayLike, samples_mg: npt.ArrayLike, *, max_gap_s: float | None = None
) -> RespirationSignal:
    """The respiration signal of chest accelerometer samples.

    Parameters
    ----------
    times_s : array-like of float, shape (n,)
        Session time of every sample, s, increasing (gaps allowed).
    samples_mg : array-like, shape (n, 3)
        x, y, z, mG (Polar H10 ACC at 25-200 Hz).
    max_gap_s : float, optional
        A step between samples longer than this is a gap (flagged invalid); default 3 x the
        median step.

    Returns
    -------
    RespirationSignal
        On a :data:`RESPIRATION_RATE_HZ` grid from the first to the last sample.

    Raises
    ------
    ValueError
        If the shapes do not match, the times do not increase, there are fewer than 2
        samples or the sampling rate is below 5 Hz.
    """
    t = np.asarray(times_s, dtype=np.float64)
    x = np.asarray(samples_mg, dtype=np.float64)
    if t.ndim != 1 or x.ndim != 2 or x.shape != (t.size, 3):
        raise ValueError(
            f"ACC samples must have shape (n, 3) for n times, got {x.shape} for {t.shape} times"
        )
    if t.size < 2:
        raise ValueError(f"ACC needs at least 2 samples, got {t.size}")
    steps = np.diff(t)
    if not (steps > 0).all():
        k = int(np.argmin(steps > 0))
        raise ValueError(f"ACC sample times must increase: sample {k + 1} at {t[k + 1]} s "
                         f"follows {t[k]} s")
    step = float(np.median(steps))
    rate = 1.0 / step
    if rate < 5.0:
        raise ValueError(f"ACC sampling rate {rate:.2f} Hz is below 5 Hz")
    gap_s = 3.0 * step if max_gap_s is None else max_gap_s
    # Movement within each gap-free run, on its own samples.
    moving = np.zeros(t.size, dtype=bool)
    breaks = np.flatnonzero(steps > gap_s) + 1
    runs = np.split(np.arange(t.size), breaks)
    lowpassed = np.empty_like(x)
    for run in runs:
        moving[run] = movement_mask(x[run], rate)
        if run.size > 27:  # sosfiltfilt's default padding of a 4th-order filter
            sos = _butter_sos(4, min(2.0, 0.4 * rate), "lowpass", rate)
            lowpassed[run] = _scipy_signal().sosfiltfilt(sos, x[run], axis=0)
        else:
            lowpassed[run] = x[run]
    grid = np.arange(t[0], t[-1] + 0.5 / RESPIRATION_RATE_HZ, 1.0 / RESPIRATION_RATE_HZ)
    # A grid point is valid when its nearest samples on both sides are still, and close.
    right = np.clip(np.searchsorted(t, grid), 1, t.size - 1)
    left = right - 1
    valid = ~moving[left] & ~moving[right] & (t[right] - t[left] <= gap_s)
    on_grid = np.column_stack([np.interp(grid, t, lowpassed[:, c]) for c in range(3)])
    on_grid = _bridge(on_grid, ~valid)
    if grid.size > 12:
        sos = _butter_sos(2, RESPIRATION_BAND_HZ, "bandpass", RESPIRATION_RATE_HZ)
        axes = _scipy_signal().sosfiltfilt(sos, on_grid, axis=0)
    else:
        axes = on_grid - on_grid.mean(axis=0)
    weights, trace = _first_component(axes, valid)
    return RespirationSignal(grid, RESPIRATION_RATE_HZ, axes, trace, valid, weights)


def respiration_from_chunks(chunks: Sequence[SignalChunk]) -> RespirationSignal:
    """:func:`respiration_signal` of consecutive ACC :class:`SignalChunk` s.

    Parameters
    ----------
    chunks : sequence of SignalChunk
        ``"acc"`` chunks in time order (mG); lost samples between chunks become a gap.

    Returns
    -------
    RespirationSignal

    Raises
    ------
    ValueError
        If there is no chunk, or a chunk is not ACC in mG with 3 channels (naming its index
        and field).
    """
    if not chunks:
        raise ValueError("no ACC chunk given")
    for k, chunk in enumerate(chunks):
        if chunk.stream != "acc":
            raise ValueError(f"chunk {k}: stream is {chunk.stream!r}, expected 'acc'")
        if chunk.unit != "mG":
            raise ValueError(f"chunk {k}: unit is {chunk.unit!r}, expected 'mG'")
        if chunk.samples.ndim != 2 or chunk.samples.shape[1] != 3:
            raise ValueError(f"chunk {k}: samples have shape {chunk.samples.shape}, "
                             "expected (n, 3)")
    times = np.concatenate([c.times_s() for c in chunks])
    samples = np.concatenate([c.samples for c in chunks]).astype(np.float64)
    return respiration_signal(times, samples)


def _extrema(y: FloatArray, half_width: int) -> tuple[npt.NDArray[np.intp], BoolArray]:
    """Alternating maxima and minima of ``y`` after removing small ripples (Schäfer & Kratky
    2008, advanced counting; the threshold taken over ``half_width`` samples on each side):
    indices and whether each is a maximum."""
    d = np.diff(y)
    sign = np.sign(d)
    # Plateaus take the sign of what follows, so each turn is found once.
    for k in range(sign.size - 2, -1, -1):
        if sign[k] == 0:
            sign[k] = sign[k + 1]
    turns = np.flatnonzero(sign[1:] != sign[:-1]) + 1
    turns = turns[sign[turns - 1] != 0]
    is_max = sign[turns - 1] > 0
    idx, kind = list(turns), list(is_max)
    if len(idx) < 3:
        return np.asarray(idx, dtype=np.intp), np.asarray(kind, dtype=bool)
    # The ripple threshold around each sample: 0.3 x Q3 of the differences nearby, so a
    # stretch of shallow breaths beside deep ones is not taken for ripples.
    first = np.asarray(idx)
    middles = (first[1:] + first[:-1]) / 2.0
    spread = np.abs(np.diff(y[first]))
    lo = np.searchsorted(middles, np.arange(y.size) - half_width)
    hi = np.searchsorted(middles, np.arange(y.size) + half_width)
    step = max(1, half_width // 10)
    knots = np.arange(0, y.size, step)
    local = np.array([np.percentile(spread[lo[i]:max(hi[i], lo[i] + 1)], 75) if lo[i] < spread.size
                      else spread[-1] for i in knots])
    threshold = _EXTREMA_THRESHOLD * np.interp(np.arange(y.size), knots, local)
    while len(idx) >= 2:
        at = np.asarray(idx)
        diffs = np.abs(np.diff(y[at]))
        ratio = diffs / np.maximum(threshold[(at[1:] + at[:-1]) // 2], 1e-12)
        k = int(np.argmin(ratio))
        if ratio[k] >= 1.0:
            break
        del idx[k : k + 2]
        del kind[k : k + 2]
        # Removing a pair can leave two maxima (or minima) side by side: keep the more
        # extreme one.
        j = max(0, k - 1)
        while j + 1 < len(idx):
            if kind[j] == kind[j + 1]:
                worse = j if (y[idx[j]] < y[idx[j + 1]]) == kind[j] else j + 1
                del idx[worse]
                del kind[worse]
            else:
                j += 1
                if j > k + 1:
                    break
    return np.asarray(idx, dtype=np.intp), np.asarray(kind, dtype=bool)


def _spectral_rate(y: FloatArray, rate_hz: float) -> float | None:
    if y.size < 16:
        return None
    n_fft = max(4096, 1 << (y.size - 1).bit_length())
    freq, power = _scipy_signal().periodogram(y - y.mean(), fs=rate_hz, window="hann", nfft=n_fft)
    band = (freq >= RESPIRATION_BAND_HZ[0]) & (freq <= RESPIRATION_BAND_HZ[1])
    if not band.any() or power[band].max() <= 0:
        return None
    k = int(np.flatnonzero(band)[np.argmax(power[band])])
    return 60.0 * float(freq[k])


def breathing_in_span(resp: RespirationSignal, start_s: float, end_s: float) -> AccBreathing:
    """Breathing rate over ``[start_s, end_s)`` by advanced counting, with its quality.

    Parameters
    ----------
    resp : RespirationSignal
        From :func:`respiration_signal` or :func:`respiration_from_chunks`.
    start_s, end_s : float
        The span, session s (a 60-s window, or a whole phase).

    Returns
    -------
    AccBreathing
        The counted rate (breaths/min), the spectral cross-check and the quality flag.
    """
    inside = (resp.times_s >= start_s) & (resp.times_s < end_s)
    axes, valid = resp.axes_mg[inside], resp.valid[inside]
    span = max(end_s - start_s, 0.0)
    covered = float(valid.sum()) / resp.rate_hz
    fraction = min(1.0, covered / span) if span > 0 else 0.0
    if valid.sum() < 3 * resp.rate_hz:
        return AccBreathing(start_s, end_s, None, None, 0, fraction, False,
                            "no movement-free ACC in the span")
    if covered < MIN_COVERED_S:
        return AccBreathing(start_s, end_s, None, None, 0, fraction, False,
                            f"only {covered:.0f} s of movement-free ACC "
                            f"({MIN_COVERED_S:.0f} s needed)")
    _, y = _first_component(axes, valid)
    idx, is_max = _extrema(y, round(RIPPLE_NEIGHBOURHOOD_S * resp.rate_hz))
    # A gap or movement sample between two extrema breaks the cycles across it.
    bad_before = np.concatenate(([0], np.cumsum(~valid)))
    durations: list[float] = []
    centres: list[float] = []
    for kind in (True, False):
        same = idx[is_max == kind]
        for a, b in itertools.pairwise(same):
            if bad_before[b + 1] == bad_before[a]:
                durations.append((b - a) / resp.rate_hz)
                centres.append((a + b) / 2.0)
    cycles = np.asarray(durations)
    early = np.asarray(centres) < y.size / 2.0
    halves = [60.0 * part.size / float(part.sum()) for part in (cycles[early], cycles[~early])
              if part.size]
    depth = float(np.median(np.abs(np.diff(y[idx])))) if idx.size > 1 else 0.0
    n_breaths = cycles.size / 2.0
    rate = 60.0 * cycles.size / float(cycles.sum()) if cycles.size else None
    # On the bridged signal: cutting movement out would join cycles out of phase.
    spectral = _spectral_rate(y, resp.rate_hz)
    note = None
    if fraction < MIN_VALID_FRACTION:
        note = f"only {100 * fraction:.0f} % of the span is free of movement"
    elif depth < MIN_BREATH_MG:
        note = f"breaths too shallow to tell from noise ({depth:.1f} mG peak to trough)"
    elif n_breaths < MIN_BREATHS or rate is None:
        note = f"only {n_breaths:g} whole breaths free of movement"
    elif len(halves) == 2 and abs(halves[0] - halves[1]) > MAX_HALF_CHANGE * rate:
        note = (f"the rate changed within the span ({halves[0]:.1f}/min in its first half, "
                f"{halves[1]:.1f}/min in its second)")
    elif float(cycles.std() / cycles.mean()) > MAX_CYCLE_CV:
        note = f"irregular breaths (CV of their durations {cycles.std() / cycles.mean():.2f})"
    elif spectral is None or abs(spectral - rate) > max(AGREEMENT_PER_MIN, 0.15 * rate):
        note = (f"counted {rate:.1f}/min and spectral peak "
                f"{'none' if spectral is None else f'{spectral:.1f}/min'} disagree")
    return AccBreathing(start_s, end_s, rate, spectral, n_breaths, fraction, note is None, note)


def breathing_windows(
    resp: RespirationSignal, window_s: float = 60.0, step_s: float = 10.0
) -> list[AccBreathing]:
    """Breathing rate in sliding windows over the whole signal.

    Parameters
    ----------
    resp : RespirationSignal
        The respiration signal.
    window_s : float, default 60
        Window length, s (the usual length of an ultra-short HRV window).
    step_s : float, default 10
        Step between window starts, s.

    Returns
    -------
    list of AccBreathing
        One per whole window, in time order (empty when the signal is shorter than one).

    Raises
    ------
    ValueError
        If ``window_s`` or ``step_s`` is not positive and finite.
    """
    for name, value in (("window_s", window_s), ("step_s", step_s)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    if resp.times_s.size == 0:
        return []
    first, last = float(resp.times_s[0]), float(resp.times_s[-1]) + 1.0 / resp.rate_hz
    n = math.floor((last - first - window_s) / step_s + 1e-9) + 1
    return [breathing_in_span(resp, first + k * step_s, first + k * step_s + window_s)
            for k in range(max(0, n))]
