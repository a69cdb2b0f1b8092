"""The checks every reader's result passes, whatever the format (used by the reader tests)."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np

from biofeedback.io.importers import FORMATS
from biofeedback.io.readers.base import RR_SOURCES, ImportedRecording


def check_recording(imported: ImportedRecording, name: str) -> None:
    """The checks every reader's result passes, whatever the format."""
    rec = imported.recording
    assert imported.format in FORMATS
    assert imported.original_name == name
    assert imported.files[0] == name
    assert imported.rr_source in RR_SOURCES
    assert rec.source == "import"
    assert rec.rr_ms.dtype == np.float64 and rec.time_s.dtype == np.float64
    assert rec.rr_ms.shape == rec.time_s.shape
    assert np.all(np.isfinite(rec.rr_ms)) and np.all(rec.rr_ms > 0)
    # Beat times never go backwards; each beat is at least its interval after the previous.
    steps = np.diff(rec.time_s) * 1000.0
    # Slack for rounding: times are float sums, whose resolution shrinks as they grow.
    slack = 1e-6 + 1e-9 * rec.rr_ms[1:] + 1e3 * 4 * np.finfo(float).eps * np.abs(
        rec.time_s[1:])
    assert np.all(steps >= rec.rr_ms[1:] - slack)
    # Where the file's clock shows no gap, beat times are the running sum of the intervals.
    inside = np.ones(steps.size, dtype=bool)
    for gap in rec.gaps:
        assert gap.end_s > gap.start_s
        inside &= ~((rec.time_s[1:] > gap.start_s) & (rec.time_s[:-1] < gap.end_s + 1e-9))
    assert np.all(np.abs(steps - rec.rr_ms[1:])[inside] <= slack[inside])
    for a, b in zip(rec.gaps, rec.gaps[1:], strict=False):
        assert b.start_s >= a.end_s
    assert imported.start_time is None or isinstance(imported.start_time, datetime)
    for marker in rec.markers:
        assert np.isfinite(marker.onset_s) and marker.duration_s >= 0
    for channel in imported.channels:
        assert channel.samples.ndim == 2 and channel.samples.shape[1] == len(channel.columns)
        assert channel.sampling_rate_hz > 0
    json.dumps(imported.settings())  # everything stored with the session is JSON
