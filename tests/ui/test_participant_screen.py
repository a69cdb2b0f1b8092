"""The participant screen and hidden feedback, driven through the real window: real simulated
sessions, a real store, real widgets offscreen.

Offscreen Qt has one display here; the tests with two displays run the app in a process of its
own with the offscreen platform's screen configuration (``offscreen:configfile=...``).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from ui.test_main_window import window  # noqa: F401 - the window fixture
from ui_helpers import waiter

from biofeedback.cli.main import main
from biofeedback.core.types import MarkerKind
from biofeedback.session.launch import SessionRequest
from biofeedback.store.database import SessionStore
from biofeedback.ui.live_view import LiveView
from biofeedback.ui.participant_screen import ParticipantScreen
from biofeedback.ui.values_panel import ValuesPanel
from biofeedback.viewmodels.guidance import FEEDBACK_HIDDEN_TITLE, FINISHED_TEXT, GuidancePage
from conftest import PYTHON, cli_env, save_screenshot

wait_for = waiter(20.0)

LAB_PROTOCOL = """
id = "lab_short"
name = "Short lab session"
category = "stress_reactivity"
description = "A lab session for tests: long phases, moved on by the operator's Skip."
participant_screen = {participant_screen}

[[defaults.self_report]]
id = "calm"
question = "How calm do you feel right now?"
low_label = "not at all calm"
high_label = "completely calm"

[[defaults.self_report]]
id = "stress"
question = "How stressed do you feel right now?"
low_label = "not at all stressed"
high_label = "extremely stressed"

[[phases]]
id = "baseline"
name = "Baseline"
kind = "baseline"
duration_s = 3600
instructions = "Sit quietly with your eyes open and breathe naturally."

[[phases.prompts]]
at_s = 0
text = "Let your breath find its own rhythm."

[[phases]]
id = "report_baseline"
name = "How are you now?"
kind = "self_report"
duration_s = 3600
instructions = "Rate each question from 0 to 10."

[[phases]]
id = "stressor"
name = "Mental arithmetic"
kind = "stressor"
duration_s = 3600
instructions = "Count backwards from 1022 in steps of 13, as fast and accurately as you can."

[phases.stressor]
task = "serial_subtraction"
time_limit_s = 15

[[phases]]
id = "practice"
name = "Paced breathing"
kind = "practice"
practice = "resonance_breathing"
category = "breathing"
duration_s = 3600
instructions = "Breathe in as the ball grows, and out as it shrinks."

[phases.pacer]
breaths_per_min = 6.0
inhale_exhale_ratio = 0.67
"""

_PHYSIOLOGY_WORDS = re.compile(
    r"\b(bpm|ms|hrv|rmssd|sdnn|hr|heart rate|coherence|hf|lf|psd|beats?)\b", re.IGNORECASE)


def write_protocol(folder: Path, participant_screen: bool) -> Path:
    path = folder / "lab_short.toml"
    path.write_text(LAB_PROTOCOL.format(participant_screen=str(participant_screen).lower()),
                    encoding="utf-8")
    return path


def assert_participant_only(screen: QWidget) -> None:
    """No plot, no physiology value, no operator control anywhere in ``screen``'s tree."""
    import pyqtgraph as pg

    widgets = screen.findChildren(QWidget)
    assert not [w for w in widgets if isinstance(w, pg.GraphicsView | LiveView | ValuesPanel)]
    shown = [w.text() for w in widgets if isinstance(w, QLabel) and w.isVisibleTo(screen)]
    assert not [t for t in shown if _PHYSIOLOGY_WORDS.search(t)], shown
    buttons = {w.text() for w in widgets
               if isinstance(w, QAbstractButton) and w.isVisibleTo(screen)}
    assert buttons <= {"Submit answers"}, buttons


def press_key(widget: QWidget, kind: QEvent.Type, key: Qt.Key, autorepeat: bool = False) -> None:
    QApplication.sendEvent(
        widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, "", autorepeat))


async def skip_to(win, phase_id: str) -> None:
    """The operator skips to ``phase_id`` (the next phase)."""
    win.guidance.skip_button.click()
    await wait_for(lambda: win.guidance.phase is not None
                   and win.guidance.phase.id == phase_id, what=f"phase {phase_id}")


def test_participant_screen_takes_the_answers_and_shows_no_physiology(
    window, qt_loop, data_dir, tmp_path, qtbot  # noqa: F811 - the imported fixture
):
    protocol_file = write_protocol(tmp_path, participant_screen=False)
    guidance = window.guidance
    # View > Participant screen: one display offscreen, so it goes full screen on that one.
    window.participant_screen_action.trigger()
    screen = window.participant_screen
    assert isinstance(screen, ParticipantScreen)
    assert window.participant_screen_action.isChecked()
    assert screen.isFullScreen() and screen.screen() is QGuiApplication.screens()[0]
    assert screen.header_label.text() == "Please wait"
    assert guidance.mirror_label.isVisible()

    async def scenario() -> int:
        window.start_session(SessionRequest(
            source="sim", protocol_id=str(protocol_file), participant_id="p11", speed=5.0,
            seed=4,
        ))
        await wait_for(lambda: screen.prompt_label.isVisible() or window.last_error,
                       what="the first prompt")
        assert not window.last_error
        assert screen.header_label.text() == "Baseline"
        assert screen.instructions_label.text() == (
            "Sit quietly with your eyes open and breathe naturally.")
        assert screen.prompt_label.text() == "Let your breath find its own rhythm."
        # The participant looks at their own screen: the operator window shows physiology.
        assert not window.feedback_covered
        assert_participant_only(screen)
        save_screenshot(screen, "participant_screen_prompt")

        await skip_to(window, "report_baseline")
        assert screen.stack.currentIndex() == GuidancePage.SELF_REPORT
        panel = screen.self_report_panel
        sliders = {s.item.id: s for s in panel.sliders}
        assert guidance.mirror_label.text() == (
            "Answering on the participant screen: question 1 of 2")
        # Mouse: a click on the groove's right end; keyboard: Left from the middle.
        calm = sliders["calm"].slider
        qtbot.mouseClick(calm, Qt.MouseButton.LeftButton, pos=calm.rect().center())
        assert sliders["calm"].answered
        calm.setFocus()
        qtbot.keyClick(calm, Qt.Key.Key_End)
        assert sliders["calm"].value == 10
        assert guidance.mirror_label.text() == (
            "Answering on the participant screen: question 2 of 2")
        stress = sliders["stress"].slider
        stress.setFocus()
        qtbot.keyClick(stress, Qt.Key.Key_Left)
        assert sliders["stress"].value == 4
        # The operator's copy takes no answers: its questions are disabled.
        operator_slider = guidance.self_report_panel.sliders[0]
        assert not operator_slider.isEnabled() and not guidance.self_report_panel.isEnabled()
        qtbot.keyClick(operator_slider.slider, Qt.Key.Key_End)
        qtbot.mouseClick(guidance.self_report_panel.submit_button, Qt.MouseButton.LeftButton)
        assert not operator_slider.answered
        assert_participant_only(screen)
        save_screenshot(screen, "participant_screen_self_report")
        qtbot.mouseClick(panel.submit_button, Qt.MouseButton.LeftButton)
        assert panel.status_text == "Thank you: your answers are saved."
        assert guidance.mirror_label.text() == (
            "The participant submitted the answers on the participant screen.")

        await skip_to(window, "stressor")
        stressor = screen.stressor_screen
        await wait_for(lambda: stressor.shown_prompt is not None, what="the first prompt")
        assert screen.stack.currentIndex() == GuidancePage.STRESSOR
        # The operator's copy shows the task but cannot answer it.
        operator_copy = guidance.stressor_screen
        await wait_for(lambda: operator_copy.shown_prompt is not None, what="operator copy")
        assert operator_copy.read_only and not operator_copy.answer_edit.isEnabled()
        operator_copy.answer_edit.setText("1009")
        assert operator_copy.submit() is None
        stressor.answer_edit.setFocus()
        qtbot.keyClicks(stressor.answer_edit, "1009")
        qtbot.keyClick(stressor.answer_edit, Qt.Key.Key_Return)
        assert stressor.feedback_label.text() == "Correct"
        qtbot.keyClicks(stressor.answer_edit, "990")  # 996 is right
        qtbot.keyClick(stressor.answer_edit, Qt.Key.Key_Enter)
        assert guidance.mirror_label.text() == (
            "Answering on the participant screen: 2 answers, 1 correct, 1 error")
        window._on_clock()  # the operator's copy picks the answers up on its next look
        assert operator_copy.counts_label.text().startswith("Answers 2 · correct 1 · errors 1")
        assert operator_copy.feedback_label.text() == "Wrong — start again from 1022"
        assert_participant_only(screen)
        save_screenshot(screen, "participant_screen_stressor")

        await skip_to(window, "practice")
        assert screen.stack.currentIndex() == GuidancePage.PACER
        assert screen.pacer.isVisible() and screen.pacer.animating
        assert screen.pacer.settings == window.guidance.pacer.settings
        assert_participant_only(screen)
        save_screenshot(screen, "participant_screen_pacer")
        # Esc and a window manager's close do not close the participant's screen.
        qtbot.keyClick(screen, Qt.Key.Key_Escape)
        assert not screen.close() and screen.isVisible()

        session_id = window.current.session.session_id
        window.stop_session()
        await wait_for(lambda: not window.running, what="the session's end")
        return session_id

    session_id = qt_loop.run_until_complete(scenario())
    assert window.last_error == ""
    assert screen.message_label.text() == FINISHED_TEXT
    assert_participant_only(screen)
    save_screenshot(screen, "participant_screen_finished")
    # The answers given on the participant screen are in the store.
    with SessionStore.open(data_dir) as store:
        markers = store.load_recording(session_id).markers
    reports = {m.extra["item"]: m.extra["value"] for m in markers
               if m.kind is MarkerKind.SELF_REPORT and "item" in m.extra}
    assert reports == {"calm": 10, "stress": 4}
    answers = [(m.extra["answer"], m.extra["correct"]) for m in markers
               if m.kind is MarkerKind.STRESSOR and m.extra.get("event") == "answer"]
    assert answers == [(1009, True), (990, False)]
    # Opened before the session: recorded once, when the session began streaming.
    screen_markers = [(m.label, m.extra, m.onset_s) for m in markers
                      if m.label.startswith("participant screen")]
    assert len(screen_markers) == 1, screen_markers
    assert screen_markers[0][:2] == ("participant screen opened", {"display": 1})
    assert screen_markers[0][2] < 1.5
    # The operator closes it from the menu; the operator panel takes answers again.
    window.participant_screen_action.trigger()
    assert window.participant_screen is None and not screen.isVisible()
    assert not window.participant_screen_action.isChecked()
    assert guidance.self_report_panel.isEnabled() and not guidance.stressor_screen.read_only
    assert not guidance.mirror_label.isVisible()


def test_hidden_feedback_covers_the_physiology_of_a_shared_window_until_the_key_is_held(
    window, qt_loop, tmp_path  # noqa: F811 - the imported fixture
):
    protocol_file = write_protocol(tmp_path, participant_screen=True)
    physiology = window.physiology_stack.widget(0)

    async def scenario() -> None:
        window.start_session(SessionRequest(
            source="sim", protocol_id=str(protocol_file), speed=20.0, seed=6, record=False,
        ))
        await wait_for(lambda: window.guidance.phase is not None, what="the baseline")
        await wait_for(lambda: window.status.n_beats > 15, what="some beats")
        # One display: the protocol's participant screen cannot open, and the window says so.
        assert window.participant_screen is None
        assert window.statusBar().currentMessage() == (
            "This protocol expects a participant screen, but there is one display only "
            "(hold F9 to see hidden feedback)")
        assert window.feedback_covered
        assert window.feedback_cover.isVisible() and not window.values_panel.isVisible()
        assert not physiology.isVisible()
        assert window.feedback_cover.title_label.text() == FEEDBACK_HIDDEN_TITLE
        assert "hold F9 to look" in window.feedback_cover.hint_label.text()
        window._on_clock()
        window._draw_frame()
        save_screenshot(window, "operator_window_hidden_feedback")
        # The operator holds F9 (wherever the focus is in the window): the physiology shows.
        target = window.guidance.pause_button
        press_key(target, QEvent.Type.KeyPress, Qt.Key.Key_F9)
        assert not window.feedback_covered and window.values_panel.isVisible()
        # Auto-repeat sends release/press pairs while the key stays down: ignored.
        press_key(target, QEvent.Type.KeyRelease, Qt.Key.Key_F9, autorepeat=True)
        press_key(target, QEvent.Type.KeyPress, Qt.Key.Key_F9, autorepeat=True)
        assert not window.feedback_covered
        # A few beats more, so the uncovered plots have been laid out and drawn again.
        beats = window.status.n_beats
        await wait_for(lambda: window.status.n_beats > beats + 5, what="more beats")
        window._draw_frame()
        save_screenshot(window, "operator_window_peeking")
        press_key(target, QEvent.Type.KeyRelease, Qt.Key.Key_F9)
        assert window.feedback_covered
        # Held, then the window loses the focus (the release goes elsewhere): covered again.
        press_key(target, QEvent.Type.KeyPress, Qt.Key.Key_F9)
        assert not window.feedback_covered
        QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
        assert window.feedback_covered
        # Another key does nothing.
        press_key(target, QEvent.Type.KeyPress, Qt.Key.Key_F8)
        assert window.feedback_covered
        press_key(target, QEvent.Type.KeyRelease, Qt.Key.Key_F8)
        # A phase whose feedback is shown (the biofeedback practice) lifts the cover.
        await skip_to(window, "report_baseline")
        assert window.feedback_covered  # self-reports hide feedback by default
        await skip_to(window, "stressor")
        assert window.feedback_covered
        await skip_to(window, "practice")
        assert not window.feedback_covered and window.values_panel.isVisible()
        # F9 means nothing in a shown phase (the key is not even watched then).
        assert not window.peek_key.active
        press_key(target, QEvent.Type.KeyPress, Qt.Key.Key_F9)
        assert not window.peek_key.held and not window.feedback_covered
        press_key(target, QEvent.Type.KeyRelease, Qt.Key.Key_F9)
        window.stop_session()
        await wait_for(lambda: not window.running, what="the session's end")
        assert not window.feedback_covered

    qt_loop.run_until_complete(scenario())
    assert window.last_error == ""


def test_a_participant_screen_on_a_display_that_does_not_exist_is_refused(
    qapp, data_dir, capsys
):
    code = main(["app", "--participant-screen", "5", "--data-dir", str(data_dir)])
    assert code == 1
    err = capsys.readouterr().err
    n = len(QGuiApplication.screens())
    assert err.startswith(
        f"biofeedback app: error: there is no display 5 for the participant screen; there is "
        f"{n} display: 1 = ")
    assert err.rstrip().endswith("(displays are numbered from 1)")
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()
                and w.windowTitle().startswith("biofeedback")]
    for bad in ("0", "two"):
        with pytest.raises(SystemExit) as usage:
            main(["app", "--participant-screen", bad, "--data-dir", str(data_dir)])
        assert usage.value.code == 2
        assert f"not a display number: {bad!r} (displays are numbered from 1)" in (
            capsys.readouterr().err)


def run_app(data_dir: Path, args: list[str], platform: str = "offscreen") -> None:
    env = cli_env(data_dir)
    env["QT_QPA_PLATFORM"] = platform
    out = subprocess.run([PYTHON, "-m", "biofeedback", "app", "--no-neurokit", *args],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_the_app_command_opens_the_participant_screen_full_screen(qapp, data_dir, tmp_path):
    shot = tmp_path / "window.png"
    run_app(data_dir, ["--participant-screen", "1", "--quit-after", "1.5",
                       "--screenshot", str(shot)])
    operator = QImage(str(shot))
    participant = QImage(str(tmp_path / "window.participant.png"))
    assert not operator.isNull() and not participant.isNull()
    # Full screen on the one offscreen display.
    screen = QGuiApplication.screens()[0].geometry()
    assert (participant.width(), participant.height()) == (screen.width(), screen.height())


def test_a_protocol_meant_for_a_participant_screen_opens_it_on_the_second_display(
    data_dir, tmp_path
):
    # Two displays, as the offscreen platform's screen configuration gives them.
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [
        {"name": "operator", "x": 0, "y": 0, "width": 1400, "height": 900},
        {"name": "participant", "x": 1400, "y": 0, "width": 1280, "height": 800},
    ]}), encoding="utf-8")
    shot = tmp_path / "window.png"
    protocol_file = write_protocol(tmp_path, participant_screen=True)
    run_app(data_dir, ["--source", "sim", "--protocol", str(protocol_file), "--speed", "20",
                       "--quit-after", "1.5", "--screenshot", str(shot)],
            platform=f"offscreen:configfile={config}")
    participant = QImage(str(tmp_path / "window.participant.png"))
    # Opened by the protocol, full screen on the display that is not the window's.
    assert (participant.width(), participant.height()) == (1280, 800)


def test_participant_screen_follows_free_practice_and_opens_mid_session(
    window, qt_loop  # noqa: F811 - the imported fixture
):
    async def scenario() -> None:
        window.start_session(SessionRequest(source="sim", speed=5.0, seed=2, record=False))
        await wait_for(lambda: window.status.n_beats > 3, what="beats")
        screen = window.open_participant_screen(1)
        assert screen.header_label.text() == "Free practice"
        assert screen.stack.currentIndex() == GuidancePage.PACER
        assert screen.pacer.settings == window.guidance.pacer.settings
        assert screen.pacer.animating
        assert_participant_only(screen)
        # The operator changes the rate: the participant's ball follows, in the same breath.
        window.guidance.pacer.rate_spin.setValue(5.0)
        assert screen.pacer.settings == window.guidance.pacer.settings
        assert screen.pacer.settings.breaths_per_min == 5.0
        now = window.current.source.session_time_s()
        assert screen.pacer.state_at(now) == window.guidance.pacer.state_at(now)
        window.stop_session()
        await wait_for(lambda: not window.running, what="the session's end")
        window.close_participant_screen()
        await asyncio.sleep(0)

    qt_loop.run_until_complete(scenario())
