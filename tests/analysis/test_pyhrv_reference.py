"""Cross-library check on pyHRV's sample NN series (tests/data/pyhrv_SOURCE.txt)."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.core.recording import Recording
from conftest import DATA as TEST_DATA

DATA = TEST_DATA


@pytest.fixture(scope="module")
def long_series():
    nn = np.load(DATA / "SampleNNISeriesLong.npy").astype(float)
    rec = Recording(rr_ms=nn, time_s=np.cumsum(nn) / 1000.0, name="pyhrv long")
    return nn, analyze_recording(rec, AnalysisSettings(correction="none")).phases[0]


def test_long_series_shape(long_series):
    nn, phase = long_series
    assert nn.size == 4684
    assert phase.n_beats == 4684
    assert phase.name == "whole recording"


def test_mean_sdnn_rmssd_agree_across_libraries(long_series):
    """SOURCE: MeanNN/SDNN/RMSSD agree exactly across neurokit2, pyhrv and hrv-analysis;
    pyhrv's report rounds to 3 decimals."""
    _, phase = long_series
    assert phase.mean_rr_ms == pytest.approx(768.438, abs=5e-4)
    assert phase.sdnn_ms == pytest.approx(85.357, abs=5e-4)
    assert phase.rmssd_ms == pytest.approx(60.523, abs=5e-4)


def test_pnn50_sd1_sd2_within_documented_differences(long_series):
    """pNN50: pyhrv divides by the number of differences, as we do (neurokit2 divides by N);
    SD1/SD2 differ by up to 0.3 % between libraries (ddof)."""
    nn, phase = long_series
    assert phase.pnn50_pct == pytest.approx(28.571, abs=5e-4)
    assert phase.sd1_ms == pytest.approx(42.797, rel=0.003)
    assert phase.sd2_ms == pytest.approx(112.837, rel=0.003)
    d = np.diff(nn)
    assert phase.pnn50_pct == pytest.approx(100 * np.mean(np.abs(d) > 50))


def test_short_series_runs(long_series):
    nn = np.load(DATA / "SampleNNISeriesShort.npy").astype(float)
    rec = Recording(rr_ms=nn, time_s=np.cumsum(nn) / 1000.0)
    phase = analyze_recording(rec).phases[0]
    assert phase.n_beats == nn.size == 337
    assert phase.rmssd_ms is not None and phase.hf_ms2 is not None
