"""Which files a list of files, folders and zip archives stands for; zip safety."""

from __future__ import annotations

import re
import stat
import zipfile

import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.importing.batch import ParticipantNameError, participant_from_name
from biofeedback.importing.sources import expand_paths, extract_zip, is_ignored
from biofeedback.importing.summary import ImportedItem, ImportSummary, RefusedItem, render_table


def write(path, text="800\n810\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_hidden_junk_and_licence_files_are_left_out():
    for name in (".DS_Store", ".git", "__MACOSX", "Thumbs.db", "LICENSE", "licence.txt",
                 "cst_LICENSE_BSD3.txt", "COPYING"):
        assert is_ignored(name), name
    for name in ("README.md", "rr.txt", "expected.json", "SOURCE.txt", "P07.csv"):
        assert not is_ignored(name), name


def test_folders_are_searched_recursively_in_sorted_order(tmp_path):
    root = tmp_path / "study"
    for rel in ("P02/b.txt", "P01/z.txt", "P01/A.txt", "README.md", ".hidden/x.txt",
                "P01/.~lock", "LICENSE"):
        write(root / rel)
    single = write(tmp_path / "alone.txt")
    with expand_paths([single, root]) as found:
        assert [c.shown for c in found] == [
            str(single), f"{root}/P01/A.txt", f"{root}/P01/z.txt", f"{root}/P02/b.txt",
            f"{root}/README.md"]
        assert all(c.path.is_file() and c.problem is None for c in found)


def test_zip_archives_are_extracted_and_removed_afterwards(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("P01/rr.txt", "800\n")
        zf.writestr("P01/", "")
        zf.writestr("__MACOSX/P01/._rr.txt", "junk")
    nested = tmp_path / "folder"
    write(nested / "x.txt")
    (nested / "inner.zip").write_bytes(archive.read_bytes())
    with expand_paths([archive, nested]) as found:
        shown = [c.shown for c in found]
        assert shown == [f"{archive}/P01/rr.txt", f"{nested}/inner.zip/P01/rr.txt",
                         f"{nested}/x.txt"]
        assert found[0].path.read_text() == "800\n"
        temp = found[0].path
    assert not temp.exists()


@pytest.mark.parametrize(("member", "problem"), [
    ("/etc/passwd", "absolute path"),
    ("../escape.txt", "outside the archive"),
    ("a/../../escape.txt", "outside the archive"),
    ("C:/Windows/x.txt", "absolute path"),
])
def test_unsafe_zip_members_refuse_the_whole_archive(tmp_path, member, problem):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("good.txt", "800\n")
        zf.writestr(member, "800\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputFileError, match=problem):
        extract_zip(archive, out)
    assert list(out.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()
    with expand_paths([archive]) as found:
        assert len(found) == 1 and found[0].shown == str(archive)
        assert "unsafe zip archive" in found[0].problem


def test_symlinks_and_oversized_archives_are_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputFileError, match="symbolic link"):
        extract_zip(archive, out)
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "0" * 3_000_000)
    with pytest.raises(InputFileError, match="more than 1000000 bytes"):
        extract_zip(big, out, max_bytes=1_000_000)
    assert list(out.iterdir()) == []
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with expand_paths([broken]) as found:
        # not a zip by content: handed to the readers, which name it in their words
        assert found[0].problem is None


def test_participants_from_names():
    assert participant_from_name(re.compile(r"(P\d+)_"), "data/P07_morning.txt") == "P07"
    named = re.compile(r"sub-(?P<participant>[A-Za-z0-9]+)")
    assert participant_from_name(named, "x/sub-12/rest.txt") == "12"
    assert participant_from_name(re.compile(r"P\d+"), "study.zip/P03/rr.txt") == "P03"
    with pytest.raises(ParticipantNameError, match="does not match"):
        participant_from_name(re.compile(r"^P\d+"), "notes.txt")
    with pytest.raises(ParticipantNameError, match="participant id 'Jane Doe'"):
        participant_from_name(re.compile(r"^(.*)\.txt$"), "Jane Doe.txt")


def test_summary_table_and_json():
    summary = ImportSummary(
        imported=[ImportedItem("a/P01.txt", ["a/P01.txt"], 3, "plain", 1234, 0, None, "rr", [])],
        refused=[RefusedItem("a/README.md", "line 1: unrecognised format")],
    )
    assert not summary.ok
    assert render_table(summary).splitlines() == [
        "file         result    format  beats  session / reason",
        "a/P01.txt    imported  plain    1234  session 3",
        "a/README.md  refused                  line 1: unrecognised format",
        "1 recording imported, 1 file refused",
    ]
    assert summary.to_dict() == {
        "imported": [{"file": "a/P01.txt", "files": ["a/P01.txt"], "session_id": 3,
                      "format": "plain", "beats": 1234, "markers": 0, "start_time": None,
                      "rr_source": "rr", "channels": []}],
        "refused": [{"file": "a/README.md", "reason": "line 1: unrecognised format"}],
    }
    assert ImportSummary(imported=summary.imported).ok
    assert not ImportSummary().ok
