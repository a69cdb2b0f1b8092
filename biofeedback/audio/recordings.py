"""Recorded guidance: wav, mp3, ogg and flac decoded by libsndfile (soundfile), as mono at
the program's rate, read block by block so an hour's recording is never held in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.audio.resample import input_span, resample_span
from biofeedback.core.errors import InputFileError

__all__ = ["Recording", "read_whole"]

Samples = npt.NDArray[np.float32]


def _mono(block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return block.mean(axis=1) if block.ndim == 2 else block


def read_whole(path: str | Path, sample_rate: int) -> Samples:
    """A short file (a synthesized utterance), whole, mono, at ``sample_rate`` (Hz)."""
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:  # libsndfile's errors are RuntimeErrors
        raise InputFileError(path, f"cannot be decoded: {exc}") from exc
    mono = _mono(data)
    n_out = len(mono) * sample_rate // int(rate)
    return np.asarray(resample_span(mono, 0, int(rate), sample_rate, 0, n_out),
                      dtype=np.float32)


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
        self._block = max(1, round(block_s * sample_rate))
        self.n_frames = self.source_frames * sample_rate // self.source_rate
        self._blocks: OrderedDict[int, Samples] = OrderedDict()

    @property
    def duration_s(self) -> float:
        """Length, s."""
        return self.source_frames / self.source_rate

    def frames(self, first: int, count: int) -> Samples:
        """Output frames ``first .. first + count`` (silence outside the recording)."""
        out = np.zeros(count, dtype=np.float32)
        lo, hi = max(first, 0), min(first + count, self.n_frames)
        while lo < hi:
            k = lo // self._block
            b0 = k * self._block
            b = min(hi, b0 + self._block)
            out[lo - first:b - first] = self._decoded(k)[lo - b0:b - b0]
            lo = b
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

        first = k * self._block
        count = min(self._block, self.n_frames - first)
        # The file frames this block's frames are interpolated from, neighbours included.
        lo, hi = input_span(self.source_rate, self.sample_rate, first, count)
        start, stop = max(0, lo), min(self.source_frames, hi)
        try:
            with soundfile.SoundFile(str(self.path)) as f:
                f.seek(start)
                data = f.read(stop - start, dtype="float64", always_2d=True)
        except (RuntimeError, OSError) as exc:
            raise InputFileError(self.path, f"cannot be decoded: {exc}") from exc
        block = resample_span(_mono(data), start, self.source_rate, self.sample_rate, first,
                              count)
        return np.asarray(block, dtype=np.float32)
