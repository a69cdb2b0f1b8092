"""Per-phase HRV analysis (neurokit2, imported lazily on first use).

Importing this package does not import neurokit2 (about 3 s); the first call to
:func:`analyze_recording` does.
"""

from biofeedback.analysis.phases import (
    ARTIFACT_CLASSES,
    WHOLE_RECORDING,
    analyze_recording,
    breathing_rate,
    library_versions,
)
from biofeedback.analysis.results import PHASE_KEYS, AnalysisResult, PhaseResult, format_table
from biofeedback.analysis.settings import AnalysisSettings

__all__ = [
    "ARTIFACT_CLASSES",
    "PHASE_KEYS",
    "WHOLE_RECORDING",
    "AnalysisResult",
    "AnalysisSettings",
    "PhaseResult",
    "analyze_recording",
    "breathing_rate",
    "format_table",
    "library_versions",
]
