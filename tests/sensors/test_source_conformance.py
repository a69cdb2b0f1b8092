"""The one conformance test every heart-rate source passes.

A new source joins by adding a factory to ``SOURCE_FACTORIES``: a callable taking the pytest
``request`` (for fixtures) and returning a fresh source that delivers roughly a minute of beats
quickly and then finishes by itself. Sources whose RR run faster than the receive clock (a
compressed virtual strap) are listed in ``COMPRESSED``: their beat times lead the receive clock
by design (see ``biofeedback/core/beat_clock.py``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import numpy as np
import pytest

from biofeedback.core.recording import Recording
from biofeedback.core.source import HeartRateSource, SourceError
from biofeedback.core.types import (
    BeatBatch,
    Connected,
    Gap,
    Marker,
    Reconnecting,
    Seeked,
    SourceState,
    StatusChange,
)
from sensors.ble import BleHeartRateStrap
from sensors.replay import ReplaySource
from sensors.simulated import ArtifactRates, SimulatedStrap


def _sim(request) -> HeartRateSource:
    return SimulatedStrap(seed=7, speed=None, duration_s=90.0)


def _sim_with_drops(request) -> HeartRateSource:
    return SimulatedStrap(
        seed=11, speed=None, duration_s=120.0,
        artifacts=ArtifactRates(missed=0.01, extra=0.01, ectopic_pair=0.01,
                                dropped_notification=0.1),
    )


def _sim_realtime_compressed(request) -> HeartRateSource:
    return SimulatedStrap(seed=3, speed=60.0, duration_s=60.0)


def _replay_file(request) -> HeartRateSource:
    rng = np.random.default_rng(0)
    rr = 850 + 40 * np.sin(np.arange(100) / 2) + rng.normal(0, 10, 100)
    rec = Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000, name="rr.txt", source="file")
    return ReplaySource(rec, speed="max")


def _replay_stored_with_gap(request) -> HeartRateSource:
    from biofeedback.core.types import GapReason

    rr = np.full(80, 900.0)
    t = np.cumsum(rr) / 1000
    t[40:] += 5.0
    rec = Recording(
        rr_ms=rr, time_s=t, received_s=np.ceil(t) + 0.1,
        gaps=[Gap(float(t[39]), float(t[40] - 0.9), GapReason.CLOCK_DRIFT)],
        markers=[Marker(10.0, 0.0, "bell")], name="session 1",
    )
    return ReplaySource(rec, speed=30.0)


def _ble_virtual_strap(request) -> HeartRateSource:
    # Real bleak against the virtual BlueZ at 20x; after 3 s (60 s of RR) the strap leaves
    # range and drops the link, so the source gives up reconnecting and finishes by itself.
    strap = request.getfixturevalue("virtual_strap")
    timer = threading.Timer(3.0, lambda: (strap.command("gone"), strap.link_loss()))
    timer.start()
    request.addfinalizer(timer.cancel)
    return BleHeartRateStrap(strap.device_address, give_up_after_s=1.0, backoff_s=(0.2,))


SOURCE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], HeartRateSource]] = {
    "sim-max": _sim,
    "sim-artifacts": _sim_with_drops,
    "sim-compressed": _sim_realtime_compressed,
    "replay-file": _replay_file,
    "replay-stored": _replay_stored_with_gap,
    "ble-virtual-strap": _ble_virtual_strap,
}
COMPRESSED = {"ble-virtual-strap"}

EVENT_TYPES = (BeatBatch, Gap, Marker, StatusChange, Connected, Reconnecting, Seeked)


async def _drain(source: HeartRateSource) -> list:
    await source.start()
    events = []
    async for event in source:
        events.append(event)
        assert source.session_time_s() >= 0.0 or not events
    return events


@pytest.fixture(params=sorted(SOURCE_FACTORIES))
def factory(request) -> Callable[[], HeartRateSource]:
    make = SOURCE_FACTORIES[request.param]
    return lambda: make(request)


@pytest.fixture
def compressed(request) -> bool:
    return request.node.callspec.params["factory"] in COMPRESSED


def test_stream_is_well_formed(factory, compressed):
    source = factory()
    events = asyncio.run(asyncio.wait_for(_drain(source), 30))
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    assert isinstance(events[0], StatusChange)
    assert isinstance(events[-1], StatusChange)
    assert events[-1].state in (SourceState.FINISHED, SourceState.FAILED)
    assert events[-1].state is SourceState.FINISHED, events[-1].message
    assert source.state is SourceState.FINISHED

    batches = [e for e in events if isinstance(e, BeatBatch)]
    assert sum(len(b.beats) for b in batches) > 40
    received = [b.received_s for b in batches]
    assert received == sorted(received)
    # A live source says it connected (once here, no link loss) before its first beats;
    # a recording played back connects to nothing.
    connected = [i for i, e in enumerate(events) if isinstance(e, Connected)]
    first_batch = next(i for i, e in enumerate(events) if isinstance(e, BeatBatch))
    if source.capabilities.live:
        assert len(connected) == 1 and connected[0] < first_batch
    else:
        assert connected == []

    previous = None
    for event in events:
        if isinstance(event, Gap):
            assert event.end_s >= event.start_s
            if previous is not None:
                assert event.start_s >= previous.time_s - 1e-6
            previous = None  # the next beat need not continue the cumulative clock
        elif isinstance(event, BeatBatch):
            for beat in event.beats:
                assert 150.0 <= beat.rr_ms <= 6000.0
                assert beat.received_s == event.received_s
                # Anchored to the receive clock: a beat never leads its notification's receipt
                # by more than the latency spread of one notification interval (beat_clock.py).
                assert compressed or beat.time_s <= event.received_s + 1.0
                if previous is not None:
                    # Beat times are the cumulative RR: each interval ends rr_ms after the last.
                    assert beat.time_s - previous.time_s == pytest.approx(
                        beat.rr_ms / 1000.0, abs=1e-6
                    )
                previous = beat

    json.dumps(source.settings)
    json.dumps(source.device_info)


def test_stop_mid_stream_ends_iteration(factory):
    async def scenario() -> tuple[int, list]:
        source = factory()
        await source.start()
        seen, tail = 0, []
        async for event in source:
            if isinstance(event, BeatBatch):
                seen += 1
                if seen == 3:
                    await source.stop()
                    await source.stop()  # twice is harmless
            if seen >= 3:
                tail.append(event)
        return seen, tail

    seen, tail = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert 3 <= seen <= 3 + 20  # what was already queued may still arrive, then the end
    assert isinstance(tail[-1], StatusChange) and tail[-1].state is SourceState.FINISHED


def test_misuse_is_a_clear_error(factory):
    async def scenario() -> None:
        source = factory()
        with pytest.raises(SourceError, match="start"):
            async for _ in source:
                pass
        await source.start()
        with pytest.raises(SourceError, match="already started"):
            await source.start()
        await source.stop()

    asyncio.run(scenario())
