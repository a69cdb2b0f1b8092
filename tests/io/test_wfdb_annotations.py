"""WFDB (MIT-format) annotation reader: format details, corruption, and the CST nsr001 series."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from biofeedback.io.wfdb_annotations import (
    BEAT_CODES,
    beat_intervals,
    intervals_to_recording,
    parse_wfdb_annotations,
    read_header_sampling_rate,
    read_wfdb_annotations,
)
from conftest import DATA as TEST_DATA

DATA = TEST_DATA


def word(a: int, i: int) -> bytes:
    return struct.pack("<H", (a << 10) | i)


def skip(n: int) -> bytes:
    n &= 0xFFFFFFFF
    return word(59, 0) + struct.pack("<HH", n >> 16, n & 0xFFFF)


def aux(text: bytes) -> bytes:
    return word(63, len(text)) + text + (b"\0" if len(text) % 2 else b"")


END = word(0, 0)


def test_synthetic_file_with_every_pseudo_annotation():
    data = (
        skip(100_000)  # SKIP before the first annotation, needs 32 bits
        + word(1, 5)  # N at 100005
        + word(62, 2)  # CHN 2 of that N (carries over to later ones)
        + word(60, 7)  # NUM 7 of that N (carries over)
        + word(5, 1000)  # V at 101005
        + word(61, 3)  # SUB 3 (this annotation only)
        + aux(b"odd")  # AUX with a pad byte
        + word(1, 300)  # N at 101305
        + skip(70_000)
        + word(28, 0)  # + (rhythm) at 171305
        + aux(b"(N")
        + word(1, 1023)  # N at 172328
        + END
        + b"trailing bytes are ignored"
    )
    ann = parse_wfdb_annotations(data, "synthetic.atr")
    assert ann.sample.tolist() == [100005, 101005, 101305, 171305, 172328]
    assert "".join(ann.symbols) == "NVN+N"
    assert ann.chan.tolist() == [2, 2, 2, 2, 2]
    assert ann.num.tolist() == [7, 7, 7, 7, 7]
    assert ann.subtype.tolist() == [0, 3, 0, 0, 0]
    assert ann.aux == [None, b"odd", None, b"(N", None]
    assert ann.is_beat.tolist() == [True, True, True, False, True]

    beats = beat_intervals(ann, 100.0, origin="record")
    assert beats.time_s.tolist() == [1010.05, 1013.05, 1723.28]
    np.testing.assert_allclose(beats.rr_ms, [10000.0, 3000.0, 710230.0])
    assert beats.is_nn.tolist() == [False, False, True]
    assert beats.classes() == {"N": 2, "V": 1}


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (word(1, 5) + word(1, 5), 4, "end of data"),
        (word(1, 5) + b"\x01", 2, "odd trailing byte"),
        (word(1, 5) + word(59, 0) + b"\0\0", 2, "SKIP"),
        (word(1, 5) + word(63, 9) + b"abc", 2, "AUX"),
        (word(1, 5) + word(55, 0) + END, 2, "undefined annotation type 55"),
        (word(61, 1) + word(1, 5) + END, 0, "before any annotation"),
        (word(1, 5) + skip(-100) + word(1, 0) + END, 2, "negative"),
    ],
)
def test_corrupt_files_raise_with_file_and_offset(data, offset, message):
    with pytest.raises(ValueError, match=rf"bad\.atr: byte offset {offset}: .*{message}"):
        parse_wfdb_annotations(data, "bad.atr")


def test_truncated_real_file(tmp_path):
    raw = (DATA / "nsr001.ecg").read_bytes()
    cut = tmp_path / "cut.ecg"
    cut.write_bytes(raw[:1001])
    with pytest.raises(ValueError, match=r"cut\.ecg: byte offset 1000"):
        read_wfdb_annotations(cut)


def test_header():
    assert read_header_sampling_rate(DATA / "nsr001.hea") == 128.0


@pytest.fixture(scope="module")
def nsr001():
    return read_wfdb_annotations(DATA / "nsr001.ecg")


def test_nsr001_contents(nsr001):
    assert len(nsr001) == 106835
    assert nsr001.counts() == {"A": 13, "N": 106379, "V": 68, "~": 375}
    assert nsr001.sample[0] == 28902
    assert np.all(np.diff(nsr001.sample) >= 0)
    assert 22.0 < nsr001.sample[-1] / 128 / 3600 < 23.0


def test_nsr001_at_125_hz_reproduces_the_toolbox_series(nsr001):
    """The toolbox read the 128 Hz file at 125 Hz and timed beats from the first one. Every
    (t, NN) it kept is one of our intervals, exactly, once its noise marks (``~``), which it
    took for beats, are counted as beats too."""
    derived = pd.read_csv(DATA / "cst_derived_nn_fs125.csv")
    cst = derived[derived.patID == "nsr001"]
    t_cst = cst.t_s_fs125.to_numpy()
    nn_cst = cst.NN_ms_fs125.to_numpy(dtype=float)

    like_toolbox = beat_intervals(nsr001, 125.0, beat_codes=BEAT_CODES | {14})
    idx = np.searchsorted(like_toolbox.time_s, t_cst - 1e-6)
    np.testing.assert_allclose(like_toolbox.time_s[idx], t_cst, atol=1e-9)
    np.testing.assert_allclose(like_toolbox.rr_ms[idx], nn_cst, atol=1e-9)
    assert t_cst[-1] > 7000  # about the first two hours

    # With real beats only, every kept beat is still ours; 11 toolbox intervals end at a
    # noise mark instead of a beat.
    beats = beat_intervals(nsr001, 125.0)
    idx = np.clip(np.searchsorted(beats.time_s, t_cst - 1e-6), 0, beats.time_s.size - 1)
    matched = np.abs(beats.time_s[idx] - t_cst) < 1e-9
    assert (~matched).sum() == 11
    noise_times = (nsr001.sample[nsr001.code == 14] - nsr001.sample[0]) / 125.0
    assert np.all(np.min(np.abs(t_cst[~matched][:, None] - noise_times[None, :]), axis=1) < 1e-9)


def test_true_sampling_rate_scales_intervals(nsr001):
    at_125 = beat_intervals(nsr001, 125.0)
    at_128 = beat_intervals(nsr001, read_header_sampling_rate(DATA / "nsr001.hea"))
    np.testing.assert_allclose(at_128.rr_ms, at_125.rr_ms * 125 / 128)
    assert 700 < np.median(at_128.rr_ms) < 1000


def test_to_recording(nsr001):
    beats = beat_intervals(nsr001, 128.0)
    rec = intervals_to_recording(beats, name="nsr001")
    assert rec.n_beats == beats.rr_ms.size == 106379 + 13 + 68 - 1
    assert rec.metadata["wfdb_beat_classes"] == {"A": 13, "N": 106378, "V": 68}
    assert 0.99 < rec.metadata["wfdb_nn_fraction"] < 1.0
    assert rec.source == "file"
