"""The session's audio program: built by the composition root when a protocol runs and audio
is on (live and simulated by default, a replay only when asked)."""

from __future__ import annotations

import asyncio

import pytest
from audio_helpers import write_protocol

from biofeedback.audio.program import AudioProgram
from biofeedback.core.types import MarkerKind
from biofeedback.session.launch import SessionRequest, prepare_session


@pytest.mark.parametrize(("request_", "plays"), [
    (SessionRequest(source="sim", protocol_id="quiet_rest", record=False), True),
    (SessionRequest(source="ble:C0:FF:EE:00:00:07", protocol_id="quiet_rest"), True),
    (SessionRequest(source="sim", protocol_id="quiet_rest", record=False, audio=False), False),
    (SessionRequest(source="sim", record=False), False),  # free practice: no cues
])
def test_who_gets_an_audio_program(tmp_path, request_, plays):
    prepared = prepare_session(request_, tmp_path / "data", neurokit=False)
    try:
        program = prepared.audio_program
        assert (program is not None) is plays
        if program is not None:
            assert isinstance(program, AudioProgram) and program.sample_rate == 48_000
            assert prepared.protocol_session is not None
            assert program.schedule.runner is prepared.protocol_session.runner
            assert program.recorder is prepared.session
            assert prepared.audio_renderer is None
    finally:
        prepared.close()


def test_a_replay_plays_no_audio_unless_asked():
    assert not SessionRequest(source="replay:3").plays_audio
    assert SessionRequest(source="replay:3", audio=True).plays_audio
    assert SessionRequest(source="replay:3", audio_out="x.wav").plays_audio
    assert SessionRequest(source="sim").plays_audio


def test_a_prepared_session_closed_unrun_leaves_no_audio_file(tmp_path):
    protocol = write_protocol(tmp_path)
    out = tmp_path / "never.wav"
    request = SessionRequest(source="sim", protocol_id=str(protocol), record=False,
                             speed=None, audio_out=str(out))
    prepared = prepare_session(request, tmp_path / "data", neurokit=False)
    assert prepared.audio_renderer is not None
    prepared.close()
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".never*"))


def test_a_session_cut_short_renders_up_to_its_end(tmp_path):
    protocol = write_protocol(tmp_path)
    out = tmp_path / "short.wav"
    request = SessionRequest(source="sim", protocol_id=str(protocol), record=False,
                             speed=None, seed=2, duration_s=5.0, audio_out=str(out),
                             simulated_participant=True)
    prepared = prepare_session(request, tmp_path / "data", neurokit=False)
    markers = []
    prepared.session.subscribe(
        lambda e: markers.append(e) if getattr(e, "kind", None) is MarkerKind.AUDIO else None)
    asyncio.run(prepared.run())
    import soundfile

    info = soundfile.info(str(out))
    end = prepared.session.phases[-1].end_s
    assert 5.0 <= end < 6.5
    # Up to the end and its ring-out, nothing of the phases that never came.
    assert info.frames / info.samplerate == pytest.approx(end + 3.0, abs=0.01)
    assert [m.extra["cue"] for m in markers] == [
        "start_chime", "halfway_bell", "end_chime", "recording"]
