"""The animated breathing pacer: a ball that fills on the in-breath and empties on the out-breath.

The widget draws :func:`biofeedback.viewmodels.pacer.pacer_state` at the time its clock gives,
so the animation never drifts from the protocol: the clock is the session (or protocol) clock, and a
replay at 10x or a paused protocol moves the ball exactly as the runner's ``PacerStage`` events.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHideEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QRadialGradient,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biofeedback.viewmodels.pacer import (
    PacerSettingsError,
    PacerState,
    describe_pacer,
    free_practice_pacer,
    pacer_state,
)
from protocols.model import PacerSettings

__all__ = ["PacerCanvas", "PacerWidget"]

FRAME_INTERVAL_MS = 16
"""Animation frame interval, ms (about 60 frames/s on a precise timer, so the ball moves
evenly). The audio guidance is fed from its own thread (ui/audio_feed.py): these frames do not
hold its sink up (at 40 frames/s they did, when it was fed on the GUI thread)."""

_STAGE_COLOURS = {
    "inhale": QColor("#2a9d8f"),
    "hold_in": QColor("#6d8fa8"),
    "exhale": QColor("#4f6db8"),
    "hold_out": QColor("#6d8fa8"),
}
_GUIDE = QColor("#9aa5b1")
_TEXT = QColor("#1d2b36")
_MIN_RADIUS_SHARE = 0.32
"""Radius of the empty ball as a share of the full one (an empty ball stays visible)."""


class PacerCanvas(QWidget):
    """The drawing: guide circles, the ball, a ring for the stage and the words.

    Draws the state of :meth:`set_state`; it has no timer of its own.

    Signals
    -------
    painted()
        A frame was painted (emitted at the end of the paint, inside it).
    """

    painted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state: PacerState | None = None
        self._caption = ""
        self._sprites = _Sprites()
        self.setMinimumSize(180, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """Preferred size, px."""
        return QSize(260, 260)

    def set_state(self, state: PacerState | None, caption: str = "") -> None:
        """Draw ``state`` (None: nothing) with ``caption`` (rate line) under the ball."""
        self._state = state
        self._caption = caption
        self.update()

    @property
    def state(self) -> PacerState | None:
        """The state drawn."""
        return self._state

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        """Draw the pacer."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        state = self._state
        if state is None:
            painter.end()
            return
        rect = QRectF(self.rect())
        caption_h = min(26.0, max(18.0, rect.height() * 0.09))
        area = rect.adjusted(6, 6, -6, -caption_h - 6)
        centre = area.center()
        ring_width = max(4.0, min(area.width(), area.height()) * 0.035)
        full = max(10.0, min(area.width(), area.height()) / 2.0 - ring_width * 1.5)
        empty = full * _MIN_RADIUS_SHARE
        radius = empty + (full - empty) * state.volume
        colour = _STAGE_COLOURS[state.stage]
        # the dashed guides and the ring's track only change with the size: one pixmap
        painter.drawPixmap(0, 0, self._sprites.guides(self, centre, full, empty, ring_width))
        self._sprites.draw_ball(painter, self, centre, radius, full, colour)
        _draw_ring(painter, centre, full + ring_width, ring_width, colour, state.fraction)
        self._draw_words(painter, state, centre, full)
        if self._caption:
            self._draw_caption(painter, rect, caption_h)
        painter.end()
        self.painted.emit()

    def _draw_words(
        self, painter: QPainter, state: PacerState, centre: QPointF, full: float
    ) -> None:
        """The stage's words and its seconds left, on the ball (sized by its full radius)."""
        # Dark words with a white halo: readable on the ball and beside it at any size.
        words_font = QFont(self.font())
        words_font.setPixelSize(int(min(30.0, max(12.0, full * 0.2))))
        words_font.setBold(True)
        sprites = self._sprites
        sprites.draw_outlined(painter, self, words_font, state.words, centre.x(),
                              centre.y() - 4.0)
        secs_font = QFont(self.font())
        secs_font.setPixelSize(int(min(20.0, max(11.0, full * 0.13))))
        seconds = f"{math.ceil(state.remaining_s - 1e-6):d} s"
        sprites.draw_outlined(painter, self, secs_font, seconds, centre.x(),
                              centre.y() + 4.0 + QFontMetricsF(secs_font).ascent())

    def _draw_caption(self, painter: QPainter, rect: QRectF, caption_h: float) -> None:
        """The caption in a strip ``caption_h`` px high at the bottom of ``rect``."""
        caption_font = QFont(self.font())
        caption_font.setPixelSize(int(min(16.0, max(11.0, caption_h * 0.7))))
        painter.setFont(caption_font)
        painter.setPen(_TEXT)
        caption_rect = QRectF(rect.left(), rect.bottom() - caption_h - 2, rect.width(),
                              caption_h)
        painter.drawText(caption_rect, Qt.AlignmentFlag.AlignCenter, self._caption)


class _Sprites:
    """What a pacer frame draws unchanged from the last: the guides and the words, as
    pixmaps (antialiased dashed circles and outlined text cost a few ms a frame to draw)."""

    _MAX_WORDS = 64

    def __init__(self) -> None:
        self._guides_key: tuple[object, ...] | None = None
        self._guides = QPixmap()
        self._words: dict[tuple[object, ...], tuple[QPixmap, QPointF]] = {}
        self._balls: dict[tuple[object, ...], QPixmap] = {}

    def guides(
        self, widget: QWidget, centre: QPointF, full: float, empty: float, ring_width: float
    ) -> QPixmap:
        """The full and empty guides and the ring's track, as a pixmap of the widget's size."""
        ratio = widget.devicePixelRatioF()
        key = (widget.width(), widget.height(), ratio, full, empty, ring_width)
        if key != self._guides_key:
            pixmap = QPixmap(round(widget.width() * ratio), round(widget.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            _draw_guides(painter, centre, full, empty)
            _draw_track(painter, centre, full + ring_width, ring_width)
            painter.end()
            self._guides_key, self._guides = key, pixmap
        return self._guides

    def draw_ball(
        self, painter: QPainter, widget: QWidget, centre: QPointF, radius: float, full: float,
        colour: QColor,
    ) -> None:
        """The ball of ``radius`` px: the stage's full-size ball (radius ``full`` px), drawn
        once per colour and size, scaled down (its gradient scales with it)."""
        ratio = widget.devicePixelRatioF()
        key = (colour.rgba(), full, ratio)
        ball = self._balls.get(key)
        if ball is None:
            if len(self._balls) >= len(_STAGE_COLOURS) * 2:
                self._balls.clear()
            side = math.ceil(2.0 * full) + 2
            ball = QPixmap(round(side * ratio), round(side * ratio))
            ball.setDevicePixelRatio(ratio)
            ball.fill(Qt.GlobalColor.transparent)
            ball_painter = QPainter(ball)
            ball_painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            _draw_ball(ball_painter, QPointF(side / 2.0, side / 2.0), full, colour)
            ball_painter.end()
            self._balls[key] = ball
        extent = ball.width() / ratio * radius / full
        target = QRectF(centre.x() - extent / 2.0, centre.y() - extent / 2.0, extent, extent)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target, ball, QRectF(ball.rect()))
        painter.restore()

    def draw_outlined(
        self, painter: QPainter, widget: QWidget, font: QFont, text: str, centre_x: float,
        baseline_y: float,
    ) -> None:
        """Draw ``text`` centred on ``centre_x`` (px) on ``baseline_y`` (px), dark with a
        white outline, from a pixmap made the first time (per text, font and sub-pixel
        position)."""
        ratio = widget.devicePixelRatioF()
        # the sub-pixel position is part of the key: the pixmap lands where the text would
        x, y = centre_x - QFontMetricsF(font).horizontalAdvance(text) / 2.0, baseline_y
        fx, fy = x - math.floor(x), y - math.floor(y)
        key = (text, font.key(), ratio, round(fx, 2), round(fy, 2))
        sprite = self._words.get(key)
        if sprite is None:
            if len(self._words) >= self._MAX_WORDS:
                self._words.clear()
            sprite = _outlined_sprite(font, text, ratio, fx, fy)
            self._words[key] = sprite
        pixmap, offset = sprite
        painter.drawPixmap(QPointF(math.floor(x) + offset.x(), math.floor(y) + offset.y()),
                           pixmap)


def _outlined_sprite(
    font: QFont, text: str, ratio: float, fx: float, fy: float
) -> tuple[QPixmap, QPointF]:
    """Outlined ``text`` with its origin at (``fx``, ``fy``) px; the pixmap and where its
    top left corner lies from the text's whole-pixel origin, px."""
    path = QPainterPath()
    path.addText(QPointF(fx, fy), font, text)
    pad = max(2.0, font.pixelSize() / 6.0)
    bounds = path.boundingRect().adjusted(-pad, -pad, pad, pad)
    left, top = math.floor(bounds.left()), math.floor(bounds.top())
    width = math.ceil(bounds.right()) - left
    height = math.ceil(bounds.bottom()) - top
    pixmap = QPixmap(max(1, round(width * ratio)), max(1, round(height * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(-left, -top)
    _draw_outlined_path(painter, font, path)
    painter.end()
    return pixmap, QPointF(left, top)


def _draw_guides(painter: QPainter, centre: QPointF, full: float, empty: float) -> None:
    """Where the ball stops at the top and at the bottom of the breath (radii in px)."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(_GUIDE, 1.2, Qt.PenStyle.DashLine))
    painter.drawEllipse(centre, full, full)
    painter.drawEllipse(centre, empty, empty)


def _draw_ball(painter: QPainter, centre: QPointF, radius: float, colour: QColor) -> None:
    """The breathing ball of ``radius`` px."""
    gradient = QRadialGradient(centre, radius)
    gradient.setColorAt(0.0, colour.lighter(150))
    gradient.setColorAt(1.0, colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(gradient)
    painter.drawEllipse(centre, radius, radius)


def _draw_ring(
    painter: QPainter, centre: QPointF, ring_r: float, ring_width: float, colour: QColor,
    fraction: float,
) -> None:
    """The ring of radius ``ring_r`` px around the ball, ``fraction`` of it drawn (over its
    track, :func:`_draw_track`)."""
    # The ring shows how much of the stage is done, clockwise from the top.
    ring = QRectF(centre.x() - ring_r, centre.y() - ring_r, 2 * ring_r, 2 * ring_r)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    pen = QPen(colour.darker(110), ring_width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    span = -round(fraction * 360 * 16)
    if span:
        painter.drawArc(ring, 90 * 16, span)


def _draw_track(painter: QPainter, centre: QPointF, ring_r: float, ring_width: float) -> None:
    """The faint full circle the stage's ring is drawn on (radius and width in px)."""
    ring = QRectF(centre.x() - ring_r, centre.y() - ring_r, 2 * ring_r, 2 * ring_r)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    track = QColor(_GUIDE)
    track.setAlpha(70)
    painter.setPen(QPen(track, ring_width))
    painter.drawEllipse(ring)


def _draw_outlined_path(painter: QPainter, font: QFont, path: QPainterPath) -> None:
    """Fill the text ``path`` (set in ``font``) dark with a white outline."""
    halo = QPen(QColor(255, 255, 255, 220), max(2.0, font.pixelSize() / 6.0))
    halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.strokePath(path, halo)
    painter.fillPath(path, _TEXT)


class PacerWidget(QWidget):
    """Animated breathing pacer with optional free-practice controls.

    Parameters
    ----------
    parent : QWidget, optional
        Parent widget.
    controls : bool
        Show the rate (breaths/min) and inhale:exhale controls (free practice).

    Signals
    -------
    pacer_changed(float, float)
        The user changed the rate (breaths/min) or the inhale:exhale ratio (inhale/exhale);
        the pacer is already updated, the window persists the values.

    Notes
    -----
    The animation phase is ``clock() - start_s`` (s), read at every frame: with the session
    clock the ball follows the protocol at any speed. Frames are drawn by a timer that only
    runs while the widget is visible and a pacer is set.
    """

    pacer_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None, *, controls: bool = False) -> None:
        super().__init__(parent)
        self._settings: PacerSettings | None = None
        self._start_s = 0.0
        t0 = time.monotonic()
        self._clock: Callable[[], float] = lambda: time.monotonic() - t0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        # a coarse timer may fire up to 5 % late: the ball would move unevenly
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._frame)

        self.canvas = PacerCanvas(self)
        self.rate_spin = QDoubleSpinBox(self)
        self.rate_spin.setRange(2.0, 30.0)
        self.rate_spin.setSingleStep(0.5)
        self.rate_spin.setDecimals(1)
        self.rate_spin.setSuffix(" /min")
        self.rate_spin.setValue(6.0)
        self.rate_spin.setToolTip("Breathing rate, breaths per minute (resonance: about 6)")
        self.exhale_spin = QDoubleSpinBox(self)
        self.exhale_spin.setRange(0.5, 3.0)
        self.exhale_spin.setSingleStep(0.1)
        self.exhale_spin.setDecimals(1)
        self.exhale_spin.setPrefix("1 : ")
        self.exhale_spin.setValue(1.5)
        self.exhale_spin.setToolTip("Inhale : exhale (1 : 1.5 = breathing out 1.5 times as long)")
        self.problem_label = QLabel(self)
        self.problem_label.setStyleSheet("color: #b00020;")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()

        self.controls = QWidget(self)
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Rate", self.controls))
        row.addWidget(self.rate_spin)
        row.addSpacing(12)
        row.addWidget(QLabel("In : out", self.controls))
        row.addWidget(self.exhale_spin)
        row.addStretch(1)
        self.controls.setVisible(controls)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.controls)
        layout.addWidget(self.problem_label)

        self.rate_spin.valueChanged.connect(self._on_controls)
        self.exhale_spin.valueChanged.connect(self._on_controls)

    # -- model -----------------------------------------------------------------------------

    @property
    def settings(self) -> PacerSettings | None:
        """The pacer shown (None: no pacer)."""
        return self._settings

    def set_pacer(self, settings: PacerSettings | None, start_s: float = 0.0) -> None:
        """Show ``settings`` with its first inhale at clock time ``start_s`` (s); None hides
        the pacer and stops the animation."""
        self._settings = settings
        self._start_s = float(start_s)
        if settings is not None:
            self._show_in_controls(settings)
        self._update_timer()
        self._frame()

    @property
    def start_s(self) -> float:
        """Clock time of the first inhale of the rhythm shown, s (a free-practice change of
        rate restarts the rhythm)."""
        return self._start_s

    @property
    def clock(self) -> Callable[[], float]:
        """The clock the animation follows (s)."""
        return self._clock

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Take the animation time from ``clock()`` (s; the session or protocol clock)."""
        self._clock = clock
        self._frame()

    def now_s(self) -> float:
        """The clock's time now, s."""
        return self._clock()

    def set_controls_visible(self, visible: bool) -> None:
        """Show or hide the free-practice rate and inhale:exhale controls."""
        self.controls.setVisible(visible)

    def state_at(self, t_s: float) -> PacerState | None:
        """The pacer's state at clock time ``t_s`` (s), None without a pacer."""
        if self._settings is None:
            return None
        return pacer_state(self._settings, t_s - self._start_s)

    def paint_at(self, t_s: float) -> PacerState | None:
        """Draw the pacer as it is at clock time ``t_s`` (s), for tests and screenshots; the
        next animation frame follows the clock again."""
        state = self.state_at(t_s)
        caption = "" if self._settings is None else describe_pacer(self._settings)
        self.canvas.set_state(state, caption)
        self.canvas.repaint()
        return state

    @property
    def animating(self) -> bool:
        """Whether the frame timer runs."""
        return self._timer.isActive()

    # -- Qt --------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        """Start animating when shown."""
        super().showEvent(event)
        self._update_timer()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        """Stop animating when hidden (no frames for nobody)."""
        super().hideEvent(event)
        self._update_timer()

    # -- internals -------------------------------------------------------------------------

    def _update_timer(self) -> None:
        if self._settings is not None and self.isVisible():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def _frame(self) -> None:
        state = None if self._settings is None else self.state_at(self._clock())
        caption = "" if self._settings is None else describe_pacer(self._settings)
        self.canvas.set_state(state, caption)

    def _show_in_controls(self, settings: PacerSettings) -> None:
        for spin, value in (
            (self.rate_spin, settings.breaths_per_min),
            (self.exhale_spin, 1.0 / settings.inhale_exhale_ratio),
        ):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)

    def _on_controls(self) -> None:
        rate = float(self.rate_spin.value())
        ratio = 1.0 / float(self.exhale_spin.value())
        try:
            settings = free_practice_pacer(
                rate,
                ratio,
                0.0 if self._settings is None else self._settings.hold_after_inhale_s,
                0.0 if self._settings is None else self._settings.hold_after_exhale_s,
            )
        except PacerSettingsError as exc:
            self.problem_label.setText(str(exc))
            self.problem_label.show()
            return
        self.problem_label.hide()
        # Keep the breath in step: restart the new rhythm at the next frame's time so the
        # ball does not jump mid-breath more than it must.
        self._settings = settings
        self._start_s = self._clock()
        self._update_timer()
        self._frame()
        self.pacer_changed.emit(rate, ratio)

