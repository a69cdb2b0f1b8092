"""What every thread was doing while the GUI thread stalled (a benchmark's debugging aid).

The GUI thread marks each top-level event it delivers (:meth:`StallSampler.turn_started`,
:meth:`StallSampler.turn_ended`, called from ``QApplication.notify``). A watchdog thread
wakes every :data:`SAMPLE_PERIOD_S`; while the GUI thread has been in one turn, or between
turns, for longer than the threshold it samples the stacks of all threads
(``sys._current_frames``). When the turn ends the samples are folded into one report per
stall: how many samples each thread's stack had. A thread waiting on a lock (an import's
module lock, a queue, a join) shows the same innermost frame in every sample; a GUI thread
waiting for the GIL shows the frame it was at while another thread's stack moves on. Each
stall also counts the major page faults in it (pages read from disk: a library or file the
machine had evicted from its page cache), of the GUI thread and of the whole process.

The stacks are read with ``faulthandler.dump_traceback`` called from the watchdog thread,
which holds the GIL then, so every other thread's frames stand still while they are read.
Two other ways crashed the window's process (segmentation faults within seconds):
``sys._current_frames`` with ``traceback.extract_stack`` (materialising the GUI thread's
frame objects from another thread) and ``faulthandler.dump_traceback_later`` (which reads
the frames from a C thread without the GIL). As the watchdog needs the GIL to sample, a
long C call holding it shows up as a stall with fewer samples than its length allows
(``samples`` vs ``took_ms``).
"""

from __future__ import annotations

import faulthandler
import re
import resource
import tempfile
import threading
import time
from collections import Counter
from typing import IO

SAMPLE_PERIOD_S = 0.02
"""Time between two samples of a stall, s."""
_FRAMES_SHOWN = 40
"""Innermost frames kept of each stack."""


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<name>\S+)')


def _stacks(dump: str) -> dict[int, str]:
    """``faulthandler``'s dump of all threads as {thread id: innermost frames first}."""
    out: dict[int, str] = {}
    for block in dump.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not lines[0].startswith("Thread 0x"):
            continue  # the watchdog's own ("Current thread") or not a thread
        ident = int(lines[0].split()[1], 16)
        frames = []
        for line in lines[1 : 1 + _FRAMES_SHOWN]:
            if (m := _FRAME.search(line)) is not None:
                file = m["file"].split("site-packages/")[-1].split("/work/wt/")[-1]
                frames.append(f"{file}:{m['line']} {m['name']}")
        out[ident] = " <- ".join(frames)
    return out


def _major_faults() -> tuple[int, int]:
    """Major page faults so far of the calling thread and of the process."""
    return (resource.getrusage(resource.RUSAGE_THREAD).ru_majflt,
            resource.getrusage(resource.RUSAGE_SELF).ru_majflt)


class StallSampler:
    """Sample all threads' stacks while the GUI thread spends over ``threshold_ms`` in one
    event-loop turn or between two turns; :meth:`take` returns the stalls so far.

    Parameters
    ----------
    threshold_ms : float
        Least stall sampled, ms.
    """

    def __init__(self, threshold_ms: float) -> None:
        self.threshold_s = threshold_ms / 1000.0
        self.label = ""
        """What the benchmark is doing (a condition's name), copied into each stall."""
        self._gui = threading.get_ident()
        self._mark = time.perf_counter()
        self._faults = _major_faults()
        self._in_turn = False
        self._what = ""
        self._samples: list[dict[str, str]] = []
        self._stalls: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall sampler", daemon=True)
        self._thread.start()

    def turn_started(self, what: str) -> None:
        """The GUI thread begins a top-level event (``what``: receiver and event type)."""
        self._close("between turns")
        with self._lock:
            self._mark = time.perf_counter()
            self._faults = _major_faults()
            self._in_turn = True
            self._what = what

    def turn_ended(self) -> None:
        """The GUI thread's top-level event returned."""
        self._close(self._what)
        with self._lock:
            self._mark = time.perf_counter()
            self._faults = _major_faults()
            self._in_turn = False

    def take(self) -> list[dict[str, object]]:
        """The stalls sampled since the last call, oldest first."""
        with self._lock:
            stalls, self._stalls = self._stalls, []
        return stalls

    def stop(self) -> None:
        """End the watchdog thread."""
        self._stop.set()
        self._thread.join()

    def _close(self, what: str) -> None:
        with self._lock:
            if not self._samples:
                return
            samples, self._samples = self._samples, []
            took = time.perf_counter() - self._mark
            now_faults = _major_faults()
            gui_faults, all_faults = (now_faults[0] - self._faults[0],
                                      now_faults[1] - self._faults[1])
            per_thread: dict[str, Counter[str]] = {}
            for sample in samples:
                for name, stack in sample.items():
                    per_thread.setdefault(name, Counter())[stack] += 1
            self._stalls.append({
                "label": self.label,
                "what": what,
                "took_ms": round(took * 1000.0),
                "samples": len(samples),
                "major_faults_gui": gui_faults,
                "major_faults_process": all_faults,
                "threads": {name: [{"n": n, "stack": s} for s, n in stacks.most_common(3)]
                            for name, stacks in per_thread.items()},
            })

    def _watch(self) -> None:
        with tempfile.TemporaryFile(mode="w+") as dump:
            while not self._stop.wait(SAMPLE_PERIOD_S):
                self._sample(dump)

    def _sample(self, dump: IO[str]) -> None:
        with self._lock:
            if time.perf_counter() - self._mark < self.threshold_s:
                return
            names = {t.ident: t.name for t in threading.enumerate()}
            dump.seek(0)
            dump.truncate()
            faulthandler.dump_traceback(dump, all_threads=True)
            dump.seek(0)
            sample = {}
            for ident, stack in _stacks(dump.read()).items():
                name = "GUI" if ident == self._gui else names.get(ident, hex(ident))
                sample[f"{name} ({ident:#x})"] = stack
            self._samples.append(sample)
