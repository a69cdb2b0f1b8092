"""Polar's own exports: ``.hrm`` files (Polar Precision Performance / ProTrainer) and Polar
Flow files.

``.hrm`` (docs/formats.md "Polar .hrm") is INI-like: ``[Params]`` with ``Interval=238``
meaning the ``[HRData]`` rows are RR intervals in ms (any other interval is a heart-rate
sampling period in s: heart rate only), ``Date``/``StartTime`` the start. Polar Flow's
session CSV holds a summary line and 1 Hz heart-rate samples (no RR); its HRV text export is
tab-separated elapsed time (s) and RR (ms) with no header.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import is_number, parse_interval, parse_number, split_fields
from biofeedback.io.readers.timeline import EXACT_CLOCK_TOLERANCE_S, beat_times, make_recording

HRM_RR_INTERVAL = 238
"""``Interval`` value of an ``.hrm`` file in RR mode (Polar HRM format description)."""


def _hrm_sections(probe: FileProbe) -> dict[str, list[tuple[int, str]]]:
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, content in probe.text.numbered():
        if content.startswith("[") and content.endswith("]"):
            current = sections.setdefault(content[1:-1].strip(), [])
        elif current is not None:
            current.append((number, content))
    return sections


def sniff_hrm(probe: FileProbe) -> int:
    """90 for an INI-like file starting with ``[Params]`` that names a Polar ``Monitor``."""
    lines = probe.head_text().first_lines(4)
    if lines and lines[0] == "[Params]" and any(line.startswith("Version=") for line in lines):
        return 90
    return 0


def read_hrm(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """RR from ``[HRData]`` when ``Interval=238``; otherwise refused as heart rate only."""
    sections = _hrm_sections(probe)
    params: dict[str, tuple[int, str]] = {}
    for number, content in sections.get("Params", []):
        key, _, value = content.partition("=")
        params[key.strip()] = (number, value.strip())
    if "Interval" not in params:
        raise InputFileError(probe.path, "the [Params] section has no Interval= line",
                             field="Interval")
    line, interval = params["Interval"]
    if not interval.isdigit():
        raise InputFileError(probe.path, f"Interval={interval!r} is not a whole number",
                             line=line, field="Interval")
    if int(interval) != HRM_RR_INTERVAL:
        raise NotRRDataError(
            probe.path, f"this Polar .hrm file holds heart rate sampled every {interval} s "
            f"(Interval={interval}), no RR intervals: record with the monitor in R-R mode "
            f"(Interval={HRM_RR_INTERVAL}) to get them")
    rows = sections.get("HRData", [])
    if not rows:
        raise InputFileError(probe.path, "the file has no [HRData] rows")
    rr = []
    for number, content in rows:
        fields = content.split()
        rr.append(parse_interval(probe.path, fields[0], number, "RR"))
    start = None
    if "Date" in params and "StartTime" in params:
        text = f"{params['Date'][1]} {params['StartTime'][1]}"
        for fmt in ("%Y%m%d %H:%M:%S.%f", "%Y%m%d %H:%M:%S"):
            try:
                start = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if start is None:
            raise InputFileError(probe.path, f"{text!r} is not a date (YYYYMMDD) and time",
                                 line=params["Date"][0], field="Date")
    details = {k: v for k, (_, v) in params.items() if k in ("Version", "Monitor", "SMode",
                                                             "Length", "Interval")}
    return ImportedRecording(
        make_recording(probe.path, "polar_hrm", rr, unit="ms"), "polar_hrm", probe.name,
        files=[probe.name], start_time=start, details=details,
    )


def sniff_flow(probe: FileProbe) -> int:
    """85 for a Polar Flow session CSV; 30 for two tab-separated numbers per line."""
    lines = probe.head_text().first_lines(4)
    if not lines:
        return 0
    if lines[0].startswith("Name,Sport,Date,Start time") or (
            len(lines) > 2 and lines[2].startswith("Sample rate,Time,HR")):
        return 85
    rows = lines[:-1] if len(lines) > 1 else lines
    if all("\t" in r and len(r.split("\t")) == 2 and all(is_number(f) for f in r.split("\t"))
           for r in rows):
        return 30
    return 0


def read_flow(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """The HRV text export (elapsed s, RR ms); the session CSV is refused as heart rate only."""
    text = probe.text
    lines = text.first_lines(3)
    if lines and lines[0].startswith("Name,Sport"):
        raise NotRRDataError(
            probe.path, "this Polar Flow session CSV holds heart rate samples (once a second) "
            "and a summary, no RR intervals: Polar Flow's CSV export has none; record the RR "
            "with an app that saves them (Polar Sensor Logger, Elite HRV, HRV Logger)")
    elapsed: list[float] = []
    rr: list[float] = []
    for number, content in text.numbered():
        fields = split_fields(content, "\t")
        if len(fields) != 2:
            raise InputFileError(probe.path, f"{len(fields)} tab-separated field(s), expected 2 "
                                 "(elapsed s, RR ms)", line=number)
        elapsed.append(parse_number(probe.path, fields[0], number, "elapsed s"))
        rr.append(parse_interval(probe.path, fields[1], number, "RR ms"))
    rr_ms = np.asarray(rr, dtype=np.float64)
    time_s, gaps = beat_times(rr_ms, np.asarray(elapsed), tolerance_s=EXACT_CLOCK_TOLERANCE_S)
    return ImportedRecording(
        make_recording(probe.path, "polar_flow", rr_ms, time_s=time_s, gaps=gaps, unit="ms"),
        "polar_flow", probe.name, files=[probe.name],
    )


READERS: tuple[FormatReader, ...] = (
    FormatReader("polar_hrm", "Polar .hrm (Precision Performance, ProTrainer)",
                 "`[Params]` with `Interval=238` (RR mode): one RR (ms) per `[HRData]` row; "
                 "other intervals are heart rate only and refused",
                 sniff_hrm, read_hrm),
    FormatReader("polar_flow", "Polar Flow",
                 "HRV text export (tab-separated elapsed s and RR ms) read; the session CSV "
                 "(1 Hz heart rate) refused as heart rate only",
                 sniff_flow, read_flow),
)
