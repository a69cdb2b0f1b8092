"""Live status lines on standard error for the headless commands."""

from __future__ import annotations

import time
from typing import TextIO

from biofeedback.core.formatting import MISSING, format_clock
from biofeedback.core.types import Gap, Marker, MarkerKind, StatusChange
from biofeedback.session.live_session import BeatsProcessed, LiveSession, SessionEvent

__all__ = ["LiveStatusPrinter", "format_clock"]


def _fmt(value: float | None, spec: str) -> str:
    return MISSING if value is None else format(value, spec)


class LiveStatusPrinter:
    """Subscriber that prints a status line at most every ``interval_s`` of wall time.

    Parameters
    ----------
    stream : text stream
        Where to print (standard error, so standard output stays machine-readable).
    interval_s : float
        Minimum wall time between two status lines, s.
    """

    def __init__(self, stream: TextIO, interval_s: float = 5.0) -> None:
        self.stream = stream
        self.interval_s = interval_s
        self._last = 0.0

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, StatusChange):
            self._print(f"[{format_clock(event.at_s)}] {event.state}: {event.message}")
        elif isinstance(event, Gap):
            self._print(
                f"[{format_clock(event.start_s)}] gap of {event.duration_s:.1f} s ({event.reason})"
            )
        elif isinstance(event, Marker):
            if event.kind is MarkerKind.STRESSOR:
                if event.extra.get("event") != "end":
                    return  # one line per answer would flood the terminal: summary only
                extra = event.extra
                self._print(
                    f"[{format_clock(event.onset_s)}] serial subtraction: {extra.get('answers')} "
                    f"answers, {extra.get('errors')} errors, mean latency "
                    f"{_fmt(extra.get('mean_latency_ms'), '.0f')} ms"
                )
                return
            self._print(f"[{format_clock(event.onset_s)}] marker: {event.label}")
        elif isinstance(event, BeatsProcessed):
            now = time.monotonic()
            if now - self._last < self.interval_s:
                return
            x = event.indices
            if x.hr_bpm is None:  # nothing worth a line yet
                return
            self._last = now
            self._print(
                f"[{format_clock(x.time_s)}] HR {_fmt(x.hr_bpm, '.0f')} bpm  "
                f"RMSSD {_fmt(x.rmssd_60_ms, '.1f')} ms  lnRMSSD {_fmt(x.ln_rmssd_60, '.2f')}  "
                f"HF {_fmt(x.hf_ms2, '.0f')} ms2  breathing {_fmt(x.breaths_per_min, '.1f')}"
                f"/min  coherence {_fmt(x.coherence_score, '.1f')}  "
                f"artifacts {_fmt(x.artifact_pct, '.1f')} %"
            )

    def protocol_event(self, event: object) -> None:
        """Print phase changes and guidance prompts of a protocol runner."""
        from protocols.runner import PhaseStarted, PromptDue, ProtocolFinished

        if isinstance(event, PhaseStarted):
            phase = event.phase
            self._print(
                f"[{format_clock(event.at_s)}] phase {event.index + 1}: {phase.name} "
                f"({format_clock(phase.duration_s)})"
                + (f" - {phase.instructions}" if phase.instructions else "")
            )
        elif isinstance(event, PromptDue):
            self._print(f"[{format_clock(event.at_s)}]   {event.prompt.text}")
        elif isinstance(event, ProtocolFinished):
            self._print(f"[{format_clock(event.at_s)}] protocol finished")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def summary(self, session: LiveSession, wall_s: float) -> None:
        """Print the totals of a finished session."""
        st = session.stats
        span = (
            (st.last_beat_s - (st.first_beat_s or 0.0)) if st.last_beat_s is not None else 0.0
        )
        head = f"session {session.session_id}: " if session.session_id is not None else ""
        self._print(
            f"{head}{st.n_beats} beats over {format_clock(span)} in {wall_s:.1f} s wall; "
            f"artifacts {st.artifact_pct:.1f} %; {st.n_gaps} gaps ({st.gap_s:.1f} s)"
        )
