"""Audio guidance out of the sound card, on the session clock, fed from a thread of its own.

:class:`AudioOutput` pulls float32 mono blocks from a ``render(start_s, n_frames)`` callable
(an :class:`~biofeedback.audio.program.AudioProgram`'s twin's ``render``) and pushes them to
a Qt Multimedia :class:`QAudioSink`, so that what is heard at session time ``t`` is what the
program rendered for ``t`` (how: :mod:`biofeedback.ui.audio_feed`).

Why Qt Multimedia (``PySide6-Addons``): the window is already Qt, and Qt ships its backends in
the wheels for Linux (PulseAudio / PipeWire), macOS (CoreAudio) and Windows (WASAPI), so
nothing is compiled or installed beside pip. A callback library (sounddevice / PortAudio)
would need a real-time callback feeding from Python, with the GIL in the way.

Why a thread of its own: fed by a timer on the GUI thread, the sink waited for every frame
of the pacer (60 a second) and of the plots; on two loaded cores a cue was then heard 22 ms
off the onset stored for it (goal 20 ms). The sink and its timer live in one process-wide
audio thread (:class:`~biofeedback.ui.audio_feed.AudioFeed`, made there and fed there), where
``render``, ``cues_in`` and the clock are called. The GUI thread only hands commands over as
queued calls (open, start, stop, the gain, each new plan of the program), and the cues heard
come back as queued signals: ``confirm_played`` is called on the GUI thread, as the store
wants.

What ``render`` and ``cues_in`` may read: nothing the GUI thread changes. A running protocol's
schedule changes there (pauses, skips, extensions), so a program is played through its twin,
which renders from frozen plans: :meth:`AudioOutput.start`'s ``plan`` is read on the GUI thread
every :data:`PLAN_POLL_MS` and each new plan is handed to ``follow_plan`` on the audio thread.
The clock (a source's ``session_time_s``) is read there too: arithmetic on the monotonic
clock and a few floats the source writes.

The thread is started on first use and stopped (its streams closed) when the application is
about to quit, or at exit. The GIL stays in the way: while the GUI thread runs Python, the
audio thread gets it only when CPython switches threads, so the switch interval is lowered
to :data:`GIL_SWITCH_S` when the thread starts.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtMultimedia import QAudioFormat, QMediaDevices

from biofeedback.ui.audio_feed import GIL_SWITCH_S, LEAD_S, REANCHOR_S, TICK_MS, AudioFeed

logger = logging.getLogger(__name__)

__all__ = [
    "GIL_SWITCH_S",
    "LEAD_S",
    "NO_DEVICE_MESSAGE",
    "PLAN_POLL_MS",
    "REANCHOR_S",
    "TICK_MS",
    "AudioOutput",
]

NO_DEVICE_MESSAGE = "no audio output device: guidance is shown but not played"
"""The status sentence when there is nothing to play on (no sound server, as in CI)."""
PLAN_POLL_MS = 10
"""How often the GUI thread looks for a new plan of the program, ms (a pause or a skip is
then rendered from within this, as when the program was rendered on the GUI thread)."""
_CALL_TIMEOUT_S = 10.0
"""A command the audio thread has not carried out within this long is an error, s."""

Render = Callable[[float, int], np.ndarray]
CuesIn = Callable[[float, float], Sequence[Any]]
ConfirmPlayed = Callable[[Any, float], None]
T = TypeVar("T")


class _Jobs(QObject):
    """Runs the callables posted to it, on the thread it lives in."""

    posted = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, job: Callable[[], object]) -> None:
        job()


class _AudioThread:
    """The process's audio thread: where every :class:`AudioFeed` lives and is fed."""

    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("biofeedback audio")
        self._jobs = _Jobs()
        self._jobs.moveToThread(self.thread)
        self.feeds: list[AudioFeed] = []

    def new_feed(self) -> AudioFeed:
        """A feed living on the audio thread (kept until the thread stops)."""
        feed = AudioFeed()
        feed.moveToThread(self.thread)
        self.feeds.append(feed)
        return feed

    def post(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the audio thread, soon (in the order posted)."""
        if not self.thread.isRunning():
            # The tick must not wait for the GUI thread's Python (see GIL_SWITCH_S).
            sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
            # Above the GUI and the asyncio work: a late tick is a late sound.
            self.thread.start(QThread.Priority.TimeCriticalPriority)
        self._jobs.posted.emit(job)

    def call(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the audio thread and return what it returns (or raise what it
        raised)."""
        if self.thread.isCurrentThread():
            return job()
        done = threading.Event()
        outcome: list[Any] = []

        def run() -> None:
            try:
                outcome.append((True, job()))
            except BaseException as exc:  # handed back to the caller
                outcome.append((False, exc))
            finally:
                done.set()

        self.post(run)
        if not done.wait(_CALL_TIMEOUT_S):
            raise RuntimeError(f"the audio thread did not answer within {_CALL_TIMEOUT_S:g} s")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    def shutdown(self) -> None:
        """Close every stream and stop the thread (it starts again if used again)."""
        if not self.thread.isRunning():
            return
        feeds = list(self.feeds)

        def stop_all() -> None:
            for feed in feeds:
                feed.stop()

        self.call(stop_all)
        self.thread.quit()
        self.thread.wait()


_THREAD: _AudioThread | None = None


def _audio_thread() -> _AudioThread:
    global _THREAD
    if _THREAD is None:
        _THREAD = _AudioThread()
        atexit.register(_THREAD.shutdown)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(_THREAD.shutdown)
    return _THREAD


class AudioOutput(QObject):
    """Plays a rendered program on the default audio output, in step with a session clock.

    Parameters
    ----------
    parent : QObject, optional

    Attributes
    ----------
    message : str
        A sentence for the status line when audio cannot be played (``""`` otherwise).

    Signals
    -------
    message_changed(str)
        :attr:`message` changed (e.g. no audio output device).
    """

    message_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.message = ""
        self._volume = 1.0
        self._muted = False
        self._feed: AudioFeed | None = None  # made on the first open
        self._plan: Callable[[], object] | None = None
        self._follow: Callable[[Any], None] | None = None
        self._last_plan: object = None
        self._plan_timer = QTimer(self)
        self._plan_timer.setInterval(PLAN_POLL_MS)
        self._plan_timer.timeout.connect(self._poll_plan)

    # -- controls --------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        """A program is being played (not only the silence of :meth:`warm_up`)."""
        return self._feed is not None and self._feed.playing

    @property
    def ready(self) -> bool:
        """The sound server has started consuming the stream (it takes 0.2-1.5 s after
        :meth:`start` on PulseAudio): from now on a cue is heard within :data:`LEAD_S`."""
        return self._feed is not None and self._feed.processed_us > 0

    @property
    def volume(self) -> float:
        """Linear gain applied to the program, 0..1."""
        return self._volume

    def set_volume(self, volume: float) -> None:
        """Set the gain (0..1, clamped; linear amplitude)."""
        self._volume = min(1.0, max(0.0, float(volume)))
        self._send_gain()

    @property
    def muted(self) -> bool:
        """Nothing is heard; the program keeps running on the clock, but a cue written while
        muted (or at volume 0) is not confirmed as played: the participant did not hear it."""
        return self._muted

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute."""
        self._muted = bool(muted)
        self._send_gain()

    @property
    def sample_rate(self) -> int:
        """Frames per second of the stream (the program's rate), 0 when not playing."""
        return 0 if self._feed is None else self._feed.sample_rate

    @property
    def latency_s(self) -> float:
        """Frames written but not yet played, s (what a change waits before it is heard)."""
        return 0.0 if self._feed is None or not self._feed.sample_rate else self._feed.latency_s

    @property
    def underruns(self) -> int:
        """How many times the sink ran dry since the last :meth:`start` (the audio thread was
        held up longer than the lead); each is heard as a gap, then a re-anchoring drops
        what came late."""
        return 0 if self._feed is None else self._feed.underruns

    @property
    def reanchors(self) -> int:
        """How many times the stream was re-anchored on the clock since the last
        :meth:`start` (the first anchor counts)."""
        return 0 if self._feed is None else self._feed.reanchors

    def start(
        self,
        render: Render,
        clock: Callable[[], float],
        sample_rate: int,
        cues_in: CuesIn | None = None,
        confirm_played: ConfirmPlayed | None = None,
        *,
        plan: Callable[[], object] | None = None,
        follow_plan: Callable[[Any], None] | None = None,
    ) -> bool:
        """Start playing ``render`` on the default output, in step with ``clock``.

        Parameters
        ----------
        render : callable
            ``render(start_s, n_frames) -> float32 array`` of ``n_frames`` mono samples in
            [-1, 1] for session time ``start_s`` on, at ``sample_rate``. Called on the audio
            thread.
        clock : callable
            Session time now, s (``source.session_time_s``). Called on the audio thread.
        sample_rate : int
            The render's frames per second; the sink is opened at this rate (the sound
            server converts to the device's own rate when they differ).
        cues_in : callable, optional
            ``cues_in(start_s, end_s)``: the cues whose onset lies in a rendered span
            (called on the audio thread).
        confirm_played : callable, optional
            ``confirm_played(cue, actual_s)``: called once per cue, on this object's (the GUI)
            thread, when its first frame has been played, with the session time it was
            played at (s).
        plan : callable, optional
            ``plan()`` (on this object's thread): the program's plan now, compared with ``==``
            (an :meth:`AudioProgram.plan <biofeedback.audio.program.AudioProgram.plan>`).
        follow_plan : callable, optional
            ``follow_plan(plan)``, called on the audio thread with the first plan before the
            first render and with each new one (the twin's ``follow``).

        Returns
        -------
        bool
            False when there is no audio output device or it cannot be opened (then
            :attr:`message` says so and nothing else happens).
        """
        if not self._open(sample_rate):
            return False
        feed = self._feed
        assert feed is not None
        first = plan() if plan is not None and follow_plan is not None else None

        def begin() -> None:
            if follow_plan is not None and first is not None:
                follow_plan(first)
            feed.start(render, clock, cues_in, confirm_played)

        _audio_thread().call(begin)
        if first is not None:
            self._plan, self._follow, self._last_plan = plan, follow_plan, first
            self._plan_timer.start()
        return True

    def warm_up(self, sample_rate: int) -> bool:
        """Open the output (or keep it open) and play silence, so that a :meth:`start` at the
        same rate soon after is heard at once (PulseAudio takes 0.2-1.5 s to start a stream:
        the first cue of a simulated session, at its very start, would be lost). What is
        already buffered still plays (up to :data:`LEAD_S`).

        Returns
        -------
        bool
            False when there is no audio output device (:attr:`message` says so).
        """
        return self._open(sample_rate)

    def stop(self) -> None:
        """Stop playing at once (what is buffered is dropped) and close the output."""
        self._stop_following()
        if self._feed is not None:
            _audio_thread().call(self._feed.stop)
            self._settle()

    def _open(self, sample_rate: int) -> bool:
        """Have the sink open at ``sample_rate`` (kept if it is), playing silence."""
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, not {sample_rate}")
        self._stop_following()
        feed = self._feed
        if feed is not None and feed.sample_rate == sample_rate:
            _audio_thread().call(feed.silence)
            self._settle()
            return True
        self.stop()
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self._set_message(NO_DEVICE_MESSAGE)
            return False
        fmt = QAudioFormat()
        fmt.setSampleRate(int(sample_rate))
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
        if not device.isFormatSupported(fmt):
            # Some devices take integers only; the samples are converted when written.
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            self._set_message(
                f"the audio output {device.description()!r} cannot play mono at "
                f"{sample_rate} Hz: guidance is shown but not played"
            )
            return False
        feed = self._made_feed()
        if not _audio_thread().call(partial(feed.open, device, fmt)):
            self._set_message(NO_DEVICE_MESSAGE)
            return False
        self._set_message("")
        return True

    # -- between the threads ---------------------------------------------------------------

    def _made_feed(self) -> AudioFeed:
        if self._feed is None:
            thread = _audio_thread()
            feed = thread.new_feed()
            feed.played.connect(self._on_played)
            feed.failed.connect(self._on_failed)
            self._feed = feed
            self._send_gain()
        return self._feed

    def _send_gain(self) -> None:
        feed = self._feed
        if feed is not None:
            _audio_thread().post(partial(feed.set_gain, 0.0 if self._muted else self._volume))

    def _settle(self) -> None:
        """Deliver now the cues heard before the last command (they are confirmed before the
        caller goes on, e.g. ends the session)."""
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)

    def _poll_plan(self) -> None:
        if self._plan is None or self._follow is None:
            return
        plan = self._plan()
        if plan != self._last_plan:
            self._last_plan = plan
            _audio_thread().post(partial(self._follow, plan))

    def _stop_following(self) -> None:
        self._plan_timer.stop()
        self._plan = self._follow = self._last_plan = None

    @Slot(object, object, float)
    def _on_played(self, confirm: object, cue: object, actual_s: float) -> None:
        if not callable(confirm):
            return
        try:
            confirm(cue, actual_s)
        except Exception:  # broad on purpose: a marker failure must not stop sound
            logger.exception("confirm_played failed for %r", cue)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._stop_following()
        self._set_message(message)

    def _set_message(self, text: str) -> None:
        if text != self.message:
            self.message = text
            self.message_changed.emit(text)
