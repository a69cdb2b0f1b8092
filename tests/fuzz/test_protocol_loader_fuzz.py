"""Fuzzing the protocol TOML loader: whatever the text or bytes, ``load_protocol_text`` /
``load_protocol_file`` return a protocol (that writes back equal) or raise InputFileError
naming the file and a line inside it; never another exception (``tests/fuzz_targets.py``).

The structured examples are the built-in protocols mutated along the schema (wrong types,
missing and unknown keys, out-of-range numbers, NaN/inf, huge values, unicode, deep nesting),
so they reach the validation behind the TOML parser. Plain regression tests below keep every
input that once crashed the loader.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz_targets import (
    BUILTIN_PROTOCOLS,
    check_protocol_bytes,
    check_protocol_text,
    deep_nesting,
    protocol_documents,
    protocol_texts,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.core.errors import InputFileError
from protocols.loader import load_protocol_file, load_protocol_text

EXAMPLES = int(os.environ.get("BIOFEEDBACK_FUZZ_EXAMPLES", "150"))
"""Examples per target (raise it for a longer hunt, or run benchmarks/fuzz_inputs.py)."""

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(protocol_documents())
def test_mutated_protocols_load_or_name_the_problem(text):
    check_protocol_text(text)


@FUZZ
@given(protocol_texts())
def test_broken_protocol_texts_load_or_name_the_problem(text):
    check_protocol_text(text)


@FUZZ
@given(st.text(max_size=300))
def test_any_text_loads_or_names_the_problem(text):
    check_protocol_text(text)


@settings(FUZZ, suppress_health_check=[*FUZZ.suppress_health_check,
                                       HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300), st.sampled_from(BUILTIN_PROTOCOLS).map(
    lambda p: p.read_bytes()).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n]))))
def test_any_bytes_load_or_name_the_problem(tmp_path, data):
    check_protocol_bytes(tmp_path, data)


# ------------------------------------------------------------------ regressions (found by fuzzing)

VALID = BUILTIN_PROTOCOLS[0].read_text(encoding="utf-8")


@pytest.mark.parametrize("table", [False, True], ids=["arrays", "inline-tables"])
@pytest.mark.parametrize("depth", [300, 5000])
def test_nesting_deeper_than_the_parser_recurses_is_refused_with_its_line(depth, table):
    # Found: 'id = [[[...]]]' 300+ levels deep escaped as RecursionError from tomllib.
    text = VALID + f"\nextra = {deep_nesting(depth, table=table)}\n"
    with pytest.raises(InputFileError) as caught:
        load_protocol_text(text, "deep.toml")
    assert caught.value.line == VALID.count("\n") + 2
    assert caught.value.reason == "arrays or tables nested more than 32 levels deep"
    assert str(caught.value).startswith("deep.toml, line ")


def test_deep_nesting_in_a_file_names_the_file_and_line(tmp_path: Path):
    path = tmp_path / "deep.toml"
    path.write_text('id = "x"\n\nname = ' + deep_nesting(1000) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"deep\.toml, line 3: arrays or tables nested"):
        load_protocol_file(path)


def test_brackets_in_strings_and_comments_are_not_nesting():
    brackets = "[" * 40 + "{" * 40
    text = VALID.replace(
        "\n", f"  # {brackets}\n", 1
    ) + f'\n# {brackets}\n'
    text = text.replace('description = "', f'description = "{brackets} ', 1)
    assert "[" * 40 in text
    protocol = load_protocol_text(text, "brackets.toml")
    assert protocol.description.startswith(brackets)


def test_nesting_the_parser_cannot_follow_on_a_small_stack_is_still_an_input_error():
    # The depth check is for the main thread; a thread with less recursion left gets the
    # fallback: the parser's RecursionError becomes the same kind of sentence.
    import sys

    text = f"id = {deep_nesting(30)}\n"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)
    try:
        with pytest.raises(InputFileError, match="nested too deeply to read"):
            load_protocol_text(text, "deep.toml")
    finally:
        sys.setrecursionlimit(limit)


def _with(old: str, new: str, name: str = "stress_reactivity") -> str:
    text = (BUILTIN_PROTOCOLS[0].parent / f"{name}.toml").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_an_integer_too_large_for_a_float_names_its_field():
    # Found by benchmarks/fuzz_inputs.py: 'duration_min = 1000...0' (401 digits) escaped as
    # OverflowError ("int too large to convert to float").
    text = _with("duration_min = 10", "duration_min = 1" + "0" * 400, "soothing_touch")
    with pytest.raises(InputFileError) as caught:
        load_protocol_text(text, "big.toml")
    assert caught.value.field == "phases[2].duration_min"
    assert caught.value.reason == "must be a finite number, not a 401-digit integer"
    assert caught.value.line == text.splitlines().index("duration_min = 1" + "0" * 400) + 1


def test_an_integer_of_5000_digits_is_refused_with_its_line():
    # Found: tomllib's int() refuses more than 4300 digits with a ValueError that is not a
    # TOMLDecodeError, and it escaped.
    text = _with('id = "stress_reactivity"', "id = " + "9" * 5000)
    with pytest.raises(InputFileError) as caught:
        load_protocol_text(text, "big.toml")
    assert caught.value.line == text.splitlines().index("id = " + "9" * 5000) + 1
    assert caught.value.reason.startswith("not a usable number: Exceeds the limit (4300 digits)")


def test_a_huge_integer_is_shown_by_its_digits_not_in_full():
    text = _with('id = "stress_reactivity"', "id = 1" + "0" * 400)
    with pytest.raises(InputFileError) as caught:
        load_protocol_text(text, "big.toml")
    assert caught.value.reason == "expected a string, got a number of 401 digits"


def test_a_file_name_with_a_nul_byte_is_an_input_error():
    # Found by benchmarks/fuzz_inputs.py ('protocols validate' of a name with a NUL byte):
    # read_bytes() raised ValueError.
    with pytest.raises(InputFileError, match="is not a file name"):
        load_protocol_file("a\x00b.toml")
