"""PMD sample times: spread over the device clock, the measured rate, and the session clock.

**Per-sample device times.** A frame's timestamp is the device time of its LAST sample (ns
since 2000-01-01 on the strap's clock). As the Polar SDK does
(``PmdTimeStampUtils.getTimeStamps``), the samples of a frame are spread evenly between the
previous frame's timestamp (exclusive) and this one (inclusive); the first frame of a stream
has no predecessor, so its samples go back ``(n - 1) / fs`` from its timestamp
(:func:`sample_times_ns`).

**Measured rate.** An H10's ECG runs at 130 Hz +- 2 % (``H10_ECG_Explained.docx``), so the
rate is measured: samples counted since the stream's first frame over the device time they
took (:class:`RateEstimator`); the nominal rate is used only until a second frame arrives.

**Device clock to session clock.** The strap's clock has its own origin (it resets to
2019-01-01 when the strap shuts down) and its own rate (a crystal off by tens of ppm). Each
frame gives one observation: its arrival on the session clock ``a`` and its device time ``d``
(s since the stream's first frame). ``a - d = offset + drift * d + delay``, where the delay
(radio, connection interval, host scheduling) is never negative and often large (tens of ms),
but now and then close to zero. So the offset is the *lower envelope* of ``a - d``, not its
mean: :class:`DeviceClockAligner` keeps the observations of a sliding window (300 s) and
fits the line below all of them that lies closest to them, which is the edge of their lower
convex hull above their mean device time (the linear-programming estimator of Moon, Skelly
and Towsley, "Estimation and removal of clock skew from network delay measurements",
INFOCOM 1999). Its slope is the drift, its value the offset; a sample's session time is
``d + offset + drift * d``. Until the observations span 60 s the drift is taken as zero and
the offset as the minimum of ``a - d`` over the last 30 s (a line through half a minute of
points is mostly noise, and a short window bounds what an unseen drift can add: 100 ppm x
30 s = 3 ms). Constant delay cannot be seen from arrivals alone: times come out late by the
smallest delay of the window (a few ms over BLE), as do the RR stream's arrival times.

ECG and ACC share the device clock, so one aligner observes both streams' frames: about 3.2
frames a second instead of 1.8, and the lower envelope is found sooner. Measured with
``benchmarks/pmd_clock_warmup.py`` (simulated frames, arrival delays 0-80 ms, drift +-100 ppm,
5 seeds each way, 10 min), the fit's error on ECG samples, median / p95 / max, with both
streams and the drift fitted from 60 s on: first 30 s 2.2 / 7.6 / 76 ms (the maximum is the
very first frame's own delay, which nothing can know yet); 30 s to 3 min 0.6 / 2.8 / 6.4 ms;
later 0.2 / 0.7 / 1.5 ms; every sample within 5 ms from 51 s on. From the ECG alone with the
drift fitted from 120 s on (the first version) they were 3.3 / 11.6 / 76, 1.5 / 4.5 / 8.3 and
0.2 / 1.0 / 2.5 ms, within 5 ms from 100 s on. When the ECG starts 30 s after the
accelerometer, as an H10's usually does, its first 30 s are 1.7 / 4.9 / 12 ms and within 5 ms
from 24 s on. The chunks' own times follow the fit slowly (:mod:`~sensors.ble.pmd.placement`),
so their first seconds keep more of the first frame's delay.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

PMD_EPOCH_UNIX_NS: Final = 946_684_800_000_000_000
"""2000-01-01T00:00:00Z, the PMD timestamps' epoch, in ns since the Unix epoch."""
DEVICE_RESET_NS: Final = 599_616_000_000_000_000
"""2019-01-01 in PMD ns: where an H10's clock restarts after it shut down."""
NS_PER_S: Final = 1_000_000_000


def sample_times_ns(
    previous_ns: int | None, timestamp_ns: int, n_samples: int, rate_hz: float
) -> npt.NDArray[np.int64]:
    """Device time of every sample of a frame, as the Polar SDK assigns them.

    Parameters
    ----------
    previous_ns : int or None
        The previous frame's timestamp (its last sample), ns; None for a stream's first frame
        (or the first after a gap).
    timestamp_ns : int
        This frame's timestamp: the device time of its last sample, ns since 2000.
    n_samples : int
        Samples in the frame.
    rate_hz : float
        Sampling rate used when there is no previous frame, Hz.

    Returns
    -------
    ndarray of int64
        Device times, ns, oldest first; the last is ``timestamp_ns`` exactly.

    Raises
    ------
    ValueError
        No samples, a rate that is not positive, or a timestamp not after the previous one.
    """
    if n_samples < 1:
        raise ValueError("a frame without samples has no sample times")
    if previous_ns is None:
        if rate_hz <= 0:
            raise ValueError(f"sampling rate must be positive, got {rate_hz}")
        step = NS_PER_S / rate_hz
    else:
        if timestamp_ns <= previous_ns:
            raise ValueError(
                f"frame timestamp {timestamp_ns} ns is not after the previous {previous_ns} ns"
            )
        step = (timestamp_ns - previous_ns) / n_samples
    # Counted back from the frame's timestamp, which keeps ns precision (PMD ns exceed 2**53).
    back = np.round(step * np.arange(n_samples - 1, -1, -1, dtype=np.float64))
    return timestamp_ns - back.astype(np.int64)


class RateEstimator:
    """The measured sampling rate of one stream, from its device timestamps.

    Parameters
    ----------
    nominal_hz : float
        The configured rate, used until two frames have been seen.
    """

    def __init__(self, nominal_hz: float) -> None:
        if nominal_hz <= 0:
            raise ValueError(f"nominal rate must be positive, got {nominal_hz}")
        self.nominal_hz = nominal_hz
        self._first_ns: int | None = None
        self._last_ns = 0
        self._samples_since_first = 0

    def add(self, timestamp_ns: int, n_samples: int) -> None:
        """Count a frame: its timestamp (last sample) and the samples since the previous
        frame's last one (its own plus any lost before it)."""
        if self._first_ns is None:
            self._first_ns = timestamp_ns
        else:
            self._samples_since_first += n_samples
        self._last_ns = timestamp_ns

    @property
    def rate_hz(self) -> float:
        """Samples per second of device time (the nominal rate before a second frame)."""
        if self._first_ns is None or self._last_ns <= self._first_ns:
            return self.nominal_hz
        return self._samples_since_first * NS_PER_S / (self._last_ns - self._first_ns)


@dataclass(frozen=True, slots=True)
class ClockFit:
    """The current mapping from device time to session time.

    Attributes
    ----------
    offset_s : float
        Session time at the anchor (the first observed device time), s.
    drift : float
        Session seconds gained per device second (+1e-4 = the device clock runs 100 ppm slow).
    """

    offset_s: float
    drift: float

    @property
    def drift_ppm(self) -> float:
        """The drift in parts per million."""
        return self.drift * 1e6


class DeviceClockAligner:
    """Maps a strap's device clock (PMD ns) to the session clock, from frame arrival times.

    One aligner serves every stream of a strap (ECG and ACC share the device clock); see the
    module docstring for the method.

    Parameters
    ----------
    window_s : float
        Device seconds of observations kept for the fit.
    min_span_s : float
        Span of observations below which the drift is taken as zero.
    offset_window_s : float
        While the drift is taken as zero, the offset is the minimum of the last this many
        device seconds.
    refit_every_s : float
        Device seconds after which the fit is redone even if no observation fell below it
        (so old observations leave the window).
    max_drift : float
        Largest plausible drift (1000 ppm); a steeper fit (a burst of late frames) is not
        believed and the offset-only estimate is used.
    """

    def __init__(
        self,
        *,
        window_s: float = 300.0,
        min_span_s: float = 60.0,
        refit_every_s: float = 10.0,
        max_drift: float = 1e-3,
        offset_window_s: float = 30.0,
    ) -> None:
        self.offset_window_s = offset_window_s
        self.window_s = window_s
        self.min_span_s = min_span_s
        self.refit_every_s = refit_every_s
        self.max_drift = max_drift
        self._anchor_ns: int | None = None
        self._points: deque[tuple[float, float]] = deque()
        self._fit = ClockFit(0.0, 0.0)
        self._fitted_at = -np.inf
        self._latest_x = -np.inf

    @property
    def ready(self) -> bool:
        """Whether at least one frame has been observed."""
        return self._anchor_ns is not None

    @property
    def fit(self) -> ClockFit:
        """The current offset and drift."""
        return self._fit

    def observe(self, timestamp_ns: int, arrival_s: float) -> None:
        """Add one frame: its device timestamp and its arrival on the session clock.

        Parameters
        ----------
        timestamp_ns : int
            The frame's timestamp (its last sample), PMD ns.
        arrival_s : float
            When the notification arrived, session s (taken as soon as it is received).
        """
        if self._anchor_ns is None:
            self._anchor_ns = timestamp_ns
        x = (timestamp_ns - self._anchor_ns) / NS_PER_S
        y = arrival_s - x
        self._points.append((x, y))
        self._latest_x = max(self._latest_x, x)
        below = y < self._fit.offset_s + self._fit.drift * x
        if below or len(self._points) == 1 or x - self._fitted_at >= self.refit_every_s:
            self._refit()

    def session_time_s(self, timestamp_ns: int) -> float:
        """Session time of a device time, s.

        Raises
        ------
        RuntimeError
            Nothing observed yet.
        """
        return float(self.session_times_s(np.asarray([timestamp_ns], dtype=np.int64))[0])

    def session_times_s(self, timestamps_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Session times of device times, s (see :meth:`session_time_s`)."""
        if self._anchor_ns is None:
            raise RuntimeError("no PMD frame observed yet: the device clock is not aligned")
        x = (np.asarray(timestamps_ns, dtype=np.int64) - self._anchor_ns) / NS_PER_S
        return x + self._fit.offset_s + self._fit.drift * x

    def _refit(self) -> None:
        horizon = self._latest_x - self.window_s
        while self._points and self._points[0][0] < horizon:
            self._points.popleft()
        self._fitted_at = self._latest_x
        points = sorted(self._points)
        span = points[-1][0] - points[0][0]
        fit = None
        if span >= self.min_span_s:
            fit = _lower_envelope_fit(points)
            if fit is not None and abs(fit.drift) > self.max_drift:
                fit = None
        if fit is None:
            recent = self._latest_x - self.offset_window_s
            fit = ClockFit(min(y for x, y in points if x >= recent), 0.0)
        self._fit = fit


def _lower_envelope_fit(points: list[tuple[float, float]]) -> ClockFit | None:
    """The line below every point closest to them all: the lower-hull edge over their mean x.

    ``points`` are sorted by x. Returns None when the hull is a single point.
    """
    hull: list[tuple[float, float]] = []
    for p in points:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # Drop the middle point unless it turns counter-clockwise (stays below).
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    if len(hull) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    # The first edge reaching the mean (the last edge does: the hull ends at the largest x).
    edge = next(i for i in range(1, len(hull)) if hull[i][0] >= mean_x)
    (x1, y1), (x2, y2) = hull[edge - 1], hull[edge]
    if x2 == x1:
        return None
    slope = (y2 - y1) / (x2 - x1)
    return ClockFit(y1 - slope * x1, slope)
