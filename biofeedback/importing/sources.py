"""Which files a list of files, folders and zip archives stands for.

A folder is searched recursively and its files taken in sorted order; a zip archive (given,
or found in a folder) is extracted to a temporary folder and searched the same way. Hidden
files and folders (a leading ``.``, macOS' ``__MACOSX``), desktop junk and licence files are
left out without a word: they are never recordings, and a study folder often carries them.
Every other file is a candidate; one that is not a recording is refused with the reader's
sentence, so nothing in the folder goes unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from biofeedback.core.errors import InputFileError

__all__ = ["MAX_ZIP_BYTES", "MAX_ZIP_MEMBERS", "Candidate", "expand_paths", "extract_zip",
           "is_ignored"]

MAX_ZIP_BYTES = 4 * 1024 * 1024 * 1024
"""Largest total size extracted from one zip archive (4 GiB: several days of ECG)."""

MAX_ZIP_MEMBERS = 100_000
"""Most members extracted from one zip archive."""

_JUNK_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
_LICENCE_STEMS = ("license", "licence", "copying")


@dataclass(frozen=True)
class Candidate:
    """A file to import, or a path that could not be searched.

    Attributes
    ----------
    path : Path
        Where it is on disk (inside a temporary folder for a zip member).
    shown : str
        How the user names it: the path given, a path below a folder given, or
        ``archive.zip/member``.
    problem : str or None
        Why the path could not be searched (a missing path, a bad archive); then ``path``
        is not read.
    """

    path: Path
    shown: str
    problem: str | None = None


def is_ignored(name: str) -> bool:
    """Whether a file or folder name is left out of a folder import without a word."""
    lowered = name.lower()
    if lowered.startswith(".") or lowered in _JUNK_NAMES:
        return True
    stem = lowered.split(".")[0]
    return any(word in stem for word in _LICENCE_STEMS)


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" and zipfile.is_zipfile(path)


def _folder_files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not is_ignored(d))
        found.extend(Path(root) / f for f in files if not is_ignored(f))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix().lower())


@contextlib.contextmanager
def expand_paths(paths: list[str | os.PathLike[str]]) -> Iterator[list[Candidate]]:
    """The candidate files of files, folders and zip archives, in order.

    Parameters
    ----------
    paths : list of path-like
        Files, folders (searched recursively) and zip archives, in the order given.

    Yields
    ------
    list of Candidate
        Files in the order given, each folder's in sorted order of their relative paths.
        Temporary folders of zip archives are removed when the context exits.
    """
    with contextlib.ExitStack() as stack:
        out: list[Candidate] = []

        def archive(path: Path, shown: str) -> None:
            try:
                folder = Path(stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="biofeedback-import-")))
                extract_zip(path, folder)
            except InputFileError as exc:
                out.append(Candidate(path, shown, exc.reason))
                return
            for member in _folder_files(folder):
                out.append(Candidate(member, f"{shown}/{member.relative_to(folder).as_posix()}"))

        for given in paths:
            path = Path(given)
            shown = str(given)
            if path.is_dir():
                for f in _folder_files(path):
                    rel = f"{shown.rstrip('/' + os.sep)}/{f.relative_to(path).as_posix()}"
                    if _is_zip(f):
                        archive(f, rel)
                    else:
                        out.append(Candidate(f, rel))
            elif path.is_file() and _is_zip(path):
                archive(path, shown)
            else:
                # read_import names a missing or unreadable file in its own words
                out.append(Candidate(path, shown))
        yield out


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"member {name!r} has an absolute path"
    if ".." in pure.parts:
        return f"member {name!r} points outside the archive ('..')"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"member {name!r} is a symbolic link"
    return None


def extract_zip(archive: Path, folder: Path, max_bytes: int = MAX_ZIP_BYTES) -> None:
    """Extract a zip archive into ``folder``, refusing members that could escape it.

    Parameters
    ----------
    archive : Path
        The zip file.
    folder : Path
        An empty folder to extract into.
    max_bytes : int
        Cap on the total extracted size, bytes (counted as extracted, not as the archive
        claims).

    Raises
    ------
    InputFileError
        Not a readable zip, a member with an absolute path, ``..`` or a symbolic link, too
        many members, or more than ``max_bytes`` extracted. Nothing of it is imported.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                raise InputFileError(archive, f"zip archive of {len(infos)} members; more than "
                                     f"the {MAX_ZIP_MEMBERS} an import extracts")
            for info in infos:
                problem = _member_problem(info)
                if problem is not None:
                    raise InputFileError(archive, f"unsafe zip archive: {problem}; nothing "
                                         "extracted")
            total = 0
            for info in infos:
                target = folder / PurePosixPath(info.filename.replace("\\", "/"))
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1024 * 1024):
                        total += len(chunk)
                        if total > max_bytes:
                            raise InputFileError(
                                archive, f"zip archive extracts to more than {max_bytes} "
                                "bytes; larger than an import reads")
                        dst.write(chunk)
    except InputFileError:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError,
            RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        raise InputFileError(archive, f"cannot be extracted as a zip archive: {exc}") from None
