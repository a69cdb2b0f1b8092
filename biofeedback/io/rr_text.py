"""Plain RR text files: one RR interval per line, ``#`` comments.

This is the Kubios-style text format (docs/domain.md section 7): values in ms, or in seconds in some
files, told apart by magnitude. A bad file is refused as a whole with the file, line and reason;
nothing partial is ever returned.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.recording import Recording

SECONDS_BELOW = 10.0
"""A file whose values are all below 10 is in seconds (no RR in ms is below 10)."""

MIN_RR_MS = 200.0
"""Shortest plausible RR, ms (300 bpm; above any sustained human heart rate)."""

MAX_RR_MS = 5000.0
"""Longest plausible RR, ms (12 bpm; a pause longer than this is a recording fault, not a beat)."""

MAX_FILE_BYTES = 256 * 1024 * 1024


def read_rr_text(path: str | os.PathLike[str]) -> Recording:
    """Read an RR text file.

    Parameters
    ----------
    path : path-like
        The file: one RR per line in ms (values below 10 everywhere: seconds), blank lines and
        lines starting with ``#`` ignored; a trailing ``# comment`` after a value is allowed.

    Returns
    -------
    Recording
        Raw RR (ms) with beat times rebuilt as their cumulative sum (s), source ``"file"``.

    Raises
    ------
    InputFileError
        Missing, empty, binary or non-UTF-8 file; a line that is not one number; a negative,
        zero, non-finite or implausible value (outside 200-5000 ms); seconds and milliseconds
        mixed in one file.
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise InputFileError(p, "is a folder, not an RR file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputFileError(p, f"file is {size} bytes; RR files are far smaller")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(p, "no such file") from None
    except PermissionError:
        raise InputFileError(p, "permission denied") from None
    if b"\x00" in raw:
        raise InputFileError(p, "binary file (contains NUL bytes), not an RR text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(p, "not UTF-8 text (binary file?)", line=bad_line) from None

    values: list[float] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        try:
            value = float(content)
        except ValueError:
            shown = content if len(content) <= 40 else content[:37] + "..."
            raise InputFileError(
                p, f"{shown!r} is not a number (expected one RR interval per line)", line=number
            ) from None
        if not math.isfinite(value):
            raise InputFileError(p, f"{content!r} is not a finite number", line=number)
        if value <= 0:
            raise InputFileError(p, f"RR interval {content} is zero or negative", line=number)
        values.append(value)
        lines.append(number)
    if not values:
        raise InputFileError(p, "no RR values (the file is empty or only has comments)")

    rr = np.asarray(values, dtype=np.float64)
    in_seconds = bool(np.median(rr) < SECONDS_BELOW)
    if in_seconds:
        wrong = np.flatnonzero(rr >= SECONDS_BELOW)
        if wrong.size:
            i = int(wrong[0])
            raise InputFileError(
                p,
                f"value {values[i]:g} looks like ms but the file's values are in seconds",
                line=lines[i],
            )
        rr = rr * 1000.0
    bad = np.flatnonzero((rr < MIN_RR_MS) | (rr > MAX_RR_MS))
    if bad.size:
        i = int(bad[0])
        unit = "s" if in_seconds else "ms"
        raise InputFileError(
            p,
            f"RR interval {values[i]:g} {unit} is outside the plausible range "
            f"{MIN_RR_MS:g}-{MAX_RR_MS:g} ms",
            line=lines[i],
        )
    return Recording(
        rr_ms=rr,
        time_s=np.cumsum(rr) / 1000.0,
        name=p.name,
        source="file",
        metadata={"file": str(p), "unit": "s" if in_seconds else "ms", "format": "rr_text"},
    )


def write_rr_text(path: str | os.PathLike[str], rr_ms: np.ndarray, comment: str = "") -> None:
    """Write RR intervals (ms) one per line, with optional ``#`` comment lines first."""
    with open(path, "w", encoding="utf-8") as fh:
        for line in comment.splitlines():
            fh.write(f"# {line}\n")
        for value in np.asarray(rr_ms, dtype=np.float64):
            fh.write(f"{value:.3f}\n")
