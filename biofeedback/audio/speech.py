"""Text-to-speech, offline, with the platform's own engine, to PCM samples.

Engines: espeak-ng (Linux; ``sudo apt install espeak-ng``), ``say`` (macOS) and SAPI through
PowerShell's ``System.Speech`` (Windows). Each is run as a process writing a WAV file, so
nothing of it is loaded into this program, and no network is used. Utterances are cached in
the user cache folder (``$BIOFEEDBACK_CACHE_DIR`` overrides it), keyed by engine, voice, rate
and text: a protocol is synthesized once, before its session (``AudioProgram.build``), never
on the audio path.

Only espeak-ng can be tested on the build machine; the ``say`` and SAPI commands follow their
documentation (``man say``; ``System.Speech.Synthesis.SpeechSynthesizer``) and are untested.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import platformdirs

from biofeedback.audio.settings import DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM
from biofeedback.core.atomic_files import atomic_write_files
from biofeedback.core.errors import BiofeedbackError

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_RATE_WPM",
    "SpeechEngine",
    "SpeechError",
    "Voice",
    "cache_dir",
    "find_engine",
    "list_voices",
    "synthesize",
]

CACHE_DIR_ENV = "BIOFEEDBACK_CACHE_DIR"
"""Environment variable that overrides the cache folder (synthesized speech)."""

SPEECH_PEAK = 0.5
"""Peak level of the voice (engines speak at full scale)."""

_TIMEOUT_S = 120.0
"""Longest an engine may take for one utterance, s (a long instruction takes a second)."""

_INSTALL_HINT = {
    "linux": "install espeak-ng: sudo apt install espeak-ng",
    "darwin": "macOS's 'say' command was not found (it is part of macOS)",
    "win32": "Windows PowerShell (powershell.exe) with System.Speech was not found",
}


class SpeechError(BiofeedbackError):
    """Speech cannot be synthesized: no engine, an unknown voice, a bad rate or an engine
    failure (the message says which, and what to install)."""


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice an engine offers: ``id`` (what ``voice=`` takes) and a readable ``name``."""

    id: str
    name: str
    language: str = ""


@dataclass(frozen=True, slots=True)
class SpeechEngine:
    """A text-to-speech engine found on this machine.

    Attributes
    ----------
    name : str
        ``espeak-ng``, ``say`` or ``sapi``.
    program : str
        The executable run.
    default_voice : str
        Voice used when the caller gives none.
    """

    name: str
    program: str
    default_voice: str

    def command(self, voice: str, rate_wpm: int, text_file: Path, out: Path) -> list[str]:
        """The command line writing ``text_file``'s text as speech to the WAV file ``out``."""
        if self.name == "espeak-ng":
            return [self.program, "-v", voice, "-s", str(rate_wpm), "-b", "1", "-f",
                    str(text_file), "-w", str(out)]
        if self.name == "say":
            command = [self.program, "-r", str(rate_wpm), "--file-format=WAVE",
                       "--data-format=LEI16@22050", "-o", str(out), "-f", str(text_file)]
            return command[:1] + (["-v", voice] if voice else []) + command[1:]
        # SAPI's Rate runs from -10 to 10; 0 is about 180 words/min, a step about 6% faster.
        sapi_rate = max(-10, min(10, round((rate_wpm - 180) / 12)))
        script = (
            "Add-Type -AssemblyName System.Speech; "
            "$s = New-Object System.Speech.Synthesis.SpeechSynthesizer; "
            + (f"$s.SelectVoice('{_ps_quote(voice)}'); " if voice else "")
            + f"$s.Rate = {sapi_rate}; "
            f"$s.SetOutputToWaveFile('{_ps_quote(str(out))}'); "
            f"$s.Speak([IO.File]::ReadAllText('{_ps_quote(str(text_file))}', "
            "[Text.Encoding]::UTF8)); $s.Dispose()"
        )
        return [self.program, "-NoProfile", "-NonInteractive", "-Command", script]

    def voices_command(self) -> list[str]:
        """The command line listing the installed voices."""
        if self.name == "espeak-ng":
            return [self.program, "--voices"]
        if self.name == "say":
            return [self.program, "-v", "?"]
        return [self.program, "-NoProfile", "-NonInteractive", "-Command",
                "Add-Type -AssemblyName System.Speech; "
                "(New-Object System.Speech.Synthesis.SpeechSynthesizer).GetInstalledVoices() "
                "| ForEach-Object { $_.VoiceInfo.Name + '|' + $_.VoiceInfo.Culture }"]


def _ps_quote(text: str) -> str:
    # Inside a PowerShell single-quoted string only the quote itself is special.
    return text.replace("'", "''")


def find_engine() -> SpeechEngine:
    """The platform's text-to-speech engine.

    Raises
    ------
    SpeechError
        None is installed; the message says what to install.
    """
    if sys.platform == "darwin":
        program = shutil.which("say")
        if program:
            return SpeechEngine("say", program, "")
    elif sys.platform == "win32":
        program = shutil.which("powershell") or shutil.which("pwsh")
        if program:
            return SpeechEngine("sapi", program, "")
    else:
        program = shutil.which("espeak-ng")
        if program:
            return SpeechEngine("espeak-ng", program, "en")
    hint = _INSTALL_HINT.get(sys.platform, _INSTALL_HINT["linux"])
    raise SpeechError(f"no text-to-speech engine for the spoken guidance: {hint} "
                      "(or run without audio)")


def list_voices(engine: SpeechEngine | None = None) -> list[Voice]:
    """The voices of ``engine`` (default: :func:`find_engine`'s), sorted by id.

    Raises
    ------
    SpeechError
        No engine, or it failed to list its voices.
    """
    engine = engine or find_engine()
    try:
        done = subprocess.run(engine.voices_command(), capture_output=True, text=True,
                              timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechError(f"{engine.name} could not list its voices: {exc}") from exc
    if done.returncode != 0:
        raise SpeechError(f"{engine.name} could not list its voices: {done.stderr.strip()}")
    voices: list[Voice] = []
    for line in done.stdout.splitlines():
        if engine.name == "espeak-ng":
            # "Pty Language Age/Gender VoiceName File Other": the language code is the id -v takes.
            parts = line.split()
            if len(parts) >= 4 and parts[0].isdigit():
                voices.append(Voice(parts[1], parts[3].replace("_", " "), parts[1]))
        elif engine.name == "say":
            name, _, _rest = line.partition("#")
            fields = name.split()
            if len(fields) >= 2:
                voices.append(Voice(" ".join(fields[:-1]), " ".join(fields[:-1]), fields[-1]))
        else:
            name, _, culture = line.strip().partition("|")
            if name:
                voices.append(Voice(name, name, culture))
    return sorted(set(voices), key=lambda v: v.id)


def cache_dir() -> Path:
    """Folder of cached utterances: ``$BIOFEEDBACK_CACHE_DIR/speech`` or the user cache
    folder's (``~/.cache/biofeedback/speech`` on Linux)."""
    root = os.environ.get(CACHE_DIR_ENV)
    base = Path(root).expanduser() if root else Path(
        platformdirs.user_cache_dir("biofeedback", appauthor=False))
    return base / "speech"


def _check_rate(rate_wpm: int) -> int:
    if isinstance(rate_wpm, bool) or not isinstance(rate_wpm, int | float) or not (
        MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM
    ):
        raise SpeechError(f"speech rate {rate_wpm!r} words/min is out of range "
                          f"({MIN_RATE_WPM}-{MAX_RATE_WPM})")
    return int(rate_wpm + 0.5)


def synthesize(text: str, sample_rate: int, *, voice: str | None = None,
               rate_wpm: int = DEFAULT_RATE_WPM, engine: SpeechEngine | None = None
               ) -> npt.NDArray[np.float32]:
    """``text`` spoken, as float32 mono samples at ``sample_rate`` (Hz).

    Leading silence is trimmed, so the voice starts at the first sample: a prompt scheduled
    at t is heard at t.

    Parameters
    ----------
    text : str
        What to say.
    sample_rate : int
        Rate of the returned samples, Hz.
    voice : str, optional
        Engine voice (see :func:`list_voices`; default: the engine's).
    rate_wpm : int
        Speaking rate, words/min.
    engine : SpeechEngine, optional
        Default: :func:`find_engine`.

    Raises
    ------
    SpeechError
        No engine, a bad voice or rate, or the engine failed (its own words are quoted).
    """
    from biofeedback.audio.recordings import read_whole

    engine = engine or find_engine()
    rate = _check_rate(rate_wpm)
    chosen = voice if voice else engine.default_voice
    if voice and engine.name == "espeak-ng":
        _check_espeak_voice(engine, voice)
    wav = _cached_wav(engine, chosen, rate, text)
    samples = _trim_leading_silence(read_whole(wav, sample_rate))
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    # Engines speak at full scale; the voice sits at SPEECH_PEAK, over the pacer, under 1.
    return samples * np.float32(SPEECH_PEAK / peak) if peak > 0 else samples


@functools.lru_cache(maxsize=8)
def _espeak_voice_names(engine: SpeechEngine) -> frozenset[str]:
    names: set[str] = set()
    for v in list_voices(engine):
        # "en-gb-scotland" also answers to "en-gb" and to its language family "en".
        parts = v.id.split("-")
        names.update("-".join(parts[: i + 1]) for i in range(len(parts)))
    return frozenset(names)


def _check_espeak_voice(engine: SpeechEngine, voice: str) -> None:
    # espeak-ng reading a text file speaks an unknown voice with its default one, exit 0.
    base = voice.split("+")[0]  # "en-gb+f3": a voice with a variant
    if base not in _espeak_voice_names(engine):
        raise SpeechError(f"espeak-ng has no voice {voice!r} (see 'espeak-ng --voices')")


def _cached_wav(engine: SpeechEngine, voice: str, rate_wpm: int, text: str) -> Path:
    key = hashlib.sha256("\x1f".join(["v1", engine.name, voice, str(rate_wpm), text])
                         .encode("utf-8")).hexdigest()
    folder = cache_dir()
    path = folder / f"{key[:32]}.wav"
    if path.is_file() and path.stat().st_size > 44:
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpeechError(f"cannot create the speech cache folder {folder}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="biofeedback-speech-") as tmp:
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        spoken = Path(tmp) / "spoken.wav"
        try:
            done = subprocess.run(engine.command(voice, rate_wpm, text_file, spoken),
                                  capture_output=True, text=True, timeout=_TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechError(f"{engine.name} failed: {exc}") from exc
        problem = (done.stderr or done.stdout).strip()
        if done.returncode != 0 or not spoken.is_file() or spoken.stat().st_size <= 44:
            raise SpeechError(f"{engine.name} could not speak with voice {voice!r} at "
                              f"{rate_wpm} words/min: {problem or 'no sound written'}")

        def copy(tmp_path: Path) -> None:
            shutil.copyfile(spoken, tmp_path)

        atomic_write_files([(path, copy)])
    return path


def _trim_leading_silence(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    if not len(samples):
        return samples
    peak = float(np.max(np.abs(samples)))
    if peak == 0.0:
        return samples[:0]
    loud = np.flatnonzero(np.abs(samples) >= 0.02 * peak)
    return samples[int(loud[0]):]
