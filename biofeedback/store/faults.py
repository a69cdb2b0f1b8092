"""Turn SQLite's failures into sentences that say what happened to which file and what to do.

SQLite reports every failure as an ``sqlite3.Error`` whose primary result code (the low 8
bits of ``sqlite_errorcode``, https://www.sqlite.org/rescode.html) tells the cause; the user
must never see ``OperationalError: database or disk is full``.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, Protocol, TypeVar

from biofeedback.core.errors import (
    DamagedStoreError,
    DiskFullError,
    ReadOnlyStoreError,
    StoreBusyError,
    StoreError,
)

# Primary result codes, https://www.sqlite.org/rescode.html
SQLITE_PERM: Final = 3
SQLITE_BUSY: Final = 5
SQLITE_LOCKED: Final = 6
SQLITE_READONLY: Final = 8
SQLITE_IOERR: Final = 10
SQLITE_CORRUPT: Final = 11
SQLITE_FULL: Final = 13
SQLITE_CANTOPEN: Final = 14
SQLITE_NOTADB: Final = 26


def primary_code(exc: sqlite3.Error) -> int | None:
    """The primary result code of an SQLite failure (``None`` when the driver gave none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_disk_full(exc: BaseException) -> bool:
    """Whether an exception is SQLite's "database or disk is full" (or the OS's ENOSPC)."""
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, sqlite3.Error):
        return primary_code(exc) == SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno == 28  # ENOSPC


def _nearly_full(folder: Path) -> bool:
    """Whether the disk holding ``folder`` has less room than SQLite needs to go on."""
    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def store_error(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """The :class:`StoreError` subclass, with its sentence, for an SQLite failure.

    Parameters
    ----------
    exc : sqlite3.Error
        What SQLite raised.
    path : Path
        The database file.
    doing : str
        What was being done, as a verb phrase (``"open"``, ``"write to"``, ``"read"``).

    Returns
    -------
    StoreError
        :class:`DiskFullError`, :class:`ReadOnlyStoreError`, :class:`DamagedStoreError`,
        :class:`StoreBusyError`, or a plain :class:`StoreError` naming the file and SQLite's
        own words.
    """
    code = primary_code(exc)
    folder = path.parent
    if code == SQLITE_IOERR and _nearly_full(folder):
        # A full disk met while growing the -shm or -wal file is reported as an I/O error.
        code = SQLITE_FULL
    if code == SQLITE_FULL:
        return DiskFullError(
            f"the disk holding {folder} is full: cannot {doing} {path.name}; free space on it "
            "(or point --data-dir elsewhere) and try again")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return ReadOnlyStoreError(
            f"cannot {doing} {path}: it is read-only (a read-only disk, or no write permission "
            f"on the file or on {folder}); reading still works, writing needs write access")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return DamagedStoreError(
            f"{path} is damaged or is not a biofeedback database ({exc}); it was left as it "
            f"is: run 'biofeedback check --repair --out NEW_FILE' to salvage what it holds")
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreBusyError(
            f"{path} stayed locked by another program for too long; close other "
            "programs writing to this data folder, or try again")
    if code == SQLITE_CANTOPEN:
        return StoreError(
            f"cannot {doing} {path}: the file or its folder {folder} cannot be opened "
            "(missing, not a folder, or no permission)")
    if code == SQLITE_IOERR:
        return StoreError(
            f"cannot {doing} {path}: the disk reported an input/output error ({exc}); check "
            "the disk, then run 'biofeedback check'")
    return StoreError(f"cannot {doing} {path}: {exc}")


class _HasPath(Protocol):
    @property
    def path(self) -> Path: ...


_S = TypeVar("_S", bound=_HasPath)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def translates_sqlite_errors(
    doing: str,
) -> Callable[[Callable[Concatenate[_S, _P], _R]], Callable[Concatenate[_S, _P], _R]]:
    """Decorate a method of an object with a ``path`` so no raw ``sqlite3.Error`` escapes it.

    Parameters
    ----------
    doing : str
        What the method does to the file, as a verb phrase (``"read"``, ``"write to"``).
    """

    def decorate(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
        @functools.wraps(method)
        def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise store_error(exc, self.path, doing) from exc

        return wrapper

    return decorate
