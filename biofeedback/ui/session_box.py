"""The Session group of the source panel: participant, study (with the participant's place
in it), protocol, and whether to record and publish to LSL."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.source_box import SessionRequestError
from biofeedback.ui.widgets import error_label, note_label
from biofeedback.ui.wording import as_sentence
from biofeedback.viewmodels.queries import (
    StudyPlan,
    load_study_names,
    load_study_plan,
    participant_id_problem,
)

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
    """The Session group: participant, study with the participant's place in it (read from
    the store in a worker thread), protocol, record and LSL.

    Parameters
    ----------
    data_dir : Path
        Data folder holding the session database (studies are read from it).
    parent : QWidget, optional
        Parent widget.

    Signals
    -------
    study_plan_changed()
        The study information under the study choice was redrawn.
    """

    study_plan_changed = Signal()

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        self.data_dir = Path(data_dir)
        self.running = False
        """Whether a session runs (the protocol stays locked then)."""
        self.spawn_job: Callable[[str, Callable[[], Coroutine[Any, Any, Any]]], asyncio.Task[Any]]
        self.spawn_job = lambda _what, job: spawn(job())
        """Starts a background job (the panel replaces it with its error-reporting guard)."""
        self.plan_task: asyncio.Task[Any] | None = None
        """The running (or last) read of the participant's study plan."""
        self._study_names: list[str] = []
        self.wanted_study: str | None = None
        """A study asked for before the studies were loaded."""
        self._plan: StudyPlan | None = None
        self.plan_error: str | None = None
        """Why the study plan could not be read (None when it could)."""
        self.protocol_before_study: str | None = None
        """The free protocol chosen before a study took over the protocol choice."""
        self._studying = False
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
        self.participant_edit.textChanged.connect(self._on_participant_changed)
        self.study_combo.currentIndexChanged.connect(self._on_study_changed)

    @property
    def plan(self) -> StudyPlan | None:
        """The chosen participant's place in the chosen study (None while unknown)."""
        return self._plan

    @staticmethod
    def _show_field_error(label: QLabel, message: str | None) -> None:
        label.setText(message or "")
        label.setVisible(bool(message))

    # -- studies -------------------------------------------------------------------------

    async def refresh_studies(self) -> list[str]:
        """Read the study names from the store (worker thread) and refill the study combo.

        Returns
        -------
        list of str
            Study names, sorted. A store that cannot be read is shown as a sentence.
        """
        try:
            names = await asyncio.to_thread(load_study_names, self.data_dir)
        except BiofeedbackError as exc:
            self._show_field_error(self.study_error, f"Studies could not be read: {exc}")
            return []
        self._study_names = names
        wanted = self.wanted_study if self.wanted_study is not None else self.study()
        blocked = self.study_combo.blockSignals(True)
        try:
            self.study_combo.clear()
            self.study_combo.addItem("No study", None)
            for name in names:
                self.study_combo.addItem(name, name)
        finally:
            self.study_combo.blockSignals(blocked)
        index = self.study_combo.findData(wanted) if wanted else 0
        if wanted and index < 0:
            self._show_field_error(
                self.study_error, f"The study {wanted!r} is no longer in the database."
            )
        self.wanted_study = None
        self.study_combo.setCurrentIndex(max(index, 0))
        self._on_study_changed()
        return names

    def study(self) -> str | None:
        """The chosen study name (None: no study)."""
        data = self.study_combo.currentData()
        return None if data is None else str(data)

    def set_study(self, name: str | None) -> None:
        """Choose a study by name; before the studies are loaded it is chosen once they are."""
        if name is None:
            self.study_combo.setCurrentIndex(0)
            return
        index = self.study_combo.findData(name)
        if index >= 0:
            self.study_combo.setCurrentIndex(index)
        else:
            self.wanted_study = name

    def participant_id(self) -> str | None:
        """The participant id as typed (None when empty)."""
        return self.participant_edit.text().strip() or None

    def set_participant(self, participant_id: str | None) -> None:
        """Fill in the participant id."""
        self.participant_edit.setText(participant_id or "")

    @property
    def study_order(self) -> tuple[str, ...] | None:
        """Condition order of the chosen participant in the chosen study (None if unknown)."""
        return None if self._plan is None else self._plan.order

    @property
    def next_condition(self) -> str | None:
        """The participant's next condition in the chosen study (None if unknown or done)."""
        return None if self._plan is None else self._plan.next_condition

    def _on_participant_changed(self, _text: str) -> None:
        problem = participant_id_problem(self.participant_edit.text().strip())
        self._show_field_error(self.participant_error, problem)
        self._schedule_plan()

    def _on_study_changed(self, _index: int = 0) -> None:
        study = self.study()
        studying = study is not None
        # Track the change itself: the combo is also disabled while a session runs.
        if studying and not self._studying:
            self.protocol_before_study = self.protocol_combo.protocol_id()
        elif not studying and self._studying:
            self.protocol_combo.set_protocol(self.protocol_before_study)
        self._studying = studying
        self.protocol_combo.setEnabled(not studying and not self.running)
        self.protocol_combo.setToolTip(
            "The study gives the protocol: the participant's next condition" if studying else ""
        )
        self._schedule_plan()

    def _schedule_plan(self) -> None:
        """Reload the participant's place in the chosen study (worker thread)."""
        if self.plan_task is not None and not self.plan_task.done():
            self.plan_task.cancel()
        self._plan = None
        self.plan_error = None
        study = self.study()
        participant = self.participant_id()
        self._show_field_error(self.study_error, None)
        if study is None:
            self.study_info.hide()
        elif participant is None:
            self._show_study_info(
                f"Enter the participant's id to see their condition order in {study!r}."
            )
        elif participant_id_problem(participant) is None:
            self._show_study_info("Reading the condition order…")
            self.plan_task = self.spawn_job("plan", lambda: self._load_plan(study, participant))
            return
        else:
            self.study_info.hide()
        self.study_plan_changed.emit()

    async def _load_plan(self, study: str, participant: str) -> None:
        try:
            plan = await asyncio.to_thread(load_study_plan, self.data_dir, study, participant)
        except BiofeedbackError as exc:
            self.plan_error = str(exc)
            self.study_info.hide()
            self._show_field_error(self.study_error, as_sentence(str(exc)))
            self.study_plan_changed.emit()
            return
        if (self.study(), self.participant_id()) != (study, participant):
            return  # the choice moved on while the store was read
        self._plan = plan
        self._show_study_plan(plan)
        if plan.next_condition is not None:
            self.protocol_combo.set_protocol(plan.next_condition)
        self.study_plan_changed.emit()

    def _show_study_plan(self, plan: StudyPlan) -> None:
        self._show_study_info(study_plan_html(plan), rich=True)
        self._show_field_error(self.study_error, plan.problem)

    def _show_study_info(self, text: str, *, rich: bool = False) -> None:
        self.study_info.setText(text if rich else html.escape(text, quote=False))
        self.study_info.show()

    def study_protocol(self, study: str, participant: str | None) -> str:
        """The protocol the study gives this participant now: their next condition.

        Raises
        ------
        SessionRequestError
            No participant, a study that could not be read, a plan still being read, or
            nothing left to run.
        """
        if participant is None:
            raise SessionRequestError(
                f"Study {study!r} needs a participant id: the study gives that participant's "
                "condition order.",
                "participant",
            )
        if self.plan_error is not None:
            raise SessionRequestError(as_sentence(self.plan_error), "study")
        plan = self.plan
        if plan is None or (plan.study, plan.participant_id) != (study, participant):
            raise SessionRequestError(
                "The participant's condition order is still being read; try again in a moment.",
                "study",
            )
        if plan.problem is not None or plan.next_condition is None:
            raise SessionRequestError(plan.problem or "Nothing left to run.", "study")
        return plan.next_condition
