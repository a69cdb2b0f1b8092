"""The rendered audio: onsets found by signal processing within 20 ms of the protocol's own
times, for recordings in flac, ogg and mp3, through pauses and extensions, with real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from audio_helpers import (
    EXPECTED_ONSETS_S,
    audio_markers,
    detect_onsets,
    manual_runner,
    write_protocol,
)
from scipy.signal import butter, sosfiltfilt

from biofeedback.audio.program import AudioProgram
from biofeedback.audio.wav import WavRenderer
from protocols.loader import load_protocol_file
from protocols.runner import ProtocolRunner

RATE = 16_000
TOLERANCE_S = 0.020


def run_and_render(runner: ProtocolRunner, renderer: WavRenderer, until_s: float,
                   *, step_s: float = 0.25, ahead_s: float = 0.0, actions=None) -> None:
    """Tick the runner every ``step_s`` up to ``until_s``, rendering ``ahead_s`` beyond it
    (an output a little ahead of time); ``actions[t]`` runs right after the tick at t."""
    actions = dict(actions or {})
    runner.start(0.0)
    t = 0.0
    while t <= until_s + 1e-9:
        runner.tick(t)
        if round(t, 6) in actions:
            actions.pop(round(t, 6))(runner)
        renderer.render_until(t + ahead_s)
        t = round(t + step_s, 6)
    runner.finish(until_s)
    renderer.render_until(until_s + 3.0)


def render_protocol(tmp_path: Path, suffix: str = ".flac", later_s: float = 0.0, **kw):
    """Render the test protocol (``later_s``: how much a pause or extension delays its
    end, s); return the samples, the audio markers and the program."""
    protocol = load_protocol_file(write_protocol(tmp_path, suffix))
    runner, session = manual_runner(protocol)
    markers = []
    session.subscribe(lambda e: markers.append(e))
    program = AudioProgram.build(protocol, runner, sample_rate=RATE, recorder=session)
    renderer = WavRenderer(program, tmp_path / "out.wav")
    run_and_render(runner, renderer, protocol.duration_s + later_s, **kw)
    path = renderer.finish()
    x, rate = soundfile.read(str(path))
    assert rate == RATE
    return x, audio_markers(markers), program


def assert_onsets_near(found: list[float], expected: list[float] | tuple[float, ...]) -> None:
    assert len(found) == len(expected), (found, expected)
    for f, e in zip(found, expected, strict=True):
        assert abs(f - e) <= TOLERANCE_S, (f, e, found)


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_every_cue_starts_within_20_ms_of_its_time(tmp_path, suffix):
    x, markers, _ = render_protocol(tmp_path, suffix)
    assert_onsets_near(detect_onsets(x, RATE), EXPECTED_ONSETS_S)
    # One marker per cue, at its rendered onset; the recording's marker at its phase start.
    assert [(m.extra["cue"], m.onset_s) for m in markers] == [
        ("start_chime", 0.0), ("halfway_bell", 2.0), ("end_chime", 4.0), ("recording", 4.0),
        ("start_chime", 6.0), ("prompt", 8.5), ("end_chime", 11.0),
    ]
    assert all(m.extra["scheduled_s"] == m.onset_s for m in markers)
    assert markers[3].extra["file"].endswith(f"guidance{suffix}")


def test_the_spoken_prompt_is_speech_at_its_time(tmp_path):
    x, markers, _ = render_protocol(tmp_path)
    prompt = next(m for m in markers if m.extra["cue"] == "prompt")
    assert prompt.extra["text"] == "Now rest your eyes."
    # A second of voice from 8.5 s: energy in every 100 ms of the first 0.8 s, most of it in
    # the voice band, and silence before.
    voice = x[int(8.5 * RATE): int(9.3 * RATE)]
    rms = np.sqrt(np.mean(voice.reshape(8, -1) ** 2, axis=1))
    assert np.count_nonzero(rms > 0.01) >= 6, rms
    spectrum = np.abs(np.fft.rfft(voice)) ** 2
    freqs = np.fft.rfftfreq(len(voice), 1 / RATE)
    assert spectrum[(freqs > 80) & (freqs < 4000)].sum() > 0.9 * spectrum.sum()


def test_a_pause_holds_the_recording_and_it_continues_on_resume(tmp_path):
    # Paused at 4.75 s (between the recording's bursts at 4.5 and 5.3 s) for 2 s: the
    # second burst comes at 7.3 s and everything after is 2 s later.
    actions = {4.75: ProtocolRunner.pause, 6.75: ProtocolRunner.resume}
    x, _markers, _ = render_protocol(tmp_path, later_s=2.0, actions=actions)
    found = detect_onsets(x, RATE)
    expected = [0.0, 2.0, 4.0, 4.5, 7.3, 8.0, 10.5, 13.0]
    assert_onsets_near(found, expected)
    # While held the recording (1 kHz bursts) is silent; the settle phase's end chime,
    # struck before the pause, rings out.
    sos = butter(4, [900, 1100], btype="bandpass", fs=RATE, output="sos")
    band = sosfiltfilt(sos, x)
    assert float(np.max(np.abs(band[int(4.6 * RATE): int(4.7 * RATE)]))) > 0.05  # burst 1
    assert float(np.max(np.abs(band[int(4.8 * RATE): int(6.7 * RATE)]))) < 0.005


def test_an_output_rendering_ahead_plays_no_chime_for_a_phase_end_that_was_extended(
    tmp_path,
):
    # Rendering 0.4 s ahead of the runner: the settle phase is extended at 3.5 s, before
    # the render reaches its planned end at 4 s: its end chime comes at 6 s, not at 4.
    actions = {3.5: lambda r: r.extend(2.0)}
    x, markers, _ = render_protocol(tmp_path, later_s=2.0, ahead_s=0.4, actions=actions)
    found = detect_onsets(x, RATE)
    # (The bell at 2 s had rung.) Everything after the extension comes 2 s later.
    assert_onsets_near(found, [0.0, 2.0, 6.0, 6.5, 7.3, 8.0, 10.5, 13.0])
    ends = [m.onset_s for m in markers if m.extra["cue"] == "end_chime"]
    assert ends == [6.0, 13.0]


def test_a_cue_rendered_ahead_is_not_played_again_when_the_plan_moves(tmp_path):
    # Extended at 3.8 s, when a render 0.4 s ahead already holds the end chime at 4.0 s:
    # it was played there (its marker says so) and is not struck a second time at 6 s. The
    # recording, whose first 0.1 s (silent) was rendered at 4 s, starts again at 6 s.
    actions = {3.8: lambda r: r.extend(2.0)}
    x, markers, _ = render_protocol(tmp_path, later_s=2.0, step_s=0.1, ahead_s=0.4,
                                    actions=actions)
    found = detect_onsets(x, RATE)
    assert_onsets_near(found, [0.0, 2.0, 4.0, 6.5, 7.3, 8.0, 10.5, 13.0])
    assert [m.onset_s for m in markers if m.extra["cue"] == "end_chime"] == [4.0, 13.0]
    recording = [m for m in markers if m.extra["cue"] == "recording"]
    assert [(m.onset_s, m.extra.get("restarted", False)) for m in recording] == [
        (4.0, False), (6.0, True)]


def test_render_gives_the_same_samples_in_any_span_sizes(tmp_path):
    protocol = load_protocol_file(write_protocol(tmp_path))
    runner, _ = manual_runner(protocol)
    program = AudioProgram.build(protocol, runner, sample_rate=RATE)
    runner.start(0.0)
    whole = program.render(0.0, 12 * RATE)
    pieces = []
    first = 0
    for n in [1, 159, 4000, 7, 30_000, 12 * RATE]:
        n = min(n, 12 * RATE - first)
        pieces.append(program.render(first / RATE, n))
        first += n
    assert np.array_equal(np.concatenate(pieces), whole)
    assert whole.dtype == np.float32 and float(np.max(np.abs(whole))) <= 1.0
    # Before the session and far after it: silence.
    assert not np.any(program.render(-2.0, RATE)) and not np.any(program.render(60.0, RATE))


def test_a_twin_renders_from_the_plan_it_was_handed_and_then_as_the_program(tmp_path):
    # An output feeding the sound card from its own thread renders from a twin: it sees the
    # runner's changes (an extension at 3.5 s moves the end chime from 4 s to 6 s) only once
    # handed the new plan, and renders then what the program itself renders.
    protocol = load_protocol_file(write_protocol(tmp_path))
    runner, _ = manual_runner(protocol)
    program = AudioProgram.build(protocol, runner, sample_rate=RATE)
    runner.start(0.0)
    runner.tick(3.5)
    twin = program.twin()
    planned = program.plan()
    assert program.plan() == planned  # nothing changed: no new plan to hand over
    runner.extend(2.0)
    assert program.plan() != planned

    def end_chimes(source: AudioProgram, start_s: float) -> list[float]:
        return [c.onset_s for c in source.cues_in(start_s, start_s + 0.2)
                if c.kind == "end_chime"]

    assert end_chimes(twin, 3.9) == [4.0] and end_chimes(program, 3.9) == []
    twin.follow(program.plan())
    assert end_chimes(twin, 3.9) == [] and end_chimes(twin, 5.9) == [6.0]
    assert twin.cues_in(0.0, 14.0) == program.cues_in(0.0, 14.0)
    heard = twin.render(5.5, RATE)
    assert np.array_equal(heard, program.render(5.5, RATE)) and np.any(heard)
