"""The protocol runner: phases on the session clock, prompts, pacer, pause/skip/extend."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.types import MarkerKind
from biofeedback.session.live_session import LiveSession
from biofeedback.store import SessionStore
from protocols.model import (
    GuidancePrompt,
    PacerSettings,
    Phase,
    PhaseKind,
    PracticeProtocol,
    ProtocolCategory,
)
from protocols.runner import (
    PacerStage,
    PhaseEnded,
    PhaseStarted,
    PromptDue,
    ProtocolFinished,
    ProtocolRunner,
)
from sensors.simulated import SimulatedStrap

PROTOCOL = PracticeProtocol(
    id="test",
    name="Test",
    category=ProtocolCategory.BREATHING,
    description="",
    phases=(
        Phase("baseline", "Baseline", PhaseKind.BASELINE, 60.0,
              prompts=(GuidancePrompt(0.0, "Sit"), GuidancePrompt(30.0, "Still"))),
        Phase("paced", "Paced", PhaseKind.PRACTICE, 40.0, practice="resonance",
              category=ProtocolCategory.BREATHING,
              pacer=PacerSettings(6.0, inhale_exhale_ratio=4 / 6),
              prompts=(GuidancePrompt(20.0, "Halfway"),)),
        Phase("recovery", "Recovery", PhaseKind.RECOVERY, 30.0),
    ),
)


@pytest.fixture
def session(tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        yield LiveSession(SimulatedStrap(seed=1, speed="max"), store=store, neurokit=False)


def run(session, step_s: float, until_s: float = 200.0):
    runner = ProtocolRunner(PROTOCOL, session)
    events = []
    runner.subscribe(events.append)
    runner.start(0.0)
    for t in np.arange(0.0, until_s, step_s):
        runner.tick(float(t))
    return runner, events


def timeline(events):
    return [(type(e).__name__, getattr(e, "phase", None) and e.phase.id, round(e.at_s, 6))
            for e in events if not isinstance(e, PacerStage)]


@pytest.mark.parametrize("step_s", [0.25, 1.0, 7.0, 45.0])
def test_phases_and_prompts_land_at_planned_times_whatever_the_tick(session, step_s):
    runner, events = run(session, step_s)
    assert runner.finished
    assert timeline(events) == [
        ("PhaseStarted", "baseline", 0.0),
        ("PromptDue", "baseline", 0.0),
        ("PromptDue", "baseline", 30.0),
        ("PhaseEnded", "baseline", 60.0),
        ("PhaseStarted", "paced", 60.0),
        ("PromptDue", "paced", 80.0),
        ("PhaseEnded", "paced", 100.0),
        ("PhaseStarted", "recovery", 100.0),
        ("PhaseEnded", "recovery", 130.0),
        ("ProtocolFinished", None, 130.0),
    ]
    spans = [(p.phase_id, p.kind, p.start_s, p.end_s) for p in session.phases]
    assert spans == [("baseline", "baseline", 0.0, 60.0), ("paced", "practice", 60.0, 100.0),
                     ("recovery", "recovery", 100.0, 130.0)]
    stored = session.store.load_recording(session.session_id).phases
    assert [(p.phase_id, p.start_s, p.end_s) for p in stored] == [
        (p, s, e) for p, _, s, e in spans
    ]


def test_pacer_stages_follow_rate_and_ratio(session):
    _, events = run(session, 0.5)
    stages = [(e.stage, e.at_s, e.duration_s) for e in events if isinstance(e, PacerStage)]
    four, six = pytest.approx(4.0), pytest.approx(6.0)
    assert stages[:4] == [("inhale", 60.0, four), ("exhale", 64.0, six),
                          ("inhale", 70.0, four), ("exhale", 74.0, six)]
    assert len(stages) == 8  # 40 s at 6/min = 4 breaths, two stages each
    assert all(60.0 <= t < 100.0 for _, t, _ in stages)


def test_pause_extend_and_skip(session):
    runner = ProtocolRunner(PROTOCOL, session)
    events = []
    runner.subscribe(events.append)
    runner.start(0.0)
    runner.tick(10.0)
    runner.pause()
    runner.tick(50.0)  # paused: no prompt at 30 s, no end at 60 s
    assert [e.prompt.text for e in events if isinstance(e, PromptDue)] == ["Sit"]
    assert runner.phase_elapsed_s() == pytest.approx(10.0)
    runner.resume()  # 40 s of pause: baseline now ends at 100 s
    runner.extend(15.0)  # ... and at 115 s
    runner.tick(114.0)
    assert runner.current_phase.id == "baseline"
    assert runner.phase_remaining_s() == pytest.approx(1.0)
    runner.tick(116.0)
    assert runner.current_phase.id == "paced"
    runner.skip()
    assert runner.current_phase.id == "recovery"
    ended = [(e.phase.id, e.at_s, e.skipped) for e in events if isinstance(e, PhaseEnded)]
    assert ended == [("baseline", 115.0, False), ("paced", 116.0, True)]
    labels = [m.label for m in session.store.load_recording(session.session_id).markers]
    assert labels == ["protocol paused", "protocol resumed", "extended baseline",
                      "skipped paced"]
    runner.finish(120.0)
    assert runner.finished and isinstance(events[-1], ProtocolFinished)
    assert session.phases[-1].end_s == 120.0


def test_user_marker_at_session_time(session):
    runner = ProtocolRunner(PROTOCOL, session)
    runner.start(0.0)
    runner.tick(42.5)
    marker = runner.add_marker("itch", side="left")
    assert marker.onset_s == 42.5 and marker.kind is MarkerKind.USER
    assert marker.extra == {"side": "left"}


def test_started_event_carries_the_phase(session):
    runner = ProtocolRunner(PROTOCOL, session)
    seen = []
    runner.subscribe(seen.append)
    runner.tick(0.0)
    assert isinstance(seen[0], PhaseStarted) and seen[0].phase.name == "Baseline"


def test_prompts_keep_protocol_time_after_a_pause(session):
    runner = ProtocolRunner(PROTOCOL, session)
    prompts = []
    runner.subscribe(lambda e: prompts.append(e) if isinstance(e, PromptDue) else None)
    runner.start(0.0)
    runner.tick(10.0)
    runner.pause()
    runner.tick(50.0)
    runner.resume()  # 40 s held: the 30-s prompt is now due at 70 s of session time
    runner.tick(69.0)
    assert [p.prompt.text for p in prompts] == ["Sit"]
    runner.tick(70.0)
    assert [(p.prompt.text, p.at_s) for p in prompts] == [("Sit", 0.0), ("Still", 70.0)]


def test_finish_closes_phases_that_ended_before_it(session):
    runner = ProtocolRunner(PROTOCOL, session)
    ended = []
    runner.subscribe(ended.append)
    runner.start(0.0)
    runner.tick(59.5)
    runner.finish(75.0)  # no tick since 59.5 s: baseline must still end at 60 s
    spans = [(p.phase_id, p.start_s, p.end_s) for p in session.phases]
    assert spans == [("baseline", 0.0, 60.0), ("paced", 60.0, 75.0)]
    assert isinstance(ended[-1], ProtocolFinished) and ended[-1].completed is False
