"""Statistics for within-participant comparisons and stress-reactivity change scores.

Qt-free and cheap to import (numpy and scipy only).
"""

from biofeedback.stats.change import difference, percent_recovery, residualized_change
from biofeedback.stats.paired import COMPARISON_KEYS, PairedComparison, paired_comparison

__all__ = [
    "COMPARISON_KEYS",
    "PairedComparison",
    "difference",
    "paired_comparison",
    "percent_recovery",
    "residualized_change",
]
