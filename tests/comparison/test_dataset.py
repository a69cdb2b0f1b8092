"""The comparison data set: sessions chosen by study or participant, windows in tidy rows."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import s1_study, sim_record

from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.analysis.windows import WindowSettings
from biofeedback.comparison.dataset import (
    SelectionError,
    comparison_rows,
    select_sessions,
)
from biofeedback.store import SessionStore


@pytest.fixture(scope="module")
def study_data(recorded_template, tmp_path_factory):
    """Study S1 (soothing touch vs mindfulness of breathing): P1 and P2 each record both
    conditions in one practice_comparison session; P3 records one session then is cut off."""
    data = str(tmp_path_factory.mktemp("comparison") / "data")
    shutil.copytree(recorded_template([
        *s1_study(["P1", "P2"]),
        sim_record(9, "P3", "--study", "S1", "--duration", "120"),
    ]), data)
    # P3's session becomes an interrupted session of the study (status set as a crash
    # would leave it).
    with SessionStore.open(data) as store:
        last = store.list_sessions()[0].id
        store.finish_session(last, "interrupted")
    return data


def test_sessions_of_a_study_with_their_order_and_the_skipped_ones(study_data):
    with SessionStore.open(study_data) as store:
        chosen, skipped = select_sessions(store, study="S1")
    assert [r.participant_id for r in chosen] == ["P1", "P2"]
    assert all(r.study == "S1" and r.position == 0 for r in chosen)
    # Counterbalanced: the two participants run the practices in opposite orders.
    assert chosen[0].condition_order == tuple(reversed(chosen[1].condition_order))
    assert [(s.participant_id, s.reason) for s in skipped] == [("P3", "status interrupted")]


def test_rows_are_tidy_one_per_window_and_equal_serial_and_parallel(study_data, capsys):
    with SessionStore.open(study_data) as store:
        chosen, _ = select_sessions(store, participants=["P1", "P2"])
        database = store.path
    settings = WindowSettings()
    analysis = AnalysisSettings(min_lf_duration_s=235.0)
    seen: list[tuple[int, int]] = []
    parallel = comparison_rows(database, chosen, settings, analysis, workers=2,
                               progress=lambda done, total: seen.append((done, total)))
    serial = comparison_rows(database, chosen, settings, analysis, workers=1)
    assert [r.to_dict() for r in parallel] == [r.to_dict() for r in serial]
    assert seen == [(1, 2), (2, 2)]
    # practice_comparison: baseline, practice A, washout rest, practice B, recovery.
    kinds = [r.window["kind"] for r in parallel if r.participant_id == "P1"]
    assert kinds == ["baseline", "practice", "rest", "practice", "recovery"]
    categories = {r.window["practice"]: r.window["category"] for r in parallel
                  if r.window["kind"] == "practice"}
    assert categories == {"soothing_touch": "self_soothing",
                          "mindfulness_of_breathing": "attention"}
    flat = parallel[0].to_dict()
    assert flat["participant_id"] == "P1" and flat["study"] == "S1"
    assert flat["end_s"] - flat["start_s"] == pytest.approx(240.0)
    assert {"hr_bpm", "ln_rmssd", "hf_ms2", "lf_ms2", "breaths_per_min", "excluded",
            "exclusion_reason", "artifact_pct"} <= set(flat)
    json.dumps([r.to_dict() for r in parallel])


def test_nothing_to_compare_is_said_in_words(study_data):
    with SessionStore.open(study_data) as store:
        with pytest.raises(SelectionError, match="give a study or at least one participant"):
            select_sessions(store)
        with pytest.raises(SelectionError, match="participant 'P9' has no sessions"):
            select_sessions(store, participants=["P9"])
        with pytest.raises(SelectionError, match="no complete session to compare"):
            select_sessions(store, participants=["P3"])
