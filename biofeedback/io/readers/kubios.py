"""Kubios HRV results reports (``.txt``): the RR column of the report's data section, and the
report's own values kept as the file's reference.

A report (Kubios HRV Standard/Premium, docs/formats.md "Kubios") is comma-separated text with
space-padded fields, CRLF line endings and, from Windows installations, cp1252/Latin-1
encoding. Its ``Name (unit): , value, value,`` lines hold Kubios' results; the section
``RR INTERVAL DATA ...`` holds columns ``Time (s)``, ``RR interval (s)`` and spectrum
estimates (rows where only the spectrum continues have an empty RR field). Kubios' RR *input*
files (``#`` comment lines, then one interval per line) are read by
:mod:`biofeedback.io.readers.plain`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import FileProbe, FormatReader, ImportedRecording, ReadOptions
from biofeedback.io.readers.text import parse_interval, parse_number, split_fields
from biofeedback.io.readers.timeline import EXACT_CLOCK_TOLERANCE_S, beat_times, make_recording

NAME = "kubios"
_DATA_SECTION = "rr interval data"


def _value_line(delimiter: str) -> re.Pattern[str]:
    """``  Name (unit):   , value, value,`` with the report's delimiter."""
    return re.compile(rf"^\s*(?P<name>[^{delimiter}]+?):?\s*{delimiter}(?P<values>.*)$")


def sniff(probe: FileProbe) -> int:
    """95 for a Kubios results report (its title or the Kubios name in the first lines)."""
    lines = [line.lower() for line in probe.head_text().first_lines(6) if not line.startswith("#")]
    if not lines:
        return 0
    if lines[0].startswith("hrv analysis results") or any("kubios hrv" in line
                                                          for line in lines[:3]):
        return 95
    return 0


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read the RR column of the report's data section and the report's values."""
    text = probe.text
    lines = text.lines
    section = next((i for i, line in enumerate(lines) if line.strip().lower().startswith(
        _DATA_SECTION)), None)
    if section is None:
        raise InputFileError(
            probe.path, "this Kubios report has no 'RR INTERVAL DATA' section: export the "
            "report with its RR data (or import the RR file Kubios analysed)")
    delimiter = ";" if lines[section].count(";") > lines[section].count(",") else ","
    # Reports from locales that write decimal commas separate fields with semicolons.
    comma = delimiter == ";"
    rr_col = time_col = None
    unit_row = None
    inline_unit = ""
    first_data = None
    for i in range(section + 1, min(section + 12, len(lines))):
        fields = [f.strip().lower() for f in split_fields(lines[i], delimiter)]
        named = [k for k, f in enumerate(fields) if f.startswith("rr interval") or
                 re.fullmatch(r"rri?( \((m?s)\))?", f)]
        if rr_col is None and named:
            rr_col = named[0]
            m = re.search(r"\((m?s)\)", fields[rr_col])
            inline_unit = m.group(1) if m else ""
            time_cols = [k for k, f in enumerate(fields) if f.startswith("time")]
            time_col = time_cols[0] if time_cols else None
            continue
        if rr_col is not None and unit_row is None and rr_col < len(fields) and \
                fields[rr_col].startswith("("):
            unit_row = fields
            continue
        if rr_col is not None and rr_col < len(fields) and _numeric(fields[rr_col], comma):
            first_data = i
            break
    if rr_col is None or first_data is None:
        raise InputFileError(probe.path, "the 'RR INTERVAL DATA' section has no 'RR interval' "
                             "column with values", line=section + 1)
    unit = unit_row[rr_col].strip("()") if unit_row is not None else inline_unit
    rr: list[float] = []
    times: list[float] = []
    for i in range(first_data, len(lines)):
        if not lines[i].strip():
            break
        fields = split_fields(lines[i], delimiter)
        if rr_col >= len(fields) or not fields[rr_col]:
            continue
        rr.append(parse_interval(probe.path, fields[rr_col], i + 1, "RR interval",
                                 decimal_comma=comma))
        if time_col is not None and time_col < len(fields) and fields[time_col]:
            times.append(parse_number(probe.path, fields[time_col], i + 1, "Time",
                                      decimal_comma=comma))
    scale = 1000.0 if unit == "s" or (unit == "" and float(np.median(rr)) < 10) else 1.0
    rr_ms = np.round(np.asarray(rr) * scale, 6)
    clock = np.asarray(times) if len(times) == len(rr) else None
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=EXACT_CLOCK_TOLERANCE_S)
    tool, values, info = _report_values(lines[:section], delimiter)
    start = _measurement_date(info.get("Measurement date", ""))
    return ImportedRecording(
        make_recording(probe.path, NAME, rr_ms, time_s=time_s, gaps=gaps, unit=unit or "ms"),
        NAME, probe.name, files=[probe.name], start_time=start,
        reference={"tool": tool, "values": values},
        details={"report": info, "encoding": text.encoding, "line_endings": text.newline},
    )


def _numeric(text: str, decimal_comma: bool = False) -> bool:
    try:
        return math.isfinite(float(text.replace(",", ".") if decimal_comma else text))
    except ValueError:
        return False


def _report_values(lines: list[str], delimiter: str
                   ) -> tuple[str, dict[str, float], dict[str, str]]:
    """The tool name, numeric results (``name [column]``) and text settings of a report."""
    tool = " ".join(line.strip() for line in lines[1:3] if line.strip()) or "Kubios HRV"
    values: dict[str, float] = {}
    info: dict[str, str] = {}
    columns: list[str] = []
    for line in lines[1:]:
        if ":" in line and not re.search(r":\s*" + delimiter, line):
            key, _, value = line.partition(":")
            if key.strip() and value.strip():
                info[key.strip()] = value.strip()
            continue
        m = _value_line(delimiter).match(line)
        if m is None:
            continue
        name = " ".join(m.group("name").split())
        fields = [f.strip().replace(",", ".") if delimiter == ";" else f.strip()
                  for f in m.group("values").split(delimiter)]
        fields = fields[:-1] if fields and fields[-1] == "" else fields
        if not line.rstrip().rstrip(",;").endswith(":") and ":" not in line:
            # A section title such as "Frequency-Domain Results , FFT spectrum, AR spectrum,"
            if any(fields):
                columns = [f for f in fields if f]
            elif not line.startswith((" ", "\t")):
                columns = []
            continue
        numbers = [(k, float(f)) for k, f in enumerate(fields) if _numeric(f)]
        for k, number in numbers:
            label = name if len(fields) == 1 or (k == 0 and len(columns) < 2) else \
                f"{name} [{columns[k] if k < len(columns) else k + 1}]"
            values[label] = number
    return tool, values, info


def _measurement_date(text: str) -> datetime | None:
    """The report's measurement date when written unambiguously (ISO or ``dd.mm.yyyy``)."""
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        NAME, "Kubios HRV",
        "results report `.txt` (any encoding): the `RR interval` column of its RR data "
        "section, the report's own values kept as the reference; RR input files (`#` "
        "comments, one interval per line) too",
        sniff, read),
)
