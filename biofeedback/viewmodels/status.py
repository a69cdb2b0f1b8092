"""What the window's status line and title say: connection, battery, contact, artifacts,
gaps; what runs; how a session ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from biofeedback.core.types import (
    ECG_WAIT_NOTE,
    Connected,
    Gap,
    Reconnecting,
    SourceState,
    StatusChange,
)

if TYPE_CHECKING:
    from biofeedback.live.events import SessionEvent
    from biofeedback.session.live_session import SessionStats

__all__ = ["SessionStatus", "finished_message", "window_title"]

_SOURCE_WORDS = {"sim": "simulated strap", "ble": "Bluetooth strap", "replay": "replay"}

_STATE_WORDS = {
    SourceState.IDLE: "Not started",
    SourceState.CONNECTING: "Connecting",
    SourceState.STREAMING: "Streaming",
    SourceState.RECONNECTING: "Reconnecting",
    SourceState.FINISHED: "Finished",
    SourceState.FAILED: "Stopped with an error",
}


@dataclass
class SessionStatus:
    """Running state of a session as the status line shows it (updated from session events).

    Attributes
    ----------
    state : SourceState
        Source state.
    message : str
        The source's latest sentence (``"Strap out of range; reconnecting (attempt 3)"``).
    battery_pct : int or None
        Strap battery, %, when it reports one.
    sensor_contact : bool or None
        Skin contact of the last notification (None: the strap does not report it).
    artifact_pct : float or None
        Artifacts among the beats classified in the last 60 s, %.
    n_beats : int
        Beats received.
    n_gaps : int
        Gaps (link losses, dropped notifications, seeks).
    gap_s : float
        Total time in gaps, s.
    time_s : float
        Session time of the last event, s.
    ecg_arrived : bool
        The session sent ECG: the source's note that the ECG may take a while to begin
        (:data:`~biofeedback.core.types.ECG_WAIT_NOTE`) is dropped from :attr:`message`.
    """

    state: SourceState = SourceState.IDLE
    message: str = ""
    battery_pct: int | None = None
    sensor_contact: bool | None = None
    artifact_pct: float | None = None
    n_beats: int = 0
    n_gaps: int = 0
    gap_s: float = 0.0
    time_s: float = 0.0
    reconnections: int = field(default=0)
    ecg_arrived: bool = False

    def on_event(self, event: SessionEvent) -> bool:
        """Take a session event; True when something the line shows changed."""
        # Imported here: the window shows this line before the pipeline modules load.
        from biofeedback.core.signals import SignalChunk
        from biofeedback.live.events import BeatsProcessed

        if isinstance(event, SignalChunk):
            if event.stream != "ecg" or self.ecg_arrived:
                return False
            self.ecg_arrived = True
            before, self.message = self.message, _without_wait_note(self.message)
            return self.message != before
        if isinstance(event, BeatsProcessed):
            batch = event.batch
            self.time_s = max(self.time_s, batch.received_s)
            self.n_beats += len(batch.beats)
            if batch.beats:
                self.sensor_contact = batch.beats[-1].sensor_contact
            self.artifact_pct = event.indices.artifact_pct
            return True
        if isinstance(event, Gap):
            self.n_gaps += 1
            self.gap_s += event.duration_s
            return True
        if isinstance(event, StatusChange):
            self.state = event.state
            self.message = (
                _without_wait_note(event.message) if self.ecg_arrived else event.message
            )
            return True
        if isinstance(event, Connected):
            if event.battery_pct is not None:
                self.battery_pct = event.battery_pct
            return True
        if isinstance(event, Reconnecting) and event.attempt == 0:
            # the link was just lost (attempts > 0 are retries of the same reconnection)
            self.reconnections += 1
            return True
        return False

    def parts(self) -> list[str]:
        """The line's pieces, in order."""
        words = _STATE_WORDS.get(self.state, str(self.state))
        head = f"{words}: {self.message}" if self.message else words
        parts = [head]
        if self.battery_pct is not None:
            parts.append(f"battery {self.battery_pct} %")
        if self.sensor_contact is not None:
            parts.append("skin contact" if self.sensor_contact else "NO skin contact")
        if self.artifact_pct is not None:
            parts.append(f"artifacts {self.artifact_pct:.1f} % (60 s)")
        parts.append(f"{self.n_beats} beats")
        gaps = f"{self.n_gaps} gap{'s' if self.n_gaps != 1 else ''}"
        if self.n_gaps:
            gaps += f" ({self.gap_s:.0f} s)"
        parts.append(gaps)
        if self.reconnections:
            plural = "s" if self.reconnections > 1 else ""
            parts.append(f"{self.reconnections} reconnection{plural}")
        return parts

    def text(self) -> str:
        """The whole line."""
        return " · ".join(self.parts())


def _without_wait_note(message: str) -> str:
    """``message`` without the source's "(the ECG can take about 30 s to begin)"."""
    return message.replace(f" ({ECG_WAIT_NOTE})", "")


def window_title(source_kind: str, protocol_name: str | None) -> str:
    """The window's title while a session runs.

    Parameters
    ----------
    source_kind : str
        ``"sim"``, ``"ble"`` or ``"replay"`` (a request's ``source_kind``).
    protocol_name : str or None
        Name of the protocol that runs, None for free practice.

    Returns
    -------
    str
        E.g. ``"biofeedback — free practice (simulated strap)"``.
    """
    what = protocol_name if protocol_name is not None else "free practice"
    return f"biofeedback — {what} ({_SOURCE_WORDS[source_kind]})"


def finished_message(stats: SessionStats, session_id: int | None) -> str:
    """The sentence shown when a session ended normally.

    Parameters
    ----------
    stats : SessionStats
        The session's totals.
    session_id : int or None
        Its id in the store, None when it was not recorded.

    Returns
    -------
    str
        E.g. ``"Session finished: 120 beats, 1.5 % artifacts, 0 gaps; saved as session 3."``.
    """
    saved = f"; saved as session {session_id}" if session_id is not None else ""
    return (
        f"Session finished: {stats.n_beats} beats, {stats.artifact_pct:.1f} % artifacts, "
        f"{stats.n_gaps} gaps{saved}."
    )
