"""What the live check of the raw streams reports: RR from the ECG against the strap's beats,
and the breathing rate from the chest accelerometer.

Plain values published to a session's subscribers (:class:`SignalCheckUpdate`); they are
computed in the neurokit2 worker process by :mod:`biofeedback.session.signal_check`, every
few wall-clock seconds, on the last 60 s of ECG and ACC. The agreement figures mean what the
per-phase ones of :mod:`biofeedback.analysis.beat_agreement` mean (the same functions make
them); the breathing rate is :class:`~biofeedback.core.acc_breathing.AccBreathing` of the
window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Not at run time: it imports scipy.signal. A result arriving from the worker imports it
    # once, on the worker's reader thread, as it is unpickled.
    from biofeedback.core.acc_breathing import AccBreathing

__all__ = ["AgreementTotals", "EcgAgreement", "SignalCheckResult", "SignalCheckUpdate"]


@dataclass(frozen=True, slots=True)
class EcgAgreement:
    """Beats of the ECG against the strap's beats over one span.

    Attributes
    ----------
    start_s, end_s : float
        The span ``[start_s, end_s)`` on the ECG's times, session s.
    n_ecg, n_strap : int
        Beats of each side in the span.
    n_matched : int
        Pairs (the same heartbeat on both sides, within 50 ms after the offset).
    ecg_unmatched, strap_unmatched : int
        Beats of each side left unpaired (a strap beat counts only where there was ECG).
    median_abs_diff_ms : float or None
        Median |ECG time - shifted strap time| of the pairs, ms (None without pairs).
    median_abs_rr_diff_ms : float or None
        Median |ECG RR - strap RR| of intervals with both ends paired, ms.
    offset_s : float or None
        Offset added to the strap's cumulative-RR times to bring them onto the ECG's, s.
    """

    start_s: float
    end_s: float
    n_ecg: int
    n_strap: int
    n_matched: int
    ecg_unmatched: int
    strap_unmatched: int
    median_abs_diff_ms: float | None
    median_abs_rr_diff_ms: float | None
    offset_s: float | None

    @property
    def n_beats(self) -> int:
        """Heartbeats seen by either side: pairs plus the unpaired beats of both."""
        return self.n_matched + self.ecg_unmatched + self.strap_unmatched

    @property
    def duration_s(self) -> float:
        """Length of the span, s."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class SignalCheckResult:
    """One live check of the last window of ECG and ACC.

    Attributes
    ----------
    ecg : EcgAgreement or None
        Agreement over the last window (up to 60 s, ending a little before the newest sample
        so that both sides have delivered its beats); None when no ECG came since the last
        check (or not enough for a window yet).
    ecg_new : EcgAgreement or None
        Agreement over the part of that window no earlier check counted (what the session
        totals add; None when there is none).
    ecg_provenance : dict
        How the R-peaks were found (``StreamBeats.provenance()``: neurokit2 method, every
        keyword argument, version, refinement); empty without ECG.
    breathing : AccBreathing or None
        Breathing rate of the last window of ACC with its quality flag; None when no ACC came
        since the last check.
    ecg_error, acc_error : str or None
        Why that half failed (the other half is still given).
    compute_s : float
        Wall-clock time the job took in the worker, s.
    """

    ecg: EcgAgreement | None
    ecg_new: EcgAgreement | None
    ecg_provenance: dict[str, Any] = field(default_factory=dict)
    breathing: AccBreathing | None = None
    ecg_error: str | None = None
    acc_error: str | None = None
    compute_s: float = 0.0


@dataclass(frozen=True, slots=True)
class AgreementTotals:
    """Running session totals of the ECG check, each heartbeat counted once.

    Attributes
    ----------
    n_ecg, n_strap, n_matched, ecg_unmatched, strap_unmatched : int
        Sums over the checks' new parts (:attr:`SignalCheckResult.ecg_new`).
    """

    n_ecg: int = 0
    n_strap: int = 0
    n_matched: int = 0
    ecg_unmatched: int = 0
    strap_unmatched: int = 0

    @property
    def n_beats(self) -> int:
        """Heartbeats seen by either side."""
        return self.n_matched + self.ecg_unmatched + self.strap_unmatched

    def plus(self, span: EcgAgreement | None) -> AgreementTotals:
        """These totals with ``span`` added (unchanged for None)."""
        if span is None:
            return self
        return AgreementTotals(
            self.n_ecg + span.n_ecg, self.n_strap + span.n_strap,
            self.n_matched + span.n_matched, self.ecg_unmatched + span.ecg_unmatched,
            self.strap_unmatched + span.strap_unmatched,
        )


@dataclass(frozen=True, slots=True)
class SignalCheckUpdate:
    """A new live check, with the session totals it brought.

    Attributes
    ----------
    result : SignalCheckResult
        The check.
    totals : AgreementTotals
        The session's ECG agreement totals including it.
    error : str or None
        Set when the whole job failed (its worker stopped): ``result`` is then empty.
    """

    result: SignalCheckResult
    totals: AgreementTotals
    error: str | None = None
