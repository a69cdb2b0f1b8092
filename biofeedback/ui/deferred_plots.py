"""The live plots, built right after the window's first frame.

pyqtgraph takes a few hundred ms to import, and the window should be on screen before that:
a placeholder holds the plots' place in the column until they are first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout

if TYPE_CHECKING:
    from biofeedback.ui.live_view import LiveView

__all__ = ["DeferredPlots"]


class DeferredPlots:
    """A placeholder in ``column`` that becomes the :class:`LiveView` when first needed.

    Parameters
    ----------
    column : QVBoxLayout
        The layout the plots stretch in (the placeholder is added to it now).
    span_s : float
        Time the plots show, s.
    on_span_changed : callable
        Called with the new span, s, when the user changes it.
    """

    def __init__(
        self, column: QVBoxLayout, span_s: float, on_span_changed: Callable[[float], None]
    ) -> None:
        self._column = column
        self._span_s = span_s
        self._on_span_changed = on_span_changed
        self._view: LiveView | None = None
        self._placeholder = QLabel("Loading plots…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self._placeholder, 1)

    def view(self) -> LiveView:
        """The plots (built, in the placeholder's place, on the first call)."""
        if self._view is None:
            from biofeedback.ui.live_view import LiveView

            view = LiveView(span_s=self._span_s)
            view.span_changed.connect(self._on_span_changed)
            self._column.replaceWidget(self._placeholder, view)
            self._column.setStretchFactor(view, 1)
            self._placeholder.deleteLater()
            self._view = view
        return self._view
