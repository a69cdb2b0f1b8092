"""LiveProcessor end to end, and the neurokit2 worker against the live numpy values."""

import subprocess
import sys

import numpy as np
import pytest

from biofeedback.core.types import ArtifactClass, Beat, BeatBatch, Gap, GapReason
from biofeedback.live.nk_worker import NeuroKitWorker, compute_neurokit
from biofeedback.live.processor import LiveProcessor
from biofeedback.live.synthetic import inject_artifacts, synth_rr


def batches(rr, t0=0.0, per=2, first_seq=0):
    """Notifications of ``per`` beats, numbered from ``first_seq`` as a session numbers them."""
    t = t0 + np.cumsum(rr) / 1000.0
    for i in range(0, rr.size, per):
        beats = tuple(
            Beat(float(r), float(tt), float(tt), None, first_seq + i + k)
            for k, (r, tt) in enumerate(zip(rr[i : i + per], t[i : i + per], strict=True))
        )
        yield i, BeatBatch(float(t[min(i + per, rr.size) - 1]), beats)


def test_importing_live_does_not_import_neurokit():
    code = (
        "import sys, biofeedback.live; "
        "print(any(m in sys.modules for m in ('neurokit2', 'scipy', 'pandas')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_processor_classifies_corrects_and_indexes():
    rr = synth_rr(400.0, seed=11)
    bad, labels, _ = inject_artifacts(rr, 0.02, seed=3)
    proc = LiveProcessor()
    got = []
    for _, batch in batches(bad):
        upd = proc.process_batch(batch)
        proc.refresh_spectral_if_due()
        got += upd.beats
    got += proc.finish()
    assert [b.seq for b in got] == list(range(bad.size))
    cl = np.array([b.artifact.value for b in got])
    assert np.mean(cl == labels) > 0.99
    s = proc.snapshot()
    clean = LiveProcessor()
    for _, batch in batches(rr):
        clean.process_batch(batch)
        clean.refresh_spectral_if_due()
    clean.finish()
    c = clean.snapshot()
    assert s.rmssd_60_ms == pytest.approx(c.rmssd_60_ms, rel=0.05)
    assert s.hf_ms2 == pytest.approx(c.hf_ms2, rel=0.10)
    tb = np.array([b.time_s for b in got])
    last = tb > tb[-1] - 60
    assert s.artifact_pct == pytest.approx(100 * np.mean(cl[last] != "normal"), abs=1e-12)
    assert c.artifact_pct == 0.0


def test_processor_gap():
    rr = synth_rr(200.0, seed=12)
    proc = LiveProcessor()
    for _, batch in batches(rr):
        proc.process_batch(batch)
        proc.refresh_spectral_if_due()
    assert proc.detector.n_pending == 2
    t_end = float(np.sum(rr) / 1000)
    flushed = proc.process_gap(Gap(t_end, t_end + 10, GapReason.LINK_LOSS))
    assert len(flushed) == 2 and proc.detector.n_pending == 0
    rr2 = synth_rr(40.0, mean_ms=700, seed=13)
    for _, batch in batches(rr2, t0=t_end + 10, first_seq=rr.size):
        upd = proc.process_batch(batch)
        proc.refresh_spectral_if_due()
        assert all(b.artifact is ArtifactClass.NORMAL for b in upd.beats)
    s = proc.snapshot()
    assert s.rmssd_60_ms is None and s.hf_ms2 is None and s.rmssd_30_ms is not None


def live_snapshot(rr):
    """Feed ``rr`` one beat per batch (refreshing spectra as the session does); final indices."""
    proc = LiveProcessor()
    for _, batch in batches(rr, per=1):
        proc.process_batch(batch)
        proc.refresh_spectral_if_due()
    proc.finish()
    return proc.snapshot()


@pytest.mark.filterwarnings("ignore::Warning")
def test_neurokit_result_agrees_with_live_values():
    rr = synth_rr(330.0, seed=14)
    t = np.cumsum(rr) / 1000.0
    live = live_snapshot(rr)
    res = compute_neurokit(rr, t)
    assert res.error is None
    assert res.nk_version == "0.2.13"
    assert res.kwargs["hrv_frequency"] == {
        "interpolation_rate": 4,
        "normalize": False,
        "psd_method": "welch",
    }
    assert res.kwargs["signal_fixpeaks"]["method"] == "kubios"
    assert res.n_corrected == 0
    v = res.values
    # peaks are rebuilt on a 1 ms grid, so intervals differ by < 1 ms from the raw ones
    assert v["RMSSD"] == pytest.approx(live.rmssd_60_ms, rel=0.01)
    assert v["SDNN"] == pytest.approx(live.sdnn_ms, rel=0.01)
    assert v["HR_bpm"] == pytest.approx(60000 / np.mean(rr[t > t[-1] - 60]), rel=0.001)
    # the live spectral values are from the last whole-second refresh (<= 1 s older)
    assert v["HF"] == pytest.approx(live.hf_ms2, rel=0.05)
    assert v["LF"] == pytest.approx(live.lf_ms2, rel=0.05)


@pytest.mark.filterwarnings("ignore::Warning")
def test_neurokit_result_with_artifacts():
    rr = synth_rr(330.0, seed=15)
    bad, _, _ = inject_artifacts(rr, 0.02, seed=5)
    t = np.cumsum(bad) / 1000.0
    live = live_snapshot(bad)
    res = compute_neurokit(bad, t)
    assert res.n_corrected > 0
    assert res.values["RMSSD"] == pytest.approx(live.rmssd_60_ms, rel=0.05)
    assert res.values["HF"] == pytest.approx(live.hf_ms2, rel=0.15)


@pytest.mark.filterwarnings("ignore::Warning")
def test_worker_runs_on_wall_clock_in_its_process():
    now = [0.0]
    worker = NeuroKitWorker(period_s=5.0, clock=lambda: now[0])
    proc = LiveProcessor(nk_worker=worker)
    rr = synth_rr(130.0, seed=16)
    try:
        upd = None
        for _, batch in batches(rr):
            upd = proc.process_batch(batch)
        # the clock never advanced: exactly one job was started, on the first due poll
        res = worker.wait(timeout_s=120)
        assert res is not None and res.error is None
        assert res.n_beats < 20  # snapshot taken when the first 10 beats were in
        now[0] = 6.0
        proc.process_batch(BeatBatch(0.0, ()))
        res2 = worker.wait(timeout_s=120)
        assert res2 is not res
        assert res2.values["RMSSD"] is not None and res2.values["HF"] is not None
        assert res2.values["LF"] is None  # 130 s < 300 s
        assert res2.lf_window_s is None and res2.hf_window_s is not None
        upd = proc.process_batch(BeatBatch(0.0, ()))
        assert upd.nk is res2
    finally:
        proc.close()
    assert worker.poll(lambda: (np.zeros(0), np.zeros(0))) is res2  # closed: no new jobs


def test_processor_settings_json_and_lazy_snapshot():
    import json

    proc = LiveProcessor()
    cfg = proc.settings()
    assert json.loads(json.dumps(cfg)) == cfg
    assert cfg["artifacts"]["alpha"] == 5.2 and cfg["indices"]["lf_band_hz"] == [0.04, 0.15]
    assert cfg["indices"]["spectral_inline"] is False
    rr = synth_rr(150.0, seed=17)
    for _, batch in batches(rr, per=1):
        upd = proc.process_batch(batch)
        assert not hasattr(upd, "indices")
    s = proc.snapshot()
    assert proc.snapshot() is s and s.hf_ms2 is None  # nobody refreshed yet
    assert proc.refresh_spectral_if_due()
    s2 = proc.snapshot()
    assert s2 is not s and s2.hf_ms2 is not None and s2 == proc.hrv.compute_snapshot()


def test_worker_process_death_becomes_an_error_result_not_a_crash():
    worker = NeuroKitWorker(period_s=0.0)
    rr = synth_rr(130.0, seed=3)
    t = np.cumsum(rr) / 1000.0
    try:
        worker.poll(lambda: (rr, t))
        res = worker.wait(timeout_s=120)
        assert res is not None and res.error is None and res.values["RMSSD"] > 0
        # The process dies (killed from outside): the session gets an error result, no crash.
        worker._process.kill()
        worker._process.wait(5)
        worker.poll(lambda: (rr, t))
        worker.wait(timeout_s=5)
        dead = worker.poll(lambda: (rr, t))
        assert dead is not None and dead.error is not None and "stopped" in dead.error
    finally:
        worker.close()
