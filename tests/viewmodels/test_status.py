"""What the window's title and closing sentence say (Qt-free wording of viewmodels.status)."""

from __future__ import annotations

import pytest

from biofeedback.core.types import ArtifactClass
from biofeedback.session.live_session import SessionStats
from biofeedback.viewmodels.status import finished_message, window_title


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
