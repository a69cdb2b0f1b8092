"""The built-in protocol library, and composing lab templates with any practice.

Built-ins are TOML files in :mod:`protocols.builtin` (package data, read with
:mod:`importlib.resources`), one protocol per file named after its id.

:func:`get_protocol` takes

- a protocol id: ``"soothing_touch"``;
- a template with a practice: ``"stress_reactivity:soothing_touch"`` (baseline 5 min,
  self-report, stressor 5 min, self-report, practice 10 min, self-report, recovery 10 min);
- a comparison of two practices in the given order (the study design decides it):
  ``"practice_comparison:affectionate_breathing,mindfulness_of_breathing"`` (baseline 5 min,
  self-report, practice A 10 min, self-report, washout rest 5 min, self-report, practice B
  10 min, self-report, recovery 5 min);
- a path to a ``.toml`` file (also allowed as the practice of a template).

The bare template ids compose with defaults: ``stress_reactivity`` with ``quiet_rest`` (a
neutral control condition) and ``practice_comparison`` with
``affectionate_breathing,mindfulness_of_breathing``.

Composition rules
-----------------
Each ``practice`` phase of the template is a slot. A slot is filled with the practice
protocol's own ``practice`` phase(s) (its settle-in and self-report phases are not used: the
template has its own). The filled phase keeps the slot's id and duration (several practice
phases share the slot's duration in proportion to their own durations and get ids
``<slot>_<phase>``); it takes the practice's name, instructions, pacer, expected breathing rate,
practice id and category. Guidance prompts are **rescaled** in time by slot duration / practice
duration, so the practice's arc (opening, middle, closing) is kept; times are rounded to 0.1 s
and a prompt that would land on or after an earlier one is dropped. The filled phase keeps the
practice's audio cues, spoken wording and recorded guidance (played from the start and cut at
the slot's end when it is longer), and takes the slot's ``feedback``, except that a breathing
practice (biofeedback by design) keeps its own. The template's ``participant_screen`` is kept.

Overrides (keyword arguments of :func:`get_protocol`, applied after composition):

``rate``          breaths/min of every paced practice phase (2-30); the expected breathing
                  rate follows. An error for a protocol without a paced practice.
``ie_ratio``      inhale:exhale ratio of every paced practice phase (> 0).
``practice_min``  duration of every practice phase, minutes (prompts rescaled as above).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.resources
from pathlib import Path
from typing import Any

from biofeedback.core.errors import BiofeedbackError
from protocols.loader import load_protocol_file, load_protocol_text, validate_pacer
from protocols.model import (
    GuidancePrompt,
    PacerSettings,
    Phase,
    PhaseKind,
    PracticeProtocol,
    ProtocolCategory,
)

__all__ = [
    "COMPARISON_TEMPLATE",
    "DEFAULT_COMPARISON",
    "DEFAULT_STRESS_PRACTICE",
    "OVERRIDES",
    "STRESS_TEMPLATE",
    "ProtocolOverrideError",
    "UnknownProtocolError",
    "apply_overrides",
    "compose",
    "get_protocol",
    "list_practices",
    "list_protocols",
]

STRESS_TEMPLATE = "stress_reactivity"
COMPARISON_TEMPLATE = "practice_comparison"
TEMPLATES = (STRESS_TEMPLATE, COMPARISON_TEMPLATE)
DEFAULT_STRESS_PRACTICE = "quiet_rest"
DEFAULT_COMPARISON = ("affectionate_breathing", "mindfulness_of_breathing")
OVERRIDES = ("rate", "ie_ratio", "practice_min")

_CATEGORY_ORDER = {c: i for i, c in enumerate(ProtocolCategory)}
_PRACTICE_CATEGORIES = {
    ProtocolCategory.SELF_SOOTHING,
    ProtocolCategory.ATTENTION,
    ProtocolCategory.BREATHING,
    ProtocolCategory.NEUTRAL,
}
VARIABILITY_NOTE = (
    "Responses vary from person to person and day to day; some compassion practices can "
    "briefly lower HRV, and that is not a sign of doing anything wrong."
)


class UnknownProtocolError(BiofeedbackError, LookupError):
    """No protocol with that id (the message lists close matches and the known ids)."""


class ProtocolOverrideError(BiofeedbackError, ValueError):
    """An override or a composition that cannot apply to the protocol asked for."""


# ------------------------------------------------------------------------------ built-ins


@functools.cache
def _raw_builtins() -> dict[str, PracticeProtocol]:
    """Every built-in TOML file, loaded as written (templates not composed)."""
    found: dict[str, PracticeProtocol] = {}
    for entry in importlib.resources.files("protocols.builtin").iterdir():
        if not entry.name.endswith(".toml"):
            continue
        text = entry.read_bytes().decode("utf-8")
        protocol = load_protocol_text(
            text, f"protocols/builtin/{entry.name}", base_dir=Path(str(entry)).parent
        )
        found[protocol.id] = protocol
    return found


def _builtin(protocol_id: str) -> PracticeProtocol:
    builtins = _raw_builtins()
    if protocol_id in builtins:
        return builtins[protocol_id]
    known = sorted(builtins)
    close = difflib.get_close_matches(protocol_id, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownProtocolError(
        f"no protocol {protocol_id!r}{hint} (known: {', '.join(known)}; templates "
        f"'stress_reactivity:PRACTICE', 'practice_comparison:FIRST,SECOND'; or a .toml file)"
    )


def list_protocols() -> list[PracticeProtocol]:
    """Every built-in, sorted by category (in :class:`ProtocolCategory` order) then name.

    Templates appear composed with their default practices."""
    protocols = [get_protocol(pid) for pid in _raw_builtins()]
    return sorted(protocols, key=lambda p: (_CATEGORY_ORDER[p.category], p.name.lower()))


def list_practices() -> list[PracticeProtocol]:
    """Built-ins that can fill a template slot (everything but the templates)."""
    return [p for p in list_protocols() if p.id not in TEMPLATES]


# ------------------------------------------------------------------------------ lookup


def _is_path(spec: str) -> bool:
    return spec.endswith(".toml") or "/" in spec or "\\" in spec


def _resolve_practice(spec: str) -> PracticeProtocol:
    spec = spec.strip()
    if _is_path(spec):
        protocol = load_protocol_file(spec)
    else:
        if spec in TEMPLATES:
            raise ProtocolOverrideError(
                f"{spec!r} is a template, not a practice; give a practice such as "
                f"'soothing_touch' or 'mindfulness_of_breathing'"
            )
        protocol = _builtin(spec)
    if protocol.category not in _PRACTICE_CATEGORIES:
        raise ProtocolOverrideError(
            f"{protocol.id!r} is a {protocol.category.value} protocol, not a practice"
        )
    if not any(p.kind is PhaseKind.PRACTICE for p in protocol.phases):
        raise ProtocolOverrideError(f"{protocol.id!r} has no practice phase to put in a template")
    return protocol


def get_protocol(spec: str, **overrides: Any) -> PracticeProtocol:
    """The protocol named by ``spec`` (see the module docstring), with ``overrides`` applied.

    Raises :class:`UnknownProtocolError` for an unknown id,
    :class:`ProtocolOverrideError` for an impossible composition or override, and
    :class:`~biofeedback.core.errors.InputFileError` for a bad file."""
    spec = spec.strip()
    if not spec:
        raise UnknownProtocolError("no protocol id given")
    template_id, sep, rest = spec.partition(":")
    if sep and template_id in TEMPLATES:
        names = [n.strip() for n in rest.split(",")] if rest.strip() else []
        protocol = _compose_named(template_id, names)
    elif sep and not _is_path(spec):
        _builtin(template_id)  # unknown id -> UnknownProtocolError with suggestions
        raise ProtocolOverrideError(
            f"{template_id!r} is not a template; templates: {', '.join(TEMPLATES)}"
        )
    elif spec in TEMPLATES:
        default = (
            [DEFAULT_STRESS_PRACTICE] if spec == STRESS_TEMPLATE else list(DEFAULT_COMPARISON)
        )
        protocol = _compose_named(spec, default, keep_id=True)
    elif _is_path(spec):
        protocol = load_protocol_file(spec)
    else:
        protocol = _builtin(spec)
    return apply_overrides(protocol, **overrides) if overrides else protocol


def _compose_named(
    template_id: str, names: list[str], *, keep_id: bool = False
) -> PracticeProtocol:
    template = _builtin(template_id)
    slots = [p for p in template.phases if p.kind is PhaseKind.PRACTICE]
    if len(names) != len(slots) or not all(names):
        example = (
            "stress_reactivity:soothing_touch"
            if template_id == STRESS_TEMPLATE
            else "practice_comparison:affectionate_breathing,mindfulness_of_breathing"
        )
        raise ProtocolOverrideError(
            f"{template_id!r} takes {len(slots)} practice(s) separated by commas, got "
            f"{len(names)}: e.g. {example!r}"
        )
    practices = [_resolve_practice(n) for n in names]
    if len({p.id for p in practices}) != len(practices):
        raise ProtocolOverrideError(f"{template_id!r} needs different practices, got {names}")
    composed = compose(template, practices)
    if keep_id:
        composed = dataclasses.replace(composed, id=template.id, name=template.name)
    return composed


# ------------------------------------------------------------------------------ composing


def _rescale_prompts(
    prompts: tuple[GuidancePrompt, ...], old_s: float, new_s: float
) -> tuple[GuidancePrompt, ...]:
    factor = new_s / old_s
    out: list[GuidancePrompt] = []
    for prompt in prompts:
        at = round(prompt.at_s * factor, 1)
        if at >= new_s or (out and at <= out[-1].at_s):
            continue
        out.append(GuidancePrompt(at_s=at, text=prompt.text))
    return tuple(out)


def _resize(phase: Phase, duration_s: float) -> Phase:
    if duration_s == phase.duration_s:
        return phase
    return dataclasses.replace(
        phase,
        duration_s=duration_s,
        prompts=_rescale_prompts(phase.prompts, phase.duration_s, duration_s),
    )


def _fill(slot: Phase, practice: PracticeProtocol) -> list[Phase]:
    parts = [p for p in practice.phases if p.kind is PhaseKind.PRACTICE]
    total = sum(p.duration_s for p in parts)
    filled = []
    for part in parts:
        share = slot.duration_s * part.duration_s / total
        phase = _resize(part, share)
        filled.append(
            dataclasses.replace(
                phase,
                id=slot.id if len(parts) == 1 else f"{slot.id}_{part.id}",
                # The template decides whether the participant watches (a lab hides it), but
                # a breathing practice is biofeedback: it keeps its own setting.
                feedback=(part.feedback if part.category is ProtocolCategory.BREATHING
                          else slot.feedback),
            )
        )
    return filled


def compose(template: PracticeProtocol, practices: list[PracticeProtocol]) -> PracticeProtocol:
    """Fill the template's practice slots, in order, with the practices (rules above)."""
    slots = [p for p in template.phases if p.kind is PhaseKind.PRACTICE]
    if len(slots) != len(practices):
        raise ProtocolOverrideError(
            f"template {template.id!r} has {len(slots)} practice slot(s), got {len(practices)}"
        )
    fill = iter(practices)
    phases: list[Phase] = []
    for phase in template.phases:
        if phase.kind is PhaseKind.PRACTICE:
            phases.extend(_fill(phase, next(fill)))
        else:
            phases.append(phase)
    ids = [p.id for p in phases]
    if len(set(ids)) != len(ids):
        raise ProtocolOverrideError(f"composing {template.id!r} gives duplicate phase ids {ids}")
    names = " then ".join(p.name for p in practices)
    description = f"{template.description} Practice: {names}."
    if any(p.category is ProtocolCategory.SELF_SOOTHING for p in practices):
        description += " " + VARIABILITY_NOTE
    sources: list[str] = []
    for source in (*template.sources, *(s for p in practices for s in p.sources)):
        if source not in sources:
            sources.append(source)
    return PracticeProtocol(
        id=f"{template.id}:{','.join(p.id for p in practices)}",
        name=f"{template.name}: {names}",
        category=template.category,
        description=description,
        phases=tuple(phases),
        sources=tuple(sources),
        participant_screen=template.participant_screen,
    )


# ------------------------------------------------------------------------------ overrides


def apply_overrides(protocol: PracticeProtocol, **overrides: Any) -> PracticeProtocol:
    """``rate``, ``ie_ratio`` and ``practice_min`` applied to the practice phases."""
    for key in overrides:
        if key not in OVERRIDES:
            close = difflib.get_close_matches(key, OVERRIDES, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ProtocolOverrideError(
                f"unknown override {key!r}{hint} (known: {', '.join(OVERRIDES)})"
            )
    values = {k: v for k, v in overrides.items() if v is not None}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ProtocolOverrideError(f"{key} must be a positive number, not {value!r}")
    practice = [p for p in protocol.phases if p.kind is PhaseKind.PRACTICE]
    if not practice and values:
        raise ProtocolOverrideError(f"{protocol.id!r} has no practice phase to adjust")
    paced = [p for p in practice if p.pacer is not None]
    if ("rate" in values or "ie_ratio" in values) and not paced:
        raise ProtocolOverrideError(
            f"{protocol.id!r} has no breathing pacer (its practice uses natural breathing); "
            "rate and ie_ratio apply to paced practices such as 'resonance_breathing'"
        )
    phases = []
    for phase in protocol.phases:
        if phase.kind is PhaseKind.PRACTICE:
            if phase.pacer is not None and ("rate" in values or "ie_ratio" in values):
                pacer = PacerSettings(
                    breaths_per_min=float(values.get("rate", phase.pacer.breaths_per_min)),
                    inhale_exhale_ratio=float(
                        values.get("ie_ratio", phase.pacer.inhale_exhale_ratio)
                    ),
                    hold_after_inhale_s=phase.pacer.hold_after_inhale_s,
                    hold_after_exhale_s=phase.pacer.hold_after_exhale_s,
                )
                problem = validate_pacer(pacer)
                if problem:
                    raise ProtocolOverrideError(f"phase {phase.id!r}: {problem}")
                phase = dataclasses.replace(
                    phase, pacer=pacer, expected_breaths_per_min=pacer.breaths_per_min
                )
            if "practice_min" in values:
                phase = _resize(phase, float(values["practice_min"]) * 60.0)
        phases.append(phase)
    return dataclasses.replace(protocol, phases=tuple(phases))

