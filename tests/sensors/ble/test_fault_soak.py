"""Two hours of virtual-strap time, compressed, through the real bleak into a real store,
with every fault the virtual BlueZ can make injected on a seeded schedule
(``tests/fault_soak.py``; the longer run is ``benchmarks/fault_soak.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_soak import BREAKING, FAULTS, run_fault_soak

pytestmark = pytest.mark.timeout(240)


def test_two_hours_of_faults_lose_nothing_outside_gaps_and_store_nothing_twice(
    tmp_path: Path,
) -> None:
    report = run_fault_soak(tmp_path, virtual_hours=2.0, speed=150.0, n_faults=34, seed=13)
    figures = report.to_dict()
    (tmp_path / "soak.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    assert report.problems == [], json.dumps(figures, indent=2)
    assert len(report.faults) >= 30 and set(report.faults) == set(FAULTS)
    assert report.beats_lost_outside_gaps == 0
    assert report.status == "complete"
    assert report.disconnections == sum(f in BREAKING for f in report.faults)
    assert report.rss_growth_mb < 20.0
    assert report.copies_dropped_sessions >= 1  # a stale subscription doubled the stream
    assert report.beats_stored >= 5000  # about two hours of beats minus the gaps
