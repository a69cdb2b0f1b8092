"""Plain types and interfaces shared by every layer (no Qt, no I/O).

:mod:`~biofeedback.core.types` (beats, gaps, markers, phases, status changes),
:mod:`~biofeedback.core.source` (the :class:`HeartRateSource` interface),
:mod:`~biofeedback.core.beat_clock` (beat times from cumulative RR),
:mod:`~biofeedback.core.clock` (the calendar read once, a monotonic clock for intervals),
:mod:`~biofeedback.core.recording` (a whole recording as arrays),
:mod:`~biofeedback.core.breathing` (breathing rate from the RR spectrum),
:mod:`~biofeedback.core.errors` (errors written for the user).
"""
