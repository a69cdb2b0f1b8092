"""The comparison's per-participant tables, built in one pass over the study (issue 17 goal 6:
cost linear in the study's size), equal those of the old path that scanned every response
once per participant and practice, kept here as the reference.

The study is hand-built windows of many participants with the cases that matter: a practice
whose id is also a category name (``participant_means`` matches either), participants with one
category only, excluded windows, HF not valid, feedback recorded or not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from biofeedback.comparison.compare import _breathing_means, _participants
from biofeedback.comparison.contrasts import (
    METRICS,
    PracticeResponse,
    participant_means,
    practice_responses,
)
from biofeedback.comparison.dataset import WindowRow
from biofeedback.comparison.feedback import FEEDBACK_LEVELS, feedback_split

PRACTICES = (("soothing_touch", "self_soothing"), ("self_soothing", "self_soothing"),
             ("body_scan", "attention"), ("mindfulness_of_breathing", "attention"))


def old_participants(responses: Sequence[PracticeResponse]) -> list[dict[str, Any]]:
    """``compare._participants`` as it was before issue 17 goal 6 (quadratic)."""
    breathing, sources = _breathing_means(responses)
    means = {metric: participant_means(responses, metric) for metric in METRICS}
    out = []
    for participant in sorted(breathing):
        entry: dict[str, Any] = {"participant_id": participant}
        for metric in METRICS:
            for category in ("self_soothing", "attention"):
                entry[f"delta_{metric}_{category}"] = means[metric][participant][category]
        for category in ("self_soothing", "attention"):
            entry[f"breaths_per_min_{category}"] = breathing[participant].get(category)
        entry["breathing_source"] = sources[participant]
        entry["per_practice"] = {
            practice: {
                f"delta_{metric}": participant_means(responses, metric, practice=practice)
                .get(participant, {}).get(category)
                for metric in METRICS
            }
            for category, practice in sorted({(r.category, r.practice) for r in responses
                                              if r.participant_id == participant})
        }
        out.append(entry)
    return out


def window(rng: random.Random, kind: str, practice: str | None = None,
           category: str | None = None) -> dict[str, Any]:
    excluded = rng.random() < 0.1
    acc = rng.random() < 0.7
    return {
        "phase_id": practice or kind, "kind": kind, "practice": practice, "category": category,
        "ln_rmssd": rng.gauss(3.5, 0.4), "hr_bpm": rng.gauss(68.0, 6.0),
        "hf_ms2": rng.uniform(100.0, 900.0), "lf_ms2": rng.uniform(200.0, 1500.0),
        "breaths_per_min": rng.uniform(5.0, 16.0), "breaths_per_min_rr": rng.uniform(5.0, 16.0),
        "breathing_source": "acc" if acc else "rr", "hf_valid": rng.random() < 0.8,
        "excluded": excluded, "exclusion_reason": "artifacts 8.0 % > 5 %" if excluded else None,
        "feedback": rng.choice((*FEEDBACK_LEVELS, None)),
    }


def study(participants: int, seed: int) -> list[WindowRow]:
    rng = random.Random(seed)
    rows = []
    sid = 0
    for p in range(participants):
        pid = f"P{p:03d}"
        for _ in range(rng.randint(1, 3)):
            sid += 1
            windows = [window(rng, "baseline")]
            for practice, category in rng.sample(PRACTICES, rng.randint(1, 2)):
                windows.append(window(rng, "practice", practice, category))
            windows.append(window(rng, "recovery"))
            rows += [WindowRow(pid, sid, f"2026-11-{1 + sid % 28:02d}T10:00:00Z", "S", None,
                               0, "practice_comparison", w) for w in windows]
    return rows


def test_per_participant_tables_equal_the_old_path():
    for seed in range(3):
        responses = practice_responses(study(40, seed))
        assert len({r.participant_id for r in responses}) > 30
        assert _participants(responses) == old_participants(responses)


def test_feedback_pairs_equal_the_old_path():
    rows = study(40, 7)
    split = feedback_split(rows, METRICS)
    responses = [r for r in practice_responses(rows, categories=None)
                 if r.feedback in FEEDBACK_LEVELS]
    for practice in split["practices"]:
        group = [r for r in responses if (r.practice, r.category)
                 == (practice["practice"], practice["category"])]
        people = sorted({r.participant_id for r in group})
        paired = [p for p in people if {r.feedback for r in group if r.participant_id == p}
                  == set(FEEDBACK_LEVELS)]
        assert [p["participant_id"] for p in practice["participants"]] == people
        assert practice["n_paired"] == len(paired) > 0

