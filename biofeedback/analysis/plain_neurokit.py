"""The phase windows' indices by a plain loop of neurokit2 calls: the reference of the fast path.

What a user would write with neurokit2 alone to get the numbers of
:func:`biofeedback.analysis.windows.phase_windows` with the same settings: per gap-free run,
``signal_fixpeaks(method="kubios", iterative=False)`` for the classes of the raw beats and for
every re-classification of the correction (the correction itself is
:func:`biofeedback.analysis.artifacts.correct_pass`, which neurokit2 has no counterpart of);
per window ``hrv_time`` on the intervals with a NaN at every gap, ``hrv_frequency`` on every
long enough run, and ``intervals_process`` + ``signal_psd`` for the breathing peak. Every
call builds its own resampled series and DataFrames, as these functions do.

``tests/analysis/test_fast_path.py`` checks that the fast path gives these values to 1e-9;
``benchmarks/compare_vs_neurokit.py`` times both on a simulated study.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.analysis.artifacts import ARTIFACT_CLASSES, correct_peaks
from biofeedback.analysis.phases import breathing_rate
from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.analysis.windows import WindowSettings
from biofeedback.core.recording import Recording

__all__ = ["nk_classes", "plain_window_indices"]

FloatArray = npt.NDArray[np.float64]


def nk_classes(peaks: npt.NDArray[np.int64], kwargs: dict[str, Any]) -> dict[str, list[int]]:
    """Kubios classes from ``neurokit2.signal_fixpeaks(..., iterative=False)`` itself."""
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(peaks, iterative=False, **kwargs)
    return {cls: sorted(int(k) for k in info.get(cls, [])) for cls in ARTIFACT_CLASSES}


def _runs(segment: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    if segment.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(segment) != 0) + 1
    bounds = np.concatenate(([0], cuts, [segment.size]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def plain_window_indices(
    recording: Recording, windows: WindowSettings, settings: AnalysisSettings
) -> list[dict[str, Any]]:
    """Indices of each phase window, every value from a neurokit2 call.

    Parameters
    ----------
    recording : Recording
        The session (its ACC, if any, is not used: the breathing rate here is the RR one).
    windows : WindowSettings
        Which phases get a window, and where it lies.
    settings : AnalysisSettings
        ``correction="kubios"`` or ``"none"``, spectral settings.

    Returns
    -------
    list of dict
        Per window, in phase order: ``phase_id``, ``start_s``, ``end_s``, ``n_beats``,
        ``artifact_pct``, ``n_analysed``, ``mean_rr_ms``, ``sdnn_ms``, ``rmssd_ms``,
        ``hf_ms2``, ``lf_ms2`` and ``breaths_per_min_rr`` (None where not computed, as
        :class:`~biofeedback.analysis.results.PhaseResult` has them).
    """
    import neurokit2 as nk

    rr = np.asarray(recording.rr_ms, dtype=np.float64)
    t = np.asarray(recording.time_s, dtype=np.float64)
    segment = recording.segment_ids()
    kwargs = settings.kubios_kwargs()
    scale = settings.peak_clock_hz / 1000.0
    flagged = np.zeros(rr.size, dtype=bool)
    pieces: list[tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]] = []
    for a, b in _runs(segment):
        seg_id = np.full(b - a, segment[a], dtype=np.int64)
        if b - a < settings.min_correction_beats:
            pieces.append((rr[a:b], t[a:b], seg_id))
            continue
        positions = np.concatenate(([0.0], np.cumsum(rr[a:b]))) * scale
        classes = nk_classes(np.round(positions).astype(np.int64), kwargs)
        for k in itertools.chain.from_iterable(classes.values()):
            if 1 <= k <= b - a:
                flagged[a + k - 1] = True
        if settings.correction == "none" or not any(classes.values()):
            pieces.append((rr[a:b], t[a:b], seg_id))
            continue
        clean = correct_peaks(positions, kwargs, classes, iterative=settings.kubios_iterative,
                              classify=nk_classes)
        rr_c = np.diff(clean) / scale
        t_c = np.interp(clean[1:], positions, np.concatenate(([t[a] - rr[a] / 1000.0], t[a:b])))
        keep = rr_c > 0
        pieces.append((rr_c[keep], t_c[keep], np.full(int(keep.sum()), segment[a])))
    nn_all = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0)
    nn_t = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0)
    nn_seg = np.concatenate([p[2] for p in pieces]) if pieces else np.zeros(0, dtype=np.int64)

    out = []
    for phase in recording.phases:
        if phase.kind not in windows.kinds:
            continue
        start, end, _ = windows.span(phase)
        raw = (t >= start) & (t < end)
        sel = (nn_t >= start) & (nn_t < end)
        nn, seg = nn_all[sel], nn_seg[sel]
        row: dict[str, Any] = {
            "phase_id": phase.phase_id, "start_s": start, "end_s": end,
            "n_beats": int(raw.sum()), "n_analysed": int(nn.size),
            "artifact_pct": 100.0 * float(flagged[raw].sum()) / raw.sum() if raw.any() else None,
            "mean_rr_ms": None, "sdnn_ms": None, "rmssd_ms": None, "hf_ms2": None,
            "lf_ms2": None, "breaths_per_min_rr": None,
        }
        out.append(row)
        if nn.size < 3:
            row["mean_rr_ms"] = float(np.mean(nn)) if nn.size else None
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            successive = seg[1:] == seg[:-1]
            rri = np.insert(nn, np.flatnonzero(~successive) + 1, np.nan)
            time_domain = nk.hrv_time({"RRI": rri}).iloc[0]
            row["mean_rr_ms"] = _finite(time_domain["HRV_MeanNN"])
            row["sdnn_ms"] = _finite(time_domain["HRV_SDNN"])
            if successive.any():
                row["rmssd_ms"] = _finite(time_domain["HRV_RMSSD"])
            if settings.spectral:
                _spectral(row, nn, _runs(seg), settings)
    return out


def _spectral(row: dict[str, Any], nn: FloatArray, runs: list[tuple[int, int]],
              settings: AnalysisSettings) -> None:
    import neurokit2 as nk

    hf_sum = hf_w = lf_sum = lf_w = 0.0
    spectra = []
    for a, b in runs:
        duration = float(np.sum(nn[a:b])) / 1000.0
        if duration < settings.min_hf_duration_s:
            continue
        power = nk.hrv_frequency({"RRI": nn[a:b]}, **settings.frequency_kwargs()).iloc[0]
        hf, lf = _finite(power["HRV_HF"]), _finite(power["HRV_LF"])
        if hf is not None:
            hf_sum, hf_w = hf_sum + duration * hf, hf_w + duration
        if lf is not None and duration >= settings.min_lf_duration_s:
            lf_sum, lf_w = lf_sum + duration * lf, lf_w + duration
        signal, _, rate = nk.intervals_process(
            nn[a:b], interpolate=True, interpolation_rate=settings.interpolation_rate_hz
        )
        psd = nk.signal_psd(signal, **{**settings.psd_kwargs(), "sampling_rate": rate})
        spectra.append((psd["Frequency"].to_numpy(dtype=float),
                        psd["Power"].to_numpy(dtype=float), duration))
    if not spectra:
        return
    row["hf_ms2"] = hf_sum / hf_w if hf_w > 0 else None
    row["lf_ms2"] = lf_sum / lf_w if lf_w > 0 else None
    row["breaths_per_min_rr"] = breathing_rate(
        spectra, settings.breathing_band_hz, settings.breathing_slow_peak_dominance
    )


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
