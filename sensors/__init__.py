"""Heart-rate sources behind :class:`biofeedback.core.source.HeartRateSource`.

:mod:`sensors.simulated` (a simulated chest strap with ground truth) and
:mod:`sensors.replay` (stored sessions and RR files played back).
"""
