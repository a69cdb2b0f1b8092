"""Lab Streaming Layer: publish a live session's streams and take markers from other programs.

pylsl (which loads the liblsl C library) is imported only when a stream is opened.
"""

from biofeedback.lsl.streams import (
    LSL_EXTRA_KEY,
    LslMarkerInlet,
    LslPublisher,
    LslStreamNotFoundError,
    lsl_time_offset,
)

__all__ = [
    "LSL_EXTRA_KEY",
    "LslMarkerInlet",
    "LslPublisher",
    "LslStreamNotFoundError",
    "lsl_time_offset",
]
