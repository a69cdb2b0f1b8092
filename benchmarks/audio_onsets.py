"""Cue onset error in the audio that ``record --audio-out`` renders; prints JSON.

Records a built-in lab protocol (``stress_reactivity:affectionate_breathing``, 33 min) with
the simulated strap at ``--speed max`` and ``--audio-out``, as the built-in is (its chimes),
and again with every cue switched on in every phase (chimes, halfway bell, spoken
instructions and prompts through espeak-ng). Each cue's onset is then found in the WAV by
signal processing alone (spectral flux, see :func:`measured_onset`), near the scheduled
time stored with its audio marker, and compared with it.
Usage: ``python benchmarks/audio_onsets.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

sys.path.insert(0, str(ROOT))  # this checkout's package, as the recording subprocess uses

SPEC = "stress_reactivity:affectionate_breathing"
SEARCH_S = 0.1
"""How far from the scheduled time an onset is looked for, s."""


def measured_onset(path: Path, rate: int, scheduled_s: float) -> float | None:
    """The onset near ``scheduled_s`` found in the file, s (None: no rise found).

    Spectral flux (the sum of the rises of the magnitude spectrum, 5 ms windows every
    0.5 ms): a decaying chime or a steady tone adds none, a new sound adds it in its own
    bands whether it starts with a hiss ('s') or a hum ('n'). The onset is the first window
    whose flux exceeds 3 % of the largest flux near the scheduled time and three times the
    background before it, dated at the window's end (a window sees a sound once it is in).
    """
    import soundfile

    start = max(0.0, scheduled_s - 0.4)
    with soundfile.SoundFile(str(path)) as f:
        f.seek(int(start * rate))
        x = f.read(int(0.9 * rate), dtype="float64")
    win, hop = int(0.005 * rate), int(0.0005 * rate)
    n = (len(x) - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n] * np.hanning(win)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    flux = np.concatenate(([0.0], np.maximum(0.0, np.diff(mag, axis=0)).sum(axis=1)))
    t = start + (np.arange(n) * hop + win) / rate
    before = flux[(t >= scheduled_s - 0.25) & (t < scheduled_s - SEARCH_S)]
    background = float(np.median(before)) if len(before) else 0.0
    window = (t >= scheduled_s - SEARCH_S) & (t < scheduled_s + 0.3)
    peak = float(np.max(flux[window]))
    if peak <= 3.0 * background or peak == 0.0:
        return None
    above = np.flatnonzero(window & (flux >= max(0.03 * peak, 3.0 * background)))
    return float(t[above[0]])


def run(spec: str, folder: Path, cache: Path) -> dict:
    data = folder / "data"
    out = folder / "session.wav"
    env = dict(os.environ, BIOFEEDBACK_DATA_DIR=str(data), BIOFEEDBACK_CACHE_DIR=str(cache))
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "biofeedback", "record", "--source", "sim", "--speed", "max",
         "--seed", "7", "--protocol", spec, "--audio-out", str(out), "--quiet",
         "--no-neurokit"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return {"error": done.stderr.strip()}
    import soundfile

    info = soundfile.info(str(out))
    with sqlite3.connect(data / "biofeedback.sqlite3") as db:
        rows = db.execute("SELECT onset_s, extra FROM markers WHERE kind = 'audio' "
                          "ORDER BY onset_s").fetchall()
    errors, missing, kinds, worst = [], [], {}, []
    for _, extra in rows:
        cue = json.loads(extra)
        if cue["cue"] == "recording":
            continue  # a recording's first sound is wherever the file has it
        found = measured_onset(out, info.samplerate, cue["scheduled_s"])
        if found is None:
            missing.append(cue["cue"])
            continue
        error_ms = 1000.0 * (found - cue["scheduled_s"])
        worst.append((abs(error_ms), round(error_ms, 2), cue["cue"], cue["phase"],
                      round(cue["into_phase_s"], 3), cue.get("text", "")[:30]))
        errors.append(abs(error_ms))
        kinds.setdefault(cue["cue"], []).append(abs(error_ms))
    return {
        "cues": len(rows),
        "measured": len(errors),
        "not_found": missing,
        "onset_error_ms": {"median": round(statistics.median(errors), 2),
                           "max": round(max(errors), 2)} if errors else None,
        "max_error_ms_by_cue": {k: round(max(v), 2) for k, v in sorted(kinds.items())},
        "worst": [list(w[1:]) for w in sorted(worst, reverse=True)[:3]],
        "marker_vs_schedule_max_ms": round(max(abs(json.loads(e)["error_ms"])
                                               for _, e in rows), 3),
        "wav_s": round(info.frames / info.samplerate, 1),
        "sample_rate": info.samplerate,
        "record_wall_s": round(wall, 1),
    }


def every_cue_on(folder: Path) -> str:
    """The protocol with chimes, halfway bell and all speech on in every phase, as a file."""
    from protocols.library import get_protocol
    from protocols.loader import dump_protocol_toml
    from protocols.model import CueSettings, PacerSound

    protocol = get_protocol(SPEC)
    phases = tuple(
        replace(p, cues=CueSettings(
            chimes=True, halfway_bell=True, speak_instructions=True, speak_prompts=True,
            pacer_sound=PacerSound.TONE if p.pacer is not None else PacerSound.OFF))
        for p in protocol.phases
    )
    path = folder / "every_cue.toml"
    path.write_text(dump_protocol_toml(replace(protocol, id="every_cue", phases=phases)),
                    encoding="utf-8")
    return str(path)


def render_cost(folder: Path) -> dict:
    """Wall time of ``AudioProgram.render`` for 10 ms spans (what a live output asks for),
    in a paced phase with the tone pacer and every cue on, ticked as a session does."""
    os.environ["BIOFEEDBACK_CACHE_DIR"] = str(folder / "cache")
    from biofeedback.audio.program import AudioProgram
    from biofeedback.session.live_session import LiveSession
    from protocols.library import get_protocol
    from protocols.model import CueSettings, PacerSound
    from protocols.runner import ProtocolRunner
    from sensors.simulated import SimulatedStrap

    protocol = get_protocol("practice_comparison:resonance_breathing,affectionate_breathing")
    protocol = replace(protocol, phases=tuple(
        replace(p, cues=CueSettings(True, True, True, True,
                                    PacerSound.TONE if p.pacer else PacerSound.OFF))
        for p in protocol.phases))
    runner = ProtocolRunner(protocol, LiveSession(SimulatedStrap(seed=1, speed=None),
                                                  neurokit=False))
    t0 = time.perf_counter()
    program = AudioProgram.build(protocol, runner)
    build_s = time.perf_counter() - t0
    paced = next(i for i, p in enumerate(protocol.phases) if p.pacer is not None)
    start = sum(p.duration_s for p in protocol.phases[:paced])
    runner.start(0.0)
    times = []
    t = start + 20.0
    for i in range(1000):
        if i % 100 == 0:
            runner.tick(t)
        a = time.perf_counter()
        program.render(t, 480)
        times.append(1000.0 * (time.perf_counter() - a))
        t += 0.01
    return {"build_s_uncached_speech": round(build_s, 2),
            "render_10ms_span_ms": {"median": round(statistics.median(times), 3),
                                    "p99": round(float(np.percentile(times, 99)), 3)}}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        (root / "builtin").mkdir()
        (root / "all").mkdir()
        results = {
            "protocol": SPEC,
            "builtin_cues": run(SPEC, root / "builtin", cache),
            "every_cue_on": run(every_cue_on(root), root / "all", cache),
            "render_cost": render_cost(root),
        }
    print(json.dumps({"audio_onsets": results, "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
