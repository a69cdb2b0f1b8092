"""Tell "strap not on the skin" without the contact bits, which a Polar H10 never sends.

The H10's flags say "contact not supported" (flags 0x10; polar-ble-sdk issue 470), so the
standard contact bit cannot say the strap is off. An unworn strap keeps the link for about
45 s and sends heart rate 0 without RR, after a few packets of implausible RR as the
electrodes dry (polar-ble-sdk issues 194, 312, 447; ``docs/straps.md``). A worn strap at
any heart rate from 20 to 300 bpm sends a plausible RR in at least one of three packets
sent about a second apart, so three packets in a row without one mean the strap is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

PLAUSIBLE_RR_MS: Final = (200.0, 3000.0)
"""RR a heart can make, ms (300 to 20 bpm): wider than artifact limits on purpose, only
an electrode off the skin produces values outside it."""
EMPTY_PACKETS_OFF_BODY: Final = 3
"""Packets in a row with heart rate 0 or no plausible RR that mean "off the body"."""

OFF_BODY_MESSAGE: Final = (
    "No heartbeat in the strap's data: strap not on the skin? Moisten the electrodes and "
    "tighten the strap"
)
ON_BODY_MESSAGE: Final = "Heartbeats from the strap again"


class OffBodyDetector:
    """Follows packets and says when the strap seems off the body, and back on.

    Attributes
    ----------
    off_body : bool
        The current verdict.
    """

    def __init__(self, empty_packets: int = EMPTY_PACKETS_OFF_BODY) -> None:
        if empty_packets < 1:
            raise ValueError(f"empty_packets must be at least 1, not {empty_packets}")
        self.empty_packets = empty_packets
        self.off_body = False
        self._empty_run = 0

    def push(self, heart_rate_bpm: float, rr_ms: Sequence[float]) -> bool | None:
        """Take one packet's heart rate (bpm) and RR (ms).

        Returns
        -------
        bool or None
            True when the strap has just been found off the body, False when it is back on,
            None when nothing changed.
        """
        low, high = PLAUSIBLE_RR_MS
        beating = heart_rate_bpm > 0 and any(low <= rr <= high for rr in rr_ms)
        if beating:
            self._empty_run = 0
            if self.off_body:
                self.off_body = False
                return False
            return None
        self._empty_run += 1
        if not self.off_body and self._empty_run >= self.empty_packets:
            self.off_body = True
            return True
        return None

    def reset(self) -> None:
        """A new connection: no verdict until packets come."""
        self.off_body = False
        self._empty_run = 0
