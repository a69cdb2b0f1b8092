"""The methods sentences on how the guidance was delivered: the audio cues that were heard
(from the session's ``audio`` markers: what played, the voice, and how close to its schedule)
and the participant screen (from its ``protocol`` markers).

Standardised delivery is part of a lab protocol's method (recorded or synthesized
instructions, not an experimenter reading them; the participant's own screen), so the report
states it from what was stored, never from the protocol's intentions.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from biofeedback.core.types import (
    PARTICIPANT_SCREEN_CLOSED,
    PARTICIPANT_SCREEN_OPENED,
    Marker,
    MarkerKind,
)

__all__ = ["guidance_sentence"]

_CUE_WORDS = (
    ("start_chime", "chime", "chimes"),
    ("end_chime", "closing chime", "closing chimes"),
    ("halfway_bell", "halfway bell", "halfway bells"),
    ("instructions", "spoken instruction", "spoken instructions"),
    ("prompt", "spoken prompt", "spoken prompts"),
    ("recording", "recorded guidance file", "recorded guidance files"),
    ("pacer", "sounding breathing pacer", "sounding breathing pacers"),
)


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _audio_sentence(markers: Sequence[Marker]) -> str:
    counts: dict[str, int] = {}
    for m in markers:
        cue = str(m.extra.get("cue", ""))
        counts[cue] = counts.get(cue, 0) + 1
    parts = [f"{counts[key]} {one if counts[key] == 1 else many}"
             for key, one, many in _CUE_WORDS if counts.get(key)]
    speech = [m.extra for m in markers if m.extra.get("cue") in ("instructions", "prompt")]
    voices = sorted({
        (str(e.get("engine") or "text-to-speech"), str(e.get("voice") or "default voice"),
         str(e.get("rate_wpm", "")))
        for e in speech
    })
    sentence = f"Audio guidance was played: {_join(parts)}"
    if voices:
        said = _join([f"{engine}, voice {voice}, {rate} words/min" if rate else
                      f"{engine}, voice {voice}" for engine, voice, rate in voices])
        sentence += f" (speech synthesized offline by {said})"
    # The file's name, not where it lay on the recording machine.
    files = sorted({PurePath(str(m.extra.get("file"))).name for m in markers
                    if m.extra.get("cue") == "recording" and m.extra.get("file")})
    if files:
        sentence += f"; recorded guidance: {_join(files)}"
    errors = [abs(float(m.extra["error_ms"])) for m in markers if "error_ms" in m.extra]
    if errors:
        sentence += (
            f". Each cue's heard onset was stored beside its scheduled one: they differed by a "
            f"median of {statistics.median(errors):.1f} ms (max {max(errors):.1f} ms, "
            f"{len(errors)} cues)"
        )
    return sentence + "."


def _screen_sentence(markers: Sequence[Marker]) -> str:
    opened = [m for m in markers if m.label == PARTICIPANT_SCREEN_OPENED]
    if not opened:
        return ""
    displays = sorted({str(m.extra.get("display")) for m in opened if m.extra.get("display")})
    where = f" (display {_join(displays)})" if displays else ""
    closed = any(m.label == PARTICIPANT_SCREEN_CLOSED for m in markers)
    first = min(m.onset_s for m in opened)
    when = "" if first <= 1.0 else f" from {first / 60:.1f} min"
    return (
        f"A participant screen{where} showed the participant the guidance, the pacer, the "
        f"stressor and the questions, and no physiology{when}"
        + ("; it was closed for part of the session" if closed else "")
        + "; the operator followed the recording on a separate window."
    )


def guidance_sentence(markers: Iterable[Marker], *, has_protocol: bool = True) -> str:
    """How the guidance was delivered, from a session's markers.

    Parameters
    ----------
    markers : iterable of Marker
        The session's markers (others than ``audio`` and the participant screen's are
        ignored).
    has_protocol : bool
        The session ran a protocol (a free recording has no guidance to describe).

    Returns
    -------
    str
        E.g. "Audio guidance was played: 8 chimes and 40 spoken prompts (speech synthesized
        offline by espeak-ng, voice en, 150 words/min). Each cue's heard onset ... A
        participant screen (display 2) showed ..."; "" for a free recording without audio
        or participant screen.
    """
    markers = list(markers)
    audio = [m for m in markers if m.kind is MarkerKind.AUDIO]
    screen = [m for m in markers if m.kind is MarkerKind.PROTOCOL
              and m.label in (PARTICIPANT_SCREEN_OPENED, PARTICIPANT_SCREEN_CLOSED)]
    if not audio and not screen and not has_protocol:
        return ""
    parts = [_audio_sentence(audio) if audio else
             "No audio guidance was recorded (the guidance was on screen only)."]
    screen_text = _screen_sentence(screen)
    if screen_text:
        parts.append(screen_text)
    return " ".join(parts)
