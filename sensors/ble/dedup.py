"""Drop the copies of a notification that BlueZ sends once per stale StartNotify session.

BlueZ keeps every client's StartNotify session across a link loss and re-arms it on
reconnection; each notification then reaches the bus once per live session (bluez
``src/gatt-client.c`` ``notify_cb``; bleak issue 2002), so a client left subscribed by a
crashed or unfinished program makes this one see every packet two or more times, back to
back. A Heart Rate Measurement has no sequence number, and a strap can send two identical
packets in a row (same heart rate, same RR to the 1/1024 s), so a copy cannot be told from
its content or, after the event loop stalled, from its arrival time. What gives copies away
is their *multiplicity*: with N sessions every packet comes in a run of N identical ones (a
genuinely repeated packet in a run of 2N). This module learns N from the run lengths.

The first packet of a run is always passed on at once, and the next N - 1 identical ones
are dropped. One more identical packet is ambiguous (a repeated packet, or one session
more): it is held, with what follows, until the next run of one packet (then N = 1) or
until two runs have closed (then N is the shorter length), and the holdings are released
accordingly. A stream without copies is therefore delayed by a packet or two only after a
(rare) repeated packet; a doubled stream stores nothing twice from its first packet on.
Only packets with RR intervals need this (``sensors/ble/strap.py``): an unworn strap sends
the same empty packet for as long as it is off the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class _Run(Generic[Item]):
    """Identical notifications in a row."""

    payload: bytes
    items: list[Item] = field(default_factory=list)
    handled: int = 0
    """How many of ``items`` (from the front) were already passed on or dropped."""


class NotificationDeduplicator(Generic[Item]):
    """Collapses the N-fold delivery of each notification to one.

    Items are whatever the caller keeps per notification (e.g. ``(received_s, data)``);
    only their payloads are compared. At the end of a connection call :meth:`flush`, then
    :meth:`reset`; the learned multiplicity is kept as the best guess for the next
    connection (stale sessions outlive link losses) and corrected by its first runs.

    Attributes
    ----------
    multiplicity : int
        The number of copies of each notification currently seen (1 normally).
    dropped : int
        Copies dropped so far.
    """

    def __init__(self) -> None:
        self.multiplicity = 1
        self.dropped = 0
        self._run: _Run[Item] | None = None
        self._held: list[_Run[Item]] = []
        """Runs awaiting a decision on the multiplicity; the last one is ``_run``."""

    @property
    def holding(self) -> int:
        """Notifications held back for a decision."""
        return sum(len(r.items) - r.handled for r in self._held)

    def push(self, payload: bytes, item: Item) -> list[Item]:
        """Take one notification; return the items to pass on now, in arrival order."""
        run = self._run
        if run is not None and payload == run.payload:
            run.items.append(item)
            if self._held:
                return []
            position = len(run.items) - 1
            if position < self.multiplicity:
                run.handled = len(run.items)
                self.dropped += 1
                return []  # one of the N copies
            # Longer than N copies: a genuinely repeated packet, or one more session?
            self._held = [run]
            return []
        out: list[Item] = []
        if run is not None:
            out = self._closed(run)
        self._run = _Run(payload, [item])
        if self._held:
            self._held.append(self._run)
            return out
        self._run.handled = 1
        return [*out, item]

    def _closed(self, run: _Run[Item]) -> list[Item]:
        """A run ended: learn from its length, and settle what is held when possible."""
        if not self._held:
            if len(run.items) < self.multiplicity:
                self.multiplicity = len(run.items)  # a session went away
            return []
        if len(run.items) == 1 or len(self._held) >= 2:
            return self._settle()
        return []

    def _settle(self) -> list[Item]:
        """Set the multiplicity from the held runs and release their genuine items."""
        lengths = [len(r.items) for r in self._held]
        if min(lengths) == 1:
            n = 1  # a notification without copies: a single session now
        elif len(lengths) >= 2:
            n = min(lengths)
        else:  # one run to judge by (the link ended): trust the multiplicity known so far
            n = self.multiplicity if lengths[0] % self.multiplicity == 0 else 1
        out: list[Item] = []
        for r in self._held:
            for k in range(r.handled, len(r.items)):
                if k % n == 0:
                    out.append(r.items[k])
                else:
                    self.dropped += 1
            r.handled = len(r.items)
        self.multiplicity = n
        self._held = []
        return out

    def flush(self) -> list[Item]:
        """The link ended: settle whatever is held with what is known (with one run to
        judge by, only the multiplicity already learned counts as copies)."""
        return self._settle() if self._held else []

    def reset(self) -> None:
        """A new connection: forget the runs (call :meth:`flush` first)."""
        self._run = None
        self._held = []
