"""The per-phase analysis takes breathing from the stored chest ACC: a stressor with weak RSA,
where the RR spectrum reads the Mayer waves as slow breathing, keeps HF when the accelerometer
counts the true fast breathing; without ACC nothing changes."""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pytest

from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.analysis.windows import WindowSettings, phase_windows
from biofeedback.cli.main import main
from biofeedback.comparison.compare import breathing_source_counts
from biofeedback.comparison.dataset import comparison_rows, select_sessions
from biofeedback.comparison.report import breathing_source_sentence, session_report
from biofeedback.core.signals import ANALYSIS_SIGNALS
from biofeedback.core.types import Beat, BeatBatch, PhaseSpan
from biofeedback.store import SessionStore
from tests.acc_breathing_scenario import PHASES, acc_scenario
from tests.signal_synth import chunks_of

ACC_RATE_HZ = 50.0
STRESSOR = PhaseSpan("stressor", "Stressor", "stressor", PHASES[2][1], PHASES[2][2])
REST = PhaseSpan("rest", "Rest", "baseline", PHASES[0][1], PHASES[0][2])


def _weak_rsa_rr(duration_s: float, breath_hz: float = 20.0 / 60.0, seed: int = 5
                 ) -> tuple[list[float], list[float]]:
    """RR (ms) and beat times (s): RSA of 3 ms at ``breath_hz`` under 40-ms Mayer waves at
    0.1 Hz, so the RR spectrum's breathing peak is the slow one (200x higher)."""
    rng = np.random.default_rng(seed)
    t, rr, times = 0.0, [], []
    while t < duration_s:
        v = 700.0 + 3.0 * math.sin(2 * math.pi * breath_hz * t)
        v += 40.0 * math.sin(2 * math.pi * 0.1 * t) + float(rng.normal(0.0, 1.0))
        t += v / 1000.0
        rr.append(v)
        times.append(t)
    return rr, times


def _store_session(store: SessionStore, *, acc: bool) -> int:
    """A strap session of the ACC scenario (rest 12/min ... stressor ~20/min) with weak RSA
    beats, one notification a second, and (``acc``) its ACC in 36-sample PMD frames."""
    duration_s = PHASES[-1][2]
    rr, times = _weak_rsa_rr(duration_s)
    sid = store.create_session(source="ble", participant_id="P01")
    seq = 0
    for second in range(1, int(duration_s) + 1):
        beats = tuple(Beat(rr[k], times[k], float(second), True, seq + i) for i, k in enumerate(
            k for k in range(seq, len(rr)) if second - 1 < times[k] <= second))
        store.append_notification(sid, second - 1, BeatBatch(float(second), beats, 80.0),
                                  commit=False)
        seq += len(beats)
    store.commit(sid)
    store.add_phase(sid, REST)
    store.add_phase(sid, STRESSOR)
    if acc:
        scenario = acc_scenario(seed=3, rate_hz=ACC_RATE_HZ)
        for chunk in chunks_of(scenario.acc_mg, "acc", "mG", ACC_RATE_HZ, 0.0, 36):
            store.append_signal(sid, chunk, commit=False)
        store.commit(sid)
    store.finish_session(sid)
    return sid


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, int, int]:
    folder = tmp_path_factory.mktemp("accdata")
    with SessionStore.open(folder) as store:
        with_acc = _store_session(store, acc=True)
        without = _store_session(store, acc=False)
    return folder, with_acc, without


def _rows(stored: tuple[object, int, int], sid: int) -> dict[str, object]:
    with SessionStore.open_for_reading(stored[0]) as store:  # type: ignore[arg-type]
        recording = store.load_recording(sid, signals=ANALYSIS_SIGNALS)
    return {r.phase_id: r for r in analyze_recording(recording).phases}


def test_stored_acc_decides_hf_valid_where_the_rr_spectrum_reads_mayer_waves(stored) -> None:
    truth = acc_scenario(seed=3, rate_hz=ACC_RATE_HZ).true_rate(STRESSOR.start_s,
                                                                 STRESSOR.end_s)
    row = _rows(stored, stored[1])["stressor"]
    assert row.breathing_source == "acc"
    assert row.breaths_per_min_acc == pytest.approx(truth, abs=1.0)
    assert row.breaths_per_min == row.breaths_per_min_acc
    assert row.breaths_per_min_rr == pytest.approx(6.0, abs=0.5)  # the Mayer waves
    assert row.hf_ms2 is not None and row.hf_valid is True
    assert any("chest accelerometer decided HF validity" in n for n in row.notes)
    out = row.to_dict()
    assert out["breathing_source"] == "acc"
    assert out["breaths_per_min_rr"] == row.breaths_per_min_rr


def test_without_acc_the_rr_spectrum_decides_as_before(stored) -> None:
    with_acc = _rows(stored, stored[1])["stressor"]
    row = _rows(stored, stored[2])["stressor"]
    assert row.breathing_source == "rr" and row.breaths_per_min_acc is None
    assert row.breaths_per_min == row.breaths_per_min_rr == with_acc.breaths_per_min_rr
    assert row.hf_valid is False
    assert any("below 9/min" in n for n in row.notes)
    # Everything but the breathing decision is the same number with or without the ACC.
    assert (row.hf_ms2, row.rmssd_ms, row.lf_ms2) == (
        with_acc.hf_ms2, with_acc.rmssd_ms, with_acc.lf_ms2)


def test_windows_carry_the_deciding_rate_into_the_confound_check(stored) -> None:
    with SessionStore.open_for_reading(stored[0]) as store:
        recording = store.load_recording(stored[1], signals=ANALYSIS_SIGNALS)
    windows = phase_windows(recording, WindowSettings(kinds=("baseline", "stressor")))
    by_id = {w.phase_id: w for w in windows}
    assert by_id["stressor"].breathing_source == "acc"
    assert by_id["stressor"].hf_valid is True
    assert by_id["stressor"].breaths_per_min == pytest.approx(20.0, abs=1.5)
    assert breathing_source_counts(w.to_dict() for w in windows) == {"acc": 2, "rr": 0}


def test_methods_paragraph_names_the_breathing_source(stored) -> None:
    page = html.unescape(session_report(stored[0], stored[1]))
    text = re.sub(r"<[^>]+>", "", page)
    assert ("measured from the chest accelerometer" in text
            and "advanced counting (Schäfer & Kratky 2008)" in text and "in all 2 phases" in text)
    plain = re.sub(r"<[^>]+>", "", html.unescape(session_report(stored[0], stored[2])))
    assert "chest accelerometer" not in plain
    assert breathing_source_sentence(3, 5, "windows").endswith(
        "in 3 of 8 windows, and read from the RR spectrum elsewhere.")
    assert breathing_source_sentence(0, 5, "phases") is None


def test_every_analysing_caller_reads_the_acc_and_the_others_do_not(stored, capsys) -> None:
    # Lazy loading: the ACC is read by those that analyse (analyze, compare, the report, the
    # window's analysis tab through them), not for exports or bookkeeping.
    folder, with_acc, _ = stored
    assert main(["analyze", str(with_acc), "--json", "--data-dir", str(folder)]) == 0
    phases = {p["phase_id"]: p for p in json.loads(capsys.readouterr().out)["phases"]}
    assert phases["stressor"]["breathing_source"] == "acc"
    with SessionStore.open_for_reading(folder) as store:  # type: ignore[arg-type]
        refs, _ = select_sessions(store, participants=["P01"])
        plain = store.load_recording(with_acc)
        chunks = store.load_signal_chunks(with_acc, "acc")
        both = store.load_recording(with_acc, signals=("acc", "ecg"))
        with pytest.raises(ValueError,
                           match=r"unknown signal stream\(s\) a, c \(known: acc, ecg\)"):
            store.load_recording(with_acc, signals="acc")
    rows = comparison_rows(folder / "biofeedback.sqlite3", [r for r in refs
                                                         if r.session_id == with_acc],
                           WindowSettings(kinds=("stressor",)), AnalysisSettings(), workers=1)
    assert [r.window["breathing_source"] for r in rows] == ["acc"]
    assert plain.acc == [] and plain.ecg == []
    assert [(c.first_index, c.n_samples) for c in both.acc] == \
        [(c.first_index, c.n_samples) for c in chunks]
    assert both.ecg == []  # none recorded
    np.testing.assert_array_equal(plain.rr_ms, both.rr_ms)
