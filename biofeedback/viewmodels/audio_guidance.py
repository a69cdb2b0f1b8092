"""When the window plays a session's audio guidance, and the sentence that says why not.

Audio guidance is for the person practising: it plays in a live session (the strap, or the
simulated strap at real time), never at another speed (a replay at 8x would be noise, and its
cues could not be on time), and in a replay only when the user asked for it in the settings
("nothing plays in a replay unless asked").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biofeedback.viewmodels.preferences import WindowPreferences

__all__ = ["AudioDecision", "audio_request_fields", "decide_audio", "volume_text"]


@dataclass(frozen=True, slots=True)
class AudioDecision:
    """Whether to play, and the sentence for the status line when not (``""`` otherwise)."""

    play: bool
    reason: str = ""


def decide_audio(
    source_kind: str, speed: float | None, *, has_program: bool, play_in_replays: bool
) -> AudioDecision:
    """Decide whether a session's audio guidance is played.

    Parameters
    ----------
    source_kind : str
        ``ble``, ``sim`` or ``replay``.
    speed : float or None
        Multiple of real time (None: as fast as possible); a strap always runs at 1.
    has_program : bool
        The session has audio guidance at all (a protocol with cues, speech or recordings).
    play_in_replays : bool
        The setting "play audio in replays".

    Returns
    -------
    AudioDecision
    """
    if not has_program:
        return AudioDecision(False)
    if source_kind == "replay" and not play_in_replays:
        return AudioDecision(
            False, "audio guidance is not played in replays (Audio > Play audio in replays)"
        )
    if source_kind != "ble" and speed != 1.0:
        pace = "as fast as possible" if speed is None else f"at {speed:g}x"
        return AudioDecision(
            False, f"audio guidance is not played {pace}: only at real-time speed"
        )
    return AudioDecision(True)


def volume_text(volume: float, muted: bool) -> str:
    """What the volume control says (``"audio 80 %"``, ``"audio muted"``)."""
    return "audio muted" if muted else f"audio {round(volume * 100)} %"


def audio_request_fields(settings: WindowPreferences, source: str) -> dict[str, Any]:
    """The audio fields of a window's ``SessionRequest`` from the user's settings: the voice,
    the speech rate, and for a replay whether its audio is built at all ("play audio in
    replays"; a live session leaves it to the protocol)."""
    return {
        "audio": settings.audio_in_replays if source.startswith("replay") else None,
        "voice": settings.audio_voice or None,
        "speech_rate_wpm": round(settings.speech_rate_wpm),
    }
