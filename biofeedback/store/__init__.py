"""The crash-safe session store (SQLite in WAL mode).

The names below are imported on first use, so that importing :mod:`biofeedback.store.paths`
(the window does, at start-up) does not load the database module and numpy.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DATA_DIR_ENV",
    "BeatClass",
    "BeatClassification",
    "SessionInfo",
    "SessionStore",
    "SessionSummary",
    "database_path",
    "resolve_data_dir",
]

_FROM_DATABASE = {
    "BeatClass", "BeatClassification", "SessionInfo", "SessionStore", "SessionSummary",
}


def __getattr__(name: str) -> Any:
    if name in _FROM_DATABASE:
        from biofeedback.store import database

        return getattr(database, name)
    if name in {"DATA_DIR_ENV", "database_path", "resolve_data_dir"}:
        from biofeedback.store import paths

        return getattr(paths, name)
    raise AttributeError(f"module 'biofeedback.store' has no attribute {name!r}")
