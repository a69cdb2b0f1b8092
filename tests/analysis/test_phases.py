"""Per-phase analysis: gaps, artifacts, breathing rate, short phases, output format."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import biofeedback.analysis.phases as phases_module
from biofeedback.analysis import (
    PHASE_KEYS,
    AnalysisSettings,
    analyze_recording,
    format_table,
)
from biofeedback.core.formatting import MISSING
from biofeedback.core.recording import Recording
from biofeedback.core.types import Gap, GapReason, PhaseSpan


def synth(
    duration_s=300.0, breath_hz=0.2, seed=1, mean=850.0, rsa=40.0, lf=10.0, noise=4.0, t0=0.0
):
    """RR series with respiratory sinus arrhythmia at ``breath_hz``, a small 0.09 Hz LF
    component and white noise; beat times are the cumulative sum of the intervals."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    t, rr, times = t0, [], []
    while t < t0 + duration_s:
        v = mean + rsa * np.sin(2 * np.pi * breath_hz * t + phase)
        v += lf * np.sin(2 * np.pi * 0.09 * t) + rng.normal(0, noise)
        t += v / 1000.0
        rr.append(v)
        times.append(t)
    return np.array(rr), np.array(times)


def inject(rr, frac, seed):
    """Replace ``frac`` of the beats by missed, extra and ectopic beats (in turn)."""
    rng = np.random.default_rng(seed)
    out = list(rr)
    k = round(frac * len(out))
    positions = np.sort(rng.choice(np.arange(20, len(out) - 20, 8), k, replace=False))[::-1]
    for j, p in enumerate(positions):
        kind = ("missed", "extra", "ectopic")[j % 3]
        if kind == "missed":  # two intervals read as one
            out[p : p + 2] = [out[p] + out[p + 1]]
        elif kind == "extra":  # one interval split by a false detection
            out[p : p + 1] = [out[p] * 0.4, out[p] * 0.6]
        else:  # premature beat with a compensatory pause
            d = 0.3 * out[p]
            out[p] -= d
            out[p + 1] += d
    return np.array(out)


def rmssd(x):
    return float(np.sqrt(np.mean(np.diff(x) ** 2)))


# --- output format -----------------------------------------------------------------------


def test_each_phase_row_carries_its_feedback():
    rr, t = synth(240)
    half = float(t[len(t) // 2])
    rec = Recording(rr, t, phases=[
        PhaseSpan("stressor", "Stressor", "stressor", 0.0, half, feedback="hidden"),
        PhaseSpan("resonance", "Resonance", "practice", half, float(t[-1]) + 1, "resonance",
                  "breathing", "shown")])
    rows = analyze_recording(rec).to_dict()["phases"]
    assert [(r["phase_id"], r["feedback"]) for r in rows] == [
        ("stressor", "hidden"), ("resonance", "shown")]


def test_to_dict_has_exactly_the_documented_keys():
    rr, t = synth(120)
    rec = Recording(rr, t, name="s1", source="sim")
    out = analyze_recording(rec).to_dict()
    assert set(out) == {"session", "phases", "settings", "versions"}
    row = out["phases"][0]
    assert list(row)[: len(PHASE_KEYS)] == list(PHASE_KEYS)
    assert set(row) == {*PHASE_KEYS, "phase_id", "kind", "feedback", "breaths_per_min_rr",
                        "breaths_per_min_acc", "breathing_source"}
    assert row["feedback"] is None  # the whole recording: nothing recorded about feedback
    assert out["session"]["name"] == "s1" and out["session"]["source"] == "sim"
    assert set(out["versions"]) >= {"neurokit2", "numpy", "scipy", "pandas", "python"}
    assert out["versions"]["neurokit2"] == "0.2.13"
    assert "biofeedback" in out["versions"]
    calls = out["settings"]["neurokit2_calls"]
    assert calls["hrv_frequency"]["normalize"] is False
    assert calls["hrv_frequency"]["interpolation_rate"] == 4.0
    json.dumps(out, allow_nan=False)


def test_format_table_lists_every_phase():
    rr, t = synth(200)
    rec = Recording(
        rr,
        t,
        name="table",
        phases=[
            PhaseSpan("a", "baseline", "baseline", 0, 100),
            PhaseSpan("b", "a phase with a very long name", "practice", 100, 200),
        ],
    )
    text = format_table(analyze_recording(rec))
    lines = text.splitlines()
    assert lines[0] == "table - artifact correction: kubios"
    assert any(line.startswith("baseline ") for line in lines)
    assert any(line.startswith("a phase with a ve~") for line in lines)
    widths = {len(line) for line in lines[1:5]}
    assert len(widths) == 1  # fixed width


def test_settings_to_dict_and_validation():
    d = AnalysisSettings().to_dict()
    assert d["correction"] == "kubios" and d["hf_band_hz"] == [0.15, 0.4]
    assert d["interpolation_rate_hz"] == 4.0 and d["min_hf_breaths_per_min"] == 9.0
    json.dumps(d)
    with pytest.raises(ValueError):
        AnalysisSettings(correction="spline")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AnalysisSettings(hf_band_hz=(0.4, 0.15))


def test_lazy_import_of_neurokit2():
    code = (
        "import sys, biofeedback.analysis\n"
        "from biofeedback.analysis import AnalysisSettings, analyze_recording, format_table\n"
        "assert 'neurokit2' not in sys.modules, 'neurokit2 imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- short phases ------------------------------------------------------------------------


def test_short_and_empty_phases_still_produce_rows():
    rr, t = synth(120)
    rec = Recording(
        rr,
        t,
        phases=[
            PhaseSpan("empty", "empty", "rest", 500, 510),
            PhaseSpan("one", "one beat", "rest", t[9] - 1e-6, t[9] + 1e-6),
            PhaseSpan("two", "two beats", "rest", t[9] - 1e-6, t[10] + 1e-6),
            PhaseSpan("ten", "ten seconds", "rest", 10, 20),
            PhaseSpan("whole", "all", "rest", 0, 200),
        ],
    )
    result = analyze_recording(rec)
    rows = {p.phase_id: p for p in result.phases}
    assert rows["empty"].n_beats == 0 and rows["empty"].mean_rr_ms is None
    assert rows["empty"].artifact_pct is None
    assert rows["one"].n_beats == 1 and rows["one"].mean_rr_ms == pytest.approx(rr[9])
    assert rows["one"].rmssd_ms is None and rows["one"].sdnn_ms is None
    assert rows["two"].n_beats == 2 and rows["two"].rmssd_ms is None
    ten = rows["ten"]
    assert ten.rmssd_ms is not None and ten.hf_ms2 is None and ten.hf_valid is False
    assert any("67" in note for note in ten.notes)
    whole = rows["whole"]
    assert whole.hf_ms2 is not None and whole.lf_ms2 is None  # 120 s < 250 s for LF
    json.dumps(result.to_dict(details=True), allow_nan=False)
    assert MISSING in format_table(result)  # the None indices of the short phases


def test_empty_recording():
    rec = Recording(np.zeros(0), np.zeros(0))
    row = analyze_recording(rec).phases[0]
    assert row.name == "whole recording" and row.n_beats == 0 and row.mean_hr_bpm is None


def test_invalid_input_raises():
    with pytest.raises(ValueError, match="positive"):
        analyze_recording(Recording(np.array([800.0, 0.0, 800.0]), np.array([0.8, 0.8, 1.6])))
    with pytest.raises(ValueError, match="equal length"):
        analyze_recording(Recording(np.array([800.0, 800.0]), np.array([0.8])))


# --- breathing rate ----------------------------------------------------------------------


@pytest.mark.parametrize(("breaths_per_min", "valid"), [(12.0, True), (15.0, True), (6.0, False)])
def test_breathing_rate_and_hf_validity(breaths_per_min, valid):
    rr, t = synth(300, breath_hz=breaths_per_min / 60.0, seed=7)
    row = analyze_recording(Recording(rr, t)).phases[0]
    assert row.breaths_per_min == pytest.approx(breaths_per_min, abs=0.5)
    assert row.hf_valid is valid
    if not valid:
        assert any("below 9/min" in note for note in row.notes)


def test_slow_breathing_moves_power_from_hf_to_lf():
    fast = analyze_recording(Recording(*synth(300, breath_hz=0.2, seed=3))).phases[0]
    slow = analyze_recording(Recording(*synth(300, breath_hz=0.1, seed=3))).phases[0]
    assert slow.lf_ms2 > 5 * slow.hf_ms2
    assert fast.hf_ms2 > fast.lf_ms2


# --- gaps --------------------------------------------------------------------------------


def _gapped(gap_s=20.0):
    a, ta = synth(150, seed=11, mean=800)
    b, tb = synth(150, seed=12, mean=820, t0=ta[-1] + gap_s)
    gap = Gap(float(ta[-1]) + 0.5, float(tb[0] - b[0] / 1000), GapReason.LINK_LOSS)
    return np.r_[a, b], np.r_[ta, tb], gap, a.size


def test_no_successive_difference_crosses_a_gap():
    rr, t, gap, n_a = _gapped()
    rec = Recording(rr, t, gaps=[gap])
    assert list(np.unique(rec.segment_ids())) == [0, 1]
    row = analyze_recording(rec, AnalysisSettings(correction="none")).phases[0]
    within = np.r_[np.diff(rr[:n_a]), np.diff(rr[n_a:])]
    assert row.rmssd_ms == pytest.approx(math.sqrt(np.mean(within**2)), rel=1e-12)
    assert row.pnn50_pct == pytest.approx(100 * np.mean(np.abs(within) > 50))
    assert row.sd1_ms == pytest.approx(math.sqrt(np.var(within, ddof=1) / 2), rel=1e-12)
    assert row.sdnn_ms == pytest.approx(np.std(rr, ddof=1), rel=1e-12)
    across = np.diff(rr)
    assert row.rmssd_ms != pytest.approx(math.sqrt(np.mean(across**2)), rel=1e-9)
    assert row.n_segments == 2
    # Each 150 s run enters HF; neither is long enough for LF.
    assert row.hf_ms2 is not None and row.lf_ms2 is None
    assert row.spectral_duration_s == pytest.approx(np.sum(rr) / 1000, rel=1e-9)


def test_correction_never_spans_a_gap(monkeypatch):
    # A level step of 250 ms at the gap looks like an artifact if the runs were joined.
    a, ta = synth(150, seed=21, mean=600, rsa=25)
    b, tb = synth(150, seed=22, mean=850, rsa=25, t0=ta[-1] + 30)
    rr, t = np.r_[a, b], np.r_[ta, tb]
    gap = Gap(float(ta[-1]) + 1.0, float(tb[0] - b[0] / 1000), GapReason.LINK_LOSS)

    calls = []
    original = phases_module.classify_peaks

    def spy(peaks, kwargs):
        calls.append(np.diff(peaks) / (kwargs["sampling_rate"] / 1000))
        return original(peaks, kwargs)

    monkeypatch.setattr(phases_module, "classify_peaks", spy)
    joined = analyze_recording(Recording(rr, t), AnalysisSettings(spectral=False)).phases[0]
    n_joined_calls = len(calls)
    calls.clear()
    split = analyze_recording(Recording(rr, t, gaps=[gap]), AnalysisSettings(spectral=False))
    row = split.phases[0]
    # Every classification call saw intervals of a single run, never both.
    assert len(calls) >= 2 and n_joined_calls >= 1
    for intervals in calls:
        assert np.all(intervals < 725) or np.all(intervals > 725)
    assert row.artifact_pct == 0.0
    assert row.n_analysed == rr.size
    assert joined.artifact_pct > 0.0  # the joined series has a flagged beat at the step


# --- artifacts ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_kubios_correction_recovers_rmssd(seed):
    rr, t = synth(300, seed=seed)
    bad = inject(rr, 0.02, seed + 100)
    times = t[0] - rr[0] / 1000 + np.cumsum(bad) / 1000
    clean = rmssd(rr)
    corrected = analyze_recording(Recording(bad, times)).phases[0]
    raw = analyze_recording(Recording(bad, times), AnalysisSettings(correction="none"))
    raw_row = raw.phases[0]
    assert corrected.rmssd_ms == pytest.approx(clean, rel=0.05)
    assert raw_row.rmssd_ms > 2 * clean
    assert corrected.artifact_pct == raw_row.artifact_pct
    assert corrected.artifact_pct >= 2.0
    assert corrected.n_analysed == pytest.approx(rr.size, abs=1)


def test_clean_series_is_left_alone():
    rr, t = synth(300, seed=5)
    row = analyze_recording(Recording(rr, t)).phases[0]
    assert row.artifact_pct == 0.0
    assert row.rmssd_ms == pytest.approx(rmssd(rr), rel=1e-9)
