"""Result containers of the per-phase analysis and their JSON and terminal forms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from biofeedback.core.formatting import MISSING
from biofeedback.core.hrv_indices import PHASE_INDICES

PHASE_KEYS: tuple[str, ...] = (
    "name",
    "start_s",
    "duration_s",
    "n_beats",
    "artifact_pct",
    "mean_hr_bpm",
    "mean_rr_ms",
    "rmssd_ms",
    "ln_rmssd",
    "sdnn_ms",
    "pnn50_pct",
    "sd1_ms",
    "sd2_ms",
    "hf_ms2",
    "lf_ms2",
    "lf_hf",
    "breaths_per_min",
    "hf_valid",
)
"""Keys every phase row of :meth:`AnalysisResult.to_dict` carries, in order."""


def _clean(value: float | None) -> float | None:
    """Map NaN and infinities to None so that rows serialise to JSON null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class PhaseResult:
    """HRV indices of one phase.

    Every index is None (JSON null) when it cannot be computed: too few beats, no gap-free run
    long enough for the spectrum, and so on; ``notes`` says why.

    Attributes
    ----------
    name, phase_id, kind : str
        Phase name, identifier and kind (``"whole recording"``, ``"whole"``, ``"whole"`` when
        the recording has no phases).
    feedback : str or None
        ``"shown"`` or ``"hidden"``: whether the participant saw their physiology during the
        phase; None when that was not recorded (older sessions, imports, the whole recording).
    start_s, duration_s : float
        Session-clock start and length of the phase, s.
    n_beats : int
        Raw beats (intervals) with ``start_s <= time_s < end_s``.
    artifact_pct : float or None
        Percentage of those raw beats the Kubios classifier flags (ectopic, missed, extra or
        long/short), whatever ``correction`` says; None when the phase has no beats.
    mean_hr_bpm : float or None
        ``60000 / mean_rr_ms``: beats per minute over the analysed intervals.
    mean_rr_ms, sdnn_ms, rmssd_ms : float or None
        neurokit2 ``HRV_MeanNN``, ``HRV_SDNN`` (ddof = 1), ``HRV_RMSSD``, ms.
    ln_rmssd : float or None
        Natural log of RMSSD in ms.
    pnn50_pct : float or None
        ``100 * count(|dNN| > 50 ms) / count(dNN)`` over successive differences inside
        gap-free runs.
    sd1_ms, sd2_ms : float or None
        Poincare SD1 = sqrt(var(dNN) / 2) and SD2 = sqrt(2 SDNN^2 - SD1^2) (Brennan et al.
        2001, IEEE Trans Biomed Eng 48:1342; the Kubios and PhysioNet toolbox definitions),
        ms; variances with ddof = 1.
    hf_ms2, lf_ms2 : float or None
        Band powers from ``neurokit2.hrv_frequency`` (Welch, ``normalize=False``), ms^2,
        averaged over gap-free runs long enough for the band, weighted by run duration.
    lf_hf : float or None
        ``lf_ms2 / hf_ms2``; a descriptive ratio only.
    breaths_per_min : float or None
        The breathing rate that decided ``hf_valid``, breaths/min: the chest-ACC rate where
        it is reliable (``breathing_source == "acc"``), else the RR-spectrum rate.
    hf_valid : bool
        True only when HF was computed and the breathing rate lies inside the HF band
        (9-24/min by default).
    breaths_per_min_rr : float or None
        Frequency of the highest spectral peak of the RR series in the breathing band,
        breaths/min (always computed with the spectrum, whatever decided).
    breaths_per_min_acc : float or None
        Counted rate from the chest accelerometer over the phase
        (:func:`biofeedback.core.acc_breathing.breathing_in_span`), breaths/min; None when
        no ACC was recorded or no whole breath was counted.
    breathing_source : str or None
        ``"acc"`` or ``"rr"``: which rate is ``breaths_per_min``; None when neither exists.
    n_analysed : int
        Intervals the indices were computed from (after correction).
    artifact_counts : dict
        Flagged raw beats per Kubios class.
    n_segments : int
        Gap-free runs the phase is split into.
    spectral_duration_s : float
        Total length of the runs that entered HF, s.
    notes : list of str
        Why an index is missing or flagged.
    """

    name: str
    phase_id: str
    kind: str
    start_s: float
    duration_s: float
    n_beats: int
    artifact_pct: float | None = None
    mean_hr_bpm: float | None = None
    mean_rr_ms: float | None = None
    rmssd_ms: float | None = None
    ln_rmssd: float | None = None
    sdnn_ms: float | None = None
    pnn50_pct: float | None = None
    sd1_ms: float | None = None
    sd2_ms: float | None = None
    hf_ms2: float | None = None
    lf_ms2: float | None = None
    lf_hf: float | None = None
    breaths_per_min: float | None = None
    hf_valid: bool = False
    breaths_per_min_rr: float | None = None
    breaths_per_min_acc: float | None = None
    breathing_source: str | None = None
    n_analysed: int = 0
    artifact_counts: dict[str, int] = field(default_factory=dict)
    n_segments: int = 0
    spectral_duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    feedback: str | None = None

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        """The phase row: :data:`PHASE_KEYS` plus ``phase_id``, ``kind``, ``feedback`` and the
        breathing sources (``breaths_per_min_rr``, ``breaths_per_min_acc``,
        ``breathing_source``).

        Parameters
        ----------
        details : bool
            Also include ``n_analysed``, ``artifact_counts``, ``n_segments``,
            ``spectral_duration_s`` and ``notes``.
        """
        row: dict[str, Any] = {}
        for key in PHASE_KEYS:
            value = getattr(self, key)
            if isinstance(value, float):
                value = _clean(value)
            row[key] = value
        row["phase_id"] = self.phase_id
        row["kind"] = self.kind
        row["feedback"] = self.feedback
        row["breaths_per_min_rr"] = _clean(self.breaths_per_min_rr)
        row["breaths_per_min_acc"] = _clean(self.breaths_per_min_acc)
        row["breathing_source"] = self.breathing_source
        if details:
            row["n_analysed"] = self.n_analysed
            row["artifact_counts"] = dict(self.artifact_counts)
            row["n_segments"] = self.n_segments
            row["spectral_duration_s"] = self.spectral_duration_s
            row["notes"] = list(self.notes)
        return row


@dataclass
class AnalysisResult:
    """Per-phase indices of one recording, with everything needed to reproduce them.

    Attributes
    ----------
    phases : list of PhaseResult
        One row per phase, in the recording's order.
    settings : dict
        ``AnalysisSettings.to_dict()`` plus ``"neurokit2_calls"``: every keyword argument
        passed to each neurokit2 function.
    versions : dict
        neurokit2, numpy, scipy, pandas, python and biofeedback versions.
    session : dict
        Name and source of the recording, and its beat and gap counts.
    """

    phases: list[PhaseResult]
    settings: dict[str, Any]
    versions: dict[str, str]
    session: dict[str, Any]

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        """JSON-ready ``{"session", "phases", "settings", "versions"}``.

        Parameters
        ----------
        details : bool
            Add the per-phase detail keys (see :meth:`PhaseResult.to_dict`).
        """
        return {
            "session": dict(self.session),
            "phases": [p.to_dict(details=details) for p in self.phases],
            "settings": dict(self.settings),
            "versions": dict(self.versions),
        }


_WIDTHS: dict[str, int] = {
    "n_beats": 6, "artifact_pct": 6, "mean_hr_bpm": 6, "mean_rr_ms": 7, "rmssd_ms": 7,
    "ln_rmssd": 7, "sdnn_ms": 7, "pnn50_pct": 6, "sd1_ms": 6, "sd2_ms": 6, "hf_ms2": 8,
    "lf_ms2": 8, "lf_hf": 6, "breaths_per_min": 6,
}
"""Terminal column width of each index (labels, units and decimals: the HRV registry)."""

_COLUMNS: tuple[tuple[str, str, int, str], ...] = (
    # key, header, width, format
    ("name", "phase", 18, "s"),
    ("start_s", "start s", 8, ".1f"),
    ("duration_s", "dur s", 7, ".1f"),
    *(
        (key, spec.abbrev, _WIDTHS[key], "d" if key == "n_beats" else f".{spec.decimals}f")
        for key, spec in PHASE_INDICES.items()
    ),
    ("hf_valid", "HF ok", 5, "s"),
    ("breathing_source", "br from", 7, "s"),
)
"""The last column says where ``br/min`` came from: ``ACC`` (counted on the chest
accelerometer) or ``RR`` (read off the RR spectrum)."""

_SOURCE_CELLS = {"acc": "ACC", "rr": "RR"}


def _cell(value: Any, width: int, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        text = MISSING
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif fmt == "s":
        text = str(value)
        if len(text) > width:
            text = text[: width - 1] + "~"
    else:
        text = format(value, fmt)
    return text.ljust(width) if fmt == "s" and not isinstance(value, bool) else text.rjust(width)


def format_table(result: AnalysisResult) -> str:
    """Render the phases as a fixed-width table for a terminal.

    Missing values print as :data:`~biofeedback.core.formatting.MISSING`; long phase names
    are cut with ``~``. The session name and correction method head the table, and the notes
    of each phase follow it. The ``br from`` column names the source of each phase's
    breathing rate (``ACC`` or ``RR``), explained in a line under the table.

    Parameters
    ----------
    result : AnalysisResult
        Output of :func:`biofeedback.analysis.analyze_recording`.

    Returns
    -------
    str
        The table, lines joined with ``\\n``, no trailing newline.
    """
    session = result.session.get("name") or "(unnamed)"
    correction = result.settings.get("correction", "?")
    lines = [f"{session} - artifact correction: {correction}"]
    lines.append(" ".join(_cell(h, w, "s") for _, h, w, _ in _COLUMNS))
    lines.append(" ".join("-" * w for _, _, w, _ in _COLUMNS))
    for phase in result.phases:
        row = phase.to_dict()
        row["breathing_source"] = _SOURCE_CELLS.get(str(row["breathing_source"]))
        lines.append(" ".join(_cell(row[k], w, f) for k, _, w, f in _COLUMNS))
    if any(phase.breathing_source for phase in result.phases):
        lines.append("br from: where br/min came from (ACC: counted on the chest "
                     "accelerometer; RR: read off the RR spectrum)")
    for phase in result.phases:
        lines.extend(f"  {phase.name}: {note}" for note in phase.notes)
    return "\n".join(lines)
