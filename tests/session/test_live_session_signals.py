"""A live session stores the raw ECG and accelerometer samples its source hands on."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

from biofeedback.core.signals import SignalChunk
from biofeedback.core.source import HeartRateSource
from biofeedback.core.types import Beat, BeatBatch
from biofeedback.session.live_session import LiveSession
from biofeedback.store import SessionStore

ECG = synthetic_ecg(6.0, 130.0)
ACC = synthetic_acc(6.0, 200.0)


class StreamingStrap(HeartRateSource):
    """A source that interleaves heart-rate notifications with raw-sample chunks, as a strap
    streaming PMD beside 0x2A37 does (plus one chunk of a wrong unit, a source's bug)."""

    def session_time_s(self) -> float:
        return 6.0

    async def _run(self) -> None:
        ecg = chunks_of(ECG, "ecg", "uV", 130.0, 0.0, 73)
        acc = chunks_of(ACC, "acc", "mG", 200.0, 0.05, 36)
        for second in range(6):
            t = second + 1.0
            await self._emit(BeatBatch(t, (Beat(1000.0, t, t, True),), 60.0))
            for chunk in ecg + acc:
                if second <= chunk.t0_s < second + 1:
                    await self._emit(chunk)
            if second == 2:
                await self._emit(SignalChunk("ecg", 2.5, 130.0, np.zeros((4, 1), np.int32),
                                             "mV"))


def test_signal_chunks_from_the_source_are_stored_and_a_bad_one_is_dropped(tmp_path, caplog):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        session = LiveSession(StreamingStrap(), store=store, neurokit=False)
        with caplog.at_level(logging.WARNING, logger="biofeedback.session.live_session"):
            asyncio.run(session.run())
        sid = session.session_id
        assert store.session_info(sid).status == "complete"
        assert store.beat_count(sid) == 6
        times, ecg = store.load_signal(sid, "ecg")
        np.testing.assert_array_equal(ecg, ECG)
        np.testing.assert_allclose(times, np.arange(len(ECG)) / 130.0, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(store.load_signal(sid, "acc")[1], ACC)
    assert [r.getMessage() for r in caplog.records] == [
        "raw samples not stored: signal chunk of stream 'ecg': unit 'mV', expected 'uV'"]


def test_signal_chunks_are_published_after_being_stored_and_a_refused_one_is_not(tmp_path):
    published: list[SignalChunk] = []
    with SessionStore(tmp_path / "db.sqlite3") as store:
        session = LiveSession(StreamingStrap(), store=store, neurokit=False)

        def on_event(event: object) -> None:
            if isinstance(event, SignalChunk):
                # Stored before it is published: what is drawn is on disk.
                n_stored = len(store.load_signal(session.session_id, event.stream)[1])
                assert n_stored == event.first_index + event.n_samples
                published.append(event)

        session.subscribe(on_event)
        asyncio.run(session.run())
    ecg = [c for c in published if c.stream == "ecg"]
    np.testing.assert_array_equal(np.concatenate([c.samples for c in ecg]), ECG)
    assert all(c.unit == "uV" for c in ecg)  # the mV one the store refused is not drawn
    acc = np.concatenate([c.samples for c in published if c.stream == "acc"])
    np.testing.assert_array_equal(acc, ACC)


def test_signal_chunks_are_published_when_nothing_is_recorded():
    published: list[str] = []
    session = LiveSession(StreamingStrap(), neurokit=False)
    session.subscribe(lambda e: published.append(e.stream) if isinstance(e, SignalChunk) else None)
    asyncio.run(session.run())
    assert published.count("acc") == len(chunks_of(ACC, "acc", "mG", 200.0, 0.05, 36))
    # Every ECG chunk, the source's wrong-unit one too (the view-model drops that one).
    assert published.count("ecg") == len(chunks_of(ECG, "ecg", "uV", 130.0, 0.0, 73)) + 1
