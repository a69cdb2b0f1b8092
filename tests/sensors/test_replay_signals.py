"""Replay of a stored session's raw ECG and ACC: the chunks come back sample for sample, in
time order with the beats, at any speed and across a seek, through the same pipeline."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np
import pytest
from signal_synth import recorded_with_signals

from biofeedback.cli.main import main
from biofeedback.core.channels import RawChannel
from biofeedback.core.recording import Recording
from biofeedback.core.signals import SignalChunk, chunks_from_channel
from biofeedback.core.types import BeatBatch, Marker, Seeked
from biofeedback.session.launch import SessionRequest, load_replay_target, prepare_session
from biofeedback.store import SessionStore
from biofeedback.store.paths import database_path
from sensors.replay import SIGNAL_PIECE_S, ReplaySource

DURATION_S = 30.0
ECG_HZ, ACC_HZ = 130.0, 200.0
ECG_T0, ACC_T0 = 0.1, 0.2  # where recorded_with_signals places the streams


@pytest.fixture
def recorded(data_dir: Path) -> tuple[int, np.ndarray, np.ndarray]:
    """30 s of beats, ECG and ACC stored in the data folder's database, as a strap records."""
    data_dir.mkdir(mode=0o700)
    return recorded_with_signals(database_path(data_dir), DURATION_S)


def _due(event: object) -> float | None:
    """When a replayed data event is due: a notification's receive time, a chunk's last
    sample."""
    if isinstance(event, BeatBatch):
        return event.received_s
    if isinstance(event, SignalChunk):
        return event.t0_s + (event.n_samples - 1) / event.rate_hz
    return None


def _check_stream(chunks: list[SignalChunk], samples: np.ndarray, rate: float, t0: float,
                  start: int = 0) -> None:
    """``chunks`` are ``samples[start:]`` sample for sample, continuous, at their times."""
    got = np.concatenate([c.samples for c in chunks])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, samples[start:])
    assert [c.first_index for c in chunks] == \
        list(np.cumsum([start] + [c.n_samples for c in chunks[:-1]]))
    times = np.concatenate([c.times_s() for c in chunks])
    np.testing.assert_allclose(times, t0 + np.arange(start, len(samples)) / rate, rtol=0,
                               atol=1e-6)
    assert max(c.n_samples for c in chunks) <= math.ceil(SIGNAL_PIECE_S * rate)


async def _collect(source: ReplaySource, seek: tuple[float, float] | None = None
                   ) -> list[object]:
    """Every event; with ``seek=(at, to)``, seek to ``to`` once a notification at ``at`` s
    or later is consumed."""
    await source.start()
    events: list[object] = []
    async for event in source:
        events.append(event)
        if seek is not None and isinstance(event, BeatBatch) and event.received_s >= seek[0]:
            source.seek(seek[1])
            seek = None
    return events


@pytest.mark.parametrize("speed", ["max", 60.0])
def test_a_stored_session_replays_its_ecg_and_acc_sample_for_sample_in_time_order(
        recorded, data_dir, speed) -> None:
    sid, ecg, acc = recorded
    recording = load_replay_target(str(sid), data_dir)
    recording.markers = [Marker(12.25, 0.0, "bell")]
    events = asyncio.run(_collect(ReplaySource(recording, speed=speed)))
    data = [e for e in events if _due(e) is not None or isinstance(e, Marker)]
    chunks = [e for e in data if isinstance(e, SignalChunk)]
    _check_stream([c for c in chunks if c.stream == "ecg"], ecg, ECG_HZ, ECG_T0)
    _check_stream([c for c in chunks if c.stream == "acc"], acc, ACC_HZ, ACC_T0)
    assert sum(len(e.beats) for e in data if isinstance(e, BeatBatch)) == int(DURATION_S / 0.9)
    # One time line: beats and pieces of both streams as a strap would have sent them, the
    # marker where the clock passed its onset.
    dues = [_due(e) for e in data if not isinstance(e, Marker)]
    assert dues == sorted(dues)
    at = next(i for i, e in enumerate(data) if isinstance(e, Marker))
    assert _due(data[at - 1]) < 12.25 <= _due(data[at + 1])
    assert ReplaySource(recording).duration_s == pytest.approx(ACC_T0 + (len(acc) - 1) / ACC_HZ)


def test_a_seek_drops_the_queued_chunks_and_replays_from_the_new_time(recorded, data_dir):
    sid, ecg, acc = recorded
    source = ReplaySource(load_replay_target(str(sid), data_dir), speed="max")
    events = asyncio.run(_collect(source, seek=(3.0, 20.0)))
    jump = next(i for i, e in enumerate(events) if isinstance(e, Seeked))
    before, after = events[:jump], events[jump + 1:]
    assert max(_due(e) or 0.0 for e in before) < 20.0
    # Nothing queued before the seek arrives after it: every data event is due from 20 s on.
    assert min(d for e in after if (d := _due(e)) is not None) >= 20.0
    for stream, samples, rate, t0 in (("ecg", ecg, ECG_HZ, ECG_T0), ("acc", acc, ACC_HZ,
                                                                       ACC_T0)):
        pieces = [e for e in after if isinstance(e, SignalChunk) and e.stream == stream]
        start = pieces[0].first_index
        # The first piece is the one holding 20 s: no sample after 20 s is skipped.
        assert t0 + (start - 1) / rate < 20.0 <= pieces[0].times_s()[-1]
        assert 20.0 - t0 - (start / rate) <= SIGNAL_PIECE_S
        _check_stream(pieces, samples, rate, t0, start)


def test_pause_holds_the_chunks_and_resume_continues_them(recorded, data_dir):
    sid, ecg, _ = recorded

    async def scenario() -> tuple[list[SignalChunk], float, float]:
        source = ReplaySource(load_replay_target(str(sid), data_dir), speed=40.0)
        await source.start()
        got: list[SignalChunk] = []
        paused_at = held = 0.0
        async for event in source:
            if isinstance(event, SignalChunk) and event.stream == "ecg":
                got.append(event)
                if len(got) == 10:
                    source.pause()
                    await asyncio.sleep(0.05)  # the producer takes the pause in
                    paused_at = source.session_time_s()
                    await asyncio.sleep(0.3)
                    held = source.session_time_s()
                    source.resume()
        return got, paused_at, held

    got, paused_at, held = asyncio.run(scenario())
    assert held == paused_at
    _check_stream(got, ecg, ECG_HZ, ECG_T0)


def test_the_pipeline_shows_the_replayed_chunks_and_stores_no_copy(recorded, data_dir):
    sid, ecg, acc = recorded
    published: list[SignalChunk] = []
    prepared = prepare_session(
        SessionRequest(source=f"replay:{sid}", speed=None, record=True), data_dir,
        neurokit=False,
        subscribers=[lambda e: published.append(e) if isinstance(e, SignalChunk) else None])
    assert prepared.store is None  # a replay is never recorded again, beats nor samples
    asyncio.run(prepared.run())
    _check_stream([c for c in published if c.stream == "ecg"], ecg, ECG_HZ, ECG_T0)
    _check_stream([c for c in published if c.stream == "acc"], acc, ACC_HZ, ACC_T0)
    with SessionStore.open_for_reading(data_dir) as store:
        assert [s.id for s in store.list_sessions()] == [sid]


def test_cli_replay_plays_the_samples_and_says_how_many(recorded, data_dir, capsys):
    sid, ecg, acc = recorded
    assert main(["replay", str(sid), "--headless", "--json", "--no-neurokit"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_beats"] == int(DURATION_S / 0.9)
    assert summary["signals"] == {"ecg": len(ecg), "acc": len(acc)}


def test_an_imported_ecg_is_replayed_as_ecg_chunks(tmp_path, store, data_dir):
    # A Polar Sensor Logger-style ECG (µV, one decimal) imported with its beats: a replay of
    # the stored import reads its channel (there are no signal_blocks) as whole-µV chunks.
    rate = 130.0
    samples = np.round(1000.0 * np.sin(np.arange(1300) / 7.0) + 0.4, 1)[:, None]
    channel = RawChannel("ECG", "ecg", "uV", rate, 0.0, ("ecg",), samples, "ecg.txt")
    rr = np.full(10, 1000.0)
    sid = store.import_recording(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0),
                                 source="import", channels=[channel])
    replayed = load_replay_target(str(sid), data_dir)
    assert [(c.first_index, c.n_samples) for c in replayed.ecg] == \
        [(0, 260), (260, 260), (520, 260), (780, 260), (1040, 260)]
    np.testing.assert_array_equal(np.concatenate([c.samples for c in replayed.ecg]),
                                  np.round(samples).astype(np.int32))
    assert load_replay_target(str(sid), data_dir, signals=("acc",)).ecg == []
    # A hole in a file (NaN rows) ends a chunk; first_index jumps over it as over lost samples.
    holed = samples.copy()
    holed[650] = np.nan
    chunks = chunks_from_channel(RawChannel("ECG", "ecg", "µV", rate, 2.0, ("ecg",), holed,
                                            "ecg.txt"))
    assert [(c.first_index, c.n_samples) for c in chunks] == \
        [(0, 260), (260, 260), (520, 130), (651, 260), (911, 260), (1171, 129)]
    assert chunks[3].t0_s == pytest.approx(2.0 + 651 / rate)
    # Neither another kind nor another unit is taken for µV.
    assert chunks_from_channel(RawChannel("ACC", "acc", "mg", 50.0, 0.0, ("x", "y", "z"),
                                          np.zeros((10, 3)), "acc.txt")) == []
    assert chunks_from_channel(RawChannel("ECG", "ecg", "mV", rate, 0.0, ("ecg",),
                                          samples, "ecg.txt")) == []

