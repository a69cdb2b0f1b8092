"""The audio guidance's defaults and limits, without importing any of its machinery (the
command line and the window read them at start-up)."""

from __future__ import annotations

DEFAULT_RATE_WPM = 150
"""Speech rate, words/min: unhurried guidance (espeak-ng's own default is 175)."""

MIN_RATE_WPM, MAX_RATE_WPM = 80, 450
"""Rates the engines accept, words/min."""

DEFAULT_SAMPLE_RATE = 48_000
"""Frames per second of the audio program (what sound cards run at)."""
