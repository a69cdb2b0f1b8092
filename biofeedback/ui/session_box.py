"""The Session group of the source panel: participant, study (with the participant's place
in it), protocol, and whether to record and publish to LSL."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from biofeedback.app.queries import StudyPlan
from biofeedback.ui.source_box import error_label, note_label

__all__ = [
    "FREE_PRACTICE_LABEL",
    "ProtocolChoice",
    "ProtocolCombo",
    "SessionBox",
    "load_protocol_choices",
    "study_plan_html",
]

FREE_PRACTICE_LABEL = "Free practice (no protocol)"

_CATEGORY_LABELS = {
    "self_soothing": "Self-soothing (self-compassion)",
    "attention": "Attention (mindfulness)",
    "breathing": "Paced breathing",
    "stress_reactivity": "Lab: stress reactivity",
    "neutral": "Rest and practice comparison",
}


@dataclass(frozen=True, slots=True)
class ProtocolChoice:
    """One entry of the protocol combo (``protocol_id`` None = free practice)."""

    label: str
    protocol_id: str | None


def load_protocol_choices() -> list[tuple[str, list[ProtocolChoice]]]:
    """Built-in protocols grouped by category, plus every stress-reactivity composition.

    Runs in a worker thread: the library reads its TOML files on first use (~0.1 s)."""
    from protocols.library import STRESS_TEMPLATE, list_practices, list_protocols

    groups: dict[str, list[ProtocolChoice]] = {}
    for protocol in list_protocols():
        label = _CATEGORY_LABELS.get(protocol.category.value, protocol.category.value)
        groups.setdefault(label, []).append(ProtocolChoice(protocol.name, protocol.id))
        if protocol.id == STRESS_TEMPLATE:
            # The template alone runs quiet rest; offer it with every practice too.
            groups[label].extend(
                ProtocolChoice(f"{protocol.name}: {practice.name}",
                               f"{STRESS_TEMPLATE}:{practice.id}")
                for practice in list_practices()
            )
    return list(groups.items())


def study_plan_html(plan: StudyPlan) -> str:
    """The participant's condition order (done struck out, next in bold) and what is next."""
    steps = []
    for i, condition in enumerate(plan.order):
        text = html.escape(condition)
        if i == plan.position:
            text = f"<b>{text}</b>"
        elif i in plan.done:
            text = f"<s>{text}</s>"
        steps.append(text)
    order = " → ".join(steps)
    who = html.escape(plan.participant_id)
    if plan.enrolled:
        head = f"{who} (participant {plan.enrol_index + 1} of this study): {order}"
    else:
        head = f"{who} is new to this study and will get the order {order}"
    if plan.position is not None:
        tail = (f"Next: <b>{html.escape(plan.order[plan.position])}</b> "
                f"(condition {plan.position + 1} of {len(plan.order)}).")
    else:
        tail = "All conditions done."
    return f"{head}.<br>{tail}"


class ProtocolCombo(QComboBox):
    """Free practice first, then the protocols under a bold, unselectable header per
    category; the chosen protocol id is the item's ``Qt.UserRole`` data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(QStandardItemModel(self))
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(18)
        self.fill([])

    def _model(self) -> QStandardItemModel:
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        return model

    def fill(self, groups: list[tuple[str, list[ProtocolChoice]]]) -> None:
        """Rebuild the list, keeping the chosen protocol."""
        keep = self.protocol_id() if self.count() else None
        model = self._model()
        blocked = self.blockSignals(True)
        try:
            model.clear()
            free = QStandardItem(FREE_PRACTICE_LABEL)
            free.setData(None, Qt.ItemDataRole.UserRole)
            model.appendRow(free)
            for header_text, choices in groups:
                header = QStandardItem(f"— {header_text} —")
                header.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading, not a choice
                font = header.font()
                font.setBold(True)
                header.setFont(font)
                model.appendRow(header)
                for choice in choices:
                    item = QStandardItem(choice.label)
                    item.setData(choice.protocol_id, Qt.ItemDataRole.UserRole)
                    item.setToolTip(choice.protocol_id or "")
                    model.appendRow(item)
            self.set_protocol(keep)
        finally:
            self.blockSignals(blocked)

    def protocol_id(self) -> str | None:
        """The chosen protocol id (None: free practice)."""
        data = self.currentData(Qt.ItemDataRole.UserRole)
        return None if data is None else str(data)

    def set_protocol(self, protocol_id: str | None) -> None:
        """Choose a protocol by id (one not in the list is added as its own entry)."""
        if protocol_id is None:
            self.setCurrentIndex(0)
            return
        index = self.findData(protocol_id, Qt.ItemDataRole.UserRole)
        if index < 0:
            item = QStandardItem(protocol_id)
            item.setData(protocol_id, Qt.ItemDataRole.UserRole)
            model = self._model()
            model.appendRow(item)
            index = model.rowCount() - 1
        self.setCurrentIndex(index)


class SessionBox(QGroupBox):
    """The Session group's controls (the source panel wires them)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.participant_edit = QLineEdit()
        self.participant_edit.setPlaceholderText("pseudonym, e.g. P07 (optional)")
        self.participant_edit.setMaxLength(64)
        form.addRow("Participant", self.participant_edit)
        self.participant_error = error_label()
        form.addRow(self.participant_error)

        study_row = QHBoxLayout()
        self.study_combo = QComboBox()
        self.study_combo.addItem("No study", None)
        self.refresh_studies_button = QPushButton("Refresh")
        self.refresh_studies_button.setToolTip("Read the studies from the database again")
        study_row.addWidget(self.study_combo, 1)
        study_row.addWidget(self.refresh_studies_button)
        form.addRow("Study", study_row)
        self.study_info = note_label()
        self.study_info.setTextFormat(Qt.TextFormat.RichText)
        self.study_info.hide()
        form.addRow(self.study_info)
        self.study_error = error_label()
        form.addRow(self.study_error)

        self.protocol_combo = ProtocolCombo()
        form.addRow("Protocol", self.protocol_combo)
        self.protocol_error = error_label()
        form.addRow(self.protocol_error)

        self.record_check = QCheckBox("Record to the database")
        self.record_check.setChecked(True)
        form.addRow(self.record_check)
        self.lsl_check = QCheckBox("Publish to Lab Streaming Layer (RR, HR, lnRMSSD, markers)")
        self.lsl_check.setToolTip(
            "Streams named biofeedback-RR, -HR, -lnRMSSD and -Markers, for a lab's LSL "
            "recorder; RR samples are stamped at the beat times"
        )
        form.addRow(self.lsl_check)
