"""``biofeedback plot``: figures of a recorded session and study as PNG, SVG and PDF files."""

from __future__ import annotations

import argparse
import shutil
import struct
from pathlib import Path

import pytest
from helpers import s1_study, sim_record
from pypdf import PdfReader

from biofeedback.cli import plot as plot_cli
from biofeedback.cli.common import UsageError
from biofeedback.cli.main import main

# The same recorded data as the report tests (made once per run for both).
RECORDED = (*s1_study(["P1", "P2", "P3"]),
            sim_record(7, "Q1", "--protocol", "stress_reactivity"))


@pytest.fixture
def data(recorded_template, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plot") / "data"
    shutil.copytree(recorded_template(RECORDED), folder)
    return folder


@pytest.fixture(scope="module")
def result_file(recorded_template, tmp_path_factory) -> Path:
    """``compare --study S1 --json`` saved once: most tests draw from it (--result)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["compare", "--study", "S1", "--json", "--workers", "1",
                     "--data-dir", str(recorded_template(RECORDED))]) == 0
    path = tmp_path_factory.mktemp("plot-result") / "result.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def plot_args(data: Path, out: Path | None, *, session: int | None = None,
              study: str | None = None, figures: list[str] | None = None,
              dpi: float = 300.0, width_mm: int = 85) -> argparse.Namespace:
    return argparse.Namespace(session=session, study=study, figures=figures, out=out,
                              dpi=dpi, width_mm=width_mm, list=False, workers=1,
                              rr_source="strap", data_dir=str(data), result=None)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk, px."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def test_list_names_every_figure(capsys):
    assert main(["plot", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("tachogram", "trajectories", "phase-indices", "forest", "phase-values",
                 "paired", "breathing", "trends", "reactivity"):
        assert name in out


def test_a_session_as_one_pdf_page_per_figure(data, tmp_path, capsys):
    out = tmp_path / "session.pdf"
    assert plot_cli.run(plot_args(data, out, session=4)) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    texts = [page.extract_text() for page in reader.pages]
    assert "RR interval (ms)" in texts[0] and "Recovery" in texts[0]
    assert "heart rate (bpm)" in texts[1] and "lnRMSSD (ln ms)" in texts[1]
    assert "Mental arithmetic" in texts[2]
    width_pt = float(reader.pages[0].mediabox.width)
    assert width_pt == pytest.approx(85 / 25.4 * 72, abs=0.01)
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left


def test_a_study_as_one_png_per_figure_at_the_dpi_asked(data, tmp_path, capsys):
    out = tmp_path / "s1.png"
    assert plot_cli.run(plot_args(data, out, study="S1", dpi=150, width_mm=180)) == 0
    err = capsys.readouterr().err
    # S1 has no stressor phase: the default set skips reactivity and says why
    assert "skipped reactivity: no session has a stressor phase" in err
    names = ["forest", "phase-values", "paired", "breathing", "trends"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"s1-{n}.png" for n in names)
    for name in names:
        width, _ = png_size(tmp_path / f"s1-{name}.png")
        assert width == int(180 / 25.4 * 150)  # matplotlib truncates to whole pixels


def test_one_figure_goes_to_the_file_itself(data, tmp_path, result_file):
    out = tmp_path / "paired.svg"
    args = plot_args(data, out, figures=["paired"])
    args.result = result_file
    assert plot_cli.run(args) == 0
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and ">P3</text>" in svg.replace("\n", "")
    assert [p.name for p in tmp_path.iterdir()] == ["paired.svg"]


def test_figures_from_a_saved_comparison(data, tmp_path, result_file):
    out = tmp_path / "forest.svg"
    args = plot_args(data, out, figures=["forest"])
    args.result = result_file
    assert plot_cli.run(args) == 0
    assert ">Δ lnRMSSD</text>" in out.read_text(encoding="utf-8").replace("\n", "")
    args.result = tmp_path / "not-a-result.json"
    args.result.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(UsageError, match="not a comparison result"):
        plot_cli.run(args)
    args.study = "S1"
    with pytest.raises(UsageError, match="not --study and --result"):
        plot_cli.run(args)


def test_bad_requests_are_refused_before_anything_is_loaded(data, tmp_path, result_file):
    out = tmp_path / "f.png"
    reactivity = plot_args(data, out, figures=["reactivity"])
    reactivity.result = result_file
    for args, message in (
        (plot_args(data, out, study="S1", figures=["nope"]), "no figure named 'nope'"),
        (plot_args(data, out, study="S1", figures=["tachogram"]),
         "'tachogram' is a figure of a session, not of a study"),
        (plot_args(data, out, session=4, figures=["forest"]), "a session's are tachogram"),
        (plot_args(data, tmp_path / "f.jpg", session=4), "must end in .png, .svg, .pdf"),
        (plot_args(data, tmp_path / "no" / "f.png", session=4), "folder .* does not exist"),
        (plot_args(data, None, session=4), "give --out"),
        (plot_args(data, out), "give a session id or --study NAME"),
        (plot_args(data, out, session=4, study="S1"), "not a session and --study"),
        (reactivity, "cannot draw 'reactivity': no session has a stressor phase"),
    ):
        with pytest.raises(UsageError, match=message):
            plot_cli.run(args)
    assert list(tmp_path.iterdir()) == []


def test_the_parser_takes_the_documented_options(data, tmp_path):
    parser = argparse.ArgumentParser(prog="biofeedback")
    plot_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plot", "--study", "S1", "--figure", "forest", "--figure",
                              "paired", "--out", "x.pdf", "--dpi", "600", "--width-mm", "180"])
    assert (args.study, args.figures, args.dpi, args.width_mm) == (
        "S1", ["forest", "paired"], 600.0, 180)
    with pytest.raises(SystemExit):
        parser.parse_args(["plot", "3", "--out", "x.png", "--width-mm", "100"])
