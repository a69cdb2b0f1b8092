"""Raw ECG and accelerometer samples in the store (schema v6): lossless, compact, durable."""

from __future__ import annotations

import sqlite3
import tracemalloc
import zlib

import numpy as np
import pytest
from damage import overwrite_page
from signal_synth import chunks_of, recorded_with_signals, synthetic_acc, synthetic_ecg

from biofeedback.core.signals import SignalChunk
from biofeedback.store import SessionStore
from biofeedback.store.backup import backup_database, restore_database
from biofeedback.store.database import SIGNAL_BLOCK_S, SIGNAL_TIME_TOLERANCE
from biofeedback.store.salvage import repair_database
from biofeedback.store.signal_blocks import (
    ENCODING,
    SignalChunkError,
    decode_block,
    encode_block,
)

ECG_RATE_HZ = 130.27  # a strap's measured rate, not the nominal 130
ACC_RATE_HZ = 200.0


def test_ecg_and_acc_round_trip_sample_for_sample_through_the_file(tmp_path):
    path = tmp_path / "s.sqlite3"
    ecg = synthetic_ecg(30.0, ECG_RATE_HZ)
    acc = synthetic_acc(30.0, ACC_RATE_HZ)
    # A PMD ECG frame is 73 samples; 5 frames lost after 10 s (a jump in first_index).
    ecg_chunks = chunks_of(ecg, "ecg", "uV", ECG_RATE_HZ, 2.5, 73)
    lost = ecg_chunks[18:23]
    ecg_chunks = ecg_chunks[:18] + ecg_chunks[23:]
    acc_chunks = chunks_of(acc, "acc", "mG", ACC_RATE_HZ, 2.61, 36)
    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        for i in range(max(len(ecg_chunks), len(acc_chunks))):
            for chunks in (ecg_chunks, acc_chunks):
                if i < len(chunks):
                    store.append_signal(sid, chunks[i])
    with SessionStore(path) as store:
        assert store.signal_streams(sid) == ["acc", "ecg"]
        times, samples = store.load_signal(sid, "ecg")
        kept = np.concatenate([c.samples for c in ecg_chunks])
        assert samples.dtype == np.int32
        np.testing.assert_array_equal(samples, kept)
        np.testing.assert_allclose(times, np.concatenate([c.times_s() for c in ecg_chunks]),
                                   rtol=0, atol=1e-6)
        acc_times, acc_samples = store.load_signal(sid, "acc")
        np.testing.assert_array_equal(acc_samples, acc)
        np.testing.assert_allclose(acc_times, 2.61 + np.arange(len(acc)) / ACC_RATE_HZ,
                                   rtol=0, atol=1e-6)
        blocks = store.load_signal_chunks(sid, "ecg")
    # Consecutive frames are merged into blocks of at most 2 s; the loss starts a new block
    # at the index after it, so the stored blocks say which samples are missing.
    assert all(b.n_samples <= np.ceil(SIGNAL_BLOCK_S * ECG_RATE_HZ) for b in blocks)
    assert len(blocks) < len(ecg_chunks) / 3
    after_loss = [b for b in blocks if b.first_index == lost[-1].first_index + 73]
    assert len(after_loss) == 1
    assert after_loss[0].t0_s == pytest.approx(2.5 + (23 * 73) / ECG_RATE_HZ, abs=1e-9)
    ends = [b.first_index + b.n_samples for b in blocks]
    assert lost[0].first_index in ends


def test_each_chunk_is_committed_when_it_is_written(tmp_path):
    path = tmp_path / "s.sqlite3"
    chunks = chunks_of(synthetic_ecg(3.0), "ecg", "uV", 130.0, 0.0, 73)
    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        for n, chunk in enumerate(chunks, start=1):
            store.append_signal(sid, chunk)
            # Another connection (a crash leaves the same file) sees every chunk so far.
            other = sqlite3.connect(path)
            (stored,) = other.execute("SELECT SUM(n_samples) FROM signal_blocks").fetchone()
            other.close()
            assert stored == sum(c.n_samples for c in chunks[:n])


def test_a_rate_change_starts_a_new_block_and_keeps_each_rate(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.create_session(source="ble")
        first = SignalChunk("ecg", 0.0, 130.0, synthetic_ecg(1.0)[:73], "uV", 0)
        second = SignalChunk("ecg", 73 / 130.0, 130.4, synthetic_ecg(1.0)[:73], "uV", 73)
        store.append_signal(sid, first)
        store.append_signal(sid, second)
        blocks = store.load_signal_chunks(sid, "ecg")
        assert [(b.first_index, b.rate_hz) for b in blocks] == [(0, 130.0), (73, 130.4)]
        times, _ = store.load_signal(sid, "ecg")
        np.testing.assert_allclose(times[73:], second.times_s(), rtol=0, atol=1e-12)


def test_chunks_whose_rate_is_re_measured_each_frame_still_fill_two_second_blocks(tmp_path):
    # The PMD decoder places every frame at its own measured rate (off by ~1e-5 between
    # frames): merged, each sample keeps its time within 1 % of a sample period.
    ecg = synthetic_ecg(20.0, ECG_RATE_HZ)
    chunks = chunks_of(ecg, "ecg", "uV", ECG_RATE_HZ, 0.5, 73, rate_jitter=1e-5)
    assert len({c.rate_hz for c in chunks}) == len(chunks)
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.create_session(source="ble")
        for chunk in chunks:
            store.append_signal(sid, chunk)
        blocks = store.load_signal_chunks(sid, "ecg")
        times, samples = store.load_signal(sid, "ecg")
    assert [b.n_samples for b in blocks[:-1]] == [219] * (len(blocks) - 1)  # 3 frames each
    np.testing.assert_array_equal(samples, ecg)
    given = np.concatenate([c.times_s() for c in chunks])
    assert np.max(np.abs(times - given)) <= SIGNAL_TIME_TOLERANCE / ECG_RATE_HZ


@pytest.mark.parametrize(("chunk", "message"), [
    (SignalChunk("ecg", 0.0, 130.0, np.zeros((5, 1), np.int32), "mV"),
     "stream 'ecg': unit 'mV', expected 'uV'"),
    (SignalChunk("acc", 0.0, 200.0, np.zeros((5, 2), np.int32), "mG"),
     r"stream 'acc': samples of shape \(5, 2\), expected \(n, 3\) for channels x, y, z"),
    (SignalChunk("ecg", 0.0, 130.0, np.zeros((5, 1), np.float64), "uV"),
     "samples of dtype float64, expected int32"),
    (SignalChunk("ppg", 0.0, 130.0, np.zeros((5, 1), np.int32), "uV"),
     "unknown stream 'ppg' \\(known: acc, ecg\\)"),
    (SignalChunk("ecg", 0.0, 0.0, np.zeros((5, 1), np.int32), "uV"),
     "rate_hz 0.0 is not a positive number"),
    (SignalChunk("ecg", float("nan"), 130.0, np.zeros((5, 1), np.int32), "uV"),
     "t0_s nan is not a finite time"),
])
def test_a_bad_chunk_is_refused_naming_its_field_and_nothing_is_written(tmp_path, chunk,
                                                                        message):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.create_session(source="ble")
        with pytest.raises(SignalChunkError, match=message):
            store.append_signal(sid, chunk)
        assert store._conn.execute("SELECT COUNT(*) FROM signal_blocks").fetchone() == (0,)
        assert store.session_info(sid).status == "recording"  # the recording goes on
        store.append_signal(sid, SignalChunk("ecg", 0.0, 130.0, np.ones((3, 1), np.int32),
                                             "uV"))
        assert store.load_signal(sid, "ecg")[1].tolist() == [[1], [1], [1]]


def test_the_encoding_is_lossless_at_the_int32_extremes():
    rng = np.random.default_rng(5)
    extremes = np.array([[np.iinfo(np.int32).min, 0, np.iinfo(np.int32).max]] * 4, np.int32)
    samples = np.concatenate([extremes, rng.integers(-2**31, 2**31, (300, 3), dtype=np.int32),
                              extremes.T.reshape(4, 3)])
    np.testing.assert_array_equal(decode_block(encode_block(samples), len(samples), 3), samples)
    assert decode_block(encode_block(samples[:0]), 0, 3).shape == (0, 3)


def test_a_damaged_block_is_named_on_reading(tmp_path):
    path = tmp_path / "s.sqlite3"
    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        store.append_signal(sid, SignalChunk("ecg", 0.0, 130.0, synthetic_ecg(1.0), "uV"))
        store._conn.execute("UPDATE signal_blocks SET data = ?", (zlib.compress(b"\x05"),))
        with pytest.raises(Exception, match=r"signal block 1 \(ecg\) of session 1 cannot be "
                                             "decoded .*: the database is damaged"):
            store.load_signal(sid, "ecg")


DAY_S = 86400.0
ECG_DAY_BUDGET_BYTES = 50e6
"""Issue 16: a day of ECG must stay under about 50 MB."""


def test_stored_ecg_is_compact_and_a_day_of_it_is_under_the_budget(tmp_path):
    # Ten minutes of a deterministic synthetic ECG (seeded): its stored size is a fixed
    # number, so this is not a size-bound that can flake.
    path = tmp_path / "s.sqlite3"
    ecg = synthetic_ecg(600.0, 130.0)
    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        for chunk in chunks_of(ecg, "ecg", "uV", 130.0, 0.0, 73):
            store.append_signal(sid, chunk, commit=False)
        store.commit(sid)
        np.testing.assert_array_equal(store.load_signal(sid, "ecg")[1], ecg)
        blob, rows = store._conn.execute(
            "SELECT SUM(LENGTH(data)), COUNT(*) FROM signal_blocks").fetchone()
        (payload,) = store._conn.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('signal_blocks',"
            " 'signal_blocks_session')").fetchone()
    raw_int32 = ecg.size * 4
    assert blob < raw_int32 / 3  # the 3-byte PMD samples: also under a third of raw int32
    # Pages of the table and its index (row headers, free space in pages): ~20 MB a day.
    per_day = payload * DAY_S / 600.0
    assert per_day < ECG_DAY_BUDGET_BYTES / 2, per_day
    assert rows == pytest.approx(600 / SIGNAL_BLOCK_S, rel=0.2)


def test_backup_and_restore_keep_the_samples(tmp_path):
    source = tmp_path / "data" / "biofeedback.sqlite3"
    source.parent.mkdir()
    sid, ecg, acc = recorded_with_signals(source)
    backup = backup_database(source, tmp_path / "b.backup")
    restored = restore_database(backup.path, tmp_path / "new")
    with SessionStore(restored.path) as store:
        np.testing.assert_array_equal(store.load_signal(sid, "ecg")[1], ecg)
        np.testing.assert_array_equal(store.load_signal(sid, "acc")[1], acc)


def test_repair_salvages_the_samples_and_delete_removes_them(tmp_path):
    source = tmp_path / "s.sqlite3"
    sid, ecg, acc = recorded_with_signals(source)
    result = repair_database(source, tmp_path / "repaired.sqlite3")
    assert result.not_saved == []
    with SessionStore(result.out) as store:
        times, samples = store.load_signal(sid, "ecg")
        np.testing.assert_array_equal(samples, ecg)
        np.testing.assert_allclose(times, 0.1 + np.arange(len(ecg)) / 130.0, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(store.load_signal(sid, "acc")[1], acc)
        store.delete_session(sid)
        assert store._conn.execute("SELECT COUNT(*) FROM signal_blocks").fetchone() == (0,)


def test_a_garbage_page_of_signal_blocks_loses_only_the_blocks_on_it(tmp_path):
    path = tmp_path / "s.sqlite3"
    ecg = synthetic_ecg(120.0)
    with SessionStore(path) as store:
        sid = store.create_session(source="ble", participant_id="P01")
        for chunk in chunks_of(ecg, "ecg", "uV", 130.0, 0.0, 73):
            store.append_signal(sid, chunk)
        store.finish_session(sid)
        ids = [i for (i,) in store._conn.execute("SELECT id FROM signal_blocks ORDER BY id")]
        starts = dict(store._conn.execute("SELECT id, first_index FROM signal_blocks"))
        sizes = dict(store._conn.execute("SELECT id, n_samples FROM signal_blocks"))
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The leaves of a rowid table hold its rows in rowid order, ncell each.
        leaves = store._conn.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = 'signal_blocks' AND pagetype = 'leaf'"
            " ORDER BY path").fetchall()
    assert len(leaves) >= 3
    before = sum(n for _, n in leaves[:1])
    page, n_cells = leaves[1]
    lost = ids[before:before + n_cells]
    overwrite_page(path, page, seed=3)
    result = repair_database(path, tmp_path / "repaired.sqlite3")
    assert f"signal_blocks: rows with rowid {lost[0]}-{lost[-1]} are on a damaged page" in \
        result.not_saved
    with SessionStore(result.out) as store:
        blocks = store.load_signal_chunks(sid, "ecg")
    assert [b.first_index for b in blocks] == [starts[i] for i in ids if i not in lost]
    gone = np.arange(starts[lost[0]], starts[lost[-1]] + sizes[lost[-1]])
    np.testing.assert_array_equal(np.concatenate([b.samples for b in blocks]),
                                  np.delete(ecg, gone, axis=0))


def test_repair_of_many_signal_blocks_copies_them_all_a_batch_at_a_time(tmp_path):
    # Two sessions of 1000 blocks each, of noise that does not compress (~1.2 KB a block):
    # many batches, and several times the bytes a repair that streams them ever holds. The
    # rows are written as append_signal writes a block (8 different blocks in turn: encoding
    # 2000 would be most of the test's time).
    path = tmp_path / "s.sqlite3"
    rng = np.random.default_rng(11)
    blocks = [rng.integers(-2**30, 2**30, (260, 1), dtype=np.int32) for _ in range(8)]
    blobs = [encode_block(b) for b in blocks]
    expected = np.concatenate([blocks[k % 8] for k in range(1000)])
    with SessionStore(path) as store:
        sids = [store.create_session(source="ble", participant_id=p) for p in ("P01", "P02")]
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO signal_blocks (session_id, stream, first_index, t0_s, rate_hz,"
                " n_samples, channels, unit, encoding, data) VALUES (?, 'ecg', ?, ?, 130.0,"
                " 260, '[\"ecg\"]', 'uV', ?, ?)",
                [(sid, 260 * k, 2.0 * k, ENCODING, blobs[k % 8])
                 for sid in sids for k in range(1000)])
        for sid in sids:
            store.finish_session(sid)
        (blob_bytes,) = conn.execute("SELECT SUM(LENGTH(data)) FROM signal_blocks").fetchone()
    tracemalloc.start()
    try:
        result = repair_database(path, tmp_path / "repaired.sqlite3")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.not_saved == []
    with SessionStore(result.out) as store:
        for sid in sids:
            chunks = store.load_signal_chunks(sid, "ecg")
            assert [c.first_index for c in chunks] == [260 * k for k in range(1000)]
            np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]),
                                          expected)
    # Reading the table whole held every blob at once (and more for the rows around them).
    assert blob_bytes > 2.2e6
    assert peak < blob_bytes / 3, (peak, blob_bytes)
