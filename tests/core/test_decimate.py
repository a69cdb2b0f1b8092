"""AppendDecimator: the kept buckets of a growing curve give decimate_min_max's points."""

from __future__ import annotations

import math

import numpy as np

from biofeedback.core.decimate import AppendDecimator, bucket_size, decimate_min_max


def _curve(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A tachogram-like curve with breaks: single NaNs, NaN pairs, a NaN at the end."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.6, 1.2, n))
    y = 800.0 + 60.0 * rng.standard_normal(n)
    y[rng.choice(n, n // 300, replace=False)] = np.nan
    y[[50, 51, 2001, 2002]] = np.nan  # two breaks in a row: a run of length 0
    y[rng.integers(0, n, 5)] = 1900.0  # ties of the maximum in one bucket
    return x, y


def _same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # NaN in the same places


def test_growing_curve_gives_the_same_points_as_decimating_it_whole():
    x, y = _curve(12_000, seed=5)
    decimator = AppendDecimator()
    rng = np.random.default_rng(1)
    end = 40
    zoom_levels = set()
    while end < x.size:
        # grows by a beat, a notification, or a burst (a replay catching up)
        end = min(x.size, end + int(rng.choice([1, 2, 3, 40, 700])))
        for max_points in (600, 1800):
            key = ("session", max_points)
            got = decimator.decimate(x[:end], y[:end], max_points, key) if max_points == 600 \
                else AppendDecimator().decimate(x[:end], y[:end], max_points, key)
            _same(got, decimate_min_max(x[:end], y[:end], max_points))
        zoom_levels.add(bucket_size(int(np.isfinite(y[:end]).sum()), 600))
    assert len(zoom_levels) >= 8  # the bucket size changed many times on the way (its ladder)


def test_a_curve_ending_in_breaks_continues_with_a_new_run():
    x, y = _curve(3000, seed=8)
    y[1500:1503] = np.nan
    decimator = AppendDecimator()
    for end in (1501, 1502, 1503, 1504, 1600, 3000):
        _same(decimator.decimate(x[:end], y[:end], 200, 0), decimate_min_max(x[:end], y[:end], 200))


def test_a_new_key_or_reset_starts_over():
    x, y = _curve(5000, seed=2)
    decimator = AppendDecimator()
    decimator.decimate(x[:4000], y[:4000], 300, 1)
    changed = y.copy()
    changed[100:3000] += 5.0  # rows before the end changed: the caller gives a new key
    _same(decimator.decimate(x, changed, 300, 2), decimate_min_max(x, changed, 300))
    decimator.reset()
    _same(decimator.decimate(x, y, 300, 2), decimate_min_max(x, y, 300))
    # a shorter curve under the same key (the caller broke its promise) is still right
    _same(decimator.decimate(x[:10], y[:10], 300, 2), decimate_min_max(x[:10], y[:10], 300))
    empty = np.full(4, np.nan)
    assert decimator.decimate(x[:4], empty, 300, 2)[0].size == 0


def test_the_bucket_size_is_on_its_ladder_and_holds_while_a_curve_grows_by_a_third():
    ladder = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    sizes = [bucket_size(n, 1120) for n in range(1, 140_000, 7)]
    assert sorted(set(sizes)) == ladder[: len(set(sizes))]
    assert sizes == sorted(sizes)
    for n in (1, 559, 560, 561, 1121, 5_000, 93_925):
        k = bucket_size(n, 1120)
        # at most half max_points buckets, and no fewer than a third of max_points
        assert math.ceil(n / k) <= 560
        assert k <= 2 or math.ceil(n / k) > 560 * 2 / 3 - 1
    # a day-long session (93,925 beats, 24 h) keeps its zoom level for hours of beats
    k = bucket_size(93_925, 1120)
    assert k == 192 and bucket_size(int(93_925 * 1.14), 1120) == 192
    assert bucket_size(560, 1120) == 1 and bucket_size(561, 1120) == 2
    assert bucket_size(1680, 1120) == 3 and bucket_size(1681, 1120) == 4
    assert bucket_size(2241, 1120) == 6  # 5 needed: the next step of the ladder
