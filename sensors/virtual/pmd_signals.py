"""Synthetic ECG and chest accelerometer of the virtual strap, from the RR it sends.

The ECG is built beat by beat on the strap's virtual clock from the SAME RR intervals the
strap puts in its Heart Rate Measurements: :class:`BeatTrack` sits between the RR source and
the packet scheduler, reads the source a little ahead (an ECG sample needs the beats around
it) and turns every RR into an R-peak time, so the R-to-R differences are exactly the RR sent
(in 1/1024-s ticks). The first beat is placed :data:`FIRST_BEAT_LEAD_S` before the end of
the second whose packet carries it (a file source: at its own cumulative time).

ECG model (µV, within the H10's +-20 000 µV): a PQRST template of Gaussians around each R
time (T wave later at longer RR), a wide QRS without P wave for premature (ectopic) beats,
per-beat amplitude variation, amplitude modulated and baseline moved by breathing, a slow
drift and white noise. The R wave is the template's maximum, so the sample nearest a true
R time is the largest of its beat.

ACC model (mG): gravity of an upright wearer, chest motion at the breathing rate (tens of mG
on z, a few on y), white noise and occasional movement artifacts (1-3 s bursts of a few
hundred mG). With the simulator the chest breathes with the simulator's own respiration,
the phase its RSA follows (:class:`SimulatedBreathing`: scheduled rate and its +-5 % wander),
so the ACC and the RR show one breathing; RR files and ``--breathing`` get a fixed rate
(:class:`BreathingModel`, the phase its integral). Either way the truth is known at every
instant. Off the body
(:attr:`ChestSignals.worn` false) the ECG is drift and noise without beats.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sensors.ble.gatt import RR_UNITS_PER_SECOND
from sensors.virtual.rr_source import FileRRSource, RRSource, SimulatedRRSource

FloatArray = npt.NDArray[np.float64]

FIRST_BEAT_LEAD_S = 0.2
"""The first beat of a simulated source lies this long before its packet is sent, s."""
ECTOPIC_PREMATURITY = 0.8
"""A beat whose RR is below this fraction of the median of the previous ones is ectopic."""
ECG_LIMIT_UV = 20_000
"""Dynamic range of the H10 ECG, +- µV (H10_ECG_Explained)."""
_LOOKAHEAD_S = 1.0
"""Beats known at least this far past the last sample asked for, s."""

# (offset from R s, width s, amplitude µV): P, Q, R, S, T of a sinus beat.
_SINUS = ((-0.20, 0.025, 120.0), (-0.035, 0.010, -100.0), (0.0, 0.011, 1300.0),
          (0.035, 0.012, -280.0), (0.25, 0.045, 330.0))
# A premature ventricular beat: no P wave, wide QRS, T wave opposite to the QRS.
_ECTOPIC = ((0.0, 0.030, 1500.0), (0.07, 0.035, -500.0), (0.30, 0.060, -350.0))


class BreathingModel:
    """Breathing rate over the virtual clock and its phase (the integral of the rate).

    Parameters
    ----------
    rate_at : callable
        ``rate_at(t_s_array) -> breaths/min array``.
    step_s : float
        Integration grid of the phase, s.
    """

    def __init__(self, rate_at: Callable[[FloatArray], FloatArray], step_s: float = 0.05) -> None:
        self.rate_at = rate_at
        self.step_s = step_s
        self._grid = np.zeros(1)
        self._phase = np.zeros(1)

    def _extend(self, t_s: float) -> None:
        if t_s <= self._grid[-1]:
            return
        n = math.ceil((t_s - self._grid[-1]) / self.step_s) + 20
        new = self._grid[-1] + self.step_s * np.arange(1, n + 1)
        mid = new - self.step_s / 2.0
        inc = 2.0 * math.pi * np.asarray(self.rate_at(mid), dtype=float) / 60.0 * self.step_s
        self._phase = np.concatenate((self._phase, self._phase[-1] + np.cumsum(inc)))
        self._grid = np.concatenate((self._grid, new))

    def phase(self, t_s: FloatArray) -> FloatArray:
        """Breathing phase, rad (0 at time 0; inhalation peaks at pi/2)."""
        t = np.asarray(t_s, dtype=float)
        if t.size:
            self._extend(float(t.max()))
        return np.interp(t, self._grid, self._phase)

    def rate_per_min(self, t_s: float) -> float:
        """Breathing rate at ``t_s``, breaths/min (the ground truth)."""
        return float(np.asarray(self.rate_at(np.array([t_s])), dtype=float)[0])


class Breathing(Protocol):
    """Breathing phase and rate over the strap's virtual clock (what the signals breathe by)."""

    def phase(self, t_s: FloatArray) -> FloatArray:
        """Breathing phase, rad (inhalation peaks at pi/2)."""
        ...

    def rate_per_min(self, t_s: float) -> float:
        """Breathing rate at ``t_s``, breaths/min (the ground truth)."""
        ...


def breathing_for(track: BeatTrack, fixed_per_min: float | None = None) -> Breathing:
    """The breathing of a strap's beats: the simulator's own respiration (the one its RSA
    follows), or ``fixed_per_min`` (default 12/min for RR files) when given."""
    if fixed_per_min is None and isinstance(track.source, SimulatedRRSource):
        return SimulatedBreathing(track)
    rate = 12.0 if fixed_per_min is None else float(fixed_per_min)
    return BreathingModel(lambda t: np.full(np.shape(t), rate))


class BeatTrack:
    """An RR source read ahead, with the R-peak time of every beat it hands out.

    It is itself an RR source (the packet scheduler reads it second by second); the ECG
    asks it for beats further ahead through :meth:`beats_until`.

    Parameters
    ----------
    source : RRSource
        The strap's beats.
    """

    def __init__(self, source: RRSource) -> None:
        self.source = source
        self._origin: float | None = 0.0 if isinstance(source, FileRRSource) else None
        self._pending: deque[tuple[list[int], int]] = deque()
        self._pulled = 0
        self._ticks = 0
        """1/1024-s ticks since the origin of the last beat."""
        self._recent: deque[int] = deque(maxlen=8)
        self.r_times_s: list[float] = []
        """R-peak time of every beat so far, virtual s."""
        self.ectopic: list[bool] = []
        """Whether each beat is premature (drawn with the ectopic shape)."""

    @property
    def exhausted(self) -> bool:
        """Nothing left to hand out and the source has ended."""
        return not self._pending and self.source.exhausted

    def _pull(self) -> None:
        rr, hr = self.source.next_second()
        self._pulled += 1
        self._pending.append((rr, hr))
        if not rr:
            return
        if self._origin is None:
            self._origin = self._pulled - FIRST_BEAT_LEAD_S - sum(rr) / RR_UNITS_PER_SECOND
        for value in rr:
            self._ticks += value
            median = float(np.median(self._recent)) if len(self._recent) >= 3 else 0.0
            self.ectopic.append(bool(median) and value < ECTOPIC_PREMATURITY * median)
            self._recent.append(value)
            self.r_times_s.append(self._origin + self._ticks / RR_UNITS_PER_SECOND)

    def next_second(self) -> tuple[list[int], int]:
        """The next second's RR and heart rate, as the source gave them."""
        if not self._pending:
            self._pull()
        return self._pending.popleft()

    def beats_until(self, t_s: float, spare_pulls: int = 30) -> None:
        """Read the source ahead until a beat later than ``t_s`` is known (or it ends, or
        ``spare_pulls`` seconds beyond ``t_s`` brought no beat)."""
        for _ in range(max(0, math.ceil(t_s) - self._pulled) + spare_pulls):
            if (self.r_times_s and self.r_times_s[-1] > t_s) or self.source.exhausted:
                return
            self._pull()

    def beats_between(self, start_s: float, end_s: float) -> tuple[FloatArray, np.ndarray]:
        """R times (s) in ``[start_s, end_s)`` and their beat indices."""
        times = np.asarray(self.r_times_s)
        lo = int(np.searchsorted(times, start_s, side="left"))
        hi = int(np.searchsorted(times, end_s, side="left"))
        return times[lo:hi], np.arange(lo, hi)


class SimulatedBreathing:
    """The simulator's respiration on the strap's virtual clock.

    The RR the strap sends carry the simulator's RSA, ``-A sin(phi_resp)``; this gives the
    same ``phi_resp`` (and the breathing rate behind it, wander included) at virtual times,
    so the chest motion and the RR breathe together. The virtual clock is the simulator's
    shifted by where :class:`BeatTrack` put the first beat.

    Parameters
    ----------
    track : BeatTrack
        The beats of a :class:`~sensors.virtual.rr_source.SimulatedRRSource`.
    """

    def __init__(self, track: BeatTrack) -> None:
        if not isinstance(track.source, SimulatedRRSource):
            raise TypeError("SimulatedBreathing needs the beats of the simulator")
        self._track = track
        self._engine = track.source.engine
        self._shift_s: float | None = None

    def _shift(self) -> float:
        """Virtual time minus simulator time, s (from the first beat: the RR are whole
        1/1024-s ticks of the simulator's beat times, so the shift holds to a tick)."""
        if self._shift_s is None:
            self._track.beats_until(0.0)
            first_s = float(self._engine.ground_truth().sensor_time_s[0])
            self._shift_s = self._track.r_times_s[0] - first_s
        return self._shift_s

    def phase(self, t_s: FloatArray) -> FloatArray:
        """The RSA's respiratory phase at virtual times ``t_s``, rad."""
        return self._engine.respiration(np.asarray(t_s, dtype=float) - self._shift())[0]

    def rate_per_min(self, t_s: float) -> float:
        """The simulator's breathing rate at virtual time ``t_s``, breaths/min."""
        return float(self._engine.respiration(np.array([t_s - self._shift()]))[1][0])


@dataclass
class MovementBurst:
    """One movement artifact of the accelerometer (ground truth)."""

    start_s: float
    duration_s: float
    amplitude_mg: float
    freq_hz: float


class ChestSignals:
    """The ECG and ACC values of the virtual strap at any virtual times.

    Parameters
    ----------
    beats : BeatTrack
        Beats (and the RR source behind them).
    breathing : Breathing
        Breathing rate and phase (:func:`breathing_for`).
    seed : int
        Seed of the amplitude variation, noise and movement artifacts.
    movement_per_min : float
        Mean number of movement artifacts per minute (0: none).
    """

    def __init__(
        self,
        beats: BeatTrack,
        breathing: Breathing,
        seed: int = 0,
        movement_per_min: float = 0.5,
    ) -> None:
        self.beats = beats
        self.breathing = breathing
        self.seed = seed
        self.movement_per_min = movement_per_min
        self._beat_gain: list[float] = []
        self._gain_rng = np.random.default_rng([seed, 1])
        self._ecg_noise = np.random.default_rng([seed, 2])
        self._acc_noise = np.random.default_rng([seed, 3])
        self._bursts: list[MovementBurst] = []
        self._bursts_until = 0.0
        self._burst_rng = np.random.default_rng([seed, 4])
        self.worn: Callable[[], bool] = lambda: True
        """Whether the electrodes touch the skin now (``off-body``: noise and drift only)."""

    def _gains(self, index: np.ndarray) -> FloatArray:
        while len(self._beat_gain) < len(self.beats.r_times_s):
            self._beat_gain.append(float(1.0 + 0.04 * self._gain_rng.standard_normal()))
        return np.asarray(self._beat_gain, dtype=float)[index] if index.size else np.empty(0)

    def ecg_uv(self, t_s: FloatArray) -> npt.NDArray[np.int32]:
        """ECG in µV at virtual times ``t_s`` (increasing), rounded and clipped to the range."""
        t = np.asarray(t_s, dtype=float)
        if t.size == 0:
            return np.empty(0, dtype=np.int32)
        self.beats.beats_until(float(t[-1]) + _LOOKAHEAD_S)
        if not self.worn():
            # Dry, open electrodes: no heart, a wandering offset and more noise.
            drift = 400.0 * np.sin(2.0 * math.pi * 0.07 * t)
            noisy = drift + 60.0 * self._ecg_noise.standard_normal(t.size)
            return np.clip(np.rint(noisy), -ECG_LIMIT_UV, ECG_LIMIT_UV).astype(np.int32)
        r, idx = self.beats.beats_between(float(t[0]) - 0.7, float(t[-1]) + 0.4)
        gains = self._gains(idx)
        phase = self.breathing.phase(t)
        # Respiration swings the electrical axis: the amplitude follows the breathing.
        modulation = 1.0 + 0.08 * np.sin(phase)
        out = 90.0 * np.sin(phase + 0.6) + 40.0 * np.sin(2.0 * math.pi * 0.03 * t)
        for r_s, k, gain in zip(r, idx, gains, strict=True):
            dt = t - r_s
            near = np.abs(dt) < 0.7
            if not near.any():
                continue
            d = dt[near]
            shape = _ECTOPIC if self.beats.ectopic[k] else _SINUS
            rr_s = self._rr_before(int(k))
            beat = np.zeros(d.size)
            for offset, width, amp in shape:
                # The QT interval lengthens with RR (Bazett): only the T wave moves.
                if offset > 0.1:
                    offset *= math.sqrt(rr_s)
                beat += amp * np.exp(-0.5 * ((d - offset) / width) ** 2)
            out[near] += gain * modulation[near] * beat
        out += 8.0 * self._ecg_noise.standard_normal(t.size)
        return np.clip(np.rint(out), -ECG_LIMIT_UV, ECG_LIMIT_UV).astype(np.int32)

    def _rr_before(self, k: int) -> float:
        times = self.beats.r_times_s
        return times[k] - times[k - 1] if k > 0 else 1.0

    def _burst_schedule(self, until_s: float) -> None:
        while self._bursts_until < until_s:
            block_end = self._bursts_until + 60.0
            n = int(self._burst_rng.poisson(self.movement_per_min)) if self.movement_per_min else 0
            for start in np.sort(self._burst_rng.uniform(self._bursts_until, block_end, n)):
                self._bursts.append(MovementBurst(
                    start_s=float(start),
                    duration_s=float(self._burst_rng.uniform(1.0, 3.0)),
                    amplitude_mg=float(self._burst_rng.uniform(100.0, 400.0)),
                    freq_hz=float(self._burst_rng.uniform(1.0, 4.0)),
                ))
            self._bursts_until = block_end

    def movement_bursts(self, until_s: float) -> list[MovementBurst]:
        """The movement artifacts up to ``until_s`` (ground truth)."""
        self._burst_schedule(until_s)
        return [b for b in self._bursts if b.start_s < until_s]

    def acc_mg(self, t_s: FloatArray, range_g: int = 8) -> npt.NDArray[np.int32]:
        """Accelerometer x, y, z in mG at virtual times ``t_s``, shape (n, 3)."""
        t = np.asarray(t_s, dtype=float)
        phase = self.breathing.phase(t)
        breath = np.sin(phase)
        out = np.empty((t.size, 3))
        # Upright wearer: gravity mostly on -y; the chest's rise tilts the strap (z, y).
        out[:, 0] = 30.0 + 2.0 * breath
        out[:, 1] = -985.0 + 6.0 * breath
        out[:, 2] = 120.0 + 25.0 * breath
        out += 3.0 * self._acc_noise.standard_normal(out.shape)
        if t.size:
            self._burst_schedule(float(t[-1]))
            for b in self._bursts:
                inside = (t >= b.start_s) & (t < b.start_s + b.duration_s)
                if not inside.any():
                    continue
                u = (t[inside] - b.start_s) / b.duration_s
                envelope = np.sin(math.pi * u) ** 2
                wave = np.sin(2.0 * math.pi * b.freq_hz * (t[inside] - b.start_s))
                out[inside, 0] += b.amplitude_mg * envelope * wave
                out[inside, 2] += 0.6 * b.amplitude_mg * envelope * np.cos(
                    2.0 * math.pi * b.freq_hz * 1.3 * (t[inside] - b.start_s))
        limit = range_g * 1000
        return np.clip(np.rint(out), -limit, min(limit, 32767)).astype(np.int32)
