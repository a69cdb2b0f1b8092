"""Cue onset error at playback: a click train through the window's audio output
(``biofeedback.ui.audio_output.AudioOutput``, Qt Multimedia) into a private PulseAudio null
sink, its monitor recorded with ``parec``, the clicks found in the recording.

Per scenario (the session clock at the sound card's pace, 0.1 % faster as a real card's
drift may be, 2 % faster to show the re-anchoring at work, and at the card's pace with the
GUI thread running Python from 0.5 s to the end, 1.5 s at a time with one turn of its event
loop in between, as a paint that never ends would: the sink is fed from its own thread):

* ``heard_error_ms``: recorded onsets vs scheduled times, after removing one constant (the
  recording's start is not on the session clock): median and max of |error|;
* ``reported_error_ms``: the actual onsets the player reported (``confirm_played``) vs the
  scheduled times: median and max of |error|;
* ``reported_vs_heard_ms``: the reported onsets vs the recorded ones (same constant removed):
  how well what is stored as the audio marker matches what was heard;
* re-anchorings, underruns, and the lead (written but not yet played, s) at the end.

    python benchmarks/audio_playback.py [--seconds 20] [--only SCENARIO]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import machine
from audio_server import RECORD_RATE, click_onsets, play, start_pulse_server

SCENARIOS: dict[str, dict] = {
    "steady": {"clock_rate": 1.0},
    "drift_0.1pct": {"clock_rate": 1.001},
    "drift_2pct": {"clock_rate": 1.02},
    "busy_gui": {"clock_rate": 1.0, "gui_busy": {"every_s": 0.5, "for_s": 1.5}},
}


def stats_ms(errors: np.ndarray) -> dict[str, float]:
    magnitude = np.abs(errors) * 1000
    return {"median": round(float(np.median(magnitude)), 2),
            "max": round(float(magnitude.max()), 2)}


def run(server, name: str, seconds: float, folder: Path) -> dict:
    clicks = [0.5 + 0.5 * i for i in range(int((seconds - 0.8) / 0.5) + 1)]
    clock_rate = SCENARIOS[name]["clock_rate"]
    path = folder / f"monitor-{name}.raw"
    with server.recording(path) as rec:
        result = play(server.env, {"clicks": clicks, **SCENARIOS[name]},
                      timeout_s=seconds + 60)
    samples = rec.samples()
    scheduled = np.array(clicks)
    heard = np.array(click_onsets(samples)) / RECORD_RATE * clock_rate
    out: dict = {"clicks": len(clicks), "heard": len(heard),
                 "reanchors": result["reanchors"], "underruns": result["underruns"],
                 "lead_s": round(result["latency_s"], 3)}
    if len(heard) != len(clicks):
        out["error"] = "not every click was found in the recording"
        return out
    heard_error = heard - scheduled
    heard_error -= np.median(heard_error)
    out["heard_error_ms"] = stats_ms(heard_error)
    reported = dict((int(i), a) for i, a in result["confirmed"])
    if sorted(reported) != list(range(len(clicks))):
        out["error"] = "not every click was reported as played"
        return out
    actual = np.array([reported[i] for i in range(len(clicks))])
    out["reported_error_ms"] = stats_ms(actual - scheduled)
    lag = heard - actual
    out["reported_vs_heard_ms"] = stats_ms(lag - np.median(lag))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="session time played per scenario, s")
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="run this scenario alone")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bf-audio-"))
    server = start_pulse_server(folder / "pulse")
    try:
        results = {name: run(server, name, args.seconds, folder)
                   for name in ([args.only] if args.only else SCENARIOS)}
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"machine": machine(), "seconds": args.seconds, "goal_ms": 20,
                      "scenarios": results}, indent=2))


if __name__ == "__main__":
    main()
