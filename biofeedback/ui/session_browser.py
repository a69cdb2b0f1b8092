"""The session browser: every stored session, searchable, to replay or analyse.

The list is read in a worker thread (its own :class:`SessionStore`: SQLite connections are
per thread) and the per-phase analysis runs in a separate process
(``python -m biofeedback analyze ID --json``), so neither the database nor neurokit2 ever
touches the GUI thread. Results are kept in memory per session id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.store.database import SessionStore, SessionSummary
from biofeedback.store.paths import database_path
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.replay_bar import format_hms

__all__ = [
    "EMPTY_MESSAGE",
    "AnalysisTable",
    "SessionBrowser",
    "SessionFilterProxy",
    "SessionTableModel",
    "cli_error_sentence",
]

EMPTY_MESSAGE = "No sessions yet — start one from the Session panel"

SORT_ROLE = Qt.ItemDataRole.UserRole
"""Model role holding the raw value of a cell (numbers sort as numbers, dates as dates)."""

_ModelIndex = QModelIndex | QPersistentModelIndex

_STATUS_COLOURS = {
    "complete": QColor("#2e7d32"),
    "interrupted": QColor("#b35c00"),
    "recording": QColor("#1565c0"),
}


def _plural(n: int, noun: str) -> str:
    """``(1, "session")`` -> ``"1 session"``, ``(3, "session")`` -> ``"3 sessions"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _local_time(started_utc: str) -> str:
    """``2025-03-01T09:05:00.000+00:00`` -> ``"2025-03-01 10:05"`` in local time."""
    try:
        moment = datetime.fromisoformat(started_utc)
    except ValueError:
        return started_utc
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


# -- the session list ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    text: Callable[[SessionSummary], str]
    sort_key: Callable[[SessionSummary], Any]
    searchable: bool
    numeric: bool = False


_SESSION_COLUMNS: tuple[_Column, ...] = (
    _Column("ID", lambda s: str(s.id), lambda s: s.id, True, numeric=True),
    _Column("Participant", lambda s: s.participant_id or "—",
            lambda s: s.participant_id or "", True),
    _Column("Protocol", lambda s: s.protocol_id or "—", lambda s: s.protocol_id or "", True),
    _Column("Date", lambda s: _local_time(s.started_utc), lambda s: s.started_utc, True),
    _Column("Duration", lambda s: format_hms(s.duration_s), lambda s: s.duration_s, False,
            numeric=True),
    _Column("Status", lambda s: s.status, lambda s: s.status, True),
    _Column("Beats", lambda s: str(s.n_beats), lambda s: s.n_beats, False, numeric=True),
    _Column("Source", lambda s: s.source, lambda s: s.source, True),
)


class SessionTableModel(QAbstractTableModel):
    """The stored sessions as table rows: id, participant, protocol, date (local time),
    duration (h:mm:ss), status, beats and source.

    :data:`SORT_ROLE` gives each cell's raw value for sorting.
    """

    COLUMN_HEADERS: tuple[str, ...] = tuple(c.header for c in _SESSION_COLUMNS)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sessions: list[SessionSummary] = []

    def set_sessions(self, sessions: list[SessionSummary]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._sessions = list(sessions)
        self.endResetModel()

    @property
    def sessions(self) -> list[SessionSummary]:
        """The rows, in store order (newest first)."""
        return list(self._sessions)

    def session_at(self, row: int) -> SessionSummary:
        """The session shown in model row ``row``."""
        return self._sessions[row]

    def row_of(self, session_id: int) -> int | None:
        """Model row of a session, or None."""
        return next((i for i, s in enumerate(self._sessions) if s.id == session_id), None)

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        """Number of sessions (Qt override)."""
        return 0 if parent.isValid() else len(self._sessions)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        """Number of columns (Qt override)."""
        return 0 if parent.isValid() else len(_SESSION_COLUMNS)

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, raw value, alignment, colour and tooltip (Qt override)."""
        if not index.isValid():
            return None
        session = self._sessions[index.row()]
        column = _SESSION_COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(session)
        if role == SORT_ROLE:
            return column.sort_key(session)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.header == "Status":
            colour = _STATUS_COLOURS.get(session.status)
            return None if colour is None else QBrush(colour)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.header == "Date":
                return f"Started {session.started_utc} (UTC)"
            if column.header == "Status" and session.status == "interrupted":
                return "The recording stopped unexpectedly; everything up to then is kept."
            if column.header == "Status" and session.status == "recording":
                return "Being recorded now"
        return None

    def headerData(  # noqa: N802 (Qt override)
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Column headers (Qt override)."""
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _SESSION_COLUMNS[section].header
        return None


class SessionFilterProxy(QSortFilterProxyModel):
    """Sorts sessions by raw value and keeps the rows matching every word of a search.

    A row matches when each word (case-insensitive) occurs in its id, participant, protocol,
    date, status or source, so ``p01 interrupted`` finds p01's interrupted sessions.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: tuple[str, ...] = ()
        self.setSortRole(SORT_ROLE)

    def set_search(self, text: str) -> None:
        """Filter on ``text`` (split into words; empty shows everything)."""
        words = tuple(text.casefold().split())
        if words == self._words:
            return
        self.beginFilterChange()
        self._words = words
        self.endFilterChange()

    def filterAcceptsRow(  # noqa: N802 (Qt override)
        self, source_row: int, source_parent: _ModelIndex
    ) -> bool:
        """Whether every search word occurs in the row's searchable columns."""
        if not self._words:
            return True
        model = self.sourceModel()
        haystack = " ".join(
            str(model.data(model.index(source_row, column, source_parent)))
            for column, spec in enumerate(_SESSION_COLUMNS)
            if spec.searchable
        ).casefold()
        return all(word in haystack for word in self._words)


# -- the analysis table --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Metric:
    key: str
    header: str
    fmt: str  # a format spec, "hms" for h:mm:ss, "s" for text, "bool" for yes/no


_ANALYSIS_COLUMNS: tuple[_Metric, ...] = (
    _Metric("name", "Phase", "s"),
    _Metric("kind", "Kind", "s"),
    _Metric("start_s", "Start\n(h:mm:ss)", "hms"),
    _Metric("duration_s", "Duration\n(h:mm:ss)", "hms"),
    _Metric("n_beats", "Beats", "d"),
    _Metric("artifact_pct", "Artifacts\n(%)", ".1f"),
    _Metric("mean_hr_bpm", "HR\n(bpm)", ".1f"),
    _Metric("mean_rr_ms", "Mean RR\n(ms)", ".0f"),
    _Metric("rmssd_ms", "RMSSD\n(ms)", ".1f"),
    _Metric("ln_rmssd", "lnRMSSD\n(ln ms)", ".2f"),
    _Metric("sdnn_ms", "SDNN\n(ms)", ".1f"),
    _Metric("pnn50_pct", "pNN50\n(%)", ".1f"),
    _Metric("sd1_ms", "SD1\n(ms)", ".1f"),
    _Metric("sd2_ms", "SD2\n(ms)", ".1f"),
    _Metric("hf_ms2", "HF\n(ms²)", ".0f"),
    _Metric("lf_ms2", "LF\n(ms²)", ".0f"),
    _Metric("lf_hf", "LF/HF", ".2f"),
    _Metric("breathing_rate_bpm", "Breathing\n(/min)", ".1f"),
    _Metric("hf_valid", "HF\nvalid", "bool"),
)
_HIDDEN_KEYS = frozenset({"phase_id"})

_MISSING_TIP = "Not computed: too few beats, or no gap-free stretch long enough for this index"
_HF_INVALID_TIP = (
    "Breathing was outside 9-24 breaths/min: respiratory sinus arrhythmia is not in the HF "
    "band, so HF does not reflect vagal tone here"
)


def _format_metric(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if fmt == "bool" or isinstance(value, bool):
        return "yes" if value else "no"
    if fmt == "hms":
        return format_hms(float(value))
    if fmt == "s" or not isinstance(value, int | float):
        return str(value)
    return format(value, fmt)


class _AnalysisModel(QAbstractTableModel):
    """Phase rows of an analysis (the ``phases`` list of the CLI's JSON)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.columns: list[_Metric] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        known = {c.key for c in _ANALYSIS_COLUMNS}
        # Whatever else a newer analysis reports is shown too, after the known columns.
        extra = [
            key for row in rows for key in row
            if key not in known and key not in _HIDDEN_KEYS
        ]
        self.columns = [c for c in _ANALYSIS_COLUMNS if any(c.key in r for r in rows)] + [
            _Metric(key, key, ".3g") for key in dict.fromkeys(extra)
        ]
        self.endResetModel()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        metric = self.columns[index.column()]
        value = row.get(metric.key)
        hf_invalid = metric.key in ("hf_ms2", "lf_hf") and not row.get("hf_valid", True)
        if role == Qt.ItemDataRole.DisplayRole:
            return _format_metric(value, metric.fmt)
        if role == SORT_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and metric.fmt not in ("s",):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and hf_invalid and value is not None:
            return QBrush(QColor("#8a8a8a"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if value is None and metric.fmt not in ("s", "bool"):
                return _MISSING_TIP
            if hf_invalid and value is not None:
                return _HF_INVALID_TIP
        return None

    def headerData(  # noqa: N802 (Qt override)
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None


def _summary_line(result: dict[str, Any]) -> str:
    """One line with the settings and library versions behind the numbers."""
    settings = result.get("settings", {})
    versions = result.get("versions", {})
    session = result.get("session", {})
    parts = []
    if "n_beats" in session:
        parts.append(
            f"{session['n_beats']} beats, {format_hms(session.get('duration_s') or 0.0)}, "
            f"{session.get('n_gaps', 0)} gaps"
        )
    if "correction" in settings:
        parts.append(f"artifact correction: {settings['correction']}")
    if "interpolation_rate_hz" in settings:
        parts.append(
            f"spectrum: {settings.get('psd_method', '?')}, "
            f"{settings['interpolation_rate_hz']:g} Hz resampling"
        )
    hf_band = settings.get("hf_band_hz")
    if isinstance(hf_band, list | tuple) and len(hf_band) == 2:
        parts.append(f"HF {hf_band[0]:g}-{hf_band[1]:g} Hz")
    lf_band = settings.get("lf_band_hz")
    if isinstance(lf_band, list | tuple) and len(lf_band) == 2:
        parts.append(f"LF {lf_band[0]:g}-{lf_band[1]:g} Hz")
    if versions:
        order = ("biofeedback", "neurokit2", "numpy", "scipy", "pandas", "python")
        names = [n for n in order if n in versions] + [n for n in versions if n not in order]
        parts.append(", ".join(f"{n} {versions[n]}" for n in names))
    return " · ".join(parts)


class AnalysisTable(QWidget):
    """Per-phase HRV of one session: a title, one row per phase (HR, RMSSD, lnRMSSD, SDNN,
    HF, LF, breathing rate, HF validity... with units in the headers) and a line with the
    settings and library versions.

    Missing indices show as ``–`` with a tooltip saying why; HF and LF/HF are greyed out
    when breathing lay outside the HF band.

    Parameters
    ----------
    parent : QWidget, optional
        Parent widget.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_id: int | None = None
        self.result: dict[str, Any] | None = None
        self.title_label = QLabel("Choose a session and press Analyze", self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self._model = _AnalysisModel(self)
        self.table_view = QTableView(self)
        self.table_view.setModel(self._model)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.verticalHeader().setVisible(False)
        self.table_view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        # Nineteen columns: a slightly smaller font lets a whole row fit a laptop-wide window.
        table_font = self.table_view.font()
        table_font.setPointSizeF(max(7.0, table_font.pointSizeF() - 1.0))
        self.table_view.setFont(table_font)
        self.table_view.verticalHeader().setDefaultSectionSize(
            self.table_view.fontMetrics().height() + 8
        )
        self.table_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.summary_label = QLabel("", self)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setStyleSheet("color: palette(placeholder-text);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.table_view, 1)
        layout.addWidget(self.summary_label)

    def set_result(self, session_id: int, result: dict[str, Any]) -> None:
        """Show an analysis: the JSON of ``biofeedback analyze ID --json`` as a dict."""
        self.session_id = session_id
        self.result = result
        phases = result.get("phases", [])
        self._model.set_rows([p for p in phases if isinstance(p, dict)])
        self.title_label.setText(
            f"Per-phase analysis of session {session_id} — {_plural(len(phases), 'phase')}"
        )
        self.summary_label.setText(_summary_line(result))

    def show_pending(self, session_id: int) -> None:
        """Show that the analysis of ``session_id`` is being computed (no rows yet)."""
        self.clear()
        self.title_label.setText(f"Per-phase analysis of session {session_id} — computing…")

    def clear(self) -> None:
        """Show nothing."""
        self.session_id = None
        self.result = None
        self._model.set_rows([])
        self.title_label.setText("Choose a session and press Analyze")
        self.summary_label.setText("")

    @property
    def row_count(self) -> int:
        """Number of phase rows shown."""
        return self._model.rowCount()

    @property
    def keys(self) -> list[str]:
        """JSON keys of the columns shown, left to right."""
        return [c.key for c in self._model.columns]

    @property
    def headers(self) -> list[str]:
        """Column headers shown (with units), left to right."""
        return [c.header for c in self._model.columns]

    def value(self, row: int, key: str) -> Any:
        """Raw value of ``key`` in phase row ``row`` (as in the JSON)."""
        return self._model.rows[row].get(key)

    def text(self, row: int, key: str) -> str:
        """Text shown for ``key`` in phase row ``row``."""
        column = self.keys.index(key)
        return str(self._model.data(self._model.index(row, column)))


# -- errors from the analysis process ------------------------------------------------------

_CLI_ERROR = re.compile(r"^biofeedback [\w-]+: (?:error: )?(.*)$")


def cli_error_sentence(stderr: str, returncode: int | None) -> str:
    """What a failed ``biofeedback analyze`` said, as a sentence for the user.

    Parameters
    ----------
    stderr : str
        The process's standard error.
    returncode : int or None
        Its exit status (negative: killed by that signal).

    Returns
    -------
    str
        The CLI's own message without its ``biofeedback analyze: error:`` prefix, e.g.
        ``"No session 9 in /home/me/.local/share/biofeedback/biofeedback.sqlite3"``.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        match = _CLI_ERROR.match(line)
        if match:
            text = " ".join([match.group(1), *lines[i + 1 :]])
            return text[:1].upper() + text[1:]
    if lines and not lines[-1].startswith(("Traceback", "File ")):
        text = lines[-1]
        return text[:1].upper() + text[1:]
    if returncode is not None and returncode < 0:
        return f"The analysis process was stopped by signal {-returncode}."
    return f"The analysis stopped with exit status {returncode} and no message."


# -- the browser ---------------------------------------------------------------------------


def _load_sessions(data_dir: Path) -> list[SessionSummary]:
    """Read the session list (runs in a worker thread, with its own connection)."""
    if not database_path(data_dir).exists():
        return []  # browsing must not create a database
    with SessionStore.open(data_dir) as store:
        return store.list_sessions()


class _SessionTableView(QTableView):
    """The session table; Enter opens the selected session for replay."""

    activated_by_key = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated_by_key.emit()
            event.accept()
            return
        super().keyPressEvent(event)


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

    Notes
    -----
    Nothing is loaded until :meth:`refresh` is awaited (the window does it when the browser
    is first shown and after a recording ends). Call :meth:`cancel_analysis` before closing
    the window so no analysis process outlives it.
    """

    replay_requested = Signal(int)
    analysis_finished = Signal(int, object)
    status_message = Signal(str)

    def __init__(
        self, data_dir: Path, parent: QWidget | None = None, *, correction: str = "kubios"
    ) -> None:
        super().__init__(parent)
        self._data_dir = Path(data_dir)
        self._correction = correction
        self._cache: dict[int, dict[str, Any]] = {}
        self._analysed_summary: dict[int, SessionSummary] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._analysing_id: int | None = None
        self._generation = 0
        self._cancelled_generation = -1
        self._analysis_started = 0.0
        self._refresh_count = 0
        self._load_error: str | None = None

        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search participant, protocol, date, status or id")
        self.search_edit.setClearButtonEnabled(True)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Read the session list again")

        self.model = SessionTableModel(self)
        self.proxy = SessionFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table_view = _SessionTableView(self)
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

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 0)  # busy indicator: analysis reports no progress
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumWidth(160)
        self.elapsed_label = QLabel("", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the analysis")
        self.progress_row = QWidget(self)
        progress_layout = QHBoxLayout(self.progress_row)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_layout.addWidget(self.progress_bar)
        progress_layout.addWidget(self.elapsed_label, 1)
        progress_layout.addWidget(self.cancel_button)
        self.progress_row.hide()

        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.error_label.setStyleSheet(
            "QLabel { color: #8b1a1a; background: #fdecea; padding: 6px; }"
        )
        self.error_label.hide()

        self.analysis_table = AnalysisTable(self)

        self._elapsed_timer = QTimer(self)
        self._elapsed_timer.setInterval(100)
        self._elapsed_timer.timeout.connect(self._show_elapsed)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.addWidget(self.count_label, 1)
        actions.addWidget(self.replay_button)
        actions.addWidget(self.analyze_button)
        sessions_part = QWidget(self)
        sessions_layout = QVBoxLayout(sessions_part)
        sessions_layout.setContentsMargins(0, 0, 0, 0)
        sessions_layout.addLayout(top)
        sessions_layout.addWidget(self._list_stack, 1)
        sessions_layout.addLayout(actions)
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
        self._update_list_state()

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
        return self._process is not None

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
            sessions = await asyncio.to_thread(_load_sessions, self._data_dir)
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
        found = f"{_plural(len(sessions), 'session')} in {self._data_dir}"
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
            self.count_label.setText(_plural(total, "session"))
        else:
            search = self.search_edit.text().strip()
            self.count_label.setText(
                f"{shown} of {_plural(total, 'session')} match{'es' if total == 1 else ''} "
                f"“{search}”"
            )
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        has_selection = self.selected_session_id() is not None
        self.replay_button.setEnabled(has_selection)
        self.analyze_button.setEnabled(has_selection)

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
            if self._process is not None:
                # The user moved on: the running analysis must not replace this one later.
                self._kill_process()
                self._generation += 1
                self._end_progress()
            self._show_result(session_id, cached)
            self.status_message.emit(f"Analysis of session {session_id} (computed before)")
            self.analysis_finished.emit(session_id, cached)
            return cached
        self._kill_process()
        self._generation += 1
        generation = self._generation
        self._analysing_id = session_id
        self._analysis_started = time.monotonic()
        self.error_label.hide()
        self.analysis_table.show_pending(session_id)
        self.progress_row.show()
        self._show_elapsed()
        self._elapsed_timer.start()
        self.status_message.emit(f"Analysing session {session_id}…")
        command = (
            sys.executable, "-m", "biofeedback", "analyze", str(session_id), "--json",
            "--correction", self._correction, "--data-dir", str(self._data_dir),
        )
        process: asyncio.subprocess.Process | None = None
        try:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                    # The CLI reads an existing file of that name before a session id.
                    cwd=str(self._data_dir) if self._data_dir.is_dir() else None,
                )
            except OSError as exc:
                return self._fail(generation, f"The analysis could not be started: {exc}")
            self._process = process
            stdout, stderr = await process.communicate()
        finally:
            if process is not None and process.returncode is None:
                # The coroutine was cancelled (window closing): leave no process behind,
                # and reap it so no zombie is left either.
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.wait(), 2.0)
            if self._process is process:
                self._process = None
        if generation != self._generation:
            return None  # superseded by a newer analysis, which owns the display now
        if generation == self._cancelled_generation:
            self._end_progress()
            self.analysis_table.clear()
            self.status_message.emit(f"Analysis of session {session_id} cancelled")
            return None
        if process.returncode != 0:
            message = cli_error_sentence(stderr.decode("utf-8", "replace"), process.returncode)
            return self._fail(generation, message)
        try:
            result = json.loads(stdout.decode("utf-8"))
            if not isinstance(result, dict) or not isinstance(result.get("phases"), list):
                raise ValueError("no phases")
        except (UnicodeDecodeError, ValueError):
            return self._fail(generation, "The analysis did not return a readable result.")
        self._end_progress()
        self._cache[session_id] = result
        summary = next((s for s in self.model.sessions if s.id == session_id), None)
        if summary is not None:
            self._analysed_summary[session_id] = summary
        self._show_result(session_id, result)
        elapsed = time.monotonic() - self._analysis_started
        self.status_message.emit(f"Analysed session {session_id} in {elapsed:.1f} s")
        self.analysis_finished.emit(session_id, result)
        return result

    def cancel_analysis(self) -> None:
        """Stop the running analysis (its process is killed); nothing happens if none runs."""
        if self._process is None:
            return
        self._cancelled_generation = self._generation
        self._kill_process()

    def _kill_process(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def _fail(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._end_progress()
            self.analysis_table.clear()
            self.error_label.setText(message)
            self.error_label.show()
            self.status_message.emit(message)

    def _end_progress(self) -> None:
        self._elapsed_timer.stop()
        self.progress_row.hide()
        self._analysing_id = None

    def _show_elapsed(self) -> None:
        elapsed = time.monotonic() - self._analysis_started
        self.elapsed_label.setText(
            f"Analysing session {self._analysing_id} ({self._correction} artifact correction)"
            f"… {elapsed:.1f} s"
        )

    def _show_result(self, session_id: int, result: dict[str, Any]) -> None:
        self.error_label.hide()
        self.analysis_table.set_result(session_id, result)
