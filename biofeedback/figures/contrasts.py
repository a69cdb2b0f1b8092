"""Figures of the self-soothing vs attention comparison: per-practice changes with their
CIs, each participant's paired changes, the forest plot of the contrasts, the breathing
check. Each takes the JSON-ready result of :func:`biofeedback.comparison.compare.compare`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from biofeedback.core.formatting import format_number
from biofeedback.core.hrv_indices import COMPARISON_METRICS
from biofeedback.figures.style import (
    CATEGORY_COLOURS,
    CATEGORY_LABELS,
    FONT_PT,
    INK,
    MUTED,
    SMALL_PT,
    new_figure,
    new_figure_with_legend,
    plain,
)
from biofeedback.figures.summary import MeanCI, NothingToDrawError, finite_values, mean_ci

__all__ = ["breathing_check", "forest", "paired_changes", "phase_values"]

CATEGORIES = ("self_soothing", "attention")
_LABELLED_PARTICIPANTS = 8
"""Up to this many participants, each line is named at its end; more would overlap."""

_PHASE_VALUE_METRICS = ("ln_rmssd", "hr_bpm", "breaths_per_min")


def _confidence(result: Mapping[str, Any]) -> float:
    return float(result.get("settings", {}).get("confidence", 0.95))


def _metric(metric: str) -> tuple[str, str]:
    """``"ln_rmssd"`` -> (``"Δ lnRMSSD"``, ``"ln ms"``)."""
    spec = COMPARISON_METRICS.get(f"delta_{metric}")
    return (spec.label, spec.unit) if spec else (metric, "")


def _errorbar(ax: Any, x: float, summary: MeanCI, colour: str, **kw: Any) -> None:
    if summary.low is not None and summary.high is not None:
        ax.errorbar([x], [summary.mean],
                    yerr=[[summary.mean - summary.low], [summary.high - summary.mean]],
                    fmt="none", ecolor=colour, elinewidth=0.9, capsize=2.0, capthick=0.9,
                    zorder=4)
    ax.plot([x], [summary.mean], marker=kw.pop("marker", "o"), color=colour, ms=4.0,
            mec=INK, mew=0.5, ls="none", zorder=5, **kw)


def phase_values(result: Mapping[str, Any], *, width_mm: float = 85.0,
                 metrics: Sequence[str] = _PHASE_VALUE_METRICS) -> Figure:
    """Each practice's mean change from baseline over participants with its CI, one panel
    per metric, bars in the practice's category colour.

    Parameters
    ----------
    result : dict
        The comparison result (``participants``: each participant's mean Δ per practice).
    width_mm : float
        Figure width, mm.
    metrics : sequence of str
        Metrics, one panel each (default Δ lnRMSSD, Δ HR, Δ breathing rate).

    Raises
    ------
    NothingToDrawError
        No practice has a value.
    """
    practices = [(p["practice"], p["category"]) for p in result.get("per_practice", [])]
    if not practices:
        raise NothingToDrawError("no practice has a change from baseline to draw")
    confidence = _confidence(result)
    narrow = width_mm < 120
    fig, axes, legend_ax = new_figure_with_legend(
        width_mm, (0.27 * len(metrics) + 0.1) * width_mm if narrow else 70.0,
        nrows=len(metrics) if narrow else 1, ncols=1 if narrow else len(metrics),
        sharex=narrow, legend_mm=10.0 if narrow else 6.0)
    x = np.arange(len(practices))
    for ax, metric in zip(axes, metrics, strict=True):
        label, unit = _metric(metric)
        for i, (practice, category) in enumerate(practices):
            values = [p.get("per_practice", {}).get(practice, {}).get(f"delta_{metric}")
                      for p in result.get("participants", [])]
            summary = mean_ci(values, confidence)
            colour = CATEGORY_COLOURS.get(category, MUTED)
            if summary is None:
                ax.text(i, 0.5, "n/a", ha="center", fontsize=FONT_PT, color=MUTED,
                        transform=ax.get_xaxis_transform())
                continue
            ax.bar([i], [summary.mean], width=0.6, color=colour, alpha=0.35, edgecolor=colour,
                   lw=0.6)
            _errorbar(ax, float(i), summary, colour)
        ax.axhline(0.0, color=INK, lw=0.5)
        ax.set_ylabel(f"{label.removesuffix(' rate')}\n({unit})")
        ax.set_xticks(x, [_two_lines(p) for p, _ in practices])
    fig.align_ylabels(axes)
    legend_ax.legend(
        handles=[*_category_handles(), Line2D(
            [], [], color=INK, marker="|", ms=6.0, ls="none",
            label=f"mean over participants, {confidence:.0%} CI")], fontsize=FONT_PT,
        frameon=False, loc="center", ncols=2 if narrow else 3, borderaxespad=0.0)
    return fig


def _two_lines(practice: str) -> str:
    """``"mindfulness_of_breathing"`` -> ``"mindfulness\\nof breathing"`` (tick labels fit)."""
    words = plain(practice).replace("_", " ").split()
    half = (len(words) + 1) // 2
    return " ".join(words[:half]) + ("\n" + " ".join(words[half:]) if len(words) > 1 else "")


def _category_handles() -> list[Line2D]:
    return [Line2D([], [], color=CATEGORY_COLOURS[c], marker="o", mec=INK, mew=0.5, ls="none",
                   ms=4.0, label=CATEGORY_LABELS[c]) for c in CATEGORIES]


def _pairs(result: Mapping[str, Any], key: str) -> list[tuple[str, float | None, float | None]]:
    out = []
    for p in result.get("participants", []):
        a, b = (finite_values([p.get(f"{key}_{c}")]) for c in CATEGORIES)
        out.append((str(p["participant_id"]), a[0] if a else None, b[0] if b else None))
    return out


def _paired_axes(ax: Any, pairs: Sequence[tuple[str, float | None, float | None]],
                 confidence: float) -> None:
    """One line per participant from self-soothing (x = 0) to attention (x = 1), each
    category's mean and CI beside it."""
    labelled: list[tuple[float, str]] = []
    for name, a, b in pairs:
        if a is not None and b is not None:
            ax.plot([0, 1], [a, b], color=MUTED, lw=0.6, alpha=0.8, zorder=2,
                    gid=f"participant {name}")
            labelled.append((b, name))
        for x, v, category in ((0, a, "self_soothing"), (1, b, "attention")):
            if v is not None:
                ax.plot([x], [v], marker="o", ms=2.5, color=CATEGORY_COLOURS[category],
                        alpha=0.8, ls="none", zorder=3)
    for mean_x, category, column in ((-0.25, "self_soothing", 1), (1.25, "attention", 2)):
        summary = mean_ci([p[column] for p in pairs], confidence)
        if summary is not None:
            _errorbar(ax, mean_x, summary, CATEGORY_COLOURS[category], marker="D")
    if len(labelled) <= _LABELLED_PARTICIPANTS:
        _name_line_ends(ax, labelled)
    ax.set_xticks([0, 1], [CATEGORY_LABELS[c] for c in CATEGORIES])
    ax.set_xlim(-0.5, 1.75 if len(labelled) <= _LABELLED_PARTICIPANTS else 1.5)


def _name_line_ends(ax: Any, ends: list[tuple[float, str]]) -> None:
    """Participant names right of the attention points, pushed apart to one text line."""
    if not ends:
        return
    ends = sorted(ends)
    lo, hi = ax.get_ylim()
    gap = 0.05 * (hi - lo)  # about one line of SMALL_PT text in a column-wide plot
    placed: list[float] = []
    for y, _ in ends:
        placed.append(y if not placed else max(y, placed[-1] + gap))
    for (y, name), text_y in zip(ends, placed, strict=True):
        ax.annotate(plain(name), xy=(1, y), xytext=(1.55, text_y), fontsize=SMALL_PT, color=INK,
                    va="center", ha="left",
                    arrowprops={"arrowstyle": "-", "color": MUTED, "lw": 0.3})


def paired_changes(result: Mapping[str, Any], *, metric: str = "ln_rmssd",
                   width_mm: float = 85.0) -> Figure:
    """Each participant's mean change from baseline in self-soothing and in attention,
    joined by a line (a "spaghetti" plot), with each category's mean and CI.

    Parameters
    ----------
    result : dict
        The comparison result (``participants``).
    metric : str
        One of the comparison metrics (default lnRMSSD).
    width_mm : float
        Figure width, mm.

    Raises
    ------
    NothingToDrawError
        No participant has a value of ``metric``.
    """
    pairs = _pairs(result, f"delta_{metric}")
    if not any(a is not None or b is not None for _, a, b in pairs):
        raise NothingToDrawError(f"no participant has a change in {metric} to draw")
    fig, (ax,) = new_figure(width_mm, 0.75 * width_mm if width_mm < 120 else 90.0)
    _paired_axes(ax, pairs, _confidence(result))
    label, unit = _metric(metric)
    ax.axhline(0.0, color=INK, lw=0.4, ls=":")
    ax.set_ylabel(f"{label} from baseline ({unit})")
    n = sum(a is not None and b is not None for _, a, b in pairs)
    ax.legend(handles=[
        Line2D([], [], color=MUTED, lw=0.6, label=f"participant (n = {n})"),
        Line2D([], [], color=INK, marker="D", ms=4.0, ls="none", mfc="white",
               label=f"mean, {_confidence(result):.0%} CI"),
    ], fontsize=FONT_PT, frameon=False, loc="best")
    return fig


def forest(result: Mapping[str, Any], *, width_mm: float = 85.0) -> Figure:
    """Cohen's d_z of each contrast (self-soothing − attention) with its CI, and the mean
    difference with its CI in the metric's unit written beside it.

    Parameters
    ----------
    result : dict
        The comparison result (``comparisons``).
    width_mm : float
        Figure width, mm.

    Raises
    ------
    NothingToDrawError
        The result has no contrast.
    """
    rows = list(result.get("comparisons", []))
    if not rows:
        raise NothingToDrawError("the comparison has no contrast to draw")
    confidence = _confidence(result)
    fig = Figure(figsize=(width_mm / 25.4, (22 + 7 * len(rows)) / 25.4), layout="constrained")
    ratios = (1.0, 1.1) if width_mm < 120 else (2.2, 1.0)  # the text column's room
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": ratios})
    from biofeedback.figures.style import style_axes

    style_axes(left)
    y = np.arange(len(rows))[::-1]
    labels, texts = [], []
    finite_bounds: list[float] = []
    for yi, c in zip(y, rows, strict=True):
        label, unit = _metric(str(c["metric"]).removeprefix("delta_"))
        labels.append(label.removesuffix(" rate"))
        d, lo, hi = c.get("d_z"), c.get("d_z_ci_low"), c.get("d_z_ci_high")
        if d is not None:
            finite_bounds += finite_values([d, lo, hi])
            left.plot([d], [yi], marker="s", color=INK, ms=3.5, ls="none", zorder=3)
            left.hlines(yi, lo if lo is not None else d, hi if hi is not None else d,
                        color=INK, lw=0.9)
            for bound, end in ((lo, "left"), (hi, "right")):
                if bound is None:  # an open end: the interval could not be computed there
                    left.plot([d], [yi], marker="<" if end == "left" else ">", color=MUTED,
                              ms=3.0, ls="none")
        digits = COMPARISON_METRICS[c["metric"]].decimals if c["metric"] in COMPARISON_METRICS \
            else 2
        texts.append(f"{format_number(c.get('mean_diff'), digits)} "
                     f"[{format_number(c.get('ci_low'), digits)}, "
                     f"{format_number(c.get('ci_high'), digits)}] {unit}")
    left.axvline(0.0, color=MUTED, lw=0.6, ls="--", zorder=0)
    counts = sorted({int(c.get("n", 0)) for c in rows})
    if len(counts) > 1:  # say each row's n only when they differ
        labels = [f"{lab} (n = {c.get('n', 0)})" for lab, c in zip(labels, rows, strict=True)]
    left.set_yticks(y, labels)
    left.set_ylim(-0.6, len(rows) - 0.4)
    n_text = f", n = {counts[0]}" if len(counts) == 1 else ""
    left.set_xlabel(f"$d_z$ with {confidence:.0%} CI{n_text}\n(self-soothing − attention)")
    if finite_bounds:
        lo_all, hi_all = min([*finite_bounds, 0.0]), max([*finite_bounds, 0.0])
        pad = 0.08 * max(hi_all - lo_all, 0.5)
        left.set_xlim(lo_all - pad, hi_all + pad)
    right.set_axis_off()
    right.set_ylim(left.get_ylim())
    right.text(0.0, len(rows) - 0.45, f"mean difference [{confidence:.0%} CI]",
               fontsize=SMALL_PT, color=INK, va="bottom", weight="bold")
    for yi, text in zip(y, texts, strict=True):
        right.text(0.0, yi, text, fontsize=SMALL_PT, color=INK, va="center")
    return fig


def breathing_check(result: Mapping[str, Any], *, width_mm: float = 85.0) -> Figure:
    """Each participant's mean breathing rate in self-soothing and in attention, joined by
    a line, with the categories' means and CIs and the warning threshold of the breathing
    check (a difference large enough to move HF on its own).

    Raises
    ------
    NothingToDrawError
        No participant has a breathing rate.
    """
    pairs = _pairs(result, "breaths_per_min")
    if not any(a is not None or b is not None for _, a, b in pairs):
        raise NothingToDrawError("no participant has a breathing rate to draw")
    check = result.get("breathing", {})
    fig, (ax,) = new_figure(width_mm, 0.75 * width_mm if width_mm < 120 else 90.0)
    _paired_axes(ax, pairs, _confidence(result))
    ax.set_ylabel("breathing rate (breaths/min)")
    verdict = ("warning: " + str(check["warning"])) if check.get("warning") else \
        "no breathing warning"
    summary = (f"difference {format_number(check.get('mean_diff'), 2)} breaths/min "
               f"[{format_number(check.get('ci_low'), 2)}, "
               f"{format_number(check.get('ci_high'), 2)}]; threshold "
               f"{format_number(check.get('threshold_breaths_per_min'), 1)}; {verdict}")
    ax.set_title(summary, fontsize=SMALL_PT, color=INK, loc="left", wrap=True)
    ax.legend(handles=[
        Line2D([], [], color=MUTED, lw=0.6, label="participant"),
        Line2D([], [], color=INK, marker="D", ms=4.0, ls="none", mfc="white",
               label=f"mean, {_confidence(result):.0%} CI"),
    ], fontsize=FONT_PT, frameon=False, loc="best")
    return fig
