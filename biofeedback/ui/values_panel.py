"""Big current values: HR, RMSSD, breathing rate, coherence (and HF when valid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from biofeedback.core.formatting import MISSING, format_number
from biofeedback.core.hrv_indices import index_spec
from biofeedback.live.indices import LiveHrvSettings

if TYPE_CHECKING:
    from biofeedback.live.indices import LiveIndices

__all__ = ["DASH", "ValuesPanel"]

DASH = MISSING
"""Shown for a value that has not enough data yet (the app-wide missing-value mark)."""


@dataclass(frozen=True)
class _TileSpec:
    key: str
    title: str
    unit: str
    decimals: int
    caption: str
    tooltip: str
    widest: str
    """The widest text the value takes (the tile keeps that width: no jumping)."""


# tile -> (live index, the LiveHrvSettings window it is computed over, widest text)
_TILE_INDICES: tuple[tuple[str, str, str, str], ...] = (
    ("hr", "hr_bpm", "hr_window_s", "188"),
    ("rmssd", "rmssd_60_ms", "rmssd_long_s", "188"),
    ("breathing", "breaths_per_min", "breathing_window_s", "18.8"),
    ("coherence", "coherence_score", "coherence_window_s", "10.0"),
    ("hf", "hf_ms2", "hf_window_s", "8888"),
)


def _tile_specs(settings: LiveHrvSettings) -> tuple[_TileSpec, ...]:
    """Titles, units and decimals from the HRV registry; windows from the live settings."""
    specs = []
    for tile, key, window_field, widest in _TILE_INDICES:
        index = index_spec(key, "live")
        window = f"{getattr(settings, window_field):g}"
        specs.append(_TileSpec(
            tile, index.label, index.unit_short, index.decimals,
            f"{index.abbrev} · last {window} s", f"{index.definition}, last {window} s", widest,
        ))
    return tuple(specs)


_TILES = _tile_specs(LiveHrvSettings())


class _Tile(QFrame):
    """One value: title, big number with its unit, a detail line and its window."""

    def __init__(self, spec: _TileSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setToolTip(spec.tooltip)
        self.title = QLabel(spec.title)
        self.value = QLabel(DASH)
        big = QFont(self.font())
        big.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 2.6)
        big.setBold(True)
        self.value.setFont(big)
        self.value.setMinimumWidth(QFontMetrics(big).horizontalAdvance(spec.widest) + 4)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBaseline)
        self.unit = QLabel(spec.unit)
        self.detail = QLabel("")
        self.caption = QLabel(spec.caption)
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF(), 9.0) * 0.85)
        # secondary information: text colour halfway to the background (readable on dark
        # and light themes, unlike the disabled colour)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        back = palette.color(QPalette.ColorRole.Window)
        dim = QColor(
            (2 * text.red() + back.red()) // 3,
            (2 * text.green() + back.green()) // 3,
            (2 * text.blue() + back.blue()) // 3,
        )
        for label in (self.detail, self.caption):
            label.setFont(small)
            dimmed = label.palette()
            dimmed.setColor(QPalette.ColorRole.WindowText, dim)
            label.setPalette(dimmed)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.value, 1, 0, Qt.AlignmentFlag.AlignBaseline)
        grid.addWidget(self.unit, 1, 1, Qt.AlignmentFlag.AlignBaseline | Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(self.detail, 2, 0, 1, 2)
        grid.addWidget(self.caption, 3, 0, 1, 2)
        grid.setColumnStretch(0, 1)

    def set(self, text: str, detail: str = "") -> None:
        self.value.setText(text)
        self.detail.setText(detail)


class ValuesPanel(QWidget):
    """The current live values in large type, each with its unit and window.

    Parameters
    ----------
    vertical : bool
        Stack the values in a column (beside the plots) instead of a row (above them).
    parent : QWidget, optional
        Parent widget.

    Notes
    -----
    A value without enough data yet is a dash. HF is shown only when the live indices have
    it (``hf_ms2`` not None: the segment covers 120 s).
    """

    def __init__(self, *, vertical: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles: dict[str, _Tile] = {spec.key: _Tile(spec) for spec in _TILES}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        for i, tile in enumerate(self.tiles.values()):
            if vertical:
                grid.addWidget(tile, i, 0)
            else:
                grid.addWidget(tile, 0, i)
                grid.setColumnStretch(i, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(grid)
        if vertical:
            outer.addStretch(1)
        self._indices: LiveIndices | None = None
        self.show_indices(None)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """A row wide enough for five values."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), 760), hint.height())

    @property
    def indices(self) -> LiveIndices | None:
        """The indices shown."""
        return self._indices

    def text_of(self, key: str) -> str:
        """The big text of one value (``hr``, ``rmssd``, ``breathing``, ``coherence``,
        ``hf``)."""
        return self.tiles[key].value.text()

    def show_indices(self, indices: LiveIndices | None) -> None:
        """Show these live indices (None: dashes everywhere)."""
        self._indices = indices
        tiles = self.tiles
        if indices is None:
            for tile in tiles.values():
                tile.set(DASH)
            return
        tiles["hr"].set(_fmt(indices.hr_bpm, tiles["hr"]))
        ln = indices.ln_rmssd_60
        tiles["rmssd"].set(
            _fmt(indices.rmssd_60_ms, tiles["rmssd"]),
            f"lnRMSSD {ln:.2f}" if ln is not None else "",
        )
        tiles["breathing"].set(_fmt(indices.breaths_per_min, tiles["breathing"]))
        tiles["coherence"].set(
            _fmt(indices.coherence_score, tiles["coherence"]),
            f"ratio {indices.coherence_ratio:.2f}" if indices.coherence_ratio is not None else "",
        )
        tiles["hf"].set(_fmt(indices.hf_ms2, tiles["hf"]))


def _fmt(value: float | None, tile: _Tile) -> str:
    return format_number(value, tile.spec.decimals)
