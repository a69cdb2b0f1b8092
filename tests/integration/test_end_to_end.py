"""Simulated strap -> live session -> store -> analysis, checked against the ground truth."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.core.types import PhaseSpan
from biofeedback.session.live_session import BeatsProcessed, LiveSession, NeuroKitUpdate
from biofeedback.store import SessionStore
from sensors.simulated import ArtifactRates, PhysiologySegment, SimulatedStrap


def rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def record(store: SessionStore, strap: SimulatedStrap, **kwargs) -> LiveSession:
    session = LiveSession(strap, store=store, neurokit=False, commit_interval_s=0.05, **kwargs)
    asyncio.run(session.run())
    return session


def test_ten_minute_recording_agrees_with_ground_truth(store):
    strap = SimulatedStrap(seed=21, speed="max", duration_s=600.0)
    session = record(store, strap)
    truth = strap.ground_truth()
    info = store.session_info(session.session_id)
    assert info.status == "complete" and info.source == "sim"
    assert info.device_info["model"] == "Simulated strap"
    assert info.settings["source"]["seed"] == 21 and "live" in info.settings
    assert "numpy" in info.versions and "neurokit2" in info.versions

    rec = store.load_recording(session.session_id)
    # Every delivered beat is stored with its raw value, and every one got a class.
    np.testing.assert_allclose(rec.rr_ms, truth.delivered_rr_ms)
    assert (rec.artifact != "").all()
    assert rec.duration_s == pytest.approx(600.0, abs=2.0)

    result = analyze_recording(rec).to_dict()
    whole = result["phases"][0]
    clean = truth.clean_window(0.0, 600.0)
    assert whole["n_beats"] == rec.n_beats
    assert whole["mean_hr_bpm"] == pytest.approx(60000 / clean.mean(), abs=0.5)
    assert whole["rmssd_ms"] == pytest.approx(rmssd(clean), rel=0.05)
    assert whole["breaths_per_min"] == pytest.approx(12.0, abs=1.0)
    assert whole["hf_valid"] is True
    assert whole["artifact_pct"] < 1.0

    live = session.indices()
    last = truth.clean_window(540.0, 600.0)
    assert live.rmssd_60_ms == pytest.approx(rmssd(last), rel=0.1)
    assert live.hr_bpm == pytest.approx(60000 / truth.clean_window(590, 600).mean(), rel=0.05)
    assert live.breaths_per_min == pytest.approx(12.0, abs=1.0)
    assert live.hf_ms2 is not None and live.lf_ms2 is not None


def test_two_percent_artifacts_are_detected_live_and_corrected(store):
    strap = SimulatedStrap(
        seed=8, speed="max", duration_s=600.0, artifacts=ArtifactRates.from_total(0.02)
    )
    session = record(store, strap)
    truth = strap.ground_truth()
    rec = store.load_recording(session.session_id)
    np.testing.assert_allclose(rec.rr_ms, truth.delivered_rr_ms)

    injected = [a for a in truth.artifacts if a.delivered_index >= 0]
    assert len(injected) >= 10
    flagged = rec.artifact != "normal"
    hits = sum(bool(flagged[max(0, a.delivered_index - 1): a.delivered_index + 2].any())
               for a in injected)
    assert hits / len(injected) >= 0.95
    false_pos = flagged.copy()
    for a in injected:
        false_pos[max(0, a.delivered_index - 1): a.delivered_index + 3] = False
    assert false_pos.mean() < 0.01

    clean = rmssd(truth.clean_window(0.0, 600.0))
    fixed = analyze_recording(rec, AnalysisSettings(correction="kubios")).phases[0]
    raw = analyze_recording(rec, AnalysisSettings(correction="none")).phases[0]
    assert fixed.rmssd_ms == pytest.approx(clean, rel=0.05)
    assert abs(raw.rmssd_ms - clean) / clean > 0.2
    assert 1.0 < fixed.artifact_pct < 8.0


def test_phases_with_different_breathing_and_vagal_tone(store):
    schedule = [
        PhysiologySegment(0.0, breaths_per_min=12.0, vagal_level=0.5),
        PhysiologySegment(300.0, breaths_per_min=15.0, vagal_level=0.25),
        PhysiologySegment(600.0, breaths_per_min=6.0, vagal_level=0.6),
    ]
    strap = SimulatedStrap(seed=4, speed="max", duration_s=900.0, schedule=schedule)
    session = record(store, strap)
    sid = session.session_id
    for pid, kind, start in (("baseline", "baseline", 0), ("stressor", "stressor", 300),
                             ("paced", "practice", 600)):
        store.add_phase(sid, PhaseSpan(pid, pid.title(), kind, start + 5.0, start + 300.0))
    rows = {p["name"]: p for p in analyze_recording(store.load_recording(sid)).to_dict()["phases"]}
    base, stress, paced = rows["Baseline"], rows["Stressor"], rows["Paced"]
    assert base["breaths_per_min"] == pytest.approx(12.0, abs=1.0) and base["hf_valid"]
    assert stress["breaths_per_min"] == pytest.approx(15.0, abs=1.0) and stress["hf_valid"]
    assert paced["breaths_per_min"] == pytest.approx(6.0, abs=1.0)
    assert paced["hf_valid"] is False
    assert stress["mean_hr_bpm"] > base["mean_hr_bpm"] + 5
    assert stress["ln_rmssd"] < base["ln_rmssd"] - 0.3
    assert paced["lf_ms2"] > 5 * base["lf_ms2"]


def test_dropped_notifications_become_gaps_and_nothing_spans_them(store):
    strap = SimulatedStrap(
        seed=2, speed="max", duration_s=400.0,
        artifacts=ArtifactRates(dropped_notification=0.05),
    )
    session = record(store, strap)
    rec = store.load_recording(session.session_id)
    assert session.stats.n_gaps == len(rec.gaps) >= 3
    seg = rec.segment_ids()
    assert seg.max() == len(rec.gaps)
    # Beat times are continuous within each segment.
    same = seg[1:] == seg[:-1]
    np.testing.assert_allclose(np.diff(rec.time_s)[same], rec.rr_ms[1:][same] / 1000, atol=1e-6)


def test_subscribers_and_neurokit_in_real_time(store):
    strap = SimulatedStrap(seed=5, speed=40.0, duration_s=320.0)
    session = LiveSession(strap, store=store, neurokit=True)
    seen = {"beats": 0, "nk": []}

    def listen(event):
        if isinstance(event, BeatsProcessed):
            seen["beats"] += len(event.batch.beats)
        elif isinstance(event, NeuroKitUpdate):
            seen["nk"].append(event.result)

    session.subscribe(listen)
    asyncio.run(session.run())
    assert seen["beats"] == session.stats.n_beats > 300
    assert seen["nk"], "no neurokit2 result during an 8-s wall-clock session"
    result = seen["nk"][-1]
    assert result.error is None
    assert result.nk_version == "0.2.13"
    assert result.kwargs and "hrv_frequency" in str(result.kwargs)
    # Same window, from the stored live-corrected series: the two corrections agree closely.
    start, end = result.time_window_s
    rec = store.load_recording(session.session_id)
    sel = (rec.time_s > start) & (rec.time_s <= end) & (rec.corrected_count == 1)
    assert sel.sum() > 40
    assert result.values["RMSSD"] == pytest.approx(rmssd(rec.rr_corrected_ms[sel]), rel=0.05)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_live_breathing_under_stress_is_not_mistaken_for_the_mayer_wave(store, seed):
    # Weak RSA at 15/min under a 0.1-Hz Mayer wave: the live estimate must stay at 15/min.
    schedule = [PhysiologySegment(0.0, breaths_per_min=15.0, vagal_level=0.25)]
    strap = SimulatedStrap(seed=seed, speed="max", duration_s=200.0, schedule=schedule)
    readings = []

    def listen(event):
        if isinstance(event, BeatsProcessed) and event.batch.received_s > 70:
            readings.append(event.indices.breaths_per_min)

    session = LiveSession(strap, neurokit=False, spectral_min_wall_s=0.0)
    session.subscribe(listen)
    asyncio.run(session.run())
    values = np.array([r for r in readings if r is not None])
    assert values.size > 100
    assert np.mean(np.abs(values - 15.0) <= 1.0) >= 0.9
