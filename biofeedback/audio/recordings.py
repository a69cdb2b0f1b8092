"""Recorded guidance: wav, mp3, ogg and flac decoded by libsndfile (soundfile), as mono at
the program's rate, read block by block so an hour's recording is never held in memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.core.errors import InputFileError

__all__ = ["Recording", "read_whole"]

Samples = npt.NDArray[np.float32]

_MARGIN_FRAMES = 256
"""File frames read beyond a block on each side, so the resampling filter sees the true
neighbours and consecutive blocks join seamlessly."""


def _ratio(source_rate: int, target_rate: int) -> tuple[int, int]:
    g = math.gcd(source_rate, target_rate)
    return target_rate // g, source_rate // g


def _mono(block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return block.mean(axis=1) if block.ndim == 2 else block


def read_whole(path: str | Path, sample_rate: int) -> Samples:
    """A short file (a synthesized utterance), whole, mono, at ``sample_rate`` (Hz)."""
    import soundfile
    from scipy.signal import resample_poly

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:  # libsndfile's errors are RuntimeErrors
        raise InputFileError(path, f"cannot be decoded: {exc}") from exc
    mono = _mono(data)
    if rate != sample_rate:
        up, down = _ratio(int(rate), sample_rate)
        mono = resample_poly(mono, up, down)
    return np.asarray(mono, dtype=np.float32)


class Recording:
    """A recorded guidance file, read on demand as mono samples at ``sample_rate``.

    Parameters
    ----------
    path : path-like
        A wav, mp3, ogg or flac file (checked by the protocol loader).
    sample_rate : int
        Rate of the samples :meth:`frames` returns, Hz.
    block_s : float
        Length of the decoded blocks kept (two of them), s.
    """

    def __init__(self, path: str | Path, sample_rate: int, *, block_s: float = 2.0) -> None:
        import soundfile

        self.path = Path(path)
        self.sample_rate = sample_rate
        try:
            info = soundfile.info(str(self.path))
        except (RuntimeError, OSError) as exc:
            raise InputFileError(self.path, f"cannot be decoded: {exc}") from exc
        self.source_rate = int(info.samplerate)
        self.source_frames = int(info.frames)
        self._up, self._down = _ratio(self.source_rate, sample_rate)
        # A block starts on a file frame that maps to a whole output frame.
        per_block = max(1, round(block_s * sample_rate / self._up))
        self._block = per_block * self._up
        self.n_frames = int(self.source_frames * self._up // self._down)
        self._blocks: OrderedDict[int, Samples] = OrderedDict()

    @property
    def duration_s(self) -> float:
        """Length, s."""
        return self.source_frames / self.source_rate

    def frames(self, first: int, count: int) -> Samples:
        """Output frames ``first .. first + count`` (silence outside the recording)."""
        out = np.zeros(count, dtype=np.float32)
        lo, hi = max(first, 0), min(first + count, self.n_frames)
        k = lo // self._block if lo < hi else 0
        while lo < hi:
            block = self._decoded(k)
            b0 = k * self._block
            a, b = max(lo, b0), min(hi, b0 + self._block)
            if a < b:
                out[a - first:b - first] = block[a - b0:b - b0]
            lo = max(lo, b0 + self._block)
            k += 1
        return out

    def _decoded(self, k: int) -> Samples:
        if k in self._blocks:
            self._blocks.move_to_end(k)
            return self._blocks[k]
        block = self._decode(k)
        self._blocks[k] = block
        while len(self._blocks) > 2:
            self._blocks.popitem(last=False)
        return block

    def _decode(self, k: int) -> Samples:
        import soundfile
        from scipy.signal import resample_poly

        src0 = k * self._block * self._down // self._up
        src_n = self._block * self._down // self._up
        margin = 0 if self._up == self._down else (
            math.ceil(_MARGIN_FRAMES / self._down) * self._down)
        start = max(0, src0 - margin)
        stop = min(self.source_frames, src0 + src_n + margin)
        try:
            with soundfile.SoundFile(str(self.path)) as f:
                f.seek(start)
                data = f.read(stop - start, dtype="float64", always_2d=True)
        except (RuntimeError, OSError) as exc:
            raise InputFileError(self.path, f"cannot be decoded: {exc}") from exc
        mono = np.zeros(src_n + 2 * margin)
        offset = start - (src0 - margin)
        got = _mono(data)
        mono[offset:offset + len(got)] = got
        if self._up != self._down:
            mono = resample_poly(mono, self._up, self._down)
            skip = margin * self._up // self._down
            mono = mono[skip:skip + self._block]
        return np.asarray(mono[: self._block], dtype=np.float32)
