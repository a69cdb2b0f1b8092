"""Import RR recordings written by other tools, with format auto-detection.

Formats (docs/domain.md section 7):

``kubios``
    Kubios RR text: ``#`` comment lines, one RR per line in ms (or s, told by magnitude).
``hrv_logger``
    HRV Logger ``*_RR_*.csv``: header ``date,rr,since start`` (ISO time, RR ms, cumulative ms);
    a sibling events file ``date,timestamp,annotation,manual`` becomes markers.
``elite_hrv``
    Elite HRV: one RR (ms) per line, no comments; the start time only in the file name.
``polar_sensor_logger``
    Polar Sensor Logger RR file: ``Phone timestamp;RR-interval [ms]`` (delimiter sniffed).
``polar_flow``
    Polar Flow HRV export: tab-separated, no header: elapsed s, RR ms.
``csv``
    Generic CSV/TSV with a header: a column of RR intervals (ms, or s by magnitude or a
    ``[s]`` unit in the header) or of beat times (s), chosen by header name or ``column=``.

A bad file is refused as a whole with :class:`InputFileError` naming the file, line, field and
reason; nothing partial is ever returned.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.recording import Recording
from biofeedback.core.types import Marker, MarkerKind

FORMATS: tuple[str, ...] = (
    "kubios",
    "hrv_logger",
    "elite_hrv",
    "polar_sensor_logger",
    "polar_flow",
    "csv",
)
"""Names accepted by ``format=`` / ``--format``."""

MIN_RR_MS = 200.0
"""Shortest accepted RR interval, ms."""

MAX_RR_MS = 3000.0
"""Longest accepted RR interval, ms."""

SECONDS_BELOW = 10.0
"""A column whose median is below this is in seconds (no RR in ms is below 10)."""

MAX_FILE_BYTES = 256 * 1024 * 1024

_FILE_NAME_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ _T](\d{2})[-:.h](\d{2})[-:.m](\d{2})"
)
_RR_HEADERS = ("rr", "rr_ms", "rr ms", "rr-interval", "rr interval", "rri", "ibi", "nn", "nni")
_TIME_HEADERS = ("beat_time", "beat_time_s", "beat time", "time", "time_s", "t", "peak_time")


@dataclass
class ImportedRecording:
    """A recording read from another tool's file.

    Attributes
    ----------
    recording : Recording
        Beats (source ``"import"``); its ``markers`` are the same as :attr:`markers`.
    format : str
        Format the file was read as (one of :data:`FORMATS`).
    original_name : str
        File name (without folder) of the imported file.
    markers : list of Marker
        Markers from an events file found next to it (HRV Logger), else empty.
    start_time : str or None
        Wall-clock start (ISO 8601, as written by the tool) when the file or its name tells.
    events_file : str or None
        Name of the events file the markers came from.
    """

    recording: Recording
    format: str
    original_name: str
    markers: list[Marker] = field(default_factory=list)
    start_time: str | None = None
    events_file: str | None = None

    def settings(self) -> dict[str, str]:
        """Provenance to store in the session settings."""
        out = {"import_format": self.format, "original_file": self.original_name}
        if self.start_time is not None:
            out["original_start_time"] = self.start_time
        if self.events_file is not None:
            out["events_file"] = self.events_file
        return out


# -- reading text --------------------------------------------------------------------------


def _read_text(p: Path) -> str:
    """Whole file as text, refusing folders, missing, huge, binary and non-UTF-8 files."""
    try:
        if p.is_dir():
            raise InputFileError(p, "is a folder, not a recording file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputFileError(p, f"file is {size} bytes; RR files are far smaller")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(p, "no such file") from None
    except PermissionError:
        raise InputFileError(p, "permission denied") from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputFileError(p, "binary file (contains NUL bytes), not a text file", line=line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(p, "not UTF-8 text (binary file?)", line=line) from None
    if not text.strip():
        raise InputFileError(p, "empty file (no RR values)")
    return text


def _lines(text: str, *, comments: bool = False) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (``#`` comments removed when asked)."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0] if comments else line
        content = content.strip()
        if content:
            out.append((number, content))
    return out


def _split(line: str, delimiter: str) -> list[str]:
    """Fields of one delimited line, stripped."""
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _number(p: Path, text: str, line: int, field_name: str) -> float:
    """Parse one finite number or raise naming line and field."""
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(p, f"{_shown(text)} is not a number", line=line,
                             field=field_name) from None
    if not math.isfinite(value):
        raise InputFileError(p, f"{_shown(text)} is not a finite number", line=line,
                             field=field_name)
    return value


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _rr_ms(
    p: Path, values: list[float], lines: list[int], field_name: str, unit: str | None = None
) -> tuple[np.ndarray, str]:
    """RR values to ms (unit ``"ms"``, ``"s"`` or None: by magnitude) and range-checked."""
    rr = np.asarray(values, dtype=np.float64)
    if unit is None:
        unit = "s" if float(np.median(rr)) < SECONDS_BELOW else "ms"
    scale = 1000.0 if unit == "s" else 1.0
    for i, value in enumerate(values):
        if value <= 0:
            raise InputFileError(p, f"RR interval {value:g} {unit} is zero or negative",
                                 line=lines[i], field=field_name)
        ms = value * scale
        if not MIN_RR_MS <= ms <= MAX_RR_MS:
            raise InputFileError(
                p,
                f"RR interval {value:g} {unit} is outside the plausible range "
                f"{MIN_RR_MS:g}-{MAX_RR_MS:g} ms",
                line=lines[i],
                field=field_name,
            )
    return rr * scale, unit


def _increasing(p: Path, times: list[float], lines: list[int], field_name: str) -> None:
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            raise InputFileError(
                p, f"time {times[i]:g} is not after the previous {times[i - 1]:g}",
                line=lines[i], field=field_name,
            )


def _recording(p: Path, rr: np.ndarray, time_s: np.ndarray | None, fmt: str, **meta: object
               ) -> Recording:
    return Recording(
        rr_ms=rr,
        time_s=np.cumsum(rr) / 1000.0 if time_s is None else np.asarray(time_s, np.float64),
        name=p.name,
        source="import",
        metadata={"file": str(p), "format": fmt, **meta},
    )


def _parse_time(p: Path, text: str, line: int, field_name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputFileError(p, f"{_shown(text)} is not an ISO date and time", line=line,
                             field=field_name) from None


# -- the formats ---------------------------------------------------------------------------


def _one_per_line(p: Path, text: str, fmt: str) -> ImportedRecording:
    """Kubios RR text and Elite HRV: one value per line."""
    comments = fmt == "kubios"
    values: list[float] = []
    lines: list[int] = []
    for number, content in _lines(text, comments=comments):
        if len(content.replace(",", " ").replace(";", " ").replace("\t", " ").split()) > 1:
            raise InputFileError(p, f"{_shown(content)} has several fields; expected one RR "
                                 "interval per line", line=number, field="rr")
        values.append(_number(p, content, number, "rr"))
        lines.append(number)
    if not values:
        raise InputFileError(p, "no RR values (the file is empty or only has comments)")
    unit = None if fmt == "kubios" else "ms"
    rr, unit = _rr_ms(p, values, lines, "rr", unit)
    start = None
    if fmt == "elite_hrv":
        start = _start_from_name(p.name)
    return ImportedRecording(_recording(p, rr, None, fmt, unit=unit), fmt, p.name,
                             start_time=start)


def _start_from_name(name: str) -> str | None:
    """``2019-03-14 07-25-31.txt`` -> ``2019-03-14T07:25:31`` (None when absent or invalid)."""
    m = _FILE_NAME_TIME.search(name)
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, second).isoformat()
    except ValueError:
        return None


def _header_row(p: Path, text: str) -> tuple[int, str, list[tuple[int, str]]]:
    rows = _lines(text)
    if not rows:
        raise InputFileError(p, "empty file (no RR values)")
    return rows[0][0], rows[0][1], rows[1:]


def _require(p: Path, header: list[str], names: tuple[str, ...], line: int, fmt: str
             ) -> list[int]:
    lowered = [h.lower() for h in header]
    idx = []
    for name in names:
        if name.lower() not in lowered:
            raise InputFileError(p, f"{fmt} header lacks the column {name!r} (has "
                                 f"{', '.join(map(repr, header))})", line=line, field=name)
        idx.append(lowered.index(name.lower()))
    return idx


def _fields(p: Path, content: str, delimiter: str, number: int, n: int) -> list[str]:
    fields = _split(content, delimiter)
    if len(fields) < n:
        raise InputFileError(p, f"{len(fields)} field(s), expected {n}", line=number)
    return fields


def _hrv_logger(p: Path, text: str) -> ImportedRecording:
    fmt = "hrv_logger"
    hline, hcontent, rows = _header_row(p, text)
    header = _split(hcontent, ",")
    i_date, i_rr, i_since = _require(p, header, ("date", "rr", "since start"), hline, fmt)
    need = max(i_date, i_rr, i_since) + 1
    dates: list[datetime] = []
    values: list[float] = []
    since: list[float] = []
    lines: list[int] = []
    for number, content in rows:
        fields = _fields(p, content, ",", number, need)
        dates.append(_parse_time(p, fields[i_date], number, "date"))
        values.append(_number(p, fields[i_rr], number, "rr"))
        since.append(_number(p, fields[i_since], number, "since start"))
        lines.append(number)
    if not values:
        raise InputFileError(p, "no RR values after the header")
    rr, _ = _rr_ms(p, values, lines, "rr", "ms")
    _increasing(p, since, lines, "since start")
    start = dates[0].timestamp() - since[0] / 1000.0
    start_iso = datetime.fromtimestamp(start, dates[0].tzinfo).isoformat()
    rec = _recording(p, rr, np.asarray(since) / 1000.0, fmt, unit="ms")
    events = _hrv_logger_events_file(p)
    markers: list[Marker] = []
    if events is not None:
        markers = _hrv_logger_events(events, start)
        rec.markers = list(markers)
    return ImportedRecording(rec, fmt, p.name, markers, start_iso,
                             None if events is None else events.name)


def _hrv_logger_events_file(p: Path) -> Path | None:
    """The events file next to an HRV Logger RR file (``_RR_`` -> ``_events_``)."""
    m = re.search(r"_rr_", p.name, flags=re.IGNORECASE)
    if m is None:
        return None
    for word in ("events", "Events", "EVENTS"):
        candidate = p.with_name(p.name[: m.start()] + f"_{word}_" + p.name[m.end():])
        if candidate.is_file():
            return candidate
    return None


def _hrv_logger_events(p: Path, start: float) -> list[Marker]:
    """Markers from ``date,timestamp,annotation,manual`` (onsets from ``date``)."""
    text = _read_text(p)
    hline, hcontent, rows = _header_row(p, text)
    header = _split(hcontent, ",")
    i_date, i_ann, i_manual = _require(
        p, header, ("date", "annotation", "manual"), hline, "HRV Logger events"
    )
    i_ts = [h.lower() for h in header].index("timestamp") if "timestamp" in header else None
    need = max(i_date, i_ann, i_manual) + 1
    markers = []
    for number, content in rows:
        fields = _fields(p, content, ",", number, need)
        when = _parse_time(p, fields[i_date], number, "date").timestamp()
        extra: dict[str, object] = {"manual": fields[i_manual]}
        if i_ts is not None and i_ts < len(fields):
            extra["timestamp"] = fields[i_ts]
        markers.append(Marker(when - start, 0.0, fields[i_ann], MarkerKind.USER, extra))
    return markers


def _polar_sensor_logger(p: Path, text: str) -> ImportedRecording:
    fmt = "polar_sensor_logger"
    hline, hcontent, rows = _header_row(p, text)
    delimiter = _sniff(hcontent)
    header = _split(hcontent, delimiter)
    i_phone, i_rr = _require(p, header, ("Phone timestamp", "RR-interval [ms]"), hline, fmt)
    need = max(i_phone, i_rr) + 1
    values: list[float] = []
    lines: list[int] = []
    first_time: datetime | None = None
    for number, content in rows:
        fields = _fields(p, content, delimiter, number, need)
        when = _parse_time(p, fields[i_phone], number, "Phone timestamp")
        first_time = first_time or when
        values.append(_number(p, fields[i_rr], number, "RR-interval [ms]"))
        lines.append(number)
    if not values:
        raise InputFileError(p, "no RR values after the header")
    rr, _ = _rr_ms(p, values, lines, "RR-interval [ms]", "ms")
    rec = _recording(p, rr, None, fmt, unit="ms", delimiter=delimiter)
    assert first_time is not None
    return ImportedRecording(rec, fmt, p.name, start_time=first_time.isoformat())


def _sniff(line: str) -> str:
    """The delimiter of a header line (``;``, tab or ``,``)."""
    try:
        return csv.Sniffer().sniff(line, delimiters=";\t,").delimiter
    except csv.Error:
        counts = {d: line.count(d) for d in ";\t,"}
        return max(counts, key=lambda d: counts[d])


def _polar_flow(p: Path, text: str) -> ImportedRecording:
    fmt = "polar_flow"
    elapsed: list[float] = []
    values: list[float] = []
    lines: list[int] = []
    for number, content in _lines(text):
        fields = _split(content, "\t")
        if len(fields) != 2:
            raise InputFileError(p, f"{len(fields)} tab-separated field(s), expected 2 "
                                 "(elapsed s, RR ms)", line=number)
        elapsed.append(_number(p, fields[0], number, "elapsed s"))
        values.append(_number(p, fields[1], number, "RR ms"))
        lines.append(number)
    rr, _ = _rr_ms(p, values, lines, "RR ms", "ms")
    _increasing(p, elapsed, lines, "elapsed s")
    return ImportedRecording(_recording(p, rr, np.asarray(elapsed), fmt, unit="ms"), fmt, p.name)


def _generic(p: Path, text: str, column: str | None) -> ImportedRecording:
    fmt = "csv"
    hline, hcontent, rows = _header_row(p, text)
    delimiter = _sniff(hcontent)
    header = _split(hcontent, delimiter)
    if all(_is_number(h) for h in header):
        raise InputFileError(p, "no header row: a CSV/TSV needs column names (or use "
                             "--format kubios / polar_flow)", line=hline)
    lowered = [h.lower() for h in header]
    bare = [re.sub(r"\s*[\[(].*?[\])]\s*$", "", h) for h in lowered]
    if column is not None:
        if column.lower() not in lowered and column.lower() not in bare:
            raise InputFileError(p, f"no column {column!r} (has {', '.join(map(repr, header))})",
                                 line=hline, field=column)
        idx = lowered.index(column.lower()) if column.lower() in lowered else bare.index(
            column.lower())
    else:
        found = [i for i, b in enumerate(bare) if b in _RR_HEADERS] or [
            i for i, b in enumerate(bare) if b in _TIME_HEADERS
        ]
        if not found:
            raise InputFileError(
                p, f"no RR or beat-time column among {', '.join(map(repr, header))} "
                "(name one with --column)", line=hline,
            )
        idx = found[0]
    name = header[idx]
    is_time = bare[idx] in _TIME_HEADERS
    unit = None
    if re.search(r"[\[(]\s*s\s*[\])]|_s$", lowered[idx]):
        unit = "s"
    elif re.search(r"[\[(]\s*ms\s*[\])]|_ms$", lowered[idx]):
        unit = "ms"
    values: list[float] = []
    lines: list[int] = []
    for number, content in rows:
        fields = _split(content, delimiter)
        if len(fields) != len(header):
            raise InputFileError(p, f"{len(fields)} field(s), the header has {len(header)}",
                                 line=number)
        values.append(_number(p, fields[idx], number, name))
        lines.append(number)
    if len(values) < (2 if is_time else 1):
        raise InputFileError(p, "no RR values after the header", field=name)
    if is_time:
        _increasing(p, values, lines, name)
        t = np.asarray(values)
        if unit == "ms":
            t = t / 1000.0
        diffs = list(np.diff(t))
        rr, _ = _rr_ms(p, diffs, lines[1:], name, "s")
        time_s = t[1:] - t[0]
        rec = _recording(p, rr, time_s, fmt, column=name, kind="beat_times")
    else:
        rr, unit = _rr_ms(p, values, lines, name, unit)
        rec = _recording(p, rr, None, fmt, column=name, kind="rr", unit=unit)
    return ImportedRecording(rec, fmt, p.name)


# -- detection and entry point -------------------------------------------------------------


def detect_format(path: str | os.PathLike[str], text: str | None = None) -> str:
    """Guess the format of a file from its name and first lines.

    Parameters
    ----------
    path : path-like
        The file.
    text : str, optional
        Its content, when already read.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputFileError
        Unreadable file, or a file in none of the formats.
    """
    p = Path(path)
    text = _read_text(p) if text is None else text
    has_comments = any(line.lstrip().startswith("#") for line in text.splitlines())
    rows = _lines(text, comments=True)
    if not rows:
        raise InputFileError(p, "no RR values (the file is empty or only has comments)")
    number, first = rows[0]
    lowered = first.lower()
    if "phone timestamp" in lowered and "rr-interval" in lowered:
        return "polar_sensor_logger"
    if [f.lower() for f in _split(first, ",")][:3] == ["date", "rr", "since start"]:
        return "hrv_logger"
    if _is_number(first):
        if has_comments or _start_from_name(p.name) is None:
            return "kubios"
        return "elite_hrv"
    if "\t" in first and all(_is_number(f) for f in _split(first, "\t")):
        return "polar_flow"
    if any(d in first for d in ",;\t") and not all(_is_number(f) for f in
                                                   _split(first, _sniff(first))):
        return "csv"
    raise InputFileError(p, f"unrecognised format: first line {_shown(first)} is neither one "
                         "RR value nor a known header (use --format)", line=number)


def read_import(
    path: str | os.PathLike[str], format: str | None = None, *, column: str | None = None
) -> ImportedRecording:
    """Read another tool's RR recording.

    Parameters
    ----------
    path : path-like
        The file.
    format : str, optional
        One of :data:`FORMATS`; detected from the name and content when None.
    column : str, optional
        Column to read (generic CSV/TSV only): RR intervals or beat times by header name.

    Returns
    -------
    ImportedRecording
        The recording (source ``"import"``), format, original file name and markers.

    Raises
    ------
    InputFileError
        Unreadable, empty or binary file; unknown format; missing columns; a non-numeric,
        non-finite, zero, negative or implausible value (outside 200-3000 ms); times not
        increasing. The message names the file, line and field.
    ValueError
        ``format`` is not one of :data:`FORMATS`.
    """
    p = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown import format {format!r} (one of {', '.join(FORMATS)})")
    text = _read_text(p)
    fmt = format or detect_format(p, text)
    if column is not None and fmt != "csv":
        raise ValueError(f"column= only applies to the csv format, not {fmt!r}")
    if fmt in ("kubios", "elite_hrv"):
        return _one_per_line(p, text, fmt)
    if fmt == "hrv_logger":
        return _hrv_logger(p, text)
    if fmt == "polar_sensor_logger":
        return _polar_sensor_logger(p, text)
    if fmt == "polar_flow":
        return _polar_flow(p, text)
    return _generic(p, text, column)
