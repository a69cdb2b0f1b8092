"""The cue schedule: times and kinds of a protocol's cues, following pause, skip and extend."""

from __future__ import annotations

import pytest
from audio_helpers import manual_runner

from biofeedback.audio.cues import INSTRUCTIONS_AFTER_CHIME_S, SPEECH_GAP_S, CueSchedule
from protocols.loader import load_protocol_text

TOML = """
id = "cues"
name = "Cues"
category = "neutral"
description = "x"

[defaults.cues]
halfway_bell = true
speak_instructions = true
speak_prompts = true

[[phases]]
id = "a"
name = "A"
kind = "baseline"
duration_s = 10
instructions = "Sit."
[[phases.prompts]]
at_s = 4
text = "Still sitting."

[[phases]]
id = "b"
name = "B"
kind = "rest"
duration_s = 6
instructions = "Rest."
[phases.cues]
chimes = false

[[phases]]
id = "c"
name = "C"
kind = "practice"
practice = "resonance_breathing"
category = "breathing"
duration_s = 8
[phases.pacer]
breaths_per_min = 6
[phases.cues]
pacer_sound = "tone"
speak_instructions = false
"""


@pytest.fixture
def schedule():
    protocol = load_protocol_text(TOML, "cues.toml")
    runner, _ = manual_runner(protocol)
    return CueSchedule(protocol, runner), runner


def kinds_and_times(schedule: CueSchedule, start: float = 0.0, end: float = 1e9):
    return [(c.phase_id, c.kind, round(c.onset_s, 6))
            for c in schedule.cues_between(start, end)]


def test_the_plan_of_an_unstarted_protocol(schedule):
    sched, _ = schedule
    assert kinds_and_times(sched) == [
        ("a", "start_chime", 0.0),
        ("a", "instructions", INSTRUCTIONS_AFTER_CHIME_S),
        ("a", "prompt", 4.0),
        ("a", "halfway_bell", 5.0),
        # b has no chimes: a ends with its own (softer) end chime; b starts silently.
        ("a", "end_chime", 10.0),
        ("b", "instructions", 10.0),
        ("b", "halfway_bell", 13.0),
        ("c", "start_chime", 16.0),
        ("c", "pacer", 16.0),
        ("c", "halfway_bell", 20.0),
        ("c", "end_chime", 24.0),
    ]


def test_a_pause_moves_what_comes_after_it_and_nothing_before(schedule):
    sched, runner = schedule
    runner.start(0.0)
    runner.tick(3.0)
    runner.pause()
    runner.tick(8.0)
    # While held, nothing after the pause is known.
    assert kinds_and_times(sched, 3.0) == []
    runner.tick(10.0)
    runner.resume()  # held 7 s
    assert kinds_and_times(sched)[:6] == [
        ("a", "start_chime", 0.0),
        ("a", "instructions", 1.0),
        ("a", "prompt", 11.0),
        ("a", "halfway_bell", 12.0),
        ("a", "end_chime", 17.0),
        ("b", "instructions", 17.0),
    ]
    runner.tick(30.0)
    (a, b, c) = [r for r in sched.runs()]
    assert [(s.start_s, s.end_s, s.tau_start_s) for s in a.segments] == [
        (0.0, 3.0, 0.0), (10.0, 17.0, 3.0)]
    assert (b.start_s, b.end_s, c.start_s, c.end_s) == (17.0, 23.0, 23.0, 31.0)


def test_a_skip_ends_the_phase_now_and_the_next_starts_at_once(schedule):
    sched, runner = schedule
    runner.start(0.0)
    runner.tick(4.5)
    runner.skip()
    cues = kinds_and_times(sched)
    # The bell at 5 s never comes; the end chime sounds at the skip.
    assert ("a", "halfway_bell", 5.0) not in cues
    assert cues[:5] == [
        ("a", "start_chime", 0.0), ("a", "instructions", 1.0), ("a", "prompt", 4.0),
        ("a", "end_chime", 4.5), ("b", "instructions", 4.5),
    ]
    assert ("c", "start_chime", 10.5) in cues


def test_an_extension_moves_the_halfway_bell_and_the_end(schedule):
    sched, runner = schedule
    runner.start(0.0)
    runner.tick(2.0)
    runner.extend(4.0)
    cues = kinds_and_times(sched)
    assert ("a", "halfway_bell", 7.0) in cues and ("a", "end_chime", 14.0) in cues
    assert ("a", "end_chime", 10.0) not in cues
    assert ("c", "start_chime", 20.0) in cues


def test_the_end_of_the_session_cuts_the_protocol_there(schedule):
    sched, runner = schedule
    runner.start(0.0)
    runner.finish(12.0)
    cues = kinds_and_times(sched)
    assert cues[-1] == ("b", "instructions", 10.0)
    assert sched.finished
    runs = sched.runs()
    assert [(r.phase.id, r.start_s, r.end_s, r.ended) for r in runs] == [
        ("a", 0.0, 10.0, True), ("b", 10.0, 12.0, True)]


def test_cue_ids_are_stable_across_re_plans(schedule):
    sched, runner = schedule
    before = {c.id: (c.phase_id, c.kind) for c in sched.cues_between(0, 1e9)}
    runner.start(0.0)
    runner.tick(1.0)
    runner.extend(30.0)
    after = {c.id: (c.phase_id, c.kind) for c in sched.cues_between(0, 1e9)}
    assert after == before
    assert len(before) == 11


def test_the_voice_never_speaks_over_itself_or_the_chime():
    protocol = load_protocol_text(TOML, "cues.toml")
    runner, _ = manual_runner(protocol)
    # "Sit." lasts 3.5 s: the prompt due at 4 s waits until 1 + 3.5 + the gap.
    sched = CueSchedule(protocol, runner, {"Sit.": 3.5, "Still sitting.": 1.0, "Rest.": 1.0})
    cues = kinds_and_times(sched, 0.0, 10.0)
    assert cues[:4] == [("a", "start_chime", 0.0), ("a", "instructions", 1.0),
                        ("a", "halfway_bell", 5.0),
                        ("a", "prompt", round(1.0 + 3.5 + SPEECH_GAP_S, 6))]
    # A prompt pushed past its phase's end is not spoken.
    long_sit = CueSchedule(protocol, runner, {"Sit.": 9.0, "Still sitting.": 1.0, "Rest.": 1.0})
    assert [k for p, k, _ in kinds_and_times(long_sit) if p == "a"] == [
        "start_chime", "instructions", "halfway_bell", "end_chime"]
