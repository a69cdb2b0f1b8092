"""The summary of an import: the recordings stored and the files refused, with their reason.

It draws an :class:`~biofeedback.viewmodels.import_summary.ImportSummaryView` and nothing
else; choosing an imported recording (double-click, or "Show in session list") asks the
Sessions tab to select its session.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biofeedback.viewmodels.import_summary import (
    IMPORTED_HEADERS,
    REFUSED_HEADERS,
    ImportSummaryView,
)

__all__ = ["ImportSummaryDialog"]

_REFUSED_STYLE = "QLabel { color: #8b1a1a; }"

_ROW_PADDING_PX = 8
"""Room added above and below a wrapped reason, px."""

_NUMBER_COLUMNS = {"Beats", "Session"}
"""Columns of numbers, aligned right."""


class ImportSummaryDialog(QDialog):
    """A non-modal dialog listing what an import stored and refused.

    Parameters
    ----------
    summary : ImportSummaryView
        What to show.
    parent : QWidget, optional
        Parent widget (the window).

    Signals
    -------
    session_chosen(int)
        The user chose an imported recording: its session id.
    """

    session_chosen = Signal(int)

    def __init__(self, summary: ImportSummaryView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = summary
        self._row_px = self.fontMetrics().height() + 10
        self.setWindowTitle("Import summary")
        self.headline_label = QLabel(summary.headline, self)
        font = QFont(self.headline_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.headline_label.setFont(font)
        self.headline_label.setWordWrap(True)

        self.imported_label = QLabel("Imported as sessions (double-click to show one)", self)
        self.imported_table = self._table(IMPORTED_HEADERS)
        self.imported_table.setRowCount(len(summary.imported))
        for row, imported in enumerate(summary.imported):
            for column, text in enumerate(imported.cells()):
                item = self._item(text, IMPORTED_HEADERS[column])
                item.setToolTip(imported.details())
                self.imported_table.setItem(row, column, item)

        self.refused_label = QLabel("Refused (nothing was stored for these files)", self)
        self.refused_label.setStyleSheet(_REFUSED_STYLE)
        self.refused_table = self._table(REFUSED_HEADERS)
        self.refused_table.setRowCount(len(summary.refused))
        self.refused_table.setWordWrap(True)
        for row, refused in enumerate(summary.refused):
            for column, text in enumerate(refused.cells()):
                item = self._item(text, REFUSED_HEADERS[column])
                item.setToolTip(refused.file if column == 0 else refused.reason)
                self.refused_table.setItem(row, column, item)

        self._fit_columns()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.show_button = QPushButton("Show in session list", self)
        self.show_button.setToolTip("Select the chosen recording's session in the Sessions tab")
        self.show_button.setEnabled(False)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.show_button.clicked.connect(self._choose_selected)
        self.imported_table.itemSelectionChanged.connect(
            lambda: self.show_button.setEnabled(self._selected_session() is not None)
        )
        self.imported_table.doubleClicked.connect(lambda _index: self._choose_selected())

        layout = QVBoxLayout(self)
        layout.addWidget(self.headline_label)
        for label, table, rows in (
            (self.imported_label, self.imported_table, summary.imported),
            (self.refused_label, self.refused_table, summary.refused),
        ):
            layout.addWidget(label)
            layout.addWidget(table, len(rows) + 1)
            label.setVisible(bool(rows))
            table.setVisible(bool(rows))
        layout.addWidget(buttons)
        self.resize(960, self._preferred_height())

    # -- building --------------------------------------------------------------------------

    def _table(self, headers: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers), self)
        table.setHorizontalHeaderLabels(list(headers))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(self._row_px)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return table

    @staticmethod
    def _item(text: str, header: str) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if header in _NUMBER_COLUMNS:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        else:
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _fit_columns(self) -> None:
        """Every column as wide as its text, the file names and the reasons taking the rest;
        a reason too long for its cell wraps onto more lines (and is whole in its tooltip)."""
        imported = self.imported_table.horizontalHeader()
        imported.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        imported.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        refused = self.refused_table.horizontalHeader()
        refused.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        refused.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.refused_table.resizeColumnToContents(0)
        self.refused_table.setColumnWidth(0, min(self.refused_table.columnWidth(0), 320))
        refused.sectionResized.connect(lambda *_args: self._fit_reason_rows())

    def _fit_reason_rows(self) -> None:
        """Each refused file's row as tall as its wrapped reason, with a little air."""
        table = self.refused_table
        table.resizeRowsToContents()
        for row in range(table.rowCount()):
            table.setRowHeight(row, max(table.rowHeight(row) + _ROW_PADDING_PX, self._row_px))

    def _preferred_height(self) -> int:
        rows = len(self.summary.imported) + 2 * len(self.summary.refused)
        return max(260, min(720, 200 + self._row_px * rows))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Once the columns have their widths, the reasons' rows take the lines they need."""
        super().showEvent(event)
        self._fit_reason_rows()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """A narrower dialog wraps the reasons onto more lines."""
        super().resizeEvent(event)
        self._fit_reason_rows()

    # -- actions ---------------------------------------------------------------------------

    def _selected_session(self) -> int | None:
        rows = self.imported_table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.summary.imported[rows[0].row()].session_id

    def choose_session(self, session_id: int) -> None:
        """Ask for ``session_id`` to be shown in the session list."""
        self.session_chosen.emit(session_id)

    def _choose_selected(self) -> None:
        session_id = self._selected_session()
        if session_id is not None:
            self.choose_session(session_id)
