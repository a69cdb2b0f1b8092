"""Errors the user is meant to read: the CLI prints them without a traceback."""

from __future__ import annotations

from pathlib import Path


class BiofeedbackError(Exception):
    """Base class of every error with a message written for the user."""


class InputFileError(BiofeedbackError, ValueError):
    """A file could not be read; names the file, the line and what is wrong.

    Parameters
    ----------
    path : path-like
        The offending file.
    reason : str
        What is wrong, in words.
    line : int, optional
        1-based line number, when the problem is on one line.
    field : str, optional
        Column or field name, when known.
    """

    def __init__(
        self, path: str | Path, reason: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        self.field = field
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class StoreError(BiofeedbackError):
    """The session database cannot be opened or does not hold what was asked for."""


class SessionNotFoundError(StoreError, LookupError):
    """No session with that id."""


class DiskFullError(StoreError):
    """The disk holding the data folder (or an output file) is full."""


class ReadOnlyStoreError(StoreError):
    """The data folder or the database cannot be written (read-only medium or permissions)."""


class DamagedStoreError(StoreError):
    """The database file is not a SQLite database, is truncated, or has damaged pages."""


class StoreBusyError(StoreError):
    """Another program held the database's write lock for longer than the busy timeout."""
