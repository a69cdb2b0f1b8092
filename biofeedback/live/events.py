"""What a live session publishes to its subscribers: plain values, no way back to it.

Defined below the session (in the pipeline's own layer) so that subscribers such as the Lab
Streaming Layer outlets and the window's view-models depend on the events, not on the
session that produces them.
"""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import (
    BeatBatch,
    Connected,
    Gap,
    Marker,
    Reconnecting,
    Seeked,
    StatusChange,
)
from biofeedback.live.artifacts import ClassifiedBeat
from biofeedback.live.indices import LiveIndices
from biofeedback.live.nk_worker import NeuroKitResult
from biofeedback.live.signal_check import SignalCheckUpdate

__all__ = ["BeatsProcessed", "NeuroKitUpdate", "SessionEvent", "SignalCheckUpdate"]


@dataclass(frozen=True, slots=True)
class BeatsProcessed:
    """A notification went through the pipeline (and, when recording, into the store).

    A value: it holds everything a subscriber needs, as it was when it was published, and
    no reference back to the session (a list of them can be replayed into a model later).

    Attributes
    ----------
    batch : BeatBatch
        The notification as the source delivered it (raw RR), its beats numbered
        (``Beat.seq``).
    classified : tuple of ClassifiedBeat
        Beats (of this or earlier notifications) whose artifact class became final.
    indices : LiveIndices
        The live indices computed with these beats.
    notifications : tuple of BeatBatch
        When the event stands for several notifications (a replay at maximum speed hands
        them over in runs, and the session publishes once per run): each of them, numbered;
        ``batch`` then holds all their beats, with the last one's ``received_s``. Empty for
        a single notification (``batch`` is it).
    """

    batch: BeatBatch
    classified: tuple[ClassifiedBeat, ...]
    indices: LiveIndices
    notifications: tuple[BeatBatch, ...] = ()


@dataclass(frozen=True, slots=True)
class NeuroKitUpdate:
    """A new neurokit2 result on the rolling window."""

    result: NeuroKitResult


SessionEvent = (
    BeatsProcessed | Gap | Marker | StatusChange | Connected | Reconnecting | Seeked
    | NeuroKitUpdate | SignalChunk | SignalCheckUpdate
)
"""What subscribers of a :class:`~biofeedback.session.live_session.LiveSession` receive."""
