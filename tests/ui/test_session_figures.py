"""Save figures… in the Sessions tab: the selected session's publication figures, written by
``biofeedback plot`` in a subprocess."""

from __future__ import annotations

import asyncio

import pytest
from helpers import s1_study, sim_record
from pypdf import PdfReader
from PySide6.QtWidgets import QFileDialog

from biofeedback.ui.session_browser import SessionBrowser
from conftest import save_screenshot

# The report tests' recorded data (made once per run): session 4 is Q1's stress session.
RECORDED = (*s1_study(["P1", "P2", "P3"]),
            sim_record(7, "Q1", "--protocol", "stress_reactivity"))


@pytest.fixture
def browser(qtbot, recorded_data_dir, data_dir, qt_loop) -> SessionBrowser:
    recorded_data_dir(RECORDED)
    widget = SessionBrowser(data_dir.resolve())
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    qt_loop.run_until_complete(widget.refresh())
    return widget


def test_save_figures_writes_the_sessions_figures(browser, qt_loop, tmp_path, monkeypatch):
    assert not browser.figures_button.isEnabled()  # nothing selected yet
    assert browser.select_session(4)
    assert browser.figures_button.isEnabled()
    save_screenshot(browser, "sessions-save-figures")
    out = tmp_path / "session-4.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))

    async def saved() -> None:
        browser.figures_button.click()
        while not browser.figures.last_message:
            await asyncio.sleep(0.05)

    qt_loop.run_until_complete(asyncio.wait_for(saved(), 120))
    assert browser.figures.last_message == f"Saved the figures of session 4 to {out}"
    pages = [page.extract_text() for page in PdfReader(out).pages]
    assert len(pages) == 3 and "RR interval (ms)" in pages[0]
    # PNGs: one file per figure, named after it
    assert qt_loop.run_until_complete(browser.figures.save(4, tmp_path / "s4.png"))
    assert sorted(p.name for p in tmp_path.glob("s4-*.png")) == [
        "s4-phase-indices.png", "s4-tachogram.png", "s4-trajectories.png"]
    # a session that does not exist: the CLI's sentence
    assert not qt_loop.run_until_complete(browser.figures.save(99, tmp_path / "x.pdf"))
    assert "No session 99 in " in browser.figures.last_message
