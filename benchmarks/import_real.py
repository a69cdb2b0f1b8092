"""Import time of every real file in tests/data/real (read, classify, store), as JSON.

Each file is imported into a fresh store in a temporary folder, three times; the median of
read (``read_import``) and of the whole import (``import_file``) is printed per file, with
the largest recording (most beats) named.

    python benchmarks/import_real.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, machine  # type: ignore[import-not-found]

from biofeedback.core.errors import InputFileError
from biofeedback.importing.single import import_file
from biofeedback.io.importers import read_import
from biofeedback.store.database import SessionStore

REPEATS = 3


def main() -> None:
    real = DATA / "real"
    rows = []
    for path in sorted(real.rglob("*")):
        if not path.is_file() or path.parent.name == "licenses" or path.suffix in (".md", ".json"):
            continue
        if path.suffix == ".atr":
            continue  # read with its .hea
        read_s, import_s = [], []
        outcome: dict[str, object] = {}
        for _ in range(REPEATS):
            started = time.perf_counter()
            try:
                imported = read_import(path)
            except InputFileError as exc:
                outcome = {"refused": exc.reason[:80]}
                break
            read_s.append(time.perf_counter() - started)
            with tempfile.TemporaryDirectory() as tmp, SessionStore.open(tmp) as store:
                started = time.perf_counter()
                item = import_file(store, path)
                import_s.append(time.perf_counter() - started)
            outcome = {"format": imported.format, "beats": item.beats}
        row = {"file": str(path.relative_to(real)), **outcome}
        if read_s:
            row["read_ms"] = round(1000 * statistics.median(read_s), 1)
            row["import_ms"] = round(1000 * statistics.median(import_s), 1)
        rows.append(row)
    imported_rows = [r for r in rows if "beats" in r]
    largest = max(imported_rows, key=lambda r: int(r["beats"]))  # type: ignore[call-overload]
    print(json.dumps({
        "benchmark": "import_real", "machine": machine(), "repeats": REPEATS,
        "files": rows, "imported": len(imported_rows),
        "refused": len(rows) - len(imported_rows), "largest": largest,
    }, indent=2))


if __name__ == "__main__":
    main()
