"""The live ECG check and chest breathing lines in the real window, with real bleak against the
virtual PMD strap (at real time: the strap's clock and the session's agree)."""

from __future__ import annotations

import pytest
from ui.test_main_window import wait_for, window_with_neurokit  # noqa: F401 - the fixture
from ui.test_signal_strip import pmd_strap  # noqa: F401 - the fixture
from viewmodels.test_signal_check import ACC, ECG

from biofeedback.core.acc_breathing import AccBreathing
from biofeedback.core.formatting import MISSING
from biofeedback.live.signal_check import (
    AgreementTotals,
    EcgAgreement,
    SignalCheckResult,
    SignalCheckUpdate,
)
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.signal_check_panel import SignalCheckPanel
from biofeedback.viewmodels.signal_check import SignalCheckView
from conftest import save_screenshot

pytestmark = pytest.mark.timeout(90)


def test_the_window_shows_the_live_ecg_check_and_the_chest_breathing(
    window_with_neurokit, qt_loop, pmd_strap  # noqa: F811 - the fixtures
):
    window = window_with_neurokit
    panel = window.signal_check_panel
    assert panel.isHidden()  # no session, no ECG

    async def scenario() -> None:
        window.start_session(SessionRequest(
            source=f"ble:{pmd_strap.device_address}", record=False, speed=None
        ))
        await wait_for(lambda: window.view_model is not None
                       and window.view_model.signal_check.has_ecg, what="ECG")
        window._request_frame()
        await wait_for(lambda: panel.isVisible() and panel.ecg_label.text() != "",
                       what="the panel shown")
        assert panel.ecg_label.text() == ("ECG check, last 60 s: waiting for the first check "
                                          "(about 10 s of ECG)")
        view = window.view_model.signal_check
        await wait_for(lambda: view.update is not None and view.update.result.ecg is not None
                       and view.update.result.breathing is not None, timeout_s=40.0,
                       what="the first live check")
        window._request_frame()
        await wait_for(lambda: "beats paired" in panel.ecg_label.text(),
                       what="the check drawn")
        update = view.update
        span = update.result.ecg
        # The virtual strap's ECG is drawn at its RR's beat times: every beat pairs.
        assert span.n_beats >= 3 and span.n_matched == span.n_beats
        assert span.median_abs_diff_ms < 10.0
        assert panel.ecg_label.text() == view.ecg_line().text
        assert panel.ecg_warning.isHidden()
        assert panel.breathing_label.text() == view.breathing_line().text
        assert "/min chest (ACC" in panel.breathing_label.text()
        assert panel.breathing_label.text().endswith("/min RR")
        save_screenshot(window, "window_signal_check")
        # Inside the physiology page, which the feedback cover replaces; not on the
        # participant screen.
        assert window.physiology_stack.widget(0).isAncestorOf(panel)
        screen = window.open_participant_screen(1)
        assert screen.findChildren(SignalCheckPanel) == []
        window.close_participant_screen()
        window.current.stop()
        await wait_for(lambda: not window.running, what="session end")

    qt_loop.run_until_complete(scenario())


def test_a_disagreement_is_written_below_the_check_and_the_panel_hides_without_streams(qtbot):
    panel = SignalCheckPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 80)
    view = SignalCheckView()
    panel.show_view(view)
    assert panel.isHidden()  # neither ECG nor ACC
    for event in (ECG, ACC):
        view.on_event(event)
    span = EcgAgreement(10.0, 70.0, 69, 67, 65, 4, 2, 25.0, 3.1, -0.4)
    breathing = AccBreathing(10.0, 70.0, 21.5, 21.1, 21.0, 0.9, True, None)
    view.on_event(SignalCheckUpdate(SignalCheckResult(span, span, breathing=breathing),
                                    AgreementTotals(69, 67, 65, 4, 2)))
    panel.show_view(view)
    assert not panel.isHidden() and not panel.ecg_warning.isHidden()
    assert panel.ecg_warning.text() == view.ecg_line().warning
    assert panel.ecg_warning.text().startswith("The strap's RR and its ECG disagree")
    assert panel.breathing_label.text() == f"Breathing 21.5/min chest (ACC) · {MISSING}/min RR"
    save_screenshot(panel, "signal_check_disagreement")
    panel.show_view(SignalCheckView())
    assert panel.isHidden()
