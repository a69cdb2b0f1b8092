"""The crash-safe session store (SQLite in WAL mode)."""

from biofeedback.store.database import (
    BeatClassification,
    SessionInfo,
    SessionStore,
    SessionSummary,
)
from biofeedback.store.paths import DATA_DIR_ENV, database_path, resolve_data_dir

__all__ = [
    "DATA_DIR_ENV",
    "BeatClassification",
    "SessionInfo",
    "SessionStore",
    "SessionSummary",
    "database_path",
    "resolve_data_dir",
]
