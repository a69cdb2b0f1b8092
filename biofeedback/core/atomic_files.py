"""Writing files so that a crash or a power cut leaves the old file or the new one, whole.

A file is written to a temporary name in its target folder, flushed to the disk (``fsync``)
and renamed over the target (``os.replace``, atomic on one file system); the folder is then
flushed too, so the rename itself survives a power cut. A folder (a BIDS dataset) is built
the same way: in a temporary folder beside the target, every file and folder in it flushed,
then renamed into place. The temporary names start with ``.`` so a file browser hides them;
a process killed mid-write leaves such a file behind, never a half-written target.

Sources: rename(2) on POSIX; the ext4/XFS advice to fsync the file before the rename and the
folder after it (e.g. SQLite's own ``unix_sync`` of the journal's folder).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

PRIVATE_MODE = 0o600
"""Mode of a file written inside the data folder (health data: the owner only)."""

PRIVATE_FOLDER_MODE = 0o700
"""Mode of a folder written inside the data folder."""


def _umask() -> int:
    # os.umask only sets: read it by setting it and putting it back.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def default_mode() -> int:
    """Mode a newly created file would get from the umask (``0o666 & ~umask``)."""
    return 0o666 & ~_umask()


def fsync_path(path: Path) -> None:
    """Flush a file or folder to the disk (folders: where the file system allows it)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():
            return  # some platforms cannot open a folder; nothing more can be done there
        raise
    try:
        with contextlib.suppress(OSError):  # a folder's fsync is refused on some systems
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))


def atomic_write_files(
    writers: Sequence[tuple[Path, Callable[[Path], None]]], *, mode: int | None = None
) -> list[Path]:
    """Write several files, each whole or not at all, the first one last.

    Parameters
    ----------
    writers : sequence of (Path, callable)
        Target path and a function writing the content to the path it is given (a temporary
        file beside the target, created empty).
    mode : int, optional
        Permission bits of the written files (default: what the umask gives a new file;
        :data:`PRIVATE_MODE` inside the data folder).

    Returns
    -------
    list of Path
        The targets, in the order given.

    Notes
    -----
    The first target is renamed into place last, so whoever finds it finds the others too
    (a beats CSV and its markers CSV).
    """
    file_mode = default_mode() if mode is None else mode
    temps: list[Path] = []
    try:
        for path, write in writers:
            try:
                fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix,
                                                dir=path.parent)
                os.close(fd)
                tmp = Path(tmp_name)
                temps.append(tmp)
                write(tmp)
                os.chmod(tmp, file_mode)
                fsync_path(tmp)
            except OSError as exc:
                if exc.filename is None or Path(exc.filename).parent == path.parent:
                    # Name the file the user asked for, not the temporary one (a write on a
                    # full disk tells no name at all).
                    raise OSError(exc.errno, exc.strerror, str(path)) from exc
                raise
        for tmp, (path, _) in reversed(list(zip(temps, writers, strict=True))):
            os.replace(tmp, path)
        for folder in {path.parent for path, _ in writers}:
            fsync_path(folder)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return [path for path, _ in writers]


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None,
                      newline: str | None = "") -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (see :func:`atomic_write_files`).

    ``newline`` is passed to :func:`open` (default ``""``: the text's own line ends).
    """
    target = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)

    atomic_write_files([(target, write)], mode=mode)
    return target


def atomic_folder(out: Path, build: Callable[[Path], None], *,
                  private: bool = False) -> Path:
    """Build a folder in a temporary folder beside ``out``, flush it, rename it to ``out``.

    Parameters
    ----------
    out : Path
        The folder to create; it must not exist or be empty (the caller checks).
    build : callable
        Fills the folder it is given.
    private : bool
        Folders 0700 and files 0600 (inside the data folder); otherwise what the umask gives.

    Returns
    -------
    Path
        ``out``.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        build(tmp)
        _set_modes(tmp, private)
        _fsync_tree(tmp)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        fsync_path(out.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def _set_modes(root: Path, private: bool) -> None:
    file_mode = PRIVATE_MODE if private else default_mode()
    folder_mode = PRIVATE_FOLDER_MODE if private else 0o777 & ~_umask()
    for folder, dirs, files in os.walk(root):
        for name in files:
            os.chmod(Path(folder) / name, file_mode)
        for name in dirs:
            os.chmod(Path(folder) / name, folder_mode)
    os.chmod(root, folder_mode)
