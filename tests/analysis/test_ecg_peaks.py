"""R-peaks of a raw ECG channel: neurokit2's simulated ECG at known heart rates."""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pytest

from biofeedback.analysis.ecg_peaks import rr_from_ecg
from biofeedback.core.channels import RawChannel


def simulated(heart_rate: float, fs: float, seed: int, *, start_s: float = 0.0,
              duration_s: float = 60.0) -> RawChannel:
    mv = nk.ecg_simulate(duration=duration_s, sampling_rate=int(fs), heart_rate=heart_rate,
                         heart_rate_std=0, noise=0.01, random_state=seed)
    return RawChannel(name="ECG", kind="ecg", unit="uV", sampling_rate_hz=fs, start_s=start_s,
                      columns=("ecg",), samples=(np.asarray(mv) * 1000.0).reshape(-1, 1),
                      source_file="simulated")


@pytest.mark.parametrize(("heart_rate", "fs", "seed"), [(60, 500.0, 42), (75, 500.0, 42),
                                                        (90, 250.0, 5)])
def test_simulated_ecg_gives_its_heart_rate(heart_rate, fs, seed):
    beats = rr_from_ecg(simulated(heart_rate, fs, seed))
    expected_rr = 60000.0 / heart_rate
    beats_in_60_s = heart_rate  # one minute
    # neurokit2 may miss a peak cut at either end of the signal.
    assert beats_in_60_s - 3 <= beats.n_beats <= beats_in_60_s - 1
    assert abs(float(beats.rr_ms.mean()) - expected_rr) < 2.0
    assert np.all(np.abs(beats.rr_ms - expected_rr) < 10.0)
    assert beats.peaks.dtype == np.int64
    assert beats.peaks.size == beats.n_beats + 1
    np.testing.assert_allclose(beats.rr_ms, np.diff(beats.peaks) * 1000.0 / fs)
    np.testing.assert_allclose(beats.time_s, beats.peaks[1:] / fs)


def test_provenance_and_channel_start():
    channel = simulated(70, 500.0, 1, start_s=12.5, duration_s=20.0)
    beats = rr_from_ecg(channel)
    assert beats.method == "neurokit"
    assert beats.kwargs == {"sampling_rate": 500.0, "method": "neurokit",
                            "correct_artifacts": False}
    assert beats.clean_kwargs == {"sampling_rate": 500.0, "method": "neurokit"}
    assert beats.neurokit_version == nk.__version__ == "0.2.13"
    np.testing.assert_allclose(beats.time_s, 12.5 + beats.peaks[1:] / 500.0)
    assert beats.time_s[0] > 12.5


def test_other_method_is_recorded():
    beats = rr_from_ecg(simulated(60, 500.0, 2, duration_s=30.0), method="pantompkins1985")
    assert beats.kwargs["method"] == "pantompkins1985"
    assert beats.clean_kwargs["method"] == "pantompkins1985"
    # Pan-Tompkins places a few peaks off on this synthetic ECG (no correction is applied):
    # its typical interval is still the heart rate's.
    assert abs(float(np.median(beats.rr_ms)) - 1000.0) < 2.0


def test_refuses_what_is_not_an_ecg():
    channel = simulated(60, 500.0, 3, duration_s=5.0)
    acc = RawChannel("ACC", "acc", "mg", 50.0, 0.0, ("x",), np.zeros((100, 1)), "acc.txt")
    with pytest.raises(ValueError, match="'acc', not an ECG"):
        rr_from_ecg(acc)
    broken = RawChannel("ECG", "ecg", "uV", 500.0, 0.0, ("ecg",),
                        np.where(np.arange(channel.n_samples)[:, None] == 7, np.nan,
                                 channel.samples), "x")
    with pytest.raises(ValueError, match="non-finite"):
        rr_from_ecg(broken)
    empty = RawChannel("ECG", "ecg", "uV", 500.0, 0.0, ("ecg",), np.zeros((0, 1)), "x")
    with pytest.raises(ValueError, match="no samples"):
        rr_from_ecg(empty)
