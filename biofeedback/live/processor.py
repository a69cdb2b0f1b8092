"""Live processing of one session: artifact detection, correction and indices, per batch.

:class:`LiveProcessor` is what the session pipeline calls for each :class:`BeatBatch` and
:class:`Gap` a source yields. It is numpy-only and synchronous (microseconds per beat); the
optional :class:`~biofeedback.live.nk_worker.NeuroKitWorker` runs neurokit2 in a worker process on a
wall-clock cadence and its newest result rides along in every :class:`LiveUpdate`.

The indices are not part of :class:`LiveUpdate`: :meth:`LiveProcessor.snapshot` computes them
lazily (cached until beats are added or the spectral values refresh), so the UI and CLI read
them at their own pace. Spectral values are refreshed by the caller through
:meth:`LiveProcessor.refresh_spectral_if_due` (after batches; the caller decides when, e.g.
after every batch in real time and throttled by the wall clock at max speed).

Indices lag the newest beat by the detector's two-beat look-ahead: a beat enters the
indices once its class is final.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from biofeedback.core.types import ArtifactClass, BeatBatch, Gap
from biofeedback.live.artifacts import (
    ArtifactSettings,
    ClassifiedBeat,
    StreamingArtifactDetector,
    corrected_times,
)
from biofeedback.live.indices import FloatArray, LiveHrv, LiveHrvSettings, LiveIndices
from biofeedback.live.nk_worker import NeuroKitResult, NeuroKitWorker

__all__ = ["LiveProcessor", "LiveUpdate"]


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """What one batch produced.

    Attributes
    ----------
    beats : tuple of ClassifiedBeat
        Beats whose class became final (the caller stores class and corrected values).
    nk : NeuroKitResult or None
        The newest finished neurokit2 result, when a worker is attached.

    The indices are read with :meth:`LiveProcessor.snapshot` (lazy and cached).
    """

    beats: tuple[ClassifiedBeat, ...]
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
        # raw RR and times of the current segment (for the neurokit2 worker's snapshots)
        self._seg_rr = array("d")
        self._seg_t = array("d")

    # ------------------------------------------------------------------ pipeline API
    def process_batch(self, batch: BeatBatch) -> LiveUpdate:
        """Classify the beats of one notification and update the indices.

        Parameters
        ----------
        batch : BeatBatch
            The notification's beats, numbered (``Beat.seq``) by the session.

        Returns
        -------
        LiveUpdate
            Beats that became final, latest indices and newest neurokit2 result.
        """
        beats = batch.beats
        push = self.detector.push
        if len(beats) == 1:
            beat = beats[0]
            rr = beat.rr_ms
            t = beat.time_s
            self._seg_rr.append(rr)
            self._seg_t.append(t)
            final = push(beat.seq, rr, t)
        else:
            final = []
            seg_rr, seg_t = self._seg_rr, self._seg_t
            for beat in beats:
                seg_rr.append(beat.rr_ms)
                seg_t.append(beat.time_s)
                final.extend(push(beat.seq, beat.rr_ms, beat.time_s))
        if final:
            self._feed(final)
        nk = None
        if self.nk_worker is not None:
            nk = self.nk_worker.poll(self._segment_raw)
        return LiveUpdate(tuple(final), nk)

    def process_run(
        self,
        first_seq: int,
        rr_ms: Sequence[float],
        time_s: Sequence[float],
        ends: Sequence[int],
        spectral_checks: int = 0,
    ) -> LiveUpdate:
        """Classify the beats of several notifications at once (a max-speed replay's run).

        The same beats, classes and index state as :meth:`process_batch` on each
        notification in turn, with :meth:`refresh_spectral_if_due` after each of the first
        ``spectral_checks`` of them.

        Parameters
        ----------
        first_seq : int
            Session sequence number of the first beat (the others follow it).
        rr_ms, time_s : sequence of float
            Raw RR intervals (ms) and beat times (s) of the run's beats, oldest first.
        ends : sequence of int
            End (exclusive) of each notification's beats in ``rr_ms``.
        spectral_checks : int
            Number of leading notifications after which the spectral values are refreshed
            if due (what the caller's wall-clock throttle allows).

        Returns
        -------
        LiveUpdate
            Beats that became final during the run and the newest neurokit2 result.
        """
        self._seg_rr.extend(rr_ms)
        self._seg_t.extend(time_s)
        push_many = self.detector.push_many
        final: list[ClassifiedBeat] = []
        start = 0
        checks = min(spectral_checks, len(ends))
        # Notification by notification only as far as the spectral refreshes need it: the
        # refresh reads the indices as they stood after that notification.
        for k in range(checks):
            end = ends[k]
            done = len(final)
            push_many(first_seq, rr_ms, time_s, start, end, final)
            if len(final) > done:
                self._feed(final[done:])
            self.hrv.refresh_spectral_if_due()
            start = end
        done = len(final)
        push_many(first_seq, rr_ms, time_s, start, len(rr_ms), final)
        if len(final) > done:
            self._feed(final if done == 0 else final[done:])
        nk = None
        if self.nk_worker is not None:
            nk = self.nk_worker.poll(self._segment_raw)
        return LiveUpdate(tuple(final), nk)

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
        self._seg_rr = array("d")
        self._seg_t = array("d")
        return final

    def finish(self) -> list[ClassifiedBeat]:
        """Finalise all pending beats at the end of the session."""
        final = self.detector.flush()
        self._feed(final)
        return final

    def refresh_spectral_if_due(self) -> bool:
        """Refresh HF, LF, breathing rate and coherence if due; True when a refresh ran.

        Due when at least ``spectral_period_s`` of session time has passed since the last
        refresh (the next multiple of the period after it was reached; coherence likewise
        with ``coherence_period_s``), whatever the calling cadence.
        """
        return self.hrv.refresh_spectral_if_due()

    def snapshot(self) -> LiveIndices:
        """The latest indices: computed lazily, cached until beats are added or the spectral
        values refresh."""
        return self.hrv.snapshot()

    def settings(self) -> dict[str, Any]:
        """JSON-ready settings of the detector and the indices (stored with each session)."""
        hrv = asdict(self.hrv.settings)
        for key, value in hrv.items():
            if isinstance(value, tuple):
                hrv[key] = list(value)
        return {"artifacts": asdict(self.detector.settings), "indices": hrv}

    def close(self) -> None:
        """Shut the neurokit2 worker down, if any."""
        if self.nk_worker is not None:
            self.nk_worker.close()

    # ------------------------------------------------------------------ internals
    def _feed(self, beats: list[ClassifiedBeat]) -> None:
        hrv = self.hrv
        add = hrv.add
        add_class = hrv.add_beat_class
        for b in beats:
            cls = b.artifact
            if cls is _NORMAL:
                self._ectopic_open = False
                add_class(b.time_s, False)
                add(b.rr_ms, b.time_s)  # == corrected_ms[0] at corrected_times(b)[0]
                continue
            first = False
            if cls is _ECTOPIC:
                first = not self._ectopic_open
                self._ectopic_open = first
            else:
                self._ectopic_open = False
            add_class(b.time_s, True)
            for nn, t in zip(b.corrected_ms, corrected_times(b, first), strict=True):
                add(nn, t)

    def _segment_raw(self) -> tuple[FloatArray, FloatArray]:
        return np.frombuffer(self._seg_rr[:]), np.frombuffer(self._seg_t[:])


_NORMAL = ArtifactClass.NORMAL
_ECTOPIC = ArtifactClass.ECTOPIC
