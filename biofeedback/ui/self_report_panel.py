"""0-10 self-report sliders for a ``self_report`` phase.

No answer is pre-filled: each slider starts in the middle but counts as unanswered (its value
reads "–" and its handle is grey) until the participant moves it, clicks it or presses a key
on it. A default committed without being touched would bias the ratings toward the middle and
hide a skipped question; Submit names any question left unanswered instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.ui.wording import as_sentence
from protocols.model import Phase, SelfReportItem
from protocols.self_report import SCALE_MAX, SCALE_MIN

__all__ = ["SelfReportPanel", "SelfReportSlider"]

_UNANSWERED_STYLE = (
    "QSlider::handle:horizontal { background: #c3c9cf; border: 1px solid #8a949e;"
    " width: 16px; margin: -6px 0; border-radius: 8px; }"
    " QSlider::groove:horizontal { height: 6px; background: #dde2e6; border-radius: 3px; }"
)
_ANSWERED_STYLE = (
    "QSlider::handle:horizontal { background: #2a9d8f; border: 1px solid #1f7268;"
    " width: 16px; margin: -6px 0; border-radius: 8px; }"
    " QSlider::groove:horizontal { height: 6px; background: #dde2e6; border-radius: 3px; }"
    " QSlider::sub-page:horizontal { background: #9fd3cb; border-radius: 3px; }"
)

if TYPE_CHECKING:
    from biofeedback.session.protocol_session import ProtocolSession


class SelfReportSlider(QWidget):
    """One 0-10 question: the question, a slider with its two anchors, and the value.

    Signals
    -------
    changed()
        The participant answered or changed the answer.
    """

    changed = Signal()

    def __init__(self, item: SelfReportItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self._answered = False

        self.question_label = QLabel(item.question, self)
        self.question_label.setWordWrap(True)
        font = QFont(self.font())
        font.setBold(True)
        self.question_label.setFont(font)

        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(SCALE_MIN, SCALE_MAX)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setValue((SCALE_MIN + SCALE_MAX) // 2)
        self.slider.setAccessibleName(item.question)

        self.value_label = QLabel("–", self)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        value_font = QFont(self.font())
        value_font.setPointSizeF(value_font.pointSizeF() * 1.5)
        value_font.setBold(True)
        self.value_label.setFont(value_font)
        # Room for "10" at any type size (the participant screen's is larger).
        self.value_label.setMinimumWidth(QFontMetrics(value_font).horizontalAdvance("10") + 12)

        low = QLabel(f"{SCALE_MIN} · {item.low_label}", self)
        high = QLabel(f"{item.high_label} · {SCALE_MAX}", self)
        high.setAlignment(Qt.AlignmentFlag.AlignRight)
        for anchor in (low, high):
            anchor.setStyleSheet("color: #55626d;")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 4)
        grid.addWidget(self.question_label, 0, 0, 1, 3)
        grid.addWidget(self.slider, 1, 0, 1, 2)
        grid.addWidget(self.value_label, 1, 2)
        grid.addWidget(low, 2, 0)
        grid.addWidget(high, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        self.slider.setStyleSheet(_UNANSWERED_STYLE)
        self.slider.valueChanged.connect(self._mark_answered)
        # Pressing the handle where it is answers "5" without having to move it.
        self.slider.sliderPressed.connect(self._mark_answered)

    @property
    def answered(self) -> bool:
        """Whether the participant gave an answer."""
        return self._answered

    @property
    def value(self) -> int | None:
        """The answer 0-10, None while unanswered."""
        return int(self.slider.value()) if self._answered else None

    def set_value(self, value: int) -> None:
        """Answer ``value`` (0-10), as if the participant had moved the slider there."""
        self.slider.setValue(value)
        self._mark_answered()

    def _mark_answered(self) -> None:
        if not self._answered:
            self._answered = True
            self.slider.setStyleSheet(_ANSWERED_STYLE)
        self.value_label.setText(str(self.slider.value()))
        self.changed.emit()


class SelfReportPanel(QWidget):
    """The questions of a self-report phase, one slider each, and a Submit button.

    Parameters
    ----------
    parent : QWidget, optional
        Parent widget.
    show_title : bool
        Show the phase's name and instructions above the questions (False when a guidance
        panel already shows them).

    Signals
    -------
    submitted(dict)
        Item id -> answer 0-10, once the answers were accepted (recorded in the attached
        session, if any).

    Notes
    -----
    Unanswered questions are not sent; the panel names them. Errors from the session (no
    self-report phase running, an answer out of range) are shown in words under the button.
    """

    submitted = Signal(dict)

    def __init__(self, parent: QWidget | None = None, *, show_title: bool = True) -> None:
        super().__init__(parent)
        self._show_title = show_title
        self._session: ProtocolSession | None = None
        self._phase: Phase | None = None
        self.sliders: list[SelfReportSlider] = []

        self.title_label = QLabel("", self)
        title_font = QFont(self.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.instructions_label = QLabel("", self)
        self.instructions_label.setWordWrap(True)

        self._items = QWidget(self)
        self._items_layout = QVBoxLayout(self._items)
        self._items_layout.setContentsMargins(0, 0, 0, 0)
        self._items_layout.setSpacing(10)

        self.submit_button = QPushButton("Submit answers", self)
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)

        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title_label)
        layout.addWidget(self.instructions_label)
        layout.addWidget(line)
        layout.addWidget(self._items)
        layout.addStretch(1)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.title_label.setVisible(show_title)
        line.setVisible(show_title)
        self.clear()

    # -- wiring ----------------------------------------------------------------------------

    def attach(self, protocol_session: ProtocolSession | None) -> None:
        """Send answers to ``protocol_session.submit_self_report`` (None: only emit
        :attr:`submitted`)."""
        self._session = protocol_session

    @property
    def phase(self) -> Phase | None:
        """The phase whose questions are shown."""
        return self._phase

    def ask(self, phase: Phase) -> None:
        """Show ``phase``'s questions, all unanswered."""
        self._phase = phase
        self._set_items(phase.self_report)
        self.title_label.setText(phase.name)
        self.instructions_label.setText(phase.instructions)
        self.instructions_label.setVisible(self._show_title and bool(phase.instructions))
        self.submit_button.setEnabled(bool(phase.self_report))
        self._status("" if phase.self_report else "This phase has no questions.", "#44515c")

    def clear(self) -> None:
        """Show no questions."""
        self._phase = None
        self._set_items(())
        self.title_label.setText("No questions right now")
        self.instructions_label.clear()
        self.instructions_label.hide()
        self.submit_button.setEnabled(False)
        self._status("", "#44515c")

    def answers(self) -> dict[str, int]:
        """The answers given so far (unanswered questions left out)."""
        return {s.item.id: s.value for s in self.sliders if s.value is not None}

    def set_answers(self, answers: dict[str, int]) -> None:
        """Answer the questions in ``answers`` (item id -> 0-10)."""
        for s in self.sliders:
            if s.item.id in answers:
                s.set_value(answers[s.item.id])

    def submit(self) -> dict[str, int] | None:
        """Send the answers (the Submit button does this); returns them, or None when they
        were not accepted (the reason is shown)."""
        if self._phase is None:
            self._status("There are no questions to answer right now.", "#c62828")
            return None
        missing = [s.item.question for s in self.sliders if not s.answered]
        if missing:
            self._status("Please answer every question first: " + " / ".join(missing),
                         "#c62828")
            return None
        answers = self.answers()
        if self._session is not None:
            try:
                self._session.submit_self_report(answers)
            except (ValueError, BiofeedbackError) as exc:
                self._status(as_sentence(str(exc)), "#c62828")
                return None
        self.submit_button.setEnabled(False)
        for s in self.sliders:
            s.slider.setEnabled(False)
        self._status("Thank you: your answers are saved.", "#1b7f3a")
        self.submitted.emit(dict(answers))
        return answers

    @property
    def status_text(self) -> str:
        """The message under the questions (errors in words, or the thank-you)."""
        return self.status_label.text()

    # -- internals -------------------------------------------------------------------------

    def _set_items(self, items: tuple[SelfReportItem, ...]) -> None:
        for s in self.sliders:
            self._items_layout.removeWidget(s)
            s.deleteLater()
        self.sliders = []
        for item in items:
            s = SelfReportSlider(item, self._items)
            s.changed.connect(self._on_changed)
            self._items_layout.addWidget(s)
            self.sliders.append(s)

    def _on_changed(self) -> None:
        if self.status_label.text() and self.submit_button.isEnabled():
            self._status("", "#44515c")

    def _status(self, text: str, colour: str) -> None:
        self.status_label.setStyleSheet(f"color: {colour};")
        self.status_label.setText(text)

