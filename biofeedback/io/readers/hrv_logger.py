"""HRV Logger (Marco Altini; iOS and Android) and FatMaxxer (Android) RR logs.

Three layouts of one table (docs/formats.md "HRV Logger"): iOS ``date,rr,since start``
(ISO local time), newer iOS ``date, rr, since start`` (``2025-03-15 11:03:00 +0000``, 1 s
resolution) and Android ``timestamp, rr, since_start`` (epoch ms, then an empty line), the
last also FatMaxxer's ``timestamp,rr,since_start``. iOS writes CR-only line endings. The
times are when the phone received each beat, so they show the app's gaps (a dropped
connection) but are not beat times: those are the running sum of the intervals. The HRV
Logger events file ``*_events_*`` beside an RR file becomes markers; its features and heart
rate files, and FatMaxxer's features log, are recognised and refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.types import Marker, MarkerKind
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import Table, find_column, read_table, split_fields
from biofeedback.io.readers.timeline import (
    PHONE_CLOCK_TOLERANCE_S,
    beat_times,
    make_recording,
    parse_timestamp,
    seconds_between,
    start_from_first_beat,
)

_CLOCK = ("date", "timestamp")
_SINCE = ("since start", "since_start")
_FEATURES = ("avnn", "sdnn", "rmssd", "pnn50", "alpha1", "alpha 1", "alpha_1", "lfhf")


def _header(probe: FileProbe) -> list[str]:
    lines = probe.head_text().first_lines(1)
    return [h.strip().lower() for h in split_fields(lines[0], ",")] if lines else []


def _layout(header: list[str]) -> str | None:
    if find_column(header, "rr") is not None and find_column(header, *_SINCE) is not None \
            and find_column(header, *_CLOCK) is not None:
        return "rr"
    if find_column(header, *_CLOCK) is not None and sum(h in _FEATURES for h in header) >= 2:
        return "features"
    if find_column(header, *_CLOCK) is not None and find_column(
            header, "heart_rate", "heart rate", "heartrate", "hr") is not None and len(
            header) <= 3:
        return "hr"
    if header[:1] in (["date"], ["timestamp"]) and find_column(header, "annotation") is not None:
        return "events"
    return None


def sniff(probe: FileProbe) -> int:
    """85 for an HRV Logger RR, features or heart-rate log."""
    layout = _layout(_header(probe))
    return 0 if layout in (None, "events") else 85


def sniff_fatmaxxer(probe: FileProbe) -> int:
    """86 (above HRV Logger, whose layout it shares) for such a log named ``FatMax...``."""
    return 86 if "fatmax" in probe.name.lower() and sniff(probe) else 0


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read an RR log (with its events file); refuse features and heart-rate logs."""
    header = _header(probe)
    layout = _layout(header)
    app = "FatMaxxer" if "fatmax" in probe.name.lower() else "HRV Logger"
    if layout == "features":
        named = [h.strip() for h in split_fields(probe.head_text().first_lines(1)[0], ",")]
        raise NotRRDataError(
            probe.path, f"this {app} features file holds HRV features per window "
            f"({', '.join(h for h in named if h.lower() in _FEATURES)}), not RR intervals: import "
            f"the RR file of the same session ({_rr_name_hint(probe.name)})")
    if layout == "hr":
        raise NotRRDataError(
            probe.path, f"this {app} heart-rate file holds heart rate only, no RR intervals: "
            f"import the RR file of the same session ({_rr_name_hint(probe.name)})")
    if layout != "rr":
        raise InputFileError(probe.path, "not an HRV Logger RR log: the header lacks "
                             "'rr', 'since start' and a date/timestamp column", line=1)
    table = read_table(probe.path, probe.text, delimiter=",")
    rr, _ = table.values(table.column("rr"), interval=True)
    if not rr:
        raise InputFileError(probe.path, "no RR rows after the header", line=table.header_line)
    clock_index = table.column(*_CLOCK)
    texts, lines = table.texts(clock_index)
    name = table.header[clock_index]
    when = [parse_timestamp(probe.path, t, n, name) for t, n in zip(texts, lines, strict=True)]
    rr_ms = np.asarray(rr, dtype=np.float64)
    clock = np.array([seconds_between(w, when[0]) for w in when])
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=PHONE_CLOCK_TOLERANCE_S)
    start = start_from_first_beat(when[0], rr_ms[0])
    fmt = "fatmaxxer" if app == "FatMaxxer" else "hrv_logger"
    imported = ImportedRecording(
        make_recording(probe.path, fmt, rr_ms, time_s=time_s, gaps=gaps, unit="ms"),
        fmt, probe.name, files=[probe.name], start_time=start,
        notes=[f"{len(gaps)} gaps in the phone's receive times"] if gaps else [],
        details={"layout": ",".join(table.header), "line_endings": probe.text.newline},
    )
    if options.companions:
        events = events_file(probe.path)
        if events is not None:
            imported.recording.markers.extend(_events(events, start))
            imported.files.append(events.name)
    return imported


def _rr_name_hint(name: str) -> str:
    hint = re.sub(r"(?i)(?<=[_.\- ])(features|hr|heartrate)(?=[_.\- ])", "RR", name)
    return hint if hint != name else "…_RR_….csv"


def events_file(path: Path) -> Path | None:
    """The events file of an RR log (``RR`` -> ``events`` in the name), when it exists."""
    pattern = re.compile(r"(?i)(?<=[_.\- ])rr(?=[_.\- ])")
    if pattern.search(path.name) is None:
        return None
    for word in ("events", "Events", "EVENTS"):
        candidate = path.with_name(pattern.sub(word, path.name, count=1))
        if candidate.is_file():
            return candidate
    return None


def _events(path: Path, start: datetime) -> list[Marker]:
    """Markers of an events file ``date,timestamp,annotation,manual`` (header-only: none)."""
    probe = FileProbe(path)
    table = read_table(path, probe.text, delimiter=",")
    if not table.rows:
        return []
    clock = table.column(*_CLOCK)
    annotation = find_column(table.header, "annotation")
    if annotation is None:
        raise InputFileError(path, "the events file has no 'annotation' column",
                             line=table.header_line, field="annotation")
    extra_columns = [i for i in range(len(table.header)) if i not in (clock, annotation)]
    markers = []
    for line, fields in _complete(table, max(clock, annotation) + 1):
        when = parse_timestamp(path, fields[clock], line, table.header[clock])
        extra: dict[str, object] = {"source": "HRV Logger events"}
        for i in extra_columns:
            if i < len(fields):
                extra[table.header[i]] = fields[i]
        markers.append(Marker(seconds_between(when, start), 0.0, fields[annotation] or "event",
                              MarkerKind.USER, extra))
    return markers


def _complete(table: Table, need: int) -> list[tuple[int, list[str]]]:
    for line, fields in table.rows:
        if len(fields) < need:
            raise InputFileError(table.path, f"{len(fields)} field(s), expected {need}",
                                 line=line)
    return table.rows


def sniff_events(probe: FileProbe) -> int:
    """60 for an HRV Logger events file on its own."""
    return 60 if _layout(_header(probe)) == "events" else 0


def read_events(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """An events file alone is refused: its markers join the RR file of the session."""
    raise NotRRDataError(
        probe.path, "this HRV Logger events file holds markers only, no RR intervals: import "
        "the RR file of the same session (its events file is joined to it)")


READERS: tuple[FormatReader, ...] = (
    FormatReader("hrv_logger", "HRV Logger (iOS, Android)",
                 "`date,rr,since start` / `timestamp, rr, since_start` (any of the three "
                 "layouts, CR-only line endings); the events file beside it becomes markers; "
                 "features and heart-rate files refused",
                 sniff, read),
    FormatReader("fatmaxxer", "FatMaxxer",
                 "`timestamp,rr,since_start` (epoch ms), HRV Logger's Android layout; its "
                 "features log refused",
                 sniff_fatmaxxer, read),
    FormatReader("hrv_logger_events", "HRV Logger events",
                 "`date,timestamp,annotation,manual`: joined to its RR file, refused alone",
                 sniff_events, read_events),
)
