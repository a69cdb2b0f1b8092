"""Guidance: the current phase, its instructions and prompts, countdowns, pacer, stressor and
self-report screens, and the operator's pause/skip/extend buttons.

The panel follows a :class:`~biofeedback.session.protocol_session.ProtocolSession`'s runner
events; it never advances the protocol itself (the session does, on its clock). Without a
protocol it shows free practice: the pacer at the user's own rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

# exported here under its old name: countdowns round up (core.formatting.format_countdown)
from biofeedback.core.formatting import format_countdown as format_clock
from biofeedback.ui.pacer_widget import PacerWidget
from biofeedback.ui.self_report_panel import SelfReportPanel
from biofeedback.ui.stressor_screen import StressorScreen
from biofeedback.viewmodels.guidance import GuidancePage, page_for
from protocols.model import PacerSettings, Phase, PhaseKind
from protocols.runner import (
    PhaseEnded,
    PhaseStarted,
    PromptDue,
    ProtocolFinished,
    ProtocolRunner,
    RunnerEvent,
)

if TYPE_CHECKING:
    from biofeedback.session.protocol_session import ProtocolSession

__all__ = ["EXTEND_STEP_S", "PROMPT_HIGHLIGHT_MS", "GuidancePanel", "format_clock"]

EXTEND_STEP_S = 60.0
"""What the operator's "+1 min" button adds to the current phase, s."""
PROMPT_HIGHLIGHT_MS = 6000
"""How long a new prompt stays highlighted, ms of wall time (long enough to notice it)."""

_KIND_WORDS = {
    PhaseKind.BASELINE: "baseline",
    PhaseKind.STRESSOR: "stressor",
    PhaseKind.PRACTICE: "practice",
    PhaseKind.RECOVERY: "recovery",
    PhaseKind.REST: "rest",
    PhaseKind.SELF_REPORT: "questions",
}
_PROMPT_NEW = ("QLabel { background: #fff1bf; border: 1px solid #e0b84a; border-radius: 6px;"
               " padding: 8px; color: #1d2b36; }")
_PROMPT_OLD = ("QLabel { background: #f1f4f6; border: 1px solid #d5dbe0; border-radius: 6px;"
               " padding: 8px; color: #1d2b36; }")

PAGE_PACER, PAGE_STRESSOR, PAGE_SELF_REPORT, PAGE_NATURAL = (
    int(page) for page in GuidancePage
)
"""Pages of :attr:`GuidancePanel.stack` (:class:`~biofeedback.viewmodels.guidance.GuidancePage`)."""
_MIRROR_STYLE = ("QLabel { background: #e6f0ee; border: 1px solid #a9c9c2; border-radius: 6px;"
                 " padding: 8px; color: #1d2b36; }")


def _wall_clock() -> Callable[[], float]:
    """A clock in s from now (free practice without a session)."""
    t0 = time.monotonic()
    return lambda: time.monotonic() - t0


class GuidancePanel(QWidget):
    """What the participant follows during a session, and the operator's protocol controls.

    Attributes
    ----------
    pacer : PacerWidget
        The breathing pacer.
    stressor_screen : StressorScreen
    self_report_panel : SelfReportPanel
    stack : QStackedWidget
        Pacer, stressor, self-report or "breathe naturally" page.

    Signals
    -------
    pacer_changed(float, float)
        The user changed the free-practice rate (breaths/min) or inhale:exhale ratio
        (inhale/exhale); relayed from :attr:`pacer` for the window to persist.

    Notes
    -----
    The window calls :meth:`set_time` a few times per second with the session time (s);
    countdowns, the pause button and the stressor's time bar follow it. While a participant
    screen is open (:meth:`set_participant_screen_open`) the participant answers there: this
    panel keeps the operator's controls, shows the task and what the participant does
    (:meth:`set_mirror_text`), and takes no answers itself. The pacer reads the
    clock itself at every frame. The marker button is a separate
    :class:`~biofeedback.ui.marker_bar.MarkerBar` (one per window: its M shortcut is
    window-wide).
    """

    pacer_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._protocol_session: ProtocolSession | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._phase: Phase | None = None
        self._index = -1
        self._free_practice = False
        self._free_t0 = 0.0
        self._free_pacer: PacerSettings | None = None
        self._free_offered = False
        self._clock: Callable[[], float] = _wall_clock()
        self._participant_screen_open = False

        self.header_label = QLabel("", self)
        header_font = QFont(self.font())
        header_font.setPointSizeF(header_font.pointSizeF() * 1.7)
        header_font.setBold(True)
        self.header_label.setFont(header_font)
        self.header_label.setWordWrap(True)
        self.step_label = QLabel("", self)
        self.step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.step_label.setStyleSheet("color: #44515c;")
        self.subtitle_label = QLabel("", self)
        self.subtitle_label.setStyleSheet("color: #44515c;")
        self.subtitle_label.setWordWrap(True)
        self.instructions_label = QLabel("", self)
        self.instructions_label.setWordWrap(True)
        instructions_font = QFont(self.font())
        instructions_font.setPointSizeF(instructions_font.pointSizeF() * 1.15)
        self.instructions_label.setFont(instructions_font)
        self.prompt_label = QLabel("", self)
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setStyleSheet(_PROMPT_OLD)
        self.prompt_label.setFont(instructions_font)
        self.prompt_label.hide()
        self.mirror_label = QLabel("", self)
        """What the participant does on the participant screen (shown while one is open)."""
        self.mirror_label.setWordWrap(True)
        self.mirror_label.setStyleSheet(_MIRROR_STYLE)
        self.mirror_label.hide()
        self.countdown_label = QLabel("", self)
        countdown_font = QFont(self.font())
        countdown_font.setPointSizeF(countdown_font.pointSizeF() * 1.2)
        self.countdown_label.setFont(countdown_font)

        self._build_operator_row()

        self.pacer = PacerWidget(self, controls=False)
        self.stressor_screen = StressorScreen(self)
        self.self_report_panel = SelfReportPanel(self, show_title=False)
        self.natural_label = QLabel("Breathe naturally: there is no pacer in this phase.", self)
        self.natural_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.natural_label.setWordWrap(True)
        self.natural_label.setStyleSheet("color: #55626d;")
        self.stack = QStackedWidget(self)
        for page in (self.pacer, self.stressor_screen, self.self_report_panel,
                     self.natural_label):
            self.stack.addWidget(page)

        self._highlight_timer = QTimer(self)
        self._highlight_timer.setSingleShot(True)
        self._highlight_timer.setInterval(PROMPT_HIGHLIGHT_MS)
        self._highlight_timer.timeout.connect(lambda: self.prompt_label.setStyleSheet(_PROMPT_OLD))

        top = QHBoxLayout()
        top.addWidget(self.header_label, 1)
        top.addWidget(self.step_label)
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.subtitle_label)
        layout.addWidget(self.instructions_label)
        layout.addWidget(self.prompt_label)
        layout.addWidget(self.operator_row)
        layout.addWidget(self.mirror_label)
        layout.addWidget(line)
        layout.addWidget(self.stack, 1)
        self.pacer.pacer_changed.connect(self._on_pacer_changed)
        self._show_nothing()

    def _build_operator_row(self) -> None:
        """Countdown and the operator's buttons: pause, skip, one more minute."""
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setToolTip("Hold the protocol clock (the recording goes on)")
        self.skip_button = QPushButton("Skip phase", self)
        self.skip_button.setToolTip("End this phase now and start the next")
        self.extend_button = QPushButton("+1 min", self)
        self.extend_button.setToolTip("Lengthen this phase by one minute")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.skip_button.clicked.connect(self.skip_phase)
        self.extend_button.clicked.connect(lambda: self.extend_phase(EXTEND_STEP_S))
        self.operator_row = QWidget(self)
        ops = QHBoxLayout(self.operator_row)
        ops.setContentsMargins(0, 0, 0, 0)
        ops.addWidget(self.countdown_label, 1)
        ops.addWidget(self.pause_button)
        ops.addWidget(self.skip_button)
        ops.addWidget(self.extend_button)

    # -- wiring ----------------------------------------------------------------------------

    @property
    def protocol_session(self) -> ProtocolSession | None:
        """The session followed (None in free practice or when detached)."""
        return self._protocol_session

    @property
    def phase(self) -> Phase | None:
        """The phase shown."""
        return self._phase

    @property
    def clock(self) -> Callable[[], float]:
        """The clock the panel follows (session time, s; a wall clock when detached)."""
        return self._clock

    @property
    def free_practice_start_s(self) -> float | None:
        """When the free-practice pacer's first breath began, on :attr:`clock` (s); None
        outside free practice."""
        return self._free_t0 if self._free_practice else None

    @property
    def participant_screen_open(self) -> bool:
        """A participant screen takes the answers (see :meth:`set_participant_screen_open`)."""
        return self._participant_screen_open

    def set_participant_screen_open(self, is_open: bool) -> None:
        """The participant answers on a participant screen (True): the stressor screen here
        becomes a read-only copy, the questions are not taken here, and :attr:`mirror_label`
        says what the participant does. False: answers are taken here again."""
        self._participant_screen_open = is_open
        self.stressor_screen.set_read_only(is_open)
        self.self_report_panel.setEnabled(not is_open)
        if is_open:
            self.set_mirror_text("")
        self.mirror_label.setVisible(is_open)

    def set_mirror_text(self, text: str) -> None:
        """Say what the participant does on the participant screen ("" for nothing asked)."""
        self.mirror_label.setText(
            text or "Participant screen open: the participant sees the guidance there.")

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Use ``clock()`` (session time, s) for the pacer and countdowns, until
        :meth:`detach` (which goes back to a wall clock). In free practice the pacer restarts
        its breath on the new clock."""
        self._clock = clock
        if self._free_practice:
            self._free_t0 = clock()
            self.pacer.set_clock(clock)
            self.pacer.set_pacer(self.pacer.settings, self._free_t0)

    def attach(self, protocol_session: ProtocolSession) -> None:
        """Follow ``protocol_session``: its runner's events, stressor task and self-reports.

        The clock becomes the session source's clock (:meth:`set_clock` after this gives
        another).
        """
        self._release()
        self._free_practice = False
        self._protocol_session = protocol_session
        self._clock = protocol_session.session.source.session_time_s
        self._unsubscribe = protocol_session.runner.subscribe(self._on_runner_event)
        self.stressor_screen.attach(protocol_session)
        self.self_report_panel.attach(protocol_session)
        self.pacer.set_controls_visible(False)
        self.operator_row.show()
        runner = protocol_session.runner
        phase = runner.current_phase
        if phase is not None:  # attached mid-protocol: show where it is
            self._show_phase(phase, protocol_session.protocol.phases.index(phase))
        elif runner.finished:
            self._show_finished(completed=True)
        else:
            self._show_waiting()
        self.set_time(self._clock())

    def detach(self) -> None:
        """Stop following the session; the clock goes back to a wall clock.

        A protocol that ran to its end (or was ended) keeps its closing screen ("Protocol
        complete") until the next :meth:`attach` or :meth:`show_free_practice`; otherwise the
        panel returns to free practice with the last free-practice pacer, if one was shown.
        """
        session = self._protocol_session
        finished = session is not None and session.runner.finished
        self._release()
        self._clock = _wall_clock()
        if finished:
            return  # the closing screen stays (it refers to nothing live)
        if self._free_offered:
            self.show_free_practice(self._free_pacer)
        else:
            self._show_nothing()

    def _release(self) -> None:
        """Unsubscribe from the session and let go of it."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._protocol_session = None
        self.stressor_screen.detach()
        self.self_report_panel.attach(None)

    def show_free_practice(self, pacer: PacerSettings | None) -> None:
        """Free practice (no protocol): the pacer at the user's rate, with its controls; None
        shows "breathe naturally"."""
        if self._protocol_session is not None:
            self._release()
        self._free_practice = True
        self._free_offered = True
        self._free_pacer = pacer
        self._free_t0 = self._clock()
        self.header_label.setText("Free practice")
        self.step_label.clear()
        self.subtitle_label.setText("No protocol: practise at your own pace.")
        if pacer is not None:
            self.instructions_label.setText(
                "Breathe in as the ball grows, out as it shrinks. Change the rate below.")
        else:
            self.instructions_label.setText("Breathe naturally.")
        self.instructions_label.show()
        self.prompt_label.hide()
        self.operator_row.show()
        for button in (self.pause_button, self.skip_button, self.extend_button):
            button.hide()
        self.pacer.set_controls_visible(True)
        self.pacer.set_clock(self._clock)
        self.pacer.set_pacer(pacer, self._free_t0)
        self.stack.setCurrentIndex(PAGE_PACER if pacer is not None else PAGE_NATURAL)
        self.set_time(self._clock())

    def _on_pacer_changed(self, breaths_per_min: float, ie_ratio: float) -> None:
        if self._free_practice:
            self._free_pacer = self.pacer.settings
        self.pacer_changed.emit(breaths_per_min, ie_ratio)

    # -- operator actions ------------------------------------------------------------------

    def toggle_pause(self) -> None:
        """Pause the protocol clock, or resume it."""
        runner = self._runner()
        if runner is None:
            return
        if runner.paused:
            runner.resume()
        else:
            runner.pause()
        self._update_pause_button()

    def skip_phase(self) -> None:
        """End the current phase now (the next one starts)."""
        runner = self._runner()
        if runner is not None:
            runner.skip()

    def extend_phase(self, seconds: float = EXTEND_STEP_S) -> None:
        """Lengthen the current phase by ``seconds`` (s; the button adds one minute)."""
        runner = self._runner()
        if runner is not None:
            runner.extend(float(seconds))
            self.set_time(self._clock())

    # -- time ------------------------------------------------------------------------------

    def set_time(self, now_s: float) -> None:
        """Update the countdowns and the stressor's time bar to session time ``now_s`` (s)."""
        if self._free_practice:
            self.countdown_label.setText(f"{format_clock(now_s - self._free_t0)} practised")
            return
        session = self._protocol_session
        if session is None:
            return
        runner = session.runner
        if self.stack.currentIndex() == PAGE_STRESSOR:
            self.stressor_screen.set_time(now_s)
        phase = runner.current_phase
        if phase is None or self._index < 0:
            return
        phase_left = runner.phase_remaining_s(now_s)
        later = sum(p.duration_s for p in session.protocol.phases[self._index + 1:])
        text = (f"{format_clock(phase_left)} left in this phase · "
                f"{format_clock(phase_left + later)} in all")
        if runner.paused:
            text = "Paused · " + text
        self.countdown_label.setText(text)
        self._update_pause_button()

    # -- runner events ---------------------------------------------------------------------

    def _on_runner_event(self, event: RunnerEvent) -> None:
        if isinstance(event, PhaseStarted):
            self._show_phase(event.phase, event.index)
        elif isinstance(event, PromptDue):
            self._show_prompt(event.prompt.text)
        elif isinstance(event, PhaseEnded):
            if event.phase.kind is PhaseKind.SELF_REPORT:
                self.self_report_panel.clear()
        elif isinstance(event, ProtocolFinished):
            self._show_finished(event.completed)

    # -- drawing ---------------------------------------------------------------------------

    def _runner(self) -> ProtocolRunner | None:
        session = self._protocol_session
        return None if session is None else session.runner

    def _show_phase(self, phase: Phase, index: int) -> None:
        session = self._protocol_session
        assert session is not None
        self._phase = phase
        self._index = index
        protocol = session.protocol
        self.header_label.setText(phase.name)
        self.step_label.setText(f"phase {index + 1} of {len(protocol.phases)}")
        kind = _KIND_WORDS.get(phase.kind, str(phase.kind))
        self.subtitle_label.setText(f"{kind.capitalize()} · {protocol.name}")
        self.instructions_label.setText(phase.instructions)
        self.instructions_label.setVisible(bool(phase.instructions))
        self.prompt_label.clear()
        self.prompt_label.hide()
        for button in (self.pause_button, self.skip_button, self.extend_button):
            button.show()
            button.setEnabled(True)
        page = page_for(phase)
        if page is GuidancePage.SELF_REPORT:
            self.pacer.set_pacer(None)
            self.self_report_panel.ask(phase)
        elif page is GuidancePage.STRESSOR:
            self.pacer.set_pacer(None)
            # The session creates the task right after this event reaches subscribers.
            QTimer.singleShot(0, self.stressor_screen.refresh)
        elif page is GuidancePage.PACER:
            runner = session.runner
            # Protocol time within the phase: frozen while paused, as the runner's pacer.
            self.pacer.set_clock(lambda: runner.phase_elapsed_s(self._clock()))
            self.pacer.set_pacer(phase.pacer, 0.0)
        else:
            self.pacer.set_pacer(None)
            self.natural_label.setText(
                "Breathe naturally: there is no pacer in this phase.")
        self.stack.setCurrentIndex(page)

    def _show_prompt(self, text: str) -> None:
        self.prompt_label.setText(text)
        self.prompt_label.setStyleSheet(_PROMPT_NEW)
        self.prompt_label.show()
        self._highlight_timer.start()

    def _show_finished(self, completed: bool) -> None:
        self._phase = None
        self._index = -1
        self.header_label.setText("Protocol complete" if completed else "Protocol ended")
        self.step_label.clear()
        self.instructions_label.setText(
            "Thank you. The recording is saved." if completed
            else "The protocol was ended before its last phase.")
        self.instructions_label.show()
        self.prompt_label.hide()
        self.countdown_label.clear()
        for button in (self.pause_button, self.skip_button, self.extend_button):
            button.setEnabled(False)
        self.pacer.set_pacer(None)
        self.self_report_panel.clear()
        self.natural_label.setText("")
        self.stack.setCurrentIndex(PAGE_NATURAL)

    def _show_waiting(self) -> None:
        session = self._protocol_session
        assert session is not None
        self._phase = None
        self._index = -1
        protocol = session.protocol
        self.header_label.setText(protocol.name)
        self.step_label.setText(f"{len(protocol.phases)} phases")
        self.subtitle_label.setText("Starts when the strap streams.")
        self.instructions_label.setText(protocol.description)
        self.instructions_label.setVisible(bool(protocol.description))
        self.prompt_label.hide()
        self.countdown_label.setText(f"{format_clock(protocol.duration_s)} in all")
        for button in (self.pause_button, self.skip_button, self.extend_button):
            button.show()
            button.setEnabled(False)
        self.pacer.set_pacer(None)
        self.natural_label.setText("")
        self.stack.setCurrentIndex(PAGE_NATURAL)

    def _show_nothing(self) -> None:
        self._phase = None
        self._index = -1
        self._free_practice = False
        self.header_label.setText("No protocol")
        self.step_label.clear()
        self.subtitle_label.setText("")
        self.instructions_label.clear()
        self.instructions_label.hide()
        self.prompt_label.hide()
        self.countdown_label.clear()
        self.operator_row.hide()
        self.pacer.set_pacer(None)
        self.self_report_panel.clear()
        self.natural_label.setText("")
        self.stack.setCurrentIndex(PAGE_NATURAL)

    def _update_pause_button(self) -> None:
        session = self._protocol_session
        paused = session is not None and session.runner.paused
        self.pause_button.setText("Resume" if paused else "Pause")
