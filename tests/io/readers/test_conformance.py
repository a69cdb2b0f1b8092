"""One conformance test every reader passes, over the corpus of real files (MNE-style).

``tests/data/real/`` holds files written by other tools and devices, taken from public
repositories (SOURCE.md), with an independently computed reference of what each holds
(``expected.json``, ``expected_more.json``: count, mean and first values of the RR series,
what a file that holds no RR is). Every RR file must read with the exact count and the mean
and first values within 1 ms, and pass the same structural checks; every other file must be
refused with a sentence that names what it holds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from biofeedback.core.errors import InputFileError
from biofeedback.io.importers import FORMATS, detect_format, read_import
from biofeedback.io.readers.base import NotRRDataError
from conftest import DATA
from reader_checks import check_recording

REAL = DATA / "real"
REFERENCE = [
    *json.loads((REAL / "expected.json").read_text()),
    *json.loads((REAL / "expected_more.json").read_text()),
]
RR_FILES = [e for e in REFERENCE if e["kind"] == "rr"]
REFUSED_FILES = [e for e in REFERENCE if e["kind"] in ("hr_only", "no_rr", "other")]

# What a refusal must name, by the reference's kind: the sentence says what the file holds.
HOLDS = {"hr_only": "heart rate", "other": "holds", "no_rr": "holds"}


def _id(entry: dict) -> str:
    return entry["file"]


@pytest.mark.parametrize("entry", RR_FILES, ids=_id)
def test_rr_file_reads_as_the_reference(entry):
    path = REAL / entry["file"]
    imported = read_import(path)
    check_recording(imported, path.name)
    rr = imported.recording.rr_ms
    assert rr.size == entry["n_rr"]
    assert float(rr.mean()) == pytest.approx(entry["mean_rr_ms"], abs=1.0)
    np.testing.assert_allclose(rr[: len(entry["first_rr_ms"])], entry["first_rr_ms"], atol=1.0)
    # Nothing filtered: intervals outside 200-3000 ms are kept as they are.
    outside = int(np.sum((rr < 200) | (rr > 3000)))
    assert outside == entry.get("n_out_of_range", outside)
    # Detection alone picks the format that reads it.
    assert detect_format(path) == imported.format


@pytest.mark.parametrize("entry", REFUSED_FILES, ids=_id)
def test_file_without_rr_is_refused_with_what_it_holds(entry):
    path = REAL / entry["file"]
    with pytest.raises(InputFileError) as caught:
        read_import(path)
    error = caught.value
    assert isinstance(error, NotRRDataError), str(error)
    assert error.path == path
    assert str(path) in str(error)
    assert HOLDS[entry["kind"]] in error.reason
    assert "no RR" in error.reason or "not RR" in error.reason or "not the intervals" in \
        error.reason


def test_every_format_is_covered_by_a_real_or_synthetic_file():
    """No reader without a file it is tested on (real corpus or tests/data/import)."""
    seen = set()
    for entry in REFERENCE:
        try:
            seen.add(read_import(REAL / entry["file"]).format)
        except NotRRDataError:
            seen.add(detect_format(REAL / entry["file"]))
    for path in sorted((DATA / "import").iterdir()):
        if path.name != "SOURCE.txt":
            try:
                seen.add(read_import(path).format)
            except NotRRDataError:
                seen.add(detect_format(path))
    assert seen == set(FORMATS), sorted(set(FORMATS) - seen)
