"""``compare --rr-source strap|ecg``, the breathing source in the tables and the same-source
breathing change, on a small study of stored strap sessions: P1 with ECG, P2 with ECG and ACC,
P3 with ECG and ACC during the practices only, P4 with heart rate and RR only (and, apart, a
session whose ECG is flat)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest
from ecg_sessions import (
    COMPARISON_PHASES,
    ECG_RATE_HZ,
    enrol_comparison_study,
    record_ecg_comparison,
    record_strap_session,
)

from biofeedback.cli.main import main
from biofeedback.comparison.report import study_methods
from biofeedback.core.signals import SignalChunk
from biofeedback.store import SessionStore

WINDOW = ("--window-s", "100")
"""The practices last 2 min: 100-s windows keep the sessions short."""


@pytest.fixture(scope="module")
def ecg_study(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The study E1's data folder and participant -> session id."""
    folder = tmp_path_factory.mktemp("ecg_study") / "data"
    sessions = record_ecg_comparison(folder)
    enrol_comparison_study(folder, sessions)
    return folder, sessions


@pytest.fixture(scope="module")
def strap_and_ecg(ecg_study, tmp_path_factory):
    """``compare --study E1 --json --csv`` from the strap's RR and from the ECG's (the ECG
    in 2 worker processes), with what each wrote to standard error."""
    folder, _ = ecg_study
    out = {}
    for source, workers in (("strap", "1"), ("ecg", "1")):
        table = tmp_path_factory.mktemp(source) / "windows.csv"
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["compare", "--study", "E1", *WINDOW, "--json", "--csv", str(table),
                         "--rr-source", source, "--workers", workers,
                         "--data-dir", str(folder)])
        assert code == 0, stderr.getvalue()
        with table.open() as f:
            rows = list(csv.DictReader(f))
        out[source] = (json.loads(stdout.getvalue()), rows, stderr.getvalue())
    return out


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rr_from_the_ecg_excludes_the_session_without_it_and_agrees_with_the_strap(
        ecg_study, strap_and_ecg):
    _, sid = ecg_study
    result, rows, err = strap_and_ecg["ecg"]
    assert f"1 session excluded: {sid['P4']} (P4: no stored ECG)" in err
    assert result["settings"]["rr_source"] == "ecg"
    assert result["settings"]["sessions"] == [sid["P1"], sid["P2"], sid["P3"]]
    no_ecg = {"session_id": sid["P4"], "participant_id": "P4", "reason": "no stored ECG"}
    assert {"what": "session", **no_ecg} in result["excluded"]
    ecg = result["ecg_rr"]
    assert ecg["excluded"] == [no_ecg]
    assert (ecg["detector"], ecg["method"], ecg["neurokit2"], ecg["refinement"]) == (
        "neurokit2.ecg_peaks", "neurokit", [nk.__version__], "parabolic-3")
    assert [e["session_id"] for e in ecg["sessions"]] == result["settings"]["sessions"]
    for entry in ecg["sessions"]:
        # 5.5 min of ECG at ~65/min: every beat paired, within a fraction of a ms.
        assert entry["ecg_pairs"] > 340
        assert entry["ecg_median_abs_dt_ms"] < 2.0 and entry["ecg_median_abs_drr_ms"] < 2.0
        assert entry["ecg_unmatched"] == 0 and entry["strap_unmatched"] == 0
        provenance = entry["provenance"]
        assert provenance["kwargs"] == {"sampling_rate": pytest.approx(ECG_RATE_HZ, abs=1e-6),
                                        "method": "neurokit", "correct_artifacts": False}
        assert provenance["neurokit2"] == nk.__version__
    pairs = [e["ecg_pairs"] for e in ecg["sessions"]]
    assert ecg["range"]["ecg_pairs"] == [min(pairs), max(pairs)]
    # The tidy table: 3 sessions x 3 windows, each with its own agreement.
    assert len(rows) == 9 and {r["participant_id"] for r in rows} == {"P1", "P2", "P3"}
    for row in rows:
        assert int(row["ecg_pairs"]) > 80 and float(row["ecg_median_abs_dt_ms"]) < 2.0
        assert row["ecg_unmatched"] == "0" and row["strap_unmatched"] == "0"
    # The same hearts: the windows' values from the ECG's RR are the strap's, nearly (the
    # baseline window lacks the ECG's first 30 s, so HR differs a little more there).
    strap_result, strap_rows, _ = strap_and_ecg["strap"]
    assert "ecg_rr" not in strap_result and "ecg_pairs" not in strap_rows[0]
    strap = {(r["session_id"], r["phase_id"]): r for r in strap_rows}
    for row in rows:
        theirs = strap[row["session_id"], row["phase_id"]]
        assert float(row["hr_bpm"]) == pytest.approx(float(theirs["hr_bpm"]), abs=0.6)
        assert float(row["ln_rmssd"]) == pytest.approx(float(theirs["ln_rmssd"]), abs=0.05)
    # P4 is in the strap comparison, not in the ECG one.
    assert {r["participant_id"] for r in strap_rows} == {"P1", "P2", "P3", "P4"}
    assert [p["participant_id"] for p in result["participants"]] == ["P1", "P2", "P3"]


def test_the_methods_name_the_ecg_the_exclusions_and_the_agreement(strap_and_ecg):
    result, _, _ = strap_and_ecg["ecg"]
    methods = study_methods(result)
    assert (f"RR from the raw ECG (neurokit2 {nk.__version__} ecg_peaks method neurokit, "
            "parabolic refinement); 1 session without ECG excluded.") in methods
    low, high = result["ecg_rr"]["range"]["ecg_median_abs_dt_ms"]
    assert (f"Beat-by-beat agreement with the strap's RR across the 3 sessions: "
            f"{result['ecg_rr']['range']['ecg_pairs'][0]}–"
            f"{result['ecg_rr']['range']['ecg_pairs'][1]} pairs, median |Δt| "
            f"{low:.2f}–{high:.2f} ms, unmatched beats 0 (ECG) and 0 (strap).") in methods
    assert "RR from the raw ECG" not in study_methods(strap_and_ecg["strap"][0])


def test_text_output_says_how_many_and_which_sessions_lacked_ecg(ecg_study, capsys):
    folder, sid = ecg_study
    code, out, err = _run(capsys, "compare", "--study", "E1", *WINDOW, "--rr-source", "ecg",
                          "--workers", "1", "--data-dir", str(folder))
    assert code == 0, err
    assert f"1 session excluded: {sid['P4']} (P4: no stored ECG)" in out
    assert f"RR from the raw ECG: neurokit2 {nk.__version__} ecg_peaks method 'neurokit'" in out
    agreement = [line.split() for line in out.splitlines()
                 if line.strip().startswith(tuple(str(sid[p]) + " " for p in ("P1", "P2")))]
    assert [cells[1] for cells in agreement] == ["P1", "P2"]


def test_no_session_with_ecg_is_a_usage_error(ecg_study, capsys, tmp_path):
    folder, sid = ecg_study
    code, _, err = _run(capsys, "compare", "--participant", "P4", "--rr-source", "ecg",
                        "--data-dir", str(folder))
    assert code == 1
    assert (f"biofeedback compare: error: --rr-source ecg: none of the 1 session(s) to compare "
            f"({sid['P4']}) has stored ECG") in err
    assert "use --rr-source strap" in err
    code, _, err = _run(capsys, "report", str(sid["P1"]), "--rr-source", "ecg", "--out",
                        str(tmp_path / "r.html"), "--data-dir", str(folder))
    assert code == 1 and "--rr-source applies to a study report (--study)" in err


def test_study_report_from_the_ecg(ecg_study, capsys, tmp_path):
    folder, sessions = ecg_study
    out = tmp_path / "study.html"
    code, _, err = _run(capsys, "report", "--study", "E1", "--rr-source", "ecg", "--workers",
                        "1", "--out", str(out), "--data-dir", str(folder))
    assert code == 0, err
    html = out.read_text()
    assert "RR from the raw ECG (neurokit2" in html and "no stored ECG" in html
    # Per practice: the practice windows' breathing (P2, P3 on the ACC; P1 on the RR
    # spectrum) and the changes' (P2's both windows on the ACC, P1's and P3's on the RR).
    assert "<th>Breathing from (practice windows)</th>" in html
    assert html.count("<td>ACC 2, RR spectrum 1</td><td>ACC 1, RR spectrum 2</td>") == 2
    # A session report's phase table names each phase's source.
    out = tmp_path / "session.html"
    code, _, err = _run(capsys, "report", str(sessions["P3"]), "--out", str(out), "--data-dir",
                        str(folder))
    assert code == 0, err
    html = out.read_text()
    assert "<th>Breathing from</th>" in html
    assert html.count("<td>RR spectrum</td></tr>") == 1 and html.count("<td>ACC</td></tr>") == 2


def test_the_tables_say_where_breathing_came_from(ecg_study, capsys):
    folder, sid = ecg_study
    code, out, err = _run(capsys, "compare", "--study", "E1", *WINDOW, "--workers", "1",
                          "--data-dir", str(folder))
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Breathing rate from")))
    practices = {line.split()[0]: line for line in lines[start + 3:start + 5]}
    # Practice windows: ACC in P2 and P3, the RR spectrum in P1 and P4; changes from baseline:
    # ACC only in P2 (P3's baseline has no ACC, so both its windows use the RR spectrum).
    for practice in ("soothing_touch", "mindfulness_of_breathing"):
        assert practices[practice].endswith("ACC 2, RR spectrum 2  ACC 1, RR spectrum 3")
    assert ("self-soothing vs attention rates: ACC 2, RR spectrum 2 (participants; one "
            "source each)") in out
    # analyze: a "br from" column and the line saying what it means.
    for participant, source in (("P1", "RR"), ("P2", "ACC")):
        code, out, err = _run(capsys, "analyze", str(sid[participant]), "--data-dir",
                              str(folder))
        assert code == 0, err
        header, _, *rows = out.splitlines()[1:6]
        assert header.split()[-2:] == ["br", "from"]
        assert [row.split()[-1] for row in rows[:3]] == [source] * 3
        assert "br from: where br/min came from (ACC: counted on the chest accelerometer; RR: "\
            "read off the RR spectrum)" in out
    # P3: the baseline's rate from the RR spectrum, the practices' from the ACC.
    code, out, _ = _run(capsys, "analyze", str(sid["P3"]), "--json", "--data-dir", str(folder))
    assert [p["breathing_source"] for p in json.loads(out)["phases"]] == ["rr", "acc", "acc"]


def test_a_breathing_change_compares_like_with_like(strap_and_ecg):
    result, rows, _ = strap_and_ecg["strap"]
    windows = {(r["participant_id"], r["phase_id"]): r for r in rows}

    def rate(participant: str, phase: str, key: str) -> float:
        return float(windows[participant, phase][key])

    people = {p["participant_id"]: p for p in result["participants"]}
    # P3: ACC in the practice, not in the baseline: the change is RR spectrum minus RR
    # spectrum, never ACC minus RR spectrum.
    assert windows["P3", "touch"]["breathing_source"] == "acc"
    assert windows["P3", "baseline"]["breathing_source"] == "rr"
    rr_change = rate("P3", "touch", "breaths_per_min_rr") - rate("P3", "baseline",
                                                                  "breaths_per_min_rr")
    mixed = rate("P3", "touch", "breaths_per_min") - rate("P3", "baseline", "breaths_per_min")
    assert people["P3"]["delta_breaths_per_min_self_soothing"] == pytest.approx(rr_change,
                                                                                abs=1e-9)
    assert abs(mixed - rr_change) > 1e-3
    # P2: ACC in both windows: the change is ACC minus ACC.
    assert people["P2"]["delta_breaths_per_min_attention"] == pytest.approx(
        rate("P2", "breath", "breaths_per_min_acc") - rate("P2", "baseline",
                                                           "breaths_per_min_acc"), abs=1e-9)
    assert result["breathing_change_sources"] == {"acc": 2, "rr": 6}
    # The practices compared with each other: P3's are both ACC, so P3 is compared on ACC.
    assert [people[p]["breathing_source"] for p in ("P1", "P2", "P3", "P4")] == [
        "rr", "acc", "acc", "rr"]
    assert result["breathing"]["participant_sources"] == {"acc": 2, "rr": 2}
    methods = study_methods(result)
    assert ("a change from baseline used the accelerometer's rates when both windows had a "
            "reliable count (2 changes) and the RR-spectrum rates of both otherwise (6)") in \
        methods


def test_a_session_whose_ecg_holds_no_beats_is_excluded_with_its_reason(tmp_path, capsys):
    folder = tmp_path / "data"
    with SessionStore.open(folder) as store:
        good = record_strap_session(store, 360.0, seed=1, participant="P1",
                                    phases=COMPARISON_PHASES)
        flat = record_strap_session(store, 360.0, ecg=False, seed=2, participant="P5",
                                    phases=COMPARISON_PHASES)
        # Electrodes off the skin: a minute of flat ECG, no R-peak in it.
        store.append_signal(flat, SignalChunk("ecg", 30.0, ECG_RATE_HZ,
                                              np.zeros((7800, 1), dtype=np.int32), "uV"))
    code, out, err = _run(capsys, "compare", "--participant", "P1", "--participant", "P5",
                          *WINDOW, "--rr-source", "ecg", "--workers", "1", "--json",
                          "--data-dir", str(folder))
    assert code == 0, err
    result = json.loads(out)
    reason = "no R-peaks found in the stored ECG"
    assert f"1 session excluded: {flat} (P5: {reason})" in err
    assert {"what": "session", "session_id": flat, "participant_id": "P5",
            "reason": reason} in result["excluded"]
    assert result["settings"]["sessions"] == [good]
    assert [e["session_id"] for e in result["ecg_rr"]["sessions"]] == [good]
    assert [t["session_id"] for t in result["trajectories"]] == [good]
    assert ("0 sessions without ECG excluded, 1 without R-peaks in the ECG excluded."
            in study_methods(result))
