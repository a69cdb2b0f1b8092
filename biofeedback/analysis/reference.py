"""Our whole-recording indices beside the results another tool reported for the same file.

A Kubios or pyHRV report keeps that tool's values as the imported session's ``reference``
(``{"tool": ..., "values": {name: value}}``, see docs/formats.md). This pairs the ones that
measure the same thing as ours, so a user sees where the two analyses agree and where they
differ (artifact correction, detrending and spectral method explain most differences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biofeedback.analysis.results import AnalysisResult, PhaseResult

REFERENCE_NAMES: dict[str, tuple[str, ...]] = {
    "mean_rr_ms": ("Mean RR (ms)", "Mean NNI (ms)"),
    "mean_hr_bpm": ("Mean HR (beats/min)", "Mean Heart Rate (bpm)"),
    "sdnn_ms": ("STD RR (ms)", "SDNN (ms)"),
    "rmssd_ms": ("RMSSD (ms)",),
    "pnn50_pct": ("pNN50 (%)",),
    "sd1_ms": ("SD1 (ms)",),
    "sd2_ms": ("SD2 (ms)",),
    "lf_ms2": ("LF (ms^2) [FFT spectrum]", "LF Absolute (Welch) (ms^2)"),
    "hf_ms2": ("HF (ms^2) [FFT spectrum]", "HF Absolute (Welch) (ms^2)"),
    "lf_hf": ("LF/HF ratio [FFT spectrum]", "LF/HF Ratio (Welch) (-)"),
}
"""Our index -> the names other tools give it in their reports (Kubios HRV 3.x "FFT
spectrum" column: Welch's method like ours; pyHRV's report). Kubios' ``pNNxx`` is left out:
its threshold is a report setting (20 ms in the sample report), not always 50 ms."""


@dataclass(frozen=True)
class ReferenceRow:
    """One index, ours and the other tool's.

    Attributes
    ----------
    index : str
        Our field name (``rmssd_ms``...).
    name : str
        The other tool's name for it, with its unit.
    theirs, ours : float or None
        The values (ours None when it could not be computed).
    """

    index: str
    name: str
    theirs: float
    ours: float | None

    @property
    def difference(self) -> float | None:
        """``ours - theirs``, in the index's unit (None when ours is missing)."""
        return None if self.ours is None else self.ours - self.theirs


def reference_of(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The reference stored with a session (``metadata["session"]["settings"]``) or read with
    a file (``metadata["import"]``), when there is one."""
    for settings in (metadata.get("session", {}).get("settings", {}),
                     metadata.get("import", {})):
        reference = settings.get("reference")
        if isinstance(reference, dict) and isinstance(reference.get("values"), dict):
            return reference
    return None


def compare_with_reference(result: AnalysisResult, reference: dict[str, Any]
                           ) -> list[ReferenceRow]:
    """Pair our whole-recording indices with the reference's values of the same indices.

    Parameters
    ----------
    result : AnalysisResult
        Our analysis; its whole-recording phase (the first, or the only) is compared.
    reference : dict
        ``{"tool": str, "values": {name: value}}``.

    Returns
    -------
    list of ReferenceRow
        In the order of :data:`REFERENCE_NAMES`, only indices the reference holds.
    """
    whole: PhaseResult = next((p for p in result.phases if p.kind == "whole"),
                              result.phases[0])
    values = reference["values"]
    rows = []
    for index, names in REFERENCE_NAMES.items():
        name = next((n for n in names if isinstance(values.get(n), int | float)), None)
        if name is None:
            continue
        ours = getattr(whole, index)
        rows.append(ReferenceRow(index, name, float(values[name]),
                                 None if ours is None else float(ours)))
    return rows


def format_reference(tool: str, rows: list[ReferenceRow]) -> str:
    """A table of the pairs, for the terminal."""
    lines = [f"Compared with the file's own results ({tool}), whole recording:",
             f"{'index':<28} {'theirs':>11} {'ours':>11} {'ours - theirs':>14}"]
    for row in rows:
        ours = "–" if row.ours is None else _shown(row.ours)
        diff = "–" if row.difference is None else _shown(row.difference, signed=True)
        lines.append(f"{row.name:<28} {_shown(row.theirs):>11} {ours:>11} {diff:>14}")
    return "\n".join(lines)


def _shown(value: float, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign}.0f}" if abs(value) >= 1000 else f"{value:{sign}.3f}"
