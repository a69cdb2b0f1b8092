"""Per-phase HRV analysis of a :class:`~biofeedback.core.recording.Recording` with neurokit2.

Pipeline (every step is gap-aware: nothing is computed across a gap)

1. **Segments.** ``recording.segment_ids()`` splits the beats into gap-free runs.
2. **Artifact classes.** On every run of at least ``min_correction_beats`` intervals, the
   Lipponen & Tarvainen (2019) classifier (``neurokit2.signal_fixpeaks(method="kubios",
   iterative=False)``) flags raw beats as ectopic, missed, extra or long/short. This first pass
   on the raw series is what the artifact % counts, whatever the correction setting. (With
   ``iterative=True`` neurokit2 returns the classes of its *last* pass, indexed on the already
   corrected peaks, and usually empty: useless for counting raw beats.) The classifier runs
   as :mod:`biofeedback.analysis.kubios_classes`, a vectorised transcription of neurokit2
   0.2.13's that returns the same classes about 10x faster (neurokit2 itself with any
   other version).
3. **Correction** per run, never across a gap. ``correction="kubios"`` (default): neurokit2's
   classes, corrected and iterated by :mod:`biofeedback.analysis.artifacts` (neurokit2
   0.2.13's own correction mishandles ectopic beats; see there). ``correction="neurokit2"``:
   the peaks ``signal_fixpeaks(method="kubios", iterative=True)`` returns, as they are.
   Corrected beats get session times by linear interpolation between the raw beats'
   positions and their ``time_s`` (unchanged beats keep their own time exactly). Runs are
   classified and corrected once for the whole recording, so the 91-beat threshold window is
   not cut at phase boundaries.
4. **Phase selection.** Raw beats (for ``n_beats`` and artifact %) and analysed beats
   (corrected or raw) with ``start_s <= time_s < end_s``.
5. **Time domain.** ``neurokit2.hrv_time``'s MeanNN, SDNN and RMSSD on the phase's
   intervals with a NaN inserted at every gap: neurokit2 drops the successive differences
   that touch the NaN (its ``_intervals_successive`` check on the rebuilt time axis), so no
   difference crosses a gap. Its three expressions are evaluated here on the arrays it would
   build (the call also builds 20 other indices and a DataFrame per phase); the tests check
   them against ``hrv_time`` itself.
   pNN50, SD1 and SD2 are computed here from the same within-run differences (neurokit2's
   pNN50 divides by N rather than by the number of differences, and ``hrv_nonlinear`` costs
   seconds per call for the entropy indices we do not report).
6. **Frequency domain.** ``neurokit2.hrv_frequency`` (Welch, 4 Hz, ``normalize=False``) on
   every gap-free run inside the phase that is long enough: >= ``min_hf_duration_s`` (67 s)
   for HF, >= ``min_lf_duration_s`` (250 s) for LF. Band powers of several runs are averaged
   weighted by run duration, which equals the band power of the duration-weighted mean PSD.
   A phase with no long enough run gets None. ``hrv_frequency``'s own steps are taken once
   per run (:func:`run_spectrum`: ``intervals_process``, ``signal_psd``, the bands integrated
   as ``signal_power`` does), so the breathing rate reads the same PSD without resampling
   and transforming the run a second time.
7. **Breathing rate.** The Welch PSD of the same runs (``neurokit2.intervals_process`` +
   ``neurokit2.signal_psd``, the steps ``hrv_frequency`` takes), averaged weighted by
   duration on the grid of the longest run; the highest local maximum inside
   ``breathing_band_hz`` (0.05-0.50 Hz) gives breaths/min: the highest local maximum at or
   above 0.15 Hz, unless a slower one is ``breathing_slow_peak_dominance`` (20) times higher,
   as slow breathing makes it (:mod:`biofeedback.core.breathing`). A Mayer-wave peak near
   0.1 Hz that merely exceeds a weak respiratory peak is therefore not read as slow breathing.
8. **Measured breathing.** When the recording carries the chest ACC (``recording.acc``), its
   respiration signal is built once (:func:`biofeedback.core.acc_breathing.respiration_from_chunks`)
   and each phase's breaths are counted over the phase's span
   (:func:`~biofeedback.core.acc_breathing.breathing_in_span`). Where that count is reliable
   (``quality_ok``) it is the phase's ``breaths_per_min`` (``breathing_source = "acc"``);
   elsewhere the RR-spectrum rate of step 7 is (``"rr"``). Both stay in the row
   (``breaths_per_min_acc``, ``breaths_per_min_rr``); the RR-based one is circular under
   stress, when RSA is weak, which is exactly where the ACC is not.
9. **hf_valid** is True only when HF was computed and the breathing rate of step 8 lies
   within 9-24 breaths/min (the HF band x 60; docs/domain.md section 3).

neurokit2 is imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import math
import platform
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.analysis.artifacts import ARTIFACT_CLASSES, classify_peaks, correct_peaks
from biofeedback.analysis.kubios_classes import PORTED_FROM
from biofeedback.analysis.results import AnalysisResult, PhaseResult
from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.core.acc_breathing import (
    AccBreathing,
    RespirationSignal,
    breathing_in_span,
    respiration_from_chunks,
)
from biofeedback.core.breathing import SLOW_PEAK_DOMINANCE, pick_breathing_peak
from biofeedback.core.recording import Recording
from biofeedback.core.types import PhaseSpan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


WHOLE_RECORDING = "whole recording"
"""Name of the pseudo-phase analysed when a recording has no phases."""

_DEFAULT_SETTINGS = AnalysisSettings()


@dataclass
class _Prepared:
    """Per-beat artifact flags and the series the indices are computed from."""

    flags: npt.NDArray[np.int8]
    """0 for a normal raw beat, k + 1 for ``ARTIFACT_CLASSES[k]`` (first pass, raw beats)."""
    rr_ms: FloatArray
    time_s: FloatArray
    segment: IntArray


def analyze_recording(
    recording: Recording, settings: AnalysisSettings = _DEFAULT_SETTINGS
) -> AnalysisResult:
    """Compute HRV indices for each phase of a recording.

    Parameters
    ----------
    recording : Recording
        Raw RR intervals (ms), beat times (s), gaps and phases. A recording without phases is
        analysed as one pseudo-phase named ``"whole recording"``.
    settings : AnalysisSettings
        Correction method, spectral settings and validity rules.

    Returns
    -------
    AnalysisResult
        One :class:`PhaseResult` per phase (also for phases with too few beats, whose indices
        are None), the settings with every neurokit2 keyword argument, library versions and
        the session's identity.

    Raises
    ------
    ValueError
        When ``rr_ms`` and ``time_s`` differ in length, contain non-finite values, intervals
        are not positive or times decrease.

    Notes
    -----
    See the module docstring for the pipeline and every definition.
    """
    rr = np.asarray(recording.rr_ms, dtype=np.float64)
    t = np.asarray(recording.time_s, dtype=np.float64)
    _validate(rr, t, recording.name)
    prepared = _prepare(rr, t, recording.segment_ids(), settings)

    phases = list(recording.phases) or [_whole_phase(rr, t)]
    resp = respiration_from_chunks(recording.acc) if recording.acc else None
    rows = [_analyze_phase(phase, rr, t, prepared, settings, resp) for phase in phases]
    return AnalysisResult(
        phases=rows,
        settings=_settings_record(settings),
        versions=library_versions(),
        session={
            "name": recording.name,
            "source": recording.source,
            "n_beats": int(rr.size),
            "duration_s": recording.duration_s,
            "n_gaps": len(recording.gaps),
            "n_phases": len(recording.phases),
        },
    )


def library_versions() -> dict[str, str]:
    """Versions of the libraries the numbers depend on (without importing them)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:
    # Read once per process: each lookup parses a package's METADATA file (about 15 ms for
    # the five, per analysed recording otherwise), and installed versions do not change
    # under a running analysis.
    out = {}
    for name in ("neurokit2", "numpy", "scipy", "pandas", "biofeedback"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "unknown"
    out["python"] = platform.python_version()
    return out


def _settings_record(settings: AnalysisSettings) -> dict[str, Any]:
    record = settings.to_dict()

    def listed(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}

    calls: dict[str, Any] = {
        "signal_fixpeaks (artifact classes)": {
            **settings.kubios_kwargs(), "iterative": False,
            "computed_by": "biofeedback.analysis.kubios_classes.find_artifacts (the same "
                           "classes; neurokit2 itself when its version is not "
                           f"{PORTED_FROM})",
        },
        "hrv_time": {
            "peaks": "{'RRI': intervals with NaN at gaps}",
            "computed_by": "its MeanNN, SDNN and RMSSD expressions (np.nanmean, "
                           "np.nanstd ddof=1, sqrt(nanmean(dNN^2)) within runs)",
        },
    }
    if settings.correction == "kubios":
        calls["signal_fixpeaks (re-classification of corrected peaks)"] = {
            **settings.kubios_kwargs(),
            "iterative": False,
            "repeated_while_count_falls": settings.kubios_iterative,
            "correction": "biofeedback.analysis.artifacts.correct_pass",
        }
    elif settings.correction == "neurokit2":
        calls["signal_fixpeaks (correction)"] = {
            **settings.kubios_kwargs(),
            "iterative": settings.kubios_iterative,
        }
    if settings.spectral:
        calls["hrv_frequency"] = {
            "peaks": "{'RRI': one gap-free run}",
            **listed(settings.frequency_kwargs()),
            "computed_by": "its steps: intervals_process and signal_psd once per run (shared "
                           "with the breathing rate), bands integrated as signal_power does",
        }
        calls["intervals_process"] = {
            "interpolate": True,
            "interpolation_rate": settings.interpolation_rate_hz,
        }
        calls["signal_psd"] = settings.psd_kwargs()
    record["neurokit2_calls"] = calls
    return record


def _validate(rr: FloatArray, t: FloatArray, name: str) -> None:
    label = f"recording {name!r}" if name else "recording"
    if rr.shape != t.shape or rr.ndim != 1:
        raise ValueError(f"{label}: rr_ms and time_s must be 1-D arrays of equal length")
    if not (np.all(np.isfinite(rr)) and np.all(np.isfinite(t))):
        raise ValueError(f"{label}: rr_ms and time_s must be finite")
    if np.any(rr <= 0):
        raise ValueError(f"{label}: RR intervals must be positive (beat {int(np.argmin(rr))})")
    if np.any(np.diff(t) < 0):
        raise ValueError(f"{label}: beat times must not decrease")


def _whole_phase(rr: FloatArray, t: FloatArray) -> PhaseSpan:
    if rr.size == 0:
        return PhaseSpan("whole", WHOLE_RECORDING, "whole", 0.0, 0.0)
    start = min(0.0, float(t[0] - rr[0] / 1000.0))
    end = float(np.nextafter(t[-1], np.inf))
    return PhaseSpan("whole", WHOLE_RECORDING, "whole", start, end)


def _runs(segment: IntArray) -> list[tuple[int, int]]:
    """Half-open index ranges of equal consecutive segment ids."""
    if segment.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(segment) != 0) + 1
    bounds = np.concatenate(([0], cuts, [segment.size]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _prepare(
    rr: FloatArray, t: FloatArray, segment: IntArray, settings: AnalysisSettings
) -> _Prepared:
    """Classify raw beats and (optionally) correct each gap-free run."""
    flags = np.zeros(rr.size, dtype=np.int8)
    pieces: list[tuple[FloatArray, FloatArray, IntArray]] = []
    scale = settings.peak_clock_hz / 1000.0  # peak-clock samples per ms
    kwargs = settings.kubios_kwargs()
    for a, b in _runs(segment):
        seg_id = int(segment[a])
        raw_piece = (rr[a:b], t[a:b], np.full(b - a, seg_id, dtype=np.int64))
        if b - a < settings.min_correction_beats:
            pieces.append(raw_piece)
            continue
        # n intervals -> n + 1 peaks; peak k closes raw interval a + k - 1. Classification
        # needs integer samples; correction works on the exact (float) positions.
        positions = np.concatenate(([0.0], np.cumsum(rr[a:b]))) * scale
        peaks = np.round(positions).astype(np.int64)
        classes = classify_peaks(peaks, kwargs)
        for code, cls in enumerate(ARTIFACT_CLASSES, start=1):
            for k in classes[cls]:
                beat = a + k - 1
                if k >= 1 and beat < b and flags[beat] == 0:
                    flags[beat] = code
        if settings.correction == "none" or not any(classes.values()):
            pieces.append(raw_piece)
            continue
        if settings.correction == "neurokit2":
            import neurokit2 as nk

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, nk_clean = nk.signal_fixpeaks(
                    peaks, iterative=settings.kubios_iterative, **kwargs
                )
            clean = np.sort(np.asarray(nk_clean, dtype=np.float64))
        else:
            clean = correct_peaks(positions, kwargs, classes, iterative=settings.kubios_iterative)
        rr_c = np.diff(clean) / scale
        # Unchanged peaks map exactly onto their raw times; moved or inserted ones in between.
        times = np.concatenate(([t[a] - rr[a] / 1000.0], t[a:b]))
        t_c = np.interp(clean[1:], positions, times)
        keep = rr_c > 0
        pieces.append((rr_c[keep], t_c[keep], np.full(int(keep.sum()), seg_id, dtype=np.int64)))

    if not pieces:
        empty = np.zeros(0, dtype=np.float64)
        return _Prepared(flags, empty, empty, np.zeros(0, dtype=np.int64))
    return _Prepared(
        flags,
        np.concatenate([p[0] for p in pieces]),
        np.concatenate([p[1] for p in pieces]),
        np.concatenate([p[2] for p in pieces]),
    )


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _analyze_phase(
    phase: PhaseSpan,
    rr: FloatArray,
    t: FloatArray,
    prepared: _Prepared,
    settings: AnalysisSettings,
    resp: RespirationSignal | None = None,
) -> PhaseResult:
    raw = (t >= phase.start_s) & (t < phase.end_s)
    n_beats = int(raw.sum())
    row = PhaseResult(
        name=phase.name,
        phase_id=phase.phase_id,
        kind=phase.kind,
        start_s=float(phase.start_s),
        duration_s=float(phase.duration_s),
        n_beats=n_beats,
        feedback=phase.feedback,
    )
    if n_beats:
        phase_flags = prepared.flags[raw]
        row.artifact_counts = {
            cls: int(np.sum(phase_flags == code))
            for code, cls in enumerate(ARTIFACT_CLASSES, start=1)
        }
        row.artifact_pct = 100.0 * float(np.sum(phase_flags > 0)) / n_beats

    sel = (prepared.time_s >= phase.start_s) & (prepared.time_s < phase.end_s)
    nn = prepared.rr_ms[sel]
    seg = prepared.segment[sel]
    row.n_analysed = int(nn.size)
    runs = _runs(seg)
    row.n_segments = len(runs)
    acc = None if resp is None else breathing_in_span(resp, phase.start_s, phase.end_s)
    if acc is not None:
        row.breaths_per_min_acc = acc.breaths_per_min
    if nn.size == 0:
        row.notes.append("no beats in this phase")
        return row

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _time_domain(row, nn, seg, settings)
        if settings.spectral:
            _frequency_domain(row, nn, runs, settings, acc)
    return row


def _time_domain(
    row: PhaseResult, nn: FloatArray, seg: IntArray, settings: AnalysisSettings
) -> None:
    """Fill the time-domain and Poincare indices of ``row``; successive differences stay
    inside gap-free runs."""
    successive = seg[1:] == seg[:-1]
    diffs = np.diff(nn)[successive]
    if nn.size < 3:
        row.mean_rr_ms = float(np.mean(nn))
        row.notes.append(f"only {nn.size} interval(s): variability indices not computed")
    else:
        # neurokit2's hrv_time expressions for the three indices, on the arrays it would
        # build from the intervals with a NaN at every gap (it drops the NaN, then the
        # differences whose time step is not the interval: exactly ``diffs``); the call
        # itself also builds 20 other indices and a DataFrame per window.
        # tests/analysis/test_fast_path.py checks them against hrv_time.
        row.mean_rr_ms = _finite(np.nanmean(nn))
        row.sdnn_ms = _finite(np.nanstd(nn, ddof=1))
        row.rmssd_ms = _finite(np.sqrt(np.nanmean(diffs**2))) if diffs.size else None
    if row.mean_rr_ms:
        row.mean_hr_bpm = 60000.0 / row.mean_rr_ms
    if row.rmssd_ms:
        row.ln_rmssd = math.log(row.rmssd_ms)
    if diffs.size >= 2:  # one difference is no proportion worth reporting
        row.pnn50_pct = (
            100.0 * float(np.sum(np.abs(diffs) > settings.pnn_threshold_ms)) / diffs.size
        )
    if diffs.size >= 2:
        sd1_sq = float(np.var(diffs, ddof=1)) / 2.0
        row.sd1_ms = math.sqrt(sd1_sq)
        if row.sdnn_ms is not None:
            sd2_sq = 2.0 * row.sdnn_ms**2 - sd1_sq
            row.sd2_ms = math.sqrt(sd2_sq) if sd2_sq > 0 else None


def _frequency_domain(
    row: PhaseResult,
    nn: FloatArray,
    runs: list[tuple[int, int]],
    settings: AnalysisSettings,
    acc: AccBreathing | None = None,
) -> None:
    """Fill HF, LF, LF/HF, the breathing rates and ``hf_valid`` of ``row``; a reliable ACC
    rate (``acc.quality_ok``) decides ``hf_valid`` in place of the RR-spectrum rate."""
    durations = [float(np.sum(nn[a:b])) / 1000.0 for a, b in runs]
    hf_runs = [
        (r, d) for r, d in zip(runs, durations, strict=True) if d >= settings.min_hf_duration_s
    ]
    if not hf_runs:
        row.notes.append(
            f"no gap-free run >= {settings.min_hf_duration_s:g} s: spectral indices not computed"
        )
        return
    hf_sum = hf_w = lf_sum = lf_w = 0.0
    spectra: list[tuple[FloatArray, FloatArray, float]] = []
    for (a, b), dur in hf_runs:
        bands, spectrum = run_spectrum(nn[a:b], settings)
        hf = _finite(bands["HF"])
        if hf is not None:
            hf_sum += dur * hf
            hf_w += dur
        lf = _finite(bands["LF"])
        if lf is not None and dur >= settings.min_lf_duration_s:
            lf_sum += dur * lf
            lf_w += dur
        spectra.append((*spectrum, dur))
    row.spectral_duration_s = hf_w
    row.hf_ms2 = hf_sum / hf_w if hf_w > 0 else None
    if lf_w > 0:
        row.lf_ms2 = lf_sum / lf_w
    else:
        row.notes.append(
            f"no gap-free run >= {settings.min_lf_duration_s:g} s: LF and LF/HF not computed"
        )
    if row.lf_ms2 is not None and row.hf_ms2:
        row.lf_hf = row.lf_ms2 / row.hf_ms2
    row.breaths_per_min_rr = breathing_rate(
        spectra, settings.breathing_band_hz, settings.breathing_slow_peak_dominance
    )
    if acc is not None and acc.quality_ok and acc.breaths_per_min is not None:
        row.breaths_per_min, row.breathing_source = acc.breaths_per_min, "acc"
        row.notes.append(f"breathing {acc.breaths_per_min:.1f}/min counted from the chest "
                         f"accelerometer decided HF validity (RR spectrum: "
                         f"{_rate_text(row.breaths_per_min_rr)})")
    else:
        row.breaths_per_min = row.breaths_per_min_rr
        row.breathing_source = None if row.breaths_per_min is None else "rr"
        if acc is not None:
            row.notes.append(f"chest accelerometer breathing not reliable ({acc.note}): "
                             "RR-spectrum rate used")

    if row.hf_ms2 is None:
        row.notes.append("HF power could not be computed")
    elif row.breaths_per_min is None:
        row.notes.append("no spectral peak in the breathing band: HF not interpretable")
    elif row.breaths_per_min < settings.min_hf_breaths_per_min:
        row.notes.append(
            f"breathing {row.breaths_per_min:.1f}/min is below "
            f"{settings.min_hf_breaths_per_min:g}/min: respiratory sinus arrhythmia lies in LF, "
            "HF not interpretable"
        )
    elif row.breaths_per_min > settings.max_hf_breaths_per_min:
        row.notes.append(
            f"breathing {row.breaths_per_min:.1f}/min is above "
            f"{settings.max_hf_breaths_per_min:g}/min: HF not interpretable"
        )
    else:
        row.hf_valid = True


def run_spectrum(
    nn: FloatArray, settings: AnalysisSettings
) -> tuple[dict[str, float], tuple[FloatArray, FloatArray]]:
    """Band powers and breathing-band PSD of one gap-free run, from one neurokit2 PSD.

    ``neurokit2.hrv_frequency`` resamples the intervals (``intervals_process``) and takes
    their Welch PSD (``signal_psd``) inside ``signal_power``; the breathing rate needs that
    same PSD, which calling ``hrv_frequency`` and then ``intervals_process`` + ``signal_psd``
    computed twice. Here neurokit2 resamples and takes the PSD once, and the bands are
    integrated as ``signal_power`` integrates them (``np.trapezoid`` over ``low <= f < high``
    of the PSD kept within ``[min band edge, max band edge]``; 0 becomes NaN), so the
    powers are ``hrv_frequency``'s (tests/analysis/test_fast_path.py checks them to 1e-9).

    Parameters
    ----------
    nn : ndarray of float
        The run's intervals, ms.
    settings : AnalysisSettings
        Bands, interpolation rate and PSD method.

    Returns
    -------
    bands : dict
        ``"ULF"``, ``"VLF"``, ``"LF"``, ``"HF"``, ``"VHF"`` -> power, ms^2 (NaN when zero).
    spectrum : tuple of ndarray
        Frequencies (Hz) and power of the PSD up to ``settings.psd_kwargs()["max_frequency"]``,
        as ``signal_psd`` with those arguments returns them.
    """
    import neurokit2 as nk

    frequency_kwargs = settings.frequency_kwargs()
    names = ("ULF", "VLF", "LF", "HF", "VHF")
    edges = [frequency_kwargs[name.lower()] for name in names]
    band_max = max(high for _, high in edges)
    breathing_max = settings.psd_kwargs()["max_frequency"]
    # hrv_frequency passes the times it rebuilt from the intervals; intervals_process
    # rebuilds the same ones when given none.
    signal, _, rate = nk.intervals_process(
        nn, interpolate=True, interpolation_rate=settings.interpolation_rate_hz
    )
    psd = nk.signal_psd(
        signal, sampling_rate=rate, method=settings.psd_method, show=False, normalize=False,
        max_frequency=max(band_max, breathing_max), order_criteria=None,
    )
    freq = psd["Frequency"].to_numpy(dtype=np.float64)
    power = psd["Power"].to_numpy(dtype=np.float64)
    inside = (freq >= min(low for low, _ in edges)) & (freq <= band_max)
    band_freq, band_power = freq[inside], power[inside]
    bands = {}
    for name, (low, high) in zip(names, edges, strict=True):
        where = (band_freq >= low) & (band_freq < high)
        value = float(np.trapezoid(y=band_power[where], x=band_freq[where]))
        bands[name] = math.nan if value == 0.0 else value
    keep = freq <= breathing_max
    return bands, (freq[keep], power[keep])


def _rate_text(rate: float | None) -> str:
    return "no peak" if rate is None else f"{rate:.1f}/min"


def breathing_rate(
    spectra: list[tuple[FloatArray, FloatArray, float]],
    band_hz: tuple[float, float],
    slow_dominance: float = SLOW_PEAK_DOMINANCE,
) -> float | None:
    """Breathing rate from the RSA peak of one or more interval spectra.

    Parameters
    ----------
    spectra : list of (frequency_hz, power, weight)
        PSDs of gap-free runs and their weights (durations, s). They are averaged, weighted,
        on the frequency grid of the heaviest one (linear interpolation, zero outside a
        spectrum's range).
    band_hz : tuple of float
        Search band, Hz.
    slow_dominance : float
        How much higher a peak below 0.15 Hz must be to count as (slow) breathing.

    Returns
    -------
    float or None
        Breaths/min from :func:`biofeedback.core.breathing.pick_breathing_peak` on the mean
        PSD: the highest local maximum at or above 0.15 Hz, unless a slower one is 20 x
        higher (slow breathing); None when the band has no local maximum.
    """
    if not spectra:
        return None
    grid = max(spectra, key=lambda s: s[2])[0]
    total = sum(w for _, _, w in spectra)
    mean = np.zeros_like(grid)
    for freq, power, weight in spectra:
        mean += weight * np.interp(grid, freq, power, left=0.0, right=0.0)
    mean /= total
    return pick_breathing_peak(grid, mean, band_hz=band_hz, slow_dominance=slow_dominance)
