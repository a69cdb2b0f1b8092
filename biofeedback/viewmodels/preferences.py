"""Window settings that persist between runs (JSON beside the session database)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MARKER_LABELS", "SETTINGS_FILE", "KnownStrap", "WindowPreferences", "voice_name",
]

SETTINGS_FILE = "settings.json"

DEFAULT_MARKER_LABELS = ("distraction", "movement", "noise", "talked", "insight")
"""Reusable marker labels offered before the user adds their own."""

_OLD_NAMES = {"pacer_rate_bpm": "pacer_breaths_per_min"}
"""Setting names older versions wrote (old -> current); read, never written."""


@dataclass
class KnownStrap:
    """A strap the window connected to before."""

    address: str
    name: str = ""


@dataclass
class WindowPreferences:
    """What the window remembers.

    Attributes
    ----------
    last_source : str
        Source spec of the last session (``sim``, ``ble:ADDRESS``...).
    known_straps : list of KnownStrap
        Straps connected to before, most recent first ("forget" removes one).
    pacer_breaths_per_min : float
        Breathing pacer rate in free practice, breaths/min (default 6/min: resonance
        breathing near 0.1 Hz, Lehrer & Gevirtz 2014).
    pacer_ie_ratio : float
        Inhale:exhale duration ratio of the free pacer (default 1:1.5, longer exhale).
    plot_span_s : float
        Visible span of the scrolling plots, s; 0 = whole session.
    speed : float or None
        Simulated strap and replay speed (None = max).
    protocol_id, participant_id, study : str or None
        Last choices in the session panel.
    marker_labels : list of str
        Reusable marker labels, most recent first.
    audio_volume : float
        Gain of the audio guidance, 0..1 (linear amplitude; default 0.8, a little below full
        scale so a loud recording does not startle).
    audio_muted : bool
        The audio guidance is muted (the cues still run on the session clock).
    audio_voice : str
        Text-to-speech voice (an espeak-ng voice name such as ``en`` or ``en-gb``).
    speech_rate_wpm : float
        Speaking rate of the text-to-speech voice, words/min (80..450, espeak-ng's range;
        default 150, a calm pace for guided practice, slower than espeak-ng's 175).
    audio_in_replays : bool
        Play the audio guidance in replays at real-time speed too (default off: nothing
        plays in a replay unless asked).
    show_ecg_strip : bool
        Show the ECG strip (last 10 s) when the session sends ECG (default on).
    show_respiration : bool
        Show the respiration trace (chest accelerometer) when the session sends it
        (default on).
    """

    last_source: str = "sim"
    known_straps: list[KnownStrap] = field(default_factory=list)
    pacer_breaths_per_min: float = 6.0
    pacer_ie_ratio: float = 1 / 1.5
    plot_span_s: float = 300.0
    speed: float | None = 1.0
    protocol_id: str | None = None
    participant_id: str | None = None
    study: str | None = None
    marker_labels: list[str] = field(default_factory=lambda: list(DEFAULT_MARKER_LABELS))
    audio_volume: float = 0.8
    audio_muted: bool = False
    audio_voice: str = "en"
    speech_rate_wpm: float = 150.0
    audio_in_replays: bool = False
    show_ecg_strip: bool = True
    show_respiration: bool = True
    problems: list[str] = field(default_factory=list, repr=False, compare=False)
    """Why a saved file was not (entirely) used; shown once by the window, never saved."""

    # -- persistence -----------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path) -> WindowPreferences:
        """Read ``folder/settings.json``.

        Parameters
        ----------
        folder : Path
            The data folder.

        Returns
        -------
        WindowPreferences
            The defaults for a missing file; for a file that cannot be used (unreadable, not
            UTF-8, not JSON, nested too deeply, not an object) the defaults plus a
            :attr:`problems` entry naming the file (and the line, for JSON syntax); for a
            setting of the wrong type or out of range, the default of that setting plus a
            :attr:`problems` entry naming the file and the setting.

        Notes
        -----
        Raises nothing, whatever the file holds: a window must open with broken settings.
        """
        path = folder / SETTINGS_FILE
        settings = cls()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return settings
        except (OSError, UnicodeDecodeError) as exc:
            settings.problems.append(f"{path}: not readable ({exc}); using defaults")
            return settings
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            settings.problems.append(
                f"{path}, line {exc.lineno}: not JSON ({exc.msg}); using defaults"
            )
            return settings
        except ValueError as exc:  # a number of more than 4300 digits
            settings.problems.append(f"{path}: not usable ({exc}); using defaults")
            return settings
        except RecursionError:
            settings.problems.append(f"{path}: nested too deeply to read; using defaults")
            return settings
        if not isinstance(data, dict):
            settings.problems.append(f"{path}: expected an object; using defaults")
            return settings
        names = {f.name for f in fields(cls)} - {"problems"}
        for stored, value in data.items():
            key = _OLD_NAMES.get(stored, stored)
            if key != stored and key in data:
                settings.problems.append(
                    f"{path}: old setting {stored!r} ignored ({key!r} is also set)"
                )
                continue
            if key not in names:
                settings.problems.append(f"{path}: unknown setting {stored!r} ignored")
                continue
            try:
                if key == "known_straps":
                    coerced: Any = _known_straps(value, path, settings.problems)
                else:
                    coerced = _coerce(key, value, getattr(settings, key))
            except (TypeError, ValueError) as exc:
                settings.problems.append(f"{path}: setting {stored!r} ignored ({exc})")
            else:
                setattr(settings, key, coerced)
        return settings

    def save(self, folder: Path) -> Path:
        """Write ``folder/settings.json`` atomically (a crash leaves the old file whole)."""
        folder.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data.pop("problems")
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
            path = folder / SETTINGS_FILE
            os.replace(tmp, path)
        except BaseException:  # broad on purpose: no temporary file left on any exit; re-raised
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    # -- helpers ---------------------------------------------------------------------------

    def remember_strap(self, address: str, name: str = "") -> None:
        """Put a strap first in :attr:`known_straps`."""
        rest = [s for s in self.known_straps if s.address.upper() != address.upper()]
        self.known_straps = [KnownStrap(address, name), *rest][:10]

    def forget_strap(self, address: str) -> None:
        """Remove a strap from :attr:`known_straps` (and from :attr:`last_source`)."""
        self.known_straps = [s for s in self.known_straps if s.address.upper() != address.upper()]
        if self.last_source.upper() == f"BLE:{address.upper()}":
            self.last_source = "ble"

    def use_marker_label(self, label: str) -> None:
        """Put ``label`` first in :attr:`marker_labels` (kept to 20)."""
        label = label.strip()
        if label:
            rest = [x for x in self.marker_labels if x != label]
            self.marker_labels = [label, *rest][:20]


def _known_straps(value: Any, path: Path, problems: list[str]) -> list[KnownStrap]:
    """The usable entries of ``known_straps``; each one dropped is named in ``problems``."""
    if not isinstance(value, list):
        raise TypeError("expected a list")
    straps: list[KnownStrap] = []
    for i, entry in enumerate(value):
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("address"), str)
            and entry["address"].strip()
            and isinstance(entry.get("name", ""), str)
        ):
            straps.append(KnownStrap(entry["address"], entry.get("name", "")))
        else:
            problems.append(
                f"{path}: known_straps[{i}] ignored (expected an object with a non-empty "
                '"address" string and an optional "name" string)'
            )
    return straps


def _number(value: Any) -> float:
    """A finite JSON number as a float (TypeError / ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond the floats
        raise ValueError("too large") from None
    if not math.isfinite(number):
        raise ValueError(f"must be finite, not {number}")
    return number


_LIMITS = {
    "pacer_breaths_per_min": (2.0, 30.0),
    "pacer_ie_ratio": (0.2, 5.0),
    "plot_span_s": (0.0, 86400.0),
    "audio_volume": (0.0, 1.0),
    "speech_rate_wpm": (80.0, 450.0),
}
"""Numeric settings and their ranges (inclusive)."""
_FLAGS = ("audio_muted", "audio_in_replays", "show_ecg_strip", "show_respiration")
"""Settings that are true or false (JSON booleans only: 1 and "yes" are refused)."""


def _coerce(key: str, value: Any, default: Any) -> Any:
    if key == "marker_labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError("expected a list of strings")
        return list(value)
    if key == "speed":
        if value is None:
            return None
        speed = _number(value)
        if not speed > 0:
            raise ValueError("must be positive or null")
        return speed
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if key in _LIMITS:
        number = _number(value)
        limits = _LIMITS[key]
        if not limits[0] <= number <= limits[1]:
            raise ValueError(f"outside {limits[0]:g}..{limits[1]:g}")
        return number
    if value is None and default is None:
        return None
    if not isinstance(value, str):
        raise TypeError("expected a string")
    if key == "audio_voice":
        return voice_name(value)
    return value


def voice_name(value: str) -> str:
    """A voice name as given to the speech engine (ValueError for one it cannot be)."""
    name = value.strip()
    if not name:
        raise ValueError("expected a voice name, not an empty string")
    if len(name) > 100 or not all(c.isalnum() or c in "-_+.:/ " for c in name):
        raise ValueError("expected a voice name (letters, digits and - _ + . : /)")
    return name
