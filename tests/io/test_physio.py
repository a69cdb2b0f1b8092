"""Raw ECG and ACC recorded live, exported: EDF+ (read back with pyedflib and MNE) and BIDS
physio (``_physio.tsv.gz`` + ``_physio.json``), from a real session file."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyedflib
import pytest
from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Beat, BeatBatch
from biofeedback.export.stored import export_session
from biofeedback.io.physio import SignalExportError, physio_channel
from biofeedback.store import SessionStore

ECG_RATE_HZ = 130.27  # measured: EDF+ gets it resampled to 130 Hz, BIDS as recorded
ECG_T0_S = 0.4
ACC_RATE_HZ = 200.0
ACC_T0_S = 0.45
DURATION_S = 20.0
LOST = slice(12 * 73, 15 * 73)  # three ECG frames lost


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A session of 20 beats with 20 s of ECG (three frames lost) and of ACC."""
    path = tmp_path_factory.mktemp("data") / "biofeedback.sqlite3"
    ecg, acc = synthetic_ecg(DURATION_S, ECG_RATE_HZ), synthetic_acc(DURATION_S, ACC_RATE_HZ)
    ecg_chunks = chunks_of(ecg, "ecg", "uV", ECG_RATE_HZ, ECG_T0_S, 73)
    del ecg_chunks[12:15]
    with SessionStore(path) as store:
        sid = store.create_session(source="ble", participant_id="P01",
                                   started_utc="2026-12-03T09:00:00.000+00:00")
        for n in range(20):
            t = 1.0 + n
            store.append_notification(sid, n, BeatBatch(t, (Beat(1000.0, t, t, True, n),)))
        for chunk in ecg_chunks + chunks_of(acc, "acc", "mG", ACC_RATE_HZ, ACC_T0_S, 36):
            store.append_signal(sid, chunk)
        store.finish_session(sid)
    return path, sid, ecg, acc


def test_edf_holds_ecg_in_uv_and_acc_in_mg_beside_rr_and_hr(recorded, tmp_path):
    path, sid, ecg, acc = recorded
    with SessionStore(path) as store:
        (out,) = export_session(store, sid, "edf", tmp_path / "s.edf")
    with pyedflib.EdfReader(str(out)) as edf:
        labels = edf.getSignalLabels()
        assert labels == ["RR", "HR", "ECG", "ACC x", "ACC y", "ACC z"]
        assert [edf.getPhysicalDimension(i) for i in range(2, 6)] == ["uV", "mG", "mG", "mG"]
        assert [edf.getSampleFrequency(i) for i in range(2, 6)] == [130.0] + [ACC_RATE_HZ] * 3
        assert edf.getTransducer(2) == "ECG electrodes"
        assert edf.getTransducer(3) == "accelerometer"
        assert "resampled from 130.27 Hz" in edf.getPrefilter(2)
        ecg_back = edf.readSignal(2)
        acc_back = np.column_stack([edf.readSignal(i) for i in (3, 4, 5)])
        resolution = [(edf.getPhysicalMaximum(i) - edf.getPhysicalMinimum(i)) / 65535
                      for i in range(2, 6)]
    # ACC at its own rate: every sample in place (0.45 s = 90 samples in), whole mG back.
    offset = round(ACC_T0_S * ACC_RATE_HZ)
    np.testing.assert_array_equal(np.round(acc_back[offset:offset + len(acc)]), acc)
    assert np.all(np.abs(acc_back[:offset]) <= resolution[1:])  # 0 mG, to the 16-bit step
    # ECG resampled onto 130 Hz from session time 0: the recorded samples interpolated at
    # the grid's times, 0 where frames were lost.
    t_ecg = ECG_T0_S + np.arange(len(ecg)) / ECG_RATE_HZ
    kept = np.ones(len(ecg), bool)
    kept[LOST] = False
    grid = np.arange(ecg_back.size) / 130.0
    inside = (grid >= t_ecg[0]) & (grid <= t_ecg[-1])
    lost_span = (grid > t_ecg[LOST.start - 1]) & (grid < t_ecg[LOST.stop])
    expected = np.interp(grid, t_ecg, ecg[:, 0].astype(float))
    ok = inside & ~lost_span
    np.testing.assert_allclose(ecg_back[ok][5:-5], expected[ok][5:-5],
                               atol=resolution[0] + 1e-9)
    assert np.all(np.abs(ecg_back[(grid > t_ecg[LOST.start] + 0.02)
                                  & (grid < t_ecg[LOST.stop - 1] - 0.02)]) <= resolution[0])


def test_edf_reads_back_in_mne(recorded, tmp_path):
    import mne

    path, sid, _, acc = recorded
    with SessionStore(path) as store:
        (out,) = export_session(store, sid, "edf", tmp_path / "s.edf")
    raw = mne.io.read_raw_edf(out, preload=True, verbose="error")
    assert raw.ch_names == ["RR", "HR", "ECG", "ACC x", "ACC y", "ACC z"]
    # MNE reads every signal at the highest rate; the ACC is there sample for sample, and
    # the ECG in volts (MNE's unit), its R peaks about 1.3 mV.
    assert raw.info["sfreq"] == ACC_RATE_HZ
    acc_x = raw.get_data(picks=["ACC x"])[0]
    offset = round(ACC_T0_S * ACC_RATE_HZ)
    np.testing.assert_array_equal(np.round(acc_x[offset:offset + len(acc)]), acc[:, 0])
    ecg_v = raw.get_data(picks=["ECG"])[0]
    assert 1.0e-3 < ecg_v.max() < 2.0e-3
    assert raw.annotations is not None


def test_bids_has_one_physio_file_per_rate_with_its_sidecar(recorded, tmp_path):
    path, sid, ecg, acc = recorded
    with SessionStore(path) as store:
        (root,) = export_session(store, sid, "bids", tmp_path / "ds")
    beh = root / "sub-P01" / f"ses-{sid}" / "beh"
    stem = f"sub-P01_ses-{sid}_task-free"
    assert sorted(p.name for p in beh.iterdir()) == sorted([
        f"{stem}_events.tsv", f"{stem}_events.json",
        f"{stem}_physio.tsv.gz", f"{stem}_physio.json",
        f"{stem}_recording-acc_physio.tsv.gz", f"{stem}_recording-acc_physio.json"])
    sidecar = json.loads((beh / f"{stem}_physio.json").read_text())
    assert sidecar["SamplingFrequency"] == ECG_RATE_HZ
    assert sidecar["StartTime"] == ECG_T0_S  # s from onset 0 of the events (session start)
    assert sidecar["Columns"] == ["cardiac"]
    assert sidecar["cardiac"]["Units"] == "uV"
    rows = gzip.decompress((beh / f"{stem}_physio.tsv.gz").read_bytes()).decode().splitlines()
    assert len(rows) == len(ecg)  # the lost samples keep their rows, as n/a
    assert rows[LOST] == ["n/a"] * (LOST.stop - LOST.start)
    kept = [int(r) for i, r in enumerate(rows) if not LOST.start <= i < LOST.stop]
    assert kept == np.delete(ecg[:, 0], np.arange(LOST.start, LOST.stop)).tolist()
    acc_json = json.loads((beh / f"{stem}_recording-acc_physio.json").read_text())
    assert acc_json["SamplingFrequency"] == ACC_RATE_HZ
    assert acc_json["StartTime"] == ACC_T0_S
    assert acc_json["Columns"] == ["accel_x", "accel_y", "accel_z"]
    assert {acc_json[c]["Units"] for c in acc_json["Columns"]} == {"mG"}
    with gzip.open(beh / f"{stem}_recording-acc_physio.tsv.gz") as tsv:
        table = np.loadtxt(tsv, delimiter="\t")
    np.testing.assert_array_equal(table, acc)


def test_blocks_at_per_frame_rates_on_one_clock_are_exported_sample_for_sample():
    ecg = synthetic_ecg(30.0, ECG_RATE_HZ)
    chunks = chunks_of(ecg, "ecg", "uV", ECG_RATE_HZ, 1.5, 73, rate_jitter=1e-4)
    del chunks[5]
    channel = physio_channel(chunks)
    assert channel.source_file == "recorded live, samples lost where empty"
    assert channel.sampling_rate_hz == pytest.approx(ECG_RATE_HZ, rel=1e-9)
    assert channel.start_s == 1.5
    lost = np.arange(5 * 73, 6 * 73)
    assert np.isnan(channel.samples[lost]).all()
    np.testing.assert_array_equal(np.delete(channel.samples, lost, axis=0),
                                  np.delete(ecg, lost, axis=0))


def test_a_rate_re_measured_between_blocks_is_resampled_onto_one_grid():
    first = SignalChunk("ecg", 1.0, 130.0, np.arange(130, dtype=np.int32)[:, None], "uV", 0)
    second = SignalChunk("ecg", 2.0, 131.0, np.arange(130, 261, dtype=np.int32)[:, None],
                         "uV", 130)
    channel = physio_channel([first, second])
    assert channel.sampling_rate_hz == pytest.approx((130 * 130 + 131 * 131) / 261)
    assert channel.start_s == 1.0
    assert "resampled" in channel.source_file
    times = np.concatenate([first.times_s(), second.times_s()])
    grid = 1.0 + np.arange(channel.n_samples) / channel.sampling_rate_hz
    np.testing.assert_allclose(channel.samples[:, 0],
                               np.interp(grid, times, np.arange(261.0)), atol=1e-9)


@pytest.mark.parametrize(("chunks", "message"), [
    ([], "no raw samples to export"),
    ([SignalChunk("ecg", 0.0, 130.0, np.zeros((3, 1), np.int32), "uV"),
      SignalChunk("acc", 0.0, 200.0, np.zeros((3, 3), np.int32), "mG", 3)],
     r"raw block 1 \(stream 'acc', first sample 3\): not of stream 'ecg' like block 0"),
    ([SignalChunk("acc", 0.0, 200.0, np.zeros((3, 1), np.int32), "mG")],
     r"raw block 0 .*: unit 'mG' and \(3, 1\) samples, expected 'mG' and \(n, 3\)"),
])
def test_blocks_that_do_not_make_one_stream_are_refused(chunks, message):
    with pytest.raises(SignalExportError, match=message):
        physio_channel(chunks)
