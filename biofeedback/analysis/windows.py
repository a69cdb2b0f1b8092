"""Fixed, equal-length analysis windows per phase and 1-min binned trajectories.

Lab comparisons of phases (baseline, stressor, practice, recovery) use windows of the same
length in every phase, so that indices which depend on the window length (SDNN, LF, the
variance of every estimate) are comparable across phases (docs/domain.md section 3). The default
is the last 4 min of each phase: the end of a phase is the most settled part of it, and
240 s is within the short-term range of the Task Force (1996, Circulation 93:1043-1065; 5 min
standard, shorter windows allowed when equal across conditions) and of Laborde, Mosley &
Thayer (2017, Front Psychol 8:213), long enough for RMSSD (near its 5-min value from 120 s,
Munoz et al. 2015) and for HF (>= 67 s), and close to the 250 s that LF needs.

:func:`phase_windows` cuts one window per phase and computes its indices with
:func:`biofeedback.analysis.analyze_recording` (one call for all windows, so artifact
classification and correction run once over the whole recording and never stop at a window
edge). Windows too noisy or too empty to interpret are returned with ``excluded=True`` and
the reason, never dropped.

:func:`binned_trajectory` gives heart rate and lnRMSSD on a fixed 1-min grid over the whole
session, for curve or mixed-model fitting of reactivity and recovery (docs/domain.md section 6),
computed in numpy from the corrected intervals the live detector stored with each beat.

Nothing here imports Qt; neurokit2 is imported only by :func:`analyze_recording`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from biofeedback.analysis.phases import analyze_recording
from biofeedback.analysis.results import PhaseResult
from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.core.recording import Recording
from biofeedback.core.types import ArtifactClass, PhaseSpan

__all__ = [
    "ANALYSED_KINDS",
    "PhaseWindow",
    "TrajectoryBin",
    "WindowSettings",
    "binned_trajectory",
    "phase_windows",
]

FloatArray = npt.NDArray[np.float64]

ANALYSED_KINDS: tuple[str, ...] = ("baseline", "stressor", "practice", "recovery", "rest")
"""Phase kinds that get an analysis window; ``self_report`` phases do not (the participant
is answering questions, so their heart rate is neither rest nor the condition)."""

_SHORT_TOLERANCE_S = 1e-6
"""A phase counts as short only when it is shorter than the window by more than this: phase
bounds are floats rebuilt from the session clock."""


@dataclass(frozen=True, slots=True)
class WindowSettings:
    """Where the analysis window of each phase lies and when it is excluded.

    Attributes
    ----------
    length_s : float
        Window length, s. Default 240 s, the last 4 min of each phase (issue 6); short-term
        HRV windows per Task Force (1996, Circulation 93:1043-1065) and Laborde et al. (2017,
        Front Psychol 8:213), equal in every phase. A phase shorter than this gets the whole
        phase and is flagged ``short``. Note: with the default
        ``AnalysisSettings.min_lf_duration_s`` of 250 s (10 wavelengths of 0.04 Hz, Task Force
        1996) a 240-s window gets no LF power. To accept about 9.4 wavelengths, pass e.g.
        ``AnalysisSettings(min_lf_duration_s=235)`` (a little below the window, as the intervals
        inside a window add up to up to one interval less than its length) and report it.
    anchor : {"end", "start"}
        ``"end"`` (default): the window ends where the phase ends (the settled part of the
        phase). ``"start"``: it starts where the phase starts (e.g. the early response to a
        stressor).
    exclusion_threshold_pct : float
        A window with more than this percentage of raw beats flagged as artifacts (Kubios
        classes, first pass on the raw series) is excluded: default 5 %, the study default
        of docs/domain.md section 4. Stored with the study.
    min_covered_s : float
        A window whose analysed intervals add up to less than this many seconds (beats lost in
        gaps) is excluded as having too few beats: default 10 s, the shortest window in which
        RMSSD is usable (Munoz et al. 2015, PLoS ONE 10:e0138921; docs/domain.md section 3).
    kinds : tuple of str
        Phase kinds that get a window: baseline, stressor, practice, recovery and rest
        (:data:`ANALYSED_KINDS`); self_report phases do not.
    """

    length_s: float = 240.0
    anchor: Literal["end", "start"] = "end"
    exclusion_threshold_pct: float = 5.0
    min_covered_s: float = 10.0
    kinds: tuple[str, ...] = ANALYSED_KINDS

    def __post_init__(self) -> None:
        if not (math.isfinite(self.length_s) and self.length_s > 0):
            raise ValueError(f"window length must be a positive number of seconds, "
                             f"not {self.length_s!r}")
        if self.anchor not in ("end", "start"):
            raise ValueError(f"window anchor must be 'end' or 'start', not {self.anchor!r}")
        if not 0.0 <= self.exclusion_threshold_pct <= 100.0:
            raise ValueError("the artifact exclusion threshold must lie between 0 and 100 %, "
                             f"not {self.exclusion_threshold_pct!r}")
        if not self.min_covered_s >= 0:
            raise ValueError(f"min_covered_s must be >= 0, not {self.min_covered_s!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (for the methods paragraph and stored studies)."""
        record = dataclasses.asdict(self)
        record["kinds"] = list(self.kinds)
        return record

    def span(self, phase: PhaseSpan) -> tuple[float, float, bool]:
        """Window bounds inside ``phase``.

        Parameters
        ----------
        phase : PhaseSpan
            The phase, with session-clock bounds in s.

        Returns
        -------
        start_s, end_s : float
            Half-open window ``[start_s, end_s)``, s on the session clock.
        short : bool
            True when the phase is shorter than ``length_s`` and the window is the whole phase.
        """
        short = phase.duration_s < self.length_s - _SHORT_TOLERANCE_S
        if short:
            return float(phase.start_s), float(phase.end_s), True
        if self.anchor == "end":
            return float(phase.end_s) - self.length_s, float(phase.end_s), False
        return float(phase.start_s), float(phase.start_s) + self.length_s, False


@dataclass(frozen=True, slots=True)
class PhaseWindow:
    """The analysis window of one phase and its indices.

    Attributes
    ----------
    phase_id, phase_name, kind : str
        Identifier, name and kind of the phase the window lies in.
    practice, category : str or None
        Practice of the phase and its category (``self_soothing``, ``attention``), if any.
    start_s, end_s : float
        Half-open window ``[start_s, end_s)``, s on the session clock.
    short : bool
        The phase was shorter than the window length, so the window is the whole phase (and
        not equal in length to the others).
    n_beats : int
        Raw beats with ``start_s <= time_s < end_s``.
    artifact_pct : float or None
        Percentage of those raw beats flagged as artifacts (None when there are none).
    covered_s : float
        Sum of the analysed (corrected) intervals, s: less than the window length when beats
        were lost in gaps.
    excluded : bool
        True when the window should not enter statistics; ``exclusion_reason`` says why.
    exclusion_reason : str or None
        Plain-language reasons, joined by ``"; "``.
    hr_bpm : float or None
        Mean heart rate, 60000 / mean NN, beats/min.
    rmssd_ms, ln_rmssd : float or None
        RMSSD, ms, and its natural log (ln ms).
    hf_ms2 : float or None
        HF power (0.15-0.40 Hz), ms^2, only when ``hf_valid``; None otherwise.
    lf_ms2 : float or None
        LF power (0.04-0.15 Hz), ms^2 (None when no gap-free run reaches 250 s).
    breaths_per_min : float or None
        Breaths/min that decided ``hf_valid``: counted from the chest accelerometer where that
        is reliable, else the interval spectrum's breathing peak (``breathing_source``).
    hf_valid : bool
        HF was computed and breathing lies within the HF band (9-24/min).
    notes : tuple of str
        The analysis' notes on missing or flagged indices.
    feedback : str or None
        ``"shown"`` or ``"hidden"``: whether the participant saw their physiology during the
        phase (None when that was not recorded).
    breathing_source : str or None
        ``"acc"`` or ``"rr"``: where ``breaths_per_min`` comes from (None when there is none).
    breaths_per_min_rr : float or None
        The RR spectrum's breathing rate, breaths/min, whatever decided (a change between two
        windows falls back on it when either lacks a reliable ACC rate).
    breaths_per_min_acc : float or None
        The rate counted from the chest accelerometer, breaths/min, reliable or not (None
        without ACC); it decided only where ``breathing_source == "acc"``.
    """

    phase_id: str
    phase_name: str
    kind: str
    practice: str | None
    category: str | None
    start_s: float
    end_s: float
    short: bool
    n_beats: int
    artifact_pct: float | None
    covered_s: float
    excluded: bool
    exclusion_reason: str | None
    hr_bpm: float | None
    rmssd_ms: float | None
    ln_rmssd: float | None
    hf_ms2: float | None
    lf_ms2: float | None
    breaths_per_min: float | None
    hf_valid: bool
    notes: tuple[str, ...] = ()
    feedback: str | None = None
    breathing_source: str | None = None
    breaths_per_min_rr: float | None = None
    breaths_per_min_acc: float | None = None

    @property
    def duration_s(self) -> float:
        """Window length, s."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field plus ``duration_s`` (NaN never appears)."""
        record = dataclasses.asdict(self)
        record["notes"] = list(self.notes)
        record["duration_s"] = self.duration_s
        return record


_DEFAULT_WINDOWS = WindowSettings()


def phase_windows(
    recording: Recording,
    settings: WindowSettings = _DEFAULT_WINDOWS,
    analysis_settings: AnalysisSettings | None = None,
) -> list[PhaseWindow]:
    """One fixed-length analysis window per phase, with its indices and exclusion flag.

    Parameters
    ----------
    recording : Recording
        The session, with its stored phases (:class:`~biofeedback.core.types.PhaseSpan`).
    settings : WindowSettings
        Window length, anchor, exclusion rules and phase kinds; default ``WindowSettings()``
        (last 240 s of each phase, 5 % artifact threshold).
    analysis_settings : AnalysisSettings, optional
        Passed to :func:`~biofeedback.analysis.analyze_recording`; default
        ``AnalysisSettings()``.

    Returns
    -------
    list of PhaseWindow
        One window per phase whose kind is in ``settings.kinds``, in phase order. Excluded
        windows are included with their reason. A recording without phases (or without phases
        of those kinds) gives an empty list.

    Notes
    -----
    The windows replace the recording's phases in a single call of
    :func:`analyze_recording`, so artifact classification and correction run once over the
    whole recording (gap-aware, never across a window edge) and each window's indices equal
    those of ``analyze_recording`` on a recording whose only phase is that window.
    """
    analysis_settings = AnalysisSettings() if analysis_settings is None else analysis_settings
    chosen = [p for p in recording.phases if p.kind in settings.kinds]
    if not chosen:
        # analyze_recording would analyse the whole recording instead: nothing to window.
        return []
    spans = [settings.span(p) for p in chosen]
    window_phases = [
        dataclasses.replace(p, start_s=start, end_s=end)
        for p, (start, end, _) in zip(chosen, spans, strict=True)
    ]
    result = analyze_recording(
        dataclasses.replace(recording, phases=window_phases), analysis_settings
    )
    return [
        _window(phase, start, end, short, row, settings)
        for phase, (start, end, short), row in zip(chosen, spans, result.phases, strict=True)
    ]


def _window(
    phase: PhaseSpan,
    start_s: float,
    end_s: float,
    short: bool,
    row: PhaseResult,
    settings: WindowSettings,
) -> PhaseWindow:
    covered_s = (
        row.n_analysed * row.mean_rr_ms / 1000.0 if row.mean_rr_ms is not None else 0.0
    )
    reasons = []
    if row.n_beats == 0:
        reasons.append("no beats in the window")
    elif covered_s < settings.min_covered_s:
        reasons.append(f"too few beats: {covered_s:.1f} s of intervals "
                       f"< {settings.min_covered_s:g} s")
    elif row.rmssd_ms is None:
        reasons.append("too few beats: RMSSD could not be computed")
    if row.artifact_pct is not None and row.artifact_pct > settings.exclusion_threshold_pct:
        reasons.append(f"artifacts {row.artifact_pct:.1f} % of beats "
                       f"> {settings.exclusion_threshold_pct:g} %")
    return PhaseWindow(
        phase_id=phase.phase_id,
        phase_name=phase.name,
        kind=phase.kind,
        practice=phase.practice,
        category=phase.category,
        start_s=start_s,
        end_s=end_s,
        short=short,
        n_beats=row.n_beats,
        artifact_pct=row.artifact_pct,
        covered_s=covered_s,
        excluded=bool(reasons),
        exclusion_reason="; ".join(reasons) if reasons else None,
        hr_bpm=row.mean_hr_bpm,
        rmssd_ms=row.rmssd_ms,
        ln_rmssd=row.ln_rmssd,
        # HF outside 9-24 breaths/min measures breathing, not vagal outflow
        # (docs/domain.md section 3).
        hf_ms2=row.hf_ms2 if row.hf_valid else None,
        lf_ms2=row.lf_ms2,
        breaths_per_min=row.breaths_per_min,
        hf_valid=row.hf_valid,
        notes=tuple(row.notes),
        feedback=phase.feedback,
        breathing_source=row.breathing_source,
        breaths_per_min_rr=row.breaths_per_min_rr,
        breaths_per_min_acc=row.breaths_per_min_acc,
    )


@dataclass(frozen=True, slots=True)
class TrajectoryBin:
    """Heart rate and lnRMSSD of one bin of the session grid.

    Attributes
    ----------
    start_s, end_s : float
        Half-open bin ``[start_s, end_s)`` on the session clock, s; bin k starts at
        ``k * bin_s`` (the last bin is closed and ends at the last beat).
    phase_id : str or None
        The phase that overlaps the bin the most (the earlier one on a tie); None when no
        phase overlaps it.
    hr_bpm : float or None
        60000 / mean NN of the bin, beats/min; None for an empty bin.
    ln_rmssd : float or None
        Natural log of the RMSSD (ms) of the successive NN differences inside the bin and
        inside one gap-free segment; None with fewer than 2 such differences.
    n_beats : int
        Raw beats whose time falls in the bin.
    artifact_pct : float or None
        Percentage of the bin's classified raw beats the live detector flagged; None when
        none of them is classified (e.g. an imported file).
    """

    start_s: float
    end_s: float
    phase_id: str | None
    hr_bpm: float | None
    ln_rmssd: float | None
    n_beats: int
    artifact_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)


_MIN_BIN_DIFFS = 2
"""Fewest successive differences for a bin's RMSSD (one difference is not a mean square)."""


def binned_trajectory(recording: Recording, bin_s: float = 60.0) -> list[TrajectoryBin]:
    """Heart rate and lnRMSSD in fixed bins over the whole session.

    Parameters
    ----------
    recording : Recording
        The session. Its stored live corrected intervals (``rr_corrected_ms``,
        ``corrected_count``) and classes (``artifact``) are used where present.
    bin_s : float
        Bin length, s. Default 60 s: 1-min binned trajectories for curve or mixed-model
        fitting of reactivity and recovery (docs/domain.md section 6; issue 6).

    Returns
    -------
    list of TrajectoryBin
        ``ceil(time_s[-1] / bin_s)`` bins (at least one), from session time 0 to the last
        beat; empty bins (in a gap) have ``n_beats == 0`` and None indices. (This can be one
        fewer than ``ceil(recording.duration_s / bin_s)``: ``duration_s`` also counts the
        part of the first interval that began before time 0.)

    Notes
    -----
    **Grid.** Bins lie on one grid anchored at session time 0, not restarted at each
    phase, so bin k means the same minute in every session with the same protocol. When phase
    lengths are multiples of ``bin_s`` (as in the built-in ``stress_reactivity``) each bin
    lies in one phase; otherwise a bin straddling a boundary is labelled with the phase it
    overlaps most.

    **Beats.** A raw beat belongs to the bin containing its time (``time_s``, the end of the
    interval). Its NN intervals are the live detector's correction: ``corrected_count`` copies
    of ``rr_corrected_ms`` (a missed beat is split into equal parts, a removed extra beat
    contributes none; :mod:`biofeedback.live.artifacts`). A beat the detector has not
    classified (class ``""``, or a recording without live columns) contributes its raw
    interval.

    **Gaps.** HR is the mean over every NN in the bin. RMSSD uses only successive
    differences between two NN of the same bin and the same gap-free segment
    (:meth:`Recording.segment_ids`), so no difference spans a gap or a bin edge; a bin that
    contains a gap therefore has fewer differences, never a difference across the gap.

    The computation is pure numpy (no neurokit2), so it costs milliseconds per session. It
    uses the live (streaming) correction, which can differ in a few beats from the offline
    Kubios correction behind :func:`phase_windows`.
    """
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin length must be a positive number of seconds, not {bin_s!r}")
    rr = np.asarray(recording.rr_ms, dtype=np.float64)
    t = np.asarray(recording.time_s, dtype=np.float64)
    if rr.size == 0:
        return []
    # The grid starts at session time 0, where the first phase starts, so that bins line up
    # with phase boundaries; a first interval that began before 0 still ends (and is binned)
    # after 0.
    t_end = max(float(t[-1]), 0.0)
    n_bins = max(1, math.ceil(t_end / bin_s - 1e-9))
    # The last beat may sit exactly on a bin edge: fold it into the last bin rather than open
    # a bin of one beat.
    beat_bin = np.clip(np.floor(t / bin_s).astype(np.int64), 0, n_bins - 1)

    nn_value, nn_count, classified, flagged = _live_nn(recording, rr)
    seg = recording.segment_ids()
    # Expand to one entry per NN interval, carrying the bin and segment of its raw beat.
    nn = np.repeat(nn_value, nn_count)
    nn_bin = np.repeat(beat_bin, nn_count)
    nn_seg = np.repeat(seg, nn_count)
    same = (nn_bin[1:] == nn_bin[:-1]) & (nn_seg[1:] == nn_seg[:-1])
    sq = np.diff(nn) ** 2
    diff_bin = nn_bin[1:][same]
    sq = sq[same]

    n_beats = np.bincount(beat_bin, minlength=n_bins)
    n_classified = np.bincount(beat_bin, weights=classified, minlength=n_bins)
    n_flagged = np.bincount(beat_bin, weights=flagged, minlength=n_bins)
    n_nn = np.bincount(nn_bin, minlength=n_bins)
    nn_sum = np.bincount(nn_bin, weights=nn, minlength=n_bins)
    n_diff = np.bincount(diff_bin, minlength=n_bins)
    sq_sum = np.bincount(diff_bin, weights=sq, minlength=n_bins)

    bins = []
    for k in range(n_bins):
        start = k * bin_s
        end = t_end if k == n_bins - 1 else start + bin_s
        hr = float(60000.0 * n_nn[k] / nn_sum[k]) if n_nn[k] else None
        ln_rmssd = None
        if n_diff[k] >= _MIN_BIN_DIFFS and sq_sum[k] > 0:
            ln_rmssd = 0.5 * math.log(float(sq_sum[k] / n_diff[k]))
        bins.append(TrajectoryBin(
            start_s=start,
            end_s=end,
            phase_id=_main_phase(recording.phases, start, end),
            hr_bpm=hr,
            ln_rmssd=ln_rmssd,
            n_beats=int(n_beats[k]),
            artifact_pct=float(100.0 * n_flagged[k] / n_classified[k]) if n_classified[k] else None,
        ))
    return bins


def _live_nn(
    recording: Recording, rr: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Per raw beat: NN value, NN count, classified (0/1) and flagged (0/1).

    Falls back to the raw interval (count 1) where the live detector left no decision.
    """
    n = rr.size
    value = rr.copy()
    count = np.ones(n, dtype=np.int64)
    classified = np.zeros(n, dtype=np.float64)
    flagged = np.zeros(n, dtype=np.float64)
    art, corr, cnt = recording.artifact, recording.rr_corrected_ms, recording.corrected_count
    if art is None or corr is None or cnt is None:
        return value, count, classified, flagged
    art = np.asarray(art, dtype=np.str_)
    corr = np.asarray(corr, dtype=np.float64)
    cnt = np.asarray(cnt, dtype=np.int64)
    done = art != ""
    # A removed beat has count 0 and no value; any other decided beat needs a finite value.
    usable = done & ((cnt == 0) | np.isfinite(corr))
    value[usable] = np.where(cnt[usable] == 0, 0.0, corr[usable])
    count[usable] = cnt[usable]
    classified[done] = 1.0
    flagged[done & (art != ArtifactClass.NORMAL.value)] = 1.0
    return value, count, classified, flagged


def _main_phase(phases: list[PhaseSpan], start_s: float, end_s: float) -> str | None:
    """Phase with the largest overlap with ``[start_s, end_s)``; the earlier on a tie."""
    best: str | None = None
    best_overlap = 0.0
    for phase in phases:
        overlap = min(end_s, phase.end_s) - max(start_s, phase.start_s)
        if overlap > best_overlap + 1e-9:
            best, best_overlap = phase.phase_id, overlap
    return best
