"""What the store hands out: session summaries, session metadata and beat classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class BeatClass(Protocol):
    """The detector's decision for one stored beat, as the store reads it.

    :class:`~biofeedback.live.artifacts.ClassifiedBeat` is one (the session hands those over
    as they are); :class:`BeatClassification` is a plain one.
    """

    @property
    def seq(self) -> int:
        """Beat sequence number within the session."""
        ...

    @property
    def artifact(self) -> str:
        """Artifact class (an :class:`~biofeedback.core.types.ArtifactClass` value)."""
        ...

    @property
    def corrected_ms(self) -> tuple[float, ...]:
        """Corrected intervals the raw beat stands for, ms (empty when removed)."""
        ...


@dataclass(frozen=True, slots=True)
class BeatClassification:
    """The detector's decision for one stored beat (a plain :class:`BeatClass`).

    Attributes
    ----------
    seq : int
        Beat sequence number within the session.
    artifact : str
        Artifact class (:class:`~biofeedback.core.types.ArtifactClass` value).
    corrected_ms : tuple of float
        Corrected intervals the raw beat stands for, ms (empty when removed).
    """

    seq: int
    artifact: str
    corrected_ms: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of the session list."""

    id: int
    participant_id: str | None
    source: str
    protocol_id: str | None
    status: str
    started_utc: str
    duration_s: float
    n_beats: int
    start_known: bool = True
    """False for an import whose file told no start time: ``started_utc`` is then when it was
    imported."""
    end_reason: str | None = None
    """Why an ``interrupted`` session ended (``"disk full"``...), when it is known."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "participant": self.participant_id,
            "source": self.source,
            "protocol": self.protocol_id,
            "status": self.status,
            "start": self.started_utc,
            "duration_s": round(self.duration_s, 3),
            "beats": self.n_beats,
            "start_known": self.start_known,
            "end_reason": self.end_reason,
        }


@dataclass(slots=True)
class SessionInfo:
    """Everything stored about a session except its beats."""

    id: int
    participant_id: str | None
    source: str
    status: str
    protocol_id: str | None
    started_utc: str
    ended_utc: str | None
    duration_s: float | None
    device_info: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    end_reason: str | None = None
    """Why an ``interrupted`` session ended, when it is known."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "participant": self.participant_id,
            "source": self.source,
            "status": self.status,
            "protocol": self.protocol_id,
            "start": self.started_utc,
            "end": self.ended_utc,
            "duration_s": self.duration_s,
            "device_info": self.device_info,
            "settings": self.settings,
            "versions": self.versions,
            "end_reason": self.end_reason,
        }
