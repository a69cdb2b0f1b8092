"""What every reader of another tool's file returns, and the errors it raises.

A reader turns one recording (a file, with its companion files) into an
:class:`ImportedRecording`: raw RR intervals exactly as the file holds them (implausible ones
included: the artifact detector classes them, nothing is dropped), the wall-clock start, the
file's own gaps and markers, raw channels (ECG, acceleration) and the tool's own results.
A file that holds no RR data at all is refused with :class:`NotRRDataError`, whose sentence
says what the file holds and what to import instead.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import InputFileError
from biofeedback.core.recording import Recording
from biofeedback.core.types import Marker

FloatArray = npt.NDArray[np.float64]

__all__ = ["FileProbe", "FormatReader", "ImportedRecording", "NotRRDataError", "RawChannel",
           "ReadOptions"]

RR_SOURCES: tuple[str, ...] = ("rr", "ppi", "ecg")
"""Where the intervals come from: a strap's RR, optical pulse-to-pulse (PPI), R-peaks of an
ECG found by us."""


class NotRRDataError(InputFileError):
    """The file was recognised but holds no RR intervals (heart rate only, features, ...).

    The reason is a sentence naming what the file holds and, where there is one, the file to
    import instead.
    """


@dataclass
class ImportedRecording:
    """One recording read from another tool's file(s).

    Attributes
    ----------
    recording : Recording
        Raw beats (source ``"import"``), with the file's gaps and markers.
    format : str
        Format the file was read as (a name of :data:`biofeedback.io.importers.FORMATS`).
    original_name : str
        Name (without folder) of the main file.
    files : list of str
        Names of every file read for this recording (main file first, then companions).
    start_time : datetime or None
        Wall clock at session time 0; timezone-aware when the file tells the zone, naive
        (the recording device's local time) when it does not, None when the file has no
        clock.
    rr_source : str
        One of :data:`RR_SOURCES`.
    channels : list of RawChannel
        Raw signals kept with the session.
    reference : dict or None
        The tool's own results (Kubios' report values), to compare with ours:
        ``{"tool": ..., "values": {name: value}}``.
    notes : list of str
        What the reader noticed and kept (quirks, flagged rows), for the import summary.
    details : dict
        Format-specific provenance stored with the session settings.
    """

    recording: Recording
    format: str
    original_name: str
    files: list[str] = field(default_factory=list)
    start_time: datetime | None = None
    rr_source: str = "rr"
    channels: list[RawChannel] = field(default_factory=list)
    reference: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def markers(self) -> list[Marker]:
        """The recording's markers."""
        return self.recording.markers

    @property
    def n_beats(self) -> int:
        """Number of RR intervals read."""
        return self.recording.n_beats

    def started_iso(self) -> str | None:
        """:attr:`start_time` in ISO 8601 (no offset when the file gave none)."""
        return None if self.start_time is None else self.start_time.isoformat()

    def settings(self) -> dict[str, Any]:
        """Provenance stored in the session settings."""
        out: dict[str, Any] = {
            "import_format": self.format,
            "original_file": self.original_name,
            "rr_source": self.rr_source,
        }
        if len(self.files) > 1:
            out["companion_files"] = self.files[1:]
        if self.start_time is not None:
            out["original_start_time"] = self.started_iso()
            out["start_time_zone"] = (
                "as in the file" if self.start_time.tzinfo is not None
                else "none in the file: the recording device's local time"
            )
        if self.reference is not None:
            out["reference"] = self.reference
        if self.notes:
            out["import_notes"] = list(self.notes)
        if self.details:
            out["import_details"] = dict(self.details)
        return out


@dataclass(frozen=True)
class ReadOptions:
    """What the user told the importer.

    Attributes
    ----------
    column : str or None
        Column of RR intervals or beat times (generic CSV/TSV).
    sampling_rate_hz : float or None
        Sampling rate of a single-column ECG file, Hz.
    companions : bool
        Join companion files found beside the main file (events, markers, acceleration).
    """

    column: str | None = None
    sampling_rate_hz: float | None = None
    companions: bool = True


MAX_FILE_BYTES = 1024 * 1024 * 1024
"""Largest file read into memory (1 GiB: a day of 1 kHz ECG in EDF is about 170 MB)."""

HEAD_BYTES = 64 * 1024
"""Bytes read to recognise a file's format."""


class FileProbe:
    """One file as the readers see it: its path, first bytes and (lazily) its whole content.

    Parameters
    ----------
    path : path-like
        The file.

    Raises
    ------
    InputFileError
        Missing, a folder, not a regular file (a named pipe, socket or device), unreadable,
        empty or larger than :data:`MAX_FILE_BYTES`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            if self.path.is_dir():
                raise InputFileError(self.path, "is a folder, not a recording file")
            status = self.path.stat()
            if not stat.S_ISREG(status.st_mode):
                # Opening a named pipe waits for a writer, forever (found importing '/').
                raise InputFileError(
                    self.path, "is not a regular file (a pipe, socket or device), not a "
                    "recording file"
                )
            self.size = status.st_size
            with open(self.path, "rb") as fh:
                self.head = fh.read(HEAD_BYTES)
        except FileNotFoundError:
            raise InputFileError(self.path, "no such file") from None
        except PermissionError:
            raise InputFileError(self.path, "permission denied") from None
        except OSError as exc:
            raise InputFileError(self.path, f"cannot be read: {exc.strerror or exc}") from None
        if self.size == 0 or not self.head.strip():
            raise InputFileError(self.path, "empty file (no RR values)")
        if self.size > MAX_FILE_BYTES:
            raise InputFileError(
                self.path, f"file is {self.size} bytes; larger than the {MAX_FILE_BYTES} "
                "bytes an import reads")
        self._raw: bytes | None = self.head if self.size <= HEAD_BYTES else None
        self._text: Any = None

    @property
    def name(self) -> str:
        """File name without its folder."""
        return self.path.name

    @property
    def raw(self) -> bytes:
        """Whole content."""
        if self._raw is None:
            try:
                self._raw = self.path.read_bytes()
            except OSError as exc:
                raise InputFileError(self.path, f"cannot be read: {exc.strerror or exc}"
                                     ) from None
        return self._raw

    @property
    def is_binary(self) -> bool:
        """Whether the first bytes hold NUL bytes (and no UTF-16 byte-order mark)."""
        return b"\x00" in self.head and not self.head.startswith((b"\xff\xfe", b"\xfe\xff"))

    @property
    def text(self) -> Any:
        """Whole content decoded (:class:`~biofeedback.io.readers.text.DecodedText`)."""
        if self._text is None:
            from biofeedback.io.readers.text import decode_text

            self._text = decode_text(self.path, self.raw)
        return self._text

    def head_text(self) -> Any:
        """The first bytes decoded, for recognising the format (a partial last line kept)."""
        from biofeedback.io.readers.text import decode_text

        if self._text is not None:
            return self._text
        if self._raw is not None and len(self._raw) == len(self.head):
            return self.text
        return decode_text(self.path, self.head, partial=True)


Sniffer = Callable[[FileProbe], int]
"""How sure a reader is that a file is its format: 0 not, higher more specific."""

Reader = Callable[[FileProbe, ReadOptions], ImportedRecording]


@dataclass(frozen=True)
class FormatReader:
    """One format: its name, a one-line description, how to recognise and read it.

    Attributes
    ----------
    name : str
        Value of ``--format``.
    title : str
        Tool or device, as users know it.
    summary : str
        One line: what the file looks like and what is read from it.
    sniff : callable
        ``sniff(probe) -> int``; 0 when the file is not this format.
    read : callable
        ``read(probe, options) -> ImportedRecording``; raises ``InputFileError``.
    """

    name: str
    title: str
    summary: str
    sniff: Sniffer
    read: Reader
