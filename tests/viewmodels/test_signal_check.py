"""The words of the live ECG check and the chest breathing line."""

from __future__ import annotations

import numpy as np

from biofeedback.core.acc_breathing import AccBreathing
from biofeedback.core.formatting import MISSING
from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import BeatBatch
from biofeedback.live.events import BeatsProcessed
from biofeedback.live.indices import LiveIndices
from biofeedback.live.signal_check import (
    AgreementTotals,
    EcgAgreement,
    SignalCheckResult,
    SignalCheckUpdate,
)
from biofeedback.viewmodels.signal_check import CheckLine, SignalCheckView

ECG = SignalChunk("ecg", 0.0, 130.0, np.zeros((73, 1), np.int32), "uV")
ACC = SignalChunk("acc", 0.0, 50.0, np.zeros((25, 3), np.int32), "mG")


def _span(n_matched: int, ecg_left: int = 0, strap_left: int = 0, diff_ms: float = 0.4,
          start_s: float = 10.0, end_s: float = 70.0) -> EcgAgreement:
    return EcgAgreement(start_s, end_s, n_matched + ecg_left, n_matched + strap_left, n_matched,
                        ecg_left, strap_left, diff_ms, 0.3, -0.4)


def _breathing(rate: float | None, ok: bool = True, note: str | None = None) -> AccBreathing:
    return AccBreathing(10.0, 70.0, rate, rate, 6.0, 1.0, ok, note)


def _indices(breaths_per_min: float | None) -> BeatsProcessed:
    return BeatsProcessed(BeatBatch(1.0, ()), (),
                          LiveIndices(time_s=1.0, n_beats=80, breaths_per_min=breaths_per_min))


def test_nothing_without_ecg_or_acc_and_waiting_before_the_first_check() -> None:
    view = SignalCheckView()
    view.on_event(_indices(6.2))
    assert not view.visible and view.ecg_line() is None and view.breathing_line() is None
    version = view.version
    view.on_event(ECG)
    assert view.visible and view.version > version
    assert view.ecg_line() == CheckLine(
        "ECG check, last 60 s: waiting for the first check (about 10 s of ECG)")
    assert view.breathing_line() is None  # no ACC yet
    view.on_event(ACC)
    assert view.breathing_line() == CheckLine(
        "Breathing: chest (ACC) waiting for the first check · 6.2/min RR")


def test_agreement_and_breathing_beside_the_rr_estimate() -> None:
    view = SignalCheckView()
    for event in (ECG, ACC, _indices(6.2)):
        view.on_event(event)
    result = SignalCheckResult(_span(71), _span(8), breathing=_breathing(6.0))
    view.on_event(SignalCheckUpdate(result, AgreementTotals(1206, 1206, 1204, 1, 1)))
    assert view.ecg_line() == CheckLine(
        "ECG check, last 60 s: 71/71 beats paired, median |Δt| 0.4 ms, |ΔRR| 0.3 ms, "
        "0 unmatched · session 1\u202f204/1\u202f206")
    assert view.breathing_line() == CheckLine("Breathing 6.0/min chest (ACC) · 6.2/min RR")
    # A check without new ECG or ACC (the strap stopped them): said so, the totals kept.
    view.on_event(SignalCheckUpdate(SignalCheckResult(None, None),
                                    AgreementTotals(1206, 1206, 1204, 1, 1)))
    assert view.ecg_line() == CheckLine(
        "ECG check: no new ECG since the last check (has the strap stopped sending it?) · "
        "session 1\u202f204/1\u202f206")
    assert view.breathing_line() == CheckLine(
        "Breathing: no new chest ACC since the last check · 6.2/min RR")
    view.on_event(SignalCheckUpdate(result, AgreementTotals(1206, 1206, 1204, 1, 1)))
    # A new RR-based rate moves the version; the line follows.
    version = view.version
    view.on_event(_indices(None))
    assert view.version > version
    assert view.breathing_line() == CheckLine(f"Breathing 6.0/min chest (ACC) · {MISSING}/min RR")


def test_a_large_disagreement_is_said_in_words() -> None:
    view = SignalCheckView()
    view.on_event(ECG)
    # 6 of 71 beats on one side only (8 %) and beats 25 ms apart.
    result = SignalCheckResult(_span(65, ecg_left=4, strap_left=2, diff_ms=25.0, end_s=40.0),
                               None)
    view.on_event(SignalCheckUpdate(result, AgreementTotals(69, 67, 65, 4, 2)))
    line = view.ecg_line()
    assert line is not None
    assert line.text == ("ECG check, last 30 s: 65/71 beats paired, median |Δt| 25.0 ms, "
                         "|ΔRR| 0.3 ms, 6 unmatched (ECG 4, strap 2) · session 65/71")
    assert line.warning == (
        "The strap's RR and its ECG disagree: beats 25 ms apart (median) and 8 % of beats "
        "unmatched. Check the strap's fit and moisture; the RR may hold missed or extra beats.")
    # Within both limits: no words.
    view.on_event(SignalCheckUpdate(SignalCheckResult(_span(70, ecg_left=1, diff_ms=19.0),
                                                      None), AgreementTotals()))
    assert view.ecg_line().warning is None  # type: ignore[union-attr]


def test_unreliable_breathing_failures_and_the_check_turned_off() -> None:
    view = SignalCheckView()
    for event in (ECG, ACC, _indices(14.0)):
        view.on_event(event)
    shallow = _breathing(13.0, ok=False, note="irregular breaths (CV of their durations 0.41)")
    view.on_event(SignalCheckUpdate(SignalCheckResult(None, None, breathing=shallow,
                                                      ecg_error="ValueError: bad chunk"),
                                    AgreementTotals()))
    assert view.breathing_line() == CheckLine(
        "Breathing 13.0/min chest (ACC, unreliable: irregular breaths (CV of their durations "
        "0.41)) · 14.0/min RR")
    assert view.ecg_line() == CheckLine(
        "ECG check failed on the last window: ValueError: bad chunk")
    moving = _breathing(None, ok=False, note="no movement-free ACC in the span")
    view.on_event(SignalCheckUpdate(SignalCheckResult(None, None, breathing=moving),
                                    AgreementTotals()))
    assert view.breathing_line() == CheckLine(
        f"Breathing {MISSING}/min chest (ACC: no movement-free ACC in the span) · 14.0/min RR")
    view.on_event(SignalCheckUpdate(SignalCheckResult(None, None), AgreementTotals(),
                                    error="neurokit2 worker stopped: EOFError()"))
    assert view.ecg_line() == CheckLine("ECG check stopped: neurokit2 worker stopped: EOFError()")
    assert view.breathing_line() == CheckLine("Breathing: chest (ACC) stopped · 14.0/min RR")

    off = SignalCheckView(enabled=False)
    off.on_event(ECG)
    off.on_event(ACC)
    assert off.ecg_line() == CheckLine("ECG check: off (neurokit2 is off for this session)")
    assert off.breathing_line() == CheckLine(
        f"Breathing: chest (ACC) off (neurokit2 worker off) · {MISSING}/min RR")
