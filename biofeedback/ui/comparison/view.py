"""The comparison view: self-soothing vs attention practices for a study or some participants.

The list of studies and participants is read in a worker thread (through
:mod:`biofeedback.viewmodels.queries`), and the comparison itself runs in a separate process
(``python -m biofeedback compare --json (--study NAME | --participant ID...)``, see
:mod:`biofeedback.ui.cli_job`), whose ``analysed k/n sessions`` lines on standard error drive
a progress bar. Neither the database nor the statistics ever touch the GUI thread. The
tables are in :mod:`~biofeedback.ui.comparison.tables`, the plots in
:mod:`~biofeedback.ui.comparison.plots`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.formatting import format_number
from biofeedback.ui.cli_job import CliJob
from biofeedback.ui.comparison.chooser import ComparisonChooser
from biofeedback.ui.comparison.figure_export import FigureExport
from biofeedback.ui.comparison.plots import DifferencePlots, IndividualsPage, TrendsPage
from biofeedback.ui.comparison.tables import (
    COMPARISON_COLUMNS,
    ExcludedPage,
    ModelPage,
    comparison_table,
    fill_comparisons,
    fill_per_practice,
    per_practice_table,
)
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.widgets import ErrorLabel, ProgressRow
from biofeedback.viewmodels.comparison_format import (
    BREATHING_SOURCE_NAMES,
    ecg_rr_line,
    format_ci,
    settings_line,
)
from biofeedback.viewmodels.queries import ComparisonChoices, load_choices

__all__ = ["ComparisonView"]

def _compared_on(participants: dict[str, int] | None) -> str:
    """Where the compared practice rates came from (one source per participant)."""
    used = {k: int(n) for k, n in (participants or {}).items() if n}
    if not used:
        return ""
    if len(used) == 1:
        return f" (rates from the {BREATHING_SOURCE_NAMES.get(next(iter(used)), '?')})"
    return (f" (rates from the ACC for {used.get('acc', 0)} participant"
            f"{'' if used.get('acc') == 1 else 's'}, the RR spectrum for {used.get('rr', 0)})")


_PROGRESS = re.compile(r"analysed (\d+)/(\d+) sessions")

_WARNING_STYLE = (
    "QLabel { color: #5d3a00; background: #fff3cd; border: 2px solid #e0a800; padding: 8px;"
    " font-weight: bold; }"
)


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

    comparison_finished = Signal(object)
    status_message = Signal(str)

    def __init__(
        self, data_dir: Path, parent: QWidget | None = None, *, workers: int | None = None
    ) -> None:
        super().__init__(parent)
        self._data_dir = Path(data_dir)
        self._workers = workers
        self._job = CliJob(
            "comparison", "comparisons", progress=_PROGRESS, on_progress=self._on_progress
        )
        self._progress: tuple[int, int] | None = None
        self._what = ""
        self._choices = ComparisonChoices([], [])
        self._choices_ticket = 0
        self.result: dict[str, Any] | None = None

        self.chooser = ComparisonChooser(self)
        self.study_radio = self.chooser.study_radio
        self.participants_radio = self.chooser.participants_radio
        self.study_combo = self.chooser.study_combo
        self.participants_edit = self.chooser.participants_edit
        self.compare_button = self.chooser.compare_button
        self.refresh_button = self.chooser.refresh_button
        self.known_label = self.chooser.known_label
        self.progress_row = ProgressRow(
            "Stop the comparison", self, bar_width=220, bar_format="%v / %m sessions"
        )
        self.progress_bar = self.progress_row.bar
        self.progress_label = self.progress_row.label
        self.cancel_button = self.progress_row.cancel_button
        self.error_label = ErrorLabel(self)
        self.warning_label = QLabel("", self)
        self.warning_label.setWordWrap(True)
        self.warning_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_label.setStyleSheet(_WARNING_STYLE)
        self.warning_label.hide()
        results = self._build_results()

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

        layout = QVBoxLayout(self)
        layout.addWidget(self.chooser)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warning_label)
        layout.addWidget(self._stack, 1)
        self._connect()

    def _build_results(self) -> QWidget:
        """Title, breathing line, difference plots above the detail tabs, settings line."""
        self.title_label = QLabel("", self)
        title_font = self.title_label.font()
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setWordWrap(True)
        self.export = FigureExport(self)
        self.export_button = QPushButton("Export report…", self)
        self.export_button.setToolTip("Write this study's report (HTML or PDF: figures, "
                                      "tables and methods)")
        self.export_button.clicked.connect(self.export.ask_and_export)
        self.breathing_label = QLabel("", self)
        self.breathing_label.setWordWrap(True)
        self.ecg_label = QLabel("", self)
        self.ecg_label.setWordWrap(True)
        self.ecg_label.hide()
        self.difference_plots = DifferencePlots(self)
        self.plot_caption = self.difference_plots.caption

        self.comparison_table = comparison_table(self)
        self.model_page = ModelPage(self)
        self.model_formula_label = self.model_page.formula_label
        self.model_info_label = self.model_page.info_label
        self.fixed_effects_table = self.model_page.fixed_effects_table
        self.model_notes = self.model_page.notes
        self.per_practice_table = per_practice_table(self)
        self.excluded_page = ExcludedPage(self)
        self.excluded_label = self.excluded_page.label
        self.excluded_table = self.excluded_page.table
        self.individuals_page = IndividualsPage(self)
        self.individuals_caption = self.individuals_page.caption
        self.trends_page = TrendsPage(self)
        self.trends_caption = self.trends_page.caption
        self.slope_table = self.trends_page.slope_table

        self.details_tabs = QTabWidget(self)
        self.details_tabs.addTab(self.comparison_table, "Comparisons")
        self.details_tabs.addTab(self.model_page, "Mixed model")
        self.details_tabs.addTab(self.per_practice_table, "Per practice")
        self.details_tabs.addTab(self.excluded_page, "Excluded (0)")
        self.details_tabs.addTab(self.individuals_page, "Individuals")
        self.details_tabs.addTab(self.trends_page, "Over time")

        self.settings_label = QLabel("", self)
        self.settings_label.setWordWrap(True)
        self.settings_label.setStyleSheet("color: palette(placeholder-text);")

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.difference_plots)
        splitter.addWidget(self.details_tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        results = QWidget(self)
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label, 1)
        title_row.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        results_layout.addLayout(title_row)
        results_layout.addWidget(self.breathing_label)
        results_layout.addWidget(self.ecg_label)
        results_layout.addWidget(splitter, 1)
        results_layout.addWidget(self.settings_label)
        return results

    def _connect(self) -> None:
        self.chooser.compare_requested.connect(self._request_comparison)
        self.refresh_button.clicked.connect(lambda: spawn(self.refresh_choices()))
        self.cancel_button.clicked.connect(self.cancel)

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
        return self._job.running

    @property
    def _process(self) -> asyncio.subprocess.Process | None:
        """The running comparison process (for tests that check it was killed)."""
        return self._job.process

    @property
    def _plots(self) -> Any:
        """The pg.GraphicsLayoutWidget of the difference plots (None before a result)."""
        return self.difference_plots.plots

    @property
    def individual_plot(self) -> Any:
        """The pg.PlotWidget of the Individuals tab (None before a result)."""
        return self.individuals_page.plot

    @property
    def individual_curves(self) -> dict[str, Any]:
        """Participant id -> the PlotDataItem drawn for them on the Individuals plot."""
        return self.individuals_page.curves

    @property
    def mean_curve(self) -> Any:
        """The mean's PlotDataItem on the Individuals plot (None when not drawn)."""
        return self.individuals_page.mean_curve

    @property
    def trend_plot(self) -> Any:
        """The pg.PlotWidget of the Over time tab (None before a result)."""
        return self.trends_page.plot

    @property
    def trend_curves(self) -> dict[str, Any]:
        """Participant id -> their baseline-lnRMSSD PlotDataItem on the Over time plot."""
        return self.trends_page.curves

    def study_names(self) -> list[str]:
        """Studies offered in the combo, top to bottom."""
        return self.chooser.study_names()

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
        self.chooser.offer(choices)
        if error is not None:
            self._show_error(error)
        elif not choices.studies and not choices.participants:
            self.placeholder_label.setText(
                "No sessions with a participant yet — record sessions in a study (or with a "
                "participant id) to compare practices"
            )
        self.status_message.emit(
            error or f"{len(choices.studies)} studies and {len(choices.participants)} "
            f"participants in {self._data_dir}"
        )
        return choices

    def _sync_buttons(self) -> None:
        self.chooser.sync_buttons()

    def _request_comparison(self) -> None:
        study = self.chooser.chosen_study()
        rr_source = self.chooser.chosen_rr_source()
        if study is not None:
            spawn(self.run_comparison(study=study, rr_source=rr_source))
        elif participants := self.chooser.chosen_participants():
            spawn(self.run_comparison(participants=participants, rr_source=rr_source))

    # -- the comparison --------------------------------------------------------------------

    # -- the comparison --------------------------------------------------------------------

    async def run_comparison(
        self, study: str | None = None, participants: Sequence[str] = (),
        rr_source: str = "strap",
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
        rr_source : str
            ``"strap"`` or ``"ecg"`` (``--rr-source``): RR from the strap, or from each
            session's stored raw ECG (sessions without it excluded and listed).

        Returns
        -------
        dict or None
            The result printed by ``biofeedback compare --json``, also emitted with
            :attr:`comparison_finished`; None when it failed (the reason is shown in words)
            or was cancelled.
        """
        if (study is None) == (not participants):
            self._job.supersede()
            self._fail("Choose either a study or at least one participant.")
            return None
        if study is not None:
            who: list[str] = ["--study", study]
            self._what = f"study {study}"
        else:
            who = [a for p in participants for a in ("--participant", p)]
            self._what = ("participant " if len(participants) == 1 else "participants ") + (
                ", ".join(participants)
            )
        args = ["compare", "--json", *who, "--data-dir", str(self._data_dir)]
        if self._workers is not None:
            args += ["--workers", str(self._workers)]
        if rr_source != "strap":
            args += ["--rr-source", rr_source]
        self._progress = None
        self.error_label.hide()
        self.warning_label.hide()
        self._show_placeholder(f"Comparing {self._what}…")
        self.progress_row.start(self._describe_progress)
        self.compare_button.setEnabled(False)
        self.status_message.emit(f"Comparing {self._what}…")
        try:
            outcome = await self._job.run(args)
        finally:
            if not self._job.running:  # else a newer comparison owns the buttons
                self._sync_buttons()
        if outcome.status == "superseded":
            return None  # a newer comparison owns the display now
        if outcome.status == "cancelled":
            self._end_progress()
            self._show_placeholder(
                f"Comparison of {self._what} cancelled — press Compare to start again"
            )
            self.status_message.emit(f"Comparison of {self._what} cancelled")
            return None
        if outcome.status == "failed" or outcome.result is None:
            self._fail(outcome.message)
            return None
        result = outcome.result
        elapsed = self.progress_row.elapsed_s
        self._end_progress()
        self.show_result(result)
        self.status_message.emit(f"Compared {self._what} in {elapsed:.1f} s")
        self.comparison_finished.emit(result)
        return result

    def cancel(self) -> None:
        """Stop the running comparison and any export (their processes are killed);
        nothing if none runs."""
        self._job.cancel()
        self.export.cancel()

    def _on_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)
        self.progress_row.set_progress(done, total)

    def _fail(self, message: str) -> None:
        self._end_progress()
        self._show_placeholder("No comparison to show")
        self._show_error(message)
        self.status_message.emit(message)

    def _show_placeholder(self, text: str) -> None:
        self.result = None
        self.placeholder_label.setText(text)
        self._stack.setCurrentWidget(self.placeholder_label)

    def _show_error(self, message: str) -> None:
        self.error_label.show_message(message)

    def _end_progress(self) -> None:
        self.progress_row.stop()

    def _describe_progress(self, elapsed_s: float) -> str:
        if self._progress is None:
            what = "reading the sessions"
        else:
            done, total = self._progress
            what = f"analysed {done} of {total} sessions"
        return f"Comparing {self._what}: {what}… {elapsed_s:.1f} s"

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
        ecg_rr = result.get("ecg_rr")
        self.ecg_label.setText("" if not ecg_rr else ecg_rr_line(ecg_rr))
        self.ecg_label.setVisible(bool(ecg_rr))
        fill_comparisons(self.comparison_table, comparisons)
        self.details_tabs.setCurrentWidget(self.comparison_table)
        self.difference_plots.draw(comparisons)
        self.model_page.fill(result.get("mixed_model") or {})
        fill_per_practice(self.per_practice_table, result.get("per_practice") or [])
        self._fill_excluded(result.get("excluded") or [])
        self.individuals_page.draw(result.get("participants"))
        self.trends_page.draw(result.get("trends"))
        self._offer_figures()
        self.export_button.setEnabled(bool(settings.get("study")))
        self.settings_label.setText(settings_line(settings))
        self._stack.setCurrentIndex(1)

    def _offer_figures(self) -> None:
        """Save figure… in each plot's right-click menu: the same chart as a publication
        figure (the difference plots: the forest plot of every contrast)."""
        plots = self.difference_plots.plots
        if plots is not None:
            for item in plots.ci.items:
                if hasattr(item, "getViewBox"):
                    self.export.attach(item, "forest")
        for page, figure in ((self.individuals_page, "paired"), (self.trends_page, "trends")):
            if page.plot is not None:
                self.export.attach(page.plot.getPlotItem(), figure)

    def _show_breathing(self, breathing: dict[str, Any]) -> None:
        warning = breathing.get("warning")
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        if breathing.get("mean_a") is None and breathing.get("mean_b") is None:
            self.breathing_label.setText("Breathing rate: not available")
            return
        self.breathing_label.setText(
            f"Breathing rate during the practices: {breathing.get('label_a', 'self-soothing')} "
            f"{format_number(breathing.get('mean_a'), 1)}/min, "
            f"{breathing.get('label_b', 'attention')} "
            f"{format_number(breathing.get('mean_b'), 1)}/min; difference "
            f"{format_number(breathing.get('mean_diff'), 2)}/min (95 % CI "
            f"{format_ci(breathing.get('ci_low'), breathing.get('ci_high'), 2)})"
            + ("" if warning else " — not enough to explain an HF difference")
            + _compared_on(breathing.get("participant_sources"))
        )

    def _fill_excluded(self, excluded: list[dict[str, Any]]) -> None:
        count = self.excluded_page.fill(excluded)
        index = self.details_tabs.indexOf(self.excluded_page)
        self.details_tabs.setTabText(index, f"Excluded ({count})")
        self.details_tabs.tabBar().setTabTextColor(
            index, QColor("#b35c00") if count else self.palette().text().color()
        )
