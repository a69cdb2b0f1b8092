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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from biofeedback.session.launch import SessionRequest, SourceSpecError, parse_source_spec
from biofeedback.ui.panel_jobs import PanelJobs
from biofeedback.ui.session_box import (
    FREE_PRACTICE_LABEL,
    SessionBox,
    load_protocol_choices,
)
from biofeedback.ui.source_box import (
    SPEED_CHOICES,
    SessionRequestError,
    SourceBox,
    set_speed,
)
from biofeedback.ui.widgets import error_label
from biofeedback.ui.wording import as_sentence
from biofeedback.viewmodels.audio_guidance import audio_request_fields
from biofeedback.viewmodels.preferences import WindowPreferences
from biofeedback.viewmodels.queries import (
    participant_id_problem,
)

if TYPE_CHECKING:
    from biofeedback.session.straps import StrapAdvertisement

__all__ = [
    "FREE_PRACTICE_LABEL",
    "SPEED_CHOICES",
    "SessionRequestError",
    "SourcePanel",
    "participant_id_problem",
]


class SourcePanel(QWidget):
    """Choose the heart-rate source, protocol, participant and study; start and stop.

    Parameters
    ----------
    settings : WindowPreferences
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
        settings: WindowPreferences,
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
        self._jobs = PanelJobs(self._show_error)
        self._build()
        self.apply_settings()

    # ------------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        outer = QVBoxLayout(self)
        self.start_error = error_label()
        self.source_box = SourceBox(self.settings, self.scan_timeout_s)
        self.source_box.spawn_job = self._jobs.spawn
        self.source_box.scan_finished.connect(self.scan_finished)
        self.source_box.settings_changed.connect(self.settings_changed)
        self.session_box = SessionBox(self.data_dir)
        self.session_box.spawn_job = self._jobs.spawn
        self.session_box.study_plan_changed.connect(self.study_plan_changed)
        self._alias_controls()
        self._connect_controls()
        outer.addWidget(self.source_box)
        outer.addWidget(self.session_box)
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

    def _alias_controls(self) -> None:
        """The boxes' controls under the panel's names (the window and tests use them)."""
        source, session = self.source_box, self.session_box
        self.sim_radio = source.sim_radio
        self.ble_radio = source.ble_radio
        self.replay_radio = source.replay_radio
        self.source_group = source.source_group
        self.sim_options = source.sim_options
        self.seed_edit = source.seed_edit
        self.sim_speed_combo = source.sim_speed_combo
        self.ble_options = source.ble_options
        self.scan_button = source.scan_button
        self.forget_button = source.forget_button
        self.strap_list = source.strap_list
        self.ble_status = source.ble_status
        self.ble_error = source.ble_error
        self.replay_options = source.replay_options
        self.replay_edit = source.replay_edit
        self.open_file_button = source.open_file_button
        self.replay_speed_combo = source.replay_speed_combo
        self.replay_error = source.replay_error
        self.participant_edit = session.participant_edit
        self.participant_error = session.participant_error
        self.study_combo = session.study_combo
        self.refresh_studies_button = session.refresh_studies_button
        self.study_info = session.study_info
        self.study_error = session.study_error
        self.protocol_combo = session.protocol_combo
        self.protocol_error = session.protocol_error
        self.record_check = session.record_check
        self.lsl_check = session.lsl_check

    def _connect_controls(self) -> None:
        self.replay_edit.textChanged.connect(lambda _: self._show_error("replay", None))
        self.open_file_button.clicked.connect(self._choose_rr_file)
        for radio in (self.sim_radio, self.ble_radio, self.replay_radio):
            radio.toggled.connect(self._on_source_toggled)
        self.refresh_studies_button.clicked.connect(lambda: self._jobs.spawn("load", self.load))

    # ------------------------------------------------------------------ source choice

    def source_kind(self) -> str:
        """The chosen kind of source: ``sim``, ``ble`` or ``replay``."""
        return self.source_box.source_kind()

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
        self.start_error.hide()

    def _choose_rr_file(self) -> None:
        start = self.replay_edit.text().strip()
        folder = str(Path(start).expanduser().parent) if start and not start.isdigit() else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a recording", folder,
            "Recordings (*.txt *.csv *.tsv *.rr *.fit *.hea *.atr *.hrm *.edf *.bdf)"
            ";;All files (*)",
        )
        if path:
            self.set_replay_target(path)

    # ---------------------------------------------------------------------- straps

    @property
    def found_straps(self) -> list[StrapAdvertisement]:
        """Straps of the last scan, strongest first."""
        return self.source_box.found_straps

    @property
    def selected_strap(self) -> str | None:
        """Address of the selected strap (None: the strongest in range is used)."""
        return self.source_box.selected_strap

    def select_strap(self, address: str | None) -> None:
        """Select a strap by address (it need not be listed yet; None clears)."""
        self.source_box.select_strap(address)

    def show_scan_results(self, straps: list[StrapAdvertisement]) -> None:
        """List these straps (strongest first) with the remembered ones."""
        self.source_box.show_scan_results(straps)

    def update_strap_list(self) -> None:
        """Redraw the list: scanned straps strongest first, then remembered ones not seen."""
        self.source_box.update_strap_list()

    def strap_rows(self) -> list[tuple[str, str, str, str]]:
        """The list as shown: (name, address, signal, note) per row, top to bottom."""
        return self.strap_list.rows()

    def forget_selected_strap(self) -> None:
        """Forget the selected remembered strap and emit :attr:`settings_changed`."""
        self.source_box.forget_selected_strap()

    @property
    def is_scanning(self) -> bool:
        """True while a scan runs."""
        return self.source_box.is_scanning

    def start_scan(self) -> None:
        """Start a scan as an asyncio task; while one runs, cancel it (the button's action)."""
        self.source_box.start_scan()

    def cancel_scan(self) -> None:
        """Cancel a running scan (the list keeps the previous results)."""
        self.source_box.cancel_scan()

    async def scan(self, timeout_s: float | None = None) -> list[StrapAdvertisement]:
        """Scan for straps and list them; errors are shown in the panel, never raised
        (see :meth:`SourceBox.scan <biofeedback.ui.source_box.SourceBox.scan>`)."""
        return await self.source_box.scan(timeout_s)

    # --------------------------------------------------------------------- protocols

    def protocol_id(self) -> str | None:
        """The chosen protocol id (None: free practice)."""
        return self.protocol_combo.protocol_id()

    def set_protocol(self, protocol_id: str | None) -> None:
        """Choose a protocol by id (a template such as ``stress_reactivity:soothing_touch``
        or a ``.toml`` path not in the list is added as its own entry); None = free practice."""
        self.protocol_combo.set_protocol(protocol_id)

    # ---------------------------------------------------------------------- loading

    async def load(self) -> None:
        """Load the protocol library and the studies in worker threads and fill the combos."""
        groups = await asyncio.to_thread(load_protocol_choices)
        self.protocol_combo.fill(groups)
        await self.refresh_studies()

    async def refresh_studies(self) -> list[str]:
        """Read the study names from the store (worker thread) and refill the study combo.

        Returns
        -------
        list of str
            Study names, sorted. A store that cannot be read is shown as a sentence.
        """
        return await self.session_box.refresh_studies()

    async def wait_idle(self) -> None:
        """Wait until the panel's background work (scan, loading, study order) has ended."""
        while True:
            tasks = (self.source_box.scan_task, self._jobs.load_task, self.session_box.plan_task)
            pending = [t for t in tasks if t is not None and not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------------ study

    def study(self) -> str | None:
        """The chosen study name (None: no study)."""
        return self.session_box.study()

    def set_study(self, name: str | None) -> None:
        """Choose a study by name; before the studies are loaded it is chosen once they are."""
        self.session_box.set_study(name)

    def participant_id(self) -> str | None:
        """The participant id as typed (None when empty)."""
        return self.session_box.participant_id()

    def set_participant(self, participant_id: str | None) -> None:
        """Fill in the participant id."""
        self.session_box.set_participant(participant_id)

    @property
    def study_order(self) -> tuple[str, ...] | None:
        """Condition order of the chosen participant in the chosen study (None if unknown)."""
        return self.session_box.study_order

    @property
    def next_condition(self) -> str | None:
        """The participant's next condition in the chosen study (None if unknown or done)."""
        return self.session_box.next_condition

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
        source, seed, speed = self.source_box.source_choice()
        participant = self.participant_id()
        if participant is not None:
            problem = participant_id_problem(participant)
            if problem:
                raise SessionRequestError(problem, "participant")
        study = self.study()
        protocol = self.protocol_id()
        if study is not None:
            protocol = self.session_box.study_protocol(study, participant)
        return SessionRequest(
            source=source,
            protocol_id=protocol,
            participant_id=participant,
            study=study,
            speed=None if speed is None else float(speed),
            record=self.record_check.isChecked(),
            lsl=self.lsl_check.isChecked(),
            seed=seed,
            **audio_request_fields(self.settings, source),
        )

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
        self.session_box.running = running
        self.start_button.setText("Stop" if running else "Start")
        for widget in (
            self.sim_radio, self.ble_radio, self.replay_radio, self.sim_options,
            self.replay_options, self.strap_list, self.participant_edit, self.study_combo,
            self.refresh_studies_button, self.record_check, self.lsl_check,
        ):
            widget.setEnabled(not running)
        self.protocol_combo.setEnabled(not running and self.study() is None)
        self.source_box.set_running(running)

    # ----------------------------------------------------------------------- settings

    def apply_settings(self) -> None:
        """Fill the controls from the settings: last source, protocol, participant, study,
        speed, and the remembered straps."""
        s = self.settings
        try:
            self.set_source(s.last_source)
        except SourceSpecError:
            self.set_source("sim")
        set_speed(self.sim_speed_combo, s.speed)
        set_speed(self.replay_speed_combo, s.speed)
        self.set_participant(s.participant_id)
        if self.study() is None:
            self.set_protocol(s.protocol_id)
        else:
            self.session_box.protocol_before_study = s.protocol_id
        self.set_study(s.study)
        self.update_strap_list()

    def store_into_settings(self) -> None:
        """Write the current choices into the settings (the caller saves them)."""
        s = self.settings
        kind = self.source_kind()
        if kind == "ble":
            s.last_source = f"ble:{self.selected_strap}" if self.selected_strap else "ble"
        elif kind == "replay":
            target = self.replay_edit.text().strip()
            if target:
                s.last_source = f"replay:{target}"
            s.speed = self.replay_speed_combo.currentData()
        else:
            s.last_source = "sim"
            s.speed = self.sim_speed_combo.currentData()
        study = self.study() or self.session_box.wanted_study
        s.study = study
        s.protocol_id = (
            self.session_box.protocol_before_study if study is not None else self.protocol_id()
        )
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

