"""Fuzzing the command line: argument lists built from the real parser's commands and options
with hostile values, run in-process through ``main(argv)`` on a private data folder. Only
exit statuses 0, 1 and 2 are allowed, 1 with an "error:" sentence and never an "internal
error" or a traceback (``tests/fuzz_targets.py``). record, app, replay, scan and
simulate-study are parsed and put through the checks they make before starting, not run.
Plain regression tests below keep every argument list that once crashed a command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fuzz_targets import check_cli, cli_argvs, cli_vocabulary
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("BIOFEEDBACK_FUZZ_EXAMPLES", "150"))
"""Examples (raise it for a longer hunt, or run benchmarks/fuzz_inputs.py)."""


def test_the_vocabulary_is_the_real_parser():
    vocabulary = cli_vocabulary()
    assert {"record", "study create", "protocols validate", "export", "import"} <= set(vocabulary)
    assert "--exclusion-threshold" in vocabulary["study create"]
    assert "--log-level" in vocabulary[""]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=cli_argvs())
def test_any_command_line_ends_in_a_status_and_a_sentence(tmp_path, data_dir, argv):
    check_cli(argv, tmp_path)


# ------------------------------------------------------------------ regressions (found by fuzzing)


def _run(argv, capsys):
    from biofeedback.cli.main import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--log-level=--", "sessions"],
    ["sessions", "--participant=--"],
    ["study", "show", "S1", "--data-dir=--"],
])
def test_an_option_value_of_two_dashes_is_that_text(argv, data_dir, capsys, tmp_path,
                                                    monkeypatch):
    # Found: Python 3.11's argparse turned '--log-level=--' into [] ('list' object has no
    # attribute 'strip': an internal error), and '--participant=--' likewise.
    monkeypatch.chdir(tmp_path)
    code, err = _run(argv, capsys)
    assert "internal error" not in err
    if argv[0].startswith("--log-level"):
        assert (code, err.strip()) == (2, "biofeedback: error: --log-level='--' is not one of "
                                          "DEBUG, INFO, WARNING, ERROR, CRITICAL")
    elif argv[0] == "sessions":
        assert code == 0
    else:
        assert code == 1 and "no study named 'S1'" in err
        assert (tmp_path / "--").is_dir()  # the data folder named '--', as asked


@pytest.mark.parametrize("command", ["export", "report"])
@pytest.mark.parametrize("given", ["99999999999999999999999", "0", "-5", "²"])
def test_a_session_id_out_of_range_is_a_usage_error(command, given, data_dir, capsys, tmp_path):
    # Found: 'export 99999999999999999999999' reached SQLite: "internal error: OverflowError:
    # Python int too large to convert to SQLite INTEGER".
    out = tmp_path / "out.html"
    extra = ["--format", "csv"] if command == "export" else []
    code, err = _run([command, given, *extra, "--out", str(out)], capsys)
    assert code == 2
    assert "internal error" not in err
    assert "argument SESSION_ID: a session id is a whole number" in err
    assert repr(given) in err


@pytest.mark.parametrize(("given", "message"), [
    ("99999999999999999999999", "'99999999999999999999999' is not an existing file, and too "
                                "large for a session id (at most 9223372036854775807)"),
    ("²", "'²' is neither a session id nor an existing file"),
    ("n" * 5000, "is neither a session id nor an existing file"),
])
def test_a_replay_target_that_is_no_session_nor_file_says_so(given, message, data_dir, capsys):
    # Found: a huge id (OverflowError), '²' (str.isdigit() but not int()) and a
    # 5000-character name.
    code, err = _run(["analyze", given], capsys)
    assert code == 1
    assert "internal error" not in err
    assert err.startswith("biofeedback analyze: error: ") and message in err


@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_import_path_is_refused_not_read_as_the_current_folder(given, data_dir, capsys,
                                                                       tmp_path, monkeypatch):
    # Found: 'import ""' imported every recording under the current folder (the repository,
    # when the fuzzer ran there): an unset shell variable must not do that.
    (tmp_path / "rr.txt").write_text("".join(f"{800 + i % 7}\n" for i in range(200)))
    monkeypatch.chdir(tmp_path)
    code, err = _run(["import", given], capsys)
    assert (code, err.strip()) == (1, "biofeedback import: error: a PATH is empty; give a "
                                      "recording file, folder or zip archive")
    assert not data_dir.exists()


def test_a_named_pipe_is_refused_not_waited_on(data_dir, capsys, tmp_path):
    # Found: 'import /' hung for ever opening a named pipe somewhere under / (open() of a
    # FIFO waits for a writer). A pipe, given or met in a folder, is refused in words.
    from biofeedback.cli.main import main

    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "rr.txt").write_text("".join(f"{800 + 40 * (i % 5)}\n" for i in range(300)))
    code = main(["import", str(folder / "pipe.txt"), str(folder), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    reason = "is not a regular file (a pipe, socket or device), not a recording file"
    # Given itself and met again in its folder: refused once.
    assert [(r["file"], r["reason"]) for r in summary["refused"]] == [
        (str(folder / "pipe.txt"), reason)]
    assert [Path(i["file"]).name for i in summary["imported"]] == ["rr.txt"]


def test_a_replay_target_with_a_nul_byte_is_no_file(data_dir):
    # Found: Path.exists() raises ValueError for a NUL byte (the window passes targets here
    # without the command line's check).
    from biofeedback.session.launch import SourceSpecError, load_replay_target

    with pytest.raises(SourceSpecError, match=r"'x\\x00y' is neither a session id nor an "):
        load_replay_target("x\x00y", data_dir)


@pytest.mark.parametrize("argv", [
    ["export", "1", "--format", "csv", "--out", "a\x00b"],
    ["report", "1", "--out", "a\x00b.html"],
    ["protocols", "validate", "\x00"],
    ["--log-level", "a\x00"],
])
def test_an_argument_with_a_nul_byte_is_a_usage_error(argv, data_dir, capsys):
    # Found: 'protocols validate <NUL>' and 'export 1 --out a<NUL>b' ended in "internal error:
    # ValueError: embedded null byte". No shell passes a NUL; main(argv) can be given one.
    code, err = _run(argv, capsys)
    assert code == 2
    bad = next(a for a in argv if "\x00" in a)
    assert err.splitlines()[-1] == f"biofeedback: error: argument {bad!r} holds a NUL byte"
