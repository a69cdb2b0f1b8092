"""What the window shows of ``biofeedback import``: the summary table and the progress line.

The window imports files by running ``biofeedback import PATH... --json --progress-json``
in a subprocess (see :mod:`biofeedback.ui.import_job`). This module turns what that command
prints into plain rows and sentences, so the widgets only draw them:

- the final JSON object on standard output,
  ``{"imported": [{"file", "files", "session_id", "format", "beats", "markers",
  "start_time", "rr_source", "channels"}, ...], "refused": [{"file", "reason"}, ...]}``,
  becomes an :class:`ImportSummaryView` (rows and a headline such as
  ``"3 recordings imported, 1 file refused"``);
- each progress line on standard error, ``{"done": 3, "total": 12, "file": "..."}``,
  becomes an :class:`ImportProgress`.
"""

from __future__ import annotations

import json
import ntpath
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard

__all__ = [
    "IMPORTED_HEADERS",
    "REFUSED_HEADERS",
    "ImportProgress",
    "ImportSummaryView",
    "ImportedRow",
    "RefusedRow",
    "import_command",
    "parse_progress_line",
    "summary_from_json",
]

IMPORTED_HEADERS = ("File", "Format", "Beats", "Session", "Start time")
"""Column headers of the table of imported recordings, in the order of
:meth:`ImportedRow.cells`."""

REFUSED_HEADERS = ("File", "Why it was refused")
"""Column headers of the table of refused files, in the order of :meth:`RefusedRow.cells`."""

NO_START_TIME = "—"
"""Shown for a recording whose file gives no start time."""

_RR_SOURCE_WORDS = {
    "rr": "RR intervals",
    "ppi": "pulse intervals (PPI)",
    "ecg": "R-peaks detected in the ECG",
}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One recording stored as a session.

    Attributes
    ----------
    file : str
        The file as the command named it (full path; for a recording read from several
        files, e.g. an RR file and its events file, the main one).
    name : str
        The file as the table shows it: relative to the folder that holds every file of the
        summary (just its name when it is alone).
    files : tuple of str
        Every file read for the recording.
    session_id : int
        The new session's id.
    format : str
        The format detected (or forced), e.g. ``"kubios"``.
    beats : int
        Number of beats stored.
    markers : int
        Number of markers (events) stored.
    start_time : str
        Start of the recording as shown, ``"YYYY-MM-DD HH:MM:SS"`` (local time for a time
        with a zone, as the file wrote it otherwise), or :data:`NO_START_TIME`.
    rr_source : str
        Where the beats came from: ``"rr"``, ``"ppi"`` or ``"ecg"`` (the command's words).
    channels : tuple of str
        Names of the raw channels stored with it (an ECG, accelerometer), if any.
    """

    file: str
    name: str
    files: tuple[str, ...]
    session_id: int
    format: str
    beats: int
    markers: int
    start_time: str
    rr_source: str
    channels: tuple[str, ...]

    def cells(self) -> tuple[str, ...]:
        """The texts of the row, in the order of :data:`IMPORTED_HEADERS`."""
        return (self.name, self.format, str(self.beats), str(self.session_id), self.start_time)

    def details(self) -> str:
        """A tooltip sentence: every file read, what the beats are and what else was kept."""
        lines = [*self.files] if self.files else [self.file]
        parts = [f"{_plural(self.beats, 'beat')} from "
                 f"{_RR_SOURCE_WORDS.get(self.rr_source, self.rr_source)}"]
        if self.markers:
            parts.append(_plural(self.markers, "marker"))
        if self.channels:
            parts.append("raw channels: " + ", ".join(self.channels))
        return "\n".join([*lines, "; ".join(parts) + f"; stored as session {self.session_id}."])


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """One file that was not imported, and why.

    Attributes
    ----------
    file : str
        The file as the command named it.
    name : str
        The file as the table shows it (see :attr:`ImportedRow.name`).
    reason : str
        The error sentence, e.g. ``"bad.txt line 3: 'abc' is not a number"``.
    """

    file: str
    name: str
    reason: str

    def cells(self) -> tuple[str, ...]:
        """The texts of the row, in the order of :data:`REFUSED_HEADERS`."""
        return (self.name, self.reason)


@dataclass(frozen=True, slots=True)
class ImportSummaryView:
    """The summary of one import: what was stored, what was refused.

    Attributes
    ----------
    imported : tuple of ImportedRow
        Recordings stored, in the command's order.
    refused : tuple of RefusedRow
        Files refused, in the command's order.
    """

    imported: tuple[ImportedRow, ...]
    refused: tuple[RefusedRow, ...]

    @property
    def headline(self) -> str:
        """One sentence: ``"3 recordings imported, 1 file refused"``, ``"1 recording
        imported"``, ``"No recording imported, 2 files refused"`` or ``"No recording
        found to import"``."""
        if not self.imported and not self.refused:
            return "No recording found to import"
        stored = (_plural(len(self.imported), "recording") if self.imported else "No recording")
        text = f"{stored} imported"
        if self.refused:
            text += f", {_plural(len(self.refused), 'file')} refused"
        return text

    @property
    def session_ids(self) -> tuple[int, ...]:
        """Ids of the new sessions, in the command's order."""
        return tuple(row.session_id for row in self.imported)

    @property
    def complete(self) -> bool:
        """Whether every file was imported (nothing refused)."""
        return not self.refused


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """One progress report of a running import.

    Attributes
    ----------
    done : int
        Files finished (imported or refused).
    total : int
        Files to go through in all.
    file : str
        The file last finished (may be empty).
    """

    done: int
    total: int
    file: str = ""

    def text(self) -> str:
        """``"Importing: 3 of 12 files done (rest.txt)"``."""
        name = _base_name(self.file)
        tail = f" ({name})" if name else ""
        return f"Importing: {self.done} of {_plural(self.total, 'file')} done{tail}"


def import_command(paths: Sequence[str | Path], data_dir: Path) -> list[str]:
    """The command line (after ``python -m biofeedback``) that imports ``paths``.

    Parameters
    ----------
    paths : sequence of str or Path
        Files, folders and zip files to import (made absolute: the job runs in another
        working folder).
    data_dir : Path
        The window's data folder.

    Returns
    -------
    list of str
        ``["import", PATH..., "--json", "--progress-json", "--data-dir", DIR]``.
    """
    absolute = [str(Path(p).expanduser().absolute()) for p in paths]
    return ["import", *absolute, "--json", "--progress-json", "--data-dir", str(data_dir)]


def parse_progress_line(line: str) -> ImportProgress | None:
    """The progress report on a line of the command's standard error, or None.

    Parameters
    ----------
    line : str
        One line, e.g. ``{"done": 3, "total": 12, "file": "/data/rest.txt"}``.

    Returns
    -------
    ImportProgress or None
        None for any other line (a warning, an error message), which is left for the
        error sentence.
    """
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    done, total = data.get("done"), data.get("total")
    if not _is_count(done) or not _is_count(total):
        return None
    file = data.get("file")
    return ImportProgress(int(done), int(total), file if isinstance(file, str) else "")


def summary_from_json(result: Mapping[str, Any]) -> ImportSummaryView:
    """The summary view of the JSON object printed by ``biofeedback import --json``.

    Parameters
    ----------
    result : mapping
        ``{"imported": [...], "refused": [...]}`` (see the module docstring).

    Returns
    -------
    ImportSummaryView
        Its rows, file names shortened to what tells them apart.

    Raises
    ------
    ValueError
        When ``result`` does not hold the two lists, or a row lacks its file, session id
        or reason.
    """
    imported = result.get("imported")
    refused = result.get("refused", [])
    if not isinstance(imported, list) or not isinstance(refused, list):
        raise ValueError("an import summary holds the lists 'imported' and 'refused'")
    for item in (*imported, *refused):
        if not isinstance(item, Mapping) or not isinstance(item.get("file"), str):
            raise ValueError(f"an import summary row without its file: {item!r}")
    names = _short_names([item["file"] for item in (*imported, *refused)])
    split = len(imported)
    imported_rows = tuple(
        _imported_row(item, name) for item, name in zip(imported, names[:split], strict=True)
    )
    refused_rows = tuple(
        _refused_row(item, name) for item, name in zip(refused, names[split:], strict=True)
    )
    return ImportSummaryView(imported_rows, refused_rows)


# -- internals ----------------------------------------------------------------------------


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _count(value: object) -> int:
    """A count given as a number or as the list of the things counted."""
    if isinstance(value, list):
        return len(value)
    return int(value) if _is_count(value) else 0


def _imported_row(item: Mapping[str, Any], name: str) -> ImportedRow:
    session_id = item.get("session_id")
    if not _is_count(session_id):
        raise ValueError(f"an imported recording without its session id: {item!r}")
    files = item.get("files") or ()
    channels = item.get("channels") or ()
    markers = item.get("markers")
    return ImportedRow(
        file=item["file"],
        name=name,
        files=tuple(str(f) for f in files) if isinstance(files, list) else (),
        session_id=int(session_id),
        format=str(item.get("format") or "?"),
        beats=_count(item.get("beats")),
        markers=_count(markers),
        start_time=_start_time_text(item.get("start_time")),
        rr_source=str(item.get("rr_source") or "rr"),
        channels=_channel_names(channels),
    )


def _refused_row(item: Mapping[str, Any], name: str) -> RefusedRow:
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"a refused file without its reason: {item!r}")
    return RefusedRow(file=item["file"], name=name, reason=reason.strip())


def _channel_names(channels: object) -> tuple[str, ...]:
    """Channel names from a list of names or of ``{"name": ...}`` objects."""
    if not isinstance(channels, list):
        return ()
    names = []
    for channel in channels:
        if isinstance(channel, Mapping):
            names.append(str(channel.get("name") or channel.get("kind") or "channel"))
        else:
            names.append(str(channel))
    return tuple(names)


def _start_time_text(value: object) -> str:
    """``"2019-03-14T07:25:31"`` -> ``"2019-03-14 07:25:31"`` (a time with a zone in local
    time, as the session list shows its dates)."""
    if not isinstance(value, str) or not value.strip():
        return NO_START_TIME
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value.strip()
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _base_name(file: str) -> str:
    """The last part of a POSIX or Windows path (the CLI may run on either)."""
    return ntpath.basename(file) if "\\" in file else posixpath.basename(file)


def _short_names(files: Sequence[str]) -> list[str]:
    """Each file relative to the folder holding them all: a folder's files keep their
    sub-folder, so two ``rr.txt`` from different days stay apart; a lone file is its name."""
    if len(files) < 2:
        return [_base_name(f) for f in files]
    split = [f.replace("\\", "/").split("/") for f in files]
    common = 0
    # Never the last part: it is the file's own name.
    while all(len(parts) > common + 1 for parts in split) and len(
        {parts[common] for parts in split}
    ) == 1:
        common += 1
    return ["/".join(parts[common:]) for parts in split]
