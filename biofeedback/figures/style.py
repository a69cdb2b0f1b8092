"""The figures' one style: colour-blind-safe palette, journal column sizes, fonts.

Okabe & Ito (2008) colours stay distinguishable with every common colour-vision deficiency
and in greyscale print; self-soothing and attention are always the same two of them. Sizes
are in millimetres of the printed figure (85 mm: one column, 180 mm: the full page width),
fonts in points at that size, so a figure is legible when placed at 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from biofeedback.core.phase_colours import PHASE_ALPHA, phase_colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from biofeedback.core.types import PhaseSpan

__all__ = [
    "CATEGORY_COLOURS",
    "CATEGORY_LABELS",
    "COLUMN_WIDTHS_MM",
    "FONT_PT",
    "INK",
    "MUTED",
    "OKABE_ITO",
    "SMALL_PT",
    "new_figure",
    "new_figure_with_legend",
    "plain",
    "shade_phases",
    "style_axes",
    "time_axis",
]

OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9",
    "bluish_green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
    "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito palette (Okabe & Ito 2008, Color Universal Design)."""

CATEGORY_COLOURS: dict[str, str] = {
    "self_soothing": OKABE_ITO["blue"],
    "attention": OKABE_ITO["vermillion"],
}
"""Practice category -> colour, the same in every figure."""

CATEGORY_LABELS: dict[str, str] = {"self_soothing": "self-soothing", "attention": "attention"}
"""Practice category -> the words on a figure."""

INK = "#222222"
MUTED = "#8a8a8a"

COLUMN_WIDTHS_MM: tuple[int, ...] = (85, 180)
"""Figure widths offered: one journal column and the full page width, mm."""

FONT_PT = 7.0
"""Axis labels, legends and tick labels, pt at print size (journals ask for 6-8 pt)."""
SMALL_PT = 6.0
"""Phase names and annotations, pt."""

_MM_PER_INCH = 25.4


def plain(text: object) -> str:
    """Stored text (a participant id, a phase name) to draw as it is: a ``$`` would
    otherwise start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")


def new_figure(width_mm: float, height_mm: float, *, nrows: int = 1, ncols: int = 1,
               sharex: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure of ``width_mm`` x ``height_mm`` (mm) with a grid of styled axes.

    Constrained layout keeps labels, ticks and legends from overlapping at any width.

    Returns
    -------
    figure, axes
        The figure and its axes, row by row.
    """
    fig = Figure(figsize=(width_mm / _MM_PER_INCH, height_mm / _MM_PER_INCH),
                 layout=ConstrainedLayoutEngine(w_pad=1 / 72, h_pad=1 / 72))
    grid = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes:
        style_axes(ax)
    return fig, axes


def new_figure_with_legend(width_mm: float, height_mm: float, *, nrows: int = 1,
                           ncols: int = 1, sharex: bool = False,
                           legend_mm: float = 6.0) -> tuple[Figure, list[Axes], Axes]:
    """:func:`new_figure` with a strip of ``legend_mm`` across the top for a shared legend
    (an axes of its own, so the layout keeps it clear of the panels; a figure legend would
    not stay in place when the figure is laid out inside a page of the PDF report)."""
    fig = Figure(figsize=(width_mm / _MM_PER_INCH, height_mm / _MM_PER_INCH),
                 layout=ConstrainedLayoutEngine(w_pad=1 / 72, h_pad=1 / 72))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=(
        legend_mm, *[(height_mm - legend_mm) / nrows] * nrows))
    legend_ax = fig.add_subplot(grid[0, :])
    legend_ax.set_axis_off()
    axes: list[Axes] = []
    for r in range(nrows):
        for c in range(ncols):
            ax = fig.add_subplot(grid[r + 1, c], sharex=axes[0] if sharex and axes else None)
            style_axes(ax)
            axes.append(ax)
    if sharex:
        for ax in axes[:-ncols]:
            ax.tick_params(labelbottom=False)
    return fig, axes, legend_ax


def style_axes(ax: Axes) -> None:
    """Thin spines on the left and bottom only, ticks and labels at :data:`FONT_PT`."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(0.6)
        ax.spines[side].set_color(INK)
    ax.tick_params(labelsize=FONT_PT, width=0.6, length=2.5, colors=INK)
    ax.xaxis.label.set_fontsize(FONT_PT)
    ax.yaxis.label.set_fontsize(FONT_PT)
    ax.title.set_fontsize(FONT_PT)


def time_axis(duration_s: float) -> tuple[float, str]:
    """Divisor and label of a session's time axis: seconds up to 10 min, minutes beyond."""
    return (1.0, "time (s)") if duration_s <= 600.0 else (60.0, "time (min)")


def shade_phases(ax: Axes, phases: Sequence[PhaseSpan], divisor: float, *,
                 names: bool = True) -> None:
    """Shade each phase in its kind's colour, as the window does, and name it at the top.

    A name is written only where it fits inside its phase (shortened with "…" when a part
    of it fits), so names never run into each other; the figure's width decides.

    Parameters
    ----------
    ax : Axes
        The time plot (its x limits already set).
    phases : sequence of PhaseSpan
        The phases as they ran, session clock, s.
    divisor : float
        Seconds per x unit (:func:`time_axis`).
    names : bool
        Write the phases' names inside their spans, at the top.
    """
    alpha = PHASE_ALPHA / 255.0
    lo, hi = ax.get_xlim()
    # the axes' width, pt: the figure's less the labels' margin (about 15 mm)
    width_pt = max(ax.get_figure().get_figwidth() * 72.0 - 43.0, 1.0)  # type: ignore[union-attr]
    for phase in phases:
        start, end = phase.start_s / divisor, max(phase.end_s, phase.start_s) / divisor
        ax.axvspan(start, end, color=phase_colour(phase.kind), alpha=alpha, lw=0, zorder=0)
        if not names:
            continue
        room = (end - start) / max(hi - lo, 1e-9) * width_pt / (_CHAR_EM * SMALL_PT) - 1.0
        text = phase.name if len(phase.name) <= room else (
            phase.name[: int(room) - 1].rstrip() + "…" if room >= 5 else "")
        if text:
            ax.text(start, 0.995, f" {plain(text)}", transform=ax.get_xaxis_transform(), ha="left",
                    va="top", fontsize=SMALL_PT, color=INK)


_CHAR_EM = 0.6
"""Mean width of a character of the sans-serif font, in em (DejaVu Sans: about 0.6)."""
