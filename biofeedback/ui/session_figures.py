"""Save figures… in the Sessions tab: the selected session's publication figures (tachogram,
trajectories, per-phase indices), written by ``biofeedback plot SESSION`` in a subprocess, so
the window never loads matplotlib or the analysis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from biofeedback.ui.cli_job import CliJob
from biofeedback.ui.event_loop import spawn

if TYPE_CHECKING:
    from biofeedback.ui.session_browser import SessionBrowser

__all__ = ["SessionFigures"]

_FILTER = ("PDF, one page per figure (*.pdf);;PNG images, 300 dpi (*.png);;"
           "SVG drawings (*.svg)")


class SessionFigures:
    """The Sessions tab's figure export (one job at a time)."""

    def __init__(self, browser: SessionBrowser) -> None:
        self.browser = browser
        self._job = CliJob("figure export", "written")
        self.last_message = ""
        self.written: list[str] = []

    def ask_and_save(self) -> None:
        """Ask where to save the selected session's figures, then write them."""
        session_id = self.browser.selected_session_id()
        if session_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.browser, "Save figures",
                                              f"session-{session_id}.pdf", _FILTER)
        if path:
            spawn(self.save(session_id, Path(path)))

    async def save(self, session_id: int, path: Path, *, width_mm: int = 85) -> bool:
        """Write session ``session_id``'s figures to ``path``: one multi-page PDF, or one
        ``NAME-FIGURE.png``/``.svg`` each (``biofeedback plot``'s rule). Returns whether
        they were written; the status bar says what happened either way."""
        self.browser.status_message.emit(f"Drawing the figures of session {session_id}…")
        outcome = await self._job.run([
            "plot", str(session_id), "--out", str(path), "--width-mm", str(width_mm),
            "--json", "--data-dir", str(self.browser.data_dir)])
        if outcome.status != "done" or outcome.result is None:
            self.last_message = f"The figures were not saved: {outcome.message}"
            self.browser.error_label.show_message(self.last_message)
        else:
            self.written = [str(p) for p in outcome.result["written"]]
            self.last_message = (f"Saved the figures of session {session_id} to "
                                 f"{', '.join(self.written)}")
        self.browser.status_message.emit(self.last_message)
        return outcome.status == "done"

    def cancel(self) -> None:
        """Stop a running export (its process is killed)."""
        self._job.cancel()
