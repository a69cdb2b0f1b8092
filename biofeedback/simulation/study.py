"""Simulated studies: virtual participants with a known practice effect, recorded into a study.

:func:`simulate_study` creates a within-subject study comparing a self-soothing practice with
an attention practice (Williams / AB-BA order through :mod:`biofeedback.store.studies`), draws
seeded participants with realistic between-person variation, and records their sessions with
the simulated strap at maximum speed, exactly as ``biofeedback record --study`` would (same
protocol composition, same session settings, same study placement). The truth is stored with
the study (``settings["simulation"]``) and with every session (``settings["simulation"]``), and
returned as a :class:`SimulatedStudy`.

What varies between participants (all seeded)
----------------------------------------------
* Resting heart rate ~ N(68, 8) bpm, clipped to 48-95 (adult seated norms; Nunan et al. 2010,
  Pacing Clin Electrophysiol 33(11):1407-1417, pool a resting HR in the high 60s).
* Resting lnRMSSD ~ N(ln 42 ms, 0.4), clipped to ln 12-ln 110: Nunan et al. 2010 pool a
  short-term RMSSD of 42 ms with a normal range of 19-75 ms; an SD of 0.4 in ln units puts the
  central 95 % of people at 19-92 ms. It is reached by scaling the simulator's oscillation
  amplitudes (RSA, Mayer wave, VLF drift, beat jitter) by a per-person *amplitude gain*
  (:class:`~sensors.simulated.PhysiologyParams`, passed to the strap), calibrated by
  simulation so the person's clean resting lnRMSSD (vagal level 0.5) hits the draw.
* Spontaneous breathing: 12/min + N(0, 1.5) per person, in every unpaced phase; each practice
  adds its own expected rate difference (``expected_breaths_per_min`` of the protocol, e.g.
  soothing touch 10/min, mindfulness of breathing 11/min) plus N(0, 0.75) per person and
  practice; paced phases breathe at the pacer rate. Clipped to 5-20 breaths/min.
* Artifacts: missed + extra beats ~ U(0, 3 %) per person (split at random between the two),
  plus 0.2 % ectopic pairs (true ectopy in healthy adults, docs/domain.md section 4). No dropped
  notifications (gaps would change phase lengths; see the report of issue 6).
* Day-to-day: each session scales the amplitude gain by exp(N(0, 0.1)), which shifts every
  phase's lnRMSSD of that session by about the same amount.

The known effect
----------------
Participant *i* has a true effect ``delta_i ~ N(effect_ln_rmssd, effect_sd)``: the expected
lnRMSSD of the self-soothing practice phases minus that of the attention practice phases, as
the analysis measures it (RMSSD of the clean series). The attention practice keeps the
simulator's default practice vagal level
(:data:`sensors.simulated.protocol_schedule.VAGAL_LEVEL_BY_CATEGORY`);
the self-soothing practice's vagal level is solved by bisection so that the clean model
lnRMSSD at the person's own breathing rates differs by exactly ``delta_i``. Breathing also
moves RMSSD (slower breathing raises RSA, Vaschillo et al. 2002), so the vagal level absorbs
the breathing difference: an effect of 0 means equal lnRMSSD, not equal vagal tone. Both
parts are stored (``vagal_part_ln_rmssd``, ``breathing_part_ln_rmssd``) for the breathing
confound analyses.

Mapping vagal level -> lnRMSSD (defaults, 12 breaths/min, 65 bpm at level 0.5, 30-min clean
series): 0.1 -> 2.36, 0.3 -> 3.20, 0.5 -> 3.74, 0.7 -> 4.15, 0.9 -> 4.49, i.e. about
+0.25 lnRMSSD per +0.1 level near rest, concave; at 10 breaths/min +0.20, at 6/min +0.34
at any level. Hence the calibration by simulation rather than a fixed slope.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from biofeedback.core.errors import BiofeedbackError
from biofeedback.session.launch import StudyPlacement
from biofeedback.session.studies import create_study, enrol
from biofeedback.store.database import SessionStore
from biofeedback.store.studies import Study, StudyError, StudyNotFoundError, get_study
from protocols.design import assign_order
from protocols.model import GuidancePrompt, PhaseKind, PracticeProtocol
from sensors.simulated import ArtifactRates, PhysiologyParams, PhysiologySegment

__all__ = [
    "DESIGNS",
    "ParticipantTruth",
    "SessionTruth",
    "SimulatedStudy",
    "SimulationSetupError",
    "clean_ln_rmssd",
    "simulate_study",
]

DESIGNS: Final = ("practice_comparison", "separate")
"""``practice_comparison``: both practices in one session, in the participant's order;
``separate``: one session per practice, in the participant's order."""

HR_MEAN_BPM: Final = 68.0
HR_SD_BPM: Final = 8.0
HR_RANGE_BPM: Final = (48.0, 95.0)
LN_RMSSD_MEAN: Final = math.log(42.0)
"""Resting RMSSD 42 ms (Nunan et al. 2010)."""
LN_RMSSD_SD: Final = 0.4
LN_RMSSD_RANGE: Final = (math.log(12.0), math.log(110.0))
REST_SD_BREATHS_PER_MIN: Final = 1.5
PRACTICE_SD_BREATHS_PER_MIN: Final = 0.75
BREATHING_RANGE_BREATHS_PER_MIN: Final = (5.0, 20.0)
MAX_MISSED_EXTRA: Final = 0.03
ECTOPIC_PAIR_RATE: Final = 0.002
DAY_SD_LN: Final = 0.1
DEFAULT_EFFECT_SD: Final = 0.1
MAX_ABS_EFFECT: Final = 1.0
"""Largest |effect| accepted, lnRMSSD units: the vagal scale (0..1) cannot reach much more
around a practice level of ~0.55 (the mapping in the module notes)."""
CALIBRATION_S: Final = 1200.0
"""Length of the clean series used for calibration, s (20 min: the lnRMSSD of one seed then
varies by < 0.01 between repeats, module-notes table)."""
VAGAL_BOUNDS: Final = (0.02, 0.98)
_BISECTION_STEPS: Final = 14
"""(0.98 - 0.02) / 2**14 = 6e-5 in vagal level, < 0.001 in lnRMSSD."""
_MAX_PARTICIPANTS: Final = 10_000
_MAX_SESSIONS: Final = 100


class SimulationSetupError(BiofeedbackError, ValueError):
    """A simulated study cannot be set up as asked (the message says why)."""


# ---------------------------------------------------------------------------- truth records


@dataclass(frozen=True, slots=True)
class SessionTruth:
    """What was simulated in one stored session.

    Attributes
    ----------
    session_id : int
        Stored session id.
    visit : int
        0-based repetition (``sessions_per_participant``).
    protocol_id : str
        Protocol run (``practice_comparison:A,B`` or a practice id).
    condition_position : int
        Position in the participant's order stored with the session (0 for a comparison).
    strap_seed : int
        Seed of the simulated strap (beats, artifacts) and of the simulated self-reports.
    day_ln_offset : float
        Day-to-day shift of the amplitude gain, ln units (about the lnRMSSD shift).
    amplitude_gain : float
        Amplitude gain used in this session (participant gain x exp(day offset)).
    """

    session_id: int
    visit: int
    protocol_id: str
    condition_position: int
    strap_seed: int
    day_ln_offset: float
    amplitude_gain: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class ParticipantTruth:
    """One simulated participant's true parameters.

    Attributes
    ----------
    participant_id : str
        Pseudonymous id in the store.
    enrol_index : int
        0-based order of enrolment.
    condition_order : tuple of str
        Their Williams order.
    baseline_hr_bpm : float
        Resting heart rate at vagal level 0.5, bpm.
    intrinsic_hr_bpm : float
        Heart rate without vagal outflow, bpm (max(100, resting + 20)).
    baseline_ln_rmssd : float
        Drawn resting lnRMSSD, ln ms.
    baseline_ln_rmssd_model : float
        Clean model lnRMSSD at rest after calibration, ln ms.
    amplitude_gain : float
        Multiplier of the simulator's oscillation amplitudes (RSA, Mayer, VLF, jitter).
    rest_breaths_per_min : float
        Spontaneous breathing rate, breaths/min (unpaced non-practice phases: 12 + offset).
    practice_breaths_per_min : dict
        Condition -> breathing rate of each of its practice phases, breaths/min.
    practice_vagal_level : dict
        Condition -> vagal level (0..1) of each of its practice phases.
    practice_ln_rmssd_model : dict
        Condition -> clean model lnRMSSD of each of its practice phases, ln ms.
    true_effect_ln_rmssd : float
        Drawn effect: self-soothing minus attention practice lnRMSSD, ln units.
    model_effect_ln_rmssd : float
        The effect the calibrated model produces (equals the drawn one unless ``clamped``).
    vagal_part_ln_rmssd : float
        Part due to vagal level alone (both at the attention breathing rate), ln units.
    breathing_part_ln_rmssd : float
        Part due to breathing alone (both at the attention vagal level), ln units.
    clamped : bool
        The vagal level needed was outside 0.02-0.98 and was clamped.
    artifacts : dict
        The strap's artifact rates (:class:`~sensors.simulated.ArtifactRates` fields).
    sessions : tuple of SessionTruth
        The sessions recorded.
    """

    participant_id: str
    enrol_index: int
    condition_order: tuple[str, ...]
    baseline_hr_bpm: float
    intrinsic_hr_bpm: float
    baseline_ln_rmssd: float
    baseline_ln_rmssd_model: float
    amplitude_gain: float
    rest_breaths_per_min: float
    practice_breaths_per_min: dict[str, list[float]]
    practice_vagal_level: dict[str, list[float]]
    practice_ln_rmssd_model: dict[str, list[float]]
    true_effect_ln_rmssd: float
    model_effect_ln_rmssd: float
    vagal_part_ln_rmssd: float
    breathing_part_ln_rmssd: float
    clamped: bool
    artifacts: dict[str, float]
    sessions: tuple[SessionTruth, ...] = ()

    def to_dict(self, *, sessions: bool = True) -> dict[str, Any]:
        """JSON-ready dict (``sessions=False`` leaves the session list out)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["condition_order"] = list(self.condition_order)
        out["sessions"] = [s.to_dict() for s in self.sessions]
        if not sessions:
            del out["sessions"]
        return out


@dataclass(frozen=True, slots=True)
class SimulatedStudy:
    """A simulated study as stored, with its ground truth.

    Attributes
    ----------
    name : str
        Study name.
    study : Study
        The study as stored (conditions, participants and their orders).
    settings : dict
        Every setting of the simulation (seed, sizes, practices, design, distributions).
    participants : tuple of ParticipantTruth
        Truth per participant, in order of enrolment.
    """

    name: str
    study: Study
    settings: dict[str, Any]
    participants: tuple[ParticipantTruth, ...] = field(default=())

    @property
    def session_ids(self) -> list[int]:
        """Every stored session id, in recording order."""
        return [s.session_id for p in self.participants for s in p.sessions]

    @property
    def mean_true_effect(self) -> float:
        """Mean of the participants' model effects, ln units (the sample's truth)."""
        return float(np.mean([p.model_effect_ln_rmssd for p in self.participants]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: study name, conditions, session ids and the ground truth."""
        return {
            "study": self.name,
            "conditions": list(self.study.conditions),
            "session_ids": self.session_ids,
            "settings": self.settings,
            "mean_true_effect_ln_rmssd": self.mean_true_effect,
            "participants": [p.to_dict() for p in self.participants],
        }


# ---------------------------------------------------------------------------- calibration


def _person_params(gain: float, rest_hr: float) -> PhysiologyParams:
    """Model constants of one person: default amplitudes x ``gain``, their resting HR."""
    base = PhysiologyParams()
    return dataclasses.replace(
        base,
        rest_hr_bpm=rest_hr,
        # Intrinsic HR must stay above the resting one so more vagal tone still slows the
        # heart (Jose & Collison 1970 give ~85-107 bpm at ages 20-60).
        intrinsic_hr_bpm=max(base.intrinsic_hr_bpm, rest_hr + 20.0),
        rsa_amplitude_ms=base.rsa_amplitude_ms * gain,
        mayer_amplitude_ms=base.mayer_amplitude_ms * gain,
        vlf_amplitude_ms=base.vlf_amplitude_ms * gain,
        beat_jitter_ms=base.beat_jitter_ms * gain,
    )


def clean_ln_rmssd(
    params: PhysiologyParams,
    vagal_level: float,
    breaths_per_min: float,
    *,
    seed: int,
    duration_s: float = CALIBRATION_S,
) -> float:
    """lnRMSSD of the simulator's clean (artifact-free) beats in a steady state.

    Parameters
    ----------
    params : PhysiologyParams
        Model constants (the person).
    vagal_level : float
        Vagal level, 0..1.
    breaths_per_min : float
        Breathing rate, breaths/min.
    seed : int
        Simulation seed (common random numbers: the same seed for every level compared).
    duration_s : float
        Length of the series, s.

    Returns
    -------
    float
        ln of RMSSD in ms.
    """
    from sensors.simulated import simulate_recording

    rec = simulate_recording(
        duration_s, seed=seed, params=params, rr_resolution_s=None,
        schedule=[PhysiologySegment(vagal_level=vagal_level, breaths_per_min=breaths_per_min)],
    )
    rr = rec.rr_ms[2:]  # the first interval follows the pre-roll; skip it
    return float(np.log(np.sqrt(np.mean(np.diff(rr) ** 2))))


def _solve_vagal(
    target: float, params: PhysiologyParams, breaths_per_min: float, seed: int
) -> tuple[float, bool]:
    """Vagal level giving clean lnRMSSD ``target`` (bisection; lnRMSSD rises with the level).

    Returns the level and whether it was clamped to :data:`VAGAL_BOUNDS`.
    """
    def ln_rmssd(level: float) -> float:
        # At extreme levels with a large amplitude gain the oscillations can stall the
        # integrate-and-fire model (no beat for seconds): too much, like a too-high value.
        try:
            return clean_ln_rmssd(params, level, breaths_per_min, seed=seed)
        except RuntimeError:
            return math.inf

    lo, hi = VAGAL_BOUNDS
    if ln_rmssd(lo) >= target:
        return lo, True
    if ln_rmssd(hi) <= target:
        return hi, True
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if ln_rmssd(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi), False


def _solve_gain(target: float, rest_hr: float, breaths_per_min: float, seed: int) -> float:
    """Amplitude gain giving clean resting lnRMSSD ``target`` at vagal level 0.5.

    RMSSD is nearly proportional to the amplitudes (RSA, jitter), so a multiplicative
    fixed-point step converges in a few iterations; the RSA ceiling (tanh at 25 % of RR)
    is what makes more than one step necessary at high gains.
    """
    gain = 1.0
    for _ in range(4):
        got = clean_ln_rmssd(_person_params(gain, rest_hr), 0.5, breaths_per_min, seed=seed)
        gain = float(np.clip(gain * math.exp(target - got), 0.15, 6.0))
    return gain


# ---------------------------------------------------------------------------- planning


def _practice_phases(practice: str) -> list[tuple[float | None, float | None, Any]]:
    """(pacer rate, expected rate, phase) of each practice phase of a practice protocol."""
    from protocols.library import get_protocol

    protocol = get_protocol(practice)
    return [
        (None if p.pacer is None else p.pacer.breaths_per_min, p.expected_breaths_per_min, p)
        for p in protocol.phases
        if p.kind is PhaseKind.PRACTICE
    ]


def _clip_breathing(value: float) -> float:
    return float(np.clip(value, *BREATHING_RANGE_BREATHS_PER_MIN))


def _plan_participant(
    index: int,
    participant_id: str,
    conditions: tuple[str, str],
    rng: np.random.Generator,
    effect: float,
    effect_sd: float,
    max_missed_extra: float,
) -> tuple[ParticipantTruth, int]:
    """Draw and calibrate one participant; returns the truth and the calibration seed."""
    from sensors.simulated.protocol_schedule import REST_BREATHS_PER_MIN, phase_conditions

    soothing, attention = conditions
    hr = float(np.clip(rng.normal(HR_MEAN_BPM, HR_SD_BPM), *HR_RANGE_BPM))
    ln_rest = float(np.clip(rng.normal(LN_RMSSD_MEAN, LN_RMSSD_SD), *LN_RMSSD_RANGE))
    rest_offset = float(rng.normal(0.0, REST_SD_BREATHS_PER_MIN))
    practice_offset = {c: float(rng.normal(0.0, PRACTICE_SD_BREATHS_PER_MIN)) for c in conditions}
    missed_extra = float(rng.uniform(0.0, 1.0)) * max_missed_extra
    split = float(rng.uniform())
    delta = float(rng.normal(effect, effect_sd)) if effect_sd > 0 else float(effect)
    calib_seed = int(rng.integers(0, 2**31 - 1))

    rest_breathing = _clip_breathing(REST_BREATHS_PER_MIN + rest_offset)
    gain = _solve_gain(ln_rest, hr, rest_breathing, calib_seed)
    params = _person_params(gain, hr)
    ln_rest_model = clean_ln_rmssd(params, 0.5, rest_breathing, seed=calib_seed)

    breathing: dict[str, list[float]] = {}
    default_vagal: dict[str, list[float]] = {}
    for c in conditions:
        breathing[c], default_vagal[c] = [], []
        for pacer, expected, phase in _practice_phases(c):
            if pacer is not None:
                rate = float(pacer)  # people follow a pacer closely
            else:
                base = REST_BREATHS_PER_MIN if expected is None else expected
                rate = _clip_breathing(base + rest_offset + practice_offset[c])
            breathing[c].append(rate)
            default_vagal[c].append(phase_conditions(phase)["vagal_level"])

    # Attention practice: the simulator's default practice level; its model lnRMSSD is the
    # reference (duration-weighted over its practice phases).
    att_weights = [p.duration_s for *_, p in _practice_phases(attention)]
    att_ln = [clean_ln_rmssd(params, v, b, seed=calib_seed)
              for v, b in zip(default_vagal[attention], breathing[attention], strict=True)]
    reference = float(np.average(att_ln, weights=att_weights))
    soo_levels, soo_ln, clamped = [], [], False
    for b in breathing[soothing]:
        level, hit = _solve_vagal(reference + delta, params, b, calib_seed)
        soo_levels.append(level)
        soo_ln.append(clean_ln_rmssd(params, level, b, seed=calib_seed))
        clamped = clamped or hit
    soo_weights = [p.duration_s for *_, p in _practice_phases(soothing)]
    model_effect = float(np.average(soo_ln, weights=soo_weights)) - reference
    # Decomposition at the first phase of each practice (one phase in every built-in).
    v_att, b_att = default_vagal[attention][0], breathing[attention][0]
    v_soo, b_soo = soo_levels[0], breathing[soothing][0]
    vagal_part = clean_ln_rmssd(params, v_soo, b_att, seed=calib_seed) - att_ln[0]
    breathing_part = clean_ln_rmssd(params, v_att, b_soo, seed=calib_seed) - att_ln[0]

    truth = ParticipantTruth(
        participant_id=participant_id,
        enrol_index=index,
        condition_order=assign_order(list(conditions), index),
        baseline_hr_bpm=hr,
        intrinsic_hr_bpm=params.intrinsic_hr_bpm,
        baseline_ln_rmssd=ln_rest,
        baseline_ln_rmssd_model=ln_rest_model,
        amplitude_gain=gain,
        rest_breaths_per_min=rest_breathing,
        practice_breaths_per_min=breathing,
        practice_vagal_level={attention: default_vagal[attention], soothing: soo_levels},
        practice_ln_rmssd_model={attention: att_ln, soothing: soo_ln},
        true_effect_ln_rmssd=delta,
        model_effect_ln_rmssd=model_effect,
        vagal_part_ln_rmssd=vagal_part,
        breathing_part_ln_rmssd=breathing_part,
        clamped=clamped,
        artifacts=ArtifactRates(
            missed=missed_extra * split, extra=missed_extra * (1.0 - split),
            ectopic_pair=ECTOPIC_PAIR_RATE,
        ).to_dict(),
    )
    return truth, calib_seed


# ---------------------------------------------------------------------------- sessions


def scale_protocol(protocol: PracticeProtocol, factor: float) -> PracticeProtocol:
    """``protocol`` with every phase ``factor`` times as long (prompts moved in proportion).

    Parameters
    ----------
    protocol : PracticeProtocol
        Protocol to shorten.
    factor : float
        Duration multiplier, > 0 (1 returns the protocol unchanged).
    """
    if factor == 1.0:
        return protocol
    phases = []
    for phase in protocol.phases:
        duration = phase.duration_s * factor
        prompts: list[GuidancePrompt] = []
        for prompt in phase.prompts:
            at = round(prompt.at_s * factor, 1)
            # Same rule as the library's rescaling: keep prompts strictly ordered, inside.
            if at < duration and (not prompts or at > prompts[-1].at_s):
                prompts.append(GuidancePrompt(at_s=at, text=prompt.text))
        phases.append(dataclasses.replace(phase, duration_s=duration, prompts=tuple(prompts)))
    return dataclasses.replace(protocol, phases=tuple(phases))


def _schedule(
    protocol: PracticeProtocol, truth: ParticipantTruth
) -> list[PhysiologySegment]:
    """The protocol's simulator schedule with this person's breathing and vagal levels.

    Starts from :func:`sensors.simulated.protocol_schedule.physiology_schedule` (vagal level
    by phase kind)
    and replaces the practice phases' values with the participant's calibrated ones and the
    unpaced phases' breathing with their own spontaneous rate.
    """
    from sensors.simulated.protocol_schedule import physiology_schedule

    segments = physiology_schedule(protocol)
    seen: dict[str, int] = {}
    out = []
    rest_offset = truth.rest_breaths_per_min - 12.0
    for segment, phase in zip(segments, protocol.phases, strict=True):
        cond = phase.practice
        if phase.kind is PhaseKind.PRACTICE and cond in truth.practice_vagal_level:
            j = seen.get(cond, 0)
            seen[cond] = j + 1
            segment = dataclasses.replace(
                segment,
                breaths_per_min=truth.practice_breaths_per_min[cond][j],
                vagal_level=truth.practice_vagal_level[cond][j],
            )
        elif phase.pacer is None:
            segment = dataclasses.replace(
                segment,
                breaths_per_min=_clip_breathing(segment.breaths_per_min + rest_offset),
            )
        out.append(segment)
    return out


def _record_session(
    store: SessionStore,
    protocol: PracticeProtocol,
    placement: StudyPlacement,
    truth: ParticipantTruth,
    *,
    strap_seed: int,
    gain: float,
    extra_settings: dict[str, Any],
) -> int:
    """Record one simulated session at maximum speed, placed in the study; its id.

    Goes through the composition root like every session: the same source factory, the same
    durability rule (a ``sim`` source at maximum speed batches its commits), the same
    protocol runner and study placement as ``record``.
    """
    from biofeedback.session.launch import (
        SessionRequest,
        SimulatedBody,
        assemble_session,
        make_source,
    )

    request = SessionRequest(
        source="sim", protocol_id=protocol.id, participant_id=truth.participant_id,
        study=placement.study, speed=None, seed=strap_seed, simulated_participant=True,
    )
    # As `record` does: the protocol's end stops the session, 2 s of slack for the strap.
    strap = make_source(
        request.source, protocol=protocol, seed=strap_seed, speed=None,
        body=SimulatedBody(
            schedule=_schedule(protocol, truth),
            artifacts=ArtifactRates(**truth.artifacts),
            params=_person_params(gain, truth.baseline_hr_bpm),
        ),
    )
    prepared = assemble_session(
        request, strap, store=store, protocol=protocol, placement=placement, neurokit=False,
        settings={"simulation": extra_settings}, owns_store=False,
    )
    asyncio.run(prepared.run())
    session_id = prepared.session.session_id
    if session_id is None:
        raise SimulationSetupError("the simulated strap produced no session (no beats)")
    return session_id


# ---------------------------------------------------------------------------- entry point


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (
        low <= value <= high
    ):
        raise SimulationSetupError(
            f"{name} must be a whole number from {low} to {high}, not {value!r}"
        )
    return int(value)


def _check_float(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        low <= float(value) <= high
    ):
        raise SimulationSetupError(f"{name} must be a number from {low:g} to {high:g}, "
                                   f"not {value!r}")
    return float(value)


def _participant_id(name: str, index: int) -> str:
    # Participant ids allow letters, digits, '-' and '_' only; study names also allow '.'.
    return f"{name.replace('.', '-')}-p{index + 1:03d}"


def simulate_study(
    store: SessionStore,
    name: str,
    *,
    participants: int,
    effect_ln_rmssd: float,
    seed: int,
    self_soothing: str = "soothing_touch",
    attention: str = "mindfulness_of_breathing",
    sessions_per_participant: int = 1,
    design: str = "practice_comparison",
    progress: Callable[[int, int], None] | None = None,
    duration_scale: float = 1.0,
    effect_sd: float = DEFAULT_EFFECT_SD,
    max_missed_extra: float = MAX_MISSED_EXTRA,
) -> SimulatedStudy:
    """Create a study of simulated participants with a known practice effect, and record it.

    Parameters
    ----------
    store : SessionStore
        Open store; the study and its sessions are written there.
    name : str
        New study name (letters, digits, ``-``, ``_``, ``.``).
    participants : int
        Number of simulated participants, 1-10000.
    effect_ln_rmssd : float
        Mean true effect: lnRMSSD during the self-soothing practice minus during the
        attention practice, ln units (|effect| <= 1).
    seed : int
        Seed of everything (non-negative); same seed, same beats.
    self_soothing, attention : str
        Practice ids of the two conditions (any two different practices; the effect is
        self_soothing minus attention).
    sessions_per_participant : int
        Repetitions per participant (visits), 1-100.
    design : {"practice_comparison", "separate"}
        Both practices in one ``practice_comparison:A,B`` session in the participant's order,
        or one session per practice in that order (per visit).
    progress : callable, optional
        Called as ``progress(i, n)`` when participant ``i`` (1-based) of ``n`` starts.
    duration_scale : float
        Multiplier of every phase's duration, (0, 4] (shorter sessions for tests, longer
        ones for benchmarks).
    effect_sd : float
        Between-person SD of the true effect, ln units (default 0.1).
    max_missed_extra : float
        Upper end of the per-person missed + extra beat probability, 0-0.2 (default 0.03;
        each person draws U(0, 1) x this).

    Returns
    -------
    SimulatedStudy
        The stored study and the ground truth (also in the study's and every session's
        ``settings["simulation"]``).

    Raises
    ------
    SimulationSetupError
        A number out of range, an unknown design or twice the same practice.
    StudyError
        A study of that name exists already, or a bad name.
    UnknownProtocolError, ProtocolOverrideError
        A practice that is unknown or cannot fill the comparison template.
    """
    from protocols.library import get_protocol

    n = _check_int("the number of participants", participants, 1, _MAX_PARTICIPANTS)
    k = _check_int("the number of sessions per participant", sessions_per_participant, 1,
                   _MAX_SESSIONS)
    effect = _check_float("the effect (lnRMSSD)", effect_ln_rmssd, -MAX_ABS_EFFECT,
                          MAX_ABS_EFFECT)
    sd = _check_float("the SD of the effect", effect_sd, 0.0, 1.0)
    scale = _check_float("the duration scale", duration_scale, 1e-3, 4.0)
    artifact_max = _check_float("the largest missed + extra beat rate", max_missed_extra,
                                0.0, 0.2)
    seed = _check_int("the seed", seed, 0, 2**63 - 1)
    if design not in DESIGNS:
        raise SimulationSetupError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")
    if self_soothing == attention:
        raise SimulationSetupError(
            f"the two practices must differ; both are {self_soothing!r}"
        )
    # Validates both practices (unknown ids, non-practices) before anything is written.
    get_protocol(f"practice_comparison:{self_soothing},{attention}")
    try:
        get_study(store, name)
    except StudyNotFoundError:
        pass
    else:
        raise StudyError(f"a study named {name!r} exists already; choose another name")

    conditions = (self_soothing, attention)
    settings: dict[str, Any] = {
        "seed": seed,
        "participants": n,
        "sessions_per_participant": k,
        "design": design,
        "self_soothing": self_soothing,
        "attention": attention,
        "effect_ln_rmssd": effect,
        "effect_sd": sd,
        "duration_scale": scale,
        "distributions": {
            "baseline_hr_bpm": {"normal": [HR_MEAN_BPM, HR_SD_BPM], "clip": list(HR_RANGE_BPM)},
            "baseline_ln_rmssd": {"normal": [LN_RMSSD_MEAN, LN_RMSSD_SD],
                                  "clip": list(LN_RMSSD_RANGE),
                                  "source": "Nunan et al. 2010 (RMSSD 42 ms, 19-75)"},
            "rest_offset_breaths_per_min": {"normal": [0.0, REST_SD_BREATHS_PER_MIN]},
            "practice_offset_breaths_per_min": {"normal": [0.0, PRACTICE_SD_BREATHS_PER_MIN]},
            "breathing_clip_breaths_per_min": list(BREATHING_RANGE_BREATHS_PER_MIN),
            "missed_plus_extra": {"uniform": [0.0, artifact_max]},
            "ectopic_pair": ECTOPIC_PAIR_RATE,
            "day_ln_offset": {"normal": [0.0, DAY_SD_LN]},
        },
        "calibration": {"duration_s": CALIBRATION_S, "vagal_bounds": list(VAGAL_BOUNDS),
                        "method": "bisection on clean simulated lnRMSSD"},
    }

    # Everything random is drawn, and calibrated, before the store is touched, from one
    # generator per participant: participant i is the same whatever the study's size.
    plans = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        truth, _ = _plan_participant(i, _participant_id(name, i), conditions, rng, effect, sd,
                                      artifact_max)
        day = [float(rng.normal(0.0, DAY_SD_LN)) for _ in range(k * len(conditions))]
        strap_seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=k * len(conditions))]
        plans.append((truth, day, strap_seeds))

    create_study(
        store, name, list(conditions),
        settings={"simulation": {"settings": settings,
                                 "participants": [t.to_dict(sessions=False)
                                                  for t, _, _ in plans]}},
    )
    done: list[ParticipantTruth] = []
    for i, (truth, day, strap_seeds) in enumerate(plans):
        if progress is not None:
            progress(i + 1, n)
        enrolment = enrol(store, name, truth.participant_id)
        order = tuple(enrolment.condition_order)
        if order != truth.condition_order:  # the study machinery decides; keep truth honest
            truth = dataclasses.replace(truth, condition_order=order)
        runs: list[tuple[int, str, int]] = []  # (visit, protocol spec, position)
        for visit in range(k):
            if design == "practice_comparison":
                runs.append((visit, "practice_comparison:" + ",".join(order), 0))
            else:
                runs.extend((visit, cond, pos) for pos, cond in enumerate(order))
        sessions = []
        for j, (visit, spec, position) in enumerate(runs):
            protocol = scale_protocol(get_protocol(spec), scale)
            placement = StudyPlacement(name, truth.participant_id, position, order)
            gain = truth.amplitude_gain * math.exp(day[j])
            extra = {
                "settings": settings,
                "participant": truth.to_dict(sessions=False),
                "session": {"visit": visit, "strap_seed": strap_seeds[j],
                            "day_ln_offset": day[j], "amplitude_gain": gain},
            }
            sid = _record_session(store, protocol, placement, truth, strap_seed=strap_seeds[j],
                                  gain=gain, extra_settings=extra)
            sessions.append(SessionTruth(sid, visit, protocol.id, position, strap_seeds[j],
                                         day[j], gain))
        done.append(dataclasses.replace(truth, sessions=tuple(sessions)))
    return SimulatedStudy(name, get_study(store, name), settings, tuple(done))
