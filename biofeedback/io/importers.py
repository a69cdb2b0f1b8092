"""Read RR recordings written by other tools and devices, with format detection.

Every format is a :class:`~biofeedback.io.readers.base.FormatReader` in :data:`READERS`
(one module per tool under :mod:`biofeedback.io.readers`; layouts and quirks in
docs/formats.md). :func:`detect_format` asks each how sure it is that a file is its format and
takes the surest; :func:`read_import` reads the file with it.

Real data is kept: an implausible interval is returned as it is (the artifact detector
classes it); a file is refused only when it is not RR data, with an
:class:`~biofeedback.core.errors.InputFileError` naming the file, line and field, or a
:class:`~biofeedback.io.readers.base.NotRRDataError` saying what the file holds instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers import (
    apps,
    ecg_files,
    fit,
    generic,
    hrv_logger,
    kubios,
    plain,
    polar,
    polar_sensor_logger,
    reports,
    wfdb_record,
)
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)

__all__ = ["FORMATS", "READERS", "ImportedRecording", "NotRRDataError", "ReadOptions",
           "detect_format", "read_import", "reader"]

READERS: tuple[FormatReader, ...] = (
    *fit.READERS,
    *wfdb_record.READERS,
    *ecg_files.READERS,
    *polar_sensor_logger.READERS,
    *hrv_logger.READERS,
    *kubios.READERS,
    *reports.READERS,
    *polar.READERS,
    *apps.READERS,
    *plain.READERS,
    *generic.READERS,
)
"""Every format, the most specific first (that order breaks ties between equal scores)."""

FORMATS: tuple[str, ...] = tuple(r.name for r in READERS)
"""Names accepted by ``format=`` / ``--format``."""


def reader(name: str) -> FormatReader:
    """The reader of a format name.

    Raises
    ------
    ValueError
        Not one of :data:`FORMATS`.
    """
    for r in READERS:
        if r.name == name:
            return r
    raise ValueError(f"unknown import format {name!r} (one of {', '.join(FORMATS)})")


def _scores(probe: FileProbe) -> list[tuple[int, int, FormatReader]]:
    out = []
    for order, r in enumerate(READERS):
        try:
            score = r.sniff(probe)
        except InputFileError:
            score = 0
        if score > 0:
            out.append((score, -order, r))
    return sorted(out, key=lambda x: (x[0], x[1]), reverse=True)


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of a file from its name and first bytes.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputFileError
        Unreadable file, or a file in none of the formats.
    """
    probe = FileProbe(path)
    return _detect(probe).name


def _detect(probe: FileProbe) -> FormatReader:
    scores = _scores(probe)
    if scores:
        return scores[0][2]
    if probe.is_binary:
        raise InputFileError(
            probe.path, "unrecognised binary file: not a FIT, EDF or WFDB annotation file "
            "(RR intervals are read from those and from text exports)")
    text = probe.head_text()
    rows = text.numbered()
    first = rows[0][1] if rows else ""
    line = rows[0][0] if rows else None
    raise InputFileError(
        probe.path,
        f"unrecognised format: the first line {first[:60]!r} is neither RR values nor a "
        "header this program knows (name the format with --format, or the column with "
        "--column)", line=line)


def read_import(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    column: str | None = None,
    sampling_rate_hz: float | None = None,
    companions: bool = True,
) -> ImportedRecording:
    """Read another tool's recording.

    Parameters
    ----------
    path : path-like
        The file.
    format : str, optional
        One of :data:`FORMATS`; detected from the name and content when None.
    column : str, optional
        Column of RR intervals or beat times to read (generic CSV/TSV).
    sampling_rate_hz : float, optional
        Sampling rate of a single-column ECG file, Hz.
    companions : bool
        Join companion files found beside it (events, markers, acceleration).

    Returns
    -------
    ImportedRecording
        Raw beats (none yet for an ECG file: its R-peaks are found by the importer), start
        time, markers, raw channels and provenance.

    Raises
    ------
    InputFileError
        Unreadable, empty or unrecognised file; a value that is not a number; a file that
        holds no RR data (:class:`NotRRDataError`). The message names the file, line and
        field.
    ValueError
        ``format`` is not one of :data:`FORMATS`.
    """
    chosen = None if format is None else reader(format)
    probe = FileProbe(Path(path))
    chosen = chosen or _detect(probe)
    options = ReadOptions(column=column, sampling_rate_hz=sampling_rate_hz,
                          companions=companions)
    return chosen.read(probe, options)
