"""The per-phase analysis of one session, as a table with units and a settings line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.formatting import MISSING, format_number
from biofeedback.core.hrv_indices import PHASE_INDICES, IndexSpec
from biofeedback.ui.replay_bar import format_hms
from biofeedback.ui.session_table import SORT_ROLE, plural

__all__ = ["AnalysisTable"]

_ModelIndex = QModelIndex | QPersistentModelIndex

@dataclass(frozen=True, slots=True)
class _Metric:
    key: str
    header: str
    # "hms" h:mm:ss, "s" text, "bool" yes/no, "index" a registry index (with its decimals),
    # "extra" a key the registry does not know (3 significant digits)
    fmt: str
    decimals: int = 0


# Counts and ratios carry no unit in a column header ("Beats", "LF/HF").
_UNITLESS = frozenset({"n", "ratio", ""})


def _index_column(spec: IndexSpec) -> _Metric:
    """A column of a registry index: its label over its short unit (columns are narrow)."""
    unit = "" if spec.unit in _UNITLESS else spec.unit_short
    header = f"{spec.label}\n({unit})" if unit else spec.label
    return _Metric(spec.key, header, "index", spec.decimals)


_ANALYSIS_COLUMNS: tuple[_Metric, ...] = (
    _Metric("name", "Phase", "s"),
    _Metric("kind", "Kind", "s"),
    _Metric("start_s", "Start\n(h:mm:ss)", "hms"),
    _Metric("duration_s", "Duration\n(h:mm:ss)", "hms"),
    *(_index_column(spec) for spec in PHASE_INDICES.values()),
    _Metric("hf_valid", "HF\nvalid", "bool"),
)
"""The phase row's structural columns, then every registry index in registry order."""
_HIDDEN_KEYS = frozenset({"phase_id"})

_MISSING_TIP = "Not computed: too few beats, or no gap-free stretch long enough for this index"
_HF_INVALID_TIP = (
    "Breathing was outside 9-24 breaths/min: respiratory sinus arrhythmia is not in the HF "
    "band, so HF does not reflect vagal tone here"
)


def _format_metric(value: Any, metric: _Metric) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if metric.fmt == "bool" or isinstance(value, bool):
        return format_number(bool(value), 0)
    if metric.fmt == "hms":
        return format_hms(float(value))
    if metric.fmt == "index" and isinstance(value, int | float):
        return format_number(value, metric.decimals)
    if metric.fmt == "extra" and isinstance(value, int | float):
        return format(value, ".3g")
    return str(value)


class _AnalysisModel(QAbstractTableModel):
    """Phase rows of an analysis (the ``phases`` list of the CLI's JSON)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.columns: list[_Metric] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        known = {c.key for c in _ANALYSIS_COLUMNS}
        # Whatever else a newer analysis reports is shown too, after the known columns.
        extra = [
            key for row in rows for key in row
            if key not in known and key not in _HIDDEN_KEYS
        ]
        self.columns = [c for c in _ANALYSIS_COLUMNS if any(c.key in r for r in rows)] + [
            _Metric(key, key, "extra") for key in dict.fromkeys(extra)
        ]
        self.endResetModel()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        metric = self.columns[index.column()]
        value = row.get(metric.key)
        hf_invalid = metric.key in ("hf_ms2", "lf_hf") and not row.get("hf_valid", True)
        if role == Qt.ItemDataRole.DisplayRole:
            return _format_metric(value, metric)
        if role == SORT_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and metric.fmt not in ("s",):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and hf_invalid and value is not None:
            return QBrush(QColor("#8a8a8a"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if value is None and metric.fmt not in ("s", "bool"):
                return _MISSING_TIP
            if hf_invalid and value is not None:
                return _HF_INVALID_TIP
        return None

    def headerData(  # noqa: N802 (Qt override)
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None


def _summary_line(result: dict[str, Any]) -> str:
    """One line with the settings and library versions behind the numbers."""
    settings = result.get("settings", {})
    versions = result.get("versions", {})
    session = result.get("session", {})
    parts = []
    if "n_beats" in session:
        parts.append(
            f"{session['n_beats']} beats, {format_hms(session.get('duration_s') or 0.0)}, "
            f"{session.get('n_gaps', 0)} gaps"
        )
    if "correction" in settings:
        parts.append(f"artifact correction: {settings['correction']}")
    if "interpolation_rate_hz" in settings:
        parts.append(
            f"spectrum: {settings.get('psd_method', '?')}, "
            f"{settings['interpolation_rate_hz']:g} Hz resampling"
        )
    hf_band = settings.get("hf_band_hz")
    if isinstance(hf_band, list | tuple) and len(hf_band) == 2:
        parts.append(f"HF {hf_band[0]:g}-{hf_band[1]:g} Hz")
    lf_band = settings.get("lf_band_hz")
    if isinstance(lf_band, list | tuple) and len(lf_band) == 2:
        parts.append(f"LF {lf_band[0]:g}-{lf_band[1]:g} Hz")
    if versions:
        order = ("biofeedback", "neurokit2", "numpy", "scipy", "pandas", "python")
        names = [n for n in order if n in versions] + [n for n in versions if n not in order]
        parts.append(", ".join(f"{n} {versions[n]}" for n in names))
    return " · ".join(parts)


class AnalysisTable(QWidget):
    """Per-phase HRV of one session: a title, one row per phase (HR, RMSSD, lnRMSSD, SDNN,
    HF, LF, breathing rate, HF validity... with units in the headers) and a line with the
    settings and library versions.

    Missing indices show as ``–`` with a tooltip saying why; HF and LF/HF are greyed out
    when breathing lay outside the HF band.

    Parameters
    ----------
    parent : QWidget, optional
        Parent widget.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_id: int | None = None
        self.result: dict[str, Any] | None = None
        self.title_label = QLabel("Choose a session and press Analyze", self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self._model = _AnalysisModel(self)
        self.table_view = QTableView(self)
        self.table_view.setModel(self._model)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.verticalHeader().setVisible(False)
        self.table_view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        # Nineteen columns: a slightly smaller font lets a whole row fit a laptop-wide window.
        table_font = self.table_view.font()
        table_font.setPointSizeF(max(7.0, table_font.pointSizeF() - 1.0))
        self.table_view.setFont(table_font)
        self.table_view.verticalHeader().setDefaultSectionSize(
            self.table_view.fontMetrics().height() + 8
        )
        self.table_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.summary_label = QLabel("", self)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setStyleSheet("color: palette(placeholder-text);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title_label)
        layout.addWidget(self.table_view, 1)
        layout.addWidget(self.summary_label)

    def set_result(self, session_id: int, result: dict[str, Any]) -> None:
        """Show an analysis: the JSON of ``biofeedback analyze ID --json`` as a dict."""
        self.session_id = session_id
        self.result = result
        phases = result.get("phases", [])
        self._model.set_rows([p for p in phases if isinstance(p, dict)])
        self.title_label.setText(
            f"Per-phase analysis of session {session_id} — {plural(len(phases), 'phase')}"
        )
        self.summary_label.setText(_summary_line(result))

    def show_pending(self, session_id: int) -> None:
        """Show that the analysis of ``session_id`` is being computed (no rows yet)."""
        self.clear()
        self.title_label.setText(f"Per-phase analysis of session {session_id} — computing…")

    def clear(self) -> None:
        """Show nothing."""
        self.session_id = None
        self.result = None
        self._model.set_rows([])
        self.title_label.setText("Choose a session and press Analyze")
        self.summary_label.setText("")

    @property
    def row_count(self) -> int:
        """Number of phase rows shown."""
        return self._model.rowCount()

    @property
    def keys(self) -> list[str]:
        """JSON keys of the columns shown, left to right."""
        return [c.key for c in self._model.columns]

    @property
    def headers(self) -> list[str]:
        """Column headers shown (with units), left to right."""
        return [c.header for c in self._model.columns]

    def value(self, row: int, key: str) -> Any:
        """Raw value of ``key`` in phase row ``row`` (as in the JSON)."""
        return self._model.rows[row].get(key)

    def text(self, row: int, key: str) -> str:
        """Text shown for ``key`` in phase row ``row``."""
        column = self.keys.index(key)
        return str(self._model.data(self._model.index(row, column)))

