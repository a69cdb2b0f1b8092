"""Where a comparison's numbers came from, in words: RR from the raw ECG (with its agreement
with the strap) and breathing rates compared like with like, for the methods paragraph, and
the breathing sources of a table cell (the report's, the terminal's and the window's).

Generated from the JSON result of :func:`biofeedback.comparison.compare.compare`, so the
report's methods paragraph says exactly what was done. Imports nothing heavy: the window's
view-models use it.
"""

from __future__ import annotations

from typing import Any

from biofeedback.core.formatting import MISSING

__all__ = [
    "BREATHING_SOURCE_NAMES",
    "breathing_sources_text",
    "ecg_rr_sentence",
    "same_source_sentence",
]

BREATHING_SOURCE_NAMES = {"acc": "ACC", "rr": "RR spectrum"}
"""How a breathing rate's source is named in tables: counted on the chest accelerometer, or
read off the RR (interval) spectrum."""


def breathing_sources_text(counts: dict[str, Any] | None) -> str:
    """Where a set of breathing rates came from, in a table cell.

    Parameters
    ----------
    counts : dict or None
        ``{"acc": n, "rr": m}`` (e.g. ``breathing_sources`` of a practice in the comparison's
        JSON).

    Returns
    -------
    str
        ``"ACC"`` or ``"RR spectrum"`` when all came from one source, ``"ACC 3, RR spectrum
        2"`` when mixed, ``–`` when there is none.

    Examples
    --------
    >>> breathing_sources_text({"acc": 0, "rr": 4})
    'RR spectrum'
    >>> breathing_sources_text({"acc": 3, "rr": 2})
    'ACC 3, RR spectrum 2'
    """
    used = {k: int(v) for k, v in (counts or {}).items() if k in BREATHING_SOURCE_NAMES and v}
    if not used:
        return MISSING
    if len(used) == 1:
        return BREATHING_SOURCE_NAMES[next(iter(used))]
    return ", ".join(f"{BREATHING_SOURCE_NAMES[k]} {n}" for k, n in used.items())


def same_source_sentence(changes: dict[str, int], participants: dict[str, int]) -> str:
    """The methods sentence on comparing breathing rates like with like.

    Parameters
    ----------
    changes : dict
        ``{"acc": n, "rr": m}``: changes from baseline whose both rates came from each source
        (``result["breathing_change_sources"]``).
    participants : dict
        ``{"acc": n, "rr": m}``: participants whose self-soothing and attention rates were
        compared on each source (``result["breathing"]["participant_sources"]``).
    """
    return ("Breathing rates were compared like with like: a change from baseline used the "
            "accelerometer's rates when both windows had a reliable count "
            f"({changes.get('acc', 0)} changes) and the RR-spectrum rates of both otherwise "
            f"({changes.get('rr', 0)}); a participant's self-soothing and attention rates "
            "came from the accelerometer when all their practice windows had it "
            f"({participants.get('acc', 0)} participants) and from the RR spectrum otherwise "
            f"({participants.get('rr', 0)}).")


def ecg_rr_sentence(ecg_rr: dict[str, Any]) -> str:
    """The methods sentence of a comparison whose RR came from the raw ECG.

    Parameters
    ----------
    ecg_rr : dict
        ``result["ecg_rr"]`` of :func:`~biofeedback.comparison.compare.compare`.
    """
    from biofeedback.comparison.dataset import NO_ECG  # numpy and the store: not at import

    no_ecg = sum(1 for e in ecg_rr["excluded"] if e["reason"] == NO_ECG)
    no_beats = len(ecg_rr["excluded"]) - no_ecg
    versions = ", ".join(ecg_rr.get("neurokit2") or []) or "unknown"
    text = (f"RR from the raw ECG (neurokit2 {versions} ecg_peaks method "
            f"{ecg_rr.get('method')}, parabolic refinement); {no_ecg} session"
            f"{'' if no_ecg == 1 else 's'} without ECG excluded")
    if no_beats:
        text += f", {no_beats} without R-peaks in the ECG excluded"
    spans = ecg_rr.get("range") or {}

    def between(key: str, digits: int) -> str:
        lo_hi = spans.get(key)
        if not lo_hi:
            return MISSING
        lo, hi = (f"{v:.{digits}f}" for v in lo_hi)
        return lo if lo == hi else f"{lo}–{hi}"

    n = len(ecg_rr.get("sessions", []))
    return (text + f". Beat-by-beat agreement with the strap's RR across the {n} session"
            f"{'' if n == 1 else 's'}: {between('ecg_pairs', 0)} pairs, median |Δt| "
            f"{between('ecg_median_abs_dt_ms', 2)} ms, unmatched beats "
            f"{between('ecg_unmatched', 0)} (ECG) and {between('strap_unmatched', 0)} "
            "(strap).")
