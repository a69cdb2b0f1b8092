"""RR from the chest strap's ECG stream: the virtual strap's synthetic ECG, built beat by beat
from known RR (ectopic beats, noise, baseline wander), against its true R times."""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
import numpy.typing as npt
import pytest

from biofeedback.analysis.ecg_stream import (
    REFINEMENT,
    ecg_runs,
    recording_from_ecg,
    rr_from_ecg_chunks,
)
from biofeedback.core.recording import Recording
from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Gap, GapReason, PhaseSpan
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import FileRRSource, SimulatedRRSource

FRAME = 73
"""ECG samples per PMD frame of a Polar H10."""


def _rr_with_ectopics(n: int, seed: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    rr = 850.0 + 60.0 * np.sin(np.arange(n) / 3.0) + 15.0 * rng.standard_normal(n)
    for k in range(20, n - 1, 31):
        # A premature beat and its compensatory pause.
        rr[k] = 0.62 * rr[k - 1]
        rr[k + 1] = 1.35 * rr[k - 1]
    return rr


def _chunks(
    track: BeatTrack, seed: int, duration_s: float, rate_hz: float, t0_s: float,
    drop_frames: tuple[int, ...] = (), wander_uv: float = 0.0, noise_uv: float = 0.0,
) -> list[SignalChunk]:
    """The strap's ECG as the PMD decoder hands it on: 73-sample chunks at the measured rate,
    with extra baseline wander and noise on top of the strap's own."""
    signals = ChestSignals(track, breathing_for(track, 14.0), seed=seed)
    n = int(duration_s * rate_hz) // FRAME * FRAME
    t = t0_s + np.arange(n) / rate_hz
    ecg = signals.ecg_uv(t).astype(np.float64)
    rng = np.random.default_rng([seed, 9])
    ecg += wander_uv * np.sin(2 * np.pi * 0.15 * t + 1.0) + noise_uv * rng.standard_normal(n)
    samples = np.rint(ecg).astype(np.int32).reshape(-1, 1)
    return [
        SignalChunk("ecg", float(t[i]), rate_hz, samples[i:i + FRAME], "uV", first_index=i)
        for k, i in enumerate(range(0, n, FRAME)) if k not in drop_frames
    ]


def _errors_ms(found: npt.NDArray[np.float64], truth: npt.NDArray[np.float64]
               ) -> npt.NDArray[np.float64]:
    nearest = np.clip(np.searchsorted(truth, found), 1, truth.size - 1)
    left = np.abs(found - truth[nearest - 1]) < np.abs(truth[nearest] - found)
    return (found - truth[np.where(left, nearest - 1, nearest)]) * 1000.0


def test_rr_from_ecg_within_2_ms_of_the_true_beats_with_ectopics_noise_and_wander() -> None:
    rr = _rr_with_ectopics(260, seed=4)
    track = BeatTrack(FileRRSource(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)))
    chunks = _chunks(track, seed=4, duration_s=200.0, rate_hz=130.27, t0_s=0.0,
                     wander_uv=350.0, noise_uv=25.0)
    beats = rr_from_ecg_chunks(chunks)
    truth = np.asarray(track.r_times_s)
    end = chunks[-1].times_s()[-1]
    inside = truth[(truth > 0.3) & (truth < end - 0.3)]
    ectopic = np.asarray(track.ectopic)[(truth > 0.3) & (truth < end - 0.3)]
    assert ectopic.sum() >= 6
    # Every beat found, no extra one.
    assert beats.r_times_s.size == inside.size
    errors = _errors_ms(beats.r_times_s, truth)
    np.testing.assert_allclose(beats.r_times_s, inside, atol=0.006)
    assert np.median(np.abs(errors)) < 2.0
    assert np.median(np.abs(errors[~ectopic])) < 1.0
    rr_errors = beats.rr_ms - np.diff(inside) * 1000.0
    assert np.median(np.abs(rr_errors)) < 2.0
    assert np.percentile(np.abs(rr_errors), 95) < 4.0
    np.testing.assert_allclose(beats.time_s, beats.r_times_s[1:])
    # Whole samples would be up to 3.8 ms off: the sub-sample step is what reaches the goal.
    fs = 130.27
    whole = np.rint(beats.r_times_s * fs) / fs
    assert np.median(np.abs(_errors_ms(whole, truth))) > 1.5


def test_the_virtual_strap_default_beats_on_a_session_clock_offset() -> None:
    track = BeatTrack(SimulatedRRSource(7))
    track.beats_until(130.0)
    chunks = _chunks(track, seed=7, duration_s=120.0, rate_hz=129.9, t0_s=3.25)
    beats = rr_from_ecg_chunks(chunks)
    truth = np.asarray(track.r_times_s)
    inside = truth[(truth > 3.25 + 0.3) & (truth < chunks[-1].times_s()[-1] - 0.3)]
    assert beats.r_times_s.size == inside.size
    assert np.median(np.abs(beats.r_times_s - inside)) * 1000.0 < 2.0


def test_lost_frames_split_the_stream_and_no_interval_spans_them() -> None:
    rr = _rr_with_ectopics(120, seed=1)
    track = BeatTrack(FileRRSource(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)))
    chunks = _chunks(track, seed=1, duration_s=90.0, rate_hz=130.0, t0_s=0.0,
                     drop_frames=(60, 61, 62))
    runs = ecg_runs(chunks)
    assert len(runs) == 2
    beats = rr_from_ecg_chunks(chunks)
    assert [round(a, 3) for a, _ in beats.runs] == [0.0, round(63 * FRAME / 130.0, 3)]
    gap_start, gap_end = beats.runs[0][1], beats.runs[1][0]
    assert not np.any((beats.r_times_s > gap_start) & (beats.r_times_s < gap_end))
    # One interval fewer per run than peaks: none crosses the lost frames.
    assert beats.n_beats == beats.r_times_s.size - 2
    assert set(np.unique(beats.run_index)) == {0, 1}
    assert np.all(beats.rr_ms < 1.4 * rr.max())
    truth = np.asarray(track.r_times_s)
    assert np.median(np.abs(_errors_ms(beats.r_times_s, truth))) < 2.0
    # Analysed from the ECG, the session keeps its phases and gaps and gains the lost frames
    # as a gap; the strap's live per-beat arrays are not carried over to other beats.
    strap = Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0,
                      gaps=[Gap(80.0, 85.0, GapReason.NO_CONTACT)],
                      phases=[PhaseSpan("rest", "Rest", "rest", 0.0, 90.0)],
                      received_s=np.cumsum(rr) / 1000.0 + 0.3, metadata={"device": "H10"})
    ecg = recording_from_ecg(strap, beats)
    np.testing.assert_array_equal(ecg.rr_ms, beats.rr_ms)
    np.testing.assert_array_equal(ecg.time_s, beats.time_s)
    assert ecg.gaps == [Gap(gap_start, gap_end, GapReason.SOURCE),
                        Gap(80.0, 85.0, GapReason.NO_CONTACT)]
    assert ecg.phases == strap.phases and ecg.received_s is None
    assert ecg.metadata == {"device": "H10", "rr_source": beats.provenance()}
    assert strap.metadata == {"device": "H10"}


@pytest.mark.parametrize("cut_s", [0.05, 0.115, 0.2])
def test_a_beat_cut_off_by_the_end_of_the_stream_gives_no_peak(cut_s: float) -> None:
    # The stream ends cut_s before an R: its P wave (or the QRS's rising edge) is all that is
    # left, and neurokit2 alone takes it for an R at 0.05 s.
    rr = np.full(40, 800.0)
    track = BeatTrack(FileRRSource(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)))
    signals = ChestSignals(track, breathing_for(track, 12.0), seed=2)
    t = np.arange(0.0, 16.0 - cut_s, 1 / 130.0)
    chunk = SignalChunk("ecg", 0.0, 130.0, signals.ecg_uv(t).reshape(-1, 1), "uV")
    beats = rr_from_ecg_chunks([chunk])
    truth = np.asarray(track.r_times_s)
    np.testing.assert_allclose(beats.r_times_s, truth[truth < t[-1]], atol=0.003)


def test_method_and_every_keyword_argument_recorded() -> None:
    rr = np.full(40, 800.0)
    track = BeatTrack(FileRRSource(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)))
    chunks = _chunks(track, seed=2, duration_s=20.0, rate_hz=130.0, t0_s=0.0)
    beats = rr_from_ecg_chunks(chunks)
    fs = beats.kwargs["sampling_rate"]
    assert fs == pytest.approx(130.0, abs=1e-9)
    assert beats.kwargs == {"sampling_rate": fs, "method": "neurokit",
                            "correct_artifacts": False}
    assert beats.clean_kwargs == {"sampling_rate": fs, "method": "neurokit"}
    assert beats.provenance() == {
        "rr_source": "ecg", "detector": "neurokit2.ecg_peaks", "method": "neurokit",
        "kwargs": beats.kwargs, "clean": "neurokit2.ecg_clean",
        "clean_kwargs": beats.clean_kwargs, "neurokit2": nk.__version__,
        "refinement": REFINEMENT,
        "edge_rule": "peaks within 0.3 s of a run's end under 0.5 x the median R height "
                     "dropped",
    }
    assert beats.neurokit_version == nk.__version__ == "0.2.13"
    other = rr_from_ecg_chunks(chunks, method="pantompkins1985")
    assert other.kwargs["method"] == other.clean_kwargs["method"] == "pantompkins1985"
    assert other.provenance()["method"] == "pantompkins1985"
    assert abs(float(np.median(other.rr_ms)) - 800.0) < 2.0


def test_short_runs_and_empty_streams_give_no_beats() -> None:
    empty = rr_from_ecg_chunks([])
    assert empty.n_beats == 0 and empty.runs == [] and empty.neurokit_version == ""
    chunk = SignalChunk("ecg", 0.0, 130.0, np.zeros((FRAME * 3, 1), dtype=np.int32), "uV")
    short = rr_from_ecg_chunks([chunk])
    assert short.n_beats == 0 and len(short.runs) == 1


def test_bad_chunks_are_refused_with_their_position_and_field() -> None:
    good = SignalChunk("ecg", 0.0, 130.0, np.zeros((FRAME, 1), dtype=np.int32), "uV")
    acc = SignalChunk("acc", 0.0, 50.0, np.zeros((10, 3), dtype=np.int32), "mG")
    with pytest.raises(ValueError, match="chunk 1: stream is 'acc', not 'ecg'"):
        rr_from_ecg_chunks([good, acc])
    stopped = SignalChunk("ecg", 0.0, 0.0, np.zeros((FRAME, 1), dtype=np.int32), "uV",
                          first_index=FRAME)
    with pytest.raises(ValueError, match="chunk 1: rate_hz must be positive"):
        rr_from_ecg_chunks([good, stopped])
    back = SignalChunk("ecg", 0.5, 130.0, np.zeros((FRAME, 1), dtype=np.int32), "uV",
                       first_index=10)
    with pytest.raises(ValueError, match="chunk 1: first_index 10 goes back"):
        rr_from_ecg_chunks([good, back])
