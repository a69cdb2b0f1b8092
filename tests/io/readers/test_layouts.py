"""Layouts, encodings and line endings real tools write, rebuilt from their descriptions
(tests/data/real/LAYOUTS.md, docs/formats.md), plus the synthetic fixtures of
tests/data/import/.

Each case is bytes a tool writes; the reader must get the intervals, start time, gaps and
markers right, and pass the conformance checks every reader passes.
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import detect_format, read_import
from biofeedback.io.readers.base import NotRRDataError
from conftest import DATA
from reader_checks import check_recording

IMPORT = DATA / "import"
RR = [812, 790, 805, 830, 4189, 801, 150, 799]  # a pause and an extra beat: both kept


def _lines(rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join(rows) + newline).encode()


LAYOUTS = [
    # (file name, content, format, RR ms, start time)
    ("2023-02-08 15-29-27_RR.csv",  # HRV Logger Android: comma-space header, empty 2nd line
     _lines(["timestamp, rr, since_start ", ""] + [
         f"{1675889367255 + sum(RR[:i + 1])},{r},{34096 + sum(RR[:i + 1])}"
         for i, r in enumerate(RR)]),
     "hrv_logger", RR,
     datetime.fromtimestamp(1675889367.255, UTC)),
    ("2017-10-15 08-31-03_RR_ios.csv",  # HRV Logger iOS: CR-only line endings
     _lines(["date,rr,since start"] + [
         (datetime(2017, 10, 15, 8, 31, 3) + timedelta(milliseconds=sum(RR[:i + 1])))
         .isoformat(timespec="milliseconds") + f",{r},{sum(RR[:i + 1])}"
         for i, r in enumerate(RR)], "\r"),
     "hrv_logger", RR, datetime(2017, 10, 15, 8, 31, 3)),
    ("2025-03-15_RR_0001.csv",  # HRV Logger iOS with a zone, 1 s resolution
     _lines(["date, rr, since start"] + [
         (datetime(2025, 3, 15, 11, 3, 0) + timedelta(milliseconds=sum(RR[:i + 1])))
         .strftime("%Y-%m-%d %H:%M:%S +0000") + f", {r}, {sum(RR[:i])}"
         for i, r in enumerate(RR)]),
     "hrv_logger", RR, datetime(2025, 3, 15, 11, 2, 59, 188000, tzinfo=UTC)),
    ("Polar_H10_55354125_20210516_080845_RR.txt",  # PSL: stamp = start of the row's interval
     _lines(["Phone timestamp;RR-interval [ms]"] + [
         (datetime(2021, 5, 16, 8, 8, 45, 762000) + timedelta(milliseconds=sum(RR[:i])))
         .isoformat(timespec="milliseconds") + f";{r}" for i, r in enumerate(RR)]),
     "polar_sensor_logger", RR, datetime(2021, 5, 16, 8, 8, 45, 762000)),
    ("2017-06-29 13-11-53.txt",  # Elite HRV: no newline after the last value
     "\n".join(map(str, RR)).encode(), "elite_hrv", RR, datetime(2017, 6, 29, 13, 11, 53)),
    ("subject_02_RR.txt", " ".join(map(str, RR)).encode(), "welltory", RR, None),
    ("nsr001_rr_secs.txt",  # PhysioNet: the first value is the time of the first beat
     _lines(["225.79687500"] + [f"{r / 1000:.8f}" for r in RR] * 2),
     "physionet_rr", RR * 2, None),
    ("ibi.tsv", _lines(["beat_time_s"] + [f"{(1000 + sum(RR[:i])) / 1000:.3f}"
                                          for i in range(len(RR) + 1)]),
     "csv", RR, None),
    ("export.csv",  # semicolons and decimal commas (a European spreadsheet)
     _lines(["Zeit [s];RR-interval [s]"] + [f"{sum(RR[:i + 1]) / 1000:.3f};{r / 1000:.3f}"
                                            .replace(".", ",") for i, r in enumerate(RR)]),
     "csv", RR, None),
    ("bom.txt", codecs.BOM_UTF8 + _lines(["# RR (ms)"] + [str(r) for r in RR], "\r\n"),
     "kubios_rr", RR, None),
    ("utf16.txt", codecs.BOM_UTF16_LE + "\r\n".join(map(str, RR)).encode("utf-16-le"),
     "plain_rr_text", RR, None),
]


@pytest.mark.parametrize(("name", "content", "fmt", "rr", "start"), LAYOUTS,
                         ids=[c[0] for c in LAYOUTS])
def test_layout_reads_right(tmp_path, name, content, fmt, rr, start):
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path) == fmt
    imported = read_import(path)
    check_recording(imported, name)
    assert imported.format == fmt
    np.testing.assert_allclose(imported.recording.rr_ms, rr, atol=1e-6)
    if start is None:
        assert imported.start_time is None
    else:
        assert imported.start_time == start
    assert imported.recording.gaps == []


def test_kubios_report_latin1_crlf_header(tmp_path):
    """A Kubios report from a Windows installation: cp1252, CRLF, a name with accents."""
    src = (DATA / "real" / "kubios" / "kubios_report_pgomes_SampleReport.txt").read_bytes()
    text = src.decode("ascii").replace("Analyzed by: Pedro Gomes", "Analyzed by: Jürgen Müller")
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode("cp1252"))
    imported = read_import(path)
    assert imported.format == "kubios" and imported.n_beats == 423
    assert imported.details["report"]["Analyzed by"].startswith("Jürgen Müller")
    assert imported.details["encoding"] == "cp1252"
    assert imported.reference is not None
    assert imported.reference["tool"] == "Kubios HRV Standard 3.1.0.1"
    assert imported.reference["values"]["Mean RR (ms)"] == 707.5437
    assert imported.reference["values"]["RMSSD (ms)"] == 56.8586
    assert imported.reference["values"]["LF (ms^2) [AR spectrum]"] == 430.4991
    # Ours agree with the report's own mean within its rounding.
    assert imported.recording.rr_ms.mean() == pytest.approx(707.5437, abs=1e-3)


def test_gaps_in_a_clock_become_gaps(tmp_path):
    """HRV Logger: 5 s where the phone received nothing are a gap, not one long interval."""
    t0 = datetime(2017, 10, 15, 8, 31, 3)
    rows, clock = ["date,rr,since start"], 0
    for i in range(40):
        clock += 800 + (5000 if i == 20 else 0)
        rows.append(f"{(t0 + timedelta(milliseconds=clock)).isoformat()},800,{800 * (i + 1)}")
    path = tmp_path / "x_RR_gap.csv"
    path.write_bytes(_lines(rows))
    imported = read_import(path)
    check_recording(imported, path.name)
    [gap] = imported.recording.gaps
    assert gap.start_s == pytest.approx(0.8 * 20)
    assert gap.end_s - gap.start_s == pytest.approx(5.0, abs=1e-6)
    assert imported.recording.time_s[20] == pytest.approx(0.8 * 21 + 5.0)


def test_batched_phone_times_make_no_gap(tmp_path):
    """Beats received in bunches (three stamps alike, then a second later) are no gap."""
    t0 = datetime(2021, 5, 16, 8, 0, 0)
    rows = ["timestamp, rr, since_start ", ""]
    for i in range(60):
        arrival = t0 + timedelta(seconds=2.4 * (i // 3 + 1))
        rows.append(f"{int(arrival.replace(tzinfo=UTC).timestamp() * 1000)},800,{800 * i}")
    path = tmp_path / "batched_RR.csv"
    path.write_bytes(_lines(rows))
    assert read_import(path).recording.gaps == []


def test_synthetic_fixtures(tmp_path):
    """tests/data/import (see its SOURCE.txt): 40 beats, first 820 ms, last 796 ms."""
    expected = {
        "kubios_ms.txt": "kubios_rr", "kubios_seconds.txt": "kubios_rr",
        "2017-10-15 08-31-03_RR_session.csv": "hrv_logger",
        "2019-03-14 07-25-31.txt": "elite_hrv",
        "Polar_H10_A1B2C3D4_20210312_101530_RR.txt": "polar_sensor_logger",
        "Polar_H10_A1B2C3D4_20210312_111530_RR_comma.txt": "polar_sensor_logger",
        "polar_flow_hrv.tsv": "polar_flow", "generic_rr.csv": "csv",
        "generic_beat_times.tsv": "csv", "synthetic_rr_secs.txt": "physionet_rr",
    }
    for name, fmt in expected.items():
        imported = read_import(IMPORT / name)
        check_recording(imported, name)
        assert imported.format == fmt, name
        rec = imported.recording
        assert (rec.n_beats, rec.rr_ms[0], rec.rr_ms[-1]) == (40, 820.0, 796.0), name
    hrv = read_import(IMPORT / "2017-10-15 08-31-03_RR_session.csv")
    assert [(m.onset_s, m.label) for m in hrv.markers] == [
        (pytest.approx(10.0), "breathing start"), (pytest.approx(25.5), "itchy nose")]
    assert hrv.files == ["2017-10-15 08-31-03_RR_session.csv",
                         "2017-10-15 08-31-03_events_session.csv"]
    assert hrv.start_time == datetime(2017, 10, 15, 8, 31, 3)
    assert read_import(IMPORT / "2019-03-14 07-25-31.txt").start_time == datetime(
        2019, 3, 14, 7, 25, 31)
    physionet = read_import(IMPORT / "synthetic_rr_secs.txt").recording
    assert physionet.time_s[0] == pytest.approx(1.25 + 0.820)


def test_hrv_logger_companions(tmp_path):
    """Header-only events file: no markers but consumed; features and HR files refused."""
    rr = tmp_path / "ot_a60_RR_1.csv"
    rr.write_bytes(_lines(["timestamp, rr, since_start ", "", "1675889367255,894,34096",
                           "1675889368185,930,35026"]))
    (tmp_path / "ot_a60_events_1.csv").write_bytes(_lines(["timestamp "]))
    imported = read_import(rr)
    assert imported.markers == [] and imported.files == [rr.name, "ot_a60_events_1.csv"]
    assert imported.start_time == datetime.fromtimestamp(1675889366.361, UTC)
    features = tmp_path / "ot_a60_features_1.csv"
    features.write_bytes(_lines([
        "index, timestamp, HR, AVNN, SDNN, rMSSD, pNN50, LF, HF, LFHF, alpha_1, "
        "artifacts_removed ", "", "0,1675889398023,69.1,868.2,49.5,36.9,16.2,0.05,0.05,0.96,"
        "1.2,0.0"]))
    with pytest.raises(NotRRDataError, match=r"features file holds HRV features per window "
                       r"\(AVNN, SDNN, rMSSD, pNN50, LFHF, alpha_1\).*ot_a60_RR_1.csv"):
        read_import(features)
    hr = tmp_path / "ot_a60_HR_1.csv"
    hr.write_bytes(_lines(["timestamp, since_start, heart_rate ", "", "1675889367288,0,67"]))
    with pytest.raises(NotRRDataError, match="heart rate only"):
        read_import(hr)


def test_polar_sensor_logger_session_folder(tmp_path):
    """PPI with its MARKER and ACC files (one Verity Sense session): markers and a channel."""
    real = DATA / "real" / "polar_sensor_logger"
    for name in ("biobss_Polar_Sense_PPI.txt", "MARKER_20220425_114002.txt",
                 "Polar_Sense_A40F6F28_20220425_113903_ACC.txt"):
        (tmp_path / name).write_bytes((real / name).read_bytes())
    imported = read_import(tmp_path / "biobss_Polar_Sense_PPI.txt")
    check_recording(imported, "biobss_Polar_Sense_PPI.txt")
    assert imported.rr_source == "ppi" and imported.n_beats == 442
    assert imported.start_time == datetime(2022, 4, 25, 11, 39, 41, 224000)
    assert sorted(imported.files[1:]) == ["MARKER_20220425_114002.txt",
                                          "Polar_Sense_A40F6F28_20220425_113903_ACC.txt"]
    [marker] = imported.markers
    assert marker.onset_s == pytest.approx(21.159)  # 11:40:02.383 - 11:39:41.224
    assert marker.duration_s == pytest.approx(481.015)
    [acc] = imported.channels
    assert (acc.kind, acc.unit, acc.columns, acc.n_samples) == ("acc", "mg", ("x", "y", "z"),
                                                                26526)
    assert acc.sampling_rate_hz == pytest.approx(52, abs=0.5)
    assert acc.start_s == pytest.approx(-4.246)  # ACC started before the first interval
    assert any("blocker=1" in n for n in imported.notes)
    # Without companions, only the PPI file.
    alone = read_import(tmp_path / "biobss_Polar_Sense_PPI.txt", companions=False)
    assert alone.files == ["biobss_Polar_Sense_PPI.txt"] and alone.channels == []


def test_polar_sensor_logger_ecg_becomes_a_channel(tmp_path):
    """ECG stream: no beats yet (R-peaks are found at import), the ECG as a channel."""
    t0 = datetime(2021, 5, 16, 8, 8, 48, 322000)
    rows = ["Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"]
    for i in range(400):
        rows.append(f"{(t0 + timedelta(milliseconds=7.65528 * (i // 73 * 73))).isoformat()};"
                    f"{674467726216804212 + round(i * 7655280)};{i * 7.65528:.5f};"
                    f"{int(300 * np.sin(i / 10))}")
    path = tmp_path / "Polar_H10_55354125_20210516_080846_ECG.txt"
    path.write_bytes(_lines(rows))
    imported = read_import(path)
    assert imported.rr_source == "ecg" and imported.n_beats == 0
    [ecg] = imported.channels
    assert ecg.kind == "ecg" and ecg.unit == "uV" and ecg.n_samples == 400
    assert ecg.sampling_rate_hz == pytest.approx(130.63, abs=0.01)
    assert ecg.samples[5, 0] == int(300 * np.sin(0.5))
    assert imported.start_time == t0


def test_implausible_intervals_are_kept(tmp_path):
    path = tmp_path / "rr.txt"
    path.write_bytes(_lines(["812", "150", "4189", "61000", "800"]))
    assert list(read_import(path).recording.rr_ms) == [812, 150, 4189, 61000, 800]


MALFORMED = [
    # (file name, content, forced format, line, field, words in the reason)
    ("empty.txt", b"", None, None, None, "empty file"),
    ("blank.csv", b"\n  \n", None, None, None, "empty file"),
    ("binary.bin", b"\x00\x01\x02\x03", None, None, None, "unrecognised binary file"),
    ("rr_text.txt", b"# rr\n800\n810\nabc\n820\n", "kubios_rr", 4, "rr",
     "'abc' is not a number"),
    ("neg.txt", b"800\n-810\n820\n", None, 2, "rr", "zero or negative"),
    ("2019-03-14 07-25-31.txt", b"800\n810\n9x\n", "elite_hrv", 3, "rr", "'9x' is not a number"),
    ("x_RR_y.csv", b"date,rr,since start\n2017-10-15T08:31:03.8,800,800\n"
     b"2017-10-15T08:31:04.6,oops,1600\n", None, 3, "rr", "'oops' is not a number"),
    ("x_RR_z.csv", b"date,rr,since start\nyesterday,800,800\n", None, 2, "date",
     "not a date and time"),
    ("psl.txt", b"Phone timestamp;RR-interval [ms]\n2021-03-12T10:15:30.1;800\n"
     b"2021-03-12T10:15:31.1;n/a\n", None, 3, "RR-interval [ms]", "'n/a' is not a number"),
    ("psl_short.txt", b"Phone timestamp;RR-interval [ms]\n2021-03-12T10:15:30.1\n", None, 2,
     "RR-interval [ms]", "is missing"),
    ("flow_cols.tsv", b"0.8\t800\n1.6\n", "polar_flow", 2, None, "1 tab-separated field"),
    ("generic.csv", b"rr_ms,q\n800,a\n810,b\nn/a,c\n820,d\n", None, 4, "rr_ms",
     "'n/a' is not a number"),
    ("generic_none.csv", b"hr,q\n60,a\n", None, 1, None, "no RR interval or beat-time column"),
    ("times.csv", b"beat_time_s\n1.0\n1.8\n1.7\n", None, 4, "beat_time_s",
     "not after the previous"),
    ("garbage.txt", b"hello world\n", None, 1, None, "unrecognised format"),
    ("inf.txt", b"800\ninf\n", "plain_rr_text", 2, "rr", "not a finite number"),
    ("e4.csv", b"1560279825.000000, IBI\n83.5,0.6\n84.1\n", None, 3, None, "1 field(s)"),
    ("report.hrm", b"[Params]\r\nVersion=106\r\nInterval=1\r\n[HRData]\r\n60\r\n", None, None,
     None, "heart rate sampled every 1 s"),
]


@pytest.mark.parametrize(("name", "content", "fmt", "line", "field", "reason"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_file_names_file_line_and_field(tmp_path, name, content, fmt, line, field,
                                                  reason):
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        read_import(bad, fmt)
    exc = err.value
    assert (exc.path, exc.line, exc.field) == (bad, line, field)
    where = str(bad) + (f", line {line}" if line else "") + (f", field {field!r}" if field else "")
    assert str(exc).startswith(where + ": ")
    assert reason in str(exc)


def test_missing_file_folder_and_unknown_format(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_import(tmp_path / "nope.txt")
    with pytest.raises(InputFileError, match="is a folder"):
        read_import(tmp_path)
    with pytest.raises(ValueError, match="unknown import format"):
        read_import(IMPORT / "kubios_ms.txt", "nope")


def test_generic_column_by_name(tmp_path):
    f = tmp_path / "two.csv"
    f.write_text("a,b\n1.0,810\n2.0,790\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no RR interval or beat-time column"):
        read_import(f)
    assert list(read_import(f, column="b").recording.rr_ms) == [810.0, 790.0]
    # Column "a" as RR: by magnitude seconds -> 1000 and 2000 ms.
    assert list(read_import(f, column="a").recording.rr_ms) == [1000.0, 2000.0]
    with pytest.raises(InputFileError, match="no column 'zz'") as err:
        read_import(f, column="zz")
    assert err.value.line == 1 and err.value.field == "zz"


def test_bad_events_file_refuses_the_whole_recording(tmp_path):
    src = IMPORT / "2017-10-15 08-31-03_RR_session.csv"
    rr = tmp_path / src.name
    rr.write_bytes(src.read_bytes())
    events = tmp_path / "2017-10-15 08-31-03_events_session.csv"
    events.write_text("date,timestamp,annotation,manual\nsoon,1,x,1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        read_import(rr)
    assert (err.value.path, err.value.line, err.value.field) == (events, 2, "date")


def test_timezone_offsets_are_kept():
    """Garmin's logger writes +02:00: the start keeps the offset."""
    imported = read_import(DATA / "real" / "garmin" / "flirt_garmin_sdk_data.csv")
    assert imported.start_time is not None
    assert imported.start_time.utcoffset() == timedelta(hours=2)
    assert imported.start_time.tzinfo == timezone(timedelta(hours=2))


def test_kubios_report_with_semicolons_and_decimal_commas(tmp_path):
    """A report from a locale that writes decimal commas separates fields with semicolons."""
    src = (DATA / "real" / "kubios" / "kubios_report_pgomes_SampleReport.txt").read_text(
        encoding="ascii")
    converted = re.sub(r"(\d)\.(\d)", r"\1#\2", src).replace(",", ";").replace("#", ",")
    path = tmp_path / "report_de.txt"
    path.write_bytes(converted.encode("cp1252"))
    imported = read_import(path)
    assert imported.format == "kubios" and imported.n_beats == 423
    assert imported.recording.rr_ms[:3].tolist() == [766.0, 766.0, 727.0]
    assert imported.reference is not None
    assert imported.reference["values"]["RMSSD (ms)"] == 56.8586
