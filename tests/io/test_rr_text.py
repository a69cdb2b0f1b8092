"""RR text files: good files read right, bad files refused with file, line and reason."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.io.rr_text import read_rr_text, write_rr_text


def write(tmp_path, text: str | bytes, name: str = "rr.txt"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_ms_with_comments_and_blank_lines(tmp_path):
    path = write(tmp_path, "# Kubios export\n\n812\n 790.5 \n805 # ok\n")
    rec = read_rr_text(path)
    np.testing.assert_allclose(rec.rr_ms, [812.0, 790.5, 805.0])
    np.testing.assert_allclose(rec.time_s, [0.812, 1.6025, 2.4075])
    assert rec.metadata["unit"] == "ms" and rec.source == "file" and rec.name == "rr.txt"


def test_values_below_ten_are_seconds(tmp_path):
    rec = read_rr_text(write(tmp_path, "0.812\n0.790\n0.805\n"))
    np.testing.assert_allclose(rec.rr_ms, [812.0, 790.0, 805.0])
    assert rec.metadata["unit"] == "s"


def test_round_trip_with_writer(tmp_path):
    rr = np.array([800.125, 905.5, 1010.0])
    path = tmp_path / "out.txt"
    write_rr_text(path, rr, comment="made by a test")
    np.testing.assert_allclose(read_rr_text(path).rr_ms, rr)


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("", None, "no RR values"),
        ("# only a comment\n\n", None, "no RR values"),
        ("800\n810\nabc\n820\n", 3, "'abc' is not a number"),
        ("800\n810 820\n", 2, "not a number"),
        ("800\n-810\n", 2, "zero or negative"),
        ("800\n0\n", 2, "zero or negative"),
        ("800\nnan\n", 2, "not a finite number"),
        ("800\n810\n90000\n", 3, "outside the plausible range"),
        ("800\n810\n120\n", 3, "outside the plausible range"),
        ("0.8\n0.81\n812\n", 3, "looks like ms"),
    ],
)
def test_bad_files_name_file_line_and_reason(tmp_path, content, line, needle):
    path = write(tmp_path, content)
    with pytest.raises(InputFileError) as info:
        read_rr_text(path)
    err = info.value
    assert err.line == line
    assert needle in str(err)
    assert str(path) in str(err)
    if line is not None:
        assert f"line {line}" in str(err)


def test_binary_file_is_refused(tmp_path):
    path = write(tmp_path, bytes(range(256)) * 4, name="strap.bin")
    with pytest.raises(InputFileError, match="binary"):
        read_rr_text(path)


def test_non_utf8_file_names_the_line(tmp_path):
    path = write(tmp_path, b"800\n810\n\xff\xfe812\n")
    with pytest.raises(InputFileError, match="line 3: not UTF-8"):
        read_rr_text(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_rr_text(tmp_path / "missing.txt")
    with pytest.raises(InputFileError, match="is a folder"):
        read_rr_text(tmp_path)
