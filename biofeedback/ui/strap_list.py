"""The list of Bluetooth straps in the source panel: scanned and remembered ones, one row each."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

__all__ = ["StrapList", "StrapRow"]

StrapRow = tuple[str, str, str, str]
"""(name, address, signal, note) of one row of the strap list."""


class StrapList(QTreeWidget):
    """Straps as rows of name, address, signal and a note (remembered, not seen...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(4)
        self.setHeaderLabels(["Name", "Address", "Signal", ""])
        self.setRootIsDecorated(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMinimumHeight(90)
        self.setMaximumHeight(150)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, rows: Iterable[StrapRow], selected: str | None) -> None:
        """Show these rows, selecting the one whose address is ``selected`` (upper case),
        without emitting selection signals."""
        blocked = self.blockSignals(True)
        try:
            self.clear()
            for name, address, signal, note in rows:
                item = QTreeWidgetItem([name, address, signal, note])
                item.setData(0, Qt.ItemDataRole.UserRole, address)
                item.setTextAlignment(
                    2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                self.addTopLevelItem(item)
                if selected == address.upper():
                    item.setSelected(True)
                    self.setCurrentItem(item)
        finally:
            self.blockSignals(blocked)

    def rows(self) -> list[StrapRow]:
        """The rows as shown, top to bottom."""
        rows = []
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None:  # Qt's getter is typed optional; every index here has a row
                rows.append((item.text(0), item.text(1), item.text(2), item.text(3)))
        return rows

    def selected_address(self) -> str | None:
        """Address of the selected row (upper case), or None."""
        items = self.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)).upper() if items else None
