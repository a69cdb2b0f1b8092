"""The Source group of the source panel: simulated strap, Bluetooth strap or replay, with the
list of scanned and remembered straps."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "SPEED_CHOICES",
    "SourceBox",
    "StrapList",
    "error_label",
    "note_label",
    "set_speed",
    "speed_combo",
]

SPEED_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("1x (real time)", 1.0),
    ("2x", 2.0),
    ("10x", 10.0),
    ("60x", 60.0),
    ("max (as fast as possible)", None),
)
"""Speeds offered for the simulated strap and replay: label and multiple of real time
(None = as fast as the pipeline goes)."""

_ERROR_STYLE = "color: #b00020;"
_NOTE_STYLE = "color: #555555;"

StrapRow = tuple[str, str, str, str]
"""(name, address, signal, note) of one row of the strap list."""


def error_label() -> QLabel:
    """A hidden, selectable red sentence under a control."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def note_label(text: str = "") -> QLabel:
    """A grey explanatory sentence."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(_NOTE_STYLE)
    return label


def speed_combo() -> QComboBox:
    """A combo of :data:`SPEED_CHOICES`."""
    combo = QComboBox()
    for label, speed in SPEED_CHOICES:
        combo.addItem(label, speed)
    return combo


def set_speed(combo: QComboBox, speed: float | None) -> None:
    """Choose ``speed`` (a multiple of real time, None = max) in a :func:`speed_combo`."""
    for i in range(combo.count()):
        if combo.itemData(i) == speed:
            combo.setCurrentIndex(i)
            return
    # A speed saved from the command line (e.g. 20x) is kept as an extra choice.
    combo.addItem(f"{speed:g}x", speed)
    combo.setCurrentIndex(combo.count() - 1)


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
            rows.append((item.text(0), item.text(1), item.text(2), item.text(3)))
        return rows

    def selected_address(self) -> str | None:
        """Address of the selected row (upper case), or None."""
        items = self.selectedItems()
        return str(items[0].data(0, Qt.ItemDataRole.UserRole)).upper() if items else None


class SourceBox(QGroupBox):
    """The Source group: three radios, each with its options shown only when chosen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Source", parent)
        layout = QVBoxLayout(self)
        self.sim_radio = QRadioButton("Simulated strap")
        self.ble_radio = QRadioButton("Bluetooth strap")
        self.replay_radio = QRadioButton("Recording (replay)")
        self.source_group = QButtonGroup(self)
        for radio in (self.sim_radio, self.ble_radio, self.replay_radio):
            self.source_group.addButton(radio)
        self.sim_radio.setChecked(True)
        self._build_sim_options()
        self._build_ble_options()
        self._build_replay_options()
        for radio, options in (
            (self.sim_radio, self.sim_options),
            (self.ble_radio, self.ble_options),
            (self.replay_radio, self.replay_options),
        ):
            layout.addWidget(radio)
            layout.addWidget(options)
            radio.toggled.connect(self._show_chosen_options)
        self._show_chosen_options()

    def _build_sim_options(self) -> None:
        self.sim_options = QWidget()
        sim_form = QFormLayout(self.sim_options)
        sim_form.setContentsMargins(20, 0, 0, 0)
        self.seed_edit = QLineEdit()
        self.seed_edit.setPlaceholderText("random (from the clock)")
        self.seed_edit.setValidator(QIntValidator(0, 2**31 - 1, self.seed_edit))
        self.seed_edit.setToolTip("The same seed gives the same simulated heart (reproducible).")
        self.sim_speed_combo = speed_combo()
        sim_form.addRow("Seed", self.seed_edit)
        sim_form.addRow("Speed", self.sim_speed_combo)

    def _build_ble_options(self) -> None:
        self.ble_options = QWidget()
        ble_layout = QVBoxLayout(self.ble_options)
        ble_layout.setContentsMargins(20, 0, 0, 0)
        buttons = QHBoxLayout()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip("Look for every device with the Heart Rate service")
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Remove the selected remembered strap")
        self.forget_button.setEnabled(False)
        buttons.addWidget(self.scan_button)
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        ble_layout.addLayout(buttons)
        self.strap_list = StrapList()
        ble_layout.addWidget(self.strap_list)
        self.ble_status = note_label(
            "Without a selection, Start connects to the strongest strap in range."
        )
        ble_layout.addWidget(self.ble_status)
        self.ble_error = error_label()
        ble_layout.addWidget(self.ble_error)

    def _build_replay_options(self) -> None:
        self.replay_options = QWidget()
        replay_form = QFormLayout(self.replay_options)
        replay_form.setContentsMargins(20, 0, 0, 0)
        target_row = QHBoxLayout()
        self.replay_edit = QLineEdit()
        self.replay_edit.setPlaceholderText("session id, or an RR file")
        self.open_file_button = QPushButton("Open RR file…")
        target_row.addWidget(self.replay_edit, 1)
        target_row.addWidget(self.open_file_button)
        replay_form.addRow("Session", target_row)
        self.replay_speed_combo = speed_combo()
        replay_form.addRow("Speed", self.replay_speed_combo)
        self.replay_error = error_label()
        replay_form.addRow(self.replay_error)

    def source_kind(self) -> str:
        """The chosen kind of source: ``sim``, ``ble`` or ``replay``."""
        if self.ble_radio.isChecked():
            return "ble"
        if self.replay_radio.isChecked():
            return "replay"
        return "sim"

    def _show_chosen_options(self, _checked: bool = False) -> None:
        kind = self.source_kind()
        self.sim_options.setVisible(kind == "sim")
        self.ble_options.setVisible(kind == "ble")
        self.replay_options.setVisible(kind == "replay")
