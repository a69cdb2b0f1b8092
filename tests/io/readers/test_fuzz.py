"""Fuzzing every reader: whatever the bytes, a reader returns a recording that passes the
conformance checks or refuses the file with an InputFileError naming it (never another
exception, never a half-read result).

Each format is fuzzed from a real or synthetic file of its own (so the mutations reach deep
into its parser), read both forced to that format and with detection.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import FORMATS, read_import
from conftest import DATA
from reader_checks import check_recording

REAL = DATA / "real"
IMPORT = DATA / "import"
SEEDS: dict[str, Path] = {
    "polar_sensor_logger":
        REAL / "polar_sensor_logger" / "Polar_H10_AEFD6B29_20240219_100811_RR.txt",
    "hrv_logger": IMPORT / "2017-10-15 08-31-03_RR_session.csv",
    "fatmaxxer": REAL / "fatmaxxer" / "IanPeake_FatMaxOptimiser.20210606_161059.features.csv",
    "hrv_logger_events": IMPORT / "2017-10-15 08-31-03_events_session.csv",
    "kubios": REAL / "kubios" / "kubios_report_pgomes_SampleReport.txt",
    "pyhrv_report": REAL / "other_reports" / "PGomes92_pyhrv_SampleReport.txt",
    "polar_hrm": REAL / "polar_hrm" / "rhenanbartels_noisy_rri.hrm",
    "polar_flow": IMPORT / "polar_flow_hrv.tsv",
    "selfloops": REAL / "selfloops" / "20170808002e.txt",
    "empatica": REAL / "empatica" / "IBI.csv",
    "empatica_signal": REAL / "empatica" / "im-ethz_HR.csv",
    "garmin": REAL / "garmin" / "flirt_garmin_sdk_data.csv",
    "kubios_rr": REAL / "kubios" / "kubios_type1_input_SampleExport.txt",
    "elite_hrv": IMPORT / "2019-03-14 07-25-31.txt",
    "physionet_rr": REAL / "plain_rr_text" / "hrv_pkg_08012805.txt",
    "welltory": REAL / "welltory" / "welltory_ppg_dataset_subject_01_RR.txt",
    "plain_rr_text": REAL / "plain_rr_text" / "rhenanbartels_rest_rri.txt",
    "csv": IMPORT / "generic_beat_times.tsv",
    "garmin_fit": REAL / "garmin_fit" / "garmin-fenix-5-run.fit",
    "physionet_wfdb": REAL / "physionet_wfdb" / "e002a.hea",
}
HEAD = 3000
"""Bytes of a seed the fuzzer mutates (the rest is cut: small files keep examples fast)."""


def test_every_format_has_a_fuzz_seed():
    assert set(FORMATS) <= set(SEEDS), sorted(set(FORMATS) - set(SEEDS))


mutation = st.tuples(st.sampled_from(["replace", "insert", "delete", "truncate", "line"]),
                     st.floats(0, 1), st.binary(min_size=1, max_size=6))


def _mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for op, where, payload in mutations:
        at = int(where * len(data))
        if op == "replace":
            data = data[:at] + payload + data[at + len(payload):]
        elif op == "insert":
            data = data[:at] + payload + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + len(payload):]
        elif op == "truncate":
            data = data[:at]
        else:
            lines = data.split(b"\n")
            k = int(where * len(lines)) % max(1, len(lines))
            lines.insert(k, payload)
            data = b"\n".join(lines)
    return data


def _seed_files(fmt: str, tmp: Path) -> Path:
    """A copy of the seed (and, for a WFDB header, its annotation file) in ``tmp``."""
    seed = SEEDS[fmt]
    for sibling in seed.parent.glob(seed.stem + ".*"):
        if sibling != seed:
            shutil.copyfile(sibling, tmp / sibling.name)
    return tmp / seed.name


def _check_outcome(path: Path, fmt: str | None) -> None:
    try:
        imported = read_import(path, fmt, companions=False)
    except InputFileError as exc:
        assert exc.path == path
        assert str(exc).startswith(str(path))
        if "not a number" in exc.reason:
            assert exc.line is not None and exc.field is not None
        return
    check_recording(imported, path.name)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_reader_survives_mutations(tmp_path_factory, fmt, mutations):
    if fmt not in FORMATS:
        pytest.fail(f"no reader named {fmt!r}")
    tmp = tmp_path_factory.mktemp(fmt)
    path = _seed_files(fmt, tmp)
    data = SEEDS[fmt].read_bytes()
    binary = fmt in ("garmin_fit", "physionet_wfdb")
    if not binary:
        data = data[:HEAD]
    target = path
    if fmt == "physionet_wfdb":
        target = tmp / (path.stem + ".atr")  # the header stays whole; the annotations mutate
        data = target.read_bytes()[:HEAD]
    target.write_bytes(_mutate(data, mutations))
    _check_outcome(path, fmt)
    _check_outcome(path, None)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), name=st.sampled_from(
    ["x.txt", "x.csv", "x.fit", "x_RR_y.csv", "2019-03-14 07-25-31.txt", "IBI.csv", "x.hrm"]))
def test_random_bytes_are_refused_or_read(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("random") / name
    path.write_bytes(data)
    _check_outcome(path, None)
