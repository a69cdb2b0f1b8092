"""RR intervals from a chest strap's raw ECG stream (Polar H10 PMD, ~130 Hz).

The strap's ECG arrives as :class:`~biofeedback.core.signals.SignalChunk` s on the session
clock. Consecutive chunks (no samples lost between them: ``first_index`` continues) form a
run; each run is cleaned and its R-peaks found with neurokit2 exactly as an imported ECG is
(:func:`~biofeedback.analysis.ecg_peaks.find_r_peaks`, method and every keyword argument
recorded), then each peak is placed between samples by a parabola through its 3 samples
(:func:`~biofeedback.analysis.ecg_peaks.refine_peaks`): at 130 Hz a sample is 7.7 ms, and the
goal is beat times within 2 ms (median) of the true R times. No interval spans two runs.

A pure function: it runs on whatever thread the caller chooses (never the GUI thread:
neurokit2 takes 2-3 s to import; an hour of ECG then takes about 0.15 s,
``benchmarks/ecg_rr_1h.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.analysis.ecg_peaks import find_r_peaks, refine_peaks
from biofeedback.core.recording import Recording
from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Gap, GapReason

__all__ = ["REFINEMENT", "StreamBeats", "ecg_runs", "recording_from_ecg", "rr_from_ecg_chunks"]

FloatArray = npt.NDArray[np.float64]

REFINEMENT = "parabolic-3"
"""How each R-peak is placed between samples: the vertex of the parabola through the peak
sample and its two neighbours (on the cleaned signal the peak was found on)."""

EDGE_S = 0.3
"""Within this much of either end of a run, a peak under :data:`EDGE_MIN_HEIGHT` of the run's
median R height is dropped, s: a beat cut off by the run's end leaves its P or T wave, which
neurokit2 takes for an R there (1 in 3900 beats on an hour of the virtual strap's ECG)."""
EDGE_MIN_HEIGHT = 0.5
"""Fraction of the run's median R height (cleaned signal) an edge peak must reach."""

MIN_RUN_S = 5.0
"""Runs of ECG shorter than this are not searched for peaks, s (neurokit2's detector needs
a few beats to set its thresholds)."""


@dataclass
class StreamBeats:
    """R-peaks of a chest strap's ECG stream and the RR intervals between them.

    Attributes
    ----------
    r_times_s : ndarray of float
        Session time of every R-peak, sub-sample (refined), s, increasing.
    rr_ms : ndarray of float
        Interval ending at each R-peak but the first of its run, ms.
    time_s : ndarray of float
        Session time of the peak ending each interval, s (same length as ``rr_ms``).
    run_index : ndarray of int64
        Run (0, 1, ...) of each R-peak in ``r_times_s``.
    runs : list of tuple of float
        ``(start_s, end_s)`` of every run of consecutive samples, s (including runs too
        short to search).
    method : str
        ``neurokit2.ecg_peaks`` method.
    kwargs, clean_kwargs : dict
        Every keyword argument passed to ``neurokit2.ecg_peaks`` and ``neurokit2.ecg_clean``
        (the sampling rate is that of the first searched run).
    neurokit_version : str
        ``neurokit2.__version__`` that found the peaks ("" when no run was searched).
    refinement : str
        :data:`REFINEMENT`.
    """

    r_times_s: FloatArray
    rr_ms: FloatArray
    time_s: FloatArray
    run_index: npt.NDArray[np.int64]
    runs: list[tuple[float, float]]
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    clean_kwargs: dict[str, Any] = field(default_factory=dict)
    neurokit_version: str = ""
    refinement: str = REFINEMENT

    @property
    def n_beats(self) -> int:
        """Number of RR intervals."""
        return int(self.rr_ms.size)

    def provenance(self) -> dict[str, Any]:
        """JSON-ready record of how the beats were found (for a methods paragraph)."""
        return {
            "rr_source": "ecg",
            "detector": "neurokit2.ecg_peaks",
            "method": self.method,
            "kwargs": dict(self.kwargs),
            "clean": "neurokit2.ecg_clean",
            "clean_kwargs": dict(self.clean_kwargs),
            "neurokit2": self.neurokit_version,
            "refinement": self.refinement,
            "edge_rule": f"peaks within {EDGE_S:g} s of a run's end under "
                         f"{EDGE_MIN_HEIGHT:g} x the median R height dropped",
        }


def ecg_runs(chunks: Sequence[SignalChunk]) -> list[tuple[FloatArray, FloatArray]]:
    """Consecutive ECG chunks joined into runs of samples with their session times.

    Parameters
    ----------
    chunks : sequence of SignalChunk
        ``stream == "ecg"``, in stream order.

    Returns
    -------
    list of (times_s, samples)
        One pair per run: sample times (s, each chunk's own ``t0_s + i / rate_hz``) and the
        first channel as float. A new run starts where ``first_index`` does not continue the
        previous chunk (samples lost).

    Raises
    ------
    ValueError
        A chunk that is not ECG, out of stream order, or with a non-positive rate; the
        message names the chunk's position and field.
    """
    runs: list[tuple[list[FloatArray], list[FloatArray]]] = []
    expected: int | None = None
    for position, chunk in enumerate(chunks):
        if chunk.stream != "ecg":
            raise ValueError(f"chunk {position}: stream is {chunk.stream!r}, not 'ecg'")
        if not chunk.rate_hz > 0:
            raise ValueError(f"chunk {position}: rate_hz must be positive, got {chunk.rate_hz}")
        if expected is not None and chunk.first_index < expected:
            raise ValueError(f"chunk {position}: first_index {chunk.first_index} goes back "
                             f"(expected {expected} or later)")
        if chunk.n_samples == 0:
            continue
        if expected is None or chunk.first_index != expected:
            runs.append(([], []))
        samples = np.asarray(chunk.samples, dtype=np.float64)
        runs[-1][0].append(chunk.times_s())
        runs[-1][1].append(samples[:, 0] if samples.ndim == 2 else samples.ravel())
        expected = chunk.first_index + chunk.n_samples
    return [(np.concatenate(t), np.concatenate(x)) for t, x in runs]


def rr_from_ecg_chunks(
    chunks: Sequence[SignalChunk], *, method: str = "neurokit", min_run_s: float = MIN_RUN_S
) -> StreamBeats:
    """R-peaks (sub-sample) and RR intervals of a chest strap's ECG stream.

    Parameters
    ----------
    chunks : sequence of SignalChunk
        The session's ECG chunks in stream order (µV; any unit works: detection is
        scale-free).
    method : str
        ``neurokit2.ecg_peaks`` method (default ``"neurokit"``).
    min_run_s : float
        Runs shorter than this are skipped, s.

    Returns
    -------
    StreamBeats
        Empty arrays when no run holds two peaks.

    Raises
    ------
    ValueError
        Bad chunks (see :func:`ecg_runs`) or non-finite samples.
    """
    r_times: list[FloatArray] = []
    run_of: list[npt.NDArray[np.int64]] = []
    rr: list[FloatArray] = []
    rr_time: list[FloatArray] = []
    spans: list[tuple[float, float]] = []
    kwargs: dict[str, Any] = {}
    clean_kwargs: dict[str, Any] = {}
    version = ""
    for k, (times, signal) in enumerate(ecg_runs(chunks)):
        spans.append((float(times[0]), float(times[-1])))
        if times[-1] - times[0] < min_run_s:
            continue
        if not np.all(np.isfinite(signal)):
            raise ValueError(f"ECG run {k} (from {times[0]:.3f} s) holds non-finite samples")
        # The run's own mean rate: chunks of one run share the strap's measured rate.
        fs = (times.size - 1) / float(times[-1] - times[0])
        peaks, cleaned, run_kwargs, run_clean, version = find_r_peaks(signal, fs, method=method)
        if not kwargs:
            kwargs, clean_kwargs = run_kwargs, run_clean
        peaks = _without_cut_off_waves(cleaned, peaks, fs)
        position = refine_peaks(cleaned, peaks)
        # Interpolating the fractional index on the sample times keeps each chunk's own
        # placement (t0_s, rate_hz) instead of one rate for the whole run.
        t = np.interp(position, np.arange(times.size, dtype=np.float64), times)
        r_times.append(t)
        run_of.append(np.full(t.size, k, dtype=np.int64))
        rr.append(np.diff(t) * 1000.0)
        rr_time.append(t[1:])
    empty = np.empty(0, dtype=np.float64)
    return StreamBeats(
        r_times_s=np.concatenate(r_times) if r_times else empty,
        rr_ms=np.concatenate(rr) if rr else empty,
        time_s=np.concatenate(rr_time) if rr_time else empty,
        run_index=np.concatenate(run_of) if run_of else np.empty(0, dtype=np.int64),
        runs=spans,
        method=method,
        kwargs=kwargs,
        clean_kwargs=clean_kwargs,
        neurokit_version=version,
    )


def _without_cut_off_waves(cleaned: FloatArray, peaks: npt.NDArray[np.int64],
                           fs: float) -> npt.NDArray[np.int64]:
    """``peaks`` less the low ones near either end of the run (see :data:`EDGE_S`)."""
    if peaks.size < 3:
        return peaks
    height = cleaned[peaks]
    edge = round(EDGE_S * fs)
    near_end = (peaks < edge) | (peaks >= cleaned.size - edge)
    low = height < EDGE_MIN_HEIGHT * float(np.median(height))
    return peaks[~(near_end & low)]


def recording_from_ecg(recording: Recording, beats: StreamBeats) -> Recording:
    """The session with its RR taken from the strap's ECG instead of the strap's own RR.

    Parameters
    ----------
    recording : Recording
        The stored session (its phases, markers, gaps and metadata are kept).
    beats : StreamBeats
        Its ECG's beats (:func:`rr_from_ecg_chunks`).

    Returns
    -------
    Recording
        ``rr_ms`` and ``time_s`` from the ECG; the live per-beat arrays (artifact classes,
        corrected intervals, receive times, contact), which belong to the strap's beats,
        are dropped, so artifacts are classified afresh. The breaks between ECG runs are added
        as gaps (reason ``source``), and ``metadata["rr_source"]`` holds
        :meth:`StreamBeats.provenance`.
    """
    breaks = [Gap(end, start, GapReason.SOURCE)
              for (_, end), (start, _) in zip(beats.runs, beats.runs[1:], strict=False)]
    metadata = dict(recording.metadata)
    metadata["rr_source"] = beats.provenance()
    return dataclasses.replace(
        recording,
        rr_ms=beats.rr_ms.copy(),
        time_s=beats.time_s.copy(),
        gaps=sorted([*recording.gaps, *breaks], key=lambda g: g.start_s),
        artifact=None,
        rr_corrected_ms=None,
        corrected_count=None,
        received_s=None,
        sensor_contact=None,
        metadata=metadata,
    )
