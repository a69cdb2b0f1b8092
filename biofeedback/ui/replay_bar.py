"""Replay controls: play/pause, speed (1x, 2x, 10x, max) and a seekable timeline.

The bar drives a seekable source (:class:`~biofeedback.core.source.SeekableSource`, e.g.
a replay) directly (pause, resume, set_speed, seek) and tells the window what it did
through signals; it draws nothing about the session itself. The window reports the replay
position a few times per second with :meth:`ReplayBar.set_position`, which never moves the
handle while the user drags it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from biofeedback.core.formatting import format_clock
from biofeedback.core.source import SeekableSource

__all__ = ["SPEEDS", "ReplayBar", "format_hms"]

SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("1×", 1.0),
    ("2×", 2.0),
    ("10×", 10.0),
    ("max", None),
)
"""Speed buttons: label and multiple of real time (None = as fast as the pipeline goes)."""

_MS_PER_S = 1000


def format_hms(seconds: float) -> str:
    """Format a duration or session time as ``h:mm:ss``.

    Parameters
    ----------
    seconds : float
        Time, s (negative and non-finite values show as ``0:00:00``).

    Returns
    -------
    str
        E.g. ``3725.4`` -> ``"1:02:05"``, ``59.6`` -> ``"0:01:00"``.
    """
    return format_clock(seconds, hours=True)


class _TimelineSlider(QSlider):
    """A horizontal slider whose groove jumps to the clicked time (instead of paging), then
    drags from there, as media players do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            option = QStyleOptionSlider()
            self.initStyleOption(option)
            handle = self.style().subControlRect(
                QStyle.ComplexControl.CC_Slider, option,
                QStyle.SubControl.SC_SliderHandle, self,
            )
            position = event.position().toPoint()
            if not handle.contains(position):
                groove = self.style().subControlRect(
                    QStyle.ComplexControl.CC_Slider, option,
                    QStyle.SubControl.SC_SliderGroove, self,
                )
                half_handle = handle.width() // 2
                value = QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(),
                    position.x() - groove.x() - half_handle,
                    max(1, groove.width() - handle.width()),
                    self.invertedAppearance(),
                )
                # Emits valueChanged while not dragging: the bar seeks there at once.
                self.setValue(value)
        super().mousePressEvent(event)


class ReplayBar(QWidget):
    """Play/pause, speed buttons and a seekable timeline for a replay.

    Parameters
    ----------
    parent : QWidget, optional
        Parent widget.

    Signals
    -------
    seek_requested(float)
        Session time the replay jumped to, s; emitted after ``source.seek`` was called, so
        the window can truncate its plots there.
    speed_changed(object)
        New speed: multiple of real time (float), or None for maximum speed.
    paused_changed(bool)
        True when playback was paused from the bar, False when it was resumed.

    Notes
    -----
    Space toggles play/pause while the bar (or its timeline) has keyboard focus; the buttons
    take no focus, so Space never "clicks" a speed button by accident.
    """

    seek_requested = Signal(float)
    speed_changed = Signal(object)
    paused_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source: SeekableSource | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.play_button = QToolButton(self)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.setMinimumWidth(84)
        self.play_button.clicked.connect(self.toggle_play)

        self.speed_buttons: dict[float | None, QToolButton] = {}
        self._speed_group = QButtonGroup(self)
        self._speed_group.setExclusive(True)
        for label, speed in SPEEDS:
            button = QToolButton(self)
            button.setText(label)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumWidth(40)
            button.setStyleSheet("QToolButton:checked { font-weight: bold; }")
            button.setToolTip(
                "As fast as the pipeline goes" if speed is None else f"{label} real time"
            )
            button.clicked.connect(lambda _checked=False, s=speed: self.set_speed(s))
            self._speed_group.addButton(button)
            self.speed_buttons[speed] = button

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.elapsed_label = QLabel(format_hms(0.0), self)
        self.total_label = QLabel(format_hms(0.0), self)
        for time_label in (self.elapsed_label, self.total_label):
            time_label.setFont(fixed)
        self.elapsed_label.setToolTip("Replay position (h:mm:ss)")
        self.total_label.setToolTip("Length of the recording (h:mm:ss)")

        self.slider = _TimelineSlider(self)
        self.slider.setRange(0, 0)
        self.slider.setTracking(True)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.setToolTip("Drag or click to jump; Space plays or pauses")
        self._dragged = False
        self.slider.valueChanged.connect(self._on_slider_value)
        self.slider.sliderPressed.connect(self._on_slider_pressed)
        self.slider.sliderMoved.connect(self._on_slider_moved)
        self.slider.sliderReleased.connect(self._on_slider_released)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(6)
        layout.addWidget(self.play_button)
        for button in self.speed_buttons.values():
            layout.addWidget(button)
        layout.addSpacing(8)
        layout.addWidget(self.elapsed_label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.total_label)
        self._sync_controls()

    # -- attaching -------------------------------------------------------------------------

    @property
    def source(self) -> SeekableSource | None:
        """The replay being controlled, or None."""
        return self._source

    def attach(self, source: SeekableSource) -> None:
        """Control ``source``: its length sets the timeline, its speed and pause state the
        buttons.

        Parameters
        ----------
        source : SeekableSource
            A replay, started or not.
        """
        self._source = source
        duration_ms = max(0, round(source.duration_s * _MS_PER_S))
        self.slider.blockSignals(True)
        self.slider.setRange(0, duration_ms)
        self.slider.setPageStep(max(1, duration_ms // 20))
        self.slider.setSingleStep(5 * _MS_PER_S)
        self.slider.blockSignals(False)
        self.total_label.setText(format_hms(source.duration_s))
        self._sync_controls()
        self.set_position(source.session_time_s())

    def detach(self) -> None:
        """Stop controlling the replay (it goes on running) and disable the controls."""
        self._source = None
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.elapsed_label.setText(format_hms(0.0))
        self.total_label.setText(format_hms(0.0))
        self._sync_controls()

    # -- what the window calls -------------------------------------------------------------

    def set_position(self, t_s: float) -> None:
        """Show the replay at session time ``t_s`` (s).

        Called a few times per second by the window. While the user holds the timeline
        handle, neither the handle nor the time label move: the drag wins.
        """
        self._sync_play_button()
        if self._source is None or self.slider.isSliderDown():
            return
        t_s = min(max(float(t_s), 0.0), self._source.duration_s)
        self.slider.blockSignals(True)
        self.slider.setValue(round(t_s * _MS_PER_S))
        self.slider.blockSignals(False)
        self.elapsed_label.setText(format_hms(t_s))

    # -- controls --------------------------------------------------------------------------

    def toggle_play(self) -> None:
        """Pause a playing replay, resume a paused one."""
        source = self._source
        if source is None:
            return
        if source.paused:
            source.resume()
        else:
            source.pause()
        self._sync_play_button()
        self.paused_changed.emit(source.paused)

    def set_speed(self, speed: float | None) -> None:
        """Play at ``speed`` x real time (None = maximum) and check its button.

        Parameters
        ----------
        speed : float or None
            Multiple of real time; None for as fast as the pipeline goes.
        """
        if self._source is None:
            return
        self._source.set_speed(speed)
        self._check_speed_button(self._source.speed)
        self.speed_changed.emit(self._source.speed)

    def seek(self, t_s: float) -> None:
        """Jump the replay to session time ``t_s`` (s, clamped to the recording), then emit
        :attr:`seek_requested` with the clamped time."""
        source = self._source
        if source is None:
            return
        target = min(max(float(t_s), 0.0), source.duration_s)
        source.seek(target)
        self.elapsed_label.setText(format_hms(target))
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(round(target * _MS_PER_S))
            self.slider.blockSignals(False)
        self.seek_requested.emit(target)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Space toggles play/pause; other keys go to Qt."""
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- slider ----------------------------------------------------------------------------

    def _on_slider_value(self, value: int) -> None:
        # Clicks on the groove and arrow keys seek at once; a drag seeks on release only, so
        # the pipeline is not restarted for every pixel.
        if not self.slider.isSliderDown():
            self.seek(value / _MS_PER_S)

    def _on_slider_pressed(self) -> None:
        self._dragged = False

    def _on_slider_moved(self, value: int) -> None:
        self._dragged = True
        self.elapsed_label.setText(format_hms(value / _MS_PER_S))

    def _on_slider_released(self) -> None:
        # A press that did not move the handle (a click on the groove already jumped, or a
        # click on the handle itself) must not restart the segment a second time.
        if self._dragged:
            self._dragged = False
            self.seek(self.slider.value() / _MS_PER_S)

    # -- state -----------------------------------------------------------------------------

    def _sync_controls(self) -> None:
        source = self._source
        for widget in (self.play_button, self.slider, *self.speed_buttons.values()):
            widget.setEnabled(source is not None)
        self._sync_play_button()
        self._check_speed_button(source.speed if source is not None else 1.0)

    def _sync_play_button(self) -> None:
        paused = self._source is not None and self._source.paused
        icon = (
            QStyle.StandardPixmap.SP_MediaPlay if paused or self._source is None
            else QStyle.StandardPixmap.SP_MediaPause
        )
        text = "Play" if paused or self._source is None else "Pause"
        if self.play_button.text() != text:
            self.play_button.setText(text)
            self.play_button.setIcon(self.style().standardIcon(icon))
            self.play_button.setToolTip(f"{text} (Space)")

    def _check_speed_button(self, speed: float | None) -> None:
        button = self.speed_buttons.get(speed)
        if button is not None:
            button.setChecked(True)
            return
        # A speed without a button (e.g. --speed 20): no button is checked.
        self._speed_group.setExclusive(False)
        for other in self.speed_buttons.values():
            other.setChecked(False)
        self._speed_group.setExclusive(True)
