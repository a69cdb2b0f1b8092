"""Add a marker to the recording: a button, the M key, and reusable labels.

The bar only asks for a marker (:attr:`MarkerBar.marker_requested`); the window records it in
the session and keeps the labels in its settings (``WindowPreferences.use_marker_label``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

__all__ = ["DEFAULT_LABEL", "MAX_LABELS", "MarkerBar"]

DEFAULT_LABEL = "marker"
"""Label used when the label box is empty."""
MAX_LABELS = 20
"""Labels kept in the list (as ``WindowPreferences.marker_labels``)."""


class MarkerBar(QWidget):
    """A marker button with an editable list of labels, most recent first.

    Signals
    -------
    marker_requested(str)
        The user asked for a marker with that label (button, M, or Ctrl+M anywhere in the
        window; M is not taken while typing in a text box).
    """

    marker_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Add marker (M)", self)
        self.button.setToolTip("Mark this moment in the recording (M or Ctrl+M)")
        self.button.clicked.connect(self.request_marker)
        self.label_combo = QComboBox(self)
        self.label_combo.setEditable(True)
        self.label_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.label_combo.setMinimumContentsLength(14)
        self.label_combo.setToolTip("Label of the marker: pick one or type a new one")
        line = self.label_combo.lineEdit()
        assert line is not None  # an editable QComboBox always has its line edit
        line.setPlaceholderText(DEFAULT_LABEL)
        line.returnPressed.connect(self.request_marker)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(QLabel("Label", self))
        row.addWidget(self.label_combo, 1)

        # Window-wide: the shortcut works wherever the focus is in the window. A text box
        # with focus takes a plain M for itself (Qt's shortcut override), Ctrl+M still works.
        self.shortcuts = []
        for keys in ("M", "Ctrl+M"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self.request_marker)
            self.shortcuts.append(shortcut)

    def set_labels(self, labels: list[str]) -> None:
        """Offer ``labels`` (most recent first; blanks and repeats dropped); the first one is
        selected."""
        clean: list[str] = []
        for label in labels:
            label = label.strip()
            if label and label not in clean:
                clean.append(label)
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        self.label_combo.addItems(clean[:MAX_LABELS])
        self.label_combo.setCurrentIndex(0 if clean else -1)
        self.label_combo.blockSignals(False)

    def labels(self) -> list[str]:
        """The labels offered, most recent first."""
        return [self.label_combo.itemText(i) for i in range(self.label_combo.count())]

    def current_label(self) -> str:
        """The label the next marker gets."""
        return self.label_combo.currentText().strip() or DEFAULT_LABEL

    def request_marker(self) -> str:
        """Ask for a marker with the current label (the button and shortcuts do this); the
        label moves to the front of the list. Returns the label."""
        label = self.current_label()
        rest = [x for x in self.labels() if x != label]
        self.set_labels([label, *rest])
        self.marker_requested.emit(label)
        return label
