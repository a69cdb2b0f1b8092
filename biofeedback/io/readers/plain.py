"""Files that hold nothing but RR intervals: one per line, or several on a line.

Which tool wrote such a file is told by what surrounds the numbers (docs/formats.md): ``#``
comment lines (Kubios RR input files), a date and time in the file name (Elite HRV), one line
of space-separated values (Welltory), none of these (plain RR text, e.g. Polar ProTrainer,
the hrv package's samples). Values are in ms, or in seconds when their median is below 10.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.io.readers.base import FileProbe, FormatReader, ImportedRecording, ReadOptions
from biofeedback.io.readers.text import DecodedText, parse_number, shown, uses_decimal_comma
from biofeedback.io.readers.timeline import make_recording

SECONDS_BELOW = 10.0
"""Values whose median is below this are seconds (no RR in ms is below 10)."""

PLAUSIBLE_MS = (200.0, 3000.0)
"""Range of a human RR interval, ms (300-20 bpm); used only to recognise a file's layout."""

_SEPARATORS = re.compile(r"[\s;]+")
_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
_FILE_NAME_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ _T](\d{2})[-:.h](\d{2})[-:.m](\d{2})"
)


def _tokens(line: str) -> list[str]:
    return [t for t in _SEPARATORS.split(line.strip()) if t]


def _numbers_only(text: DecodedText, *, head: bool) -> tuple[bool, bool, int]:
    """(all lines numeric, has ``#`` comments, most values on one line)."""
    rows = text.numbered()
    if head and len(rows) > 1:
        rows = rows[:-1]  # the head may cut the last line
    comments = False
    widest = 0
    seen = False
    for _, content in rows[:2000]:
        if content.startswith("#"):
            comments = True
            continue
        tokens = _tokens(content.split("#", 1)[0])
        if len(tokens) == 1 and "," in tokens[0] and not _NUMBER.fullmatch(tokens[0]):
            tokens = tokens[0].split(",")
        if not tokens or not all(_NUMBER.fullmatch(t) for t in tokens):
            return False, comments, widest
        widest = max(widest, len(tokens))
        seen = True
    return seen, comments, widest


def _start_from_name(name: str) -> datetime | None:
    m = _FILE_NAME_TIME.search(name)
    if m is None:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))  # type: ignore[arg-type]
    except ValueError:
        return None


def _sniffer(kind: str) -> object:
    def sniff(probe: FileProbe) -> int:
        if probe.is_binary:
            return 0
        numeric, comments, widest = _numbers_only(probe.head_text(), head=True)
        if not numeric:
            return 0
        if kind == "kubios":
            return 40 if comments and widest == 1 else 0
        if kind == "elite_hrv":
            return 35 if widest == 1 and not comments and _start_from_name(probe.name) else 0
        if kind == "physionet_rr":
            return 30 if widest == 1 and not comments and _offset_first(probe) else 0
        if kind == "welltory":
            lines = [c for _, c in probe.head_text().numbered() if not c.startswith("#")]
            return 35 if len(lines) == 1 and widest > 1 else 0
        return 20 if widest == 1 else 0
    return sniff


def _offset_first(probe: FileProbe) -> bool:
    """Whether the first value is PhysioNet's offset to the first beat, not an interval.

    PhysioNet RR text (``ann2rr`` with the time of the first beat, as distributed with the
    RR interval databases) starts with the time from the record start to the first beat:
    told from an interval by lying outside the plausible range while the values after it
    are plausible, or by the ``*_rr_secs`` / ``*.rr`` name those files carry.
    """
    name = probe.name.lower()
    if "rr_sec" in name or name.endswith(".rr"):
        return True
    try:
        values = [float(c.replace(",", ".")) for _, c in probe.head_text().numbered()[:400]]
    except ValueError:
        return False
    if len(values) < 10:
        return False
    rest = np.asarray(values[1:-1])
    scale = 1000.0 if float(np.median(rest)) < SECONDS_BELOW else 1.0
    first = values[0] * scale
    plausible = (rest * scale >= PLAUSIBLE_MS[0]) & (rest * scale <= PLAUSIBLE_MS[1])
    return bool(plausible.mean() > 0.99) and first > PLAUSIBLE_MS[1]


def _values(path: Path, text: DecodedText) -> tuple[list[float], list[int], bool]:
    rows = [(n, c) for n, c in text.numbered() if not c.startswith("#")]
    single = [c for _, c in rows if len(_tokens(c)) == 1]
    comma = uses_decimal_comma(single) if len(single) == len(rows) else False
    values: list[float] = []
    lines: list[int] = []
    for number, content in rows:
        content = content.split("#", 1)[0]
        tokens = _tokens(content)
        if not comma and len(tokens) == 1 and "," in tokens[0]:
            tokens = [t for t in tokens[0].split(",") if t.strip()]
        for token in tokens:
            value = parse_number(path, token, number, "rr", decimal_comma=comma)
            if value <= 0:
                raise InputFileError(path, f"RR interval {shown(token)} is zero or negative: "
                                     "not an interval", line=number, field="rr")
            values.append(value)
            lines.append(number)
    if not values:
        raise InputFileError(path, "no RR values (the file is empty or only has comments)")
    return values, lines, comma


def _reader(kind: str) -> object:
    def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
        text = probe.text
        values, _, comma = _values(probe.path, text)
        rr = np.asarray(values, dtype=np.float64)
        unit = "s" if float(np.median(rr)) < SECONDS_BELOW else "ms"
        if unit == "s":
            rr = np.round(rr * 1000.0, 6)
        time_s = None
        details: dict[str, object] = {"unit": unit, "line_endings": text.newline}
        if kind == "physionet_rr":
            if rr.size < 2:
                raise InputFileError(probe.path, "only the offset to the first beat, no RR "
                                     "intervals")
            offset_s, rr = float(rr[0]) / 1000.0, rr[1:]
            time_s = offset_s + np.cumsum(rr) / 1000.0
            details["first_beat_s"] = offset_s
        comments = [c.lstrip("# ").strip() for _, c in text.numbered() if c.startswith("#")]
        if comma:
            details["decimal_comma"] = True
        if comments:
            details["header_comments"] = comments[:20]
        start = _start_from_name(probe.name) if kind == "elite_hrv" else None
        return ImportedRecording(
            make_recording(probe.path, kind, rr, time_s=time_s, unit=unit), kind, probe.name,
            files=[probe.name], start_time=start, details=details,
        )
    return read


READERS: tuple[FormatReader, ...] = (
    FormatReader("kubios_rr", "Kubios RR input file",
                 "`#` comment lines, then one RR interval per line (ms, or s by magnitude)",
                 _sniffer("kubios"), _reader("kubios_rr")),  # type: ignore[arg-type]
    FormatReader("elite_hrv", "Elite HRV",
                 "one RR (ms) per line; the start time is the file name "
                 "(`2019-03-14 07-25-31.txt`)",
                 _sniffer("elite_hrv"), _reader("elite_hrv")),  # type: ignore[arg-type]
    FormatReader("physionet_rr", "PhysioNet RR text",
                 "the time of the first beat, then one RR per line (s or ms), as PhysioNet's "
                 "RR interval databases distribute them",
                 _sniffer("physionet_rr"), _reader("physionet_rr")),  # type: ignore[arg-type]
    FormatReader("welltory", "Welltory",
                 "RR intervals (ms) separated by spaces on one line, or one per line",
                 _sniffer("welltory"), _reader("welltory")),  # type: ignore[arg-type]
    FormatReader("plain_rr_text", "Plain RR text",
                 "one RR interval per line, no header (ms, or s by magnitude; decimal commas "
                 "read)",
                 _sniffer("plain"), _reader("plain_rr_text")),  # type: ignore[arg-type]
)
