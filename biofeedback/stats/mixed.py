"""Linear mixed model of practice effects across participants, sessions and phases.

With several sessions, phases or windows per participant, the paired comparison of
:mod:`biofeedback.stats.paired` throws information away. docs/domain.md section 6 prescribes
instead a linear mixed model with a random intercept per participant and fixed effects for the
practice category, the phase, their interaction and the order of the condition::

    ln_rmssd ~ C(category, Treatment('attention')) * C(phase) + order,  groups = participant

fitted with :func:`statsmodels.formula.api.mixedlm` (Seabold & Perktold 2010) by restricted
maximum likelihood (REML; Patterson & Thompson 1971). REML is the default of lme4 and
statsmodels because it gives unbiased variance components in small samples (Bates et al.
2015, section 3.4); its log-likelihood is only comparable between models with the same fixed
effects. Fixed-effect tests and intervals are Wald z statistics (statsmodels reports no
denominator degrees of freedom for MixedLM), a little liberal with few participants.

Excluded rows (phases above the artifact threshold, docs/domain.md section 4) and rows with a
missing value are dropped and counted in ``n_excluded`` and ``n_missing``, never silently.
Warnings raised by statsmodels while fitting (convergence, variance on the boundary) are
captured into ``notes`` instead of leaking to the caller's console.

statsmodels and pandas are imported inside :func:`fit_practice_model`: statsmodels takes about
2 s to import, and :mod:`biofeedback.stats` must stay cheap to import.

References
----------
Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. Journal of Statistical Software, 67(1), 1-48.
Patterson, H. D., & Thompson, R. (1971). Recovery of inter-block information when block sizes
are unequal. Biometrika, 58(3), 545-554.
Seabold, S., & Perktold, J. (2010). statsmodels: econometric and statistical modeling with
Python. Proceedings of the 9th Python in Science Conference, 92-96.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

if TYPE_CHECKING:  # pandas only for annotations; imported lazily at run time.
    import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = ("participant", "category", "phase", "order", "excluded")
"""Columns :func:`fit_practice_model` needs besides the outcome column."""

REFERENCE_CATEGORY = "attention"
"""Treatment-coding reference: the category coefficient is self-soothing minus attention, the
same sign as the paired contrast ``self-soothing - attention``."""

FIXED_EFFECT_KEYS: tuple[str, ...] = (
    "term", "estimate", "std_error", "z", "p", "ci_low", "ci_high",
)
"""Keys of each entry of :attr:`MixedModelResult.fixed_effects`, in order."""

# Wald interval level. 95 % is the psychophysiology reporting convention (docs/domain.md section 6).
_CONFIDENCE = 0.95

# At least this many participants (groups) are needed before a random-intercept variance is
# worth estimating: with two, the between-person variance has one degree of freedom and REML
# lands on the boundary or fails to converge.
_MIN_PARTICIPANTS = 3


@dataclass(frozen=True)
class MixedModelResult:
    """Result of :func:`fit_practice_model`.

    Attributes
    ----------
    formula : str
        The exact patsy formula passed to :func:`statsmodels.formula.api.mixedlm`; ``""`` when
        no formula could be built (see ``error``).
    outcome : str
        Outcome column, e.g. ``"ln_rmssd"`` (ln(ms)).
    n_observations : int
        Rows used in the fit (after dropping excluded and missing rows).
    n_participants : int
        Distinct participants (random-intercept groups) among the rows used.
    n_excluded : int
        Rows dropped because ``excluded`` was true.
    n_missing : int
        Non-excluded rows dropped because the outcome or a model column (participant,
        category, phase, order) was missing.
    method : str
        ``"REML"`` (restricted maximum likelihood; Patterson & Thompson 1971).
    converged : bool
        statsmodels' convergence flag; False when there was no fit.
    fixed_effects : tuple of dict
        One dict per fixed-effect term with the keys of :data:`FIXED_EFFECT_KEYS`: the patsy
        term name, the estimate (outcome units, per unit of ``order`` for the order term), its
        standard error, Wald z, two-sided p and the 95 % Wald interval. Non-finite values are
        None.
    random_intercept_variance : float or None
        Between-participant variance of the intercept, squared outcome units.
    residual_variance : float or None
        Within-participant residual variance (statsmodels' ``scale``), squared outcome units.
    log_likelihood : float or None
        REML log-likelihood; comparable only between models with the same fixed effects.
    notes : tuple of str
        Terms dropped and why, the reference levels, rows dropped, and every warning
        statsmodels raised while fitting (as ``"WarningClass: message"``).
    error : str or None
        Why no model was fitted (too few participants, a single category, a singular
        design); None after a fit.
    """

    formula: str
    outcome: str
    n_observations: int
    n_participants: int
    n_excluded: int
    n_missing: int
    method: str = "REML"
    converged: bool = False
    fixed_effects: tuple[dict[str, Any], ...] = ()
    random_intercept_variance: float | None = None
    residual_variance: float | None = None
    log_likelihood: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    def fixed_effect(self, term: str) -> dict[str, Any] | None:
        """Return the fixed-effect entry whose ``term`` equals ``term``, or None."""
        for entry in self.fixed_effects:
            if entry["term"] == term:
                return dict(entry)
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``mixed_model`` of ``compare --json``, issue 6).

        Returns
        -------
        dict
            Only ``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts; no numpy
            types and no NaN (non-finite numbers are None).
        """
        return {
            "formula": self.formula,
            "outcome": self.outcome,
            "n_observations": int(self.n_observations),
            "n_participants": int(self.n_participants),
            "n_excluded": int(self.n_excluded),
            "n_missing": int(self.n_missing),
            "method": self.method,
            "converged": bool(self.converged),
            "fixed_effects": [
                {key: _json_value(entry[key]) for key in FIXED_EFFECT_KEYS}
                for entry in self.fixed_effects
            ],
            "random_intercept_variance": _finite_or_none(self.random_intercept_variance),
            "residual_variance": _finite_or_none(self.residual_variance),
            "log_likelihood": _finite_or_none(self.log_likelihood),
            "notes": list(self.notes),
            "error": self.error,
        }


def _finite_or_none(value: Any) -> float | None:
    """A plain float, or None for None, NaN and infinities (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json_value(value: Any) -> Any:
    """Strings pass; numbers become finite floats or None."""
    return value if isinstance(value, str) else _finite_or_none(value)


def _as_frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Copy ``rows`` into a fresh DataFrame (the caller's frame is never modified)."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        # A fresh RangeIndex: a caller's duplicate index labels would misalign the masks below.
        return rows.reset_index(drop=True)
    return pd.DataFrame.from_records(list(rows))


def _is_excluded(value: Any) -> bool:
    """Truthiness of an ``excluded`` cell; None and NaN (flag never set) mean not excluded."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def _build_formula(
    outcome: str, categories: list[str], phases: list[str], order_varies: bool
) -> tuple[str, list[str]]:
    """Build the fixed-effects formula and the notes explaining its shape.

    Parameters
    ----------
    outcome : str
        Outcome column name (a Python identifier).
    categories : list of str
        Distinct category labels present (at least 2).
    phases : list of str
        Distinct phase labels present.
    order_varies : bool
        Whether ``order`` takes more than one value.

    Returns
    -------
    formula : str
        Patsy formula.
    notes : list of str
        Reference levels and dropped terms.
    """
    notes: list[str] = []
    reference = REFERENCE_CATEGORY if REFERENCE_CATEGORY in categories else sorted(categories)[0]
    if reference != REFERENCE_CATEGORY:
        notes.append(
            f"no '{REFERENCE_CATEGORY}' category: reference category is '{reference}'"
        )
    else:
        notes.append(f"category coded against '{reference}' (estimate = other - {reference})")
    category_term = f"C(category, Treatment({reference!r}))"
    if len(phases) > 1:
        rhs = f"{category_term} * C(phase)"
        # patsy's default treatment reference is the first level in sorted order; with the
        # interaction in the model the category estimate is the contrast at that phase.
        notes.append(
            f"phase coded against '{sorted(phases)[0]}': the category estimate is the "
            "contrast in that phase; the interaction terms give its change in the others"
        )
    else:
        # One phase level: C(phase) would be a column of the intercept and the interaction
        # would duplicate the category term, leaving a singular design.
        rhs = category_term
        notes.append("phase term and category x phase interaction dropped: one phase level")
    if order_varies:
        rhs += " + order"
    else:
        # A constant order column is collinear with the intercept.
        notes.append("order term dropped: order does not vary")
    return f"{outcome} ~ {rhs}", notes


def fit_practice_model(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]], *, outcome: str = "ln_rmssd"
) -> MixedModelResult:
    """Fit the practice-category mixed model with a random intercept per participant.

    Parameters
    ----------
    rows : pandas.DataFrame or iterable of mapping
        Tidy long records, one per participant x session x condition x phase (x window).
        Columns used: ``participant`` (id, any hashable), ``category`` (``"self_soothing"``
        or ``"attention"``; other labels allowed), ``phase`` (phase kind or id, e.g.
        ``"practice"``, ``"recovery"``), ``order`` (position of the condition in the
        participant's sequence, int), the ``outcome`` column and ``excluded`` (bool; None
        counts as not excluded). Extra columns are ignored.
    outcome : str, default "ln_rmssd"
        Outcome column, a Python identifier (it is written into the formula). Log-transformed
        HRV (ln(ms) for lnRMSSD, ln(ms^2) for lnHF) is the convention (docs/domain.md section 6).

    Returns
    -------
    MixedModelResult
        The fit, or a result whose ``error`` says why there is none (fewer than 3
        participants, a single category, or a design statsmodels cannot fit). Never raises
        for data that are merely too few.

    Raises
    ------
    ValueError
        If a required column is missing, ``outcome`` is not an identifier, the outcome holds
        infinities (a bug upstream, such as the log of 0) or non-numbers, or ``order`` is not
        numeric.

    Notes
    -----
    The formula is ``outcome ~ C(category, Treatment('attention')) * C(phase) + order`` with
    a random intercept per participant (Bates et al. 2015), fitted as
    ``smf.mixedlm(formula, data, groups="participant").fit(reml=True)`` (statsmodels' default
    optimisers). The phase term and interaction are dropped when only one phase level
    remains, and the order term when order does not vary; ``notes`` says so. Wald 95 %
    intervals are ``estimate -/+ 1.96 SE``.
    """
    import pandas as pd

    if not outcome.isidentifier():
        raise ValueError(f"outcome must be a Python identifier, got {outcome!r}")
    frame = _as_frame(rows)
    if frame.empty and len(frame.columns) == 0:
        # No records at all (no self-soothing or attention practice, say) is data that are
        # merely too few, not a missing column: the category check below says so.
        frame = pd.DataFrame(columns=[*REQUIRED_COLUMNS, outcome])
    absent = [name for name in (*REQUIRED_COLUMNS, outcome) if name not in frame.columns]
    if absent:
        raise ValueError(f"rows lack required column(s): {', '.join(absent)}")

    try:
        values = pd.to_numeric(frame[outcome], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outcome column {outcome!r} is not numeric: {exc}") from exc
    if np.isinf(values.to_numpy()).any():
        # Counting an infinity as missing would hide the bug that produced it.
        raise ValueError(f"outcome column {outcome!r} contains infinite values")
    try:
        order = pd.to_numeric(frame["order"], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"order column is not numeric: {exc}") from exc

    excluded = frame["excluded"].map(_is_excluded).astype(bool)
    n_excluded = int(excluded.sum())
    kept = frame.loc[~excluded].copy()
    kept[outcome] = values[~excluded]
    kept["order"] = order[~excluded]

    # Excluded rows are counted once, as excluded; only the rest are checked for missing values.
    outcome_missing = kept[outcome].isna()
    design_missing = kept[["participant", "category", "phase", "order"]].isna().any(axis=1)
    missing = outcome_missing | design_missing
    n_missing = int(missing.sum())
    data = kept.loc[~missing, ["participant", "category", "phase", "order", outcome]].copy()
    # Labels as strings: patsy then sees categorical levels, not numbers (phase ids may be ints).
    data["category"] = data["category"].astype(str)
    data["phase"] = data["phase"].astype(str)
    data = data.reset_index(drop=True)

    notes: list[str] = []
    if n_excluded:
        notes.append(f"{n_excluded} excluded row(s) dropped")
    if n_missing:
        notes.append(
            f"{n_missing} row(s) dropped for missing values: {int(outcome_missing.sum())} "
            f"missing {outcome}, {int((design_missing & ~outcome_missing).sum())} missing "
            "participant, category, phase or order"
        )

    n_observations = len(data)
    n_participants = int(data["participant"].nunique())
    categories = sorted(data["category"].unique().tolist())
    counts: _Counts = {
        "outcome": outcome, "n_observations": n_observations,
        "n_participants": n_participants, "n_excluded": n_excluded, "n_missing": n_missing,
    }
    if len(categories) < 2:
        return MixedModelResult(
            formula="", notes=tuple(notes), **counts,
            error=f"a category contrast needs 2 categories, found {len(categories)}: "
            f"{categories}",
        )
    formula, formula_notes = _build_formula(
        outcome, categories, data["phase"].unique().tolist(), bool(data["order"].nunique() > 1)
    )
    notes.extend(formula_notes)
    if n_participants < _MIN_PARTICIPANTS:
        return MixedModelResult(
            formula=formula, notes=tuple(notes), **counts,
            error=f"{n_participants} participant(s): at least {_MIN_PARTICIPANTS} are needed "
            "to estimate a random intercept",
        )

    import statsmodels.formula.api as smf

    with warnings.catch_warnings(record=True) as caught:
        # "always" so that a warning already shown once in this process is still recorded.
        warnings.simplefilter("always")
        try:
            fitted = smf.mixedlm(formula, data, groups="participant").fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as exc:
            # A singular design (e.g. category confounded with order) is a property of the
            # data, not a bug: report it like the other unfittable cases.
            notes.extend(_warning_notes(caught))
            return MixedModelResult(
                formula=formula, notes=tuple(notes), **counts,
                error=f"statsmodels could not fit the model: {type(exc).__name__}: {exc}",
            )
    notes.extend(_warning_notes(caught))
    if not fitted.converged:
        notes.append("the REML optimiser did not converge: estimates are unreliable")

    intervals = fitted.conf_int(alpha=1.0 - _CONFIDENCE)
    fixed_effects = tuple(
        {
            "term": str(term),
            "estimate": _finite_or_none(fitted.fe_params[term]),
            "std_error": _finite_or_none(fitted.bse_fe[term]),
            "z": _finite_or_none(fitted.tvalues[term]),
            "p": _finite_or_none(fitted.pvalues[term]),
            "ci_low": _finite_or_none(intervals.loc[term, 0]),
            "ci_high": _finite_or_none(intervals.loc[term, 1]),
        }
        for term in fitted.fe_params.index
    )
    return MixedModelResult(
        formula=formula,
        method="REML",
        converged=bool(fitted.converged),
        fixed_effects=fixed_effects,
        random_intercept_variance=_finite_or_none(fitted.cov_re.iloc[0, 0]),
        residual_variance=_finite_or_none(fitted.scale),
        log_likelihood=_finite_or_none(fitted.llf),
        notes=tuple(notes),
        **counts,
    )


class _Counts(TypedDict):
    """The fields of :class:`MixedModelResult` known before any fit, for every return path."""

    outcome: str
    n_observations: int
    n_participants: int
    n_excluded: int
    n_missing: int


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Captured warnings as ``"Class: message"`` texts, duplicates removed, order kept."""
    texts = [f"{w.category.__name__}: {w.message}" for w in caught]
    return list(dict.fromkeys(texts))
