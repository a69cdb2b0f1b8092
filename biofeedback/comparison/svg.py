"""Small inline-SVG charts for the self-contained HTML reports (no plotting library).

Every function returns one ``<svg>`` element as a string: text is escaped with
:func:`html.escape`, numbers are written with fixed precision, and nothing refers to an
external resource (no fonts, scripts or images), so the report opens anywhere, offline.

Missing values (None or non-finite) are never drawn as zero: a line breaks at them and a
point or interval without a value is left out (and said so in the chart's caption by the
caller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TypeGuard

__all__ = [
    "PALETTE",
    "CIPoint",
    "PairedValues",
    "Series",
    "Span",
    "ci_chart",
    "line_chart",
    "nice_ticks",
    "paired_chart",
]

PALETTE: tuple[str, ...] = ("#1f5fa8", "#c4511f", "#2a8a4a", "#7a3fa0", "#8a6d1f", "#b8326e")
"""Line colours, distinguishable in print and for the common colour-vision deficiencies."""

_SPAN_FILLS: tuple[str, ...] = ("#e8eef7", "#f7ece4", "#e6f2e9", "#f0e8f5", "#f5f0df")

_FONT = "font-family:sans-serif;font-size:11px"


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a line chart.

    Attributes
    ----------
    name : str
        Legend label.
    x, y : sequence of float or None
        Coordinates; a None (or non-finite) y breaks the line.
    color : str, optional
        CSS colour; default: taken from :data:`PALETTE` in order.
    """

    name: str
    x: Sequence[float]
    y: Sequence[float | None]
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A shaded, named stretch of the x axis (a protocol phase).

    Attributes
    ----------
    start, end : float
        Bounds in x units.
    label : str
        Name written at the top of the span.
    """

    start: float
    end: float
    label: str


@dataclass(frozen=True, slots=True)
class CIPoint:
    """An estimate with its confidence interval (one row of a forest plot).

    Attributes
    ----------
    label : str
        Row label.
    estimate, low, high : float or None
        Point estimate and interval bounds; a missing bound draws an open-ended interval
        marked with an arrow-free tick at the estimate only.
    """

    label: str
    estimate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class PairedValues:
    """One participant's two values, joined by a line.

    Attributes
    ----------
    label : str
        Participant identifier.
    a, b : float or None
        The values of the two conditions (None: missing, drawn as a lone point or not at all).
    """

    label: str
    a: float | None
    b: float | None


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def _f(value: float) -> str:
    """A coordinate with 0.1-px precision."""
    return f"{value:.1f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Data range (``low == high`` is widened).
    count : int
        About how many ticks.

    Returns
    -------
    list of float
        Ticks ``k * step`` with ``step`` 1, 2 or 5 times a power of ten, from the first at or
        below ``low`` to the first at or above ``high``.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high - low < 1e-12:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [k * step for k in range(first, last + 1)]


def _tick_label(value: float, step: float) -> str:
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{value:.{digits}f}"
    return "0" if text.strip("-0.") == "" else text


class _Frame:
    """Linear mapping from data to pixel coordinates, with axes drawn around the plot area."""

    def __init__(self, width: int, height: int, x_ticks: list[float], y_ticks: list[float],
                 *, left: int = 56, right: int = 12, top: int = 22, bottom: int = 38) -> None:
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.x_ticks, self.y_ticks = x_ticks, y_ticks
        self.x0, self.x1 = x_ticks[0], x_ticks[-1]
        self.y0, self.y1 = y_ticks[0], y_ticks[-1]

    def px(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (x - self.x0) / span * (self.width - self.left - self.right)

    def py(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - self.bottom - (y - self.y0) / span * (
            self.height - self.top - self.bottom)

    def axes(self, x_label: str, y_label: str, *, x_tick_text: bool = True) -> list[str]:
        out = []
        xs = self.x_ticks[1] - self.x_ticks[0] if len(self.x_ticks) > 1 else 1.0
        ys = self.y_ticks[1] - self.y_ticks[0] if len(self.y_ticks) > 1 else 1.0
        for y in self.y_ticks:
            p = self.py(y)
            out.append(f'<line x1="{_f(self.left)}" y1="{_f(p)}" '
                       f'x2="{_f(self.width - self.right)}" y2="{_f(p)}" stroke="#ddd"/>')
            out.append(f'<text x="{_f(self.left - 4)}" y="{_f(p + 4)}" text-anchor="end">'
                       f"{escape(_tick_label(y, ys))}</text>")
        base = self.height - self.bottom
        for x in self.x_ticks:
            p = self.px(x)
            out.append(f'<line x1="{_f(p)}" y1="{_f(base)}" x2="{_f(p)}" y2="{_f(base + 4)}" '
                       'stroke="#333"/>')
            if x_tick_text:
                out.append(f'<text x="{_f(p)}" y="{_f(base + 15)}" text-anchor="middle">'
                           f"{escape(_tick_label(x, xs))}</text>")
        out.append(f'<rect x="{_f(self.left)}" y="{_f(self.top)}" '
                   f'width="{_f(self.width - self.left - self.right)}" '
                   f'height="{_f(self.height - self.top - self.bottom)}" fill="none" '
                   'stroke="#333"/>')
        out.append(f'<text x="{_f((self.left + self.width - self.right) / 2)}" '
                   f'y="{_f(self.height - 6)}" text-anchor="middle">{escape(x_label)}</text>')
        mid = (self.top + self.height - self.bottom) / 2
        out.append(f'<text x="12" y="{_f(mid)}" text-anchor="middle" '
                   f'transform="rotate(-90 12 {_f(mid)})">{escape(y_label)}</text>')
        return out


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="{_FONT}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def line_chart(
    series: Sequence[Series],
    *,
    spans: Sequence[Span] = (),
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 860,
    height: int = 280,
    markers: bool = False,
) -> str:
    """Lines over x, with shaded, named spans (phases) behind them.

    Parameters
    ----------
    series : sequence of Series
        The lines; None values break them.
    spans : sequence of Span
        Shaded x ranges, each named at its top (the name is also the span's tooltip).
    title, x_label, y_label : str
        Accessible title and axis labels.
    width, height : int
        Size, px.
    markers : bool
        Also draw a dot at every point (for short series such as 1-min bins).

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    xs = [x for s in series for x, y in zip(s.x, s.y, strict=True) if _finite(y)]
    ys = [float(y) for s in series for y in s.y if y is not None and _finite(y)]
    xs += [v for sp in spans for v in (sp.start, sp.end)]
    if not xs:
        xs = [0.0, 1.0]
    if not ys:
        ys = [0.0, 1.0]
    frame = _Frame(width, height, nice_ticks(min(xs), max(xs), 8), nice_ticks(min(ys), max(ys)),
                   top=30 if spans else 22)
    # Spans are drawn to the data range, not the rounded tick range.
    frame.x0, frame.x1 = min(xs), max(xs)
    frame.x_ticks = [t for t in frame.x_ticks if frame.x0 - 1e-9 <= t <= frame.x1 + 1e-9] or [
        frame.x0, frame.x1]
    body: list[str] = []
    for i, sp in enumerate(spans):
        a, b = frame.px(sp.start), frame.px(sp.end)
        fill = _SPAN_FILLS[i % len(_SPAN_FILLS)]
        body.append(
            f'<g class="phase"><title>{escape(sp.label)}</title>'
            f'<rect x="{_f(a)}" y="{_f(frame.top)}" width="{_f(max(0.0, b - a))}" '
            f'height="{_f(height - frame.top - frame.bottom)}" fill="{fill}"/>'
            f'<text x="{_f((a + b) / 2)}" y="{_f(frame.top - 4 - 10 * (i % 2))}" '
            f'text-anchor="middle" font-size="10">{escape(sp.label)}</text></g>'
        )
    body += frame.axes(x_label, y_label)
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        runs: list[list[str]] = [[]]
        dots: list[str] = []
        for x, y in zip(s.x, s.y, strict=True):
            if y is None or not _finite(y):
                if runs[-1]:
                    runs.append([])
                continue
            point = f"{_f(frame.px(x))},{_f(frame.py(float(y)))}"
            runs[-1].append(point)
            if markers:
                px, py = point.split(",")
                dots.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{color}"/>')
        body.append(f'<g class="series"><title>{escape(s.name)}</title>')
        for run in runs:
            if len(run) >= 2:
                body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.2" '
                            f'points="{" ".join(run)}"/>')
            elif len(run) == 1 and not markers:
                px, py = run[0].split(",")
                body.append(f'<circle cx="{px}" cy="{py}" r="1.5" fill="{color}"/>')
        body += dots
        body.append("</g>")
    if len(series) > 1:
        for i, s in enumerate(series):
            color = s.color or PALETTE[i % len(PALETTE)]
            x = frame.left + 10 + 140 * i
            body.append(f'<rect x="{_f(x)}" y="{_f(frame.top + 6)}" width="10" height="10" '
                        f'fill="{color}"/><text x="{_f(x + 14)}" y="{_f(frame.top + 15)}">'
                        f"{escape(s.name)}</text>")
    return _svg(width, height, title, body)


def ci_chart(
    points: Sequence[CIPoint],
    *,
    title: str = "",
    x_label: str = "",
    reference: float | None = 0.0,
    width: int = 520,
    row_height: int = 26,
) -> str:
    """A forest plot: one row per estimate, a dot with its confidence interval.

    Parameters
    ----------
    points : sequence of CIPoint
        Rows, top to bottom. A row without an estimate says "not computed".
    title, x_label : str
        Accessible title and axis label.
    reference : float or None
        x of the dashed reference line (0: no difference); None for none.
    width, row_height : int
        Size, px.

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    label_w = 190
    values = [v for p in points for v in (p.estimate, p.low, p.high) if _finite(v)]
    if reference is not None:
        values.append(reference)
    if not values:
        values = [-1.0, 1.0]
    height = 22 + row_height * max(1, len(points)) + 38
    frame = _Frame(width, height, nice_ticks(min(values), max(values), 6), [0.0, 1.0],
                   left=label_w, top=22)
    body: list[str] = []
    base = height - frame.bottom
    for x in frame.x_ticks:
        p = frame.px(x)
        body.append(f'<line x1="{_f(p)}" y1="{_f(frame.top)}" x2="{_f(p)}" y2="{_f(base)}" '
                    'stroke="#eee"/>')
    if reference is not None:
        p = frame.px(reference)
        body.append(f'<line x1="{_f(p)}" y1="{_f(frame.top)}" x2="{_f(p)}" y2="{_f(base)}" '
                    'stroke="#888" stroke-dasharray="4 3"/>')
    step = frame.x_ticks[1] - frame.x_ticks[0] if len(frame.x_ticks) > 1 else 1.0
    for x in frame.x_ticks:
        p = frame.px(x)
        body.append(f'<line x1="{_f(p)}" y1="{_f(base)}" x2="{_f(p)}" y2="{_f(base + 4)}" '
                    f'stroke="#333"/><text x="{_f(p)}" y="{_f(base + 15)}" '
                    f'text-anchor="middle">{escape(_tick_label(x, step))}</text>')
    body.append(f'<line x1="{_f(label_w)}" y1="{_f(base)}" x2="{_f(width - frame.right)}" '
                f'y2="{_f(base)}" stroke="#333"/>')
    body.append(f'<text x="{_f((label_w + width - frame.right) / 2)}" y="{_f(height - 6)}" '
                f'text-anchor="middle">{escape(x_label)}</text>')
    for i, point in enumerate(points):
        y = frame.top + row_height * (i + 0.5)
        body.append(f'<g class="ci-row"><title>{escape(point.label)}</title>'
                    f'<text x="{_f(label_w - 8)}" y="{_f(y + 4)}" text-anchor="end">'
                    f"{escape(point.label)}</text>")
        if point.estimate is None or not _finite(point.estimate):
            body.append(f'<text x="{_f(label_w + 8)}" y="{_f(y + 4)}" fill="#888">'
                        "not computed</text></g>")
            continue
        est = float(point.estimate)
        low = float(point.low) if point.low is not None and _finite(point.low) else None
        high = float(point.high) if point.high is not None and _finite(point.high) else None
        a = frame.px(low if low is not None else est)
        b = frame.px(high if high is not None else est)
        body.append(f'<line x1="{_f(a)}" y1="{_f(y)}" x2="{_f(b)}" y2="{_f(y)}" '
                    'stroke="#1f5fa8" stroke-width="2"/>')
        for end, known in ((a, low is not None), (b, high is not None)):
            if known:
                body.append(f'<line x1="{_f(end)}" y1="{_f(y - 5)}" x2="{_f(end)}" '
                            f'y2="{_f(y + 5)}" stroke="#1f5fa8" stroke-width="2"/>')
        body.append(f'<circle cx="{_f(frame.px(est))}" cy="{_f(y)}" r="4" fill="#1f5fa8"/></g>')
    return _svg(width, height, title, body)


def paired_chart(
    pairs: Sequence[PairedValues],
    *,
    labels: tuple[str, str],
    title: str = "",
    y_label: str = "",
    width: int = 360,
    height: int = 300,
) -> str:
    """Each participant's two values as two points joined by a line.

    Parameters
    ----------
    pairs : sequence of PairedValues
        One per participant; a participant with one value is drawn as a lone point, with
        none is left out.
    labels : tuple of str
        Names of the two conditions (left, right).
    title, y_label : str
        Accessible title and y-axis label.
    width, height : int
        Size, px.

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    values = [v for p in pairs for v in (p.a, p.b) if _finite(v)] or [0.0, 1.0]
    frame = _Frame(width, height, [0.0, 1.0], nice_ticks(min(values), max(values)))
    frame.x0, frame.x1 = -0.35, 1.35
    body = frame.axes("", y_label, x_tick_text=False)
    base = height - frame.bottom
    for x, text in zip((0.0, 1.0), labels, strict=True):
        body.append(f'<text x="{_f(frame.px(x))}" y="{_f(base + 15)}" text-anchor="middle">'
                    f"{escape(text)}</text>")
    if frame.y0 < 0.0 < frame.y1:
        p = frame.py(0.0)
        body.append(f'<line x1="{_f(frame.left)}" y1="{_f(p)}" '
                    f'x2="{_f(width - frame.right)}" y2="{_f(p)}" stroke="#888" '
                    'stroke-dasharray="4 3"/>')
    for i, pair in enumerate(pairs):
        color = PALETTE[i % len(PALETTE)]
        pts = [(frame.px(x), frame.py(float(v))) for x, v in ((0.0, pair.a), (1.0, pair.b))
               if v is not None and _finite(v)]
        if not pts:
            continue
        body.append(f'<g class="participant"><title>{escape(pair.label)}</title>')
        if len(pts) == 2:
            body.append(f'<line x1="{_f(pts[0][0])}" y1="{_f(pts[0][1])}" '
                        f'x2="{_f(pts[1][0])}" y2="{_f(pts[1][1])}" stroke="{color}"/>')
        for px, py in pts:
            body.append(f'<circle cx="{_f(px)}" cy="{_f(py)}" r="3.5" fill="{color}"/>')
        body.append("</g>")
    return _svg(width, height, title, body)
