"""Polar PMD (Polar Measurement Data): the H10's raw ECG and accelerometer, Qt- and bleak-free.

:mod:`~sensors.ble.pmd.protocol` (UUIDs, measurement types, settings, control-point commands
and responses, errors), :mod:`~sensors.ble.pmd.frames` (data frames: ECG, ACC, delta frames),
:mod:`~sensors.ble.pmd.timing` (per-sample device times, the measured rate, the device clock
mapped to the session clock), :mod:`~sensors.ble.pmd.stream` (:class:`PmdStreamDecoder`:
frames in, :class:`~biofeedback.core.signals.SignalChunk` out). Pure functions and plain
types: the strap source decodes with them, the virtual strap encodes with them.
"""
