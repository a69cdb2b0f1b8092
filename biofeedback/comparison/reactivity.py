"""Stress reactivity and recovery per session (docs/domain.md section 6).

Per session with baseline, stressor and recovery windows: reactivity (stressor - baseline),
recovery (recovery - baseline) and % recovery for each metric; the residualised change
(stressor regressed on baseline across the sessions compared) is added over the whole set,
because a residual only means something relative to the sample it was fitted on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biofeedback.comparison.dataset import WindowRow
from biofeedback.stats.change import percent_recovery, residualized_change

__all__ = ["REACTIVITY_METRICS", "SessionReactivity", "session_reactivity"]

REACTIVITY_METRICS = ("hr_bpm", "ln_rmssd")
"""Metrics with reactivity and recovery scores: HR (bpm) and lnRMSSD (ln ms)."""


@dataclass
class SessionReactivity:
    """Reactivity and recovery of one session.

    Attributes
    ----------
    values : dict
        Metric -> {"baseline", "stressor", "recovery"} window values (None when excluded or
        missing; the reason is in ``missing``).
    reactivity, recovery, percent_recovery, residualized_reactivity : dict
        Metric -> score (None where not computable).
    """

    participant_id: str
    session_id: int
    condition: str | None
    position: int | None
    values: dict[str, dict[str, float | None]]
    reactivity: dict[str, float | None]
    recovery: dict[str, float | None]
    percent_recovery: dict[str, float | None]
    residualized_reactivity: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "participant_id": self.participant_id, "session_id": self.session_id,
            "condition": self.condition, "position": self.position, "values": self.values,
            "reactivity": self.reactivity, "recovery": self.recovery,
            "percent_recovery": self.percent_recovery,
            "residualized_reactivity": self.residualized_reactivity, "missing": self.missing,
        }


def session_reactivity(
    rows: Iterable[WindowRow], metrics: Sequence[str] = REACTIVITY_METRICS
) -> list[SessionReactivity]:
    """Scores of every session that has a stressor phase (others are not stress sessions)."""
    by_session: dict[int, list[WindowRow]] = defaultdict(list)
    for row in rows:
        by_session[row.session_id].append(row)
    results = []
    for session_rows in by_session.values():
        kinds = {r.window["kind"]: r for r in session_rows}
        if "stressor" not in kinds:
            continue
        first = session_rows[0]
        values: dict[str, dict[str, float | None]] = {}
        missing: dict[str, str] = {}
        for metric in metrics:
            values[metric] = {}
            for kind in ("baseline", "stressor", "recovery"):
                value, why = _value(kinds.get(kind), metric)
                values[metric][kind] = value
                if why:
                    missing[f"{metric}.{kind}"] = why
        results.append(SessionReactivity(
            first.participant_id, first.session_id, first.condition, first.position, values,
            {m: _minus(v["stressor"], v["baseline"]) for m, v in values.items()},
            {m: _minus(v["recovery"], v["baseline"]) for m, v in values.items()},
            {m: percent_recovery(v["baseline"], v["stressor"], v["recovery"])
             for m, v in values.items()},
            missing=missing,
        ))
    for metric in metrics:
        baseline = [r.values[metric]["baseline"] for r in results]
        stressor = [r.values[metric]["stressor"] for r in results]
        complete = sum(b is not None and s is not None for b, s in zip(baseline, stressor,
                                                                         strict=True))
        if complete < 3:
            for r in results:
                r.residualized_reactivity[metric] = None
            continue
        residuals = residualized_change(
            [math.nan if b is None else b for b in baseline],
            [math.nan if s is None else s for s in stressor],
        )
        for r, value in zip(results, residuals.tolist(), strict=True):
            r.residualized_reactivity[metric] = None if math.isnan(value) else value
    return results


def _value(row: WindowRow | None, metric: str) -> tuple[float | None, str]:
    if row is None:
        return None, "no window"
    if row.window.get("excluded"):
        return None, f"excluded ({row.window.get('exclusion_reason')})"
    value = row.window.get(metric)
    if value is None or not math.isfinite(float(value)):
        return None, "no value"
    return float(value), ""


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
