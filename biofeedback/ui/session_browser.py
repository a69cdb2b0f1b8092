"""The session browser: every stored session, searchable, to replay or analyse.

The list is read in a worker thread (through :mod:`biofeedback.viewmodels.queries`, with its own
connection: SQLite connections are per thread) and the per-phase analysis runs in a separate
process (``biofeedback analyze ID --json``, see :mod:`biofeedback.ui.cli_job`), so neither the
database nor neurokit2 ever touches the GUI thread. That process is kept warm
(:mod:`biofeedback.ui.warm_worker`): the first Analyze starts it and pays neurokit2's import,
the next ones answer in a fraction of a second. Results are kept in memory per session id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.ui.analysis_table import AnalysisTable
from biofeedback.ui.cli_job import CliJob, cli_error_sentence
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.import_dialog import ImportSummaryDialog
from biofeedback.ui.import_job import ImportRunner
from biofeedback.ui.session_figures import SessionFigures
from biofeedback.ui.session_table import (
    SORT_ROLE,
    SessionFilterProxy,
    SessionTableModel,
    SessionTableView,
    plural,
)
from biofeedback.ui.warm_worker import WarmWorker
from biofeedback.ui.widgets import ErrorLabel, ProgressRow
from biofeedback.viewmodels.import_summary import ImportSummaryView
from biofeedback.viewmodels.queries import SessionSummary, list_sessions

__all__ = [
    "EMPTY_MESSAGE",
    "AnalysisTable",
    "SessionBrowser",
    "SessionFilterProxy",
    "SessionTableModel",
    "cli_error_sentence",
]

EMPTY_MESSAGE = (
    "No sessions yet — start one from the Session panel, or import recordings of another "
    "app (File > Import…, or drop files or folders here)"
)


class SessionBrowser(QWidget):
    """The list of stored sessions with search, replay and per-phase analysis.

    Parameters
    ----------
    data_dir : Path
        The data folder (already resolved, see
        :func:`biofeedback.store.paths.resolve_data_dir`); the database is
        ``data_dir / "biofeedback.sqlite3"``.
    parent : QWidget, optional
        Parent widget.
    correction : {"kubios", "none"}
        Artifact correction of the analysis (``--correction`` of ``biofeedback analyze``).

    Signals
    -------
    replay_requested(int)
        The user asked to replay this session id (Replay button, double-click or Enter).
    analysis_finished(int, object)
        Session id and its analysis: the dict printed by ``biofeedback analyze ID --json``
        (``session``, ``phases``, ``settings``, ``versions``).
    status_message(str)
        A short sentence for the window's status bar.
    import_finished(object)
        An import ended with a summary (its
        :class:`~biofeedback.viewmodels.import_summary.ImportSummaryView`); the list was
        read again by then.

    Notes
    -----
    Nothing is loaded until :meth:`refresh` is awaited (the window does it when the browser
    is first shown and after a recording ends). Call :meth:`cancel_analysis` and
    :meth:`stop_worker` before closing the window so no analysis process outlives it
    (closing the browser itself does both).
    """

    replay_requested = Signal(int)
    analysis_finished = Signal(int, object)
    status_message = Signal(str)
    import_finished = Signal(object)

    def __init__(
        self, data_dir: Path, parent: QWidget | None = None, *, correction: str = "kubios"
    ) -> None:
        super().__init__(parent)
        self._data_dir = Path(data_dir)
        self._correction = correction
        self._cache: dict[int, dict[str, Any]] = {}
        self._analysed_summary: dict[int, SessionSummary] = {}
        self.worker = WarmWorker()
        """The warm analysis process: started by the first Analyze, kept for the next."""
        self._job = CliJob("analysis", "phases", worker=self.worker)
        self._analysing_id: int | None = None
        self._refresh_count = 0
        self._load_error: str | None = None
        self.import_dialog: ImportSummaryDialog | None = None
        """The summary dialog of the last import (None until one finished)."""
        self._import_task: asyncio.Task[ImportSummaryView | None] | None = None

        sessions_part = self._build_session_list()
        self.progress_row = ProgressRow("Stop the analysis", self)
        self.progress_bar = self.progress_row.bar
        self.elapsed_label = self.progress_row.label
        self.cancel_button = self.progress_row.cancel_button
        self.error_label = ErrorLabel(self)
        self.analysis_table = AnalysisTable(self)
        analysis_part = QWidget(self)
        analysis_layout = QVBoxLayout(analysis_part)
        analysis_layout.setContentsMargins(0, 0, 0, 0)
        analysis_layout.addWidget(self.progress_row)
        analysis_layout.addWidget(self.error_label)
        analysis_layout.addWidget(self.analysis_table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(sessions_part)
        splitter.addWidget(analysis_part)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.search_edit.textChanged.connect(self._on_search)
        self.refresh_button.clicked.connect(lambda: spawn(self.refresh()))
        self.replay_button.clicked.connect(self._request_replay)
        self.analyze_button.clicked.connect(self._request_analysis)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.table_view.doubleClicked.connect(lambda _index: self._request_replay())
        self.table_view.activated_by_key.connect(self._request_replay)
        self.table_view.selectionModel().selectionChanged.connect(self._sync_buttons)
        self.importer.status_message.connect(self.status_message)
        self.importer.summary_requested.connect(self.show_import_summary)
        # Files and folders dropped anywhere on the tab are imported.
        self.setAcceptDrops(True)
        self._update_list_state()

    def _build_session_list(self) -> QWidget:
        """The search line, the session table (or the empty message) and the action buttons."""
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search participant, protocol, date, status or id")
        self.search_edit.setClearButtonEnabled(True)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Read the session list again")
        self.importer = ImportRunner(self._data_dir, self)

        self.model = SessionTableModel(self)
        self.proxy = SessionFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table_view = SessionTableView(self)
        self.table_view.setModel(self.proxy)
        self.table_view.setSortingEnabled(True)
        self.table_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.verticalHeader().setVisible(False)
        self.table_view.verticalHeader().setDefaultSectionSize(
            self.table_view.fontMetrics().height() + 10
        )
        header = self.table_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.empty_label = QLabel(EMPTY_MESSAGE, self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); font-size: 14px;")
        self._list_stack = QStackedWidget(self)
        self._list_stack.addWidget(self.table_view)
        self._list_stack.addWidget(self.empty_label)

        self.count_label = QLabel("", self)
        self.replay_button = QPushButton("Replay", self)
        self.replay_button.setToolTip("Replay the session through the live view (double-click)")
        self.analyze_button = QPushButton("Analyze", self)
        self.analyze_button.setToolTip("Per-phase HRV of the session (computed in the background)")
        self.figures = SessionFigures(self)
        self.figures_button = QPushButton("Save figures…", self)
        self.figures_button.setToolTip("The session's publication figures (tachogram, "
                                       "trajectories, per-phase indices) as PDF, PNG or SVG")
        self.figures_button.clicked.connect(self.figures.ask_and_save)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.addWidget(self.count_label, 1)
        actions.addWidget(self.replay_button)
        actions.addWidget(self.analyze_button)
        actions.addWidget(self.figures_button)
        sessions_part = QWidget(self)
        sessions_layout = QVBoxLayout(sessions_part)
        sessions_layout.setContentsMargins(0, 0, 0, 0)
        sessions_layout.addLayout(top)
        sessions_layout.addWidget(self.importer)
        sessions_layout.addWidget(self._list_stack, 1)
        sessions_layout.addLayout(actions)
        return sessions_part


    # -- properties ------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The data folder whose sessions are listed."""
        return self._data_dir

    @property
    def sessions(self) -> list[SessionSummary]:
        """Every session last loaded (newest first), whatever the search."""
        return self.model.sessions

    def visible_session_ids(self) -> list[int]:
        """Ids of the rows shown, top to bottom (after search and sort)."""
        return [
            int(self.proxy.data(self.proxy.index(row, 0), SORT_ROLE))
            for row in range(self.proxy.rowCount())
        ]

    def selected_session_id(self) -> int | None:
        """Id of the selected session, or None."""
        rows = self.table_view.selectionModel().selectedRows()
        if not rows:
            return None
        return int(self.proxy.data(rows[0].siblingAtColumn(0), SORT_ROLE))

    def select_session(self, session_id: int) -> bool:
        """Select a session's row; False when it is not shown (unknown or filtered out)."""
        row = self.model.row_of(session_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table_view.selectRow(index.row())
        self.table_view.scrollTo(index)
        return True

    def cached_analysis(self, session_id: int) -> dict[str, Any] | None:
        """The analysis computed earlier for a session, or None."""
        return self._cache.get(session_id)

    @property
    def analysis_running(self) -> bool:
        """Whether an analysis process is running."""
        return self._job.running

    # -- loading ---------------------------------------------------------------------------

    async def refresh(self) -> list[SessionSummary]:
        """Read the session list again (in a worker thread) and show it.

        The selection is kept when its session is still there. Cached analyses of sessions
        that changed since (a recording that went on) are dropped.

        Returns
        -------
        list of SessionSummary
            The sessions, newest first (empty when the database cannot be read; the reason
            is shown in the list's place).
        """
        self._refresh_count += 1
        ticket = self._refresh_count
        selected = self.selected_session_id()
        self.refresh_button.setEnabled(False)
        try:
            sessions = await asyncio.to_thread(list_sessions, self._data_dir)
            error = None
        except (BiofeedbackError, OSError) as exc:
            sessions, error = [], f"The session list cannot be read: {exc}"
        finally:
            self.refresh_button.setEnabled(True)
        if ticket != self._refresh_count:
            return sessions  # a later refresh is under way and will show its own result
        self._load_error = error
        for session in sessions:
            before = self._analysed_summary.get(session.id)
            if before is not None and before != session:
                self._cache.pop(session.id, None)
                self._analysed_summary.pop(session.id, None)
        self.model.set_sessions(sessions)
        if selected is not None:
            self.select_session(selected)
        self._update_list_state()
        found = f"{plural(len(sessions), 'session')} in {self._data_dir}"
        self.status_message.emit(error or found)
        return sessions

    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_list_state()

    def _update_list_state(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if self._load_error is not None:
            self.empty_label.setText(self._load_error)
            self._list_stack.setCurrentWidget(self.empty_label)
        elif total == 0:
            self.empty_label.setText(EMPTY_MESSAGE)
            self._list_stack.setCurrentWidget(self.empty_label)
        else:
            self._list_stack.setCurrentWidget(self.table_view)
        if total == 0:
            self.count_label.setText("")
        elif shown == total:
            self.count_label.setText(plural(total, "session"))
        else:
            search = self.search_edit.text().strip()
            self.count_label.setText(
                f"{shown} of {plural(total, 'session')} match{'es' if total == 1 else ''} "
                f"“{search}”"
            )
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        has_selection = self.selected_session_id() is not None
        self.replay_button.setEnabled(has_selection)
        self.analyze_button.setEnabled(has_selection)
        self.figures_button.setEnabled(has_selection)

    # -- actions ---------------------------------------------------------------------------

    def _request_replay(self) -> None:
        session_id = self.selected_session_id()
        if session_id is not None:
            self.status_message.emit(f"Replaying session {session_id}")
            self.replay_requested.emit(session_id)

    def _request_analysis(self) -> None:
        session_id = self.selected_session_id()
        if session_id is not None:
            spawn(self.analyze(session_id))

    async def analyze(self, session_id: int) -> dict[str, Any] | None:
        """Show the per-phase analysis of a session, computing it in a separate process.

        Runs ``python -m biofeedback analyze ID --json --correction C --data-dir DIR`` with a
        busy indicator, the elapsed seconds and a Cancel button; the GUI stays responsive
        throughout. A result computed before is shown at once. Starting another analysis
        stops the one running.

        Parameters
        ----------
        session_id : int
            The session to analyse.

        Returns
        -------
        dict or None
            The analysis (``session``, ``phases``, ``settings``, ``versions``), also emitted
            with :attr:`analysis_finished`; None when it failed (the reason is shown in
            words) or was cancelled.
        """
        cached = self._cache.get(session_id)
        if cached is not None:
            if self._job.running:
                # The user moved on: the running analysis must not replace this one later.
                self._job.supersede()
                self._end_progress()
            self._show_result(session_id, cached)
            self.status_message.emit(f"Analysis of session {session_id} (computed before)")
            self.analysis_finished.emit(session_id, cached)
            return cached
        self._analysing_id = session_id
        self.error_label.hide()
        self.analysis_table.show_pending(session_id)
        self.progress_row.start(self._describe_progress)
        self.status_message.emit(f"Analysing session {session_id}…")
        outcome = await self._job.run(
            ("analyze", str(session_id), "--json", "--correction", self._correction,
             "--data-dir", str(self._data_dir)),
            # The CLI reads an existing file of that name before a session id.
            cwd=self._data_dir if self._data_dir.is_dir() else None,
        )
        if outcome.status == "superseded":
            return None  # a newer analysis owns the display now
        if outcome.status == "cancelled":
            self._end_progress()
            self.analysis_table.clear()
            self.status_message.emit(f"Analysis of session {session_id} cancelled")
            return None
        if outcome.status == "failed" or outcome.result is None:
            self._fail(outcome.message)
            return None
        result = outcome.result
        elapsed = self.progress_row.elapsed_s
        self._end_progress()
        self._cache[session_id] = result
        summary = next((s for s in self.model.sessions if s.id == session_id), None)
        if summary is not None:
            self._analysed_summary[session_id] = summary
        self._show_result(session_id, result)
        self.status_message.emit(f"Analysed session {session_id} in {elapsed:.1f} s")
        self.analysis_finished.emit(session_id, result)
        return result

    def cancel_analysis(self) -> None:
        """Stop the running analysis (its process is killed); nothing happens if none runs."""
        self._job.cancel()

    def stop_worker(self) -> None:
        """End the warm analysis process (a running analysis with it); the next Analyze
        starts a new one."""
        self._job.cancel()
        self.worker.kill()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """A closed browser leaves no analysis or figure process behind."""
        self.stop_worker()
        self.figures.cancel()
        super().closeEvent(event)

    @property
    def _process(self) -> asyncio.subprocess.Process | None:
        """The process running an analysis, while it does (for tests that check it was
        killed); the idle warm worker is :attr:`worker`."""
        return self._job.process

    def _fail(self, message: str) -> None:
        self._end_progress()
        self.analysis_table.clear()
        self.error_label.show_message(message)
        self.status_message.emit(message)

    def _end_progress(self) -> None:
        self.progress_row.stop()
        self._analysing_id = None

    def _describe_progress(self, elapsed_s: float) -> str:
        return (
            f"Analysing session {self._analysing_id} ({self._correction} artifact correction)"
            f"… {elapsed_s:.1f} s"
        )

    def _show_result(self, session_id: int, result: dict[str, Any]) -> None:
        self.error_label.hide()
        self.analysis_table.set_result(session_id, result)

    # -- importing -------------------------------------------------------------------------

    @property
    def import_running(self) -> bool:
        """Whether an import was asked for and has not ended (its process may not have
        started yet: a second import then must not supersede it)."""
        task = self._import_task
        return self.importer.running or (task is not None and not task.done())

    def import_paths(
        self, paths: Sequence[str | Path]
    ) -> asyncio.Task[ImportSummaryView | None] | None:
        """Import files, folders and zip files in the background (see :meth:`run_import`).

        Returns
        -------
        asyncio.Task or None
            The import's task; None when nothing was given or an import already runs (the
            user is told so).
        """
        if not paths:
            return None
        if self.import_running:
            self.status_message.emit(
                "An import is running; wait for it to finish (or cancel it) first."
            )
            return None
        self._import_task = spawn(self.run_import(paths))
        return self._import_task

    async def run_import(self, paths: Sequence[str | Path]) -> ImportSummaryView | None:
        """Import ``paths`` with ``biofeedback import`` in a subprocess, then list again.

        A progress bar (files done of all) with Cancel shows meanwhile; the GUI stays
        responsive. When it ends the session list is read again, the first new session is
        selected and the summary dialog lists what was imported and refused.

        Parameters
        ----------
        paths : sequence of str or Path
            Files, folders and zip files.

        Returns
        -------
        ImportSummaryView or None
            The summary, also emitted with :attr:`import_finished`; None when the import
            could not run (the reason is shown in words) or was cancelled.
        """
        summary = await self.importer.run(paths)
        # Also after a cancel: the recordings finished before it are stored.
        await self.refresh()
        if summary is None:
            return None
        if summary.session_ids:
            self.search_edit.clear()  # a search could hide the new sessions
            self.select_session(summary.session_ids[0])
        self.show_import_summary(summary)
        self.status_message.emit(summary.headline)
        self.import_finished.emit(summary)
        return summary

    def show_import_summary(self, summary: ImportSummaryView) -> ImportSummaryDialog:
        """Show (non-modal) the dialog listing what an import stored and refused."""
        if self.import_dialog is not None:
            self.import_dialog.close()
            self.import_dialog.deleteLater()
        dialog = ImportSummaryDialog(summary, self.window())
        dialog.session_chosen.connect(self.select_session)
        self.import_dialog = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def cancel_import(self) -> None:
        """Stop the running import, also one whose process is still starting (the window
        is closing); nothing happens if none runs."""
        self.importer.cancel()
        if self._import_task is not None and not self.importer.running:
            self._import_task.cancel()

    @staticmethod
    def dropped_paths(mime: QMimeData) -> list[Path]:
        """The local files and folders in dragged data (other URLs are ignored)."""
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        """Files or folders dragged over the tab can be dropped to import them."""
        if self.dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        """Keep accepting files over every part of the tab."""
        if self.dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        """Import the dropped files and folders."""
        paths = self.dropped_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_paths(paths)
