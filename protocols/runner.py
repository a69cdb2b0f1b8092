"""Run a protocol on the session clock: phases, prompts, pacer, stressor and self-report.

The runner owns no clock and no thread: it is advanced by :meth:`ProtocolRunner.tick` with the
session time (the source's clock), so a replay at any speed, or a simulated strap at maximum
speed, runs the phases exactly as a live session does. Phase boundaries are placed at their
planned times, not at the tick that noticed them, so stored phase spans do not depend on how
often the runner is ticked. Subscribers (the window, the CLI) receive plain event objects.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from biofeedback.core.types import Marker, MarkerKind, PhaseSpan
from protocols.model import GuidancePrompt, Phase, PracticeProtocol
from protocols.pacing import pacer_stages


class PhaseRecorder(Protocol):
    """Where the runner records what happened (a :class:`LiveSession` in the app)."""

    def start_phase(self, span: PhaseSpan) -> int: ...

    def end_phase(self, handle: int, end_s: float) -> None: ...

    def add_marker(
        self,
        label: str,
        *,
        kind: MarkerKind = ...,
        duration_s: float = ...,
        onset_s: float | None = ...,
        extra: dict[str, Any] | None = ...,
    ) -> Marker: ...


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """A phase began at ``at_s`` (session time, s)."""

    phase: Phase
    index: int
    at_s: float


@dataclass(frozen=True, slots=True)
class PhaseEnded:
    """A phase ended at ``at_s``; ``skipped`` when the user cut it short."""

    phase: Phase
    index: int
    at_s: float
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class PromptDue:
    """A guidance prompt is due (``at_s`` is its planned session time)."""

    phase: Phase
    prompt: GuidancePrompt
    at_s: float


@dataclass(frozen=True, slots=True)
class PacerStage:
    """The breathing pacer entered a stage: ``inhale``, ``hold_in``, ``exhale`` or ``hold_out``.

    ``duration_s`` is the stage's length; the window animates within it.
    """

    phase: Phase
    stage: str
    at_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class ProtocolFinished:
    """The protocol is over: ``completed`` when its last phase ran to its end, False when it
    was ended early (:meth:`ProtocolRunner.finish`)."""

    protocol: PracticeProtocol
    at_s: float
    completed: bool = True


@dataclass(frozen=True, slots=True)
class ProtocolResumed:
    """The protocol clock runs again at ``at_s`` after being held for ``paused_s`` seconds
    (what depends on protocol time, such as a stressor's deadline, moves by as much)."""

    at_s: float
    paused_s: float


RunnerEvent = (
    PhaseStarted | PhaseEnded | PromptDue | PacerStage | ProtocolFinished | ProtocolResumed
)
"""What subscribers of a :class:`ProtocolRunner` receive."""


class ProtocolRunner:
    """Drives a :class:`PracticeProtocol` phase by phase.

    Parameters
    ----------
    protocol : PracticeProtocol
        What to run.
    recorder : PhaseRecorder
        Receives phase spans and markers (the live session, which stores them).
    phase_hooks : list of callables, optional
        ``hook(runner, phase, event)`` called for every phase start and end (stressor and
        self-report handling plug in here).
    seed : int
        Seed of simulated answers (simulated participants only).

    Notes
    -----
    ``pause()`` freezes the protocol clock (the recording goes on); ``skip()`` ends the current
    phase now; ``extend(s)`` lengthens it. Each is recorded as a marker.
    """

    def __init__(
        self,
        protocol: PracticeProtocol,
        recorder: PhaseRecorder,
        *,
        phase_hooks: list[Callable[[ProtocolRunner, Phase, RunnerEvent], None]] | None = None,
        seed: int = 0,
    ) -> None:
        if not protocol.phases:
            raise ValueError(f"protocol {protocol.id!r} has no phases")
        self.protocol = protocol
        self.recorder = recorder
        self.rng = random.Random(seed)
        self._hooks = list(phase_hooks or [])
        self._subscribers: list[Callable[[RunnerEvent], None]] = []
        self._index = -1
        self._phase_start_s = 0.0
        self._phase_length_s = 0.0
        self._handle: int | None = None
        self._next_prompt = 0
        self._pacer_cycle: list[tuple[str, float]] = []
        self._pacer_next_s = 0.0
        self._pacer_stage = 0
        self._paused_at: float | None = None
        self._finished = False
        self._ticking = False
        self.now_s = 0.0

    # -- subscription ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[RunnerEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every runner event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _publish(self, event: RunnerEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)
        phase = getattr(event, "phase", None)
        if isinstance(event, PhaseStarted | PhaseEnded) and phase is not None:
            for hook in self._hooks:
                hook(self, phase, event)

    # -- state -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether the first phase has begun."""
        return self._index >= 0

    @property
    def finished(self) -> bool:
        """Whether the last phase has ended."""
        return self._finished

    @property
    def paused(self) -> bool:
        """Whether the protocol clock is held."""
        return self._paused_at is not None

    @property
    def current_phase(self) -> Phase | None:
        """The running phase (None before the start and after the end)."""
        if 0 <= self._index < len(self.protocol.phases) and not self._finished:
            return self.protocol.phases[self._index]
        return None

    @property
    def paused_at_s(self) -> float | None:
        """Session time the protocol clock was held at, s (None when it runs)."""
        return self._paused_at

    @property
    def phase_length_s(self) -> float:
        """Protocol-clock length of the current phase, s (extensions included)."""
        return self._phase_length_s

    def phase_elapsed_s(self, now_s: float | None = None) -> float:
        """Time spent in the current phase, s (frozen while paused)."""
        now = self.now_s if now_s is None else now_s
        if self._paused_at is not None:
            now = self._paused_at
        return max(0.0, now - self._phase_start_s)

    @property
    def phase_end_s(self) -> float:
        """Planned end of the current phase on the session clock, s (pauses and extensions
        included)."""
        held = 0.0 if self._paused_at is None else self.now_s - self._paused_at
        return self._phase_start_s + self._phase_length_s + held

    def phase_remaining_s(self, now_s: float | None = None) -> float:
        """Countdown of the current phase, s."""
        return max(0.0, self._phase_length_s - self.phase_elapsed_s(now_s))

    # -- driving ---------------------------------------------------------------------------

    def start(self, now_s: float) -> None:
        """Begin the first phase at ``now_s`` (session time, s)."""
        if self.started:
            return
        self.now_s = now_s
        self._begin(0, now_s)

    def tick(self, now_s: float) -> None:
        """Advance to session time ``now_s``: end and start phases at their planned times and
        emit the prompts and pacer stages due on the way."""
        if not self.started:
            self.start(now_s)
        self.now_s = max(self.now_s, now_s)
        if self._finished or self._paused_at is not None or self._ticking:
            # Re-entered from a subscriber (a marker it recorded came back as an event): the
            # outer tick is already advancing to at least this time.
            return
        self._ticking = True
        try:
            while not self._finished:
                end = self._phase_start_s + self._phase_length_s
                self._emit_due(min(self.now_s, end))
                if self.now_s < end:
                    break
                self._end_current(end, skipped=False)
        finally:
            self._ticking = False

    def pause(self) -> None:
        """Hold the protocol clock; prompts and phase ends wait (the recording goes on)."""
        if self._paused_at is None and self.started and not self._finished:
            self._paused_at = self.now_s
            self.recorder.add_marker("protocol paused", kind=MarkerKind.PROTOCOL,
                                     onset_s=self.now_s)

    def resume(self) -> None:
        """Continue after :meth:`pause`; the current phase is lengthened by the pause."""
        if self._paused_at is None:
            return
        held = self.now_s - self._paused_at
        self._paused_at = None
        # Shift the phase's clock, not its length: prompts and the pacer keep protocol time.
        # (The stored span keeps the true start, so its duration includes the pause.)
        self._phase_start_s += held
        self._pacer_next_s += held
        # Subscribers shift what runs on protocol time first: recording the marker makes the
        # session publish it, and whoever it reaches must already see the shifted clock.
        self._publish(ProtocolResumed(self.now_s, held))
        self.recorder.add_marker(
            "protocol resumed", kind=MarkerKind.PROTOCOL, onset_s=self.now_s,
            extra={"paused_s": round(held, 3)},
        )

    def skip(self) -> None:
        """End the current phase now and start the next."""
        phase = self.current_phase
        if phase is None:
            return
        if self._paused_at is not None:
            self.resume()
        self.recorder.add_marker(
            f"skipped {phase.id}", kind=MarkerKind.PROTOCOL, onset_s=self.now_s,
            extra={"phase": phase.id, "remaining_s": round(self.phase_remaining_s(), 3)},
        )
        self._end_current(self.now_s, skipped=True)
        self.tick(self.now_s)

    def extend(self, seconds: float) -> None:
        """Lengthen the current phase by ``seconds``."""
        phase = self.current_phase
        if phase is None or seconds <= 0:
            return
        self._phase_length_s += seconds
        self.recorder.add_marker(
            f"extended {phase.id}", kind=MarkerKind.PROTOCOL, onset_s=self.now_s,
            extra={"phase": phase.id, "seconds": seconds},
        )

    def add_marker(self, label: str, **extra: Any) -> Marker:
        """A user marker at the current session time."""
        return self.recorder.add_marker(label, kind=MarkerKind.USER, onset_s=self.now_s,
                                        extra=extra or None)

    def finish(self, now_s: float) -> None:
        """End the protocol early (the session is stopping): close the current phase."""
        if self.started and not self._finished:
            self.tick(now_s)  # phases that ended meanwhile are closed at their planned times
            if not self._finished:
                self.now_s = max(self.now_s, now_s)
                self._end_current(self.now_s, skipped=True, last=True)

    # -- internals -------------------------------------------------------------------------

    def _begin(self, index: int, at_s: float) -> None:
        phase = self.protocol.phases[index]
        self._index = index
        self._phase_start_s = at_s
        self._phase_length_s = phase.duration_s
        self._next_prompt = 0
        self._handle = self.recorder.start_phase(
            PhaseSpan(phase.id, phase.name, str(phase.kind), at_s, at_s, phase.practice,
                      None if phase.category is None else str(phase.category),
                      str(phase.feedback))
        )
        self._pacer_cycle = pacer_stages(phase.pacer) if phase.pacer is not None else []
        self._pacer_stage = 0
        self._pacer_next_s = at_s
        self._publish(PhaseStarted(phase, index, at_s))

    def _end_current(self, at_s: float, *, skipped: bool, last: bool = False) -> None:
        phase = self.protocol.phases[self._index]
        if self._handle is not None:
            self.recorder.end_phase(self._handle, at_s)
            self._handle = None
        self._publish(PhaseEnded(phase, self._index, at_s, skipped))
        if last or self._index + 1 >= len(self.protocol.phases):
            self._finished = True
            self._publish(ProtocolFinished(self.protocol, at_s, completed=not last))
        else:
            self._begin(self._index + 1, at_s)

    def _emit_due(self, until_s: float) -> None:
        phase = self.protocol.phases[self._index]
        prompts = phase.prompts
        while self._next_prompt < len(prompts):
            prompt = prompts[self._next_prompt]
            due = self._phase_start_s + prompt.at_s
            if due > until_s:
                break
            self._next_prompt += 1
            self._publish(PromptDue(phase, prompt, due))
        cycle = self._pacer_cycle
        if not cycle:
            return
        end = self._phase_start_s + self._phase_length_s
        while self._pacer_next_s <= until_s and self._pacer_next_s < end:
            name, duration = cycle[self._pacer_stage]
            self._publish(PacerStage(phase, name, self._pacer_next_s, duration))
            self._pacer_next_s += duration
            self._pacer_stage = (self._pacer_stage + 1) % len(cycle)
