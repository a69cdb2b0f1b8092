"""The cue schedule of a protocol as it runs: what sounds when, on the session clock.

Plain data, no sound. Each phase has its cues on its own *protocol clock* (seconds into the
phase, frozen while the protocol is paused, as the runner's prompts and pacer are): the
start chime and the recording at 0, the spoken instructions just after the chime, the
prompts at their times, the bell halfway, the end chime at the phase's end. The
:class:`CueSchedule` follows a :class:`~protocols.runner.ProtocolRunner` (its events and its
state), so the session times of those cues follow pauses, skips and extensions:

- phases that ran are laid out where they ran: their segments of running protocol clock,
  separated by pauses;
- the current phase runs to its planned end (``runner.phase_end_s``), or, while paused, up to
  the pause;
- the phases after it are predicted back to back from that end (what a render ahead of the
  runner's next tick needs), unless the protocol is paused or over.

A chime at a boundary is the next phase's start chime; the softer end chime sounds where no
start chime follows (the last phase, or before a phase without chimes). Utterances of a phase
never overlap: one due while the voice still speaks waits for it (given their lengths).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from protocols.model import PacerSound, Phase, PracticeProtocol
from protocols.runner import (
    PhaseEnded,
    PhaseStarted,
    ProtocolFinished,
    ProtocolResumed,
    ProtocolRunner,
    RunnerEvent,
)

__all__ = [
    "CUT_AT_PHASE_END",
    "INSTRUCTIONS_AFTER_CHIME_S",
    "SPEECH_GAP_S",
    "CueKind",
    "CueSchedule",
    "PhaseCue",
    "PhaseRun",
    "SchedulePlan",
    "ScheduledCue",
    "Segment",
    "phase_cues",
]

INSTRUCTIONS_AFTER_CHIME_S = 1.0
"""Spoken instructions start this long after the phase's start chime, s (0 without one), so
the voice does not speak into the chime's attack."""

SPEECH_GAP_S = 0.6
"""Least silence between two utterances of a phase, s: a prompt due while the voice is still
speaking waits for it."""

_IDS_PER_PHASE = 10_000
"""Cue ids are ``phase index * this + the cue's number within the phase``."""


class CueKind(enum.StrEnum):
    """What a cue is (stored as the marker's ``cue``)."""

    START_CHIME = "start_chime"
    END_CHIME = "end_chime"
    HALFWAY_BELL = "halfway_bell"
    INSTRUCTIONS = "instructions"
    PROMPT = "prompt"
    RECORDING = "recording"
    PACER = "pacer"


CUT_AT_PHASE_END = frozenset({CueKind.INSTRUCTIONS, CueKind.PROMPT, CueKind.RECORDING,
                              CueKind.PACER})
"""Cues that stop when their phase ends (chimes and the bell ring out)."""


@dataclass(frozen=True, slots=True)
class PhaseCue:
    """A cue on its phase's protocol clock.

    Attributes
    ----------
    id : int
        Stable across re-plans: phase index and the cue's number in the phase.
    kind : CueKind
        What it is.
    tau_s : float
        Seconds into the phase (protocol clock).
    label : str
        The marker label.
    text : str
        What is spoken, or the recording's path.
    """

    id: int
    kind: CueKind
    tau_s: float
    label: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class ScheduledCue:
    """A cue on the session clock (what :meth:`AudioProgram.cues_in` returns).

    Attributes
    ----------
    id : int
        Stable identity (see :class:`PhaseCue`).
    onset_s : float
        Scheduled onset, session time, s.
    kind : str
        A :class:`CueKind` value.
    label : str
        Marker label.
    phase_id : str
        The phase the cue belongs to.
    phase_index : int
        Its position in the protocol.
    tau_s : float
        Seconds into the phase.
    text : str
        What is spoken, or the recording's path.
    """

    id: int
    onset_s: float
    kind: str
    label: str
    phase_id: str
    phase_index: int
    tau_s: float
    text: str = ""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of session time ``[start_s, end_s)`` during which a phase's protocol clock
    ran, reading ``tau_start_s`` at ``start_s``."""

    start_s: float
    end_s: float
    tau_start_s: float

    @property
    def tau_end_s(self) -> float:
        """Protocol clock at the segment's end, s."""
        return self.tau_start_s + (self.end_s - self.start_s)


@dataclass(slots=True)
class PhaseRun:
    """A phase as it ran, runs, or is predicted to run.

    Attributes
    ----------
    index : int
        Position in the protocol.
    phase : Phase
        The phase.
    segments : list of Segment
        Where its protocol clock ran (more than one when it was paused).
    length_s : float or None
        Protocol-clock length (extensions included; shorter when skipped); None while
        paused (the end is not known yet).
    planned_s : float or None
        Its length on the plan, extensions included (a skip cuts ``length_s``, not this);
        the halfway bell is half of it.
    ended : bool
        Whether the runner ended it (False: running or predicted).
    predicted : bool
        Not started yet: laid out from the plan.
    """

    index: int
    phase: Phase
    segments: list[Segment] = field(default_factory=list)
    length_s: float | None = None
    planned_s: float | None = None
    ended: bool = False
    predicted: bool = False

    @property
    def start_s(self) -> float:
        """Session time of the phase's start, s."""
        return self.segments[0].start_s

    @property
    def end_s(self) -> float | None:
        """Session time of its end, s (None while paused)."""
        return None if self.length_s is None else self.segments[-1].end_s

    def session_time(self, tau_s: float) -> float | None:
        """The session time at which the protocol clock reads ``tau_s`` (the end of the last
        segment for the phase's end; None when that time is not known yet)."""
        for seg in self.segments:
            if seg.tau_start_s <= tau_s < seg.tau_end_s or (
                seg is self.segments[-1] and self.length_s is not None
                and tau_s == seg.tau_end_s
            ):
                return seg.start_s + (tau_s - seg.tau_start_s)
        return None


def phase_cues(protocol: PracticeProtocol, index: int, length_s: float,
               planned_s: float | None = None,
               speech_s: Mapping[str, float] | None = None) -> list[PhaseCue]:
    """The cues of phase ``index`` of ``protocol`` when it lasts ``length_s`` (protocol
    clock, s), sorted by time; nothing planned at or after ``length_s`` but the end chime.

    Parameters
    ----------
    protocol : PracticeProtocol
        The protocol (the next phase decides whether this one ends with its own chime).
    index : int
        Phase position.
    length_s : float
        The phase's protocol-clock length (planned, extended or cut short), s.
    planned_s : float, optional
        Its planned length, extensions included, s (default ``length_s``): the bell rings
        halfway through it.
    speech_s : mapping of str to float, optional
        How long each spoken text lasts, s. With it, utterances never overlap: one due while
        the voice still speaks starts :data:`SPEECH_GAP_S` after it (instructions first), and
        none starts into the start chime's attack.
    """
    phase = protocol.phases[index]
    cues = phase.cues
    base = index * _IDS_PER_PHASE
    out: list[PhaseCue] = []
    if cues.chimes:
        out.append(PhaseCue(base, CueKind.START_CHIME, 0.0, f"chime: start of {phase.id}"))
    if phase.audio:
        out.append(PhaseCue(base + 1, CueKind.RECORDING, 0.0,
                            f"recording: {Path(phase.audio).name}", phase.audio))
    if phase.pacer is not None and cues.pacer_sound is not PacerSound.OFF:
        out.append(PhaseCue(base + 2, CueKind.PACER, 0.0,
                            f"audio pacer ({cues.pacer_sound.value}): {phase.id}",
                            str(cues.pacer_sound)))
    speech: list[PhaseCue] = []
    if cues.speak_instructions and phase.spoken_text.strip():
        speech.append(PhaseCue(base + 3, CueKind.INSTRUCTIONS, 0.0,
                               f"spoken instructions: {phase.id}", phase.spoken_text))
    halfway = (length_s if planned_s is None else planned_s) / 2.0
    if cues.halfway_bell and halfway < length_s:
        out.append(PhaseCue(base + 4, CueKind.HALFWAY_BELL, halfway,
                            f"bell: halfway through {phase.id}"))
    if cues.speak_prompts:
        for j, prompt in enumerate(phase.prompts):
            if prompt.spoken_text.strip():
                speech.append(PhaseCue(base + 100 + j, CueKind.PROMPT, prompt.at_s,
                                       f"spoken prompt: {phase.id} at {prompt.at_s:g} s",
                                       prompt.spoken_text))
    # The voice waits for the start chime's attack, and for itself.
    free_at = INSTRUCTIONS_AFTER_CHIME_S if cues.chimes else 0.0
    for cue in speech:  # instructions first, then prompts by time
        at = max(cue.tau_s, free_at)
        if at >= length_s:
            continue
        out.append(replace(cue, tau_s=at))
        if speech_s is not None:
            free_at = at + speech_s.get(cue.text, 0.0) + SPEECH_GAP_S
    following = protocol.phases[index + 1] if index + 1 < len(protocol.phases) else None
    if cues.chimes and (following is None or not following.cues.chimes):
        out.append(PhaseCue(base + 5, CueKind.END_CHIME, length_s, f"chime: end of {phase.id}"))
    return sorted(out, key=lambda c: (c.tau_s, c.id))


class CueSchedule:
    """The cues of ``protocol`` on the session clock, following ``runner``.

    Parameters
    ----------
    protocol : PracticeProtocol
        What runs.
    runner : ProtocolRunner
        The runner driving it (subscribed to here; its state is read for the current
        phase's planned end and pauses).
    speech_s : mapping of str to float, optional
        Length of each spoken text, s (utterances are then placed so they never overlap;
        see :func:`phase_cues`).
    """

    def __init__(self, protocol: PracticeProtocol, runner: ProtocolRunner,
                 speech_s: Mapping[str, float] | None = None) -> None:
        self.protocol = protocol
        self.runner = runner
        self.speech_s = dict(speech_s) if speech_s is not None else None
        self._runs: list[PhaseRun] = []
        self._finished = False
        runner.subscribe(self._on_event)

    # -- runner events ---------------------------------------------------------------------

    def _on_event(self, event: RunnerEvent) -> None:
        if isinstance(event, PhaseStarted):
            self._runs.append(PhaseRun(event.index, event.phase,
                                       [Segment(event.at_s, event.at_s, 0.0)]))
        elif isinstance(event, ProtocolResumed) and self._runs and not self._runs[-1].ended:
            run = self._runs[-1]
            last = run.segments[-1]
            held_from = event.at_s - event.paused_s
            run.segments[-1] = Segment(last.start_s, held_from, last.tau_start_s)
            run.segments.append(Segment(event.at_s, event.at_s, run.segments[-1].tau_end_s))
        elif isinstance(event, PhaseEnded) and self._runs and not self._runs[-1].ended:
            run = self._runs[-1]
            last = run.segments[-1]
            paused_at = self.runner.paused_at_s
            # Ended while held (the session stopped during a pause): the clock stopped then.
            end = event.at_s if paused_at is None else min(event.at_s, paused_at)
            run.segments[-1] = Segment(last.start_s, max(end, last.start_s), last.tau_start_s)
            run.length_s = run.segments[-1].tau_end_s
            run.planned_s = self.runner.phase_length_s  # still the ending phase's
            run.ended = True
        elif isinstance(event, ProtocolFinished):
            self._finished = True

    # -- the plan --------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether the protocol is over (no phase runs or is predicted)."""
        return self._finished

    def runs(self) -> list[PhaseRun]:
        """Every phase as it ran, runs, or is predicted to run, in order."""
        out = [PhaseRun(r.index, r.phase, list(r.segments), r.length_s, r.planned_s, r.ended)
               for r in self._runs]
        if self._finished:
            return out
        runner = self.runner
        phases = self.protocol.phases
        if not out:
            # The runner starts the first phase at session time 0 on the first event.
            next_index, next_start = 0, 0.0
        else:
            current = out[-1]
            if not current.ended:
                last = current.segments[-1]
                paused_at = runner.paused_at_s
                if paused_at is not None:
                    current.segments[-1] = Segment(last.start_s, max(paused_at, last.start_s),
                                                   last.tau_start_s)
                    return out  # what comes after the pause is not known yet
                length = runner.phase_length_s
                end = last.start_s + (length - last.tau_start_s)
                current.segments[-1] = Segment(last.start_s, max(end, last.start_s),
                                               last.tau_start_s)
                current.length_s = current.segments[-1].tau_end_s
                current.planned_s = length
            end_s = current.end_s
            assert end_s is not None
            next_index, next_start = current.index + 1, end_s
        for index in range(next_index, len(phases)):
            phase = phases[index]
            out.append(PhaseRun(index, phase,
                                [Segment(next_start, next_start + phase.duration_s, 0.0)],
                                phase.duration_s, phase.duration_s, predicted=True))
            next_start += phase.duration_s
        return out

    def scheduled(self, run: PhaseRun) -> list[tuple[PhaseCue, ScheduledCue]]:
        """The cues of ``run`` whose session time is known, with their session onsets."""
        return _scheduled(self.protocol, self.speech_s, run, self.runner.phase_length_s)

    def cues_between(self, start_s: float, end_s: float) -> list[ScheduledCue]:
        """Cues whose onset lies in ``[start_s, end_s)``, as planned now, by onset."""
        return _cues_between(self, start_s, end_s)

    def plan(self) -> SchedulePlan:
        """The schedule as it stands now, frozen: what a thread other than the runner's
        renders from (the runner and this schedule change on the runner's thread)."""
        return SchedulePlan(self.protocol, self.speech_s, tuple(self.runs()),
                            self.runner.phase_length_s, self._finished)


@dataclass(frozen=True, eq=True)
class SchedulePlan:
    """A :class:`CueSchedule` as it stood at one moment (:meth:`CueSchedule.plan`): the same
    ``runs``, ``scheduled`` and ``cues_between``, read from this copy alone.

    Two plans are equal when they schedule the same (an output renders from the newest plan
    and is handed a new one only when it differs). The runs are shared by whoever reads
    them and must not be changed.

    Attributes
    ----------
    protocol : PracticeProtocol
        What runs.
    speech_s : mapping of str to float or None
        Length of each spoken text, s.
    phase_runs : tuple of PhaseRun
        Every phase as it ran, ran or was predicted to run then.
    phase_length_s : float
        The runner's current phase length then, s (extensions included).
    finished : bool
        Whether the protocol was over.
    """

    protocol: PracticeProtocol
    speech_s: Mapping[str, float] | None
    phase_runs: tuple[PhaseRun, ...]
    phase_length_s: float
    finished: bool

    def runs(self) -> list[PhaseRun]:
        """Every phase as it ran, ran or was predicted to run, in order."""
        return list(self.phase_runs)

    def scheduled(self, run: PhaseRun) -> list[tuple[PhaseCue, ScheduledCue]]:
        """The cues of ``run`` whose session time is known, with their session onsets."""
        return _scheduled(self.protocol, self.speech_s, run, self.phase_length_s)

    def cues_between(self, start_s: float, end_s: float) -> list[ScheduledCue]:
        """Cues whose onset lies in ``[start_s, end_s)``, as planned, by onset."""
        return _cues_between(self, start_s, end_s)


def _scheduled(protocol: PracticeProtocol, speech_s: Mapping[str, float] | None,
               run: PhaseRun, phase_length_s: float) -> list[tuple[PhaseCue, ScheduledCue]]:
    planned = run.planned_s
    if planned is None:  # paused: the runner's plan, for the cues before the pause
        planned = phase_length_s
    length = planned if run.length_s is None else run.length_s
    out = []
    for cue in phase_cues(protocol, run.index, length, planned, speech_s):
        onset = run.session_time(cue.tau_s)
        if onset is None:
            continue
        out.append((cue, ScheduledCue(cue.id, onset, str(cue.kind), cue.label, run.phase.id,
                                      run.index, cue.tau_s, cue.text)))
    return out


def _cues_between(schedule: CueSchedule | SchedulePlan, start_s: float,
                  end_s: float) -> list[ScheduledCue]:
    found = [s for run in schedule.runs() for _, s in schedule.scheduled(run)
             if start_s <= s.onset_s < end_s]
    return sorted(found, key=lambda s: (s.onset_s, s.id))
