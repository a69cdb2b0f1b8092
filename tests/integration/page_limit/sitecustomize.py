"""Fault injection for tests/integration/test_disk_full.py: SQLite's own "disk full".

On the path (PYTHONPATH) of a test's subprocess, this lets every database the store opens for
writing grow by only ``$BIOFEEDBACK_TEST_EXTRA_PAGES`` pages (``PRAGMA max_page_count``), which
is how SQLite's own tests reproduce a full disk where no small file system can be mounted.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from biofeedback.store import connection

_extra = int(os.environ.get("BIOFEEDBACK_TEST_EXTRA_PAGES", "0"))
_connect_writable = connection.connect_writable


def _limited(path: Path, *, verify: bool = False) -> sqlite3.Connection:
    conn = _connect_writable(path, verify=verify)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + _extra}")
    return conn


connection.connect_writable = _limited  # type: ignore[assignment]
