"""The strap source survives what real straps and a real BlueZ do (``docs/straps.md``,
"Faults the virtual strap reproduces"): real bleak against the virtual BlueZ, a real store,
and the strap's packet log as the truth of what was sent."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
from strap_sessions import StaleSubscriber, match_packets, run_session
from virtual_strap import VirtualStrap, bluetoothctl_stub, virtual_strap

from biofeedback.core.types import GapReason, SourceState, StatusChange
from biofeedback.session.live_session import BeatsProcessed
from biofeedback.store import SessionStore
from sensors.ble import BleHeartRateStrap
from sensors.ble.off_body import OFF_BODY_MESSAGE, ON_BODY_MESSAGE
from sensors.virtual.strap import GARBLED_RR_RAW

__all__ = ["virtual_strap"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def strap_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Start a virtual strap with extra command-line options, environment set for bleak."""
    started: list[VirtualStrap] = []

    def start(*extra: str) -> VirtualStrap:
        strap = VirtualStrap(tmp_path / "strap", speed=20.0, extra_args=list(extra)).start()
        started.append(strap)
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", strap.bus_address)
        monkeypatch.setenv(
            "PATH", f"{bluetoothctl_stub(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}")
        return strap

    yield start
    for strap in started:
        strap.stop()


class Script:
    """Runs fault commands at beat counts and stops some beats after the last one."""

    def __init__(self, strap: VirtualStrap, steps: list[tuple[int, str]], after: int = 30):
        self.strap = strap
        self.steps = list(steps)
        self.after = after
        self.statuses: list[str] = []
        self.answers: list[str] = []
        self._beats_after: int | None = None

    def __call__(self, event: object, session) -> bool:
        if isinstance(event, StatusChange):
            self.statuses.append(event.message)
        if not isinstance(event, BeatsProcessed):
            return False
        n = session.stats.n_beats
        while self.steps and n >= self.steps[0][0]:
            self.answers.append(self.strap.command(self.steps.pop(0)[1]))
            self._beats_after = None
        if not self.steps:
            if self._beats_after is None:
                self._beats_after = n
            elif session.stats.n_gaps >= 1 and n - self._beats_after >= self.after:
                return True
        return False


def record(strap: VirtualStrap, tmp_path: Path, script, **options):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        source = BleHeartRateStrap(strap.device_address, backoff_s=(0.2, 0.5), **options)
        session = run_session(store, source, stop_when=script, timeout_s=90)
        return session, store.load_recording(session.session_id), \
            store.session_info(session.session_id)


def assert_stored_once(rec, strap: VirtualStrap, ignore: tuple[str, ...] = ()) -> None:
    match = match_packets(rec.rr_ms, strap.packets(), ignore=ignore)
    assert match.mismatch is None, f"stored RR differ from beat {match.mismatch}"
    assert 0 <= match.expected - rec.n_beats <= 9  # at most the packet in flight at the stop
    assert np.all(np.diff(rec.time_s) >= 0)


def test_a_stale_subscription_doubles_every_packet_and_each_is_stored_once(
    virtual_strap: VirtualStrap, tmp_path: Path
) -> None:
    ghost = StaleSubscriber(virtual_strap.bus_address, virtual_strap.device_address)
    script = Script(virtual_strap, [(60, "link-loss")], after=40)
    joined = {"task": None}

    def stop_when(event, session) -> bool:
        if isinstance(event, BeatsProcessed) and session.stats.n_beats >= 20 and \
                joined["task"] is None:
            joined["task"] = asyncio.get_running_loop().create_task(ghost.subscribe())
        return script(event, session)

    _session, rec, info = record(virtual_strap, tmp_path, stop_when)
    assert info.status == "complete"
    doubled = [p for p in virtual_strap.packets(delivered=True) if len(p["to"]) == 2]
    # Doubled before the link loss (two live sessions) and after it (both re-armed).
    loss = virtual_strap.events("link_loss")[0]["monotonic_s"]
    assert sum(p["monotonic_s"] < loss for p in doubled) >= 10
    assert sum(p["monotonic_s"] > loss for p in doubled) >= 20
    assert_stored_once(rec, virtual_strap, ignore=(ghost.name,))
    assert any("Each packet arrives 2 times" in m for m in script.statuses)
    assert [m.label for m in rec.markers] == ["disconnected", "reconnected"]


def test_bluetoothd_restart_is_a_no_data_gap_then_a_reconnection(
    virtual_strap: VirtualStrap, tmp_path: Path
) -> None:
    script = Script(virtual_strap, [(30, "restart-bluez 500")])
    _session, rec, info = record(virtual_strap, tmp_path, script, data_timeout_s=1.0)
    assert script.answers == ["OK restart-bluez 500"]
    assert info.status == "complete"
    assert [m.label for m in rec.markers] == ["disconnected", "reconnected"]
    assert rec.markers[0].extra["reason"] == "no_data"
    assert [g.reason for g in rec.gaps] == [GapReason.NO_DATA]
    assert_stored_once(rec, virtual_strap)
    assert virtual_strap.events("bluez_back")


def test_an_unplugged_adapter_is_waited_for_and_the_strap_reconnected(
    virtual_strap: VirtualStrap, tmp_path: Path
) -> None:
    script = Script(virtual_strap, [(30, "unplug-adapter 2000")])
    _session, rec, info = record(virtual_strap, tmp_path, script, data_timeout_s=1.0)
    assert info.status == "complete"
    assert [m.label for m in rec.markers] == ["disconnected", "reconnected"]
    assert [g.reason for g in rec.gaps] == [GapReason.NO_DATA]
    assert any("Bluetooth adapter" in m or "Bluetooth is not available" in m
               for m in script.statuses), script.statuses
    assert_stored_once(rec, virtual_strap)


def test_an_adapter_that_never_comes_back_finishes_the_session_with_a_sentence(
    virtual_strap: VirtualStrap, tmp_path: Path
) -> None:
    script = Script(virtual_strap, [(30, "unplug-adapter")], after=10**6)
    session, rec, info = record(virtual_strap, tmp_path, script, data_timeout_s=1.0,
                                give_up_after_s=2.0)
    assert info.status == "complete"
    assert session.stats.final_state is SourceState.FINISHED
    message = session.stats.final_message
    assert message.startswith("Could not reconnect to the strap within 2 s (last attempt: ")
    assert "No Bluetooth adapters found" in message
    assert [m.label for m in rec.markers] == ["disconnected"]


def test_off_body_on_an_h10_is_told_without_contact_bits_and_its_hang_up_survived(
    strap_with, tmp_path: Path
) -> None:
    strap = strap_with("--h10-flags")
    script = Script(strap, [(20, "off-body")], after=20)
    state = {"on": False, "off_again": False, "woken": False}

    def stop_when(event, session) -> bool:
        done = script(event, session)
        if isinstance(event, StatusChange):
            if event.message == OFF_BODY_MESSAGE and not state["on"]:
                state["on"] = True
                assert strap.command("on-body") == "OK on-body"
            elif event.message == ON_BODY_MESSAGE and not state["off_again"]:
                state["off_again"] = True  # now for longer than 45 s: the strap hangs up
                assert strap.command("off-body") == "OK off-body"
            elif event.state is SourceState.RECONNECTING and state["off_again"] and \
                    not state["woken"]:
                state["woken"] = True
                assert strap.command("on-body") == "OK on-body"
        return done and state["woken"]

    _session, rec, info = record(strap, tmp_path, stop_when)
    assert info.status == "complete"
    statuses = script.statuses
    assert statuses.count(OFF_BODY_MESSAGE) == 2 and ON_BODY_MESSAGE in statuses
    assert "strap not on the skin?" in OFF_BODY_MESSAGE
    assert not any(m.startswith("No skin contact") for m in statuses)
    assert np.isnan(rec.sensor_contact).all()  # an H10 says nothing about contact
    assert [e["reason"] for e in strap.events("disconnect")] == [
        "strap_off_body", "local_disconnect"]
    assert [m.label for m in rec.markers] == ["disconnected", "reconnected"]
    # The garbled RR of the drying electrodes are stored raw, as sent, and flagged.
    garbled = np.isin(rec.rr_ms, [raw * 1000 / 1024 for raw in GARBLED_RR_RAW])
    assert garbled.sum() == 2 * len(GARBLED_RR_RAW)  # two removals
    assert rec.artifact is not None and "normal" not in set(rec.artifact[garbled])
    assert_stored_once(rec, strap)


@pytest.mark.parametrize("by_address", [True, False])
def test_a_strap_already_connected_at_start_is_used_without_scanning(
    strap_with, tmp_path: Path, by_address: bool
) -> None:
    strap = strap_with("--connected-at-start")
    with SessionStore(tmp_path / "db.sqlite3") as store:
        source = BleHeartRateStrap(strap.device_address if by_address else None,
                                   scan_timeout_s=2.0)
        session = run_session(store, source, stop_when=lambda e, s: isinstance(
            e, BeatsProcessed) and s.stats.n_beats >= 30)
        rec = store.load_recording(session.session_id)
        info = store.session_info(session.session_id)
    assert info.status == "complete"
    assert info.device_info["already_connected"] is True
    assert info.device_info["address"] == strap.device_address
    assert_stored_once(rec, strap)


def test_services_resolved_before_the_objects_is_retried(strap_with, tmp_path: Path) -> None:
    strap = strap_with("--late-gatt", "400")
    with SessionStore(tmp_path / "db.sqlite3") as store:
        source = BleHeartRateStrap(strap.device_address)
        session = run_session(store, source, stop_when=lambda e, s: isinstance(
            e, BeatsProcessed) and s.stats.n_beats >= 30)
        rec = store.load_recording(session.session_id)
        info = store.session_info(session.session_id)
    assert info.status == "complete"
    assert info.device_info["model"] == "Virtual HRM"  # read on the second connection
    assert len(strap.events("connect")) == 2
    assert_stored_once(rec, strap)
