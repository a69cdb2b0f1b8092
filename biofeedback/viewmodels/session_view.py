"""The view-model of a running session: what the window shows of it, kept without Qt.

:class:`SessionViewModel` subscribes to a :class:`~biofeedback.session.live_session.
LiveSession` and owns everything the live tab draws: the plot buffers (:class:`~biofeedback.
app.traces.LiveTraces`), the status line (:class:`~biofeedback.viewmodels.status.
SessionStatus`), the newest live indices and the live spectrum with its cadence. Widgets
are given it (or its parts) and draw; the window only wires it up. Like
:attr:`LiveTraces.version`, :attr:`SessionViewModel.version` lets a view skip a redraw when
nothing moved, and the window coalesces redraws to a frame rate (a pull design).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from biofeedback.core.signals import SignalChunk
from biofeedback.core.source import SourceCapabilities
from biofeedback.core.types import Connected, Marker, MarkerKind, Seeked
from biofeedback.live.events import BeatsProcessed, SessionEvent, SignalCheckUpdate
from biofeedback.viewmodels.signal_check import SignalCheckView
from biofeedback.viewmodels.signal_traces import SignalTraces
from biofeedback.viewmodels.status import SessionStatus
from biofeedback.viewmodels.traces import LiveTraces

if TYPE_CHECKING:
    from biofeedback.live.indices import LiveIndices
    from biofeedback.session.live_session import LiveSession
    from biofeedback.viewmodels.spectrum import LiveSpectrum

__all__ = ["UNDRAWN_MARKERS", "SessionViewModel"]

UNDRAWN_MARKERS = frozenset({MarkerKind.STRESSOR, MarkerKind.SELF_REPORT})
"""Marker kinds not drawn as lines: a stressor task marks every prompt and answer, and the
phases already show where self-reports were given (all are stored and listed)."""


class SessionViewModel:
    """What the window shows of one session, fed by the session's events; no Qt.

    Parameters
    ----------
    session : LiveSession
        The session to follow (subscribed at once; :meth:`close` unsubscribes).
    traces : LiveTraces, optional
        Plot buffers to fill (new ones by default).
    spectrum_period_s : float
        Session time between two spectrum refreshes, s (default 1 s, the live indices'
        spectral period): the spectrum follows the data at any replay speed.

    Attributes
    ----------
    traces : LiveTraces
        Plot buffers (beats, trend, gaps, drawn markers, phases).
    status : SessionStatus
        The status line.
    indices : LiveIndices or None
        Live indices of the newest notification (as published with it).
    spectrum : LiveSpectrum or None
        The live spectrum as of the last :meth:`refresh_spectrum` (None: not enough data).
    connected : Connected or None
        The last (re)connection of the source.
    capabilities : SourceCapabilities
        What the session's source can do (seek, battery, live).
    signals : SignalTraces
        The ECG strip and the respiration trace (empty unless the source sends ECG/ACC).
    signal_check : SignalCheckView
        The live ECG check and the chest breathing rate (shown only with ECG/ACC).
    """

    def __init__(
        self,
        session: LiveSession,
        *,
        traces: LiveTraces | None = None,
        spectrum_period_s: float = 1.0,
    ) -> None:
        self.session = session
        self.traces = traces if traces is not None else LiveTraces()
        self.status = SessionStatus()
        self.indices: LiveIndices | None = None
        self.spectrum: LiveSpectrum | None = None
        self.connected: Connected | None = None
        self.capabilities: SourceCapabilities = session.source.capabilities
        self.spectrum_period_s = float(spectrum_period_s)
        self.signals = SignalTraces()
        self.signal_check = SignalCheckView(session.signal_check_enabled)
        self._data_s = -math.inf
        self._spectrum_s = -math.inf
        self._version = 0
        self._listeners: list[Callable[[SessionEvent], None]] = []
        phases = session.source.phases
        if phases:
            self.traces.set_phases(phases)
        self._unsubscribe: Callable[[], None] | None = session.subscribe(self.on_event)

    # ------------------------------------------------------------------ reading
    @property
    def version(self) -> int:
        """Incremented whenever something shown changed (traces, status, indices, spectrum)."""
        return self._version + self.traces.version

    @property
    def practice_along(self) -> bool:
        """Someone wears the sensor now, so guidance (pacer, protocol prompts) is shown."""
        return self.capabilities.live

    # ------------------------------------------------------------------ feeding
    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` after each event was taken in; returns an unsubscribe
        function (the window requests a frame there)."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def on_event(self, event: SessionEvent) -> None:
        """Take one session event (what :meth:`LiveSession.subscribe` delivers)."""
        if isinstance(event, SignalChunk):
            self.signals.add(event)
            self.signal_check.on_event(event)
        elif isinstance(event, BeatsProcessed):
            self.traces.on_event(event)
            self.indices = event.indices
            self._data_s = max(self._data_s, event.batch.received_s)
            self.signal_check.on_event(event)
        elif isinstance(event, SignalCheckUpdate):
            self.signal_check.on_event(event)
        elif isinstance(event, Seeked):
            # The only truncation a seek causes: backwards drops what follows, forwards
            # breaks the curves; the spectrum restarts with the new segment.
            self.traces.on_event(event)
            self._data_s = event.t_s
            self.signals.clear()
            self._spectrum_s = -math.inf
        elif isinstance(event, Marker):
            if event.kind not in UNDRAWN_MARKERS:
                self.traces.on_event(event)
        else:
            if isinstance(event, Connected):
                self.connected = event
            self.traces.on_event(event)
        self.status.on_event(event)
        self._version += 1
        for callback in list(self._listeners):
            callback(event)

    def refresh_spectrum(self) -> bool:
        """Recompute the spectrum when the data entered a new spectrum period of session time
        (or jumped); True when :attr:`spectrum` was recomputed.

        Cheap when not due, so a window may ask on every tick of any timer.
        """
        if self._data_s == -math.inf:
            return False
        # Once per period of session time, on its grid (whole seconds by default), like the
        # live indices' spectral values, so the spectrum and the numbers shown move together.
        if self._spectrum_s != -math.inf and self._data_s >= self._spectrum_s and (
            self._data_s // self.spectrum_period_s
            == self._spectrum_s // self.spectrum_period_s
        ):
            return False
        from biofeedback.viewmodels.spectrum import session_spectrum

        self._spectrum_s = self._data_s
        self.spectrum = session_spectrum(self.session)
        self._version += 1
        return True

    @property
    def spectrum_time_s(self) -> float | None:
        """Session time of the data the spectrum was last computed on, s (None: never)."""
        return None if self._spectrum_s == -math.inf else self._spectrum_s

    def close(self) -> None:
        """Stop following the session (what was taken in stays readable)."""
        if self._unsubscribe is not None:
            with contextlib.suppress(ValueError):  # already dropped by the session
                self._unsubscribe()
            self._unsubscribe = None
        self._listeners.clear()
