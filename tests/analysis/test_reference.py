"""Our analysis beside the results a Kubios report holds for the same intervals."""

from __future__ import annotations

import json

import pytest

from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.analysis.reference import compare_with_reference, reference_of
from biofeedback.cli.main import main
from biofeedback.session.launch import load_replay_target
from conftest import DATA

REPORT = DATA / "real" / "kubios" / "kubios_report_pgomes_SampleReport.txt"


def test_time_domain_agrees_with_kubios_without_correction():
    """The report says "Artifact correction: none": ours without correction matches it."""
    recording = load_replay_target(str(REPORT), None)
    reference = reference_of(recording.metadata)
    assert reference is not None and reference["tool"] == "Kubios HRV Standard 3.1.0.1"
    result = analyze_recording(recording, AnalysisSettings(correction="none"))
    rows = {r.index: r for r in compare_with_reference(result, reference)}
    assert set(rows) >= {"mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "sd1_ms",
                         "sd2_ms", "lf_ms2", "hf_ms2", "lf_hf"}
    assert "pnn50_pct" not in rows  # Kubios' pNNxx used a 20 ms threshold here
    for index, tolerance in (("mean_rr_ms", 0.001), ("sdnn_ms", 0.001), ("rmssd_ms", 0.005),
                             ("sd1_ms", 0.005), ("sd2_ms", 0.1), ("mean_hr_bpm", 0.01)):
        assert rows[index].ours == pytest.approx(rows[index].theirs, abs=tolerance), index
    assert rows["rmssd_ms"].theirs == 56.8586


def test_analyze_prints_the_comparison(tmp_path, capsys):
    assert main(["analyze", str(REPORT), "--correction", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    indices = {row["index"]: row for row in out["reference"]["indices"]}
    assert out["reference"]["tool"] == "Kubios HRV Standard 3.1.0.1"
    assert indices["rmssd_ms"]["difference"] == pytest.approx(0.0, abs=0.005)
    # A stored import keeps the reference in its settings: the same comparison by id.
    data = tmp_path / "data"
    assert main(["import", str(REPORT), "--data-dir", str(data), "--json"]) == 0
    session_id = json.loads(capsys.readouterr().out)["imported"][0]["session_id"]
    assert main(["analyze", str(session_id), "--correction", "none", "--data-dir",
                 str(data)]) == 0
    text = capsys.readouterr().out
    assert "Compared with the file's own results (Kubios HRV Standard 3.1.0.1)" in text
    assert "RMSSD (ms)" in text
