"""Studies in the store: creation, Williams enrolment, sessions in studies, migration, CLI."""

from __future__ import annotations

import argparse
import json
import sqlite3

import pytest

from biofeedback.cli import study as study_cli
from biofeedback.core.errors import BiofeedbackError, SessionNotFoundError
from biofeedback.core.types import Beat, BeatBatch, Marker
from biofeedback.session.studies import create_study, enrol, next_order, study_orders
from biofeedback.store import SessionStore, database_path, schema
from biofeedback.store.studies import (
    StudyError,
    StudyNotFoundError,
    get_study,
    list_studies,
    record_session_in_study,
    session_study,
    study_sessions,
)
from protocols.design import design_orders
from protocols.library import UnknownProtocolError


def test_create_and_get(store):
    created = create_study(store, "compassion-2025", ["soothing", "attention"], 7.5)
    assert created.conditions == ("soothing", "attention")
    assert created.exclusion_threshold_pct == 7.5
    assert study_orders(created) == [("soothing", "attention"), ("attention", "soothing")]
    assert created.participants == ()
    again = get_study(store, "compassion-2025")
    assert again == created
    assert create_study(store, "b", ["x", "y", "z"]).exclusion_threshold_pct == 5.0
    assert [s.name for s in list_studies(store)] == ["b", "compassion-2025"]


@pytest.mark.parametrize(
    ("name", "conditions", "words"),
    [
        ("s", ["A"], "2 to 8 conditions"),
        ("s", [f"c{i}" for i in range(9)], "2 to 8 conditions"),
        ("s", ["A", "B", "A"], "given twice: A"),
        ("s", ["A", ""], "must not be empty"),
        ("s", ["A", "B C"], "letters, digits"),
        ("", ["A", "B"], "must not be empty"),
        ("bad/name", ["A", "B"], "letters, digits"),
        ("s", "AB", "list of names"),
    ],
)
def test_create_rejects_bad_designs(store, name, conditions, words):
    with pytest.raises(StudyError, match=words):
        create_study(store, name, conditions)
    assert list_studies(store) == []


def test_create_rejects_bad_threshold_and_duplicate_names(store):
    with pytest.raises(StudyError, match="0-100"):
        create_study(store, "s", ["A", "B"], exclusion_threshold_pct=150)
    create_study(store, "s", ["A", "B"])
    with pytest.raises(StudyError, match="exists already"):
        create_study(store, "s", ["C", "D"])
    assert get_study(store, "s").conditions == ("A", "B")


def test_enrolment_follows_the_williams_sequence(store):
    conditions = ["A", "B", "C"]
    create_study(store, "s", conditions)
    orders = design_orders(conditions)
    got = [enrol(store, "s", f"P{i:02d}") for i in range(8)]
    assert [e.condition_order for e in got] == [orders[i % 6] for i in range(8)]
    assert [e.enrol_index for e in got] == list(range(8))
    assert all(e.new for e in got)
    # enrolling twice returns the existing order and does not advance the sequence
    again = enrol(store, "s", "P01")
    assert not again.new and again.condition_order == orders[1] and again.enrol_index == 1
    nxt = enrol(store, "s", "P99")
    assert nxt.enrol_index == 8 and nxt.condition_order == orders[8 % 6]
    study = get_study(store, "s")
    assert [e.participant_id for e in study.participants][-2:] == ["P07", "P99"]
    assert study.enrolment("P03").condition_order == orders[3]
    assert next_order(study) == orders[9 % 6]


def test_enrol_errors(store):
    with pytest.raises(StudyNotFoundError, match="no studies yet"):
        enrol(store, "nope", "P01")
    create_study(store, "s", ["A", "B"])
    with pytest.raises(StudyNotFoundError, match="studies: s"):
        get_study(store, "nope")
    with pytest.raises(BiofeedbackError, match="participant id"):
        enrol(store, "s", "Jane Doe")
    assert get_study(store, "s").participants == ()


def test_two_studies_have_independent_sequences(store):
    create_study(store, "one", ["A", "B"])
    create_study(store, "two", ["A", "B"])
    enrol(store, "one", "P01")
    assert enrol(store, "one", "P02").condition_order == ("B", "A")
    assert enrol(store, "two", "P02").condition_order == ("A", "B")


def test_record_session_in_study(store):
    create_study(store, "s", ["soothing", "attention"])
    enrol(store, "s", "P01")
    enrol(store, "s", "P02")
    sid = store.create_session(source="sim")
    linked = record_session_in_study(store, sid, "s", "P02", 1)
    assert linked.condition_order == ("attention", "soothing")
    assert linked.condition == "soothing"
    assert session_study(store, sid) == linked
    assert store.session_info(sid).participant_id == "P02"
    other = store.create_session(source="sim", participant_id="P01")
    assert session_study(store, other) is None
    record_session_in_study(store, other, "s", "P01", 0)
    assert [s.session_id for s in study_sessions(store, "s")] == [sid, other]
    assert session_study(store, other).condition == "soothing"


def test_record_session_errors(store):
    create_study(store, "s", ["A", "B"])
    enrol(store, "s", "P01")
    sid = store.create_session(source="sim", participant_id="P01")
    with pytest.raises(SessionNotFoundError):
        record_session_in_study(store, 999, "s", "P01", 0)
    with pytest.raises(StudyNotFoundError):
        record_session_in_study(store, sid, "nope", "P01", 0)
    with pytest.raises(StudyError, match="not enrolled"):
        record_session_in_study(store, sid, "s", "P02", 0)
    with pytest.raises(StudyError, match="0 to 1"):
        record_session_in_study(store, sid, "s", "P01", 2)
    enrol(store, "s", "P02")
    with pytest.raises(StudyError, match="belongs to participant 'P01'"):
        record_session_in_study(store, sid, "s", "P02", 0)
    assert session_study(store, sid) is None


def test_migration_from_v1_keeps_the_data(tmp_path):
    path = database_path(tmp_path / "data")
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(conn, schema.MIGRATIONS[:1]) == 1
    conn.execute("INSERT INTO participants (id, created_utc) VALUES ('P01', '2024-01-01')")
    conn.execute(
        "INSERT INTO sessions (participant_id, status, source, started_utc, duration_s)"
        " VALUES ('P01', 'complete', 'sim', '2024-01-01T10:00:00', 1.6)"
    )
    conn.execute(
        "INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms) VALUES"
        " (1, 0, 0.8, 0.8, 800.0), (1, 1, 1.6, 1.6, 800.0)"
    )
    conn.execute(
        "INSERT INTO markers (session_id, onset_s, label, kind) VALUES (1, 1.0, 'x', 'user')"
    )
    conn.close()

    with SessionStore(path) as store:
        with store.transaction() as conn:
            assert schema.schema_version(conn) == schema.SCHEMA_VERSION
        info = store.session_info(1)
        assert (info.participant_id, info.status, info.duration_s) == ("P01", "complete", 1.6)
        rec = store.load_recording(1)
        assert rec.rr_ms.tolist() == [800.0, 800.0]
        assert rec.markers == [Marker(1.0, 0.0, "x")]
        assert session_study(store, 1) is None
        create_study(store, "s", ["A", "B"])
        enrol(store, "s", "P01")
        record_session_in_study(store, 1, "s", "P01", 1)
        assert session_study(store, 1).condition == "B"
        # a v2 database still takes new sessions and beats as before
        sid = store.create_session(source="sim")
        store.append_notification(sid, 0, BeatBatch(1.0, (Beat(800.0, 0.8, 1.0, None, 0),)))
        assert store.beat_count(sid) == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    cols = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    assert {"study_id", "condition_order", "condition_position"} <= cols


def test_delete_session_in_a_study(store):
    create_study(store, "s", ["A", "B"])
    enrol(store, "s", "P01")
    sid = store.create_session(source="sim", participant_id="P01")
    record_session_in_study(store, sid, "s", "P01", 0)
    store.delete_session(sid)
    assert study_sessions(store, "s") == []


# -- CLI ----------------------------------------------------------------------------------


def cli(data_dir, *argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    study_cli.add_parser(sub)
    args = parser.parse_args([*argv, "--data-dir", str(data_dir)])
    return args.run(args)


def test_cli_create_enrol_show(tmp_path, capsys):
    data = tmp_path / "data"
    conditions = "soothing_touch,body_scan,quiet_rest"
    assert cli(data, "study", "create", "pilot", "--conditions", conditions) == 0
    out = capsys.readouterr().out
    assert "6 orders" in out and "soothing_touch -> body_scan -> quiet_rest" in out

    assert cli(data, "study", "enrol", "pilot", "P01") == 0
    assert "soothing_touch -> body_scan -> quiet_rest" in capsys.readouterr().out
    assert cli(data, "study", "enrol", "pilot", "P02", "--json") == 0
    enrolled = json.loads(capsys.readouterr().out)["enrolment"]
    assert enrolled["condition_order"] == ["body_scan", "quiet_rest", "soothing_touch"]
    assert enrolled["enrol_index"] == 1 and enrolled["new"] is True
    assert cli(data, "study", "enrol", "pilot", "P01") == 0
    assert "already enrolled" in capsys.readouterr().out

    assert cli(data, "study", "show", "pilot") == 0
    out = capsys.readouterr().out
    assert "P01" in out and "P02" in out and "next participant gets: quiet_rest" in out
    assert cli(data, "study", "show", "pilot", "--json") == 0
    shown = json.loads(capsys.readouterr().out)["study"]
    assert shown["conditions"] == ["soothing_touch", "body_scan", "quiet_rest"]
    assert shown["orders"] == [list(o) for o in design_orders(shown["conditions"])]
    assert [p["participant"] for p in shown["participants"]] == ["P01", "P02"]
    assert shown["exclusion_threshold_pct"] == 5.0


def test_cli_create_json_and_threshold(tmp_path, capsys):
    argv = ["study", "create", "ab", "--conditions", "body_scan, open_awareness",
            "--exclusion-threshold", "10"]
    assert cli(tmp_path, *argv, "--json") == 0
    created = json.loads(capsys.readouterr().out)["study"]
    assert created["orders"] == [
        ["body_scan", "open_awareness"], ["open_awareness", "body_scan"]
    ]
    assert created["exclusion_threshold_pct"] == 10.0


def test_cli_errors_are_user_errors(tmp_path, capsys):
    with pytest.raises(StudyNotFoundError):
        cli(tmp_path, "study", "show", "nope")
    with pytest.raises(StudyNotFoundError):
        cli(tmp_path, "study", "enrol", "nope", "P01")
    cli(tmp_path, "study", "create", "s", "--conditions", "body_scan,quiet_rest")
    with pytest.raises(StudyError, match="exists already"):
        cli(tmp_path, "study", "create", "s", "--conditions", "body_scan,quiet_rest")
    with pytest.raises(SystemExit):
        cli(tmp_path, "study", "create", "t", "--conditions", "body_scan,quiet_rest",
            "--exclusion-threshold", "x")
    with pytest.raises(UnknownProtocolError, match="body_scan"):
        cli(tmp_path, "study", "create", "u", "--conditions", "body_scann,quiet_rest")
    capsys.readouterr()
    parser = argparse.ArgumentParser()
    study_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["study"])
    with pytest.raises(BiofeedbackError, match="create"):
        args.run(args)


def test_the_store_persists_the_order_it_is_given(store):
    from biofeedback.store import studies as stored

    create_study(store, "s", ["A", "B", "C"])
    got = stored.enrol(store, "s", "P01", ("C", "A", "B"))
    assert got.new and got.condition_order == ("C", "A", "B")
    assert get_study(store, "s").enrolment("P01").condition_order == ("C", "A", "B")
    for bad in (("A", "B"), ("A", "B", "B"), ("A", "B", "D")):
        with pytest.raises(StudyError, match="is not the conditions of study 's'"):
            stored.enrol(store, "s", "P02", bad)
    assert [e.participant_id for e in get_study(store, "s").participants] == ["P01"]
