"""Garmin FIT reader: the real fenix 5 / Edge 820 files, the Polar file without hrv messages,
hand-built FIT files and corrupt ones."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import fitdecode.utils
import numpy as np
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import detect_format, read_import
from biofeedback.io.readers.base import NotRRDataError
from biofeedback.io.readers.fit import NO_HRV_HEART_RATE
from conftest import DATA

FIT = DATA / "real" / "garmin_fit"


def fit_file(*records: bytes) -> bytes:
    """A FIT file (14-byte header with CRC, the records, file CRC)."""
    body = b"".join(records)
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", fitdecode.utils.compute_crc(header))
    data = header + body
    return data + struct.pack("<H", fitdecode.utils.compute_crc(data))


def definition(local: int, global_number: int, fields: list[tuple[int, int, int]]) -> bytes:
    """A definition message: (field number, size, base type) per field, little-endian."""
    return (struct.pack("<BBBHB", 0x40 | local, 0, 0, global_number, len(fields))
            + b"".join(struct.pack("<BBB", *f) for f in fields))


FILE_ID = definition(0, 0, [(0, 1, 0x00)]) + struct.pack("<BB", 0, 4)  # type = activity
HRV_DEFINITION = definition(1, 78, [(0, 10, 0x84)])  # time: 5 x uint16, scale 1000


def hrv(*ms: int) -> bytes:
    return struct.pack("<B5H", 1, *ms)


@pytest.mark.parametrize(
    ("name", "n", "mean", "first", "start", "product"),
    [
        ("garmin-fenix-5-run.fit", 113, 663.7611, [1093, 1165, 1063, 983, 919],
         datetime(2017, 6, 11, 14, 34, 9, tzinfo=UTC), "fenix5"),
        ("garmin-edge-820-bike.fit", 126, 526.1032, [594, 588, 588, 588, 582],
         datetime(2017, 6, 12, 16, 10, 15, tzinfo=UTC), "edge_820"),
    ],
)
def test_real_garmin_files(name, n, mean, first, start, product):
    path = FIT / name
    assert detect_format(path) == "garmin_fit"
    imported = read_import(path)
    rr = imported.recording.rr_ms
    assert rr.size == n
    assert round(float(rr.mean()), 4) == mean
    assert rr[:5].tolist() == first
    assert np.all(rr == np.round(rr))  # 1 ms resolution, the raw uint16
    np.testing.assert_allclose(imported.recording.time_s, np.cumsum(rr) / 1000.0)
    assert imported.start_time == start
    assert imported.start_time.utcoffset().total_seconds() == 0
    assert imported.details["manufacturer"] == "garmin"
    assert imported.details["product"] == product
    assert imported.details["start_time_from"] == "the first record message's timestamp"
    assert imported.rr_source == "rr"
    assert imported.files == [name]


def test_slot_counts_of_the_fenix_file():
    details = read_import(FIT / "garmin-fenix-5-run.fit").details
    assert details["hrv_messages"] == 71
    assert details["invalid_slots_dropped"] == 71 * 5 - 113


def test_polar_file_with_heart_rate_only_is_refused():
    path = FIT / "polar_flow_98319-88283754_no_hrv.fit"
    assert detect_format(path) == "garmin_fit"
    with pytest.raises(NotRRDataError) as caught:
        read_import(path)
    assert caught.value.reason == NO_HRV_HEART_RATE
    assert caught.value.reason == ("this FIT file holds no RR intervals (hrv messages): the "
                                   "device recorded heart rate only")
    assert caught.value.path == path


def test_hand_built_file_keeps_real_values_and_drops_empty_slots(tmp_path):
    path = tmp_path / "built.fit"
    path.write_bytes(fit_file(FILE_ID, HRV_DEFINITION, hrv(812, 0xFFFF, 795, 0xFFFF, 0xFFFF),
                              hrv(1501, 4189, 300, 0xFFFF, 0xFFFF)))
    imported = read_import(path)
    # 4189 ms is implausible and kept: the artifact detector classes it.
    assert imported.recording.rr_ms.tolist() == [812, 795, 1501, 4189, 300]
    assert imported.details["invalid_slots_dropped"] == 5
    assert imported.start_time is None
    assert imported.details["start_time_from"] is None


def test_file_without_heart_rate_says_what_it_holds(tmp_path):
    path = tmp_path / "empty.fit"
    path.write_bytes(fit_file(FILE_ID))
    with pytest.raises(NotRRDataError, match=r"no RR intervals \(hrv messages\) and no heart "
                                             r"rate: it holds 1 file_id"):
        read_import(path)


def test_hrv_messages_with_only_empty_slots(tmp_path):
    path = tmp_path / "blank.fit"
    path.write_bytes(fit_file(FILE_ID, HRV_DEFINITION, hrv(*[0xFFFF] * 5)))
    with pytest.raises(NotRRDataError, match="1 hrv messages hold no valid RR interval"):
        read_import(path)


def test_truncated_file_names_file_and_offset(tmp_path):
    path = tmp_path / "cut.fit"
    path.write_bytes((FIT / "garmin-fenix-5-run.fit").read_bytes()[:3000])
    assert detect_format(path) == "garmin_fit"
    with pytest.raises(InputFileError) as caught:
        read_import(path)
    assert caught.value.path == path
    assert caught.value.reason == ("truncated FIT file: expected 10 bytes, got 9 at byte "
                                   "offset 2991")


def test_flipped_byte_is_a_crc_error(tmp_path):
    raw = bytearray((FIT / "garmin-fenix-5-run.fit").read_bytes())
    raw[3000] ^= 0xFF
    path = tmp_path / "flipped.fit"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputFileError, match=r"flipped\.fit: corrupt FIT file: mismatching CRC "
                                             r"in FIT footer \(footer offset: 5595"):
        read_import(path)


def test_undefined_local_message(tmp_path):
    raw = bytearray((FIT / "garmin-fenix-5-run.fit").read_bytes())
    raw[20:220] = b"\xff" * 200
    path = tmp_path / "mangled.fit"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputFileError, match=r"mangled\.fit: corrupt FIT file: FIT parsing "
                                             r"error at byte offset 41: local message 3 "
                                             r"not defined"):
        read_import(path)


def test_mangled_header_read_as_fit_is_an_input_error(tmp_path):
    path = tmp_path / "header.fit"
    path.write_bytes(b"xx" + (FIT / "garmin-fenix-5-run.fit").read_bytes()[2:])
    with pytest.raises(InputFileError, match=r"header\.fit: not a valid FIT file"):
        read_import(path, format="garmin_fit")


def test_text_named_fit_is_not_read_as_rr(tmp_path):
    path = tmp_path / "notes.fit"
    path.write_text("812\n795\n")
    with pytest.raises(InputFileError, match=r"notes\.fit: not a valid FIT file"):
        read_import(path, format="garmin_fit")
