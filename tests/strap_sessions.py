"""Test helpers: live sessions on the Bluetooth strap source against the virtual strap, and
what the strap's packet log says the app should have stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dbus_fast import MessageType
from dbus_recorder import DBusRecorder, heart_rate_path

from biofeedback.session.live_session import LiveSession
from biofeedback.store import SessionStore
from sensors.ble import BleHeartRateStrap
from sensors.ble.gatt import rr_raw_to_ms


def delivered_rr_ms(packets: Iterable[dict[str, Any]], *, ignore: Iterable[str] = ()) -> \
        list[float]:
    """RR of every packet delivered to the app, each packet once however many copies it
    had; packets that reached only the sessions in ``ignore`` (another client) are left out."""
    others = set(ignore)
    return [
        rr_raw_to_ms(r) for p in packets
        if p.get("delivered") and set(p.get("to", ["app"])) - others
        for r in p["rr_raw"]
    ]


@dataclass
class PacketMatch:
    """The stored RR walked against the strap's packet log.

    Attributes
    ----------
    heard : list of bool
        Per packet record: whether its RR are in the store.
    mismatch : int or None
        First stored beat that differs from what the strap sent (None: none).
    expected : int
        Beats the app should have stored (delivered to it, each packet once).
    """

    heard: list[bool]
    mismatch: int | None
    expected: int


def match_packets(stored_rr_ms: Sequence[float], packets: Iterable[dict[str, Any]], *,
                  ignore: Iterable[str] = ()) -> PacketMatch:
    """Walk the stored RR against the packets, each packet once however many copies it had.

    A packet sent for the app's own subscription must be in the store. One sent only for
    the subscriptions in ``ignore`` (another client) may or may not be: BlueZ signals go to
    every listener, so the app hears them too once its callback is in place, a moment
    before its own StartNotify comes back after a reconnection.
    """
    others = set(ignore)
    stored = list(stored_rr_ms)
    pos, mismatch, heard = 0, None, []
    for p in packets:
        rr = [rr_raw_to_ms(r) for r in p["rr_raw"]]
        if not p.get("delivered"):
            heard.append(False)
            continue
        fits = stored[pos:pos + len(rr)] == rr
        if set(p.get("to", ["app"])) - others:
            if not fits and mismatch is None and pos + len(rr) <= len(stored):
                mismatch = pos
            heard.append(True)
            pos += len(rr)
        elif rr and fits:
            heard.append(True)
            pos += len(rr)
        else:
            heard.append(False)
    return PacketMatch(heard, mismatch, pos)


def run_session(
    store: SessionStore | None,
    strap: BleHeartRateStrap,
    *,
    stop_when: Callable[[object, LiveSession], bool],
    timeout_s: float = 60.0,
) -> LiveSession:
    """Run a live session on ``strap`` until ``stop_when(event, session)`` says so."""
    session = LiveSession(strap, store=store, neurokit=False)

    def listen(event: object) -> None:
        if stop_when(event, session):
            session.request_stop()

    session.subscribe(listen)
    asyncio.run(asyncio.wait_for(session.run(), timeout_s))
    return session


def rr_seconds(session: LiveSession) -> float:
    """Seconds of beats the session has received."""
    st = session.stats
    return 0.0 if st.last_beat_s is None else st.last_beat_s - (st.first_beat_s or 0.0)


class StaleSubscriber:
    """Another D-Bus client subscribed to the strap's heart rate that never lets go, like
    a program that crashed or never called ``disconnect()`` (bleak issue 2002): BlueZ keeps
    its session across link losses and sends it every notification too."""

    def __init__(self, bus_address: str, strap_address: str) -> None:
        self._recorder = DBusRecorder(bus_address)
        self._char = heart_rate_path(strap_address)
        self.name = ""

    async def subscribe(self) -> None:
        """Join the bus and call StartNotify (the app is connected: objects exported)."""
        await self._recorder.__aenter__()
        self.name = self._recorder.unique_name
        reply = await self._recorder.call(self._char, "org.bluez.GattCharacteristic1",
                                          "StartNotify")
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body

    async def leave(self) -> None:
        """Leave the bus (its session ends)."""
        await self._recorder.__aexit__(None, None, None)
