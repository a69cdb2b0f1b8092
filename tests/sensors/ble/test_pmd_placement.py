"""A PMD stream's chunks on the session clock: continuous and monotonic while the device-clock
fit warms up (no overlap, no seam wider than a sample), corrected toward the fit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from biofeedback.core.signals import SignalChunk
from sensors.ble.pmd import ChunkPlacer, PmdDataDecoder, build_acc_frame, build_ecg_frame

TS = 599_616_000_000_000_000 + 10**12
START_S = 5.0


def test_a_stream_starts_at_the_fit_and_then_follows_itself_slowly_corrected() -> None:
    placer = ChunkPlacer()
    assert placer.place(10.0, 73, 130.0) == 10.0
    assert placer.next_s == pytest.approx(10.0 + 73 / 130)
    # the fit moved 40 ms earlier: half the difference, but at most half a sample
    t1 = placer.place(10.0 + 73 / 130 - 0.040, 73, 130.0)
    assert t1 == pytest.approx(10.0 + 73 / 130 - 0.5 / 130)
    # a small difference: half of it per chunk
    follows = placer.next_s
    assert follows is not None
    assert placer.place(follows + 0.002, 73, 130.0) == pytest.approx(follows + 0.001)


def test_after_lost_frames_the_fit_places_the_chunk_but_never_earlier() -> None:
    placer = ChunkPlacer()
    placer.place(10.0, 73, 130.0)
    assert placer.place(12.0, 73, 130.0, after_gap=True) == 12.0
    follows = placer.next_s
    assert follows is not None
    assert placer.place(follows - 0.3, 73, 130.0, after_gap=True) == follows


def test_clocks_apart_by_more_than_any_link_delay_restart_from_the_fit() -> None:
    placer = ChunkPlacer()
    placer.place(10.0, 73, 130.0)
    assert placer.place(7.0, 73, 130.0) == 7.0  # 3.6 s behind: a sped-up or reset clock


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"gain": 0.0}, "gain must be within"),
    ({"max_step_samples": 1.0}, "max_step_samples must be within"),
    ({"resync_s": 0.0}, "resync_s must be positive"),
])
def test_bad_placer_settings_are_named(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChunkPlacer(**kwargs)


def _warm_up_frames(seed: int, first_delay_s: float, seconds: float = 120.0
                    ) -> list[tuple[float, bytes, str, np.ndarray]]:
    """ECG (130 Hz x 0.985, 73 a frame) and ACC (50 Hz x 0.985, 36 a frame) on one device
    clock 100 ppm fast: (arrival s, frame, stream, true session times), in arrival order; each
    arrives 0-80 ms after its last sample, the very first one (ECG) ``first_delay_s`` late."""
    rng = np.random.default_rng(seed)
    sent = []
    for stream, rate, per in (("ecg", 130 * 0.985, 73), ("acc", 50 * 0.985, 36)):
        for j in range(int(seconds * rate / per)):
            k = np.arange(per * j, per * (j + 1))
            device_s = k / rate
            truth = START_S + device_s / (1 + 1e-4)
            ts = TS + round(device_s[-1] * 1e9)
            data = (build_ecg_frame(ts, (k % 50).tolist()) if stream == "ecg" else
                    build_acc_frame(ts, [(int(v), 0, 1000) for v in k % 50]))
            sent.append((float(truth[-1]), data, stream, truth))
    sent.sort(key=lambda f: f[0])
    out, arrival = [], -np.inf
    for i, (t_last, data, stream, truth) in enumerate(sent):
        delay = first_delay_s if i == 0 else float(rng.uniform(0.0, 0.08))
        arrival = max(arrival, t_last + delay)  # a link delivers in order
        out.append((arrival, data, stream, truth))
    return out


@pytest.mark.parametrize(("seed", "first_delay_s"), [(1, 0.08), (2, 0.4), (3, 0.0)])
def test_chunks_of_a_stream_never_overlap_nor_leave_a_gap_while_the_fit_warms_up(
    seed: int, first_delay_s: float
) -> None:
    decoder = PmdDataDecoder({"ecg": 130.0, "acc": 50.0})
    got: dict[str, list[tuple[SignalChunk, np.ndarray]]] = {"ecg": [], "acc": []}
    for arrival, data, stream, truth in _warm_up_frames(seed, first_delay_s):
        got[stream].append((decoder.feed(data, arrival), truth))
    for stream, pairs in got.items():
        chunks = [c for c, _ in pairs]
        times = np.concatenate([c.times_s() for c in chunks])
        assert (np.diff(times) > 0).all(), stream  # never backwards, no overlap
        for before, after in itertools.pairwise(chunks):
            seam = (after.t0_s - before.times_s()[-1]) * after.rate_hz
            assert 0.0 < seam <= 2.0, stream  # no gap wider than one sample
        # and the times come to the truth: within 5 ms once the first frame's delay is worked
        # off (half a sample per 73-sample ECG frame: 6.8 ms a second) and the fit is warm
        truth = np.concatenate([t for _, t in pairs])
        error = np.abs(times - truth)
        if stream == "ecg":  # the very first frame (its samples spread at the nominal rate)
            assert error[0] == pytest.approx(first_delay_s, abs=0.01)
        caught_up_s = first_delay_s / (0.5 / 73) + 10.0
        assert error[truth - START_S > caught_up_s].max() < 5e-3, stream
        assert error[truth - START_S > 60].max() < 2.5e-3, stream
