"""PhysioNet WFDB records: NN intervals from a beat annotation file and its header.

A WFDB record (WFDB Programmer's Guide, https://physionet.org/physiotools/wag/) is a text
header ``REC.hea`` (record line ``name nsig fs nsamp basetime basedate``, ``#`` comments),
signal files (``.dat``: not read here) and annotation files ``REC.atr`` (reference beat
labels), ``REC.ecg``, ``REC.qrs``, ... in the binary MIT format ("annot(5)": 16-bit words,
6-bit type and 10-bit sample increment; SKIP, NUM, SUB, CHN and AUX pseudo-annotations; a zero
word ends the file). Both are read with the ``wfdb`` package (pinned in pyproject.toml);
the file's structure is checked first, because ``wfdb.rdann`` reads a truncated or foreign
file without complaint.

Intervals are NN intervals, as ``ann2rr -c -p N -P N`` prints them: the sample difference
over the header's sampling rate between two annotations that are both normal beats (``N``)
and adjacent in the annotation stream. Any other annotation between them (an ectopic beat,
an isolated QRS-like artifact ``|``, a noise mark ``~``, a rhythm change ``+``) interrupts
the series: there a gap of reason ``source`` runs from the last NN beat to the start of the
next NN interval. Pairing over all annotations matters: dropping the non-beat ``|`` marks of
crisdb record e002a before pairing would join beats across noise spans of 3-128 s.

Every annotation that is not ``N`` becomes one instant marker (kind ``external``, label
``"beat V"`` for a beat, ``"annotation |"`` otherwise, with the auxiliary text when there is
one; ``extra`` holds the mnemonic, sample, description and aux text): about 8 % of the
annotations of a Holter record (9131 of 118656 in e002a), so ectopic beats and noise stay
visible beside the NN series.

Session time 0 is the record start (sample 0), the header's base date and time its wall
clock (naive: WFDB headers give no zone).
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.types import Gap, GapReason, Marker, MarkerKind
from biofeedback.io.readers.base import FileProbe, FormatReader, ImportedRecording, ReadOptions
from biofeedback.io.readers.timeline import make_recording

FORMAT = "physionet_wfdb"

ANNOTATORS: tuple[str, ...] = ("atr", "ecg", "qrs", "ari", "ann", "man", "all")
"""Annotation file extensions looked for beside a header, in this order (``atr``: the
reference annotations, by PhysioNet convention)."""

NOT_ANNOTATIONS: frozenset[str] = frozenset({
    "hea", "dat", "mat", "edf", "rec", "txt", "csv", "tsv", "json", "xml", "md", "html",
    "pdf", "png", "jpg", "svg", "zip", "gz", "bz2", "xz", "tar", "xws", "py", "npy",
    "fit", "hrm", "wav",
})
"""Extensions beside a header that are never annotation files."""

BEAT_SYMBOLS: frozenset[str] = frozenset("NLRaVFJASEj/QBenfr?")
"""Mnemonics that denote a QRS complex (WFDB ``isqrs``)."""

SNIFF_SCORE = 90
"""Score of a header whose record line parses, or of an annotation file with its header."""

_RECORD_LINE = re.compile(r"[A-Za-z0-9_.\-~]+(?:/\d+)?\s+\d+(?:\s+\S+)*")

_SKIP, _NUM, _SUB, _CHN, _AUX = 59, 60, 61, 62, 63
_ACMAX = 49

NO_ANNOTATIONS = ("WFDB header without an annotation file: RR intervals are read from beat "
                  "annotations (.atr/.ecg/.qrs) beside the header; the signal file (.dat) is "
                  "not read")
"""Refusal of a header with no annotation file beside it."""


def annotation_problem(data: bytes, *, partial: bool = False) -> str | None:
    """What is wrong with the structure of MIT-format annotation bytes, or None.

    Parameters
    ----------
    data : bytes
        The file's content (or its first bytes when ``partial``).
    partial : bool
        ``data`` is the file's head: running out of bytes is no error.

    Returns
    -------
    str or None
        ``"byte offset N: ..."`` for an undefined annotation type (50-58), a SKIP or AUX
        payload that runs past the end, an odd trailing byte or a missing end-of-file
        marker (a zero word).
    """
    return _scan(data, partial=partial)[1]


def annotation_end(data: bytes) -> int | None:
    """Byte offset just past the end-of-file marker (None when the structure is broken)."""
    return _scan(data, partial=False)[0]


def _scan(data: bytes, *, partial: bool) -> tuple[int | None, str | None]:
    words = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<u2").tolist()
    n = len(words)
    k = 0
    while k < n:
        word = words[k]
        if word == 0:
            return 2 * k + 2, None
        kind = word >> 10
        if kind <= _ACMAX or kind in (_NUM, _SUB, _CHN):
            k += 1
        elif kind == _SKIP:
            if k + 3 > n:
                return None, None if partial else (
                    f"byte offset {2 * k}: SKIP without its 4-byte increment (truncated file?)")
            k += 3
        elif kind == _AUX:
            length = word & 0x3FF
            words_after = (length + 1) // 2
            if k + 1 + words_after > n:
                return None, None if partial else (
                    f"byte offset {2 * k}: AUX of {length} bytes runs past the end of the file")
            k += 1 + words_after
        else:
            return None, f"byte offset {2 * k}: undefined annotation type {kind}"
    if partial:
        return None, None
    if len(data) % 2:
        return None, (f"byte offset {len(data) - 1}: odd trailing byte before the end-of-file "
                      "marker (truncated file?)")
    return None, (f"byte offset {len(data)}: end of data before the end-of-file marker "
                  "(truncated file?)")


def _is_record_line(probe: FileProbe) -> bool:
    try:
        lines = probe.head_text().numbered(comment="#")
    except InputFileError:
        return False
    return bool(lines) and _RECORD_LINE.fullmatch(lines[0][1]) is not None


def _annotation_files(header: Path) -> list[Path]:
    """Annotation files beside a header: the known annotators in order, then any other."""
    stem = header.name[: -len(header.suffix)]
    found: dict[str, Path] = {}
    for path in header.parent.iterdir():
        rest = path.name[len(stem) + 1:]
        if (path.name.startswith(stem + ".") and rest and "." not in rest
                and rest.lower() not in NOT_ANNOTATIONS and path.is_file()):
            found[rest] = path
    known = [found.pop(a) for a in ANNOTATORS if a in found]
    return known + [found[k] for k in sorted(found)]


def _valid_head(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return bool(head) and annotation_problem(head, partial=True) is None


def sniff(probe: FileProbe) -> int:
    """A ``.hea`` whose first line is a WFDB record line, or an annotation file beside its
    ``.hea`` whose first words are MIT-format annotations."""
    suffix = probe.path.suffix.lower()
    if suffix == ".hea":
        return SNIFF_SCORE if _is_record_line(probe) else 0
    if (not suffix or suffix[1:] in NOT_ANNOTATIONS
            or not probe.path.with_suffix(".hea").is_file()):
        return 0
    return SNIFF_SCORE if annotation_problem(probe.head, partial=True) is None else 0


def _locate(probe: FileProbe) -> tuple[Path, Path, list[Path]]:
    """Header, annotation file and the other annotation files not read."""
    if probe.path.suffix.lower() == ".hea":
        header = probe.path
        # A known annotator is read even when broken (its error is the one to show); a file
        # of another extension only when its first words are annotations.
        candidates = [p for p in _annotation_files(header)
                      if p.suffix[1:] in ANNOTATORS or _valid_head(p)]
        if not candidates:
            raise InputFileError(header, NO_ANNOTATIONS)
        return header, candidates[0], candidates[1:]
    header = probe.path.with_suffix(".hea")
    if not header.is_file():
        raise InputFileError(
            probe.path, f"WFDB annotation file without its header {header.name}: the sampling "
            "rate that turns annotation samples into intervals is read from the header")
    return header, probe.path, []


def _record_line(header: Path) -> str:
    try:
        text = header.read_text(encoding="latin-1")
    except OSError as exc:
        raise InputFileError(header, f"cannot be read: {exc.strerror or exc}") from None
    for line in text.splitlines():
        content = line.strip()
        if content and not content.startswith("#"):
            return content
    raise InputFileError(header, "not a WFDB header: no record line")


def _read_header(header: Path) -> tuple[Any, bool]:
    """The header as ``wfdb.rdheader`` reads it, and whether its record line gives a rate."""
    import wfdb

    if header.suffix != ".hea":
        raise InputFileError(header, "a WFDB header's name must end in .hea (lower case)")
    fields = _record_line(header).split()
    if len(fields) >= 3:
        # wfdb.rdheader takes an unreadable rate ("fast", "-5") for WFDB's default 250 Hz,
        # which would scale every interval wrongly.
        rate = fields[2].split("/")[0].split("(")[0]
        try:
            ok = float(rate) > 0
        except ValueError:
            ok = False
        if not ok:
            raise InputFileError(header, f"the sampling frequency {fields[2]!r} of the record "
                                 "line is not a positive number")
    try:
        record = wfdb.rdheader(str(header.with_suffix("")))
    except Exception as exc:
        # wfdb raises HeaderSyntaxError, ValueError or IndexError on a malformed header.
        raise InputFileError(
            header, f"not a readable WFDB header: {type(exc).__name__}: {exc}") from None
    fs = getattr(record, "fs", None)
    if fs is None or not float(fs) > 0:
        raise InputFileError(header, f"the sampling frequency {fs!r} is not a positive number")
    return record, len(fields) >= 3


def _read_annotations(path: Path, data: bytes) -> Any:
    import wfdb

    end, problem = _scan(data, partial=False)
    if problem is not None or end is None:
        raise InputFileError(path, f"corrupt WFDB annotation file: {problem}")
    try:
        if end == len(data):
            return wfdb.rdann(str(path.with_suffix("")), path.suffix[1:])
        # wfdb.rdann parses every byte pair to the end of the file, so bytes after the
        # end-of-file marker (which annot(5) says are not annotations) would become
        # annotations: it reads a copy cut at the marker.
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / path.name
            copy.write_bytes(data[:end])
            return wfdb.rdann(str(copy.with_suffix("")), path.suffix[1:])
    except Exception as exc:
        raise InputFileError(
            path, f"corrupt WFDB annotation file: {type(exc).__name__}: {exc}") from None


def _descriptions() -> dict[str, str]:
    from wfdb.io.annotation import ann_label_table

    return {str(s): str(d) for s, d in zip(ann_label_table["symbol"],
                                           ann_label_table["description"], strict=True)}


def read(probe: FileProbe, options: ReadOptions) -> ImportedRecording:
    """Read the NN intervals of a WFDB record (header plus beat annotation file).

    Parameters
    ----------
    probe : FileProbe
        The ``.hea`` (the annotation file is found beside it: ``.atr`` first, then ``.ecg``,
        ``.qrs``, ...) or an annotation file (its ``.hea`` beside it).
    options : ReadOptions
        Unused.

    Returns
    -------
    ImportedRecording
        NN intervals (ms) timed at their ending beat from the record start, gaps where the NN
        series is interrupted, one marker per annotation that is not ``N``.

    Raises
    ------
    InputFileError
        Header without an annotation file, annotation file without its header, malformed
        header, truncated or corrupt annotation file.
    """
    header_path, ann_path, others = _locate(probe)
    header, rate_given = _read_header(header_path)
    fs = float(header.fs)
    data = probe.raw if ann_path == probe.path else _read_bytes(ann_path)
    ann = _read_annotations(ann_path, data)

    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = np.asarray(ann.symbol, dtype=object).astype(str)
    aux_notes = list(getattr(ann, "aux_note", None) or [""] * samples.size)
    # A word of code 0 with a nonzero increment is "not an actual annotation" (WFDB
    # ecgcodes.h NOTQRS): it neither is a marker nor interrupts the NN series.
    real = np.char.strip(symbols) != ""
    if not real.all():
        samples, symbols = samples[real], symbols[real]
        aux_notes = [a for a, keep in zip(aux_notes, real, strict=True) if keep]
    is_n = symbols == "N"
    nn = np.flatnonzero(is_n[:-1] & is_n[1:])
    rr_ms = ((samples[nn + 1] - samples[nn]) * (1000.0 / fs)).astype(np.float64)
    time_s = (samples[nn + 1] / fs).astype(np.float64)
    breaks = np.flatnonzero(np.diff(nn) > 1)
    gaps = [Gap(float(samples[nn[b] + 1] / fs), float(samples[nn[b + 1]] / fs), GapReason.SOURCE)
            for b in breaks]

    descriptions = _descriptions()
    markers = []
    for k in np.flatnonzero(~is_n):
        symbol = str(symbols[k])
        aux = str(aux_notes[k]).strip("\x00 ")
        label = f"{'beat' if symbol in BEAT_SYMBOLS else 'annotation'} {symbol}"
        extra: dict[str, Any] = {"annotation": symbol, "sample": int(samples[k]),
                                 "description": descriptions.get(symbol, "")}
        if aux:
            label += f" {aux}"
            extra["aux"] = aux
        markers.append(Marker(float(samples[k] / fs), 0.0, label, MarkerKind.EXTERNAL, extra))

    counts = {str(s): int(c) for s, c in zip(*np.unique(symbols, return_counts=True),
                                             strict=True)}
    base_date = getattr(header, "base_date", None)
    base_time = getattr(header, "base_time", None)
    start_time = datetime.combine(base_date, base_time) if (
        base_date is not None and base_time is not None) else None
    notes = [
        f"{rr_ms.size} NN intervals: sample differences over {fs:g} Hz (the header's rate) "
        "between adjacent annotations that are both normal beats N (as ann2rr -c -p N -P N); "
        f"{len(gaps)} gaps where another annotation interrupts the NN series",
        f"{len(markers)} markers: one per annotation other than N "
        f"({', '.join(f'{n} {s}' for s, n in counts.items() if s != 'N') or 'none'})",
    ]
    if start_time is None and base_time is not None:
        notes.append(f"the header gives the start time {base_time.isoformat()} but no date: "
                     "the recording has no wall-clock start")
    if not rate_given:
        notes.append(f"the header gives no sampling frequency: WFDB's default {fs:g} Hz used")
    if others:
        notes.append(f"read the annotations of {ann_path.name}; not read: "
                     f"{', '.join(p.name for p in others)}")
    if int(getattr(header, "n_sig", 0) or 0) > 0:
        notes.append("the signal file of the record is not read (beats come from the "
                     "annotations)")
    details: dict[str, Any] = {
        "record": header_path.stem,
        "annotator": ann_path.suffix[1:],
        "sampling_rate_hz": fs,
        "annotations": int(samples.size),
        "annotation_counts": counts,
        "base_date": None if base_date is None else base_date.isoformat(),
        "base_time": None if base_time is None else base_time.isoformat(),
        "header_comments": [str(c) for c in (getattr(header, "comments", None) or [])],
        "nn_definition": "adjacent N-N annotations (ann2rr -c -p N -P N)",
    }
    main, companion = (header_path, ann_path) if probe.path == header_path else (
        ann_path, header_path)
    return ImportedRecording(
        recording=make_recording(probe.path, FORMAT, rr_ms, time_s=time_s, gaps=gaps,
                                 markers=markers, sampling_rate_hz=fs),
        format=FORMAT,
        original_name=probe.name,
        files=[main.name, companion.name],
        start_time=start_time,
        rr_source="rr",
        notes=notes,
        details=details,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror or exc}") from None


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        name=FORMAT,
        title="PhysioNet WFDB (beat annotations)",
        summary="WFDB header (.hea) with a beat annotation file (.atr, .ecg, .qrs); NN "
                "intervals between adjacent normal beats, other beats as markers",
        sniff=sniff,
        read=read,
    ),
)
