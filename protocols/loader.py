"""Read and write practice protocols as TOML files.

:func:`load_protocol_file` / :func:`load_protocol_text` turn a TOML document into a
:class:`~protocols.model.PracticeProtocol`; :func:`dump_protocol_toml` writes one back
(``load_protocol_text(dump_protocol_toml(p)) == p``). Every problem raises
:class:`~biofeedback.core.errors.InputFileError` naming the file, the line, the field (e.g.
``phases[2].duration_s``; phase, prompt and item indices count from 0, as in the file's array)
and what is wrong. The first problem found is reported; nothing partial is ever returned.

Schema
------
Top level (required unless marked):

``id``            identifier: letters, digits, ``_ - . : , +``
``name``          display name
``category``      ``self_soothing`` | ``attention`` | ``breathing`` | ``stress_reactivity``
                  | ``neutral``
``description``   one paragraph
``sources``       (optional) list of citation strings
``participant_screen``
                  (optional, default false) the protocol is meant to run with a participant
                  screen (lab protocols)
``[defaults]``    (optional) values for phases that do not set their own:
                  ``practice``, ``category``, ``feedback`` and ``[defaults.pacer]`` go to
                  ``practice`` phases, ``[[defaults.self_report]]`` items to ``self_report``
                  phases, ``[defaults.cues]`` to every phase (key by key)
``[[phases]]``    one table per phase, in running order (at least one)

Each ``[[phases]]``:

``id``, ``name``            identifiers; phase ids are unique
``kind``                    ``baseline`` | ``stressor`` | ``practice`` | ``recovery`` | ``rest``
                            | ``self_report``
``duration_s`` or ``duration_min``   positive number (exactly one of the two), or
                            ``duration = "audio"``: as long as the phase's ``audio`` file
``practice``                practice id; required for (and only allowed in) ``practice`` phases
``category``                category of that practice (practice phases only; defaults to the
                            protocol's category when that is a practice category)
``instructions``            text shown when the phase starts
``spoken_instructions``     (optional) the instructions as read aloud, when the spoken wording
                            differs from the written one
``feedback``                ``"shown"`` | ``"hidden"``: whether the participant sees their
                            physiology. Default: shown in practice phases (``[defaults]
                            feedback`` may change that), hidden in every other kind (baseline,
                            stressor, recovery, rest, self-report)
``audio``                   (optional) recorded guidance played from the phase's start: a wav,
                            mp3, ogg or flac file, relative to the protocol file; a missing or
                            unreadable file is refused here
``[phases.cues]``           (optional) ``chimes`` (bool, default true: a chime at the start and
                            the end), ``halfway_bell`` (default false), ``speak_instructions``,
                            ``speak_prompts`` (default false: read aloud with the speech
                            engine), ``pacer_sound`` = ``"off"`` | ``"tone"`` | ``"breath"``
                            (default off: the audio breathing pacer)
``expected_breaths_per_min``
                            breaths/min the phase is expected to produce (default: the pacer
                            rate when there is a pacer); files written before the breathing
                            rate was renamed spell it ``expected_breathing_bpm``, which is
                            still read (giving both in one phase is an error)
``[phases.pacer]``          ``breaths_per_min`` (2-30) and ``inhale_exhale_ratio`` (> 0,
                            default 1), or ``inhale_s`` + ``exhale_s`` (rate derived, or checked
                            when also given); optional ``hold_after_inhale_s``,
                            ``hold_after_exhale_s`` (>= 0; at least 1 s of each breath must be
                            left for moving air). Not in ``self_report`` or ``stressor`` phases.
``[[phases.prompts]]``      ``at_s`` (0 <= at_s < duration, strictly increasing), ``text``,
                            optional ``spoken`` (the wording read aloud)
``[[phases.self_report]]``  ``id`` (unique in the phase), ``question``, optional ``low_label``,
                            ``high_label``; only in ``self_report`` phases, which need >= 1 item
``[phases.stressor]``       required in (and only allowed in) ``stressor`` phases:
                            ``task = "serial_subtraction"`` with optional ``start`` (default
                            1022), ``step`` (default 13), ``time_limit_s``, ``error_feedback``;
                            or ``task = "none"`` (the prompts guide the stressor)

Example::

    id = "soothing_touch"
    name = "Soothing touch"
    category = "self_soothing"
    description = "Resting a hand where it feels comforting."
    sources = ["Steffen et al. (2021): 10-min practice"]

    [[defaults.self_report]]
    id = "calm"
    question = "How calm do you feel right now?"

    [[phases]]
    id = "settle_in"
    name = "Settling in"
    kind = "baseline"
    duration_min = 2
    expected_breaths_per_min = 12

    [[phases]]
    id = "report_pre"
    name = "How are you now?"
    kind = "self_report"
    duration_s = 60

    [[phases]]
    id = "practice"
    name = "Soothing touch"
    kind = "practice"
    practice = "soothing_touch"
    duration_min = 10

    [[phases.prompts]]
    at_s = 0
    text = "Find a comfortable position."

    [phases.pacer]          # optional
    breaths_per_min = 6
    inhale_exhale_ratio = 0.67
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from biofeedback.core.errors import InputFileError
from protocols.model import (
    CueSettings,
    FeedbackVisibility,
    GuidancePrompt,
    PacerSettings,
    PacerSound,
    Phase,
    PhaseKind,
    PracticeProtocol,
    ProtocolCategory,
    SelfReportItem,
    StressorSettings,
)

__all__ = [
    "AUDIO_FILE_SUFFIXES",
    "MAX_BREATHS_PER_MIN",
    "MIN_BREATHS_PER_MIN",
    "MIN_MOVING_BREATH_S",
    "STRESSOR_TASKS",
    "dump_protocol_toml",
    "load_protocol_file",
    "load_protocol_text",
    "locate_key",
    "validate_pacer",
]

MIN_BREATHS_PER_MIN = 2.0
MAX_BREATHS_PER_MIN = 30.0
MIN_MOVING_BREATH_S = 1.0
MAX_PHASE_S = 24 * 3600.0
MAX_NESTING = 32
"""Deepest nesting of arrays and inline tables a protocol file may use (the schema needs 3);
deeper files are refused before parsing, as the TOML parser recurses once per level."""

#: Known stressor tasks and the options each accepts (name -> type check, default or None).
STRESSOR_TASKS: dict[str, dict[str, tuple[str, Any]]] = {
    "serial_subtraction": {
        "start": ("positive_int", 1022),
        "step": ("positive_int", 13),
        "time_limit_s": ("positive_number", None),
        "error_feedback": ("bool", None),
    },
    "none": {},
}

AUDIO_FILE_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac")
"""Recorded guidance the app plays (decoded by libsndfile through soundfile)."""

#: Practice categories a practice phase may inherit from its protocol.
_PRACTICE_CATEGORIES = {
    ProtocolCategory.SELF_SOOTHING,
    ProtocolCategory.ATTENTION,
    ProtocolCategory.BREATHING,
    ProtocolCategory.NEUTRAL,
}

_TOP_KEYS = (
    "id", "name", "category", "description", "sources", "participant_screen", "defaults",
    "phases",
)
_DEFAULT_KEYS = ("practice", "category", "feedback", "pacer", "self_report", "cues")
_PHASE_KEYS = (
    "id", "name", "kind", "duration_s", "duration_min", "duration", "practice", "category",
    "instructions", "spoken_instructions", "feedback", "audio", "expected_breaths_per_min",
    "pacer", "cues", "prompts", "self_report", "stressor",
)
_CUE_KEYS = ("chimes", "halfway_bell", "speak_instructions", "speak_prompts", "pacer_sound")
_OLD_EXPECTED_KEY = "expected_breathing_bpm"
"""Old name of ``expected_breaths_per_min`` (protocol files written before the breathing rate
was renamed); still read, never written, and not offered in "allowed keys" messages."""
_PACER_KEYS = (
    "breaths_per_min", "inhale_exhale_ratio", "inhale_s", "exhale_s",
    "hold_after_inhale_s", "hold_after_exhale_s",
)
_PROMPT_KEYS = ("at_s", "text", "spoken")
_ITEM_KEYS = ("id", "question", "low_label", "high_label")
_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:,+\-]*$")

Path_ = tuple[str | int, ...]


# ---------------------------------------------------------------------------------- locating


_HEADER_RE = re.compile(r"^\s*(\[\[|\[)\s*([^\[\]#]+?)\s*(\]\]|\])\s*(#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
_KEY_RE = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def _line_index(text: str) -> dict[Path_, int]:
    """Map each concrete key path (``("phases", 2, "pacer", "breaths_per_min")``) and each table
    header path (``("phases", 2)``) to its 1-based line in ``text``.

    A line scanner, not a parser: it follows ``[table]`` / ``[[array]]`` headers and
    ``key = value`` lines at the start of a line and skips multi-line strings. Keys inside inline
    tables are not indexed (:func:`locate_key` then falls back to the enclosing key)."""
    index: dict[Path_, int] = {}
    counts: dict[Path_, int] = {}
    arrays: set[Path_] = set()
    current: Path_ = ()
    in_string: str | None = None
    depth = 0  # open brackets of a multi-line value
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if depth > 0:
            depth += _bracket_balance(line)
            depth = max(depth, 0)
            continue
        header = _HEADER_RE.match(line)
        if header and header.group(1) in ("[", "[[") and (header.group(1) == "[") == (
            header.group(3) == "]"
        ):
            names = _split_dotted(header.group(2))
            concrete: Path_ = ()
            for name in names[:-1]:
                concrete = (*concrete, name)
                if concrete in arrays:
                    concrete = (*concrete, counts[concrete] - 1)
            concrete = (*concrete, names[-1]) if names else concrete
            if header.group(1) == "[[":
                arrays.add(concrete)
                n = counts.get(concrete, 0)
                counts[concrete] = n + 1
                index.setdefault(concrete, number)
                concrete = (*concrete, n)
            index.setdefault(concrete, number)
            current = concrete
            continue
        key = _KEY_RE.match(line)
        if key:
            index.setdefault((*current, *_split_dotted(key.group(1))), number)
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
                    break
            if in_string is None:
                depth = max(_bracket_balance(rest), 0)
    return index


def _bracket_balance(text: str) -> int:
    """Open minus closed brackets/braces outside strings and comments."""
    balance = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            balance += 1
        elif c in "]}":
            balance -= 1
        i += 1
    return balance


def locate_key(text: str, path: Path_) -> int | None:
    """1-based line of ``path`` (e.g. ``("phases", 1, "duration_s")``) in TOML ``text``.

    Falls back to the nearest enclosing key or table (a missing key is reported at its
    table's header). None when nothing of the path is found."""
    index = _line_index(text)
    probe = tuple(path)
    while probe:
        if probe in index:
            return index[probe]
        probe = probe[:-1]
    return None


def _field_name(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# -------------------------------------------------------------------------------- validating


class _Checker:
    """Raises :class:`InputFileError` with the file, line and field of a problem."""

    def __init__(self, text: str, path: str | Path, base_dir: Path | None = None) -> None:
        self.text = text
        self.path = path
        self.base_dir = base_dir
        """Folder that relative audio paths start from (None: the current folder)."""
        self._index: dict[Path_, int] | None = None

    def line_of(self, path: Path_) -> int | None:
        if self._index is None:
            self._index = _line_index(self.text)
        probe = tuple(path)
        while probe:
            if probe in self._index:
                return self._index[probe]
            probe = probe[:-1]
        return None

    def fail(self, path: Path_, reason: str) -> NoReturn:
        raise InputFileError(
            self.path, reason, line=self.line_of(path), field=_field_name(path) or None
        )

    # -- shapes

    def table(self, value: Any, path: Path_) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected a table, got {_type_name(value)}")
        return value

    def keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], path: Path_) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    (*path, key),
                    f"unknown key {key!r}{hint} (allowed: {', '.join(allowed)})",
                )

    def required(self, table: Mapping[str, Any], key: str, path: Path_) -> Any:
        if key not in table:
            where = _field_name(path) or "the top level"
            self.fail((*path, key), f"missing required key {key!r} in {where}")
        return table[key]

    def string(self, value: Any, path: Path_, *, empty_ok: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_type_name(value)}")
        if not empty_ok and not value.strip():
            self.fail(path, "must not be empty")
        return value

    def identifier(self, value: Any, path: Path_) -> str:
        text = self.string(value, path)
        if not _ID_RE.match(text):
            self.fail(
                path,
                f"{text!r} is not a valid id (letters, digits and _ - . : , + only, no spaces)",
            )
        return text

    def number(self, value: Any, path: Path_) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {_type_name(value)}")
        try:
            number = float(value)
        except OverflowError:  # a whole number beyond the floats (TOML integers have no limit)
            self.fail(path, f"must be a finite number, not a {len(str(value))}-digit integer")
        if not math.isfinite(number):
            self.fail(path, f"must be a finite number, not {value!r}")
        return number

    def positive(self, value: Any, path: Path_) -> float:
        number = self.number(value, path)
        if number <= 0:
            self.fail(path, f"must be positive, not {value!r}")
        return number

    def boolean(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_type_name(value)}")
        return value

    def non_negative(self, value: Any, path: Path_) -> float:
        number = self.number(value, path)
        if number < 0:
            self.fail(path, f"must not be negative, not {value!r}")
        return number

    def choice(self, value: Any, enum_type: Any, path: Path_, what: str) -> Any:
        text = self.string(value, path)
        names = [m.value for m in enum_type]
        if text not in names:
            close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.fail(path, f"unknown {what} {text!r}{hint} (known: {', '.join(names)})")
        return enum_type(text)

    def array_of_tables(self, value: Any, path: Path_) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            self.fail(path, f"expected an array of tables, got {_type_name(value)}")
        for i, item in enumerate(value):
            self.table(item, (*path, i))
        return value


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"a number of {len(str(abs(value)))} digits"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def validate_pacer(pacer: PacerSettings) -> str | None:
    """What is wrong with ``pacer`` (None when it is usable)."""
    rate = pacer.breaths_per_min
    if not math.isfinite(rate) or not MIN_BREATHS_PER_MIN <= rate <= MAX_BREATHS_PER_MIN:
        return (
            f"breathing rate {rate:g}/min is outside {MIN_BREATHS_PER_MIN:g}-"
            f"{MAX_BREATHS_PER_MIN:g}/min"
        )
    if not math.isfinite(pacer.inhale_exhale_ratio) or pacer.inhale_exhale_ratio <= 0:
        return f"inhale:exhale ratio must be positive, not {pacer.inhale_exhale_ratio:g}"
    holds = pacer.hold_after_inhale_s + pacer.hold_after_exhale_s
    if pacer.hold_after_inhale_s < 0 or pacer.hold_after_exhale_s < 0:
        return "holds must not be negative"
    if pacer.period_s - holds < MIN_MOVING_BREATH_S:
        return (
            f"holds of {holds:g} s leave {pacer.period_s - holds:.2f} s of a "
            f"{pacer.period_s:.2f} s breath ({rate:g}/min) for breathing in and out; "
            f"at least {MIN_MOVING_BREATH_S:g} s is needed"
        )
    return None


def _pacer(c: _Checker, raw: Any, path: Path_) -> PacerSettings:
    table = c.table(raw, path)
    c.keys(table, _PACER_KEYS, path)
    hold_in = c.non_negative(table.get("hold_after_inhale_s", 0.0), (*path, "hold_after_inhale_s"))
    hold_out = c.non_negative(
        table.get("hold_after_exhale_s", 0.0), (*path, "hold_after_exhale_s")
    )
    timed = "inhale_s" in table or "exhale_s" in table
    if timed:
        if "inhale_exhale_ratio" in table:
            c.fail(
                (*path, "inhale_exhale_ratio"),
                "give either inhale_exhale_ratio or inhale_s and exhale_s, not both",
            )
        inhale = c.positive(c.required(table, "inhale_s", path), (*path, "inhale_s"))
        exhale = c.positive(c.required(table, "exhale_s", path), (*path, "exhale_s"))
        ratio = inhale / exhale
        period = inhale + exhale + hold_in + hold_out
        if "breaths_per_min" in table:
            rate = c.positive(table["breaths_per_min"], (*path, "breaths_per_min"))
            if abs(60.0 / rate - period) > 0.01:
                c.fail(
                    (*path, "breaths_per_min"),
                    f"{rate:g}/min is a {60.0 / rate:.2f} s breath, but inhale, exhale and "
                    f"holds add up to {period:.2f} s",
                )
        else:
            rate = 60.0 / period
    else:
        rate = c.number(c.required(table, "breaths_per_min", path), (*path, "breaths_per_min"))
        ratio = c.number(table.get("inhale_exhale_ratio", 1.0), (*path, "inhale_exhale_ratio"))
        if ratio <= 0:
            c.fail((*path, "inhale_exhale_ratio"), f"must be positive, not {ratio:g}")
    if not MIN_BREATHS_PER_MIN <= rate <= MAX_BREATHS_PER_MIN:
        c.fail(
            (*path, "breaths_per_min"),
            f"breathing rate {rate:g}/min is outside {MIN_BREATHS_PER_MIN:g}-"
            f"{MAX_BREATHS_PER_MIN:g}/min",
        )
    pacer = PacerSettings(
        breaths_per_min=rate,
        inhale_exhale_ratio=ratio,
        hold_after_inhale_s=hold_in,
        hold_after_exhale_s=hold_out,
    )
    problem = validate_pacer(pacer)
    if problem:
        hold_key = "hold_after_inhale_s"
        if "hold_after_exhale_s" in table:
            hold_key = "hold_after_exhale_s"
        c.fail((*path, hold_key), problem)
    return pacer


def _items(c: _Checker, raw: Any, path: Path_) -> tuple[SelfReportItem, ...]:
    tables = c.array_of_tables(raw, path)
    items: list[SelfReportItem] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        where = (*path, i)
        c.keys(table, _ITEM_KEYS, where)
        item_id = c.identifier(c.required(table, "id", where), (*where, "id"))
        if item_id in seen:
            c.fail((*where, "id"), f"self-report item id {item_id!r} is used twice in this phase")
        seen.add(item_id)
        items.append(
            SelfReportItem(
                id=item_id,
                question=c.string(c.required(table, "question", where), (*where, "question")),
                low_label=c.string(table.get("low_label", "not at all"), (*where, "low_label")),
                high_label=c.string(table.get("high_label", "completely"), (*where, "high_label")),
            )
        )
    return tuple(items)


def _stressor(c: _Checker, raw: Any, path: Path_) -> StressorSettings:
    table = c.table(raw, path)
    task = c.string(c.required(table, "task", path), (*path, "task"))
    if task not in STRESSOR_TASKS:
        names = list(STRESSOR_TASKS)
        close = difflib.get_close_matches(task, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        c.fail((*path, "task"), f"unknown stressor task {task!r}{hint} (known: {', '.join(names)})")
    spec = STRESSOR_TASKS[task]
    c.keys(table, ("task", *spec), path)
    options: dict[str, Any] = {}
    for name, (check, default) in spec.items():
        where = (*path, name)
        if name not in table:
            if default is not None:
                options[name] = default
            continue
        value = table[name]
        if check == "positive_int":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                c.fail(where, f"expected a positive whole number, got {_type_name(value)}")
        elif check == "positive_number":
            value = c.positive(value, where)
        elif check == "bool" and not isinstance(value, bool):
            c.fail(where, f"expected true or false, got {_type_name(value)}")
        options[name] = value
    if task == "serial_subtraction":
        # The task's own limits (time limit range, start >= step): a file that loads must run.
        from protocols.stressor import SerialSubtractionTask, StressorError

        try:
            SerialSubtractionTask.from_options(options)
        except (StressorError, ValueError) as exc:
            c.fail(path, str(exc))
    return StressorSettings(task=task, options=options)


def _prompts(c: _Checker, raw: Any, path: Path_, duration: float) -> tuple[GuidancePrompt, ...]:
    tables = c.array_of_tables(raw, path)
    prompts: list[GuidancePrompt] = []
    for i, table in enumerate(tables):
        where = (*path, i)
        c.keys(table, _PROMPT_KEYS, where)
        at = c.non_negative(c.required(table, "at_s", where), (*where, "at_s"))
        text = c.string(c.required(table, "text", where), (*where, "text"))
        spoken = c.string(table.get("spoken", ""), (*where, "spoken"), empty_ok=True)
        if at >= duration:
            c.fail(
                (*where, "at_s"),
                f"prompt at {at:g} s is outside its phase, which lasts {duration:g} s",
            )
        if prompts and at <= prompts[-1].at_s:
            c.fail(
                (*where, "at_s"),
                f"prompts must be in time order: {at:g} s comes after {prompts[-1].at_s:g} s",
            )
        prompts.append(GuidancePrompt(at_s=at, text=text, spoken=spoken.strip()))
    return tuple(prompts)


def _cues(c: _Checker, raw: Any, path: Path_, base: CueSettings) -> CueSettings:
    """``[phases.cues]`` / ``[defaults.cues]`` over ``base``, key by key."""
    table = c.table(raw, path)
    c.keys(table, _CUE_KEYS, path)
    values: dict[str, Any] = {
        "chimes": base.chimes,
        "halfway_bell": base.halfway_bell,
        "speak_instructions": base.speak_instructions,
        "speak_prompts": base.speak_prompts,
        "pacer_sound": base.pacer_sound,
    }
    for key in _CUE_KEYS[:-1]:
        if key in table:
            values[key] = c.boolean(table[key], (*path, key))
    if "pacer_sound" in table:
        values["pacer_sound"] = c.choice(
            table["pacer_sound"], PacerSound, (*path, "pacer_sound"), "pacer sound"
        )
    return CueSettings(**values)


def _audio_file(c: _Checker, raw: Any, path: Path_) -> tuple[str, float]:
    """The absolute path of a phase's recorded guidance and its length, s; the file is opened
    and its header decoded here, so a study never meets a missing or broken file mid-session."""
    text = c.string(raw, path)
    file = Path(text).expanduser()
    if not file.is_absolute():
        file = (c.base_dir or Path.cwd()) / file
    if file.suffix.lower() not in AUDIO_FILE_SUFFIXES:
        c.fail(path, f"{text!r} is not an audio file the app plays "
                     f"({', '.join(s[1:] for s in AUDIO_FILE_SUFFIXES)})")
    if not file.is_file():
        c.fail(path, f"audio file {str(file)!r} not found")
    import soundfile  # lazily: only protocols with recorded guidance need libsndfile

    try:
        info = soundfile.info(str(file))
    except (RuntimeError, OSError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
        c.fail(path, f"audio file {str(file)!r} cannot be decoded: {exc}")
    if info.frames <= 0 or info.samplerate <= 0:
        c.fail(path, f"audio file {str(file)!r} holds no sound")
    return str(file.resolve()), info.frames / info.samplerate


def _default_feedback(kind: PhaseKind, defaults: dict[str, Any]) -> FeedbackVisibility:
    # Watching one's own heart is an intervention: only practices show it unless told not to.
    if kind is PhaseKind.PRACTICE:
        return FeedbackVisibility(defaults.get("feedback", FeedbackVisibility.SHOWN))
    return FeedbackVisibility.HIDDEN


def _expected_breathing(
    c: _Checker, table: dict[str, Any], path: Path_, pacer: PacerSettings | None
) -> float | None:
    """The phase's expected breathing rate, breaths/min, under its new or its old key name."""
    key = "expected_breaths_per_min"
    if _OLD_EXPECTED_KEY in table:
        if key in table:
            c.fail(
                (*path, _OLD_EXPECTED_KEY),
                f"both {key!r} and its old name {_OLD_EXPECTED_KEY!r} are given; keep only "
                f"{key!r}",
            )
        key = _OLD_EXPECTED_KEY
    if key not in table:
        return pacer.breaths_per_min if pacer is not None else None
    given = c.number(table[key], (*path, key))
    if not MIN_BREATHS_PER_MIN <= given <= 60.0:
        c.fail((*path, key), f"{given:g} breaths/min is outside {MIN_BREATHS_PER_MIN:g}-60")
    return given


def _phase(
    c: _Checker,
    table: dict[str, Any],
    path: Path_,
    protocol_category: ProtocolCategory,
    defaults: dict[str, Any],
) -> Phase:
    c.keys({k: v for k, v in table.items() if k != _OLD_EXPECTED_KEY}, _PHASE_KEYS, path)
    phase_id = c.identifier(c.required(table, "id", path), (*path, "id"))
    name = c.string(c.required(table, "name", path), (*path, "name"))
    kind = c.choice(c.required(table, "kind", path), PhaseKind, (*path, "kind"), "phase kind")
    given = [k for k in ("duration_s", "duration_min", "duration") if k in table]
    if len(given) > 1:
        c.fail((*path, given[1]), f"give one of duration_s, duration_min or duration, not "
                                  f"both {' and '.join(given[:2])}")
    audio: str | None = None
    audio_s: float | None = None
    if "audio" in table:
        audio, audio_s = _audio_file(c, table["audio"], (*path, "audio"))
    if "duration" in table:
        if table["duration"] != "audio":
            c.fail((*path, "duration"), f'the only duration by name is "audio" (as long as the '
                                        f"phase's recording), not {table['duration']!r}")
        if audio_s is None:
            c.fail((*path, "duration"), 'duration = "audio" needs the phase\'s \'audio\' file')
        duration = audio_s
        dur_key = "duration"
    elif "duration_s" in table:
        duration = c.positive(table["duration_s"], (*path, "duration_s"))
        dur_key = "duration_s"
    elif "duration_min" in table:
        duration = c.positive(table["duration_min"], (*path, "duration_min")) * 60.0
        dur_key = "duration_min"
    else:
        c.fail((*path, "duration_s"), f"phase {phase_id!r} needs duration_s or duration_min")
    assert duration is not None
    if duration > MAX_PHASE_S:
        c.fail((*path, dur_key), f"{duration:g} s is longer than {MAX_PHASE_S:g} s (24 h)")
    instructions = c.string(table.get("instructions", ""), (*path, "instructions"), empty_ok=True)
    spoken = c.string(
        table.get("spoken_instructions", ""), (*path, "spoken_instructions"), empty_ok=True
    )
    if "feedback" in table:
        feedback = c.choice(
            table["feedback"], FeedbackVisibility, (*path, "feedback"), "feedback"
        )
    else:
        feedback = _default_feedback(kind, defaults)
    cues = defaults.get("cues", CueSettings())
    if "cues" in table:
        cues = _cues(c, table["cues"], (*path, "cues"), cues)

    practice: str | None = None
    category: ProtocolCategory | None = None
    for key in ("practice", "category"):
        if key in table and kind is not PhaseKind.PRACTICE:
            c.fail((*path, key), f"only practice phases take {key!r} (this one is {kind.value!r})")
    if kind is PhaseKind.PRACTICE:
        if "practice" in table:
            practice = c.identifier(table["practice"], (*path, "practice"))
        else:
            practice = defaults.get("practice")
        if practice is None:
            c.fail((*path, "practice"), f"practice phase {phase_id!r} needs 'practice' (its id)")
        if "category" in table:
            category = c.choice(
                table["category"], ProtocolCategory, (*path, "category"), "category"
            )
        elif "category" in defaults:
            category = defaults["category"]
        elif protocol_category in _PRACTICE_CATEGORIES:
            category = protocol_category
        else:
            c.fail(
                (*path, "category"),
                f"practice phase {phase_id!r} needs 'category' (the protocol's category "
                f"{protocol_category.value!r} is not a practice category)",
            )
        if category is ProtocolCategory.STRESS_REACTIVITY:
            c.fail((*path, "category"), "a practice cannot be of category 'stress_reactivity'")

    pacer: PacerSettings | None = None
    if "pacer" in table:
        if kind in (PhaseKind.SELF_REPORT, PhaseKind.STRESSOR):
            c.fail((*path, "pacer"), f"a {kind.value} phase cannot have a pacer")
        pacer = _pacer(c, table["pacer"], (*path, "pacer"))
    elif kind is PhaseKind.PRACTICE:
        pacer = defaults.get("pacer")

    expected = _expected_breathing(c, table, path, pacer)

    prompts = _prompts(c, table.get("prompts", []), (*path, "prompts"), duration)

    if "self_report" in table:
        if kind is not PhaseKind.SELF_REPORT:
            c.fail((*path, "self_report"), f"only self_report phases ask items (this one is "
                   f"{kind.value!r})")
        items = _items(c, table["self_report"], (*path, "self_report"))
    elif kind is PhaseKind.SELF_REPORT:
        items = defaults.get("self_report", ())
    else:
        items = ()
    if kind is PhaseKind.SELF_REPORT and not items:
        c.fail(
            (*path, "self_report"),
            f"self_report phase {phase_id!r} has no items (add [[phases.self_report]] tables or "
            "[[defaults.self_report]])",
        )

    stressor: StressorSettings | None = None
    if "stressor" in table:
        if kind is not PhaseKind.STRESSOR:
            c.fail((*path, "stressor"), f"only stressor phases take a stressor (this one is "
                   f"{kind.value!r})")
        stressor = _stressor(c, table["stressor"], (*path, "stressor"))
    elif kind is PhaseKind.STRESSOR:
        c.fail(
            (*path, "stressor"),
            f"stressor phase {phase_id!r} needs a [phases.stressor] table "
            f"(task = {' or '.join(repr(t) for t in STRESSOR_TASKS)})",
        )

    return Phase(
        id=phase_id,
        name=name,
        kind=kind,
        duration_s=duration,
        practice=practice,
        category=category,
        instructions=instructions,
        prompts=prompts,
        pacer=pacer,
        expected_breaths_per_min=expected,
        self_report=items,
        stressor=stressor,
        feedback=feedback,
        cues=cues,
        spoken_instructions=spoken.strip(),
        audio=audio,
        audio_duration_s=audio_s,
    )


def _protocol(c: _Checker, data: dict[str, Any]) -> PracticeProtocol:
    c.keys(data, _TOP_KEYS, ())
    protocol_id = c.identifier(c.required(data, "id", ()), ("id",))
    name = c.string(c.required(data, "name", ()), ("name",))
    category = c.choice(
        c.required(data, "category", ()), ProtocolCategory, ("category",), "category"
    )
    description = c.string(c.required(data, "description", ()), ("description",))
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        c.fail(("sources",), f"expected an array of strings, got {_type_name(raw_sources)}")
    sources = tuple(c.string(s, ("sources", i)) for i, s in enumerate(raw_sources))
    participant_screen = c.boolean(data.get("participant_screen", False),
                                   ("participant_screen",))

    defaults: dict[str, Any] = {}
    if "defaults" in data:
        table = c.table(data["defaults"], ("defaults",))
        c.keys(table, _DEFAULT_KEYS, ("defaults",))
        if "practice" in table:
            defaults["practice"] = c.identifier(table["practice"], ("defaults", "practice"))
        if "category" in table:
            defaults["category"] = c.choice(
                table["category"], ProtocolCategory, ("defaults", "category"), "category"
            )
        if "pacer" in table:
            defaults["pacer"] = _pacer(c, table["pacer"], ("defaults", "pacer"))
        if "self_report" in table:
            defaults["self_report"] = _items(
                c, table["self_report"], ("defaults", "self_report")
            )
        if "feedback" in table:
            defaults["feedback"] = c.choice(
                table["feedback"], FeedbackVisibility, ("defaults", "feedback"), "feedback"
            )
        if "cues" in table:
            defaults["cues"] = _cues(c, table["cues"], ("defaults", "cues"), CueSettings())

    if "phases" not in data:
        c.fail(("phases",), "no phases: add at least one [[phases]] table")
    tables = c.array_of_tables(data["phases"], ("phases",))
    if not tables:
        c.fail(("phases",), "the phases list is empty: add at least one [[phases]] table")
    phases: list[Phase] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(tables):
        phase = _phase(c, table, ("phases", i), category, defaults)
        if phase.id in seen:
            c.fail(
                ("phases", i, "id"),
                f"phase id {phase.id!r} is already used by phases[{seen[phase.id]}]",
            )
        seen[phase.id] = i
        phases.append(phase)
    return PracticeProtocol(
        id=protocol_id,
        name=name,
        category=category,
        description=description,
        phases=tuple(phases),
        sources=sources,
        participant_screen=participant_screen,
    )


# ---------------------------------------------------------------------------------- loading

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def _nesting_too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """1-based line where arrays and inline tables first nest deeper than ``limit``, or None.

    A TOML lexer of strings (basic, literal, multi-line) and comments, so brackets inside
    them do not count."""
    depth = 0
    line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            triple = text.startswith(c * 3, i)
            close = c * 3 if triple else c
            j = i + len(close)
            while j < n and not text.startswith(close, j):
                if text[j] == "\n":
                    if not triple:
                        break  # a one-line string cannot span lines: the parser says so
                    line += 1
                elif text[j] == "\\" and c == '"':
                    j += 1
                    if j < n and text[j] == "\n":
                        line += 1
                j += 1
            i = j + (len(close) if j < n and text[j] != "\n" else 0)
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return None


def load_protocol_text(
    text: str, path: str | Path = "<string>", *, base_dir: str | Path | None = None
) -> PracticeProtocol:
    """Parse and validate a protocol from TOML ``text``.

    Parameters
    ----------
    text : str
        The TOML document (a leading byte-order mark is ignored).
    path : path-like
        What names the text in error messages (its file).
    base_dir : path-like, optional
        Folder relative ``audio`` paths start from (default: the current folder).

    Returns
    -------
    PracticeProtocol
        The validated protocol; nothing partial is ever returned.

    Raises
    ------
    InputFileError
        Whatever is wrong, and the only exception raised for bad text: NUL bytes, TOML syntax
        (with the parser's line), an integer of more than 4300 digits (with its line), an
        integer too large for a float where a number is expected, arrays or inline tables
        nested deeper than
        :data:`MAX_NESTING` (with the line), or a schema problem (with the line and the field,
        e.g. ``phases[2].duration_s``).
    """
    if "\x00" in text:
        raise InputFileError(path, "binary data (NUL bytes), not a TOML text file",
                             line=text[: text.index("\x00")].count("\n") + 1)
    if text.startswith("\ufeff"):
        text = text[1:]
    deep = _nesting_too_deep(text)
    if deep is not None:
        raise InputFileError(
            path, f"arrays or tables nested more than {MAX_NESTING} levels deep", line=deep
        )
    try:
        data = tomllib.loads(text)
    except RecursionError:  # a smaller stack than the main thread's (the check above is for it)
        raise InputFileError(path, "arrays or tables nested too deeply to read") from None
    except tomllib.TOMLDecodeError as exc:
        _toml_syntax_error(exc, text, path)
    except ValueError as exc:  # not a TOMLDecodeError: Python refuses ints of > 4300 digits
        long = re.search(r"[0-9_]{4301,}", text)
        line = None if long is None else text.count("\n", 0, long.start()) + 1
        raise InputFileError(path, f"not a usable number: {exc}", line=line) from None
    base = None if base_dir is None else Path(base_dir)
    return _protocol(_Checker(text, path, base), data)


def _toml_syntax_error(exc: tomllib.TOMLDecodeError, text: str, path: str | Path) -> NoReturn:
    """Raise the parser's complaint as an InputFileError with its line."""
    message = str(exc)
    line: int | None = None
    match = _TOML_POSITION.search(message)
    if match:
        line = int(match.group(1))
        message = message[: match.start()]
    else:
        end = _TOML_END.search(message)
        if end:
            line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
            message = message[: end.start()] + " at the end of the file"
    raise InputFileError(path, f"not valid TOML: {message}", line=line) from None


def load_protocol_file(path: str | Path) -> PracticeProtocol:
    """Read and validate a protocol TOML file.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file (UTF-8).

    Returns
    -------
    PracticeProtocol
        The validated protocol.

    Raises
    ------
    InputFileError
        The only exception raised for a bad file: missing, a folder, unreadable, a name
        holding a NUL byte, not UTF-8
        (with the line of the first bad byte), binary, or anything
        :func:`load_protocol_text` refuses.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a protocol file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    except ValueError:  # the operating system takes no NUL byte in a file name
        raise InputFileError(path, "is not a file name (it holds a NUL byte)") from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputFileError(path, "binary data (NUL bytes), not a TOML text file", line=line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            line=line,
        ) from None
    return load_protocol_text(text, path, base_dir=path.resolve().parent)


# ---------------------------------------------------------------------------------- dumping


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to a protocol file")
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} to a protocol file")


def dump_protocol_toml(protocol: PracticeProtocol) -> str:
    """The protocol as TOML text that :func:`load_protocol_text` reads back equal.

    Everything is written explicitly (no ``[defaults]``); durations as ``duration_s``."""
    lines = [
        f"id = {_toml_string(protocol.id)}",
        f"name = {_toml_string(protocol.name)}",
        f"category = {_toml_string(protocol.category.value)}",
        f"description = {_toml_string(protocol.description)}",
    ]
    if protocol.sources:
        lines.append("sources = [")
        lines.extend(f"    {_toml_string(s)}," for s in protocol.sources)
        lines.append("]")
    if protocol.participant_screen:
        lines.append("participant_screen = true")
    for phase in protocol.phases:
        lines += ["", "[[phases]]"]
        lines.append(f"id = {_toml_string(phase.id)}")
        lines.append(f"name = {_toml_string(phase.name)}")
        lines.append(f"kind = {_toml_string(phase.kind.value)}")
        lines.append(f"duration_s = {_toml_value(float(phase.duration_s))}")
        if phase.practice is not None:
            lines.append(f"practice = {_toml_string(phase.practice)}")
        if phase.category is not None:
            lines.append(f"category = {_toml_string(phase.category.value)}")
        if phase.instructions:
            lines.append(f"instructions = {_toml_string(phase.instructions)}")
        if phase.spoken_instructions:
            lines.append(f"spoken_instructions = {_toml_string(phase.spoken_instructions)}")
        lines.append(f"feedback = {_toml_string(phase.feedback.value)}")
        if phase.audio is not None:
            lines.append(f"audio = {_toml_string(phase.audio)}")
        if phase.expected_breaths_per_min is not None:
            lines.append(
                f"expected_breaths_per_min = {_toml_value(float(phase.expected_breaths_per_min))}"
            )
        if phase.pacer is not None:
            p = phase.pacer
            lines += ["", "[phases.pacer]"]
            lines.append(f"breaths_per_min = {_toml_value(float(p.breaths_per_min))}")
            lines.append(f"inhale_exhale_ratio = {_toml_value(float(p.inhale_exhale_ratio))}")
            if p.hold_after_inhale_s:
                lines.append(f"hold_after_inhale_s = {_toml_value(float(p.hold_after_inhale_s))}")
            if p.hold_after_exhale_s:
                lines.append(f"hold_after_exhale_s = {_toml_value(float(p.hold_after_exhale_s))}")
        cues = phase.cues
        lines += ["", "[phases.cues]"]
        lines.append(f"chimes = {_toml_value(cues.chimes)}")
        lines.append(f"halfway_bell = {_toml_value(cues.halfway_bell)}")
        lines.append(f"speak_instructions = {_toml_value(cues.speak_instructions)}")
        lines.append(f"speak_prompts = {_toml_value(cues.speak_prompts)}")
        lines.append(f"pacer_sound = {_toml_string(cues.pacer_sound.value)}")
        if phase.stressor is not None:
            lines += ["", "[phases.stressor]"]
            lines.append(f"task = {_toml_string(phase.stressor.task)}")
            for key, value in phase.stressor.options.items():
                lines.append(f"{key} = {_toml_value(value)}")
        for prompt in phase.prompts:
            lines += ["", "[[phases.prompts]]"]
            lines.append(f"at_s = {_toml_value(float(prompt.at_s))}")
            lines.append(f"text = {_toml_string(prompt.text)}")
            if prompt.spoken:
                lines.append(f"spoken = {_toml_string(prompt.spoken)}")
        for item in phase.self_report:
            lines += ["", "[[phases.self_report]]"]
            lines.append(f"id = {_toml_string(item.id)}")
            lines.append(f"question = {_toml_string(item.question)}")
            lines.append(f"low_label = {_toml_string(item.low_label)}")
            lines.append(f"high_label = {_toml_string(item.high_label)}")
    return "\n".join(lines) + "\n"
