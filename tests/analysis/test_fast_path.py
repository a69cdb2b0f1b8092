"""The fast analysis path gives neurokit2's values: the vectorised Kubios classifier, the
three time-domain expressions, one PSD per run, and the phase windows as a whole against a
plain loop of neurokit2 calls on the same windows with the same settings (1e-9)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pandas as pd
import pytest

from biofeedback.analysis.artifacts import classify_peaks
from biofeedback.analysis.kubios_classes import (
    PORTED_FROM,
    find_artifacts,
    rolling_median,
    rolling_quantiles,
)
from biofeedback.analysis.phases import analyze_recording, run_spectrum
from biofeedback.analysis.plain_neurokit import nk_classes, plain_window_indices
from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.analysis.windows import WindowSettings, phase_windows
from biofeedback.comparison.compare import DEFAULT_ANALYSIS
from biofeedback.core.recording import Recording
from biofeedback.core.types import Gap, GapReason, PhaseSpan
from biofeedback.importing import read_recording
from sensors.simulated import ArtifactRates, simulate_recording

DATA = Path(__file__).resolve().parent.parent / "data"
KUBIOS = DEFAULT_ANALYSIS.kubios_kwargs()
INDICES = ("n_beats", "n_analysed", "artifact_pct", "mean_rr_ms", "sdnn_ms", "rmssd_ms",
           "hf_ms2", "lf_ms2", "breaths_per_min_rr")


def peaks_of(rr_ms: np.ndarray) -> np.ndarray:
    """Peak positions at the analysis' 1-MHz peak clock, as the analysis builds them."""
    return np.round(np.concatenate(([0.0], np.cumsum(rr_ms))) * 1000.0).astype(np.int64)


def nk_info(peaks: np.ndarray) -> dict[str, list[int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(peaks, iterative=False, **KUBIOS)
    return {k: [int(i) for i in info[k]] for k in ("ectopic", "missed", "extra", "longshort")}


def test_the_port_is_of_the_installed_neurokit2():
    # classify_peaks calls neurokit2 itself with any other version; this says which ran here.
    assert nk.__version__ == PORTED_FROM


@pytest.mark.parametrize("width", [91, 11, 10, 4])
def test_rolling_order_statistics_are_pandas_bit_for_bit(width):
    rng = np.random.default_rng(width)
    for n in (1, 2, 5, 11, 60, 91, 92, 300):
        x = np.abs(rng.normal(size=n))
        x[rng.random(n) < 0.3] = 0.5  # ties
        rolling = pd.Series(x).rolling(width, center=True, min_periods=1)
        q1, q3 = rolling_quantiles(x, width, (0.25, 0.75))
        assert np.array_equal(q1, rolling.quantile(0.25).to_numpy())
        assert np.array_equal(q3, rolling.quantile(0.75).to_numpy())
        assert np.array_equal(rolling_median(x, width), rolling.median().to_numpy())


def test_vectorised_classifier_gives_neurokit2s_classes_index_for_index():
    series = []
    for seed, total in enumerate((0.0, 0.01, 0.03, 0.06)):
        sim = simulate_recording(600.0, seed=seed, artifacts=ArtifactRates.from_total(total))
        series.append(np.asarray(sim.truth.delivered_rr_ms, dtype=np.float64))
    series.append(np.load(DATA / "SampleNNISeriesLong.npy").astype(np.float64)[:3000])
    # Real files of other tools (quantised intervals, real ectopy), each gap-free run.
    for name in ("kubios/kubios_type1_input_SampleExport.txt",
                 "plain_rr_text/hrv_pkg_08012805.txt", "polar_hrm/exercise_rri.hrm"):
        recording = read_recording(DATA / "real" / name)[0].recording
        rr, segment = np.asarray(recording.rr_ms, dtype=np.float64), recording.segment_ids()
        series += [rr[segment == s] for s in np.unique(segment) if np.sum(segment == s) > 5]
    series.append(np.full(200, 800.0))  # constant: zero thresholds, NaN ratios
    steps = np.full(150, 800.0)
    steps[::7] = 1600.0  # a missed beat every 7th, quantised intervals (ties)
    series.append(steps)
    series += [np.array([800.0, 810.0, 1620.0]), np.array([800.0, 400.0, 420.0, 810.0, 790.0])]
    flagged = 0
    for rr in series:
        peaks = peaks_of(rr)
        expected = nk_info(peaks)
        constants = {k: v for k, v in KUBIOS.items() if k != "method"}
        assert find_artifacts(peaks, **constants) == expected
        assert classify_peaks(peaks, KUBIOS) == nk_classes(peaks, KUBIOS)
        flagged += sum(len(v) for v in expected.values())
    assert flagged > 100  # the series do exercise every branch, not only normal beats


def test_one_psd_per_run_gives_hrv_frequency_and_the_breathing_psd():
    rr = np.asarray(simulate_recording(300.0, seed=5).truth.delivered_rr_ms, dtype=np.float64)
    for settings in (DEFAULT_ANALYSIS, AnalysisSettings(hf_band_hz=(0.12, 0.36))):
        bands, (freq, power) = run_spectrum(rr, settings)
        direct = nk.hrv_frequency({"RRI": rr}, **settings.frequency_kwargs()).iloc[0]
        for name in ("ULF", "VLF", "LF", "HF", "VHF"):
            if np.isnan(direct[f"HRV_{name}"]):
                assert np.isnan(bands[name]), name
            else:
                assert bands[name] == pytest.approx(direct[f"HRV_{name}"], rel=1e-9, abs=0)
        signal, _, rate = nk.intervals_process(rr, interpolate=True, interpolation_rate=4.0)
        psd = nk.signal_psd(signal, **{**settings.psd_kwargs(), "sampling_rate": rate})
        np.testing.assert_array_equal(freq, psd["Frequency"].to_numpy())
        np.testing.assert_allclose(power, psd["Power"].to_numpy(), rtol=1e-12, atol=0)


def study_like_recording() -> Recording:
    """24 min with 2 % artifacts, two gaps (one inside a window) and the phases of a
    comparison session, so windows are 240 s, short, gap-split and without LF."""
    sim = simulate_recording(1440.0, seed=8, artifacts=ArtifactRates.from_total(0.02))
    rr = np.asarray(sim.truth.delivered_rr_ms, dtype=np.float64)
    t = np.asarray(sim.truth.delivered_time_s, dtype=np.float64)
    keep = ~(((t > 500.0) & (t < 530.0)) | ((t > 1010.0) & (t < 1013.0)))
    rr, t = rr[keep], t[keep]
    gaps = [Gap(float(t[t < a][-1]), float(t[t > b][0]) - float(rr[t > b][0]) / 1000.0,
                GapReason.LINK_LOSS) for a, b in ((500.0, 530.0), (1010.0, 1013.0))]
    phases = [
        PhaseSpan("baseline", "Baseline", "baseline", 0.0, 300.0),
        PhaseSpan("p1", "Practice 1", "practice", 300.0, 600.0, "resonance", "self_soothing"),
        PhaseSpan("report", "Report", "self_report", 600.0, 700.0),
        PhaseSpan("p2", "Practice 2", "practice", 700.0, 1100.0, "attention", "attention"),
        PhaseSpan("short", "Short rest", "rest", 1100.0, 1200.0),
        PhaseSpan("recovery", "Recovery", "recovery", 1200.0, float(t[-1]) + 1.0),
    ]
    return Recording(rr_ms=rr, time_s=t, gaps=gaps, phases=phases, name="study-like")


@pytest.mark.parametrize("correction", ["kubios", "none"])
def test_phase_windows_equal_the_plain_neurokit2_loop(correction):
    recording = study_like_recording()
    assert len(set(recording.segment_ids().tolist())) == 3
    windows = WindowSettings()
    settings = dataclasses.replace(DEFAULT_ANALYSIS, correction=correction)
    plain = plain_window_indices(recording, windows, settings)
    chosen = [p for p in recording.phases if p.kind in windows.kinds]
    spans = [windows.span(p) for p in chosen]
    fast = analyze_recording(dataclasses.replace(recording, phases=[
        dataclasses.replace(p, start_s=a, end_s=b) for p, (a, b, _) in zip(chosen, spans,
                                                                           strict=True)
    ]), settings).phases
    shown = phase_windows(recording, windows, settings)
    assert [w["phase_id"] for w in plain] == [w.phase_id for w in shown] == [
        "baseline", "p1", "p2", "short", "recovery"]
    compared = 0
    for expected, row, window in zip(plain, fast, shown, strict=True):
        assert (window.start_s, window.end_s) == (expected["start_s"], expected["end_s"])
        assert window.n_beats == row.n_beats and window.rmssd_ms == row.rmssd_ms
        for key in INDICES:
            value = getattr(row, key)
            if expected[key] is None:
                assert value is None, key
            else:
                assert value == pytest.approx(expected[key], rel=1e-9, abs=0), key
                compared += 1
    assert compared >= 35
    by_id = {w["phase_id"]: w for w in plain}
    # The windows cover what the comparison meets: LF where 235 s of beats exist, none in
    # the gap-split and the short window; artifacts flagged.
    assert by_id["baseline"]["lf_ms2"] is not None and by_id["p1"]["lf_ms2"] is None
    assert by_id["short"]["lf_ms2"] is None and by_id["short"]["hf_ms2"] is not None
    assert any((w["artifact_pct"] or 0) > 0 for w in plain)
