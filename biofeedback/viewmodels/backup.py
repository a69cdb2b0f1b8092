"""File > Back up… of the window, Qt-free: the backup itself and its sentence.

The window runs :func:`back_up_sessions` in a worker thread (SQLite's backup releases the GIL
while it copies) and shows the sentence it returns in the status line.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from biofeedback.store.backup import backup_database
from biofeedback.store.paths import database_path

__all__ = ["BACKUP_FILE_FILTER", "back_up_sessions", "suggested_backup_name"]

BACKUP_FILE_FILTER = "Biofeedback backups (*.sqlite3);;All files (*)"
"""File types offered by the save dialog of File > Back up…."""


def suggested_backup_name(today: date) -> str:
    """The file name the save dialog proposes, e.g. ``biofeedback-backup-2025-03-14.sqlite3``."""
    return f"biofeedback-backup-{today.isoformat()}.sqlite3"


def back_up_sessions(data_dir: Path, out: Path) -> str:
    """Back the data folder's database up into ``out`` and verify it (see
    :func:`biofeedback.store.backup.backup_database`); safe while a session records.

    Parameters
    ----------
    data_dir : Path
        The window's data folder.
    out : Path
        The file chosen in the save dialog; an existing one is replaced (the dialog has asked
        the user to confirm that), once the new backup is verified.

    Returns
    -------
    str
        The status line's sentence, e.g. ``"Backed up 12 sessions to /media/usb/b.sqlite3
        (verified)"``.

    Raises
    ------
    StoreError
        With the sentence to show (:class:`~biofeedback.core.errors.DiskFullError` when the
        disk of ``out`` filled up; nothing partial is left).
    """
    result = backup_database(database_path(data_dir), out, overwrite=True)
    noun = "session" if result.sessions == 1 else "sessions"
    return f"Backed up {result.sessions:,} {noun} to {result.path} (verified)"
