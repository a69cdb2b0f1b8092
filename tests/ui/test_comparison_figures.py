"""The Compare tab's Save figure… (each plot's right-click menu) and Export report…: the
publication figure and the study report, written by the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct

import pytest
from helpers import s1_study
from pypdf import PdfReader
from PySide6.QtWidgets import QFileDialog

from biofeedback.ui.comparison import ComparisonView
from biofeedback.ui.comparison.figure_export import SAVE_FIGURE
from conftest import save_screenshot

STUDY = s1_study(["P1", "P2", "P3"])


@pytest.fixture(scope="module")
def study_folder(recorded_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures") / "data"
    shutil.copytree(recorded_template(STUDY), folder)
    return folder


@pytest.fixture(scope="module")
def result(study_folder) -> dict:
    """The comparison as the tab receives it (``compare --json``: through JSON)."""
    from biofeedback.comparison.compare import compare

    found, _ = compare(study_folder, study="S1", workers=1)
    return json.loads(json.dumps(found, allow_nan=False))


@pytest.fixture
def view(qtbot, study_folder, result) -> ComparisonView:
    widget = ComparisonView(study_folder.resolve(), workers=1)
    qtbot.addWidget(widget)
    widget.resize(1150, 780)
    widget.show()
    widget.show_result(result)
    return widget


def _menu_texts(plot_item) -> list[str]:
    return [a.text() for a in plot_item.getViewBox().menu.actions()]


def _png_width(path) -> int:
    return struct.unpack(">I", path.read_bytes()[16:20])[0]


def test_every_plot_offers_save_figure_once(view, result):
    items = [i for i in view.difference_plots.plots.ci.items if hasattr(i, "getViewBox")]
    assert len(items) == len(result["comparisons"])
    for item in [*items, view.individuals_page.plot.getPlotItem(),
                 view.trends_page.plot.getPlotItem()]:
        assert _menu_texts(item).count(SAVE_FIGURE) == 1
    view.show_result(result)  # a second result: the trend and individual menus keep one
    assert _menu_texts(view.trends_page.plot.getPlotItem()).count(SAVE_FIGURE) == 1
    assert view.export_button.isEnabled()
    save_screenshot(view, "comparison-export")


def test_save_figure_writes_the_publication_figure(view, qt_loop, tmp_path, monkeypatch):
    out = tmp_path / "paired.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    paired = view.individuals_page.plot.getPlotItem()
    action = next(a for a in paired.getViewBox().menu.actions() if a.text() == SAVE_FIGURE)
    messages: list[str] = []
    view.status_message.connect(messages.append)

    async def saved() -> None:
        action.trigger()
        while not any(m.startswith("Saved the figure paired") for m in messages):
            await asyncio.sleep(0.05)

    qt_loop.run_until_complete(asyncio.wait_for(saved(), 120))
    assert _png_width(out) == int(85 / 25.4 * 300)  # 85 mm at 300 dpi
    svg = tmp_path / "forest.svg"
    assert qt_loop.run_until_complete(view.export.save_figure("forest", svg))
    assert ">Δ lnRMSSD</text>" in svg.read_text(encoding="utf-8").replace("\n", "")
    # a folder that does not exist: the CLI's sentence, nothing written
    assert not qt_loop.run_until_complete(
        view.export.save_figure("forest", tmp_path / "no" / "f.png"))
    assert "does not exist" in view.export.last_message


def test_export_report_writes_the_study_report(view, qt_loop, tmp_path):
    out = tmp_path / "s1.pdf"
    assert qt_loop.run_until_complete(asyncio.wait_for(view.export.export_report(out), 180))
    assert view.export.last_message == f"Wrote the report of study S1 to {out}"
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Study S1" in text and "Methods" in text
