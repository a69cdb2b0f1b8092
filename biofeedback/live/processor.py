"""Live processing of one session: artifact detection, correction and indices, per batch.

:class:`LiveProcessor` is what the session pipeline calls for each :class:`BeatBatch` and
:class:`Gap` a source yields. It is numpy-only and synchronous (microseconds per beat); the
optional :class:`~biofeedback.live.nk_worker.NeuroKitWorker` runs neurokit2 in a thread on a
wall-clock cadence and its newest result rides along in every :class:`LiveUpdate`.

Indices lag the newest beat by the detector's two-beat look-ahead: a beat enters the
indices once its class is final.
"""

from __future__ import annotations

from dataclasses import dataclass

from biofeedback.core.types import ArtifactClass, BeatBatch, Gap
from biofeedback.live.artifacts import (
    ArtifactSettings,
    ClassifiedBeat,
    StreamingArtifactDetector,
    corrected_times,
)
from biofeedback.live.indices import FloatArray, LiveHrv, LiveHrvSettings, LiveIndices, _Growable
from biofeedback.live.nk_worker import NeuroKitResult, NeuroKitWorker

__all__ = ["LiveProcessor", "LiveUpdate"]


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """What one batch produced.

    Attributes
    ----------
    beats : tuple of ClassifiedBeat
        Beats whose class became final (the caller stores class and corrected values).
    indices : LiveIndices
        The latest live indices.
    nk : NeuroKitResult or None
        The newest finished neurokit2 result, when a worker is attached.
    """

    beats: tuple[ClassifiedBeat, ...]
    indices: LiveIndices
    nk: NeuroKitResult | None = None


class LiveProcessor:
    """Detector + incremental indices (+ optional neurokit2 worker) for one session.

    Parameters
    ----------
    artifact_settings : ArtifactSettings, optional
        Detector settings.
    hrv_settings : LiveHrvSettings, optional
        Index windows and cadences.
    nk_worker : NeuroKitWorker, optional
        Polled after every batch with the raw RR of the current gap-free segment.
    """

    def __init__(
        self,
        artifact_settings: ArtifactSettings | None = None,
        hrv_settings: LiveHrvSettings | None = None,
        nk_worker: NeuroKitWorker | None = None,
    ) -> None:
        self.detector = StreamingArtifactDetector(artifact_settings)
        self.hrv = LiveHrv(hrv_settings)
        self.nk_worker = nk_worker
        self._ectopic_open = False
        self._seg_rr = _Growable(4096)
        self._seg_t = _Growable(4096)

    # ------------------------------------------------------------------ pipeline API
    def process_batch(self, batch: BeatBatch, first_seq: int) -> LiveUpdate:
        """Classify the beats of one notification and update the indices.

        Parameters
        ----------
        batch : BeatBatch
            The notification's beats; they are numbered ``first_seq, first_seq + 1, ...``.
        first_seq : int
            Session sequence number of the batch's first beat.

        Returns
        -------
        LiveUpdate
            Beats that became final, latest indices and newest neurokit2 result.
        """
        final: list[ClassifiedBeat] = []
        for k, beat in enumerate(batch.beats):
            self._seg_rr.append(beat.rr_ms)
            self._seg_t.append(beat.time_s)
            final.extend(self.detector.push(first_seq + k, beat.rr_ms, beat.time_s))
        self._feed(final)
        nk = None
        if self.nk_worker is not None:
            nk = self.nk_worker.poll(self._segment_raw)
        return LiveUpdate(tuple(final), self.hrv.snapshot(), nk)

    def process_gap(self, gap: Gap) -> list[ClassifiedBeat]:
        """Finalise pending beats and start a new segment: nothing is computed across a gap.

        Returns
        -------
        list of ClassifiedBeat
            The beats finalised by the flush (their look-ahead stops at the gap).
        """
        final = self.detector.flush()
        self._feed(final)
        self.hrv.mark_gap(gap)
        self._ectopic_open = False
        self._seg_rr = _Growable(4096)
        self._seg_t = _Growable(4096)
        return final

    def finish(self) -> list[ClassifiedBeat]:
        """Finalise all pending beats at the end of the session."""
        final = self.detector.flush()
        self._feed(final)
        return final

    def refresh_spectral_if_due(self) -> bool:
        """Run a due spectral refresh (for ``LiveHrvSettings(spectral_inline=False)``)."""
        return self.hrv.refresh_spectral_if_due()

    def snapshot(self) -> LiveIndices:
        """The latest indices."""
        return self.hrv.snapshot()

    def close(self) -> None:
        """Shut the neurokit2 worker down, if any."""
        if self.nk_worker is not None:
            self.nk_worker.close()

    # ------------------------------------------------------------------ internals
    def _feed(self, beats: list[ClassifiedBeat]) -> None:
        hrv = self.hrv
        for b in beats:
            first = False
            if b.artifact is ArtifactClass.ECTOPIC:
                first = not self._ectopic_open
                self._ectopic_open = first
            else:
                self._ectopic_open = False
            hrv.add_beat_class(b.time_s, b.artifact is not ArtifactClass.NORMAL)
            for nn, t in zip(b.corrected_ms, corrected_times(b, first), strict=True):
                hrv.add(nn, t)

    def _segment_raw(self) -> tuple[FloatArray, FloatArray]:
        return self._seg_rr.view().copy(), self._seg_t.view().copy()
