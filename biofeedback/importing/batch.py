"""Import many files, folders and zip archives: one session per recording.

Each recording is stored in its own transaction, so a file that fails leaves nothing behind
and the others still import. A reader that joins companion files to its main file (an
events, marker or acceleration file beside the RR file) lists them in
:attr:`~biofeedback.io.readers.base.ImportedRecording.files`; those are not imported again on
their own, and a companion left over (its main file missing) is refused with its reader's
sentence.

Participants from file names (``participant_from_name``): the regular expression is searched
in the file name, then in its path as shown (``P07/morning.txt``, ``study.zip/P07/...``);
the named group ``participant``, else the first group, else the whole match is the id. A
file the expression does not match, or whose id is not a valid pseudonym, is refused (and
not imported without a participant), so a study is never filled with unassigned sessions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from biofeedback.core.errors import (
    DiskFullError,
    InputFileError,
    ReadOnlyStoreError,
    StoreBusyError,
    StoreError,
)
from biofeedback.live.artifacts import ArtifactSettings
from biofeedback.store.database import SessionStore
from biofeedback.store.participants import validate_participant_id

from .single import import_file
from .sources import Candidate, expand_paths
from .summary import ImportSummary, RefusedItem

__all__ = ["ParticipantNameError", "Progress", "import_paths", "participant_from_name",
           "refusal_reason"]

Progress = Callable[[int, int, str], None]
"""``progress(done, total, file)``: called after each candidate file is handled."""


class ParticipantNameError(ValueError):
    """A file name that gives no valid participant id."""


def refusal_reason(exc: Exception) -> str:
    """The sentence shown for a refused file (its line and field, without its path: the
    path is shown beside it, and a zip member's path on disk is a temporary one)."""
    if isinstance(exc, InputFileError):
        where = []
        if exc.line is not None:
            where.append(f"line {exc.line}")
        if exc.field is not None:
            where.append(f"field {exc.field!r}")
        return f"{', '.join(where)}: {exc.reason}" if where else exc.reason
    return str(exc)


def participant_from_name(pattern: re.Pattern[str], shown: str) -> str:
    """The participant id a file's name gives (see the module notes).

    Raises
    ------
    ParticipantNameError
        The expression matches neither the name nor the path, or gives an invalid id.
    """
    path = PurePosixPath(shown.replace("\\", "/"))
    match = pattern.search(path.name) or pattern.search(str(path))
    if match is None:
        raise ParticipantNameError(
            f"the file name does not match --participant-from-name {pattern.pattern!r}, so "
            "it has no participant; not imported (rename it, or import it on its own with "
            "--participant)")
    if "participant" in pattern.groupindex:
        found = match.group("participant")
    elif pattern.groups:
        found = match.group(1)
    else:
        found = match.group(0)
    problem = validate_participant_id(found or "")
    if problem is not None:
        raise ParticipantNameError(f"participant id {found!r} from the file name: {problem}")
    return str(found)


def import_paths(
    store: SessionStore,
    paths: Sequence[str | os.PathLike[str]],
    *,
    participant_id: str | None = None,
    participant_from_name: str | None = None,
    protocol_id: str | None = None,
    format: str | None = None,
    column: str | None = None,
    sampling_rate_hz: float | None = None,
    artifact_settings: ArtifactSettings | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import every recording in files, folders (recursively) and zip archives.

    Parameters
    ----------
    store : SessionStore
        Where the sessions are written, one transaction per recording.
    paths : sequence of path-like
        Files, folders and zip archives (see :func:`~biofeedback.importing.sources.
        expand_paths` for which files are left out).
    participant_id : str, optional
        One participant for every recording.
    participant_from_name : str, optional
        Regular expression giving each file's participant from its name (see the module
        notes); not with ``participant_id``.
    protocol_id : str, optional
        Stored with every session.
    format, column, sampling_rate_hz
        As :func:`~biofeedback.importing.single.read_recording`, for every file.
    artifact_settings : ArtifactSettings, optional
        Detector settings.
    progress : callable, optional
        ``progress(done, total, file)`` after each candidate file.

    Returns
    -------
    ImportSummary
        The recordings stored and the files refused, in the order they were seen.

    Raises
    ------
    ValueError
        ``participant_id`` together with ``participant_from_name``, an invalid regular
        expression or an unknown format (nothing is imported).
    """
    from biofeedback.io.importers import reader

    if format is not None:
        reader(format)
    if participant_id is not None and participant_from_name is not None:
        raise ValueError("give a participant id or a pattern for it, not both")
    try:
        pattern = None if participant_from_name is None else re.compile(participant_from_name)
    except re.error as exc:
        raise ValueError(f"--participant-from-name {participant_from_name!r} is not a "
                         f"regular expression: {exc}") from None
    summary = ImportSummary()
    consumed: set[Path] = set()
    seen: set[Path] = set()
    pending: list[tuple[Candidate, str]] = []
    with expand_paths(list(paths)) as candidates:
        total = len(candidates)
        for done, candidate in enumerate(candidates, start=1):
            where = candidate.path.resolve()
            # a file given twice (itself and in its folder) is imported once
            if where not in consumed and (candidate.problem is not None or where not in seen):
                seen.add(where)
                _one(store, candidate, pattern, participant_id, protocol_id, format, column,
                     sampling_rate_hz, artifact_settings, summary, consumed, pending)
            if progress is not None:
                progress(done, total, candidate.shown)
    # a companion refused before its main file consumed it is not a refusal
    summary.refused = [RefusedItem(c.shown, reason) for c, reason in pending
                       if c.problem is not None or c.path.resolve() not in consumed]
    return summary


def _one(store: SessionStore, candidate: Candidate, pattern: re.Pattern[str] | None,
         participant_id: str | None, protocol_id: str | None, format: str | None,
         column: str | None, sampling_rate_hz: float | None,
         artifact_settings: ArtifactSettings | None, summary: ImportSummary,
         consumed: set[Path], pending: list[tuple[Candidate, str]]) -> None:
    if candidate.problem is not None:
        pending.append((candidate, candidate.problem))
        return
    try:
        who = participant_id if pattern is None else participant_from_name(
            pattern, candidate.shown)
        item = import_file(store, candidate.path, format=format, column=column,
                           sampling_rate_hz=sampling_rate_hz, participant_id=who,
                           protocol_id=protocol_id, artifact_settings=artifact_settings,
                           shown_as=candidate.shown)
    except (DiskFullError, ReadOnlyStoreError, StoreBusyError) as exc:
        # The store, not the file, failed: every file after it would fail the same way.
        kept = len(summary.imported)
        raise type(exc)(
            f"{exc}. {candidate.shown} was not imported (nothing of it was stored)"
            + (f"; the {kept} recording{'s' if kept != 1 else ''} imported before it "
               "are kept" if kept else "")
            + "; import it and the files after it again") from exc
    except (InputFileError, StoreError, ParticipantNameError) as exc:
        pending.append((candidate, refusal_reason(exc)))
        return
    summary.imported.append(item)
    folder = candidate.path.parent
    consumed.update((folder / PurePosixPath(f).name).resolve() for f in item.files)
