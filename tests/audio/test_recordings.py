"""Recorded guidance read block by block: mono, resampled, the same samples however it is
asked for, silence outside the file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from scipy.signal import resample_poly

from biofeedback.audio.recordings import Recording, read_whole
from biofeedback.audio.resample import resample_span
from biofeedback.core.errors import InputFileError


@pytest.fixture
def stereo(tmp_path):
    rate = 44_100
    t = np.arange(int(3.0 * rate)) / rate
    left = 0.5 * np.sin(2 * np.pi * 330 * t)
    right = 0.3 * np.sin(2 * np.pi * 550 * t)
    path = tmp_path / "stereo.flac"
    soundfile.write(str(path), np.column_stack([left, right]), rate)
    return path, (left + right) / 2


def test_blocks_join_seamlessly_and_match_a_whole_resampling(stereo):
    path, mono = stereo
    rec = Recording(path, 48_000, block_s=0.25)
    assert rec.n_frames == 3 * 48_000 and rec.duration_s == pytest.approx(3.0)
    whole = rec.frames(0, rec.n_frames)
    pieces, first = [], 0
    for n in [1, 777, 12_000, 3, 50_000, rec.n_frames]:
        n = min(n, rec.n_frames - first)
        pieces.append(rec.frames(first, n))
        first += n
    assert np.array_equal(np.concatenate(pieces), whole)
    reference = resample_poly(mono, 160, 147)[: rec.n_frames]
    inner = slice(2000, -2000)  # both filters see the file's edges differently
    assert float(np.max(np.abs(whole[inner] - reference[inner]))) < 2e-3
    assert not np.any(rec.frames(-500, 400)) and not np.any(rec.frames(rec.n_frames, 100))
    assert np.array_equal(rec.frames(-100, 200)[100:], whole[:100])


def test_read_whole_and_the_resampler_keep_a_tone(tmp_path):
    rate = 22_050
    t = np.arange(rate) / rate
    soundfile.write(str(tmp_path / "tone.wav"), 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    y = read_whole(tmp_path / "tone.wav", 16_000)
    tt = np.arange(len(y)) / 16_000
    assert len(y) == 16_000
    assert float(np.max(np.abs(y - 0.5 * np.sin(2 * np.pi * 440 * tt))[500:-500])) < 1e-3
    same = resample_span(np.arange(5.0), 10, 8000, 8000, 8, 10)
    assert same.tolist() == [0, 0, 0, 1, 2, 3, 4, 0, 0, 0]


def test_an_undecodable_file_names_itself(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(InputFileError, match=r"bad\.wav: cannot be decoded"):
        Recording(bad, 16_000)
    with pytest.raises(InputFileError, match=r"bad\.wav: cannot be decoded"):
        read_whole(bad, 16_000)
