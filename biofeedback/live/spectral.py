"""Spectral HRV on a resampled NN series, in pure numpy, matching neurokit2 0.2.13.

Everything here works on one gap-free window of corrected NN intervals and their beat
times. It is called on a fixed session-time cadence (not per beat) by
:class:`biofeedback.live.indices.LiveHrv`.

Band power (HF, LF) reproduces ``nk.hrv_frequency(..., interpolation_rate=4,
normalize=False, psd_method="welch")`` step by step (neurokit2 0.2.13 source:
``hrv/intervals_process.py``, ``signal/signal_interpolate.py``, ``signal/signal_psd.py``,
``signal/signal_power.py``):

1. Resampling: grid ``np.arange(t0, t_last + 1/fs, 1/fs)`` with ``fs = 4 Hz`` from the first
   beat time of the window; quadratic interpolating spline (scipy ``interp1d(kind=
   "quadratic")`` = ``make_interp_spline(k=2)``: B-spline knots at the midpoints between
   beat times, the second and second-to-last omitted), values beyond the last beat held
   constant. No detrending (neurokit2's default ``detrend=None``).
2. Constant detrend: the mean of the whole resampled window is removed.
3. Welch: ``nperseg = N / 2`` samples (neurokit2's default minimum frequency
   ``2 fs / (N / 2)`` asks for two cycles), ``nfft = 2 nperseg``, periodic Hann window, 50 %
   overlap, no per-segment detrending, one-sided density scaling (ms^2/Hz).
4. Band power: trapezoid integral of the density over the bins with ``lo <= f < hi``
   (bins below the default minimum frequency dropped first), in ms^2.

On identical input the result equals neurokit2's to floating-point rounding.

Breathing rate and coherence use the same resampled series and are our own definitions
(documented in :func:`breathing_rate` and :func:`coherence`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CoherenceResult",
    "band_power",
    "breathing_rate",
    "breathing_rate_from",
    "coherence",
    "coherence_from",
    "periodogram",
    "resample_nn",
    "welch_psd",
]

INTERPOLATION_RATE_HZ = 4.0
"""Resampling rate, Hz (Kubios default; neurokit2 ``interpolation_rate=4``)."""


def _quadratic_basis(
    knots: FloatArray, x: FloatArray, n_coef: int
) -> tuple[npt.NDArray[np.intp], FloatArray, FloatArray, FloatArray]:
    """Nonzero degree-2 B-spline basis values at ``x``.

    Returns the index ``j`` of the first nonzero basis function (``B_j, B_{j+1}, B_{j+2}``)
    and the three values.
    """
    # knot interval l with knots[l] <= x < knots[l+1], restricted to the spline's base interval
    lo = 2
    hi = n_coef  # knots has n_coef + 3 entries; base interval [knots[2], knots[n_coef]]
    ell = np.searchsorted(knots, x, side="right") - 1
    np.clip(ell, lo, hi - 1, out=ell)
    t_lm1 = knots[ell - 1]
    t_l = knots[ell]
    t_lp1 = knots[ell + 1]
    t_lp2 = knots[ell + 2]
    h = t_lp1 - t_l
    n1_a = (t_lp1 - x) / h  # N_{l-1,1}
    n1_b = (x - t_l) / h  # N_{l,1}
    w_a = t_lp1 - t_lm1
    w_b = t_lp2 - t_l
    b0 = (t_lp1 - x) / w_a * n1_a
    b1 = (x - t_lm1) / w_a * n1_a + (t_lp2 - x) / w_b * n1_b
    b2 = (x - t_l) / w_b * n1_b
    return ell - 2, b0, b1, b2


def resample_nn(
    time_s: FloatArray, nn_ms: FloatArray, rate_hz: float = INTERPOLATION_RATE_HZ
) -> FloatArray:
    """Resample NN intervals on a uniform grid, as neurokit2 ``intervals_process`` does.

    Parameters
    ----------
    time_s : ndarray of float
        Beat times (end of each interval), s, strictly increasing, one gap-free window.
    nn_ms : ndarray of float
        Corrected NN intervals, ms.
    rate_hz : float
        Output sampling rate, Hz (default 4).

    Returns
    -------
    ndarray of float
        NN, ms, at ``np.arange(time_s[0], time_s[-1] + 1/rate_hz, 1/rate_hz)``; a quadratic
        interpolating spline (scipy ``interp1d(kind="quadratic")``), held constant past the
        last beat. Fewer than 3 beats: linear interpolation.
    """
    x = np.asarray(time_s, dtype=np.float64)
    y = np.asarray(nn_ms, dtype=np.float64)
    grid = np.arange(start=x[0], stop=x[-1] + 1 / rate_hz, step=1 / rate_hz)
    n = x.size
    if n < 3:
        return np.interp(grid, x, y)
    mids = 0.5 * (x[1:] + x[:-1])
    knots = np.empty(n + 3)
    knots[:3] = x[0]
    knots[3:n] = mids[1:-1]
    knots[n:] = x[-1]
    # collocation matrix is tridiagonal: row 0 is (1, 0, ...), row n-1 is (..., 0, 1), and
    # middle row i holds B_{i-1}, B_i, B_{i+1} at x_i
    _, b0, b1, b2 = _quadratic_basis(knots, x[1:-1], n)
    sub = [0.0, *b0.tolist(), 0.0]
    dia = [1.0, *b1.tolist(), 1.0]
    sup = [0.0, *b2.tolist(), 0.0]
    coef = _solve_tridiagonal(sub, dia, sup, y.tolist())
    last = int(np.searchsorted(grid, x[-1], side="right"))
    out = np.empty(grid.size)
    jj, g0, g1, g2 = _quadratic_basis(knots, grid[:last], n)
    out[:last] = g0 * coef[jj] + g1 * coef[jj + 1] + g2 * coef[jj + 2]
    out[last:] = y[-1]
    return out


def _solve_tridiagonal(
    a: list[float], b: list[float], c: list[float], d: list[float]
) -> FloatArray:
    """Thomas algorithm (``a`` sub-, ``b`` main, ``c`` super-diagonal; row-aligned)."""
    cps: list[float] = []
    dps: list[float] = []
    cp = 0.0
    dp = 0.0
    for ai, bi, ci, di in zip(a, b, c, d, strict=True):
        den = bi - ai * cp
        cp = ci / den
        dp = (di - ai * dp) / den
        cps.append(cp)
        dps.append(dp)
    xs = [0.0] * len(b)
    v = 0.0
    for i in range(len(b) - 1, -1, -1):
        v = dps[i] - cps[i] * v
        xs[i] = v
    return np.asarray(xs)


_WELCH_CACHE: dict[tuple[int, int], tuple[FloatArray, npt.NDArray[np.intp], float]] = {}


def welch_psd(signal: FloatArray, rate_hz: float) -> tuple[FloatArray, FloatArray]:
    """Welch density as neurokit2 ``signal_psd(method="welch")`` computes it by default.

    Parameters
    ----------
    signal : ndarray of float
        Uniformly sampled series (ms).
    rate_hz : float
        Its sampling rate, Hz.

    Returns
    -------
    freq : ndarray of float
        Frequencies, Hz, at or above neurokit2's default minimum frequency ``2 fs / (N / 2)``.
    psd : ndarray of float
        One-sided power spectral density, ms^2/Hz.
    """
    sig = signal - np.mean(signal)
    n = sig.size
    # neurokit2: min_frequency = (2 * sampling_rate) / (N / 2); nperseg = int(2 / fmin * fs)
    min_frequency = (2 * rate_hz) / (n / 2)
    nperseg = int((2 / min_frequency) * rate_hz)
    if nperseg > n / 2:
        nperseg = int(n / 2)
    nfft = int(nperseg * 2)
    cached = _WELCH_CACHE.get((n, nperseg))
    if cached is None:
        noverlap = nperseg // 2
        step = nperseg - noverlap
        n_seg = (n - noverlap) // step
        win = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)  # periodic Hann
        idx = np.arange(n_seg)[:, None] * step + np.arange(nperseg)[None, :]
        cached = (win, idx, float(np.sum(win * win)))
        if len(_WELCH_CACHE) > 64:
            _WELCH_CACHE.clear()
        _WELCH_CACHE[(n, nperseg)] = cached
    win, idx, win_ss = cached
    spec = np.fft.rfft(sig[idx] * win, n=nfft, axis=1)
    psd = (spec.real**2 + spec.imag**2).mean(axis=0) / (rate_hz * win_ss)
    if nfft % 2 == 0:
        psd[1:-1] *= 2.0
    else:
        psd[1:] *= 2.0
    freq = np.fft.rfftfreq(nfft, 1.0 / rate_hz)
    keep = freq >= min_frequency
    return freq[keep], psd[keep]


def band_power(freq: FloatArray, psd: FloatArray, lo_hz: float, hi_hz: float) -> float | None:
    """Trapezoid integral of ``psd`` over ``lo_hz <= f < hi_hz``, ms^2 (None when empty)."""
    sel = (freq >= lo_hz) & (freq < hi_hz)
    if np.count_nonzero(sel) < 2:
        return None
    power = float(np.trapezoid(psd[sel], freq[sel]))
    return power if power != 0.0 else None


_HANN: dict[int, FloatArray] = {}


def periodogram(signal: FloatArray, rate_hz: float, nfft: int) -> tuple[FloatArray, FloatArray]:
    """Linearly detrended, Hann-windowed periodogram zero padded to ``nfft`` points.

    Parameters
    ----------
    signal : ndarray of float
        Uniformly sampled series, ms.
    rate_hz : float
        Sampling rate, Hz.
    nfft : int
        FFT length (zero padding), at least the signal length.

    Returns
    -------
    freq : ndarray of float
        Hz.
    power : ndarray of float
        Squared FFT magnitude, ms^2 (unnormalised: only ratios and peak positions are used).
    """
    n = signal.size
    t = np.arange(n, dtype=np.float64) - 0.5 * (n - 1)
    resid = signal - signal.mean()
    resid = resid - t * (float(t @ resid) / float(t @ t))  # least-squares linear detrend
    win = _HANN.get(n)
    if win is None:
        win = _HANN.setdefault(n, np.hanning(n))
    spec = np.fft.rfft(resid * win, n=max(nfft, n))
    return np.fft.rfftfreq(max(nfft, n), 1.0 / rate_hz), spec.real**2 + spec.imag**2


def breathing_rate(
    signal_4hz: FloatArray,
    rate_hz: float = INTERPOLATION_RATE_HZ,
    band_hz: tuple[float, float] = (0.05, 0.5),
    nfft: int = 4096,
) -> float | None:
    """Breathing rate from the dominant oscillation of a resampled NN series, breaths/min.

    The series (live: the last 64 s at 2 Hz, sharing the coherence periodogram with
    ``nfft = 1024``; both give a 0.002 Hz grid) is linearly detrended, Hann windowed and
    zero padded to ``nfft`` points; the highest periodogram
    bin in ``band_hz`` (0.05-0.5 Hz = 3-30 breaths/min) is refined by parabolic interpolation
    of the log power over the three bins around it. Respiratory sinus arrhythmia makes this
    the breathing frequency when breathing is regular (domain.md section 3).

    Returns
    -------
    float or None
        Breaths per minute; None when the series is too short (< 16 samples) or flat.
    """
    if signal_4hz.size < 16:
        return None
    freq, power = periodogram(signal_4hz, rate_hz, nfft)
    return breathing_rate_from(freq, power, band_hz)


def breathing_rate_from(
    freq: FloatArray, power: FloatArray, band_hz: tuple[float, float] = (0.05, 0.5)
) -> float | None:
    """Breathing rate, breaths/min, from a :func:`periodogram` (see :func:`breathing_rate`)."""
    sel = np.flatnonzero((freq >= band_hz[0]) & (freq <= band_hz[1]))
    if sel.size < 3 or not np.any(power[sel] > 0):
        return None
    k = int(sel[np.argmax(power[sel])])
    f = float(freq[k])
    if 0 < k < power.size - 1 and np.all(power[k - 1 : k + 2] > 0):
        la, lb, lc = np.log(power[k - 1 : k + 2])
        den = la - 2.0 * lb + lc
        if den < 0:
            f += 0.5 * (la - lc) / den * float(freq[1] - freq[0])
    return float(60.0 * f)


@dataclass(frozen=True, slots=True)
class CoherenceResult:
    """Coherence of the recent NN series (definition in :func:`coherence`).

    Attributes
    ----------
    peak_hz : float
        Frequency of the highest peak in 0.04-0.26 Hz, Hz.
    ratio : float
        Power within +-0.015 Hz of the peak divided by the rest of 0.0033-0.4 Hz.
    score : float
        Our 0-10 score, ``10 * ratio / (1 + ratio)``.
    """

    peak_hz: float
    ratio: float
    score: float


def coherence(
    signal_2hz: FloatArray,
    rate_hz: float = 2.0,
    peak_band_hz: tuple[float, float] = (0.04, 0.26),
    total_band_hz: tuple[float, float] = (0.0033, 0.4),
    peak_width_hz: float = 0.030,
    nfft: int = 1024,
) -> CoherenceResult | None:
    """HeartMath-style coherence of a resampled NN series (domain.md section 3).

    Definition (ours, after the published HeartMath description; HeartMath's 0-16 score
    mapping is proprietary and this is *not* it):

    1. the last 64 s of the NN series resampled at 2 Hz (128 samples), linearly detrended,
       Hann windowed, zero padded to ``nfft`` (1024: 0.002 Hz bins) periodogram;
    2. the highest bin in 0.04-0.26 Hz is the peak;
    3. ``peak power`` = power of the bins within +-0.015 Hz of it (a 0.030 Hz window);
       ``outside power`` = power of the other bins of 0.0033-0.4 Hz (VLF + LF + HF, the
       Task Force bands);
    4. ``ratio = peak power / outside power``;
    5. ``score = 10 * ratio / (1 + ratio)``, i.e. the peak's share of the 0.0033-0.4 Hz power,
       in tenths: 0 for no oscillation, 5 when the peak holds as much power as everything
       else, 8 at ratio 4, approaching 10 for a pure sinusoid.

    Returns
    -------
    CoherenceResult or None
        None when the series is shorter than 32 samples or has no power.
    """
    if signal_2hz.size < 32:
        return None
    freq, power = periodogram(signal_2hz, rate_hz, nfft)
    return coherence_from(freq, power, peak_band_hz, total_band_hz, peak_width_hz)


def coherence_from(
    freq: FloatArray,
    power: FloatArray,
    peak_band_hz: tuple[float, float] = (0.04, 0.26),
    total_band_hz: tuple[float, float] = (0.0033, 0.4),
    peak_width_hz: float = 0.030,
) -> CoherenceResult | None:
    """Coherence from a :func:`periodogram` (definition in :func:`coherence`)."""
    in_peak_band = (freq >= peak_band_hz[0]) & (freq <= peak_band_hz[1])
    if not np.any(in_peak_band):
        return None
    cand = np.flatnonzero(in_peak_band)
    k = int(cand[np.argmax(power[cand])])
    f_peak = float(freq[k])
    total = (freq >= total_band_hz[0]) & (freq <= total_band_hz[1])
    near = total & (np.abs(freq - f_peak) <= 0.5 * peak_width_hz)
    p_peak = float(power[near].sum())
    p_out = float(power[total & ~near].sum())
    if p_peak <= 0.0:
        return None
    ratio = p_peak / p_out if p_out > 0 else float("inf")
    score = 10.0 * ratio / (1.0 + ratio) if np.isfinite(ratio) else 10.0
    return CoherenceResult(peak_hz=f_peak, ratio=ratio, score=score)
