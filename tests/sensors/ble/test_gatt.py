"""Heart Rate Measurement and the other GATT values: every flag combination, every refusal,
round trips, and a fuzz run that may only ever parse or raise MalformedMeasurementError."""

from __future__ import annotations

import itertools
import random
import struct
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors.ble.gatt import (
    BODY_SENSOR_LOCATIONS,
    HeartRateMeasurement,
    MalformedMeasurementError,
    build_heart_rate_measurement,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_utf8_string,
    rr_ms_to_raw,
    rr_raw_to_ms,
)

# Contact states: (flag bits, expected sensor_contact).
CONTACT_STATES = {
    "not supported": (0x00, None),
    "supported, not detected": (0x04, False),
    "supported, detected": (0x06, True),
}

# Raw RR lists used in the flag matrix: none, then 1..9 values (9 = the 23-byte-MTU maximum).
RR_CASES = [(), *[tuple(600 + 37 * i for i in range(n)) for n in range(1, 10)]]


def hand_packet(
    hr: int, contact_bits: int, energy: int | None, rr_raw: tuple[int, ...], wide: bool
) -> bytes:
    """Build a packet by hand with struct (independent of build_heart_rate_measurement)."""
    flags = contact_bits | (0x01 if wide else 0) | (0x08 if energy is not None else 0)
    flags |= 0x10 if rr_raw else 0
    out = struct.pack("<B", flags)
    out += struct.pack("<H" if wide else "<B", hr)
    if energy is not None:
        out += struct.pack("<H", energy)
    out += struct.pack(f"<{len(rr_raw)}H", *rr_raw)
    return out


# ---------------------------------------------------------------------------------------------
# Every flag combination


@pytest.mark.parametrize("rr_raw", RR_CASES, ids=lambda rr: f"rr{len(rr)}")
@pytest.mark.parametrize("energy", [None, 1234], ids=["no-energy", "energy"])
@pytest.mark.parametrize("contact", list(CONTACT_STATES))
@pytest.mark.parametrize("wide", [False, True], ids=["hr8", "hr16"])
def test_every_flag_combination(wide, contact, energy, rr_raw):
    contact_bits, expected_contact = CONTACT_STATES[contact]
    hr = 300 if wide else 172
    packet = hand_packet(hr, contact_bits, energy, rr_raw, wide)
    m = parse_heart_rate_measurement(packet)
    assert isinstance(m, HeartRateMeasurement)
    assert m.heart_rate_bpm == hr
    assert m.sensor_contact is expected_contact
    assert m.energy_expended_kj == energy
    assert m.rr_intervals_ms == tuple(raw * 1000 / 1024 for raw in rr_raw)
    assert len(m.rr_intervals_ms) == len(rr_raw)
    # The encoder produces the very same bytes for the same fields.
    assert (
        build_heart_rate_measurement(
            hr,
            rr_raw,
            sensor_contact=expected_contact,
            energy_expended_kj=energy,
            uint16_heart_rate=wide,
        )
        == packet
    )


def test_nine_rr_values_fit_a_23_byte_mtu():
    packet = hand_packet(60, 0x06, None, RR_CASES[9], wide=False)
    assert len(packet) == 20  # ATT MTU 23 - 3-byte notification header
    assert len(parse_heart_rate_measurement(packet).rr_intervals_ms) == 9


@pytest.mark.parametrize(
    ("hex_bytes", "hr", "rr", "contact", "energy"),
    [
        ("10 3c 00 04", 60, (1000.0,), None, None),
        ("00 48", 72, (), None, None),
        ("06 50", 80, (), True, None),
        ("04 50", 80, (), False, None),
        ("16 40 00 04 00 02", 64, (1000.0, 500.0), True, None),
        ("01 2c 01", 300, (), None, None),
        ("19 2c 01 e8 03 ff 03", 300, (999.0234375,), None, 1000),
        ("1e 3c 10 00 00 04", 60, (1000.0,), True, 16),
        ("10 3c ff ff", 60, (65535 * 1000 / 1024,), None, None),
        ("10 3c 00 00", 60, (0.0,), None, None),
        # Garmin HRM-Dual sample reported on the Garmin developer forum (flags 0x10, two RR).
        ("10 38 2d 04 35 00", 56, (1069 * 1000 / 1024, 53 * 1000 / 1024), None, None),
    ],
)
def test_known_byte_strings(hex_bytes, hr, rr, contact, energy):
    m = parse_heart_rate_measurement(bytes.fromhex(hex_bytes))
    assert m == HeartRateMeasurement(hr, rr, contact, energy)


def test_accepts_bytearray_and_memoryview():
    raw = bytes.fromhex("10 3c 00 04")
    expected = HeartRateMeasurement(60, (1000.0,), None, None)
    assert parse_heart_rate_measurement(bytearray(raw)) == expected
    assert parse_heart_rate_measurement(memoryview(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "ms"),
    [(0, 0.0), (1, 0.9765625), (1023, 999.0234375), (1024, 1000.0), (1025, 1000.9765625)],
)
def test_rr_is_exactly_raw_times_1000_over_1024(raw, ms):
    assert rr_raw_to_ms(raw) == ms
    m = parse_heart_rate_measurement(bytes([0x10, 60]) + raw.to_bytes(2, "little"))
    assert m.rr_intervals_ms == (ms,)


def test_rr_1023_is_not_rounded_up():
    (rr,) = parse_heart_rate_measurement(bytes.fromhex("10 3c ff 03")).rr_intervals_ms
    assert rr == 999.0234375
    assert rr < 1000.0


def test_contact_detected_bit_without_supported_bit_means_unknown():
    m = parse_heart_rate_measurement(bytes([0x02, 70]))
    assert m.sensor_contact is None
    m = parse_heart_rate_measurement(bytes([0x12, 70, 0x00, 0x04]))
    assert m.sensor_contact is None and m.rr_intervals_ms == (1000.0,)


def test_heart_rate_zero_is_parsed_not_refused():
    # Straps send HR 0 while they search for a signal; the parser reports it, callers decide.
    assert parse_heart_rate_measurement(bytes([0x04, 0])).heart_rate_bpm == 0


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    ("packet", "words"),
    [
        (b"", "empty"),
        (bytes([0x00]), "8-bit heart rate"),
        (bytes([0x16]), "8-bit heart rate"),
        (bytes([0x01]), "16-bit heart rate"),
        (bytes([0x01, 0x3C]), "16-bit heart rate"),
        (bytes([0x08, 0x3C]), "energy expended"),
        (bytes([0x08, 0x3C, 0x10]), "energy expended"),
        (bytes([0x09, 0x3C, 0x00, 0x10]), "energy expended"),
        (bytes([0x10, 0x3C]), "RR intervals flagged but none"),
        (bytes([0x18, 0x3C, 0x10, 0x00]), "RR intervals flagged but none"),
        (bytes([0x10, 0x3C, 0x00]), "odd RR tail"),
        (bytes([0x10, 0x3C, 0x00, 0x04, 0x00]), "odd RR tail"),
        (bytes([0x20, 0x3C]), "reserved flag bits"),
        (bytes([0x40, 0x3C]), "reserved flag bits"),
        (bytes([0x80, 0x3C]), "reserved flag bits"),
        (bytes([0xFF, 0x3C, 0x00]), "reserved flag bits"),
        (bytes([0x00, 0x3C, 0x00]), "no RR intervals flagged"),
        (bytes([0x06, 0x3C, 0x00, 0x04]), "no RR intervals flagged"),
        (bytes([0x08, 0x3C, 0x00, 0x00, 0x00]), "no RR intervals flagged"),
    ],
    ids=[
        "empty",
        "flags-only-hr8",
        "flags-only-rr-contact",
        "flags-only-hr16",
        "hr16-one-byte",
        "energy-missing",
        "energy-one-byte",
        "energy-one-byte-hr16",
        "rr-flagged-none",
        "rr-flagged-none-after-energy",
        "odd-rr-tail-1",
        "odd-rr-tail-3",
        "reserved-bit5",
        "reserved-bit6",
        "reserved-bit7",
        "reserved-all",
        "trailing-1",
        "trailing-2",
        "trailing-after-energy",
    ],
)
def test_malformed_packets_are_refused_with_a_reason(packet, words):
    with pytest.raises(MalformedMeasurementError, match=words):
        parse_heart_rate_measurement(packet)


def test_malformed_measurement_error_is_a_value_error():
    assert issubclass(MalformedMeasurementError, ValueError)
    with pytest.raises(ValueError, match="empty"):
        parse_heart_rate_measurement(b"")


@pytest.mark.parametrize("bit", [5, 6, 7])
def test_each_reserved_bit_alone_is_refused_even_in_a_valid_packet(bit):
    valid = bytes.fromhex("16 40 00 04")
    parse_heart_rate_measurement(valid)
    tampered = bytes([valid[0] | (1 << bit)]) + valid[1:]
    with pytest.raises(MalformedMeasurementError, match=f"0x{tampered[0]:02x}"):
        parse_heart_rate_measurement(tampered)


def test_rr_ms_to_raw_refuses_values_outside_the_field():
    with pytest.raises(ValueError, match="16-bit"):
        rr_ms_to_raw(-1.0)
    with pytest.raises(ValueError, match="16-bit"):
        rr_ms_to_raw(rr_raw_to_ms(0x10000))
    assert rr_ms_to_raw(rr_raw_to_ms(0xFFFF)) == 0xFFFF


def test_rr_ms_to_raw_rounds_to_nearest_unit():
    assert rr_ms_to_raw(1000.0) == 1024
    assert rr_ms_to_raw(999.5) == 1023  # 1023.49 units
    assert rr_ms_to_raw(812.0) == 831  # 831.49 units


# ---------------------------------------------------------------------------------------------
# Property-based round trips

CONTACTS = st.sampled_from([None, False, True])


@given(
    hr=st.integers(0, 0xFFFF),
    contact=CONTACTS,
    energy=st.none() | st.integers(0, 0xFFFF),
    rr_raw=st.lists(st.integers(0, 0xFFFF), max_size=9),
    uint16=st.booleans(),
)
def test_parse_inverts_build(hr, contact, energy, rr_raw, uint16):
    packet = build_heart_rate_measurement(
        hr, rr_raw, sensor_contact=contact, energy_expended_kj=energy, uint16_heart_rate=uint16
    )
    m = parse_heart_rate_measurement(packet)
    assert m.heart_rate_bpm == hr
    assert m.sensor_contact is contact
    assert m.energy_expended_kj == energy
    assert m.rr_intervals_ms == tuple(raw * 1000 / 1024 for raw in rr_raw)
    wide = uint16 or hr > 0xFF
    assert len(packet) == 1 + (2 if wide else 1) + (2 if energy is not None else 0) + 2 * len(
        rr_raw
    )


@given(st.integers(0, 0xFFFF))
def test_rr_raw_ms_round_trip(raw):
    assert rr_ms_to_raw(rr_raw_to_ms(raw)) == raw


@given(st.floats(0.0, 63999.0, allow_nan=False))
def test_rr_ms_to_raw_is_within_half_a_unit(ms):
    raw = rr_ms_to_raw(ms)
    assert abs(rr_raw_to_ms(raw) - ms) <= 1000 / 1024 / 2 + 1e-9


# ---------------------------------------------------------------------------------------------
# Fuzz

FUZZ_RANDOM = 60_000  # any bytes: 7 in 8 have a reserved flag bit set
FUZZ_DEFINED_FLAGS = 20_000  # flags byte limited to defined bits, so the body gets read
FUZZ_MUTATED = 20_000  # valid packets with bit flips, truncation, insertion...


def _valid_packets(rng: random.Random) -> list[bytes]:
    packets = []
    for wide, contact, energy, n_rr in itertools.product(
        (False, True), (None, False, True), (None, 500), range(10)
    ):
        rr = [rng.randrange(0x10000) for _ in range(n_rr)]
        hr = rng.randrange(0x10000 if wide else 0x100)
        packets.append(
            build_heart_rate_measurement(
                hr, rr, sensor_contact=contact, energy_expended_kj=energy, uint16_heart_rate=wide
            )
        )
    return packets


def _mutate(rng: random.Random, packet: bytes) -> bytes:
    buf = bytearray(packet)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        if op == 0 and buf:  # flip one bit anywhere (including reserved flag bits)
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncate
            del buf[rng.randrange(len(buf) + 1) :]
        elif op == 2:  # append random bytes
            buf += rng.randbytes(rng.randint(1, 3))
        elif op == 3 and buf:  # delete one byte
            del buf[rng.randrange(len(buf))]
        elif op == 4 and buf:  # replace the flags byte
            buf[0] = rng.randrange(256)
        elif op == 5:  # insert a byte
            buf.insert(rng.randrange(len(buf) + 1), rng.randrange(256))
    return bytes(buf)


def _check_sane(m: HeartRateMeasurement, packet: bytes) -> None:
    assert isinstance(m, HeartRateMeasurement)
    assert type(m.heart_rate_bpm) is int and 0 <= m.heart_rate_bpm <= 0xFFFF
    assert type(m.rr_intervals_ms) is tuple
    assert all(type(rr) is float and 0.0 <= rr <= 65535 * 1000 / 1024 for rr in m.rr_intervals_ms)
    assert m.sensor_contact is None or type(m.sensor_contact) is bool
    assert m.energy_expended_kj is None or (
        type(m.energy_expended_kj) is int and 0 <= m.energy_expended_kj <= 0xFFFF
    )
    # Every byte is accounted for: flags + HR + energy + 2 per RR.
    hr_len = 2 if packet[0] & 0x01 else 1
    energy_len = 2 if m.energy_expended_kj is not None else 0
    assert len(packet) == 1 + hr_len + energy_len + 2 * len(m.rr_intervals_ms)


def test_fuzz_parses_or_refuses_and_nothing_else():
    rng = random.Random(20240601)
    valid = _valid_packets(rng)
    packets = [rng.randbytes(rng.randint(0, 30)) for _ in range(FUZZ_RANDOM)]
    packets += [
        bytes([rng.randrange(0x20)]) + rng.randbytes(rng.randint(0, 29))
        for _ in range(FUZZ_DEFINED_FLAGS)
    ]
    packets += [_mutate(rng, rng.choice(valid)) for _ in range(FUZZ_MUTATED)]
    parsed = refused = 0
    start = time.perf_counter()
    for packet in packets:
        try:
            m = parse_heart_rate_measurement(packet)
        except MalformedMeasurementError as exc:
            assert str(exc)
            refused += 1
        else:
            _check_sane(m, packet)
            parsed += 1
    elapsed = time.perf_counter() - start
    assert parsed + refused == FUZZ_RANDOM + FUZZ_DEFINED_FLAGS + FUZZ_MUTATED == 100_000
    assert parsed > 1000 and refused > 1000, (parsed, refused)
    print(f"fuzz: {parsed} parsed, {refused} refused in {elapsed:.2f} s")


# ---------------------------------------------------------------------------------------------
# Body Sensor Location, Battery Level, Device Information


@pytest.mark.parametrize(
    ("code", "name"),
    [(0, "other"), (1, "chest"), (2, "wrist"), (3, "finger"), (4, "hand"), (5, "ear lobe"),
     (6, "foot")],
)  # fmt: skip
def test_body_sensor_location_codes(code, name):
    assert parse_body_sensor_location(bytes([code])) == name
    assert BODY_SENSOR_LOCATIONS[code] == name


def test_body_sensor_location_table_is_complete():
    assert sorted(BODY_SENSOR_LOCATIONS) == list(range(7))


@pytest.mark.parametrize("code", [7, 8, 200, 255])
def test_body_sensor_location_reserved(code):
    assert parse_body_sensor_location(bytes([code])) == f"reserved ({code})"


@pytest.mark.parametrize("value", [b"", b"\x01\x00"])
def test_body_sensor_location_wrong_length(value):
    with pytest.raises(MalformedMeasurementError, match=f"1 byte, got {len(value)}"):
        parse_body_sensor_location(value)


@pytest.mark.parametrize("level", [0, 1, 57, 100])
def test_battery_level(level):
    assert parse_battery_level(bytes([level])) == level
    assert parse_battery_level(bytearray([level])) == level


@pytest.mark.parametrize("level", [101, 255])
def test_battery_level_above_100_refused(level):
    with pytest.raises(MalformedMeasurementError, match=f"{level} % is above 100"):
        parse_battery_level(bytes([level]))


@pytest.mark.parametrize("value", [b"", b"\x64\x00"])
def test_battery_level_wrong_length(value):
    with pytest.raises(MalformedMeasurementError, match=f"1 byte, got {len(value)}"):
        parse_battery_level(value)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"Polar H10", "Polar H10"),
        (b"H10\x00\x00\x00\x00", "H10"),
        (b"3.1.1\x00", "3.1.1"),
        (b" HRM-Pro \x00", "HRM-Pro"),
        ("Décathlon".encode(), "Décathlon"),
        (b"HRM\xff\xfe", "HRM\ufffd\ufffd"),
        (b"\xc3", "\ufffd"),
        (b"", ""),
        (b"\x00\x00", ""),
        (bytearray(b"TICKR\x00"), "TICKR"),
        (b"abc\x00junk", "abc"),
        (b"abc\x00 ", "abc"),
    ],
)
def test_device_information_strings(raw, text):
    assert parse_utf8_string(raw) == text
