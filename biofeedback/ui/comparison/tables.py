"""The comparison's tables: the paired comparisons, the mixed model, the mean change per
practice and every excluded or missing value with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.formatting import format_number, format_p
from biofeedback.ui.widgets import ERROR_STYLE
from biofeedback.viewmodels.comparison_format import (
    breathing_sources_text,
    decimals,
    format_ci,
    metric_label,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "ExcludedPage",
    "ModelPage",
    "comparison_table",
    "fill_comparisons",
    "fill_per_practice",
    "make_item",
    "make_table",
    "per_practice_table",
]

COMPARISON_COLUMNS: tuple[str, ...] = (
    "Metric", "n", "Mean diff", "95 % CI", "d_z", "d_z 95 % CI", "p (t)", "p (Wilcoxon)",
)
"""Headers of the comparison table, left to right."""

PER_PRACTICE_METRICS = ("ln_rmssd", "hr_bpm", "hf_ms2", "lf_ms2", "breaths_per_min")

_EXCLUDED_COLOUR = "#b35c00"


def make_table(parent: QWidget, headers: Sequence[str], stretch: int = -1) -> QTableWidget:
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


def make_item(
    text: str, raw: Any = None, *, numeric: bool = True, tip: str = ""
) -> QTableWidgetItem:
    """A cell showing ``text`` with the raw JSON value under ``Qt.UserRole``."""
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, raw)
    if numeric:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _set_row(table: QTableWidget, row: int, cells: list[QTableWidgetItem]) -> None:
    for column, item in enumerate(cells):
        table.setItem(row, column, item)


def comparison_table(parent: QWidget) -> QTableWidget:
    """The table of paired comparisons (:data:`COMPARISON_COLUMNS`)."""
    table = make_table(parent, COMPARISON_COLUMNS)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    return table


def fill_comparisons(table: QTableWidget, comparisons: list[dict[str, Any]]) -> None:
    """One row per metric: n, mean difference, CI, d_z with CI and both p values."""
    table.setRowCount(len(comparisons))
    for row, c in enumerate(comparisons):
        metric = str(c.get("metric"))
        d = decimals(metric)
        note = str(c.get("note") or "")
        missing = int(c.get("n_missing") or 0)
        n_tip = f"{missing} participant(s) without both categories" if missing else ""
        _set_row(table, row, [
            make_item(metric_label(metric), metric, numeric=False, tip=note),
            make_item(str(c.get("n")), c.get("n"), tip=n_tip),
            make_item(format_number(c.get("mean_diff"), d), c.get("mean_diff")),
            make_item(format_ci(c.get("ci_low"), c.get("ci_high"), d),
                      (c.get("ci_low"), c.get("ci_high"))),
            make_item(format_number(c.get("d_z"), 2), c.get("d_z")),
            make_item(format_ci(c.get("d_z_ci_low"), c.get("d_z_ci_high"), 2),
                      (c.get("d_z_ci_low"), c.get("d_z_ci_high")), tip=note),
            make_item(format_p(c.get("p_t")), c.get("p_t")),
            make_item(format_p(c.get("p_wilcoxon")), c.get("p_wilcoxon"), tip=note),
        ])


def per_practice_table(parent: QWidget) -> QTableWidget:
    """The table of mean changes from baseline per practice."""
    return make_table(
        parent,
        ("Practice", "Category", *(metric_label(f"delta_{m}") for m in PER_PRACTICE_METRICS),
         "Breathing from", "Participants"),
        stretch=0,
    )


def fill_per_practice(table: QTableWidget, entries: list[dict[str, Any]]) -> None:
    """One row per practice: its category, mean change of each metric, where its breathing
    rates came from, and its participants."""
    table.setRowCount(len(entries))
    for row, entry in enumerate(entries):
        cells = [
            make_item(str(entry.get("practice")), entry.get("practice"), numeric=False),
            make_item(str(entry.get("category", "")).replace("_", "-"), entry.get("category"),
                      numeric=False),
        ]
        for metric in PER_PRACTICE_METRICS:
            key = f"delta_{metric}"
            cells.append(make_item(
                format_number(entry.get(key), decimals(key)), entry.get(key),
                tip=f"mean of {entry.get(f'n_{metric}', 0)} participants",
            ))
        windows = entry.get("breathing_sources")
        changes = entry.get("breathing_change_sources")
        cells.append(make_item(
            breathing_sources_text(windows), windows, numeric=False,
            tip="Practice windows' breathing rate: ACC = counted on the chest accelerometer, "
                "RR spectrum = read off the RR spectrum. Each change from baseline uses one "
                f"source for both windows: {breathing_sources_text(changes)}.",
        ))
        n = max((int(entry.get(f"n_{m}") or 0) for m in PER_PRACTICE_METRICS), default=0)
        cells.append(make_item(str(n), n))
        _set_row(table, row, cells)


class ModelPage(QWidget):
    """The mixed model: its formula, fit, fixed effects and notes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.formula_label = QLabel("", self)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.formula_label.setFont(mono)
        self.formula_label.setWordWrap(True)
        self.formula_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_label = QLabel("", self)
        self.info_label.setWordWrap(True)
        self.fixed_effects_table = make_table(
            self, ("Term", "Estimate", "SE", "95 % CI", "z", "p"), stretch=0
        )
        self.notes = QPlainTextEdit(self)
        self.notes.setReadOnly(True)
        self.notes.setMaximumHeight(70)
        layout = QVBoxLayout(self)
        layout.addWidget(self.formula_label)
        layout.addWidget(self.info_label)
        layout.addWidget(self.fixed_effects_table, 1)
        layout.addWidget(self.notes)

    def fill(self, model: dict[str, Any]) -> None:
        """Show the ``mixed_model`` of the CLI's JSON."""
        self.formula_label.setText(f"Mixed model: {model.get('formula', '–')}")
        error = model.get("error")
        info = (
            f"{model.get('n_observations', '–')} observations of "
            f"{model.get('n_participants', '–')} participants (random intercept per "
            f"participant; {model.get('method', '')}"
            f"{', converged' if model.get('converged') else ', not converged'}); "
            f"{model.get('n_excluded', 0)} excluded, {model.get('n_missing', 0)} missing"
        )
        self.info_label.setText(f"Not fitted: {error}" if error else info)
        self.info_label.setStyleSheet(ERROR_STYLE if error else "")
        effects = [e for e in model.get("fixed_effects") or [] if isinstance(e, dict)]
        table = self.fixed_effects_table
        table.setRowCount(len(effects))
        for row, e in enumerate(effects):
            _set_row(table, row, [
                make_item(str(e.get("term")), e.get("term"), numeric=False),
                make_item(format_number(e.get("estimate"), 4), e.get("estimate")),
                make_item(format_number(e.get("std_error"), 4), e.get("std_error")),
                make_item(format_ci(e.get("ci_low"), e.get("ci_high"), 4),
                          (e.get("ci_low"), e.get("ci_high"))),
                make_item(format_number(e.get("z"), 2), e.get("z")),
                make_item(format_p(e.get("p")), e.get("p")),
            ])
        self.notes.setPlainText("\n".join(str(n) for n in model.get("notes") or []))
        self.notes.setVisible(bool(model.get("notes")))


class ExcludedPage(QWidget):
    """Every excluded or missing value, with its reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("", self)
        self.table = make_table(self, ("What", "Session", "Participant", "Phase", "Reason"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.table, 1)

    def fill(self, excluded: list[dict[str, Any]]) -> int:
        """Show the ``excluded`` list of the CLI's JSON; returns how many there are."""
        table = self.table
        table.setRowCount(len(excluded))
        for row, entry in enumerate(excluded):
            _set_row(table, row, [
                make_item(str(entry.get("what", "")), entry.get("what"), numeric=False),
                make_item(str(entry.get("session_id", "–")), entry.get("session_id")),
                make_item(str(entry.get("participant_id") or "–"), entry.get("participant_id"),
                          numeric=False),
                make_item(str(entry.get("phase_id") or "–"), entry.get("phase_id"),
                          numeric=False),
                make_item(str(entry.get("reason", "")), entry.get("reason"), numeric=False),
            ])
        count = len(excluded)
        self.label.setText(
            "Nothing excluded or missing: every window and change went into the statistics."
            if count == 0 else
            f"{count} excluded or missing value{'' if count == 1 else 's'} (never dropped "
            "silently; each with its reason):"
        )
        for row in range(count):
            item = table.item(row, 0)
            if item is not None:  # filled just above; Qt's getter is typed optional
                item.setForeground(QBrush(QColor(_EXCLUDED_COLOUR)))
        return count
