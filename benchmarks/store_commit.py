"""What a live recording's commit costs the thread that received the beat; prints JSON.

Issue 17 (goal 1) counts the store commit in beat to screen, and in the window that thread is
the GUI thread. Two ways of making each notification durable against a power cut, in the same
process on the same file, alternating in blocks so both see the same disk and load:

* ``full``: ``synchronous=FULL``, the fsync inside the commit (the program before issue 17);
* ``background``: :meth:`SessionStore.sync_every_commit`, the fsync on the store's own thread
  right after the commit (:mod:`biofeedback.store.wal_sync`).

Per notification (one beat, as a strap sends it, paced ``--interval-ms`` apart): the time of
``append_notification`` on the calling thread, and for ``background`` how long after it the
fsync had ended (``on_disk_after``: what a power cut at the worst moment could lose).

    python benchmarks/store_commit.py [--notifications 600] [--block 50] [--interval-ms 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # type: ignore[import-not-found]

from biofeedback.core.types import Beat, BeatBatch
from biofeedback.store import SessionStore


def figures(values_s: list[float]) -> dict[str, float | int]:
    ms = sorted(v * 1000 for v in values_s)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3),
            "max_ms": round(ms[-1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=600, help="per way")
    parser.add_argument("--block", type=int, default=50, help="notifications per block")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    args = parser.parse_args()
    calls: dict[str, list[float]] = {"full": [], "background": []}
    on_disk_after: list[float] = []
    with tempfile.TemporaryDirectory(prefix="store-commit-") as folder, \
            SessionStore(Path(folder) / "db.sqlite3") as store:
        sid = store.create_session(source="sim")
        seq = 0
        while min(len(v) for v in calls.values()) < args.notifications:
            for way in calls:
                if way == "full":
                    store.sync_every_commit(False)
                    store._conn.execute("PRAGMA synchronous=FULL")  # the old way, by hand
                else:
                    store._conn.execute("PRAGMA synchronous=NORMAL")
                    store.sync_every_commit()
                for _ in range(args.block):
                    t = 0.8 * (seq + 1)
                    batch = BeatBatch(t, (Beat(800.0, t, t, True, seq),), 75.0)
                    started = time.perf_counter()
                    store.append_notification(sid, seq, batch)
                    returned = time.perf_counter()
                    calls[way].append(returned - started)
                    if way == "background":
                        store.wait_synced(60.0)
                        on_disk_after.append(time.perf_counter() - returned)
                    seq += 1
                    time.sleep(args.interval_ms / 1000)
        store.sync_every_commit(False)
    full, background = figures(calls["full"]), figures(calls["background"])
    print(json.dumps({
        "benchmark": "store_commit",
        "calling_thread": {"full": full, "background": background},
        "background_on_disk_after": figures(on_disk_after),
        "p99_ratio_full_to_background": round(full["p99_ms"] / background["p99_ms"], 2),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
