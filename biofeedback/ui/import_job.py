"""Importing files from the window: ``biofeedback import`` in a subprocess, with progress.

The window never reads a recording itself: it runs ``python -m biofeedback import PATH...
--json --progress-json --data-dir DIR`` (see :mod:`biofeedback.ui.cli_job`), so neither the
readers, the R-peak detection of an ECG nor the database touch the GUI thread. The command's
progress lines move a files-done bar; its summary becomes an
:class:`~biofeedback.viewmodels.import_summary.ImportSummaryView`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from biofeedback.ui.cli_job import CliJob
from biofeedback.ui.widgets import ErrorLabel, ProgressRow
from biofeedback.viewmodels.import_summary import (
    ImportProgress,
    ImportSummaryView,
    import_command,
    parse_progress_line,
    summary_from_json,
)

logger = logging.getLogger(__name__)

__all__ = ["ImportRunner"]


class ImportRunner(QWidget):
    """The import row of the Sessions tab: progress with Cancel while an import runs, then
    its headline with a button that shows the summary again.

    Parameters
    ----------
    data_dir : Path
        The window's data folder (``--data-dir`` of the command).
    parent : QWidget, optional
        Parent widget.

    Signals
    -------
    status_message(str)
        A short sentence for the window's status bar.
    summary_requested(object)
        The user asked to see the last summary again (its :class:`ImportSummaryView`).
    """

    status_message = Signal(str)
    summary_requested = Signal(object)

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data_dir = Path(data_dir)
        self._job = CliJob(
            "import", "imported", on_stderr_line=self._on_stderr_line, result_on_error=True
        )
        self._progress: ImportProgress | None = None
        self._n_paths = 0
        self.last_summary: ImportSummaryView | None = None
        """The summary of the last import that finished, or None."""
        self.progress_seen: list[ImportProgress] = []
        """Every progress report of the running (or last) import, in order."""

        self.progress_row = ProgressRow(
            "Stop the import (recordings already imported are kept)", self,
            bar_width=220, bar_format="%v / %m files",
        )
        self.progress_bar = self.progress_row.bar
        self.progress_label = self.progress_row.label
        self.cancel_button = self.progress_row.cancel_button
        self.error_label = ErrorLabel(self)
        self.headline_label = QLabel("", self)
        self.headline_label.setWordWrap(True)
        self.summary_button = QPushButton("Show import summary", self)
        self.summary_button.setToolTip("The files imported and refused by the last import")
        self._last_row = QWidget(self)
        last = QHBoxLayout(self._last_row)
        last.setContentsMargins(0, 0, 0, 0)
        last.addWidget(self.headline_label, 1)
        last.addWidget(self.summary_button)
        self._last_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self._last_row)

        self.cancel_button.clicked.connect(self.cancel)
        self.summary_button.clicked.connect(self._request_summary)

    @property
    def running(self) -> bool:
        """Whether an import process is running."""
        return self._job.running

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The running import process (for tests that watch it)."""
        return self._job.process

    async def run(self, paths: Sequence[str | Path]) -> ImportSummaryView | None:
        """Import ``paths`` (files, folders, zip files) into the data folder.

        Parameters
        ----------
        paths : sequence of str or Path
            What the user chose or dropped.

        Returns
        -------
        ImportSummaryView or None
            What was imported and refused (also when something was refused: the command
            exits with 1 then, yet prints its summary); None when the import could not run
            (the reason is shown in words) or was cancelled.
        """
        if not paths:
            return None
        self._progress = None
        self._n_paths = len(paths)
        self.progress_seen = []
        self.error_label.hide()
        self._last_row.hide()
        self.progress_row.start(self._describe_progress)
        self.status_message.emit(self._describe_start())
        outcome = await self._job.run(import_command(paths, self._data_dir))
        if outcome.status == "superseded":
            return None
        self.progress_row.stop()
        if outcome.status == "cancelled":
            message = "Import stopped"
            if self._progress is not None:
                message += f" after {self._progress.done} of {self._progress.total} files"
            message += "; the recordings imported before that are kept."
            self._show_headline(message, with_summary=False)
            self.status_message.emit(message)
            return None
        if outcome.status == "failed" or outcome.result is None:
            self._fail(outcome.message or "The import did not run.")
            return None
        try:
            summary = summary_from_json(outcome.result)
        except ValueError:
            logger.debug("unreadable import summary: %r", outcome.result, exc_info=True)
            self._fail("The import did not return a readable summary.")
            return None
        self.last_summary = summary
        self._show_headline(summary.headline + ".", with_summary=True)
        self.status_message.emit(summary.headline)
        return summary

    def cancel(self) -> None:
        """Stop the running import (its process is killed; each recording is stored in its
        own transaction, so those done stay and the one under way leaves nothing)."""
        self._job.cancel()

    # -- internals -------------------------------------------------------------------------

    def _on_stderr_line(self, line: str) -> bool:
        progress = parse_progress_line(line)
        if progress is None:
            return False
        self._progress = progress
        self.progress_seen.append(progress)
        self.progress_row.set_progress(progress.done, progress.total)
        return True

    def _describe_start(self) -> str:
        return f"Importing {self._n_paths} {'item' if self._n_paths == 1 else 'items'}…"

    def _describe_progress(self, elapsed_s: float) -> str:
        text = self._describe_start() if self._progress is None else self._progress.text()
        return f"{text} {elapsed_s:.1f} s"

    def _fail(self, message: str) -> None:
        self.error_label.show_message(f"Could not import: {message}")
        self.status_message.emit(f"Could not import: {message}")

    def _show_headline(self, text: str, *, with_summary: bool) -> None:
        self.headline_label.setText(text)
        self.summary_button.setVisible(with_summary)
        self._last_row.show()

    def _request_summary(self) -> None:
        if self.last_summary is not None:
            self.summary_requested.emit(self.last_summary)
