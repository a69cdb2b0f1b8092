"""What to compare: a study from a combo, or participant ids typed in a line, and where the
RR come from (the strap's own or the stored raw ECG's)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from biofeedback.viewmodels.comparison_format import parse_participants
from biofeedback.viewmodels.queries import ComparisonChoices

__all__ = ["ComparisonChooser"]


class ComparisonChooser(QWidget):
    """Study or participants, the Compare and Refresh buttons, and the known participants.

    Signals
    -------
    compare_requested()
        Compare was pressed (or Return in the participants line) with something chosen.
    """

    compare_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.study_radio = QRadioButton("Study", self)
        self.participants_radio = QRadioButton("Participants", self)
        self._mode = QButtonGroup(self)
        self._mode.addButton(self.study_radio)
        self._mode.addButton(self.participants_radio)
        self.study_radio.setChecked(True)
        self.study_combo = QComboBox(self)
        self.study_combo.setMinimumContentsLength(18)
        self.study_combo.setToolTip("Every session of the study")
        self.participants_edit = QLineEdit(self)
        self.participants_edit.setPlaceholderText("Participant ids, e.g. P1, P2, P3")
        self.participants_edit.setToolTip("The sessions of these participants (comma-separated)")
        self.rr_source_combo = QComboBox(self)
        self.rr_source_combo.addItem("RR from the strap", "strap")
        self.rr_source_combo.addItem("RR from the raw ECG", "ecg")
        self.rr_source_combo.setToolTip(
            "Where every session's RR intervals come from: the strap's own, or the R-peaks "
            "found in its stored raw ECG (Polar H10). With the ECG, sessions recorded without "
            "it are excluded and listed, never mixed in with the strap's RR."
        )
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setToolTip(
            "Self-soothing vs attention practices (computed in the background)"
        )
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Read the studies and participants again")
        self.known_label = QLabel("", self)
        self.known_label.setWordWrap(True)
        self.known_label.setStyleSheet("color: palette(placeholder-text);")
        self.known_label.hide()
        row = QHBoxLayout()
        row.addWidget(self.study_radio)
        row.addWidget(self.study_combo)
        row.addSpacing(12)
        row.addWidget(self.participants_radio)
        row.addWidget(self.participants_edit, 1)
        row.addWidget(self.rr_source_combo)
        row.addWidget(self.compare_button)
        row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.known_label)

        self.compare_button.clicked.connect(self._request)
        self.study_combo.activated.connect(lambda _i: self.study_radio.setChecked(True))
        self.participants_edit.textEdited.connect(
            lambda _t: self.participants_radio.setChecked(True)
        )
        self.participants_edit.returnPressed.connect(self._request)
        self._mode.buttonToggled.connect(lambda *_: self.sync_buttons())
        self.participants_edit.textChanged.connect(lambda _t: self.sync_buttons())
        self.sync_buttons()

    def study_names(self) -> list[str]:
        """Studies offered in the combo, top to bottom."""
        return [str(self.study_combo.itemData(i)) for i in range(self.study_combo.count())]

    def chosen_study(self) -> str | None:
        """The study to compare, or None when participants are chosen (or no study exists)."""
        if not self.study_radio.isChecked():
            return None
        study = self.study_combo.currentData()
        return None if study is None else str(study)

    def chosen_participants(self) -> list[str]:
        """The participant ids typed, when participants are chosen (else none)."""
        if self.study_radio.isChecked():
            return []
        return parse_participants(self.participants_edit.text())

    def chosen_rr_source(self) -> str:
        """``"strap"`` or ``"ecg"``: where the compared sessions' RR come from."""
        return str(self.rr_source_combo.currentData())

    def offer(self, choices: ComparisonChoices) -> None:
        """Offer these studies and participants (keeping the chosen study if still there)."""
        current = self.study_combo.currentData()
        self.study_combo.clear()
        for name, n in choices.studies:
            self.study_combo.addItem(f"{name} ({n} participant{'' if n == 1 else 's'})", name)
        if current is not None:
            index = self.study_combo.findData(current)
            if index >= 0:
                self.study_combo.setCurrentIndex(index)
        if not choices.studies and choices.participants:
            self.participants_radio.setChecked(True)
        if choices.participants:
            self.known_label.setText(
                "Participants: " + ", ".join(
                    f"{p} ({n} session{'' if n == 1 else 's'})" for p, n in choices.participants
                )
            )
        else:
            self.known_label.setText("")
        self.known_label.setVisible(bool(self.known_label.text()))
        self.sync_buttons()

    def sync_buttons(self) -> None:
        """Enable Compare when something is chosen."""
        if self.study_radio.isChecked():
            ready = self.study_combo.count() > 0
        else:
            ready = bool(parse_participants(self.participants_edit.text()))
        self.compare_button.setEnabled(ready)

    def _request(self) -> None:
        if self.chosen_study() is not None or self.chosen_participants():
            self.compare_requested.emit()
