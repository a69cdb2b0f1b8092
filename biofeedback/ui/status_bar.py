"""The window's status bar: the session's status line, and one sentence for the user.

The status line (connection, battery, contact, artifacts, gaps) is a permanent widget, so a
sentence shown with :meth:`WindowStatusBar.show_message` does not hide it. Sentences from
the session browser and the comparison are shown only while that tab is in front, so their
news cannot hide a session's error.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar, QTabWidget, QWidget

__all__ = ["WindowStatusBar"]

_STARTING = "Starting"
"""Start of the sentence shown while a session is set up (cleared once it streams)."""


class WindowStatusBar(QStatusBar):
    """Status line plus a sentence.

    Parameters
    ----------
    status_text : str
        The status line to show first.
    """

    def __init__(self, status_text: str) -> None:
        super().__init__()
        self.status_label = QLabel(status_text)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Permanent: showMessage() would hide a normal status-bar widget.
        self.addPermanentWidget(self.status_label)

    def set_status(self, text: str) -> None:
        """Show the session's status line."""
        self.status_label.setText(text)

    def show_starting(self, source: str) -> None:
        """Say that the session from ``source`` is being set up."""
        self.showMessage(f"{_STARTING} {source}…")

    def clear_starting(self) -> None:
        """The session streams: drop the "Starting …" sentence (but no other one)."""
        if self.currentMessage().startswith(_STARTING):
            self.clearMessage()

    def message_from(self, tabs: QTabWidget, page: QWidget) -> Callable[[str], None]:
        """A slot that shows ``page``'s sentences while ``page`` is the current tab."""

        def show(text: str) -> None:
            if tabs.currentWidget() is page:
                self.showMessage(text)

        return show
