"""Polar PMD (Polar Measurement Data): the H10's raw ECG and accelerometer, Qt- and bleak-free.

:mod:`~sensors.ble.pmd.protocol` (UUIDs, measurement types, settings, control-point commands
and responses, errors), :mod:`~sensors.ble.pmd.frames` (data frames: ECG, ACC, delta frames),
:mod:`~sensors.ble.pmd.timing` (per-sample device times, the measured rate, the device clock
mapped to the session clock), :mod:`~sensors.ble.pmd.placement` (a stream's chunks
continuous on the session clock), :mod:`~sensors.ble.pmd.stream` (:class:`PmdStreamDecoder`:
frames in, :class:`~biofeedback.core.signals.SignalChunk` out). Pure functions and plain
types: the strap source decodes with them, the virtual strap encodes with them.
"""

from sensors.ble.pmd.frames import (
    PmdFrame,
    build_acc_frame,
    build_delta_frame,
    build_ecg_frame,
    parse_frame,
    samples_per_frame,
)
from sensors.ble.pmd.placement import ChunkPlacer
from sensors.ble.pmd.protocol import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    ControlPointCommand,
    ControlPointOp,
    ControlPointResponse,
    MeasurementStopped,
    MeasurementType,
    PmdError,
    PmdMalformedError,
    PmdNotPairedError,
    PmdRefusedError,
    ResponseAssembler,
    ResponseStatus,
    SettingType,
    build_features,
    build_get_settings,
    build_measurement_stopped,
    build_response,
    build_start,
    build_stop,
    parse_command,
    parse_features,
    parse_indication,
    split_response,
)
from sensors.ble.pmd.stream import PmdDataDecoder, PmdStreamDecoder, StreamGap
from sensors.ble.pmd.timing import DeviceClockAligner, RateEstimator, sample_times_ns

__all__ = [
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "ChunkPlacer",
    "ControlPointCommand",
    "ControlPointOp",
    "ControlPointResponse",
    "DeviceClockAligner",
    "MeasurementStopped",
    "MeasurementType",
    "PmdDataDecoder",
    "PmdError",
    "PmdFrame",
    "PmdMalformedError",
    "PmdNotPairedError",
    "PmdRefusedError",
    "PmdStreamDecoder",
    "RateEstimator",
    "ResponseAssembler",
    "ResponseStatus",
    "SettingType",
    "StreamGap",
    "build_acc_frame",
    "build_delta_frame",
    "build_ecg_frame",
    "build_features",
    "build_get_settings",
    "build_measurement_stopped",
    "build_response",
    "build_start",
    "build_stop",
    "parse_command",
    "parse_features",
    "parse_frame",
    "parse_indication",
    "sample_times_ns",
    "samples_per_frame",
    "split_response",
]
