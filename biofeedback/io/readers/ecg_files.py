"""Raw ECG files: single-column text, Apple Health ECG exports and EDF/EDF+/BDF.

These files hold no beats. Each reader returns an :class:`ImportedRecording` without RR
intervals, ``rr_source="ecg"`` and the ECG as a :class:`RawChannel` (name ``"ECG"``, kind
``"ecg"``, unit ``"uV"``, session time 0 at the first sample); the importer finds the
R-peaks (:func:`biofeedback.analysis.ecg_peaks.rr_from_ecg`).

- **Single-column text**: one sample per line, optionally under one header line (``ecg``,
  ``uV``, ``ECG [uV]``, ``mV``). It looks like a plain RR file, so it is recognised only by a
  header naming ECG or a voltage unit, or by values no RR file has: at least
  :data:`MIN_ECG_LINES` lines with both negative and positive values. The file has no clock:
  the user gives the sampling rate (``--sampling-rate``). Values are µV unless the header
  says mV.
- **Apple Health ECG CSV** (Health app > ECG > export; one file per Apple Watch recording):
  a header block of ``key,value`` lines (``Name``, ``Date of Birth``, ``Recorded Date``,
  ``Classification``, ``Symptoms``, ``Software Version``, ``Device``, ``Sample Rate,512
  hertz``, ``Lead,Lead I``, ``Unit,µV``), then one sample per line; locales with a decimal
  comma quote the samples (``"-12,345"``). The name and date of birth are not kept.
- **EDF / EDF+ / BDF** (https://www.edfplus.info/specs/), read with ``pyedflib``: the channel
  whose label names ECG/EKG (the first, when there are several), else the only channel in a
  voltage unit; physical values converted to µV; start time from the header (naive local
  time, as EDF stores it); EDF+ annotations become markers.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import InputFileError
from biofeedback.core.types import Marker, MarkerKind
from biofeedback.io.readers.base import (
    FileProbe,
    FloatArray,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import parse_number, shown, split_fields
from biofeedback.io.readers.timeline import make_recording

TEXT_FORMAT = "ecg_text"
APPLE_FORMAT = "apple_health_ecg"
EDF_FORMAT = "edf_ecg"

MIN_ECG_LINES = 2000
"""Numeric lines in a file's first 64 KB that, with negative and positive values, make a
header-less single column an ECG (an RR file of that many beats would be 30 minutes
long, but no RR file has negative values): about 4 s at 500 Hz."""

TEXT_HEADER_SCORE = 70
"""Sniff score of one column under a header naming ECG or a voltage unit."""

TEXT_VALUES_SCORE = 50
"""Sniff score of a header-less column whose values look like an ECG."""

APPLE_SCORE = 95
"""Sniff score of an Apple Health ECG export header block."""

EDF_SCORE = 95
"""Sniff score of a file whose fixed header parses as EDF/BDF."""

TO_MICROVOLT: dict[str, float] = {
    "uv": 1.0, "µv": 1.0, "μv": 1.0, "microvolt": 1.0, "microvolts": 1.0,
    "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3,
    "v": 1e6, "volt": 1e6, "volts": 1e6, "nv": 1e-3,
}
"""Factor from a unit (lower case) to µV."""

NEEDS_RATE = "single-column ECG needs its sampling rate: pass --sampling-rate HZ"

_UNIT_IN_HEADER = re.compile(r"(?:\[|\(|^|\s|_)(µv|μv|uv|mv|microvolts?|millivolts?)(?:\]|\)|$)")
_ECG_WORD = re.compile(r"\b(ecg|ekg)\b|^(ecg|ekg)")
_SAMPLE_RATE = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*(?:hertz|hz)\b", re.IGNORECASE)
_APPLE_KEYS = ("recorded date", "classification", "sample rate", "lead", "unit")


def _channel(samples: FloatArray, fs: float, path: Path, unit: str = "uV") -> RawChannel:
    return RawChannel(name="ECG", kind="ecg", unit=unit, sampling_rate_hz=float(fs),
                      start_s=0.0, columns=("ecg",), samples=samples.reshape(-1, 1),
                      source_file=path.name)


def _ecg_recording(
    probe: FileProbe, fmt: str, channel: RawChannel, *, start_time: datetime | None = None,
    markers: list[Marker] | None = None, notes: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> ImportedRecording:
    return ImportedRecording(
        recording=make_recording(probe.path, fmt, np.empty(0), markers=markers),
        format=fmt,
        original_name=probe.name,
        files=[probe.name],
        start_time=start_time,
        rr_source="ecg",
        channels=[channel],
        notes=list(notes or []),
        details=dict(details or {}),
    )


def _parse_column(path: Path, rows: list[tuple[int, str]], field: str) -> FloatArray:
    """Numbers of ``(line, text)`` rows; an error naming the first line that is not one."""
    texts = [t for _, t in rows]
    try:
        values = np.array(texts, dtype=np.float64)
    except ValueError:
        for line, text in rows:
            parse_number(path, text, line, field)
        raise  # pragma: no cover - parse_number raised on the bad row
    if not np.all(np.isfinite(values)):
        k = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InputFileError(path, f"{shown(rows[k][1])} is not a finite number",
                             line=rows[k][0], field=field)
    return values


def _unit_of_header(header: str) -> str | None:
    m = _UNIT_IN_HEADER.search(header.strip().lower())
    return None if m is None else m.group(1)


# --- single-column text ---------------------------------------------------------------------

def _single_column(probe: FileProbe, *, head: bool) -> tuple[str | None,
                                                               list[tuple[int, str]]] | None:
    """Header (or None) and numeric rows of a single-column file, None when it is not one."""
    if probe.is_binary:
        return None
    try:
        text = probe.head_text() if head else probe.text
    except InputFileError:
        return None
    rows = text.numbered()
    if head and probe.size > len(probe.head) and rows:
        rows = rows[:-1]  # the head may cut the last line
    if not rows:
        return None
    header: str | None = None
    first = rows[0][1]
    if not _is_plain_number(first):
        header = first
        rows = rows[1:]
    if head:
        numeric = sum(_is_plain_number(t) for _, t in rows)
        # Under an ECG header a stray line ("nan", a note) still makes the file an ECG, so
        # that reading it names the line; without one every line must be a number.
        needed = len(rows) if header is None else max(1, int(np.ceil(0.99 * len(rows))))
        if not rows or numeric < needed:
            return None
    return header, rows


def _is_plain_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) is not None


def _names_ecg(header: str) -> bool:
    low = header.strip().strip('"').lower()
    return bool(_ECG_WORD.search(low)) or _unit_of_header(low) is not None


def sniff_text(probe: FileProbe) -> int:
    """One numeric column under an ECG/voltage header, or with ECG-like values."""
    found = _single_column(probe, head=True)
    if found is None:
        return 0
    header, rows = found
    if header is not None:
        return TEXT_HEADER_SCORE if _names_ecg(header) else 0
    if len(rows) < MIN_ECG_LINES:
        return 0
    values = np.array([t for _, t in rows], dtype=np.float64)
    return TEXT_VALUES_SCORE if values.min() < 0 < values.max() else 0


def read_text(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read a single-column ECG text file (samples in µV, or mV when the header says so).

    Raises
    ------
    InputFileError
        No ``options.sampling_rate_hz``; a line that is not a number; fewer than two samples.
    """
    fs = options.sampling_rate_hz
    if fs is None:
        raise InputFileError(probe.path, NEEDS_RATE)
    if not fs > 0:
        raise InputFileError(probe.path, f"the sampling rate must be positive, got {fs:g} Hz")
    found = _single_column(probe, head=False)
    if found is None:
        raise InputFileError(probe.path, "not a single-column text file of ECG samples")
    header, rows = found
    if len(rows) < 2:
        raise InputFileError(probe.path, "fewer than two ECG samples")
    field = header or "ecg"
    values = _parse_column(probe.path, rows, field)
    unit = None if header is None else _unit_of_header(header)
    notes = [f"{values.size} ECG samples at {fs:g} Hz (the rate given, the file has none)"]
    if unit is None:
        notes.append("no unit in the file: samples taken as µV")
        factor = 1.0
    else:
        factor = TO_MICROVOLT[unit]
    return _ecg_recording(
        probe, TEXT_FORMAT, _channel(values * factor, fs, probe.path), notes=notes,
        details={"header": header, "file_unit": unit or "none (µV assumed)",
                 "sampling_rate_hz": float(fs), "sampling_rate_from": "the user"},
    )


# --- Apple Health ---------------------------------------------------------------------------

def _apple_header(lines: list[str]) -> tuple[dict[str, str], int]:
    """``key -> value`` of the header block (keys lower case) and the index of the first
    sample line."""
    meta: dict[str, str] = {}
    for index, line in enumerate(lines):
        content = line.strip()
        if not content or content.strip(",") == "":
            continue
        if _sample_text(content) is not None:
            return meta, index
        fields = split_fields(content, ",")
        key = fields[0].strip().lower()
        value = ",".join(fields[1:]).strip()
        if key:
            meta.setdefault(key, value)
    return meta, len(lines)


def _sample_text(content: str) -> str | None:
    """The number a sample line holds, in Python syntax; None when it is no sample."""
    text = content.strip().rstrip(",").strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        text = text[1:-1].strip()
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    return text if _is_plain_number(text) else None


def sniff_apple(probe: FileProbe) -> int:
    """A header block with the Apple Health ECG keys (``Sample Rate``, ``Lead``, ...)."""
    if probe.is_binary:
        return 0
    try:
        lines = probe.head_text().lines[:40]
    except InputFileError:
        return 0
    meta, _ = _apple_header(lines)
    hits = sum(k in meta for k in _APPLE_KEYS)
    return APPLE_SCORE if "sample rate" in meta and hits >= 3 else 0


def _apple_time(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def read_apple(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read an Apple Health ECG export (sampling rate, start and unit from its header).

    Raises
    ------
    InputFileError
        No ``Sample Rate`` in the header, a sample that is not a number, no samples.
    """
    text = probe.text
    meta, first = _apple_header(text.lines)
    rate_text = meta.get("sample rate", "")
    m = _SAMPLE_RATE.search(rate_text) or re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*",
                                                       rate_text)
    if m is None:
        raise InputFileError(probe.path, f"the header's Sample Rate {shown(rate_text)} is not "
                             "a rate in hertz", field="Sample Rate")
    fs = float(m.group(1).replace(",", "."))
    if not fs > 0:
        raise InputFileError(probe.path, f"the sampling rate must be positive, got {fs:g} Hz",
                             field="Sample Rate")
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(text.lines[first:], start=first + 1):
        content = line.strip()
        if not content or content.strip(",") == "":
            continue
        sample = _sample_text(content)
        if sample is None:
            raise InputFileError(probe.path, f"{shown(content)} is not an ECG sample",
                                 line=number, field="ECG")
        rows.append((number, sample))
    if len(rows) < 2:
        raise InputFileError(probe.path, "the export holds fewer than two ECG samples")
    values = _parse_column(probe.path, rows, "ECG")
    unit_text = meta.get("unit", "")
    unit = unit_text.strip().lower()
    notes = [f"{values.size} ECG samples at {fs:g} Hz (from the header)",
             "the export's Name and Date of Birth are not kept"]
    if unit in TO_MICROVOLT:
        factor = TO_MICROVOLT[unit]
    else:
        factor = 1.0
        notes.append(f"unit {shown(unit_text)} not recognised: samples taken as µV")
    recorded = meta.get("recorded date")
    start_time = None if recorded is None else _apple_time(recorded)
    if recorded is not None and start_time is None:
        notes.append(f"Recorded Date {shown(recorded)} is not a date and time: no start time")
    details = {
        "classification": meta.get("classification"),
        "symptoms": meta.get("symptoms") or None,
        "software_version": meta.get("software version"),
        "device": meta.get("device"),
        "lead": meta.get("lead"),
        "file_unit": unit_text or None,
        "sampling_rate_hz": fs,
        "sampling_rate_from": "the header",
    }
    return _ecg_recording(probe, APPLE_FORMAT, _channel(values * factor, fs, probe.path),
                          start_time=start_time, notes=notes, details=details)


# --- EDF ------------------------------------------------------------------------------------

def sniff_edf(probe: FileProbe) -> int:
    """The fixed 256-byte EDF/BDF header: version ``0`` (``\\xffBIOSEMI`` for BDF) and
    numeric header length, record count and signal count."""
    head = probe.head
    if len(head) < 256 or not (head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI"):
        return 0
    try:
        header_bytes = int(head[184:192].decode("ascii").strip())
        n_signals = int(head[252:256].decode("ascii").strip())
        int(head[236:244].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return 0
    return EDF_SCORE if header_bytes == 256 * (n_signals + 1) else 0


def _is_ecg_label(label: str) -> bool:
    low = label.lower()
    return "ecg" in low or "ekg" in low


def read_edf(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read the ECG channel of an EDF/EDF+/BDF file.

    Raises
    ------
    InputFileError
        A file pyedflib cannot read (truncated, not EDF compliant, discontinuous EDF+D).
    NotRRDataError
        No ECG channel: none named ECG/EKG and not exactly one in a voltage unit.
    """
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(probe.path))
    except Exception as exc:
        # pyedflib raises OSError with the path already in its text; keep only the reason.
        reason = str(exc).replace(f"{probe.path}: ", "")
        raise InputFileError(probe.path, f"not a readable EDF file: {reason}") from None
    try:
        labels = [str(label) for label in reader.getSignalLabels()]
        units = [str(reader.getPhysicalDimension(i)).strip() for i in range(len(labels))]
        by_label = [i for i, label in enumerate(labels) if _is_ecg_label(label)]
        voltage = [i for i, u in enumerate(units) if u.lower() in TO_MICROVOLT]
        notes: list[str] = []
        if by_label:
            index = by_label[0]
            if len(by_label) > 1:
                notes.append(f"{len(by_label)} ECG channels; read {labels[index]!r}, not "
                             + ", ".join(repr(labels[i]) for i in by_label[1:]))
        elif len(voltage) == 1:
            index = voltage[0]
            notes.append(f"no channel is labelled ECG/EKG: read {labels[index]!r}, the only "
                         f"one in a voltage unit ({units[index]})")
        else:
            held = ", ".join(f"{label!r} ({unit or 'no unit'})"
                             for label, unit in zip(labels, units, strict=True))
            raise NotRRDataError(
                probe.path, f"this EDF file has no ECG channel (none labelled ECG or EKG"
                f"{'' if not voltage else ', and more than one in a voltage unit'}): it holds "
                f"{held or 'no signals'}")
        fs = float(reader.getSampleFrequency(index))
        samples = np.asarray(reader.readSignal(index), dtype=np.float64)
        start_time = reader.getStartdatetime()
        onsets, durations, descriptions = reader.readAnnotations()
        file_type = int(reader.filetype)
        equipment = str(reader.getEquipment() or "").strip()
    except NotRRDataError:
        raise
    except Exception as exc:
        raise InputFileError(probe.path, f"not a readable EDF file: {exc}") from None
    finally:
        reader.close()
    unit = units[index]
    factor = TO_MICROVOLT.get(unit.lower())
    channel_unit = "uV"
    if factor is None:
        factor = 1.0
        channel_unit = unit or "uV"
        notes.append(f"unit {unit!r} of {labels[index]!r} is not a voltage: samples kept as "
                     "they are")
    markers = [
        Marker(float(onset), max(float(duration), 0.0), str(text), MarkerKind.EXTERNAL,
               {"source": "EDF+ annotation"})
        for onset, duration, text in zip(onsets, durations, descriptions, strict=True)
    ]
    notes.insert(0, f"{samples.size} ECG samples at {fs:g} Hz from channel {labels[index]!r}")
    if markers:
        notes.append(f"{len(markers)} EDF+ annotations as markers")
    details = {
        "file_type": {0: "EDF", 1: "EDF+", 2: "BDF", 3: "BDF+"}.get(file_type, str(file_type)),
        "channel": labels[index],
        "file_unit": unit or None,
        "channels_in_file": labels,
        "equipment": equipment or None,
        "sampling_rate_hz": fs,
        "sampling_rate_from": "the header",
    }
    return _ecg_recording(probe, EDF_FORMAT,
                          _channel(samples * factor, fs, probe.path, channel_unit),
                          start_time=start_time, markers=markers, notes=notes, details=details)


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        name=APPLE_FORMAT,
        title="Apple Health ECG (Apple Watch export)",
        summary="CSV with a header block (Sample Rate, Lead, Unit) and one ECG sample per line",
        sniff=sniff_apple,
        read=read_apple,
    ),
    FormatReader(
        name=EDF_FORMAT,
        title="EDF / EDF+ / BDF with an ECG channel",
        summary="European Data Format; the ECG/EKG channel is read, EDF+ annotations as "
                "markers",
        sniff=sniff_edf,
        read=read_edf,
    ),
    FormatReader(
        name=TEXT_FORMAT,
        title="Single-column ECG text (needs --sampling-rate)",
        summary="one ECG sample (µV) per line, optionally under an ecg/uV header",
        sniff=sniff_text,
        read=read_text,
    ),
)
