"""``biofeedback protocols``: list, show and validate practice protocols.

``biofeedback protocols [list] [--json]``, ``biofeedback protocols show SPEC [--json]``
(SPEC: an id, ``stress_reactivity:PRACTICE``, ``practice_comparison:A,B`` or a .toml file) and
``biofeedback protocols validate FILE``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from biofeedback.cli.progress import format_clock
from protocols.library import get_protocol, list_protocols
from protocols.loader import load_protocol_file
from protocols.model import Phase, PracticeProtocol


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command and its subcommands (``list`` is the default)."""
    p = commands.add_parser(
        "protocols", help="list, show and validate practice protocols",
        description="Practice and lab protocols: built-ins, templates and TOML files.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_list)
    sub = p.add_subparsers(dest="protocols_command", metavar="SUBCOMMAND")

    lst = sub.add_parser("list", help="list the built-in protocols (default)")
    # SUPPRESS: a --json given before the subcommand must not be reset by the subparser.
    lst.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    lst.set_defaults(run=run_list)

    show = sub.add_parser(
        "show", help="show every phase of a protocol",
        description="SPEC: a protocol id, 'stress_reactivity:PRACTICE', "
        "'practice_comparison:FIRST,SECOND' or a .toml file.",
    )
    show.add_argument("spec", metavar="SPEC", help="protocol id, template:practice or file")
    show.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON"
    )
    show.set_defaults(run=run_show)

    val = sub.add_parser(
        "validate", help="check a protocol TOML file",
        description="Check a protocol file: its keys and values, its recorded guidance "
        "files, and that every text it speaks can be synthesized with this machine's "
        "text-to-speech engine (and --voice).",
    )
    val.add_argument("file", metavar="FILE", help="protocol .toml file")
    val.add_argument("--voice", metavar="V", help="text-to-speech voice to check the speech "
                     "with (default: the engine's)")
    val.set_defaults(run=run_validate)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand (``list`` when none is given)."""
    handler = {"show": run_show, "validate": run_validate}.get(
        getattr(args, "protocols_command", None) or "list", run_list
    )
    return handler(args)


# ------------------------------------------------------------------------------ JSON


def phase_dict(phase: Phase) -> dict[str, Any]:
    """A phase as JSON-ready data."""
    return {
        "id": phase.id,
        "name": phase.name,
        "kind": phase.kind.value,
        "duration_s": phase.duration_s,
        "practice": phase.practice,
        "category": phase.category.value if phase.category else None,
        "instructions": phase.instructions,
        "spoken_instructions": phase.spoken_text,
        "feedback": phase.feedback.value,
        "cues": {
            "chimes": phase.cues.chimes,
            "halfway_bell": phase.cues.halfway_bell,
            "speak_instructions": phase.cues.speak_instructions,
            "speak_prompts": phase.cues.speak_prompts,
            "pacer_sound": phase.cues.pacer_sound.value,
        },
        "audio": phase.audio,
        "expected_breaths_per_min": phase.expected_breaths_per_min,
        "pacer": None
        if phase.pacer is None
        else {
            "breaths_per_min": phase.pacer.breaths_per_min,
            "inhale_exhale_ratio": phase.pacer.inhale_exhale_ratio,
            "inhale_s": round(phase.pacer.inhale_s, 3),
            "exhale_s": round(phase.pacer.exhale_s, 3),
            "hold_after_inhale_s": phase.pacer.hold_after_inhale_s,
            "hold_after_exhale_s": phase.pacer.hold_after_exhale_s,
        },
        "prompts": [{"at_s": p.at_s, "text": p.text, "spoken": p.spoken_text}
                    for p in phase.prompts],
        "self_report": [
            {"id": i.id, "question": i.question, "low_label": i.low_label,
             "high_label": i.high_label}
            for i in phase.self_report
        ],
        "stressor": None
        if phase.stressor is None
        else {"task": phase.stressor.task, "options": dict(phase.stressor.options)},
    }


def protocol_dict(protocol: PracticeProtocol, *, full: bool = True) -> dict[str, Any]:
    """A protocol as JSON-ready data (``full=False``: phases as id, kind and duration only)."""
    return {
        "id": protocol.id,
        "name": protocol.name,
        "category": protocol.category.value,
        "description": protocol.description,
        "duration_s": protocol.duration_s,
        "sources": list(protocol.sources),
        "participant_screen": protocol.participant_screen,
        "phases": [
            phase_dict(p)
            if full
            else {"id": p.id, "kind": p.kind.value, "duration_s": p.duration_s,
                  "practice": p.practice}
            for p in protocol.phases
        ],
    }


# ------------------------------------------------------------------------------ commands


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def run_list(args: argparse.Namespace) -> int:
    """Print the built-in protocols."""
    protocols = list_protocols()
    if args.json:
        print(json.dumps(
            {"protocols": [protocol_dict(p, full=False) for p in protocols]}, indent=2
        ))
        return 0
    for p in protocols:
        print(f"{p.id:<28} {p.category.value:<18} {format_clock(p.duration_s):>8}  {p.name}")
        phases = ", ".join(f"{ph.id} {ph.duration_s / 60:g}" for ph in p.phases)
        print(f"    phases (min): {phases}")
    print(
        "\ntemplates: stress_reactivity:PRACTICE, practice_comparison:FIRST,SECOND "
        "(e.g. stress_reactivity:soothing_touch)"
    )
    return 0


def _pacer_text(phase: Phase) -> str:
    pacer = phase.pacer
    if pacer is None:
        return "none (natural breathing)"
    text = (
        f"{pacer.breaths_per_min:g}/min, inhale {pacer.inhale_s:.1f} s, "
        f"exhale {pacer.exhale_s:.1f} s (I:E {pacer.inhale_exhale_ratio:g})"
    )
    if pacer.hold_after_inhale_s or pacer.hold_after_exhale_s:
        text += (
            f", holds {pacer.hold_after_inhale_s:g} s / {pacer.hold_after_exhale_s:g} s"
        )
    return text


def _cues_text(phase: Phase) -> str:
    cues = phase.cues
    parts = [name for name, on in (("chimes", cues.chimes), ("halfway bell", cues.halfway_bell),
                                   ("instructions spoken", cues.speak_instructions),
                                   ("prompts spoken", cues.speak_prompts)) if on]
    if phase.pacer is not None and cues.pacer_sound.value != "off":
        parts.append(f"{cues.pacer_sound.value} pacer")
    if phase.audio:
        parts.append(f"recording {phase.audio}")
    return ", ".join(parts) or "none"


def run_show(args: argparse.Namespace) -> int:
    """Print every phase of one protocol."""
    protocol = get_protocol(args.spec)
    if args.json:
        print(json.dumps(protocol_dict(protocol), indent=2))
        return 0
    print(f"{protocol.name} ({protocol.id})")
    print(f"category: {protocol.category.value}; total {_minutes(protocol.duration_s)}")
    if protocol.participant_screen:
        print("participant screen: yes (a lab protocol)")
    print(protocol.description)
    start = 0.0
    for n, phase in enumerate(protocol.phases, start=1):
        print(
            f"\n{n}. {phase.name} [{phase.id}] {phase.kind.value}, "
            f"{_minutes(phase.duration_s)} (from {format_clock(start)})"
        )
        if phase.practice:
            category = phase.category.value if phase.category else "-"
            print(f"   practice: {phase.practice} ({category})")
        if phase.instructions:
            print(f"   instructions: {phase.instructions}")
        if phase.spoken_instructions:
            print(f"   spoken: {phase.spoken_instructions}")
        print(f"   feedback: {phase.feedback.value}; sound: {_cues_text(phase)}")
        if phase.kind.value not in ("self_report", "stressor") or phase.pacer is not None:
            print(f"   pacer: {_pacer_text(phase)}")
        if phase.expected_breaths_per_min is not None:
            print(f"   expected breathing: {phase.expected_breaths_per_min:g}/min")
        if phase.stressor is not None:
            options = ", ".join(f"{k}={v}" for k, v in phase.stressor.options.items())
            print(f"   stressor: {phase.stressor.task}" + (f" ({options})" if options else ""))
        for prompt in phase.prompts:
            print(f"   {format_clock(prompt.at_s):>6}  {prompt.text}")
            if prompt.spoken:
                print(f"   {'':>6}  spoken: {prompt.spoken}")
        for item in phase.self_report:
            print(
                f"   [{item.id}] {item.question} "
                f"(0 = {item.low_label}, 10 = {item.high_label})"
            )
        start += phase.duration_s
    if protocol.sources:
        print("\nsources:")
        for source in protocol.sources:
            print(f"  - {source}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Check a protocol file; errors raise InputFileError, or SpeechError when its speech
    cannot be synthesized (printed by main, exit 1)."""
    protocol = load_protocol_file(args.file)
    spoken = _check_speech(protocol, getattr(args, "voice", None), args.file)
    print(
        f"ok: {protocol.id} ({len(protocol.phases)} phases, "
        f"{protocol.duration_s / 60:g} min{spoken})"
    )
    return 0


def _check_speech(protocol: PracticeProtocol, voice: str | None, file: str) -> str:
    """Synthesize every text the protocol speaks (kept in the speech cache for its
    sessions); ``", N spoken texts"`` for the summary line, '' when it speaks nothing."""
    from biofeedback.audio.program import spoken_texts

    texts = spoken_texts(protocol)
    if not texts:
        return ""
    from biofeedback.audio.speech import SpeechError, find_engine, synthesize

    try:
        engine = find_engine()
    except SpeechError as exc:
        raise SpeechError(f"{file}: the protocol speaks, but {exc}") from exc
    for text in texts:
        try:
            synthesize(text, 16_000, voice=voice, engine=engine)
        except SpeechError as exc:
            raise SpeechError(f"{file}: cannot speak {text[:40]!r}: {exc}") from exc
    plural = "s" if len(texts) != 1 else ""
    return f", {len(texts)} spoken text{plural} synthesized by {engine.name}"
