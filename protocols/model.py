"""Practice and lab protocols as plain data (no Qt, no I/O).

A :class:`PracticeProtocol` is an ordered list of :class:`Phase` objects; each phase has a kind
(baseline, stressor, practice, recovery, rest, self-report), a duration, instructions, timed
guidance prompts, optional breathing-pacer settings, whether the participant sees feedback, its
audio cues (chimes, speech, a recorded guidance file, an audio pacer) and, for self-report
phases, 0-10 items.
Protocols are written as TOML files (:mod:`protocols.loader`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ProtocolCategory(enum.StrEnum):
    """What a protocol (or a practice) is, for the comparison the app exists to make."""

    SELF_SOOTHING = "self_soothing"
    ATTENTION = "attention"
    BREATHING = "breathing"
    STRESS_REACTIVITY = "stress_reactivity"
    NEUTRAL = "neutral"


class FeedbackVisibility(enum.StrEnum):
    """Whether the participant sees their own physiology during a phase.

    Watching one's heart rate is itself an intervention, so lab phases that are not a
    biofeedback condition hide it (the operator still sees it).
    """

    SHOWN = "shown"
    HIDDEN = "hidden"


class PacerSound(enum.StrEnum):
    """The audio breathing pacer: off, a tone whose pitch follows the breath, or a breath-like
    noise whose loudness does."""

    OFF = "off"
    TONE = "tone"
    BREATH = "breath"


class PhaseKind(enum.StrEnum):
    """Role of a phase in a session."""

    BASELINE = "baseline"
    STRESSOR = "stressor"
    PRACTICE = "practice"
    RECOVERY = "recovery"
    REST = "rest"
    SELF_REPORT = "self_report"


@dataclass(frozen=True, slots=True)
class PacerSettings:
    """A breathing pacer.

    Attributes
    ----------
    breaths_per_min : float
        Breathing rate, breaths/min (resonance breathing: about 6; Lehrer et al. 2000).
    inhale_exhale_ratio : float
        Inhale time / exhale time (1.0 = equal; 0.67 = 4 s in, 6 s out at 6/min).
    hold_after_inhale_s, hold_after_exhale_s : float
        Pauses, s, included in the breath period.
    """

    breaths_per_min: float
    inhale_exhale_ratio: float = 1.0
    hold_after_inhale_s: float = 0.0
    hold_after_exhale_s: float = 0.0

    @property
    def period_s(self) -> float:
        """One breath, s."""
        return 60.0 / self.breaths_per_min

    @property
    def inhale_s(self) -> float:
        """Inhale time, s."""
        moving = self.period_s - self.hold_after_inhale_s - self.hold_after_exhale_s
        return moving * self.inhale_exhale_ratio / (1.0 + self.inhale_exhale_ratio)

    @property
    def exhale_s(self) -> float:
        """Exhale time, s."""
        moving = self.period_s - self.hold_after_inhale_s - self.hold_after_exhale_s
        return moving / (1.0 + self.inhale_exhale_ratio)


@dataclass(frozen=True, slots=True)
class GuidancePrompt:
    """A line of guidance shown (and spoken, when the phase speaks prompts) ``at_s`` seconds
    into its phase; ``spoken`` is the wording read aloud when it differs from ``text``."""

    at_s: float
    text: str
    spoken: str = ""

    @property
    def spoken_text(self) -> str:
        """What the voice says: ``spoken``, or ``text`` when no separate wording is given."""
        return self.spoken or self.text


@dataclass(frozen=True, slots=True)
class CueSettings:
    """The audio cues of a phase.

    Attributes
    ----------
    chimes : bool
        A chime at the phase's start and a softer one at its end.
    halfway_bell : bool
        A bell halfway through the phase.
    speak_instructions : bool
        Read the phase's instructions (``spoken_instructions`` or ``instructions``) aloud at
        its start.
    speak_prompts : bool
        Read each timed prompt aloud at its time.
    pacer_sound : PacerSound
        The audio breathing pacer of a phase with a pacer.
    """

    chimes: bool = True
    halfway_bell: bool = False
    speak_instructions: bool = False
    speak_prompts: bool = False
    pacer_sound: PacerSound = PacerSound.OFF


@dataclass(frozen=True, slots=True)
class SelfReportItem:
    """A 0-10 self-report question.

    Attributes
    ----------
    id : str
        Stable key (``"calm"``), stored with the answer.
    question : str
        What the participant reads.
    low_label, high_label : str
        Anchors of 0 and 10.
    """

    id: str
    question: str
    low_label: str = "not at all"
    high_label: str = "completely"


@dataclass(frozen=True, slots=True)
class StressorSettings:
    """Settings of a stressor phase's task.

    Attributes
    ----------
    task : str
        ``"serial_subtraction"`` (the mental-arithmetic part of the Trier Social Stress Test)
        or ``"none"`` (e.g. a self-critical recall guided by the prompts only).
    options : dict
        Task options, e.g. ``{"start": 1022, "step": 13, "time_limit_s": 7.5}``.
    """

    task: str = "serial_subtraction"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase of a protocol.

    Attributes
    ----------
    id : str
        Identifier, unique within the protocol (``"baseline"``).
    name : str
        Shown to the participant.
    kind : PhaseKind
        Role in the session.
    duration_s : float
        Planned duration, s.
    practice : str or None
        Practice this phase belongs to (``"soothing_touch"``), for practice phases.
    category : ProtocolCategory or None
        Category of that practice.
    instructions : str
        Shown when the phase starts.
    prompts : tuple of GuidancePrompt
        Timed guidance, sorted by ``at_s``.
    pacer : PacerSettings or None
        Breathing pacer; None = no pacer (natural breathing).
    expected_breaths_per_min : float or None
        Breathing rate the phase is expected to produce, breaths/min (pacer rate, or a typical
        value), used by the simulated strap and by the analysis' breathing checks.
    self_report : tuple of SelfReportItem
        Items asked in a ``self_report`` phase.
    stressor : StressorSettings or None
        Task of a ``stressor`` phase.
    feedback : FeedbackVisibility
        Whether the participant sees their physiology during the phase.
    cues : CueSettings
        Chimes, bell, speech and audio pacer of the phase.
    spoken_instructions : str
        The instructions as read aloud, when they differ from the written ones ("" = read
        ``instructions``).
    audio : str or None
        Absolute path of a recorded guidance file (wav, mp3, ogg or flac) played from the
        phase's start.
    audio_duration_s : float or None
        Length of that recording, s.
    """

    id: str
    name: str
    kind: PhaseKind
    duration_s: float
    practice: str | None = None
    category: ProtocolCategory | None = None
    instructions: str = ""
    prompts: tuple[GuidancePrompt, ...] = ()
    pacer: PacerSettings | None = None
    expected_breaths_per_min: float | None = None
    self_report: tuple[SelfReportItem, ...] = ()
    stressor: StressorSettings | None = None
    feedback: FeedbackVisibility = FeedbackVisibility.SHOWN
    cues: CueSettings = field(default_factory=CueSettings)
    spoken_instructions: str = ""
    audio: str | None = None
    audio_duration_s: float | None = None

    @property
    def spoken_text(self) -> str:
        """The instructions as the voice reads them."""
        return self.spoken_instructions or self.instructions


@dataclass(frozen=True, slots=True)
class PracticeProtocol:
    """A whole protocol: what a session runs, phase after phase.

    Attributes
    ----------
    id : str
        Identifier (``"soothing_touch"``); also the TOML file's stem for built-ins.
    name : str
        Display name.
    category : ProtocolCategory
        What kind of protocol this is.
    description : str
        One paragraph for the protocol list.
    phases : tuple of Phase
        In running order.
    sources : tuple of str
        Citations for durations or designs taken from studies.
    participant_screen : bool
        The protocol is meant to be run with a participant screen (lab protocols): the window
        opens one when it starts the protocol and a second display is there.
    """

    id: str
    name: str
    category: ProtocolCategory
    description: str
    phases: tuple[Phase, ...]
    sources: tuple[str, ...] = ()
    participant_screen: bool = False

    @property
    def duration_s(self) -> float:
        """Planned total duration, s."""
        return sum(p.duration_s for p in self.phases)

    def phase(self, phase_id: str) -> Phase:
        """The phase with that id (KeyError when there is none)."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)
