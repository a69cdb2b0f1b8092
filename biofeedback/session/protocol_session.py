"""A protocol run alongside a live session.

Ticks the :class:`~protocols.runner.ProtocolRunner` with the session clock on every session
event, runs the serial-subtraction task in stressor phases and collects self-reports (from the
window, or from a simulated participant in headless simulated sessions), records all of it as
markers, and stops the session when the last phase ends.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from biofeedback.core.types import Marker, MarkerKind, SourceState, StatusChange
from biofeedback.session.live_session import LiveSession, SessionEvent
from protocols.model import Phase, PhaseKind, PracticeProtocol
from protocols.runner import (
    PhaseEnded,
    PhaseStarted,
    ProtocolFinished,
    ProtocolResumed,
    ProtocolRunner,
    RunnerEvent,
)
from protocols.self_report import answers_to_markers, simulated_answers, validate_answers
from protocols.stressor import (
    AnswerResult,
    SerialSubtractionTask,
    SimulatedResponse,
    simulate_participant,
)

PROTOCOL_COMPLETED = "protocol completed"
"""Label of the marker recorded when a protocol's last phase ran to its end."""


class ProtocolSession:
    """Runs ``protocol`` in ``session``.

    Parameters
    ----------
    session : LiveSession
        The recording (phases and markers go to its store).
    protocol : PracticeProtocol
        What to run; it starts at session time 0 (when the source starts streaming).
    simulated_participant : bool
        Answer self-reports and the stressor task automatically (simulated sessions).
    seed : int
        Seed of the simulated participant.
    stop_when_finished : bool
        Stop the session when the last phase ends.
    """

    def __init__(
        self,
        session: LiveSession,
        protocol: PracticeProtocol,
        *,
        simulated_participant: bool = False,
        seed: int = 0,
        stop_when_finished: bool = True,
    ) -> None:
        self.session = session
        self.protocol = protocol
        self.simulated_participant = simulated_participant
        self.rng = np.random.default_rng(seed)
        self.runner = ProtocolRunner(protocol, session, phase_hooks=[self._on_phase], seed=seed)
        self.stressor: SerialSubtractionTask | None = None
        self.stressor_summaries: list[dict[str, Any]] = []
        self.self_reports: dict[str, dict[str, int]] = {}
        self._stop_when_finished = stop_when_finished
        self._pending: SimulatedResponse | None = None
        self._last_kind: PhaseKind | None = None
        self._report_phase: Phase | None = None
        self.runner.subscribe(self._on_runner_event)
        session.subscribe(self._on_session_event)
        session.before_finish.append(self._on_session_finishing)

    # -- user actions (the window calls these) --------------------------------------------

    def submit_self_report(self, answers: dict[str, int]) -> list[Marker]:
        """Record the answers of the current self-report phase (validated, 0-10 each)."""
        phase = self._report_phase
        if phase is None:
            raise ValueError("no self-report phase is running")
        validate_answers(phase.self_report, answers)
        markers = answers_to_markers(phase.id, answers, self.runner.now_s)
        for m in markers:
            self._record(m)
        self.self_reports[phase.id] = dict(answers)
        self._report_phase = None
        return markers

    def answer_stressor(self, value: int | str) -> AnswerResult:
        """Give an answer to the serial-subtraction task now."""
        task = self.stressor
        if task is None or task.finished:
            raise ValueError("no stressor task is running")
        if self.runner.paused:
            raise ValueError("the protocol is paused; answers count again once it resumes")
        result = task.answer(value, self.runner.now_s)
        self._flush_stressor_markers()
        return result

    # -- wiring ----------------------------------------------------------------------------

    def _on_session_event(self, event: SessionEvent) -> None:
        if isinstance(event, StatusChange) and not self.runner.started and (
            event.state is not SourceState.STREAMING
        ):
            return
        if not self.runner.started:
            self.runner.start(0.0)
        now = self.session.source.session_time_s()
        if not self.runner.paused:
            self._drive_stressor(now)
        self.runner.tick(now)

    def _on_session_finishing(self, end_s: float) -> None:
        self.runner.finish(end_s)

    def _on_runner_event(self, event: RunnerEvent) -> None:
        if isinstance(event, ProtocolResumed) and self.stressor is not None:
            self.stressor.hold(event.paused_s)
        if isinstance(event, ProtocolFinished):
            if event.completed:
                self._record(Marker(event.at_s, 0.0, PROTOCOL_COMPLETED, MarkerKind.PROTOCOL,
                                    {"protocol": self.protocol.id}))
            if self._stop_when_finished:
                self.session.request_stop()

    def _on_phase(self, runner: ProtocolRunner, phase: Phase, event: RunnerEvent) -> None:
        if isinstance(event, PhaseStarted):
            if phase.kind is PhaseKind.SELF_REPORT and phase.self_report:
                self._report_phase = phase
                if self.simulated_participant:
                    answers = simulated_answers(
                        phase.self_report, self._last_kind or PhaseKind.BASELINE, self.rng
                    )
                    self.submit_self_report(answers)
            elif phase.kind is PhaseKind.STRESSOR and phase.stressor is not None and (
                phase.stressor.task == "serial_subtraction"
            ):
                self.stressor = SerialSubtractionTask.from_options(phase.stressor.options)
                self.stressor.begin(event.at_s)
                self._pending = None
                self._flush_stressor_markers()
        elif isinstance(event, PhaseEnded):
            if self.stressor is not None and phase.kind is PhaseKind.STRESSOR:
                self._drive_stressor(event.at_s)
                # The task's closing marker carries the summary (answers, errors, latency).
                self.stressor_summaries.append(self.stressor.finish(event.at_s))
                self._flush_stressor_markers()
                self.stressor = None
            if phase.kind is PhaseKind.SELF_REPORT and self._report_phase is phase:
                self._record(
                    Marker(event.at_s, 0.0, f"self-report {phase.id} not answered",
                           MarkerKind.SELF_REPORT, {"phase": phase.id})
                )
                self._report_phase = None
            if phase.kind is not PhaseKind.SELF_REPORT:
                self._last_kind = phase.kind

    def _drive_stressor(self, now_s: float) -> None:
        """Record timeouts (and a simulated participant's answers) up to ``now_s``."""
        task = self.stressor
        if task is None or task.finished:
            return
        # The phase may have been extended (or, at its end, is closing at now_s).
        until = min(now_s, self.runner.phase_end_s)
        while not task.finished:
            prompt = task.current_prompt
            if prompt is None:
                break
            if self.simulated_participant:
                if self._pending is None:
                    self._pending = simulate_participant(task, self.rng)
                pending = self._pending
                if pending is not None and pending.at_s < prompt.deadline_s:
                    if pending.at_s > until:
                        break
                    task.answer(str(pending.value), pending.at_s)
                    self._pending = None
                    continue
            if prompt.deadline_s > until:
                break
            task.poll(prompt.deadline_s)
            self._pending = None
        self._flush_stressor_markers()

    def _flush_stressor_markers(self) -> None:
        if self.stressor is not None:
            for m in self.stressor.new_markers():
                self._record(m)

    def _record(self, marker: Marker) -> None:
        self.session.add_marker(
            marker.label, kind=marker.kind, duration_s=marker.duration_s,
            onset_s=marker.onset_s, extra=marker.extra,
        )
