"""Practice mixed model: known answers against statsmodels, formula, counting, degenerate data."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from biofeedback.stats.mixed import FIXED_EFFECT_KEYS, MixedModelResult, fit_practice_model

CATEGORY_EFFECT = 0.25  # ln(ms): self-soothing minus attention
INTERCEPT_SD = 0.4
RESIDUAL_SD = 0.15
FULL_FORMULA = "ln_rmssd ~ C(category, Treatment('attention')) * C(phase) + order"
CATEGORY_TERM = "C(category, Treatment('attention'))[T.self_soothing]"


def synthetic_rows(
    n_participants: int = 20, *, seed: int = 20240506, intercept_sd: float = INTERCEPT_SD
) -> pd.DataFrame:
    """20 participants x 2 categories x 2 phases, counterbalanced order, known effects."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_participants):
        intercept = 3.5 + rng.normal(0.0, intercept_sd)
        # Counterbalanced: even participants do self-soothing first.
        first = "self_soothing" if p % 2 == 0 else "attention"
        for category in ("self_soothing", "attention"):
            order = 1 if category == first else 2
            for phase in ("practice", "recovery"):
                rows.append({
                    "participant": f"P{p:02d}",
                    "category": category,
                    "phase": phase,
                    "order": order,
                    "ln_rmssd": intercept
                    + CATEGORY_EFFECT * (category == "self_soothing")
                    + 0.1 * (phase == "recovery")
                    + rng.normal(0.0, RESIDUAL_SD),
                    "excluded": False,
                })
    return pd.DataFrame(rows)


def direct_fit(frame: pd.DataFrame, formula: str):
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(formula, frame, groups="participant").fit(reml=True)


@pytest.fixture(scope="module")
def full_result() -> MixedModelResult:
    return fit_practice_model(synthetic_rows())


def test_formula_and_counts(full_result):
    assert full_result.formula == FULL_FORMULA
    assert full_result.error is None
    assert full_result.method == "REML"
    assert full_result.converged is True
    assert full_result.outcome == "ln_rmssd"
    assert full_result.n_observations == 80
    assert full_result.n_participants == 20
    assert full_result.n_excluded == 0
    assert full_result.n_missing == 0
    assert [e["term"] for e in full_result.fixed_effects] == [
        "Intercept",
        CATEGORY_TERM,
        "C(phase)[T.recovery]",
        f"{CATEGORY_TERM}:C(phase)[T.recovery]",
        "order",
    ]
    assert all(tuple(e) == FIXED_EFFECT_KEYS for e in full_result.fixed_effects)


def test_category_effect_recovered(full_result):
    effect = full_result.fixed_effect(CATEGORY_TERM)
    assert effect is not None
    assert abs(effect["estimate"] - CATEGORY_EFFECT) < 2 * effect["std_error"]
    assert effect["ci_low"] < CATEGORY_EFFECT < effect["ci_high"]
    assert effect["p"] < 0.001
    # Variance components near the truth (loose: 20 participants).
    assert 0.05 < full_result.random_intercept_variance < 0.4  # truth 0.16
    assert 0.01 < full_result.residual_variance < 0.04  # truth 0.0225


def test_known_answer_against_statsmodels(full_result):
    fitted = direct_fit(synthetic_rows(), FULL_FORMULA)
    ci = fitted.conf_int(alpha=0.05)
    for entry in full_result.fixed_effects:
        term = entry["term"]
        assert entry["estimate"] == pytest.approx(fitted.fe_params[term], abs=1e-8)
        assert entry["std_error"] == pytest.approx(fitted.bse_fe[term], abs=1e-8)
        assert entry["z"] == pytest.approx(fitted.tvalues[term], abs=1e-8)
        assert entry["p"] == pytest.approx(fitted.pvalues[term], abs=1e-8)
        assert entry["ci_low"] == pytest.approx(ci.loc[term, 0], abs=1e-8)
        assert entry["ci_high"] == pytest.approx(ci.loc[term, 1], abs=1e-8)
        # The Wald interval is estimate -/+ z(0.975) SE.
        half = 1.959963984540054 * entry["std_error"]
        assert entry["ci_high"] - entry["estimate"] == pytest.approx(half, abs=1e-10)
    assert full_result.random_intercept_variance == pytest.approx(
        fitted.cov_re.iloc[0, 0], abs=1e-8
    )
    assert full_result.residual_variance == pytest.approx(fitted.scale, abs=1e-8)
    assert full_result.log_likelihood == pytest.approx(fitted.llf, abs=1e-8)


def test_records_and_dataframe_give_the_same_fit(full_result):
    from_records = fit_practice_model(synthetic_rows().to_dict("records"))
    assert from_records == full_result


def test_excluded_and_missing_rows_are_counted_not_silently_dropped(full_result):
    frame = synthetic_rows()
    extra = pd.DataFrame([
        # Excluded rows are dropped even when their outcome is present (or missing).
        {"participant": "P00", "category": "attention", "phase": "stressor", "order": 1,
         "ln_rmssd": 9.9, "excluded": True},
        {"participant": "P01", "category": "attention", "phase": "stressor", "order": 1,
         "ln_rmssd": None, "excluded": True},
        # Missing outcome, and a missing design value.
        {"participant": "P02", "category": "attention", "phase": "stressor", "order": 1,
         "ln_rmssd": None, "excluded": False},
        {"participant": "P03", "category": "attention", "phase": "stressor", "order": 1,
         "ln_rmssd": float("nan"), "excluded": None},
        {"participant": None, "category": "attention", "phase": "stressor", "order": 1,
         "ln_rmssd": 3.0, "excluded": False},
    ])
    mixed = pd.concat([frame, extra], ignore_index=True)
    before = mixed.copy()
    result = fit_practice_model(mixed)
    assert result.n_excluded == 2
    assert result.n_missing == 3
    assert result.n_observations == 80
    # The dropped rows (the only "stressor" rows) leave the same fit as the clean data.
    assert result.fixed_effects == full_result.fixed_effects
    assert any("2 excluded row(s) dropped" in note for note in result.notes)
    assert any(
        "3 row(s) dropped for missing values: 2 missing ln_rmssd, 1 missing" in note
        for note in result.notes
    )
    pd.testing.assert_frame_equal(mixed, before)  # the caller's frame is untouched


def test_all_rows_of_a_phase_excluded_drops_the_phase_term():
    frame = synthetic_rows()
    frame.loc[frame["phase"] == "recovery", "excluded"] = True
    result = fit_practice_model(frame)
    assert result.n_excluded == 40
    assert result.formula == "ln_rmssd ~ C(category, Treatment('attention')) + order"


def test_one_phase_drops_phase_term_with_note():
    frame = synthetic_rows()
    frame = frame[frame["phase"] == "practice"]
    result = fit_practice_model(frame)
    assert result.error is None
    assert result.formula == "ln_rmssd ~ C(category, Treatment('attention')) + order"
    assert any("phase term" in note and "one phase level" in note for note in result.notes)
    assert [e["term"] for e in result.fixed_effects] == ["Intercept", CATEGORY_TERM, "order"]
    fitted = direct_fit(frame.reset_index(drop=True), result.formula)
    assert result.fixed_effect(CATEGORY_TERM)["estimate"] == pytest.approx(
        fitted.fe_params[CATEGORY_TERM], abs=1e-8
    )


def test_constant_order_drops_order_term_with_note():
    frame = synthetic_rows()
    frame["order"] = 1
    result = fit_practice_model(frame)
    assert result.formula == "ln_rmssd ~ C(category, Treatment('attention')) * C(phase)"
    assert any("order term dropped" in note for note in result.notes)


def test_other_outcome_column():
    frame = synthetic_rows().rename(columns={"ln_rmssd": "hr"})
    result = fit_practice_model(frame, outcome="hr")
    assert result.formula == FULL_FORMULA.replace("ln_rmssd", "hr")
    assert result.outcome == "hr"


def test_too_few_participants_gives_error_text():
    frame = synthetic_rows()
    frame = frame[frame["participant"].isin(["P00", "P01"])]
    result = fit_practice_model(frame)
    assert result.error is not None
    assert "2 participant(s)" in result.error
    assert result.fixed_effects == ()
    assert result.converged is False
    assert result.formula == FULL_FORMULA  # the intended model is still reported
    assert result.n_observations == 8
    json.dumps(result.to_dict(), allow_nan=False)


def test_single_category_gives_error_text():
    frame = synthetic_rows()
    result = fit_practice_model(frame[frame["category"] == "attention"])
    assert result.error is not None
    assert "2 categories" in result.error
    assert result.fixed_effects == ()


def test_no_rows_at_all_gives_error_text_not_a_missing_column():
    # A comparison of breathing practices only has no self-soothing or attention row.
    result = fit_practice_model([], outcome="delta_ln_rmssd")
    assert result.error == "a category contrast needs 2 categories, found 0: []"
    assert (result.fixed_effects, result.n_observations) == ((), 0)
    json.dumps(result.to_dict(), allow_nan=False)


def test_to_dict_is_json_ready(full_result):
    data = full_result.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["formula"] == FULL_FORMULA
    assert data["n_observations"] == 80
    assert isinstance(data["fixed_effects"], list)
    for entry in data["fixed_effects"]:
        for key in FIXED_EFFECT_KEYS[1:]:
            assert type(entry[key]) is float


def test_statsmodels_warnings_are_captured_not_leaked():
    # No between-person variance: REML sits on the boundary and statsmodels warns.
    frame = synthetic_rows(intercept_sd=0.0, seed=3)
    frame["ln_rmssd"] = 3.5 + np.random.default_rng(3).normal(0.0, 0.15, len(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit_practice_model(frame)
    assert result.error is None
    assert any("Warning" in note for note in result.notes)
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert math.isfinite(result.fixed_effect(CATEGORY_TERM)["estimate"])


def test_bad_input_raises():
    frame = synthetic_rows()
    with pytest.raises(ValueError, match="required column"):
        fit_practice_model(frame.drop(columns=["order"]))
    frame.loc[0, "ln_rmssd"] = float("-inf")
    with pytest.raises(ValueError, match="infinite"):
        fit_practice_model(frame)
    with pytest.raises(ValueError, match="identifier"):
        fit_practice_model(frame, outcome="ln rmssd")
