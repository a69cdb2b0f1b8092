"""The whole comparison: data set -> contrasts -> statistics, as one JSON-ready result.

``biofeedback compare`` prints it; the HTML report and the window's view build on it.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any

from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.analysis.windows import WindowSettings
from biofeedback.comparison.contrasts import (
    METRICS,
    PracticeResponse,
    category_comparisons,
    participant_means,
    practice_responses,
)
from biofeedback.comparison.dataset import (
    RR_SOURCES,
    SkippedSession,
    WindowRow,
    comparison_data,
    select_sessions,
    sessions_with_ecg,
)
from biofeedback.comparison.feedback import SPLITS, feedback_split
from biofeedback.comparison.feedback_methods import phase_feedback_counts
from biofeedback.comparison.reactivity import session_reactivity
from biofeedback.store.database import SessionStore

__all__ = ["DEFAULT_ANALYSIS", "compare", "model_rows", "participant_trends"]

DEFAULT_ANALYSIS = AnalysisSettings(min_lf_duration_s=235.0)
"""Analysis settings of the comparison: as the per-phase analysis, except that LF is computed
on windows from 235 s, so that the default 240-s windows (whose beats add up to slightly less
than 240 s) get LF; the Task Force (1996) minimum of ~2 min for LF is still met."""


def compare(
    data_dir: str | os.PathLike[str] | None,
    *,
    study: str | None = None,
    participants: Sequence[str] = (),
    window: WindowSettings | None = None,
    analysis: AnalysisSettings = DEFAULT_ANALYSIS,
    confidence: float = 0.95,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    split_by: str | None = None,
    rr_source: str = "strap",
) -> tuple[dict[str, Any], list[WindowRow]]:
    """Run the comparison; returns the JSON-ready result and the tidy window rows.

    The exclusion threshold is the study's (``study create --exclusion-threshold``) unless
    ``window`` sets one. ``split_by="feedback"`` adds ``result["feedback"]``: each practice
    with feedback shown against the same practice with it hidden
    (:func:`~biofeedback.comparison.feedback.feedback_split`).

    ``rr_source="ecg"`` takes every session's RR from its stored raw ECG (in the worker
    processes, as ``analyze --rr-source ecg`` does). A session without stored ECG is
    EXCLUDED, never analysed from the strap's RR instead: it is listed in
    ``result["excluded"]`` with the reason ``"no stored ECG"``. ``result["ecg_rr"]`` then
    holds each compared session's R-peak provenance (neurokit2 version, method, keyword
    arguments) and its beat-by-beat agreement with the strap, and the sessions left out.

    Breathing changes compare like with like
    (:func:`~biofeedback.comparison.contrasts.same_source_breathing`):
    ``result["breathing_change_sources"]`` counts the changes taken from the accelerometer
    and from the RR spectrum, ``result["breathing"]["participant_sources"]`` the participants
    whose self-soothing and attention rates were compared on each.

    Raises
    ------
    ValueError
        ``split_by`` is not one of :data:`~biofeedback.comparison.feedback.SPLITS`, or
        ``rr_source`` not one of :data:`~biofeedback.comparison.dataset.RR_SOURCES`.
    NoEcgError
        ``rr_source="ecg"`` and no chosen session has stored ECG.
    """
    if split_by is not None and split_by not in SPLITS:
        raise ValueError(f"cannot split by {split_by!r}; choose one of {', '.join(SPLITS)}")
    if rr_source not in RR_SOURCES:
        raise ValueError(f"rr_source must be one of {', '.join(RR_SOURCES)}, got {rr_source!r}")
    with SessionStore.open_for_reading(data_dir) as store:
        sessions, skipped = select_sessions(store, study=study, participants=participants)
        if rr_source == "ecg":
            sessions, without_ecg = sessions_with_ecg(store, sessions)
            skipped = [*skipped, *without_ecg]
        threshold = 5.0
        if study is not None:
            from biofeedback.store.studies import get_study

            threshold = get_study(store, study).exclusion_threshold_pct
        database = store.path
    if window is None:
        window = WindowSettings(exclusion_threshold_pct=threshold)
    ecg_sessions: dict[int, dict[str, Any]] = {}
    rows, trajectories = comparison_data(database, sessions, window, analysis,
                                         workers=workers, progress=progress,
                                         rr_source=rr_source, ecg_sessions=ecg_sessions)
    # A session whose ECG held no beats is left out like one without ECG, with its reason.
    no_beats = [SkippedSession(ref.session_id, ref.participant_id, why)
                for ref in sessions
                if (why := ecg_sessions.get(ref.session_id, {}).get("skip")) is not None]
    skipped = [*skipped, *no_beats]
    sessions = [ref for ref in sessions if ref.session_id in trajectories]
    responses = practice_responses(rows)
    comparisons = category_comparisons(responses, METRICS, confidence=confidence)
    from biofeedback.stats.breathing import breathing_confound
    from biofeedback.stats.mixed import fit_practice_model

    breathing_means, breathing_sources = _breathing_means(responses)
    breathing = breathing_confound(
        [m.get("self_soothing", math.nan) for m in breathing_means.values()],
        [m.get("attention", math.nan) for m in breathing_means.values()],
        hf_difference=next((c.mean_diff for c in comparisons if c.metric == "delta_hf_ms2"),
                           None),
    )
    model = fit_practice_model(model_rows(rows, responses), outcome="delta_ln_rmssd")
    result = {
        "comparisons": [
            c.to_dict() | {"note": c.note} | _breathing_beside(breathing_means)
            for c in comparisons
        ],
        "mixed_model": model.to_dict(),
        # Participants whose practice rates were compared on the ACC, and on the RR spectrum.
        "breathing": breathing.to_dict() | {"participant_sources": {
            source: sum(1 for s in breathing_sources.values() if s == source)
            for source in ("acc", "rr")}},
        # Where each Δ breathing came from (one source for both windows of each change).
        "breathing_change_sources": _change_sources(responses),
        "per_practice": _per_practice(responses),
        "participants": _participants(responses),
        "trends": participant_trends(rows, responses),
        "trajectories": [
            {"session_id": ref.session_id, "participant_id": ref.participant_id,
             "condition": ref.condition, "bins": trajectories[ref.session_id]}
            for ref in sessions
        ],
        "reactivity": [r.to_dict() for r in session_reactivity(rows)],
        "excluded": _excluded(rows, skipped, responses),
        # Where the participants saw their physiology: the methods paragraph names it.
        "phase_feedback": phase_feedback_counts(r.window for r in rows),
        # Which windows' breathing was measured (ACC) and which read off the RR spectrum.
        "breathing_sources": breathing_source_counts(r.window for r in rows),
        "settings": {
            "study": study,
            "participants": list(participants),
            "sessions": [s.session_id for s in sessions],
            "window": window.to_dict(),
            "analysis": asdict(analysis),
            "confidence": confidence,
            "contrast": "self_soothing - attention (each as change from the session baseline)",
            "metrics": list(METRICS),
            "trajectory_bin_s": 60.0,
            "split_by": split_by,
            "rr_source": rr_source,
        },
    }
    if rr_source == "ecg":
        result["ecg_rr"] = _ecg_summary(sessions, ecg_sessions, skipped)
    if split_by == "feedback":
        result["feedback"] = feedback_split(rows, METRICS, confidence=confidence)
    return result, rows


def model_rows(rows: Sequence[WindowRow], responses: Sequence[PracticeResponse]) -> list[dict]:
    """Rows of the mixed model: Δ lnRMSSD from baseline of each practice window (phase
    ``practice``) and of recovery windows that follow a single practice category (phase
    ``recovery``); ``order`` is the position of the practice in the participant's sequence."""
    out: list[dict[str, Any]] = []
    practice_order: dict[int, list[str]] = defaultdict(list)
    for r in responses:
        practice_order[r.session_id].append(r.phase_id)
    for r in responses:
        out.append({
            "participant": r.participant_id, "category": r.category, "phase": "practice",
            "order": _order(r.position, practice_order[r.session_id].index(r.phase_id)),
            "delta_ln_rmssd": _nan(r.delta.get("ln_rmssd")),
            "excluded": "ln_rmssd" in r.missing and "excluded" in r.missing["ln_rmssd"],
        })
    categories: dict[int, set[str]] = defaultdict(set)
    positions: dict[int, int | None] = {}
    for r in responses:
        categories[r.session_id].add(r.category)
        positions[r.session_id] = r.position
    by_session: dict[int, dict[str, WindowRow]] = defaultdict(dict)
    for row in rows:
        by_session[row.session_id][row.window["kind"]] = row
    for session_id, kinds in by_session.items():
        if len(categories.get(session_id, ())) != 1 or "recovery" not in kinds:
            continue
        baseline, recovery = kinds.get("baseline"), kinds["recovery"]
        delta = None
        if baseline is not None and not baseline.window["excluded"]:
            a, b = recovery.window.get("ln_rmssd"), baseline.window.get("ln_rmssd")
            delta = None if a is None or b is None else a - b
        out.append({
            "participant": recovery.participant_id,
            "category": next(iter(categories[session_id])), "phase": "recovery",
            "order": _order(positions.get(session_id), 0),
            "delta_ln_rmssd": _nan(delta),
            "excluded": bool(recovery.window["excluded"]) or (
                baseline is not None and bool(baseline.window["excluded"])),
        })
    return out


def participant_trends(
    rows: Sequence[WindowRow], responses: Sequence[PracticeResponse]
) -> list[dict[str, Any]]:
    """Per participant, session by session in date order: the resting baseline lnRMSSD and
    each practice's Δ lnRMSSD (benefits are reported to build over 4-8 weeks of practice,
    so the trend over sessions is shown, not only the mean), with a least-squares slope per
    week where there are at least 3 sessions spanning more than a day."""
    from datetime import datetime

    baselines: dict[int, float | None] = {}
    meta: dict[int, tuple[str, str]] = {}
    for row in rows:
        meta[row.session_id] = (row.participant_id, row.session_started_utc)
        if row.window["kind"] == "baseline":
            ok = not row.window["excluded"] and row.window.get("ln_rmssd") is not None
            baselines[row.session_id] = float(row.window["ln_rmssd"]) if ok else None
    practices: dict[int, dict[str, float | None]] = defaultdict(dict)
    for r in responses:
        practices[r.session_id][r.practice] = r.delta.get("ln_rmssd")
    out = []
    by_participant: dict[str, list[int]] = defaultdict(list)
    for session_id, (participant, _) in meta.items():
        by_participant[participant].append(session_id)
    for participant in sorted(by_participant):
        sessions = sorted(by_participant[participant], key=lambda sid: meta[sid][1])
        days = [datetime.fromisoformat(meta[sid][1].replace("Z", "+00:00")) for sid in sessions]
        entries = [
            {"session_id": sid, "started_utc": meta[sid][1],
             "days_since_first": round((day - days[0]).total_seconds() / 86400.0, 3),
             "baseline_ln_rmssd": baselines.get(sid),
             "delta_ln_rmssd": dict(practices.get(sid, {}))}
            for sid, day in zip(sessions, days, strict=True)
        ]
        out.append({"participant_id": participant, "sessions": entries,
                    "baseline_slope_per_week": _slope_per_week(entries)})
    return out


def _slope_per_week(entries: list[dict[str, Any]]) -> float | None:
    points = [(e["days_since_first"], e["baseline_ln_rmssd"]) for e in entries
              if e["baseline_ln_rmssd"] is not None]
    if len(points) < 3 or points[-1][0] - points[0][0] < 1.0:
        return None
    xs = [p[0] / 7.0 for p in points]
    ys = [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _order(position: int | None, within: int) -> int:
    # One practice per session: the session's place in the order; two in one session
    # (practice_comparison): their place within it.
    return within if position in (None, 0) else position


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _breathing_beside(means: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """Mean breathing rate of each category over participants, breaths/min: reported beside
    every contrast, since breathing alone moves HF and RMSSD."""
    out: dict[str, float | None] = {}
    for category in ("self_soothing", "attention"):
        values = [m[category] for m in means.values() if category in m]
        out[f"breaths_per_min_{category}"] = sum(values) / len(values) if values else None
    return out


def _participants(responses: Sequence[PracticeResponse]) -> list[dict[str, Any]]:
    """Per participant: the mean Δ of each metric in each category over their sessions, and
    their mean breathing rate per category (the paired values behind every comparison)."""
    breathing, sources = _breathing_means(responses)
    means = {metric: participant_means(responses, metric) for metric in METRICS}
    # Each practice's means over every participant once, and each participant's practices
    # from their own responses: asked per participant, both scanned the whole study (time
    # growing with the square of its size).
    practices_of: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in responses:
        practices_of[r.participant_id].add((r.category, r.practice))
    practice_means = {
        (practice, metric): participant_means(responses, metric, practice=practice)
        for practice in {r.practice for r in responses} for metric in METRICS
    }
    out = []
    for participant in sorted(breathing):
        entry: dict[str, Any] = {"participant_id": participant}
        for metric in METRICS:
            for category in ("self_soothing", "attention"):
                entry[f"delta_{metric}_{category}"] = means[metric][participant][category]
        for category in ("self_soothing", "attention"):
            entry[f"breaths_per_min_{category}"] = breathing[participant].get(category)
        entry["breathing_source"] = sources[participant]
        entry["per_practice"] = {
            practice: {
                f"delta_{metric}": practice_means[(practice, metric)]
                .get(participant, {}).get(category)
                for metric in METRICS
            }
            for category, practice in sorted(practices_of[participant])
        }
        out.append(entry)
    return out


def breathing_source_counts(windows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many windows took their breathing rate from each source.

    Parameters
    ----------
    windows : iterable of dict
        :meth:`PhaseWindow.to_dict` records.

    Returns
    -------
    dict
        ``{"acc": n, "rr": m}``: windows whose ``breaths_per_min`` was counted from the chest
        accelerometer, and those read off the RR spectrum (windows without a rate are in
        neither).
    """
    counts = {"acc": 0, "rr": 0}
    for window in windows:
        source = window.get("breathing_source")
        if source in counts:
            counts[source] += 1
    return counts


def _breathing_means(
    responses: Sequence[PracticeResponse],
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Participant -> category -> mean breathing rate during the practices, breaths/min, and
    participant -> the source of those rates.

    The self-soothing and attention rates of one participant are compared with each other,
    so they come from one source: the chest accelerometer's when every practice window of
    that participant has a reliable ACC rate, else the RR spectrum's for all of them.
    """
    by_participant: dict[str, list[PracticeResponse]] = defaultdict(list)
    for r in responses:
        by_participant[r.participant_id].append(r)
    means: dict[str, dict[str, float]] = {}
    sources: dict[str, str] = {}
    for participant, own in by_participant.items():
        acc = all(r.breathing_source == "acc" for r in own)
        values: dict[str, list[float]] = defaultdict(list)
        for r in own:
            rate = r.breaths_per_min if acc else r.breaths_per_min_rr
            if rate is not None:
                values[r.category].append(rate)
        # Every participant appears, even without a breathing rate.
        means[participant] = {c: sum(v) / len(v) for c, v in values.items()}
        sources[participant] = "acc" if acc else "rr"
    return means, sources


def _change_sources(responses: Sequence[PracticeResponse]) -> dict[str, int]:
    """How many practice responses' Δ breathing came from each source (``acc``: both
    windows counted on the chest accelerometer; ``rr``: both read off the RR spectrum)."""
    counts = {"acc": 0, "rr": 0}
    for r in responses:
        if r.breathing_change_source in counts:
            counts[r.breathing_change_source] += 1
    return counts


def _ecg_summary(
    sessions: Sequence[Any],
    ecg_sessions: dict[int, dict[str, Any]],
    skipped: Sequence[SkippedSession],
) -> dict[str, Any]:
    """``result["ecg_rr"]``: how the RR was found in the ECG, per session its provenance
    and agreement with the strap, their range, and the sessions left out for want of ECG."""
    from biofeedback.comparison.dataset import NO_ECG

    per_session = []
    for ref in sessions:
        entry = ecg_sessions[ref.session_id]
        per_session.append({"session_id": ref.session_id, "participant_id": ref.participant_id,
                            "n_beats": entry["n_beats"], **entry["agreement"],
                            "provenance": entry["provenance"]})
    first = per_session[0]["provenance"] if per_session else {}

    def span(key: str) -> list[Any] | None:
        values = [e[key] for e in per_session if e[key] is not None]
        return [min(values), max(values)] if values else None

    return {
        "detector": first.get("detector"),
        "method": first.get("method"),
        "neurokit2": sorted({e["provenance"]["neurokit2"] for e in per_session}),
        "refinement": first.get("refinement"),
        "sessions": per_session,
        "range": {key: span(key) for key in ("ecg_pairs", "ecg_median_abs_dt_ms",
                                             "ecg_median_abs_drr_ms", "ecg_unmatched",
                                             "strap_unmatched")},
        "excluded": [{"session_id": s.session_id, "participant_id": s.participant_id,
                      "reason": s.reason} for s in skipped if s.reason == NO_ECG
                     or s.reason.startswith("no R-peaks")],
    }


def _per_practice(responses: Sequence[PracticeResponse]) -> list[dict[str, Any]]:
    """Mean Δ per practice over participants (each participant's mean over sessions), and
    the sources of its breathing rates (``breathing_sources``: practice windows counted on
    the accelerometer or read off the RR spectrum; ``breathing_change_sources``: the one
    source of each Δ breathing)."""
    practices = sorted({(r.category, r.practice) for r in responses})
    out = []
    for category, practice in practices:
        entry: dict[str, Any] = {"practice": practice, "category": category}
        for metric in METRICS:
            means = participant_means(responses, metric, practice=practice)
            values = [v for m in means.values() if (v := m[category]) is not None]
            entry[f"delta_{metric}"] = sum(values) / len(values) if values else None
            entry[f"n_{metric}"] = len(values)
        own = [r for r in responses if r.practice == practice and r.category == category]
        # Where the practice windows' breathing came from, and each Δ breathing's one source.
        entry["breathing_sources"] = {
            source: sum(1 for r in own if r.breathing_source == source) for source in ("acc", "rr")
        }
        entry["breathing_change_sources"] = _change_sources(own)
        out.append(entry)
    return out


def _excluded(
    rows: Sequence[WindowRow],
    skipped: Sequence[SkippedSession],
    responses: Sequence[PracticeResponse],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"what": "session", "session_id": s.session_id, "participant_id": s.participant_id,
         "reason": s.reason}
        for s in skipped
    ]
    for row in rows:
        if row.window["excluded"]:
            out.append({"what": "window", "session_id": row.session_id,
                        "participant_id": row.participant_id, "phase_id": row.window["phase_id"],
                        "reason": row.window["exclusion_reason"]})
    for r in responses:
        for metric, why in r.missing.items():
            if "excluded" not in why:  # excluded windows are listed once above
                out.append({"what": f"delta_{metric}", "session_id": r.session_id,
                            "participant_id": r.participant_id, "phase_id": r.phase_id,
                            "reason": why})
    return out
