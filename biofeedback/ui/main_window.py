"""The main window: session panel, live view, guidance, replay controls and session browser.

The window owns no data: it builds a session from the panel's request (off the GUI thread),
subscribes its widgets to the session's events, and forwards user actions (stop, marker,
seek, answers) to the session. Redraws are coalesced to at most ~30 frames per second
(:mod:`biofeedback.ui.frame_cadence`); the settings follow the user's choices through
:mod:`biofeedback.ui.preference_sync`. A participant screen (View > Participant screen,
:mod:`biofeedback.ui.participant_screen`) follows the same protocol session; without one, a
hidden-feedback phase covers the physiology (:mod:`biofeedback.ui.feedback_cover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import importlib
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QPaintEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.source import SeekableSource
from biofeedback.core.types import (
    PARTICIPANT_SCREEN_CLOSED,
    PARTICIPANT_SCREEN_OPENED,
    Connected,
    MarkerKind,
    SourceState,
    StatusChange,
)
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.audio_guidance import AudioGuidance
from biofeedback.ui.comparison import ComparisonView
from biofeedback.ui.deferred_plots import DeferredPlots
from biofeedback.ui.event_loop import spawn
from biofeedback.ui.feedback_cover import FeedbackCover, HeldKey
from biofeedback.ui.frame_cadence import (
    FrameCadence,
    RangeStepTimer,
    WorkBetweenFrames,
    plot_time_s,
)
from biofeedback.ui.gui_gc import thaw_long_lived
from biofeedback.ui.guidance_panel import GuidancePanel
from biofeedback.ui.marker_bar import MarkerBar
from biofeedback.ui.participant_screen import ParticipantScreen
from biofeedback.ui.preference_sync import PreferenceSync
from biofeedback.ui.replay_bar import ReplayBar
from biofeedback.ui.session_browser import SessionBrowser
from biofeedback.ui.signal_check_panel import SignalCheckPanel
from biofeedback.ui.source_panel import SourcePanel
from biofeedback.ui.status_bar import WindowStatusBar
from biofeedback.ui.values_panel import ValuesPanel
from biofeedback.viewmodels.audio_guidance import audio_request_fields
from biofeedback.viewmodels.displays import choose_participant_display
from biofeedback.viewmodels.guidance import PEEK_KEY_NAME, feedback_visible
from biofeedback.viewmodels.pacer import free_practice_pacer
from biofeedback.viewmodels.preferences import WindowPreferences
from biofeedback.viewmodels.status import SessionStatus, finished_message, window_title
from protocols.runner import PhaseEnded, PhaseStarted, ProtocolFinished, RunnerEvent

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from biofeedback.live.events import SessionEvent
    from biofeedback.session.launch import PreparedSession
    from biofeedback.ui.audio_output import AudioOutput
    from biofeedback.ui.live_view import LiveView
    from biofeedback.ui.signal_strip import SignalStrip
    from biofeedback.viewmodels.import_summary import ImportSummaryView
    from biofeedback.viewmodels.session_view import SessionViewModel

__all__ = ["IMPORT_FILE_FILTER", "MainWindow"]

IMPORT_FILE_FILTER = (
    "Recordings and zip files (*.txt *.csv *.tsv *.hrm *.fit *.json *.edf *.dat *.hea *.zip);;"
    "All files (*)"
)
"""File types offered by File > Import… (the command detects the format whatever the name)."""

class MainWindow(QMainWindow):
    """The biofeedback window.

    Parameters
    ----------
    data_dir : Path
        Folder of the session database and of ``settings.json``.
    settings : WindowPreferences, optional
        Loaded settings (read from ``data_dir`` when omitted).
    neurokit : bool
        Run neurokit2 on the rolling window during sessions (in a worker process).
    """

    session_started = Signal(object)
    """A :class:`PreparedSession` began running."""
    session_finished = Signal(object)
    """A session ended: its :class:`PreparedSession` (``.stats`` set, or ``.error``)."""
    first_painted = Signal()
    """The window's first frame was drawn (start-up time is measured to here)."""
    closed = Signal()
    """The window closed (after any running session finished)."""
    frame_drawn = Signal(float)
    """The plots were redrawn (``time.perf_counter()`` after drawing); for benchmarks."""

    def __init__(
        self,
        data_dir: Path,
        settings: WindowPreferences | None = None,
        *,
        neurokit: bool = True,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.settings = settings if settings is not None else WindowPreferences.load(data_dir)
        self.neurokit = neurokit
        self.preferences = PreferenceSync(self.settings, data_dir, self.show_message)
        """Writes the user's choices into :attr:`settings` and saves them."""
        self.current: PreparedSession | None = None
        self.last_error: str = ""
        self.view_model: SessionViewModel | None = None
        """What the live tab shows of the running (or last) session."""
        self._idle_status = SessionStatus()
        self._drawn_indices: object = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._frames = FrameCadence(self._draw_frame, self)
        self._range_steps = RangeStepTimer(self._request_frame, self)
        self._close_requested = False
        self._loaded = False
        self._painted = False
        self.setWindowTitle("biofeedback")
        self.resize(1400, 860)
        self._import_dir = Path.home()
        """Folder the import dialogs open in: the last one imported from."""
        self._backup_dir = Path.home()
        """Folder the backup dialog opens in: the last one backed up to."""
        self._backup_task: asyncio.Task[str] | None = None
        self.participant_screen: ParticipantScreen | None = None
        self._marked_screen: tuple[str, int | None] | None = None
        """The last participant-screen marker recorded in the running session."""
        self._screen_mark_pending: str | None = None
        """A participant-screen marker waiting for the session to stream."""
        """The participant's full-screen window, while it is open."""
        self.participant_display = 0
        """Index (from 0) of the display the participant screen is on, while it is open."""
        self._build()
        self._build_menu()
        self._build_view_menu()
        self._wire()
        self._build_audio()
        self.source_panel.apply_settings()
        self._show_free_practice()
        if self.settings.problems:
            self.show_message(" ".join(self.settings.problems))

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.source_panel = SourcePanel(self.settings, self.data_dir)
        self.values_panel = ValuesPanel()
        self.replay_bar = ReplayBar()
        self.replay_bar.hide()
        self.marker_bar = MarkerBar()
        self.marker_bar.set_labels(self.settings.marker_labels)
        self.guidance = GuidancePanel()
        self.browser = SessionBrowser(self.data_dir)
        self.comparison = ComparisonView(self.data_dir)

        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        physiology = QWidget()
        physiology_column = QVBoxLayout(physiology)
        physiology_column.setContentsMargins(0, 0, 0, 0)
        physiology_column.addWidget(self.values_panel)
        self.signal_check_panel = SignalCheckPanel()
        """The live ECG check and chest breathing lines (shown with ECG or ACC; the signal
        strip goes above them)."""
        physiology_column.addWidget(self.signal_check_panel)
        self._physiology_column = physiology_column
        self.signal_strip: SignalStrip | None = None
        """The ECG strip and respiration trace, built when a session first sends ECG or ACC
        (pyqtgraph loads after the window is on screen)."""
        self._plots = DeferredPlots(
            physiology_column, self.settings.plot_span_s, self.preferences.plot_span
        )
        column.addWidget(self._build_feedback_cover(physiology), 1)
        column.addWidget(self.replay_bar)
        column.addWidget(self.marker_bar)

        panel_scroll = QScrollArea()
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_scroll.setWidget(self.source_panel)
        panel_scroll.setMinimumWidth(300)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(panel_scroll)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.guidance)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([320, 760, 340])

        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "Live")
        self.tabs.addTab(self.browser, "Sessions")
        self.tabs.addTab(self.comparison, "Compare")
        self.setCentralWidget(self.tabs)

        self.status_bar = WindowStatusBar(self._idle_status.text())
        self.status_label = self.status_bar.status_label
        self.setStatusBar(self.status_bar)

        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(250)
        self._clock_timer.timeout.connect(self._on_clock)
        pacer = self.guidance.pacer
        self._between_frames = WorkBetweenFrames(lambda: pacer.animating, self)
        pacer.canvas.painted.connect(self._between_frames.frame_painted)

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.import_files_action = QAction("&Import…", self)
        self.import_files_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_files_action.setStatusTip(
            "Import recordings of other apps (RR, ECG or zip files) as sessions"
        )
        self.import_files_action.triggered.connect(self.choose_import_files)
        self.import_folder_action = QAction("Import &folder…", self)
        self.import_folder_action.setStatusTip(
            "Import every recording in a folder and its sub-folders as sessions"
        )
        self.import_folder_action.triggered.connect(self.choose_import_folder)
        file_menu.addAction(self.import_files_action)
        file_menu.addAction(self.import_folder_action)
        file_menu.addSeparator()
        self.backup_action = QAction("&Back up…", self)
        self.backup_action.setStatusTip(
            "Copy every session into one verified file (a recording may go on meanwhile)"
        )
        self.backup_action.triggered.connect(self.choose_backup_file)
        file_menu.addAction(self.backup_action)
        self.file_menu = file_menu

    def _wire(self) -> None:
        self.source_panel.start_requested.connect(self.start_session)
        self.source_panel.stop_requested.connect(self.stop_session)
        self.source_panel.settings_changed.connect(self.save_settings)
        self.marker_bar.marker_requested.connect(self.add_marker)
        self.guidance.pacer_changed.connect(self.preferences.pacer)
        self.guidance.pacer_changed.connect(lambda _rate, _ratio: self._mirror_free_practice())
        self.replay_bar.seek_requested.connect(self._on_seek)
        self.replay_bar.speed_changed.connect(self.preferences.replay_speed)
        self.browser.replay_requested.connect(self._replay_session)
        for page in (self.browser, self.comparison):
            page.status_message.connect(self.status_bar.message_from(self.tabs, page))
        self.tabs.currentChanged.connect(self._on_tab)

    def _build_audio(self) -> None:
        """Volume and mute in the status bar, the Audio menu, and the replay speed rule."""
        self.audio = AudioGuidance(self.settings, self.preferences, self)
        self.status_bar.addPermanentWidget(self.audio.controls)
        self.audio.fill_menu(self.menuBar().addMenu("&Audio"))
        self.replay_bar.speed_changed.connect(self.audio.speed_changed)

    @property
    def audio_output(self) -> AudioOutput:
        """What plays the running session's audio guidance."""
        return self.audio.output

    @property
    def live_view(self) -> LiveView:
        """The plots (built right after the window's first frame: pyqtgraph takes a few
        hundred ms to import, and the window should be on screen before that)."""
        return self._plots.view()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """The first frame is on screen: report it, then build the plots."""
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()
            QTimer.singleShot(0, self._plots.view)

    # -- sessions --------------------------------------------------------------------------

    @property
    def status(self) -> SessionStatus:
        """The status line's model: the running (or last) session's."""
        vm = self.view_model
        return vm.status if vm is not None else self._idle_status

    @property
    def running(self) -> bool:
        """A session is being set up or runs."""
        return self._task is not None and not self._task.done()

    @property
    def lsl_publisher(self) -> object | None:
        """The running session's Lab Streaming Layer streams, or None when it has none."""
        return None if self.current is None else self.current.lsl_publisher

    def start_session(self, request: SessionRequest) -> asyncio.Task[None] | None:
        """Set up and run ``request``; returns the task (None if one already runs)."""
        if self.running:
            self.show_message("A session is already running; stop it first.")
            return None
        self._show_request(request)
        self.source_panel.set_running(True)
        self.audio.session_requested(request)
        # Widgets of earlier sessions or windows can wait in garbage cycles; if the set-up
        # thread triggered the cyclic collector, it would delete those Qt objects from the
        # wrong thread (a crash in Qt's timer list). Collect them here, on the GUI thread,
        # unless the loop's GUI-thread collector runs (automatic collection is off then and
        # no worker thread collects: a full collection here froze the pacer for 70-130 ms).
        if gc.isenabled():
            gc.collect()
        self._task = spawn(self._run_session(request))
        return self._task

    def _show_request(self, request: SessionRequest) -> None:
        """Let the panel show what runs (a session may come from the command line or the
        browser rather than from the panel)."""
        panel = self.source_panel
        with contextlib.suppress(BiofeedbackError):
            panel.set_source(request.source)
        if request.study is None:
            panel.set_protocol(request.protocol_id)
        panel.set_participant(request.participant_id)

    def stop_session(self) -> None:
        """Finish the running session cleanly (the recording is kept)."""
        if self.current is not None:
            self.status.message = "stopping…"
            self._refresh_status()
            self.current.stop()

    async def _run_session(self, request: SessionRequest) -> None:
        prepared: PreparedSession | None = None
        try:
            self.status_bar.show_starting(request.source)
            prepared = await asyncio.to_thread(
                _prepare_session, request, self.data_dir, self.neurokit
            )
            self.current = prepared
            self._attach(prepared)
            self.session_started.emit(prepared)
            await prepared.run()
            self._on_finished(prepared)
        except BiofeedbackError as exc:
            if prepared is not None:  # it ran and was stopped by the error (a full disk)
                self.status.state = SourceState.FAILED
                self.status.message = ""
                self._refresh_status()
            self._show_error(str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the window stays usable and says what happened
            logger.debug("session ended with an internal error", exc_info=True)
            self._show_error(f"{type(exc).__name__}: {exc}")
        finally:
            self._detach()
            self.current = None
            thaw_long_lived()  # the session's objects, frozen as long-lived, can be garbage now
            self.source_panel.set_running(False)
            self.session_finished.emit(prepared)
            if self._close_requested:
                # Once this task is done (so the window no longer counts as running).
                QTimer.singleShot(0, self.close)
            else:
                spawn(self.browser.refresh())

    def _attach(self, prepared: PreparedSession) -> None:
        from biofeedback.viewmodels.session_view import SessionViewModel

        session = prepared.session
        vm = SessionViewModel(session)
        self.view_model = vm
        self.live_view.set_traces(vm.traces)
        if self.signal_strip is not None:
            self.signal_strip.set_signals(vm.signals)
        self.values_panel.show_indices(None)
        self.signal_check_panel.show_view(vm.signal_check)
        self._drawn_indices = None
        self._unsubscribe.append(vm.close)
        self._unsubscribe.append(vm.subscribe(self._on_session_event))
        if prepared.request.lsl:
            prepared.start_lsl()
        if prepared.protocol_session is not None:
            self.guidance.attach(prepared.protocol_session)
            self._unsubscribe.append(
                prepared.protocol_session.runner.subscribe(self._on_runner_event)
            )
        else:
            self._show_free_practice()
        self.guidance.set_clock(session.source.session_time_s)
        self._attach_participant_screen(prepared)
        if vm.capabilities.seekable and isinstance(session.source, SeekableSource):
            # A seekable source has the replay controls (capabilities say so).
            self.replay_bar.attach(session.source)
            self.replay_bar.show()
        else:
            self.replay_bar.hide()
        # Nobody practises along with a recording: no pacer or prompts.
        self.guidance.setVisible(vm.practice_along)
        self._clock_timer.start()
        protocol = prepared.protocol
        self.setWindowTitle(window_title(
            prepared.request.source_kind, protocol.name if protocol is not None else None
        ))
        # Before the source starts: the sound server takes a moment to start the stream.
        self.audio.session_started(prepared)
        self._refresh_status()

    def _detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(ValueError):
                unsubscribe()
        self._unsubscribe.clear()
        if self.current is not None:
            self.current.close()  # the LSL streams, also when the run never started
        self._clock_timer.stop()
        self._range_steps.reset()
        self.audio.session_ended()
        self.guidance.detach()
        self.guidance.show()
        self._detach_participant_screen()
        self.replay_bar.detach()
        self._draw_frame()

    def _on_finished(self, prepared: PreparedSession) -> None:
        stats = prepared.stats
        if stats is None:
            return
        if stats.final_state == SourceState.FAILED:
            self._show_error(stats.final_message)
            return
        self.show_message(finished_message(stats, prepared.session.session_id))

    def _replay_session(self, session_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.source_panel.set_source(f"replay:{session_id}")
        source = f"replay:{session_id}"
        self.start_session(SessionRequest(
            source=source, record=False, speed=self.settings.speed,
            **audio_request_fields(self.settings, source),
        ))

    def add_marker(self, label: str) -> None:
        """Record a user marker now in the running session."""
        if self.current is None:
            self.show_message("Start a session to add markers.")
            return
        label = label.strip() or "marker"
        ps = self.current.protocol_session
        if ps is not None and ps.runner.started:
            ps.runner.add_marker(label)
        else:
            self.current.session.add_marker(label)
        self.marker_bar.set_labels(self.preferences.marker_used(label))

    # -- events ----------------------------------------------------------------------------

    def _on_session_event(self, event: SessionEvent) -> None:
        """After the view-model took ``event`` in: draw soon; persist a strap connected to."""
        if isinstance(event, Connected) and event.address is not None:
            self.preferences.strap_connected(event.address, event.name or "")
            self.source_panel.update_strap_list()
        elif isinstance(event, StatusChange) and event.state is SourceState.STREAMING:
            self.status_bar.clear_starting()
            if self._screen_mark_pending is not None:
                self._mark_participant_screen(self._screen_mark_pending)
        self._request_frame()

    def _on_runner_event(self, event: RunnerEvent) -> None:
        if isinstance(event, PhaseStarted | PhaseEnded | ProtocolFinished):
            self.apply_feedback_visibility()
        if isinstance(event, PhaseStarted | PhaseEnded) and self.current is not None:
            self.live_view.set_phases(self.current.session.phases)
            self._request_frame()

    @property
    def last_redraw_s(self) -> float:
        """Time the last redraw of the plots took, s (benchmarks read it)."""
        return self._frames.last_redraw_s

    def _request_frame(self) -> None:
        self._frames.request()

    def _draw_frame(self) -> None:
        if not self._frames.take():
            return
        now = self._plot_now_s()
        vm = self.view_model
        if vm is not None:
            self._refresh_status()
            if vm.indices is not self._drawn_indices:
                self._drawn_indices = vm.indices
                self.values_panel.show_indices(vm.indices)
            self.signal_check_panel.show_view(vm.signal_check)
        started = time.perf_counter()
        self.live_view.redraw(now)
        if vm is not None and (strip := self._strip_for(vm)) is not None:
            if strip.signals is not vm.signals:
                strip.set_signals(vm.signals)
            strip.redraw()
        self.frame_drawn.emit(self._frames.drawn(started))

    def _plot_now_s(self) -> float | None:
        """The time the plots end at now (None without a session), s."""
        if self.current is None:
            return None
        source = self.current.source
        return plot_time_s(
            source.session_time_s(), source.backlog, self.live_view.traces.last_time_s
        )

    def _on_clock(self) -> None:
        if self.current is None:
            return
        plot_now = self._plot_now_s()
        if plot_now is not None:
            self._range_steps.check(
                plot_now, self.live_view.seconds_to_step(plot_now),
                self._clock_timer.interval() / 1000.0,
            )
        now = self.current.source.session_time_s()
        self.guidance.set_time(now)
        if self.participant_screen is not None:
            self.participant_screen.set_time(now)
        if self.replay_bar.isVisible():
            self.replay_bar.set_position(now)
        self.status.time_s = max(self.status.time_s, now)
        self._between_frames.run(self._refresh_spectrum_and_respiration)

    def _refresh_spectrum_and_respiration(self) -> None:
        vm = self.view_model
        if vm is not None and vm.refresh_spectrum():
            self.live_view.show_spectrum(vm.spectrum)
        if vm is not None and vm.signals.respiration.refresh_when_ready():
            self._request_frame()

    def _on_seek(self, _t_s: float) -> None:
        # The source answers with a Seeked event; the view-model truncates the plots then.
        self._request_frame()

    # -- importing -------------------------------------------------------------------------

    def choose_import_files(self) -> None:
        """File > Import…: ask for files (zip files too), then import them."""
        paths, _filter = QFileDialog.getOpenFileNames(
            self, "Import recordings", str(self._import_dir), IMPORT_FILE_FILTER
        )
        self.import_paths(paths)

    def choose_import_folder(self) -> None:
        """File > Import folder…: ask for a folder, then import every recording in it."""
        folder = QFileDialog.getExistingDirectory(
            self, "Import every recording in a folder", str(self._import_dir)
        )
        self.import_paths([folder] if folder else [])

    def import_paths(
        self, paths: Sequence[str | Path]
    ) -> asyncio.Task[ImportSummaryView | None] | None:
        """Import files, folders and zip files in the background and show the Sessions tab,
        where the progress, the refreshed list and the summary appear.

        Returns
        -------
        asyncio.Task or None
            The import's task; None when nothing was chosen or an import already runs.
        """
        if not paths:
            return None
        first = Path(paths[0])
        self._import_dir = first if first.is_dir() else first.parent
        self.tabs.setCurrentWidget(self.browser)
        return self.browser.import_paths(paths)

    # -- backing up ------------------------------------------------------------------------

    def choose_backup_file(self) -> None:
        """File > Back up…: ask where to save the backup, then write it in the background."""
        from biofeedback.viewmodels.backup import BACKUP_FILE_FILTER, suggested_backup_name

        suggested = self._backup_dir / suggested_backup_name(datetime.date.today())
        path, _filter = QFileDialog.getSaveFileName(
            self, "Back up every session", str(suggested), BACKUP_FILE_FILTER
        )
        if path:
            self.back_up_to(Path(path))

    def back_up_to(self, out: Path) -> asyncio.Task[str] | None:
        """Back the sessions up into ``out`` off the GUI thread; the status line says how it
        went ("Backed up 12 sessions to FILE (verified)" or why not).

        Returns
        -------
        asyncio.Task or None
            The backup's task (its result is the sentence shown); None while one runs.
        """
        if self._backup_task is not None and not self._backup_task.done():
            return None
        self._backup_dir = out.parent
        self.backup_action.setEnabled(False)
        self.show_message(f"Backing up every session to {out}…")
        self._backup_task = spawn(self._back_up(out))
        return self._backup_task

    async def _back_up(self, out: Path) -> str:
        from biofeedback.viewmodels.backup import back_up_sessions

        try:
            message = await asyncio.to_thread(back_up_sessions, self.data_dir, out)
        except Exception as exc:  # broad on purpose: any failure becomes a sentence, and a log
            if not isinstance(exc, BiofeedbackError):
                logger.debug("backup to %s failed", out, exc_info=True)
            message = f"Could not back up: {exc}"
        finally:
            self.backup_action.setEnabled(True)
        self.show_message(message)
        return message

    # -- settings and messages -------------------------------------------------------------

    def _show_free_practice(self) -> None:
        self.guidance.show_free_practice(
            free_practice_pacer(self.settings.pacer_breaths_per_min, self.settings.pacer_ie_ratio)
        )
        self._mirror_free_practice()

    def save_settings(self) -> None:
        """Write the settings (a small JSON file; a failure is reported, never raised)."""
        self.preferences.save()

    def show_message(self, text: str) -> None:
        """Show a sentence in the status bar (kept until the next one)."""
        self.status_bar.showMessage(text)

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.status_bar.showMessage(f"Error: {text}")
        self.source_panel.show_error(text)

    def _refresh_status(self) -> None:
        self.status_bar.set_status(self.status.text())

    def _on_tab(self, index: int) -> None:
        if self.tabs.widget(index) is self.browser:
            spawn(self.browser.refresh())
        elif self.tabs.widget(index) is self.comparison:
            spawn(self.comparison.refresh_choices())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """On first show, load the protocol library, studies and sessions in the background."""
        super().showEvent(event)
        if not self._loaded:
            self._load_in_background()

    def _load_in_background(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Shown before the asyncio loop runs (a script or test driving the window):
            # try again once it does.
            QTimer.singleShot(50, self._load_in_background)
            return
        if not self._loaded:
            self._loaded = True
            spawn(self.source_panel.load())
            spawn(self.browser.refresh())

    # -- participant screen and hidden feedback --------------------------------------------

    def _build_feedback_cover(self, physiology: QWidget) -> QStackedWidget:
        """Values and plots on one page, the calm "feedback is hidden" cover on the other."""
        self.feedback_cover = FeedbackCover()
        self.physiology_stack = QStackedWidget()
        self.physiology_stack.addWidget(physiology)
        self.physiology_stack.addWidget(self.feedback_cover)
        self.peek_key = HeldKey(self)
        self.peek_key.held_changed.connect(lambda _held: self.apply_feedback_visibility())
        return self.physiology_stack

    def _build_view_menu(self) -> None:
        view_menu = self.menuBar().addMenu("&View")
        self.participant_screen_action = QAction("&Participant screen", self)
        self.participant_screen_action.setCheckable(True)
        self.participant_screen_action.setStatusTip(
            "Open a full-screen window for the participant on another display: guidance, "
            "pacer, task and questions, no physiology"
        )
        self.participant_screen_action.toggled.connect(self._on_participant_screen_toggled)
        view_menu.addAction(self.participant_screen_action)
        view_menu.addSeparator()
        self.ecg_strip_action = QAction("&ECG strip", self)
        self.ecg_strip_action.setCheckable(True)
        self.ecg_strip_action.setChecked(self.settings.show_ecg_strip)
        self.ecg_strip_action.setStatusTip("Show the last 10 s of ECG when the strap sends it")
        self.respiration_action = QAction("&Respiration trace", self)
        self.respiration_action.setCheckable(True)
        self.respiration_action.setChecked(self.settings.show_respiration)
        self.respiration_action.setStatusTip(
            "Show the breathing measured by the strap's accelerometer when it sends it"
        )
        self.ecg_strip_action.toggled.connect(self._on_signal_views_toggled)
        self.respiration_action.toggled.connect(self._on_signal_views_toggled)
        view_menu.addAction(self.ecg_strip_action)
        view_menu.addAction(self.respiration_action)
        self.view_menu = view_menu

    def _on_signal_views_toggled(self, _checked: bool) -> None:
        ecg, respiration = self.ecg_strip_action.isChecked(), self.respiration_action.isChecked()
        self.preferences.signal_views(ecg, respiration)
        if self.signal_strip is not None:
            self.signal_strip.set_wanted(ecg, respiration)
            self._request_frame()

    def _strip_for(self, vm: SessionViewModel) -> SignalStrip | None:
        """The signal strip, built the first time a session has ECG or ACC to show."""
        if self.signal_strip is None and (vm.signals.has_ecg or vm.signals.has_acc):
            from biofeedback.ui.signal_strip import SignalStrip

            strip = SignalStrip()
            strip.set_wanted(self.settings.show_ecg_strip, self.settings.show_respiration)
            # Between the values and the plots: the plots keep the stretch.
            self._physiology_column.insertWidget(1, strip)
            self.signal_strip = strip
        return self.signal_strip

    @property
    def feedback_covered(self) -> bool:
        """The physiology is covered now (a hidden-feedback phase on a shared window)."""
        return self.physiology_stack.currentWidget() is self.feedback_cover

    def apply_feedback_visibility(self) -> None:
        """Cover the physiology, or uncover it, as
        :func:`~biofeedback.viewmodels.guidance.feedback_visible` decides for the running phase."""
        # The session the guidance follows (none once it ended, whatever phase it was in).
        ps = self.guidance.protocol_session
        phase = None if ps is None or ps.runner.finished else ps.runner.current_phase
        screen_open = self.participant_screen is not None
        # The peek key is watched only while it would lift the cover.
        self.peek_key.set_active(not feedback_visible(phase, screen_open, False))
        visible = feedback_visible(phase, screen_open, self.peek_key.held)
        if visible and self.feedback_covered:
            self._request_frame()  # what is uncovered is drawn up to now
        self.physiology_stack.setCurrentIndex(0 if visible else 1)

    def open_participant_screen(self, display: int | None = None) -> ParticipantScreen:
        """Open the participant screen full screen on ``display`` (numbered from 1; None: the
        first display that is not this window's, or the only one), or move it there.

        Raises
        ------
        DisplayNotFoundError
            There is no display ``display`` (the message names those there are).
        """
        screens = QGuiApplication.screens()
        own = self.screen()
        operator_index = next((i for i, s in enumerate(screens) if s is own), None)
        index = choose_participant_display(
            [s.name() for s in screens], display, operator_index
        )
        screen = self.participant_screen
        if screen is None:
            screen = ParticipantScreen()
            screen.progress_changed.connect(self.guidance.set_mirror_text)
            self.participant_screen = screen
            self._follow_in_participant_screen()
        self.participant_display = index
        screen.show_on(screens[index])
        self.guidance.set_participant_screen_open(True)
        self.guidance.set_mirror_text(screen.progress)
        self._set_participant_action(True)
        self.apply_feedback_visibility()
        self._mark_participant_screen(PARTICIPANT_SCREEN_OPENED)
        self.show_message(
            f"Participant screen on display {index + 1} ({screens[index].name() or 'unnamed'})"
        )
        return screen

    def close_participant_screen(self) -> None:
        """Close the participant screen (the answers are taken in this window again)."""
        screen = self.participant_screen
        if screen is None:
            return
        self.participant_screen = None
        screen.close_screen()
        screen.deleteLater()
        self.guidance.set_participant_screen_open(False)
        self._set_participant_action(False)
        self.apply_feedback_visibility()
        self._mark_participant_screen(PARTICIPANT_SCREEN_CLOSED)

    def _mark_participant_screen(self, label: str) -> None:
        """Record in the running session that the participant screen opened or closed (the
        report's methods say how the guidance was delivered)."""
        if self.current is None or self._marked_screen == (label, self.participant_display):
            return
        ps = self.current.protocol_session
        if ps is not None and not ps.runner.started:
            # Any session event would start the protocol: wait until the source streams.
            self._screen_mark_pending = label
            return
        self._screen_mark_pending = None
        self._marked_screen = (label, self.participant_display)
        extra = ({"display": self.participant_display + 1}
                 if label == PARTICIPANT_SCREEN_OPENED and self.participant_display is not None
                 else None)
        self.current.session.add_marker(label, kind=MarkerKind.PROTOCOL, extra=extra)

    def _on_participant_screen_toggled(self, checked: bool) -> None:
        if checked == (self.participant_screen is not None):
            return  # the action follows a change made elsewhere
        if not checked:
            self.close_participant_screen()
            return
        try:
            self.open_participant_screen()
        except BiofeedbackError as exc:
            self._set_participant_action(False)
            self.show_message(f"Could not open the participant screen: {exc}")

    def _set_participant_action(self, checked: bool) -> None:
        action = self.participant_screen_action
        blocked = action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(blocked)

    def _follow_in_participant_screen(self) -> None:
        """Let the participant screen follow what the guidance panel follows."""
        screen = self.participant_screen
        if screen is None:
            return
        ps = self.guidance.protocol_session
        if ps is not None:
            screen.attach(ps, self.guidance.clock)
        elif self.current is not None and self.guidance.free_practice_start_s is not None:
            self._mirror_free_practice()
        else:
            screen.detach()

    def _mirror_free_practice(self) -> None:
        """A free-practice session: the participant follows the same pacer (an idle window's
        pacer is the operator's; the participant screen says "please wait" then)."""
        screen = self.participant_screen
        if (screen is not None and self.current is not None
                and self.guidance.free_practice_start_s is not None):
            # The guidance's own pacer: its rhythm restarts when the operator changes the rate.
            pacer = self.guidance.pacer
            screen.follow_free_practice(pacer.settings, pacer.clock, pacer.start_s)

    def _attach_participant_screen(self, prepared: PreparedSession) -> None:
        """A session started: the participant screen follows it; a protocol meant for one
        opens it when there is a second display."""
        self._marked_screen = None  # a new session: its own markers
        self._screen_mark_pending = None
        protocol = prepared.protocol
        if (
            prepared.protocol_session is not None and protocol is not None
            and protocol.participant_screen and self.participant_screen is None
            and self.view_model is not None and self.view_model.practice_along
        ):
            screens = QGuiApplication.screens()
            if len(screens) > 1:
                self.open_participant_screen()
            else:
                # Short: it shares the status bar with the status line.
                self.show_message(
                    "This protocol expects a participant screen, but there is one display "
                    f"only (hold {PEEK_KEY_NAME} to see hidden feedback)"
                )
        if self.participant_screen is not None:  # opened before the session, or just now
            self._mark_participant_screen(PARTICIPANT_SCREEN_OPENED)
        self._follow_in_participant_screen()
        self.apply_feedback_visibility()

    def _detach_participant_screen(self) -> None:
        """The session ended: "the session is over" after a protocol, else "please wait"."""
        if self.participant_screen is not None:
            self.participant_screen.detach()
        self.apply_feedback_visibility()

    # -- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Closing mid-session finishes the recording first, then closes."""
        if self.running:
            self._close_requested = True
            self.show_message("Finishing the recording before closing…")
            self.stop_session()
            if self.current is None and self._task is not None:
                self._task.cancel()  # still setting up: nothing recorded yet
            event.ignore()
            return
        self.close_participant_screen()
        self.browser.stop_worker()
        self.browser.cancel_import()
        self.comparison.cancel()
        self.source_panel.store_into_settings()
        self.save_settings()
        event.accept()
        self.closed.emit()

    def current_session_info(self) -> dict[str, Any]:
        """What the window shows about the running session (for scripts and tests)."""
        return {
            "running": self.running,
            "session_id": None if self.current is None else self.current.session.session_id,
            "status": self.status.text(),
            "error": self.last_error,
        }


def _prepare_session(request: SessionRequest, data_dir: Path, neurokit: bool) -> PreparedSession:
    """Set a session up in a worker thread (the session modules are imported there too, so
    the window is on screen before they load)."""
    from biofeedback.session.launch import prepare_session

    _import_session_views()
    return prepare_session(request, data_dir, neurokit=neurokit, settings={"app": "window"},
                           speech_optional=True)


def _import_session_views() -> None:
    """Import, on the set-up thread, what the GUI thread imports when the session is attached
    (its view-model) and when its first ECG or accelerometer chunk arrives (the signal strip).

    Compiling and running them on the GUI thread took it 60-140 ms at the session's start
    (``benchmarks/pacer_frames.py --sample-stalls-ms``), frames the pacer dropped. The GUI
    thread needs them only after this thread is done (``_attach``), so it never waits for
    this import; none of them imports scipy (``tests/ui/test_window_imports.py``).
    """
    importlib.import_module("biofeedback.viewmodels.session_view")
    # pyqtgraph, if the plots are not built yet, is the GUI thread's to import.
    if "pyqtgraph" in sys.modules:
        importlib.import_module("biofeedback.ui.signal_strip")
