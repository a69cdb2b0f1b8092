"""The window's audio guidance: the volume and mute controls, the Audio menu, and playing a
session's audio program through :class:`~biofeedback.ui.audio_output.AudioOutput`.

The output (Qt Multimedia, with FFmpeg: about 0.9 s to load) is made the first time it is
needed, when a session that may play audio is set up, not with the window.

A session's program is ``prepared.audio_program`` (an
:class:`~biofeedback.audio.program.AudioProgram`, or None when the session plays no audio).
It plays only in a live session at real-time speed, and in a replay only when the user asked
(:func:`biofeedback.viewmodels.audio_guidance.decide_audio`); the status bar says why when it
does not, and says so when there is no audio output device. The output is opened while a
session that may play is set up (:meth:`AudioGuidance.session_requested`), and a paused
replay holds it open on silence, so that playing (again) is heard at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import SourceState, StatusChange
from biofeedback.viewmodels.audio_guidance import decide_audio, volume_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from biofeedback.session.launch import PreparedSession, SessionRequest
    from biofeedback.ui.audio_output import AudioOutput
    from biofeedback.ui.preference_sync import PreferenceSync
    from biofeedback.viewmodels.preferences import WindowPreferences

__all__ = ["WARM_UP_RATE", "AudioControls", "AudioGuidance", "AudioProgramLike"]

WARM_UP_RATE = 48_000
"""Rate the output is opened at ahead of a session, frames/s (the audio package's programs
render at 48 kHz; a program at another rate reopens the output, losing the head start)."""

_NOTE_STYLE = "color: #6b4e00;"


class AudioProgramLike(Protocol):
    """What the window needs of an audio program (``biofeedback.audio.program``'s
    AudioProgram; the ui layer does not import the audio package itself).

    The output renders on its audio thread: from the program's :meth:`twin`, which reads only
    the plans handed to its :meth:`follow` (the runner changes on the GUI thread)."""

    sample_rate: int

    def render(self, start_s: float, n_frames: int) -> np.ndarray: ...

    def cues_in(self, start_s: float, end_s: float) -> Sequence[Any]: ...

    def confirm_played(self, cue: Any, actual_s: float) -> None: ...

    def plan(self) -> object: ...

    def twin(self) -> AudioProgramLike: ...

    def follow(self, plan: Any) -> None: ...


class AudioControls(QWidget):
    """Mute button, volume slider and a note saying why nothing plays (for the status bar).

    Parameters
    ----------
    volume : float
        Initial volume, 0..1.
    muted : bool
        Initially muted.

    Signals
    -------
    volume_changed(float)
        The user moved the slider (0..1).
    muted_changed(bool)
        The user pressed the mute button.
    """

    volume_changed = Signal(float)
    muted_changed = Signal(bool)

    def __init__(self, volume: float, muted: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note_label = QLabel("", self)
        self.note_label.setStyleSheet(_NOTE_STYLE)
        self.note_label.hide()
        self.mute_button = QToolButton(self)
        self.mute_button.setCheckable(True)
        self.mute_button.setAutoRaise(True)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(110)
        self.volume_slider.setToolTip("Volume of the audio guidance")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addWidget(self.note_label)
        layout.addWidget(self.mute_button)
        layout.addWidget(self.volume_slider)
        self.set_state(volume, muted)
        self.volume_slider.valueChanged.connect(self._on_slider)
        self.mute_button.toggled.connect(self._on_mute)

    def set_state(self, volume: float, muted: bool) -> None:
        """Show ``volume`` (0..1) and ``muted`` without emitting the change signals."""
        for widget in (self.volume_slider, self.mute_button):
            widget.blockSignals(True)
        self.volume_slider.setValue(round(min(1.0, max(0.0, volume)) * 100))
        self.mute_button.setChecked(muted)
        for widget in (self.volume_slider, self.mute_button):
            widget.blockSignals(False)
        self._show_mute(muted)

    def set_note(self, text: str) -> None:
        """Say why the guidance is not heard (``""`` hides the note)."""
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))

    def _show_mute(self, muted: bool) -> None:
        icon = (QStyle.StandardPixmap.SP_MediaVolumeMuted if muted
                else QStyle.StandardPixmap.SP_MediaVolume)
        self.mute_button.setIcon(self.style().standardIcon(icon))
        self.mute_button.setToolTip(
            f"{volume_text(self.volume_slider.value() / 100, muted).capitalize()}: "
            f"{'unmute' if muted else 'mute'} the audio guidance (Ctrl+Shift+M)"
        )

    def _on_slider(self, value: int) -> None:
        self._show_mute(self.mute_button.isChecked())
        self.volume_changed.emit(value / 100)

    def _on_mute(self, muted: bool) -> None:
        self._show_mute(muted)
        self.muted_changed.emit(muted)


class AudioGuidance(QObject):
    """Plays the running session's audio program with the user's volume, mute and rules.

    Parameters
    ----------
    settings : WindowPreferences
        The window's settings (volume, mute, "play audio in replays").
    preferences : PreferenceSync
        Saves the user's changes.
    parent : QObject, optional

    Attributes
    ----------
    output : AudioOutput
        The sound card side (made, and Qt Multimedia loaded, on first use).
    controls : AudioControls
        The status bar's volume and mute.
    mute_action, replays_action, voice_action, speech_rate_action : QAction
        The Audio menu's entries.
    """

    def __init__(
        self, settings: WindowPreferences, preferences: PreferenceSync,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.preferences = preferences
        self._output: AudioOutput | None = None
        self._volume = min(1.0, max(0.0, float(settings.audio_volume)))
        self._muted = bool(settings.audio_muted)
        self.controls = AudioControls(settings.audio_volume, settings.audio_muted)
        self._prepared: PreparedSession | None = None
        self._speed: float | None = None
        self._reason = ""
        self._meant_to_play = False
        self._paused = False
        self._unsubscribe: Callable[[], None] | None = None

        self.mute_action = QAction("&Mute audio guidance", self)
        self.mute_action.setCheckable(True)
        self.mute_action.setChecked(settings.audio_muted)
        self.mute_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.replays_action = QAction("Play audio in &replays", self)
        self.replays_action.setCheckable(True)
        self.replays_action.setChecked(settings.audio_in_replays)
        self.replays_action.setStatusTip(
            "Replays at real-time speed play their audio guidance too (off: they are silent)"
        )
        self.voice_action = QAction("&Voice…", self)
        self.voice_action.setStatusTip("The text-to-speech voice of spoken instructions")
        self.speech_rate_action = QAction("Speech &rate…", self)
        self.speech_rate_action.setStatusTip("How fast spoken instructions are read, words/min")

        self.controls.volume_changed.connect(self.set_volume)
        self.controls.muted_changed.connect(self.set_muted)
        self.mute_action.toggled.connect(self.set_muted)
        self.replays_action.toggled.connect(self.set_play_in_replays)
        self.voice_action.triggered.connect(self._ask_voice)
        self.speech_rate_action.triggered.connect(self._ask_speech_rate)

    @property
    def output(self) -> AudioOutput:
        """The sound card side; made (Qt Multimedia loaded) the first time it is asked for."""
        if self._output is None:
            from biofeedback.ui.audio_output import AudioOutput

            output = AudioOutput(self)
            output.set_volume(self._volume)
            output.set_muted(self._muted)
            output.message_changed.connect(lambda _text: self._show_note())
            self._output = output
        return self._output

    @property
    def volume(self) -> float:
        """The volume played at, 0..1."""
        return self._volume

    @property
    def muted(self) -> bool:
        """Whether the guidance is muted."""
        return self._muted

    def fill_menu(self, menu: QMenu) -> None:
        """Put the Audio entries into ``menu``."""
        for action in (self.mute_action, self.replays_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.voice_action, self.speech_rate_action):
            menu.addAction(action)

    @property
    def note(self) -> str:
        """The sentence the status bar shows about the audio (``""`` when it plays or the
        session has none)."""
        if not self._meant_to_play:
            return self._reason
        # What stops it playing (no device...), else what part of it does not (no speech).
        warning = "" if self._prepared is None else self._prepared.audio_warning
        message = self._output.message if self._output is not None else ""
        return message or warning

    # -- the user's choices ----------------------------------------------------------------

    def set_volume(self, volume: float) -> None:
        """Play at ``volume`` (0..1, clamped) and remember it."""
        self._volume = min(1.0, max(0.0, float(volume)))
        if self._output is not None:
            self._output.set_volume(self._volume)
        self.preferences.audio_volume(self._volume)
        self.controls.set_state(self._volume, self._muted)

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute, and remember it."""
        self._muted = bool(muted)
        if self._output is not None:
            self._output.set_muted(self._muted)
        self.preferences.audio_muted(muted)
        self.controls.set_state(self._volume, self._muted)
        self.mute_action.blockSignals(True)
        self.mute_action.setChecked(muted)
        self.mute_action.blockSignals(False)

    def set_play_in_replays(self, play: bool) -> None:
        """Play replays' audio guidance (at real-time speed) or not, and remember it."""
        self.preferences.audio_in_replays(play)
        self._apply()

    def set_voice(self, voice: str) -> None:
        """Use ``voice`` for text-to-speech (ValueError for a name it cannot be); heard from
        the next session on."""
        self.preferences.audio_voice(voice)

    def set_speech_rate(self, words_per_min: float) -> None:
        """Speak at ``words_per_min`` (80..450; ValueError otherwise); from the next session."""
        self.preferences.speech_rate(words_per_min)

    def _ask_voice(self) -> None:
        from biofeedback.audio.speech import SpeechError, list_voices

        try:
            voices = [f"{v.id} ({v.name})" for v in list_voices()]
        except SpeechError as exc:
            self.controls.set_note(str(exc))
            voices = []
        current = self.settings.audio_voice
        ids = [v.split(" ", 1)[0] for v in voices]
        item, ok = QInputDialog.getItem(
            self.controls.window(), "Voice", "Text-to-speech voice (the engine's voices; "
            "another name may be typed):", voices or [current],
            ids.index(current) if current in ids else 0, True,
        )
        text = item.split(" (", 1)[0].strip()
        if ok:
            try:
                self.set_voice(text)
            except ValueError as exc:
                self.controls.set_note(f"voice not changed: {exc}")

    def _ask_speech_rate(self) -> None:
        rate, ok = QInputDialog.getInt(
            self.controls.window(), "Speech rate", "Words per minute:",
            round(self.settings.speech_rate_wpm), 80, 450, 10,
        )
        if ok:
            self.set_speech_rate(rate)

    # -- sessions --------------------------------------------------------------------------

    def session_requested(self, request: SessionRequest) -> None:
        """A session is being set up: open the output now if it may play audio guidance
        (the sound server takes up to 1.5 s to start a stream; the set-up hides some of it,
        and the first cue of a simulated session comes at its very start)."""
        try:
            kind = request.source_kind
        except BiofeedbackError:
            return  # the set-up will say what is wrong with the source
        may_have_program = request.protocol_id is not None or request.study is not None
        decision = decide_audio(kind, request.speed, has_program=may_have_program,
                                play_in_replays=self.settings.audio_in_replays)
        if decision.play:
            self.output.warm_up(WARM_UP_RATE)

    def session_started(self, prepared: PreparedSession) -> None:
        """Play ``prepared``'s audio program if the rules allow (``audio_program`` is
        read with getattr: sessions without the audio package have none)."""
        self._prepared = prepared
        self._speed = prepared.request.speed
        self._paused = False
        self._unsubscribe = prepared.session.subscribe(self._on_session_event)
        self._apply()

    def speed_changed(self, speed: float | None) -> None:
        """The replay's speed changed: the audio plays at real time only."""
        self._speed = speed
        self._apply()

    def session_ended(self) -> None:
        """Stop playing; the note goes."""
        if self._unsubscribe is not None:
            with contextlib.suppress(ValueError):
                self._unsubscribe()
            self._unsubscribe = None
        self._prepared = None
        self._stop()
        self._reason = ""
        self._meant_to_play = False
        self._show_note()

    def _on_session_event(self, event: object) -> None:
        # A paused replay's clock stands still: its guidance holds (silence) until it plays.
        if isinstance(event, StatusChange):
            paused = event.state is SourceState.PAUSED
            if paused != self._paused:
                self._paused = paused
                self._apply()

    def _apply(self) -> None:
        prepared = self._prepared
        if prepared is None:
            return
        program: AudioProgramLike | None = getattr(prepared, "audio_program", None)
        try:
            kind = prepared.request.source_kind
        except BiofeedbackError:  # a spec that parsed once to start the session
            kind = "replay"
        # A replay not asked to play gets no program from the session layer: its protocol
        # says there may be guidance to tell the user about.
        may_have = program is not None or prepared.protocol is not None
        decision = decide_audio(kind, self._speed, has_program=may_have,
                                play_in_replays=self.settings.audio_in_replays)
        self._reason = decision.reason
        self._meant_to_play = decision.play and program is not None
        if not decision.play or program is None:
            self._stop()
        elif self._paused:
            # Silence on an open stream: playing again is heard at once.
            self.output.warm_up(program.sample_rate)
        elif not self.output.playing:
            # Rendered on the audio thread from the twin; the markers are stored here.
            twin = program.twin()
            self.output.start(twin.render, prepared.source.session_time_s,
                              program.sample_rate, twin.cues_in, program.confirm_played,
                              plan=program.plan, follow_plan=twin.follow)
        self._show_note()

    def _stop(self) -> None:
        # nothing to stop (and Qt Multimedia not to load) when nothing was ever played
        if self._output is not None:
            self._output.stop()

    def _show_note(self) -> None:
        self.controls.set_note(self.note)
