"""The replay bar driving a real ReplaySource consumed by a real LiveSession on the Qt loop:
pause, speed, seek by drag and by click, Space, and the position labels."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from helpers import record_free_session
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from ui_helpers import waiter

from biofeedback.core.recording import Recording
from biofeedback.core.types import Seeked
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.ui.replay_bar import ReplayBar, format_hms
from conftest import save_screenshot
from sensors.replay import ReplaySource


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Recording:
    """A stored 10-min simulated session, read back as the browser's Replay would."""
    folder = tmp_path_factory.mktemp("replay") / "data"
    with SessionStore.open(folder) as store:
        session = record_free_session(store, seed=21, duration_s=600.0)
        return store.load_recording(session.session_id)


@pytest.fixture
def bar(qtbot) -> ReplayBar:
    widget = ReplayBar()
    qtbot.addWidget(widget)
    widget.resize(760, 44)
    widget.show()
    return widget


class Replay:
    """A replay of ``recording`` at ``speed`` through a live session (no store), watched."""

    def __init__(self, recording: Recording, speed: float | str | None) -> None:
        self.source = ReplaySource(recording, speed=speed)
        self.session = LiveSession(self.source, store=None, neurokit=False)
        self.beat_times: list[float] = []
        self.seeks: list[float] = []
        self.beats_after_seek: list[float] = []
        self.session.subscribe(self._listen)
        self.task: asyncio.Future | None = None

    def _listen(self, event: object) -> None:
        if isinstance(event, BeatsProcessed):
            times = [b.time_s for b in event.batch.beats]
            self.beat_times.extend(times)
            if self.seeks:
                self.beats_after_seek.extend(times)
        elif isinstance(event, Seeked):
            self.seeks.append(event.t_s)
            self.beats_after_seek.clear()

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.session.run())

    async def stop(self) -> None:
        self.session.request_stop()
        await asyncio.wait_for(self.task, 10)


wait_for = waiter(10.0)


def test_format_hms():
    assert format_hms(3725.4) == "1:02:05"
    assert format_hms(59.6) == "0:01:00"
    assert format_hms(0.0) == "0:00:00"
    assert format_hms(-3.0) == format_hms(math.nan) == "0:00:00"
    assert format_hms(36000.0) == "10:00:00"


def test_pause_stops_the_session_clock_and_space_resumes(bar, recording, qt_loop, qtbot):
    replay = Replay(recording, speed=10.0)
    bar.attach(replay.source)
    paused_changes: list[bool] = []
    bar.paused_changed.connect(paused_changes.append)
    assert bar.play_button.text() == "Pause" and bar.play_button.isEnabled()

    async def scenario() -> None:
        replay.start()
        await wait_for(lambda: replay.source.session_time_s() > 5.0)
        qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
        assert replay.source.paused and bar.play_button.text() == "Play"
        await asyncio.sleep(0.05)  # what was already in the source's queue is consumed
        held_time, held_beats = replay.source.session_time_s(), len(replay.beat_times)
        # At 10x, 0.4 s of wall time would be 4 s of session time (about 4 beats).
        await asyncio.sleep(0.4)
        assert replay.source.session_time_s() == held_time
        assert len(replay.beat_times) == held_beats
        bar.set_position(replay.source.session_time_s())
        assert bar.elapsed_label.text() == format_hms(held_time)

        # Space on the bar (or on its timeline) toggles play/pause.
        QTest.keyClick(bar, Qt.Key.Key_Space)
        assert not replay.source.paused and bar.play_button.text() == "Pause"
        await wait_for(lambda: replay.source.session_time_s() > held_time + 2.0)
        assert len(replay.beat_times) > held_beats
        QTest.keyClick(bar.slider, Qt.Key.Key_Space)
        assert replay.source.paused
        QTest.keyClick(bar.slider, Qt.Key.Key_Space)
        assert not replay.source.paused
        await replay.stop()

    qt_loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert paused_changes == [True, False, True, False]


def test_speed_buttons_change_the_replay_speed(bar, recording, qt_loop, qtbot):
    replay = Replay(recording, speed=1.0)
    bar.attach(replay.source)
    speeds: list[object] = []
    bar.speed_changed.connect(speeds.append)
    assert bar.speed_buttons[1.0].isChecked()

    async def scenario() -> float:
        replay.start()
        await wait_for(lambda: len(replay.beat_times) > 0)
        qtbot.mouseClick(bar.speed_buttons[2.0], Qt.MouseButton.LeftButton)
        assert replay.source.speed == 2.0 and bar.speed_buttons[2.0].isChecked()
        qtbot.mouseClick(bar.speed_buttons[10.0], Qt.MouseButton.LeftButton)
        assert replay.source.speed == 10.0
        # At 10x, 10 s of session time take about 1 s (at 1x they would take 10 s).
        start_t = replay.source.session_time_s()
        await wait_for(lambda: replay.source.session_time_s() > start_t + 10.0, 5.0)
        qtbot.mouseClick(bar.speed_buttons[None], Qt.MouseButton.LeftButton)
        assert replay.source.speed is None and bar.speed_buttons[None].isChecked()
        started = time.monotonic()
        await asyncio.wait_for(replay.task, 10)  # the rest of 10 min, as fast as it goes
        return time.monotonic() - started

    took = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert speeds == [2.0, 10.0, None]
    assert took < 5.0
    assert replay.beat_times[-1] == pytest.approx(recording.time_s[-1])

    # A speed without a button (--speed 20) checks none.
    bar.attach(ReplaySource(recording, speed=20.0))
    assert not any(b.isChecked() for b in bar.speed_buttons.values())


def test_dragging_the_timeline_seeks_on_release(bar, recording, qt_loop):
    replay = Replay(recording, speed=10.0)
    bar.attach(replay.source)
    requested: list[float] = []
    bar.seek_requested.connect(requested.append)
    slider = bar.slider
    target = 300.0

    async def scenario() -> None:
        replay.start()
        await wait_for(lambda: replay.source.session_time_s() > 3.0)
        slider.setSliderDown(True)
        slider.setSliderPosition(round(target * 1000))
        assert bar.elapsed_label.text() == "0:05:00"  # the drag shows where it goes
        # The window's position updates do not fight the drag.
        bar.set_position(replay.source.session_time_s())
        assert slider.value() == round(target * 1000) and bar.elapsed_label.text() == "0:05:00"
        assert requested == []  # nothing happens before the handle is released
        slider.setSliderDown(False)
        assert requested == [target]
        await wait_for(lambda: len(replay.beats_after_seek) >= 5)
        assert replay.seeks == [target]
        # Beats after the jump are from after the target (a notification holds the beats of
        # about one second before its arrival time).
        assert min(replay.beats_after_seek) >= target - 2.0
        assert abs(replay.source.session_time_s() - target) < 10.0
        bar.set_position(replay.source.session_time_s())
        assert abs(slider.value() / 1000 - replay.source.session_time_s()) < 0.01
        await replay.stop()

    qt_loop.run_until_complete(asyncio.wait_for(scenario(), 30))


def test_clicking_the_timeline_and_arrow_keys_seek(bar, recording, qt_loop, qtbot):
    replay = Replay(recording, speed=10.0)
    bar.attach(replay.source)
    requested: list[float] = []
    bar.seek_requested.connect(requested.append)
    slider = bar.slider
    duration = replay.source.duration_s

    async def scenario() -> None:
        replay.start()
        await wait_for(lambda: replay.source.session_time_s() > 2.0)
        click = QPoint(round(slider.width() * 0.75), slider.height() // 2)
        qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=click)
        assert len(requested) == 1
        assert requested[0] == pytest.approx(0.75 * duration, abs=0.05 * duration)
        await wait_for(lambda: len(replay.beats_after_seek) >= 3)
        assert min(replay.beats_after_seek) >= requested[0] - 2.0
        # The Right arrow jumps 5 s on from where the handle is.
        bar.set_position(replay.source.session_time_s())
        before = slider.value() / 1000
        QTest.keyClick(slider, Qt.Key.Key_Right)
        assert requested[-1] == pytest.approx(before + 5.0, abs=0.01)
        await replay.stop()

    qt_loop.run_until_complete(asyncio.wait_for(scenario(), 30))


def test_set_position_labels_and_detach(bar, recording):
    source = ReplaySource(recording, speed=1.0)
    bar.attach(source)
    assert bar.total_label.text() == format_hms(source.duration_s)
    assert bar.elapsed_label.text() == "0:00:00"
    bar.set_position(125.4)
    assert bar.elapsed_label.text() == "0:02:05"
    assert bar.slider.value() == 125400
    bar.set_position(10_000.0)  # past the end: clamped
    assert bar.elapsed_label.text() == format_hms(source.duration_s)
    bar.set_position(252.0)
    source.pause()  # paused elsewhere (the window): the button follows on the next update
    bar.set_position(252.0)
    assert bar.play_button.text() == "Play"
    save_screenshot(bar, "replay_bar")
    bar.detach()
    assert bar.source is None
    assert not bar.play_button.isEnabled() and not bar.slider.isEnabled()
    assert not any(b.isEnabled() for b in bar.speed_buttons.values())
    assert bar.elapsed_label.text() == bar.total_label.text() == "0:00:00"
    bar.toggle_play()  # no source: nothing to do, no error
    bar.seek(10.0)
    save_screenshot(bar, "replay_bar_detached")
