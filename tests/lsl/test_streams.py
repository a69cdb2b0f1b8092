"""Lab Streaming Layer: publisher and marker inlet, over a real loopback on this machine."""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid

import pytest

from biofeedback.core.types import Marker, MarkerKind, SourceState, StatusChange
from biofeedback.lsl import (
    LSL_EXTRA_KEY,
    LslMarkerInlet,
    LslPublisher,
    LslStreamNotFoundError,
    lsl_time_offset,
)
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from sensors.simulated import SimulatedStrap

pylsl = pytest.importorskip("pylsl")


def unique(prefix: str) -> str:
    # Streams are visible machine-wide: never collide with another run.
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_inlet(name: str):
    found = pylsl.resolve_byprop("name", name, 1, 5.0)
    assert found, f"stream {name} not found"
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(5.0)
    return inlet


def pull_all(inlet, expected: int | None = None) -> tuple[list, list[float]]:
    samples: list = []
    stamps: list[float] = []
    for _ in range(50):
        chunk, ts = inlet.pull_chunk(timeout=0.2, max_samples=4096)
        samples += chunk
        stamps += ts
        if not chunk and (expected is None or len(samples) >= expected):
            break
    return samples, stamps


def test_publisher_streams_beats_hr_lnrmssd_and_markers():
    strap = SimulatedStrap(seed=3, speed=20, duration_s=80.0)  # lnRMSSD needs 60 s
    session = LiveSession(strap, neurokit=False)
    publisher = LslPublisher(session, name_prefix=unique("bf-test"))
    assert publisher.source_id == "sim:3"  # the device address
    inlets = {key: open_inlet(name) for key, name in publisher.stream_names.items()}
    assert inlets["RR"].info().source_id() == "sim:3:RR"
    assert inlets["Markers"].info().type() == "Markers"
    assert inlets["Markers"].info().channel_format() == pylsl.cf_string

    beats: list[tuple[float, float]] = []
    ln_rmssd: list[float] = []
    added: list[Marker] = []
    streaming: list[float] = []

    def listen(event):
        if isinstance(event, StatusChange) and event.state is SourceState.STREAMING:
            streaming.append(pylsl.local_clock())
        if isinstance(event, BeatsProcessed):
            beats.extend((b.time_s, b.rr_ms) for b in event.batch.beats)
            value = event.indices.ln_rmssd_60
            if event.batch.beats and value is not None:
                ln_rmssd.append(value)
            if not added and event.batch.received_s > 30:
                added.append(session.add_marker("itchy nose"))

    session.subscribe(listen)
    asyncio.run(session.run())
    try:
        # Session time 0 is when the strap started streaming (20 x faster than the wall).
        assert publisher.offset_s == pytest.approx(streaming[0], abs=0.5)
        rr, rr_ts = pull_all(inlets["RR"], len(beats))
        assert len(beats) > 50
        # Every beat, in order, with its value and its beat time on the LSL clock.
        assert [s[0] for s in rr] == pytest.approx([b[1] for b in beats], abs=1e-9)
        assert rr_ts == pytest.approx([publisher.offset_s + b[0] for b in beats], abs=1e-6)
        assert all(b > a for a, b in itertools.pairwise(rr_ts))

        hr, hr_ts = pull_all(inlets["HR"])
        assert len(hr) > 50 and all(35 < s[0] < 150 for s in hr)
        assert all(b >= a for a, b in itertools.pairwise(hr_ts))

        lnr, _ = pull_all(inlets["lnRMSSD"], len(ln_rmssd))
        assert len(ln_rmssd) > 5
        assert [s[0] for s in lnr] == pytest.approx(ln_rmssd, rel=1e-6)  # float32 channel
        assert all(math.isfinite(s[0]) for s in lnr)

        marks, mark_ts = pull_all(inlets["Markers"])
        labels = [s[0] for s in marks]
        assert "itchy nose" in labels
        stamp = mark_ts[labels.index("itchy nose")]
        assert stamp == pytest.approx(publisher.offset_s + added[0].onset_s, abs=1e-6)
        assert 30 < added[0].onset_s < 40
    finally:
        publisher.close()
        publisher.close()  # idempotent


def test_external_markers_are_recorded_at_their_session_time():
    name = unique("bf-stim")
    info = pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, name)
    outlet = pylsl.StreamOutlet(info)
    strap = SimulatedStrap(seed=5, speed=20, duration_s=60.0)
    session = LiveSession(strap, neurokit=False)
    # A publisher on the same session must not echo the external markers back out.
    publisher = LslPublisher(session, name_prefix=unique("bf-echo"))
    echo = open_inlet(publisher.stream_names["Markers"])
    inlet = LslMarkerInlet(session, name, timeout_s=5.0)
    markers: list[Marker] = []
    session.subscribe(lambda e: markers.append(e) if isinstance(e, Marker) else None)
    sent: dict[str, float] = {}

    async def stimulus() -> None:
        await asyncio.sleep(0.5)
        sent["stim-1"] = pylsl.local_clock()
        outlet.push_sample(["stim-1"], sent["stim-1"])
        await asyncio.sleep(0.5)
        sent["stim-2"] = pylsl.local_clock() - 0.25  # an explicit, earlier time stamp
        outlet.push_sample(["stim-2"], sent["stim-2"])

    async def main() -> None:
        await inlet.start()
        with pytest.raises(RuntimeError):
            await inlet.start()
        await asyncio.gather(session.run(), stimulus())

    try:
        asyncio.run(main())
    finally:
        inlet.close()
        inlet.close()
    assert inlet.offset_s == lsl_time_offset(session) == publisher.offset_s
    external = [m for m in markers if m.kind is MarkerKind.EXTERNAL]
    assert [m.label for m in external] == ["stim-1", "stim-2"]
    assert inlet.received == 2
    for m in external:
        assert m.onset_s == pytest.approx(sent[m.label] - inlet.offset_s, abs=0.01)
        assert 0.0 < m.onset_s < 60.0
        assert m.extra[LSL_EXTRA_KEY] == name and m.extra["lsl_source_id"] == name
    echoed, _ = pull_all(echo)
    assert not {"stim-1", "stim-2"} & {s[0] for s in echoed}
    publisher.close()


def test_inlet_reports_a_missing_stream():
    session = LiveSession(SimulatedStrap(seed=1, speed="max", duration_s=5.0), neurokit=False)
    inlet = LslMarkerInlet(session, unique("bf-nobody"), timeout_s=0.3)

    async def main() -> None:
        await inlet.start()

    with pytest.raises(LslStreamNotFoundError, match="bf-nobody"):
        asyncio.run(main())
    inlet.close()


def test_record_with_lsl_streams_and_a_missing_marker_stream(tmp_path, capsys):
    from biofeedback.cli.main import main

    data = str(tmp_path / "data")
    assert main(["record", "--source", "sim", "--speed", "max", "--duration", "30", "--lsl",
                 "--no-neurokit", "--quiet", "--data-dir", data]) == 0
    assert capsys.readouterr().out.strip().isdigit()
    code = main(["record", "--source", "sim", "--speed", "max", "--duration", "30",
                 "--lsl-markers-from", "no-such-stream-here", "--no-neurokit", "--quiet",
                 "--data-dir", data])
    err = capsys.readouterr().err
    assert code == 1 and "no-such-stream-here" in err and "Traceback" not in err


def test_a_max_speed_replay_in_runs_streams_one_hr_sample_per_notification():
    import numpy as np

    from biofeedback.core.recording import Recording
    from sensors.replay import ReplaySource

    rr = np.tile([800.0, 820.0, 790.0, 810.0], 30)
    t = np.cumsum(rr) / 1000.0
    # Two beats in some notifications, one in others, as a strap sends them.
    rec = Recording(rr_ms=rr, time_s=t, received_s=np.ceil(t / 1.5) * 1.5, name="lsl runs")

    def streamed(max_run: int) -> tuple[list[float], list[float], int]:
        session = LiveSession(ReplaySource(rec, speed="max", max_run=max_run), neurokit=False)
        publisher = LslPublisher(session, name_prefix=unique("bf-runs"))
        inlet = open_inlet(publisher.stream_names["HR"])
        events: list[BeatsProcessed] = []
        session.subscribe(lambda e: events.append(e) if isinstance(e, BeatsProcessed) else None)
        asyncio.run(session.run())
        try:
            hr, stamps = pull_all(inlet, session.stats.n_notifications)
            return [s[0] for s in hr], [s - publisher.offset_s for s in stamps], len(events)
        finally:
            publisher.close()

    hr_runs, at_runs, n_runs = streamed(16)
    hr_one, at_one, n_one = streamed(1)
    assert n_runs < n_one / 5  # the runs were published as runs
    assert len(hr_one) == len(np.unique(rec.received_s))
    assert hr_runs == hr_one
    assert at_runs == pytest.approx(at_one, abs=1e-6)
