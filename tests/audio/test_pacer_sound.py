"""The audio pacer follows the visual pacer's ``pacer_state`` within 20 ms."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import level_crossings, manual_runner, tone_frequency

from biofeedback.audio import synth
from biofeedback.audio.program import AudioProgram
from biofeedback.viewmodels.pacer import pacer_state
from protocols.loader import load_protocol_text
from protocols.model import PacerSettings

RATE = 8_000

TOML = """
id = "pacer_sound"
name = "Pacer sound"
category = "breathing"
description = "x"

[[phases]]
id = "rest"
name = "Rest"
kind = "rest"
duration_s = 3
[phases.cues]
chimes = false

[[phases]]
id = "paced"
name = "Paced"
kind = "practice"
practice = "resonance_breathing"
duration_s = 40
[phases.pacer]
breaths_per_min = 6
inhale_exhale_ratio = 0.6667
hold_after_inhale_s = {hold}
[phases.cues]
chimes = false
pacer_sound = "{sound}"
"""

START_S = 3.0


def render(sound: str, hold: float = 0.0):
    protocol = load_protocol_text(TOML.format(sound=sound, hold=hold), "pacer.toml")
    runner, _ = manual_runner(protocol)
    program = AudioProgram.build(protocol, runner, sample_rate=RATE)
    runner.start(0.0)
    x = np.concatenate([program.render(t, RATE) for t in range(44)])
    return protocol.phases[1].pacer, x


def visual_volume(pacer: PacerSettings, t: np.ndarray) -> np.ndarray:
    # What the window's pacer draws: pacer_state at the phase's protocol time.
    return np.array([pacer_state(pacer, float(s - START_S)).volume for s in t])


@pytest.mark.parametrize("hold", [0.0, 1.0])
def test_the_tone_rises_and_falls_with_the_visual_pacer(hold):
    pacer, x = render("tone", hold)
    t, freq = tone_frequency(x[int(START_S * RATE): int(43 * RATE)], RATE,
                             lowpass_hz=1.2 * synth.TONE_HIGH_HZ)
    t = t + START_S
    volume = (freq - synth.TONE_LOW_HZ) / (synth.TONE_HIGH_HZ - synth.TONE_LOW_HZ)
    keep = (t > START_S + 0.1) & (t < 42.9)
    t, volume = t[keep], volume[keep]
    seen = visual_volume(pacer, t)
    assert float(np.max(np.abs(volume - seen))) < 0.05  # the pitch is the lung volume
    # Mid-inhale and mid-exhale (fastest change): audio and visual cross together.
    for rising in (True, False):
        heard = level_crossings(t, volume, 0.5, rising)
        shown = level_crossings(t, seen, 0.5, rising)
        assert len(heard) == len(shown) == 4
        assert float(np.max(np.abs(heard - shown))) < 0.020
    # The highest pitch of each breath is where the visual pacer is full: the end of the
    # inhale (the whole hold, when there is one).
    period = pacer.period_s
    for b in range(4):
        inside = (t >= START_S + b * period) & (t < START_S + (b + 1) * period)
        peak_t = t[inside][np.argmax(volume[inside])]
        assert pacer_state(pacer, float(peak_t - START_S)).volume > 0.99


def test_the_breath_sound_is_loudest_when_the_lungs_are_full():
    pacer, x = render("breath")
    # Loudness in 50 ms windows against the visual volume: the best lag is within 20 ms.
    win = int(0.05 * RATE)
    seg = x[int(START_S * RATE): int(43 * RATE)].astype(np.float64)
    n = len(seg) // win
    rms = np.sqrt(np.mean(seg[: n * win].reshape(n, win) ** 2, axis=1))
    centres = START_S + (np.arange(n) + 0.5) * win / RATE
    lags = np.arange(-0.2, 0.2001, 0.005)
    scores = []
    for lag in lags:
        v = visual_volume(pacer, centres - lag)
        scores.append(np.corrcoef(rms, v)[0, 1])
    best = lags[int(np.argmax(scores))]
    assert abs(best) <= 0.020
    assert max(scores) > 0.9
    # Silent with empty lungs (the start of each inhale), loud with full ones.
    assert rms[0] < 0.2 * rms.max()
