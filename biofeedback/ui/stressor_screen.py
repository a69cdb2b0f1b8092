"""The serial-subtraction stressor screen: prompt, answer entry, time-limit bar, feedback.

The task (:class:`protocols.stressor.SerialSubtractionTask`) belongs to the
:class:`~biofeedback.session.protocol_session.ProtocolSession`; this screen only shows its
current prompt and forwards what the participant types. Timeouts are decided by the session
on its own clock between answers, so the screen re-reads the task on every :meth:`set_time`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QIntValidator
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biofeedback.ui.wording import as_sentence
from protocols.stressor import AnswerResult, Prompt, SerialSubtractionTask

__all__ = ["StressorScreen"]

FEEDBACK_SHOWN_MS = 1500
"""How long feedback stays on screen, ms of wall time (brief: the next prompt is running)."""

_OK = "#1b7f3a"
_ERROR = "#c62828"
_BAR_STYLE = (
    "QProgressBar {{ border: 1px solid #9aa5b1; border-radius: 4px; background: #eef1f4;"
    " text-align: center; color: #1d2b36; }}"
    " QProgressBar::chunk {{ background: {colour}; border-radius: 3px; }}"
)

if TYPE_CHECKING:
    from biofeedback.session.protocol_session import ProtocolSession


class StressorScreen(QWidget):
    """Serial subtraction under time pressure.

    Signals
    -------
    answered(object)
        An :class:`~protocols.stressor.AnswerResult` (an answer given here, or a timeout
        noticed on :meth:`set_time`).

    Notes
    -----
    Enter submits the answer (only whole numbers can be typed). When the prompt on screen
    timed out while the answer was being typed, the answer is not sent (it would be graded
    against the new prompt): the timeout is shown instead.

    A read-only screen (:meth:`set_read_only`: the operator's copy while the participant
    answers on the participant screen) takes no answers and shows the feedback of every answer
    the session records, wherever it was given.
    """

    answered = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: ProtocolSession | None = None
        self._task: SerialSubtractionTask | None = None
        self._shown: Prompt | None = None
        self._n_results = 0
        self._now_s = 0.0
        self._read_only = False

        self.caption_label = QLabel("Mental arithmetic", self)
        self.caption_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption_font = QFont(self.font())
        caption_font.setPointSizeF(caption_font.pointSizeF() * 1.4)
        self.caption_label.setFont(caption_font)
        self.caption_label.setWordWrap(True)

        self.number_label = QLabel("–", self)
        self.number_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        number_font = QFont(self.font())
        number_font.setPointSizeF(number_font.pointSizeF() * 4.0)
        number_font.setBold(True)
        self.number_label.setFont(number_font)
        self.number_label.setSizePolicy(QSizePolicy.Policy.Preferred,
                                        QSizePolicy.Policy.Minimum)

        self.answer_edit = QLineEdit(self)
        self.answer_edit.setValidator(QIntValidator(-99999, 99999, self.answer_edit))
        self.answer_edit.setPlaceholderText("Type the answer, then Enter")
        self.answer_edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        entry_font = QFont(self.font())
        entry_font.setPointSizeF(entry_font.pointSizeF() * 2.0)
        self.answer_edit.setFont(entry_font)
        self.answer_edit.setMaximumWidth(320)
        self.answer_edit.returnPressed.connect(self.submit)

        self.time_bar = QProgressBar(self)
        self.time_bar.setRange(0, 1000)
        self.time_bar.setTextVisible(True)
        self.time_bar.setFixedHeight(22)
        self._bar_colour = ""
        self._set_bar_colour("#2a9d8f")

        self.feedback_label = QLabel("", self)
        self.feedback_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        feedback_font = QFont(self.font())
        feedback_font.setPointSizeF(feedback_font.pointSizeF() * 1.6)
        feedback_font.setBold(True)
        self.feedback_label.setFont(feedback_font)
        self.feedback_label.setWordWrap(True)
        self.feedback_label.setMinimumHeight(self.feedback_label.fontMetrics().height() + 6)

        self.counts_label = QLabel("", self)
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counts_label.setStyleSheet("color: #44515c;")

        self._feedback_timer = QTimer(self)
        self._feedback_timer.setSingleShot(True)
        self._feedback_timer.setInterval(FEEDBACK_SHOWN_MS)
        self._feedback_timer.timeout.connect(self.feedback_label.clear)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.caption_label)
        layout.addWidget(self.number_label)
        layout.addWidget(self.answer_edit, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(self.time_bar)
        layout.addWidget(self.feedback_label)
        layout.addWidget(self.counts_label)
        layout.addStretch(1)
        self._show_idle("The task starts with its phase.")

    # -- wiring ----------------------------------------------------------------------------

    def attach(self, protocol_session: ProtocolSession) -> None:
        """Follow ``protocol_session``'s stressor task (its ``stressor`` attribute)."""
        self._session = protocol_session
        self.refresh()

    def detach(self) -> None:
        """Stop following a session."""
        self._session = None
        self._task = None
        self._shown = None
        self._show_idle("No task is running.")

    def set_read_only(self, read_only: bool) -> None:
        """Take no answers here (True) or take them again (False)."""
        self._read_only = read_only
        self.answer_edit.setPlaceholderText(
            "The participant answers on the participant screen" if read_only
            else "Type the answer, then Enter"
        )
        if read_only:
            self.answer_edit.clear()
        self.refresh()

    @property
    def read_only(self) -> bool:
        """Answers are taken elsewhere (see :meth:`set_read_only`)."""
        return self._read_only

    @property
    def task(self) -> SerialSubtractionTask | None:
        """The task shown (None when no stressor phase runs)."""
        return self._task

    @property
    def shown_prompt(self) -> Prompt | None:
        """The prompt on screen."""
        return self._shown

    # -- updates ---------------------------------------------------------------------------

    def set_time(self, now_s: float) -> None:
        """Update the time-limit bar to session time ``now_s`` (s) and pick up what the
        session decided meanwhile (timeouts, a new or finished task)."""
        self._now_s = now_s
        self.refresh()

    def refresh(self) -> None:
        """Re-read the task: its prompt, counts, and any timeout since the last look."""
        task = None if self._session is None else self._session.stressor
        if task is not self._task:
            self._task = task
            self._shown = None
            self._n_results = 0
            self.feedback_label.clear()
        if task is None or task.finished or task.current_prompt is None:
            self._shown = None
            self._show_idle("The task starts with its phase." if task is None or not
                            task.finished else "Time is up for this task. Thank you.")
            return
        results = task.results
        if len(results) > self._n_results:
            # Timeouts the session recorded between answers: say so, as after an answer (a
            # read-only copy shows every result: the answers were given elsewhere).
            latest = results[-1]
            self._n_results = len(results)
            if latest.timed_out or self._read_only:
                self._show_feedback(latest)
                self.answer_edit.clear()
                self.answered.emit(latest)
        prompt = task.current_prompt
        if prompt is not self._shown:
            self._shown = prompt
            self.caption_label.setText(f"Subtract {task.step} from")
            self.number_label.setText(str(prompt.number))
        self.answer_edit.setEnabled(not self._read_only)
        self._update_bar(prompt)
        self._update_counts(task)

    def submit(self) -> AnswerResult | None:
        """Send the typed answer (Enter does this); returns the result, None when nothing
        was sent (no task, empty entry, a read-only screen, or the prompt timed out
        meanwhile)."""
        text = self.answer_edit.text().strip()
        if self._session is None or not text or self._read_only:
            return None
        shown = self._shown
        self.refresh()
        if self._shown is not shown or self._shown is None:
            return None  # the prompt changed under the participant: the timeout is shown
        try:
            result = self._session.answer_stressor(text)
        except ValueError as exc:
            self._show_message(as_sentence(str(exc)), _ERROR)
            return None
        self.answer_edit.clear()
        task = self._task
        if task is not None:
            self._n_results = len(task.results)
        self._show_feedback(result)
        self.refresh()
        self.answered.emit(result)
        return result

    # -- drawing ---------------------------------------------------------------------------

    def _show_idle(self, message: str) -> None:
        self.caption_label.setText(message)
        self.number_label.setText("–")
        self.answer_edit.clear()
        self.answer_edit.setEnabled(False)
        self.time_bar.setValue(0)
        self.time_bar.setFormat("")
        task = self._task
        if task is not None:
            self._update_counts(task)
        else:
            self.counts_label.clear()

    def _update_bar(self, prompt: Prompt) -> None:
        left = max(0.0, prompt.deadline_s - self._now_s) if self._now_s >= prompt.shown_s else (
            prompt.time_limit_s
        )
        share = min(1.0, left / prompt.time_limit_s) if prompt.time_limit_s > 0 else 0.0
        self.time_bar.setValue(round(share * 1000))
        self.time_bar.setFormat(f"{left:.1f} s left")
        self._set_bar_colour("#2a9d8f" if share > 0.5 else "#e9a23b" if share > 0.25
                             else _ERROR)

    def _set_bar_colour(self, colour: str) -> None:
        if colour != self._bar_colour:
            self._bar_colour = colour
            self.time_bar.setStyleSheet(_BAR_STYLE.format(colour=colour))

    def _update_counts(self, task: SerialSubtractionTask) -> None:
        s = task.summary()
        text = f"Answers {s['answers']} · correct {s['correct']} · errors {s['errors']}"
        if s["timeouts"]:
            text += f" ({s['timeouts']} too slow)"
        self.counts_label.setText(text)

    def _show_feedback(self, result: AnswerResult) -> None:
        if result.feedback:
            self._show_message(result.feedback, _OK if result.correct else _ERROR)
        else:
            self.feedback_label.clear()

    def _show_message(self, text: str, colour: str) -> None:
        self.feedback_label.setStyleSheet(f"color: {colour};")
        self.feedback_label.setText(text)
        self._feedback_timer.start()

