"""Exports (CSV, Kubios RR text, BIDS, EDF+) of recorded sessions, re-read and checked."""

from __future__ import annotations

import argparse
import csv
import json
import os
import stat
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from biofeedback.cli import export as export_cli
from biofeedback.cli.main import main
from biofeedback.core.errors import BiofeedbackError
from biofeedback.io.exporters import (
    BEAT_COLUMNS,
    EVENT_COLUMNS,
    MARKER_COLUMNS,
    RR_DERIVATIVE_COLUMNS,
    ExportError,
    export_bids,
    markers_path,
    resample_rr,
)
from biofeedback.io.importers import read_import
from biofeedback.store.database import SessionStore


def record(data: str, *extra: str) -> None:
    assert main(["record", "--source", "sim", "--speed", "max", "--no-neurokit", "--quiet",
                 "--data-dir", data, *extra]) == 0


def export(*argv: str) -> int:
    """``biofeedback export`` as main() runs it (errors printed, status 1)."""
    parser = argparse.ArgumentParser(prog="biofeedback")
    export_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", *argv])
    try:
        return int(args.run(args))
    except BiofeedbackError as exc:
        print(f"biofeedback export: error: {exc}")
        return 1


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """Session 1: free 300 s; session 2: quiet_rest protocol (phases, self-report markers)."""
    folder = str(tmp_path_factory.mktemp("export") / "data")
    record(folder, "--duration", "300", "--participant", "P1", "--seed", "3")
    record(folder, "--duration", "400", "--participant", "P1", "--seed", "4",
           "--protocol", "quiet_rest")
    return folder


@pytest.fixture(scope="module")
def session2(data):
    with SessionStore.open(data) as store:
        return store.load_recording(2)


def test_csv_every_beat_and_markers(data, session2, tmp_path, capsys):
    out = tmp_path / "s2.csv"
    assert export("2", "--format", "csv", "--out", str(out), "--data-dir", data) == 0
    assert capsys.readouterr().out.split() == [str(out), str(markers_path(out))]
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == BEAT_COLUMNS and len(rows) == session2.n_beats
    np.testing.assert_array_equal([float(r["rr_ms"]) for r in rows], session2.rr_ms)
    np.testing.assert_array_equal([float(r["time_s"]) for r in rows], session2.time_s)
    corrected = [float(r["rr_corrected_ms"]) if r["rr_corrected_ms"] else np.nan for r in rows]
    np.testing.assert_array_equal(corrected, session2.rr_corrected_ms)
    # Round trip: the generic CSV importer reads the raw RR column back identically.
    from biofeedback.io.importers import read_import

    imported = read_import(out, "csv", column="rr_ms")
    np.testing.assert_array_equal(imported.recording.rr_ms, session2.rr_ms)
    assert [r["artifact"] for r in rows] == list(session2.artifact)
    assert {r["artifact"] for r in rows} <= {"normal", "ectopic", "missed", "extra",
                                             "long_short", ""}
    phases = [r["phase"] for r in rows]
    assert phases[0] == "settle_in" and phases[-1] == "practice"
    assert set(phases) == {"settle_in", "report_pre", "practice"}
    first_practice = phases.index("practice")
    assert float(rows[first_practice]["time_s"]) >= 180.0
    assert float(rows[first_practice - 1]["time_s"]) < 180.0
    # quiet_rest alone shows feedback in its practice only (the loader's default).
    assert {(r["phase"], r["feedback"]) for r in rows} == {
        ("settle_in", "hidden"), ("report_pre", "hidden"), ("practice", "shown")}
    with open(markers_path(out), newline="") as fh:
        markers = list(csv.DictReader(fh))
    assert tuple(markers[0]) == MARKER_COLUMNS and len(markers) == len(session2.markers)
    assert markers[0]["kind"] == "self_report" and markers[0]["label"].startswith("self-report")
    assert json.loads(markers[0]["extra"])["phase"] == "report_pre"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_kubios_reads_back_identically(data, session2, tmp_path):
    out = tmp_path / "s2.txt"
    assert export("2", "--format", "kubios", "--out", str(out), "--data-dir", data) == 0
    assert out.read_text().startswith("# RR intervals (ms)")
    # Round trip through the importer: detected as a Kubios RR file, identical intervals.
    imported = read_import(out)
    assert imported.format == "kubios_rr"
    assert imported.recording.metadata["unit"] == "ms"
    np.testing.assert_array_equal(imported.recording.rr_ms, session2.rr_ms)


def test_bids_session_dataset(data, session2, tmp_path):
    out = tmp_path / "bids"
    assert export("2", "--format", "bids", "--out", str(out), "--data-dir", data) == 0
    desc = json.loads((out / "dataset_description.json").read_text())
    assert isinstance(desc["Name"], str) and desc["Name"]
    assert desc["DatasetType"] == "raw"
    assert [int(x) for x in desc["BIDSVersion"].split(".")] >= [1, 0, 0]
    assert desc["GeneratedBy"][0]["Name"] == "biofeedback"
    deriv_desc = json.loads((out / "derivatives/biofeedback/dataset_description.json")
                            .read_text())
    assert deriv_desc["DatasetType"] == "derivative" and deriv_desc["GeneratedBy"]
    assert (out / "participants.tsv").read_text().splitlines()[1].split("\t")[0] == "sub-P1"
    events = out / "sub-P1/ses-2/beh/sub-P1_ses-2_task-quietrest_events.tsv"
    lines = [line.split("\t") for line in events.read_text().splitlines()]
    assert tuple(lines[0]) == EVENT_COLUMNS
    phases = [row for row in lines[1:] if row[3] == "phase"]
    assert [(row[2], float(row[0]), float(row[1])) for row in phases] == [
        (p.phase_id, p.start_s, p.duration_s) for p in session2.phases]
    assert [(row[2], row[5]) for row in phases] == [
        ("settle_in", "hidden"), ("report_pre", "hidden"), ("practice", "shown")]
    assert {row[5] for row in lines[1:] if row[3] != "phase"} == {"n/a"}
    sidecar = json.loads(events.with_suffix(".json").read_text())
    assert set(sidecar["feedback"]["Levels"]) == {"shown", "hidden"}
    assert len([row for row in lines[1:] if row[3] == "marker"]) == len(session2.markers)
    onsets = [float(row[0]) for row in lines[1:]]
    assert onsets == sorted(onsets) and all(float(row[1]) >= 0 for row in lines[1:])
    rr = out / "derivatives/biofeedback/sub-P1/ses-2/beh/sub-P1_ses-2_task-quietrest_rr.tsv"
    table = [line.split("\t") for line in rr.read_text().splitlines()]
    assert tuple(table[0]) == RR_DERIVATIVE_COLUMNS and len(table) == session2.n_beats + 1
    np.testing.assert_array_equal([float(r[1]) for r in table[1:]], session2.rr_ms)
    assert "n/a" not in {r[0] for r in table[1:]}
    # Pseudonymous only: no device address, no start date anywhere in the dataset.
    text = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert "sim:" not in text and session2.metadata["session"]["start"][:10] not in text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_edf_signals_and_annotations(data, session2, tmp_path):
    out = tmp_path / "s2.edf"
    assert export("2", "--format", "edf", "--out", str(out), "--data-dir", data) == 0
    with pyedflib.EdfReader(str(out)) as edf:
        assert edf.getSignalLabels() == ["RR", "HR"]
        seconds = int(np.ceil(session2.time_s[-1]))
        assert list(edf.getNSamples()) == [seconds * 4, seconds * 4]
        assert edf.getSampleFrequency(0) == 4.0
        assert edf.getPhysicalDimension(0) == "ms" and edf.getPhysicalDimension(1) == "bpm"
        assert edf.getPhysicalMaximum(0) == 5000.0 and edf.getPhysicalMaximum(1) == 300.0
        assert edf.getPatientCode() == "P1"
        rr, hr = edf.readSignal(0), edf.readSignal(1)
        onsets, durations, texts = edf.readAnnotations()
    assert 600 < np.median(rr) < 1400
    np.testing.assert_allclose(hr, 60000.0 / rr, rtol=1e-3)
    assert [t for t in texts if "feedback" in t] == [
        "Settling in (feedback hidden)", "Before resting (feedback hidden)",
        "Quiet rest (feedback shown)"]
    for phase in session2.phases:
        i = list(texts).index(f"{phase.name} (feedback {phase.feedback})")
        assert onsets[i] == pytest.approx(phase.start_s)
        assert durations[i] == pytest.approx(phase.duration_s, abs=1e-3)
    assert sum(t.startswith("self-report") for t in texts) == len(session2.markers)


def test_phases_without_recorded_feedback_export_no_feedback(tmp_path):
    """An imported recording (or one stored before feedback was): empty CSV cells, n/a in
    the BIDS events, the bare phase name in EDF+, and a long name is cut, not the feedback."""
    from biofeedback.core.recording import Recording
    from biofeedback.core.types import PhaseSpan
    from biofeedback.io.exporters import beat_feedback, export_csv, phase_annotation

    rr = np.full(10, 1000.0)
    rec = Recording(rr, np.cumsum(rr) / 1000.0, phases=[
        PhaseSpan("a", "A", "practice", 0.0, 5.0),
        PhaseSpan("b", "B", "practice", 5.0, 10.0, feedback="hidden")])
    assert beat_feedback(rec) == [""] * 4 + ["hidden"] * 6
    export_csv(rec, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as fh:
        assert [r["feedback"] for r in csv.DictReader(fh)] == [""] * 4 + ["hidden"] * 6
    assert phase_annotation(rec.phases[0]) == "A"
    long = PhaseSpan("x", "Compassionate body scan, second half", "practice", 0, 1,
                     feedback="shown")
    assert phase_annotation(long) == "Compassionate body scan (feedback shown)"
    assert len(phase_annotation(long)) == 40


def test_resample_uses_raw_where_unclassified(session2):
    rec = session2
    rec_raw = type(rec)(rr_ms=rec.rr_ms, time_s=rec.time_s)
    rr, hr = resample_rr(rec_raw, 2.0)
    assert rr.size == hr.size == 2 * int(np.ceil(rec.time_s[-1]))
    np.testing.assert_allclose(rr, np.interp(np.arange(rr.size) / 2.0, rec.time_s, rec.rr_ms))


def test_study_export_has_every_participant(tmp_path):
    folder = str(tmp_path / "data")
    assert main(["study", "create", "S1", "--conditions", "soothing_touch,quiet_rest",
                 "--data-dir", folder]) == 0
    for n in (1, 2, 3):
        record(folder, "--study", "S1", "--participant", f"P{n}", "--seed", str(n),
               "--duration", "200")
    record(folder, "--duration", "100", "--participant", "P9")  # not in the study
    out = tmp_path / "study"
    assert export("--study", "S1", "--format", "bids", "--out", str(out),
                  "--data-dir", folder) == 0
    assert json.loads((out / "dataset_description.json").read_text())["Name"] == "S1"
    rows = [line.split("\t") for line in (out / "participants.tsv").read_text().splitlines()]
    assert rows[0] == ["participant_id", "condition_order"]
    assert [r[0] for r in rows[1:]] == ["sub-P1", "sub-P2", "sub-P3"]
    assert all(set(r[1].split(",")) == {"soothing_touch", "quiet_rest"} for r in rows[1:])
    for n in (1, 2, 3):
        assert len(list((out / f"sub-P{n}").glob("ses-*/beh/*_events.tsv"))) == 1
        assert len(list((out / "derivatives/biofeedback" / f"sub-P{n}")
                        .glob("ses-*/beh/*_rr.tsv"))) == 1
        sessions = (out / f"sub-P{n}" / f"sub-P{n}_sessions.tsv").read_text().splitlines()
        assert sessions[0].split("\t")[:4] == ["session_id", "task", "protocol", "condition"]
    assert not (out / "sub-P9").exists()


def test_missing_session_is_a_sentence_and_writes_nothing(data, tmp_path, capsys):
    for fmt, name in (("csv", "x.csv"), ("kubios", "x.txt"), ("edf", "x.edf"),
                      ("bids", "ds")):
        assert export("99", "--format", fmt, "--out", str(tmp_path / name),
                      "--data-dir", data) == 1
        assert "no session 99" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_are_sentences(data, tmp_path, capsys):
    assert export("--study", "S1", "--format", "csv", "--out", str(tmp_path / "x"),
                  "--data-dir", data) == 1
    assert "use --format bids" in capsys.readouterr().out
    assert export("--format", "csv", "--out", str(tmp_path / "x"), "--data-dir", data) == 1
    assert "SESSION_ID or --study" in capsys.readouterr().out
    assert export("--study", "nope", "--format", "bids", "--out", str(tmp_path / "x"),
                  "--data-dir", data) == 1
    assert "nope" in capsys.readouterr().out
    assert export("1", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"),
                  "--data-dir", data) == 1
    assert "does not exist" in capsys.readouterr().out
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    assert export("1", "--format", "bids", "--out", str(full), "--data-dir", data) == 1
    assert "not an empty folder" in capsys.readouterr().out
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_bids_refuses_colliding_labels(session2, tmp_path):
    from biofeedback.io.exporters import BidsSession

    with pytest.raises(ExportError, match="both become sub-P1"):
        export_bids([BidsSession(session2, 1, "P1"), BidsSession(session2, 2, "P-1")],
                    tmp_path / "ds", name="x")
    assert list(tmp_path.iterdir()) == []


def test_free_session_exports(data, tmp_path):
    out = tmp_path / "s1.edf"
    assert export("1", "--format", "edf", "--out", str(out), "--data-dir", data) == 0
    with pyedflib.EdfReader(str(out)) as edf:
        assert edf.readAnnotations()[2].size == 0
    assert export("1", "--format", "bids", "--out", str(tmp_path / "b"), "--data-dir", data) == 0
    events = tmp_path / "b/sub-P1/ses-1/beh/sub-P1_ses-1_task-free_events.tsv"
    assert events.read_text().splitlines() == ["\t".join(EVENT_COLUMNS)]


def test_gaps_empty_recordings_and_failed_builds(tmp_path, monkeypatch):
    from biofeedback.core.recording import Recording
    from biofeedback.core.types import Gap, GapReason
    from biofeedback.io import exporters

    rr = np.full(60, 1000.0)
    time_s = np.cumsum(rr) / 1000.0
    time_s[30:] += 20.0  # 20 s of link loss after beat 30
    rec = Recording(rr_ms=rr, time_s=time_s, gaps=[Gap(30.0, 50.0, GapReason.LINK_LOSS)])
    edf = exporters.export_edf(rec, tmp_path / "g.edf")
    with pyedflib.EdfReader(str(edf)) as reader:
        onsets, durations, texts = reader.readAnnotations()
    assert onsets[0] == pytest.approx(30.0)
    assert list(texts) == ["gap: link_loss"] and durations[0] == pytest.approx(20.0)
    kubios = exporters.export_kubios(rec, tmp_path / "g.txt")
    assert "# gap 30.000-50.000 s (link_loss)" in kubios.read_text()
    np.testing.assert_array_equal(read_import(kubios).recording.rr_ms, rr)
    with pytest.raises(ExportError, match="whole number of Hz"):
        exporters.export_edf(rec, tmp_path / "h.edf", rate_hz=2.5)
    with pytest.raises(ExportError, match="no beats"):
        exporters.export_csv(Recording(rr_ms=np.array([]), time_s=np.array([]), name="x"),
                             tmp_path / "e.csv")
    with pytest.raises(ExportError, match="no sessions"):
        export_bids([], tmp_path / "none", name="x")

    def broken(root, sessions, name):
        (root / "half.tsv").write_text("x")
        raise OSError("disk full")

    monkeypatch.setattr(exporters, "_build_bids", broken)
    with pytest.raises(OSError, match="disk full"):
        export_bids([exporters.BidsSession(rec, 1, "P1")], tmp_path / "ds", name="x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.edf", "g.txt"]


@pytest.mark.parametrize(("rate_hz", "record_s"), [(130.0, 1.0), (130.5, 2.0)])
def test_edf_of_a_session_imported_with_ecg_holds_the_ecg(tmp_path, rate_hz, record_s):
    from biofeedback.core.channels import RawChannel
    from biofeedback.core.recording import Recording

    n = int(rate_hz * 61)  # 61 s of ECG in uV, a little past the last beat
    t = np.arange(n) / rate_hz
    ecg = np.round(800.0 * np.sin(2 * np.pi * 1.25 * t) ** 15 + 50.0 * np.sin(t), 1)
    channel = RawChannel("ECG", "ecg", "uV", rate_hz, 0.0, ("ecg",), ecg[:, None], "ecg.txt")
    acc = RawChannel("ACC", "acc", "mg", 50.0, 0.0, ("x", "y", "z"), np.zeros((100, 3)), "a")
    rr = np.full(74, 800.0)
    data = tmp_path / "data"
    with SessionStore.open(data) as store:
        sid = store.import_recording(
            Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0), source="import",
            started_utc="2021-03-12T10:15:30", channels=[acc, channel])
    out = tmp_path / "ecg.edf"
    assert export(str(sid), "--format", "edf", "--out", str(out), "--data-dir", str(data)) == 0
    with pyedflib.EdfReader(str(out)) as edf:
        # The acceleration too (a signal per axis, mg as imported, all 0 here), then the ECG.
        assert edf.getSignalLabels() == ["RR", "HR", "ACC x", "ACC y", "ACC z", "ECG"]
        assert [edf.getPhysicalDimension(i) for i in (2, 3, 4)] == ["mg"] * 3
        assert [edf.getSampleFrequency(i) for i in (2, 3, 4)] == [50.0] * 3
        assert edf.getSampleFrequency(5) == rate_hz
        assert edf.getPhysicalDimension(5) == "uV"
        assert edf.datarecord_duration == record_s
        lo, hi = edf.getPhysicalMinimum(5), edf.getPhysicalMaximum(5)
        assert lo == np.floor(ecg.min()) - 1 and hi == np.ceil(ecg.max()) + 1
        back = edf.readSignal(5)
        n_rr = edf.getNSamples()[0]
        rr_back = edf.readSignal(0)
        assert edf.getStartdatetime().isoformat() == "2021-03-12T10:15:30"
    resolution = (hi - lo) / 65535
    # whole records cover the 61 s of ECG (61 s, or 62 s of 2 s records), padded with 0 uV
    seconds = 61 if record_s == 1.0 else 62
    assert back.size == round(seconds * rate_hz)
    np.testing.assert_allclose(back[:n], ecg, atol=resolution)
    assert np.all(np.abs(back[n:]) <= resolution)
    # RR and HR span the same records, holding the last value after the last beat
    assert n_rr == seconds * 4
    np.testing.assert_allclose(rr_back, 800.0, atol=5000 / 65535)


def test_edf_resamples_an_ecg_whose_rate_fits_no_record(tmp_path):
    """Polar Sensor Logger's ECG runs at about 130.63 Hz (its sensor clock): no whole number
    of samples fits a record, so the ECG is written at 131 Hz, its timing kept."""
    from biofeedback.core.channels import RawChannel
    from biofeedback.core.recording import Recording

    rate_hz = 1e9 / 7655280  # the sensor clock's step, ns
    t = np.arange(int(rate_hz * 30)) / rate_hz
    ecg = 500.0 * np.sin(2 * np.pi * 1.1 * t)
    channel = RawChannel("ECG", "ecg", "uV", rate_hz, 0.0, ("ecg",), ecg[:, None], "psl.txt")
    rr = np.full(36, 800.0)
    data = tmp_path / "data"
    with SessionStore.open(data) as store:
        sid = store.import_recording(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0),
                                     source="import", channels=[channel])
    out = tmp_path / "psl.edf"
    assert export(str(sid), "--format", "edf", "--out", str(out), "--data-dir", str(data)) == 0
    with pyedflib.EdfReader(str(out)) as edf:
        assert edf.getSampleFrequency(2) == 131
        assert edf.getSignalHeader(2)["prefilter"].startswith("resampled from 130.629 Hz")
        back = edf.readSignal(2)
    grid = np.arange(int(t[-1] * 131)) / 131
    # The 1.1 Hz sine at its own times: linear resampling, 16-bit resolution.
    np.testing.assert_allclose(back[: grid.size], 500.0 * np.sin(2 * np.pi * 1.1 * grid),
                               atol=0.5)


def test_exports_inside_the_data_folder_are_private_and_outside_follow_the_umask(data,
                                                                                 tmp_path):
    inside = Path(data) / "exports"
    inside.mkdir(exist_ok=True)
    old = os.umask(0o022)
    try:
        for where, file_mode, folder_mode in ((inside, 0o600, 0o700),
                                              (tmp_path, 0o644, 0o755)):
            assert export("2", "--format", "csv", "--out", str(where / "s2.csv"),
                          "--data-dir", data) == 0
            assert export("2", "--format", "kubios", "--out", str(where / "s2.txt"),
                          "--data-dir", data) == 0
            assert export("2", "--format", "edf", "--out", str(where / "s2.edf"),
                          "--data-dir", data) == 0
            assert export("2", "--format", "bids", "--out", str(where / "bids"),
                          "--data-dir", data) == 0
            files = [where / "s2.csv", where / "s2_markers.csv", where / "s2.txt",
                     where / "s2.edf", *(p for p in (where / "bids").rglob("*") if p.is_file())]
            folders = [where / "bids", *(p for p in (where / "bids").rglob("*") if p.is_dir())]
            assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(file_mode)}
            assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {oct(folder_mode)}
            assert not [p for p in where.iterdir() if p.name.startswith(".")]
    finally:
        os.umask(old)
