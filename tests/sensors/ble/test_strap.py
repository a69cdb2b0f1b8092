"""The Bluetooth strap source end to end: real bleak against the virtual BlueZ strap."""

from __future__ import annotations

import asyncio
import json

import numpy as np
from bleak.exc import BleakDBusError
from strap_sessions import delivered_rr_ms, rr_seconds, run_session

from biofeedback.cli.main import main
from biofeedback.core.types import GapReason, SourceState, StatusChange
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.store import SessionStore
from sensors.ble import BleHeartRateStrap, StrapError, describe_ble_error, scan_for_straps


def test_scan_finds_the_strap_by_its_service(virtual_strap, capsys):
    straps = asyncio.run(scan_for_straps(2.0))
    assert [s.address for s in straps] == [virtual_strap.device_address]
    assert straps[0].name == virtual_strap.name and straps[0].rssi is not None
    assert main(["scan", "--timeout", "1.5", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["straps"]
    assert listed[0]["address"] == virtual_strap.device_address


def test_compressed_stream_lands_in_the_store_exactly_as_sent(virtual_strap, tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address, scan_timeout_s=5.0)
        session = run_session(
            store, strap, stop_when=lambda e, s: isinstance(e, BeatsProcessed)
            and rr_seconds(s) >= 60.0,
        )
        rec = store.load_recording(session.session_id)
        info = store.session_info(session.session_id)
    assert info.status == "complete" and info.source == "ble"
    assert info.device_info["model"] == "Virtual HRM"
    assert info.device_info["body_location"] == "chest"
    assert info.device_info["battery"] is not None
    sent = delivered_rr_ms(virtual_strap.packets())
    assert rec.n_beats >= 55
    # Raw RR in the store equals what the strap sent, value for value, in order.
    np.testing.assert_array_equal(rec.rr_ms, sent[: rec.n_beats])
    assert (rec.sensor_contact == 1.0).all()
    # Compressed: RR arrive faster than the clock, which re-anchors instead of making gaps.
    assert rec.gaps == []


def test_link_loss_reconnects_records_markers_and_a_gap_and_loses_nothing_else(
    virtual_strap, tmp_path
):
    state = {"lost": False, "beats_after": 0}

    def stop_when(event, session):
        if isinstance(event, BeatsProcessed):
            if not state["lost"] and session.stats.n_beats >= 40:
                state["lost"] = True
                virtual_strap.link_loss()
            elif state["lost"] and session.stats.n_gaps:
                state["beats_after"] += len(event.batch.beats)
        return state["beats_after"] >= 40

    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address, backoff_s=(0.2, 0.5))
        session = run_session(store, strap, stop_when=stop_when)
        rec = store.load_recording(session.session_id)
        info = store.session_info(session.session_id)
    assert info.status == "complete"
    labels = [m.label for m in rec.markers]
    assert labels == ["disconnected", "reconnected"]
    assert rec.markers[1].extra["after_s"] < 5.0
    link_gaps = [g for g in rec.gaps if g.reason is GapReason.LINK_LOSS]
    assert len(link_gaps) == 1
    gap = link_gaps[0]
    assert rec.markers[0].onset_s <= rec.markers[1].onset_s
    # The gap separates the beats before the loss from those after it.
    seg = rec.segment_ids()
    assert seg.max() == 1
    assert rec.time_s[seg == 0].max() <= gap.start_s + 1e-6
    assert rec.time_s[seg == 1].min() >= gap.end_s
    # No beat lost outside the gap: everything the strap delivered was stored, in order.
    sent = delivered_rr_ms(virtual_strap.packets())
    np.testing.assert_array_equal(rec.rr_ms, sent[: rec.n_beats])
    assert virtual_strap.packets(delivered=False), "the strap discarded nothing while away"
    assert virtual_strap.events("disconnect")[0]["reason"] == "link_loss"
    assert {len(p["to"]) for p in virtual_strap.packets(delivered=True)} == {1}


def test_adapter_powered_off_is_a_clear_failure(virtual_strap, tmp_path, capsys):
    assert virtual_strap.command("power off").startswith("OK")
    with SessionStore(tmp_path / "db.sqlite3") as store:
        session = LiveSession(BleHeartRateStrap(virtual_strap.device_address), store=store,
                              neurokit=False)
        stats = asyncio.run(asyncio.wait_for(session.run(), 30))
        assert store.list_sessions() == []  # nothing half-made
    assert stats.final_state is SourceState.FAILED
    assert "Bluetooth is not available" in stats.final_message
    assert "powered off" in stats.final_message.lower()
    code = main(["record", "--source", f"ble:{virtual_strap.device_address}",
                 "--data-dir", str(tmp_path / "cli"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Bluetooth is not available" in err and "Traceback" not in err


def test_no_strap_in_range_is_a_clear_failure(virtual_strap, tmp_path):
    assert virtual_strap.command("gone").startswith("OK")

    async def attempt(address):
        strap = BleHeartRateStrap(address, scan_timeout_s=1.0)
        session = LiveSession(strap, neurokit=False)
        return await asyncio.wait_for(session.run(), 20)

    anyone = asyncio.run(attempt(None))
    assert anyone.final_state is SourceState.FAILED
    assert "no heart-rate strap found in 1 s" in anyone.final_message
    named = asyncio.run(attempt(virtual_strap.device_address))
    assert named.final_state is SourceState.FAILED
    assert f"strap {virtual_strap.device_address} not found" in named.final_message


def test_giving_up_reconnecting_finishes_the_session_cleanly(virtual_strap, tmp_path):
    def stop_when(event, session):
        if isinstance(event, BeatsProcessed) and session.stats.n_beats >= 20 and \
                not stop_when.done:
            stop_when.done = True
            virtual_strap.command("gone")
            virtual_strap.link_loss()
        return False

    stop_when.done = False
    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address, give_up_after_s=2.0,
                                  backoff_s=(0.2,))
        session = run_session(store, strap, stop_when=stop_when)
        info = store.session_info(session.session_id)
        rec = store.load_recording(session.session_id)
    assert info.status == "complete"
    assert session.stats.final_state is SourceState.FINISHED
    assert "Could not reconnect to the strap within 2 s" in session.stats.final_message
    assert [m.label for m in rec.markers] == ["disconnected"]


def test_stop_mid_stream_unsubscribes_and_disconnects(virtual_strap, tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address)
        session = run_session(
            store, strap,
            stop_when=lambda e, s: isinstance(e, BeatsProcessed) and s.stats.n_beats >= 15,
        )
        assert store.session_info(session.session_id).status == "complete"
    # The client unsubscribed and hung up itself (not a link loss).
    assert [e["event"] for e in virtual_strap.events() if e["event"].startswith("notify")] == [
        "notify_start", "notify_stop"
    ]
    assert [e["reason"] for e in virtual_strap.events("disconnect")] == ["local_disconnect"]


def test_bluez_errors_become_sentences():
    busy = describe_ble_error(BleakDBusError("org.bluez.Error.InProgress", []), "scanning")
    assert isinstance(busy, StrapError)
    assert str(busy).startswith("scanning: another Bluetooth scan is already running")
    missing = describe_ble_error(
        BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), "scanning"
    )
    assert "BlueZ" in str(missing) and "not running" in str(missing)
    timeout = describe_ble_error(TimeoutError(), "connecting to strap X")
    assert "did not answer in time" in str(timeout)
    os_error = describe_ble_error(OSError(19, "No such device"), "scanning")
    assert "No such device" in str(os_error)


def test_cli_records_from_the_strongest_strap(virtual_strap, tmp_path, capsys):
    data = str(tmp_path / "cli")
    code = main(["record", "--source", "ble", "--duration", "4", "--participant", "P02",
                 "--data-dir", data, "--no-neurokit"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    session_id = int(captured.out.strip())
    assert "Connected to Virtual HRM, firmware 1.0.0, battery 87 %" in captured.err
    with SessionStore.open(data) as store:
        info = store.session_info(session_id)
        rec = store.load_recording(session_id)
    assert info.status == "complete" and info.participant_id == "P02"
    assert info.device_info["address"] == virtual_strap.device_address
    # 4 s of host time at 20x is about 80 s of RR.
    assert 60 <= rec.n_beats <= 140
    np.testing.assert_array_equal(rec.rr_ms, delivered_rr_ms(virtual_strap.packets())[
        : rec.n_beats])


def test_beats_without_skin_contact_are_flagged(virtual_strap, tmp_path):
    statuses = []

    def stop_when(event, session):
        if isinstance(event, StatusChange):
            statuses.append(event.message)
        if isinstance(event, BeatsProcessed):
            n = session.stats.n_beats
            if n >= 20 and not stop_when.off:
                stop_when.off = True
                virtual_strap.command("contact off")
            if n >= 45 and not stop_when.on:
                stop_when.on = True
                virtual_strap.command("contact on")
            return n >= 70
        return False

    stop_when.off = stop_when.on = False
    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address)
        session = run_session(store, strap, stop_when=stop_when)
        rec = store.load_recording(session.session_id)
    contact = rec.sensor_contact
    assert contact[0] == 1.0 and contact[-1] == 1.0
    off = np.flatnonzero(contact == 0.0)
    assert off.size >= 10 and np.all(np.diff(off) == 1)  # one stretch, flagged beat by beat
    assert any(m.startswith("No skin contact") for m in statuses)
    assert any(m == "Skin contact restored" for m in statuses)


def test_a_silent_link_is_dropped_recorded_as_no_data_and_reconnected(virtual_strap, tmp_path):
    """A zombie link (BlueZ says connected, no notification comes, no disconnect callback):
    the data watchdog drops it after ``data_timeout_s``, records a gap of reason no_data and
    reconnects; everything delivered is stored once. (Before the watchdog, the source waited
    on its inbox forever.)"""
    state = {"silenced": False, "beats_after": 0}

    def stop_when(event, session):
        if isinstance(event, BeatsProcessed):
            if not state["silenced"] and session.stats.n_beats >= 30:
                state["silenced"] = True
                assert virtual_strap.command("zombie") == "OK zombie"
            elif state["silenced"] and session.stats.n_gaps:
                state["beats_after"] += len(event.batch.beats)
        return state["beats_after"] >= 30

    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = BleHeartRateStrap(virtual_strap.device_address, backoff_s=(0.2, 0.5),
                                  data_timeout_s=2.0)
        session = run_session(store, strap, stop_when=stop_when)
        rec = store.load_recording(session.session_id)
        info = store.session_info(session.session_id)
    assert info.status == "complete"
    assert [m.label for m in rec.markers] == ["disconnected", "reconnected"]
    assert rec.markers[0].extra["reason"] == "no_data"
    [gap] = rec.gaps
    assert gap.reason is GapReason.NO_DATA
    # The gap separates the beats before the silence from those after the reconnection.
    seg = rec.segment_ids()
    assert seg.max() == 1 and rec.time_s[seg == 1].min() >= gap.end_s
    sent = delivered_rr_ms(virtual_strap.packets())
    np.testing.assert_array_equal(rec.rr_ms, sent[: rec.n_beats])
    assert virtual_strap.packets(delivered=False), "packets of the silent link were not sent"
    # The dropped client released its D-Bus connection: its subscription did not survive
    # to double the stream after the reconnection (bleak issue 2002).
    assert {len(p["to"]) for p in virtual_strap.packets(delivered=True)} == {1}
    assert virtual_strap.events("zombie")[0]["was_connected"] is True
    assert virtual_strap.events("disconnect")[0]["reason"] == "local_disconnect"
