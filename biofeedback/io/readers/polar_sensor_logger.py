"""Polar Sensor Logger (Android app by J. Happonen): one ``;``-separated file per stream.

Streams (docs/formats.md "Polar Sensor Logger"): ``RR`` (``Phone timestamp;RR-interval
[ms]``), ``PPI`` (optical pulse-to-pulse intervals of the Verity Sense / OH1:
``Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]``),
``HR`` (heart rate only), ``ECG`` (``...;ecg [uV]`` at about 130 Hz), ``ACC`` (``...;X [mg];
Y [mg];Z [mg]``) and ``MARKER`` (``Phone timestamp;Marker start/stop``). Phone timestamps
are the phone's local time with no zone. An RR or PPI file is one recording; the MARKER and
ACC files of the same session (same folder, phone times overlapping) are joined to it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import InputFileError
from biofeedback.core.types import Marker, MarkerKind
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import Table, find_column, read_table
from biofeedback.io.readers.timeline import (
    PHONE_CLOCK_TOLERANCE_S,
    beat_times,
    make_recording,
    parse_timestamp,
    seconds_between,
)

NAME = "polar_sensor_logger"
PHONE = "Phone timestamp"
_RR_COLUMNS = ("RR-interval [ms]", "RR-interval")
_PPI_COLUMNS = ("PP-interval [ms]", "PP-interval")
_NAME_PATTERN = re.compile(r"^(?P<device>.+?)_(?P<date>\d{8})_(?P<time>\d{6})_(?P<stream>[A-Z]+)")


def _header(probe: FileProbe) -> list[str] | None:
    rows = probe.head_text().first_lines(1)
    if not rows or not rows[0].lower().startswith(PHONE.lower()):
        return None
    return [f.strip() for f in re.split(r"[;,\t]", rows[0])]


def _stream(header: list[str]) -> str | None:
    """Which stream a header belongs to."""
    lowered = " ".join(header).lower()
    if "rr-interval" in lowered:
        return "RR"
    if "pp-interval" in lowered:
        return "PPI"
    if "ecg" in lowered:
        return "ECG"
    if "marker" in lowered:
        return "MARKER"
    if find_column(header, "X [mg]") is not None:
        return "ACC"
    if "hr [bpm]" in lowered or "hr" in [h.lower() for h in header]:
        return "HR"
    return "OTHER"


def sniff(probe: FileProbe) -> int:
    """90 for any file whose header starts with ``Phone timestamp``."""
    header = _header(probe)
    return 0 if header is None else 90


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read an RR, PPI or ECG stream (with its companions), refuse the others."""
    header = _header(probe)
    if header is None:
        raise InputFileError(probe.path, f"not a Polar Sensor Logger file: the first line does "
                             f"not start with {PHONE!r}", line=1)
    stream = _stream(header)
    table = read_table(probe.path, probe.text)
    if stream in ("RR", "PPI"):
        return _intervals(probe, table, stream, options)
    if stream == "ECG":
        return _ecg(probe, table)
    if stream == "HR":
        raise NotRRDataError(
            probe.path, "this Polar Sensor Logger HR file holds heart rate only (bpm once a "
            "second), no RR intervals: import the RR file of the same recording "
            "(…_RR.txt) instead")
    if stream == "ACC":
        raise NotRRDataError(
            probe.path, "this Polar Sensor Logger ACC file holds acceleration only, no RR "
            "intervals: import it together with the RR or PPI file of the same recording (a "
            "folder holding both) and it is kept as a raw channel of that session")
    if stream == "MARKER":
        raise NotRRDataError(
            probe.path, "this Polar Sensor Logger MARKER file holds markers only, no RR "
            "intervals: import it together with the RR or PPI file of the same recording (a "
            "folder holding both) and its markers are joined to that session")
    raise NotRRDataError(
        probe.path, f"this Polar Sensor Logger file holds {', '.join(header[1:]) or 'nothing'}"
        ", no RR intervals: import the RR, PPI or ECG file of the recording")


def _phone_times(table: Table) -> tuple[list[datetime], list[int]]:
    texts, lines = table.texts(table.column(PHONE))
    return [parse_timestamp(table.path, t, n, PHONE) for t, n in zip(texts, lines,
                                                                        strict=True)], lines


def _intervals(probe: FileProbe, table: Table, stream: str, options: ReadOptions
               ) -> ImportedRecording:
    column = table.column(*(_RR_COLUMNS if stream == "RR" else _PPI_COLUMNS))
    rr, _ = table.values(column, interval=True)
    if not rr:
        raise InputFileError(probe.path, "no intervals after the header",
                             line=table.header_line)
    phone, _ = _phone_times(table)
    rr_ms = np.asarray(rr, dtype=np.float64)
    # Polar Sensor Logger stamps each row with the start of its interval (each stamp is the
    # previous one plus the previous interval), so the beat ending it is one interval later.
    clock = np.array([seconds_between(t, phone[0]) for t in phone]) + rr_ms / 1000.0
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=PHONE_CLOCK_TOLERANCE_S)
    start = phone[0]
    notes: list[str] = []
    details: dict[str, object] = {"stream": stream, "delimiter": table.delimiter}
    if stream == "PPI":
        notes += _ppi_notes(table)
    imported = ImportedRecording(
        make_recording(probe.path, NAME, rr_ms, time_s=time_s, gaps=gaps),
        NAME, probe.name, files=[probe.name], start_time=start,
        rr_source="rr" if stream == "RR" else "ppi", notes=notes, details=details,
    )
    if options.companions:
        _join_companions(probe.path, imported, phone[0], phone[-1])
    return imported


def _ppi_notes(table: Table) -> list[str]:
    notes = []
    for name, what in (("blocker", "blocker=1 (the sensor flagged movement)"),
                       ("hr [bpm]", "hr 0 bpm (the sensor had no estimate yet)")):
        index = find_column(table.header, name)
        if index is None:
            continue
        flag = "1" if name == "blocker" else "0"
        count = sum(1 for _, f in table.rows if index < len(f) and f[index].strip() == flag)
        if count:
            notes.append(f"{count} rows with {what}; their intervals are kept")
    return notes


def _ecg(probe: FileProbe, table: Table) -> ImportedRecording:
    index = table.column("ecg [uV]", "ecg")
    values, _ = table.values(index)
    phone, _ = _phone_times(table)
    fs = _rate_from_sensor_clock(table)
    channel = RawChannel("ECG", "ecg", "uV", fs, 0.0, ("ecg",),
                         np.asarray(values, dtype=np.float64)[:, None], probe.name)
    return ImportedRecording(
        make_recording(probe.path, NAME, []), NAME, probe.name, files=[probe.name],
        start_time=phone[0], rr_source="ecg", channels=[channel],
        details={"stream": "ECG", "sampling_rate_hz": fs},
    )


def _rate_from_sensor_clock(table: Table) -> float:
    """Sampling rate from the ``sensor timestamp [ns]`` column (Hz)."""
    index = table.column("sensor timestamp [ns]", "sensor timestamp")
    ns, lines = table.values(index)
    if len(ns) < 2:
        raise InputFileError(table.path, "too few samples to tell the sampling rate",
                             line=table.header_line)
    steps = np.diff(np.asarray(ns, dtype=np.float64))
    if np.any(steps <= 0):
        k = int(np.flatnonzero(steps <= 0)[0])
        raise InputFileError(table.path, "sensor timestamp does not increase",
                             line=lines[k + 1], field=table.header[index])
    # Samples arrive in packets stamped at the last sample; the median step is the period.
    return float(1e9 / np.median(steps))


# -- companions ----------------------------------------------------------------------------

def _join_companions(path: Path, imported: ImportedRecording, first: datetime, last: datetime
                     ) -> None:
    start = imported.start_time
    assert start is not None
    device = _device(path.name)
    for sibling in sorted(path.parent.iterdir()):
        if sibling == path or not sibling.is_file() or sibling.suffix.lower() != ".txt":
            continue
        try:
            probe = FileProbe(sibling)
            header = _header(probe)
            if header is None:
                continue
            stream = _stream(header)
            if stream not in ("MARKER", "ACC"):
                continue
            other = _device(sibling.name)
            if stream == "ACC" and device and other and other != device:
                continue
            table = read_table(sibling, probe.text)
            phone, _ = _phone_times(table)
        except InputFileError:
            continue
        if not phone or phone[-1] < first - timedelta(seconds=5) or phone[0] > last + \
                timedelta(seconds=5):
            continue
        if stream == "MARKER":
            imported.recording.markers.extend(_markers(table, phone, start))
        else:
            imported.channels.append(_acc(sibling, table, phone[0], start))
        imported.files.append(sibling.name)


def _device(name: str) -> str | None:
    m = _NAME_PATTERN.match(name)
    return None if m is None else m.group("device")


def _markers(table: Table, phone: list[datetime], start: datetime) -> list[Marker]:
    """``MARKER_START``/``MARKER_STOP`` rows as markers (a pair is one marker with a duration)."""
    texts, _ = table.texts(1 if len(table.header) > 1 else 0)
    markers: list[Marker] = []
    open_at: float | None = None
    for when, text in zip(phone, texts, strict=True):
        onset = seconds_between(when, start)
        label = text.strip().upper()
        if label.endswith("START"):
            if open_at is not None:
                markers.append(Marker(open_at, 0.0, "marker", MarkerKind.USER,
                                      {"source": "Polar Sensor Logger", "unclosed": True}))
            open_at = onset
        elif label.endswith("STOP") and open_at is not None:
            markers.append(Marker(open_at, onset - open_at, "marker", MarkerKind.USER,
                                  {"source": "Polar Sensor Logger"}))
            open_at = None
        else:
            markers.append(Marker(onset, 0.0, text.strip() or "marker", MarkerKind.USER,
                                  {"source": "Polar Sensor Logger"}))
    if open_at is not None:
        markers.append(Marker(open_at, 0.0, "marker", MarkerKind.USER,
                              {"source": "Polar Sensor Logger", "unclosed": True}))
    return markers


def _acc(path: Path, table: Table, first: datetime, start: datetime) -> RawChannel:
    columns = [table.column(f"{axis} [mg]", axis) for axis in "XYZ"]
    data = np.column_stack([np.asarray(table.values(c)[0], dtype=np.float64) for c in columns])
    return RawChannel("ACC", "acc", "mg", _rate_from_sensor_clock(table),
                      seconds_between(first, start), ("x", "y", "z"), data, path.name)


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        NAME, "Polar Sensor Logger",
        "`;`-separated streams with a `Phone timestamp` column: RR, PPI (optical, imported "
        "as RR with rr_source ppi) and ECG read; MARKER and ACC joined to their recording; HR "
        "refused as heart rate only",
        sniff, read),
)
