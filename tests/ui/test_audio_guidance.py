"""biofeedback.ui.audio_guidance: volume and mute in the window, and when a session's audio
guidance plays (live at real time; a replay only when asked; never at another speed).

This process sees no sound server (tests/conftest.py, as CI): where the rules say "play",
the window says there is no audio output device, and nothing breaks. What is heard through
a real sound server is tested in test_audio_output.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from ui_helpers import waiter

from biofeedback.core.types import Marker, MarkerKind
from biofeedback.session.launch import SessionRequest, prepare_session
from biofeedback.ui.audio_guidance import AudioGuidance
from biofeedback.ui.audio_output import NO_DEVICE_MESSAGE, AudioOutput
from biofeedback.ui.main_window import MainWindow
from biofeedback.ui.preference_sync import PreferenceSync
from biofeedback.viewmodels.audio_guidance import decide_audio, volume_text
from biofeedback.viewmodels.preferences import SETTINGS_FILE, WindowPreferences
from conftest import DATA, save_screenshot

RR_FILE = DATA / "import" / "Polar_H10_A1B2C3D4_20210312_101530_RR.txt"
wait_for = waiter(20.0)
REPLAY_NOTE = "audio guidance is not played in replays (Audio > Play audio in replays)"


class SilentProgram:
    """Test input with an AudioProgram's shape: silence, no cues; counts what it renders."""

    sample_rate = 48000

    def __init__(self) -> None:
        self.rendered = 0

    def render(self, start_s: float, n_frames: int) -> np.ndarray:
        self.rendered += n_frames
        return np.zeros(n_frames, np.float32)

    def cues_in(self, start_s: float, end_s: float) -> list:
        return []

    def confirm_played(self, cue: object, actual_s: float) -> None:
        raise AssertionError("nothing can be played without a sound server")

    def plan(self) -> None:
        return None  # silence has no plan that changes

    def twin(self) -> SilentProgram:
        return self

    def follow(self, plan: object) -> None:
        pass


@pytest.fixture
def audio(qtbot, data_dir):
    settings = WindowPreferences()
    messages: list[str] = []
    guidance = AudioGuidance(settings, PreferenceSync(settings, data_dir, messages.append))
    qtbot.addWidget(guidance.controls)
    yield guidance
    guidance.session_ended()
    assert messages == []  # every save worked


@pytest.fixture
def prepared(data_dir):
    made = []

    def make(request: SessionRequest, program: SilentProgram | None = None):
        session = prepare_session(request, data_dir, neurokit=False)
        if program is not None:
            session.audio_program = program  # what the audio package's launch sets
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def saved(data_dir) -> dict:
    return json.loads((data_dir / SETTINGS_FILE).read_text(encoding="utf-8"))


def test_the_rules_say_when_audio_guidance_plays():
    assert decide_audio("ble", 1.0, has_program=True, play_in_replays=False).play
    assert decide_audio("ble", None, has_program=True, play_in_replays=False).play  # a strap
    assert decide_audio("sim", 1.0, has_program=True, play_in_replays=False).play
    assert decide_audio("replay", 1.0, has_program=True, play_in_replays=True).play
    assert decide_audio("sim", 1.0, has_program=False, play_in_replays=True).reason == ""
    assert decide_audio("replay", 1.0, has_program=True,
                        play_in_replays=False).reason == REPLAY_NOTE
    assert decide_audio("replay", 8.0, has_program=True, play_in_replays=True).reason == (
        "audio guidance is not played at 8x: only at real-time speed")
    assert decide_audio("sim", None, has_program=True, play_in_replays=False).reason == (
        "audio guidance is not played as fast as possible: only at real-time speed")
    assert (volume_text(0.8, False), volume_text(0.8, True)) == ("audio 80 %", "audio muted")


def test_a_session_without_audio_guidance_says_nothing(audio, prepared):
    audio.session_started(prepared(SessionRequest(source="sim", speed=1.0, record=False)))
    assert not audio.output.playing
    assert audio.note == "" and audio.controls.note_label.isHidden()


def test_a_live_session_without_a_sound_device_says_so_and_goes_on(audio, prepared):
    program = SilentProgram()
    audio.session_started(prepared(SessionRequest(source="sim", speed=1.0, record=False),
                                   program))
    assert audio.note == NO_DEVICE_MESSAGE
    assert audio.controls.note_label.text() == NO_DEVICE_MESSAGE
    assert not audio.controls.note_label.isHidden()
    assert not audio.output.playing and program.rendered == 0
    audio.session_ended()
    assert audio.note == "" and audio.controls.note_label.isHidden()


def test_a_replay_plays_nothing_unless_asked(audio, prepared, data_dir):
    program = SilentProgram()
    audio.session_started(prepared(
        SessionRequest(source=f"replay:{RR_FILE}", speed=1.0, record=False), program))
    assert audio.note == REPLAY_NOTE and not audio.output.playing
    # Asked (Audio > Play audio in replays): it would play; here there is no device.
    audio.replays_action.trigger()
    assert audio.settings.audio_in_replays and saved(data_dir)["audio_in_replays"] is True
    assert audio.note == NO_DEVICE_MESSAGE
    audio.replays_action.trigger()
    assert audio.note == REPLAY_NOTE and saved(data_dir)["audio_in_replays"] is False
    assert program.rendered == 0


def test_audio_guidance_plays_at_real_time_speed_only(audio, prepared):
    audio.settings.audio_in_replays = True
    audio.session_started(prepared(
        SessionRequest(source=f"replay:{RR_FILE}", speed=8.0, record=False), SilentProgram()))
    assert audio.note == "audio guidance is not played at 8x: only at real-time speed"
    audio.speed_changed(1.0)  # the replay bar's speed
    assert audio.note == NO_DEVICE_MESSAGE
    audio.speed_changed(None)
    assert audio.note == (
        "audio guidance is not played as fast as possible: only at real-time speed")


def test_volume_and_mute_follow_the_controls_and_are_remembered(audio, data_dir, qtbot):
    controls = audio.controls
    assert controls.volume_slider.value() == 80 and not controls.mute_button.isChecked()
    controls.volume_slider.setValue(35)
    assert audio.output.volume == pytest.approx(0.35)
    assert saved(data_dir)["audio_volume"] == pytest.approx(0.35)
    qtbot.mouseClick(controls.mute_button, Qt.MouseButton.LeftButton)
    assert audio.output.muted and audio.mute_action.isChecked()
    assert saved(data_dir)["audio_muted"] is True
    assert "unmute" in controls.mute_button.toolTip()
    audio.mute_action.trigger()  # Audio > Mute (Ctrl+Shift+M)
    assert not audio.output.muted and not controls.mute_button.isChecked()
    assert saved(data_dir)["audio_muted"] is False


def test_voice_and_speech_rate_are_checked_and_remembered(audio, data_dir):
    audio.set_voice(" en-gb ")
    audio.set_speech_rate(120)
    assert (saved(data_dir)["audio_voice"], saved(data_dir)["speech_rate_wpm"]) == (
        "en-gb", 120.0)
    with pytest.raises(ValueError, match="expected a voice name"):
        audio.set_voice("")
    with pytest.raises(ValueError, match=r"speech rate must be 80\.\.450 words/min, not 20"):
        audio.set_speech_rate(20)
    assert audio.settings.audio_voice == "en-gb" and audio.settings.speech_rate_wpm == 120.0


def test_the_window_has_volume_and_mute_in_its_status_bar(qtbot, qt_loop, data_dir):
    settings = WindowPreferences(audio_volume=0.6, audio_muted=False)
    win = MainWindow(data_dir, settings, neurokit=False)
    qtbot.addWidget(win)
    win.show()
    assert isinstance(win.audio_output, AudioOutput)
    assert win.audio.controls.volume_slider.value() == 60
    assert win.audio.controls.isVisibleTo(win)
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Audio")
    assert [a.text() for a in menu.actions() if a.text()] == [
        "&Mute audio guidance", "Play audio in &replays", "&Voice…", "Speech &rate…"]
    win.audio.controls.set_note(NO_DEVICE_MESSAGE)  # as a session would show it
    save_screenshot(win.statusBar(), "window_audio_controls")
    win.audio.controls.set_note("")
    win.close()


def test_a_live_session_in_the_window_says_when_its_guidance_cannot_be_heard(
        qtbot, qt_loop, data_dir):
    from biofeedback.audio.program import AudioProgram

    win = MainWindow(data_dir, WindowPreferences(), neurokit=False)
    qtbot.addWidget(win)
    win.show()
    started = []
    markers: list[Marker] = []

    def on_started(prepared) -> None:
        started.append(prepared)
        prepared.session.subscribe(lambda e: markers.append(e) if isinstance(e, Marker) else None)

    win.session_started.connect(on_started)
    # A built-in protocol: chimes and speech, synthesized before the session starts.
    win.start_session(SessionRequest(source="sim", speed=1.0, record=False, duration_s=2.0,
                                     protocol_id="quiet_rest"))

    async def run() -> None:
        await wait_for(lambda: win.current is not None and win.status.n_beats > 0,
                       what="beats")
        assert win.audio.controls.note_label.text() == NO_DEVICE_MESSAGE
        save_screenshot(win, "window_audio_no_device")
        await wait_for(lambda: not win.running, what="session end")

    qt_loop.run_until_complete(run())
    assert isinstance(started[0].audio_program, AudioProgram)
    assert win.audio.controls.note_label.isHidden()  # the session is over
    # Nothing was heard, so no cue was confirmed as played.
    assert not [m for m in markers if m.kind is MarkerKind.AUDIO]
    win.close()


def test_the_output_is_opened_while_a_session_that_may_play_is_set_up(audio, prepared):
    # No sound server here: opening ahead fails quietly, and a session without audio
    # guidance still says nothing about devices.
    request = SessionRequest(source="sim", speed=1.0, record=False, protocol_id="x")
    audio.session_requested(request)
    assert audio.output.message == NO_DEVICE_MESSAGE and audio.note == ""
    audio.session_started(prepared(SessionRequest(source="sim", speed=1.0, record=False)))
    assert audio.note == "" and audio.controls.note_label.isHidden()


def test_a_replay_of_a_protocol_says_its_guidance_is_not_played(audio, prepared):
    # The session layer gives a replay not asked to play no program at all; the protocol
    # it runs is reason enough to say why nothing is heard.
    audio.session_started(prepared(SessionRequest(
        source=f"replay:{RR_FILE}", speed=1.0, record=False, protocol_id="resonance_breathing")))
    assert audio.note == REPLAY_NOTE
    audio.session_ended()
    audio.session_started(prepared(SessionRequest(
        source="sim", speed=1.0, record=False, protocol_id="resonance_breathing")))
    # Live at real time it is meant to play; the tests' sound server does not exist.
    assert audio.note == "no audio output device: guidance is shown but not played"


_LAZY_AUDIO_SCRIPT = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.preferences import WindowPreferences
win = MainWindow(Path(sys.argv[1]), WindowPreferences(audio_volume=0.3, audio_muted=True),
                 neurokit=False)
win.show()
app.processEvents()
loaded = ["PySide6.QtMultimedia" in sys.modules]
win.audio.session_requested(SessionRequest(source="sim", speed=None))  # max speed: silent
loaded.append("PySide6.QtMultimedia" in sys.modules)
win.audio.session_requested(
    SessionRequest(source="sim", speed=1.0, protocol_id="resonance_breathing"))
loaded.append("PySide6.QtMultimedia" in sys.modules)
out = win.audio.output
print(json.dumps({"loaded": loaded, "volume": out.volume, "muted": out.muted}))
""".replace("import sys\n", "import json, sys\n")


def test_qt_multimedia_loads_only_when_a_session_may_play_audio(data_dir):
    """In a fresh process (this one has loaded it already): not with the window, nor for a
    session at max speed; then the output has the settings' volume and mute."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", _LAZY_AUDIO_SCRIPT, str(data_dir)],
                          capture_output=True, text=True, env=env, cwd=root, check=True,
                          timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"loaded": [False, False, True], "volume": 0.3, "muted": True}
