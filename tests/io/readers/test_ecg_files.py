"""Raw ECG files: single-column text, Apple Health exports and EDF/EDF+ (written here with
pyedflib from neurokit2's simulator), with their refusals and corrupt inputs."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import neurokit2 as nk
import numpy as np
import pyedflib
import pytest
from pyedflib import highlevel

from biofeedback.analysis.ecg_peaks import rr_from_ecg
from biofeedback.core.errors import InputFileError
from biofeedback.core.types import MarkerKind
from biofeedback.io.importers import detect_format, read_import
from biofeedback.io.readers.base import FileProbe, NotRRDataError
from biofeedback.io.readers.ecg_files import NEEDS_RATE, sniff_text
from conftest import DATA

ECG = DATA / "ecg"


def file_values(path, first_line: int) -> np.ndarray:
    """The samples as written, read independently with the csv module."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[first_line:]
    return np.array([float(r[0].replace(",", ".")) for r in rows if r and r[0]])


def assert_ecg_channel(imported, fs, n):
    assert imported.rr_source == "ecg"
    assert imported.n_beats == 0
    assert len(imported.channels) == 1
    channel = imported.channels[0]
    assert (channel.name, channel.kind, channel.unit, channel.columns) == (
        "ECG", "ecg", "uV", ("ecg",))
    assert channel.sampling_rate_hz == fs
    assert channel.start_s == 0.0
    assert channel.samples.shape == (n, 1)
    assert channel.source_file == imported.original_name
    return channel


# --- Apple Health ---------------------------------------------------------------------------

def test_apple_health_export():
    path = ECG / "apple_health_ecg_512hz.csv"
    assert detect_format(path) == "apple_health_ecg"
    imported = read_import(path)
    channel = assert_ecg_channel(imported, 512.0, 10240)
    np.testing.assert_array_equal(channel.samples[:, 0], file_values(path, 13))
    assert imported.start_time == datetime(2023, 3, 14, 8, 15, 30,
                                           tzinfo=timezone(timedelta(hours=1)))
    assert imported.details["classification"] == "Sinus Rhythm"
    assert imported.details["lead"] == "Lead I"
    assert imported.details["device"] == "Watch6,2"
    assert imported.details["file_unit"] == "µV"
    # No personal data is kept.
    assert "Jane Example" not in repr(imported.details) + repr(imported.settings())
    assert "1980" not in repr(imported.details)
    beats = rr_from_ecg(channel)
    assert abs(float(beats.rr_ms.mean()) - 60000 / 72) < 2.0
    assert 20 <= beats.n_beats <= 23


def test_apple_health_decimal_comma_export():
    path = ECG / "apple_health_ecg_decimal_comma.csv"
    assert detect_format(path) == "apple_health_ecg"
    imported = read_import(path)
    channel = assert_ecg_channel(imported, 512.0, 5120)
    np.testing.assert_array_equal(channel.samples[:, 0], file_values(path, 13))
    assert channel.samples[0, 0] == 1109.743
    assert imported.start_time == datetime(2023, 3, 15, 21, 40, 2,
                                           tzinfo=timezone(timedelta(hours=1)))
    beats = rr_from_ecg(channel)
    assert abs(float(beats.rr_ms.mean()) - 60000 / 90) < 2.0


def test_apple_health_bad_sample_and_bad_rate(tmp_path):
    lines = (ECG / "apple_health_ecg_512hz.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad_sample.csv"
    bad.write_text("\n".join([*lines[:20], "12.5x", *lines[21:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_import(bad)
    assert (caught.value.line, caught.value.field) == (21, "ECG")
    assert caught.value.reason == "'12.5x' is not an ECG sample"
    no_rate = tmp_path / "no_rate.csv"
    no_rate.write_text("\n".join([*lines[:7], "Sample Rate,fast", *lines[8:]]) + "\n",
                       encoding="utf-8")
    with pytest.raises(InputFileError, match=r"no_rate\.csv, field 'Sample Rate': the "
                                             r"header's Sample Rate 'fast' is not a rate"):
        read_import(no_rate)


# --- single-column text ---------------------------------------------------------------------

def test_single_column_with_header_needs_the_rate():
    path = ECG / "ecg_uv_250hz.txt"
    assert detect_format(path) == "ecg_text"
    with pytest.raises(InputFileError) as caught:
        read_import(path)
    assert caught.value.reason == NEEDS_RATE
    assert str(caught.value) == (f"{path}: single-column ECG needs its sampling rate: pass "
                                 "--sampling-rate HZ")


def test_single_column_with_rate():
    path = ECG / "ecg_uv_250hz.txt"
    imported = read_import(path, sampling_rate_hz=250.0)
    channel = assert_ecg_channel(imported, 250.0, 15000)
    np.testing.assert_array_equal(channel.samples[:, 0], file_values(path, 1))
    assert imported.start_time is None
    assert imported.details["header"] == "ECG [uV]"
    beats = rr_from_ecg(channel)
    assert abs(float(beats.rr_ms.mean()) - 1000.0) < 2.0
    assert 57 <= beats.n_beats <= 59


def test_single_column_in_millivolts_without_header(tmp_path):
    values = file_values(ECG / "ecg_uv_250hz.txt", 1)
    in_mv = tmp_path / "ecg_mv.txt"
    in_mv.write_text("mV\n" + "\n".join(f"{v / 1000:.4f}" for v in values) + "\n")
    assert detect_format(in_mv) == "ecg_text"
    channel = read_import(in_mv, sampling_rate_hz=250.0).channels[0]
    np.testing.assert_allclose(channel.samples[:, 0], values, atol=0.05)
    no_header = tmp_path / "ecg.txt"
    no_header.write_text("\n".join(f"{v:.1f}" for v in values) + "\n")
    assert detect_format(no_header) == "ecg_text"
    imported = read_import(no_header, sampling_rate_hz=250.0)
    assert "no unit in the file: samples taken as µV" in imported.notes


def test_rr_like_columns_are_not_ecg(tmp_path):
    rr = tmp_path / "rr.txt"
    rr.write_text("\n".join(str(800 + (k % 7) * 10) for k in range(5000)) + "\n")
    assert sniff_text(FileProbe(rr)) == 0  # many lines, but never negative
    short = tmp_path / "short.txt"
    short.write_text("\n".join(str((-1) ** k * 100) for k in range(500)) + "\n")
    assert sniff_text(FileProbe(short)) == 0  # both signs, but few lines
    rr_header = tmp_path / "rr_header.txt"
    rr_header.write_text("RR\n812\n795\n")
    assert sniff_text(FileProbe(rr_header)) == 0


def test_single_column_bad_value(tmp_path):
    values = [f"{v:.1f}" for v in file_values(ECG / "ecg_uv_250hz.txt", 1)[:3000]]
    values[1500] = "nan"
    path = tmp_path / "ecg_bad.txt"
    path.write_text("ECG [uV]\n" + "\n".join(values) + "\n")
    assert detect_format(path) == "ecg_text"
    with pytest.raises(InputFileError) as caught:
        read_import(path, sampling_rate_hz=250.0)
    assert (caught.value.line, caught.value.reason) == (1502, "'nan' is not a finite number")
    short = tmp_path / "ecg_short.txt"
    short.write_text("ECG [uV]\n12.5\n-3.0\nnoise\n4.0\n")
    with pytest.raises(InputFileError) as caught:
        read_import(short, format="ecg_text", sampling_rate_hz=250.0)
    assert (caught.value.line, caught.value.reason) == (4, "'noise' is not a number")


# --- EDF ------------------------------------------------------------------------------------

START = datetime(2023, 5, 1, 10, 20, 30)


def write_edf(path, signals, headers, annotations=()):
    header = highlevel.make_header(startdate=START)
    header["annotations"] = [list(a) for a in annotations]
    assert highlevel.write_edf(str(path), signals, headers, header)


def ecg_mv(heart_rate: float, fs: int, duration_s: float, seed: int) -> np.ndarray:
    return np.asarray(nk.ecg_simulate(duration=duration_s, sampling_rate=fs,
                                      heart_rate=heart_rate, heart_rate_std=0, noise=0.01,
                                      random_state=seed))


def signal_header(label: str, unit: str, fs: float, low: float, high: float) -> dict:
    return highlevel.make_signal_header(label, dimension=unit, sample_frequency=fs,
                                        physical_min=low, physical_max=high)


def test_edf_plus_with_ecg_in_millivolts(tmp_path):
    fs = 256
    ecg = ecg_mv(66, fs, 30, seed=11)
    resp = np.sin(np.arange(ecg.size) / fs * 2 * np.pi * 0.25)
    path = tmp_path / "study.edf"
    write_edf(path, [resp, ecg],
              [signal_header("Resp chest", "a.u.", fs, -2, 2),
               signal_header("ECG II", "mV", fs, -5, 5)],
              annotations=[(2.5, -1, "lights off"), (10.0, 4.0, "cough")])
    assert detect_format(path) == "edf_ecg"
    imported = read_import(path)
    channel = assert_ecg_channel(imported, 256.0, ecg.size)
    # EDF stores 16-bit integers: 10 mV / 65535 steps = 0.15 µV.
    np.testing.assert_allclose(channel.samples[:, 0], ecg * 1000.0, atol=0.2)
    assert imported.start_time == START
    assert imported.details["channel"] == "ECG II"
    assert imported.details["channels_in_file"] == ["Resp chest", "ECG II"]
    assert imported.details["file_type"] == "EDF+"
    assert [(m.onset_s, m.duration_s, m.label, m.kind) for m in imported.markers] == [
        (2.5, 0.0, "lights off", MarkerKind.EXTERNAL),
        (10.0, 4.0, "cough", MarkerKind.EXTERNAL),
    ]
    beats = rr_from_ecg(channel)
    assert abs(float(beats.rr_ms.mean()) - 60000 / 66) < 2.0


def test_edf_without_ecg_label_reads_the_only_voltage_channel(tmp_path):
    fs = 200
    ecg = ecg_mv(80, fs, 10, seed=12) * 1000.0
    path = tmp_path / "chest.edf"
    write_edf(path, [ecg, np.full(ecg.size, 36.6)],
              [signal_header("Chest lead", "uV", fs, -5000, 5000),
               signal_header("Temp", "degC", fs, 30, 40)])
    imported = read_import(path)
    assert imported.details["channel"] == "Chest lead"
    np.testing.assert_allclose(imported.channels[0].samples[:, 0], ecg, atol=0.2)
    assert any("the only one in a voltage unit" in n for n in imported.notes)


def test_edf_without_ecg_channel_is_refused(tmp_path):
    fs = 100
    noise = np.random.default_rng(4).normal(0, 20, fs * 10)
    path = tmp_path / "eeg.edf"
    write_edf(path, [noise, noise],
              [signal_header("EEG Fp1", "uV", fs, -500, 500),
               signal_header("EEG Fp2", "uV", fs, -500, 500)])
    assert detect_format(path) == "edf_ecg"
    with pytest.raises(NotRRDataError) as caught:
        read_import(path)
    assert caught.value.reason == (
        "this EDF file has no ECG channel (none labelled ECG or EKG, and more than one in a "
        "voltage unit): it holds 'EEG Fp1' (uV), 'EEG Fp2' (uV)")


def test_broken_edf(tmp_path):
    fs = 128
    path = tmp_path / "whole.edf"
    write_edf(path, [ecg_mv(60, fs, 10, seed=1)], [signal_header("ECG", "mV", fs, -5, 5)])
    raw = path.read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(raw[: len(raw) // 2])
    assert detect_format(cut) == "edf_ecg"
    with pytest.raises(InputFileError) as caught:
        read_import(cut)
    assert caught.value.path == cut
    assert caught.value.reason == ("not a readable EDF file: the file is not EDF(+) or "
                                   "BDF(+) compliant (Filesize)")
    garbage = tmp_path / "garbage.edf"
    garbage.write_bytes(raw[:256] + bytes(range(256)) * 10)
    with pytest.raises(InputFileError, match=r"garbage\.edf: not a readable EDF file"):
        read_import(garbage, format="edf_ecg")


def test_pyedflib_reads_what_it_wrote(tmp_path):
    """Guards the fixture writer: the header it writes is the one the reader sees."""
    path = tmp_path / "check.edf"
    write_edf(path, [ecg_mv(60, 128, 5, seed=2)], [signal_header("ECG", "mV", 128, -5, 5)])
    with pyedflib.EdfReader(str(path)) as reader:
        assert reader.getSignalLabels() == ["ECG"]
        assert reader.getStartdatetime() == START
