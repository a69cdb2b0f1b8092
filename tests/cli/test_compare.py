"""``biofeedback compare`` end to end on a recorded (simulated) study."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import s1_study

from biofeedback.cli.main import main


@pytest.fixture
def study_dir(recorded_data_dir) -> str:
    """Study S1 with one practice_comparison session of each of P1-P4 (seeds 1-4)."""
    return str(recorded_data_dir(s1_study(["P1", "P2", "P3", "P4"])))


def test_compare_json_and_tidy_csv(study_dir, tmp_path, capsys):
    table = tmp_path / "windows.csv"
    code = main(["compare", "--study", "S1", "--json", "--csv", str(table), "--workers", "2",
                 "--data-dir", study_dir])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "analysed 4/4 sessions" in err
    result = json.loads(out)
    assert set(result) >= {"comparisons", "mixed_model", "excluded", "settings", "breathing"}
    keys = {"metric", "contrast", "n", "mean_diff", "ci_low", "ci_high", "d_z", "d_z_ci_low",
            "d_z_ci_high", "p_t", "p_wilcoxon"}
    metrics = [c["metric"] for c in result["comparisons"]]
    assert metrics == ["delta_ln_rmssd", "delta_hr_bpm", "delta_hf_ms2", "delta_lf_ms2",
                       "delta_breaths_per_min"]
    for c in result["comparisons"]:
        assert keys <= set(c)
        assert c["n"] == 4 and c["contrast"] == "self_soothing - attention"
        assert c["ci_low"] <= c["mean_diff"] <= c["ci_high"]
    model = result["mixed_model"]
    # One practice phase per category: the phase term is dropped (and said so).
    assert model["formula"] == "delta_ln_rmssd ~ C(category, Treatment('attention')) + order"
    assert model["n_participants"] == 4 and model["n_observations"] == 8
    assert result["settings"]["window"]["length_s"] == 240.0
    assert result["excluded"] == []
    # 1-min HR and lnRMSSD trajectories of every session (39-min sessions).
    assert [t["session_id"] for t in result["trajectories"]] == result["settings"]["sessions"]
    bins = result["trajectories"][0]["bins"]
    assert len(bins) == 39 and bins[0]["phase_id"] == "baseline"
    assert all(40 < b["hr_bpm"] < 110 for b in bins if b["hr_bpm"] is not None)
    people = result["participants"]
    assert [p["participant_id"] for p in people] == ["P1", "P2", "P3", "P4"]
    diffs = [p["delta_ln_rmssd_self_soothing"] - p["delta_ln_rmssd_attention"] for p in people]
    ln = result["comparisons"][0]
    assert sum(diffs) / len(diffs) == pytest.approx(ln["mean_diff"], rel=1e-9)
    p1 = people[0]
    practices = p1["per_practice"]
    assert set(practices) == {"soothing_touch", "mindfulness_of_breathing"}
    assert practices["soothing_touch"]["delta_ln_rmssd"] == pytest.approx(
        p1["delta_ln_rmssd_self_soothing"]
    )
    # Breathing beside every contrast: the simulator breathes 10/min in soothing touch and
    # 11/min in mindfulness of breathing.
    assert ln["breaths_per_min_self_soothing"] == pytest.approx(10.0, abs=0.5)
    assert ln["breaths_per_min_attention"] == pytest.approx(11.0, abs=0.5)
    trend = result["trends"][0]
    assert trend["participant_id"] == "P1" and len(trend["sessions"]) == 1
    with table.open() as f:
        rows = list(csv.DictReader(f))
    # 4 sessions x (baseline, practice A, washout rest, practice B, recovery).
    assert len(rows) == 20
    assert {r["participant_id"] for r in rows} == {"P1", "P2", "P3", "P4"}
    assert {r["kind"] for r in rows} == {"baseline", "practice", "rest", "recovery"}
    # Written piece by piece, the JSON is json.dumps's text (indent 2) and the CSV that of the
    # whole table rendered at once (its records' order, CRLF line ends).
    assert out == json.dumps(result, indent=2, allow_nan=False) + "\n"
    whole = io.StringIO()
    writer = csv.DictWriter(whole, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    assert table.read_bytes() == whole.getvalue().encode("utf-8")


def test_compare_text_and_errors(study_dir, capsys):
    assert main(["compare", "--participant", "P1", "--participant", "P2", "--workers", "1",
                 "--data-dir", study_dir]) == 0
    out = capsys.readouterr().out
    assert "Self-soothing vs attention" in out and "Mixed model:" in out
    assert main(["compare", "--study", "NOPE", "--data-dir", study_dir]) == 1
    assert "no study named 'NOPE'" in capsys.readouterr().err
    assert main(["compare", "--participant", "P9", "--data-dir", study_dir]) == 1
    assert "participant 'P9' has no sessions" in capsys.readouterr().err
