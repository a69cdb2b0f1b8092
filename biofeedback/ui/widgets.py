"""Small widgets shared by the views: a progress row for background jobs and an error label."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

__all__ = ["ERROR_STYLE", "ErrorLabel", "ProgressRow", "error_label", "note_label"]

ERROR_STYLE = "QLabel { color: #8b1a1a; background: #fdecea; padding: 6px; }"
_FIELD_ERROR_STYLE = "color: #b00020;"
_NOTE_STYLE = "color: #555555;"

_ELAPSED_INTERVAL_MS = 100


class ProgressRow(QWidget):
    """A busy (or k/n) bar, a line of text with the elapsed seconds, and Cancel.

    Hidden until :meth:`start`. While shown, the text is refreshed every 0.1 s from the
    ``describe`` callback, which receives the elapsed time (s).

    Parameters
    ----------
    cancel_tip : str
        Tooltip of the Cancel button.
    parent : QWidget, optional
        Parent widget.
    bar_width : int
        Maximum width of the bar, px.
    bar_format : str, optional
        Text format of the bar (e.g. ``"%v / %m sessions"``); None hides the bar's text.
    """

    def __init__(
        self,
        cancel_tip: str,
        parent: QWidget | None = None,
        *,
        bar_width: int = 160,
        bar_format: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)  # busy indicator until a job reports progress
        self.bar.setMaximumWidth(bar_width)
        if bar_format is None:
            self.bar.setTextVisible(False)
        else:
            self.bar.setFormat(bar_format)
        self.label = QLabel("", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip(cancel_tip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)
        self._started = 0.0
        self._describe: Callable[[float], str] = lambda elapsed: f"{elapsed:.1f} s"
        self._timer = QTimer(self)
        self._timer.setInterval(_ELAPSED_INTERVAL_MS)
        self._timer.timeout.connect(self.refresh)
        self.hide()

    @property
    def elapsed_s(self) -> float:
        """Seconds since :meth:`start`."""
        return time.monotonic() - self._started

    def start(self, describe: Callable[[float], str]) -> None:
        """Show the row with a busy bar; ``describe(elapsed_s)`` gives its text."""
        self._started = time.monotonic()
        self._describe = describe
        self.bar.setRange(0, 0)
        self.show()
        self.refresh()
        self._timer.start()

    def set_progress(self, done: int, total: int) -> None:
        """Turn the busy bar into ``done`` of ``total`` and refresh the text."""
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.refresh()

    def refresh(self) -> None:
        """Show the text for the time elapsed now."""
        self.label.setText(self._describe(self.elapsed_s))

    def stop(self) -> None:
        """Hide the row."""
        self._timer.stop()
        self.hide()


class ErrorLabel(QLabel):
    """A selectable, word-wrapped sentence on a red background; hidden when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(ERROR_STYLE)
        self.hide()

    def show_message(self, message: str) -> None:
        """Show ``message``."""
        self.setText(message)
        self.show()


def error_label() -> QLabel:
    """A hidden, selectable red sentence under a control."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_FIELD_ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def note_label(text: str = "") -> QLabel:
    """A grey explanatory sentence."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(_NOTE_STYLE)
    return label
