"""``biofeedback import``: summary table or JSON, progress on stderr, exit status."""

from __future__ import annotations

import json
import shutil

import pytest

from biofeedback.cli.main import main
from biofeedback.store.database import SessionStore
from conftest import DATA

IMPORT = DATA / "import"
HRV_LOGGER = "2017-10-15 08-31-03_RR_session.csv"
HRV_EVENTS = "2017-10-15 08-31-03_events_session.csv"
POLAR = "Polar_H10_A1B2C3D4_20210312_101530_RR.txt"
N_BEATS, FIRST_RR = 40, 820.0


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["import", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def mixed(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for name in (HRV_LOGGER, HRV_EVENTS, POLAR):
        shutil.copy(IMPORT / name, root / name)
    (root / "notes.txt").write_text("to do: buy milk\n", encoding="utf-8")
    return root


def test_one_file_prints_a_table_and_stores_a_session(data_dir, capsys):
    status, out, err = run(capsys, str(IMPORT / HRV_LOGGER), "--participant", "P07",
                           "--protocol", "rfb-basic", "--data-dir", str(data_dir))
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["file", "result", "format", "beats", "session", "/", "reason"]
    assert lines[1].split()[-4:] == ["hrv_logger", str(N_BEATS), "session", "1"]
    assert lines[-1] == "1 recording imported, 0 files refused"
    with SessionStore.open(data_dir) as store:
        info = store.session_info(1)
        rec = store.load_recording(1)
    assert (info.source, info.status, info.participant_id, info.protocol_id) == (
        "import", "complete", "P07", "rfb-basic")
    assert info.settings["import_format"] == "hrv_logger"
    assert info.settings["original_file"] == HRV_LOGGER
    assert rec.n_beats == N_BEATS and rec.rr_ms[0] == FIRST_RR
    assert [m.label for m in rec.markers] == ["breathing start", "itchy nose"]
    assert set(rec.artifact.tolist()) == {"normal"}  # classed at import


def test_json_summary_progress_and_exit_status_one_when_anything_is_refused(
        data_dir, capsys, mixed):
    status, out, err = run(capsys, str(mixed), "--json", "--data-dir", str(data_dir))
    assert status == 1
    summary = json.loads(out)
    assert [i["file"] for i in summary["imported"]] == [f"{mixed}/{HRV_LOGGER}",
                                                        f"{mixed}/{POLAR}"]
    first = summary["imported"][0]
    assert set(first) == {"file", "files", "session_id", "format", "beats", "markers",
                          "start_time", "rr_source", "channels"}
    assert first["files"] == [f"{mixed}/{HRV_LOGGER}", f"{mixed}/{HRV_EVENTS}"]
    assert (first["beats"], first["markers"], first["rr_source"]) == (N_BEATS, 2, "rr")
    assert [r["file"] for r in summary["refused"]] == [f"{mixed}/notes.txt"]
    assert "unrecognised format" in summary["refused"][0]["reason"]
    assert err.splitlines() == [f"import: {k}/4 {mixed}/{name}" for k, name in enumerate(
        [HRV_EVENTS, HRV_LOGGER, "notes.txt", POLAR], start=1)]
    with SessionStore.open(data_dir) as store:
        assert len(store.list_sessions()) == 2


def test_progress_json_lines_for_the_window(data_dir, capsys, mixed):
    (mixed / "notes.txt").unlink()
    status, out, err = run(capsys, str(mixed), "--json", "--progress-json",
                           "--data-dir", str(data_dir))
    assert status == 0
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines == [{"done": k, "total": 3, "file": f"{mixed}/{name}"} for k, name in
                     enumerate([HRV_EVENTS, HRV_LOGGER, POLAR], start=1)]
    assert len(json.loads(out)["imported"]) == 2


def test_a_single_bad_file_is_refused_with_status_one_and_creates_nothing(
        data_dir, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("rr\n800\nabc\n", encoding="utf-8")
    status, out, _ = run(capsys, str(bad), "--data-dir", str(data_dir))
    assert status == 1
    assert out.splitlines()[1].startswith(f"{bad}  refused")
    assert "line 3" in out
    assert out.splitlines()[-1] == "0 recordings imported, 1 file refused"
    with SessionStore.open(data_dir) as store:
        assert store.list_sessions() == []


def test_participant_from_name_and_usage_errors(data_dir, capsys, tmp_path):
    shutil.copy(IMPORT / POLAR, tmp_path / "P12_rest.txt")
    status, out, _ = run(capsys, str(tmp_path / "P12_rest.txt"), "--participant-from-name",
                         r"^(P\d+)_", "--json", "--data-dir", str(data_dir))
    assert status == 0
    sid = json.loads(out)["imported"][0]["session_id"]
    with SessionStore.open(data_dir) as store:
        assert store.session_info(sid).participant_id == "P12"
    status, _, err = run(capsys, str(tmp_path), "--participant-from-name", "(P",
                         "--data-dir", str(data_dir))
    assert status == 1 and "not a regular expression" in err
    with pytest.raises(SystemExit) as exited:
        main(["import", str(tmp_path), "--participant", "P1", "--participant-from-name", "x"])
    assert exited.value.code == 2
    status, _, err = run(capsys, str(IMPORT / "kubios_ms.txt"), "--column", "rr",
                         "--data-dir", str(data_dir))
    assert status == 1 and "--column applies to the csv format" in err


def test_an_empty_folder_imports_nothing_with_status_one(data_dir, capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    status, out, err = run(capsys, str(tmp_path / "empty"), "--data-dir", str(data_dir))
    assert status == 1
    assert out.splitlines()[-1] == "0 recordings imported, 0 files refused"
    assert "no recording files found" in err
