"""The audio program of a session: its cues mixed into any span of session time.

:class:`AudioProgram` is what an output plays: ``render(start_s, n_frames)`` gives the mixed
samples of a span on the session clock (the window's audio output asks for the next span a
little ahead of time; the headless renderer of :mod:`biofeedback.audio.wav` asks as session
time passes), ``cues_in`` tells which cues start in a span, and ``confirm_played`` stores a
cue's actual onset as an ``audio`` marker.

What it plays follows :class:`~biofeedback.audio.cues.CueSchedule`: a pause holds every sound
of the phase (speech and the recording continue where they were on resume; chimes are
held too), a skip cuts the phase's speech, recording and pacer, an extension moves the
halfway bell and the end chime. A chime or bell whose onset was already rendered is never
struck a second time elsewhere: an output that rendered ahead across a phase end that is then
moved has played that chime (its marker says when); speech, a recording or the pacer rendered
ahead that way starts again where it now belongs (a second marker says so).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.audio import synth
from biofeedback.audio.cues import (
    CUT_AT_PHASE_END,
    CueKind,
    CueSchedule,
    PhaseCue,
    PhaseRun,
    ScheduledCue,
    SchedulePlan,
    phase_cues,
)
from biofeedback.audio.recordings import Recording
from biofeedback.audio.settings import DEFAULT_SAMPLE_RATE
from biofeedback.audio.speech import DEFAULT_RATE_WPM, SpeechEngine, synthesize
from biofeedback.core.types import MarkerKind
from protocols.model import PacerSound, PracticeProtocol
from protocols.runner import PhaseRecorder, ProtocolRunner

__all__ = ["DEFAULT_SAMPLE_RATE", "AudioProgram", "ScheduledCue", "spoken_texts", "unspoken"]

FADE_S = 0.01
"""Ramp where a sound is cut (a pause, a phase's end) or resumes, s: no click."""

Samples = npt.NDArray[np.float32]

_STRUCK = frozenset({CueKind.START_CHIME, CueKind.END_CHIME, CueKind.HALFWAY_BELL})


@dataclass(frozen=True, slots=True)
class _Placed:
    """A cue with its frames: ``[first, first + length)`` on the phase's protocol-clock
    frame axis (the pacer's length is unbounded: its phase's end cuts it)."""

    cue: PhaseCue
    scheduled: ScheduledCue
    first: int
    length: int


def spoken_texts(protocol: PracticeProtocol) -> list[str]:
    """Every text the protocol speaks (instructions and prompts of the phases that speak
    them), each once, in order."""
    texts: list[str] = []
    for index, phase in enumerate(protocol.phases):
        for cue in phase_cues(protocol, index, phase.duration_s):
            if cue.kind in (CueKind.INSTRUCTIONS, CueKind.PROMPT) and cue.text not in texts:
                texts.append(cue.text)
    return texts


def unspoken(protocol: PracticeProtocol) -> PracticeProtocol:
    """``protocol`` with nothing read aloud (its chimes, bell, recordings and pacer sound
    kept): what plays when speech cannot be synthesized."""
    phases = tuple(
        dataclasses.replace(
            p, cues=dataclasses.replace(p.cues, speak_instructions=False, speak_prompts=False)
        )
        for p in protocol.phases
    )
    return dataclasses.replace(protocol, phases=phases)


class AudioProgram:
    """Chimes, bell, speech, recorded guidance and the audio pacer of a running protocol.

    Parameters
    ----------
    protocol : PracticeProtocol
        What runs.
    runner : ProtocolRunner
        Its runner (the schedule follows it).
    sample_rate : int
        Frames per second of everything rendered, Hz (mono).
    speech : mapping of str to samples
        Each spoken text, synthesized at ``sample_rate`` (see :meth:`build`).
    recorder : PhaseRecorder, optional
        Where :meth:`confirm_played` stores the audio markers (the live session).
    voice, rate_wpm, engine_name
        What spoke (stored with each spoken cue's marker, for the methods paragraph).

    Notes
    -----
    Build it with :meth:`build`, which synthesizes the speech first (off the audio path).
    """

    def __init__(
        self,
        protocol: PracticeProtocol,
        runner: ProtocolRunner,
        *,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        speech: dict[str, Samples] | None = None,
        recorder: PhaseRecorder | None = None,
        voice: str | None = None,
        rate_wpm: int = DEFAULT_RATE_WPM,
        engine_name: str = "",
    ) -> None:
        self.protocol = protocol
        self.engine_name = engine_name
        self.sample_rate = int(sample_rate)
        self.recorder = recorder
        self.voice = voice
        self.rate_wpm = rate_wpm
        self._speech = dict(speech or {})
        missing = [t for t in spoken_texts(protocol) if t not in self._speech]
        if missing:
            raise ValueError(f"no synthesized speech for {missing[0]!r}")
        sr = self.sample_rate
        self.schedule = CueSchedule(protocol, runner,
                                    {t: len(v) / sr for t, v in self._speech.items()})
        # What render and cues_in read: the live schedule, or a twin's plan (see twin()).
        self._reading: CueSchedule | SchedulePlan = self.schedule
        self._chime = synth.chime(sr)
        self._soft_chime = synth.chime(sr, soft=True)
        self._bell = synth.bell(sr)
        self._noise: Samples | None = None
        self._recordings: dict[int, Recording] = {}
        for index, phase in enumerate(protocol.phases):
            if phase.audio:
                self._recordings[index] = Recording(phase.audio, sr)
                # Decoded now, so the phase's first render does not wait for the file.
                self._recordings[index].frames(0, 1)
        self._rendered: dict[int, ScheduledCue] = {}
        self._confirmed: dict[int, float] = {}

    @classmethod
    def build(
        cls,
        protocol: PracticeProtocol,
        runner: ProtocolRunner,
        *,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        voice: str | None = None,
        rate_wpm: int = DEFAULT_RATE_WPM,
        recorder: PhaseRecorder | None = None,
        engine: SpeechEngine | None = None,
    ) -> AudioProgram:
        """The program of ``protocol`` with all its speech synthesized now (cached).

        Raises
        ------
        SpeechError
            The protocol speaks and no engine is installed (or the voice or rate is bad).
        InputFileError
            A recorded guidance file cannot be decoded.
        """
        texts = spoken_texts(protocol)
        if texts and engine is None:
            from biofeedback.audio.speech import find_engine

            engine = find_engine()
        speech = {t: synthesize(t, sample_rate, voice=voice, rate_wpm=rate_wpm, engine=engine)
                  for t in texts}
        return cls(protocol, runner, sample_rate=sample_rate, speech=speech,
                   recorder=recorder,
                   voice=voice or (None if engine is None else engine.default_voice),
                   rate_wpm=rate_wpm, engine_name="" if engine is None else engine.name)

    # -- rendering on another thread -------------------------------------------------------

    def plan(self) -> SchedulePlan:
        """The schedule as it stands now, frozen (:meth:`CueSchedule.plan`)."""
        return self.schedule.plan()

    def twin(self) -> AudioProgram:
        """A copy whose :meth:`render` and :meth:`cues_in` read the plan last handed to its
        :meth:`follow` (now's to begin with), never the runner.

        For an output that feeds the sound card from its own thread while the runner changes
        on the GUI thread: the GUI thread hands it each new :meth:`plan`. The twin shares the
        sounds and what was rendered with this program (one of them renders at a time: a chime
        rendered ahead by either is not struck twice), and its :meth:`confirm_played` stores
        through the same recorder (call it on the recorder's thread).
        """
        twin = copy.copy(self)
        twin._reading = self.plan()
        return twin

    def follow(self, plan: SchedulePlan) -> None:
        """Render from ``plan`` from now on (a :meth:`twin`'s new plan)."""
        self._reading = plan

    # -- the contract ----------------------------------------------------------------------

    def render(self, start_s: float, n_frames: int) -> Samples:
        """float32 mono samples in [-1, 1] for session time ``[start_s, start_s + n /
        sample_rate)``: every cue sounding then, mixed at unit gain (silence elsewhere)."""
        sr = self.sample_rate
        g0 = round(start_s * sr)
        out = np.zeros(int(n_frames), dtype=np.float64)
        if n_frames <= 0:
            return out.astype(np.float32)
        g1 = g0 + int(n_frames)
        # Only the phases sounding in the span: a phase's sounds end with it, but for what
        # rings out after its end (a chime, the bell).
        ring = max(len(self._chime), len(self._soft_chime), len(self._bell))
        runs = [r for r in self._reading.runs()
                if round(r.start_s * sr) < g1
                and (r.end_s is None or round(r.end_s * sr) + ring > g0)]
        for run in runs:
            self._mix_run(run, g0, g1, out)
        for run in runs:
            for _, s in self._reading.scheduled(run):
                if s.onset_s * sr < g1 and self._audible(s) and (
                    s.id not in self._rendered or self._moved(s)
                ):
                    self._rendered[s.id] = s
        np.clip(out, -1.0, 1.0, out=out)
        return out.astype(np.float32)

    def cues_in(self, start_s: float, end_s: float) -> list[ScheduledCue]:
        """Cues whose onset lies in ``[start_s, end_s)``: as rendered for what was rendered,
        as planned now for the rest."""
        found = {c.id: c for c in self._rendered.values() if start_s <= c.onset_s < end_s}
        for c in self._reading.cues_between(start_s, end_s):
            if c.id not in self._rendered and c.id not in found:
                found[c.id] = c
        return sorted(found.values(), key=lambda c: (c.onset_s, c.id))

    def confirm_played(self, cue: ScheduledCue, actual_s: float) -> None:
        """The cue was heard at session time ``actual_s``: store its audio marker once (kind
        ``audio``; extra: scheduled onset, cue kind, phase, text, error in ms)."""
        if self.recorder is None or self._confirmed.get(cue.id) == cue.onset_s:
            return
        restarted = cue.id in self._confirmed
        self._confirmed[cue.id] = cue.onset_s
        extra: dict[str, Any] = {
            "scheduled_s": round(cue.onset_s, 6),
            "cue": cue.kind,
            "phase": cue.phase_id,
            "cue_id": cue.id,
            "into_phase_s": round(cue.tau_s, 6),
            "error_ms": round(1000.0 * (actual_s - cue.onset_s), 3),
        }
        if cue.kind in (CueKind.INSTRUCTIONS, CueKind.PROMPT):
            extra.update(text=cue.text, voice=self.voice or "", rate_wpm=self.rate_wpm,
                         engine=self.engine_name)
        elif cue.kind == CueKind.RECORDING:
            extra["file"] = cue.text
        if restarted:
            extra["restarted"] = True  # the plan moved after its first onset was played
        self.recorder.add_marker(cue.label, kind=MarkerKind.AUDIO, onset_s=actual_s,
                                 extra=extra)

    # -- mixing ----------------------------------------------------------------------------

    def _moved(self, s: ScheduledCue) -> bool:
        """Whether ``s`` was rendered with another onset (the plan moved after an output
        rendered it ahead)."""
        seen = self._rendered.get(s.id)
        return seen is not None and abs(seen.onset_s - s.onset_s) * self.sample_rate >= 0.5

    def _audible(self, s: ScheduledCue) -> bool:
        # A chime or the bell that moved was heard where it was rendered: not struck twice.
        # Speech, a recording or the pacer starts again where it now belongs (only the
        # output's look-ahead of it was heard early).
        return not (self._moved(s) and s.kind in _STRUCK)

    def _placed(self, run: PhaseRun) -> list[_Placed]:
        sr = self.sample_rate
        placed = []
        for cue, s in self._reading.scheduled(run):
            if not self._audible(s):
                continue
            first = round(cue.tau_s * sr)
            placed.append(_Placed(cue, s, first, self._length(run, cue)))
        return placed

    def _length(self, run: PhaseRun, cue: PhaseCue) -> int:
        if cue.kind is CueKind.START_CHIME:
            return len(self._chime)
        if cue.kind is CueKind.END_CHIME:
            return len(self._soft_chime)
        if cue.kind is CueKind.HALFWAY_BELL:
            return len(self._bell)
        if cue.kind in (CueKind.INSTRUCTIONS, CueKind.PROMPT):
            return len(self._speech[cue.text])
        if cue.kind is CueKind.RECORDING:
            return self._recordings[run.index].n_frames
        return 1 << 62  # the pacer: until the phase ends

    def _clip(self, run: PhaseRun, cue: PhaseCue, first: int, count: int) -> Samples:
        """Frames ``first .. first + count`` of the cue's own sound (0 = its onset)."""
        if cue.kind is CueKind.RECORDING:
            return self._recordings[run.index].frames(first, count)
        if cue.kind is CueKind.PACER:
            pacer = run.phase.pacer
            assert pacer is not None
            frames = np.arange(first, first + count, dtype=np.int64)
            tau = frames / self.sample_rate
            if run.phase.cues.pacer_sound is PacerSound.BREATH:
                if self._noise is None:
                    self._noise = synth.breath_noise(self.sample_rate)
                return synth.pacer_breath(pacer, tau, frames, self._noise)
            return synth.pacer_tone(pacer, tau)
        sound = {
            CueKind.START_CHIME: self._chime,
            CueKind.END_CHIME: self._soft_chime,
            CueKind.HALFWAY_BELL: self._bell,
        }.get(cue.kind)
        if sound is None:
            sound = self._speech[cue.text]
        return sound[first:first + count]

    def _mix_run(self, run: PhaseRun, g0: int, g1: int, out: npt.NDArray[np.float64]) -> None:
        """Add the sounds of ``run`` falling in session frames ``[g0, g1)`` to ``out``."""
        sr = self.sample_rate
        placed = self._placed(run)
        if not placed:
            return
        k_end = None if run.length_s is None else round(run.length_s * sr)
        fade = max(1, round(FADE_S * sr))
        for i, seg in enumerate(run.segments):
            a = round(seg.start_s * sr)
            k0 = round(seg.tau_start_s * sr)
            k_seg_end = k0 + round(seg.end_s * sr) - a
            # The last segment of a phase whose end is known runs on past that end for what
            # rings out (chimes, bell); any other segment stops where the protocol was held.
            open_ended = i == len(run.segments) - 1 and k_end is not None
            k_lo, k_hi = k0 + (g0 - a), k0 + (g1 - a)
            for p in placed:
                cut = p.cue.kind in CUT_AT_PHASE_END
                stop = (k_end if cut else None) if open_ended else k_seg_end
                c_lo = max(k_lo, k0, p.first)
                c_hi = min(k_hi, p.first + p.length)
                if stop is not None:
                    c_hi = min(c_hi, stop)
                if c_lo >= c_hi:
                    continue
                clip = self._clip(run, p.cue, c_lo - p.first, c_hi - c_lo).astype(np.float64)
                ks = np.arange(c_lo, c_lo + len(clip))
                gain = np.ones(len(clip))
                if i > 0:  # resumed after a pause: fade back in
                    gain = np.minimum(gain, np.clip((ks - k0) / fade, 0.0, 1.0))
                if stop is not None:
                    gain = np.minimum(gain, np.clip((stop - ks) / fade, 0.0, 1.0))
                at = a + (c_lo - k0) - g0
                out[at:at + len(clip)] += clip * gain

