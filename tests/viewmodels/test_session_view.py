"""SessionViewModel: the Qt-free model of what the window shows of a running session."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from biofeedback.core.recording import Recording
from biofeedback.core.types import (
    Beat,
    BeatBatch,
    Connected,
    Marker,
    MarkerKind,
    PhaseSpan,
    Reconnecting,
    Seeked,
    SourceState,
    StatusChange,
)
from biofeedback.live.indices import LiveIndices
from biofeedback.session.live_session import BeatsProcessed, LiveSession, SessionEvent
from biofeedback.viewmodels.session_view import SessionViewModel
from biofeedback.viewmodels.spectrum import session_spectrum
from sensors.replay import ReplaySource
from sensors.simulated import SimulatedStrap


def _idle_session() -> LiveSession:
    """A session that is never run: the view-model is fed constructed events."""
    return LiveSession(SimulatedStrap(seed=0, speed=None, duration_s=1.0), neurokit=False)


def _beats(seq: int, t_s: float, indices: LiveIndices | None = None) -> BeatsProcessed:
    batch = BeatBatch(t_s, (Beat(1000.0, t_s, t_s, None, seq),))
    return BeatsProcessed(batch, (), indices or LiveIndices(t_s, 0))


def test_seek_truncates_the_plots_once():
    vm = SessionViewModel(_idle_session())
    for k in range(1, 11):
        vm.on_event(_beats(k, float(k)))
    before = vm.traces.version
    vm.on_event(Seeked(5.5))
    assert vm.traces.version == before + 1  # one truncation, not three
    np.testing.assert_allclose(vm.traces.beat_arrays()[0], [1, 2, 3, 4, 5])
    # the status line says what the source said about the jump, from its StatusChange
    vm.on_event(StatusChange(SourceState.STREAMING, "Jumped to 5.5 s", 5.5))
    assert vm.traces.version == before + 1
    assert vm.status.message == "Jumped to 5.5 s"


def test_status_follows_connected_and_reconnecting_events():
    vm = SessionViewModel(_idle_session())
    seen: list[SessionEvent] = []
    vm.subscribe(seen.append)
    connected = Connected(0.0, {"battery": 87, "model": "H10"}, "AA:BB:CC:DD:EE:FF", "Polar H10")
    vm.on_event(connected)
    vm.on_event(StatusChange(SourceState.STREAMING, "Connected to Polar H10", 0.0))
    assert vm.connected is connected
    assert vm.status.battery_pct == 87
    assert vm.status.state is SourceState.STREAMING
    assert "battery 87 %" in vm.status.text()
    vm.on_event(Reconnecting(30.0, 0))
    vm.on_event(StatusChange(SourceState.RECONNECTING, "Connection lost; reconnecting", 30.0))
    vm.on_event(Reconnecting(33.0, 2))  # a retry of the same reconnection
    assert vm.status.reconnections == 1
    assert vm.status.state is SourceState.RECONNECTING
    vm.on_event(Connected(40.0, {"battery": 86}, "AA:BB:CC:DD:EE:FF", "Polar H10"))
    vm.on_event(StatusChange(SourceState.STREAMING, "Reconnected after 10.0 s", 40.0))
    vm.on_event(Reconnecting(90.0, 0))
    assert vm.status.reconnections == 2
    assert vm.status.battery_pct == 86
    assert "2 reconnections" in vm.status.text()
    assert len(seen) == 8  # every event reaches the listeners, after the model took it in
    # a device without a battery reading leaves the last one shown
    vm.on_event(Connected(100.0, {}, None, None))
    assert vm.status.battery_pct == 86


def test_indices_come_from_the_event_and_version_moves():
    vm = SessionViewModel(_idle_session())
    first = LiveIndices(1.0, 1, hr_bpm=60.0, artifact_pct=0.0)
    second = LiveIndices(2.0, 2, hr_bpm=62.0, artifact_pct=5.0)
    v0 = vm.version
    vm.on_event(_beats(0, 1.0, first))
    assert vm.indices is first and vm.version > v0
    vm.on_event(_beats(1, 2.0, second))
    assert vm.indices is second
    assert vm.status.artifact_pct == 5.0
    assert vm.status.n_beats == 2


def test_undrawn_markers_are_kept_out_of_the_plots():
    vm = SessionViewModel(_idle_session())
    vm.on_event(Marker(1.0, 0.0, "answer 1009", MarkerKind.STRESSOR))
    vm.on_event(Marker(2.0, 0.0, "calm 4", MarkerKind.SELF_REPORT))
    vm.on_event(Marker(3.0, 0.0, "itchy nose"))
    assert [m.label for m in vm.traces.markers] == ["itchy nose"]


def test_capabilities_and_phases_come_from_the_source():
    live = SessionViewModel(_idle_session())
    assert live.capabilities.live and live.capabilities.has_battery
    assert not live.capabilities.seekable
    assert live.practice_along
    assert live.traces.phases == []
    phases = [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 3.0)]
    rec = Recording(
        rr_ms=np.full(5, 1000.0), time_s=np.arange(1.0, 6.0), phases=phases, name="r"
    )
    replay = SessionViewModel(LiveSession(ReplaySource(rec, speed=None), neurokit=False))
    assert replay.capabilities.seekable and not replay.capabilities.live
    assert not replay.practice_along
    assert replay.traces.phases == phases


def test_spectrum_cadence_follows_session_time():
    """At max speed the spectrum refreshes every session second, asked on every event."""
    strap = SimulatedStrap(seed=4, speed=None, duration_s=200.0)
    session = LiveSession(strap, store=None, neurokit=False)
    vm = SessionViewModel(session)
    refreshed: list[float] = []
    matches: list[bool] = []

    def tick(event: SessionEvent) -> None:
        if vm.refresh_spectrum():
            t = vm.spectrum_time_s
            assert t is not None
            refreshed.append(t)
            now = session_spectrum(session)
            same = (now is None and vm.spectrum is None) or (
                now is not None and vm.spectrum is not None
                and np.array_equal(now.psd_ms2_hz, vm.spectrum.psd_ms2_hz)
            )
            matches.append(same)
            assert not vm.refresh_spectrum()  # not due again for the same data

    vm.subscribe(tick)
    asyncio.run(session.run(duration_s=200.0))
    seconds = np.floor(refreshed)
    assert (np.diff(seconds) >= 1).all()  # at most once per session second
    assert np.diff(refreshed).max() < 2.5  # and about every second (notifications ~1 s apart)
    assert len(refreshed) == pytest.approx(200, rel=0.15)
    assert all(matches)
    assert vm.spectrum is not None  # 200 s without a gap: a spectrum with the live settings
    assert vm.spectrum.hf_band_hz == session.processor.hrv.settings.hf_band_hz


def test_close_stops_following_the_session():
    strap = SimulatedStrap(seed=1, speed=None, duration_s=20.0)
    session = LiveSession(strap, store=None, neurokit=False)
    vm = SessionViewModel(session)
    vm.close()
    vm.close()  # twice is harmless
    asyncio.run(session.run(duration_s=20.0))
    assert session.stats.n_beats > 10
    assert vm.traces.n_beats == 0 and vm.status.n_beats == 0
