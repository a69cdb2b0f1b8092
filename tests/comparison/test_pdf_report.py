"""``report --format pdf``: the session and study reports as PDF, read back with pypdf."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest
from helpers import s1_study, sim_record
from pypdf import PdfReader

from biofeedback.cli import report as report_cli
from biofeedback.cli.common import UsageError
from biofeedback.comparison.pdf_report import read_blocks

# The same recorded data as the HTML report tests (made once per run for both).
RECORDED = (*s1_study(["P1", "P2", "P3"]),
            sim_record(7, "Q1", "--protocol", "stress_reactivity"))
A4_PT = (595.28, 841.89)


@pytest.fixture
def data(recorded_template, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdf") / "data"
    shutil.copytree(recorded_template(RECORDED), folder)
    return folder


def args(data: Path, out: Path, *, session: int | None = None, study: str | None = None,
         fmt: str | None = "pdf") -> argparse.Namespace:
    return argparse.Namespace(session=session, study=study, out=out, workers=1,
                              rr_source="strap", data_dir=data, format=fmt)


def pages_text(path: Path) -> list[str]:
    reader = PdfReader(path)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4_PT, abs=0.1)
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_session_report_as_pdf(data, tmp_path, capsys):
    from biofeedback.comparison.report import session_report

    out = tmp_path / "session.pdf"
    assert report_cli.run(args(data, out, session=4)) == 0
    n = int(re.search(r"wrote .* \((\d+) pages\)", capsys.readouterr().err).group(1))
    pages = pages_text(out)
    assert len(pages) == n == 3
    assert all(f"page {i} of {n}" in p for i, p in enumerate(pages, start=1))
    first = pages[0]
    for needle in ("Session 4", "Participant: Q1", "Tachogram", "RR interval (ms)",
                   "time (min)", "Per-phase indices", "Mental arithmetic"):
        assert needle in first, needle
    text = " ".join(pages)
    for needle in ("HR (bpm)", "lnRMSSD (ln ms)", "Trajectories (60-s bins)",
                   "heart rate (bpm)", "Methods", "Kubios"):
        assert needle in text, needle
    # the same tables as the HTML report: every phase row's HR, as the table writes it
    html = session_report(data, 4)
    (table,) = [b for b in read_blocks(html) if b.kind == "table"]
    header, *rows = table.rows
    hr = header.index("HR (bpm)")
    for row in rows:
        assert re.search(rf"{re.escape(row[0])} .*{re.escape(row[hr])}", text), row[0]
    assert list(tmp_path.iterdir()) == [out]  # nothing half-written left


def test_study_report_as_pdf(data, tmp_path, capsys):
    out = tmp_path / "study.pdf"
    # the extension alone asks for a PDF
    assert report_cli.run(args(data, out, study="S1", fmt=None)) == 0
    assert "analysed 3/3 sessions" in capsys.readouterr().err
    pages = pages_text(out)
    text = " ".join(pages)
    for needle in ("Study S1: self-soothing vs attention practices", "Mixed model",
                   "Breathing check", "Individual trajectories", "Over time",
                   "Reactivity and recovery", "No session has a stressor phase",
                   "Excluded and missing", "Methods", "Williams design",
                   "mean difference [95% CI]", "breathing rate (breaths/min)",
                   "baseline lnRMSSD", "P1", "P2", "P3"):
        assert needle in text, needle
    # each figure at its place: the forest plot follows the contrasts' table
    forest = next(i for i, p in enumerate(pages) if "with 95% CI, n = 3" in p)
    table = next(i for i, p in enumerate(pages) if "Mean difference" in p)
    assert forest in (table, table + 1)
    assert len(pages) >= 4


def test_a_pdf_needs_a_pdf_file(data, tmp_path):
    with pytest.raises(UsageError, match=r"ending in \.pdf, not r\.html"):
        report_cli.run(args(data, tmp_path / "r.html", session=4))
    assert list(tmp_path.iterdir()) == []
