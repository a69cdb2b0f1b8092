"""Back up (and verify) a database holding one 24-h recording; prints JSON.

The session is recorded as ``record --source sim --speed max`` would store it: the simulated
strap's notifications and beats (2 % artifacts, dropped notifications, so gaps too) through
the live pipeline into a real SQLite store, plus a marker every 30 min and one phase per
hour. Then :func:`biofeedback.store.backup.backup_database` copies it, runs the integrity
check and the counts, flushes the file to the disk and renames it; its time is the figure
(issue 14: "backup time of a 24-h session"). A restore into an empty folder is timed too.
Usage: ``python benchmarks/backup_24h.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb

DAY_S = 86400.0


def record_day(data_dir: Path) -> tuple[int, float]:
    """Record the 24-h session; its id and the time recording took, s."""
    from biofeedback.core.types import Marker, MarkerKind, PhaseSpan
    from biofeedback.session.live_session import LiveSession
    from biofeedback.store import SessionStore
    from sensors.simulated import ArtifactRates, SimulatedStrap

    started = time.perf_counter()
    with SessionStore.open(data_dir) as store:
        strap = SimulatedStrap(
            seed=1, speed="max", duration_s=DAY_S,
            artifacts=ArtifactRates.from_total(0.02, dropped_notification=0.005),
        )
        session = LiveSession(strap, store=store, participant_id="P01", neurokit=False,
                              commit_interval_s=0.05)
        asyncio.run(session.run(duration_s=DAY_S))
        session_id = session.session_id
        assert session_id is not None
        for k in range(48):
            store.add_marker(session_id, Marker(k * 1800.0, 0.0, f"check {k}", MarkerKind.USER))
        for hour in range(24):
            store.add_phase(session_id, PhaseSpan(
                f"hour_{hour:02d}", f"Hour {hour}", "rest", hour * 3600.0, (hour + 1) * 3600.0))
    return session_id, time.perf_counter() - started


def main() -> None:
    from biofeedback.store.backup import backup_database, restore_database
    from biofeedback.store.paths import database_path

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        _session_id, record_s = record_day(data_dir)
        source = database_path(data_dir)
        steps: list[int] = []
        backup = backup_database(source, Path(tmp) / "backup.sqlite3",
                                 lambda done, total: steps.append(done))
        started = time.perf_counter()
        restored = restore_database(backup.path, Path(tmp) / "restored")
        restore_s = time.perf_counter() - started
        print(json.dumps({
            "benchmark": "backup_24h",
            "machine": machine(),
            "beats": backup.beats,
            "sessions": backup.sessions,
            "bytes": backup.bytes,
            "source_bytes": source.stat().st_size,
            "seconds": round(backup.seconds, 3),
            "backup_steps": len(steps),
            "restore_seconds": round(restore_s, 3),
            "restored_beats": restored.beats,
            "record_seconds": round(record_s, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }, indent=2))


if __name__ == "__main__":
    main()
