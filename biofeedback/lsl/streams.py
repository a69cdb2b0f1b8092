"""Lab Streaming Layer outlets and a marker inlet for a :class:`LiveSession`.

Outlets (docs/domain.md section 7): RR (ms, one float channel, irregular rate, each sample
stamped at the beat time), HR (bpm), live lnRMSSD (60 s window) and markers (``Markers``,
one string channel). The session clock maps to the LSL clock by one offset per session,
taken when the source starts streaming (or the first time it is needed before that;
:func:`lsl_time_offset`)::

    lsl_time = session_time_s + offset        # offset = local_clock() - session time then

so beat ``time_s`` is stamped at ``local_clock()`` of the session start + ``time_s`` (a
Bluetooth strap's session clock starts when it streams, not while it is looked for).
The mapping is one to one: for a source faster than real time (a simulated strap at
``speed=20``) LSL stamps run ahead of the wall clock, and external markers land at
``lsl_time - offset`` on the session clock.

pylsl loads the liblsl C library, so it is imported only when a stream is opened.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import typing
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import Marker, MarkerKind, SourceState, StatusChange
from biofeedback.live.events import BeatsProcessed, SessionEvent

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from biofeedback.core.source import HeartRateSource

class PublishedSession(typing.Protocol):
    """What the LSL bridges need of a session (:class:`~biofeedback.session.live_session.
    LiveSession` is one), typed by shape so that this layer never imports the session."""

    source: HeartRateSource
    before_finish: list[Callable[[float], None]]

    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every session event; returns an unsubscribe function."""
        ...

    def add_marker(
        self,
        label: str,
        *,
        kind: MarkerKind = ...,
        duration_s: float = ...,
        onset_s: float | None = ...,
        extra: dict[str, Any] | None = ...,
    ) -> Marker:
        """Record a marker at ``onset_s`` on the session clock."""
        ...


_OFFSETS: weakref.WeakKeyDictionary[PublishedSession, float] = weakref.WeakKeyDictionary()

LSL_EXTRA_KEY = "lsl_stream"
"""Key of :attr:`Marker.extra` naming the LSL stream an external marker came from."""


class LslStreamNotFoundError(BiofeedbackError):
    """No Lab Streaming Layer stream of that name was found in time."""


def _pylsl() -> Any:
    import pylsl  # loads a C library: only when streams are used

    return pylsl


def lsl_time_offset(session: PublishedSession) -> float:
    """Offset from the session clock to the LSL clock, s (``lsl = session + offset``).

    Fixed the first time it is asked for a session (``pylsl.local_clock()`` minus the
    session time then), so every publisher and inlet of the session agree.

    Parameters
    ----------
    session : LiveSession
        The session.

    Returns
    -------
    float
        The offset, s.
    """
    offset = _OFFSETS.get(session)
    if offset is None:
        offset = _pylsl().local_clock() - session.source.session_time_s()
        _OFFSETS[session] = offset
    return offset


def _anchor_when_streaming(session: PublishedSession, event: SessionEvent) -> None:
    if isinstance(event, StatusChange) and event.state is SourceState.STREAMING:
        lsl_time_offset(session)


def _source_id(session: PublishedSession, source_id: str | None) -> str:
    if source_id:
        return source_id
    info = session.source.device_info
    for key in ("serial", "address"):
        if info.get(key):
            return str(info[key])
    return f"biofeedback-{session.source.kind}"


class LslPublisher:
    """Publishes a live session's beats, heart rate, lnRMSSD and markers as LSL streams.

    Parameters
    ----------
    session : LiveSession
        The session to follow (subscribed at once; call :meth:`close` to stop).
    source_id : str, optional
        LSL ``source_id`` of the streams, suffixed with the stream type; a recorder uses it
        to re-attach after a restart, so give the device serial or address. Default: the
        source's ``device_info`` serial or address.
    name_prefix : str
        Stream names are ``{name_prefix}-RR``, ``-HR``, ``-lnRMSSD`` and ``-Markers``.

    """

    def __init__(
        self,
        session: PublishedSession,
        *,
        source_id: str | None = None,
        name_prefix: str = "biofeedback",
    ) -> None:
        pylsl = _pylsl()
        self.session = session
        self.source_id = _source_id(session, source_id)
        self.name_prefix = name_prefix
        device = session.source.device_info

        def outlet(suffix: str, kind: str, unit: str, fmt: int) -> Any:
            info = pylsl.StreamInfo(
                f"{name_prefix}-{suffix}",
                kind,
                1,
                pylsl.IRREGULAR_RATE,
                fmt,
                f"{self.source_id}:{suffix}",
            )
            desc = info.desc()
            desc.append_child_value("manufacturer", "biofeedback")
            if device.get("model"):
                desc.append_child_value("device", str(device["model"]))
            channel = desc.append_child("channels").append_child("channel")
            channel.append_child_value("label", suffix)
            channel.append_child_value("unit", unit)
            channel.append_child_value("type", kind)
            return pylsl.StreamOutlet(info)

        self.rr_outlet = outlet("RR", "RR", "ms", pylsl.cf_double64)
        self.hr_outlet = outlet("HR", "HR", "bpm", pylsl.cf_float32)
        self.ln_rmssd_outlet = outlet("lnRMSSD", "HRV", "ln(ms)", pylsl.cf_float32)
        self.marker_outlet = outlet("Markers", "Markers", "", pylsl.cf_string)
        self._unsubscribe: Callable[[], None] | None = session.subscribe(self._on_event)

    @property
    def offset_s(self) -> float:
        """Session clock to LSL clock offset, s (see :func:`lsl_time_offset`)."""
        return lsl_time_offset(self.session)

    @property
    def stream_names(self) -> dict[str, str]:
        """Name of each outlet's stream, by channel (``RR``, ``HR``, ``lnRMSSD``, ``Markers``)."""
        return {k: f"{self.name_prefix}-{k}" for k in ("RR", "HR", "lnRMSSD", "Markers")}

    def to_lsl_time(self, session_s: float) -> float:
        """LSL clock time of a session-clock time, s."""
        return session_s + self.offset_s

    def _on_event(self, event: SessionEvent) -> None:
        _anchor_when_streaming(self.session, event)
        if isinstance(event, BeatsProcessed):
            self._on_beats(event)
        elif isinstance(event, Marker):
            if event.kind is MarkerKind.EXTERNAL and LSL_EXTRA_KEY in event.extra:
                return  # came in through LSL: the lab has it already, do not echo it
            self.marker_outlet.push_sample([event.label], self.to_lsl_time(event.onset_s))

    def _on_beats(self, event: BeatsProcessed) -> None:
        batch = event.batch
        for beat in batch.beats:
            self.rr_outlet.push_sample([float(beat.rr_ms)], self.to_lsl_time(beat.time_s))
        # One heart-rate sample per notification, also when the event stands for a run.
        for notification in event.notifications or (batch,):
            hr = notification.heart_rate_bpm
            beats = notification.beats
            if hr is None and beats:
                hr = 60000.0 * len(beats) / sum(b.rr_ms for b in beats)
            if hr is not None and math.isfinite(hr):
                self.hr_outlet.push_sample([float(hr)], self.to_lsl_time(notification.received_s))
        if batch.beats:
            ln_rmssd = event.indices.ln_rmssd_60
            if ln_rmssd is not None and math.isfinite(ln_rmssd):
                stamp = self.to_lsl_time(batch.beats[-1].time_s)
                self.ln_rmssd_outlet.push_sample([float(ln_rmssd)], stamp)

    def close(self) -> None:
        """Unsubscribe and close the outlets (safe to call more than once)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        # Dropping the last reference destroys an outlet (pylsl does it in __del__).
        self.rr_outlet = self.hr_outlet = self.ln_rmssd_outlet = self.marker_outlet = None


class LslMarkerInlet:
    """Takes markers from another LSL stream (e.g. a stimulus program) into a session.

    Each sample becomes a :attr:`MarkerKind.EXTERNAL` marker at the session time of its
    LSL timestamp (clock-synchronised to this machine, minus :func:`lsl_time_offset`).
    A background thread only pulls samples and hands them to the session's event loop.

    Parameters
    ----------
    session : LiveSession
        The session that records the markers.
    stream_name : str
        LSL name of the marker stream.
    timeout_s : float
        How long :meth:`start` looks for the stream, s.
    """

    def __init__(
        self, session: PublishedSession, stream_name: str, *, timeout_s: float = 5.0
    ) -> None:
        self.session = session
        self.stream_name = stream_name
        self.timeout_s = timeout_s
        self.received = 0
        self._inlet: Any = None
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._accepting = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._source_id = ""
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        """Resolve the stream, open it and start pulling (call from the session's loop).

        Raises
        ------
        LslStreamNotFoundError
            No stream of that name within ``timeout_s``.
        """
        if self._thread is not None:
            raise RuntimeError("LslMarkerInlet was already started")
        pylsl = _pylsl()
        self._loop = asyncio.get_running_loop()
        found = await asyncio.to_thread(
            pylsl.resolve_byprop, "name", self.stream_name, 1, self.timeout_s
        )
        if not found:
            raise LslStreamNotFoundError(
                f"No Lab Streaming Layer stream named {self.stream_name!r} found within "
                f"{self.timeout_s:g} s"
            )
        info = found[0]
        self._source_id = info.source_id()
        self._inlet = pylsl.StreamInlet(
            info, max_buflen=360, recover=True, processing_flags=pylsl.proc_clocksync
        )
        await asyncio.to_thread(self._inlet.open_stream, self.timeout_s)
        self._accepting = True
        self._unsubscribe = self.session.subscribe(
            lambda event: _anchor_when_streaming(self.session, event)
        )
        self.session.before_finish.append(self._on_finish)
        self._thread = threading.Thread(
            target=self._pull, name=f"lsl-inlet-{self.stream_name}", daemon=True
        )
        self._thread.start()

    @property
    def offset_s(self) -> float:
        """Session clock to LSL clock offset, s (see :func:`lsl_time_offset`)."""
        return lsl_time_offset(self.session)

    def to_session_time(self, lsl_time: float) -> float:
        """Session-clock time of an LSL (local clock) time, s."""
        return lsl_time - self.offset_s

    def _pull(self) -> None:
        inlet, loop = self._inlet, self._loop
        assert inlet is not None and loop is not None
        while not self._halt.is_set():
            try:
                sample, stamp = inlet.pull_sample(timeout=0.1)
            except RuntimeError as exc:  # pylsl's LostError and its other errors: stream gone
                logger.warning("LSL marker stream lost; no more markers from it: %s", exc)
                return
            if sample is None:
                continue
            label = sample[0] if len(sample) == 1 else ", ".join(str(v) for v in sample)
            try:
                loop.call_soon_threadsafe(self._record, str(label), float(stamp))
            except RuntimeError:  # the loop closed
                return

    def _record(self, label: str, stamp: float) -> None:
        if not self._accepting:
            return
        self.received += 1
        self.session.add_marker(
            label,
            kind=MarkerKind.EXTERNAL,
            onset_s=self.to_session_time(stamp),
            extra={
                LSL_EXTRA_KEY: self.stream_name,
                "lsl_source_id": self._source_id,
                "lsl_timestamp": stamp,
            },
        )

    def _on_finish(self, _end_s: float) -> None:
        self._accepting = False

    def close(self) -> None:
        """Stop pulling and close the inlet (safe to call more than once)."""
        self._accepting = False
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._on_finish in self.session.before_finish:
            self.session.before_finish.remove(self._on_finish)
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None
