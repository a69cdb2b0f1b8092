"""The composition root: a request becomes a session with one durability rule, one spec
parser and one study rule, whatever the entry point (real store, real sources)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from biofeedback.core.errors import BiofeedbackError, StoreError
from biofeedback.session.launch import (
    BATCHED_COMMIT_INTERVAL_S,
    DurabilityPolicy,
    SessionRequest,
    SessionSetupError,
    SourceSpecError,
    durability_policy,
    load_replay_target,
    parse_source_spec,
    prepare_session,
)
from biofeedback.session.studies import create_study, enrol, study_plan
from biofeedback.store import SessionStore, database_path
from biofeedback.store.participants import validate_participant_id
from conftest import ROOT
from protocols.design import design_orders

EVERY = DurabilityPolicy(commit_interval_s=0.0, fsync=True)
BATCHED = DurabilityPolicy(commit_interval_s=BATCHED_COMMIT_INTERVAL_S, fsync=False)
SQLITE_NORMAL = 1


@pytest.mark.parametrize(
    ("kind", "speed", "policy"),
    [
        ("ble", 1.0, EVERY),
        ("ble", 20.0, EVERY),  # a live strap has no speed: never batched
        ("ble", None, EVERY),
        ("sim", 1.0, EVERY),  # real time stands for a live session
        ("sim", 0.5, EVERY),
        ("sim", 1.01, BATCHED),
        ("sim", 20.0, BATCHED),
        ("sim", None, BATCHED),  # 'max'
        ("replay", 1.0, EVERY),
        ("replay", 20.0, BATCHED),
        ("replay", None, BATCHED),
    ],
)
def test_durability_rule(kind, speed, policy):
    assert durability_policy(kind, speed) == policy


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("sim", ("sim", "")),
        (" SIM ", ("sim", "")),
        ("ble", ("ble", "")),
        ("ble:C0:FF:EE:00:00:07", ("ble", "C0:FF:EE:00:00:07")),
        ("replay:12", ("replay", "12")),
        ("replay: rr.txt ", ("replay", "rr.txt")),
    ],
)
def test_parse_source_spec(spec, parsed):
    assert parse_source_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["", "usb", "sim:3", "replay", "replay:", "polar"])
def test_bad_source_specs_are_one_user_facing_error(spec):
    with pytest.raises(SourceSpecError, match="use sim, ble, ble:ADDRESS or replay:") as err:
        parse_source_spec(spec)
    assert isinstance(err.value, BiofeedbackError)


def test_a_replay_target_that_is_neither_id_nor_file(tmp_path):
    with pytest.raises(SourceSpecError, match=r"'nope\.txt' is neither a session id nor an"):
        load_replay_target("nope.txt", tmp_path / "data")


@pytest.fixture
def rr_file(tmp_path: Path) -> Path:
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(["800", "810", "790", "805"] * 10) + "\n", encoding="utf-8")
    return path


def _pragma(store: SessionStore, name: str) -> int:
    with store.transaction() as conn:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


# request, extra settings -> kind, policy, recorded, simulated participant, settings keys
CASES = [
    pytest.param(
        SessionRequest(source="sim", speed=1.0, seed=1, simulated_participant=True), None,
        "sim", EVERY, True, None, {"source", "live"}, id="record-sim-1x",
    ),
    pytest.param(
        SessionRequest(source="sim", speed=20.0, seed=1, protocol_id="resonance_breathing"),
        {"app": "window"},
        "sim", BATCHED, True, False, {"source", "live", "app", "protocol"}, id="window-sim-20x",
    ),
    pytest.param(
        SessionRequest(source="sim", speed=None, seed=2, protocol_id="quiet_rest",
                       simulated_participant=True), None,
        "sim", BATCHED, True, True, {"source", "live", "protocol"}, id="record-sim-max",
    ),
    pytest.param(
        SessionRequest(source="ble:C0:FF:EE:00:00:07", speed=20.0), {"app": "window"},
        "ble", EVERY, True, None, {"source", "live", "app"}, id="window-ble",
    ),
    pytest.param(
        SessionRequest(source="sim", speed=1.0, record=False, protocol_id="quiet_rest"), None,
        "sim", EVERY, False, False, {"source", "live", "protocol"}, id="not-recorded",
    ),
]


@pytest.mark.parametrize(
    ("request_", "extra", "kind", "policy", "recorded", "simulated", "keys"), CASES
)
def test_request_to_session(tmp_path, request_, extra, kind, policy, recorded, simulated, keys):
    prepared = prepare_session(request_, tmp_path / "data", neurokit=False, settings=extra)
    try:
        assert prepared.source.kind == kind == request_.source_kind
        assert prepared.durability == policy
        assert (prepared.store is not None) is recorded
        assert prepared.session.store is prepared.store
        if recorded:
            # The commit never waits for the disk; a thread fsyncs and checkpoints after it.
            assert _pragma(prepared.store, "synchronous") == SQLITE_NORMAL
            assert prepared.store.syncs_every_commit is policy.fsync
            assert _pragma(prepared.store, "wal_autocheckpoint") == (0 if policy.fsync
                                                                     else 1000)
        if simulated is None:
            assert prepared.protocol_session is None
        else:
            assert prepared.protocol_session is not None
            assert prepared.protocol_session.simulated_participant is simulated
        settings = prepared.session.settings()
        assert set(settings) == keys
        if extra:
            assert {k: settings[k] for k in extra} == extra
        if request_.protocol_id is not None:
            assert settings["protocol"]["id"] == request_.protocol_id
    finally:
        prepared.close()


def test_a_replay_is_never_recorded_and_runs_its_recording(tmp_path, rr_file):
    request = SessionRequest(source=f"replay:{rr_file}", speed=None, record=True)
    prepared = prepare_session(request, tmp_path / "data", neurokit=False)
    assert prepared.store is None and prepared.durability == BATCHED
    assert prepared.replayed is not None and prepared.replayed.n_beats == 40
    stats = asyncio.run(prepared.run())
    assert stats.n_beats == 40
    assert not database_path(tmp_path / "data").exists()


def test_a_study_request_runs_the_next_condition_with_a_simulated_participant(tmp_path):
    data = tmp_path / "data"
    conditions = ["soothing_touch", "body_scan"]
    with SessionStore.open(data) as store:
        create_study(store, "pilot", conditions)
        enrol(store, "pilot", "P00")
    request = SessionRequest(source="sim", speed=None, seed=3, participant_id="P01",
                             study="pilot", simulated_participant=True)
    prepared = prepare_session(request, data, neurokit=False)
    try:
        second = design_orders(conditions)[1]
        assert prepared.placement is not None
        assert (prepared.placement.position, prepared.placement.order) == (0, second)
        assert prepared.protocol is not None and prepared.protocol.id == second[0]
        assert prepared.protocol_session is not None
        assert prepared.protocol_session.simulated_participant is True
        assert set(prepared.session.settings()) == {"source", "live", "protocol", "study"}
        assert prepared.session.settings()["study"] == {
            "study": "pilot", "position": 0, "order": list(second)
        }
        assert prepared.durability == BATCHED
    finally:
        prepared.close()


def test_study_problems_are_sentences_and_write_nothing(tmp_path):
    data = tmp_path / "data"
    with SessionStore.open(data) as store:
        create_study(store, "pilot", ["soothing_touch", "body_scan"])
    with pytest.raises(SessionSetupError, match="a study needs a participant id"):
        prepare_session(SessionRequest(study="pilot"), data)
    with pytest.raises(SessionSetupError, match="next condition in study 'pilot' is "
                                                "'soothing_touch'"):
        prepare_session(SessionRequest(study="pilot", participant_id="P01",
                                       protocol_id="body_scan"), data)
    with pytest.raises(StoreError, match="may only hold letters"):
        prepare_session(SessionRequest(study="pilot", participant_id="Jane Doe"), data)
    with SessionStore.open(data) as store:
        plan = study_plan(store, "pilot", "P01")
        assert not plan.enrolled and plan.enrol_index == 0  # nobody was enrolled
        assert store.list_sessions() == []


def test_study_plan_follows_enrolment_without_enrolling(tmp_path):
    conditions = ["A", "B", "C"]
    orders = design_orders(conditions)
    with SessionStore.open(tmp_path / "data") as store:
        create_study(store, "s", conditions)
        before = study_plan(store, "s", "P01")
        assert (before.order, before.enrolled, before.enrol_index) == (orders[0], False, 0)
        assert (before.done, before.position, before.next_condition) == (frozenset(), 0, "A")
        assert before.problem is None
        assert study_plan(store, "s", "P01") == before  # asking twice enrols nobody
        enrol(store, "s", "P00")
        enrol(store, "s", "P01")
        after = study_plan(store, "s", "P01")
        assert (after.order, after.enrolled, after.enrol_index) == (orders[1], True, 1)
        assert after.next_condition == orders[1][0]
        assert study_plan(store, "s", "P02").order == orders[2]


@pytest.mark.parametrize(
    ("text", "ok"),
    [("P07", True), ("p-07_b", True), ("Jane Doe", False), ("", False), ("P07 ", False),
     ("a/b", False)],
)
def test_validate_participant_id(text, ok):
    problem = validate_participant_id(text)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith("participant id")


def test_only_the_launcher_constructs_a_live_session():
    # One composition root: every entry point (CLI, window, replay, study simulator) gets its
    # session from biofeedback.session.launch; tests and benchmarks may build one directly.
    import ast

    root = ROOT
    builders = []
    for pkg in ("biofeedback", "sensors", "protocols"):
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            builders += [
                f"{path.relative_to(root)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "LiveSession"
            ]
    assert len(builders) == 1 and builders[0].startswith("biofeedback/session/launch.py:")
