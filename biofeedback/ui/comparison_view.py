"""The comparison view: self-soothing vs attention practices for a study or some participants.

The list of studies and participants is read in a worker thread (its own
:class:`SessionStore`), and the comparison itself runs in a separate process
(``python -m biofeedback compare --json (--study NAME | --participant ID...)``), whose
``analysed k/n sessions`` lines on standard error drive a progress bar. Neither the database
nor the statistics ever touch the GUI thread. pyqtgraph is imported only when the first result
is drawn, so the window opens as fast as without this view.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.store.paths import database_path
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.session_browser import cli_error_sentence

if TYPE_CHECKING:
    import pyqtgraph as pg

__all__ = [
    "COMPARISON_COLUMNS",
    "METRIC_LABELS",
    "ComparisonChoices",
    "ComparisonView",
    "format_p",
    "format_value",
    "load_choices",
    "parse_participants",
]

_PROGRESS = re.compile(r"analysed (\d+)/(\d+) sessions")

METRIC_LABELS: dict[str, tuple[str, str, int]] = {
    "delta_ln_rmssd": ("Δ lnRMSSD", "ln ms", 3),
    "delta_hr_bpm": ("Δ HR", "bpm", 2),
    "delta_hf_ms2": ("Δ HF", "ms²", 0),
    "delta_lf_ms2": ("Δ LF", "ms²", 0),
    "delta_breathing_rate_bpm": ("Δ breathing", "/min", 2),
}
"""JSON metric -> (name, unit, decimals shown)."""

COMPARISON_COLUMNS: tuple[str, ...] = (
    "Metric", "n", "Mean diff", "95 % CI", "d_z", "d_z 95 % CI", "p (t)", "p (Wilcoxon)",
)
"""Headers of the comparison table, left to right."""

_PER_PRACTICE_METRICS = ("ln_rmssd", "hr_bpm", "hf_ms2", "lf_ms2", "breathing_rate_bpm")

_ERROR_STYLE = "QLabel { color: #8b1a1a; background: #fdecea; padding: 6px; }"
_WARNING_STYLE = (
    "QLabel { color: #5d3a00; background: #fff3cd; border: 2px solid #e0a800; padding: 8px;"
    " font-weight: bold; }"
)
_SIGNIFICANT = "#1565c0"
_NOT_SIGNIFICANT = "#757575"


# -- formatting ----------------------------------------------------------------------------


def format_value(value: float | None, decimals: int) -> str:
    """A number with ``decimals`` decimals (``–`` for a missing or non-finite one).

    Parameters
    ----------
    value : float or None
        The number.
    decimals : int
        Decimals shown.

    Returns
    -------
    str
        E.g. ``"0.150"``, ``"-0.91"``, ``"1175"`` or ``"–"``.
    """
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{decimals}f}"


def format_p(p: float | None) -> str:
    """A p value as published: three decimals, ``< 0.001`` below that, ``–`` when missing."""
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _format_ci(low: float | None, high: float | None, decimals: int) -> str:
    if low is None and high is None:
        return "–"
    return f"{format_value(low, decimals)} .. {format_value(high, decimals)}"


def _metric_label(metric: str) -> str:
    name, unit, _ = METRIC_LABELS.get(metric, (metric, "", 3))
    return f"{name} ({unit})" if unit else name


def _decimals(metric: str) -> int:
    return METRIC_LABELS.get(metric, (metric, "", 3))[2]


def parse_participants(text: str) -> list[str]:
    """Participant ids typed by the user: separated by commas and/or spaces, duplicates dropped.

    Examples
    --------
    >>> parse_participants("P1, P2 P1")
    ['P1', 'P2']
    """
    return list(dict.fromkeys(w for w in re.split(r"[\s,;]+", text) if w))


# -- the chooser's data (worker thread) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComparisonChoices:
    """What can be compared.

    Attributes
    ----------
    studies : list of (str, int)
        Study name and number of participants enrolled.
    participants : list of (str, int)
        Participant id and number of stored sessions.
    """

    studies: list[tuple[str, int]]
    participants: list[tuple[str, int]]


def load_choices(data_dir: Path) -> ComparisonChoices:
    """Read the studies and participants (run it in a worker thread: it opens its own store).

    Parameters
    ----------
    data_dir : Path
        The data folder; no database is created when there is none.

    Returns
    -------
    ComparisonChoices
        Studies by name, participants by id.
    """
    if not database_path(data_dir).exists():
        return ComparisonChoices([], [])
    from biofeedback.store.database import SessionStore
    from biofeedback.store.studies import list_studies

    with SessionStore.open(data_dir) as store:
        studies = sorted((s.name, len(s.participants)) for s in list_studies(store))
        counts: dict[str, int] = {}
        for session in store.list_sessions():
            if session.participant_id:
                counts[session.participant_id] = counts.get(session.participant_id, 0) + 1
    return ComparisonChoices(studies, sorted(counts.items()))


# -- the view ------------------------------------------------------------------------------


def _table(parent: QWidget, headers: Sequence[str], stretch: int = -1) -> QTableWidget:
    """A read-only table; column ``stretch`` (default: the last) takes the spare width."""
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(
        stretch % len(headers), QHeaderView.ResizeMode.Stretch
    )
    return table


def _item(text: str, raw: Any = None, *, numeric: bool = True, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, raw)
    if numeric:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


class ComparisonView(QWidget):
    """Self-soothing vs attention practices, for a study or chosen participants.

    Shows, after **Compare**: one small plot per metric with the paired mean difference
    (self-soothing - attention, each as change from the session baseline) and its 95 % CI;
    a table with n, mean difference, CI, Cohen's d_z with CI, paired-t and Wilcoxon p; the
    breathing rates beside it (with the breathing-confound warning, prominently, when there
    is one); the mixed model's formula and fixed effects; the mean change per practice; and
    every excluded or missing value with its reason.

    Parameters
    ----------
    data_dir : Path
        The data folder (already resolved, see
        :func:`biofeedback.store.paths.resolve_data_dir`).
    parent : QWidget, optional
        Parent widget.
    workers : int, optional
        ``--workers`` of ``biofeedback compare`` (default: every core).

    Signals
    -------
    comparison_finished(object)
        The result: the dict printed by ``biofeedback compare --json`` (``comparisons``,
        ``mixed_model``, ``breathing``, ``per_practice``, ``reactivity``, ``excluded``,
        ``settings``).
    status_message(str)
        A short sentence for the window's status bar.

    Notes
    -----
    Nothing is loaded until :meth:`refresh_choices` is awaited (the window does it when the
    tab is shown). Call :meth:`cancel` before closing the window so no comparison process
    outlives it.
    """

    comparison_finished = Signal(object)
    status_message = Signal(str)

    def __init__(
        self, data_dir: Path, parent: QWidget | None = None, *, workers: int | None = None
    ) -> None:
        super().__init__(parent)
        self._data_dir = Path(data_dir)
        self._workers = workers
        self._process: asyncio.subprocess.Process | None = None
        self._generation = 0
        self._cancelled_generation = -1
        self._started = 0.0
        self._progress: tuple[int, int] | None = None
        self._what = ""
        self._choices = ComparisonChoices([], [])
        self._choices_ticket = 0
        self.result: dict[str, Any] | None = None
        self._plots: Any = None  # pg.GraphicsLayoutWidget, built with the first result

        # -- chooser
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

        # -- progress and messages
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setFormat("%v / %m sessions")
        self.progress_label = QLabel("", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the comparison")
        self.progress_row = QWidget(self)
        progress_layout = QHBoxLayout(self.progress_row)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_layout.addWidget(self.progress_bar)
        progress_layout.addWidget(self.progress_label, 1)
        progress_layout.addWidget(self.cancel_button)
        self.progress_row.hide()

        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.hide()

        self.warning_label = QLabel("", self)
        self.warning_label.setWordWrap(True)
        self.warning_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_label.setStyleSheet(_WARNING_STYLE)
        self.warning_label.hide()

        # -- results
        self.title_label = QLabel("", self)
        title_font = self.title_label.font()
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setWordWrap(True)
        self.breathing_label = QLabel("", self)
        self.breathing_label.setWordWrap(True)
        self._plot_holder = QVBoxLayout()
        self._plot_holder.setContentsMargins(0, 0, 0, 0)
        self.plot_caption = QLabel(
            "Paired mean difference, self-soothing − attention, with its 95 % CI "
            "(blue: the CI excludes 0)", self,
        )
        self.plot_caption.setStyleSheet("color: palette(placeholder-text);")
        self._plot_holder.addWidget(self.plot_caption)

        self.comparison_table = _table(self, COMPARISON_COLUMNS)
        self.comparison_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.comparison_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.model_formula_label = QLabel("", self)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.model_formula_label.setFont(mono)
        self.model_formula_label.setWordWrap(True)
        self.model_formula_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.model_info_label = QLabel("", self)
        self.model_info_label.setWordWrap(True)
        self.fixed_effects_table = _table(
            self, ("Term", "Estimate", "SE", "95 % CI", "z", "p"), stretch=0
        )
        self.model_notes = QPlainTextEdit(self)
        self.model_notes.setReadOnly(True)
        self.model_notes.setMaximumHeight(70)
        model_page = QWidget(self)
        model_layout = QVBoxLayout(model_page)
        model_layout.addWidget(self.model_formula_label)
        model_layout.addWidget(self.model_info_label)
        model_layout.addWidget(self.fixed_effects_table, 1)
        model_layout.addWidget(self.model_notes)

        self.per_practice_table = _table(
            self,
            ("Practice", "Category", *(_metric_label(f"delta_{m}") for m in
                                       _PER_PRACTICE_METRICS), "Participants"),
            stretch=0,
        )
        self.excluded_label = QLabel("", self)
        self.excluded_table = _table(
            self, ("What", "Session", "Participant", "Phase", "Reason")
        )
        excluded_page = QWidget(self)
        excluded_layout = QVBoxLayout(excluded_page)
        excluded_layout.addWidget(self.excluded_label)
        excluded_layout.addWidget(self.excluded_table, 1)

        self.details_tabs = QTabWidget(self)
        self.details_tabs.addTab(self.comparison_table, "Comparisons")
        self.details_tabs.addTab(model_page, "Mixed model")
        self.details_tabs.addTab(self.per_practice_table, "Per practice")
        self.details_tabs.addTab(excluded_page, "Excluded (0)")

        # Individuals and trends: pages now, their pyqtgraph plots with the first result.
        self.individuals_caption = QLabel("", self)
        self.individuals_caption.setWordWrap(True)
        self.individuals_caption.setStyleSheet("color: palette(placeholder-text);")
        self.individuals_page = QWidget(self)
        self._individuals_layout = QVBoxLayout(self.individuals_page)
        self._individuals_layout.addWidget(self.individuals_caption)
        self.trends_caption = QLabel("", self)
        self.trends_caption.setWordWrap(True)
        self.trends_caption.setStyleSheet("color: palette(placeholder-text);")
        self.slope_table = _table(self, ("Participant", "Sessions", "Slope (ln ms/week)"))
        self.slope_table.horizontalHeaderItem(2).setToolTip(
            "Least-squares change of the resting baseline lnRMSSD per week"
        )
        self.slope_table.setMinimumWidth(300)
        self.slope_table.setMaximumWidth(360)
        self.slope_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.trends_page = QWidget(self)
        trends_layout = QVBoxLayout(self.trends_page)
        trends_layout.addWidget(self.trends_caption)
        self._trends_row = QHBoxLayout()
        self._trends_row.addWidget(self.slope_table)
        trends_layout.addLayout(self._trends_row, 1)
        self.details_tabs.addTab(self.individuals_page, "Individuals")
        self.details_tabs.addTab(self.trends_page, "Over time")
        self.individual_plot: Any = None  # pg.PlotWidget, built with the first result
        self.trend_plot: Any = None  # pg.PlotWidget, built with the first result
        self.individual_curves: dict[str, Any] = {}
        """Participant id -> the PlotDataItem drawn for them on the Individuals plot."""
        self.mean_curve: Any = None
        """The mean's PlotDataItem on the Individuals plot (None when not drawn)."""
        self.trend_curves: dict[str, Any] = {}
        """Participant id -> their baseline-lnRMSSD PlotDataItem on the Over time plot."""

        self.settings_label = QLabel("", self)
        self.settings_label.setWordWrap(True)
        self.settings_label.setStyleSheet("color: palette(placeholder-text);")

        plots_part = QWidget(self)
        plots_part.setLayout(self._plot_holder)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(plots_part)
        splitter.addWidget(self.details_tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        results = QWidget(self)
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.title_label)
        results_layout.addWidget(self.breathing_label)
        results_layout.addWidget(splitter, 1)
        results_layout.addWidget(self.settings_label)

        self.placeholder_label = QLabel(
            "Choose a study or participants and press Compare", self
        )
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label.setWordWrap(True)
        self.placeholder_label.setStyleSheet(
            "color: palette(placeholder-text); font-size: 14px;"
        )
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.placeholder_label)
        self._stack.addWidget(results)

        chooser = QHBoxLayout()
        chooser.addWidget(self.study_radio)
        chooser.addWidget(self.study_combo)
        chooser.addSpacing(12)
        chooser.addWidget(self.participants_radio)
        chooser.addWidget(self.participants_edit, 1)
        chooser.addWidget(self.compare_button)
        chooser.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(chooser)
        layout.addWidget(self.known_label)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warning_label)
        layout.addWidget(self._stack, 1)

        self._elapsed_timer = QTimer(self)
        self._elapsed_timer.setInterval(100)
        self._elapsed_timer.timeout.connect(self._show_progress)

        self.compare_button.clicked.connect(self._request_comparison)
        self.refresh_button.clicked.connect(lambda: spawn(self.refresh_choices()))
        self.cancel_button.clicked.connect(self.cancel)
        self.study_combo.activated.connect(lambda _i: self.study_radio.setChecked(True))
        self.participants_edit.textEdited.connect(
            lambda _t: self.participants_radio.setChecked(True)
        )
        self.participants_edit.returnPressed.connect(self._request_comparison)
        self._mode.buttonToggled.connect(lambda *_: self._sync_buttons())
        self.participants_edit.textChanged.connect(lambda _t: self._sync_buttons())
        self._sync_buttons()

    # -- properties ------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The data folder compared."""
        return self._data_dir

    @property
    def choices(self) -> ComparisonChoices:
        """Studies and participants last loaded."""
        return self._choices

    @property
    def running(self) -> bool:
        """Whether a comparison process is running."""
        return self._process is not None

    def study_names(self) -> list[str]:
        """Studies offered in the combo, top to bottom."""
        return [str(self.study_combo.itemData(i)) for i in range(self.study_combo.count())]

    def table_value(self, row: int, column: str) -> Any:
        """Raw value (as in the JSON) behind a cell of the comparison table.

        ``column`` is a header of :data:`COMPARISON_COLUMNS`; the CI columns give a
        ``(low, high)`` tuple, ``Metric`` the JSON metric name.
        """
        item = self.comparison_table.item(row, COMPARISON_COLUMNS.index(column))
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def table_text(self, row: int, column: str) -> str:
        """Text shown in a cell of the comparison table."""
        item = self.comparison_table.item(row, COMPARISON_COLUMNS.index(column))
        return "" if item is None else item.text()

    # -- the chooser -----------------------------------------------------------------------

    async def refresh_choices(self) -> ComparisonChoices:
        """Read the studies and participants again (in a worker thread) and offer them.

        Returns
        -------
        ComparisonChoices
            What was found (nothing when the database cannot be read; the reason is shown).
        """
        self._choices_ticket += 1
        ticket = self._choices_ticket
        self.refresh_button.setEnabled(False)
        try:
            choices = await asyncio.to_thread(load_choices, self._data_dir)
            error = None
        except (BiofeedbackError, OSError) as exc:
            choices, error = ComparisonChoices([], []), f"The study list cannot be read: {exc}"
        finally:
            self.refresh_button.setEnabled(True)
        if ticket != self._choices_ticket:
            return choices  # a later refresh shows its own result
        self._choices = choices
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
        if error is not None:
            self._show_error(error)
        elif not choices.studies and not choices.participants:
            self.placeholder_label.setText(
                "No sessions with a participant yet — record sessions in a study (or with a "
                "participant id) to compare practices"
            )
        self._sync_buttons()
        self.status_message.emit(
            error or f"{len(choices.studies)} studies and {len(choices.participants)} "
            f"participants in {self._data_dir}"
        )
        return choices

    def _sync_buttons(self) -> None:
        if self.study_radio.isChecked():
            ready = self.study_combo.count() > 0
        else:
            ready = bool(parse_participants(self.participants_edit.text()))
        self.compare_button.setEnabled(ready)

    def _request_comparison(self) -> None:
        if self.study_radio.isChecked():
            study = self.study_combo.currentData()
            if study is not None:
                spawn(self.run_comparison(study=str(study)))
        else:
            participants = parse_participants(self.participants_edit.text())
            if participants:
                spawn(self.run_comparison(participants=participants))

    # -- the comparison --------------------------------------------------------------------

    async def run_comparison(
        self, study: str | None = None, participants: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """Compare in a separate process and show the result.

        Runs ``python -m biofeedback compare --json (--study NAME | --participant ID...)
        --data-dir DIR`` with a progress bar (sessions analysed), the elapsed seconds and a
        Cancel button; the GUI stays responsive throughout. Starting another comparison stops
        the one running.

        Parameters
        ----------
        study : str, optional
            Compare every session of this study.
        participants : sequence of str
            Or: compare the sessions of these participants.

        Returns
        -------
        dict or None
            The result printed by ``biofeedback compare --json``, also emitted with
            :attr:`comparison_finished`; None when it failed (the reason is shown in words)
            or was cancelled.
        """
        self._kill_process()
        self._generation += 1
        generation = self._generation
        if (study is None) == (not participants):
            return self._fail(generation, "Choose either a study or at least one participant.")
        if study is not None:
            who: list[str] = ["--study", study]
            self._what = f"study {study}"
        else:
            who = [a for p in participants for a in ("--participant", p)]
            self._what = ("participant " if len(participants) == 1 else "participants ") + (
                ", ".join(participants)
            )
        command = [
            sys.executable, "-m", "biofeedback", "compare", "--json", *who,
            "--data-dir", str(self._data_dir),
        ]
        if self._workers is not None:
            command += ["--workers", str(self._workers)]
        self._started = time.monotonic()
        self._progress = None
        self.error_label.hide()
        self.warning_label.hide()
        self._show_placeholder(f"Comparing {self._what}…")
        self.progress_bar.setRange(0, 0)
        self.progress_row.show()
        self._show_progress()
        self._elapsed_timer.start()
        self.compare_button.setEnabled(False)
        self.status_message.emit(f"Comparing {self._what}…")
        stderr_parts: list[str] = []
        process: asyncio.subprocess.Process | None = None
        try:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                    # Its own process group: Cancel stops its worker processes too.
                    start_new_session=os.name == "posix",
                )
            except OSError as exc:
                return self._fail(generation, f"The comparison could not be started: {exc}")
            self._process = process
            assert process.stdout is not None and process.stderr is not None
            stdout, _ = await asyncio.gather(
                process.stdout.read(),
                self._read_progress(process.stderr, stderr_parts, generation),
            )
            await process.wait()
        finally:
            if process is not None and process.returncode is None:
                # The coroutine was cancelled (window closing): leave no process behind,
                # and reap it so no zombie is left either.
                self._kill(process)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.wait(), 2.0)
            if self._process is process:
                self._process = None
            if generation == self._generation:
                self._sync_buttons()
        if generation != self._generation:
            return None  # superseded by a newer comparison, which owns the display now
        if generation == self._cancelled_generation:
            self._end_progress()
            self._show_placeholder(
                f"Comparison of {self._what} cancelled — press Compare to start again"
            )
            self.status_message.emit(f"Comparison of {self._what} cancelled")
            return None
        if process.returncode != 0:
            return self._fail(generation, _compare_error(
                "".join(stderr_parts), process.returncode
            ))
        try:
            result = json.loads(stdout.decode("utf-8"))
            if not isinstance(result, dict) or not isinstance(result.get("comparisons"), list):
                raise ValueError("no comparisons")
        except (UnicodeDecodeError, ValueError):
            return self._fail(generation, "The comparison did not return a readable result.")
        self._end_progress()
        self.show_result(result)
        elapsed = time.monotonic() - self._started
        self.status_message.emit(f"Compared {self._what} in {elapsed:.1f} s")
        self.comparison_finished.emit(result)
        return result

    async def _read_progress(
        self, stream: asyncio.StreamReader, parts: list[str], generation: int
    ) -> None:
        """Collect standard error, moving the progress bar on each ``analysed k/n``."""
        while chunk := await stream.read(4096):
            text = chunk.decode("utf-8", "replace")
            parts.append(text)
            found = _PROGRESS.findall(text)
            if found and generation == self._generation:
                done, total = (int(x) for x in found[-1])
                self._progress = (done, total)
                self.progress_bar.setRange(0, max(total, 1))
                self.progress_bar.setValue(done)
                self._show_progress()

    def cancel(self) -> None:
        """Stop the running comparison (its processes are killed); nothing if none runs."""
        if self._process is None:
            return
        self._cancelled_generation = self._generation
        self._kill_process()

    def _kill_process(self) -> None:
        if self._process is not None:
            self._kill(self._process)

    @staticmethod
    def _kill(process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
                return
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    def _fail(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._end_progress()
            self._show_placeholder("No comparison to show")
            self._show_error(message)
            self.status_message.emit(message)

    def _show_placeholder(self, text: str) -> None:
        self.result = None
        self.placeholder_label.setText(text)
        self._stack.setCurrentWidget(self.placeholder_label)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _end_progress(self) -> None:
        self._elapsed_timer.stop()
        self.progress_row.hide()

    def _show_progress(self) -> None:
        elapsed = time.monotonic() - self._started
        if self._progress is None:
            what = "reading the sessions"
        else:
            done, total = self._progress
            what = f"analysed {done} of {total} sessions"
        self.progress_label.setText(f"Comparing {self._what}: {what}… {elapsed:.1f} s")

    # -- showing a result ------------------------------------------------------------------

    def show_result(self, result: dict[str, Any]) -> None:
        """Show a result: the dict printed by ``biofeedback compare --json``."""
        self.result = result
        self.error_label.hide()
        settings = result.get("settings", {})
        comparisons = [c for c in result.get("comparisons", []) if isinstance(c, dict)]
        n = max((int(c.get("n") or 0) for c in comparisons), default=0)
        who = (f"study {settings['study']}" if settings.get("study")
               else "participants " + ", ".join(settings.get("participants", [])))
        sessions = len(settings.get("sessions", []))
        self.title_label.setText(
            f"Self-soothing − attention practices, {who}: {n} participant"
            f"{'' if n == 1 else 's'}, {sessions} session{'' if sessions == 1 else 's'} "
            "(each practice as change from its session's baseline; paired by participant)"
        )
        self._show_breathing(result.get("breathing") or {})
        self._fill_comparisons(comparisons)
        self._draw_plots(comparisons)
        self._fill_model(result.get("mixed_model") or {})
        self._fill_per_practice(result.get("per_practice") or [])
        self._fill_excluded(result.get("excluded") or [])
        self._draw_individuals(result.get("participants"))
        self._draw_trends(result.get("trends"))
        self.settings_label.setText(_settings_line(settings))
        self._stack.setCurrentIndex(1)

    def _show_breathing(self, breathing: dict[str, Any]) -> None:
        warning = breathing.get("warning")
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        if breathing.get("mean_a") is None and breathing.get("mean_b") is None:
            self.breathing_label.setText("Breathing rate: not available")
            return
        self.breathing_label.setText(
            f"Breathing rate during the practices: {breathing.get('label_a', 'self-soothing')} "
            f"{format_value(breathing.get('mean_a'), 1)}/min, "
            f"{breathing.get('label_b', 'attention')} "
            f"{format_value(breathing.get('mean_b'), 1)}/min; difference "
            f"{format_value(breathing.get('mean_diff'), 2)}/min (95 % CI "
            f"{_format_ci(breathing.get('ci_low'), breathing.get('ci_high'), 2)})"
            + ("" if warning else " — not enough to explain an HF difference")
        )

    def _fill_comparisons(self, comparisons: list[dict[str, Any]]) -> None:
        table = self.comparison_table
        table.setRowCount(len(comparisons))
        for row, c in enumerate(comparisons):
            metric = str(c.get("metric"))
            d = _decimals(metric)
            note = str(c.get("note") or "")
            missing = int(c.get("n_missing") or 0)
            n_tip = f"{missing} participant(s) without both categories" if missing else ""
            cells = [
                _item(_metric_label(metric), metric, numeric=False, tip=note),
                _item(str(c.get("n")), c.get("n"), tip=n_tip),
                _item(format_value(c.get("mean_diff"), d), c.get("mean_diff")),
                _item(_format_ci(c.get("ci_low"), c.get("ci_high"), d),
                      (c.get("ci_low"), c.get("ci_high"))),
                _item(format_value(c.get("d_z"), 2), c.get("d_z")),
                _item(_format_ci(c.get("d_z_ci_low"), c.get("d_z_ci_high"), 2),
                      (c.get("d_z_ci_low"), c.get("d_z_ci_high")), tip=note),
                _item(format_p(c.get("p_t")), c.get("p_t")),
                _item(format_p(c.get("p_wilcoxon")), c.get("p_wilcoxon"), tip=note),
            ]
            for column, item in enumerate(cells):
                table.setItem(row, column, item)
        self.details_tabs.setCurrentWidget(table)

    def _ensure_plots(self) -> pg.GraphicsLayoutWidget:
        if self._plots is None:
            import pyqtgraph as pg

            self._plots = pg.GraphicsLayoutWidget(self)
            self._plots.setBackground("w")
            self._plots.setMinimumHeight(220)
            self._plot_holder.addWidget(self._plots)
        return self._plots

    def _draw_plots(self, comparisons: list[dict[str, Any]]) -> None:
        import numpy as np
        import pyqtgraph as pg

        plots = self._ensure_plots()
        plots.clear()
        for column, c in enumerate(comparisons):
            metric = str(c.get("metric"))
            name, unit, decimals = METRIC_LABELS.get(metric, (metric, "", 3))
            plot = plots.addPlot(row=0, col=column)
            plot.setTitle(name, size="10pt", color="#202020")
            plot.setLabel("left", unit)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(y=True, alpha=0.25)
            plot.getAxis("bottom").setTicks([[(0.0, f"n = {c.get('n')}")]])
            plot.setXRange(-1.0, 1.0, padding=0)
            plot.addLine(y=0.0, pen=pg.mkPen("#9e9e9e", width=1, style=Qt.PenStyle.DashLine))
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen("#303030")
                plot.getAxis(axis).setPen("#808080")
                plot.getAxis(axis).enableAutoSIPrefix(False)  # units as labelled, no "x0.001"
            mean, low, high = c.get("mean_diff"), c.get("ci_low"), c.get("ci_high")
            if mean is None or not math.isfinite(mean):
                text = pg.TextItem("not computed", color="#8b1a1a", anchor=(0.5, 0.5))
                plot.addItem(text)
                text.setPos(0.0, 0.0)
                plot.setYRange(-1.0, 1.0, padding=0)
                plot.getAxis("left").setTicks([[(0.0, "0")]])
                continue
            excludes_zero = low is not None and high is not None and (low > 0 or high < 0)
            colour = _SIGNIFICANT if excludes_zero else _NOT_SIGNIFICANT
            if low is not None and high is not None:
                bar = pg.ErrorBarItem(
                    x=np.array([0.0]), y=np.array([mean]), top=np.array([high - mean]),
                    bottom=np.array([mean - low]), beam=0.25,
                    pen=pg.mkPen(colour, width=2),
                )
                plot.addItem(bar)
            plot.plot([0.0], [mean], pen=None, symbol="o", symbolSize=10,
                      symbolBrush=colour, symbolPen=colour)
            label = pg.TextItem(
                f"{format_value(mean, decimals)}\nd_z {format_value(c.get('d_z'), 2)}",
                color=colour, anchor=(0.0, 0.5),
            )
            plot.addItem(label)
            label.setPos(0.15, mean)
            values = [v for v in (mean, low, high, 0.0) if v is not None and math.isfinite(v)]
            span = (max(values) - min(values)) or 1.0
            plot.setYRange(min(values) - 0.1 * span, max(values) + 0.1 * span, padding=0)

    def _new_plot(self, layout: Any, index: int) -> pg.PlotWidget:
        import pyqtgraph as pg

        plot = pg.PlotWidget(self)
        plot.setBackground("w")
        plot.setMinimumHeight(200)
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.hideButtons()
        item = plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen("#303030")
            item.getAxis(axis).setPen("#808080")
            item.getAxis(axis).enableAutoSIPrefix(False)
        layout.insertWidget(index, plot, 1)
        return plot

    def _draw_individuals(self, participants: Any) -> None:
        """Each participant's Δ lnRMSSD in both categories, joined by a line, and the mean."""
        import pyqtgraph as pg

        self.individual_curves = {}
        self.mean_curve = None
        if self.individual_plot is None:
            self.individual_plot = self._new_plot(self._individuals_layout, 1)
        plot = self.individual_plot
        plot.clear()
        item = plot.getPlotItem()
        if item.legend is not None:
            item.legend.clear()
        entries = [e for e in participants or [] if isinstance(e, dict)]
        plot.setVisible(bool(entries))
        if not isinstance(participants, list):
            self.individuals_caption.setText(
                "No per-participant values in this result (it was made by an older version "
                "of biofeedback compare): compare again to see them."
            )
            return
        if not entries:
            self.individuals_caption.setText("No participant has a Δ lnRMSSD to show.")
            return
        item.setLabel("left", "Δ lnRMSSD from the session baseline", units="ln ms")
        item.setLabel("bottom", "Practice category")
        item.getAxis("bottom").setTicks([[(0.0, "Self-soothing"), (1.0, "Attention")]])
        item.setXRange(-0.35, 1.35, padding=0)
        item.setMouseEnabled(x=False, y=True)
        plot.addLine(y=0.0, pen=pg.mkPen("#9e9e9e", width=1, style=Qt.PenStyle.DashLine))
        if len(entries) <= 12:
            legend = item.legend or item.addLegend(offset=(-10, 10))
            legend.setColumnCount(2 if len(entries) > 6 else 1)
            legend.setBrush(pg.mkBrush(255, 255, 255, 210))
            legend.setLabelTextColor("#303030")
        paired: list[tuple[float, float]] = []
        partial: list[str] = []
        for index, entry in enumerate(entries):
            participant = str(entry.get("participant_id"))
            soothing = _finite(entry.get("delta_ln_rmssd_self_soothing"))
            attention = _finite(entry.get("delta_ln_rmssd_attention"))
            points = [(x, y) for x, y in ((0.0, soothing), (1.0, attention)) if y is not None]
            if not points:
                partial.append(f"{participant} (no value)")
                continue
            if len(points) == 1:
                missing = "attention" if soothing is not None else "self-soothing"
                partial.append(f"{participant} (no {missing} value: single point)")
            else:
                paired.append((soothing, attention))  # type: ignore[arg-type]
            colour = _participant_colour(index, len(entries))
            curve = plot.plot(
                [x for x, _ in points], [y for _, y in points],
                pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=8,
                symbolBrush=colour, symbolPen=pg.mkPen("w", width=0.5), name=participant,
            )
            self.individual_curves[participant] = curve
        values = [y for c in self.individual_curves.values() for y in c.getData()[1]]
        if paired:
            mean = (
                sum(a for a, _ in paired) / len(paired), sum(b for _, b in paired) / len(paired)
            )
            self.mean_curve = plot.plot(
                [0.0, 1.0], list(mean), pen=pg.mkPen("#202020", width=4), symbol="s",
                symbolSize=11, symbolBrush="#202020", symbolPen="#202020",
                name=f"mean (n = {len(paired)})",
            )
            self.mean_curve.setZValue(10)
        if values:
            low, high = min([*values, 0.0]), max([*values, 0.0])
            span = (high - low) or 1.0
            item.setYRange(low - 0.08 * span, high + 0.08 * span, padding=0)
        caption = (
            "Each participant's mean Δ lnRMSSD (change from the session's resting baseline, "
            "ln ms) during self-soothing and during attention practices, joined by a line; "
            f"thick black: the mean of the {len(paired)} participant"
            f"{'' if len(paired) == 1 else 's'} with both values."
        )
        if partial:
            caption += f" Not paired ({len(partial)}): " + ", ".join(partial) + "."
        self.individuals_caption.setText(caption)

    def _draw_trends(self, trends: Any) -> None:
        """Per participant, the resting baseline lnRMSSD over days since their first session."""
        import pyqtgraph as pg

        self.trend_curves = {}
        if self.trend_plot is None:
            self.trend_plot = self._new_plot(self._trends_row, 0)
            self._trends_row.setStretch(0, 3)
            self._trends_row.setStretch(1, 1)
        plot = self.trend_plot
        plot.clear()
        item = plot.getPlotItem()
        if item.legend is not None:
            item.legend.clear()
        entries = [e for e in trends or [] if isinstance(e, dict)]
        plot.setVisible(bool(entries))
        self.slope_table.setVisible(bool(entries))
        self.slope_table.setRowCount(0)
        if not isinstance(trends, list):
            self.trends_caption.setText(
                "No session-by-session trends in this result (it was made by an older "
                "version of biofeedback compare): compare again to see them."
            )
            return
        if not entries:
            self.trends_caption.setText("No sessions to show over time.")
            return
        item.setLabel("left", "Resting baseline lnRMSSD", units="ln ms")
        item.setLabel("bottom", "Time since the participant's first session", units="days")
        item.setMouseEnabled(x=True, y=True)
        if len(entries) <= 12:
            legend = item.legend or item.addLegend(offset=(-10, 10))
            legend.setColumnCount(2 if len(entries) > 6 else 1)
            legend.setBrush(pg.mkBrush(255, 255, 255, 210))
            legend.setLabelTextColor("#303030")
        self.slope_table.setRowCount(len(entries))
        xs_all: list[float] = []
        ys_all: list[float] = []
        most_sessions = 0
        for index, entry in enumerate(entries):
            participant = str(entry.get("participant_id"))
            sessions = [s for s in entry.get("sessions") or [] if isinstance(s, dict)]
            most_sessions = max(most_sessions, len(sessions))
            xs = [float(s.get("days_since_first") or 0.0) for s in sessions]
            ys = [_finite(s.get("baseline_ln_rmssd")) for s in sessions]
            colour = _participant_colour(index, len(entries))
            curve = plot.plot(
                xs, [math.nan if y is None else y for y in ys], connect="finite",
                pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=8,
                symbolBrush=colour, symbolPen=pg.mkPen("w", width=0.5), name=participant,
            )
            self.trend_curves[participant] = curve
            xs_all += [x for x, y in zip(xs, ys, strict=True) if y is not None]
            ys_all += [y for y in ys if y is not None]
            slope = _finite(entry.get("baseline_slope_per_week"))
            n_baselines = sum(y is not None for y in ys)
            tip = ("" if slope is not None else
                   "Needs at least 3 baselines spanning more than a day "
                   f"({n_baselines} here)")
            cells = [
                _item(participant, participant, numeric=False),
                _item(str(len(sessions)), len(sessions)),
                _item(format_value(slope, 3) if slope is None else f"{slope:+.3f}", slope,
                      tip=tip),
            ]
            for column, cell in enumerate(cells):
                self.slope_table.setItem(index, column, cell)
        if xs_all:
            item.setXRange(min(0.0, *xs_all), max(7.0, *xs_all), padding=0.05)
            # At least 0.5 ln ms shown, so a tiny spread does not look like a big change.
            low, high = min(ys_all), max(ys_all)
            middle, half = (low + high) / 2.0, max((high - low) * 0.55, 0.25)
            item.setYRange(middle - half, middle + half, padding=0)
        self.trends_caption.setText(
            "Resting baseline lnRMSSD of each session against days since the participant's "
            "first session (benefits are reported to build over 4-8 weeks of practice). "
            "Slope: least-squares change per week, computed with at least 3 baselines "
            "spanning more than a day."
            + ("" if most_sessions > 1 else " Only one session per participant so far: no "
               "trend yet.")
        )

    def _fill_model(self, model: dict[str, Any]) -> None:
        self.model_formula_label.setText(f"Mixed model: {model.get('formula', '–')}")
        error = model.get("error")
        info = (
            f"{model.get('n_observations', '–')} observations of "
            f"{model.get('n_participants', '–')} participants (random intercept per "
            f"participant; {model.get('method', '')}"
            f"{', converged' if model.get('converged') else ', not converged'}); "
            f"{model.get('n_excluded', 0)} excluded, {model.get('n_missing', 0)} missing"
        )
        self.model_info_label.setText(f"Not fitted: {error}" if error else info)
        self.model_info_label.setStyleSheet(_ERROR_STYLE if error else "")
        effects = [e for e in model.get("fixed_effects") or [] if isinstance(e, dict)]
        table = self.fixed_effects_table
        table.setRowCount(len(effects))
        for row, e in enumerate(effects):
            cells = [
                _item(str(e.get("term")), e.get("term"), numeric=False),
                _item(format_value(e.get("estimate"), 4), e.get("estimate")),
                _item(format_value(e.get("std_error"), 4), e.get("std_error")),
                _item(_format_ci(e.get("ci_low"), e.get("ci_high"), 4),
                      (e.get("ci_low"), e.get("ci_high"))),
                _item(format_value(e.get("z"), 2), e.get("z")),
                _item(format_p(e.get("p")), e.get("p")),
            ]
            for column, item in enumerate(cells):
                table.setItem(row, column, item)
        self.model_notes.setPlainText("\n".join(str(n) for n in model.get("notes") or []))
        self.model_notes.setVisible(bool(model.get("notes")))

    def _fill_per_practice(self, entries: list[dict[str, Any]]) -> None:
        table = self.per_practice_table
        table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            cells = [
                _item(str(entry.get("practice")), entry.get("practice"), numeric=False),
                _item(str(entry.get("category", "")).replace("_", "-"), entry.get("category"),
                      numeric=False),
            ]
            for metric in _PER_PRACTICE_METRICS:
                key = f"delta_{metric}"
                cells.append(_item(
                    format_value(entry.get(key), _decimals(key)), entry.get(key),
                    tip=f"mean of {entry.get(f'n_{metric}', 0)} participants",
                ))
            n = max((int(entry.get(f"n_{m}") or 0) for m in _PER_PRACTICE_METRICS), default=0)
            cells.append(_item(str(n), n))
            for column, item in enumerate(cells):
                table.setItem(row, column, item)

    def _fill_excluded(self, excluded: list[dict[str, Any]]) -> None:
        table = self.excluded_table
        table.setRowCount(len(excluded))
        for row, entry in enumerate(excluded):
            cells = [
                _item(str(entry.get("what", "")), entry.get("what"), numeric=False),
                _item(str(entry.get("session_id", "–")), entry.get("session_id")),
                _item(str(entry.get("participant_id") or "–"), entry.get("participant_id"),
                      numeric=False),
                _item(str(entry.get("phase_id") or "–"), entry.get("phase_id"), numeric=False),
                _item(str(entry.get("reason", "")), entry.get("reason"), numeric=False),
            ]
            for column, item in enumerate(cells):
                table.setItem(row, column, item)
        count = len(excluded)
        self.excluded_label.setText(
            "Nothing excluded or missing: every window and change went into the statistics."
            if count == 0 else
            f"{count} excluded or missing value{'' if count == 1 else 's'} (never dropped "
            "silently; each with its reason):"
        )
        index = self.details_tabs.indexOf(self.excluded_label.parentWidget())
        self.details_tabs.setTabText(index, f"Excluded ({count})")
        self.details_tabs.tabBar().setTabTextColor(
            index, QColor("#b35c00") if count else self.palette().text().color()
        )
        if count:
            for row in range(count):
                table.item(row, 0).setForeground(QBrush(QColor("#b35c00")))


def _finite(value: Any) -> float | None:
    """``value`` as a float, None when missing or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


_PARTICIPANT_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)


def _participant_colour(index: int, count: int) -> QColor:
    """The same colour for a participant on both plots (distinct up to 10, then a hue wheel)."""
    if count <= len(_PARTICIPANT_COLOURS):
        return QColor(_PARTICIPANT_COLOURS[index])
    return QColor.fromHsv(int(360 * index / count) % 360, 170, 200)


def _compare_error(stderr: str, returncode: int | None) -> str:
    """The CLI's sentence, without the progress lines before it."""
    lines = [line for line in re.split(r"[\r\n]+", stderr) if line.strip()]
    kept = "\n".join(line for line in lines if not _PROGRESS.search(line))
    sentence = cli_error_sentence(kept, returncode)
    return sentence.replace("The analysis", "The comparison")


def _settings_line(settings: dict[str, Any]) -> str:
    """Windows, exclusion threshold, artifact correction and spectrum behind the numbers."""
    parts = []
    window = settings.get("window") or {}
    if "length_s" in window:
        minutes = float(window["length_s"]) / 60.0
        parts.append(
            f"windows: {minutes:g} min at the {window.get('anchor', 'end')} of each phase"
        )
    if "exclusion_threshold_pct" in window:
        parts.append(f"excluded above {window['exclusion_threshold_pct']:g} % artifacts")
    analysis = settings.get("analysis") or {}
    if "correction" in analysis:
        parts.append(f"artifact correction: {analysis['correction']}")
    if "psd_method" in analysis:
        parts.append(f"spectrum: {analysis['psd_method']}")
    hf = analysis.get("hf_band_hz")
    if isinstance(hf, list | tuple) and len(hf) == 2:
        parts.append(f"HF {hf[0]:g}-{hf[1]:g} Hz")
    if "confidence" in settings:
        parts.append(f"{float(settings['confidence']) * 100:g} % intervals")
    return " · ".join(parts)
