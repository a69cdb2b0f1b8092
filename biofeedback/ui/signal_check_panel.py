"""Two lines under the ECG strip: the live ECG check and the chest breathing rate.

The widget only draws a :class:`~biofeedback.viewmodels.signal_check.SignalCheckView`; the
window calls :meth:`SignalCheckPanel.show_view` on its frame cadence, and the labels change
only when the view's version moved. A disagreement is written out below its line in the
palette's warning colour (bold, so it does not rest on colour alone).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from biofeedback.viewmodels.signal_check import CheckLine, SignalCheckView

__all__ = ["SignalCheckPanel"]

_WARNING = QColor(176, 58, 0)
"""Text colour of a disagreement (dark orange: readable on light and dark backgrounds)."""


class SignalCheckPanel(QWidget):
    """The live check's lines; hidden while the session sends neither ECG nor ACC.

    Parameters
    ----------
    parent : QWidget, optional
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ecg_label = QLabel()
        self.ecg_warning = QLabel()
        self.breathing_label = QLabel()
        bold = QFont(self.font())
        bold.setBold(True)
        self.ecg_warning.setFont(bold)
        palette = self.ecg_warning.palette()
        palette.setColor(QPalette.ColorRole.WindowText, _WARNING)
        self.ecg_warning.setPalette(palette)
        for label in (self.ecg_label, self.ecg_warning, self.breathing_label):
            label.setWordWrap(True)
        self.ecg_label.setToolTip(
            "R-peaks found in the strap's ECG (neurokit2) paired with the strap's own beats: "
            "pairs of all heartbeats seen, median time and RR difference, beats on one side only"
        )
        self.breathing_label.setToolTip(
            "Breaths counted in the chest accelerometer over the last 60 s, beside the rate "
            "read off the RR spectrum (the Breathing value)"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 2)
        layout.setSpacing(0)
        layout.addWidget(self.ecg_label)
        layout.addWidget(self.ecg_warning)
        layout.addWidget(self.breathing_label)
        self._view: SignalCheckView | None = None
        self._drawn: tuple[int, int] = (-1, -1)
        self.show_view(None)

    def show_view(self, view: SignalCheckView | None) -> None:
        """Draw ``view`` (None: nothing; the panel hides); cheap when nothing changed."""
        key = (id(view), -1 if view is None else view.version)
        if view is self._view and key == self._drawn:
            return
        self._view = view
        self._drawn = key
        if view is None or not view.visible:
            self.hide()
            return
        _set(self.ecg_label, self.ecg_warning, view.ecg_line())
        _set(self.breathing_label, None, view.breathing_line())
        self.show()


def _set(label: QLabel, warning: QLabel | None, line: CheckLine | None) -> None:
    label.setVisible(line is not None)
    label.setText("" if line is None else line.text)
    if warning is not None:
        text = None if line is None else line.warning
        warning.setVisible(text is not None)
        warning.setText(text or "")
