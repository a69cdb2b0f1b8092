"""Physiological model of sinus rhythm: clean RR intervals from a schedule of conditions.

The model is integral pulse frequency modulation (IPFM; Mateo & Laguna 2000, IEEE Trans
Biomed Eng 47(8):985-996): an instantaneous RR interval ``r(t)`` (ms) is built on a regular
grid as a sum of oscillations, a beat fires each time the integral of ``1 / r(t)`` reaches the
next integer, and the beat times are then jittered slightly (beat-to-beat noise that does not
accumulate). ::

    r(t) = RR0(t) - A_rsa(t) sin(phi_resp(t)) + Mayer(t) + VLF(t)

* ``RR0 = 60000 / HR`` from the schedule's heart rate (or from the vagal level, below);
* respiratory sinus arrhythmia (RSA) at the breathing frequency, its amplitude proportional
  to the vagal level and shaped by a second-order resonance near 0.1 Hz, so slow (paced)
  breathing at about 6/min gives a larger oscillation than 12/min, as in resonance-frequency
  breathing (Vaschillo et al. 2002, Appl Psychophysiol Biofeedback 27(1):1-27; Lehrer et al.
  2000, Appl Psychophysiol Biofeedback 25(3):177-191; Hirsch & Bishop 1981, Am J Physiol
  241:H620-H629);
* a ~0.1 Hz Mayer (baroreflex) wave with slow amplitude and frequency wander (Julien 2006,
  Cardiovasc Res 70(1):12-21);
* slow drift: three sinusoids with random periods in the VLF band, 25-250 s
  (0.004-0.04 Hz; Task Force 1996, Circulation 93(5):1043-1065);
* beat-to-beat jitter of the beat times.

Vagal level
-----------
A dimensionless 0..1 scale: 0 = no vagal outflow (pharmacological blockade: no RSA, heart
at its intrinsic rate, about 100 bpm at age 30, Jose & Collison 1970, Cardiovasc Res
4(2):160-167); 0.5 = a typical healthy adult at seated rest; 1 = very high vagal tone (a
trained athlete). RSA amplitude is proportional to the level (x 2 v), the Mayer wave and
the jitter grow with it more weakly, and, when a segment gives no heart rate, the heart
rate falls with it geometrically: ``HR(v) = HR_intrinsic * (HR_rest / HR_intrinsic) ** (2 v)``
(100 bpm at 0, 65 at 0.5, 42 at 1).

With the defaults a 5-min seated rest (12 breaths/min, level 0.5) gives HR ~65 bpm, RMSSD
~40-45 ms and SDNN ~45-55 ms, within the normal ranges pooled by Nunan et al. 2010 (Pacing
Clin Electrophysiol 33(11):1407-1417: RMSSD 42 ms [19-75], SDNN 50 ms [32-93]).

Everything is deterministic by seed, and the grid is computed in fixed blocks whose random
numbers are addressed by absolute index (see ``_streams``), so the series does not depend on
how the generation is chunked.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from sensors.simulated._streams import IndexedStream, Stream, check_seed, init_rng

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_HR_BPM = 25.0
MAX_HR_BPM = 220.0
MIN_BREATHS_PER_MIN = 2.0
MAX_BREATHS_PER_MIN = 40.0
_MIN_RR_MS = 200.0
"""Floor of the instantaneous RR (300 bpm), a numerical guard only."""
_JITTER_CLIP_SD = 3.0
"""Beat jitter is clipped at 3 SD so beats keep their order and bounds are known."""


@dataclass(frozen=True, slots=True)
class PhysiologySegment:
    """Conditions from ``start_s`` on (until the next segment), reached smoothly.

    Parameters
    ----------
    start_s : float
        Session time the segment begins, s. Before the first segment its values apply.
    mean_hr_bpm : float or None
        Mean heart rate, bpm. None derives it from ``vagal_level`` (65 bpm at 0.5, see the
        module notes), so lowering the vagal level alone raises the heart rate.
    breaths_per_min : float
        Breathing rate, breaths/min. 12 is typical at rest (adults breathe 12-20/min);
        about 6 is resonance-frequency (paced) breathing (Lehrer et al. 2000).
    vagal_level : float
        Vagal tone on the 0..1 scale of the module notes; 0.5 = typical rest.
    transition_s : float
        The values move from where they were at ``start_s`` to these targets along a
        raised-cosine ramp of this length, s (no steps in the series). Default 5 s.
    """

    start_s: float = 0.0
    mean_hr_bpm: float | None = None
    breaths_per_min: float = 12.0
    vagal_level: float = 0.5
    transition_s: float = 5.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.start_s):
            raise ValueError(f"start_s must be finite, got {self.start_s}")
        if self.mean_hr_bpm is not None and not (
            MIN_HR_BPM <= self.mean_hr_bpm <= MAX_HR_BPM
        ):
            raise ValueError(
                f"mean_hr_bpm must be within {MIN_HR_BPM}-{MAX_HR_BPM} bpm, "
                f"got {self.mean_hr_bpm}"
            )
        if not MIN_BREATHS_PER_MIN <= self.breaths_per_min <= MAX_BREATHS_PER_MIN:
            raise ValueError(
                f"breaths_per_min must be within {MIN_BREATHS_PER_MIN}-{MAX_BREATHS_PER_MIN}"
                f" breaths/min, got {self.breaths_per_min}"
            )
        if not 0.0 <= self.vagal_level <= 1.0:
            raise ValueError(f"vagal_level must be within 0..1, got {self.vagal_level}")
        if not (self.transition_s >= 0.0 and math.isfinite(self.transition_s)):
            raise ValueError(f"transition_s must be >= 0, got {self.transition_s}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PhysiologyParams:
    """Constants of the model (the defaults give the resting values in the module notes).

    Parameters
    ----------
    rest_hr_bpm : float
        Heart rate at vagal level 0.5 when a segment gives none, bpm. Default 65, a typical
        seated resting value (Nunan et al. 2010).
    intrinsic_hr_bpm : float
        Heart rate at vagal level 0, bpm. Default 100: intrinsic HR = 118.1 - 0.57 x age
        at age 30 (Jose & Collison 1970).
    rsa_amplitude_ms : float
        RSA amplitude (half peak-to-trough of RR), ms, at level 0.5 and 12 breaths/min.
        Default 50 ms (peak-to-trough 100 ms, ~6 bpm at 65 bpm), calibrated so resting
        RMSSD lands near the 42 ms population mean of Nunan et al. 2010.
    rsa_reference_breaths_per_min : float
        Breathing rate at which ``rsa_amplitude_ms`` holds, breaths/min. Default 12.
    resonance_hz : float
        Breathing frequency of maximal RSA, Hz. Default 0.1 (Vaschillo et al. 2002).
    resonance_damping : float
        Damping ratio of the second-order RSA transfer function (< 0.707). Default 0.4,
        which makes RSA at 6/min about 3 x that at 12/min (Lehrer et al. 2000 report
        HR oscillations of 2-4 x resting amplitude at the resonance frequency; model choice).
    rsa_max_fraction : float
        Soft ceiling of RSA amplitude as a fraction of RR0 (tanh saturation). Default 0.25.
    mayer_hz : float
        Mayer-wave centre frequency, Hz. Default 0.1 (Julien 2006).
    mayer_amplitude_ms : float
        Mayer-wave amplitude at level 0.5, ms. Default 25 (model choice giving an LF
        component below the resting HF one, as in seated adults breathing at 12/min).
    vlf_amplitude_ms : float
        Amplitude of each of the three VLF drift sinusoids, ms. Default 20 (brings the
        5-min SDNN to ~45-55 ms, near the 50 ms mean of Nunan et al. 2010).
    beat_jitter_ms : float
        SD of the beat-time jitter at level 0.5, ms. Default 8 (model choice; adds
        beat-to-beat variability as seen in RMSSD beyond RSA).
    breathing_wander : float
        Relative slow wander of the breathing rate (0.05 = +-5 %). Default 0.05.
    grid_hz : float
        Rate of the modulation grid, Hz. Default 10.
    """

    rest_hr_bpm: float = 65.0
    intrinsic_hr_bpm: float = 100.0
    rsa_amplitude_ms: float = 50.0
    rsa_reference_breaths_per_min: float = 12.0
    resonance_hz: float = 0.1
    resonance_damping: float = 0.4
    rsa_max_fraction: float = 0.25
    mayer_hz: float = 0.1
    mayer_amplitude_ms: float = 25.0
    vlf_amplitude_ms: float = 20.0
    beat_jitter_ms: float = 8.0
    breathing_wander: float = 0.05
    grid_hz: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.resonance_damping < 1.0 / math.sqrt(2.0):
            raise ValueError("resonance_damping must be within (0, 0.707)")
        if self.grid_hz < 4.0:
            raise ValueError("grid_hz must be at least 4 Hz")
        if not MIN_HR_BPM <= self.rest_hr_bpm <= MAX_HR_BPM:
            raise ValueError(f"rest_hr_bpm out of range: {self.rest_hr_bpm}")
        if not MIN_HR_BPM <= self.intrinsic_hr_bpm <= MAX_HR_BPM:
            raise ValueError(f"intrinsic_hr_bpm out of range: {self.intrinsic_hr_bpm}")
        for name in ("rsa_amplitude_ms", "mayer_amplitude_ms", "vlf_amplitude_ms",
                     "beat_jitter_ms", "breathing_wander", "rsa_max_fraction"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0")

    def hr_for_vagal(self, vagal_level: float | FloatArray) -> float | FloatArray:
        """Heart rate implied by a vagal level, bpm (module notes)."""
        ratio = self.rest_hr_bpm / self.intrinsic_hr_bpm
        return self.intrinsic_hr_bpm * ratio ** (2.0 * np.asarray(vagal_level))

    @property
    def max_jitter_s(self) -> float:
        """Largest possible beat-time jitter, s (3 SD at vagal level 1)."""
        return _JITTER_CLIP_SD * self.beat_jitter_ms * _jitter_scale(1.0) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


def _jitter_scale(vagal_level: Any) -> Any:
    """Jitter SD relative to level 0.5: 0.25 at 0, 1 at 0.5, 1.75 at 1 (model choice)."""
    return 0.25 + 1.5 * vagal_level


def rsa_gain(breathing_hz: float | FloatArray, params: PhysiologyParams) -> FloatArray:
    """RSA amplitude relative to the rate ``rsa_reference_breaths_per_min`` (1 at that rate).

    Magnitude of a second-order low-pass with damping ``resonance_damping`` whose peak is at
    ``resonance_hz`` (Vaschillo et al. 2002 model the baroreflex loop as a resonant system).
    """
    zeta = params.resonance_damping
    f_n = params.resonance_hz / math.sqrt(1.0 - 2.0 * zeta * zeta)

    def mag(f: FloatArray) -> FloatArray:
        r = f / f_n
        return 1.0 / np.sqrt((1.0 - r * r) ** 2 + (2.0 * zeta * r) ** 2)

    ref = mag(np.asarray(params.rsa_reference_breaths_per_min / 60.0))
    return mag(np.asarray(breathing_hz, dtype=float)) / ref


class Conditions(NamedTuple):
    """Scheduled conditions at one or more times (floats or arrays, like the query)."""

    mean_hr_bpm: Any
    breaths_per_min: Any
    vagal_level: Any


class Schedule:
    """A sequence of :class:`PhysiologySegment` evaluated as smooth functions of time.

    Parameters
    ----------
    segments : sequence of PhysiologySegment
        At least one; ``start_s`` strictly increasing.
    params : PhysiologyParams
        Model constants (for the heart rate of segments that give none).
    """

    def __init__(self, segments: Sequence[PhysiologySegment], params: PhysiologyParams) -> None:
        segs = tuple(segments)
        if not segs:
            raise ValueError("a schedule needs at least one segment")
        starts = [s.start_s for s in segs]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError(f"segment start times must increase strictly: {starts}")
        self.segments = segs
        self.params = params
        self._starts = np.array(starts, dtype=float)
        self._trans = np.array([s.transition_s for s in segs], dtype=float)
        self._target = np.array(
            [
                [
                    s.mean_hr_bpm
                    if s.mean_hr_bpm is not None
                    else float(params.hr_for_vagal(s.vagal_level)),
                    s.breaths_per_min,
                    s.vagal_level,
                ]
                for s in segs
            ]
        )
        origin = np.empty_like(self._target)
        origin[0] = self._target[0]
        for i in range(1, len(segs)):
            w = self._ramp(np.array([i - 1]), np.array([self._starts[i]]))[0]
            origin[i] = origin[i - 1] + (self._target[i - 1] - origin[i - 1]) * w
        self._origin = origin

    def _ramp(self, idx: IntArray, t: FloatArray) -> FloatArray:
        trans = self._trans[idx]
        elapsed = t - self._starts[idx]
        x = np.where(trans > 0.0, elapsed / np.where(trans > 0.0, trans, 1.0), 1.0)
        x = np.clip(x, 0.0, 1.0)
        return 0.5 - 0.5 * np.cos(np.pi * x)

    def evaluate(self, t: FloatArray) -> FloatArray:
        """Heart rate (bpm), breathing rate (breaths/min) and vagal level at times ``t``.

        Returns
        -------
        ndarray, shape (3, len(t))
            Rows: mean HR, breathing rate, vagal level.
        """
        t = np.asarray(t, dtype=float)
        out = np.empty((3, t.size))
        if t.size == 0:
            return out
        lo, hi = float(t.min()), float(t.max())
        i_lo = max(int(np.searchsorted(self._starts, lo, side="right")) - 1, 0)
        i_hi = max(int(np.searchsorted(self._starts, hi, side="right")) - 1, 0)
        if i_lo == i_hi and (i_lo == 0 or lo >= self._starts[i_lo] + self._trans[i_lo]):
            # All in one segment, past its transition: constant (the common case).
            out[:] = self._target[i_lo][:, None]
            return out
        idx = np.searchsorted(self._starts, t, side="right") - 1
        np.clip(idx, 0, None, out=idx)
        w = self._ramp(idx, t)
        for c in range(3):
            origin = self._origin[idx, c]
            out[c] = origin + (self._target[idx, c] - origin) * w
        return out

    def conditions_at(self, t: float | FloatArray) -> Conditions:
        """Scheduled conditions at time(s) ``t`` (s): floats for a float, arrays otherwise."""
        arr = np.atleast_1d(np.asarray(t, dtype=float))
        hr, br, v = self.evaluate(arr)
        if np.ndim(t) == 0:
            return Conditions(float(hr[0]), float(br[0]), float(v[0]))
        return Conditions(hr, br, v)

    def segment_at(self, t: float) -> PhysiologySegment:
        """The segment in force at time ``t``, s."""
        i = max(int(np.searchsorted(self._starts, t, side="right")) - 1, 0)
        return self.segments[i]

    def with_change(self, at_s: float, **changes: Any) -> Schedule:
        """A schedule that follows this one until ``at_s`` and then moves to new targets.

        Segments starting at or after ``at_s`` are dropped; the new segment copies the
        targets of the segment in force at ``at_s`` and applies ``changes`` (field names of
        :class:`PhysiologySegment` other than ``start_s``).
        """
        if "start_s" in changes:
            raise ValueError("start_s is set by the time of the change")
        base = self.segment_at(at_s)
        kept = [s for s in self.segments if s.start_s < at_s]
        new = replace(base, start_s=at_s, **changes)
        return Schedule([*kept, new], self.params)


# -- clean beat generator --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _State:
    """Integrator state at grid index ``g`` (time ``g / grid_hz``)."""

    g: int
    phi: float
    """Heart phase (beats) of IPFM."""
    resp: float
    """Respiratory phase, rad."""
    x: float
    """Integrand 1 / r at g, beats/s."""
    f: float
    """Breathing frequency at g, Hz."""
    last_tj: float
    """Jittered time of beat floor(phi), s (NaN before any beat)."""


@dataclass
class _Block:
    """A computed stretch of grid, kept for a while so a change of conditions can rewind."""

    start: _State
    phi: FloatArray
    resp: FloatArray
    x: FloatArray
    f: FloatArray
    k: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    tj: FloatArray = field(default_factory=lambda: np.empty(0))


@dataclass(frozen=True, slots=True)
class CleanBeats:
    """Clean (sinus) beats.

    Attributes
    ----------
    k : ndarray of int
        Absolute beat numbers (consecutive).
    time_s : ndarray of float
        True beat times (end of each interval), s.
    rr_ms : ndarray of float
        Clean RR interval ending at each beat, ms.
    """

    k: IntArray
    time_s: FloatArray
    rr_ms: FloatArray

    def __len__(self) -> int:
        return int(self.k.size)


_EMPTY = CleanBeats(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))


class BeatGenerator:
    """Lazily generated clean beats of one simulated person.

    Parameters
    ----------
    seed : int
        Seed of every random choice.
    schedule : Schedule
        Conditions over time; may be replaced at run time with :meth:`change_schedule`.
    block_s : float
        Length of the grid blocks computed at a time, s (does not change the result).
    pre_roll_s : float
        Grid computed before session time 0 so the first session beat has a predecessor, s.
    """

    def __init__(
        self, seed: int, schedule: Schedule, *, block_s: float = 300.0, pre_roll_s: float = 10.0
    ) -> None:
        self.seed = check_seed(seed)
        self.schedule = schedule
        self.params = p = schedule.params
        self._dt = 1.0 / p.grid_hz
        self._block_n = max(round(block_s * p.grid_hz), 16)
        self._g0 = -math.ceil(pre_roll_s * p.grid_hz)
        rng = init_rng(self.seed)
        phi0 = float(rng.uniform(0.05, 0.95))
        resp0 = float(rng.uniform(0.0, 2.0 * math.pi))
        self._wander = (rng.uniform(20.0, 40.0), rng.uniform(45.0, 90.0), *rng.uniform(0, 6.3, 2))
        self._mayer = (
            rng.uniform(30.0, 60.0),   # amplitude-modulation period, s
            rng.uniform(60.0, 120.0),  # frequency-modulation period, s
            *rng.uniform(0.0, 2.0 * math.pi, 3),
        )
        self._vlf_periods = rng.uniform(25.0, 250.0, 3)
        self._vlf_phases = rng.uniform(0.0, 2.0 * math.pi, 3)
        self._jitter = IndexedStream(self.seed, Stream.BEAT_JITTER, normal=True)
        t0 = self._g0 * self._dt
        t0_arr = np.array([t0])
        sched0 = self.schedule.evaluate(t0_arr)
        slow0 = self._slow(t0_arr)
        f0_arr = self._breathing_hz(sched0[1], slow0)
        x0 = 1000.0 / float(self._rr(t0_arr, np.array([resp0]), f0_arr, sched0, slow0)[0])
        f0 = float(f0_arr[0])
        self._state = _State(self._g0, phi0, resp0, x0, f0, math.nan)
        self._blocks: list[_Block] = []
        self._blocks_version = 0
        """Counts changes of ``_blocks`` (for the joined respiration grid)."""
        self._respiration_version = -1
        self._respiration_grid: tuple[FloatArray, FloatArray, FloatArray] = (
            np.empty(0), np.empty(0), np.empty(0))
        self._pending = _EMPTY
        """Generated beats not yet taken (plus those in ``_new``)."""
        self._new: list[CleanBeats] = []

    # -- model terms -------------------------------------------------------------------------

    def _slow(self, t: FloatArray) -> FloatArray:
        """Slow terms at ``t``: breathing wander, Mayer AM, Mayer FM phase, VLF (rows).

        They vary over 20 s or more, so they are computed at whole seconds and linearly
        interpolated (a fixed function of time, and five times cheaper than on the grid).
        """
        lo, hi = math.floor(float(t[0])), math.ceil(float(t[-1]))
        knots = np.arange(lo, hi + 1, dtype=float)
        w = 2.0 * np.pi * knots
        p1, p2, a, b = self._wander
        am_period, fm_period, ph1, ph2, _ = self._mayer
        rows = np.empty((4, knots.size))
        rows[0] = 0.6 * np.sin(w / p1 + a) + 0.4 * np.sin(w / p2 + b)
        rows[1] = 1.0 + 0.25 * np.sin(w / am_period + ph1)
        rows[2] = 0.8 * np.sin(w / fm_period + ph2)
        rows[3] = 0.0
        for period, phase in zip(self._vlf_periods.tolist(), self._vlf_phases.tolist(),
                                 strict=True):
            rows[3] += np.sin(w / period + phase)
        return np.stack([np.interp(t, knots, row) for row in rows])

    def _breathing_hz(self, breaths_per_min: FloatArray, slow: FloatArray) -> FloatArray:
        return breaths_per_min / 60.0 * (1.0 + self.params.breathing_wander * slow[0])

    def _rr(
        self, t: FloatArray, resp: FloatArray, f: FloatArray, sched: FloatArray, slow: FloatArray
    ) -> FloatArray:
        """Instantaneous RR on the grid, ms (``sched``, ``slow``: schedule and slow terms)."""
        p = self.params
        hr, _, v = sched
        rr0 = 60000.0 / hr
        amp = p.rsa_amplitude_ms * 2.0 * v * rsa_gain(f, p)
        cap = p.rsa_max_fraction * rr0
        amp = np.where(cap > 0, cap * np.tanh(amp / np.where(cap > 0, cap, 1.0)), 0.0)
        mayer = (p.mayer_amplitude_ms * (0.5 + v) * slow[1]) * np.sin(
            2 * np.pi * p.mayer_hz * t + slow[2] + self._mayer[4]
        )
        return np.maximum(
            rr0 - amp * np.sin(resp) + mayer + p.vlf_amplitude_ms * slow[3], _MIN_RR_MS
        )

    # -- generation --------------------------------------------------------------------------

    @property
    def horizon_s(self) -> float:
        """Time up to which the grid (and so every true beat time) is computed, s."""
        return self._state.g * self._dt

    def _compute(self, g_to: int) -> None:
        st = self._state
        dt = self._dt
        g = np.arange(st.g + 1, g_to + 1)
        t = g / self.params.grid_hz
        sched = self.schedule.evaluate(t)
        slow = self._slow(t)
        f = self._breathing_hz(sched[1], slow)
        f_prev = np.concatenate(([st.f], f[:-1]))
        resp = np.cumsum(np.concatenate(([st.resp], 2.0 * np.pi * dt * 0.5 * (f_prev + f))))
        x = 1000.0 / self._rr(t, resp[1:], f, sched, slow)
        x_prev = np.concatenate(([st.x], x[:-1]))
        phi = np.cumsum(np.concatenate(([st.phi], dt * 0.5 * (x_prev + x))))
        k = np.arange(math.floor(st.phi) + 1, math.floor(phi[-1]) + 1, dtype=np.int64)
        tt = np.concatenate(([st.g / self.params.grid_hz], t))
        tk = np.interp(k.astype(float), phi, tt)
        if k.size:
            z = np.clip(self._jitter.get(int(k[0]), int(k[-1]) + 1), -_JITTER_CLIP_SD,
                        _JITTER_CLIP_SD)
            v_k = self.schedule.evaluate(tk)[2]
            tj = tk + z * self.params.beat_jitter_ms * _jitter_scale(v_k) / 1000.0
            prev = np.concatenate(([st.last_tj], tj[:-1]))
            rr = (tj - prev) * 1000.0
            last_tj = float(tj[-1])
        else:
            tj = rr = np.empty(0)
            last_tj = st.last_tj
        block = _Block(st, phi, resp, np.concatenate(([st.x], x)),
                       np.concatenate(([st.f], f)), k, tj)
        self._blocks.append(block)
        if len(self._blocks) > 4:
            del self._blocks[0]
        self._blocks_version += 1
        self._state = _State(g_to, float(phi[-1]), float(resp[-1]), float(x[-1]), float(f[-1]),
                             last_tj)
        self._new.append(CleanBeats(k, tj, rr))

    def respiration(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Respiratory phase and breathing frequency at times ``t_s``: the very phase the RSA
        term of the RR follows (``RR0 - A_rsa sin(phi_resp)``), wander included.

        Parameters
        ----------
        t_s : array of float
            Session times, s (computed ahead as needed; the grid of the last few blocks,
            about 20 min back, is kept).

        Returns
        -------
        phase : ndarray of float
            ``phi_resp``, rad (the RR is shortest at pi/2 modulo 2 pi).
        frequency : ndarray of float
            Breathing frequency, Hz.

        Raises
        ------
        ValueError
            A time before the grid kept.
        """
        t = np.asarray(t_s, dtype=float)
        if t.size == 0:
            return np.empty(0), np.empty(0)
        self.ensure(float(t.max()) + self._dt)
        blocks = self._blocks
        if not blocks:  # every time asked lies before the pre-roll: nothing computed
            raise ValueError(f"respiration asked at {float(t.min()):.3f} s, before the grid "
                             f"kept (from {self._g0 * self._dt:.3f} s)")
        if self._respiration_version != self._blocks_version:  # joined once per change
            # Each block's arrays start with the state it started from: the last block's end.
            g = np.concatenate([blocks[0].start.g + np.arange(blocks[0].resp.size)]
                               + [b.start.g + np.arange(1, b.resp.size) for b in blocks[1:]])
            self._respiration_grid = (
                (g * self._dt).astype(np.float64),
                np.concatenate([blocks[0].resp] + [b.resp[1:] for b in blocks[1:]]),
                np.concatenate([blocks[0].f] + [b.f[1:] for b in blocks[1:]]),
            )
            self._respiration_version = self._blocks_version
        grid_t, resp, freq = self._respiration_grid
        if float(t.min()) < grid_t[0]:
            raise ValueError(f"respiration asked at {float(t.min()):.3f} s, before the grid "
                             f"kept (from {grid_t[0]:.3f} s)")
        return np.interp(t, grid_t, resp), np.interp(t, grid_t, freq)

    def ensure(self, until_s: float) -> None:
        """Compute the grid at least up to ``until_s`` (s), in whole aligned blocks."""
        g_need = math.ceil(until_s * self.params.grid_hz)
        while self._state.g < g_need:
            b = (self._state.g - self._g0) // self._block_n + 1
            self._compute(self._g0 + b * self._block_n)

    def _merged(self) -> CleanBeats:
        if self._new:
            parts = [self._pending, *self._new]
            self._pending = CleanBeats(
                np.concatenate([b.k for b in parts]),
                np.concatenate([b.time_s for b in parts]),
                np.concatenate([b.rr_ms for b in parts]),
            )
            self._new = []
        return self._pending

    def take(self, until_s: float) -> CleanBeats:
        """Remove and return the generated beats with (jittered) time <= ``until_s``.

        Generates first as far as needed: every beat up to ``until_s`` is then known.
        """
        self.ensure(until_s + self.params.max_jitter_s + self._dt)
        pend = self._merged()
        n = int(np.searchsorted(pend.time_s, until_s, side="right"))
        out = CleanBeats(pend.k[:n], pend.time_s[:n], pend.rr_ms[:n])
        self._pending = CleanBeats(pend.k[n:], pend.time_s[n:], pend.rr_ms[n:])
        return out

    def change_schedule(self, schedule: Schedule, from_s: float) -> None:
        """Use ``schedule`` for the grid after ``from_s`` (s), rewinding if already computed.

        ``from_s`` must lie on the grid and beyond every beat already taken plus the jitter
        bound; the new schedule must agree with the old one up to ``from_s``.
        """
        g_from = round(from_s * self.params.grid_hz)
        self.schedule = schedule
        if g_from >= self._state.g:
            return
        for i in range(len(self._blocks) - 1, -1, -1):
            block = self._blocks[i]
            if block.start.g <= g_from:
                break
        else:
            raise RuntimeError("cannot rewind that far back")
        j = g_from - block.start.g
        phi = float(block.phi[j])
        k_last = math.floor(phi)
        if block.k.size and k_last >= block.k[0]:
            last_tj = float(block.tj[k_last - block.k[0]])
        else:
            last_tj = block.start.last_tj
        self._state = _State(g_from, phi, float(block.resp[j]), float(block.x[j]),
                             float(block.f[j]), last_tj)
        del self._blocks[i + 1 :]
        self._blocks_version += 1
        keep = block.k <= k_last
        block.k, block.tj = block.k[keep], block.tj[keep]
        block.phi, block.resp = block.phi[: j + 1], block.resp[: j + 1]
        block.x, block.f = block.x[: j + 1], block.f[: j + 1]
        pend = self._merged()
        n = int(np.searchsorted(pend.k, k_last, side="right"))
        self._pending = CleanBeats(pend.k[:n], pend.time_s[:n], pend.rr_ms[:n])
