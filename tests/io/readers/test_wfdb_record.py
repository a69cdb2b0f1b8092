"""PhysioNet WFDB reader: crisdb e002a (the '|' marks must break the NN series), nsr2db
nsr001 (ported from the old hand-written annotation reader's tests), hand-built annotation
files with every pseudo-annotation, and corrupt files."""

from __future__ import annotations

import shutil
import struct
from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.core.types import GapReason, MarkerKind
from biofeedback.io.importers import detect_format, read_import
from biofeedback.io.readers.base import FileProbe
from biofeedback.io.readers.wfdb_record import NO_ANNOTATIONS, annotation_problem, sniff
from conftest import DATA

WFDB = DATA / "real" / "physionet_wfdb"


def word(a: int, i: int) -> bytes:
    return struct.pack("<H", (a << 10) | i)


def skip(n: int) -> bytes:
    n &= 0xFFFFFFFF
    return word(59, 0) + struct.pack("<HH", n >> 16, n & 0xFFFF)


def aux(text: bytes) -> bytes:
    return word(63, len(text)) + text + (b"\0" if len(text) % 2 else b"")


END = word(0, 0)


@pytest.fixture(scope="module")
def e002a():
    return read_import(WFDB / "e002a.hea")


def test_e002a_nn_intervals(e002a):
    rr = e002a.recording.rr_ms
    assert rr.size == 100754
    assert round(float(rr.mean()), 4) == 673.2716
    np.testing.assert_allclose(rr[:5], [550.0638, 558.0357, 462.3724, 661.6709, 550.0638],
                               atol=1e-4)
    # Pairing over all annotations: no interval spans one of the noise gaps the '|' marks
    # end (dropping them first gives 101317 intervals, 563 above 3000 ms, mean 746.1499).
    assert round(float(rr.min()), 4) == 446.4286
    assert round(float(rr.max()), 4) == 996.4923
    assert e002a.details["sampling_rate_hz"] == 125.44
    assert e002a.format == "physionet_wfdb"
    assert e002a.files == ["e002a.hea", "e002a.atr"]


def test_e002a_times_start_and_markers(e002a):
    rec = e002a.recording
    assert e002a.start_time == datetime(1987, 6, 28, 9, 45, 0)
    assert e002a.start_time.tzinfo is None
    # Session time 0 is the record start: the first annotation is 334.837 s in.
    np.testing.assert_allclose(rec.time_s[0] - rec.rr_ms[0] / 1000.0, 42002 / 125.44)
    assert round(float(rec.time_s[0] - rec.rr_ms[0] / 1000.0), 3) == 334.837
    samples_end = rec.time_s * 125.44
    np.testing.assert_allclose(samples_end, np.round(samples_end), atol=1e-6)
    assert e002a.details["annotation_counts"] == {"N": 109525, "V": 5533, "Q": 475,
                                                  "A": 2509, "|": 614}
    labels = Counter(m.label for m in e002a.markers)
    assert labels == {"beat V": 5533, "beat A": 2509, "beat Q": 475, "annotation |": 614}
    assert all(m.kind is MarkerKind.EXTERNAL and m.duration_s == 0 for m in e002a.markers)
    first = e002a.markers[0]
    assert first.extra == {"annotation": "V", "sample": 43585,
                           "description": "Premature ventricular contraction"}
    assert first.onset_s == 43585 / 125.44


def test_e002a_gaps_cover_every_interruption(e002a):
    rec = e002a.recording
    assert len(rec.gaps) == 8420
    assert all(g.reason is GapReason.SOURCE for g in rec.gaps)
    # Each gap runs from an NN beat to the start of the next NN interval.
    starts = rec.time_s - rec.rr_ms / 1000.0
    segment = rec.segment_ids()
    assert segment[-1] == 8420
    opens = np.flatnonzero(np.diff(segment)) + 1
    for gap, k in zip(rec.gaps, opens, strict=True):
        assert gap.start_s == rec.time_s[k - 1]
        np.testing.assert_allclose(gap.end_s, starts[k])
    # Within a segment, each interval starts where the previous ended.
    same = np.diff(segment) == 0
    np.testing.assert_allclose(starts[1:][same], rec.time_s[:-1][same])
    # The longest interruption is one of the noise spans of up to 128 s.
    assert 100 < max(g.duration_s for g in rec.gaps) < 135


def test_e002a_from_the_annotation_file(e002a):
    path = WFDB / "e002a.atr"
    assert detect_format(path) == "physionet_wfdb"
    from_atr = read_import(path)
    np.testing.assert_array_equal(from_atr.recording.rr_ms, e002a.recording.rr_ms)
    assert from_atr.files == ["e002a.atr", "e002a.hea"]
    assert from_atr.start_time == e002a.start_time


def test_header_sniff():
    assert detect_format(WFDB / "e002a.hea") == "physionet_wfdb"


# --- nsr001 (the old annotation reader's tests, on the new reader) -------------------------

@pytest.fixture(scope="module")
def nsr001():
    return read_import(DATA / "nsr001.hea")


def test_nsr001_header_and_contents(nsr001):
    assert nsr001.details["sampling_rate_hz"] == 128.0
    assert nsr001.details["annotator"] == "ecg"
    assert nsr001.details["annotations"] == 106835
    assert nsr001.details["annotation_counts"] == {"A": 13, "N": 106379, "V": 68, "~": 375}
    assert nsr001.details["header_comments"] == ["Age: 64 Sex: F"]
    assert nsr001.start_time is None  # the header has no base time
    rec = nsr001.recording
    first_sample = (rec.time_s[0] - rec.rr_ms[0] / 1000.0) * 128
    assert round(first_sample, 6) == 28902
    assert np.all(np.diff(rec.time_s) > 0)
    assert 22.0 < rec.time_s[-1] / 3600 < 23.0
    assert 700 < np.median(rec.rr_ms) < 1000
    # Every '~' (noise), V and A interrupts the NN series.
    assert rec.n_beats == 105923
    assert len(rec.gaps) == 453
    assert len(nsr001.markers) == 13 + 68 + 375


def test_nsr001_matches_the_toolbox_series(nsr001):
    """The PhysioNet Cardiovascular Signal Toolbox read the 128 Hz file at 125 Hz, timed beats
    from the first annotation and took noise marks for beats. Rescaled that way, every one
    of our NN intervals in its first two hours is one of its intervals, exactly; its 14
    others each begin or end at an annotation that is not N."""
    derived = pd.read_csv(DATA / "cst_derived_nn_fs125.csv")
    cst = derived[derived.patID == "nsr001"]
    t_cst = cst.t_s_fs125.to_numpy()
    nn_cst = cst.NN_ms_fs125.to_numpy(dtype=float)
    assert t_cst[-1] > 7000

    rec = nsr001.recording
    end = np.rint(rec.time_s * 128).astype(np.int64)
    t_ours = (end - 28902) / 125.0
    rr_ours = rec.rr_ms * 128 / 125
    inside = t_ours <= t_cst[-1] + 1e-9
    idx = np.clip(np.searchsorted(t_cst, t_ours[inside] - 1e-6), 0, t_cst.size - 1)
    np.testing.assert_allclose(t_cst[idx], t_ours[inside], atol=1e-9)
    np.testing.assert_allclose(nn_cst[idx], rr_ours[inside], atol=1e-9)

    others = np.ones(t_cst.size, dtype=bool)
    others[idx] = False
    assert others.sum() == 14
    marks = np.array([(m.extra["sample"] - 28902) / 125.0 for m in nsr001.markers])
    ends = t_cst[others]
    begins = ends - nn_cst[others] / 1000.0
    touches = ((np.abs(ends[:, None] - marks).min(axis=1) < 1e-6)
               | (np.abs(begins[:, None] - marks).min(axis=1) < 1e-6))
    assert touches.all()


# --- hand-built annotation files -----------------------------------------------------------

def write_record(folder, data: bytes, header: str = "synth 0 100\n", ext: str = "atr"):
    (folder / "synth.hea").write_text(header)
    (folder / f"synth.{ext}").write_bytes(data)
    return folder / "synth.hea"


SYNTHETIC = (
    skip(100_000)  # SKIP before the first annotation, needs 32 bits
    + word(1, 5)  # N at 100005
    + word(62, 2)  # CHN 2
    + word(60, 7)  # NUM 7
    + word(1, 300)  # N at 100305
    + word(5, 700)  # V at 101005
    + word(61, 3)  # SUB 3
    + aux(b"odd")  # AUX with a pad byte
    + word(1, 300)  # N at 101305
    + word(1, 100)  # N at 101405
    + skip(70_000)
    + word(28, 0)  # + (rhythm) at 171405
    + aux(b"(N")
    + word(1, 1023)  # N at 172428
    + word(1, 100)  # N at 172528
    + END
    + b"trailing bytes are not annotations"
)


def test_synthetic_file_with_every_pseudo_annotation(tmp_path):
    header = write_record(tmp_path, SYNTHETIC)
    imported = read_import(header)
    rec = imported.recording
    assert rec.rr_ms.tolist() == [3000.0, 1000.0, 1000.0]
    assert rec.time_s.tolist() == [1003.05, 1014.05, 1725.28]
    assert [(g.start_s, g.end_s) for g in rec.gaps] == [(1003.05, 1013.05), (1014.05, 1724.28)]
    assert [(m.onset_s, m.label, m.extra) for m in imported.markers] == [
        (1010.05, "beat V odd", {"annotation": "V", "sample": 101005, "aux": "odd",
                                 "description": "Premature ventricular contraction"}),
        (1714.05, "annotation + (N", {"annotation": "+", "sample": 171405, "aux": "(N",
                                      "description": "Rhythm change"}),
    ]
    assert imported.details["annotation_counts"] == {"+": 1, "N": 6, "V": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (word(1, 5) + word(1, 5), "byte offset 4: end of data before the end-of-file marker"),
        (word(1, 5) + b"\x01", "byte offset 2: odd trailing byte"),
        (word(1, 5) + word(59, 0) + b"\0\0", "byte offset 2: SKIP without its 4-byte"),
        (word(1, 5) + word(63, 9) + b"abc", "byte offset 2: AUX of 9 bytes runs past"),
        (word(1, 5) + word(55, 0) + END, "byte offset 2: undefined annotation type 55"),
    ],
)
def test_corrupt_annotations_name_file_and_offset(tmp_path, data, message):
    assert annotation_problem(data).startswith(message)
    header = write_record(tmp_path, data)
    with pytest.raises(InputFileError) as caught:
        read_import(header)
    assert caught.value.path == tmp_path / "synth.atr"
    assert caught.value.reason.startswith(f"corrupt WFDB annotation file: {message}")


def test_garbage_annotation_file(tmp_path):
    rng = np.random.default_rng(3)
    garbage = bytes(rng.integers(0, 256, 5000, dtype=np.uint8))
    header = write_record(tmp_path, garbage)
    with pytest.raises(InputFileError, match=r"synth\.atr: corrupt WFDB annotation file: "
                                             r"byte offset \d+: undefined annotation type"):
        read_import(header)
    with pytest.raises(InputFileError, match=r"synth\.atr: corrupt WFDB annotation file"):
        read_import(tmp_path / "synth.atr", format="physionet_wfdb")


@pytest.mark.parametrize(("cut", "offset", "what"), [(1001, 1000, "odd trailing byte"),
                                                      (1000, 1000, "end of data")])
def test_truncated_real_file(tmp_path, cut, offset, what):
    shutil.copy(DATA / "nsr001.hea", tmp_path / "nsr001.hea")
    (tmp_path / "nsr001.ecg").write_bytes((DATA / "nsr001.ecg").read_bytes()[:cut])
    with pytest.raises(InputFileError, match=rf"nsr001\.ecg: corrupt WFDB annotation file: "
                                             rf"byte offset {offset}: {what}"):
        read_import(tmp_path / "nsr001.hea")


def test_header_without_annotation_file(tmp_path):
    shutil.copy(WFDB / "e002a.hea", tmp_path / "e002a.hea")
    (tmp_path / "e002a.dat").write_bytes(b"\0" * 64)  # signals are never annotations
    assert detect_format(tmp_path / "e002a.hea") == "physionet_wfdb"
    with pytest.raises(InputFileError) as caught:
        read_import(tmp_path / "e002a.hea")
    assert caught.value.reason == NO_ANNOTATIONS
    assert str(caught.value) == (
        f"{tmp_path / 'e002a.hea'}: WFDB header without an annotation file: RR intervals are "
        "read from beat annotations (.atr/.ecg/.qrs) beside the header; the signal file (.dat) "
        "is not read")


def test_annotation_file_without_header(tmp_path):
    shutil.copy(WFDB / "e002a.atr", tmp_path / "e002a.atr")
    assert sniff(FileProbe(tmp_path / "e002a.atr")) == 0
    with pytest.raises(InputFileError, match=r"e002a\.atr: WFDB annotation file without its "
                                             r"header e002a\.hea"):
        read_import(tmp_path / "e002a.atr", format="physionet_wfdb")


def test_other_annotator_found_beside_the_header(tmp_path):
    header = write_record(tmp_path, word(1, 50) + word(1, 80) + word(1, 90) + END, ext="qrs")
    imported = read_import(header)
    assert imported.recording.rr_ms.tolist() == [800.0, 900.0]
    assert imported.files == ["synth.hea", "synth.qrs"]
    assert imported.details["annotator"] == "qrs"


def test_atr_preferred_over_other_annotators(tmp_path):
    write_record(tmp_path, word(1, 50) + word(1, 80) + END, ext="qrs")
    header = write_record(tmp_path, word(1, 50) + word(1, 70) + END, ext="atr")
    imported = read_import(header)
    assert imported.recording.rr_ms.tolist() == [700.0]
    assert any("not read: synth.qrs" in n for n in imported.notes)


def test_header_with_time_but_no_date(tmp_path):
    header = write_record(tmp_path, word(1, 50) + word(1, 80) + END,
                          header="synth 0 100 0 10:30:00\n")
    imported = read_import(header)
    assert imported.start_time is None
    assert imported.details["base_time"] == "10:30:00"
    assert any("start time 10:30:00 but no date" in n for n in imported.notes)


def test_text_file_is_not_a_header(tmp_path):
    (tmp_path / "notes.hea").write_text("812\n795\n")
    assert sniff(FileProbe(tmp_path / "notes.hea")) == 0


def test_malformed_header(tmp_path):
    header = write_record(tmp_path, word(1, 50) + word(1, 80) + END,
                          header="synth 0 fast\n")
    with pytest.raises(InputFileError, match=r"synth\.hea: the sampling frequency .fast. of "
                                             r"the record line is not a positive number"):
        read_import(header)
    header = write_record(tmp_path, word(1, 50) + word(1, 80) + END, header="synth x\n")
    with pytest.raises(InputFileError, match=r"synth\.hea: not a readable WFDB header: "
                                             r"HeaderSyntaxError: invalid syntax"):
        read_import(header, format="physionet_wfdb")


def test_header_without_rate_uses_the_wfdb_default(tmp_path):
    header = write_record(tmp_path, word(1, 50) + word(1, 200) + END, header="synth 0\n")
    imported = read_import(header)
    assert imported.recording.rr_ms.tolist() == [800.0]  # 200 samples at 250 Hz
    assert "the header gives no sampling frequency: WFDB's default 250 Hz used" in imported.notes
