"""The sound card side of :class:`~biofeedback.ui.audio_output.AudioOutput`, on the audio
thread: a Qt Multimedia :class:`QAudioSink` in push mode, topped up by a timer.

Everything here runs on the thread the :class:`AudioFeed` lives in (the output's audio
thread), never on the GUI thread: a frame of the pacer or of the plots that holds the GUI
thread up no longer delays the feeding, and the readings of the stream position are taken
on a thread that does little else. The output hands it commands as queued calls; it answers
with queued signals (a cue heard, a failure).

How the stream follows the session clock:

- push mode, a precise timer every :data:`TICK_MS`: each tick tops the sink up to a lead of
  :data:`LEAD_S` ahead of what is playing, so a pause or a skip of the program is heard
  within about that long;
- each tick reads the clock and the stream's position (``QAudioSink.processedUSecs``, the
  frames the server has consumed): their difference is the session time at stream frame 0.
  That position advances in steps of a server period (~5 ms) and lags now and then by
  ~20 ms, but is never early, so the estimate is the smallest difference of the last
  :data:`_OFFSET_WINDOW` ticks;
- the sink starts with silence (the stream takes 0.2-1.5 s to start on PulseAudio: the
  output's ``warm_up`` opens it ahead of a session); once a few readings are in, the next
  frame written is anchored on the estimate: it plays after everything buffered, at the
  session time the clock will then show (the measured latency);
- the sound card's clock drifts from the monotonic clock (by up to ~0.1 %), and an underrun
  (the thread held up longer than the lead) delays what follows: when the estimate is off
  the anchor by more than :data:`REANCHOR_S` (10 ms), the next frame written is re-anchored,
  which drops or repeats a few ms of the program (a cue starting in dropped ms is heard
  from its next frame, and counted once);
- a clock that stops (a paused replay, a strap not streaming yet) gives silence after
  :data:`STALL_S`; one that jumps (a seek) is followed at once;
- the actual onset of a cue is the session time of its frame by the estimate at the tick
  the stream position crossed it: ``frame / rate + offset``; it is signalled with
  :attr:`AudioFeed.played`.

Volume and mute scale the samples before they are written (the same on every backend, and
what is recorded is what was heard); a change is heard after the lead (~0.15 s).
"""

from __future__ import annotations

import bisect
import logging
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QtAudio

logger = logging.getLogger(__name__)

__all__ = ["BUFFER_S", "JUMP_S", "LEAD_S", "REANCHOR_S", "STALL_S", "TICK_MS", "AudioFeed"]

TICK_MS = 10
"""Period of the timer that tops the sink up, ms."""
LEAD_S = 0.15
"""How far ahead of what plays the sink is filled, s: changes are heard within about this."""
REANCHOR_S = 0.010
"""Re-anchor the stream on the session clock when it is off by more than this, s."""
BUFFER_S = 0.5
"""Size asked of the sink's buffer, s (more than the lead, so the lead decides)."""
_OFFSET_WINDOW = 15
"""Readings (ticks) the offset of the stream from the clock is estimated over."""
_MIN_READINGS = 5
"""Readings needed before the first anchor on a clock."""
_REFINE_S = 0.001
"""How far a first anchor may be off the estimate of a full window before it is refined, s."""
_READ_BUDGET_S = 0.002
"""Reading the clock and the stream position taking longer than this is no reading, s."""
JUMP_S = 0.25
"""An error this large is a jump of the clock (a seek), followed at once, s."""
STALL_S = 1.5
"""The clock not moving for this long (s of monotonic time) means it stopped: silence.
(Longer than the ~1 s steps of a replay's clock, which moves at each notification.)"""

Render = Callable[[float, int], np.ndarray]
CuesIn = Callable[[float, float], Sequence[Any]]


GIL_SWITCH_S = 0.001
"""Longest the audio thread waits for the GIL while the GUI thread runs Python, s (CPython's
default is 5 ms). With the GUI thread running Python without a break, at the default a click
train was heard up to 46 ms off and re-anchored 27-32 times in 20 s (a click lost in one run);
at 1 ms it was heard within 0.7 ms, re-anchored once (benchmarks/audio_playback.py,
busy_gui). The interval is process-wide: it decides only when two threads want the GIL; each tick
lowers it again if it was set back (the background import of scipy.signal lowers it further
for its own while, and sets back what it found)."""


def _no_clock() -> float:
    """The clock while no program plays (it stands still)."""
    return 0.0


@dataclass(frozen=True, slots=True)
class _Anchor:
    """From stream frame ``frame`` on, frame ``k`` stands for session time
    ``k / sample_rate + offset_s``."""

    frame: int
    offset_s: float


class AudioFeed(QObject):
    """Feeds a rendered program to a sink, in step with a session clock (audio thread only).

    Its methods are called on the thread it lives in; the plain attributes below are written
    there and may be read from any thread (one reference each: no torn reads).

    Attributes
    ----------
    sample_rate : int
        Frames per second of the open stream, 0 when closed.
    playing : bool
        A program is being played (not only silence).
    processed_us : int
        The stream's position at the last tick, µs (0 until the server consumes it).
    latency_s : float
        Frames written but not yet played at the last tick, s.
    underruns, reanchors : int
        Times the sink ran dry; times the stream was (re-)anchored on the clock (the first
        anchor counts), since the last start.

    Signals
    -------
    played(object, object, float)
        ``(confirm, cue, actual_s)``: the first frame of ``cue`` was played at session time
        ``actual_s``; ``confirm`` is the callable given to :meth:`start` (called by the
        receiver, on its own thread).
    failed(str)
        The stream failed and was closed; the sentence says so.
    """

    played = Signal(object, object, float)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sample_rate = 0
        self.playing = False
        self.processed_us = 0
        self.latency_s = 0.0
        self.underruns = 0
        self.reanchors = 0
        self._gain = 1.0
        self._sink: QAudioSink | None = None
        self._device: Any = None  # the QIODevice of the sink (push mode)
        self._render: Render | None = None
        self._cues_in: CuesIn | None = None
        self._confirm: object = None
        self._clock: Callable[[], float] = _no_clock
        self._int16 = False
        self._written = 0
        self._anchors: list[_Anchor] = []
        self._pending: deque[tuple[int, Any]] = deque()
        self._offsets: deque[float] = deque(maxlen=_OFFSET_WINDOW)
        self._last_now = float("nan")
        self._moved_at = 0.0
        self._seen: set[Any] = set()
        self._rendered_to_s: float | None = None
        self._provisional = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    # -- commands (on the feed's thread) ---------------------------------------------------

    def set_gain(self, gain: float) -> None:
        """Scale what is written from now on (volume, 0 when muted)."""
        self._gain = float(gain)

    def open(self, device: QAudioDevice, fmt: QAudioFormat) -> bool:
        """Open a sink on ``device`` in ``fmt`` (closing any other) and play silence.

        Returns
        -------
        bool
            False when the sink cannot be started (nothing is open then).
        """
        self.stop()
        rate = fmt.sampleRate()
        sink = QAudioSink(device, fmt, self)
        sink.setBufferSize(int(BUFFER_S * rate) * fmt.bytesPerFrame())
        io = sink.start()
        if io is None or sink.error() != QtAudio.Error.NoError:
            sink.deleteLater()
            return False
        self._sink, self._device = sink, io
        sink.stateChanged.connect(self._on_state)
        self._int16 = fmt.sampleFormat() == QAudioFormat.SampleFormat.Int16
        self.sample_rate = int(rate)
        self._written = 0
        self._timer.start()
        self._tick()
        return True

    def silence(self) -> None:
        """Drop the program, keep the stream open (what is buffered still plays)."""
        self._render = self._cues_in = self._confirm = None
        self._clock = _no_clock
        self.playing = False

    def start(self, render: Render, clock: Callable[[], float],
              cues_in: CuesIn | None, confirm: object) -> None:
        """Play ``render`` on the open stream, in step with ``clock`` (see
        :meth:`AudioOutput.start <biofeedback.ui.audio_output.AudioOutput.start>`)."""
        if self._sink is None:
            return
        self._render, self._clock = render, clock
        self._cues_in, self._confirm = cues_in, confirm
        self.playing = True
        # A new clock: nothing measured on the old one holds.
        self._anchors = []
        self._pending.clear()
        self._offsets.clear()
        self._new_timeline()
        self._last_now = float("nan")
        self.reanchors = 0
        self.underruns = 0
        self._tick()

    def stop(self) -> None:
        """Stop playing at once (what is buffered is dropped) and close the stream."""
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
        self._sink = self._device = None
        self.silence()
        self._pending.clear()
        self._anchors = []
        self.sample_rate = 0
        self.processed_us = 0
        self.latency_s = 0.0

    # -- the stream ------------------------------------------------------------------------

    def _session_at(self, frame: float) -> float:
        """Session time the stream frame ``frame`` stands for, s."""
        i = bisect.bisect_right([a.frame for a in self._anchors], frame) - 1
        anchor = self._anchors[max(i, 0)]
        return frame / self.sample_rate + anchor.offset_s

    def _tick(self) -> None:
        sink = self._sink
        if sink is None:
            return
        if sys.getswitchinterval() > GIL_SWITCH_S:
            sys.setswitchinterval(GIL_SWITCH_S)
        before = time.perf_counter()
        now = self._clock()
        processed = sink.processedUSecs()
        # A reading taken across a pre-emption (or a wait for the GIL) pairs a late stream
        # position with an early clock: not a measurement.
        sound = time.perf_counter() - before < _READ_BUDGET_S
        played = processed * self.sample_rate / 1e6
        self.processed_us = processed
        if sink.error() not in (QtAudio.Error.NoError, QtAudio.Error.UnderrunError):
            logger.debug("audio sink error %s", sink.error())
            self._fail("the audio output failed: guidance is shown but not played")
            return
        moved = now != self._last_now
        if moved:
            self._last_now, self._moved_at = now, time.monotonic()
        elif self._anchors and time.monotonic() - self._moved_at > STALL_S:
            # The clock stopped (a paused replay, a strap not streaming yet): silence until
            # it runs again, then a fresh anchor.
            self._anchors = []
            self._offsets.clear()
            self._new_timeline()
        # Only a reading the clock has just moved to is "now" (a replay's clock steps from
        # one notification to the next), and the stream position means something once the
        # server consumes it.
        if played > 0 and moved and sound and self._render is not None:
            self._follow_clock(now - played / self.sample_rate)
        self._confirm_cues(played)
        want = int(LEAD_S * self.sample_rate) - int(self._written - played)
        n = min(want, sink.bytesFree() // sink.format().bytesPerFrame())
        if n > 0:
            try:
                self._write(n)
            except Exception as exc:  # broad on purpose: the window goes on, silently
                logger.exception("rendering the audio program failed")
                self._fail(f"audio guidance stopped ({type(exc).__name__}: {exc}); "
                           "guidance is shown but not played")
                return
        self.latency_s = max(0.0, (self._written - played) / self.sample_rate)

    def _on_state(self, state: QtAudio.State) -> None:
        if (state == QtAudio.State.IdleState and self._sink is not None
                and self._sink.error() == QtAudio.Error.UnderrunError):
            self.underruns += 1

    def _new_timeline(self) -> None:
        """The clock stopped or jumped: cues already played may come round again."""
        self._seen.clear()
        self._rendered_to_s = None

    def _fail(self, message: str) -> None:
        self.stop()
        self.failed.emit(message)

    @property
    def _offset_s(self) -> float | None:
        """Session time at stream frame 0 as measured now, s (None before any reading).

        ``processedUSecs`` advances in steps of a server period (~5 ms) and now and then
        lags by 20 ms; it is never early. So the smallest recent offset is the estimate.
        """
        return min(self._offsets) if self._offsets else None

    def _follow_clock(self, offset_s: float) -> None:
        """Anchor the stream once it plays; re-anchor it when it is off the clock."""
        estimate = self._offset_s
        if estimate is not None and abs(offset_s - estimate) > JUMP_S:
            self._offsets.clear()  # the clock jumped (a seek): follow at once
            self._new_timeline()
        self._offsets.append(offset_s)
        if len(self._offsets) < _MIN_READINGS:
            return  # not measured well enough yet
        estimate = min(self._offsets)
        full = len(self._offsets) == _OFFSET_WINDOW
        # An anchor made on the first few readings is refined once the window is full (by
        # ~1 ms: below the re-anchoring threshold it would stay off for the whole session).
        tolerance = _REFINE_S if self._provisional and full else REANCHOR_S
        if not self._anchors or abs(self._anchors[-1].offset_s - estimate) > tolerance:
            # The next frame written plays after everything buffered (the measured latency)
            # at the session time the clock will then show; a re-anchoring drops or repeats
            # the difference.
            self._anchors = [*self._anchors[-3:], _Anchor(self._written, estimate)]
            self.reanchors += 1
            self._provisional = not full
        elif full:
            self._provisional = False

    def _write(self, n: int) -> None:
        assert self._device is not None
        if not self._anchors or self._render is None:
            block = np.zeros(n, np.float32)
        else:
            start_s = self._session_at(self._written)
            block = np.asarray(self._render(start_s, n), dtype=np.float32)
            if block.shape != (n,):
                raise ValueError(f"render returned shape {block.shape}, expected ({n},)")
            gain = self._gain
            if self._cues_in is not None:
                self._expect_cues(start_s, n, heard=gain > 0)
            if gain != 1.0:
                block = block * np.float32(gain)
        if self._int16:
            data = (np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        else:
            data = block.astype("<f4").tobytes()
        written = self._device.write(data)
        self._written += max(0, int(written)) // (2 if self._int16 else 4)

    def _expect_cues(self, start_s: float, n: int, *, heard: bool) -> None:
        """Note the stream frame of each cue starting in the block about to be written."""
        assert self._cues_in is not None
        found = []
        end_s = start_s + n / self.sample_rate
        # A re-anchoring that dropped a few ms must not drop a cue starting in them: the
        # rest of it is heard from the first frame written.
        since = self._rendered_to_s
        from_s = since if since is not None and 0 < start_s - since < JUMP_S else start_s
        self._rendered_to_s = end_s
        for cue in self._cues_in(from_s, end_s):
            # A cue planned again at another onset (the protocol was paused) is new.
            key = (getattr(cue, "id", id(cue)), float(cue.onset_s))
            if key in self._seen:
                continue  # rendered again after the stream went back a few ms
            self._seen.add(key)
            if not heard:
                continue
            offset = round((float(cue.onset_s) - start_s) * self.sample_rate)
            found.append((self._written + min(max(offset, 0), n - 1), cue))
        self._pending.extend(sorted(found, key=lambda item: item[0]))

    def _confirm_cues(self, played: float) -> None:
        """Signal each cue whose first frame has been played, at the session time it was."""
        estimate = self._offset_s
        if estimate is None:
            return
        while self._pending and self._pending[0][0] <= played:
            frame, cue = self._pending.popleft()
            if self._confirm is not None:
                self.played.emit(self._confirm, cue, frame / self.sample_rate + estimate)
