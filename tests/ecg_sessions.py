"""Test helpers: a stored strap session with the raw ECG (and chest ACC) the virtual strap
would have sent, written as a recording writes it (one notification a second, 73-sample PMD
ECG frames, 1-s ACC chunks).

The ECG is built beat by beat from the same RR the strap sends
(:class:`sensors.virtual.pmd_signals.ChestSignals`), so the RR found in it must agree with
the strap's; the ACC breathes at the simulator's scheduled rate. Used by
tests/cli/test_analyze_rr_source.py, tests/cli/test_compare_rr_source.py,
tests/ui/test_comparison_rr_source.py and benchmarks/compare_rr_source.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Beat, BeatBatch, PhaseSpan
from biofeedback.store import SessionStore
from sensors.ble.gatt import RR_UNITS_PER_SECOND
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

ECG_RATE_HZ = 130.27
ECG_START_S = 30.0
"""A Polar H10's ECG starts about 30 s after it is asked for, long after the heart rate."""
LOST_FRAMES = range(200, 204)
"""PMD frames lost on the radio (2.2 s from 142 s)."""
LATENCY_S = 0.35
"""The strap's beat times (cumulative RR anchored to receive times) lag the true beats."""
ACC_RATE_HZ = 50.0
"""The strap source records the chest ACC at 50 Hz."""


def two_phases(duration_s: float) -> list[PhaseSpan]:
    """A baseline for the first 120 s and a practice for the rest."""
    return [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 120.0),
            PhaseSpan("practice", "Practice", "practice", 120.0, duration_s)]


def record_strap_session(
    store: SessionStore,
    duration_s: float = 240.0,
    ecg: bool = True,
    *,
    seed: int = 11,
    participant: str = "P03",
    phases: Sequence[PhaseSpan] | None = None,
    acc_span_s: tuple[float, float] | None = None,
    lost_frames: range = LOST_FRAMES,
) -> int:
    """Store a complete strap session; returns its id.

    Parameters
    ----------
    store : SessionStore
        Open for writing.
    duration_s : float
        Length, s (one notification a second).
    ecg : bool
        Store the ECG, from :data:`ECG_START_S` on, less :data:`LOST_FRAMES`.
    seed : int
        Simulator seed (the beats, the ECG's noise, the ACC's).
    participant : str
        Participant id.
    phases : sequence of PhaseSpan, optional
        Default :func:`two_phases`.
    acc_span_s : (start_s, end_s), optional
        Store the chest ACC over this span (default: none).
    lost_frames : range
        Indices of the ECG frames left out (lost on the radio).
    """
    track = BeatTrack(SimulatedRRSource(seed))
    signals = ChestSignals(track, breathing_for(track), seed=seed)
    sid = store.create_session(source="ble", participant_id=participant)
    n = int((duration_s - ECG_START_S) * ECG_RATE_HZ) // 73 * 73
    t = ECG_START_S + np.arange(n) / ECG_RATE_HZ
    # A block of PMD frames at a time: each beat's shape is computed over the samples near
    # it only, so an hour takes seconds, not minutes.
    block = 73 * 64
    samples = np.concatenate([signals.ecg_uv(t[i:i + block]) for i in range(0, n, block)]
                             or [np.empty(0, dtype=np.int32)]).reshape(-1, 1)
    r = np.asarray(track.r_times_s)
    r = r[(r > 0) & (r < duration_s)]
    seq = 0
    for second in range(1, int(duration_s) + 1):
        inside = np.flatnonzero((r > second - 1) & (r <= second) & (np.arange(r.size) > 0))
        beats = tuple(
            Beat(float(np.rint((r[k] - r[k - 1]) * RR_UNITS_PER_SECOND) * 1000.0
                       / RR_UNITS_PER_SECOND), float(r[k] + LATENCY_S),
                 float(second + LATENCY_S), True, seq + i)
            for i, k in enumerate(inside))
        store.append_notification(sid, second - 1, BeatBatch(second + LATENCY_S, beats, 70.0))
        seq += len(beats)
    for phase in two_phases(duration_s) if phases is None else phases:
        store.add_phase(sid, phase)
    if ecg:
        for i in range(0, n, 73):
            if i // 73 in lost_frames:
                continue
            store.append_signal(sid, SignalChunk("ecg", float(t[i]), ECG_RATE_HZ,
                                                 samples[i:i + 73], "uV", first_index=i))
    if acc_span_s is not None:
        start, end = acc_span_s
        ta = np.arange(start, end, 1.0 / ACC_RATE_HZ)
        acc = signals.acc_mg(ta)
        step = int(ACC_RATE_HZ)
        for i in range(0, ta.size, step):
            store.append_signal(sid, SignalChunk("acc", float(ta[i]), ACC_RATE_HZ,
                                                 acc[i:i + step], "mG", first_index=i))
    store.finish_session(sid)
    return sid


COMPARISON_PHASES = (
    PhaseSpan("baseline", "Baseline", "baseline", 0.0, 120.0),
    PhaseSpan("touch", "Soothing touch", "practice", 120.0, 240.0, "soothing_touch",
              "self_soothing"),
    PhaseSpan("breath", "Mindful breathing", "practice", 240.0, 360.0,
              "mindfulness_of_breathing", "attention"),
)
"""Baseline, a self-soothing and an attention practice of 2 min each (compare them with
``--window-s 100``)."""

COMPARISON_SESSIONS: dict[str, tuple[bool, tuple[float, float] | None]] = {
    "P1": (True, None),
    "P2": (True, (0.0, 360.0)),
    "P3": (True, (120.0, 360.0)),
    "P4": (False, None),
}
"""Participant -> (ECG stored, ACC span): P1 ECG only; P2 ECG and ACC throughout; P3 ECG and
ACC during the practices only (its baseline has no ACC rate); P4 heart rate and RR only."""


def record_ecg_comparison(data_dir: str | Path) -> dict[str, int]:
    """One 6-min session per participant of :data:`COMPARISON_SESSIONS` in ``data_dir``;
    returns participant -> session id."""
    with SessionStore.open(data_dir) as store:
        return {
            participant: record_strap_session(store, 360.0, ecg, seed=k + 1,
                                              participant=participant,
                                              phases=COMPARISON_PHASES, acc_span_s=acc)
            for k, (participant, (ecg, acc)) in enumerate(COMPARISON_SESSIONS.items())
        }


def enrol_comparison_study(data_dir: str | Path, sessions: dict[str, int],
                           name: str = "E1") -> None:
    """Put the sessions of :func:`record_ecg_comparison` in a one-condition study."""
    from biofeedback.store.studies import create_study, enrol, record_session_in_study

    with SessionStore.open(data_dir) as store:
        create_study(store, name, ["two_practices"])
        for participant, sid in sessions.items():
            enrol(store, name, participant, ["two_practices"])
            record_session_in_study(store, sid, name, participant, 0)
