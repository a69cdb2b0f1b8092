"""Recorded guidance in protocol files: refused when missing, broken or of the wrong kind,
naming the file, line and field; ``duration = "audio"``; dump and load round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from audio_helpers import GUIDANCE_S, write_guidance

from biofeedback.core.errors import InputFileError
from protocols.loader import dump_protocol_toml, load_protocol_file, load_protocol_text

HEAD = 'id = "g"\nname = "G"\ncategory = "neutral"\ndescription = "x"\n\n'


def phase(audio_line: str, duration_line: str = 'duration = "audio"') -> str:
    return HEAD + ('[[phases]]\nid = "a"\nname = "A"\nkind = "rest"\n'
                   f"{duration_line}\n{audio_line}\n")


def load(tmp_path: Path, text: str):
    path = tmp_path / "g.toml"
    path.write_text(text, encoding="utf-8")
    return load_protocol_file(path)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3"])
def test_duration_audio_is_the_recordings_length(tmp_path, suffix):
    write_guidance(tmp_path / f"guide{suffix}")
    protocol = load(tmp_path, phase(f'audio = "guide{suffix}"'))
    (p,) = protocol.phases
    assert p.audio == str((tmp_path / f"guide{suffix}").resolve())
    assert p.duration_s == pytest.approx(GUIDANCE_S, abs=0.06)  # mp3 rounds to its frames
    assert p.audio_duration_s == p.duration_s


def test_a_missing_file_is_refused_naming_file_line_and_field(tmp_path):
    with pytest.raises(InputFileError) as info:
        load(tmp_path, phase('audio = "guidance/absent.mp3"'))
    err = info.value
    assert (err.line, err.field) == (11, "phases[0].audio")
    assert "not found" in err.reason and "absent.mp3" in err.reason
    assert str(err).startswith(f"{tmp_path / 'g.toml'}, line 11, field 'phases[0].audio'")


def test_a_corrupt_file_is_refused(tmp_path):
    (tmp_path / "broken.ogg").write_bytes(b"OggS" + bytes(range(256)) * 8)
    with pytest.raises(InputFileError, match="cannot be decoded") as info:
        load(tmp_path, phase('audio = "broken.ogg"'))
    assert (info.value.line, info.value.field) == (11, "phases[0].audio")


def test_an_empty_recording_is_refused(tmp_path):
    import numpy as np
    import soundfile

    soundfile.write(str(tmp_path / "empty.wav"), np.zeros(0), 8000)
    with pytest.raises(InputFileError, match="holds no sound"):
        load(tmp_path, phase('audio = "empty.wav"'))


def test_a_file_of_another_kind_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"not an audio file the app plays \(wav, mp3, "
                                             r"ogg, flac\)") as info:
        load(tmp_path, phase('audio = "notes.txt"'))
    assert info.value.field == "phases[0].audio"


def test_duration_audio_without_audio_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="needs the phase's 'audio' file") as info:
        load(tmp_path, phase(""))
    assert (info.value.line, info.value.field) == (10, "phases[0].duration")
    with pytest.raises(InputFileError, match='the only duration by name is "audio"'):
        load(tmp_path, phase("", 'duration = "recording"'))


def test_dump_and_load_round_trip_with_recorded_guidance(tmp_path):
    write_guidance(tmp_path / "guide.flac")
    text = phase('audio = "guide.flac"\nspoken_instructions = "Listen."\n'
                 "[phases.cues]\nchimes = false\nspeak_instructions = true")
    protocol = load(tmp_path, text)
    again = load_protocol_text(dump_protocol_toml(protocol), tmp_path / "again.toml")
    assert again == protocol
    assert again.phases[0].cues.speak_instructions and not again.phases[0].cues.chimes
