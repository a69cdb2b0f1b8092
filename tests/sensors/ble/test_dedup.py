"""The de-duplication of N-fold notifications, on streams whose truth is known."""

from __future__ import annotations

import random

import pytest

from sensors.ble.dedup import NotificationDeduplicator


def deliver(packets: list[bytes], copies: list[int]) -> list[tuple[bytes, int]]:
    """What the client sees: packet ``i`` ``copies[i]`` times, back to back."""
    return [(p, i) for i, (p, n) in enumerate(zip(packets, copies, strict=True))
            for _ in range(n)]


def run(stream: list[tuple[bytes, int]], flush_at: set[int] = frozenset()) -> list[int]:
    dedup: NotificationDeduplicator[int] = NotificationDeduplicator()
    out: list[int] = []
    for k, (payload, index) in enumerate(stream):
        if k in flush_at:
            out += dedup.flush()
            dedup.reset()
        out += dedup.push(payload, index)
    return out + dedup.flush()


def packets_with_repeats(n: int, seed: int, repeat_every: int = 7) -> list[bytes]:
    """A stream where some packets genuinely repeat the one before (same HR and RR)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for i in range(n):
        if out and i % repeat_every == 0:
            out.append(out[-1])
            continue
        while True:
            packet = bytes([0x10, 60]) + rng.randrange(700, 1100).to_bytes(2, "little")
            if not out or packet != out[-1]:
                break
        out.append(packet)
    return out


@pytest.mark.parametrize("n_sessions", [1, 2, 3])
def test_each_packet_is_passed_once_in_order_whatever_the_number_of_sessions(n_sessions):
    packets = packets_with_repeats(300, seed=n_sessions)
    out = run(deliver(packets, [n_sessions] * len(packets)))
    assert out == list(range(len(packets)))


def test_a_single_stream_with_repeats_loses_nothing_and_is_delayed_at_most_two_packets():
    packets = packets_with_repeats(100, seed=5, repeat_every=3)
    dedup: NotificationDeduplicator[int] = NotificationDeduplicator()
    out: list[int] = []
    for i, p in enumerate(packets):
        out += dedup.push(p, i)
        assert len(out) >= i - 2
    out += dedup.flush()
    assert out == list(range(100)) and dedup.dropped == 0


def test_sessions_joining_and_leaving_mid_stream():
    packets = packets_with_repeats(400, seed=9, repeat_every=11)
    copies = [1] * 100 + [2] * 100 + [3] * 100 + [1] * 100
    dedup_out = run(deliver(packets, copies))
    # Right after a change a genuinely repeated packet can be mistaken once: no more.
    assert dedup_out == sorted(set(dedup_out))
    assert len(dedup_out) >= len(packets) - 3


def test_the_multiplicity_is_kept_across_a_reconnection_and_corrected():
    packets = packets_with_repeats(200, seed=2)
    stream = deliver(packets, [2] * 200)
    # Link losses between packets (never between two copies of one packet).
    flush_at = {k for k in range(1, len(stream)) if k % 2 == 0 and k % 37 < 2}
    assert run(stream, flush_at) == list(range(200))


def test_flush_without_evidence_keeps_everything():
    dedup: NotificationDeduplicator[int] = NotificationDeduplicator()
    a = b"\x10\x3c\x00\x04"
    assert dedup.push(a, 0) == [0]
    assert dedup.push(a, 1) == []  # held: a copy or a repeat?
    assert dedup.holding == 1
    assert dedup.flush() == [1]
    assert dedup.dropped == 0 and dedup.multiplicity == 1
