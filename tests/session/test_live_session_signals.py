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
