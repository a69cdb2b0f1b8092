"""Figures of change over time: the resting baseline and each practice's response over
sessions, and stress reactivity and recovery. Each takes the JSON-ready result of
:func:`biofeedback.comparison.compare.compare` (``trends``, ``reactivity``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from biofeedback.figures.style import (
    CATEGORY_COLOURS,
    CATEGORY_LABELS,
    FONT_PT,
    INK,
    MUTED,
    OKABE_ITO,
    SMALL_PT,
    new_figure,
    plain,
)
from biofeedback.figures.summary import NothingToDrawError, finite_values, mean_ci

__all__ = ["reactivity", "trends"]

_PARTICIPANT_COLOURS = tuple(OKABE_ITO[k] for k in (
    "black", "sky_blue", "bluish_green", "orange", "reddish_purple", "yellow"))
"""Participants' own colours when few enough to tell apart (never the two category ones)."""

_REACTIVITY_PANELS = (("hr_bpm", "heart rate (bpm)"), ("ln_rmssd", "lnRMSSD (ln ms)"))
_REACTIVITY_PHASES = ("baseline", "stressor", "recovery")


def trends(result: Mapping[str, Any], *, width_mm: float = 85.0) -> Figure:
    """Per participant, session by session: the resting baseline lnRMSSD (top) and each
    practice's Δ lnRMSSD from that baseline in its category's colour (bottom), against days
    since the participant's first session.

    Raises
    ------
    NothingToDrawError
        No session has a baseline or a practice value.
    """
    participants = list(result.get("trends", []))
    category_of = {p["practice"]: p["category"] for p in result.get("per_practice", [])}
    fig, (top, bottom) = new_figure(width_mm, 0.85 * width_mm if width_mm < 120 else 95.0,
                                    nrows=2, sharex=True)
    own_colours = len(participants) <= len(_PARTICIPANT_COLOURS)
    drawn = 0
    for i, p in enumerate(participants):
        sessions = p["sessions"]
        days = np.array([s["days_since_first"] for s in sessions], dtype=np.float64)
        base = np.array([np.nan if s["baseline_ln_rmssd"] is None else s["baseline_ln_rmssd"]
                         for s in sessions], dtype=np.float64)
        colour = _PARTICIPANT_COLOURS[i] if own_colours else MUTED
        if np.isfinite(base).any():
            drawn += 1
            top.plot(days, base, color=colour, lw=0.7, marker="o", ms=2.2,
                     alpha=1.0 if own_colours else 0.6,
                     label=plain(p["participant_id"]) if own_colours else None)
        for s in sessions:
            for practice, delta in s["delta_ln_rmssd"].items():
                if finite_values([delta]):
                    drawn += 1
                    bottom.plot([s["days_since_first"]], [delta], ls="none", marker="o",
                                ms=2.5, alpha=0.8,
                                color=CATEGORY_COLOURS.get(category_of.get(practice, ""),
                                                           MUTED))
    if drawn == 0:
        raise NothingToDrawError("no session has a baseline or practice lnRMSSD to draw")
    top.set_ylabel("baseline lnRMSSD\n(ln ms)")
    if own_colours:
        top.legend(fontsize=SMALL_PT, frameon=False, ncols=min(3, max(1, len(participants))),
                   loc="best", title="participant", title_fontsize=SMALL_PT)
    else:
        top.text(0.01, 0.98, f"{len(participants)} participants", fontsize=SMALL_PT,
                 color=INK, transform=top.transAxes, va="top")
    bottom.axhline(0.0, color=INK, lw=0.4, ls=":")
    bottom.set_ylabel("Δ lnRMSSD (ln ms)")
    bottom.set_xlabel("days since the participant's first session")
    bottom.legend(handles=[Line2D([], [], color=CATEGORY_COLOURS[c], marker="o", ls="none",
                                  ms=3.0, label=CATEGORY_LABELS[c])
                           for c in ("self_soothing", "attention")],
                  fontsize=FONT_PT, frameon=False, loc="best")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    all_days = [s["days_since_first"] for p in participants for s in p["sessions"]]
    if max(all_days) - min(all_days) < 1.0:  # every session on one day: whole days around it
        top.set_xlim(-0.5, max(all_days) + 0.5)
    return fig


def reactivity(result: Mapping[str, Any], *, width_mm: float = 85.0) -> Figure:
    """Heart rate and lnRMSSD in the baseline, stressor and recovery windows of each
    session with a stressor (one line per session), with each window's mean and CI;
    reactivity is the step from baseline to stressor, recovery the way back.

    Raises
    ------
    NothingToDrawError
        No session has a stressor phase.
    """
    sessions = list(result.get("reactivity", []))
    if not sessions:
        raise NothingToDrawError("no session has a stressor phase: no reactivity or recovery")
    confidence = float(result.get("settings", {}).get("confidence", 0.95))
    narrow = width_mm < 120
    fig, axes = new_figure(width_mm, 1.05 * width_mm if narrow else 70.0,
                           nrows=2 if narrow else 1, ncols=1 if narrow else 2, sharex=narrow)
    x = np.arange(len(_REACTIVITY_PHASES))
    for ax, (metric, ylabel) in zip(axes, _REACTIVITY_PANELS, strict=True):
        columns: list[list[float | None]] = [[] for _ in _REACTIVITY_PHASES]
        for s in sessions:
            values = s.get("values", {}).get(metric, {})
            ys = [values.get(k) for k in _REACTIVITY_PHASES]
            for column, v in zip(columns, ys, strict=True):
                column.append(v)
            ax.plot(x, [np.nan if v is None else v for v in ys], color=MUTED, lw=0.6,
                    marker="o", ms=2.2, alpha=0.8)
        for xi, column in zip(x, columns, strict=True):
            summary = mean_ci(column, confidence)
            if summary is None:
                continue
            if summary.low is not None and summary.high is not None:
                ax.errorbar([xi + 0.12], [summary.mean],
                            yerr=[[summary.mean - summary.low], [summary.high - summary.mean]],
                            fmt="none", ecolor=INK, elinewidth=0.9, capsize=2.0)
            ax.plot([xi + 0.12], [summary.mean], marker="D", ms=4.0, color="white", mec=INK,
                    mew=0.8, ls="none", zorder=5)
        ax.set_ylabel(ylabel)
        ax.set_xticks(x, list(_REACTIVITY_PHASES))
        ax.set_xlim(-0.3, len(_REACTIVITY_PHASES) - 0.5)
    axes[0].legend(handles=[
        Line2D([], [], color=MUTED, lw=0.6, marker="o", ms=2.2,
               label=f"session (n = {len(sessions)})"),
        Line2D([], [], color=INK, marker="D", ms=4.0, ls="none", mfc="white",
               label=f"mean, {confidence:.0%} CI"),
    ], fontsize=FONT_PT, frameon=False, loc="best")
    return fig
