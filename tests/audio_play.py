"""Play a click train through :class:`biofeedback.ui.audio_output.AudioOutput`, in a fresh
interpreter, and print what the player reported as JSON (one line).

    python tests/audio_play.py '{"clicks": [0.5, 1.0], "duration_s": 1.5}'

Scenario keys (all optional): ``sample_rate`` (48000), ``clicks`` (onsets, session s),
``click_s`` (0.01: length of a click, a 1 kHz tone burst), ``amplitude`` (0.5),
``duration_s`` (after the last click + 0.3), ``clock_rate`` (1.0: session seconds per
monotonic second; another value makes the session clock drift from the sound card's),
``volume`` (1.0), ``muted`` (false), ``warm_up`` (false: start at once, the clock standing
at 0 until the stream runs; true: warm_up() first, then start() once the stream runs, the
clock running from then on, as in the window), ``pause`` (``{"at_s", "for_s"}``: the clock
stops at ``at_s`` for ``for_s`` s of wall time while the output plays silence, as the window
does for a paused replay), ``steps`` (list of ``{"at_s", "volume", "muted"}``
applied when the session clock reaches ``at_s``), ``gui_busy`` (``{"every_s", "for_s"}``:
the GUI thread runs Python for ``for_s`` s of wall time every ``every_s`` s once the clock
runs, as long paints would: the output feeds the sink from its own thread meanwhile).

Output keys: ``started``, ``message`` (the status sentence), ``confirmed`` (``[click index,
actual onset s]`` in the order confirm_played was called), ``reanchors``, ``underruns``,
``sample_rate``, ``latency_s``.

The click train is test input (what an AudioProgram would render), not a mock of ours.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QTimer

from biofeedback.ui.audio_output import AudioOutput


@dataclass(frozen=True)
class Click:
    """A cue of the click train (the fields of a ScheduledCue the player uses)."""

    id: int
    onset_s: float
    kind: str = "click"


class ClickTrain:
    """Renders 1 kHz tone bursts at given session times (float32 mono)."""

    def __init__(self, onsets: list[float], rate: int, length_s: float, amplitude: float):
        self.clicks = [Click(i, float(t)) for i, t in enumerate(onsets)]
        self.rate = rate
        n = max(1, round(length_s * rate))
        self.burst = (amplitude * np.sin(2 * np.pi * 1000.0 * np.arange(n) / rate)
                      ).astype(np.float32)
        # Start at the crest, not at zero: the onset is then the first sample.
        self.burst = np.roll(self.burst, -round(rate / 4000))
        self.rendered_spans = 0

    def render(self, start_s: float, n_frames: int) -> np.ndarray:
        out = np.zeros(n_frames, np.float32)
        first = round(start_s * self.rate)
        for click in self.clicks:
            at = round(click.onset_s * self.rate) - first
            lo, hi = max(at, 0), min(at + len(self.burst), n_frames)
            if lo < hi:
                out[lo:hi] = self.burst[lo - at:hi - at]
        self.rendered_spans += 1
        return out

    def cues_in(self, start_s: float, end_s: float) -> list[Click]:
        # The same frame rounding as render(), so a cue is in exactly one span.
        lo, hi = round(start_s * self.rate), round(end_s * self.rate)
        return [c for c in self.clicks if lo <= round(c.onset_s * self.rate) < hi]


def main(argv: list[str]) -> int:
    scenario = json.loads(argv[1]) if len(argv) > 1 else {}
    rate = int(scenario.get("sample_rate", 48000))
    clicks = [float(t) for t in scenario.get("clicks", [])]
    duration_s = float(scenario.get("duration_s", (max(clicks) if clicks else 0.0) + 0.3))
    clock_rate = float(scenario.get("clock_rate", 1.0))
    steps = sorted(scenario.get("steps", []), key=lambda s: s["at_s"])
    train = ClickTrain(clicks, rate, float(scenario.get("click_s", 0.01)),
                       float(scenario.get("amplitude", 0.5)))

    app = QCoreApplication(argv[:1])
    output = AudioOutput()
    output.set_volume(float(scenario.get("volume", 1.0)))
    output.set_muted(bool(scenario.get("muted", False)))
    warm = bool(scenario.get("warm_up", False))
    t0: list[float] = []

    pause = scenario.get("pause")  # {"at_s", "for_s"}: the clock stops, as a paused replay's
    held: list[float] = []  # wall time the pause began

    def clock() -> float:
        # Without a warm-up the clock stands at 0 until the stream runs, as a strap's clock
        # does until it streams; after one, it runs from start().
        if not t0:
            return 0.0
        if held:
            return float(pause["at_s"])
        return (time.monotonic() - t0[0]) * clock_rate

    confirmed: list[list[float]] = []
    begun = time.monotonic()
    busy = scenario.get("gui_busy")  # {"every_s", "for_s"}
    busy_next = [float(busy["every_s"])] if busy else []

    def start() -> bool:
        return output.start(
            train.render, clock, rate, train.cues_in,
            lambda cue, actual_s: confirmed.append([cue.id, actual_s]),
        )

    started = output.warm_up(rate) if warm else start()
    playing = not warm

    def follow() -> None:
        nonlocal playing, started, pause
        if not t0 and output.ready:
            if not playing:
                started = start()
                playing = True
            t0.append(time.monotonic())
        now = clock()
        if pause is not None and t0 and not held and now >= pause["at_s"]:
            held.append(time.monotonic())
            pause["at_s"] = now = float(pause["at_s"])
            output.warm_up(rate)  # what the window does when a replay pauses
        elif held and time.monotonic() - held[0] >= pause["for_s"]:
            held.clear()
            t0[0] = time.monotonic() - pause["at_s"] / clock_rate  # on from where it stopped
            pause = None
            start()
            now = clock()
        if busy_next and t0 and time.monotonic() - t0[0] >= busy_next[0]:
            busy_next[0] += float(busy["every_s"])
            until = time.monotonic() + float(busy["for_s"])
            spins = 0
            while time.monotonic() < until:  # Python holding the GUI thread, not sleeping
                spins += sum(range(200))
        while steps and steps[0]["at_s"] <= now:
            step = steps.pop(0)
            if "volume" in step:
                output.set_volume(float(step["volume"]))
            if "muted" in step:
                output.set_muted(bool(step["muted"]))
        if now >= duration_s or (not t0 and time.monotonic() - begun > 10.0):
            app.quit()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(follow)
    timer.start()
    if not started:
        QTimer.singleShot(0, app.quit)
    app.exec()
    result = {
        "started": started,
        "ready": bool(t0),
        "message": output.message,
        "confirmed": confirmed,
        "reanchors": output.reanchors,
        "underruns": output.underruns,
        "sample_rate": rate,
        "latency_s": output.latency_s,
    }
    output.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
