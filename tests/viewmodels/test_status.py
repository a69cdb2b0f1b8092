"""What the window's title and closing sentence say (Qt-free wording of viewmodels.status)."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import ECG_WAIT_NOTE, ArtifactClass, SourceState, StatusChange
from biofeedback.session.live_session import SessionStats
from biofeedback.viewmodels.status import SessionStatus, finished_message, window_title


def test_window_title_names_what_runs_and_from_where():
    assert window_title("sim", None) == "biofeedback — free practice (simulated strap)"
    assert window_title("ble", "Resonance") == "biofeedback — Resonance (Bluetooth strap)"
    assert window_title("replay", "Stroop") == "biofeedback — Stroop (replay)"
    with pytest.raises(KeyError):
        window_title("lsl", None)


def test_finished_message_counts_beats_artifacts_gaps_and_says_where_it_was_saved():
    stats = SessionStats(n_beats=200, n_gaps=2)
    stats.artifacts = {ArtifactClass.NORMAL: 197, ArtifactClass.ECTOPIC: 3}
    assert finished_message(stats, 7) == (
        "Session finished: 200 beats, 1.5 % artifacts, 2 gaps; saved as session 7."
    )
    assert finished_message(SessionStats(), None) == (
        "Session finished: 0 beats, 0.0 % artifacts, 0 gaps."
    )


def _chunk(stream: str) -> SignalChunk:
    channels = 1 if stream == "ecg" else 3
    unit = "uV" if stream == "ecg" else "mG"
    return SignalChunk(stream, 40.0, 130.0, np.zeros((73, channels), np.int32), unit)


STARTED = "Raw ECG (130 Hz) and accelerometer (50 Hz) started"


def test_the_note_that_the_ecg_may_take_30_s_goes_when_the_first_ecg_arrives():
    status = SessionStatus()
    assert status.on_event(StatusChange(SourceState.STREAMING, f"{STARTED} ({ECG_WAIT_NOTE})"))
    assert status.text().startswith(
        "Streaming: Raw ECG (130 Hz) and accelerometer (50 Hz) started (the ECG can take "
        "about 30 s to begin) · "
    )
    assert not status.on_event(_chunk("acc"))  # the accelerometer starts at once: not it
    assert ECG_WAIT_NOTE in status.text()
    assert status.on_event(_chunk("ecg"))
    assert status.message == STARTED
    assert status.text().startswith(f"Streaming: {STARTED} · ")
    assert not status.on_event(_chunk("ecg"))  # nothing more to change: no redraw asked
    # Said again after the ECG came (a second source sentence, a reconnection): not kept.
    status.on_event(StatusChange(SourceState.STREAMING, f"{STARTED} ({ECG_WAIT_NOTE})"))
    assert status.message == STARTED
    # Another sentence is left as it is.
    status.on_event(StatusChange(SourceState.STREAMING, "Strap back; ECG (130 Hz) resumed"))
    assert status.message == "Strap back; ECG (130 Hz) resumed"


def test_the_first_ecg_leaves_a_status_without_the_note_alone():
    status = SessionStatus()
    status.on_event(StatusChange(SourceState.STREAMING, "Connected to Polar H10 A1B2C3D4"))
    assert not status.on_event(_chunk("ecg"))
    assert status.message == "Connected to Polar H10 A1B2C3D4"
    assert status.ecg_arrived
