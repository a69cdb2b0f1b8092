"""Plain data types that flow through the beat pipeline.

Times are seconds since the session start on the session clock; intervals are milliseconds.
Nothing here imports Qt or any I/O library, so every layer (sensors, protocols, store, UI)
can share them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from biofeedback.core.signals import SignalChunk


class ArtifactClass(enum.StrEnum):
    """Class of one beat, after Lipponen & Tarvainen (2019), J Med Eng Technol 43(3):173-181."""

    NORMAL = "normal"
    ECTOPIC = "ectopic"
    MISSED = "missed"
    EXTRA = "extra"
    LONG_SHORT = "long_short"


class GapReason(enum.StrEnum):
    """Why beats are missing between two points in time."""

    CLOCK_DRIFT = "clock_drift"
    """The receive clock ran ahead of cumulative RR: notifications were lost."""
    LINK_LOSS = "link_loss"
    """The connection to the strap dropped."""
    NO_DATA = "no_data"
    """The link looked up but no notification came (a silent "zombie" link): the source
    dropped it and reconnected."""
    NO_CONTACT = "no_contact"
    """The strap reported no skin contact."""
    SOURCE = "source"
    """The source itself recorded a gap (a stored gap being replayed, an imported break)."""
    PAUSE = "pause"
    """The user paused the recording."""


class MarkerKind(enum.StrEnum):
    """What produced a marker."""

    USER = "user"
    CONNECTION = "connection"
    PROTOCOL = "protocol"
    STRESSOR = "stressor"
    SELF_REPORT = "self_report"
    EXTERNAL = "external"
    """Received from another program, e.g. through Lab Streaming Layer."""
    AUDIO = "audio"
    """An audio cue (chime, speech, recorded guidance): its scheduled and actual onsets."""


PARTICIPANT_SCREEN_OPENED = "participant screen opened"
"""Label of the ``protocol`` marker the window records when a participant screen shows a
session (at its start, or when opened during it; extra: ``display``, numbered from 1)."""
PARTICIPANT_SCREEN_CLOSED = "participant screen closed"
"""Label of the ``protocol`` marker recorded when it is closed before the session ends."""


class SourceState(enum.StrEnum):
    """Life cycle of a heart-rate source, as the user should read it."""

    IDLE = "idle"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    PAUSED = "paused"
    RECONNECTING = "reconnecting"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Beat:
    """One RR interval as delivered by a source.

    Attributes
    ----------
    rr_ms : float
        Raw RR interval in ms, exactly as the sensor reported it (never corrected in place).
    time_s : float
        Time of the beat that ends this interval, in s since session start, rebuilt from the
        cumulative sum of RR and anchored to the host receive clock (docs/domain.md section 1).
    received_s : float
        Session-clock time at which the host received the notification that carried it, s.
    sensor_contact : bool or None
        Skin contact reported with the notification; None when the sensor does not report it.
    seq : int
        Sequence number of the beat within the session (0, 1, ...), assigned once by the
        live session as the beat enters the pipeline; -1 until then (as a source yields it).
    """

    rr_ms: float
    time_s: float
    received_s: float
    sensor_contact: bool | None = None
    seq: int = -1


@dataclass(frozen=True, slots=True)
class BeatBatch:
    """The beats of one notification (0..n RR intervals), delivered together.

    Attributes
    ----------
    received_s : float
        Session-clock receive time of the notification, s.
    beats : tuple of Beat
        The RR intervals it carried, oldest first; may be empty.
    heart_rate_bpm : float or None
        Heart rate the sensor itself reported, bpm, when it reports one.
    """

    received_s: float
    beats: tuple[Beat, ...]
    heart_rate_bpm: float | None = None


@dataclass(frozen=True, slots=True)
class NotificationRun:
    """Consecutive notifications a source hands over at once, as plain values.

    A source running faster than real time (a replay at maximum speed) puts one run in its
    queue instead of one :class:`BeatBatch` per notification, so the hand-off, the event
    objects and the per-notification work of the pipeline are shared by the run. Iterating
    a source yields its notifications one by one as usual (:meth:`batches`); the live
    session takes the run whole (``HeartRateSource.batched``).

    Attributes
    ----------
    received_s : sequence of float
        Session-clock receive time of each notification, s.
    ends : sequence of int
        End (exclusive) of each notification's beats in the per-beat sequences: notification
        ``k`` carried beats ``ends[k-1]`` (0 for the first) to ``ends[k]``.
    rr_ms : sequence of float
        Raw RR interval of each beat, ms.
    time_s : sequence of float
        Time of each beat, s (as :attr:`Beat.time_s`).
    sensor_contact : sequence of bool or None, or None
        Skin contact of each beat; None when the sensor does not report it.
    """

    received_s: Sequence[float]
    ends: Sequence[int]
    rr_ms: Sequence[float]
    time_s: Sequence[float]
    sensor_contact: Sequence[bool | None] | None = None

    @property
    def n_notifications(self) -> int:
        """Number of notifications in the run."""
        return len(self.received_s)

    def head(self, n: int) -> NotificationRun:
        """The run's first ``n`` notifications."""
        if n >= len(self.received_s):
            return self
        end = self.ends[n - 1] if n > 0 else 0
        contact = self.sensor_contact
        return NotificationRun(self.received_s[:n], self.ends[:n], self.rr_ms[:end],
                               self.time_s[:end], None if contact is None else contact[:end])

    def batches(self, first_seq: int | None = None) -> tuple[BeatBatch, ...]:
        """The notifications as :class:`BeatBatch` values, as the source would have yielded
        them one by one.

        Parameters
        ----------
        first_seq : int, optional
            Sequence number of the run's first beat (the session numbers beats); the beats
            are unnumbered (``seq=-1``) without it.
        """
        return self.beats(first_seq)[1]

    def beats(self, first_seq: int | None = None) -> tuple[tuple[Beat, ...], tuple[BeatBatch, ...]]:
        """All the run's beats and its notifications (sharing those :class:`Beat` values).

        Parameters
        ----------
        first_seq : int, optional
            As for :meth:`batches`.
        """
        rr, t, contact = self.rr_ms, self.time_s, self.sensor_contact
        received = self.received_s
        ends = self.ends
        beats: list[Beat] = []
        start = 0
        for k, end in enumerate(ends):
            at = received[k]
            if first_seq is None:
                beats.extend(Beat(rr[i], t[i], at, contact[i] if contact is not None else None)
                             for i in range(start, end))
            else:
                beats.extend(Beat(rr[i], t[i], at, contact[i] if contact is not None else None,
                                  first_seq + i) for i in range(start, end))
            start = end
        flat = tuple(beats)
        out = []
        start = 0
        for at, end in zip(received, ends, strict=True):
            out.append(BeatBatch(at, flat[start:end]))
            start = end
        return flat, tuple(out)


@dataclass(frozen=True, slots=True)
class Gap:
    """A span in which beats are missing; no index is ever computed across it.

    Attributes
    ----------
    start_s, end_s : float
        Session-clock bounds of the missing span, s.
    reason : GapReason
        Why the beats are missing.
    """

    start_s: float
    end_s: float
    reason: GapReason

    @property
    def duration_s(self) -> float:
        """Length of the gap, s."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Marker:
    """An annotation in the MNE-Python style: onset, duration and description.

    Attributes
    ----------
    onset_s : float
        Session-clock onset, s.
    duration_s : float
        Duration, s (0 for an instant).
    label : str
        Free-text description (``"disconnected"``, ``"itchy nose"``, ``"answer 1009 correct"``).
    kind : MarkerKind
        What produced it.
    extra : dict
        Structured detail (answer, latency ms, ...), stored as JSON.
    """

    onset_s: float
    duration_s: float
    label: str
    kind: MarkerKind = MarkerKind.USER
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """One phase of a protocol as it actually ran.

    Attributes
    ----------
    phase_id : str
        Identifier of the phase in its protocol (``"baseline"``).
    name : str
        Human-readable name.
    kind : str
        ``baseline``, ``stressor``, ``practice``, ``recovery``, ``rest`` or ``self_report``.
    start_s, end_s : float
        Session-clock bounds, s.
    practice : str or None
        Practice the phase belongs to, if any.
    category : str or None
        Category of that practice (``self_soothing``, ``attention``, ...).
    feedback : str or None
        ``"shown"`` or ``"hidden"``: whether the participant saw their physiology (None for
        sessions recorded before this was stored, and for imported recordings).
    """

    phase_id: str
    name: str
    kind: str
    start_s: float
    end_s: float
    practice: str | None = None
    category: str | None = None
    feedback: str | None = None

    @property
    def duration_s(self) -> float:
        """Length of the phase, s."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A change of source state, or a sentence about it, the user should be able to read.

    Facts a program acts on travel as their own events (:class:`Connected`,
    :class:`Reconnecting`, :class:`Seeked`); this one carries what the user reads.

    Attributes
    ----------
    state : SourceState
        The new state.
    message : str
        Plain-language explanation (``"Strap out of range; reconnecting (attempt 3)"``).
    at_s : float
        Session-clock time of the change, s.
    """

    state: SourceState
    message: str
    at_s: float = 0.0


ECG_WAIT_NOTE = "the ECG can take about 30 s to begin"
"""What a source adds, in parentheses, to its :class:`StatusChange` sentence that it started
the ECG (a Polar H10 often sends its first ECG about 30 s after START); a status line drops
it once ECG came."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The source (re)connected to its device and streams from it.

    Emitted before the :class:`StatusChange` to ``streaming`` that tells the user.

    Attributes
    ----------
    at_s : float
        Session-clock time of the connection, s.
    device_info : dict
        What the device reports of itself (model, firmware, serial, body location, battery
        %), as the source's ``device_info``; stored with the session.
    address : str or None
        Bluetooth address the device can be reached at again (None: not a Bluetooth device,
        e.g. the simulated strap).
    name : str or None
        Name the device advertises, when it does.
    """

    at_s: float
    device_info: dict[str, Any] = field(default_factory=dict)
    address: str | None = None
    name: str | None = None

    @property
    def battery_pct(self) -> int | None:
        """Battery level the device reported, %, when it did."""
        battery = self.device_info.get("battery")
        return battery if isinstance(battery, int) and not isinstance(battery, bool) else None


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The link to the device was lost and the source tries to connect again.

    Attributes
    ----------
    at_s : float
        Session-clock time, s.
    attempt : int
        0 when the link was just lost, then the number of the attempt that last failed
        (one event per new kind of failure, not per attempt).
    """

    at_s: float
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Seeked:
    """A replay jumped: what follows starts at ``t_s`` and no index spans the jump.

    Attributes
    ----------
    t_s : float
        Session-clock time played from now on, s.
    """

    t_s: float


SourceEvent = (
    BeatBatch | Gap | Marker | StatusChange | Connected | Reconnecting | Seeked | SignalChunk
)
"""Everything a heart-rate source can yield (a :class:`~biofeedback.core.signals.SignalChunk`:
raw ECG or accelerometer samples, from a strap that streams them)."""
