"""Classify a whole recording at once with the live artifact detector (imports, replays).

An imported file is classed by the same :class:`~biofeedback.live.artifacts.
StreamingArtifactDetector` a live session runs, so a stored import and a recorded session
carry the same classes: implausible intervals (below 250 ms or above 3000 ms by default)
are kept raw and classed as artifacts, never dropped.
"""

from __future__ import annotations

from biofeedback.core.recording import Recording
from biofeedback.live.artifacts import ArtifactSettings, ClassifiedBeat, StreamingArtifactDetector

__all__ = ["classify_recording"]


def classify_recording(
    recording: Recording, settings: ArtifactSettings | None = None
) -> list[ClassifiedBeat]:
    """Artifact class and corrected intervals of every beat of a recording.

    Parameters
    ----------
    recording : Recording
        Raw beats; beat ``i`` is classed with ``seq = i``.
    settings : ArtifactSettings, optional
        Detector settings (default: :class:`ArtifactSettings`, Lipponen & Tarvainen 2019).

    Returns
    -------
    list of ClassifiedBeat
        One per beat, in order. The detector starts afresh at each gap
        (:meth:`Recording.segment_ids`), as a live session does, so no decision looks across
        a gap.
    """
    detector = StreamingArtifactDetector(settings)
    segments = recording.segment_ids().tolist()
    out: list[ClassifiedBeat] = []
    current = segments[0] if segments else 0
    for seq, (rr, t, segment) in enumerate(
        zip(recording.rr_ms.tolist(), recording.time_s.tolist(), segments, strict=True)
    ):
        if segment != current:
            out.extend(detector.flush())
            current = segment
        out.extend(detector.push(seq, rr, t))
    out.extend(detector.flush())
    return out
