"""``analyze --rr-source strap|ecg``: a stored strap session with its raw ECG (the virtual
strap's, built beat by beat from the RR it sends), analysed from either RR."""

from __future__ import annotations

import json

import neurokit2 as nk
import pytest
from ecg_sessions import ECG_RATE_HZ, LATENCY_S
from ecg_sessions import record_strap_session as _record

from biofeedback.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_analyze_from_the_ecg_beside_the_strap(store, capsys) -> None:
    sid = _record(store)
    code, out, err = _run(capsys, "analyze", str(sid), "--json", "--rr-source", "ecg")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["rr_source"] == {
        "rr_source": "ecg", "detector": "neurokit2.ecg_peaks", "method": "neurokit",
        "kwargs": {"sampling_rate": pytest.approx(ECG_RATE_HZ, abs=1e-6), "method": "neurokit",
                   "correct_artifacts": False},
        "clean": "neurokit2.ecg_clean",
        "clean_kwargs": {"sampling_rate": pytest.approx(ECG_RATE_HZ, abs=1e-6),
                         "method": "neurokit"},
        "neurokit2": nk.__version__, "refinement": "parabolic-3",
        "edge_rule": "peaks within 0.3 s of a run's end under 0.5 x the median R height "
                     "dropped",
    }
    phases = doc["agreement"]["phases"]
    assert [p["label"] for p in phases] == ["baseline", "practice"]
    # The strap's beats before the ECG started and in the lost frames are not disagreements.
    assert [p["strap_unmatched"] for p in phases] == [0, 0]
    for row in phases:
        assert row["n_matched"] >= row["n_ecg"] - 2 and row["n_matched"] > 80
        assert row["median_abs_diff_ms"] < 2.0
        assert row["median_abs_rr_diff_ms"] < 2.0
        assert row["offset_s"] == pytest.approx(-LATENCY_S, abs=0.01)
    code, out, err = _run(capsys, "analyze", str(sid), "--json")
    assert code == 0, err
    strap = json.loads(out)
    assert "agreement" not in strap and "rr_source" not in strap
    for ours, theirs, row in zip(doc["phases"], strap["phases"], phases, strict=True):
        # Every ECG beat but the first of each run in the phase ends an interval (baseline:
        # the ECG's start; practice: the first beat after the lost frames).
        assert ours["n_beats"] == row["n_ecg"] - 1
        # The same heart, less the strap's first 30 s and the lost frames' beats.
        assert theirs["n_beats"] - 35 <= ours["n_beats"] < theirs["n_beats"]
        assert ours["mean_hr_bpm"] == pytest.approx(theirs["mean_hr_bpm"], abs=1.0)
    code, out, err = _run(capsys, "analyze", str(sid), "--rr-source", "ecg")
    assert code == 0, err
    assert "RR from the ECG: neurokit2 0.2.13 ecg_peaks method 'neurokit'" in out
    assert "baseline" in out and "strap only" in out


def test_rr_source_ecg_without_ecg_or_for_a_file_says_why(store, capsys, tmp_path) -> None:
    sid = _record(store, duration_s=20.0, ecg=False)
    code, _, err = _run(capsys, "analyze", str(sid), "--rr-source", "ecg")
    assert code == 1
    assert f"session {sid} has no stored ECG" in err and "--rr-source strap" in err
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(["800"] * 50) + "\n")
    code, _, err = _run(capsys, "analyze", str(path), "--rr-source", "ecg")
    assert code == 1
    assert "--rr-source ecg needs a stored session id" in err
