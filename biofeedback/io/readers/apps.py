"""Exports of phone apps and wearables: SelfLoops HRV, Empatica E4 ``IBI.csv`` and the
Garmin Health SDK logger (docs/formats.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import (
    FileProbe,
    FormatReader,
    ImportedRecording,
    NotRRDataError,
    ReadOptions,
)
from biofeedback.io.readers.text import (
    find_column,
    parse_interval,
    parse_number,
    read_table,
    split_fields,
)
from biofeedback.io.readers.timeline import (
    EXACT_CLOCK_TOLERANCE_S,
    PHONE_CLOCK_TOLERANCE_S,
    beat_times,
    make_recording,
    parse_timestamp,
    seconds_between,
    start_from_first_beat,
)

# -- SelfLoops -----------------------------------------------------------------------------


def sniff_selfloops(probe: FileProbe) -> int:
    """80 for a date line followed by ``Time (ms),HR (bpm),R-R (ms)``."""
    lines = probe.head_text().first_lines(2)
    if len(lines) == 2 and find_column(split_fields(lines[1], ","), "R-R (ms)") is not None \
            and find_column(split_fields(lines[1], ","), "Time (ms)") is not None:
        return 80
    return 0


def read_selfloops(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """RR from ``R-R (ms)``, beat times from ``Time (ms)``, start from the first line."""
    numbered = probe.text.numbered()
    line, first = numbered[0]
    started = parse_timestamp(probe.path, first, line, "start date")
    table = read_table(probe.path, probe.text, header_index=1, delimiter=",")
    rr, _ = table.values(table.column("R-R (ms)"), interval=True)
    clock_ms, _ = table.values(table.column("Time (ms)"))
    if not rr:
        raise InputFileError(probe.path, "no rows after the header", line=table.header_line)
    rr_ms = np.asarray(rr, dtype=np.float64)
    clock = np.asarray(clock_ms, dtype=np.float64) / 1000.0
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=EXACT_CLOCK_TOLERANCE_S)
    start = started + timedelta(seconds=float(clock[0] - rr_ms[0] / 1000.0))
    return ImportedRecording(
        make_recording(probe.path, "selfloops", rr_ms, time_s=time_s, gaps=gaps, unit="ms"),
        "selfloops", probe.name, files=[probe.name], start_time=start,
    )


# -- Empatica ------------------------------------------------------------------------------

_EMPATICA_FIRST = re.compile(r"^\s*(\d{9,11}(?:\.\d*)?)\s*,\s*IBI\s*$", re.IGNORECASE)


def sniff_empatica(probe: FileProbe) -> int:
    """85 for a first line ``<epoch s>, IBI``."""
    lines = probe.head_text().first_lines(1)
    return 85 if lines and _EMPATICA_FIRST.match(lines[0]) else 0


def read_empatica(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """IBI (s) with the beat times after the start epoch; rejected beats become gaps."""
    numbered = probe.text.numbered()
    line, first = numbered[0]
    m = _EMPATICA_FIRST.match(first)
    if m is None:
        raise InputFileError(probe.path, "the first line is not '<start epoch s>, IBI'",
                             line=line)
    epoch = float(m.group(1))
    t: list[float] = []
    ibi: list[float] = []
    for number, content in numbered[1:]:
        fields = split_fields(content, ",")
        if len(fields) != 2:
            raise InputFileError(probe.path, f"{len(fields)} field(s), expected 2 (time since "
                                 "start s, IBI s)", line=number)
        t.append(parse_number(probe.path, fields[0], number, "time s"))
        ibi.append(parse_interval(probe.path, fields[1], number, "IBI s"))
    if not ibi:
        raise InputFileError(probe.path, "no IBI rows after the first line", line=line)
    rr_ms = np.round(np.asarray(ibi) * 1000.0, 6)
    clock = np.asarray(t, dtype=np.float64)
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=EXACT_CLOCK_TOLERANCE_S)
    start = datetime.fromtimestamp(epoch + clock[0] - rr_ms[0] / 1000.0, UTC)
    return ImportedRecording(
        make_recording(probe.path, "empatica", rr_ms, time_s=time_s, gaps=gaps, unit="s"),
        "empatica", probe.name, files=[probe.name], start_time=start,
        notes=[f"{len(gaps)} gaps where the E4 rejected beats"] if gaps else [],
    )


_EPOCH = re.compile(r"^\s*1\d{9}(\.\d*)?(\s*,\s*1\d{9}(\.\d*)?)*\s*$")
_RATE = re.compile(r"^\s*\d+(\.\d*)?(\s*,\s*\d+(\.\d*)?)*\s*$")
_E4_SIGNALS = {"hr": "heart rate (bpm, 1 Hz)", "eda": "electrodermal activity (µS)",
               "temp": "skin temperature (°C)", "bvp": "blood volume pulse (PPG)",
               "acc": "acceleration (1/64 g)"}


def sniff_empatica_signal(probe: FileProbe) -> int:
    """70 for an E4 signal file: the start epoch, the sampling rate, then samples."""
    lines = probe.head_text().first_lines(3)
    if len(lines) == 3 and _EPOCH.match(lines[0]) and _RATE.match(lines[1]):
        rates = [float(r) for r in lines[1].split(",")]
        if all(0 < r <= 1000 for r in rates) and float(lines[0].split(",")[0]) > 1e9:
            return 70
    return 0


def read_empatica_signal(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Refused: an E4 signal file holds samples of one signal, not beat intervals."""
    if sniff_empatica_signal(probe) == 0:
        raise InputFileError(probe.path, "not an Empatica E4 signal file: the first two lines "
                             "are not the start epoch and the sampling rate", line=1)
    what = _E4_SIGNALS.get(re.split(r"[_\-. ]", probe.path.stem.lower())[-1],
                           "samples of one signal")
    rate = probe.head_text().first_lines(2)[1].split(",")[0].strip()
    raise NotRRDataError(
        probe.path, f"this Empatica E4 file holds {what} sampled at {float(rate):g} Hz, no RR "
        "intervals: import IBI.csv of the same session")


# -- Garmin Health SDK logger --------------------------------------------------------------

_GARMIN_ROW = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+([+-]\d{2}:?\d{2}|Z)?;[A-Z_]+;")
GARMIN_RR_TYPE = "HEART_RATE_VARIABILITY"


def sniff_garmin(probe: FileProbe) -> int:
    """80 for ``;``-separated ``ISO time;TYPE;value`` rows without a header."""
    lines = probe.head_text().first_lines(3)
    return 80 if lines and all(_GARMIN_ROW.match(line) for line in lines) else 0


def read_garmin(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """RR from the ``HEART_RATE_VARIABILITY`` rows, their times from the row timestamps."""
    when: list[datetime] = []
    rr: list[float] = []
    types: dict[str, int] = {}
    for number, content in probe.text.numbered():
        fields = split_fields(content, ";")
        if len(fields) < 3:
            raise InputFileError(probe.path, f"{len(fields)} field(s), expected 3 (time;type;"
                                 "value)", line=number)
        types[fields[1]] = types.get(fields[1], 0) + 1
        if fields[1] != GARMIN_RR_TYPE:
            continue
        when.append(parse_timestamp(probe.path, fields[0], number, "time"))
        rr.append(parse_interval(probe.path, fields[2], number, "value"))
    if not rr:
        raise NotRRDataError(
            probe.path, "this Garmin logger file holds "
            f"{', '.join(f'{k} ({v} rows)' for k, v in sorted(types.items()))} but no "
            f"{GARMIN_RR_TYPE} rows, so no RR intervals: enable beat-to-beat intervals in "
            "the logger")
    rr_ms = np.asarray(rr, dtype=np.float64)
    clock = np.array([seconds_between(w, when[0]) for w in when])
    time_s, gaps = beat_times(rr_ms, clock, tolerance_s=PHONE_CLOCK_TOLERANCE_S)
    return ImportedRecording(
        make_recording(probe.path, "garmin", rr_ms, time_s=time_s, gaps=gaps, unit="ms"),
        "garmin", probe.name, files=[probe.name],
        start_time=start_from_first_beat(when[0], rr_ms[0]),
        notes=[f"{len(gaps)} gaps in the logger's timestamps"] if gaps else [],
        details={"row_types": types},
    )


READERS: tuple[FormatReader, ...] = (
    FormatReader("selfloops", "SelfLoops HRV",
                 "start date line, then `Time (ms),HR (bpm),R-R (ms)`",
                 sniff_selfloops, read_selfloops),
    FormatReader("empatica", "Empatica E4 IBI.csv",
                 "`<start epoch>, IBI`, then time since start (s) and IBI (s); rejected beats "
                 "become gaps",
                 sniff_empatica, read_empatica),
    FormatReader("empatica_signal", "Empatica E4 signal files",
                 "`HR.csv`, `EDA.csv`, `TEMP.csv`, `BVP.csv`, `ACC.csv` (start epoch, rate, "
                 "samples): refused, naming the signal",
                 sniff_empatica_signal, read_empatica_signal),
    FormatReader("garmin", "Garmin Health SDK logger",
                 "`ISO time;TYPE;value` rows of mixed types; RR from "
                 "`HEART_RATE_VARIABILITY`",
                 sniff_garmin, read_garmin),
)
