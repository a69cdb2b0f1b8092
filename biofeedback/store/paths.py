"""Where the session database lives."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "BIOFEEDBACK_DATA_DIR"
"""Environment variable that overrides the data folder."""

DATABASE_NAME = "biofeedback.sqlite3"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Pick the data folder: the explicit argument, then ``$BIOFEEDBACK_DATA_DIR``, then the
    platform's user data folder (``~/.local/share/biofeedback`` on Linux).

    Parameters
    ----------
    data_dir : path-like, optional
        Folder given on the command line (``--data-dir``).

    Returns
    -------
    Path
        The folder (not created here).
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("biofeedback", appauthor=False))


def database_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the SQLite database inside the resolved data folder."""
    return resolve_data_dir(data_dir) / DATABASE_NAME
