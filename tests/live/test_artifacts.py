"""Streaming artifact detector: sensitivity, false positives, classes, corrections, gaps.

What is measured: *sensitivity* = share of injected artifact beats classified non-normal;
*class accuracy* = share of injected beats given their injected class; *false-positive rate*
= share of untouched beats classified non-normal (on the real pyHRV series, beats within
+-2 of a beat neurokit2's offline Kubios detector flags in the *uncorrupted* series are left
out, since that real recording has its own artifacts and bursts).
"""


import numpy as np
import pytest

from biofeedback.core.types import ArtifactClass
from biofeedback.live.artifacts import StreamingArtifactDetector, corrected_times
from biofeedback.live.synthetic import inject_artifacts, synth_rr
from conftest import DATA as TEST_DATA

DATA = TEST_DATA


def run(rr, gap_before=()):
    det = StreamingArtifactDetector()
    out = []
    t = np.cumsum(rr) / 1000.0
    for i, (r, tt) in enumerate(zip(rr, t, strict=True)):
        if i in gap_before:
            out += det.flush()
        out += det.push(i, float(r), float(tt))
    out += det.flush()
    assert [b.seq for b in out] == list(range(rr.size))
    return out


def classes(out):
    return np.array([b.artifact.value for b in out])


@pytest.mark.parametrize("seed", range(4))
def test_synthetic_sensitivity_and_false_positives(seed):
    rr = synth_rr(900.0, seed=seed)
    bad, labels, _ = inject_artifacts(rr, fraction=0.02, seed=seed)
    out = run(bad)
    cl = classes(out)
    art = labels != "normal"
    assert art.sum() >= 20
    assert np.mean(cl[art] != "normal") >= 0.95
    assert np.mean(cl[art] == labels[art]) >= 0.95
    assert np.mean(cl[~art] != "normal") <= 0.01
    # raw values untouched
    np.testing.assert_array_equal([b.rr_ms for b in out], bad)


@pytest.mark.parametrize("seed", range(3))
def test_correction_restores_rmssd(seed):
    rr = synth_rr(600.0, seed=10 + seed)
    bad, _, _ = inject_artifacts(rr, fraction=0.02, seed=seed)
    out = run(bad)
    corr = np.concatenate([b.corrected_ms for b in out])

    def rmssd(x):
        return np.sqrt(np.mean(np.diff(x) ** 2))

    assert rmssd(bad) > 2 * rmssd(rr)  # the artifacts matter
    assert abs(rmssd(corr) / rmssd(rr) - 1) < 0.05
    assert corr.size == rr.size  # every missed/extra beat restored


def _nk_offline_flags(rr):
    from neurokit2.signal.signal_fixpeaks import _find_artifacts

    peaks = np.concatenate([[0], np.cumsum(rr)]).astype(int)
    art, _ = _find_artifacts(peaks, sampling_rate=1000)
    f = np.zeros(rr.size + 1, bool)
    for v in art.values():
        f[np.asarray(v, int)] = True
    return f[1:]


def test_pyhrv_long_false_positives_vs_offline_reference():
    rr = np.load(DATA / "SampleNNISeriesLong.npy").astype(float)
    cl = classes(run(rr))
    ref = _nk_offline_flags(rr)
    near = np.convolve(ref, np.ones(3), "same") > 0
    # flags neither neurokit2's offline detector nor its neighbour beats account for
    assert np.mean((cl != "normal") & ~near) <= 0.01  # measured 0.34 %


@pytest.mark.parametrize("seed", range(3))
def test_pyhrv_long_injected_missed_extra(seed):
    rr = np.load(DATA / "SampleNNISeriesLong.npy").astype(float)
    near = np.convolve(_nk_offline_flags(rr), np.ones(5), "same") > 0
    bad, labels, base = inject_artifacts(rr, 0.02, seed, kinds=("missed", "extra"))
    cl = classes(run(bad))
    art = labels != "normal"
    clean = ~art & ~near[base]
    assert np.mean(cl[art] != "normal") >= 0.95  # measured 97-99 %
    assert np.mean(cl[clean] != "normal") <= 0.01  # measured 0.2-0.3 %


def test_pyhrv_long_injected_ectopic_regression_guard():
    # Ectopic beats with 25-35 % prematurity hidden in this highly variable real recording
    # are harder for a causal detector: measured 86-94 % sensitivity (synthetic: 100 %).
    rr = np.load(DATA / "SampleNNISeriesLong.npy").astype(float)
    bad, labels, _ = inject_artifacts(rr, 0.02, 0, kinds=("ectopic",))
    cl = classes(run(bad))
    art = labels != "normal"
    assert np.mean(cl[art] != "normal") >= 0.80


def _series(n=60, base=800.0):
    rng = np.random.default_rng(3)
    return base + 15 * np.sin(np.arange(n) * 2 * np.pi / 5) + rng.normal(0, 3, n)


def test_missed_beat_split():
    rr = _series()
    rr[30] = rr[30] + rr[31]
    rr = np.delete(rr, 31)
    out = run(rr)
    b = out[30]
    assert b.artifact is ArtifactClass.MISSED
    assert len(b.corrected_ms) == 2
    assert b.corrected_ms == (b.rr_ms / 2, b.rr_ms / 2)
    times = corrected_times(b)
    assert times[1] == b.time_s
    assert times[0] == pytest.approx(b.time_s - b.rr_ms / 2000)
    assert all(o.artifact is ArtifactClass.NORMAL for i, o in enumerate(out) if i != 30)


def test_extra_beat_removed_and_merged():
    rr = list(_series())
    rr[30:31] = [rr[30] * 0.4, rr[30] * 0.6]
    rr = np.asarray(rr)
    out = run(rr)
    assert out[30].artifact is ArtifactClass.EXTRA and out[31].artifact is ArtifactClass.EXTRA
    assert out[30].corrected_ms == ()
    assert out[31].corrected_ms == (rr[30] + rr[31],)
    assert sum(o.artifact is not ArtifactClass.NORMAL for o in out) == 2


def test_ectopic_pair_to_mean():
    rr = _series()
    f = 0.3 * rr[30]
    rr[30] -= f
    rr[31] += f
    out = run(rr)
    assert out[30].artifact is ArtifactClass.ECTOPIC and out[31].artifact is ArtifactClass.ECTOPIC
    mean = (rr[30] + rr[31]) / 2
    assert out[30].corrected_ms == (mean,) and out[31].corrected_ms == (mean,)
    t1 = corrected_times(out[30], first_of_pair=True)[0]
    assert t1 == pytest.approx(out[30].time_s - rr[30] / 1000 + mean / 1000)
    assert sum(o.artifact is not ArtifactClass.NORMAL for o in out) == 2


@pytest.mark.parametrize("value", [180.0, 3500.0])
def test_impossible_values_long_short(value):
    rr = _series()
    rr[30] = value
    out = run(rr)
    assert out[30].artifact is ArtifactClass.LONG_SHORT
    assert out[30].corrected_ms[0] == pytest.approx(np.median(rr[22:33]), abs=20)
    assert out[30].rr_ms == value


def test_warmup_fallback_flags_artifacts_early():
    rr = _series()
    rr[3] = rr[3] * 1.6  # within the first 15 beats: no quartiles yet
    out = run(rr)
    assert out[3].artifact is not ArtifactClass.NORMAL
    assert all(o.artifact is ArtifactClass.NORMAL for i, o in enumerate(out) if i != 3)


def test_never_looks_across_gap():
    rr = _series()
    rr[30] = rr[30] * 0.55  # odd (short) beat right after a gap
    rr[29] = rr[29] * 0.6  # and a short beat right before it
    out_gap = run(rr, gap_before={30})
    # without look-ahead across the gap, the pair 29/30 can't be merged into one "extra"
    assert out_gap[29].corrected_ms != () or out_gap[30].corrected_ms != (rr[29] + rr[30],)
    assert not (
        out_gap[29].artifact is ArtifactClass.EXTRA and out_gap[30].artifact is ArtifactClass.EXTRA
    )
    # the beat after the gap is judged only from beats after the gap
    det = StreamingArtifactDetector()
    for i in range(30):
        det.push(i, 400.0, i * 0.4)  # very different level before the gap
    det.flush()
    res = []
    for i in range(30, 60):
        res += det.push(i, float(rr[i] / 0.55 if i == 30 else rr[i]), i * 0.8)
    res += det.flush()
    assert all(b.artifact is ArtifactClass.NORMAL for b in res)
    # and without the flush the level change is flagged (the detector did look back)
    det2 = StreamingArtifactDetector()
    res2 = []
    for i in range(30):
        res2 += det2.push(i, 400.0, i * 0.4)
    for i in range(30, 60):
        res2 += det2.push(i, float(rr[i] / 0.55 if i == 30 else rr[i]), i * 0.8)
    res2 += det2.flush()
    assert any(b.artifact is not ArtifactClass.NORMAL for b in res2 if b.seq >= 30)
