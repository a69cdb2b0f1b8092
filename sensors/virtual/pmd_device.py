"""The virtual strap's PMD side: control-point commands, running streams and their frames.

No D-Bus here: :class:`PmdDevice` turns a control-point write into the response bytes and
keeps the ECG and ACC streams; the GATT layer sends the responses as indications and the
frames as notifications (``sensors.virtual.gatt``), the service pumps :meth:`due_frames`.

Timing: a stream started at virtual time ``t`` (plus ``ecg_delay_s`` for the ECG, the H10's
known ~30 s before ECG data) has sample ``i`` at ``t0 + i / real_rate`` on the strap's virtual
clock, where ``real_rate = nominal * (1 + rate_error)`` (an H10's ECG is 130 Hz +- 2 %). The
device clock is exact: a frame's timestamp is ``DEVICE_CLOCK_RESET_NS`` (2019-01-01, what an
H10 reports unless its time is set) plus the virtual time of its last sample in ns, so the
timestamp deltas show the real rate.

Faults of a real H10 on demand (the options of :class:`PmdOptions`): a strap whose feature
read lacks ECG and/or ACC (commands about a missing type are answered NOT_SUPPORTED, as old
H10 firmware without ECG does: polar-ble-sdk#3, #200), and a START of valid settings refused
with INVALID_MTU (10), the one refusal of valid settings reported from H10s
(polar-ble-sdk#222: sporadic, cleared by an app restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensors.virtual import pmd
from sensors.virtual.pmd_signals import ChestSignals

REFUSAL_STATUS = pmd.INVALID_MTU
"""What a START in ``PmdOptions.refuse`` is answered with (polar-ble-sdk#222)."""

KNOWN_TYPES = range(0, 16)
"""Measurement type numbers the protocol defines (ECG 0 ... ), for INVALID_MEASUREMENT_TYPE."""


@dataclass
class PmdOptions:
    """PMD settings of the virtual strap (the ``--pmd-*`` options).

    Attributes
    ----------
    ecg_delay_s : float
        Virtual seconds between START ECG (answered at once) and the first ECG sample.
    rate_error : float
        Fraction by which the real sample rates are off (0.004: ECG at 130.52 Hz).
    mtu : int
        ATT MTU of the link; frames carry as many samples as fit (73 ECG at >= 232).
    auto_pair : bool
        Emulate BlueZ's automatic pairing on the first refused write (Paired, Bonded true)
        instead of refusing it with ``NotPermitted "Not paired"``.
    paired : bool
        The strap is already paired (bonded) when the fake starts.
    features : frozenset of str
        The streams the feature read offers (``"ecg"``, ``"acc"``; default both, as an H10).
    refuse : frozenset of str
        Streams whose START of valid settings is answered :data:`REFUSAL_STATUS`.
    pair_fails : bool
        ``Device1.Pair`` fails with ``org.bluez.Error.AuthenticationFailed`` (the strap stays
        unpaired).
    """

    ecg_delay_s: float = 0.0
    rate_error: float = 0.0
    mtu: int = 232
    auto_pair: bool = False
    paired: bool = False
    features: frozenset[str] = frozenset(pmd.STREAM_NAMES.values())
    refuse: frozenset[str] = frozenset()
    pair_fails: bool = False


@dataclass
class PmdStream:
    """One running measurement."""

    measurement: int
    nominal_hz: int
    real_hz: float
    t0_s: float
    """Virtual time of sample 0, s."""
    range_g: int = 8
    next_index: int = 0
    settings: dict[int, int] = field(default_factory=dict)

    def sample_times(self, first: int, n: int) -> np.ndarray:
        """Virtual times of samples ``first .. first + n - 1``, s."""
        return self.t0_s + (first + np.arange(n)) / self.real_hz


@dataclass(frozen=True)
class PmdFrame:
    """One data frame and what the log records about it."""

    measurement: int
    data: bytes
    record: dict[str, Any]


class PmdDevice:
    """Control point and streams of the virtual H10.

    Parameters
    ----------
    signals : ChestSignals
        Where the ECG and ACC values come from.
    options : PmdOptions
        Delay, rate error, MTU.
    """

    def __init__(self, signals: ChestSignals, options: PmdOptions) -> None:
        self.signals = signals
        self.options = options
        self.streams: dict[int, PmdStream] = {}

    @property
    def features(self) -> bytes:
        """What a read of the control point answers (an H10's ``0F 05 00`` by default)."""
        return pmd.encode_features(self._offered())

    def _offered(self) -> list[int]:
        return [k for k, name in pmd.STREAM_NAMES.items() if name in self.options.features]

    # -- commands -----------------------------------------------------------------------------

    def command(self, data: bytes, now_s: float) -> bytes:
        """Carry out one control-point write and return the response (always one)."""
        if len(data) < 2:
            return pmd.encode_response(data[0] if data else 0, 0, pmd.INVALID_LENGTH)
        op, kind = data[0], data[1]
        if op not in (pmd.OP_GET_SETTINGS, pmd.OP_START, pmd.OP_STOP):
            return pmd.encode_response(op, kind, pmd.INVALID_OP_CODE)
        if kind not in KNOWN_TYPES:
            return pmd.encode_response(op, kind, pmd.INVALID_MEASUREMENT_TYPE)
        if kind not in pmd.SETTINGS_H10 or kind not in self._offered():
            return pmd.encode_response(op, kind, pmd.NOT_SUPPORTED)
        if op == pmd.OP_GET_SETTINGS:
            return pmd.encode_response(
                op, kind, pmd.SUCCESS, pmd.encode_settings(pmd.SETTINGS_H10[kind]))
        if op == pmd.OP_STOP:
            if self.streams.pop(kind, None) is None:
                return pmd.encode_response(op, kind, pmd.ALREADY_IN_STATE)
            return pmd.encode_response(op, kind, pmd.SUCCESS)
        return self._start(kind, data[2:], now_s)

    def _start(self, kind: int, tlvs: bytes, now_s: float) -> bytes:
        op = pmd.OP_START
        if kind in self.streams:
            return pmd.encode_response(op, kind, pmd.ALREADY_IN_STATE)
        chosen: dict[int, int] = {}
        pos = 0
        while pos < len(tlvs):
            if pos + 2 > len(tlvs):
                return pmd.encode_response(op, kind, pmd.INVALID_LENGTH)
            setting, count = tlvs[pos], tlvs[pos + 1]
            end = pos + 2 + 2 * count
            if count != 1 or end > len(tlvs):
                return pmd.encode_response(op, kind, pmd.INVALID_LENGTH)
            chosen[setting] = int.from_bytes(tlvs[pos + 2 : end], "little")
            pos = end
        offered = pmd.SETTINGS_H10[kind]
        errors = {
            pmd.SETTING_SAMPLE_RATE: pmd.INVALID_SAMPLE_RATE,
            pmd.SETTING_RESOLUTION: pmd.INVALID_RESOLUTION,
            pmd.SETTING_RANGE: pmd.INVALID_RANGE,
        }
        if set(chosen) != set(offered):
            return pmd.encode_response(op, kind, pmd.INVALID_PARAMETER)
        for setting, value in chosen.items():
            if value not in offered[setting]:
                return pmd.encode_response(op, kind, errors[setting])
        if pmd.samples_per_frame(kind, self.options.mtu) < 1:
            return pmd.encode_response(op, kind, pmd.INVALID_MTU)
        if pmd.STREAM_NAMES[kind] in self.options.refuse:
            return pmd.encode_response(op, kind, REFUSAL_STATUS)
        rate = chosen[pmd.SETTING_SAMPLE_RATE]
        delay = self.options.ecg_delay_s if kind == pmd.ECG else 0.0
        self.streams[kind] = PmdStream(
            measurement=kind,
            nominal_hz=rate,
            real_hz=rate * (1.0 + self.options.rate_error),
            t0_s=now_s + delay,
            range_g=chosen.get(pmd.SETTING_RANGE, 8),
            settings=chosen,
        )
        return pmd.encode_response(op, kind, pmd.SUCCESS)

    def device_stop(self, kind: int) -> bytes | None:
        """The strap stops a stream by itself: the indication to send, None if not running."""
        if self.streams.pop(kind, None) is None:
            return None
        return pmd.encode_stopped(kind)

    def stop_all(self) -> list[int]:
        """The link is gone: the strap ends every online measurement (returns which)."""
        kinds = sorted(self.streams)
        self.streams.clear()
        return kinds

    # -- frames -------------------------------------------------------------------------------

    def due_frames(self, now_s: float) -> list[PmdFrame]:
        """Every whole frame whose last sample lies at or before ``now_s``, oldest first."""
        frames: list[PmdFrame] = []
        for kind in sorted(self.streams):
            stream = self.streams[kind]
            per_frame = pmd.samples_per_frame(kind, self.options.mtu)
            while True:
                last = stream.next_index + per_frame - 1
                if stream.t0_s + last / stream.real_hz > now_s:
                    break
                frames.append(self._frame(stream, per_frame))
        frames.sort(key=lambda f: float(f.record["t_last_s"]))
        return frames

    def _frame(self, stream: PmdStream, n: int) -> PmdFrame:
        first = stream.next_index
        times = stream.sample_times(first, n)
        stream.next_index += n
        kind = stream.measurement
        t_last = float(times[-1])
        timestamp = pmd.DEVICE_CLOCK_RESET_NS + round(t_last * pmd.NS_PER_S)
        record: dict[str, Any] = {
            "pmd": pmd.STREAM_NAMES[kind],
            "first_index": first,
            "t0_s": round(float(times[0]), 9),
            "t_last_s": round(t_last, 9),
            "rate_hz": stream.real_hz,
            "timestamp_ns": timestamp,
        }
        if kind == pmd.ECG:
            values = self.signals.ecg_uv(times)
            half = 0.5 / stream.real_hz  # each beat in the frame of its nearest sample
            r, _ = self.signals.beats.beats_between(float(times[0]) - half, t_last + half)
            record["samples"] = values.tolist()
            record["r_peaks_s"] = [round(float(x), 9) for x in r]
        else:
            values = self.signals.acc_mg(times, stream.range_g)
            record["samples"] = values.tolist()
            record["breathing_per_min"] = round(
                self.signals.breathing.rate_per_min(float(times[n // 2])), 6)
            record["movement"] = any(
                b.start_s < t_last and b.start_s + b.duration_s > float(times[0])
                for b in self.signals.movement_bursts(t_last)
            )
        data = pmd.encode_frame(kind, timestamp, values)
        record["hex"] = data.hex()
        return PmdFrame(kind, data, record)
