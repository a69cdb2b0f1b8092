"""Live, per-beat, gap-aware HRV processing (numpy only; neurokit2 only in
``nk_worker``'s process).

Modules: :mod:`~biofeedback.live.artifacts` (causal artifact detection and correction),
:mod:`~biofeedback.live.indices` (incremental time-domain indices, cached spectral ones),
:mod:`~biofeedback.live.spectral` (resampling, Welch, breathing rate, coherence),
:mod:`~biofeedback.live.processor` (the session pipeline's entry point),
:mod:`~biofeedback.live.nk_worker` (neurokit2 on the rolling window, in a worker process).
"""

from biofeedback.live.artifacts import (
    ArtifactSettings,
    ClassifiedBeat,
    StreamingArtifactDetector,
    corrected_times,
)
from biofeedback.live.indices import LiveHrv, LiveHrvSettings, LiveIndices
from biofeedback.live.nk_worker import NeuroKitResult, NeuroKitWorker
from biofeedback.live.processor import LiveProcessor, LiveUpdate

__all__ = [
    "ArtifactSettings",
    "ClassifiedBeat",
    "LiveHrv",
    "LiveHrvSettings",
    "LiveIndices",
    "LiveProcessor",
    "LiveUpdate",
    "NeuroKitResult",
    "NeuroKitWorker",
    "StreamingArtifactDetector",
    "corrected_times",
]
