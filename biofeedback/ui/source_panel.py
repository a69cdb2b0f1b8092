"""The source and session panel: what to record from, which protocol, who, and Start/Stop.

The panel only gathers choices and turns them into a
:class:`~biofeedback.session.launch.SessionRequest`; it never runs a session itself.
Everything slow happens off the GUI thread: the Bluetooth scan is an asyncio task (bleak on
the shared Qt-asyncio loop), the protocol library (TOML files) and the studies (SQLite, with
an own :class:`~biofeedback.store.database.SessionStore` per worker thread) are loaded with
:func:`asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import html
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QIntValidator, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biofeedback.app.settings import AppSettings
from biofeedback.core.errors import BiofeedbackError
from biofeedback.session.launch import SessionRequest, SourceSpecError, parse_source_spec
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.wording import as_sentence

if TYPE_CHECKING:
    from sensors.ble.scan import StrapAdvertisement

__all__ = [
    "FREE_PRACTICE_LABEL",
    "SPEED_CHOICES",
    "SessionRequestError",
    "SourcePanel",
    "participant_id_problem",
]

T = TypeVar("T")

FREE_PRACTICE_LABEL = "Free practice (no protocol)"

SPEED_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("1x (real time)", 1.0),
    ("2x", 2.0),
    ("10x", 10.0),
    ("60x", 60.0),
    ("max (as fast as possible)", None),
)
"""Speeds offered for the simulated strap and replay: label and multiple of real time
(None = as fast as the pipeline goes)."""

_CATEGORY_LABELS = {
    "self_soothing": "Self-soothing (self-compassion)",
    "attention": "Attention (mindfulness)",
    "breathing": "Paced breathing",
    "stress_reactivity": "Lab: stress reactivity",
    "neutral": "Rest and practice comparison",
}

_ERROR_STYLE = "color: #b00020;"
_NOTE_STYLE = "color: #555555;"


class SessionRequestError(BiofeedbackError):
    """The panel's choices do not make a session; the message says what to change.

    Parameters
    ----------
    message : str
        One sentence for the user.
    field : str
        Which control it is about: ``"seed"``, ``"strap"``, ``"replay"``, ``"participant"``,
        ``"study"`` or ``"protocol"``.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def participant_id_problem(participant_id: str) -> str | None:
    """Why ``participant_id`` would be refused by the store, or None when it is fine.

    Mirrors :meth:`~biofeedback.store.database.SessionStore.ensure_participant`: letters,
    digits, ``-`` and ``_`` only (a pseudonym such as ``P07``, never a person's name).
    """
    if not participant_id:
        return None
    if all(c.isalnum() or c in "-_" for c in participant_id):
        return None
    return (
        f"Participant id {participant_id!r} may only hold letters, digits, '-' or '_' "
        "(a pseudonym such as P07, never a name)."
    )


@dataclass(frozen=True, slots=True)
class _ProtocolChoice:
    """One entry of the protocol combo (``protocol_id`` None = free practice)."""

    label: str
    protocol_id: str | None


@dataclass(frozen=True, slots=True)
class _StudyPlan:
    """A participant's place in a study, as loaded from the store.

    ``position`` is the index in ``order`` of the next condition to run (None when all are
    done); ``problem`` is a sentence when the study cannot be run for them.
    """

    study: str
    participant_id: str
    order: tuple[str, ...]
    enrolled: bool
    enrol_index: int
    done: frozenset[int]
    position: int | None
    problem: str | None = None

    @property
    def next_condition(self) -> str | None:
        return None if self.position is None else self.order[self.position]


# ------------------------------------------------------------------------- worker threads


def _load_protocol_choices() -> list[tuple[str, list[_ProtocolChoice]]]:
    """Built-in protocols grouped by category, plus every stress-reactivity composition.

    Runs in a worker thread: the library reads its TOML files on first use (~0.1 s)."""
    from protocols.library import STRESS_TEMPLATE, list_practices, list_protocols

    groups: dict[str, list[_ProtocolChoice]] = {}
    for protocol in list_protocols():
        label = _CATEGORY_LABELS.get(protocol.category.value, protocol.category.value)
        groups.setdefault(label, []).append(_ProtocolChoice(protocol.name, protocol.id))
        if protocol.id == STRESS_TEMPLATE:
            # The template alone runs quiet rest; offer it with every practice too.
            groups[label].extend(
                _ProtocolChoice(f"{protocol.name}: {practice.name}",
                                f"{STRESS_TEMPLATE}:{practice.id}")
                for practice in list_practices()
            )
    return list(groups.items())


def _load_study_names(data_dir: Path) -> list[str]:
    """Names of the studies in the data folder's store (none when there is no database)."""
    from biofeedback.store.database import SessionStore
    from biofeedback.store.paths import database_path
    from biofeedback.store.studies import list_studies

    if not database_path(data_dir).exists():
        return []  # do not create a database just by opening the window
    with SessionStore.open(data_dir) as store:
        return [study.name for study in list_studies(store)]


def _load_study_plan(data_dir: Path, study_name: str, participant_id: str) -> _StudyPlan:
    """The participant's condition order and next condition (same rule as ``record --study``).

    Raises a :class:`BiofeedbackError` (no such study...) with a sentence."""
    from biofeedback.session.studies import completed_positions, next_order
    from biofeedback.store.database import SessionStore
    from biofeedback.store.studies import get_study
    from protocols.library import get_protocol

    with SessionStore.open(data_dir) as store:
        study = get_study(store, study_name)
        enrolment = study.enrolment(participant_id)
        if enrolment is not None:
            order = tuple(enrolment.condition_order)
            index = enrolment.enrol_index
            done = frozenset(completed_positions(store, study_name, participant_id))
        else:
            order = next_order(study)
            index = len(study.participants)
            done = frozenset()
    position = next((i for i in range(len(order)) if i not in done), None)
    problem = None
    if position is None:
        problem = (
            f"Participant {participant_id} has done all {len(order)} conditions of study "
            f"{study_name!r}."
        )
    else:
        try:
            get_protocol(order[position])
        except BiofeedbackError as exc:
            problem = f"The next condition {order[position]!r} is not a protocol: {exc}"
    return _StudyPlan(
        study_name, participant_id, order, enrolment is not None, index, done, position, problem
    )


# ------------------------------------------------------------------------------- widgets


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _note_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(_NOTE_STYLE)
    return label


def _speed_combo() -> QComboBox:
    combo = QComboBox()
    for label, speed in SPEED_CHOICES:
        combo.addItem(label, speed)
    return combo


def _set_speed(combo: QComboBox, speed: float | None) -> None:
    for i in range(combo.count()):
        if combo.itemData(i) == speed:
            combo.setCurrentIndex(i)
            return
    # A speed saved from the command line (e.g. 20x) is kept as an extra choice.
    combo.addItem(f"{speed:g}x", speed)
    combo.setCurrentIndex(combo.count() - 1)


class SourcePanel(QWidget):
    """Choose the heart-rate source, protocol, participant and study; start and stop.

    Parameters
    ----------
    settings : AppSettings
        The window's settings: remembered straps and last choices (read by
        :meth:`apply_settings`, written by :meth:`store_into_settings` and by "Forget").
    data_dir : Path
        Data folder holding the session database (studies are read from it).
    parent : QWidget, optional
        Parent widget.
    scan_timeout_s : float
        How long a Bluetooth scan listens, s (default 5).

    Signals
    -------
    start_requested(SessionRequest)
        Start was pressed with valid choices.
    stop_requested()
        Stop was pressed while a session runs.
    settings_changed()
        ``settings`` was changed by the panel (a strap forgotten); the window saves it.
    scan_finished(list)
        A scan ended with these :class:`~sensors.ble.scan.StrapAdvertisement` (empty after
        an error).
    study_plan_changed()
        The study information under the study choice was redrawn.

    Notes
    -----
    Studies and the protocol library load in worker threads: the window spawns
    :meth:`load` once the Qt-asyncio loop exists (until then the protocol list holds only
    free practice and the remembered choice, and the study list is empty).
    """

    start_requested = Signal(object)
    stop_requested = Signal()
    settings_changed = Signal()
    scan_finished = Signal(object)
    study_plan_changed = Signal()

    def __init__(
        self,
        settings: AppSettings,
        data_dir: Path,
        parent: QWidget | None = None,
        *,
        scan_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.scan_timeout_s = scan_timeout_s
        self._running = False
        self._found: list[StrapAdvertisement] = []
        self._scanned_once = False
        self._selected_address: str | None = None
        self._scan_task: asyncio.Task[list[StrapAdvertisement] | None] | None = None
        self._scanning = False
        self._scan_deadline = 0.0
        self._load_task: asyncio.Task[None] | None = None
        self._plan_task: asyncio.Task[None] | None = None
        self._study_names: list[str] = []
        self._wanted_study: str | None = None
        self._plan: _StudyPlan | None = None
        self._plan_error: str | None = None
        self._protocol_before_study: str | None = None
        self._studying = False
        self._build()
        self.apply_settings()

    # ------------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        outer = QVBoxLayout(self)
        self.start_error = _error_label()
        outer.addWidget(self._build_source_box())
        outer.addWidget(self._build_session_box())
        self.start_button = QPushButton("Start")
        font = QFont(self.start_button.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.start_button.setFont(font)
        self.start_button.setMinimumHeight(40)
        self.start_button.clicked.connect(self._on_start_stop)
        outer.addWidget(self.start_button)
        outer.addWidget(self.start_error)
        outer.addStretch(1)

    def _build_source_box(self) -> QGroupBox:
        box = QGroupBox("Source")
        layout = QVBoxLayout(box)
        self.sim_radio = QRadioButton("Simulated strap")
        self.ble_radio = QRadioButton("Bluetooth strap")
        self.replay_radio = QRadioButton("Recording (replay)")
        self.source_group = QButtonGroup(self)
        for radio in (self.sim_radio, self.ble_radio, self.replay_radio):
            self.source_group.addButton(radio)
        self.sim_radio.setChecked(True)

        # Simulated strap: seed and speed.
        self.sim_options = QWidget()
        sim_form = QFormLayout(self.sim_options)
        sim_form.setContentsMargins(20, 0, 0, 0)
        self.seed_edit = QLineEdit()
        self.seed_edit.setPlaceholderText("random (from the clock)")
        self.seed_edit.setValidator(QIntValidator(0, 2**31 - 1, self.seed_edit))
        self.seed_edit.setToolTip("The same seed gives the same simulated heart (reproducible).")
        self.sim_speed_combo = _speed_combo()
        sim_form.addRow("Seed", self.seed_edit)
        sim_form.addRow("Speed", self.sim_speed_combo)

        # Bluetooth strap: scan, list, forget.
        self.ble_options = QWidget()
        ble_layout = QVBoxLayout(self.ble_options)
        ble_layout.setContentsMargins(20, 0, 0, 0)
        buttons = QHBoxLayout()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip("Look for every device with the Heart Rate service")
        self.scan_button.clicked.connect(self.start_scan)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("Remove the selected remembered strap")
        self.forget_button.setEnabled(False)
        self.forget_button.clicked.connect(self.forget_selected_strap)
        buttons.addWidget(self.scan_button)
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        ble_layout.addLayout(buttons)
        self.strap_list = QTreeWidget()
        self.strap_list.setColumnCount(4)
        self.strap_list.setHeaderLabels(["Name", "Address", "Signal", ""])
        self.strap_list.setRootIsDecorated(False)
        self.strap_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.strap_list.setMinimumHeight(90)
        self.strap_list.setMaximumHeight(150)
        header = self.strap_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.strap_list.itemSelectionChanged.connect(self._on_strap_selected)
        ble_layout.addWidget(self.strap_list)
        self.ble_status = _note_label(
            "Without a selection, Start connects to the strongest strap in range."
        )
        ble_layout.addWidget(self.ble_status)
        self.ble_error = _error_label()
        ble_layout.addWidget(self.ble_error)

        # Recording: a stored session id or an RR file, and the replay speed.
        self.replay_options = QWidget()
        replay_form = QFormLayout(self.replay_options)
        replay_form.setContentsMargins(20, 0, 0, 0)
        target_row = QHBoxLayout()
        self.replay_edit = QLineEdit()
        self.replay_edit.setPlaceholderText("session id, or an RR file")
        self.replay_edit.textChanged.connect(lambda _: self._show_error("replay", None))
        self.open_file_button = QPushButton("Open RR file…")
        self.open_file_button.clicked.connect(self._choose_rr_file)
        target_row.addWidget(self.replay_edit, 1)
        target_row.addWidget(self.open_file_button)
        replay_form.addRow("Session", target_row)
        self.replay_speed_combo = _speed_combo()
        replay_form.addRow("Speed", self.replay_speed_combo)
        self.replay_error = _error_label()
        replay_form.addRow(self.replay_error)

        for radio, options in (
            (self.sim_radio, self.sim_options),
            (self.ble_radio, self.ble_options),
            (self.replay_radio, self.replay_options),
        ):
            layout.addWidget(radio)
            layout.addWidget(options)
            radio.toggled.connect(self._on_source_toggled)
        self._countdown = QTimer(self)
        self._countdown.setInterval(200)
        self._countdown.timeout.connect(self._update_scan_button)
        self._on_source_toggled()
        return box

    def _build_session_box(self) -> QGroupBox:
        box = QGroupBox("Session")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.participant_edit = QLineEdit()
        self.participant_edit.setPlaceholderText("pseudonym, e.g. P07 (optional)")
        self.participant_edit.setMaxLength(64)
        self.participant_edit.textChanged.connect(self._on_participant_changed)
        form.addRow("Participant", self.participant_edit)
        self.participant_error = _error_label()
        form.addRow(self.participant_error)

        study_row = QHBoxLayout()
        self.study_combo = QComboBox()
        self.study_combo.addItem("No study", None)
        self.study_combo.currentIndexChanged.connect(self._on_study_changed)
        self.refresh_studies_button = QPushButton("Refresh")
        self.refresh_studies_button.setToolTip("Read the studies from the database again")
        self.refresh_studies_button.clicked.connect(lambda: self._spawn("load", self.load))
        study_row.addWidget(self.study_combo, 1)
        study_row.addWidget(self.refresh_studies_button)
        form.addRow("Study", study_row)
        self.study_info = _note_label()
        self.study_info.setTextFormat(Qt.TextFormat.RichText)
        self.study_info.hide()
        form.addRow(self.study_info)
        self.study_error = _error_label()
        form.addRow(self.study_error)

        self.protocol_combo = QComboBox()
        self.protocol_combo.setModel(QStandardItemModel(self.protocol_combo))
        self.protocol_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.protocol_combo.setMinimumContentsLength(18)
        self._fill_protocols([])
        form.addRow("Protocol", self.protocol_combo)
        self.protocol_error = _error_label()
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
        return box

    # ------------------------------------------------------------------ source choice

    def source_kind(self) -> str:
        """The chosen kind of source: ``sim``, ``ble`` or ``replay``."""
        if self.ble_radio.isChecked():
            return "ble"
        if self.replay_radio.isChecked():
            return "replay"
        return "sim"

    def set_source(self, spec: str) -> None:
        """Choose a source by its spec (``sim``, ``ble``, ``ble:ADDRESS``, ``replay:TARGET``).

        Raises
        ------
        SourceSpecError
            For a spec that names no source.
        """
        kind, target = parse_source_spec(spec)
        if kind == "ble":
            self.ble_radio.setChecked(True)
            self.select_strap(target or None)
        elif kind == "replay":
            self.replay_radio.setChecked(True)
            self.set_replay_target(target)
        else:
            self.sim_radio.setChecked(True)

    def set_replay_target(self, target: str) -> None:
        """Replay this stored session id or RR file (what "Open RR file…" fills in)."""
        self.replay_edit.setText(target)

    def _on_source_toggled(self, _checked: bool = False) -> None:
        kind = self.source_kind()
        self.sim_options.setVisible(kind == "sim")
        self.ble_options.setVisible(kind == "ble")
        self.replay_options.setVisible(kind == "replay")
        self.start_error.hide()

    def _choose_rr_file(self) -> None:
        start = self.replay_edit.text().strip()
        folder = str(Path(start).expanduser().parent) if start and not start.isdigit() else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an RR file", folder, "RR text files (*.txt *.rr *.csv);;All files (*)"
        )
        if path:
            self.set_replay_target(path)

    # ---------------------------------------------------------------------- straps

    @property
    def found_straps(self) -> list[StrapAdvertisement]:
        """Straps of the last scan, strongest first."""
        return list(self._found)

    @property
    def selected_strap(self) -> str | None:
        """Address of the selected strap (None: the strongest in range is used)."""
        return self._selected_address

    def select_strap(self, address: str | None) -> None:
        """Select a strap by address (it need not be listed yet; None clears)."""
        self._selected_address = address.upper() if address else None
        self.update_strap_list()

    def show_scan_results(self, straps: list[StrapAdvertisement]) -> None:
        """List these straps (strongest first) with the remembered ones."""
        self._found = sorted(straps, key=lambda s: -(s.rssi if s.rssi is not None else -1000))
        self._scanned_once = True
        self.update_strap_list()

    def update_strap_list(self) -> None:
        """Redraw the list: scanned straps strongest first, then remembered ones not seen."""
        remembered = {s.address.upper(): s.name for s in self.settings.known_straps}
        rows: list[tuple[str, str, str, str]] = []
        seen: set[str] = set()
        for strap in self._found:
            address = strap.address.upper()
            seen.add(address)
            name = strap.name or remembered.get(address) or "(no name)"
            signal = "?" if strap.rssi is None else f"{strap.rssi} dBm"
            rows.append((name, strap.address, signal, "remembered" if address in remembered
                         else ""))
        for known in self.settings.known_straps:
            if known.address.upper() not in seen:
                seen.add(known.address.upper())
                signal = "not seen" if self._scanned_once else ""
                rows.append((known.name or "(no name)", known.address, signal, "remembered"))
        if self._selected_address is not None and self._selected_address not in seen:
            # e.g. ble:ADDRESS from the command line: shown so the selection is visible.
            rows.append(("(no name)", self._selected_address, "", "chosen"))
        blocked = self.strap_list.blockSignals(True)
        try:
            self.strap_list.clear()
            for name, address, signal, note in rows:
                item = QTreeWidgetItem([name, address, signal, note])
                item.setData(0, Qt.ItemDataRole.UserRole, address)
                item.setTextAlignment(
                    2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                self.strap_list.addTopLevelItem(item)
                if self._selected_address == address.upper():
                    item.setSelected(True)
                    self.strap_list.setCurrentItem(item)
        finally:
            self.strap_list.blockSignals(blocked)
        self._update_forget_button()

    def strap_rows(self) -> list[tuple[str, str, str, str]]:
        """The list as shown: (name, address, signal, note) per row, top to bottom."""
        rows = []
        for i in range(self.strap_list.topLevelItemCount()):
            item = self.strap_list.topLevelItem(i)
            rows.append((item.text(0), item.text(1), item.text(2), item.text(3)))
        return rows

    def _on_strap_selected(self) -> None:
        items = self.strap_list.selectedItems()
        self._selected_address = (
            str(items[0].data(0, Qt.ItemDataRole.UserRole)).upper() if items else None
        )
        self._show_error("strap", None)
        self._update_forget_button()

    def _is_remembered(self, address: str | None) -> bool:
        return address is not None and any(
            s.address.upper() == address.upper() for s in self.settings.known_straps
        )

    def _update_forget_button(self) -> None:
        self.forget_button.setEnabled(
            not self._running and self._is_remembered(self._selected_address)
        )

    def forget_selected_strap(self) -> None:
        """Forget the selected remembered strap and emit :attr:`settings_changed`."""
        address = self._selected_address
        if not self._is_remembered(address):
            return
        assert address is not None
        self.settings.forget_strap(address)
        if address not in {s.address.upper() for s in self._found}:
            self._selected_address = None  # gone from the list with the memory of it
        self.update_strap_list()
        self._set_ble_status(f"Forgot strap {address}.")
        self.settings_changed.emit()

    # ------------------------------------------------------------------------ scanning

    @property
    def is_scanning(self) -> bool:
        """True while a scan runs."""
        return self._scanning

    def start_scan(self) -> None:
        """Start a scan as an asyncio task; while one runs, cancel it (the button's action)."""
        if self._scanning:
            self.cancel_scan()
            return
        self._begin_scan(self.scan_timeout_s)  # feedback now, not when the task first runs
        self._scan_task = self._spawn("scan", self.scan)

    def cancel_scan(self) -> None:
        """Cancel a running scan (the list keeps the previous results)."""
        if self._scan_task is not None and not self._scan_task.done():
            self._scan_task.cancel()

    async def scan(self, timeout_s: float | None = None) -> list[StrapAdvertisement]:
        """Scan for straps and list them; errors are shown in the panel, never raised.

        Parameters
        ----------
        timeout_s : float, optional
            Listening time, s (default :attr:`scan_timeout_s`).

        Returns
        -------
        list of StrapAdvertisement
            Every device advertising the Heart Rate service, strongest first (empty after
            an error).
        """
        from sensors.ble.errors import StrapError
        from sensors.ble.scan import scan_for_straps

        timeout = self.scan_timeout_s if timeout_s is None else timeout_s
        self._begin_scan(timeout)
        found: list[StrapAdvertisement] = []
        try:
            found = await scan_for_straps(timeout)
        except StrapError as exc:
            self.ble_status.hide()  # the error below says it all
            self._show_error("ble", as_sentence(str(exc)))
        except asyncio.CancelledError:
            self._set_ble_status("Scan stopped.")
            raise
        else:
            self.show_scan_results(found)
            if found:
                self._set_ble_status(
                    f"Found {len(found)} strap{'s' if len(found) != 1 else ''}; select one "
                    "(or none for the strongest) and press Start."
                )
            else:
                self._set_ble_status(
                    f"No heart-rate strap found in {timeout:g} s: is it worn with moist "
                    "electrodes, and not connected to another app?"
                )
        finally:
            self._scanning = False
            self._countdown.stop()
            self._update_scan_button()
        self.scan_finished.emit(found)
        return found

    def _set_ble_status(self, text: str) -> None:
        self.ble_status.setText(text)
        self.ble_status.show()

    def _begin_scan(self, timeout_s: float) -> None:
        self._scan_deadline = time.monotonic() + timeout_s
        self._show_error("ble", None)
        self._set_ble_status("Looking for heart-rate straps… press the button again to stop.")
        self._scanning = True
        self._countdown.start()
        self._update_scan_button()

    def _update_scan_button(self) -> None:
        if self._scanning:
            left = max(0, math.ceil(self._scan_deadline - time.monotonic()))
            self.scan_button.setText(f"Scanning… {left} s")
            self.scan_button.setToolTip("Click to stop scanning")
        else:
            self.scan_button.setText("Scan")
            self.scan_button.setToolTip("Look for every device with the Heart Rate service")
        self.scan_button.setEnabled(not self._running)

    # --------------------------------------------------------------------- protocols

    def _fill_protocols(self, groups: list[tuple[str, list[_ProtocolChoice]]]) -> None:
        """Rebuild the combo: free practice first, then a header per category."""
        keep = self.protocol_id() if self.protocol_combo.count() else None
        model = self.protocol_combo.model()
        assert isinstance(model, QStandardItemModel)
        blocked = self.protocol_combo.blockSignals(True)
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
            self.protocol_combo.blockSignals(blocked)

    def protocol_id(self) -> str | None:
        """The chosen protocol id (None: free practice)."""
        data = self.protocol_combo.currentData(Qt.ItemDataRole.UserRole)
        return None if data is None else str(data)

    def set_protocol(self, protocol_id: str | None) -> None:
        """Choose a protocol by id (a template such as ``stress_reactivity:soothing_touch``
        or a ``.toml`` path not in the list is added as its own entry); None = free practice."""
        if protocol_id is None:
            self.protocol_combo.setCurrentIndex(0)
            return
        index = self.protocol_combo.findData(protocol_id, Qt.ItemDataRole.UserRole)
        if index < 0:
            item = QStandardItem(protocol_id)
            item.setData(protocol_id, Qt.ItemDataRole.UserRole)
            model = self.protocol_combo.model()
            assert isinstance(model, QStandardItemModel)
            model.appendRow(item)
            index = model.rowCount() - 1
        self.protocol_combo.setCurrentIndex(index)

    # ---------------------------------------------------------------------- loading

    async def load(self) -> None:
        """Load the protocol library and the studies in worker threads and fill the combos."""
        groups = await asyncio.to_thread(_load_protocol_choices)
        self._fill_protocols(groups)
        await self.refresh_studies()

    async def refresh_studies(self) -> list[str]:
        """Read the study names from the store (worker thread) and refill the study combo.

        Returns
        -------
        list of str
            Study names, sorted. A store that cannot be read is shown as a sentence.
        """
        try:
            names = await asyncio.to_thread(_load_study_names, self.data_dir)
        except BiofeedbackError as exc:
            self._show_error("study", f"Studies could not be read: {exc}")
            return []
        self._study_names = names
        wanted = self._wanted_study if self._wanted_study is not None else self.study()
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
            self._show_error("study", f"The study {wanted!r} is no longer in the database.")
        self._wanted_study = None
        self.study_combo.setCurrentIndex(max(index, 0))
        self._on_study_changed()
        return names

    async def wait_idle(self) -> None:
        """Wait until the panel's background work (scan, loading, study order) has ended."""
        while True:
            pending = [
                t for t in (self._scan_task, self._load_task, self._plan_task)
                if t is not None and not t.done()
            ]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    def _spawn(
        self, what: str, job: Callable[[], Coroutine[Any, Any, T]]
    ) -> asyncio.Task[T | None]:
        task = spawn(self._guard(what, job))
        if what == "load":
            self._load_task = task  # type: ignore[assignment]
        return task

    async def _guard(self, what: str, job: Callable[[], Coroutine[Any, Any, T]]) -> T | None:
        """Run a background job; an unexpected error becomes a sentence in the panel (the
        panel is a place to choose, so it never lets a traceback reach the user)."""
        # The coroutine is made here, so a task cancelled before it ran leaves none unawaited.
        try:
            return await job()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            field = {"scan": "ble", "load": "study", "plan": "study"}.get(what, "start")
            self._show_error(field, f"Could not {_ACTIONS.get(what, what)}: {exc}")
            return None

    # ------------------------------------------------------------------------ study

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
            self._wanted_study = name

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
        self._show_error("participant", problem)
        self._schedule_plan()

    def _on_study_changed(self, _index: int = 0) -> None:
        study = self.study()
        studying = study is not None
        # Track the change itself: the combo is also disabled while a session runs.
        if studying and not self._studying:
            self._protocol_before_study = self.protocol_id()
        elif not studying and self._studying:
            self.set_protocol(self._protocol_before_study)
        self._studying = studying
        self.protocol_combo.setEnabled(not studying and not self._running)
        self.protocol_combo.setToolTip(
            "The study gives the protocol: the participant's next condition" if studying else ""
        )
        self._schedule_plan()

    def _schedule_plan(self) -> None:
        """Reload the participant's place in the chosen study (worker thread)."""
        if self._plan_task is not None and not self._plan_task.done():
            self._plan_task.cancel()
        self._plan = None
        self._plan_error = None
        study = self.study()
        participant = self.participant_id()
        self._show_error("study", None)
        if study is None:
            self.study_info.hide()
        elif participant is None:
            self._show_study_info(
                f"Enter the participant's id to see their condition order in {study!r}."
            )
        elif participant_id_problem(participant) is None:
            self._show_study_info("Reading the condition order…")
            self._plan_task = self._spawn(
                "plan", lambda: self._load_plan(study, participant)
            )
            return
        else:
            self.study_info.hide()
        self.study_plan_changed.emit()

    async def _load_plan(self, study: str, participant: str) -> None:
        try:
            plan = await asyncio.to_thread(_load_study_plan, self.data_dir, study, participant)
        except BiofeedbackError as exc:
            self._plan_error = str(exc)
            self.study_info.hide()
            self._show_error("study", as_sentence(str(exc)))
            self.study_plan_changed.emit()
            return
        if (self.study(), self.participant_id()) != (study, participant):
            return  # the choice moved on while the store was read
        self._plan = plan
        self._show_study_plan(plan)
        if plan.next_condition is not None:
            self.set_protocol(plan.next_condition)
        self.study_plan_changed.emit()

    def _show_study_plan(self, plan: _StudyPlan) -> None:
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
        self._show_study_info(f"{head}.<br>{tail}", rich=True)
        self._show_error("study", plan.problem)

    def _show_study_info(self, text: str, *, rich: bool = False) -> None:
        self.study_info.setText(text if rich else html.escape(text, quote=False))
        self.study_info.show()

    # ------------------------------------------------------------------- the request

    def request(self) -> SessionRequest:
        """The session the current choices describe.

        Raises
        ------
        SessionRequestError
            With a sentence and the :attr:`~SessionRequestError.field` it is about: a seed
            that is not a number, no replay target or a missing file, a participant id the
            store refuses, a study without a participant or with nothing left to run.
        """
        kind = self.source_kind()
        seed: int | None = None
        speed: float | None = 1.0
        if kind == "sim":
            source = "sim"
            seed_text = self.seed_edit.text().strip()
            if seed_text:
                try:
                    seed = int(seed_text)
                except ValueError:
                    raise SessionRequestError(
                        f"The seed {seed_text!r} must be a whole number (or empty for random).",
                        "seed",
                    ) from None
            speed = self.sim_speed_combo.currentData()
        elif kind == "ble":
            source = f"ble:{self._selected_address}" if self._selected_address else "ble"
        else:
            source = self._replay_source()
            speed = self.replay_speed_combo.currentData()

        participant = self.participant_id()
        if participant is not None:
            problem = participant_id_problem(participant)
            if problem:
                raise SessionRequestError(problem, "participant")
        study = self.study()
        protocol = self.protocol_id()
        if study is not None:
            protocol = self._study_protocol(study, participant)
        return SessionRequest(
            source=source,
            protocol_id=protocol,
            participant_id=participant,
            study=study,
            speed=None if speed is None else float(speed),
            record=self.record_check.isChecked(),
            lsl=self.lsl_check.isChecked(),
            seed=seed,
        )

    def _replay_source(self) -> str:
        target = self.replay_edit.text().strip()
        if not target:
            raise SessionRequestError(
                "Choose what to replay: a stored session's id, or an RR file (Open RR file…).",
                "replay",
            )
        if target.isdigit():
            if int(target) < 1:
                raise SessionRequestError(f"There is no session {target}.", "replay")
            return f"replay:{int(target)}"
        path = Path(target).expanduser()
        if not path.is_file():
            raise SessionRequestError(f"There is no RR file {str(path)!r}.", "replay")
        return f"replay:{path.resolve()}"

    def _study_protocol(self, study: str, participant: str | None) -> str:
        if participant is None:
            raise SessionRequestError(
                f"Study {study!r} needs a participant id: the study gives that participant's "
                "condition order.",
                "participant",
            )
        if self._plan_error is not None:
            raise SessionRequestError(as_sentence(self._plan_error), "study")
        plan = self._plan
        if plan is None or (plan.study, plan.participant_id) != (study, participant):
            raise SessionRequestError(
                "The participant's condition order is still being read; try again in a moment.",
                "study",
            )
        if plan.problem is not None or plan.next_condition is None:
            raise SessionRequestError(plan.problem or "Nothing left to run.", "study")
        return plan.next_condition

    # ---------------------------------------------------------------- start and stop

    @property
    def is_running(self) -> bool:
        """True between ``set_running(True)`` and ``set_running(False)``."""
        return self._running

    def _on_start_stop(self) -> None:
        if self._running:
            self.stop_requested.emit()
            return
        self._show_error("start", None)
        try:
            request = self.request()
        except SessionRequestError as exc:
            self._show_error(exc.field, str(exc))
            return
        if request.source_kind == "ble":
            # BlueZ allows one discovery per connection: the session's own scan would fail.
            self.cancel_scan()
        self.start_requested.emit(request)

    def set_running(self, running: bool) -> None:
        """Show Stop and lock the choices while a session runs (or Start and unlock them)."""
        self._running = running
        self.start_button.setText("Stop" if running else "Start")
        for widget in (
            self.sim_radio, self.ble_radio, self.replay_radio, self.sim_options,
            self.replay_options, self.strap_list, self.participant_edit, self.study_combo,
            self.refresh_studies_button, self.record_check, self.lsl_check,
        ):
            widget.setEnabled(not running)
        self.protocol_combo.setEnabled(not running and self.study() is None)
        self._update_scan_button()
        self._update_forget_button()

    # ----------------------------------------------------------------------- settings

    def apply_settings(self) -> None:
        """Fill the controls from the settings: last source, protocol, participant, study,
        speed, and the remembered straps."""
        s = self.settings
        try:
            self.set_source(s.last_source)
        except SourceSpecError:
            self.set_source("sim")
        _set_speed(self.sim_speed_combo, s.speed)
        _set_speed(self.replay_speed_combo, s.speed)
        self.set_participant(s.participant_id)
        if self.study() is None:
            self.set_protocol(s.protocol_id)
        else:
            self._protocol_before_study = s.protocol_id
        self.set_study(s.study)
        self.update_strap_list()

    def store_into_settings(self) -> None:
        """Write the current choices into the settings (the caller saves them)."""
        s = self.settings
        kind = self.source_kind()
        if kind == "ble":
            s.last_source = f"ble:{self._selected_address}" if self._selected_address else "ble"
        elif kind == "replay":
            target = self.replay_edit.text().strip()
            if target:
                s.last_source = f"replay:{target}"
            s.speed = self.replay_speed_combo.currentData()
        else:
            s.last_source = "sim"
            s.speed = self.sim_speed_combo.currentData()
        study = self.study() or self._wanted_study
        s.study = study
        s.protocol_id = self._protocol_before_study if study is not None else self.protocol_id()
        s.participant_id = self.participant_id()

    # ------------------------------------------------------------------------ errors

    def show_error(self, text: str | None) -> None:
        """Show a sentence under the Start button (e.g. why a session could not start);
        None or ``""`` clears it."""
        self._show_error("start", as_sentence(text) if text else None)

    def error_text(self, field: str) -> str:
        """The error shown next to a control (``""`` when none); ``field`` as in
        :class:`SessionRequestError` plus ``"ble"`` (scan errors) and ``"start"``."""
        label = self._error_labels()[field]
        return "" if label.isHidden() else label.text()

    def _error_labels(self) -> dict[str, QLabel]:
        return {
            "seed": self.start_error,
            "strap": self.ble_error,
            "ble": self.ble_error,
            "replay": self.replay_error,
            "participant": self.participant_error,
            "study": self.study_error,
            "protocol": self.protocol_error,
            "start": self.start_error,
        }

    def _show_error(self, field: str, message: str | None) -> None:
        label = self._error_labels().get(field, self.start_error)
        label.setText(message or "")
        label.setVisible(bool(message))


_ACTIONS = {
    "scan": "scan for straps",
    "load": "read the protocols and studies",
    "plan": "read the study",
}

