"""The import summary view: rows, names, headline and progress lines built from what
``biofeedback import --json --progress-json`` prints (samples written after the contract)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from biofeedback.viewmodels.import_summary import (
    IMPORTED_HEADERS,
    NO_START_TIME,
    REFUSED_HEADERS,
    ImportProgress,
    import_command,
    parse_progress_line,
    summary_from_json,
)

FOLDER_SUMMARY = {
    "imported": [
        {"file": "/data/hrv/2021/kubios_ms.txt", "files": ["/data/hrv/2021/kubios_ms.txt"],
         "session_id": 4, "format": "kubios", "beats": 40, "markers": 0,
         "start_time": None, "rr_source": "rr", "channels": []},
        {"file": "/data/hrv/2019/2019-03-14 07-25-31.txt",
         "files": ["/data/hrv/2019/2019-03-14 07-25-31.txt"], "session_id": 5,
         "format": "elite_hrv", "beats": 40, "markers": 0,
         "start_time": "2019-03-14T07:25:31", "rr_source": "rr", "channels": []},
        {"file": "/data/hrv/2017/rr_session.csv",
         "files": ["/data/hrv/2017/rr_session.csv", "/data/hrv/2017/events_session.csv"],
         "session_id": 6, "format": "hrv_logger", "beats": 1, "markers": 2,
         "start_time": "2017-10-15T08:31:03", "rr_source": "rr", "channels": []},
    ],
    "refused": [
        {"file": "/data/hrv/2021/notes.txt",
         "reason": "notes.txt line 1: 'shopping list' is not a number of milliseconds"},
    ],
}


def test_rows_carry_the_clis_values_in_the_headers_order():
    view = summary_from_json(FOLDER_SUMMARY)
    assert IMPORTED_HEADERS == ("File", "Format", "Beats", "Session", "Start time")
    assert REFUSED_HEADERS == ("File", "Why it was refused")
    assert [row.cells() for row in view.imported] == [
        ("2021/kubios_ms.txt", "kubios", "40", "4", NO_START_TIME),
        ("2019/2019-03-14 07-25-31.txt", "elite_hrv", "40", "5", "2019-03-14 07:25:31"),
        ("2017/rr_session.csv", "hrv_logger", "1", "6", "2017-10-15 08:31:03"),
    ]
    assert [row.cells() for row in view.refused] == [
        ("2021/notes.txt",
         "notes.txt line 1: 'shopping list' is not a number of milliseconds"),
    ]
    assert view.session_ids == (4, 5, 6)
    assert not view.complete
    logger = view.imported[2]
    assert logger.files == ("/data/hrv/2017/rr_session.csv",
                            "/data/hrv/2017/events_session.csv")
    assert logger.markers == 2 and logger.rr_source == "rr" and logger.channels == ()
    assert logger.details() == (
        "/data/hrv/2017/rr_session.csv\n/data/hrv/2017/events_session.csv\n"
        "1 beat from RR intervals; 2 markers; stored as session 6."
    )


@pytest.mark.parametrize(
    ("imported", "refused", "headline"),
    [
        (3, 1, "3 recordings imported, 1 file refused"),
        (1, 0, "1 recording imported"),
        (0, 2, "No recording imported, 2 files refused"),
        (2, 3, "2 recordings imported, 3 files refused"),
        (0, 0, "No recording found to import"),
    ],
)
def test_headline_counts_recordings_and_refused_files(imported, refused, headline):
    result = {
        "imported": [{"file": f"/d/{i}.txt", "session_id": i + 1, "format": "kubios",
                      "beats": 10} for i in range(imported)],
        "refused": [{"file": f"/d/bad{i}.txt", "reason": "Not an RR file."}
                    for i in range(refused)],
    }
    view = summary_from_json(result)
    assert view.headline == headline
    assert view.complete == (refused == 0)


def test_a_lone_file_shows_its_name_and_a_zoned_start_in_local_time():
    moment = datetime(2021, 3, 12, 10, 15, 30, tzinfo=UTC)
    view = summary_from_json({
        "imported": [{"file": "/home/me/Polar_H10_RR.txt", "session_id": 12,
                      "format": "polar_sensor_logger", "beats": 40, "markers": [],
                      "start_time": moment.isoformat(), "rr_source": "ecg",
                      "channels": [{"name": "ecg", "kind": "ecg"}, "acc"]}],
        "refused": [],
    })
    row = view.imported[0]
    assert row.name == "Polar_H10_RR.txt"
    assert row.start_time == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert row.channels == ("ecg", "acc") and row.markers == 0
    assert row.details().endswith(
        "40 beats from R-peaks detected in the ECG; raw channels: ecg, acc; "
        "stored as session 12."
    )
    assert view.headline == "1 recording imported" and view.complete


def test_names_keep_what_tells_files_apart_also_inside_a_zip_and_on_windows():
    view = summary_from_json({
        "imported": [
            {"file": "/x/export.zip/day1/rr.txt", "session_id": 1, "beats": 3},
            {"file": "/x/export.zip/day2/rr.txt", "session_id": 2, "beats": 3},
        ],
        "refused": [{"file": "C:\\Users\\me\\bad.csv", "reason": "Empty file."}],
    })
    # Nothing in common between the POSIX and the Windows paths: both kept whole.
    assert [r.name for r in view.imported] == ["/x/export.zip/day1/rr.txt",
                                               "/x/export.zip/day2/rr.txt"]
    assert view.refused[0].name == "C:/Users/me/bad.csv"
    zipped = summary_from_json({"imported": [
        {"file": "/x/export.zip/day1/rr.txt", "session_id": 1},
        {"file": "/x/export.zip/day2/rr.txt", "session_id": 2},
    ], "refused": []})
    assert [r.name for r in zipped.imported] == ["day1/rr.txt", "day2/rr.txt"]
    # Missing optional fields read as unknown, not as an error.
    assert zipped.imported[0].cells() == ("day1/rr.txt", "?", "0", "1", NO_START_TIME)
    same = summary_from_json({"imported": [], "refused": [
        {"file": "/a/b/one.txt", "reason": "r"}, {"file": "/a/b/two.txt", "reason": "r"}]})
    assert [r.name for r in same.refused] == ["one.txt", "two.txt"]


@pytest.mark.parametrize(
    "result",
    [
        {"refused": []},
        {"imported": {}, "refused": []},
        {"imported": [{"session_id": 1}], "refused": []},
        {"imported": [{"file": "/a.txt", "session_id": "one"}], "refused": []},
        {"imported": [], "refused": [{"file": "/a.txt"}]},
        {"imported": [], "refused": [{"file": "/a.txt", "reason": "  "}]},
    ],
)
def test_a_summary_without_its_lists_ids_or_reasons_is_not_readable(result):
    with pytest.raises(ValueError):
        summary_from_json(result)


def test_progress_lines_are_read_and_other_lines_are_not():
    line = json.dumps({"done": 3, "total": 12, "file": "/data/hrv/rest.txt"})
    assert parse_progress_line(line + "\n") == ImportProgress(3, 12, "/data/hrv/rest.txt")
    assert parse_progress_line(line).text() == "Importing: 3 of 12 files done (rest.txt)"
    assert parse_progress_line('{"done": 1, "total": 1}') == ImportProgress(1, 1, "")
    assert ImportProgress(1, 1).text() == "Importing: 1 of 1 file done"
    for other in ("import: 3/12 rest.txt", "biofeedback import: error: no such file",
                  '{"done": "3", "total": 12}', '{"done": true, "total": 2}',
                  '{"done": -1, "total": 2}', "[1, 2]", "{broken", ""):
        assert parse_progress_line(other) is None, other


def test_the_command_names_absolute_paths_the_json_flags_and_the_data_folder(tmp_path):
    command = import_command(["rel/rr.txt", tmp_path / "folder"], tmp_path / "data")
    assert command == [
        "import", str(Path("rel/rr.txt").absolute()), str(tmp_path / "folder"),
        "--json", "--progress-json", "--data-dir", str(tmp_path / "data"),
    ]
