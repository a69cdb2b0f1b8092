"""neurokit2 in real time: standard HRV values of the rolling window, off the event loop.

Every ``period_s`` of *wall-clock* time (default 5 s), if the previous job has finished,
:meth:`NeuroKitWorker.poll` snapshots the raw RR of the last ``window_s`` (300 s) of the
current gap-free segment and runs, in a worker process:

1. ``nk.signal_fixpeaks(peaks, sampling_rate=1000, method="kubios", iterative=True)`` on the
   peaks rebuilt from the raw RR (peak ``k`` at ``round(sum(RR[:k]))`` ms), giving corrected
   intervals and beat times (``window start + peak / 1000``);
2. ``nk.hrv_time`` on the corrected intervals of the last 60 s;
3. ``nk.hrv_frequency(..., interpolation_rate=4, normalize=False, psd_method="welch")`` for
   HF on the last 120 s and LF on the last 300 s (each only when the window is covered).

Windows are selected the way :mod:`biofeedback.live.indices` selects them (beats whose time
is in ``(t_end - W, t_end]``), so the values are directly comparable with the live numpy
ones, and with the per-phase analysis which calls neurokit2 the same way. neurokit2 is
imported only in the worker process: importing :mod:`biofeedback.live` does not import it.
Because the cadence follows the wall clock, a max-speed replay is not slowed: at most one
job runs at a time and polls in between cost a clock read.

The same process runs other slow live jobs that need neurokit2 (:meth:`NeuroKitWorker.submit`,
a :class:`WorkerJob` such as the live ECG and breathing check of
:mod:`biofeedback.session.signal_check`), so neurokit2 is imported once per session (about
200 MB and 2-3 s of CPU per interpreter), one job of each kind in flight at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

__all__ = ["JobFailed", "NeuroKitResult", "NeuroKitWorker", "WorkerJob", "compute_neurokit"]

HRV_KIND = "hrv"
"""Kind of the rolling-window HRV job (:meth:`NeuroKitWorker.poll`)."""


class WorkerJob(Protocol):
    """A job the worker process runs besides the HRV window.

    Sent pickled, so its class must be importable by name in the worker and cheap to import
    in the session's process (heavy imports go inside :meth:`run`, which runs only in the
    worker). ``kind`` names the job: one job of each kind is in flight at a time.
    """

    @property
    def kind(self) -> str:
        """Name of the kind of job (not ``"hrv"``)."""
        ...

    def run(self) -> object:
        """Compute the result, in the worker process (picklable)."""
        ...


@dataclass(frozen=True, slots=True)
class JobFailed:
    """What :meth:`NeuroKitWorker.take` gives for a job that raised or whose process died.

    Attributes
    ----------
    kind : str
        The job's kind.
    error : str
        The exception text.
    """

    kind: str
    error: str


@dataclass(frozen=True, slots=True)
class NeuroKitResult:
    """neurokit2 values of one rolling window.

    Attributes
    ----------
    window_start_s, window_end_s : float
        Session-time bounds of the raw RR snapshot (start of its first interval, time of its
        last beat), s.
    time_window_s, hf_window_s, lf_window_s : tuple of float or None
        Bounds ``(start, end]`` of the beats used for ``hrv_time``, HF and LF, s; None when
        the segment did not cover that window.
    n_beats : int
        Raw beats in the snapshot.
    n_corrected : int
        Beats signal_fixpeaks flagged (ectopic + missed + extra + long/short).
    values : dict
        ``MeanNN``, ``SDNN``, ``RMSSD``, ``pNN50`` (neurokit2's definition), ``HR_bpm``
        (60000 / MeanNN), ``HF`` and ``LF`` (ms^2); None where not computed.
    kwargs : dict
        Every keyword argument passed to each neurokit2 call, by function name.
    nk_version : str
        neurokit2 version.
    compute_s : float
        Wall-clock time the job took, s.
    error : str or None
        The exception text when the job failed.
    """

    window_start_s: float
    window_end_s: float
    time_window_s: tuple[float, float] | None
    hf_window_s: tuple[float, float] | None
    lf_window_s: tuple[float, float] | None
    n_beats: int
    n_corrected: int
    values: dict[str, float | None]
    kwargs: dict[str, dict[str, Any]]
    nk_version: str
    compute_s: float
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


FIXPEAKS_KWARGS: dict[str, Any] = {"sampling_rate": 1000, "method": "kubios", "iterative": True}
HRV_TIME_KWARGS: dict[str, Any] = {}
HRV_FREQUENCY_KWARGS: dict[str, Any] = {
    "interpolation_rate": 4,
    "normalize": False,
    "psd_method": "welch",
}


def _window(t: FloatArray, t_end: float, width_s: float) -> npt.NDArray[np.bool_]:
    return t > t_end - width_s


def compute_neurokit(
    rr_ms: FloatArray,
    time_s: FloatArray,
    time_window_s: float = 60.0,
    hf_window_s: float = 120.0,
    lf_window_s: float = 300.0,
) -> NeuroKitResult:
    """Run the neurokit2 pipeline on one gap-free raw RR window (blocking; imports neurokit2).

    Parameters
    ----------
    rr_ms : ndarray of float
        Raw RR intervals, ms, of one gap-free stretch.
    time_s : ndarray of float
        Their beat times, s.
    time_window_s, hf_window_s, lf_window_s : float
        Windows for ``hrv_time`` (60 s), HF (120 s) and LF (300 s), s.

    Returns
    -------
    NeuroKitResult
    """
    import neurokit2 as nk  # lazy: about 3 s

    t_start = time.perf_counter()
    rr = np.asarray(rr_ms, dtype=np.float64)
    tt = np.asarray(time_s, dtype=np.float64)
    seg_start = float(tt[0] - rr[0] / 1000.0)
    t_end = float(tt[-1])
    kwargs = {
        "signal_fixpeaks": dict(FIXPEAKS_KWARGS),
        "hrv_time": dict(HRV_TIME_KWARGS),
        "hrv_frequency": dict(HRV_FREQUENCY_KWARGS),
    }
    peaks = np.round(np.concatenate(([0.0], np.cumsum(rr)))).astype(np.int64)
    info, clean = nk.signal_fixpeaks(peaks, **FIXPEAKS_KWARGS)
    clean = np.asarray(clean, dtype=np.float64)
    n_corrected = int(
        sum(len(info.get(k, [])) for k in ("ectopic", "missed", "extra", "longshort"))
    )
    nn = np.diff(clean) / FIXPEAKS_KWARGS["sampling_rate"] * 1000.0
    nn_t = seg_start + clean[1:] / FIXPEAKS_KWARGS["sampling_rate"]
    span = t_end - seg_start
    values: dict[str, float | None] = dict.fromkeys(
        ("MeanNN", "SDNN", "RMSSD", "pNN50", "HR_bpm", "HF", "LF")
    )
    time_win = hf_win = lf_win = None
    if span >= time_window_s - 1e-9:
        sel = _window(nn_t, t_end, time_window_s)
        out = nk.hrv_time({"RRI": nn[sel], "RRI_Time": nn_t[sel]}, **HRV_TIME_KWARGS)
        for key in ("MeanNN", "SDNN", "RMSSD", "pNN50"):
            values[key] = float(out[f"HRV_{key}"].iloc[0])
        values["HR_bpm"] = 60000.0 / values["MeanNN"] if values["MeanNN"] else None
        time_win = (t_end - time_window_s, t_end)
    for name, width in (("HF", hf_window_s), ("LF", lf_window_s)):
        if span >= width - 1e-9:
            sel = _window(nn_t, t_end, width)
            out = nk.hrv_frequency({"RRI": nn[sel], "RRI_Time": nn_t[sel]}, **HRV_FREQUENCY_KWARGS)
            v = float(out[f"HRV_{name}"].iloc[0])
            values[name] = v if np.isfinite(v) else None
            if name == "HF":
                hf_win = (t_end - width, t_end)
            else:
                lf_win = (t_end - width, t_end)
    return NeuroKitResult(
        window_start_s=seg_start,
        window_end_s=t_end,
        time_window_s=time_win,
        hf_window_s=hf_win,
        lf_window_s=lf_win,
        n_beats=int(rr.size),
        n_corrected=n_corrected,
        values=values,
        kwargs=kwargs,
        nk_version=str(nk.__version__),
        compute_s=time.perf_counter() - t_start,
    )


class NeuroKitWorker:
    """Run :func:`compute_neurokit` on the rolling window every few wall-clock seconds.

    The jobs run in a separate process (fed through pipes), not a thread: neurokit2
    and pandas hold the GIL for long stretches and its import takes seconds, which in a
    thread would stall the per-beat pipeline and the GUI. The process imports neurokit2 as it
    starts, so the first result is ready a few seconds after the session starts. Other jobs
    (:meth:`submit`, :meth:`take`) run in the same process, in the order sent; jobs are
    pickled and written by a writer thread and results read by a reader thread, so no call
    blocks the caller.

    Parameters
    ----------
    period_s : float
        Wall-clock seconds between job starts (default 5 s); a job starts only when the
        previous one has finished.
    window_s : float
        Raw RR kept in the snapshot: the last 300 s of the current gap-free segment.
    clock : callable
        Wall clock, s (``time.monotonic``; injectable for tests).
    min_beats : int
        Jobs are skipped while the segment holds fewer raw beats (default 10).
    """

    def __init__(
        self,
        period_s: float = 5.0,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        min_beats: int = 10,
    ) -> None:
        self.period_s = float(period_s)
        self.window_s = float(window_s)
        self.min_beats = int(min_beats)
        self._clock = clock
        # A plain interpreter, not multiprocessing: spawn would re-run the caller's main
        # script, which a user's unguarded script does not survive.
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", "from biofeedback.live.nk_worker import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # Ctrl-C in a terminal goes to the whole process group; the recorder handles it
            # and closes the worker itself.
            start_new_session=True,
        )
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._reader = threading.Thread(
            target=_read_results, args=(self._process.stdout, self._inbox), daemon=True,
            name="nk-worker-reader",
        )
        self._reader.start()
        # Jobs are pickled and written on a thread of their own: a job larger than the pipe's
        # buffer (64 KiB; the signal check's 70 s of ECG and ACC are ~100 KB) blocks the
        # write until the worker has read it, which on a busy machine took 8-12 ms of the
        # caller's thread (benchmarks/live_signal_check.py).
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=_write_jobs, args=(self._process.stdin, self._outbox, self._inbox),
            daemon=True, name="nk-worker-writer",
        )
        self._writer.start()
        self._in_flight: set[str] = set()
        self._done: dict[str, object] = {}
        self._latest: NeuroKitResult | None = None
        self._next_start = -float("inf")

    @property
    def alive(self) -> bool:
        """The worker process still takes jobs."""
        return self._process is not None

    def poll(self, snapshot: Callable[[], tuple[FloatArray, FloatArray]]) -> NeuroKitResult | None:
        """Collect a finished job and start a new one when due; never blocks.

        Parameters
        ----------
        snapshot : callable
            Returns ``(rr_ms, time_s)`` of the current gap-free segment (called only when a
            job is due).

        Returns
        -------
        NeuroKitResult or None
            The newest finished result (possibly from an earlier segment; check its window).
        """
        self._collect()
        if self._process is None or HRV_KIND in self._in_flight:
            return self._latest
        now = self._clock()
        if now < self._next_start:
            return self._latest
        rr, t = snapshot()
        if rr.size < self.min_beats:
            return self._latest
        keep = t > t[-1] - self.window_s
        self._next_start = now + self.period_s
        self._send(HRV_KIND, (rr[keep].copy(), t[keep].copy()))
        return self._latest

    def submit(self, job: WorkerJob) -> bool:
        """Start ``job`` in the worker process unless one of its kind is still running.

        Returns
        -------
        bool
            Whether it was sent (False: the process is gone, or a job of that kind is in
            flight). Its result comes from :meth:`take`.
        """
        self._collect()
        if self._process is None or job.kind in self._in_flight:
            return False
        return self._send(job.kind, job)

    def take(self, kind: str) -> object | None:
        """The finished result of the last job of ``kind`` (once), or None; never blocks.

        A job that raised, or whose process died, gives a :class:`JobFailed`.
        """
        self._collect()
        return self._done.pop(kind, None)

    def busy(self, kind: str) -> bool:
        """A job of ``kind`` is in flight."""
        self._collect()
        return kind in self._in_flight

    def _send(self, kind: str, payload: object) -> bool:
        """Queue the job for the writer thread (a failed write comes back as a dead worker)."""
        if self._process is None:
            return False
        self._outbox.put((kind, payload))
        self._in_flight.add(kind)
        return True

    def _collect(self, timeout_s: float = 0.0) -> None:
        """Take the finished results in; with ``timeout_s`` wait for every job in flight."""
        deadline = time.monotonic() + timeout_s
        while self._in_flight:
            wait = deadline - time.monotonic()
            try:
                item = self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, tuple):
                self._fail(item)
                return
            kind, result = item
            self._in_flight.discard(kind)
            if kind == HRV_KIND:
                self._latest = cast("NeuroKitResult", result)
            else:
                self._done[kind] = result

    def _fail(self, exc: object) -> None:
        """The worker process is gone: report it once per job in flight and stop submitting."""
        text = f"neurokit2 worker stopped: {exc!r}"
        self._latest = _error_result(np.zeros(0), np.zeros(0), text)
        for kind in self._in_flight - {HRV_KIND}:
            self._done[kind] = JobFailed(kind, text)
        self._shutdown()

    def latest(self) -> NeuroKitResult | None:
        """The newest finished result, without starting a job."""
        self._collect()
        return self._latest

    def wait(self, timeout_s: float | None = None) -> NeuroKitResult | None:
        """Block until the running jobs (if any) finish; for tests, benchmarks and shutdown.

        Returns
        -------
        NeuroKitResult or None
            The newest HRV result (other kinds: :meth:`take`).
        """
        self._collect(3600.0 if timeout_s is None else timeout_s)
        return self._latest

    def close(self) -> None:
        """Stop the worker process without waiting for a job in flight."""
        self._collect()
        self._shutdown()

    def _shutdown(self) -> None:
        process, self._process = self._process, None
        self._in_flight.clear()
        if process is None:
            return
        # End of input after the jobs queued: the writer closes the pipe, and the worker
        # exits after its current job.
        self._outbox.put(None)
        self._writer.join(0.2)
        try:
            process.wait(0.2)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._reader.join(1.0)
        self._writer.join(1.0)
        if process.stdout is not None:
            process.stdout.close()


_HEADER = struct.Struct("<Q")


def _write_frame(stream: IO[bytes] | None, obj: object) -> None:
    """Send one length-prefixed pickle."""
    if stream is None:
        raise ValueError("no pipe to the worker")
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> object:
    """Receive one length-prefixed pickle; EOFError at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("worker pipe closed")
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("worker pipe closed mid-message")
    return pickle.loads(data)  # our own child process: a trusted peer


def _write_jobs(stream: IO[bytes] | None, outbox: queue.SimpleQueue[object],
                inbox: queue.SimpleQueue[object]) -> None:
    """Parent side: write each queued job; None closes the pipe. A failed write is reported
    to the inbox once, as a closed pipe is by the reader."""
    try:
        while (job := outbox.get()) is not None:
            _write_frame(stream, job)
    except Exception as exc:  # broad: a broken pipe, or a job that cannot be pickled
        inbox.put(exc)
    finally:
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()


def _read_results(stream: IO[bytes] | None, inbox: queue.SimpleQueue[object]) -> None:
    """Parent side: hand each result to the inbox; a closed pipe is reported once."""
    if stream is None:
        return
    while True:
        try:
            inbox.put(_read_frame(stream))
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            inbox.put(exc)
            return


def serve() -> None:
    """Worker process: import neurokit2 once, then answer jobs on stdin until it closes."""
    # Keep the result channel private: anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inp = sys.stdin.buffer
    try:
        import neurokit2  # noqa: F401 - warm the import before the first job
    except Exception:  # broad: any import failure; the first job reports it to the session
        logger.debug("warming the neurokit2 import failed", exc_info=True)
    while True:
        try:
            # The parent sends (kind, payload): (rr, t) float64 arrays for the HRV window
            # (NeuroKitWorker.poll), a WorkerJob otherwise (submit); pickle is untyped.
            kind, payload = cast("tuple[str, Any]", _read_frame(inp))
        except (EOFError, OSError, KeyboardInterrupt):
            return
        except Exception:  # broad: a job whose class cannot be unpickled here
            # Its kind is unknown: the parent learns of it as a worker that stopped.
            logger.debug("unreadable job", exc_info=True)
            return
        try:
            _write_frame(out, (kind, _safe_compute(*payload) if kind == HRV_KIND
                               else _safe_run(kind, payload)))
        except (OSError, ValueError):
            return


def _safe_compute(rr: FloatArray, t: FloatArray) -> NeuroKitResult:
    try:
        return compute_neurokit(rr, t)
    except Exception as exc:  # the worker must never kill the session
        logger.debug("neurokit2 failed on a window", exc_info=True)
        return _error_result(rr, t, f"{type(exc).__name__}: {exc}")


def _safe_run(kind: str, job: WorkerJob) -> object:
    try:
        return job.run()
    except Exception as exc:  # the worker must never kill the session
        logger.debug("worker job %s failed", kind, exc_info=True)
        return JobFailed(kind, f"{type(exc).__name__}: {exc}")


def _error_result(rr: FloatArray, t: FloatArray, error: str) -> NeuroKitResult:
    return NeuroKitResult(
        window_start_s=float(t[0] - rr[0] / 1000.0) if rr.size else 0.0,
        window_end_s=float(t[-1]) if t.size else 0.0,
        time_window_s=None,
        hf_window_s=None,
        lf_window_s=None,
        n_beats=int(rr.size),
        n_corrected=0,
        values={},
        kwargs={},
        nk_version="",
        compute_s=0.0,
        error=error,
    )
