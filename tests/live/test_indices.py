"""Live indices against straightforward numpy and neurokit2 on the same windows."""

import math

import numpy as np
import pytest

from biofeedback.core.types import ArtifactClass, Gap, GapReason
from biofeedback.live.indices import LiveHrv, LiveHrvSettings
from biofeedback.live.synthetic import synth_rr
from conftest import DATA as TEST_DATA

DATA = TEST_DATA
INLINE = LiveHrvSettings(spectral_inline=True)  # refresh inside add(): every whole second


def feed(rr, t0=0.0, hrv=None):
    hrv = hrv or LiveHrv(INLINE, capacity=64)
    t = t0 + np.cumsum(rr) / 1000.0
    for r, tt in zip(rr, t, strict=True):
        hrv.add(float(r), float(tt))
    return hrv, t


def window(t, rr, width, seg_start=0):
    sel = (t > t[-1] - width) & (np.arange(t.size) >= seg_start)
    return rr[sel], t[sel]


@pytest.mark.parametrize("name", ["Short", "Long"])
def test_time_domain_matches_numpy(name):
    rr = np.load(DATA / f"SampleNNISeries{name}.npy").astype(float)
    hrv, t = feed(rr)
    s = hrv.snapshot()
    w60, _ = window(t, rr, 60)
    w30, _ = window(t, rr, 30)
    w10, _ = window(t, rr, 10)
    d60, d30 = np.diff(w60), np.diff(w30)
    assert s.hr_bpm == pytest.approx(60000 / w10.mean(), rel=1e-9)
    assert s.rmssd_30_ms == pytest.approx(np.sqrt(np.mean(d30**2)), rel=1e-9)
    assert s.rmssd_60_ms == pytest.approx(np.sqrt(np.mean(d60**2)), rel=1e-9)
    assert s.ln_rmssd_60 == pytest.approx(math.log(np.sqrt(np.mean(d60**2))), rel=1e-9)
    assert s.sdnn_ms == pytest.approx(np.std(w60, ddof=1), rel=1e-9)
    assert s.pnn50_pct == pytest.approx(100 * np.mean(np.abs(d60) > 50), rel=1e-9)
    assert s.sd1_ms == pytest.approx(np.sqrt(0.5) * np.std(d60, ddof=1), rel=1e-9)
    assert s.n_beats == rr.size


def test_time_domain_every_beat_matches_numpy():
    rr = synth_rr(200.0, seed=4)
    hrv = LiveHrv()
    t = np.cumsum(rr) / 1000.0
    for i in range(rr.size):
        hrv.add(float(rr[i]), float(t[i]))
        s = hrv.snapshot()
        if t[i] < 60:
            assert s.rmssd_60_ms is None and s.sdnn_ms is None
            continue
        w, _ = window(t[: i + 1], rr[: i + 1], 60)
        assert s.rmssd_60_ms == pytest.approx(np.sqrt(np.mean(np.diff(w) ** 2)), rel=1e-9)
        assert s.sdnn_ms == pytest.approx(np.std(w, ddof=1), rel=1e-9)


@pytest.mark.filterwarnings("ignore::Warning")
def test_time_domain_matches_neurokit():
    nk = pytest.importorskip("neurokit2")
    rr = np.load(DATA / "SampleNNISeriesLong.npy").astype(float)
    hrv, t = feed(rr)
    s = hrv.snapshot()
    w, wt = window(t, rr, 60)
    ref = nk.hrv_time({"RRI": w, "RRI_Time": wt})
    ref_nl = nk.hrv_nonlinear({"RRI": w, "RRI_Time": wt})
    assert s.rmssd_60_ms == pytest.approx(ref["HRV_RMSSD"].iloc[0], rel=1e-9)
    assert s.sdnn_ms == pytest.approx(ref["HRV_SDNN"].iloc[0], rel=1e-9)
    # neurokit2 divides NN50 by the number of intervals, we by the number of differences
    n = w.size
    assert s.pnn50_pct * (n - 1) / n == pytest.approx(ref["HRV_pNN50"].iloc[0], rel=1e-9)
    assert s.sd1_ms == pytest.approx(ref_nl["HRV_SD1"].iloc[0], rel=1e-9)


def test_spectral_matches_neurokit_and_waits_for_window():
    nk = pytest.importorskip("neurokit2")
    rr = synth_rr(420.0, seed=2)
    t = np.cumsum(rr) / 1000.0
    hrv = LiveHrv(INLINE)
    for r, tt in zip(rr, t, strict=True):
        hrv.add(float(r), float(tt))
        s = hrv.snapshot()
        if tt < 120 - 1e-6:
            assert s.hf_ms2 is None
        if tt < 300 - 1e-6:
            assert s.lf_ms2 is None
    s = hrv.snapshot()
    # spectral values refresh at the first beat past each whole second: the last such beat
    k = int(np.flatnonzero(np.floor(t[1:]) > np.floor(t[:-1]))[-1] + 1)
    for band, width, value in (("HF", 120, s.hf_ms2), ("LF", 300, s.lf_ms2)):
        w, wt = window(t[: k + 1], rr[: k + 1], width)
        ref = nk.hrv_frequency(
            {"RRI": w, "RRI_Time": wt}, interpolation_rate=4, normalize=False, psd_method="welch"
        )[f"HRV_{band}"].iloc[0]
        assert value == pytest.approx(ref, rel=1e-9)  # same algorithm: equal to rounding


def test_gap_resets_differences_and_spectral():
    rr = synth_rr(400.0, seed=5)
    hrv, t = feed(rr)
    assert hrv.snapshot().hf_ms2 is not None and hrv.snapshot().lf_ms2 is not None
    hrv.mark_gap(Gap(t[-1], t[-1] + 20, GapReason.LINK_LOSS))
    rr2 = synth_rr(130.0, mean_ms=600.0, seed=6)  # very different level after the gap
    hrv, t2 = feed(rr2, t0=t[-1] + 20, hrv=hrv)
    s = hrv.snapshot()
    assert s.lf_ms2 is None  # segment shorter than 300 s
    assert s.hf_ms2 is not None
    w, _ = window(t2, rr2, 60)
    # no successive difference across the gap: same as the post-gap series alone
    assert s.rmssd_60_ms == pytest.approx(np.sqrt(np.mean(np.diff(w) ** 2)), rel=1e-9)
    hrv2 = LiveHrv(INLINE)
    hrv2.mark_gap()
    hrv2.add(900.0, 1.0)
    hrv2.mark_gap()
    for r, tt in zip(rr2, t2, strict=True):
        hrv2.add(float(r), float(tt))
    assert hrv2.snapshot().hf_ms2 == pytest.approx(s.hf_ms2, rel=1e-12)
    # right after a gap: nothing that needs a window
    hrv.mark_gap()
    hrv.add(600.0, t2[-1] + 30)
    s = hrv.snapshot()
    assert s.rmssd_30_ms is None and s.hf_ms2 is None and s.breaths_per_min is None


@pytest.mark.parametrize("rate_per_min", [12.0, 6.0])
def test_breathing_rate(rate_per_min):
    rr = synth_rr(180.0, rsa_hz=rate_per_min / 60, rsa_ms=50.0, lf_ms=0.0, seed=7)
    hrv, _ = feed(rr)
    br = hrv.snapshot().breaths_per_min
    assert br is not None and abs(br - rate_per_min) <= 1.0


def test_coherence_higher_for_slow_sinusoid_than_noise():
    slow = synth_rr(120.0, rsa_hz=0.1, rsa_ms=60.0, lf_ms=0.0, noise_ms=3.0, seed=8)
    rng = np.random.default_rng(9)
    noisy = 850 + rng.normal(0, 40, slow.size)
    s_slow = feed(slow)[0].snapshot()
    s_noisy = feed(noisy)[0].snapshot()
    assert s_slow.coherence_ratio > 5 * s_noisy.coherence_ratio
    assert s_slow.coherence_score > 7.0 > s_noisy.coherence_score
    assert 0.0 <= s_noisy.coherence_score <= 10.0


def test_snapshot_to_dict_and_empty():
    hrv = LiveHrv()
    s = hrv.snapshot()
    assert s.n_beats == 0 and s.hr_bpm is None
    d = s.to_dict()
    assert set(d) >= {"hr_bpm", "rmssd_30_ms", "hf_ms2", "coherence_score", "artifact_pct"}


def test_spectral_refresh_from_timer_equals_inline():
    rr = synth_rr(150.0, seed=21)
    inline, _ = feed(rr)
    timer = LiveHrv(LiveHrvSettings(spectral_inline=False))
    feed(rr, hrv=timer)
    assert timer.snapshot().hf_ms2 is None
    assert timer.refresh_spectral_if_due()
    assert not timer.refresh_spectral_if_due()
    a, b = inline.snapshot(), timer.snapshot()
    assert b.hf_ms2 == pytest.approx(a.hf_ms2, rel=1e-12)
    assert b.breaths_per_min == pytest.approx(a.breaths_per_min, rel=1e-12)


def test_snapshot_cache_equals_fresh_computation():
    # random interleavings of add / add_beat_class / refresh / gap / snapshot reads
    rng = np.random.default_rng(31)
    rr = synth_rr(700.0, seed=32)
    t = np.cumsum(rr) / 1000.0
    hrv = LiveHrv()
    checked = 0
    t_off = 0.0
    for i in range(rr.size):
        if i == 500:
            hrv.mark_gap()
            t_off = 5.0
        hrv.add(float(rr[i]), float(t[i] + t_off))
        if rng.random() < 0.3:
            hrv.add_beat_class(float(t[i] + t_off), bool(rng.random() < 0.1))
        if rng.random() < 0.2:
            hrv.refresh_spectral_if_due()
        if rng.random() < 0.25:
            a = hrv.snapshot()
            assert hrv.snapshot() is a  # cached until something changes
            assert a == hrv.compute_snapshot()
            checked += 1
    assert checked > 100
    assert hrv.snapshot().hf_ms2 is not None


def test_coarse_refresh_cadence_still_refreshes():
    rr = synth_rr(400.0, seed=33)
    t = np.cumsum(rr) / 1000.0
    hrv = LiveHrv()  # spectral_inline=False (default)
    next_call = 7.0
    calls = refreshed = 0
    last_i = 0
    for i, (r, tt) in enumerate(zip(rr, t, strict=True)):
        hrv.add(float(r), float(tt))
        if tt >= next_call:
            last_i = i  # called every 7 s of session time only
            next_call += 7.0
            calls += 1
            before = hrv.snapshot()
            ran = hrv.refresh_spectral_if_due()
            refreshed += ran
            assert ran  # >= spectral_period_s passed since the last refresh
            if tt > 130:
                assert hrv.snapshot() is not before  # the cache was invalidated
                assert hrv.snapshot().hf_ms2 is not None
            if tt > 70:
                # coherence (period 5 s) is refreshed on each of these calls too
                assert hrv._next_coherence > tt
    assert calls == refreshed > 50
    # the values are those of a single refresh over the same beats
    one = LiveHrv()
    for r, tt in zip(rr[: last_i + 1], t[: last_i + 1], strict=True):
        one.add(float(r), float(tt))
    assert one.refresh_spectral_if_due()
    a, b = hrv.snapshot(), one.snapshot()
    assert a.lf_ms2 is not None and a.time_s > b.time_s  # newer beats since the refresh
    assert a.lf_ms2 == pytest.approx(b.lf_ms2, rel=1e-12)
    assert a.hf_ms2 == pytest.approx(b.hf_ms2, rel=1e-12)
    assert a.coherence_ratio == pytest.approx(b.coherence_ratio, rel=1e-12)


def test_segment_resampler_matches_resample_nn():
    from biofeedback.live import spectral
    from biofeedback.live.artifacts import StreamingArtifactDetector, corrected_times
    from biofeedback.live.synthetic import inject_artifacts

    rr = synth_rr(900.0, seed=34, noise_ms=25.0)
    bad, _, _ = inject_artifacts(rr, 0.05, seed=35)
    det = StreamingArtifactDetector()
    out = []
    for i, (r, tt) in enumerate(zip(bad, np.cumsum(bad) / 1000.0, strict=True)):
        out += det.push(i, float(r), float(tt))
    out += det.flush()
    xs: list[float] = []
    ys: list[float] = []
    res = spectral.SegmentResampler(xs, ys, 0)
    open_pair = False
    worst = 0.0
    next_t = 0.0
    for b in out:
        first = False
        if b.artifact is ArtifactClass.ECTOPIC:
            first = not open_pair
            open_pair = first
        else:
            open_pair = False
        for v, tt in zip(b.corrected_ms, corrected_times(b, first), strict=True):
            xs.append(tt)
            ys.append(v)
        if xs[-1] >= next_t and xs[-1] > 20:
            next_t = xs[-1] + (1.0 if xs[-1] < 500 else 13.0)  # also irregular cadence
            tl = np.asarray(xs)
            starts = [int(np.searchsorted(tl, tl[-1] - w, side="right")) for w in (300, 120, 20)]
            for a, got in zip(starts, res.resample(starts), strict=True):
                ref = spectral.resample_nn(tl[a:], np.asarray(ys[a:]))
                assert got.shape == ref.shape
                worst = max(worst, float(np.max(np.abs(got - ref)) / np.std(ref)))
    assert worst < 1e-12


def test_bounded_prefix_sums_keep_every_value_over_a_long_session():
    # 6 h of beats with gaps, a backward seek and beat classes: the live indices with their
    # old entries dropped every 300 beats equal, at every beat, those that keep everything.
    rr = synth_rr(6 * 3600.0, seed=11)
    t = np.cumsum(rr) / 1000.0
    rng = np.random.default_rng(3)
    gaps = set(rng.choice(np.arange(500, rr.size), 6, replace=False).tolist())
    seek = rr.size // 2
    whole, bounded = LiveHrv(trim_every=None), LiveHrv(trim_every=300)
    for i in range(rr.size):
        # after the seek the session replays from 10 min earlier (time goes back)
        at = float(t[i] - 600.0) if i >= seek else float(t[i])
        flag = bool(rng.random() < 0.05)
        for hrv in (whole, bounded):
            if i in gaps:
                hrv.mark_gap(Gap(at - 5.0, at - 1.0, GapReason.SOURCE))
            hrv.add(float(rr[i]), at)
            hrv.add_beat_class(at, flag)
            if i % 100 == 0:
                hrv.refresh_spectral_if_due()
        assert bounded.snapshot() == whole.snapshot(), i
    assert rr.size > 20_000
    assert whole.kept_prefix_entries == rr.size + 1
    # what a 60-s window needs (~100 beats) plus at most two trim steps
    assert bounded.kept_prefix_entries < 800
    assert bounded.kept_artifact_entries < 800
