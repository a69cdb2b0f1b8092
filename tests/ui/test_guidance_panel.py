"""Guidance widgets on real sessions: phases, pacer, stressor screen, self-reports, markers."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from biofeedback.core.types import Marker, MarkerKind
from biofeedback.session.live_session import LiveSession
from biofeedback.session.protocol_session import ProtocolSession
from biofeedback.ui.guidance_panel import (
    PAGE_NATURAL,
    PAGE_PACER,
    PAGE_SELF_REPORT,
    PAGE_STRESSOR,
    GuidancePanel,
    format_clock,
)
from biofeedback.ui.marker_bar import MarkerBar
from biofeedback.ui.pacer_widget import PacerWidget
from biofeedback.ui.self_report_panel import SelfReportPanel
from biofeedback.viewmodels.pacer import free_practice_pacer, pacer_state
from conftest import save_screenshot
from protocols.library import get_protocol
from protocols.model import PacerSettings, PhaseKind, PracticeProtocol
from protocols.runner import PacerStage, PhaseStarted
from sensors.simulated import SimulatedStrap


def with_durations(protocol: PracticeProtocol, **durations_s: float) -> PracticeProtocol:
    """``protocol`` with some phases' durations changed (s), by phase id; other phases kept."""
    phases = tuple(
        dataclasses.replace(p, duration_s=durations_s.get(p.id, p.duration_s))
        for p in protocol.phases
    )
    return dataclasses.replace(protocol, phases=phases)


class Running:
    """A real simulated session with a protocol, followed by a guidance panel."""

    def __init__(self, qtbot, protocol: PracticeProtocol, speed: float) -> None:
        self.strap = SimulatedStrap(seed=3, speed=speed)
        self.session = LiveSession(self.strap, store=None, neurokit=False)
        self.protocol_session = ProtocolSession(self.session, protocol,
                                                simulated_participant=False)
        self.markers: list[Marker] = []
        self.session.subscribe(
            lambda e: self.markers.append(e) if isinstance(e, Marker) else None)
        self.panel = GuidancePanel()
        self.panel.resize(560, 760)
        qtbot.addWidget(self.panel)
        self.panel.attach(self.protocol_session)
        self.panel.show()
        self.task: asyncio.Future | None = None

    def start(self, duration_s: float) -> None:
        self.task = asyncio.ensure_future(self.session.run(duration_s=duration_s))

    async def wait_until(self, condition, timeout_s: float = 15.0) -> None:
        """Let the session run, updating the panel as the window does, until ``condition()``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self.panel.set_time(self.strap.session_time_s())
            if condition():
                return
            assert self.task is None or not self.task.done() or condition(), (
                "the session ended before the condition held")
            assert loop.time() < deadline, "timed out waiting for the session"
            await asyncio.sleep(0.005)

    async def wait_phase(self, phase_id: str) -> None:
        await self.wait_until(lambda: self.panel.phase is not None
                              and self.panel.phase.id == phase_id)

    def of_kind(self, kind: MarkerKind, event: str | None = None) -> list[Marker]:
        return [m for m in self.markers if m.kind is kind
                and (event is None or m.extra.get("event") == event)]


def test_panel_follows_a_stress_reactivity_session(qtbot, qt_loop):
    # The built-in protocol; the self-report and stressor phases are lengthened so the test
    # moves on with the operator's Skip button rather than racing the simulated clock.
    base = get_protocol("stress_reactivity:soothing_touch")
    protocol = with_durations(base, report_baseline=3600, stressor=3600, report_stressor=3600,
                              report_practice=3600)
    run = Running(qtbot, protocol, speed=60)
    panel = run.panel
    runner = run.protocol_session.runner
    answered = []
    panel.stressor_screen.answered.connect(answered.append)
    submitted = []
    panel.self_report_panel.submitted.connect(submitted.append)
    assert panel.header_label.text() == protocol.name  # waiting for the strap

    async def scenario():
        run.start(duration_s=4 * 3600)
        await run.wait_phase("baseline")
        assert panel.header_label.text() == "Baseline"
        assert panel.step_label.text() == "phase 1 of 7"
        assert panel.subtitle_label.text() == f"Baseline · {protocol.name}"
        assert panel.instructions_label.text() == base.phase("baseline").instructions
        assert panel.stack.currentIndex() == PAGE_NATURAL
        assert not panel.pacer.isVisible() and not panel.pacer.animating
        await run.wait_until(lambda: panel.prompt_label.isVisible())
        assert panel.prompt_label.text() == base.phase("baseline").prompts[0].text
        # Countdowns: this phase and the whole protocol, from the runner's clock.
        now = run.strap.session_time_s()
        panel.set_time(now)
        left = runner.phase_remaining_s(now)
        later = sum(p.duration_s for p in protocol.phases[1:])
        assert panel.countdown_label.text() == (
            f"{format_clock(left)} left in this phase · {format_clock(left + later)} in all")
        # The operator lengthens the phase by a minute.
        qtbot.mouseClick(panel.extend_button, Qt.MouseButton.LeftButton)
        assert runner.phase_remaining_s(now) == pytest.approx(left + 60.0)
        assert [m.extra for m in run.markers if m.label == "extended baseline"] == [
            {"phase": "baseline", "seconds": 60.0}]

        # Answers given when no self-report phase runs are refused in words.
        early = SelfReportPanel()
        qtbot.addWidget(early)
        early.attach(run.protocol_session)
        early.ask(protocol.phase("report_baseline"))
        early.set_answers({"calm": 7, "self_kindness": 6, "stress": 2, "focus": 8})
        assert early.submit() is None
        assert early.status_text == "No self-report phase is running."
        assert not run.of_kind(MarkerKind.SELF_REPORT)

        qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
        await run.wait_phase("report_baseline")
        assert panel.stack.currentIndex() == PAGE_SELF_REPORT
        sliders = {s.item.id: s for s in panel.self_report_panel.sliders}
        assert list(sliders) == ["calm", "self_kindness", "stress", "focus"]
        assert all(not s.answered and s.value_label.text() == "–" for s in sliders.values())
        sliders["calm"].slider.setValue(8)
        sliders["self_kindness"].slider.setValue(3)
        sliders["stress"].slider.setFocus()
        qtbot.keyClick(sliders["stress"].slider, Qt.Key.Key_Right)  # 5 -> 6 by keyboard
        assert sliders["stress"].value == 6
        # One question left: Submit names it and records nothing.
        qtbot.mouseClick(panel.self_report_panel.submit_button, Qt.MouseButton.LeftButton)
        assert panel.self_report_panel.status_text == (
            "Please answer every question first: How settled is your attention right now?")
        assert not run.of_kind(MarkerKind.SELF_REPORT) and not submitted
        save_screenshot(panel, "self_report")
        sliders["focus"].slider.setValue(0)
        qtbot.mouseClick(panel.self_report_panel.submit_button, Qt.MouseButton.LeftButton)
        assert submitted == [{"calm": 8, "self_kindness": 3, "stress": 6, "focus": 0}]
        reports = {(m.extra["phase"], m.extra["item"]): m.extra["value"]
                   for m in run.of_kind(MarkerKind.SELF_REPORT)}
        assert reports == {("report_baseline", "calm"): 8,
                           ("report_baseline", "self_kindness"): 3,
                           ("report_baseline", "stress"): 6,
                           ("report_baseline", "focus"): 0}
        assert panel.self_report_panel.status_text == "Thank you: your answers are saved."
        assert not panel.self_report_panel.submit_button.isEnabled()

        qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
        await run.wait_phase("stressor")
        assert panel.stack.currentIndex() == PAGE_STRESSOR
        assert not panel.pacer.isVisible()
        screen = panel.stressor_screen
        await run.wait_until(lambda: screen.shown_prompt is not None)
        # Answer what the screen shows (a timeout may have restarted it meanwhile).
        number = int(screen.number_label.text())
        assert screen.caption_label.text() == "Subtract 13 from"
        screen.answer_edit.setFocus()
        qtbot.keyClicks(screen.answer_edit, str(number - 13))
        qtbot.keyClick(screen.answer_edit, Qt.Key.Key_Return)
        assert answered[-1].correct and answered[-1].value == number - 13
        assert screen.feedback_label.text() == "Correct"
        assert "#1b7f3a" in screen.feedback_label.styleSheet()
        assert screen.number_label.text() == str(number - 13)
        assert screen.answer_edit.text() == ""
        save_screenshot(panel, "stressor_screen")
        qtbot.keyClicks(screen.answer_edit, str(number - 13 - 12))  # off by one
        qtbot.keyClick(screen.answer_edit, Qt.Key.Key_Return)
        assert not answered[-1].correct and answered[-1].restarted
        assert screen.feedback_label.text() == "Wrong — start again from 1022"
        assert "#c62828" in screen.feedback_label.styleSheet()
        assert screen.number_label.text() == "1022"
        assert screen.counts_label.text().startswith("Answers 2 · correct 1 · errors 1")
        save_screenshot(panel, "stressor_error")
        answers = run.of_kind(MarkerKind.STRESSOR, "answer")
        assert [(m.extra["answer"], m.extra["correct"]) for m in answers][-2:] == [
            (number - 13, True), (number - 25, False)]
        # Nobody answers: the session times the prompt out between answers and the screen
        # says so on its next look at the task.
        await run.wait_until(lambda: answered and answered[-1].timed_out)
        assert screen.feedback_label.text() == "Time's up — start again from 1022"
        assert screen.number_label.text() == "1022"
        assert run.of_kind(MarkerKind.STRESSOR, "timeout")
        assert "too slow" in screen.counts_label.text()

        qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
        await run.wait_phase("report_stressor")
        assert run.of_kind(MarkerKind.STRESSOR, "end")
        panel.self_report_panel.set_answers({"calm": 2, "self_kindness": 4, "stress": 9,
                                             "focus": 3})
        assert panel.self_report_panel.submit() is not None

        qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
        await run.wait_phase("practice")
        assert panel.header_label.text() == "Soothing touch"
        assert panel.subtitle_label.text() == f"Practice · {protocol.name}"
        # Soothing touch has no pacer: natural breathing.
        assert panel.stack.currentIndex() == PAGE_NATURAL and not panel.pacer.isVisible()
        await run.wait_until(lambda: panel.prompt_label.isVisible())
        assert panel.prompt_label.text() == protocol.phase("practice").prompts[0].text

        for phase_id in ("report_practice", "recovery"):
            qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
            await run.wait_phase(phase_id)
        qtbot.mouseClick(panel.skip_button, Qt.MouseButton.LeftButton)
        await asyncio.wait_for(run.task, 10.0)

    qt_loop.run_until_complete(scenario())
    assert runner.finished
    assert panel.header_label.text() == "Protocol complete"
    assert not panel.skip_button.isEnabled()
    panel.detach()  # the closing screen stays up after the session
    assert panel.header_label.text() == "Protocol complete"
    assert panel.protocol_session is None
    # The unanswered practice report was recorded as such; both answered ones are stored.
    assert run.protocol_session.self_reports == {
        "report_baseline": {"calm": 8, "self_kindness": 3, "stress": 6, "focus": 0},
        "report_stressor": {"calm": 2, "self_kindness": 4, "stress": 9, "focus": 3},
    }
    skipped = [m.label for m in run.markers if m.kind is MarkerKind.PROTOCOL]
    assert "skipped baseline" in skipped and "skipped recovery" in skipped


def test_pacer_shows_only_in_the_paced_phase_and_keeps_step_with_the_runner(qtbot, qt_loop):
    base = get_protocol("stress_reactivity:resonance_breathing")
    short = with_durations(base, baseline=8, practice=40, recovery=8)
    protocol = dataclasses.replace(short, phases=tuple(
        p for p in short.phases if p.id in ("baseline", "practice", "recovery")))
    run = Running(qtbot, protocol, speed=20)
    panel = run.panel
    runner = run.protocol_session.runner
    stages: list[PacerStage] = []
    starts: dict[str, float] = {}

    def on_event(event):
        if isinstance(event, PacerStage):
            stages.append(event)
        elif isinstance(event, PhaseStarted):
            starts[event.phase.id] = event.at_s

    runner.subscribe(on_event)

    async def scenario():
        run.start(duration_s=200)
        await run.wait_phase("baseline")
        assert not panel.pacer.isVisible() and not panel.pacer.animating
        # Phases change on their own at their planned times.
        await run.wait_phase("practice")
        assert panel.stack.currentIndex() == PAGE_PACER
        assert panel.pacer.isVisible() and panel.pacer.animating
        pacer = protocol.phase("practice").pacer
        assert panel.pacer.settings == pacer
        await run.wait_until(lambda: len(stages) >= 3)
        # The ball is in the stage the runner last announced, at the runner's time.
        for _ in range(5):
            await run.wait_until(lambda: True)
            last = stages[-1]
            state = panel.pacer.state_at(runner.phase_elapsed_s(runner.now_s))
            assert state.stage == last.stage
            assert state == pacer_state(pacer, runner.now_s - starts["practice"])
        await run.wait_until(lambda: panel.prompt_label.isVisible())
        panel.pacer.paint_at(panel.pacer.now_s())
        save_screenshot(panel, "guidance_practice")

        # Pause: the protocol clock (and the ball) hold; resume goes on from there.
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
        assert runner.paused and panel.pause_button.text() == "Resume"
        held = panel.pacer.state_at(runner.phase_elapsed_s(run.strap.session_time_s()))
        paused_at = run.strap.session_time_s()
        await run.wait_until(lambda: run.strap.session_time_s() > paused_at + 3.0)
        assert panel.countdown_label.text().startswith("Paused · ")
        assert panel.pacer.state_at(runner.phase_elapsed_s(run.strap.session_time_s())) == held
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
        assert not runner.paused and panel.pause_button.text() == "Pause"

        await run.wait_phase("recovery")
        assert panel.stack.currentIndex() == PAGE_NATURAL
        assert not panel.pacer.isVisible() and not panel.pacer.animating
        await asyncio.wait_for(run.task, 15.0)

    qt_loop.run_until_complete(scenario())
    assert panel.header_label.text() == "Protocol complete"
    assert {s.phase.id for s in stages} == {"practice"}


def test_pacer_widget_draws_inhale_and_exhale_and_animates_only_when_shown(qtbot):
    widget = PacerWidget()
    qtbot.addWidget(widget)
    widget.resize(320, 340)
    pacer = PacerSettings(6.0, 1 / 1.5)
    widget.set_pacer(pacer, start_s=100.0)
    assert not widget.animating  # not shown yet
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.animating
    inhale = widget.paint_at(102.0)
    assert inhale.stage == "inhale" and inhale.volume == pytest.approx(0.5)
    assert inhale.words == "Breathe in" and inhale.remaining_s == pytest.approx(2.0)
    assert widget.canvas.state == inhale
    save_screenshot(widget, "pacer_inhale")
    exhale = widget.paint_at(107.0)
    assert exhale.stage == "exhale" and exhale.words == "Breathe out"
    assert exhale.remaining_s == pytest.approx(3.0)
    save_screenshot(widget, "pacer_exhale")
    # The clock decides the phase of the breath.
    widget.set_clock(lambda: 104.5)
    assert widget.canvas.state.stage == "exhale"
    assert widget.canvas.state.fraction == pytest.approx(0.5 / 6.0)
    widget.hide()
    assert not widget.animating
    widget.show()
    assert widget.animating
    widget.set_pacer(None)
    assert not widget.animating and widget.canvas.state is None


def test_free_practice_shows_the_users_pacer_and_reports_changes(qtbot):
    panel = GuidancePanel()
    qtbot.addWidget(panel)
    panel.resize(560, 700)
    now = [50.0]
    panel.set_clock(lambda: now[0])
    panel.show()
    panel.show_free_practice(free_practice_pacer(6.0, 1 / 1.5))
    assert panel.header_label.text() == "Free practice"
    assert panel.stack.currentIndex() == PAGE_PACER and panel.pacer.isVisible()
    assert panel.pacer.controls.isVisible()
    assert not panel.skip_button.isVisible()
    now[0] = 51.0
    panel.pacer.paint_at(now[0])
    panel.set_time(now[0] + 74.0)
    assert panel.countdown_label.text() == "1:15 practised"
    save_screenshot(panel, "guidance_free_practice")
    changes = []
    panel.pacer_changed.connect(lambda rate, ratio: changes.append((rate, ratio)))
    panel.pacer.rate_spin.setValue(7.5)
    assert changes == [(7.5, pytest.approx(1 / 1.5))]
    assert panel.pacer.settings.breaths_per_min == 7.5
    panel.pacer.exhale_spin.setValue(2.0)
    assert changes[-1] == (7.5, 0.5)
    assert panel.pacer.settings.inhale_exhale_ratio == 0.5
    # Without a pacer: breathe naturally, nothing animates.
    panel.show_free_practice(None)
    assert panel.stack.currentIndex() == PAGE_NATURAL and not panel.pacer.animating


def test_attaching_and_detaching_returns_to_free_practice(qtbot):
    panel = GuidancePanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.header_label.text() == "No protocol"
    panel.show_free_practice(free_practice_pacer(5.0, 1.0))
    panel.pacer.rate_spin.setValue(5.5)  # the user's own rate
    protocol = get_protocol("resonance_breathing")
    strap = SimulatedStrap(seed=1, speed=10)
    session = LiveSession(strap, store=None, neurokit=False)
    ps = ProtocolSession(session, protocol)
    panel.attach(ps)
    # Not streaming yet: the protocol waits, the operator buttons too.
    assert panel.header_label.text() == protocol.name
    assert panel.step_label.text() == f"{len(protocol.phases)} phases"
    assert panel.countdown_label.text() == f"{format_clock(protocol.duration_s)} in all"
    assert not panel.skip_button.isEnabled() and not panel.pacer.animating
    panel.detach()  # stopped before the end: back to the user's free practice
    assert panel.header_label.text() == "Free practice"
    assert panel.pacer.settings.breaths_per_min == 5.5 and panel.pacer.animating
    # A session clock given in free practice restarts the breath on that clock.
    panel.set_clock(lambda: 300.0)
    assert panel.pacer.state_at(300.0).t_s == 0.0
    panel.set_time(330.0)
    assert panel.countdown_label.text() == "0:30 practised"


def test_marker_bar_shortcut_and_reusable_labels(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    bar = MarkerBar()
    other = QLineEdit()
    layout.addWidget(bar)
    layout.addWidget(other)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    bar.set_labels(["distraction", "movement", " ", "noise", "movement"])
    assert bar.labels() == ["distraction", "movement", "noise"]
    requested = []
    bar.marker_requested.connect(requested.append)

    bar.button.setFocus()
    qtbot.keyClick(bar.button, Qt.Key.Key_M)
    assert requested == ["distraction"]
    bar.label_combo.setCurrentIndex(2)
    qtbot.keyClick(bar.button, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert requested[-1] == "noise"
    assert bar.labels() == ["noise", "distraction", "movement"]
    # Typing an M in a text box types it; Ctrl+M still marks.
    other.setFocus()
    qtbot.keyClicks(other, "Mm")
    assert other.text() == "Mm" and len(requested) == 2
    qtbot.keyClick(other, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert len(requested) == 3
    # A new label typed in the box goes first.
    bar.label_combo.setEditText("coughed")
    qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)
    assert requested[-1] == "coughed"
    assert bar.labels() == ["coughed", "noise", "distraction", "movement"]
    bar.label_combo.setEditText("")
    assert bar.request_marker() == "marker"


def test_self_report_panel_without_a_session_and_with_a_phase_without_questions(qtbot):
    panel = SelfReportPanel()
    qtbot.addWidget(panel)
    assert panel.submit() is None
    assert panel.status_text == "There are no questions to answer right now."
    phase = get_protocol("soothing_touch").phase("report_pre")
    panel.ask(phase)
    panel.sliders[0].set_value(5)  # answering the middle value counts as an answer
    assert panel.sliders[0].value == 5 and panel.sliders[0].value_label.text() == "5"
    panel.set_answers({"self_kindness": 10, "stress": 0, "focus": 7})
    got = []
    panel.submitted.connect(got.append)
    assert panel.submit() == {"calm": 5, "self_kindness": 10, "stress": 0, "focus": 7}
    assert got == [{"calm": 5, "self_kindness": 10, "stress": 0, "focus": 7}]
    empty = dataclasses.replace(phase, self_report=())
    panel.ask(empty)
    assert panel.status_text == "This phase has no questions."
    assert not panel.submit_button.isEnabled()
    assert phase.kind is PhaseKind.SELF_REPORT


def test_format_clock():
    assert format_clock(0) == "0:00"
    assert format_clock(59.2) == "1:00"
    assert format_clock(61) == "1:01"
    assert format_clock(3725) == "1:02:05"
    assert format_clock(-3) == "0:00"
    assert re.fullmatch(r"\d+:\d\d", format_clock(599.5))
