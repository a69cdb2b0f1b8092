"""Storing one recording already read: classes, settings, start time, channels, atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import StoreError
from biofeedback.core.types import Marker
from biofeedback.importing import ImportedItem, started_utc, store_imported
from biofeedback.io.readers.base import ImportedRecording
from biofeedback.io.readers.timeline import make_recording
from biofeedback.live.artifacts import ArtifactSettings


def imported(rr: list[float], **extra) -> ImportedRecording:
    rec = make_recording(Path("rr.txt"), "plain", rr, markers=[Marker(3.0, 0.0, "start")])
    return ImportedRecording(recording=rec, format="plain", original_name="rr.txt",
                             files=["rr.txt", "rr_ACC.txt"], **extra)


def sinus(n: int) -> list[float]:
    return [float(round(800 + 30 * np.sin(k / 3.0))) for k in range(n)]


def test_started_utc_converts_aware_times_and_keeps_local_ones():
    cest = timezone(timedelta(hours=2))
    assert started_utc(datetime(2021, 3, 12, 12, 15, 30, tzinfo=cest)) == \
        "2021-03-12T10:15:30+00:00"
    assert started_utc(datetime(2021, 3, 12, 10, 15, 30, 250000, tzinfo=UTC)) == \
        "2021-03-12T10:15:30.250000+00:00"
    assert started_utc(datetime(2021, 3, 12, 10, 15, 30)) == "2021-03-12T10:15:30"
    assert started_utc(None) is None


def test_a_recording_is_stored_with_classes_settings_start_and_channels(store):
    rr = sinus(60)
    rr[20] = 4189.0
    rr[40] = 150.0
    acc = RawChannel("ACC", "acc", "mg", 50.0, 0.0, ("x", "y", "z"),
                     np.arange(300.0).reshape(100, 3), "rr_ACC.txt")
    item = store_imported(
        store, imported(rr, start_time=datetime(2021, 3, 12, 10, 15, 30), channels=[acc],
                        notes=["kept 1 flagged row"]),
        participant_id="P07", protocol_id="rfb", shown_as="study/rr.txt")
    assert isinstance(item, ImportedItem)
    assert item.to_dict() == {
        "file": "study/rr.txt", "files": ["study/rr.txt", "study/rr_ACC.txt"],
        "session_id": item.session_id, "format": "plain", "beats": 60, "markers": 1,
        "start_time": "2021-03-12T10:15:30", "rr_source": "rr", "channels": ["ACC"],
    }
    assert item.artifacts >= 2 and item.notes == ["kept 1 flagged row"]
    info = store.session_info(item.session_id)
    assert (info.source, info.status, info.participant_id, info.protocol_id) == (
        "import", "complete", "P07", "rfb")
    assert info.started_utc == "2021-03-12T10:15:30"
    assert info.settings["import_format"] == "plain"
    assert info.settings["companion_files"] == ["rr_ACC.txt"]
    assert info.settings["artifact_detector"]["max_rr_ms"] == 3000.0
    assert info.settings["import_notes"] == ["kept 1 flagged row"]
    assert "numpy" in info.versions
    rec = store.load_recording(item.session_id)
    # raw values stored as they are; the implausible ones classed as artifacts
    assert rec.rr_ms.tolist() == rr
    assert rec.artifact[20] != "normal" and rec.artifact[40] == "long_short"
    assert rec.artifact[10] == "normal" and rec.rr_corrected_ms[10] == rr[10]
    assert set(rec.artifact.tolist()) <= {"normal", "missed", "long_short", "extra", "ectopic"}
    assert rec.markers[0].label == "start"
    (back,) = store.load_channels(item.session_id)
    np.testing.assert_array_equal(back.samples, acc.samples)


def test_artifact_settings_are_applied(store):
    rr = sinus(40)
    rr[20] = 2900.0
    lenient = ArtifactSettings(alpha=1e6, min_threshold_frac=10.0, warmup_th1_frac=10.0,
                               warmup_th2_frac=10.0)
    item = store_imported(store, imported(rr), artifact_settings=lenient)
    assert item.artifacts == 0
    assert store.session_info(item.session_id).settings["artifact_detector"]["alpha"] == 1e6


def test_a_bad_participant_or_channel_stores_nothing(store):
    with pytest.raises(StoreError, match="participant"):
        store_imported(store, imported(sinus(30)), participant_id="Jane Doe")
    nan = RawChannel("ECG", "ecg", "uV", 130.0, 0.0, ("ecg",), np.full((5, 1), np.nan), "e")
    with pytest.raises(StoreError, match="not a finite number"):
        store_imported(store, imported(sinus(30), channels=[nan]))
    assert store.list_sessions() == []

