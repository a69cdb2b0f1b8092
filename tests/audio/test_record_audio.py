"""``record --audio-out``: the rendered WAV of a real process on the session clock, the audio
markers in the real SQLite file, and what is refused (nothing half-written left behind)."""

from __future__ import annotations

import html
import subprocess

import pytest
import soundfile
from audio_helpers import EXPECTED_ONSETS_S, detect_onsets, write_protocol

from biofeedback.cli.main import main
from biofeedback.comparison.report import session_report
from biofeedback.core.types import MarkerKind
from biofeedback.store.database import SessionStore
from conftest import PYTHON, cli_env


def test_record_renders_the_audio_at_max_speed_and_stores_audio_markers(tmp_path, data_dir):
    protocol = write_protocol(tmp_path, ".mp3")
    out = tmp_path / "session.wav"
    done = subprocess.run(
        [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--speed", "max",
         "--seed", "3", "--protocol", str(protocol), "--audio-out", str(out),
         "--voice", "en-gb", "--speech-rate", "160", "--quiet", "--no-neurokit"],
        capture_output=True, text=True, env=cli_env(data_dir), timeout=120,
    )
    assert done.returncode == 0, done.stderr
    session_id = int(done.stdout.strip())
    x, rate = soundfile.read(str(out))
    assert rate == 48_000
    found = detect_onsets(x, rate)
    assert len(found) == len(EXPECTED_ONSETS_S)
    errors_ms = [abs(f - e) * 1000 for f, e in zip(found, EXPECTED_ONSETS_S, strict=True)]
    assert max(errors_ms) <= 20.0, (found, errors_ms)
    assert not list(tmp_path.glob(".session.*"))  # no temporary file left
    with SessionStore.open_for_reading(data_dir) as store:
        recording = store.load_recording(session_id)
    audio = [m for m in recording.markers if m.kind is MarkerKind.AUDIO]
    assert [(m.extra["cue"], m.extra["phase"]) for m in audio] == [
        ("start_chime", "settle"), ("halfway_bell", "settle"), ("end_chime", "settle"),
        ("recording", "guided"), ("start_chime", "spoken"), ("prompt", "spoken"),
        ("end_chime", "spoken"),
    ]
    # Scheduled and actual onsets both stored (rendered to the frame: equal here).
    for m in audio:
        assert m.onset_s == pytest.approx(m.extra["scheduled_s"], abs=1 / 48_000)
        assert m.extra["error_ms"] == pytest.approx(0.0, abs=0.03)
    prompt = audio[5]
    assert prompt.onset_s == 8.5 and prompt.label == "spoken prompt: spoken at 2.5 s"
    assert (prompt.extra["text"], prompt.extra["voice"], prompt.extra["rate_wpm"]) == (
        "Now rest your eyes.", "en-gb", 160)
    phases = {p.phase_id: (p.start_s, p.end_s) for p in recording.phases}
    assert phases["spoken"][0] == audio[4].onset_s  # the chime is where the phase starts
    # The report's methods say how the guidance was delivered, from these markers.
    methods = html.unescape(session_report(data_dir, session_id).split('class="methods">')[1])
    assert (
        "Audio guidance was played: 2 chimes, 2 closing chimes, 1 halfway bell, 1 spoken "
        "prompt and 1 recorded guidance file (speech synthesized offline by espeak-ng, voice "
        "en-gb, 160 words/min); recorded guidance: guidance.mp3. Each cue's heard onset was "
        "stored beside its scheduled one: they differed by a median of 0.0 ms (max 0.0 ms, "
        "7 cues)."
    ) in methods, methods


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def test_without_a_speech_engine_nothing_is_written(tmp_path, data_dir, capsys, monkeypatch):
    protocol = write_protocol(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "session.wav"
    code, err = run_cli(capsys, "record", "--source", "sim", "--speed", "max", "--protocol",
                        str(protocol), "--audio-out", str(out), "--quiet", "--no-neurokit")
    assert code == 1
    assert "install espeak-ng: sudo apt install espeak-ng" in err
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".session*"))
    with SessionStore.open_for_reading(data_dir) as store:
        assert store.list_sessions() == []  # nothing recorded either
    # protocols validate refuses it too, naming the file.
    code, err = run_cli(capsys, "protocols", "validate", str(protocol))
    assert code == 1
    assert f"{protocol}: the protocol speaks, but no text-to-speech engine" in err


def test_protocols_validate_synthesizes_the_speech(tmp_path, capsys):
    protocol = write_protocol(tmp_path)
    assert main(["protocols", "validate", str(protocol)]) == 0
    assert "1 spoken text synthesized by espeak-ng" in capsys.readouterr().out
    code, err = run_cli(capsys, "protocols", "validate", str(protocol), "--voice", "klingon")
    assert code == 1
    assert "cannot speak 'Now rest your eyes.'" in err and "no voice 'klingon'" in err


@pytest.mark.parametrize(("args", "message"), [
    (("--audio-out", "x.mp3"), "the file name must end in .wav"),
    (("--audio-out", "missing/x.wav"), "does not exist"),
])
def test_a_bad_audio_out_is_refused_before_anything_runs(tmp_path, data_dir, capsys, args,
                                                         message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    protocol = write_protocol(tmp_path)
    code, err = run_cli(capsys, "record", "--protocol", str(protocol), *args, "--quiet")
    assert code == 1 and message in err
    assert not data_dir.exists()
    code, err = run_cli(capsys, "record", "--audio-out", "x.wav", "--quiet")
    assert code == 1 and "--audio-out needs a --protocol" in err
