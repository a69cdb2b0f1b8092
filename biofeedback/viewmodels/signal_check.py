"""The words of the live ECG check and the breathing from the chest, without Qt.

Two lines under the values, for the operator (never on the participant screen, hidden by the
feedback cover like every value): whether the strap's RR agrees beat by beat with the R-peaks
of its own ECG over the last 60 s and over the session, and the breathing rate the chest
accelerometer measures beside the one read off the RR spectrum (the live indices'
``breaths_per_min``, the value of the Breathing tile). Each line exists only while the
session sends that stream; before the first check it says it is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.core.formatting import MISSING
from biofeedback.core.signals import SignalChunk
from biofeedback.live.events import BeatsProcessed, SessionEvent, SignalCheckUpdate
from biofeedback.live.signal_check import AgreementTotals, EcgAgreement

__all__ = [
    "MAX_MEDIAN_DIFF_MS", "MAX_UNMATCHED_FRACTION", "CheckLine", "SignalCheckView",
    "disagreement",
]

MAX_MEDIAN_DIFF_MS = 20.0
"""A median |Δt| above this is a disagreement worth words, ms: the strap's RR and its ECG
agree within about a millisecond when both are sound (the virtual strap: 0.1 ms), and a
beat misplaced by a sample is 7.7 ms."""
MAX_UNMATCHED_FRACTION = 0.05
"""More unmatched beats than this share of the beats seen is a disagreement worth words."""

_THIN = "\u202f"
"""Narrow no-break space: the thousands separator of the counts."""


def _count(n: int) -> str:
    return f"{n:,}".replace(",", _THIN)


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One line of the panel.

    Attributes
    ----------
    text : str
        What it says.
    warning : str or None
        A disagreement in words (drawn prominently); None when all is well.
    """

    text: str
    warning: str | None = None


def disagreement(span: EcgAgreement) -> str | None:
    """Words for a large disagreement of the ECG's beats with the strap's, or None.

    Parameters
    ----------
    span : EcgAgreement
        One checked span.

    Returns
    -------
    str or None
        Says which limit was passed (:data:`MAX_MEDIAN_DIFF_MS`,
        :data:`MAX_UNMATCHED_FRACTION`) and what that may mean.
    """
    reasons = []
    if span.median_abs_diff_ms is not None and span.median_abs_diff_ms > MAX_MEDIAN_DIFF_MS:
        reasons.append(f"beats {span.median_abs_diff_ms:.0f} ms apart (median)")
    seen = span.n_beats
    unmatched = span.ecg_unmatched + span.strap_unmatched
    if seen and unmatched / seen > MAX_UNMATCHED_FRACTION:
        reasons.append(f"{100.0 * unmatched / seen:.0f} % of beats unmatched")
    if not reasons:
        return None
    return ("The strap's RR and its ECG disagree: " + " and ".join(reasons)
            + ". Check the strap's fit and moisture; the RR may hold missed or extra beats.")


class SignalCheckView:
    """What the panel shows of the live check, fed with the session's events; no Qt.

    Parameters
    ----------
    enabled : bool
        Whether the session runs the check (it runs in the neurokit2 worker, which
        ``--no-neurokit`` turns off).

    Attributes
    ----------
    has_ecg, has_acc : bool
        The session sent that stream.
    update : SignalCheckUpdate or None
        The newest check.
    rr_breaths_per_min : float or None
        The RR-based breathing rate of the newest live indices.
    version : int
        Incremented whenever a text may have changed.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.has_ecg = False
        self.has_acc = False
        self.update: SignalCheckUpdate | None = None
        self.rr_breaths_per_min: float | None = None
        self.version = 0
        self._checked_ecg = False
        self._checked_acc = False

    def on_event(self, event: SessionEvent) -> None:
        """Take one session event in (cheap for the ones that change nothing)."""
        if isinstance(event, SignalChunk):
            if event.stream == "ecg" and not self.has_ecg:
                self.has_ecg = True
                self.version += 1
            elif event.stream == "acc" and not self.has_acc:
                self.has_acc = True
                self.version += 1
        elif isinstance(event, SignalCheckUpdate):
            self.update = event
            self._checked_ecg |= event.result.ecg is not None
            self._checked_acc |= event.result.breathing is not None
            self.version += 1
        elif isinstance(event, BeatsProcessed):
            rate = event.indices.breaths_per_min
            if rate != self.rr_breaths_per_min:
                self.rr_breaths_per_min = rate
                if self.has_acc:
                    self.version += 1

    @property
    def visible(self) -> bool:
        """Anything to show (the session sends ECG or ACC)."""
        return self.has_ecg or self.has_acc

    def ecg_line(self) -> CheckLine | None:
        """The ECG check's line; None when the session sends no ECG."""
        if not self.has_ecg:
            return None
        if not self.enabled:
            return CheckLine("ECG check: off (neurokit2 is off for this session)")
        update = self.update
        if update is not None and update.error is not None:
            return CheckLine(f"ECG check stopped: {update.error}")
        result = None if update is None else update.result
        if result is not None and result.ecg_error is not None:
            return CheckLine(f"ECG check failed on the last window: {result.ecg_error}")
        if result is None or result.ecg is None:
            if self._checked_ecg and update is not None:
                return CheckLine("ECG check: no new ECG since the last check (has the strap "
                                 f"stopped sending it?) · session {_totals_text(update.totals)}")
            return CheckLine("ECG check, last 60 s: waiting for the first check (about 10 s "
                             "of ECG)")
        assert update is not None
        span = result.ecg
        text = (f"ECG check, last {span.duration_s:.0f} s: {_agreement_text(span)}"
                f" · session {_totals_text(update.totals)}")
        return CheckLine(text, disagreement(span))

    def breathing_line(self) -> CheckLine | None:
        """The breathing line; None when the session sends no ACC."""
        if not self.has_acc:
            return None
        rr = (f"{self.rr_breaths_per_min:.1f}/min RR" if self.rr_breaths_per_min is not None
              else f"{MISSING}/min RR")
        if not self.enabled:
            return CheckLine(f"Breathing: chest (ACC) off (neurokit2 worker off) · {rr}")
        update = self.update
        if update is not None and update.error is not None:
            return CheckLine(f"Breathing: chest (ACC) stopped · {rr}")
        result = None if update is None else update.result
        if result is not None and result.acc_error is not None:
            return CheckLine(f"Breathing: chest (ACC) failed: {result.acc_error} · {rr}")
        breathing = None if result is None else result.breathing
        if breathing is None:
            if self._checked_acc:
                return CheckLine(f"Breathing: no new chest ACC since the last check · {rr}")
            return CheckLine(f"Breathing: chest (ACC) waiting for the first check · {rr}")
        if breathing.breaths_per_min is None:
            return CheckLine(f"Breathing {MISSING}/min chest (ACC: {breathing.note}) · {rr}")
        chest = f"{breathing.breaths_per_min:.1f}/min chest (ACC)"
        if not breathing.quality_ok:
            chest = f"{breathing.breaths_per_min:.1f}/min chest (ACC, unreliable: {breathing.note})"
        return CheckLine(f"Breathing {chest} · {rr}")


def _agreement_text(span: EcgAgreement) -> str:
    if span.n_beats == 0:
        return "no beats"
    parts = [f"{_count(span.n_matched)}/{_count(span.n_beats)} beats paired"]
    if span.median_abs_diff_ms is not None:
        parts.append(f"median |Δt| {span.median_abs_diff_ms:.1f} ms")
    if span.median_abs_rr_diff_ms is not None:
        parts.append(f"|ΔRR| {span.median_abs_rr_diff_ms:.1f} ms")
    unmatched = span.ecg_unmatched + span.strap_unmatched
    if unmatched:
        parts.append(f"{unmatched} unmatched (ECG {span.ecg_unmatched}, strap "
                     f"{span.strap_unmatched})")
    else:
        parts.append("0 unmatched")
    return ", ".join(parts)


def _totals_text(totals: AgreementTotals) -> str:
    return f"{_count(totals.n_matched)}/{_count(totals.n_beats)}"
