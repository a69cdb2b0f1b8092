"""The Source group of the source panel: simulated strap, Bluetooth strap or replay, with the
list of scanned and remembered straps (drawn by :class:`biofeedback.ui.strap_list.StrapList`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.strap_list import StrapList
from biofeedback.ui.widgets import error_label, note_label
from biofeedback.ui.wording import as_sentence
from biofeedback.viewmodels.preferences import WindowPreferences

if TYPE_CHECKING:
    from biofeedback.session.straps import StrapAdvertisement

__all__ = [
    "SPEED_CHOICES",
    "SessionRequestError",
    "SourceBox",
    "StrapList",
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


class SourceBox(QGroupBox):
    """The Source group: three radios, each with its options shown only when chosen, and the
    Bluetooth strap list with its scan (an asyncio task on the shared Qt-asyncio loop).

    Parameters
    ----------
    settings : WindowPreferences
        Holds the remembered straps ("Forget" removes one from it).
    scan_timeout_s : float
        How long a Bluetooth scan listens, s.
    parent : QWidget, optional
        Parent widget.

    Signals
    -------
    scan_finished(list)
        A scan ended with these straps (empty after an error).
    settings_changed()
        A strap was forgotten: ``settings`` changed.
    """

    scan_finished = Signal(object)
    settings_changed = Signal()

    def __init__(
        self, settings: WindowPreferences, scan_timeout_s: float, parent: QWidget | None = None
    ) -> None:
        super().__init__("Source", parent)
        self.settings = settings
        self.scan_timeout_s = scan_timeout_s
        self._running = False
        self._found: list[StrapAdvertisement] = []
        self._scanned_once = False
        self._selected_address: str | None = None
        self.scan_task: asyncio.Task[Any] | None = None
        """The running (or last) scan task."""
        self.spawn_job: Callable[[str, Callable[[], Coroutine[Any, Any, Any]]], asyncio.Task[Any]]
        self.spawn_job = lambda _what, job: spawn(job())
        """Starts a background job (the panel replaces it with its error-reporting guard)."""
        self._scanning = False
        self._scan_deadline = 0.0
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
        self._countdown = QTimer(self)
        self._countdown.setInterval(200)
        self._countdown.timeout.connect(self._update_scan_button)
        self.scan_button.clicked.connect(self.start_scan)
        self.forget_button.clicked.connect(self.forget_selected_strap)
        self.strap_list.itemSelectionChanged.connect(self._on_strap_selected)

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

    def source_choice(self) -> tuple[str, int | None, float | None]:
        """The chosen source as a spec, its seed and its speed (multiple of real time, None
        = as fast as possible).

        Raises
        ------
        SessionRequestError
            A seed that is not a number, no replay target or a missing file.
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
            source = f"ble:{self.selected_strap}" if self.selected_strap else "ble"
        else:
            source = self._replay_source()
            speed = self.replay_speed_combo.currentData()
        return source, seed, speed

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

    def set_running(self, running: bool) -> None:
        """Lock the choices while a session runs."""
        self._running = running
        self._update_scan_button()
        self._update_forget_button()

    def _show_ble_error(self, message: str | None) -> None:
        self.ble_error.setText(message or "")
        self.ble_error.setVisible(bool(message))

    # -- straps ---------------------------------------------------------------------------

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
        self.strap_list.set_rows(rows, self._selected_address)
        self._update_forget_button()

    def strap_rows(self) -> list[tuple[str, str, str, str]]:
        """The list as shown: (name, address, signal, note) per row, top to bottom."""
        return self.strap_list.rows()

    def _on_strap_selected(self) -> None:
        self._selected_address = self.strap_list.selected_address()
        self._show_ble_error(None)
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

    # -- scanning ------------------------------------------------------------------------

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
        self.scan_task = self.spawn_job("scan", self.scan)

    def cancel_scan(self) -> None:
        """Cancel a running scan (the list keeps the previous results)."""
        if self.scan_task is not None and not self.scan_task.done():
            self.scan_task.cancel()

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
        from biofeedback.session.straps import StrapError, scan_for_straps

        timeout = self.scan_timeout_s if timeout_s is None else timeout_s
        self._begin_scan(timeout)
        found: list[StrapAdvertisement] = []
        try:
            found = await scan_for_straps(timeout)
        except StrapError as exc:
            self.ble_status.hide()  # the error below says it all
            self._show_ble_error(as_sentence(str(exc)))
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
        self._show_ble_error(None)
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
