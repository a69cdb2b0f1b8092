"""The whole window, driven like a user would: real sessions, real store, real widgets.

Each test runs the window on a qasync loop (asyncio on Qt's loop, as in the app) with the
offscreen platform, and saves screenshots of the main screens under test-output/screenshots.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QMessageBox
from ui_helpers import waiter

from biofeedback.core.types import MarkerKind, SourceState
from biofeedback.session.launch import SessionRequest
from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import PYTHON, cli_env, save_screenshot
from sensors.simulated import SimulatedStrap

SHORT_PROTOCOL = """
id = "short_stress"
name = "Short stress reactivity"
category = "stress_reactivity"
description = "A shortened stress-reactivity session for tests."

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
duration_s = 60
instructions = "Sit quietly with your eyes open and breathe naturally."

[[phases.prompts]]
at_s = 20
text = "Keep resting quietly."

[[phases]]
id = "report_baseline"
name = "After the baseline"
kind = "self_report"
duration_s = 30
instructions = "Rate each question from 0 to 10."

[[phases]]
id = "stressor"
name = "Mental arithmetic"
kind = "stressor"
duration_s = 60
instructions = "Count backwards from 1022 in steps of 13."

[phases.stressor]
task = "serial_subtraction"

[[phases]]
id = "practice"
name = "Paced breathing"
kind = "practice"
practice = "resonance_breathing"
category = "breathing"
duration_s = 90
instructions = "Follow the pacer."

[phases.pacer]
breaths_per_min = 6.0

[[phases]]
id = "recovery"
name = "Recovery"
kind = "recovery"
duration_s = 60
instructions = "Rest quietly."
"""


wait_for = waiter(20.0)


def _open_window(qtbot, qt_loop, data_dir, *, neurokit: bool):
    win = MainWindow(data_dir, WindowPreferences(), neurokit=neurokit)
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.running and win.current is not None:
        win.current.stop()
        qt_loop.run_until_complete(wait_for(lambda: not win.running, what="session end"))


@pytest.fixture
def window(qtbot, qt_loop, data_dir):
    yield from _open_window(qtbot, qt_loop, data_dir, neurokit=False)


@pytest.fixture
def window_with_neurokit(qtbot, qt_loop, data_dir):
    """The window whose sessions run the neurokit2 worker (live HRV values, the ECG check)."""
    yield from _open_window(qtbot, qt_loop, data_dir, neurokit=True)


def no_dialogs() -> bool:
    return not any(isinstance(w, QMessageBox) and w.isVisible()
                   for w in QApplication.topLevelWidgets())


def record_session(data_dir: Path, qt_loop, duration_s: float = 600.0, seed: int = 5) -> int:
    with SessionStore.open(data_dir) as store:
        session = LiveSession(SimulatedStrap(seed=seed, speed=None, duration_s=duration_s),
                              store=store, participant_id="p07", neurokit=False)
        qt_loop.run_until_complete(session.run())
        assert session.session_id is not None
        return session.session_id


def stored(data_dir: Path, session_id: int):
    with SessionStore.open(data_dir) as store:
        return store.session_info(session_id), store.load_recording(session_id)


def test_closing_mid_session_finishes_the_recording(window, qt_loop, data_dir, qtbot):
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))

    async def scenario() -> int:
        window.start_session(
            SessionRequest(source="sim", speed=20.0, seed=3, participant_id="p01")
        )
        await wait_for(lambda: window.status.n_beats >= 60, what="60 beats")
        session_id = window.current.session.session_id
        assert session_id is not None
        # The marker shortcut, with a new label that becomes the first reusable one.
        window.marker_bar.label_combo.setCurrentText("phone rang")
        qtbot.keyClick(window, Qt.Key.Key_M)
        save_screenshot(window, "window_free_practice")
        window.close()
        # The window stays until the recording is finished, then closes by itself.
        assert window.isVisible()
        await wait_for(lambda: closed, what="the window to close")
        return session_id

    session_id = qt_loop.run_until_complete(scenario())
    assert not window.isVisible() and not window.running
    info, rec = stored(data_dir, session_id)
    assert info.status == "complete"
    assert info.participant_id == "p01"
    assert rec.n_beats == window.status.n_beats >= 60
    assert [m.label for m in rec.markers] == ["phone rang"]
    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["last_source"] == "sim"
    assert saved["marker_labels"][0] == "phone rang"


def test_settings_persist_between_runs(qtbot, qt_loop, data_dir):
    first = MainWindow(data_dir, neurokit=False)
    qtbot.addWidget(first)
    first.live_view.set_span_s(600.0)
    first.guidance.pacer.rate_spin.setValue(5.5)
    first.source_panel.set_participant("p42")
    first.close()
    saved = WindowPreferences.load(data_dir)
    assert saved.plot_span_s == 600.0
    assert saved.pacer_breaths_per_min == 5.5
    assert saved.participant_id == "p42"
    second = MainWindow(data_dir, neurokit=False)
    qtbot.addWidget(second)
    assert second.live_view.span_s == 600.0
    assert second.guidance.pacer.settings.breaths_per_min == 5.5
    assert second.source_panel.participant_id() == "p42"
    # A damaged settings file is named, and the window opens with the defaults.
    (data_dir / "settings.json").write_text('{"plot_span_s": 600,\n  "speed": oops}\n')
    third = MainWindow(data_dir, neurokit=False)
    qtbot.addWidget(third)
    assert third.live_view.span_s == 300.0
    assert "settings.json, line 2: not JSON" in third.statusBar().currentMessage()


def test_a_bad_source_is_reported_in_words_and_the_window_stays_usable(window, qt_loop):
    async def scenario() -> None:
        window.start_session(SessionRequest(source="replay:999", record=False))
        await wait_for(lambda: window.last_error, what="set-up failure")
        await wait_for(lambda: not window.running, what="set-up end")
        assert "no session 999" in window.last_error
        assert "Traceback" not in window.last_error
        assert "no session 999" in window.statusBar().currentMessage()
        assert "no session 999" in window.source_panel.error_text("start").lower()
        assert no_dialogs()
        # Still usable: a good session starts afterwards.
        window.start_session(SessionRequest(source="sim", speed=50.0, seed=1, record=False))
        await wait_for(lambda: window.status.n_beats >= 20, what="beats")
        window.stop_session()
        await wait_for(lambda: not window.running, what="stop")

    qt_loop.run_until_complete(scenario())


def test_a_session_that_ends_lets_the_collector_visit_its_objects_again(window, qt_loop):
    # The loop's collector freezes long-lived objects (so that a full pass is short); once a
    # session ended, its objects can be garbage and must be visited again.
    frozen_at_end: list[int] = []
    window.session_finished.connect(lambda _p: frozen_at_end.append(gc.get_freeze_count()))

    async def scenario() -> None:
        window.start_session(SessionRequest(source="sim", speed=50.0, seed=1, record=False))
        await wait_for(lambda: window.status.n_beats >= 20, what="beats")
        assert gc.get_freeze_count() > 0
        window.stop_session()
        await wait_for(lambda: not window.running, what="stop")

    qt_loop.run_until_complete(scenario())
    assert frozen_at_end == [0]


def test_replay_through_the_window_with_pause_speed_and_seek(window, qt_loop, data_dir):
    session_id = record_session(data_dir, qt_loop, duration_s=600.0)
    window.settings.speed = 20.0

    async def scenario() -> None:
        window.browser.replay_requested.emit(session_id)
        assert window.tabs.currentIndex() == 0
        await wait_for(lambda: window.status.n_beats >= 40, what="replay")
        source = window.current.source
        assert window.replay_bar.isVisible()
        # Pause: the replay clock stops.
        window.replay_bar.toggle_play()
        await wait_for(lambda: window.status.state is SourceState.PAUSED, what="pause")
        paused_at = source.session_time_s()
        await asyncio.sleep(0.3)
        assert source.session_time_s() == pytest.approx(paused_at, abs=1e-6)
        window.replay_bar.toggle_play()
        # Seek to 400 s: plots jump there, nothing between is drawn, nothing stored again.
        before = window.status.n_beats
        window.replay_bar.seek(400.0)
        await wait_for(lambda: source.session_time_s() > 420.0, what="replay past 420 s")
        await wait_for(lambda: window.status.n_beats > before + 10, what="beats after seek")
        window._draw_frame()
        t = window.live_view.traces.beat_arrays()[0]
        t = t[np.isfinite(t)]
        assert t[-1] > 400.0
        assert not ((t > paused_at + 5.0) & (t < 400.0)).any()
        window._on_clock()
        save_screenshot(window, "window_replay")
        # Max speed plays the rest at once.
        window.replay_bar.set_speed(None)
        await wait_for(lambda: not window.running, what="replay end")

    qt_loop.run_until_complete(scenario())
    assert window.settings.speed is None
    with SessionStore.open(data_dir) as store:
        assert [s.id for s in store.list_sessions()] == [session_id]


def test_ble_strap_through_the_window_scan_connect_link_loss_reconnect(
    window, qt_loop, data_dir, virtual_strap
):
    panel = window.source_panel

    async def scenario() -> int:
        panel.set_source("ble")
        straps = await panel.scan(3.0)
        assert [s.address for s in straps] == [virtual_strap.device_address]
        panel.select_strap(virtual_strap.device_address)
        save_screenshot(window, "window_ble_scan")
        panel.start_button.click()
        await wait_for(lambda: window.status.n_beats >= 30, 30.0, "beats")
        assert window.current.request.source == f"ble:{virtual_strap.device_address}"
        assert window.status.state is SourceState.STREAMING
        virtual_strap.link_loss()
        await wait_for(lambda: window.status.state is SourceState.RECONNECTING, 20.0,
                       "link loss")
        window._refresh_status()
        save_screenshot(window, "window_ble_reconnecting")
        assert "Reconnecting" in window.status_label.text()
        after = window.status.n_beats
        await wait_for(
            lambda: window.status.state is SourceState.STREAMING
            and window.status.n_beats >= after + 30, 30.0, "reconnection",
        )
        assert window.status.reconnections == 1
        assert "1 reconnection" in window.status_label.text()
        # A Polar H10 taken off: no contact bits, heart rate 0, no RR.
        assert virtual_strap.command("h10-flags on") == "OK h10-flags on"
        assert virtual_strap.command("off-body") == "OK off-body"

        def says(text: str) -> bool:
            window._refresh_status()
            return text in window.status_label.text()

        await wait_for(lambda: says("strap not on the skin?"), 10.0, "off-body status")
        save_screenshot(window, "window_ble_off_body")
        assert virtual_strap.command("on-body") == "OK on-body"  # before its 45-s hang-up
        await wait_for(lambda: says("Heartbeats from the strap again"), 10.0, "back on")
        assert no_dialogs()
        session_id = window.current.session.session_id
        window.stop_session()
        await wait_for(lambda: not window.running, 20.0, "stop")
        return session_id

    session_id = qt_loop.run_until_complete(scenario())
    info, rec = stored(data_dir, session_id)
    assert info.status == "complete"
    assert [m.label for m in rec.markers if m.kind is MarkerKind.CONNECTION] == [
        "disconnected", "reconnected"
    ]
    assert len(rec.gaps) >= 1
    assert window.settings.known_straps[0].address == virtual_strap.device_address
    assert WindowPreferences.load(data_dir).known_straps[0].address == virtual_strap.device_address


def test_app_command_writes_a_screenshot_and_finishes_the_session(data_dir, tmp_path):
    shot = tmp_path / "window.png"
    env = cli_env(data_dir)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["BIOFEEDBACK_REPORT_STARTUP"] = "1"
    out = subprocess.run(
        [PYTHON, "-m", "biofeedback", "app", "--source", "sim", "--speed", "20", "--seed", "2",
         "--no-neurokit", "--quit-after", "4", "--screenshot", str(shot)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    # The window is up before neurokit2 is imported.
    assert "neurokit2 imported: no" in out.stdout
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 1000 and image.height() >= 600
    listed = subprocess.run(
        [PYTHON, "-m", "biofeedback", "sessions", "--json"], capture_output=True, text=True,
        env=env, check=True,
    )
    sessions = json.loads(listed.stdout)["sessions"]
    assert len(sessions) == 1
    assert sessions[0]["status"] == "complete" and sessions[0]["beats"] > 40


def test_whole_simulated_protocol_session_driven_through_the_window(
    window, qt_loop, data_dir, tmp_path, qtbot
):
    protocol_file = tmp_path / "short_stress.toml"
    protocol_file.write_text(SHORT_PROTOCOL, encoding="utf-8")
    guidance = window.guidance
    shots: dict[str, bool] = {}
    answers_given: list[tuple[int, int]] = []
    reports: list[dict[str, int]] = []

    def shoot(name: str) -> None:
        if name not in shots:
            shots[name] = True
            window._on_clock()
            window._draw_frame()
            save_screenshot(window, name)

    async def drive() -> None:
        window.start_session(SessionRequest(
            source="sim", protocol_id=str(protocol_file), participant_id="p09", speed=30.0,
            seed=11,
        ))
        await wait_for(lambda: window.current is not None or window.last_error,
                       what="session set-up")
        assert not window.last_error
        while window.running:
            phase = guidance.phase
            kind = None if phase is None else str(phase.kind)
            if kind == "baseline" and window.status.n_beats > 20:
                shoot("window_baseline")
            elif kind == "self_report" and guidance.self_report_panel.phase is not None:
                shoot("window_self_report")
                values = {s.item.id: 3 + len(reports) for s in guidance.self_report_panel.sliders}
                for slider in guidance.self_report_panel.sliders:
                    slider.set_value(values[slider.item.id])
                guidance.self_report_panel.submit_button.click()
                reports.append(values)
            elif kind == "stressor":
                screen = guidance.stressor_screen
                screen.refresh()
                prompt = screen.shown_prompt
                if prompt is not None and screen.answer_edit.isEnabled() and (
                    not answers_given or answers_given[-1][0] != prompt.index
                ):
                    # Every third answer wrong, to see the error feedback.
                    value = prompt.expected + (1 if len(answers_given) % 3 == 2 else 0)
                    qtbot.keyClicks(screen.answer_edit, str(value))
                    qtbot.keyClick(screen.answer_edit, Qt.Key.Key_Return)
                    answers_given.append((prompt.index, value))
                    if len(answers_given) == 3:
                        shoot("window_stressor")
            elif kind == "practice" and guidance.pacer.isVisible() and (
                window.current.source.session_time_s() > 200
            ):
                shoot("window_practice_pacer")
            await asyncio.sleep(0.02)

    qt_loop.run_until_complete(drive())
    assert window.last_error == ""
    sessions = []
    with SessionStore.open(data_dir) as store:
        sessions = store.list_sessions()
        assert len(sessions) == 1
        session_id = sessions[0].id
    info, rec = stored(data_dir, session_id)
    assert info.status == "complete" and info.protocol_id == "short_stress"
    assert [p.phase_id for p in rec.phases] == [
        "baseline", "report_baseline", "stressor", "practice", "recovery"
    ]
    durations = [round(p.end_s - p.start_s) for p in rec.phases]
    assert durations == [60, 30, 60, 90, 60]
    labels = [m.label for m in rec.markers]
    assert "protocol completed" in labels
    # The answers given through the sliders are stored as they were given.
    report_markers = [m for m in rec.markers if m.kind is MarkerKind.SELF_REPORT]
    stored_values = {m.extra["item"]: m.extra["value"] for m in report_markers
                     if "item" in m.extra}
    assert reports and stored_values == reports[0]
    # The stressor answers typed in the screen are stored, graded.
    answered = [m for m in rec.markers if m.kind is MarkerKind.STRESSOR
                and m.extra.get("event") == "answer"]
    assert len(answered) >= 3
    assert [m.extra["answer"] for m in answered[:3]] == [v for _, v in answers_given[:3]]
    assert [m.extra["correct"] for m in answered[:3]] == [True, True, False]
    assert set(shots) == {
        "window_baseline", "window_self_report", "window_stressor", "window_practice_pacer"
    }
    # The plots show the session: phases shaded, beats drawn.
    assert window.live_view.traces.n_beats == rec.n_beats


def test_app_without_a_display_says_so_instead_of_crashing(data_dir):
    env = cli_env(data_dir)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    out = subprocess.run([PYTHON, "-m", "biofeedback"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 1
    assert "no display to open the window on" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_lsl_switch_publishes_the_session_beats(window, qt_loop):
    import pylsl

    window.source_panel.lsl_check.setChecked(True)
    assert window.source_panel.request().lsl is True

    async def scenario() -> list[float]:
        window.start_session(SessionRequest(source="sim", speed=20.0, seed=8, record=False,
                                            lsl=True))
        await wait_for(lambda: window.lsl_publisher is not None, what="publisher")
        found = await asyncio.to_thread(pylsl.resolve_byprop, "name", "biofeedback-RR", 1, 5.0)
        assert found, "no biofeedback-RR stream"
        inlet = pylsl.StreamInlet(found[0])
        await asyncio.to_thread(inlet.open_stream, 5.0)
        values: list[float] = []
        deadline = time.monotonic() + 15.0
        while len(values) < 20 and time.monotonic() < deadline:
            chunk, _ = await asyncio.to_thread(inlet.pull_chunk, 0.2)
            values += [sample[0] for sample in chunk]
        inlet.close_stream()
        window.stop_session()
        await wait_for(lambda: not window.running, what="stop")
        return values

    values = qt_loop.run_until_complete(scenario())
    assert len(values) >= 20 and all(300.0 < v < 2000.0 for v in values)
    assert window.lsl_publisher is None  # closed with the session


def test_a_full_disk_stops_the_session_and_says_what_was_saved(window, qt_loop, data_dir):
    async def scenario() -> None:
        window.start_session(SessionRequest(source="sim", speed=60.0, seed=4,
                                            participant_id="p01"))
        await wait_for(lambda: window.current is not None
                       and window.current.session.session_id is not None, what="recording")
        await asyncio.sleep(0.5)
        store = window.current.session.store
        # SQLite's own size limit: the database may not grow by one more page.
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        await wait_for(lambda: not window.running, 60.0, "the session to stop")

    qt_loop.run_until_complete(scenario())
    info = window.current_session_info()
    assert re.fullmatch(
        rf"the disk holding {re.escape(str(data_dir))} is full: session 1 was saved up to "
        r"\d\d:\d\d:\d\d \([\d,]+ beats\) and closed as interrupted; free space on it and "
        r"start a new recording", info["error"]), info
    assert not info["running"]
    assert window.status_bar.currentMessage() == f"Error: {info['error']}"
    assert info["status"].startswith("Stopped with an error · ")
    save_screenshot(window, "window_disk_full")
    session, recording = stored(data_dir, 1)
    assert (session.status, session.end_reason) == ("interrupted", "disk full")
    beats = int(re.search(r"\(([\d,]+) beats\)", info["error"])[1].replace(",", ""))
    assert recording.n_beats == beats > 0
