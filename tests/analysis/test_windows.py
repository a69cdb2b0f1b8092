"""Fixed-length phase windows and 1-min trajectories (biofeedback.analysis.windows)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from helpers import run_simulated_protocol

from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.analysis.windows import (
    PhaseWindow,
    WindowSettings,
    binned_trajectory,
    phase_windows,
)
from biofeedback.core.recording import Recording
from biofeedback.core.types import Gap, GapReason, PhaseSpan
from biofeedback.store import SessionStore

SPEC = "stress_reactivity:soothing_touch"
ANALYSED = ["baseline", "stressor", "practice", "recovery"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Recording:
    """A simulated soothing-touch stress-reactivity session, recorded at max speed."""
    path = tmp_path_factory.mktemp("windows") / "db.sqlite3"
    with SessionStore(path) as store:
        _, session, _ = run_simulated_protocol(store, SPEC, seed=1)
        return store.load_recording(session.session_id)


@pytest.fixture(scope="module")
def windows(recording) -> dict[str, PhaseWindow]:
    return {w.phase_id: w for w in phase_windows(recording)}


def _phase(recording: Recording, phase_id: str) -> PhaseSpan:
    return next(p for p in recording.phases if p.phase_id == phase_id)


# --- phase windows -------------------------------------------------------------------------


def test_one_window_per_analysable_phase_over_its_last_240_s(recording, windows):
    assert list(windows) == ANALYSED  # self-report phases get none, order kept
    for phase_id, w in windows.items():
        phase = _phase(recording, phase_id)
        assert (w.start_s, w.end_s) == (phase.end_s - 240.0, phase.end_s)
        assert w.duration_s == 240.0 and not w.short
        assert w.kind == phase.kind and w.phase_name == phase.name
        assert w.n_beats == int(recording.between(w.start_s, w.end_s).sum())
        assert not w.excluded and w.exclusion_reason is None
        assert w.covered_s == pytest.approx(240.0, abs=3.0)
    assert windows["practice"].practice == "soothing_touch"
    assert windows["practice"].category == "self_soothing"
    assert windows["baseline"].category is None


def test_default_windows_have_no_lf_as_240_s_is_below_the_250_s_minimum(windows):
    assert all(w.lf_ms2 is None for w in windows.values())
    assert any("LF" in note for note in windows["baseline"].notes)


def test_window_values_equal_analyze_recording_on_the_same_span(recording):
    lf240 = AnalysisSettings(min_lf_duration_s=235.0)
    windows = {w.phase_id: w for w in phase_windows(recording, analysis_settings=lf240)}
    for phase_id in ("stressor", "practice"):
        w = windows[phase_id]
        span = dataclasses.replace(_phase(recording, phase_id), start_s=w.start_s, end_s=w.end_s)
        row = analyze_recording(dataclasses.replace(recording, phases=[span]), lf240).phases[0]
        assert row.lf_ms2 is not None
        assert w.n_beats == row.n_beats
        assert w.artifact_pct == pytest.approx(row.artifact_pct, rel=1e-12)
        assert w.hr_bpm == pytest.approx(row.mean_hr_bpm, rel=1e-12)
        assert w.rmssd_ms == pytest.approx(row.rmssd_ms, rel=1e-12)
        assert w.ln_rmssd == pytest.approx(row.ln_rmssd, rel=1e-12)
        assert w.lf_ms2 == pytest.approx(row.lf_ms2, rel=1e-9)
        assert w.breaths_per_min == pytest.approx(row.breaths_per_min, rel=1e-12)
        assert w.hf_valid == row.hf_valid
        assert w.hf_ms2 == (pytest.approx(row.hf_ms2, rel=1e-9) if row.hf_valid else None)


def test_stressor_raises_hr_and_lowers_ln_rmssd(windows):
    base, stress = windows["baseline"], windows["stressor"]
    assert stress.hr_bpm > base.hr_bpm + 5
    assert stress.ln_rmssd < base.ln_rmssd - 0.3
    # Natural breathing at baseline lies in the HF band, so HF is reported.
    assert base.hf_valid and base.hf_ms2 is not None and base.hf_ms2 > 0


def test_hf_is_withheld_when_not_valid(tmp_path):
    # Slow paced breathing (about 6/min) moves RSA into LF: HF must not be reported.
    with SessionStore(tmp_path / "db.sqlite3") as store:
        _, session, _ = run_simulated_protocol(
            store, "stress_reactivity:resonance_breathing", seed=4
        )
        rec = store.load_recording(session.session_id)
    # 240-s windows get LF only when the 250-s LF minimum is relaxed below the window length
    # (the intervals inside a window add up to a little less than its length).
    lf240 = AnalysisSettings(min_lf_duration_s=235.0)
    practice = next(w for w in phase_windows(rec, analysis_settings=lf240)
                    if w.kind == "practice")
    assert practice.breaths_per_min == pytest.approx(6.0, abs=0.5)
    assert practice.hf_valid is False and practice.hf_ms2 is None
    assert practice.lf_ms2 is not None and not practice.excluded


def test_short_phase_gets_the_whole_phase_and_is_flagged(recording):
    phases = [dataclasses.replace(_phase(recording, "baseline"), start_s=120.0)]  # 180 s
    phases.append(_phase(recording, "stressor"))
    (base, stress) = phase_windows(dataclasses.replace(recording, phases=phases))
    assert base.short and (base.start_s, base.end_s) == (120.0, 300.0)
    assert base.duration_s == 180.0 and not base.excluded
    assert not stress.short and stress.duration_s == 240.0


def test_anchor_start_puts_the_window_at_the_phase_start(recording):
    out = phase_windows(recording, WindowSettings(anchor="start", length_s=120.0))
    for w in out:
        phase = _phase(recording, w.phase_id)
        assert (w.start_s, w.end_s) == (phase.start_s, phase.start_s + 120.0)
    # The first minutes of the stressor already show the response.
    by_id = {w.phase_id: w for w in out}
    assert by_id["stressor"].hr_bpm > by_id["baseline"].hr_bpm


def _with_missed_beats(recording: Recording, start_s: float, end_s: float, rate: float):
    """Merge a random ``rate`` of the beats in ``[start_s, end_s)`` into the next one (missed
    beats), never two neighbours (regular or dense errors would shift the classifier's
    adaptive thresholds instead of standing out)."""
    rr = recording.rr_ms.copy()
    inside = np.flatnonzero(recording.between(start_s, end_s))[:-1]
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(inside[::2], size=int(rate * inside.size), replace=False))
    rr[idx + 1] += rr[idx]
    keep = np.ones(rr.size, dtype=bool)
    keep[idx] = False
    return Recording(rr_ms=rr[keep], time_s=recording.time_s[keep], phases=recording.phases,
                     name="missed beats"), idx.size


def test_window_with_artifacts_above_threshold_is_excluded_with_its_reason(recording, windows):
    noisy, n_missed = _with_missed_beats(recording, 60.0, 300.0, rate=0.08)
    out = {w.phase_id: w for w in phase_windows(noisy)}
    assert list(out) == ANALYSED  # nothing dropped
    base = out["baseline"]
    assert base.artifact_pct > 5.0 and n_missed >= 15
    assert base.excluded and "artifacts" in base.exclusion_reason
    assert "> 5 %" in base.exclusion_reason
    # The correction still recovers the heart rate; only the exclusion flag changes.
    assert base.hr_bpm == pytest.approx(windows["baseline"].hr_bpm, rel=0.02)
    assert not any(out[k].excluded for k in ("stressor", "practice", "recovery"))
    lenient = phase_windows(noisy, WindowSettings(exclusion_threshold_pct=50.0))
    assert not lenient[0].excluded


def test_window_lost_in_a_gap_is_excluded_for_too_few_beats(recording):
    lost = recording.between(420.0, 655.0)
    gap = Gap(float(recording.time_s[np.flatnonzero(lost)[0] - 1]), 655.0, GapReason.LINK_LOSS)
    rec = Recording(rr_ms=recording.rr_ms[~lost], time_s=recording.time_s[~lost],
                    gaps=[gap], phases=recording.phases)
    stress = next(w for w in phase_windows(rec) if w.phase_id == "stressor")
    assert stress.excluded and "too few beats" in stress.exclusion_reason
    assert 0 < stress.n_beats < 10 and stress.covered_s < 10.0


def test_to_dict_is_json_ready(windows):
    record = windows["practice"].to_dict()
    json.dumps(record, allow_nan=False)
    assert record["phase_id"] == "practice" and record["duration_s"] == 240.0
    assert {"hr_bpm", "rmssd_ms", "ln_rmssd", "hf_ms2", "lf_ms2", "breaths_per_min",
            "hf_valid", "excluded", "exclusion_reason", "short"} <= set(record)
    json.dumps(WindowSettings().to_dict())


def test_no_windowed_phases_gives_no_windows(recording):
    reports = [p for p in recording.phases if p.kind == "self_report"]
    assert phase_windows(dataclasses.replace(recording, phases=reports)) == []
    assert phase_windows(dataclasses.replace(recording, phases=[])) == []


@pytest.mark.parametrize("kwargs", [{"length_s": 0.0}, {"anchor": "middle"},
                                    {"exclusion_threshold_pct": 101.0},
                                    {"min_covered_s": -1.0}])
def test_window_settings_are_validated(kwargs):
    with pytest.raises(ValueError):
        WindowSettings(**kwargs)


# --- trajectories ----------------------------------------------------------------------------


def test_trajectory_has_one_bin_per_started_minute(recording):
    bins = binned_trajectory(recording)
    assert len(bins) == math.ceil(recording.time_s[-1] / 60.0)
    assert all(b.end_s - b.start_s == 60.0 for b in bins[:-1])
    assert bins[0].start_s == 0.0 and bins[1].start_s == 60.0
    assert bins[-1].end_s == pytest.approx(recording.time_s[-1])
    assert sum(b.n_beats for b in bins) == recording.n_beats


def test_trajectory_hr_is_60000_over_mean_nn_of_the_bin(recording):
    bins = binned_trajectory(recording)
    n = len(bins)
    k = np.minimum((recording.time_s // 60.0).astype(int), n - 1)
    nn = np.repeat(recording.rr_corrected_ms, recording.corrected_count)
    nn_bin = np.repeat(k, recording.corrected_count)
    for i, b in enumerate(bins):
        assert b.hr_bpm == pytest.approx(60000.0 / nn[nn_bin == i].mean(), rel=1e-12)
        d = np.diff(nn[nn_bin == i])
        assert b.ln_rmssd == pytest.approx(math.log(math.sqrt(np.mean(d**2))), rel=1e-12)
        assert b.artifact_pct is not None


def test_trajectory_phase_at_boundaries(recording):
    bins = binned_trajectory(recording)
    ids = [b.phase_id for b in bins]
    assert ids[4] == "baseline"            # [240, 300)
    assert ids[5] == "report_baseline"     # [300, 360): starts on the boundary
    assert ids[6] == "stressor"            # [360, 420)
    assert ids[11] == "report_stressor" and ids[12] == "practice"
    assert ids[32] == "recovery"           # [1920, 1980)
    if recording.time_s[-1] > 1980.0:      # beats after the protocol ended
        assert ids[33] is None
    stress = np.mean([b.hr_bpm for b in bins[7:11]])
    base = np.mean([b.hr_bpm for b in bins[1:5]])
    assert stress > base


def test_trajectory_straddling_bins_take_the_phase_they_overlap_most():
    rr = np.full(180, 1000.0)
    t = np.arange(1, 181, dtype=float)
    phases = [PhaseSpan("a", "A", "baseline", 0.0, 100.0),
              PhaseSpan("b", "B", "stressor", 100.0, 180.0)]
    ids = [b.phase_id for b in binned_trajectory(Recording(rr, t, phases=phases))]
    assert ids == ["a", "a", "b"]          # [60, 120): 40 s of a, 20 s of b
    phases[0] = dataclasses.replace(phases[0], end_s=80.0)
    phases[1] = dataclasses.replace(phases[1], start_s=80.0)
    ids = [b.phase_id for b in binned_trajectory(Recording(rr, t, phases=phases))]
    assert ids == ["a", "b", "b"]


def test_trajectory_rmssd_never_crosses_a_gap_and_uses_live_correction():
    # Segment 1 alternates 950/1050 ms, segment 2 (after a gap) 550/650 ms: every
    # within-segment difference is 100 ms, the one across the gap would be about 400 ms.
    rr1 = np.tile([950.0, 1050.0], 15)
    rr2 = np.tile([550.0, 650.0], 15)
    t1 = np.cumsum(rr1) / 1000.0                       # ends at 30 s
    t2 = 40.0 + np.cumsum(rr2) / 1000.0                # after a 10 s gap, ends at 58 s
    rr = np.concatenate([rr1, rr2])
    t = np.concatenate([t1, t2])
    gap = Gap(float(t1[-1]), 40.0, GapReason.LINK_LOSS)
    (b,) = binned_trajectory(Recording(rr, t, gaps=[gap]))
    assert b.ln_rmssd == pytest.approx(math.log(100.0))
    assert b.hr_bpm == pytest.approx(60000.0 / rr.mean())
    assert b.artifact_pct is None  # no live classes in this recording

    # A missed beat the live detector split in two: two NN of half the raw interval.
    rr = np.full(60, 1000.0)
    rr[30] = 2000.0
    t = np.cumsum(rr) / 1000.0
    artifact = np.full(60, "normal")
    artifact[30] = "missed"
    corrected = rr.copy()
    corrected[30] = 1000.0
    count = np.ones(60, dtype=np.int64)
    count[30] = 2
    rec = Recording(rr, t, artifact=artifact, rr_corrected_ms=corrected, corrected_count=count)
    bins = binned_trajectory(rec)
    assert all(b.hr_bpm == pytest.approx(60.0) for b in bins)
    assert sum(b.n_beats for b in bins) == 60
    flagged = [b for b in bins if b.artifact_pct]
    assert len(flagged) == 1
    assert flagged[0].artifact_pct == pytest.approx(100.0 / flagged[0].n_beats)


def test_trajectory_rejects_a_bad_bin_length(recording):
    with pytest.raises(ValueError):
        binned_trajectory(recording, bin_s=0.0)
    assert binned_trajectory(Recording(np.zeros(0), np.zeros(0))) == []
