"""Importing files, folders and zips: one session per recording, failures leave nothing."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from biofeedback.importing import import_file, import_paths
from biofeedback.session.launch import load_replay_target
from conftest import DATA

IMPORT = DATA / "import"
REAL = DATA / "real"
HRV_LOGGER = "2017-10-15 08-31-03_RR_session.csv"
HRV_EVENTS = "2017-10-15 08-31-03_events_session.csv"
POLAR = "Polar_H10_A1B2C3D4_20210312_101530_RR.txt"
N_BEATS = 40  # every synthetic fixture (tests/data/import/SOURCE.txt)


def counts(store) -> dict[str, int]:
    conn = store._conn
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("sessions", "beats", "markers", "channels", "participants")}


@pytest.fixture
def folder(tmp_path):
    """A study folder: an HRV Logger pair, a Polar Sensor Logger RR file, a bad file, a
    README, and a licence and hidden file that are left out."""
    root = tmp_path / "study"
    root.mkdir()
    for name in (HRV_LOGGER, HRV_EVENTS, POLAR):
        shutil.copy(IMPORT / name, root / name)
    (root / "bad.txt").write_text("hello\nworld\n", encoding="utf-8")
    (root / "README.md").write_text("# Study\n", encoding="utf-8")
    (root / "LICENSE").write_text("MIT\n", encoding="utf-8")
    (root / ".DS_Store").write_bytes(b"\x00\x01junk")
    return root


def test_a_folder_imports_each_recording_once_and_refuses_the_rest(store, folder):
    progress = []
    summary = import_paths(store, [folder], progress=lambda *a: progress.append(a))
    assert [i.file for i in summary.imported] == [f"{folder}/{HRV_LOGGER}", f"{folder}/{POLAR}"]
    hrv = summary.imported[0]
    # the events file was read as the RR file's companion: not imported, not refused
    assert hrv.files == [f"{folder}/{HRV_LOGGER}", f"{folder}/{HRV_EVENTS}"]
    assert (hrv.format, hrv.beats, hrv.markers) == ("hrv_logger", N_BEATS, 2)
    assert [r.file for r in summary.refused] == [f"{folder}/bad.txt", f"{folder}/README.md"]
    assert all(r.reason for r in summary.refused)
    assert not summary.ok
    assert [(done, total) for done, total, _ in progress] == [(k, 5) for k in range(1, 6)]
    assert counts(store)["sessions"] == 2
    assert store.load_recording(hrv.session_id).n_beats == N_BEATS


def test_no_failed_import_leaves_a_session_behind(store, tmp_path, folder):
    # one good and one bad file: one session, the bad one refused
    pair = tmp_path / "pair"
    pair.mkdir()
    shutil.copy(IMPORT / POLAR, pair / POLAR)
    (pair / "broken.csv").write_text("rr\n800\nabc\n", encoding="utf-8")
    summary = import_paths(store, [pair])
    assert len(summary.imported) == 1 and [r.file for r in summary.refused] == [
        f"{pair}/broken.csv"]
    assert counts(store)["sessions"] == 1
    # a single bad file: no session
    before = counts(store)
    summary = import_paths(store, [pair / "broken.csv"])
    assert summary.imported == [] and len(summary.refused) == 1
    # a file that reads but fails in the store (invalid participant): nothing of it either
    summary = import_paths(store, [IMPORT / POLAR], participant_id="Jane Doe")
    assert summary.imported == [] and "participant" in summary.refused[0].reason
    assert counts(store) == before


def test_a_companion_without_its_main_file_is_refused_with_its_readers_sentence(
        store, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(IMPORT / HRV_EVENTS, tmp_path / "in" / HRV_EVENTS)
    summary = import_paths(store, [tmp_path / "in"])
    assert summary.imported == []
    assert [r.file for r in summary.refused] == [f"{tmp_path}/in/{HRV_EVENTS}"]
    assert len(summary.refused[0].reason) > 20
    assert counts(store)["sessions"] == 0


def test_a_zip_archive_imports_like_its_folder(store, tmp_path, folder):
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"study/{f.name}")
    summary = import_paths(store, [archive])
    assert [i.file for i in summary.imported] == [
        f"{archive}/study/{HRV_LOGGER}", f"{archive}/study/{POLAR}"]
    assert summary.imported[0].markers == 2
    assert [r.file for r in summary.refused] == [f"{archive}/study/bad.txt",
                                                 f"{archive}/study/README.md"]


def test_participants_from_file_names(store, tmp_path):
    root = tmp_path / "in"
    for who in ("P01", "P02", "misc"):
        (root / who).mkdir(parents=True)
        shutil.copy(IMPORT / POLAR, root / who / POLAR)
    summary = import_paths(store, [root], participant_from_name=r"(P\d\d)/")
    assert [store.session_info(i.session_id).participant_id for i in summary.imported] == [
        "P01", "P02"]
    assert [r.file for r in summary.refused] == [f"{root}/misc/{POLAR}"]
    assert "does not match" in summary.refused[0].reason
    with pytest.raises(ValueError, match="not a regular expression"):
        import_paths(store, [root], participant_from_name="(P")
    with pytest.raises(ValueError, match="not both"):
        import_paths(store, [root], participant_id="P01", participant_from_name="P")


def test_a_file_given_twice_is_imported_once(store, tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(IMPORT / POLAR, tmp_path / "in" / POLAR)
    summary = import_paths(store, [tmp_path / "in" / POLAR, tmp_path / "in"])
    assert len(summary.imported) == 1 and summary.refused == []


def test_import_file_stores_start_time_and_settings(store):
    item = import_file(store, IMPORT / POLAR, participant_id="P03", protocol_id="rfb")
    info = store.session_info(item.session_id)
    assert info.participant_id == "P03" and info.protocol_id == "rfb"
    assert info.settings["import_format"] == item.format
    assert info.started_utc == item.start_time
    assert item.beats == N_BEATS and store.beat_count(item.session_id) == N_BEATS


def test_every_real_file_imports_as_expected(store):
    expected = [*json.loads((REAL / "expected.json").read_text(encoding="utf-8")),
                *json.loads((REAL / "expected_more.json").read_text(encoding="utf-8"))]
    summary = import_paths(store, [REAL])
    imported = {i.file.removeprefix(f"{REAL}/"): i for i in summary.imported}
    refused = {r.file.removeprefix(f"{REAL}/"): r.reason for r in summary.refused}
    consumed = {f.removeprefix(f"{REAL}/") for i in summary.imported for f in i.files[1:]}
    for entry in expected:
        name = entry["file"]
        if entry["kind"] == "rr":
            if name in consumed:  # the other file of a record read as one (WFDB .hea/.atr)
                continue
            assert name in imported, (name, refused.get(name))
            assert imported[name].beats == entry["n_rr"], name
        else:
            # no RR of its own: refused, unless a recording read it as a companion
            assert name in refused or name in consumed, name
    # Besides the corpus, only its notes are in the folder (licence texts are skipped).
    assert set(refused) - {e["file"] for e in expected} == {
        "expected.json", "expected_more.json", "SOURCE.md", "LAYOUTS.md"}
    assert counts(store)["sessions"] == len(imported)


def test_a_replay_target_file_is_read_with_the_importers():
    rec = load_replay_target(str(IMPORT / HRV_LOGGER), None)
    assert rec.n_beats == N_BEATS and [m.label for m in rec.markers] == [
        "breathing start", "itchy nose"]
