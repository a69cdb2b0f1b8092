"""Polar PMD: the canonical command bytes, every response status, multi-part responses, ECG
and ACC frames built byte by byte, delta frames, malformed input naming its byte offset,
per-sample timestamps, the measured rate and the device clock mapped to the session clock."""

from __future__ import annotations

import itertools
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biofeedback.core.errors import BiofeedbackError
from sensors.ble.pmd.frames import (
    build_acc_frame,
    build_delta_frame,
    build_ecg_frame,
    parse_frame,
    samples_per_frame,
)
from sensors.ble.pmd.protocol import (
    H10_ECG_SETTINGS,
    STATUS_SENTENCES,
    ControlPointOp,
    MeasurementStopped,
    MeasurementType,
    PmdMalformedError,
    PmdNotPairedError,
    PmdRefusedError,
    ResponseAssembler,
    ResponseStatus,
    SettingType,
    build_features,
    build_get_settings,
    build_measurement_stopped,
    build_response,
    build_settings,
    build_start,
    build_stop,
    h10_acc_settings,
    looks_like_not_paired,
    parse_command,
    parse_features,
    parse_indication,
    parse_response,
    parse_settings,
    split_response,
)
from sensors.ble.pmd.stream import PmdDataDecoder, PmdStreamDecoder
from sensors.ble.pmd.timing import RateEstimator, sample_times_ns

ECG = MeasurementType.ECG
ACC = MeasurementType.ACC
TS = 599_616_000_000_000_000 + 123_456_789  # device time after a reset to 2019, ns since 2000


# ---------------------------------------------------------------------------------------------
# Commands


def test_canonical_command_bytes():
    assert build_get_settings(ECG) == bytes.fromhex("0100")
    assert build_get_settings(ACC) == bytes.fromhex("0102")
    assert build_start(ECG, H10_ECG_SETTINGS) == bytes.fromhex("0200 00018200 01010E00")
    assert build_start(ACC, h10_acc_settings(200, 8)) == bytes.fromhex(
        "0202 0001C800 01011000 02010800"
    )
    assert build_stop(ECG) == bytes.fromhex("0300")
    assert build_stop(ACC) == bytes.fromhex("0302")


def test_start_settings_come_out_in_type_order_whatever_the_mapping_order():
    shuffled = {SettingType.RANGE: 8, SettingType.SAMPLE_RATE: 200, SettingType.RESOLUTION: 16}
    assert build_start(ACC, shuffled) == build_start(ACC, h10_acc_settings(200, 8))


def test_commands_decode_back():
    command = parse_command(build_start(ACC, h10_acc_settings(50, 4)))
    assert (command.op, command.measurement_type, command.recording_type) == (2, 2, 0)
    assert command.settings == {
        SettingType.SAMPLE_RATE: (50,), SettingType.RESOLUTION: (16,), SettingType.RANGE: (4,)
    }
    stop = parse_command(build_stop(ECG))
    assert (stop.op, stop.measurement_type, stop.settings) == (3, 0, {})
    offline = parse_command(build_get_settings(ECG, recording_type=1))
    assert (offline.measurement_type, offline.recording_type) == (0, 1)


def test_malformed_command_names_the_offset():
    with pytest.raises(PmdMalformedError, match="at byte 1"):
        parse_command(b"\x02")
    with pytest.raises(PmdMalformedError, match=r"at byte 4: SAMPLE_RATE announces 1 value"):
        parse_command(bytes.fromhex("0200 000182"))


def test_setting_values_out_of_range_are_refused_when_encoding():
    with pytest.raises(ValueError, match="SAMPLE_RATE value 70000 does not fit 2 byte"):
        build_start(ECG, {SettingType.SAMPLE_RATE: 70000})


# ---------------------------------------------------------------------------------------------
# Feature read, settings


def test_feature_read_of_an_h10():
    assert parse_features(bytes.fromhex("0F0500")) == {ECG, ACC}
    assert build_features([ECG, ACC]) == bytes.fromhex("0F0500")
    everything = parse_features(bytes.fromhex("0FEF7E"))
    assert MeasurementType.SKIN_TEMPERATURE in everything
    assert MeasurementType.OFFLINE_HR in everything
    assert MeasurementType.SDK_MODE in everything


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"", "at byte 0: expected 0x0F, got nothing"), (b"\x01\x05\x00", "got 0x01"),
     (b"\x0f\x05", "at byte 2")],
)
def test_malformed_feature_reads(data, match):
    with pytest.raises(PmdMalformedError, match=match):
        parse_features(data)


def test_get_settings_response_of_an_h10_acc():
    params = bytes.fromhex("00 04 1900 3200 6400 C800 01 01 1000 02 03 0200 0400 0800")
    response = parse_response(bytes.fromhex("F0 01 02 00 00") + params)
    assert response.ok and not response.more
    assert response.settings() == {
        SettingType.SAMPLE_RATE: (25, 50, 100, 200),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2, 4, 8),
    }
    assert build_settings(response.settings()) == params


def test_settings_with_a_factor_and_every_size():
    settings = {
        SettingType.SAMPLE_RATE: (130,),
        SettingType.RANGE_MILLIUNIT: (2_000_000,),
        SettingType.CHANNELS: (3,),
        SettingType.FACTOR: (0.5,),
        SettingType.SECURITY: (0x0102030405060708090A0B0C0D0E0F10,),
    }
    assert parse_settings(build_settings(settings)) == settings


def test_malformed_settings_name_the_byte_of_the_indication():
    bad_type = parse_response(bytes.fromhex("F0 01 00 00 00 00 01 8200 09 01 00"))
    with pytest.raises(PmdMalformedError, match="at byte 9: unknown setting type 9"):
        bad_type.settings()
    cut = parse_response(bytes.fromhex("F0 01 00 00 00 00 02 8200 82"))
    with pytest.raises(PmdMalformedError, match="at byte 7: SAMPLE_RATE announces 2 value"):
        cut.settings()


# ---------------------------------------------------------------------------------------------
# Responses


@pytest.mark.parametrize("status", list(ResponseStatus))
def test_every_status_of_a_start_response(status):
    response = parse_indication(build_response(ControlPointOp.REQUEST_MEASUREMENT_START, 0, status))
    assert not isinstance(response, MeasurementStopped)
    assert (response.op, response.measurement_type, response.status) == (2, 0, status)
    if status is ResponseStatus.SUCCESS:
        assert response.ok
        response.raise_for_status()
        return
    with pytest.raises(PmdRefusedError) as refused:
        response.raise_for_status()
    assert isinstance(refused.value, BiofeedbackError)
    assert str(refused.value) == f"the strap refused to start ECG: {STATUS_SENTENCES[status]}"
    assert refused.value.status == status


def test_refusal_sentences_name_the_command_and_the_stream():
    def message(data: bytes) -> str:
        with pytest.raises(PmdRefusedError) as refused:
            parse_response(data).raise_for_status()
        return str(refused.value)

    assert message(bytes.fromhex("F0020205")) == "the strap refused to start ACC: invalid parameter"
    assert message(bytes.fromhex("F0030006")).startswith(
        "the strap refused to stop ECG: it is already in that state"
    )
    assert message(bytes.fromhex("F0010203")).startswith(
        "the strap refused to give the settings of ACC: not supported"
    )
    assert message(bytes.fromhex("F0090063")) == (
        "the strap refused to do command 0x09 for ECG: unknown status 99"
    )


def test_not_paired():
    error = PmdNotPairedError("org.bluez.Error.NotPermitted: Not paired")
    assert isinstance(error, BiofeedbackError)
    assert str(error).startswith("not paired: the strap accepts raw ECG")
    assert "bluetoothctl pair" in str(error)
    assert looks_like_not_paired("[org.bluez.Error.NotPermitted] Not paired")
    assert looks_like_not_paired("Protocol Error 0x05: Insufficient Authentication")
    assert not looks_like_not_paired("org.bluez.Error.Failed: Operation failed")


def test_multi_part_response_is_joined():
    params = build_settings({SettingType.SAMPLE_RATE: (25, 50, 100, 200),
                             SettingType.RESOLUTION: (16,), SettingType.RANGE: (2, 4, 8)})
    parts = split_response(ControlPointOp.GET_MEASUREMENT_SETTINGS, 2, params, max_length=9)
    assert len(params) == 22 and len(parts) == 6  # 4 parameter bytes per 9-byte part
    assert [p[4] for p in parts] == [1, 1, 1, 1, 1, 0]
    assembler = ResponseAssembler()
    results = [assembler.feed(p) for p in parts]
    assert results[:-1] == [None] * 5
    whole = results[-1]
    assert whole is not None and whole.params == params and not whole.more
    assert whole.settings()[SettingType.SAMPLE_RATE] == (25, 50, 100, 200)
    # The assembler is ready for the next response.
    assert assembler.feed(build_response(3, 2)) == parse_response(build_response(3, 2))


def test_multi_part_response_from_another_command_is_an_error():
    assembler = ResponseAssembler()
    assert assembler.feed(bytes.fromhex("F0 01 02 00 01 00 01")) is None
    with pytest.raises(PmdMalformedError, match="continuation answers op 0x01 for ECG"):
        assembler.feed(bytes.fromhex("F0 01 00 00 00 1900"))


def test_device_initiated_stop():
    stopped = parse_indication(build_measurement_stopped([ECG, ACC]))
    assert stopped == MeasurementStopped((0, 2))
    assert parse_indication(b"\x01") == MeasurementStopped(())


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"", "at byte 0"), (b"\x55\x00", "at byte 0: expected 0xF0 .* got 0x55"),
     (b"\xf0\x02\x00", "at byte 3: needs op code")],
)
def test_malformed_indications(data, match):
    with pytest.raises(PmdMalformedError, match=match):
        parse_indication(data)


# ---------------------------------------------------------------------------------------------
# Data frames built byte by byte


def ecg_frame_by_hand(timestamp_ns: int, values: list[int]) -> bytes:
    out = bytes([0x00]) + struct.pack("<Q", timestamp_ns) + bytes([0x00])
    for v in values:
        out += (v & 0xFFFFFF).to_bytes(3, "little")
    return out


def test_ecg_frame_of_73_samples_is_229_bytes_and_decodes_exactly():
    values = [(-1) ** i * (37 * i * i) % 20000 - 10000 for i in range(73)]
    values[0], values[1] = -8_388_608, 8_388_607  # the 24-bit extremes
    data = ecg_frame_by_hand(TS, values)
    assert len(data) == 229
    frame = parse_frame(data)
    assert frame.measurement_type == ECG and frame.timestamp_ns == TS
    assert frame.frame_type == 0 and not frame.compressed
    assert frame.samples.dtype == np.int32 and frame.samples.shape == (73, 1)
    assert frame.samples[:, 0].tolist() == values
    assert build_ecg_frame(TS, values) == data


def test_frame_sizes_follow_the_mtu():
    assert samples_per_frame(ECG, 232) == 73
    assert samples_per_frame(ECG, 512) == 73
    assert samples_per_frame(ECG, 70) == 19
    assert samples_per_frame(ACC, 232) == 36
    small = ecg_frame_by_hand(TS, list(range(-9, 10)))
    assert len(small) == 70 - 3
    assert parse_frame(small).samples[:, 0].tolist() == list(range(-9, 10))


def test_acc_frame_decodes_exactly():
    xyz = [(-1000, 20, 980), (32767, -32768, 0), (-1, 1, -2)]
    data = bytes([0x02]) + struct.pack("<Q", TS) + bytes([0x01])
    data += b"".join(struct.pack("<hhh", *row) for row in xyz)
    frame = parse_frame(data)
    assert frame.measurement_type == ACC
    assert frame.samples.tolist() == [list(r) for r in xyz]
    assert build_acc_frame(TS, xyz) == data


def test_acc_int8_and_int24_frames():
    rows = [(-128, 127, 5)]
    assert parse_frame(build_acc_frame(TS, rows, frame_type=0)).samples.tolist() == [[-128, 127, 5]]
    wide = [(-8_000_000, 7_000_000, 3)]
    assert parse_frame(build_acc_frame(TS, wide, frame_type=2)).samples.tolist() == [list(wide[0])]


def test_delta_frame_built_by_hand():
    # Reference (100, -200, 1000) as int16; one block of 3 deltas of 4 bits:
    # (+1, -1, +7), (-8, 0, +2), (+3, +3, -3), packed LSB first.
    deltas = [1, -1, 7, -8, 0, 2, 3, 3, -3]
    packed = 0
    for i, d in enumerate(deltas):
        packed |= (d & 0xF) << (4 * i)
    block = bytes([4, 3]) + packed.to_bytes(5, "little")  # 36 bits -> 5 bytes
    data = bytes([0x02]) + struct.pack("<Q", TS) + bytes([0x80])
    data += struct.pack("<hhh", 100, -200, 1000) + block
    frame = parse_frame(data, resolution_bits=16)
    assert frame.compressed
    assert frame.samples.tolist() == [
        [100, -200, 1000], [101, -201, 1007], [93, -201, 1009], [96, -198, 1006],
    ]
    assert build_delta_frame(ACC, TS, frame.samples) == data
    type_81 = data[:9] + b"\x81" + data[10:]  # frame type id 1 is laid out alike
    assert parse_frame(type_81).samples.tolist() == frame.samples.tolist()
    assert build_delta_frame(ACC, TS, frame.samples, frame_type_id=1) == type_81


def test_delta_frame_with_several_blocks_of_different_widths():
    # Block 1: 2 deltas of 2 bits; block 2: 1 delta of 9 bits (-256): widths change per block.
    data = bytes([0x02]) + struct.pack("<Q", TS) + bytes([0x80]) + struct.pack("<hhh", 0, 0, 0)
    packed1 = 0
    for i, d in enumerate([1, -2, 0, -1, 1, 1]):
        packed1 |= (d & 0b11) << (2 * i)
    data += bytes([2, 2]) + packed1.to_bytes(2, "little")
    packed2 = 0
    for i, d in enumerate([-256, 255, 0]):
        packed2 |= (d & 0x1FF) << (9 * i)
    data += bytes([9, 1]) + packed2.to_bytes(4, "little")
    assert parse_frame(data).samples.tolist() == [
        [0, 0, 0], [1, -2, 0], [0, -1, 1], [-256, 254, 1],
    ]


def test_ecg_delta_frame_with_a_14_bit_reference():
    values = [[-5000], [-4990], [-5100], [-4000]]
    data = build_delta_frame(ECG, TS, values, resolution_bits=14)
    assert data[10:12] == (-5000 & 0xFFFF).to_bytes(2, "little")  # ceil(14/8) = 2 bytes
    assert parse_frame(data, resolution_bits=14).samples.tolist() == values


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "at byte 0: 0 byte"),
        (bytes(9), "at byte 9: 9 byte"),
        (bytes([0x07]) + bytes(9) + bytes(3), "at byte 0: unsupported measurement type 7"),
        (bytes([0x00]) + bytes(8) + bytes([0x05]) + bytes(3), "at byte 9: unsupported ECG frame"),
        (bytes([0x00]) + bytes(9), "at byte 10: no samples"),
        (ecg_frame_by_hand(TS, [1, 2, 3]) + b"\x01", "at byte 19: 1 byte"),
        (bytes([0x02]) + bytes(8) + bytes([0x01]) + bytes(6 * 5 + 4), "at byte 40: 4 byte"),
        (bytes([0x02]) + bytes(8) + bytes([0x80]) + bytes(4), "at byte 14: the reference"),
        (bytes([0x02]) + bytes(8) + bytes([0x80]) + bytes(6) + b"\x04", "at byte 16: a delta"),
        (bytes([0x02]) + bytes(8) + bytes([0x80]) + bytes(6) + b"\x00\x01", "at byte 16: delta "
         "width 0"),
        (bytes([0x02]) + bytes(8) + bytes([0x80]) + bytes(6) + b"\x08\x02\x00", "at byte 18: a "
         "block of 2 deltas of 8 bits needs 6 bytes, 1 present"),
    ],
)
def test_malformed_frames_name_the_offset(data, match):
    with pytest.raises(PmdMalformedError, match=match):
        parse_frame(data)


def test_garbage_frames_only_ever_parse_or_raise_the_typed_error():
    rng = np.random.default_rng(16)
    valid = [
        build_ecg_frame(TS, list(range(-36, 37))),
        build_acc_frame(TS, [(i, -i, 2 * i) for i in range(36)]),
        build_delta_frame(ACC, TS, [(i * i, -i, 3) for i in range(40)], block_size=7),
    ]
    parsed = refused = 0
    for _ in range(3000):
        data = bytearray(valid[int(rng.integers(len(valid)))])
        if rng.random() < 0.5:
            del data[int(rng.integers(len(data) + 1)) :]
        for _flip in range(int(rng.integers(0, 4))):
            if data:
                data[int(rng.integers(len(data)))] = int(rng.integers(256))
        try:
            frame = parse_frame(bytes(data))
        except PmdMalformedError as error:
            refused += 1
            assert 0 <= error.offset <= len(data)
        else:
            parsed += 1
            assert frame.samples.dtype == np.int32 and frame.samples.shape[0] >= 1
    assert parsed > 100 and refused > 100


@given(
    st.lists(st.tuples(*[st.integers(-(2**15), 2**15 - 1)] * 3), min_size=1, max_size=120),
    st.integers(1, 255),
)
def test_delta_frames_round_trip(rows, block_size):
    data = build_delta_frame(ACC, TS, rows, block_size=block_size)
    assert parse_frame(data).samples.tolist() == [list(r) for r in rows]


@given(st.lists(st.integers(-(2**23), 2**23 - 1), min_size=1, max_size=73),
       st.integers(0, 2**64 - 1))
def test_ecg_frames_round_trip(values, timestamp_ns):
    frame = parse_frame(build_ecg_frame(timestamp_ns, values))
    assert frame.timestamp_ns == timestamp_ns
    assert frame.samples[:, 0].tolist() == values


# ---------------------------------------------------------------------------------------------
# Timestamps, the measured rate, the session clock


def test_sample_times_as_the_polar_sdk_spreads_them():
    first = sample_times_ns(None, 10_000_000_000, 4, 100.0)
    assert first.tolist() == [9_970_000_000, 9_980_000_000, 9_990_000_000, 10_000_000_000]
    after = sample_times_ns(10_000_000_000, 10_040_000_000, 4, 100.0)  # 4 samples over 40 ms
    assert after.tolist() == [10_010_000_000, 10_020_000_000, 10_030_000_000, 10_040_000_000]
    big = sample_times_ns(TS, TS + 561_538_462, 73, 130.0)
    assert big[-1] == TS + 561_538_462 and big[0] == TS + round(561_538_462 / 73)
    assert np.all(np.diff(big) > 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [((None, TS, 0, 130.0), "without samples"), ((None, TS, 5, 0.0), "must be positive"),
     ((TS, TS, 5, 130.0), "is not after the previous")],
)
def test_sample_times_refuse_what_has_no_times(args, match):
    with pytest.raises(ValueError, match=match):
        sample_times_ns(*args)


def test_rate_from_timestamps_not_the_nominal_130():
    true_rate = 130.0 * 1.015  # a strap 1.5 % fast
    rng = np.random.default_rng(3)
    estimator = RateEstimator(130.0)
    assert estimator.rate_hz == 130.0
    for j in range(107):  # a minute of 73-sample frames, timestamps jittered by +-0.5 ms
        last_sample = 73 * (j + 1) - 1
        ts = TS + round(last_sample * 1e9 / true_rate + rng.uniform(-5e5, 5e5))
        estimator.add(ts, 73)
    assert estimator.rate_hz == pytest.approx(true_rate, rel=1e-4)
    assert abs(estimator.rate_hz - 130.0) > 1.9


def ecg_stream(
    rate_hz: float, drift: float, n_frames: int, seed: int, per_frame: int = 73,
    jitter_s: float = 0.08,
):
    """Simulated frames: (bytes, arrival s, truth session time of every sample, values).

    The device clock gains ``drift`` s per s on the session clock; the strap samples at
    ``rate_hz`` by its own clock; each notification arrives 0-``jitter_s`` after its last
    sample.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for j in range(n_frames):
        k = np.arange(per_frame * j, per_frame * (j + 1))
        device_s = k / rate_hz
        truth = 5.0 + device_s / (1.0 + drift)
        ts = TS + round(device_s[-1] * 1e9)
        values = ((k * 37) % 4001 - 2000).astype(np.int64)
        frames.append((build_ecg_frame(ts, values), truth[-1] + rng.uniform(0.0, jitter_s), truth,
                       values))
    return frames


def test_stream_decoder_gives_continuous_chunks_with_the_exact_samples():
    expected = ecg_stream(131.3, 0.0, 5, 1, jitter_s=0.0)
    decoder = PmdStreamDecoder("ecg", 130.0)
    chunks = [decoder.feed(data, arrival) for data, arrival, _, _ in expected]
    for chunk, (_, _, _, values) in zip(chunks, expected, strict=True):
        assert chunk.stream == "ecg" and chunk.unit == "uV"
        assert chunk.samples.dtype == np.int32 and chunk.samples[:, 0].tolist() == values.tolist()
    assert [c.first_index for c in chunks] == [0, 73, 146, 219, 292]
    assert chunks[0].rate_hz == 130.0  # nothing measured yet: the nominal rate
    assert all(c.rate_hz == pytest.approx(131.3, rel=1e-6) for c in chunks[1:])
    for before, after in itertools.pairwise(chunks):
        # each chunk continues the last, within the half sample a correction may move it
        continuation = before.times_s()[-1] + 1 / before.rate_hz
        assert abs(after.t0_s - continuation) <= 0.5 / after.rate_hz
    # the first frame went back from its timestamp at the nominal rate (the strap's is 1 %
    # faster: its first sample 5.5 ms early); the next ones are corrected toward the truth
    errors = [np.abs(c.times_s() - truth).max() for c, (_, _, truth, _) in zip(
        chunks, expected, strict=True)]
    assert errors[0] == pytest.approx(72 * (1 / 130 - 1 / 131.3), rel=1e-3)
    assert all(b < a for a, b in itertools.pairwise(errors))
    assert decoder.next_index == 365 and decoder.gaps == []
    assert decoder.measured_rate_hz == pytest.approx(131.3, rel=1e-6)


def test_lost_frames_are_a_reported_gap_not_filled():
    frames = ecg_stream(130.0, 0.0, 8, 2)
    decoder = PmdStreamDecoder("ecg", 130.0)
    chunks = [decoder.feed(d, a) for i, (d, a, _, _) in enumerate(frames) if i not in (4, 5)]
    assert [c.first_index for c in chunks] == [0, 73, 146, 219, 438, 511]
    assert [c.n_samples for c in chunks] == [73] * 6
    (gap,) = decoder.gaps
    assert (gap.stream, gap.first_index, gap.n_samples) == ("ecg", 292, 146)
    assert gap.duration_s == pytest.approx(146 / 130.0, abs=0.01)
    truth_after = frames[6][2]
    assert np.max(np.abs(chunks[4].times_s() - truth_after)) < 0.09
    assert decoder.measured_rate_hz == pytest.approx(130.0, rel=1e-6)


def test_bad_frames_in_a_stream_raise_and_leave_it_running():
    frames = ecg_stream(130.0, 0.0, 3, 3)
    decoder = PmdStreamDecoder("ecg", 130.0)
    decoder.feed(frames[0][0], frames[0][1])
    decoder.feed(frames[1][0], frames[1][1])
    with pytest.raises(PmdMalformedError, match=r"at byte 1: timestamp \d+ ns is not after"):
        decoder.feed(frames[0][0], frames[1][1] + 0.1)
    with pytest.raises(PmdMalformedError, match="at byte 0: a frame of ACC on the ECG stream"):
        decoder.feed(build_acc_frame(TS, [(1, 2, 3)]), 1.0)
    with pytest.raises(PmdMalformedError, match="at byte 19: 1 byte"):
        decoder.feed(frames[2][0][:20], frames[2][1])
    chunk = decoder.feed(frames[2][0], frames[2][1])
    assert chunk.first_index == 146 and decoder.gaps == []


def session_time_errors(drift: float, seed: int, seconds: float):
    frames = ecg_stream(130.0 * 0.985, drift, int(seconds * 130 * 0.985 / 73), seed)
    decoder = PmdStreamDecoder("ecg", 130.0)
    errors, times, steps = [], [], []
    previous = None
    for data, arrival, truth, _ in frames:
        chunk = decoder.feed(data, arrival)
        errors.append(chunk.times_s() - truth)
        times.append(truth - 5.0)
        if previous is not None and truth[0] > 185.0:
            # How far a chunk starts from where the previous one's samples would continue.
            steps.append(chunk.t0_s - previous.times_s()[-1] - 1 / previous.rate_hz)
        previous = chunk
    assert previous is not None
    return np.concatenate(times), np.abs(np.concatenate(errors)), np.abs(steps), previous, decoder


@pytest.mark.parametrize("drift", [1e-4, -1e-4], ids=["device-fast", "device-slow"])
def test_session_times_within_5_ms_over_an_hour_of_jitter_and_drift(drift):
    elapsed, error, steps, last, decoder = session_time_errors(drift, seed=16, seconds=3600)
    assert elapsed[-1] > 3590
    assert np.median(error) < 1e-3
    assert error[elapsed >= 180].max() < 5e-3  # once three minutes of frames give the drift
    assert error[elapsed >= 30].max() < 10e-3
    assert steps.max() < 5e-3  # a refit moves later chunks by less than the error bound
    assert decoder.aligner.fit.drift_ppm == pytest.approx(-drift * 1e6, abs=10)
    assert decoder.measured_rate_hz == pytest.approx(130.0 * 0.985, rel=1e-6)  # device clock
    # The chunks' rate is on the session clock: the device's rate times its drift.
    assert last.rate_hz == pytest.approx(130.0 * 0.985 * (1 + drift), rel=2e-5)


def test_ecg_and_acc_share_one_device_clock():
    data = PmdDataDecoder({"ecg": 130.0, "acc": 200.0})
    ecg = data.feed(build_ecg_frame(TS, [10, 20, 30]), 7.0)
    acc = data.feed(build_acc_frame(TS, [(1, 2, 3), (4, 5, 6)]), 7.03)
    assert (ecg.stream, acc.stream, acc.unit) == ("ecg", "acc", "mG")
    assert acc.samples.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert data.decoders["ecg"].aligner is data.decoders["acc"].aligner
    # Both last samples are at the same device time: the same session time.
    assert ecg.times_s()[-1] == pytest.approx(acc.times_s()[-1]) == pytest.approx(7.0)
    with pytest.raises(PmdMalformedError, match="a frame of PPG, but that stream was not started"):
        data.feed(bytes([0x01]) + bytes(12), 8.0)
    with pytest.raises(PmdMalformedError, match="empty notification"):
        data.feed(b"", 8.0)


def test_decoder_names_unknown_streams():
    with pytest.raises(ValueError, match="unknown PMD stream 'ppg'"):
        PmdStreamDecoder("ppg", 135.0)


@given(st.dictionaries(
    st.sampled_from([SettingType.SAMPLE_RATE, SettingType.RESOLUTION, SettingType.RANGE,
                     SettingType.CHANNELS]),
    st.lists(st.integers(0, 255), min_size=1, max_size=8).map(tuple), min_size=1))
def test_settings_round_trip(settings):
    assert parse_settings(build_settings(settings)) == settings


@given(st.binary(max_size=300), st.integers(6, 250), st.integers(0, 14))
def test_multi_part_responses_round_trip(params, max_length, status):
    parts = split_response(ControlPointOp.GET_MEASUREMENT_SETTINGS, 0, params, max_length, status)
    assert all(len(p) <= max_length for p in parts)
    assembler = ResponseAssembler()
    results = [assembler.feed(p) for p in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    whole = results[-1]
    assert whole is not None
    assert (whole.op, whole.measurement_type, whole.status, whole.params) == (1, 0, status, params)


def test_small_mtu_frames_and_delta_acc_frames_decode_continuously():
    # ECG at the smallest MTU seen (19 samples a frame), then ACC at 200 Hz as delta frames.
    ecg = PmdStreamDecoder("ecg", 130.0)
    for j in range(4):
        values = list(range(19 * j, 19 * (j + 1)))
        chunk = ecg.feed(build_ecg_frame(TS + round((19 * (j + 1) - 1) * 1e9 / 130), values),
                         1.0 + j * 0.146)
        assert chunk.first_index == 19 * j and chunk.samples[:, 0].tolist() == values
    acc = PmdStreamDecoder("acc", 200.0)
    for j in range(3):
        rows = [(100 + i, -50 - 2 * i, 1000 - i * i) for i in range(36 * j, 36 * (j + 1))]
        ts = TS + round((36 * (j + 1) - 1) * 1e9 / 200)
        chunk = acc.feed(build_delta_frame(ACC, ts, rows, block_size=10), 2.0 + j * 0.18)
        assert chunk.first_index == 36 * j and chunk.samples.tolist() == [list(r) for r in rows]
    assert acc.measured_rate_hz == pytest.approx(200.0, rel=1e-6) and acc.gaps == []


def test_the_protocol_imports_neither_bleak_nor_qt():
    code = (
        "import sys, sensors.ble.pmd; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bleak', 'PySide6')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"
