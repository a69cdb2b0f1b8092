"""Classifying a whole imported recording with the live detector."""

from __future__ import annotations

import numpy as np

from biofeedback.core.recording import Recording
from biofeedback.core.types import ArtifactClass, Gap, GapReason
from biofeedback.live.artifacts import ArtifactSettings, StreamingArtifactDetector
from biofeedback.live.offline import classify_recording


def series(rr: list[float], gaps: list[Gap] | None = None) -> Recording:
    values = np.array(rr, dtype=np.float64)
    return Recording(rr_ms=values, time_s=np.cumsum(values) / 1000.0, gaps=gaps or [])


def sinus(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.round(800.0 + 30.0 * np.sin(np.arange(n) / 3.0) + rng.normal(0, 5, n)))


def test_implausible_intervals_are_kept_and_classed_as_artifacts():
    rr = sinus(80, 1)
    rr[30] = 4189.0
    rr[60] = 150.0
    out = classify_recording(series(rr))
    assert [b.seq for b in out] == list(range(80))
    assert [b.rr_ms for b in out] == rr  # raw values unchanged
    by_seq = {b.seq: b for b in out}
    # 4189 ms is about five beats: split into five equal parts
    assert by_seq[30].artifact is ArtifactClass.MISSED
    assert by_seq[30].corrected_ms == (837.8,) * 5
    # 150 ms is impossible and explained by no rule: replaced by the local median
    assert by_seq[60].artifact is ArtifactClass.LONG_SHORT
    assert 760.0 < by_seq[60].corrected_ms[0] < 840.0
    others = [b for b in out if b.seq not in (30, 60)]
    assert sum(b.artifact is ArtifactClass.NORMAL for b in others) >= 74


def test_the_detector_restarts_at_each_gap():
    first, second = sinus(40, 2), sinus(30, 3)
    rec = series(first + second)
    rec.gaps = [Gap(float(rec.time_s[39]), float(rec.time_s[40]) - 0.8, GapReason.LINK_LOSS)]
    assert rec.segment_ids().tolist() == [0] * 40 + [1] * 30
    out = classify_recording(rec)
    # the second segment is classed exactly as a fresh detector classes it on its own
    fresh = StreamingArtifactDetector()
    alone = []
    for k, (rr, t) in enumerate(zip(second, rec.time_s[40:], strict=True)):
        alone += fresh.push(40 + k, rr, float(t))
    alone += fresh.flush()
    assert out[40:] == alone
    assert len(out) == 70


def test_settings_are_used_and_an_empty_recording_gives_nothing():
    rr = [800.0] * 30
    rr[20] = 2900.0
    assert classify_recording(series(rr))[20].artifact is not ArtifactClass.NORMAL
    lenient = ArtifactSettings(max_rr_ms=5000.0, alpha=1e6, min_threshold_frac=10.0,
                               warmup_th1_frac=10.0, warmup_th2_frac=10.0)
    assert classify_recording(series(rr), lenient)[20].artifact is ArtifactClass.NORMAL
    assert classify_recording(series([])) == []
