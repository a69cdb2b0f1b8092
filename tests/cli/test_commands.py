"""The command line: record, sessions, replay, analyze, and errors without tracebacks."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from biofeedback.cli.main import main
from conftest import PYTHON, cli_env


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def recorded(data_dir, capsys) -> int:
    code, out, err = run_cli(
        capsys, "record", "--source", "sim", "--seed", "5", "--speed", "max",
        "--duration", "360", "--participant", "P07", "--quiet", "--no-neurokit",
    )
    assert code == 0, err
    return int(out.strip())


def test_record_prints_id_and_stores_a_complete_session(recorded, capsys):
    code, out, _ = run_cli(capsys, "sessions", "--json")
    assert code == 0
    rows = json.loads(out)["sessions"]
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == recorded and row["participant"] == "P07" and row["source"] == "sim"
    assert row["status"] == "complete"
    assert 355 <= row["duration_s"] <= 362
    assert 300 <= row["beats"] <= 500
    code, out, _ = run_cli(capsys, "sessions")
    assert "P07" in out and "complete" in out
    assert re.search(r" (5:5\d|6:0\d) ", out), out  # duration as m:ss


def test_analyze_json_has_every_field(recorded, capsys):
    code, out, err = run_cli(capsys, "analyze", str(recorded), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"session", "phases", "settings", "versions"}
    phase = doc["phases"][0]
    for key in ("name", "start_s", "duration_s", "n_beats", "artifact_pct", "mean_hr_bpm",
                "mean_rr_ms", "rmssd_ms", "ln_rmssd", "sdnn_ms", "pnn50_pct", "sd1_ms",
                "sd2_ms", "hf_ms2", "lf_ms2", "lf_hf", "breaths_per_min", "hf_valid"):
        assert key in phase
    assert 40 < phase["mean_hr_bpm"] < 100
    assert doc["settings"]["correction"] == "kubios"
    assert "neurokit2" in doc["versions"]
    code, out, _ = run_cli(capsys, "analyze", str(recorded), "--correction", "none")
    assert code == 0 and "RMSSD" in out


def test_replay_headless_summary_matches_the_recording(recorded, capsys):
    code, out, err = run_cli(
        capsys, "replay", str(recorded), "--headless", "--speed", "max", "--json",
        "--no-neurokit",
    )
    assert code == 0, err
    summary = json.loads(out)
    code, out, _ = run_cli(capsys, "sessions", "--json")
    beats = json.loads(out)["sessions"][0]["beats"]
    assert summary["n_beats"] == beats
    assert summary["final_indices"]["rmssd_60_ms"] > 0
    # Replaying does not create a session.
    assert len(json.loads(out)["sessions"]) == 1


def test_replay_and_analyze_an_rr_file(tmp_path, data_dir, capsys):
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(str(800 + 30 * (i % 5)) for i in range(400)), encoding="utf-8")
    code, out, err = run_cli(capsys, "analyze", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["phases"][0]["n_beats"] == 400
    code, out, err = run_cli(capsys, "replay", str(path), "--headless", "--no-neurokit")
    assert code == 0, err
    assert "n_beats" in out and "400" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("analyze", "999"), "no session 999"),
        (("analyze", "not-a-file.txt"), "neither a session id nor an existing file"),
        (("replay", "999", "--headless"), "no session 999"),
        (("record", "--source", "nonsense"), "unknown source 'nonsense'"),
        (("record", "--participant", "Jane Doe", "--duration", "5", "--speed", "max"),
         "participant id"),
    ],
)
def test_errors_go_to_stderr_without_traceback(data_dir, capsys, args, needle):
    code, out, err = run_cli(capsys, *args)
    assert code == 1
    assert needle in err
    assert "Traceback" not in err and out == ""


def test_bad_rr_file_names_line_and_creates_nothing(tmp_path, data_dir, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("800\n810\nabc\n", encoding="utf-8")
    for command in (("analyze", str(bad)), ("replay", str(bad), "--headless")):
        code, _, err = run_cli(capsys, *command)
        assert code == 1
        assert f"{bad}, line 3" in err and "not a number" in err
    code, out, _ = run_cli(capsys, "sessions", "--json")
    assert json.loads(out)["sessions"] == []


def test_bad_arguments_exit_2_with_usage(data_dir, capsys):
    with pytest.raises(SystemExit) as info:
        main(["record", "--speed", "-3"])
    assert info.value.code == 2
    assert "speed must be positive, not '-3'" in capsys.readouterr().err


def test_python_dash_m_and_console_script(data_dir):
    out = subprocess.run(
        [PYTHON, "-m", "biofeedback", "sessions", "--json"], capture_output=True, text=True,
        env=cli_env(data_dir), check=True,
    )
    assert json.loads(out.stdout) == {"sessions": []}
    out = subprocess.run([PYTHON, "-m", "biofeedback", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "record" in out.stdout and "app" in out.stdout
