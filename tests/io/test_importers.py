"""Importers of other tools' RR files: conformance, detection, malformed files, CLI import."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import import_cmd
from biofeedback.cli.common import UsageError
from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import FORMATS, detect_format, read_import
from biofeedback.store.database import SessionStore
from conftest import DATA

IMPORT = DATA / "import"
N_BEATS, FIRST_RR, LAST_RR = 40, 820.0, 796.0  # see tests/data/import/SOURCE.txt

FIXTURES = {
    "kubios_ms.txt": "kubios",
    "kubios_seconds.txt": "kubios",
    "2017-10-15 08-31-03_RR_session.csv": "hrv_logger",
    "2019-03-14 07-25-31.txt": "elite_hrv",
    "Polar_H10_A1B2C3D4_20210312_101530_RR.txt": "polar_sensor_logger",
    "Polar_H10_A1B2C3D4_20210312_111530_RR_comma.txt": "polar_sensor_logger",
    "polar_flow_hrv.tsv": "polar_flow",
    "generic_rr.csv": "csv",
    "generic_beat_times.tsv": "csv",
}


def test_every_format_has_a_fixture():
    assert set(FIXTURES.values()) == set(FORMATS)


@pytest.mark.parametrize("name", FIXTURES)
def test_conformance(name):
    """Each importer (forced format) reads its fixture: count, first/last RR, times increasing."""
    imported = read_import(IMPORT / name, FIXTURES[name])
    rec = imported.recording
    assert imported.format == FIXTURES[name]
    assert imported.original_name == name
    assert rec.source == "import"
    assert rec.n_beats == N_BEATS == rec.time_s.size
    assert rec.rr_ms[0] == pytest.approx(FIRST_RR)
    assert rec.rr_ms[-1] == pytest.approx(LAST_RR)
    assert np.all(np.diff(rec.time_s) > 0)
    assert np.all((rec.rr_ms >= 200) & (rec.rr_ms <= 3000))
    # Beat times agree with the intervals (each beat one RR after the previous).
    np.testing.assert_allclose(np.diff(rec.time_s) * 1000, rec.rr_ms[1:], atol=1.0)


@pytest.mark.parametrize("name", FIXTURES)
def test_auto_detection_picks_the_right_format(name):
    assert detect_format(IMPORT / name) == FIXTURES[name]
    assert read_import(IMPORT / name).format == FIXTURES[name]


def test_hrv_logger_events_become_markers():
    imported = read_import(IMPORT / "2017-10-15 08-31-03_RR_session.csv")
    assert imported.events_file == "2017-10-15 08-31-03_events_session.csv"
    assert [(m.onset_s, m.label) for m in imported.markers] == [
        (pytest.approx(10.0), "breathing start"), (pytest.approx(25.5), "itchy nose")
    ]
    assert imported.recording.markers == imported.markers
    assert imported.start_time == "2017-10-15T08:31:03"


def test_hrv_logger_without_events_file_has_no_markers(tmp_path):
    src = IMPORT / "2017-10-15 08-31-03_RR_session.csv"
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes())
    assert read_import(copy).markers == []


def test_start_times_and_units():
    assert read_import(IMPORT / "2019-03-14 07-25-31.txt").start_time == "2019-03-14T07:25:31"
    assert read_import(IMPORT / "kubios_seconds.txt").recording.metadata["unit"] == "s"
    polar = read_import(IMPORT / "Polar_H10_A1B2C3D4_20210312_111530_RR_comma.txt")
    assert polar.recording.metadata["delimiter"] == ","
    assert polar.start_time == "2021-03-12T10:15:30.123000"


def test_generic_column_by_flag(tmp_path):
    f = tmp_path / "two.csv"
    f.write_text("a,b\n1.0,810\n2.0,790\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no RR or beat-time column"):
        read_import(f)
    assert list(read_import(f, column="b").recording.rr_ms) == [810.0, 790.0]
    # Column "a" as RR: values by magnitude are seconds -> 1000 and 2000 ms.
    assert list(read_import(f, column="a").recording.rr_ms) == [1000.0, 2000.0]
    with pytest.raises(InputFileError, match="no column 'zz'") as err:
        read_import(f, column="zz")
    assert err.value.line == 1 and err.value.field == "zz"


def test_unknown_format_name_is_refused():
    with pytest.raises(ValueError, match="unknown import format"):
        read_import(IMPORT / "kubios_ms.txt", "nope")


# -- malformed files -----------------------------------------------------------------------

MALFORMED = [
    # (file name, content, forced format, line, field, words in the reason)
    ("empty.txt", b"", None, None, None, "empty file"),
    ("blank.csv", b"\n  \n", None, None, None, "empty file"),
    ("binary.txt", b"800\n810\n\x00\x01\x02", None, 3, None, "binary file"),
    ("latin1.txt", b"800\n\xe9\xff\n", None, 2, None, "not UTF-8"),
    ("kubios_text.txt", b"# rr\n800\n810\nabc\n820\n", None, 4, "rr", "'abc' is not a number"),
    ("kubios_neg.txt", b"800\n-810\n820\n", None, 2, "rr", "zero or negative"),
    ("kubios_absurd.txt", b"800\n8100\n820\n", None, 2, "rr", "outside the plausible range"),
    ("kubios_fast.txt", b"800\n150\n820\n", None, 2, "rr", "outside the plausible range"),
    ("2019-03-14 07-25-31.txt", b"800\n810\n9x\n", None, 3, "rr", "'9x' is not a number"),
    ("x_RR_y.csv", b"date,rr,since start\n2017-10-15T08:31:03.8,800,800\n"
     b"2017-10-15T08:31:04.6,oops,1600\n", None, 3, "rr", "'oops' is not a number"),
    ("x_RR_z.csv", b"date,rr,since start\nyesterday,800,800\n", None, 2, "date",
     "not an ISO date"),
    ("x_RR_w.csv", b"date,rr\n2017-10-15T08:31:03.8,800\n", "hrv_logger", 1, "since start",
     "lacks the column"),
    ("x_RR_v.csv", b"date,rr,since start\n2017-10-15T08:31:03.8,800,800\n"
     b"2017-10-15T08:31:04.6,800,700\n", None, 3, "since start", "not after the previous"),
    ("psl.txt", b"Phone timestamp;RR-interval [ms]\n2021-03-12T10:15:30.1;800\n"
     b"2021-03-12T10:15:31.1;-5\n", None, 3, "RR-interval [ms]", "zero or negative"),
    ("psl_cols.txt", b"Phone timestamp;HR [bpm]\n2021-03-12T10:15:30.1;60\n",
     "polar_sensor_logger", 1, "RR-interval [ms]", "lacks the column"),
    ("flow.tsv", b"0.8\t800\n1.6\t800\n2.4\t4000\n", None, 3, "RR ms",
     "outside the plausible range"),
    ("flow_cols.tsv", b"0.8\t800\n1.6\n", "polar_flow", 2, None, "1 tab-separated field"),
    ("generic.csv", b"rr_ms,q\n800,a\n810,b\nn/a,c\n820,d\n", None, 4, "rr_ms",
     "'n/a' is not a number"),
    ("generic_cols.csv", b"rr_ms,q\n800,a\n810\n", None, 3, None, "1 field(s)"),
    ("generic_none.csv", b"hr,q\n60,a\n", None, 1, None, "no RR or beat-time column"),
    ("garbage.txt", b"hello world\n", None, 1, None, "unrecognised format"),
    ("kubios_inf.txt", b"800\ninf\n", None, 2, "rr", "not a finite number"),
    ("kubios_two.txt", b"800\n800 810\n", "kubios", 2, "rr", "several fields"),
]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "line", "field", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_file_names_line_and_field_and_creates_nothing(
    tmp_path, name, content, fmt, line, field, reason
):
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        read_import(bad, fmt)
    exc = err.value
    assert (exc.path, exc.line, exc.field) == (bad, line, field)
    where = str(bad) + (f", line {line}" if line else "") + (f", field {field!r}" if field else "")
    assert str(exc).startswith(where + ": ")
    assert reason in str(exc)
    # Through the command: refused, and no session is created.
    data_dir = tmp_path / "data"
    with pytest.raises(InputFileError):
        import_cmd.run(_args(bad, data_dir, format=fmt))
    with SessionStore.open(data_dir) as store:
        assert store.list_sessions() == []


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_import(tmp_path / "nope.txt")
    with pytest.raises(InputFileError, match="is a folder"):
        read_import(tmp_path)


def test_bad_events_file_refuses_the_whole_import(tmp_path):
    src = IMPORT / "2017-10-15 08-31-03_RR_session.csv"
    rr = tmp_path / src.name
    rr.write_bytes(src.read_bytes())
    events = tmp_path / "2017-10-15 08-31-03_events_session.csv"
    events.write_text("date,timestamp,annotation,manual\nsoon,1,x,1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        read_import(rr)
    assert (err.value.path, err.value.line, err.value.field) == (events, 2, "date")


# -- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="biofeedback")
    import_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser


def _args(path: Path, data_dir: Path, **extra: object) -> argparse.Namespace:
    argv = ["import", str(path), "--data-dir", str(data_dir)]
    args = _parser().parse_args(argv)
    for key, value in extra.items():
        setattr(args, key, value)
    return args


def test_cli_import_creates_a_session_with_settings(tmp_path, capsys):
    data_dir = tmp_path / "data"
    name = "2017-10-15 08-31-03_RR_session.csv"
    args = _parser().parse_args([
        "import", str(IMPORT / name), "--participant", "P07", "--protocol", "rfb-basic",
        "--data-dir", str(data_dir),
    ])
    assert args.run(args) == 0
    session_id = int(capsys.readouterr().out.strip())
    with SessionStore.open(data_dir) as store:
        info = store.session_info(session_id)
        rec = store.load_recording(session_id)
    assert info.source == "import" and info.status == "complete"
    assert info.participant_id == "P07" and info.protocol_id == "rfb-basic"
    assert info.settings["import_format"] == "hrv_logger"
    assert info.settings["original_file"] == name
    assert info.settings["events_file"] == "2017-10-15 08-31-03_events_session.csv"
    assert rec.n_beats == N_BEATS and rec.rr_ms[0] == FIRST_RR
    assert [m.label for m in rec.markers] == ["breathing start", "itchy nose"]


def test_cli_import_json_and_forced_format(tmp_path, capsys):
    data_dir = tmp_path / "data"
    args = _parser().parse_args([
        "import", str(IMPORT / "2019-03-14 07-25-31.txt"), "--format", "kubios", "--json",
        "--data-dir", str(data_dir),
    ])
    assert args.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    # Detected as elite_hrv by its name; --format overrides (and Kubios has no start time).
    assert out["format"] == "kubios" and out["beats"] == N_BEATS and out["start_time"] is None
    with SessionStore.open(data_dir) as store:
        assert store.session_info(out["session_id"]).settings == {
            "import_format": "kubios", "original_file": "2019-03-14 07-25-31.txt"
        }


def test_cli_column_only_for_csv(tmp_path):
    args = _parser().parse_args([
        "import", str(IMPORT / "kubios_ms.txt"), "--column", "rr", "--data-dir",
        str(tmp_path / "data"),
    ])
    with pytest.raises(UsageError, match="csv format"):
        args.run(args)
