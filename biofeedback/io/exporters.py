"""File formats for other tools: CSV, Kubios RR text, a BIDS dataset, EDF+.

Every export is written atomically (:mod:`biofeedback.core.atomic_files`): files are written
to a temporary name in the target folder, flushed to the disk and renamed into place, and a
BIDS dataset is built in a temporary folder beside the target, flushed and renamed into place,
so a failed, killed or powered-off export never leaves a partial file or folder.
Formats follow docs/domain.md section 7. These writers take a :class:`Recording`; exporting
what is in the session store is :mod:`biofeedback.export.stored`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.core.atomic_files import PRIVATE_MODE, atomic_folder, atomic_write_files
from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.recording import FloatArray, Recording
from biofeedback.core.types import PhaseSpan
from biofeedback.io.physio import physio_files, physio_json

FORMATS = ("csv", "kubios", "bids", "edf")
"""Export formats (:func:`biofeedback.export.stored.export_session` takes one by name)."""

BIDS_VERSION = "1.10.0"
"""BIDS specification version the datasets declare."""

APP_NAME = "biofeedback"
"""Name of the pipeline folder under ``derivatives/``."""

EDF_RATE_HZ = 4.0
"""Default sampling rate of the resampled HR and RR signals in EDF+, Hz."""

EDF_RR_RANGE_MS = (0.0, 5000.0)
"""Physical range of the EDF+ RR signal, ms (values outside are clipped)."""

EDF_HR_RANGE_BPM = (0.0, 300.0)
"""Physical range of the EDF+ HR signal, bpm (values outside are clipped)."""

BEAT_COLUMNS = ("beat", "time_s", "rr_ms", "rr_corrected_ms", "corrected_count", "artifact",
                "phase", "feedback")
"""Columns of the per-beat CSV (``feedback``: whether the participant saw their physiology in
the beat's phase, ``shown`` or ``hidden``; empty outside a phase or when not recorded)."""

MARKER_COLUMNS = ("onset_s", "duration_s", "kind", "label", "extra")
"""Columns of the markers CSV."""

RR_DERIVATIVE_COLUMNS = ("beat_time_s", "rr_ms", "artifact", "rr_corrected_ms")
"""Columns of the BIDS derivative RR table (docs/domain.md section 7)."""

EVENT_COLUMNS = ("onset", "duration", "trial_type", "event_kind", "label", "feedback")
"""Columns of the BIDS ``*_events.tsv``."""


class ExportError(BiofeedbackError):
    """An export cannot be written as asked."""


@dataclass(slots=True)
class BidsSession:
    """One session to place in a BIDS dataset.

    Attributes
    ----------
    recording : Recording
        The session's beats, phases and markers.
    session_id : int
        Store id; becomes the ``ses-`` label.
    participant_id : str or None
        Pseudonymous participant id; becomes the ``sub-`` label (letters and digits only).
    protocol_id : str or None
        Protocol run; becomes the ``task-`` label (``free`` without one).
    condition : str or None
        Study condition this session ran, if any.
    condition_position : int or None
        0-based position of that condition in the participant's order.
    condition_order : tuple of str
        The participant's condition order in the study (empty outside a study).
    signals : tuple of RawChannel
        Raw ECG and ACC recorded live (:func:`biofeedback.io.physio.physio_channel`), written
        as BIDS physio files beside the events.
    """

    recording: Recording
    session_id: int
    participant_id: str | None = None
    protocol_id: str | None = None
    condition: str | None = None
    condition_position: int | None = None
    condition_order: tuple[str, ...] = field(default_factory=tuple)
    signals: tuple[RawChannel, ...] = field(default_factory=tuple)


# -- atomic writing -------------------------------------------------------------------------


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise ExportError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    if path.is_dir():
        raise ExportError(f"Cannot write {path}: it is a folder; give a file name.")


def _atomic_files(writers: Sequence[tuple[Path, Callable[[Path], None]]],
                  private: bool) -> list[Path]:
    """Write every file to a temporary name beside it, then rename them all into place
    (the first last, so that finding it means the others are there too)."""
    for path, _ in writers:
        _check_parent(path)
    return atomic_write_files(writers, mode=PRIVATE_MODE if private else None)


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    return write


def _atomic_folder(out: Path, build: Callable[[Path], None], private: bool) -> Path:
    """Build a folder in a temporary folder beside ``out``, then rename it to ``out``."""
    if not out.parent.is_dir():
        raise ExportError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(
            f"Cannot write the dataset to {out}: it already exists and is not an empty folder."
        )
    return atomic_folder(out, build, private=private)


# -- shared helpers ------------------------------------------------------------------------


def _require_beats(recording: Recording) -> None:
    if recording.n_beats == 0:
        raise ExportError(f"{recording.name or 'The recording'} has no beats; nothing to export.")


def beat_phases(recording: Recording) -> list[str]:
    """The id of the phase each beat falls in (``""`` outside every phase).

    Parameters
    ----------
    recording : Recording
        Beats and phases.

    Returns
    -------
    list of str
        One phase id per raw beat; a beat at a phase's end belongs to the next phase, and a
        beat exactly at the last phase's end to that phase.
    """
    out = [""] * recording.n_beats
    last = recording.phases[-1] if recording.phases else None
    for phase in recording.phases:
        mask = recording.between(phase.start_s, phase.end_s)
        if phase is last:
            mask |= recording.time_s == phase.end_s
        for i in np.flatnonzero(mask):
            out[int(i)] = phase.phase_id
    return out


def beat_feedback(recording: Recording) -> list[str]:
    """Whether the participant saw their physiology at each beat: the feedback (``shown``,
    ``hidden``) of the phase :func:`beat_phases` puts the beat in; ``""`` outside every phase
    and in phases recorded before feedback was stored."""
    by_id = {phase.phase_id: phase.feedback or "" for phase in recording.phases}
    return [by_id.get(phase_id, "") for phase_id in beat_phases(recording)]


def phase_annotation(phase: PhaseSpan, limit: int = 40) -> str:
    """An EDF+ annotation text for a phase: its name, then ``(feedback shown)`` or
    ``(feedback hidden)`` when that was recorded; the name is cut so that the feedback part
    always fits in ``limit`` characters."""
    suffix = f" (feedback {phase.feedback})" if phase.feedback else ""
    return _edf_text(phase.name or phase.phase_id, limit - len(suffix)) + suffix


def _corrected(recording: Recording) -> FloatArray:
    if recording.rr_corrected_ms is None:
        return np.full(recording.n_beats, np.nan)
    return np.asarray(recording.rr_corrected_ms, dtype=np.float64)


def _artifacts(recording: Recording) -> list[str]:
    if recording.artifact is None:
        return [""] * recording.n_beats
    return [str(a) for a in recording.artifact]


def _num(value: float) -> str:
    """A float as the shortest text that reads back identically (empty for NaN)."""
    return "" if not math.isfinite(value) else repr(float(value))


def _tsv_num(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else repr(float(value))


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[object]],
              delimiter: str = ",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _tsv_cell(value: object) -> str:
    text = "n/a" if value is None or value == "" else str(value)
    return text.replace("\t", " ").replace("\n", " ")


def _tsv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["\t".join(header)]
    lines += ["\t".join(_tsv_cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


# -- CSV -------------------------------------------------------------------------------------


def markers_path(path: str | os.PathLike[str]) -> Path:
    """The markers CSV written beside the beats CSV ``path`` (``NAME_markers.csv``)."""
    p = Path(path)
    return p.with_name(f"{p.stem}_markers.csv")


def export_csv(recording: Recording, path: str | os.PathLike[str], *,
               private: bool = False) -> list[Path]:
    """Write every beat to a CSV file and the markers to a second CSV beside it.

    Parameters
    ----------
    recording : Recording
        The session.
    path : path-like
        Beats CSV, columns :data:`BEAT_COLUMNS` (times s, intervals ms, an empty cell for a
        removed beat's corrected interval or an unknown class). The markers go to
        :func:`markers_path`, columns :data:`MARKER_COLUMNS` (``extra`` as JSON).
    private : bool
        Write the file(s) readable by the owner only (0600), as for an export inside the data
        folder; otherwise with the umask's mode.

    Returns
    -------
    list of Path
        The beats file and the markers file.

    Raises
    ------
    ExportError
        No beats, or the target folder is missing.
    """
    _require_beats(recording)
    p = Path(path)
    corrected = _corrected(recording)
    counts = (recording.corrected_count if recording.corrected_count is not None
              else np.ones(recording.n_beats, dtype=np.int64))
    artifacts = _artifacts(recording)
    phases = beat_phases(recording)
    feedback = beat_feedback(recording)
    beats = [
        (i + 1, _num(recording.time_s[i]), _num(recording.rr_ms[i]), _num(corrected[i]),
         int(counts[i]), artifacts[i], phases[i], feedback[i])
        for i in range(recording.n_beats)
    ]
    markers = [
        (_num(m.onset_s), _num(m.duration_s), str(m.kind), m.label,
         json.dumps(m.extra, sort_keys=True) if m.extra else "")
        for m in recording.markers
    ]
    return _atomic_files([
        (p, _text_writer(_csv_text(BEAT_COLUMNS, beats))),
        (markers_path(p), _text_writer(_csv_text(MARKER_COLUMNS, markers))),
    ], private)


# -- Kubios RR text -----------------------------------------------------------------------------


def export_kubios(recording: Recording, path: str | os.PathLike[str], *,
                  private: bool = False) -> Path:
    """Write the raw RR intervals as Kubios-style RR text (ms, one per line).

    Parameters
    ----------
    recording : Recording
        The session. Raw RR is written (Kubios does its own artifact correction), each value
        with enough digits to read back identically.
    path : path-like
        The text file; ``#`` comment lines first name the session and list its gaps.
    private : bool
        Write the file(s) readable by the owner only (0600), as for an export inside the data
        folder; otherwise with the umask's mode.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        No beats, or the target folder is missing.
    """
    _require_beats(recording)
    p = Path(path)
    lines = [f"# RR intervals (ms), {recording.name or 'recording'}, exported by {APP_NAME}",
             f"# {recording.n_beats} beats, raw (uncorrected)"]
    lines += [f"# gap {g.start_s:.3f}-{g.end_s:.3f} s ({g.reason})" for g in recording.gaps]
    lines += [_num(v) for v in recording.rr_ms]
    _atomic_files([(p, _text_writer("\n".join(lines) + "\n"))], private)
    return p


# -- EDF+ --------------------------------------------------------------------------------------


def resample_rr(recording: Recording, rate_hz: float = EDF_RATE_HZ) -> tuple[FloatArray,
                                                                             FloatArray]:
    """RR and HR on a regular time grid from 0 s, by linear interpolation at beat times.

    Parameters
    ----------
    recording : Recording
        The session; corrected RR is used where known (removed beats skipped), raw RR
        elsewhere.
    rate_hz : float
        Sampling rate, Hz.

    Returns
    -------
    rr_ms, hr_bpm : ndarray of float
        Equal-length series covering whole seconds from 0 to past the last beat; values before
        the first beat and after the last hold the nearest beat's value, and gaps are bridged
        linearly (their spans are annotated in EDF+).
    """
    _require_beats(recording)
    corrected = _corrected(recording)
    classified = np.array([a != "" for a in _artifacts(recording)], dtype=bool)
    # Corrected RR where known; a classified beat without one was removed; raw RR for beats
    # not classified (no detector, or the last beats still in its look-ahead).
    rr = np.where(np.isfinite(corrected), corrected,
                  np.where(classified, np.nan, recording.rr_ms))
    ok = np.isfinite(rr)
    if not ok.any():
        rr, ok = recording.rr_ms, np.isfinite(recording.rr_ms)
    times, values = recording.time_s[ok], rr[ok]
    n_seconds = max(1, math.ceil(float(recording.time_s[-1])))
    grid = np.arange(round(n_seconds * rate_hz)) / rate_hz
    rr_grid = np.interp(grid, times, values)
    return rr_grid, 60000.0 / rr_grid


EDF_MAX_RECORD_S = 60
"""Longest EDF+ data record, s (the format's limit): a sampling rate must give a whole number
of samples in some record of 1 to 60 s."""


def _record_duration(rates: Sequence[float]) -> int:
    """Shortest whole-second data record holding a whole number of samples of every rate."""
    for seconds in range(1, EDF_MAX_RECORD_S + 1):
        if all(abs(r * seconds - round(r * seconds)) < 1e-6 for r in rates):
            return seconds
    raise ExportError(
        f"The sampling rates {', '.join(f'{r:g}' for r in rates)} Hz give no whole number of "
        f"samples in an EDF+ data record of at most {EDF_MAX_RECORD_S} s.")


def _fits_a_record(rate: float) -> bool:
    return any(abs(rate * s - round(rate * s)) < 1e-6 for s in range(1, EDF_MAX_RECORD_S + 1))


def _edf_rate(channel: RawChannel) -> tuple[float, FloatArray]:
    """The channel's rate and samples as EDF+ can hold them.

    A rate measured from a sensor clock (Polar Sensor Logger's ECG runs at about 130.63 Hz)
    gives no whole number of samples in any record: such a signal is resampled linearly onto
    the nearest whole rate, which keeps its timing (writing it at a rounded rate would not).
    """
    rate = float(channel.sampling_rate_hz)
    if _fits_a_record(rate):
        return rate, np.asarray(channel.samples, dtype=np.float64)
    target = float(max(1, round(rate)))
    n = channel.n_samples
    t = np.arange(n) / rate
    grid = np.arange(int(np.floor(t[-1] * target)) + 1) / target if n else np.zeros(0)
    resampled = np.column_stack([np.interp(grid, t, channel.samples[:, k])
                                 for k in range(channel.samples.shape[1])])
    return target, resampled


EDF_SIGNAL_KINDS = ("ecg", "acc")
"""Raw channel kinds written to EDF+ (ECG in µV, chest acceleration in mG)."""

_TRANSDUCERS = {"ecg": "ECG electrodes", "acc": "accelerometer"}


def _ecg_signals(channels: Sequence[RawChannel], n_seconds: int
                 ) -> list[tuple[dict[str, Any], FloatArray]]:
    """Headers and samples of the raw channels on the session clock (0 s = file start).

    Samples before session time 0 are left out and the spans without samples (before the
    stream, after it, where samples were lost) are written as 0 (EDF has no missing value);
    the physical range is the signal's own, rounded outwards to whole units, so the 16-bit
    resolution is (max - min) / 65535 (whole sensor units stay whole below 65,000 units).
    """
    out = []
    for channel in channels:
        rate, samples = _edf_rate(channel)
        note = "as recorded" if rate == channel.sampling_rate_hz else \
            f"resampled from {channel.sampling_rate_hz:.6g} Hz"
        total = round(n_seconds * rate)
        offset = round(channel.start_s * rate)
        for k, column in enumerate(channel.columns):
            values = np.nan_to_num(samples[:, k], nan=0.0)
            values = values[-offset:] if offset < 0 else np.concatenate(
                [np.zeros(offset), values])
            values = np.concatenate([values[:total], np.zeros(max(0, total - values.size))])
            lo = math.floor(float(values.min())) - 1.0
            hi = math.ceil(float(values.max())) + 1.0
            label = channel.name if len(channel.columns) == 1 else f"{channel.name} {column}"
            out.append(({"label": _edf_text(label, 16), "dimension": _edf_text(channel.unit, 8),
                         "sample_frequency": rate, "physical_min": lo, "physical_max": hi,
                         "digital_min": -32768, "digital_max": 32767,
                         "transducer": _TRANSDUCERS.get(channel.kind, ""),
                         "prefilter": _edf_text(f"{note} ({channel.source_file})", 80)},
                        values))
    return out


def _edf_text(text: str, limit: int) -> str:
    clean = re.sub(r"[^\x20-\x7e]", "_", text)
    return clean[:limit]


def export_edf(
    recording: Recording,
    path: str | os.PathLike[str],
    *,
    rate_hz: float = EDF_RATE_HZ,
    participant_id: str | None = None,
    start: datetime | None = None,
    channels: Sequence[RawChannel] = (),
    private: bool = False,
) -> Path:
    """Write HR and RR resampled to a regular rate, and the ECG, as an EDF+ file.

    Parameters
    ----------
    recording : Recording
        The session.
    path : path-like
        The ``.edf`` file.
    rate_hz : float
        Sampling rate of both signals, Hz (must give a whole number of samples per second).
    participant_id : str, optional
        Pseudonymous id written as the EDF+ patient code.
    start : datetime, optional
        Recording start written in the header.
    channels : sequence of RawChannel
        Raw channels of the session; each ECG and ACC one (``kind`` in
        :data:`EDF_SIGNAL_KINDS`) is written as a signal per column (``ECG``; ``ACC x``,
        ``ACC y``, ``ACC z``) at its own sampling rate and unit (other kinds are not
        written).
    private : bool
        Write the file readable by the owner only (0600), as for an export inside the data
        folder; otherwise with the umask's mode.

    Returns
    -------
    Path
        The file written. Signals ``RR`` (ms, :data:`EDF_RR_RANGE_MS`) and ``HR`` (bpm,
        :data:`EDF_HR_RANGE_BPM`), then the ECG and ACC (their unit, their own range); data
        records of one second, or of the shortest whole number of seconds holding a whole number of
        samples of every rate (an ECG at 130.5 Hz: 2 s); the RR and HR hold their last value
        to the end of the ECG. Annotations: each phase (its name, over its span), each
        marker (its label) and each gap (``gap: REASON``); a phase's name is followed by
        ``(feedback shown)`` or ``(feedback hidden)`` when that was recorded.

    Raises
    ------
    ExportError
        No beats, a bad rate, the target folder is missing, or pyedflib refuses the file.
    """
    import pyedflib

    if not (rate_hz > 0 and float(rate_hz).is_integer()):
        raise ExportError(f"The EDF+ rate must be a whole number of Hz, not {rate_hz}.")
    rr, hr = resample_rr(recording, rate_hz)
    rr = np.clip(rr, *EDF_RR_RANGE_MS)
    hr = np.clip(hr, *EDF_HR_RANGE_BPM)
    ecg = [c for c in channels if c.kind in EDF_SIGNAL_KINDS and c.n_samples > 0]
    record_s = _record_duration([rate_hz, *(_edf_rate(c)[0] for c in ecg)])
    end_s = max([rr.size / rate_hz,
                 *(c.start_s + c.n_samples / c.sampling_rate_hz for c in ecg)])
    n_seconds = record_s * max(1, math.ceil(end_s / record_s - 1e-9))
    n_grid = round(n_seconds * rate_hz)
    rr = np.pad(rr, (0, n_grid - rr.size), mode="edge")
    hr = np.pad(hr, (0, n_grid - hr.size), mode="edge")
    extra = _ecg_signals(ecg, n_seconds)

    def header(label: str, unit: str, lo: float, hi: float) -> dict[str, Any]:
        return {"label": label, "dimension": unit, "sample_frequency": rate_hz,
                "physical_min": lo, "physical_max": hi, "digital_min": -32768,
                "digital_max": 32767, "transducer": "heart beat detector",
                "prefilter": "linear interpolation of RR at beat times"}

    def write(tmp: Path) -> None:
        writer = pyedflib.EdfWriter(str(tmp), 2 + len(extra),
                                    file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            writer.setSignalHeaders([header("RR", "ms", *EDF_RR_RANGE_MS),
                                     header("HR", "bpm", *EDF_HR_RANGE_BPM),
                                     *(h for h, _ in extra)])
            if record_s != 1:
                with warnings.catch_warnings():
                    # pyedflib warns that a forced record changes the rates it derives; ours
                    # is chosen so that every rate is whole in it.
                    warnings.simplefilter("ignore")
                    writer.setDatarecordDuration(record_s)
            if participant_id:
                writer.setPatientCode(_edf_text(participant_id, 60))
            writer.setEquipment(APP_NAME)
            if start is not None:
                writer.setStartdatetime(start.replace(tzinfo=None))
            for phase in recording.phases:
                writer.writeAnnotation(phase.start_s, max(0.0, phase.duration_s),
                                       phase_annotation(phase))
            for marker in recording.markers:
                writer.writeAnnotation(marker.onset_s, max(0.0, marker.duration_s),
                                       _edf_text(marker.label, 40))
            for gap in recording.gaps:
                writer.writeAnnotation(gap.start_s, max(0.0, gap.duration_s),
                                       _edf_text(f"gap: {gap.reason}", 40))
            writer.writeSamples([rr, hr, *(v for _, v in extra)])
        finally:
            writer.close()

    p = Path(path)
    try:
        _atomic_files([(p, write)], private)
    except (OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, BiofeedbackError):
            raise
        raise ExportError(f"Cannot write the EDF+ file {p}: {exc}.") from exc
    return p


# -- BIDS --------------------------------------------------------------------------------------


def bids_label(text: str | None, fallback: str) -> str:
    """A BIDS entity label: letters and digits of ``text`` only (``fallback`` if none)."""
    label = re.sub(r"[^A-Za-z0-9]", "", text or "")
    return label or fallback


def _events_rows(recording: Recording) -> list[tuple[object, ...]]:
    rows: list[tuple[float, int, tuple[object, ...]]] = []
    for phase in recording.phases:
        rows.append((phase.start_s, 0, (_tsv_num(phase.start_s),
                                        _tsv_num(max(0.0, phase.duration_s)),
                                        phase.phase_id, "phase", phase.name,
                                        phase.feedback)))
    for marker in recording.markers:
        rows.append((marker.onset_s, 1, (_tsv_num(marker.onset_s),
                                         _tsv_num(max(0.0, marker.duration_s)),
                                         str(marker.kind), "marker", marker.label, None)))
    for gap in recording.gaps:
        rows.append((gap.start_s, 2, (_tsv_num(gap.start_s), _tsv_num(gap.duration_s),
                                      "gap", "gap", str(gap.reason), None)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


_EVENTS_JSON = {
    "onset": {"Description": "Start of the event from the session start.", "Units": "s"},
    "duration": {"Description": "Length of the event (0 for an instant).", "Units": "s"},
    "trial_type": {"Description": "Phase id for phases; marker kind (user, protocol, "
                   "self_report, stressor, connection, external) for markers; 'gap' for spans "
                   "without beats."},
    "event_kind": {"Description": "What the row is.",
                   "Levels": {"phase": "A protocol phase", "marker": "An annotation",
                              "gap": "A span with missing beats"}},
    "label": {"Description": "Phase name, marker text, or gap reason."},
    "feedback": {"Description": "For phases: whether the participant saw their own heart rate "
                 "and HRV during the phase (n/a for markers, gaps, and phases recorded before "
                 "this was stored).",
                 "Levels": {"shown": "Feedback shown to the participant",
                            "hidden": "Feedback hidden from the participant"}},
}

_RR_JSON = {
    "Description": "Beat-to-beat (RR) intervals from a chest strap; irregularly sampled, so "
                   "kept as a derivative table (BIDS has no suffix for RR series).",
    "beat_time_s": {"Description": "Time of the beat ending the interval, from the session "
                    "start.", "Units": "s"},
    "rr_ms": {"Description": "Raw RR interval as reported by the sensor.", "Units": "ms"},
    "artifact": {"Description": "Artifact class (Lipponen & Tarvainen 2019).",
                 "Levels": {"normal": "", "ectopic": "", "missed": "", "extra": "",
                            "long_short": ""}},
    "rr_corrected_ms": {"Description": "Corrected interval (n/a where the beat was removed).",
                        "Units": "ms"},
}


def _generated_by() -> list[dict[str, str]]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version(APP_NAME)
    except PackageNotFoundError:
        ver = "unknown"
    return [{"Name": APP_NAME, "Version": ver,
             "Description": "HRV biofeedback and research (session export)"}]


def _dump_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _build_bids(root: Path, sessions: Sequence[BidsSession], name: str) -> None:
    generated = _generated_by()
    _write(root / "dataset_description.json", _dump_json({
        "Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
        "License": "n/a", "GeneratedBy": generated,
    }))
    _write(root / "README.md", f"# {name}\n\nHeart-beat (RR) recordings exported by "
           f"{APP_NAME}. Phases, markers and gaps are in `sub-*/ses-*/beh/*_events.tsv`; the "
           f"RR series are under `derivatives/{APP_NAME}/`. A chest strap's raw ECG (uV) and "
           "acceleration (mG), where recorded, are beside the events as `*_physio.tsv.gz` "
           "(the acceleration as `*_recording-acc_physio.tsv.gz`). Participant ids are the "
           "pseudonymous ids of the study; no names, dates or device addresses are included.\n")
    deriv = root / "derivatives" / APP_NAME
    _write(deriv / "dataset_description.json", _dump_json({
        "Name": f"{name}: RR intervals", "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative", "GeneratedBy": generated,
    }))
    subjects: dict[str, BidsSession] = {}
    by_subject: dict[str, list[tuple[str, str, BidsSession]]] = {}
    for s in sessions:
        sub = bids_label(s.participant_id, "unknown")
        ses = str(s.session_id)
        task = bids_label(s.protocol_id, "free")
        subjects.setdefault(sub, s)
        by_subject.setdefault(sub, []).append((ses, task, s))
        stem = f"sub-{sub}_ses-{ses}_task-{task}"
        beh = root / f"sub-{sub}" / f"ses-{ses}" / "beh"
        _write(beh / f"{stem}_events.tsv", _tsv_text(EVENT_COLUMNS, _events_rows(s.recording)))
        _write(beh / f"{stem}_events.json", _dump_json(_EVENTS_JSON))
        for channel in s.signals:
            # One file per rate: the ECG as the session's physio, the ACC beside it.
            entity = "" if channel.kind == "ecg" else f"_recording-{channel.kind}"
            tsv_gz, sidecar = physio_files(channel)
            (beh / f"{stem}{entity}_physio.tsv.gz").write_bytes(tsv_gz)
            _write(beh / f"{stem}{entity}_physio.json", physio_json(sidecar))
        rec = s.recording
        corrected = _corrected(rec)
        artifacts = _artifacts(rec)
        rows = [(_tsv_num(rec.time_s[i]), _tsv_num(rec.rr_ms[i]), artifacts[i] or "n/a",
                 _tsv_num(corrected[i])) for i in range(rec.n_beats)]
        out = deriv / f"sub-{sub}" / f"ses-{ses}" / "beh"
        _write(out / f"{stem}_rr.tsv", _tsv_text(RR_DERIVATIVE_COLUMNS, rows))
        _write(out / f"{stem}_rr.json", _dump_json(_RR_JSON))
    for sub, items in by_subject.items():
        session_rows = [
            (f"ses-{ses}", task, s.protocol_id, s.condition, s.condition_position)
            for ses, task, s in items
        ]
        _write(root / f"sub-{sub}" / f"sub-{sub}_sessions.tsv", _tsv_text(
            ("session_id", "task", "protocol", "condition", "condition_position"), session_rows))
    people = [(f"sub-{sub}", ",".join(s.condition_order)) for sub, s in sorted(subjects.items())]
    _write(root / "participants.tsv", _tsv_text(("participant_id", "condition_order"), people))
    _write(root / "participants.json", _dump_json({
        "participant_id": {"Description": "Pseudonymous participant id."},
        "condition_order": {"Description": "Conditions in the order this participant ran them "
                            "(Williams design), comma-separated; n/a outside a study."},
    }))


def export_bids(sessions: Sequence[BidsSession], out: str | os.PathLike[str], *,
                name: str, private: bool = False) -> Path:
    """Write sessions as one BIDS dataset folder.

    Parameters
    ----------
    sessions : sequence of BidsSession
        The sessions; each becomes ``sub-<participant>/ses-<session id>``.
    out : path-like
        The dataset folder to create (it must not exist, or be empty).
    name : str
        Dataset name (``Name`` of ``dataset_description.json``).
    private : bool
        Folders 0700 and files 0600, as for an export inside the data folder; otherwise
        the umask's modes.

    Returns
    -------
    Path
        The dataset folder, holding ``dataset_description.json``, ``participants.tsv``,
        ``sub-*/sub-*_sessions.tsv``, ``sub-*/ses-*/beh/*_events.tsv`` (phases, markers and
        gaps: ``onset``, ``duration``, ``trial_type``, ...), the raw ECG as
        ``*_physio.tsv.gz`` and the ACC as ``*_recording-acc_physio.tsv.gz`` with their
        ``.json`` when recorded, and the RR series as
        ``derivatives/biofeedback/sub-*/ses-*/beh/*_rr.tsv`` (docs/domain.md section 7).

    Raises
    ------
    ExportError
        No sessions, a session without beats, two participant ids that become the same
        label, or the target exists and is not an empty folder.
    """
    if not sessions:
        raise ExportError("There are no sessions to export.")
    owners: dict[str, str | None] = {}
    for s in sessions:
        _require_beats(s.recording)
        label = bids_label(s.participant_id, "unknown")
        if owners.setdefault(label, s.participant_id) != s.participant_id:
            raise ExportError(
                f"Participants {owners[label]!r} and {s.participant_id!r} both become "
                f"sub-{label} in BIDS (labels keep letters and digits only); rename one."
            )
    return _atomic_folder(Path(out), lambda root: _build_bids(root, sessions, name), private)
