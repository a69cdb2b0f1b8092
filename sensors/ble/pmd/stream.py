"""One PMD stream's frames in, :class:`~biofeedback.core.signals.SignalChunk` objects out.

:class:`PmdStreamDecoder` keeps what a stream needs between frames: the previous frame's
timestamp (the samples of a frame are spread from it, :func:`~sensors.ble.pmd.timing.
sample_times_ns`), the measured rate, the index of the next sample, the device clock's
mapping to the session clock (a :class:`~sensors.ble.pmd.timing.DeviceClockAligner`, shared
by a strap's ECG and ACC decoders), and where its chunks go on the session clock (a
:class:`~sensors.ble.pmd.placement.ChunkPlacer`: each follows the last, corrected slowly
toward the fit, so a stream never overlaps itself). A device timestamp that jumps further
than the frame's samples can span means frames were lost: the gap is recorded
(:class:`StreamGap`) and the next chunk's ``first_index`` skips the samples that never came;
nothing is filled in. :class:`PmdDataDecoder` routes the notifications of the data
characteristic to the decoder of their stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from biofeedback.core.signals import SIGNAL_STREAMS, SignalChunk
from sensors.ble.pmd.frames import parse_frame
from sensors.ble.pmd.placement import ChunkPlacer
from sensors.ble.pmd.protocol import MeasurementType, PmdMalformedError, measurement_name
from sensors.ble.pmd.timing import NS_PER_S, DeviceClockAligner, RateEstimator

STREAM_TYPES: Final = {"ecg": MeasurementType.ECG, "acc": MeasurementType.ACC}
"""The SignalChunk stream name of each PMD measurement type decoded."""
_DEFAULT_RESOLUTION: Final = {"ecg": 14, "acc": 16}

GAP_TOLERANCE: Final = 0.05
"""A timestamp step longer than the frame's samples at the measured rate by more than this
fraction (plus half a sample) is a gap: the rate is known to well under 5 % after two
frames, and the device timestamps jitter far less than a sample."""


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Samples a stream lost (frames that never arrived), found from the device timestamps.

    Attributes
    ----------
    stream : str
        ``"ecg"`` or ``"acc"``.
    first_index : int
        Index of the first missing sample.
    n_samples : int
        How many samples are missing (estimated from the measured rate).
    start_s : float
        Session time where the missing samples would have begun, s.
    duration_s : float
        How long the gap lasts, s.
    """

    stream: str
    first_index: int
    n_samples: int
    start_s: float
    duration_s: float


class PmdStreamDecoder:
    """Decodes one stream's data frames into SignalChunks on the session clock.

    Parameters
    ----------
    stream : str
        ``"ecg"`` or ``"acc"`` (:data:`STREAM_TYPES`).
    nominal_rate_hz : float
        The configured SAMPLE_RATE (130 for the H10's ECG), used until the rate is measured.
    aligner : DeviceClockAligner, optional
        The strap's device-clock mapping; a new one when not given.
    resolution_bits : int, optional
        The RESOLUTION setting (for delta frames' reference sample): 14 ECG, 16 ACC.
    """

    def __init__(
        self,
        stream: str,
        nominal_rate_hz: float,
        *,
        aligner: DeviceClockAligner | None = None,
        resolution_bits: int | None = None,
    ) -> None:
        if stream not in STREAM_TYPES:
            raise ValueError(f"unknown PMD stream {stream!r}; known: {sorted(STREAM_TYPES)}")
        self.stream = stream
        self.measurement_type = STREAM_TYPES[stream]
        self.unit = SIGNAL_STREAMS[stream][0]
        self.aligner = aligner if aligner is not None else DeviceClockAligner()
        self.resolution_bits = resolution_bits or _DEFAULT_RESOLUTION[stream]
        self.gaps: list[StreamGap] = []
        self._rate = RateEstimator(nominal_rate_hz)
        self._placer = ChunkPlacer()
        self._previous_ns: int | None = None
        self._next_index = 0

    @property
    def measured_rate_hz(self) -> float:
        """The stream's rate measured on the device clock, Hz (nominal before two frames)."""
        return self._rate.rate_hz

    @property
    def next_index(self) -> int:
        """Index the next sample will have (samples decoded plus samples lost)."""
        return self._next_index

    def feed(self, data: bytes | bytearray | memoryview, arrival_s: float) -> SignalChunk:
        """Decode one data frame.

        Parameters
        ----------
        data : bytes
            The notification value.
        arrival_s : float
            When it arrived, session s.

        Returns
        -------
        SignalChunk
            The frame's samples: ``t0_s`` the session time of its first sample, ``rate_hz``
            the rate they are placed at (on the session clock), ``first_index`` continuous
            unless samples were lost (then see :attr:`gaps`).

        Raises
        ------
        PmdMalformedError
            A frame that does not parse, of another stream, or whose timestamp is not after
            the previous frame's; the decoder's state is left as it was.
        """
        frame = parse_frame(data, resolution_bits=self.resolution_bits)
        if frame.measurement_type != self.measurement_type:
            raise PmdMalformedError(
                "data frame",
                0,
                f"a frame of {measurement_name(frame.measurement_type)} on the "
                f"{measurement_name(self.measurement_type)} stream",
            )
        n = int(frame.samples.shape[0])
        ts = frame.timestamp_ns
        previous = self._previous_ns
        if previous is not None and ts <= previous:
            raise PmdMalformedError(
                "data frame",
                1,
                f"timestamp {ts} ns is not after the previous frame's {previous} ns "
                "(the strap's clock went back: was it restarted?)",
            )
        rate = self._rate.rate_hz
        missing = 0
        if previous is not None:
            span_samples = (ts - previous) * rate / NS_PER_S
            if span_samples > n * (1 + GAP_TOLERANCE) + 0.5:
                missing = max(1, round(span_samples - n))
        self.aligner.observe(ts, arrival_s)
        if previous is None or missing:
            # Nothing joins this frame to the last: its samples go back from its timestamp.
            device_rate = rate
            first_ns = ts - round((n - 1) * NS_PER_S / rate)
        else:
            device_rate = n * NS_PER_S / (ts - previous)
            first_ns = previous + round((ts - previous) / n)
        session_rate = device_rate / (1.0 + self.aligner.fit.drift)
        t0 = self._placer.place(self.aligner.session_time_s(first_ns), n, session_rate,
                                after_gap=bool(missing))
        if previous is not None and missing:
            start = self.aligner.session_time_s(previous) + 1.0 / session_rate
            self.gaps.append(
                StreamGap(self.stream, self._next_index, missing, start, max(0.0, t0 - start))
            )
        self._rate.add(ts, n + missing)
        self._previous_ns = ts
        first_index = self._next_index + missing
        self._next_index = first_index + n
        return SignalChunk(self.stream, t0, session_rate, frame.samples, self.unit, first_index)


class PmdDataDecoder:
    """Routes PMD data notifications (ECG and ACC interleaved) to their stream's decoder.

    Parameters
    ----------
    rates_hz : mapping
        Stream name to its nominal rate for every stream started (``{"ecg": 130}``).
    aligner : DeviceClockAligner, optional
        Shared by every stream; a new one when not given.
    resolutions : mapping, optional
        Stream name to its RESOLUTION setting.
    """

    def __init__(
        self,
        rates_hz: Mapping[str, float],
        *,
        aligner: DeviceClockAligner | None = None,
        resolutions: Mapping[str, int] | None = None,
    ) -> None:
        self.aligner = aligner if aligner is not None else DeviceClockAligner()
        self.decoders = {
            stream: PmdStreamDecoder(
                stream, rate, aligner=self.aligner, resolution_bits=(resolutions or {}).get(stream)
            )
            for stream, rate in rates_hz.items()
        }
        self._by_type = {int(d.measurement_type): d for d in self.decoders.values()}

    def feed(self, data: bytes | bytearray | memoryview, arrival_s: float) -> SignalChunk:
        """Decode one notification with its stream's decoder (see
        :meth:`PmdStreamDecoder.feed`).

        Raises
        ------
        PmdMalformedError
            Also for a frame of a stream that was not started.
        """
        buf = bytes(data)
        code = buf[0] & 0x3F if buf else -1
        decoder = self._by_type.get(code)
        if decoder is None:
            if not buf:
                raise PmdMalformedError("data frame", 0, "empty notification")
            raise PmdMalformedError(
                "data frame",
                0,
                f"a frame of {measurement_name(code)}, but that stream was not started",
            )
        return decoder.feed(buf, arrival_s)


def all_gaps(decoder: PmdDataDecoder) -> list[StreamGap]:
    """Every stream's gaps, in session-time order."""
    return sorted((g for d in decoder.decoders.values() for g in d.gaps), key=lambda g: g.start_s)
