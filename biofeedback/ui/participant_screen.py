"""The participant screen: a second, full-screen window showing only what the participant sees.

The current phase's name, its instructions and the latest prompt in large, calm type; the
breathing pacer when the phase has one; the serial-subtraction task and the self-report
questions, answered here (by keyboard and mouse) into the same
:class:`~biofeedback.session.protocol_session.ProtocolSession` as the operator's panel; a calm
"please wait" or "the session is over" between. Never a plot, a physiology value or an
operator control: the operator window keeps those. The screen follows the session's runner
events as the guidance panel does and draws the same view-model
(:mod:`biofeedback.viewmodels.guidance`); it never advances the protocol itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QKeyEvent, QPalette, QScreen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from biofeedback.ui.pacer_widget import PacerWidget
from biofeedback.ui.self_report_panel import SelfReportPanel
from biofeedback.ui.stressor_screen import StressorScreen
from biofeedback.viewmodels.guidance import (
    FINISHED_TEXT,
    WAITING_TEXT,
    GuidancePage,
    page_for,
    self_report_progress,
    stressor_progress,
)
from protocols.model import PacerSettings, Phase
from protocols.runner import PhaseEnded, PhaseStarted, PromptDue, ProtocolFinished, RunnerEvent

if TYPE_CHECKING:
    from biofeedback.session.protocol_session import ProtocolSession

__all__ = ["PARTICIPANT_TITLE", "ParticipantScreen"]

PARTICIPANT_TITLE = "biofeedback — participant"
"""The participant screen's window title (its task-bar entry when it is not full screen)."""

_FONT_SCALE = 1.6
"""Type size of the participant screen relative to the desktop's (read from a distance)."""
_BACKGROUND = "#eef3f1"
_TEXT = "#25343f"
# Style sheets on the leaves only: one on the window would stop the type size reaching the
# widgets made later (a self-report phase's sliders).
_PROMPT_STYLE = ("QLabel { background: #f8faf7; border: 1px solid #cfdcd5; border-radius: 14px;"
                 f" padding: 18px; color: {_TEXT}; }}")
_MESSAGE_STYLE = "QLabel { color: #4b5d68; }"
_CONTENT_WIDTH = 1100
"""Widest the text column grows, px (long lines are hard to read)."""


class ParticipantScreen(QWidget):
    """The participant's window (top level; see :meth:`show_on` for full screen).

    Attributes
    ----------
    pacer : PacerWidget
    stressor_screen : StressorScreen
    self_report_panel : SelfReportPanel
    stack : QStackedWidget
        Pages in :class:`~biofeedback.viewmodels.guidance.GuidancePage` order (the last one is
        the calm message of "breathe naturally", "please wait" and "the session is over").

    Signals
    -------
    progress_changed(str)
        What the participant is doing here, in a sentence for the operator's panel ("" when
        nothing is asked of them).

    Notes
    -----
    Esc does not close the screen and neither does the window manager's close: the operator
    closes it (:meth:`close_screen`, the window's View menu). The window calls
    :meth:`set_time` with the session time a few times per second, as for the guidance panel.
    """

    progress_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(PARTICIPANT_TITLE)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * _FONT_SCALE)
        self.setFont(font)  # before the children: they scale their type from this one
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(_BACKGROUND))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(_TEXT))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self._session: ProtocolSession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._clock: Callable[[], float] = lambda: 0.0
        self._phase: Phase | None = None
        self._may_close = False
        self.progress = ""
        """The last sentence of :attr:`progress_changed`."""

        self.header_label = QLabel("", self)
        header_font = QFont(self.font())
        header_font.setPointSizeF(header_font.pointSizeF() * 1.8)
        self.header_label.setFont(header_font)
        self.header_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.header_label.setWordWrap(True)
        self.instructions_label = QLabel("", self)
        instructions_font = QFont(self.font())
        instructions_font.setPointSizeF(instructions_font.pointSizeF() * 1.25)
        self.instructions_label.setFont(instructions_font)
        self.instructions_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.instructions_label.setWordWrap(True)
        self.prompt_label = QLabel("", self)
        self.prompt_label.setStyleSheet(_PROMPT_STYLE)
        self.prompt_label.setFont(instructions_font)
        self.prompt_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt_label.setWordWrap(True)
        self.prompt_label.hide()

        self.pacer = PacerWidget(self, controls=False)
        self.stressor_screen = StressorScreen(self)
        self.self_report_panel = SelfReportPanel(self, show_title=False)
        self.message_label = QLabel("", self)
        self.message_label.setStyleSheet(_MESSAGE_STYLE)
        self.message_label.setFont(instructions_font)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.stack = QStackedWidget(self)
        for page in (self.pacer, self.stressor_screen, self.self_report_panel,
                     self.message_label):
            self.stack.addWidget(page)
        self.self_report_panel.submitted.connect(lambda _answers: self._report_progress())
        self.stressor_screen.answered.connect(lambda _result: self._report_progress())

        column = QWidget(self)
        column.setMaximumWidth(_CONTENT_WIDTH)
        inner = QVBoxLayout(column)
        inner.setSpacing(24)
        inner.addWidget(self.header_label)
        inner.addWidget(self.instructions_label)
        inner.addWidget(self.prompt_label)
        inner.addWidget(self.stack, 1)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(48, 48, 48, 48)
        # Centred, as wide as the screen allows up to the column's maximum.
        outer.addStretch(1)
        outer.addWidget(column, 20)
        outer.addStretch(1)
        self.show_waiting()

    # -- wiring ----------------------------------------------------------------------------

    @property
    def protocol_session(self) -> ProtocolSession | None:
        """The session followed (None when idle)."""
        return self._session

    @property
    def phase(self) -> Phase | None:
        """The phase shown (None between phases, before and after the protocol)."""
        return self._phase

    def attach(self, protocol_session: ProtocolSession, clock: Callable[[], float]) -> None:
        """Follow ``protocol_session`` (its runner's events, task and self-reports) on
        ``clock()``, the session time, s."""
        self.detach()
        self._session = protocol_session
        self._clock = clock
        self._unsubscribe = protocol_session.runner.subscribe(self._on_runner_event)
        self.stressor_screen.attach(protocol_session)
        self.self_report_panel.attach(protocol_session)
        runner = protocol_session.runner
        phase = runner.current_phase
        if phase is not None:  # opened mid-protocol: show where it is
            self._show_phase(phase)
        elif runner.finished:
            self.show_finished()
        else:
            self.show_waiting()

    def detach(self) -> None:
        """Stop following the session; a finished protocol keeps its closing words, anything
        else goes back to "please wait"."""
        session = self._session
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._session = None
        self.stressor_screen.detach()
        self.self_report_panel.attach(None)
        if session is not None and session.runner.finished:
            self.show_finished()
        else:
            self.show_waiting()

    def follow_free_practice(
        self, pacer: PacerSettings | None, clock: Callable[[], float], start_s: float
    ) -> None:
        """Free practice (no protocol): the same pacer as the operator's panel, on its
        ``clock`` from ``start_s`` (s), or "breathe naturally" when ``pacer`` is None."""
        self.detach()
        self._phase = None
        self.header_label.setText("Free practice")
        self.prompt_label.hide()
        if pacer is None:
            self._show_message("Breathe naturally.")
            self.instructions_label.clear()
            self.instructions_label.hide()
            return
        self.instructions_label.setText("Breathe in as the ball grows, out as it shrinks.")
        self.instructions_label.show()
        self.pacer.set_clock(clock)
        self.pacer.set_pacer(pacer, start_s)
        self.stack.setCurrentIndex(GuidancePage.PACER)
        self._set_progress("")

    def set_time(self, now_s: float) -> None:
        """Follow the session time ``now_s`` (s): the stressor's time bar, its timeouts."""
        if self._session is not None and self.stack.currentIndex() == GuidancePage.STRESSOR:
            self.stressor_screen.set_time(now_s)

    # -- showing and closing ---------------------------------------------------------------

    def show_on(self, screen: QScreen) -> None:
        """Show full screen on ``screen``."""
        self.setScreen(screen)
        self.move(screen.geometry().topLeft())
        self.showFullScreen()

    def close_screen(self) -> None:
        """Close the screen (the operator's menu does; the participant cannot)."""
        self._may_close = True
        self.detach()
        self.pacer.set_pacer(None)
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Esc does nothing here: only the operator closes the screen."""
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Refuse a close that does not come from :meth:`close_screen` (a window manager's
        shortcut pressed by the participant)."""
        if self._may_close:
            event.accept()
        else:
            event.ignore()

    # -- runner events ---------------------------------------------------------------------

    def _on_runner_event(self, event: RunnerEvent) -> None:
        if isinstance(event, PhaseStarted):
            self._show_phase(event.phase)
        elif isinstance(event, PromptDue):
            self.prompt_label.setText(event.prompt.text)
            self.prompt_label.show()
        elif isinstance(event, PhaseEnded):
            self.show_waiting()
        elif isinstance(event, ProtocolFinished):
            self.show_finished()

    # -- drawing ---------------------------------------------------------------------------

    def _show_phase(self, phase: Phase) -> None:
        session = self._session
        assert session is not None
        self._phase = phase
        self.header_label.setText(phase.name)
        self.instructions_label.setText(phase.instructions)
        self.instructions_label.setVisible(bool(phase.instructions))
        self.prompt_label.clear()
        self.prompt_label.hide()
        page = page_for(phase)
        if page is not GuidancePage.PACER:
            self.pacer.set_pacer(None)
        if page is GuidancePage.SELF_REPORT:
            self.self_report_panel.ask(phase)
            for slider in self.self_report_panel.sliders:
                slider.changed.connect(self._report_progress)
        elif page is GuidancePage.STRESSOR:
            # The session creates the task right after this event reaches subscribers.
            QTimer.singleShot(0, self._refresh_stressor)
        elif page is GuidancePage.PACER:
            runner = session.runner
            # Protocol time within the phase: frozen while paused, as the runner's pacer.
            self.pacer.set_clock(lambda: runner.phase_elapsed_s(self._clock()))
            self.pacer.set_pacer(phase.pacer, 0.0)
        else:
            self.message_label.setText("Breathe naturally.")
        self.stack.setCurrentIndex(page)
        self._report_progress()

    def _refresh_stressor(self) -> None:
        self.stressor_screen.refresh()
        self._report_progress()

    def show_waiting(self) -> None:
        """Between phases (and before the protocol): a calm "please wait"."""
        self._phase = None
        self.header_label.setText("Please wait")
        self.instructions_label.clear()
        self.instructions_label.hide()
        self.prompt_label.hide()
        self.pacer.set_pacer(None)
        self.self_report_panel.clear()
        self._show_message(WAITING_TEXT)

    def show_finished(self) -> None:
        """After the protocol: "the session is over"."""
        self._phase = None
        self.header_label.setText("Thank you")
        self.instructions_label.clear()
        self.instructions_label.hide()
        self.prompt_label.hide()
        self.pacer.set_pacer(None)
        self.self_report_panel.clear()
        self._show_message(FINISHED_TEXT)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.stack.setCurrentIndex(GuidancePage.NATURAL)
        self._set_progress("")

    def _report_progress(self) -> None:
        page = self.stack.currentIndex()
        if page == GuidancePage.SELF_REPORT and self.self_report_panel.phase is not None:
            sliders = self.self_report_panel.sliders
            submitted = bool(sliders) and not self.self_report_panel.submit_button.isEnabled()
            self._set_progress(self_report_progress(
                sum(s.answered for s in sliders), len(sliders), submitted))
        elif page == GuidancePage.STRESSOR:
            task = self.stressor_screen.task
            self._set_progress(stressor_progress(None if task is None else task.summary()))
        else:
            self._set_progress("")

    def _set_progress(self, text: str) -> None:
        if text != self.progress:
            self.progress = text
            self.progress_changed.emit(text)
