"""Generic CSV/TSV files with a header: a column of RR intervals, or of beat times.

The column is found by its name (``rr``, ``rr_ms``, ``RR-interval [ms]``, ``ibi``, ``nn``,
``rri`` ... for intervals; ``beat_time_s``, ``beat_time``, ``peak_time``, ``time`` ... for
beat times) or named with ``--column``. Units come from the name (``[ms]``, ``(s)``,
``_ms``, ``_s``) or, for intervals, from the magnitude (median below 10: seconds). The
delimiter is sniffed; ``;``- and tab-separated files may use decimal commas. When a file has
both an interval and a time column, the times show the file's gaps.
"""

from __future__ import annotations

import re

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import FileProbe, FormatReader, ImportedRecording, ReadOptions
from biofeedback.io.readers.text import (
    Table,
    is_number,
    parse_interval,
    parse_number,
    read_table,
    sniff_delimiter,
    split_fields,
    uses_decimal_comma,
)
from biofeedback.io.readers.timeline import EXACT_CLOCK_TOLERANCE_S, beat_times, make_recording

NAME = "csv"
RR_NAMES = ("rr", "rr ms", "rr-interval", "rr interval", "rr intervals", "r-r", "rri", "ibi",
            "nn", "nni", "nn interval", "interbeat interval", "inter-beat interval",
            "pp-interval", "ppi", "rr_interval", "rr_ms", "ibi_ms", "ibi_s", "rr_s")
TIME_NAMES = ("beat_time", "beat time", "beat_time_s", "beat_times", "peak_time", "peak time",
              "r_peak_time", "rpeak_time", "time", "time_s", "t", "timestamp_s", "beat")
SECONDS_BELOW = 10.0
"""Interval values whose median is below this are seconds."""


def _bare(name: str) -> str:
    """A header name without its unit (``RR-interval [ms]`` -> ``rr-interval``)."""
    name = re.sub(r"\s*[\[(][^\])]*[\])]\s*$", "", name.strip().strip('"').lower())
    return re.sub(r"\s+", " ", name)


def _unit(name: str) -> str | None:
    lowered = name.lower()
    if re.search(r"[\[(]\s*ms\s*[\])]|_ms$|\bms$", lowered):
        return "ms"
    if re.search(r"[\[(]\s*s(ec)?\s*[\])]|_s$|_sec$", lowered):
        return "s"
    return None


def _header_fields(probe: FileProbe) -> list[str] | None:
    lines = probe.head_text().first_lines(1)
    if not lines or not any(d in lines[0] for d in ",;\t"):
        return None
    fields = split_fields(lines[0], sniff_delimiter(lines[0]))
    if any(is_number(f) for f in fields) or len(fields) < 2:
        return None
    return fields


def _columns(header: list[str]) -> tuple[int | None, int | None]:
    bare = [_bare(h) for h in header]
    keyed = [b.replace(" ", "_") for b in bare]
    rr = next((i for i, (b, k) in enumerate(zip(bare, keyed, strict=True))
               if b in RR_NAMES or k in RR_NAMES), None)
    time = next((i for i, (b, k) in enumerate(zip(bare, keyed, strict=True))
                 if b in TIME_NAMES or k in TIME_NAMES), None)
    return rr, time


def sniff(probe: FileProbe) -> int:
    """15 for a header naming an interval or beat-time column; 3 for any other header."""
    header = _header_fields(probe)
    if header is None:
        # A single-column file with a header such as "rr" or "beat_time_s".
        lines = probe.head_text().first_lines(2)
        if len(lines) == 2 and not is_number(lines[0]) and is_number(lines[1]) and any(
                c is not None for c in _columns([lines[0]])):
            return 15
        return 0
    rr, time = _columns(header)
    return 15 if rr is not None or time is not None else 3


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read the interval (or beat-time) column."""
    text = probe.text
    numbered = text.numbered()
    if not numbered:
        raise InputFileError(probe.path, "empty file (no RR values)")
    first = numbered[0][1]
    delimiter = sniff_delimiter(first) if any(d in first for d in ",;\t") else ","
    table = read_table(probe.path, text, delimiter=delimiter)
    header = table.header
    if all(is_number(h) for h in header):
        raise InputFileError(probe.path, "no header row: a CSV/TSV needs column names (name "
                             "the format with --format)", line=table.header_line)
    if options.column is not None:
        wanted = _bare(options.column)
        matches = [i for i, h in enumerate(header) if h.lower() == options.column.lower()
                   or _bare(h) == wanted]
        if not matches:
            raise InputFileError(probe.path, f"no column {options.column!r} (the header has "
                                 f"{', '.join(map(repr, header))})", line=table.header_line,
                                 field=options.column)
        chosen = matches[0]
        rr_col, time_col = _columns(header)
        if chosen == time_col or _bare(header[chosen]) in TIME_NAMES:
            rr_col, time_col = None, chosen
        else:
            rr_col, time_col = chosen, time_col
    else:
        rr_col, time_col = _columns(header)
    if rr_col is None and time_col is None:
        raise InputFileError(
            probe.path, f"no RR interval or beat-time column among "
            f"{', '.join(map(repr, header))} (name one with --column)",
            line=table.header_line)
    comma = delimiter in ";\t" and uses_decimal_comma(
        [f[c] for _, f in table.rows[:200] for c in (rr_col, time_col)
         if c is not None and c < len(f)])
    if rr_col is not None:
        return _intervals(probe, table, rr_col, time_col, comma)
    assert time_col is not None
    return _beat_times(probe, table, time_col, comma)


def _intervals(probe: FileProbe, table: Table, rr_col: int, time_col: int | None, comma: bool
               ) -> ImportedRecording:
    name = table.header[rr_col]
    values: list[float] = []
    times: list[float] = []
    for line, fields in table.rows:
        if rr_col >= len(fields) or not fields[rr_col]:
            continue  # a row of other columns only (a spreadsheet's trailing rows)
        values.append(parse_interval(probe.path, fields[rr_col], line, name,
                                     decimal_comma=comma))
        if time_col is not None and time_col < len(fields) and fields[time_col]:
            times.append(parse_number(probe.path, fields[time_col], line,
                                      table.header[time_col], decimal_comma=comma))
    if not values:
        raise InputFileError(probe.path, "no RR values after the header",
                             line=table.header_line, field=name)
    rr = np.asarray(values, dtype=np.float64)
    unit = _unit(name) or ("s" if float(np.median(rr)) < SECONDS_BELOW else "ms")
    rr_ms = np.round(rr * 1000.0, 6) if unit == "s" else rr
    clock = None
    if time_col is not None and len(times) == len(values):
        clock = _seconds(np.asarray(times), _unit(table.header[time_col]))
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=EXACT_CLOCK_TOLERANCE_S)
    return ImportedRecording(
        make_recording(probe.path, NAME, rr_ms, time_s=time_s, gaps=gaps, unit=unit,
                       column=table.header[rr_col], kind="rr"),
        NAME, probe.name, files=[probe.name],
        details={"column": table.header[rr_col], "unit": unit, "delimiter": table.delimiter},
    )


def _seconds(times: np.ndarray, unit: str | None) -> np.ndarray:
    return times / 1000.0 if unit == "ms" else times


def _beat_times(probe: FileProbe, table: Table, time_col: int, comma: bool
                ) -> ImportedRecording:
    name = table.header[time_col]
    values, lines = table.values(time_col, decimal_comma=comma, skip_blank=True)
    if len(values) < 2:
        raise InputFileError(probe.path, "fewer than two beat times: no interval",
                             line=table.header_line, field=name)
    t = _seconds(np.asarray(values, dtype=np.float64), _unit(name))
    steps = np.diff(t)
    if np.any(steps <= 0):
        k = int(np.flatnonzero(steps <= 0)[0])
        raise InputFileError(probe.path, f"beat time {values[k + 1]:g} is not after the "
                             f"previous {values[k]:g}", line=lines[k + 1], field=name)
    rr_ms = np.round(steps * 1000.0, 6)
    return ImportedRecording(
        make_recording(probe.path, NAME, rr_ms, time_s=t[1:] - t[0], column=name,
                       kind="beat_times"),
        NAME, probe.name, files=[probe.name],
        details={"column": name, "kind": "beat times", "delimiter": table.delimiter},
    )


READERS: tuple[FormatReader, ...] = (
    FormatReader(NAME, "Generic CSV/TSV",
                 "a header naming an RR column (`rr`, `ibi`, `nn`, `RR-interval [ms]` ...) or a "
                 "beat-time column (`beat_time_s`, `time` ...), or one named with `--column`",
                 sniff, read),
)
