"""Statistics for within-participant comparisons and stress-reactivity change scores.

Qt-free and cheap to import (numpy and scipy; statsmodels only when a model is fitted).
"""

from biofeedback.stats.breathing import BreathingCheck, breathing_confound
from biofeedback.stats.change import difference, percent_recovery, residualized_change
from biofeedback.stats.mixed import FIXED_EFFECT_KEYS, MixedModelResult, fit_practice_model
from biofeedback.stats.paired import COMPARISON_KEYS, PairedComparison, paired_comparison

__all__ = [
    "COMPARISON_KEYS",
    "FIXED_EFFECT_KEYS",
    "BreathingCheck",
    "MixedModelResult",
    "PairedComparison",
    "breathing_confound",
    "difference",
    "fit_practice_model",
    "paired_comparison",
    "percent_recovery",
    "residualized_change",
]
