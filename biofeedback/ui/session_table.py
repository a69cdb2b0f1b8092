"""The session list: a table model of stored sessions, its search-and-sort proxy and view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QTableView

from biofeedback.ui.replay_bar import format_hms
from biofeedback.viewmodels.queries import SessionSummary

__all__ = ["SORT_ROLE", "SessionFilterProxy", "SessionTableModel", "SessionTableView", "plural"]

SORT_ROLE = Qt.ItemDataRole.UserRole
"""Model role holding the raw value of a cell (numbers sort as numbers, dates as dates)."""

_ModelIndex = QModelIndex | QPersistentModelIndex

_STATUS_COLOURS = {
    "complete": QColor("#2e7d32"),
    "interrupted": QColor("#b35c00"),
    "recording": QColor("#1565c0"),
}



def plural(n: int, noun: str) -> str:
    """``(1, "session")`` -> ``"1 session"``, ``(3, "session")`` -> ``"3 sessions"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _local_time(started_utc: str) -> str:
    """``2025-03-01T09:05:00.000+00:00`` -> ``"2025-03-01 10:05"`` in local time."""
    try:
        moment = datetime.fromisoformat(started_utc)
    except ValueError:
        return started_utc
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")



def _date_tooltip(session: SessionSummary) -> str:
    if not session.start_known:
        return (f"The imported file tells no start time; imported {session.started_utc} "
                "(UTC)")
    try:
        aware = datetime.fromisoformat(session.started_utc).tzinfo is not None
    except ValueError:
        aware = True
    if aware:
        return f"Started {session.started_utc} (UTC)"
    return f"Started {session.started_utc} (the recording device's local time)"


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
    _Column("Date", lambda s: _local_time(s.started_utc) if s.start_known else
            f"({_local_time(s.started_utc)[:10]} import)", lambda s: s.started_utc, True),
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
                return _date_tooltip(session)
            if column.header == "Status" and session.status == "interrupted":
                why = f" ({session.end_reason})" if session.end_reason else ""
                return f"The recording stopped unexpectedly{why}; everything up to then is kept."
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


class SessionTableView(QTableView):
    """The session table; Enter opens the selected session for replay."""

    activated_by_key = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated_by_key.emit()
            event.accept()
            return
        super().keyPressEvent(event)

