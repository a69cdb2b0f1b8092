"""Fuzz targets of the inputs a user writes by hand: protocol TOML files, ``settings.json`` and
the command line (issue 14, item 10).

Each ``check_*`` function feeds one input to the real entry point and asserts the documented
outcome: a result, or one of the documented error types with a message naming the file (and,
where it has one, a line inside the file). Anything else (KeyError, RecursionError, an
"internal error" from the CLI...) fails the assertion. The strategies build inputs from the
real schema (valid protocols and settings mutated, the parser's own subcommands and options)
so examples get past the parsers into the validation.

Used by ``tests/fuzz/`` (bounded, reproducible) and ``benchmarks/fuzz_inputs.py`` (longer).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from biofeedback.core.errors import BiofeedbackError, InputFileError
from conftest import ROOT

BUILTIN_PROTOCOLS = sorted((ROOT / "protocols" / "builtin").glob("*.toml"))
"""Valid protocol files the structured strategy mutates."""

# ------------------------------------------------------------------------------ values

_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)
"""Unicode text TOML and JSON can hold (no lone surrogates)."""

_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2, 29, 30, 31, 60, 61, 86400, 86401, 2**63 - 1, 2**63, 10**400,
                     0.0, -0.0, 1e-300, 5e-324, 1e308, 0.5, 1.0000001, 59.99, 1e15]),
)
_WORDS = st.sampled_from([
    "", " ", "x", "baseline", "stressor", "practice", "recovery", "rest", "self_report",
    "self_soothing", "attention", "breathing", "stress_reactivity", "neutral",
    "serial_subtraction", "none", "soothing_touch", "a b", "é", "\U0001f600", "\t", "\n",
    "id", "0", "1e3", "nan", "x" * 300,
])
_DATES = st.sampled_from([
    dt.date(2024, 2, 29), dt.time(12, 30, 5), dt.datetime(2024, 1, 1, 8, 0),
    dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
])
SCALARS = st.one_of(_NUMBERS, _TEXT, _WORDS, st.booleans())
TOML_VALUES = st.recursive(
    st.one_of(SCALARS, _DATES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), SCALARS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def deep_nesting(depth: int, *, table: bool = False) -> str:
    """A TOML value nested ``depth`` levels deep (arrays, or inline tables)."""
    if table:
        return "{a = " * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


# ------------------------------------------------------------------------------ TOML writer


def _toml_string(text: str) -> str:
    # JSON's escapes of control characters are TOML's; DEL must be escaped in TOML too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return _toml_string(key)


def _toml_inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(type(value))


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """``data`` as a TOML document with ``[table]`` and ``[[array]]`` headers, as people write
    protocols (so the loader's line finder is exercised too)."""
    lines = [
        f"{_toml_key(k)} = {_toml_inline(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not _is_table_array(v)
    ]
    for key, value in data.items():
        path = (*prefix, key)
        header = ".".join(_toml_key(p) for p in path)
        if isinstance(value, dict):
            lines += ["", f"[{header}]", to_toml(value, path)]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{header}]]", to_toml(item, path)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ mutations


def _containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a table or array inside ``data`` (the root included)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        found.append(path)
        for key, value in data.items():
            found += _containers(value, (*path, key))
    elif isinstance(data, list):
        found.append(path)
        for i, value in enumerate(data):
            found += _containers(value, (*path, i))
    return found


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn, base: Any, values: st.SearchStrategy[Any],
            keys: st.SearchStrategy[str]) -> Any:
    """``base`` (a deep copy) with 1-3 of: a value replaced, a key deleted, a key added,
    an array item duplicated or removed, a value nested deeply."""
    data = _copy(base)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = _containers(data)
        container = _at(data, draw(st.sampled_from(paths)))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "duplicate", "deep"]))
        if isinstance(container, dict):
            slots: list[Any] = list(container)
        else:
            slots = list(range(len(container)))
        if op == "add" or not slots:
            if isinstance(container, dict):
                container[draw(keys)] = draw(values)
            else:
                container.append(draw(values))
            continue
        slot = draw(st.sampled_from(slots))
        if op == "replace":
            container[slot] = draw(_like(container[slot]) | values)
        elif op == "delete":
            del container[slot]
        elif op == "duplicate" and isinstance(container, list):
            container.insert(slot, _copy(container[slot]))
        elif op == "deep":
            container[slot] = _nested(draw(st.integers(2, 40)))
        else:
            container[slot] = draw(values)
    return data


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same type as ``value`` (to get past the type checks to the range ones)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int | float):
        return _NUMBERS
    if isinstance(value, str):
        return _WORDS | _TEXT
    return st.nothing()


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


# ------------------------------------------------------------------------------ protocols

PROTOCOL_KEYS = st.one_of(_TEXT, st.sampled_from([
    "id", "name", "kind", "duration_s", "duration_min", "practice", "category", "instructions",
    "expected_breaths_per_min", "expected_breathing_bpm", "pacer", "prompts", "self_report",
    "stressor", "breaths_per_min", "inhale_exhale_ratio", "inhale_s", "exhale_s",
    "hold_after_inhale_s", "hold_after_exhale_s", "at_s", "text", "question", "low_label",
    "high_label", "task", "start", "step", "time_limit_s", "error_feedback", "defaults",
    "sources", "phases", "description",
]))


def protocol_bases() -> list[dict[str, Any]]:
    """The built-in protocols as TOML data."""
    return [tomllib.loads(p.read_text(encoding="utf-8")) for p in BUILTIN_PROTOCOLS]


@st.composite
def protocol_documents(draw: st.DrawFn) -> str:
    """A built-in protocol mutated by the schema's keys and hostile values, as TOML text."""
    base = draw(st.sampled_from(protocol_bases()))
    return to_toml(draw(mutated(base, TOML_VALUES, PROTOCOL_KEYS)))


@st.composite
def protocol_texts(draw: st.DrawFn) -> str:
    """Text near TOML: a document cut, spliced or with a line replaced, or deep nesting."""
    base = draw(st.sampled_from(BUILTIN_PROTOCOLS)).read_text(encoding="utf-8")
    lines = base.splitlines(keepends=True)
    kind = draw(st.sampled_from(["cut", "line", "insert", "deep", "text", "digits"]))
    if kind == "digits":  # a value of hundreds or thousands of digits (TOML ints are unbounded)
        digits = "9" * draw(st.sampled_from([20, 309, 400, 4301, 5000]))
        return re.sub(r"= [0-9.]+\n", f"= {digits}\n", base, count=draw(st.integers(1, 3)))
    if kind == "cut":
        return base[: draw(st.integers(0, len(base)))]
    if kind == "deep":
        depth = draw(st.sampled_from([50, 100, 300, 1000, 5000]))
        return f"id = {deep_nesting(depth, table=draw(st.booleans()))}\n" + base
    if kind == "text":
        return draw(st.text(max_size=200))
    at = draw(st.integers(0, len(lines) - 1))
    junk = draw(st.sampled_from(["[", "[[phases]]", "[phases.pacer]", "x = ", '"""', "'''",
                                 "= 1", "[[phases.prompts]]", "id = 'x'", "\\", "#", "a.b.c = 1",
                                 "[defaults]", "[phases]", "phases = []", '\ufeff']))
    if kind == "line":
        lines[at] = junk + draw(_TEXT) + "\n"
    else:
        lines.insert(at, junk + "\n")
    return "".join(lines)


def check_protocol_text(text: str, path: str = "fuzz.toml") -> None:
    """``load_protocol_text`` returns a protocol that writes back equal, or raises
    InputFileError naming ``path`` (and a line of the text, when it gives one)."""
    from protocols.loader import dump_protocol_toml, load_protocol_text

    try:
        protocol = load_protocol_text(text, path)
    except InputFileError as exc:
        _check_input_error(exc, path, text.count("\n") + 1)
        return
    assert load_protocol_text(dump_protocol_toml(protocol), path) == protocol


def check_protocol_bytes(folder: Path, data: bytes) -> None:
    """``load_protocol_file`` of a file holding ``data``: a protocol, or InputFileError."""
    from protocols.loader import load_protocol_file

    path = folder / "fuzz.toml"
    path.write_bytes(data)
    try:
        load_protocol_file(path)
    except InputFileError as exc:
        _check_input_error(exc, str(path), data.count(b"\n") + 1)


def _check_input_error(exc: InputFileError, path: str, n_lines: int) -> None:
    assert str(exc).startswith(path), str(exc)
    assert exc.reason.strip(), str(exc)
    if exc.line is not None:
        assert 1 <= exc.line <= max(n_lines, 1), str(exc)


# ------------------------------------------------------------------------------ settings

VALID_SETTINGS: dict[str, Any] = {
    "last_source": "ble:AA:BB:CC:DD:EE:FF",
    "known_straps": [{"address": "AA:BB:CC:DD:EE:FF", "name": "Polar H10 12345678"}],
    "pacer_breaths_per_min": 6.0,
    "pacer_ie_ratio": 0.6667,
    "plot_span_s": 300.0,
    "speed": 1.0,
    "protocol_id": "soothing_touch",
    "participant_id": "p01",
    "study": "S1",
    "marker_labels": ["distraction", "movement"],
    "audio_volume": 0.8,
    "audio_muted": False,
    "audio_voice": "en-gb",
    "speech_rate_wpm": 150.0,
    "audio_in_replays": False,
}
SETTINGS_KEYS = st.one_of(_TEXT, st.sampled_from([*VALID_SETTINGS, "pacer_rate_bpm",
                                                   "problems", "address", "name"]))


@st.composite
def settings_texts(draw: st.DrawFn) -> bytes:
    """``settings.json`` contents: valid settings mutated, any JSON value, a cut file, bytes,
    or JSON nested deeper than a parser's stack."""
    kind = draw(st.sampled_from(["mutated", "mutated", "json", "cut", "bytes", "deep", "number"]))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.sampled_from([100, 1000, 100_000]))
        return (b'{"marker_labels": ' + b"[" * depth + b"]" * depth + b"}")
    if kind == "number":
        digits = draw(st.sampled_from([20, 310, 400, 5000]))
        key = draw(st.sampled_from(["speed", "plot_span_s", "pacer_breaths_per_min"]))
        return f'{{"{key}": {"9" * digits}}}'.encode()
    text = json.dumps(draw(mutated(VALID_SETTINGS, JSON_VALUES, SETTINGS_KEYS)), indent=2)
    if kind == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


def check_settings(folder: Path, data: bytes) -> None:
    """Loading ``settings.json`` holding ``data`` never raises; every value it keeps has the
    documented type and range, anything dropped is named in ``problems`` (with the file),
    and the loaded settings save and load back equal without problems."""
    from biofeedback.viewmodels.preferences import SETTINGS_FILE, KnownStrap, WindowPreferences

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS_FILE
    path.write_bytes(data)
    prefs = WindowPreferences.load(folder)
    for problem in prefs.problems:
        assert problem.startswith(str(path)), problem
    assert isinstance(prefs.last_source, str)
    assert all(isinstance(s, KnownStrap) and isinstance(s.address, str) and s.address
               and isinstance(s.name, str) for s in prefs.known_straps)
    assert 2.0 <= prefs.pacer_breaths_per_min <= 30.0
    assert 0.2 <= prefs.pacer_ie_ratio <= 5.0
    assert 0.0 <= prefs.plot_span_s <= 86400.0
    assert prefs.speed is None or (math.isfinite(prefs.speed) and prefs.speed > 0)
    for name in ("protocol_id", "participant_id", "study"):
        assert getattr(prefs, name) is None or isinstance(getattr(prefs, name), str)
    assert all(isinstance(x, str) for x in prefs.marker_labels)
    assert 0.0 <= prefs.audio_volume <= 1.0
    assert 80.0 <= prefs.speech_rate_wpm <= 450.0
    assert isinstance(prefs.audio_muted, bool) and isinstance(prefs.audio_in_replays, bool)
    assert isinstance(prefs.audio_voice, str) and prefs.audio_voice.strip() == prefs.audio_voice
    assert prefs.audio_voice
    prefs.save(folder)
    again = WindowPreferences.load(folder)
    assert again == prefs and not again.problems, again.problems


# ------------------------------------------------------------------------------ command line

LONG_RUNNING = {"record", "app", "replay", "simulate-study", "scan"}
"""Commands that would stream, open a window, simulate a study or scan for Bluetooth: only
their parsing and the checks they make before starting are fuzzed."""


def cli_vocabulary() -> dict[str, list[str]]:
    """Every command path (``"study create"``; ``""`` is the top level) and the option strings
    it takes, read from the real parser."""
    return {path: shape[0] for path, shape in _cli_shapes().items()}


def _cli_shapes() -> dict[str, tuple[list[str], list[list[str]]]]:
    """Per command path: its option strings, and what it requires, as alternatives to choose
    one of (``[["--format"]]``, ``[["SESSION_ID"], ["--study"]]``; a positional is named by
    its ``dest`` in capitals)."""
    import argparse

    from biofeedback.cli.main import build_parser

    found: dict[str, tuple[list[str], list[list[str]]]] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        options = [s for a in parser._actions for s in a.option_strings]
        grouped = {id(a) for g in parser._mutually_exclusive_groups for a in g._group_actions}
        required: list[list[str]] = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or id(action) in grouped:
                continue
            if not action.option_strings and action.nargs not in ("?", "*"):
                required.append(["POSITIONAL"])
            elif action.required:
                required.append([action.option_strings[-1]])
        for group in parser._mutually_exclusive_groups:
            if group.required:
                required.append([a.option_strings[-1] if a.option_strings else "POSITIONAL"
                                 for a in group._group_actions])
        found[" ".join(path)] = (options, required)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


_VALUES = st.one_of(
    st.sampled_from([
        "0", "1", "-1", "2", "1.5", "-0", "1e309", "nan", "inf", "-inf", "max", "9" * 30,
        "9" * 5000, "", " ", "sim", "ble", "ble:AA:BB:CC:DD:EE:FF", "ble:nope", "replay:1",
        "replay:", "soothing_touch", "stress_reactivity:soothing_touch",
        "practice_comparison:soothing_touch,mindfulness_of_breathing", "practice_comparison:",
        "S1", "p01", "a@b.example", "John Smith", "DEBUG", "csv", "bids", "kubios", "edf",
        "end", "start", "garmin_fit", "(", "(?P<participant>p\\d+)", "²", "١", "\x00", "-",
        "--", "=", "FILE", "DIR", "OUT", "MISSING", "TOML",
    ]),
    # No '/' nor '..': 'import /' would read the whole file system (the real folders a
    # command may meet are the FILE, DIR... placeholders above).
    _TEXT.filter(lambda text: "/" not in text and ".." not in text),
)


@st.composite
def cli_argvs(draw: st.DrawFn) -> list[str]:
    """An argument list: a real command path, some of its options (as ``--opt value`` or
    ``--opt=value``) with hostile values, stray tokens, and sometimes ``--log-level``."""
    shapes = _cli_shapes()
    path = draw(st.sampled_from(sorted(shapes)))
    options = shapes[path][0] + shapes[""][0]
    argv = path.split()
    if draw(st.integers(0, 3)):  # mostly complete: past argparse into the command
        for alternatives in shapes[path][1]:
            needed = draw(st.sampled_from(alternatives))
            argv += [draw(_VALUES)] if needed == "POSITIONAL" else [needed, draw(_VALUES)]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["option", "option", "option=", "value", "flag"]))
        if kind == "value":
            argv.append(draw(_VALUES))
        elif kind == "flag":
            argv.append(draw(st.sampled_from(options or ["--help"])))
        elif options:
            option = draw(st.sampled_from(options))
            if kind == "option=" and option.startswith("--"):
                argv.append(f"{option}={draw(_VALUES)}")
            else:
                argv += [option, draw(_VALUES)]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(argv)))
        argv[at:at] = ["--log-level", draw(st.sampled_from(["DEBUG", "info", "nope", ""]))]
    return argv


def _resolve_tokens(argv: list[str], folder: Path) -> list[str]:
    """Put real paths in place of FILE (an RR file), TOML (a protocol file), DIR (a folder),
    OUT (a file to write) and MISSING (no such file)."""
    rr = folder / "rr.txt"
    if not rr.exists():
        rr.write_text("".join(f"{800 + 40 * (i % 5)}\n" for i in range(300)), encoding="utf-8")
    toml = folder / "protocol.toml"
    if not toml.exists():
        toml.write_bytes(BUILTIN_PROTOCOLS[0].read_bytes())
    names = {"FILE": rr, "TOML": toml, "DIR": folder, "OUT": folder / "out" / "x.csv",
             "MISSING": folder / "missing.txt"}
    return [str(names[t]) if t in names else t for t in argv]


def check_cli(argv: list[str], folder: Path) -> None:
    """``main(argv)`` in-process with the data folder ``folder/data``: exit status 0, 1 or 2,
    argparse's own exits only 0 (help) or 2 (usage), and never "internal error" nor a
    traceback. Long-running commands are parsed, and put through the checks they make
    before starting (source, participant, protocol, study, replay target), not run."""
    from biofeedback.cli.main import main

    argv = _resolve_tokens(argv, folder)
    data_dir = folder / "data"
    out, err = io.StringIO(), io.StringIO()
    # In the folder: a relative path (or '') must not reach the repository's files.
    with contextlib.chdir(folder), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            if _command(argv) in LONG_RUNNING:
                code = _check_before_start(argv, data_dir)
            else:
                code = main([*argv, *_data_dir_option(argv, data_dir)])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
            assert code in (0, 2), f"{argv}: argparse exit {exc.code!r}"
    message = err.getvalue()
    assert code in (0, 1, 2), f"{argv}: exit {code}\n{message}"
    assert "internal error" not in message, f"{argv}:\n{message}"
    assert "Traceback" not in message, f"{argv}:\n{message}"
    if code == 1:  # an error sentence; import prints its summary of refused files instead
        imported = _command(argv) == "import" and "refused" in out.getvalue()
        assert "error" in message or imported, (
            f"{argv}: exit 1 without a message:\n{message}\n{out.getvalue()}"
        )


def _command(argv: list[str]) -> str | None:
    """The command ``main(argv)`` runs: the first argument once ``--log-level`` is taken
    out, ``app`` (the window) when there is none; None when ``--log-level`` is a usage error."""
    from biofeedback.cli.main import _log_level_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            _, rest = _log_level_parser().parse_known_args(argv)
    except SystemExit:
        return None
    return rest[0] if rest else "app"


def _data_dir_option(argv: list[str], data_dir: Path) -> list[str]:
    """``--data-dir`` where the command takes one (``protocols`` and ``scan`` do not)."""
    vocabulary = cli_vocabulary()
    path = " ".join(t for t in argv[:2] if not t.startswith("-"))
    while path and path not in vocabulary:
        path = " ".join(path.split()[:-1])
    return ["--data-dir", str(data_dir)] if "--data-dir" in vocabulary.get(path, []) else []


def _check_before_start(argv: list[str], data_dir: Path) -> int:
    """Parse a long-running command and make the checks it makes before starting; 1 for a
    BiofeedbackError (what main prints), 0 when it would start."""
    from biofeedback.cli.log import resolve_log_level
    from biofeedback.cli.main import _log_level_parser, build_parser

    log_options, argv = _log_level_parser().parse_known_args(argv)
    try:
        resolve_log_level(log_options.log_level, {})
    except ValueError:
        return 2
    args = build_parser().parse_args(argv or ["app"])
    if getattr(args, "data_dir", None) is None and hasattr(args, "data_dir"):
        args.data_dir = str(data_dir)
    try:
        _PRE_START[args.command](args)
    except BiofeedbackError as exc:
        print(f"biofeedback {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _pre_record(args: Any) -> None:
    from biofeedback.cli.common import check_source
    from biofeedback.session.launch import SessionRequest, parse_source_spec, prepare_session

    check_source(args.source)
    request = SessionRequest(
        source=args.source, protocol_id=args.protocol, participant_id=args.participant,
        study=args.study, speed=args.speed, seed=args.seed, lsl=False,
        duration_s=args.duration, simulated_participant=parse_source_spec(args.source)[0] == "sim",
    )
    prepared = prepare_session(request, args.data_dir, neurokit=False,
                               scan_timeout_s=args.scan_timeout,
                               reconnect_timeout_s=args.reconnect_timeout)
    prepared.close()


def _pre_app(args: Any) -> None:
    from biofeedback.cli.common import check_source

    if args.source is not None:
        check_source(args.source)


def _pre_replay(args: Any) -> None:
    from biofeedback.cli.common import load_target

    load_target(args.target, args.data_dir)


def _nothing(args: Any) -> None:
    return None


_PRE_START: dict[str, Callable[[Any], None]] = {
    "record": _pre_record, "app": _pre_app, "replay": _pre_replay, "scan": _nothing,
    "simulate-study": _nothing,
}
