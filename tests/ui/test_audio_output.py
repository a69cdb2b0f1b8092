"""biofeedback.ui.audio_output: what AudioOutput plays, heard through the real audio stack.

A private PulseAudio server with a null sink stands in for the sound card
(``tests/audio_server.py``); ``parec`` records the sink's monitor, and the clicks are found in
that recording by signal processing. The player runs a click train (test input: what an
AudioProgram would render) in a fresh interpreter (``tests/audio_play.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from audio_server import (
    RECORD_RATE,
    audio_env,
    click_onsets,
    peaks_after,
    play,
    pulse_server,  # noqa: F401 - the fixture
)

from biofeedback.ui.audio_output import NO_DEVICE_MESSAGE, AudioOutput

TOLERANCE_S = 0.020
"""The issue's goal for cue onsets: within 20 ms."""

FULL = [0.3, 0.5, 0.7, 0.9, 1.1, 1.3]
HALF = [1.7, 1.9, 2.1]
MUTED = [2.5, 2.7]
DRIFT = 1.02
"""Session seconds per second of the sound card. A real card drifts by ~0.1 %; 2 % makes
the last click heard ~45 ms off its time if the player did not follow the session clock."""
SCENARIO = {
    "clicks": FULL + HALF + MUTED,
    # A change is heard after the lead (~0.15 s): each comes 0.05 s after a click.
    "steps": [{"at_s": 1.35, "volume": 0.5}, {"at_s": 2.15, "muted": True}],
    "duration_s": 3.0,
    "clock_rate": DRIFT,
    # As in the window: the output is opened ahead, the session clock runs from start().
    "warm_up": True,
}


@pytest.fixture(scope="module")
def played(pulse_server, tmp_path_factory):  # noqa: F811 - the fixture from audio_server
    """The scenario played once and recorded: (the player's report, the recording)."""
    path = tmp_path_factory.mktemp("audio") / "monitor.raw"
    with pulse_server.recording(path) as rec:
        result = play(pulse_server.env, SCENARIO)
    return result, rec.samples()


PAUSED_CLICKS = [0.3, 1.0, 1.2]
PAUSE = {"at_s": 0.5, "for_s": 0.8}
PAUSED = {
    # A strap-like start (no warm-up: the clock stands at 0 until the stream runs), then the
    # clock stops for 0.8 s as a paused replay's does, the output playing silence meanwhile.
    "clicks": PAUSED_CLICKS, "pause": PAUSE, "duration_s": 1.4,
}


@pytest.fixture(scope="module")
def paused(pulse_server, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("audio") / "paused.raw"
    with pulse_server.recording(path) as rec:
        result = play(pulse_server.env, PAUSED)
    return result, rec.samples()


BUSY_CLICKS = [0.3 + 0.2 * i for i in range(14)]
BUSY = {
    # From 0.5 s on the GUI thread runs Python for 1.5 s at a time, with one turn of its event
    # loop in between (a paint that never ends): the sink is fed from the audio thread and
    # keeps time. (Fed from the GUI thread, it was heard 25-34 ms off in such runs.)
    "clicks": BUSY_CLICKS, "gui_busy": {"every_s": 0.5, "for_s": 1.5}, "warm_up": True,
}


@pytest.fixture(scope="module")
def busy(pulse_server, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("audio") / "busy.raw"
    with pulse_server.recording(path) as rec:
        result = play(pulse_server.env, BUSY)
    return result, rec.samples()


def test_clicks_are_heard_at_the_intervals_of_the_session_clock(played):
    result, samples = played
    assert result["started"] and result["ready"] and result["message"] == ""
    onsets = np.array(click_onsets(samples)) / RECORD_RATE
    audible = np.array(FULL + HALF)
    assert len(onsets) == len(audible), onsets  # the muted clicks are not heard
    # Heard at the session clock's pace (2 % faster than the card's), not the card's.
    errors = (onsets - onsets[0]) * DRIFT - (audible - audible[0])
    assert np.abs(errors).max() < TOLERANCE_S, (errors, result)


def test_actual_onsets_reported_are_on_the_session_clock_and_what_was_heard(played):
    result, samples = played
    ids = [int(i) for i, _ in result["confirmed"]]
    assert ids == list(range(len(FULL + HALF)))  # once each, in order; muted ones are not
    actual = np.array([a for _, a in result["confirmed"]])
    scheduled = np.array(FULL + HALF)
    assert np.abs(actual - scheduled).max() < TOLERANCE_S, (actual - scheduled, result)
    # The reported onsets keep the recording's own spacing (they were measured, not copied).
    heard = np.array(click_onsets(samples)) / RECORD_RATE * DRIFT
    lag = heard - actual
    assert np.abs(lag - np.median(lag)).max() < TOLERANCE_S, lag


def test_the_stream_is_re_anchored_to_follow_the_drifting_clock(played):
    result, _samples = played
    # The first anchor, then a few ms dropped each time the card fell 10 ms behind.
    assert result["reanchors"] >= 3, result


def test_volume_scales_the_clicks_and_mute_silences_them(played):
    _result, samples = played
    onsets = click_onsets(samples)
    peaks = np.array(peaks_after(samples, onsets, 0.01))
    full, half = peaks[: len(FULL)], peaks[len(FULL):]
    np.testing.assert_allclose(full, 0.5, rtol=0.05)  # the click train's own amplitude
    np.testing.assert_allclose(half / full.mean(), 0.5, rtol=0.05)
    # Where the muted clicks were due, and after: silence.
    muted_from = onsets[0] + round((MUTED[0] - FULL[0] - 0.05) / DRIFT * RECORD_RATE)
    assert np.abs(samples[muted_from:]).max() < 1e-3


def test_a_stopped_clock_is_silence_and_playing_on_is_on_time(paused):
    result, samples = paused
    onsets = np.array(click_onsets(samples)) / RECORD_RATE
    assert len(onsets) == len(PAUSED_CLICKS), onsets  # nothing rendered twice in the pause
    expected = np.diff(PAUSED_CLICKS) + np.array([PAUSE["for_s"], 0.0])  # the pause
    errors = np.diff(onsets) - expected
    assert np.abs(errors).max() < TOLERANCE_S, (errors, result)
    assert [int(i) for i, _ in result["confirmed"]] == [0, 1, 2]
    actual = np.array([a for _, a in result["confirmed"]])
    assert np.abs(actual - PAUSED_CLICKS).max() < TOLERANCE_S, actual - PAUSED_CLICKS


def test_a_busy_gui_thread_does_not_hold_the_sound_up(busy):
    result, samples = busy
    assert result["underruns"] == 0, result
    onsets = np.array(click_onsets(samples)) / RECORD_RATE
    assert len(onsets) == len(BUSY_CLICKS), onsets
    errors = (onsets - onsets[0]) - (np.array(BUSY_CLICKS) - BUSY_CLICKS[0])
    assert np.abs(errors).max() < TOLERANCE_S, (errors, result)
    # What is stored as heard (confirmed on the GUI thread once it is free) is what was.
    assert [int(i) for i, _ in result["confirmed"]] == list(range(len(BUSY_CLICKS)))
    actual = np.array([a for _, a in result["confirmed"]])
    assert np.abs(actual - BUSY_CLICKS).max() < TOLERANCE_S, (actual - BUSY_CLICKS, result)
    lag = onsets - actual
    assert np.abs(lag - np.median(lag)).max() < TOLERANCE_S, lag


def test_without_a_sound_server_the_player_says_so_in_another_process():
    result = play(audio_env(None), {"clicks": [0.3]})
    assert result == {
        "started": False, "ready": False, "message": NO_DEVICE_MESSAGE, "confirmed": [],
        "reanchors": 0, "underruns": 0, "sample_rate": 48000, "latency_s": 0.0,
    }


def test_without_a_sound_server_nothing_is_rendered_and_nothing_breaks(qapp):
    # This process sees no sound server (tests/conftest.py), as CI.
    output = AudioOutput()
    messages: list[str] = []
    output.message_changed.connect(messages.append)
    rendered: list[float] = []

    def render(start_s: float, n: int) -> np.ndarray:
        rendered.append(start_s)
        return np.zeros(n, np.float32)

    assert output.start(render, lambda: 0.0, 48000) is False
    assert (output.playing, output.message, messages) == (False, NO_DEVICE_MESSAGE,
                                                          [NO_DEVICE_MESSAGE])
    assert rendered == [] and output.latency_s == 0.0
    output.stop()
    output.set_volume(3.0)
    assert output.volume == 1.0
    output.set_volume(-1)
    assert output.volume == 0.0
