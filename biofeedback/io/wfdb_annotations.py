"""Reader for WFDB annotation files in the MIT format (PhysioNet ``.atr``, ``.ecg``, ...).

The format (WFDB Programmer's Guide, "annot(5)": https://physionet.org/physiotools/wag/annot-5.htm)
is a stream of 16-bit little-endian words. The top 6 bits of a word are the annotation type
``A``, the low 10 bits a number ``I``:

- ``A`` = 1..49 (and 0 with ``I`` > 0): an annotation of code ``A`` whose time is the previous
  annotation's time plus ``I`` samples.
- ``A`` = 59 (SKIP): the next two words hold a signed 32-bit time increment in PDP-11 order
  (high 16-bit word first, each word little-endian), added to the running time.
- ``A`` = 60 (NUM), 61 (SUB), 62 (CHN): set the ``num``, ``subtype`` or ``chan`` field of the
  annotation just read to ``I`` (``num`` and ``chan`` carry over to later annotations,
  ``subtype`` does not).
- ``A`` = 63 (AUX): ``I`` bytes of auxiliary text follow, padded to an even count.
- ``A`` = 0 and ``I`` = 0: end of file.

Types 50-58 are not defined; the reader treats them, a missing end marker and truncated
SKIP/AUX payloads as corruption and raises ``ValueError`` naming the file and byte offset.

Beats: the WFDB beat codes (``isqrs``: N L R a V F J A S E j / Q e n f r B ?) are beats;
rhythm, noise, artifact and comment annotations (``+ ~ | " ...``) are not. :func:`beat_intervals`
keeps *every* beat annotation as a beat, so the intervals are the real beat-to-beat series
with its ectopic beats, and marks which intervals are NN (both ends normal, ``N``).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.recording import Recording

SKIP, NUM, SUB, CHN, AUX = 59, 60, 61, 62, 63
ACMAX = 49
"""Largest annotation code (WFDB ``ecgcodes.h``)."""

NORMAL = 1
"""Code of a normal beat, ``N``."""

SYMBOLS: dict[int, str] = {
    0: " ", 1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E",
    11: "j", 12: "/", 13: "Q", 14: "~", 16: "|", 18: "s", 19: "T", 20: "*", 21: "D", 22: '"',
    23: "=", 24: "p", 25: "B", 26: "^", 27: "t", 28: "+", 29: "u", 30: "?", 31: "!", 32: "[",
    33: "]", 34: "e", 35: "n", 36: "@", 37: "x", 38: "f", 39: "(", 40: ")", 41: "r",
}  # fmt: skip
"""Mnemonics of the standard codes (WFDB ``ecgmap.h``/``annot.c``)."""

BEAT_CODES: frozenset[int] = frozenset(
    {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41}
)
"""Codes that denote a QRS complex (WFDB ``isqrs``)."""


@dataclass(frozen=True)
class WfdbAnnotations:
    """Annotations of one file, in file order.

    Attributes
    ----------
    path : str
        File read.
    sample : ndarray of int64
        Sample index of each annotation.
    code : ndarray of int16
        Annotation code (1 = ``N``; see :data:`SYMBOLS`).
    subtype, chan, num : ndarray of int16
        The SUB, CHN and NUM fields.
    aux : list of bytes or None
        Auxiliary payload of each annotation, None when absent.
    """

    path: str
    sample: npt.NDArray[np.int64]
    code: npt.NDArray[np.int16]
    subtype: npt.NDArray[np.int16]
    chan: npt.NDArray[np.int16]
    num: npt.NDArray[np.int16]
    aux: list[bytes | None] = field(repr=False)

    def __len__(self) -> int:
        """Number of annotations."""
        return int(self.sample.size)

    @property
    def symbols(self) -> npt.NDArray[np.str_]:
        """Mnemonic of each annotation (``"?"`` for codes without one)."""
        return np.array([SYMBOLS.get(int(c), "?") for c in self.code], dtype="<U1")

    @property
    def is_beat(self) -> npt.NDArray[np.bool_]:
        """True for the annotations that denote a beat (:data:`BEAT_CODES`)."""
        return np.isin(self.code, sorted(BEAT_CODES))

    def counts(self) -> dict[str, int]:
        """Number of annotations per mnemonic."""
        symbols, counts = np.unique(self.symbols, return_counts=True)
        return {str(s): int(n) for s, n in zip(symbols, counts, strict=True)}


def _error(path: str, offset: int, message: str) -> ValueError:
    return ValueError(f"{path}: byte offset {offset}: {message}")


def parse_wfdb_annotations(data: bytes, path: str = "<bytes>") -> WfdbAnnotations:
    """Decode the bytes of an MIT-format annotation file.

    Parameters
    ----------
    data : bytes
        Whole file content.
    path : str
        Name used in error messages.

    Returns
    -------
    WfdbAnnotations

    Raises
    ------
    ValueError
        On an odd file length, an undefined type (50-58), a NUM/SUB/CHN/AUX before any
        annotation, a truncated SKIP or AUX payload, a negative time, or a missing end marker;
        the message names ``path`` and the byte offset.
    """
    n = len(data)
    samples: list[int] = []
    codes: list[int] = []
    subtypes: list[int] = []
    chans: list[int] = []
    nums: list[int] = []
    auxes: list[bytes | None] = []
    time = 0
    chan = num = 0
    pos = 0
    while True:
        if pos + 2 > n:
            what = "odd trailing byte" if pos < n else "end of data"
            raise _error(path, pos, f"{what} before the end-of-file marker (truncated file?)")
        word = data[pos] | (data[pos + 1] << 8)
        a, i = word >> 10, word & 0x3FF
        start = pos
        pos += 2
        if word == 0:
            break
        if a <= ACMAX:
            time += i
            samples.append(time)
            codes.append(a)
            subtypes.append(0)
            chans.append(chan)
            nums.append(num)
            auxes.append(None)
        elif a == SKIP:
            if pos + 4 > n:
                raise _error(path, start, "SKIP without its 4-byte increment (truncated file?)")
            high = data[pos] | (data[pos + 1] << 8)
            low = data[pos + 2] | (data[pos + 3] << 8)
            increment = (high << 16) | low
            if increment >= 1 << 31:
                increment -= 1 << 32
            time += increment
            pos += 4
        elif a in (NUM, SUB, CHN, AUX):
            if not codes:
                raise _error(path, start, f"pseudo-annotation type {a} before any annotation")
            if a == NUM:
                num = i
                nums[-1] = i
            elif a == SUB:
                subtypes[-1] = i
            elif a == CHN:
                chan = i
                chans[-1] = i
            else:
                padded = i + (i & 1)
                if pos + padded > n:
                    raise _error(path, start, f"AUX of {i} bytes runs past the end of the file")
                auxes[-1] = bytes(data[pos : pos + i])
                pos += padded
        else:
            raise _error(path, start, f"undefined annotation type {a}")
        if time < 0:
            raise _error(path, start, f"annotation time {time} is negative")
    return WfdbAnnotations(
        path=path,
        sample=np.array(samples, dtype=np.int64),
        code=np.array(codes, dtype=np.int16),
        subtype=np.array(subtypes, dtype=np.int16),
        chan=np.array(chans, dtype=np.int16),
        num=np.array(nums, dtype=np.int16),
        aux=auxes,
    )


def read_wfdb_annotations(path: str | os.PathLike[str]) -> WfdbAnnotations:
    """Read an MIT-format annotation file.

    Parameters
    ----------
    path : str or PathLike
        The annotation file (e.g. ``nsr001.ecg``).

    Returns
    -------
    WfdbAnnotations

    Raises
    ------
    ValueError
        On a truncated or corrupt file (see :func:`parse_wfdb_annotations`).
    OSError
        When the file cannot be read.
    """
    path = Path(path)
    return parse_wfdb_annotations(path.read_bytes(), str(path))


def read_header_sampling_rate(path: str | os.PathLike[str]) -> float:
    """Sampling frequency from a WFDB header (``.hea``) record line.

    The record line is the first line that is not a comment: ``name [nsig [fs[/counter]
    [nsamp ...]]]``; WFDB's default is 250 Hz when ``fs`` is absent.

    Parameters
    ----------
    path : str or PathLike
        The ``.hea`` file.

    Returns
    -------
    float
        Samples per second.

    Raises
    ------
    ValueError
        When the file has no record line or ``fs`` is not a positive number.
    """
    path = Path(path)
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            return 250.0
        text = fields[2].split("/")[0].split("(")[0]
        try:
            fs = float(text)
        except ValueError:
            raise ValueError(f"{path}: sampling frequency {fields[2]!r} is not a number") from None
        if not fs > 0:
            raise ValueError(f"{path}: sampling frequency must be positive, got {fs}")
        return fs
    raise ValueError(f"{path}: no record line")


@dataclass(frozen=True)
class BeatIntervals:
    """Beat-to-beat intervals rebuilt from beat annotations.

    Interval ``k`` ends at beat ``k + 1`` of the annotation file's beats.

    Attributes
    ----------
    time_s : ndarray of float
        Time of the beat ending each interval, s: ``(sample - origin) / fs``.
    rr_ms : ndarray of float
        ``1000 * (sample[k + 1] - sample[k]) / fs``, ms.
    symbol_start, symbol_end : ndarray of str
        Mnemonics of the beats that open and close each interval.
    is_nn : ndarray of bool
        True when both beats are normal (``N``): the NN intervals.
    fs : float
        Sampling frequency used, Hz.
    origin_sample : int
        Sample subtracted before dividing by ``fs``.
    """

    time_s: npt.NDArray[np.float64]
    rr_ms: npt.NDArray[np.float64]
    symbol_start: npt.NDArray[np.str_]
    symbol_end: npt.NDArray[np.str_]
    is_nn: npt.NDArray[np.bool_]
    fs: float
    origin_sample: int

    def classes(self) -> dict[str, int]:
        """Number of intervals per closing-beat mnemonic."""
        symbols, counts = np.unique(self.symbol_end, return_counts=True)
        return {str(s): int(n) for s, n in zip(symbols, counts, strict=True)}


def beat_intervals(
    annotations: WfdbAnnotations,
    fs: float,
    *,
    origin: str = "first_beat",
    beat_codes: Collection[int] = BEAT_CODES,
) -> BeatIntervals:
    """Intervals between consecutive beat annotations, all beat classes kept.

    Non-beat annotations (rhythm changes, noise, comments) are ignored; every beat annotation
    (normal or not) is kept, so an ectopic beat splits the series as it did in the heart. Use
    ``is_nn`` to keep the NN intervals only, or pass the whole series through artifact
    correction.

    Parameters
    ----------
    annotations : WfdbAnnotations
        Output of :func:`read_wfdb_annotations`.
    fs : float
        Sampling frequency, Hz. Read it from the header
        (:func:`read_header_sampling_rate`); the PhysioNet Cardiovascular Signal Toolbox demo
        used 125 Hz for the 128 Hz nsr2db files, which lengthens every interval by 2.4 %.
    origin : {"first_beat", "record"}
        Time zero: the first beat (as the toolbox does) or the record start (sample 0).
    beat_codes : collection of int
        Codes treated as beats; default :data:`BEAT_CODES`. The toolbox demo also took the
        noise annotations ``~`` (code 14) as beats; ``BEAT_CODES | {14}`` reproduces that.

    Returns
    -------
    BeatIntervals
        Empty arrays when there are fewer than two beats.

    Raises
    ------
    ValueError
        On a non-positive ``fs``, an unknown ``origin`` or beats out of time order.
    """
    if not fs > 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if origin not in ("first_beat", "record"):
        raise ValueError(f"origin must be 'first_beat' or 'record', not {origin!r}")
    mask = np.isin(annotations.code, sorted(beat_codes))
    samples = annotations.sample[mask]
    symbols = annotations.symbols[mask]
    if samples.size and np.any(np.diff(samples) <= 0):
        k = int(np.flatnonzero(np.diff(samples) <= 0)[0])
        raise ValueError(f"{annotations.path}: beats out of order at sample {int(samples[k + 1])}")
    origin_sample = int(samples[0]) if (origin == "first_beat" and samples.size) else 0
    return BeatIntervals(
        time_s=(samples[1:] - origin_sample) / fs,
        rr_ms=np.diff(samples) * (1000.0 / fs),
        symbol_start=symbols[:-1],
        symbol_end=symbols[1:],
        is_nn=(symbols[:-1] == "N") & (symbols[1:] == "N"),
        fs=float(fs),
        origin_sample=origin_sample,
    )


def intervals_to_recording(
    intervals: BeatIntervals, name: str = "", metadata: dict[str, Any] | None = None
) -> Recording:
    """A :class:`Recording` of all beat-to-beat intervals (raw; no gaps, no phases).

    Parameters
    ----------
    intervals : BeatIntervals
        Output of :func:`beat_intervals`.
    name : str
        Recording name (e.g. ``"nsr001"``).
    metadata : dict, optional
        Extra provenance; the sampling rate, origin and per-class counts are added.

    Returns
    -------
    Recording
        ``source="file"``; ``metadata["wfdb_beat_classes"]`` counts closing-beat classes and
        ``metadata["wfdb_nn_fraction"]`` is the share of NN intervals.
    """
    meta = dict(metadata or {})
    meta.update(
        {
            "wfdb_fs": intervals.fs,
            "wfdb_origin_sample": intervals.origin_sample,
            "wfdb_beat_classes": intervals.classes(),
            "wfdb_nn_fraction": float(np.mean(intervals.is_nn)) if intervals.is_nn.size else 0.0,
        }
    )
    return Recording(
        rr_ms=intervals.rr_ms.astype(np.float64),
        time_s=intervals.time_s.astype(np.float64),
        name=name,
        source="file",
        metadata=meta,
    )
