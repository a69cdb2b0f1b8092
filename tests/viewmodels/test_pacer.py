"""The pacer model: stages agree with the protocol runner, the ball moves smoothly."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.session.live_session import LiveSession
from biofeedback.viewmodels.pacer import (
    PacerSettingsError,
    describe_pacer,
    free_practice_pacer,
    pacer_state,
)
from protocols.model import PacerSettings, Phase, PhaseKind, PracticeProtocol, ProtocolCategory
from protocols.runner import PacerStage, ProtocolRunner, pacer_stages
from sensors.simulated import SimulatedStrap

PACERS = [
    PacerSettings(6.0, 0.67),
    PacerSettings(5.5, 1 / 1.5),
    PacerSettings(10.0, 1.0, hold_after_inhale_s=1.0, hold_after_exhale_s=0.5),
    PacerSettings(4.5, 0.5, hold_after_inhale_s=2.0),
    PacerSettings(30.0, 1.0),
]


@pytest.mark.parametrize("pacer", PACERS)
def test_stage_boundaries_match_pacer_stages(pacer):
    stages = pacer_stages(pacer)
    start = 0.0
    for breath in range(3):
        for name, duration in stages:
            at_start = pacer_state(pacer, start + 1e-7)
            assert at_start.stage == name
            assert at_start.breath == breath
            assert at_start.stage_s == pytest.approx(duration)
            assert at_start.remaining_s == pytest.approx(duration, abs=1e-5)
            assert at_start.fraction == pytest.approx(0.0, abs=1e-6)
            before_end = pacer_state(pacer, start + duration - 1e-6)
            assert before_end.stage == name
            assert before_end.fraction == pytest.approx(1.0, abs=1e-5)
            assert before_end.remaining_s == pytest.approx(0.0, abs=1e-5)
            start += duration
    # Exactly on a boundary the new stage has begun (as the runner's events).
    assert pacer_state(pacer, stages[0][1]).stage == stages[1][0]
    assert pacer_state(pacer, pacer.period_s).stage == "inhale"
    assert pacer_state(pacer, pacer.period_s).breath == 1


@pytest.mark.parametrize("pacer", PACERS)
def test_volume_rises_on_inhale_falls_on_exhale_and_is_flat_in_holds(pacer):
    t = np.linspace(0.0, pacer.period_s, 2001, endpoint=False)
    states = [pacer_state(pacer, float(x)) for x in t]
    for stage, direction in (("inhale", 1), ("exhale", -1)):
        volumes = np.array([s.volume for s in states if s.stage == stage])
        assert len(volumes) > 10
        assert np.all(direction * np.diff(volumes) > 0)
    for s in states:
        if s.stage == "hold_in":
            assert s.volume == 1.0
        if s.stage == "hold_out":
            assert s.volume == 0.0
        assert 0.0 <= s.volume <= 1.0
        assert 0.0 <= s.fraction <= 1.0
    # Continuous: no jump larger than a smooth step between neighbouring samples.
    volumes = np.array([s.volume for s in states])
    assert np.max(np.abs(np.diff(volumes))) < 0.01
    # Half-cosine easing: at rest at the turns, fastest mid-way.
    inhale = pacer.inhale_s
    assert pacer_state(pacer, inhale / 2).volume == pytest.approx(0.5)


@pytest.mark.parametrize("pacer", PACERS)
def test_pacer_is_periodic(pacer):
    for t in (0.3, 1.7, 4.2, 7.9):
        a = pacer_state(pacer, t)
        b = pacer_state(pacer, t + 5 * pacer.period_s)
        c = pacer_state(pacer, t - 2 * pacer.period_s)
        for other, breaths in ((b, 5), (c, -2)):
            assert other.stage == a.stage
            assert other.volume == pytest.approx(a.volume, abs=1e-9)
            assert other.remaining_s == pytest.approx(a.remaining_s, abs=1e-9)
            assert other.breath == a.breath + breaths


def test_stages_agree_with_the_runners_pacer_events():
    pacer = PacerSettings(6.0, 0.67, hold_after_inhale_s=0.5)
    protocol = PracticeProtocol(
        "paced", "Paced", ProtocolCategory.BREATHING, "",
        (
            Phase("rest", "Rest", PhaseKind.REST, 7.3),
            Phase("breathe", "Breathe", PhaseKind.PRACTICE, 95.0, pacer=pacer),
        ),
    )
    # A real session as the runner's recorder (not run: nothing streams).
    runner = ProtocolRunner(protocol, LiveSession(SimulatedStrap(), neurokit=False))
    events = []
    runner.subscribe(events.append)
    runner.start(0.0)
    for now in np.arange(0.0, 103.0, 0.37):
        runner.tick(float(now))
    stages = [e for e in events if isinstance(e, PacerStage)]
    assert len(stages) > 20
    phase_start = 7.3
    for e in stages:
        t = e.at_s - phase_start
        assert pacer_state(pacer, t + 1e-7).stage == e.stage
        assert pacer_state(pacer, t + 1e-7).stage_s == pytest.approx(e.duration_s)
        assert pacer_state(pacer, t + e.duration_s - 1e-6).stage == e.stage


def test_free_practice_pacer_and_caption():
    pacer = free_practice_pacer(6.0, 1 / 1.5)
    assert pacer.inhale_s == pytest.approx(4.0)
    assert pacer.exhale_s == pytest.approx(6.0)
    assert describe_pacer(pacer) == "6.0 /min · in 4.0 s · out 6.0 s"
    held = free_practice_pacer(5.0, 1.0, hold_after_inhale_s=2.0)
    assert describe_pacer(held) == "5.0 /min · in 5.0 s · hold 2.0 s · out 5.0 s"
    with pytest.raises(PacerSettingsError, match="outside 2-30/min"):
        free_practice_pacer(40.0)
    with pytest.raises(PacerSettingsError, match="ratio must be positive"):
        free_practice_pacer(6.0, 0.0)
    with pytest.raises(PacerSettingsError, match="must be a number"):
        free_practice_pacer("6", 1.0)  # type: ignore[arg-type]
