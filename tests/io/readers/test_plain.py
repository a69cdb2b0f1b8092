"""Files of nothing but intervals (plain RR text, Kubios RR input, Elite HRV, Welltory)."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import read_import


def write(tmp_path, text: str | bytes, name: str = "rr.txt"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_comments_blank_lines_and_a_trailing_comment(tmp_path):
    imported = read_import(write(tmp_path, "# Kubios export\n\n812\n 790.5 \n805 # ok\n"))
    assert imported.format == "kubios_rr"
    rec = imported.recording
    np.testing.assert_allclose(rec.rr_ms, [812.0, 790.5, 805.0])
    np.testing.assert_allclose(rec.time_s, [0.812, 1.6025, 2.4075])
    assert imported.details["header_comments"] == ["Kubios export"]
    # Without the header comment, a trailing one is still read.
    assert read_import(write(tmp_path, "812\n790\n805 # ok\n", "b.txt")).n_beats == 3


def test_values_below_ten_are_seconds(tmp_path):
    imported = read_import(write(tmp_path, "0.812\n0.790\n0.805\n"))
    np.testing.assert_allclose(imported.recording.rr_ms, [812.0, 790.0, 805.0])
    assert imported.details["unit"] == "s"


def test_decimal_commas(tmp_path):
    imported = read_import(write(tmp_path, "0,812\n0,790\n0,805\n"))
    np.testing.assert_allclose(imported.recording.rr_ms, [812.0, 790.0, 805.0])
    assert imported.details["decimal_comma"] is True


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("# only a comment\n\n", None, "no RR values"),
        ("800\n810\nabc\n820\n", 3, "'abc' is not a number"),
        ("800\n-810\n", 2, "zero or negative"),
        ("800\n0\n", 2, "zero or negative"),
        ("800\nnan\n", 2, "not a finite number"),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path, content, line, needle):
    path = write(tmp_path, content)
    with pytest.raises(InputFileError) as info:
        read_import(path, "plain_rr_text")
    err = info.value
    assert (err.path, err.line) == (path, line)
    assert needle in str(err)
    if line is not None:
        assert str(err).startswith(f"{path}, line {line}, field 'rr': ")


def test_binary_and_missing_files(tmp_path):
    with pytest.raises(InputFileError, match="binary"):
        read_import(write(tmp_path, bytes(range(256)) * 4, name="strap.bin"))
    with pytest.raises(InputFileError, match="no such file"):
        read_import(tmp_path / "missing.txt")
    with pytest.raises(InputFileError, match="is a folder"):
        read_import(tmp_path)


def test_windows_encoded_comment_is_read(tmp_path):
    """A comment in cp1252 (a Windows tool) does not make the file unreadable."""
    imported = read_import(write(tmp_path, "# Messung für Jürgen\n800\n810\n".encode("cp1252")))
    assert imported.n_beats == 2 and imported.details["header_comments"] == [
        "Messung für Jürgen"]
