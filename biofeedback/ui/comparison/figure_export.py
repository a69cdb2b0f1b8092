"""Save figure... on the Compare tab's plots and Export report...: the publication figures
and the reports, written by ``biofeedback plot`` and ``biofeedback report`` in a subprocess.

The window never loads matplotlib: a figure is drawn by ``plot --result FILE.json`` from the
comparison result the tab already shows (written to a temporary file, so nothing is compared
again), a report by ``report --study NAME`` (which runs its comparison itself).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from biofeedback.ui.cli_job import CliJob
from biofeedback.ui.event_loop import spawn

if TYPE_CHECKING:
    from biofeedback.ui.comparison.view import ComparisonView

__all__ = ["SAVE_FIGURE", "FigureExport"]

SAVE_FIGURE = "Save figure…"
"""The plots' context-menu action."""

_FIGURE_FILTER = "PNG image, 300 dpi (*.png);;SVG drawing (*.svg);;PDF (*.pdf)"
_REPORT_FILTER = "HTML report (*.html);;PDF report (*.pdf)"


class FigureExport:
    """The Compare tab's figure and report exports (one job at a time)."""

    def __init__(self, view: ComparisonView) -> None:
        self.view = view
        self._job = CliJob("export", "written")
        self.last_message = ""

    def attach(self, plot_item: Any, figure: str) -> None:
        """Add "Save figure…" (the publication figure ``figure``) to a pyqtgraph plot's
        right-click menu; once per plot item."""
        menu = plot_item.getViewBox().menu
        if any(a.text() == SAVE_FIGURE for a in menu.actions()):
            return
        menu.addSeparator()
        menu.addAction(SAVE_FIGURE).triggered.connect(lambda: self.ask_and_save(figure))

    def ask_and_save(self, figure: str) -> None:
        """Ask where to save ``figure``, then write it."""
        path, _ = QFileDialog.getSaveFileName(self.view, "Save figure", f"{figure}.png",
                                              _FIGURE_FILTER)
        if path:
            spawn(self.save_figure(figure, Path(path)))

    def ask_and_export(self) -> None:
        """Ask where to write the study report, then write it."""
        study = self._study()
        path, _ = QFileDialog.getSaveFileName(self.view, "Export report",
                                              f"study-{study or 'report'}.html",
                                              _REPORT_FILTER)
        if path:
            spawn(self.export_report(Path(path)))

    def _study(self) -> str | None:
        result = self.view.result or {}
        study = result.get("settings", {}).get("study")
        return str(study) if study else None

    async def save_figure(self, figure: str, path: Path, *, width_mm: int = 85) -> bool:
        """Write the publication figure ``figure`` of the shown result to ``path`` (its
        extension picks PNG, SVG or PDF). Returns whether it was written; the status bar
        says what happened either way."""
        result = self.view.result
        if result is None:
            return self._tell("Nothing to save yet: run a comparison first.", False)
        with tempfile.TemporaryDirectory(prefix="biofeedback-figure-") as folder:
            saved = Path(folder) / "result.json"
            saved.write_text(json.dumps(result), encoding="utf-8")
            outcome = await self._job.run([
                "plot", "--result", str(saved), "--figure", figure, "--out", str(path),
                "--width-mm", str(width_mm), "--json"])
        if outcome.status != "done":
            return self._tell(f"The figure was not saved: {outcome.message}", False)
        return self._tell(f"Saved the figure {figure} to {path}", True)

    async def export_report(self, path: Path) -> bool:
        """Write the report of the shown study to ``path`` (.html or .pdf)."""
        study = self._study()
        if study is None:
            return self._tell("Export report needs a study's comparison (a report is made "
                              "per study).", False)
        args = ["report", "--study", study, "--out", str(path), "--json",
                "--data-dir", str(self.view.data_dir)]
        rr_source = (self.view.result or {}).get("settings", {}).get("rr_source", "strap")
        if rr_source != "strap":
            args += ["--rr-source", str(rr_source)]
        self.view.status_message.emit(f"Writing the report of study {study}…")
        outcome = await self._job.run(args)
        if outcome.status != "done":
            return self._tell(f"The report was not written: {outcome.message}", False)
        return self._tell(f"Wrote the report of study {study} to {path}", True)

    def _tell(self, message: str, ok: bool) -> bool:
        self.last_message = message
        self.view.status_message.emit(message)
        if not ok:
            self.view.error_label.show_message(message)
        return ok

    def cancel(self) -> None:
        """Stop a running export (its process is killed)."""
        self._job.cancel()
