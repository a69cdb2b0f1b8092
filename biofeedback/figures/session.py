"""Figures of one session: the tachogram, the 1-min trajectories, the per-phase indices.

Each takes what the session report and the Sessions tab already have: the
:class:`~biofeedback.core.recording.Recording` (beats, phases, markers), the trajectory
bins of :func:`~biofeedback.analysis.windows.binned_trajectory` and the per-phase rows of
``AnalysisResult.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from biofeedback.core.decimate import decimate_min_max
from biofeedback.core.phase_colours import phase_colour
from biofeedback.core.types import MarkerKind
from biofeedback.figures.style import (
    FONT_PT,
    INK,
    MUTED,
    OKABE_ITO,
    new_figure,
    plain,
    shade_phases,
    time_axis,
)

if TYPE_CHECKING:
    from biofeedback.analysis.windows import TrajectoryBin
    from biofeedback.core.recording import Recording

__all__ = ["MAX_TACHOGRAM_POINTS", "phase_indices", "tachogram", "trajectories"]

MAX_TACHOGRAM_POINTS = 4000
"""Most points drawn in a tachogram: min and max of each stretch are kept, so every spike
stays visible while a 24-h session still gives a small vector file (about two points per
printed 0.05 mm at 180 mm)."""

_EVENT_MARKERS = frozenset({MarkerKind.USER, MarkerKind.EXTERNAL, MarkerKind.SELF_REPORT,
                            MarkerKind.CONNECTION})
"""Marker kinds drawn as lines: events of the session. Audio cues, stressor answers and
protocol markers are left out (the phases already show the protocol; cues and answers come
every few seconds and would hide the tachogram)."""


def tachogram(recording: Recording, *, width_mm: float = 85.0) -> Figure:
    """RR intervals over session time, phases shaded and named, markers as dashed lines.

    The line breaks at gaps; long sessions are thinned to :data:`MAX_TACHOGRAM_POINTS`
    keeping each stretch's minimum and maximum.

    Parameters
    ----------
    recording : Recording
        The session (raw RR, ms; session-clock times, s).
    width_mm : float
        Figure width, mm.
    """
    fig, (ax,) = new_figure(width_mm, 0.45 * width_mm if width_mm < 120 else 65.0)
    divisor, label = time_axis(recording.duration_s)
    t = np.asarray(recording.time_s, dtype=np.float64)
    rr = np.asarray(recording.rr_ms, dtype=np.float64)
    if t.size:
        seg = recording.segment_ids()
        starts = np.flatnonzero(np.diff(seg)) + 1
        # a gap is a NaN between the segments: the line breaks there
        x = np.insert(t, starts, t[starts]) / divisor
        y = np.insert(rr, starts, np.nan)
        if t.size > MAX_TACHOGRAM_POINTS:
            x, y = decimate_min_max(x, y, MAX_TACHOGRAM_POINTS)
        ax.plot(x, y, color=INK, lw=0.5, label="RR interval")
        ax.set_xlim(0.0, max(float(t[-1]), recording.duration_s) / divisor)
    shade_phases(ax, recording.phases, divisor)
    events = [m for m in recording.markers if m.kind in _EVENT_MARKERS]
    for marker in events:
        ax.axvline(marker.onset_s / divisor, color=OKABE_ITO["reddish_purple"], lw=0.6,
                   ls=(0, (2, 1.5)), zorder=1)
    if events:
        # above the plot, right: the phase names fill the top of the plot itself
        ax.legend(handles=[Line2D([], [], color=OKABE_ITO["reddish_purple"], lw=0.6,
                                  ls=(0, (2, 1.5)), label=f"marker (n = {len(events)})")],
                  fontsize=FONT_PT, frameon=False, loc="lower right",
                  bbox_to_anchor=(1.0, 1.0), borderaxespad=0.1)
    ax.set_xlabel(label)
    ax.set_ylabel("RR interval (ms)")
    _headroom(ax)
    return fig


def trajectories(bins: Sequence[TrajectoryBin], recording: Recording, *,
                 width_mm: float = 85.0) -> Figure:
    """Heart rate and lnRMSSD per trajectory bin, one panel each, phases shaded.

    Parameters
    ----------
    bins : sequence of TrajectoryBin
        :func:`~biofeedback.analysis.windows.binned_trajectory` of the session (empty bins,
        in gaps, are left blank).
    recording : Recording
        The session (its phases and duration).
    width_mm : float
        Figure width, mm.
    """
    fig, axes = new_figure(width_mm, 0.7 * width_mm if width_mm < 120 else 90.0, nrows=2,
                           sharex=True)
    divisor, label = time_axis(recording.duration_s)
    mid = np.array([(b.start_s + b.end_s) / 2 for b in bins], dtype=np.float64) / divisor
    if bins:  # before the shading: the phase names fit the final axis
        axes[1].set_xlim(0.0, max(bins[-1].end_s, recording.duration_s) / divisor)
    width_s = (bins[0].end_s - bins[0].start_s) if bins else 60.0
    for ax, key, ylabel, colour in (
        (axes[0], "hr_bpm", "heart rate (bpm)", OKABE_ITO["vermillion"]),
        (axes[1], "ln_rmssd", "lnRMSSD (ln ms)", OKABE_ITO["blue"]),
    ):
        values = np.array([np.nan if getattr(b, key) is None else getattr(b, key)
                           for b in bins], dtype=np.float64)
        ax.plot(mid, values, color=colour, lw=0.8, marker="o", ms=1.8,
                label=f"{ylabel.split(' (')[0]} per {width_s:g}-s bin")
        ax.set_ylabel(ylabel)
        shade_phases(ax, recording.phases, divisor, names=ax is axes[0])
        _headroom(ax)
    axes[1].set_xlabel(label)
    fig.align_ylabels(axes)
    return fig


_PHASE_PANELS: tuple[tuple[str, str], ...] = (
    ("mean_hr_bpm", "HR (bpm)"),
    ("ln_rmssd", "lnRMSSD (ln ms)"),
    ("breaths_per_min", "breathing\n(breaths/min)"),
)


def phase_indices(phases: Sequence[Mapping[str, Any]], *, width_mm: float = 85.0) -> Figure:
    """Heart rate, lnRMSSD and breathing rate of each phase, one panel each, a dot in the
    phase's colour (the axis starts near the data, so dots, not bars).

    One value per phase (the whole phase is one window), so there is no error bar; a
    missing value is written "n/a" at its place.

    Parameters
    ----------
    phases : sequence of dict
        ``AnalysisResult.to_dict()["phases"]``.
    width_mm : float
        Figure width, mm.
    """
    fig, axes = new_figure(width_mm, 0.85 * width_mm if width_mm < 120 else 95.0, nrows=3,
                           sharex=True)
    names = [plain(p["name"]) for p in phases]
    x = np.arange(len(phases), dtype=np.float64)
    colours = [phase_colour(str(p.get("kind", ""))) for p in phases]
    for ax, (key, ylabel) in zip(axes, _PHASE_PANELS, strict=True):
        values = np.array([np.nan if p.get(key) is None else float(p[key]) for p in phases],
                          dtype=np.float64)
        ax.plot(x, values, color=MUTED, lw=0.6, zorder=1)
        ax.scatter(x, values, c=colours, s=22, edgecolors=INK, linewidths=0.5, zorder=2)
        for i in np.flatnonzero(~np.isfinite(values)):
            ax.text(float(i), 0.5, "n/a", ha="center", va="center", fontsize=FONT_PT, color=MUTED,
                    transform=ax.get_xaxis_transform())
        ax.set_ylabel(ylabel)
        ax.margins(x=0.05, y=0.2)
    axes[-1].set_xticks(x, names, rotation=30, ha="right", rotation_mode="anchor")
    fig.align_ylabels(axes)
    return fig


def _headroom(ax: Any) -> None:
    """Room above the data for the phase names (about one line of text)."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.12 * (hi - lo))
