"""The window's settings follow the user's choices and are written at once.

Span of the plots, replay speed, pacer, the straps connected to, the marker labels used and
the audio guidance (volume, mute, voice, speech rate, replays) are remembered in
:class:`biofeedback.viewmodels.preferences.WindowPreferences` and saved to ``settings.json``
after each change, so a crash loses none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from biofeedback.viewmodels.preferences import WindowPreferences

__all__ = ["PreferenceSync"]


class PreferenceSync:
    """Writes each choice into the preferences and saves them.

    Parameters
    ----------
    settings : WindowPreferences
        The window's preferences (changed in place).
    data_dir : Path
        Folder of ``settings.json``.
    report : callable
        Shows a sentence to the user (a failed save is reported, never raised).
    """

    def __init__(
        self, settings: WindowPreferences, data_dir: Path, report: Callable[[str], None]
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self._report = report

    def save(self) -> None:
        """Write the settings (a small JSON file; a failure is reported, never raised)."""
        try:
            self.settings.save(self.data_dir)
        except OSError as exc:
            self._report(f"Could not save settings: {exc}")

    def plot_span(self, span_s: float) -> None:
        """The plots show ``span_s`` seconds."""
        self.settings.plot_span_s = float(span_s)
        self.save()

    def replay_speed(self, speed: float | None) -> None:
        """Replays run at ``speed`` (None: as fast as possible)."""
        self.settings.speed = speed
        self.save()

    def pacer(self, breaths_per_min: float, ie_ratio: float) -> None:
        """The free-practice pacer breathes ``breaths_per_min`` at ``ie_ratio``."""
        self.settings.pacer_breaths_per_min = float(breaths_per_min)
        self.settings.pacer_ie_ratio = float(ie_ratio)
        self.save()

    def strap_connected(self, address: str, name: str) -> None:
        """A strap was connected to: remember it, and start with it next time."""
        self.settings.remember_strap(address, name)
        self.settings.last_source = f"ble:{address}"
        self.save()

    def marker_used(self, label: str) -> list[str]:
        """A marker ``label`` was added: it moves to the front of the quick labels.

        Returns
        -------
        list of str
            The quick marker labels, most recent first.
        """
        self.settings.use_marker_label(label)
        self.save()
        return list(self.settings.marker_labels)

    def audio_volume(self, volume: float) -> None:
        """The audio guidance plays at ``volume`` (0..1)."""
        self.settings.audio_volume = min(1.0, max(0.0, float(volume)))
        self.save()

    def audio_muted(self, muted: bool) -> None:
        """The audio guidance is muted (or not)."""
        self.settings.audio_muted = bool(muted)
        self.save()

    def audio_in_replays(self, play: bool) -> None:
        """Replays at real-time speed play their audio guidance (or not)."""
        self.settings.audio_in_replays = bool(play)
        self.save()

    def signal_views(self, ecg: bool, respiration: bool) -> None:
        """The ECG strip and the respiration trace are wanted (or not)."""
        self.settings.show_ecg_strip = bool(ecg)
        self.settings.show_respiration = bool(respiration)
        self.save()

    def audio_voice(self, voice: str) -> None:
        """Text-to-speech uses ``voice`` (checked: ValueError for a name it cannot be)."""
        from biofeedback.viewmodels.preferences import voice_name

        self.settings.audio_voice = voice_name(voice)
        self.save()

    def speech_rate(self, words_per_min: float) -> None:
        """Text-to-speech speaks at ``words_per_min`` (80..450)."""
        rate = float(words_per_min)
        if not 80.0 <= rate <= 450.0:
            raise ValueError(f"speech rate must be 80..450 words/min, not {rate:g}")
        self.settings.speech_rate_wpm = rate
        self.save()
