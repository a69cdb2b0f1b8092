"""The calm panel that covers the physiology of a hidden-feedback phase, and the held key that
lets the operator look under it.

On a single window shared by participant and operator, a phase whose feedback is hidden must
not show heart rate or HRV; the operator still can, while holding
:data:`~biofeedback.viewmodels.guidance.PEEK_KEY_NAME`. Whether the cover is up is decided by
:func:`biofeedback.viewmodels.guidance.feedback_visible`; these widgets only draw it and report
the key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from biofeedback.viewmodels.guidance import (
    FEEDBACK_HIDDEN_TITLE,
    PEEK_KEY_NAME,
    feedback_hidden_hint,
)

__all__ = ["FeedbackCover", "HeldKey"]

_STYLE = """
FeedbackCover { background: #eef3f1; border: 1px solid #d3dfda; border-radius: 10px; }
QLabel { color: #33454f; }
"""


class FeedbackCover(QWidget):
    """"Feedback is hidden during this phase", with the operator's hint (which key to hold)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FeedbackCover")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        self.title_label = QLabel(FEEDBACK_HIDDEN_TITLE, self)
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.8)
        self.title_label.setFont(title_font)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)
        self.hint_label = QLabel(feedback_hidden_hint(), self)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: #5b6c76;")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title_label)
        layout.addSpacing(12)
        layout.addWidget(self.hint_label)
        layout.addStretch(1)


class HeldKey(QObject):
    """Reports whether ``key`` is held down in ``window`` (auto-repeat ignored).

    An application-wide event filter, so the key counts whichever child widget has the focus;
    the key counts as released when the window loses the focus (its release would go to
    another window). The filter sees every event of the application, so it is installed only
    while the key means something (:meth:`set_active`: a hidden-feedback phase is covered).

    Parameters
    ----------
    window : QWidget
        The top-level window the key is pressed in.
    key_name : str
        The key, as Qt names it without ``Key_`` (default
        :data:`~biofeedback.viewmodels.guidance.PEEK_KEY_NAME`).

    Signals
    -------
    held_changed(bool)
        The key went down (True) or up (False).
    """

    held_changed = Signal(bool)

    def __init__(self, window: QWidget, key_name: str = PEEK_KEY_NAME) -> None:
        super().__init__(window)
        self._window = window
        self._key = int(getattr(Qt.Key, f"Key_{key_name}").value)
        self._held = False
        self._active = False

    @property
    def held(self) -> bool:
        """The key is down now (always False while inactive)."""
        return self._held

    @property
    def active(self) -> bool:
        """The key is watched."""
        return self._active

    def set_active(self, active: bool) -> None:
        """Watch the key (True) or stop, forgetting it was held (False; no signal then)."""
        if active == self._active:
            return
        app = QApplication.instance()
        if app is None:
            return
        self._active = active
        if active:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
            self._held = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Watch the key's presses and releases in the window; never eats an event."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            assert isinstance(event, QKeyEvent)
            if (int(event.key()) == self._key and not event.isAutoRepeat()
                    and self._in_window(watched)):
                self._set(kind == QEvent.Type.KeyPress)
        elif kind == QEvent.Type.WindowDeactivate and watched is self._window:
            self._set(False)
        return False

    def _in_window(self, watched: QObject) -> bool:
        return isinstance(watched, QWidget) and watched.window() is self._window

    def _set(self, held: bool) -> None:
        if held != self._held:
            self._held = held
            self.held_changed.emit(held)
