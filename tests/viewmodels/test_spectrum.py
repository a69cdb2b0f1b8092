"""live_spectrum: Welch PSD of the newest gap-free NN intervals."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from biofeedback.core.types import Beat, BeatBatch, Gap, GapReason
from biofeedback.live import spectral
from biofeedback.live.processor import LiveProcessor
from biofeedback.session.live_session import LiveSession
from biofeedback.viewmodels.spectrum import (
    HF_BAND_HZ,
    LF_BAND_HZ,
    current_segment,
    live_spectrum,
    session_spectrum,
)
from sensors.simulated import SimulatedStrap


def _modulated_rr(duration_s: float, freq_hz: float, depth_ms: float = 60.0) -> tuple:
    """Beat times (s) and RR (ms) of a heart whose RR follows a sine of ``freq_hz``."""
    t, times, rrs = 0.0, [], []
    while t < duration_s:
        rr = 850.0 + depth_ms * np.sin(2.0 * np.pi * freq_hz * t)
        t += rr / 1000.0
        times.append(t)
        rrs.append(rr)
    return np.asarray(times), np.asarray(rrs)


@pytest.mark.parametrize(("freq_hz", "band"), [(0.25, "hf"), (0.1, "lf")])
def test_the_peak_sits_at_the_modulation_frequency(freq_hz, band):
    times, rr = _modulated_rr(300.0, freq_hz)
    spec = live_spectrum(times, rr, window_s=120.0)
    assert spec is not None
    assert spec.breathing_peak_hz == pytest.approx(freq_hz, abs=0.01)
    assert spec.breaths_per_min == pytest.approx(60 * freq_hz, abs=0.6)
    peak = spec.freq_hz[np.argmax(spec.psd_ms2_hz)]
    assert peak == pytest.approx(freq_hz, abs=0.01)
    assert spec.lf_band_hz == LF_BAND_HZ and spec.hf_band_hz == HF_BAND_HZ
    # the power lands in the band of the modulation
    if band == "hf":
        assert spec.hf_ms2 > 20 * (spec.lf_ms2 or 0.0)
    else:
        assert spec.lf_ms2 > 20 * spec.hf_ms2
    # only the last 120 s were used
    assert spec.end_s == pytest.approx(times[-1])
    assert 119.0 <= spec.duration_s <= 121.5


def test_it_is_the_same_welch_and_interpolation_as_the_live_hf():
    times, rr = _modulated_rr(200.0, 0.2)
    spec = live_spectrum(times, rr, window_s=120.0)
    first = int(np.searchsorted(times, times[-1] - 120.0, side="right"))
    x4 = spectral.resample_nn(times[first:], rr[first:])
    freq, psd = spectral.welch_psd(x4, spectral.INTERPOLATION_RATE_HZ)
    np.testing.assert_array_equal(spec.freq_hz, freq)
    np.testing.assert_array_equal(spec.psd_ms2_hz, psd)
    assert spec.hf_ms2 == spectral.band_power(freq, psd, *HF_BAND_HZ)


def test_none_when_the_segment_is_too_short():
    times, rr = _modulated_rr(50.0, 0.25)
    assert live_spectrum(times, rr) is None
    assert live_spectrum(times[:3], rr[:3], min_duration_s=0.0) is None
    assert live_spectrum([], []) is None
    times, rr = _modulated_rr(70.0, 0.25)
    assert live_spectrum(times, rr) is not None
    assert live_spectrum(times, rr, min_duration_s=100.0) is None


def test_current_segment_starts_after_the_last_gap_and_matches_the_live_hf():
    proc = LiveProcessor()
    times, rr = _modulated_rr(400.0, 0.25)
    for seq, (t, r) in enumerate(zip(times, rr, strict=True)):
        if seq == 100:
            proc.process_gap(Gap(float(t) - 2.0, float(t) - 0.9, GapReason.LINK_LOSS))
        beat = Beat(float(r), float(t), float(t), None, seq)
        proc.process_batch(BeatBatch(float(t), (beat,)))
    proc.refresh_spectral_if_due()
    seg_t, seg_nn = current_segment(proc)
    assert seg_t[0] == pytest.approx(times[100])
    assert seg_t.size == len(times) - 100 - 2  # the newest two beats wait for look-ahead
    spec = live_spectrum(seg_t, seg_nn, window_s=120.0)
    assert spec is not None
    live_hf = proc.snapshot().hf_ms2
    assert live_hf is not None
    # the live HF is refreshed on whole seconds: within a second of the spectrum's end
    assert spec.hf_ms2 == pytest.approx(live_hf, rel=0.05)


def test_current_segment_of_a_running_session():
    async def run() -> LiveSession:
        session = LiveSession(
            SimulatedStrap(seed=2, speed=None, duration_s=150.0), store=None, neurokit=False
        )
        await session.run(duration_s=150.0)
        return session

    session = asyncio.run(run())
    seg_t, seg_nn = current_segment(session)
    assert seg_t.size == session.stats.n_beats  # finished: every beat is final, no gap
    spec = live_spectrum(seg_t, seg_nn)
    assert spec is not None
    same = session_spectrum(session)
    np.testing.assert_array_equal(same.psd_ms2_hz, spec.psd_ms2_hz)
    assert spec.breaths_per_min == pytest.approx(
        session.indices().breaths_per_min, abs=2.0
    )
