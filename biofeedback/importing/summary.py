"""What an import did: the recordings stored and the files refused, as data and as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImportResult", "ImportSummary", "ImportedItem", "RefusedItem", "render_table"]


@dataclass(frozen=True)
class ImportedItem:
    """One recording stored as a session.

    Attributes
    ----------
    file : str
        The main file, as shown to the user (the path given, or folder/zip-relative).
    files : list of str
        Every file read for it (main file first, then its companions).
    session_id : int
        The new session.
    format : str
        Format it was read as.
    beats : int
        RR intervals stored (found R-peaks minus one for an ECG).
    markers : int
        Markers stored.
    start_time : str or None
        Wall clock at session time 0 as stored (ISO 8601; no offset when the file gave the
        device's local time), None when the file has no clock.
    rr_source : str
        ``"rr"``, ``"ppi"`` or ``"ecg"``.
    channels : list of str
        Names of the raw channels stored with it.
    artifacts : int
        Beats the artifact detector did not class normal.
    notes : list of str
        What the reader noticed and kept.
    """

    file: str
    files: list[str]
    session_id: int
    format: str
    beats: int
    markers: int
    start_time: str | None
    rr_source: str
    channels: list[str]
    artifacts: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``biofeedback import --json``."""
        return {
            "file": self.file, "files": list(self.files), "session_id": self.session_id,
            "format": self.format, "beats": self.beats, "markers": self.markers,
            "start_time": self.start_time, "rr_source": self.rr_source,
            "channels": list(self.channels),
        }


ImportResult = ImportedItem
"""What :func:`~biofeedback.importing.single.import_file` returns for its one recording."""


@dataclass(frozen=True)
class RefusedItem:
    """A file that was not imported, and why (the sentence the user reads)."""

    file: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON object."""
        return {"file": self.file, "reason": self.reason}


@dataclass
class ImportSummary:
    """Everything one import run stored and refused, in the order the files were seen."""

    imported: list[ImportedItem] = field(default_factory=list)
    refused: list[RefusedItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """At least one recording imported and nothing refused."""
        return bool(self.imported) and not self.refused

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``biofeedback import --json``."""
        return {"imported": [i.to_dict() for i in self.imported],
                "refused": [r.to_dict() for r in self.refused]}


def render_table(summary: ImportSummary) -> str:
    """A plain-text table: file, result, format, beats, session id or reason.

    Refused files follow the imported ones; the reason is the last column, unpadded, so a
    long sentence is never cut.
    """
    header = ("file", "result", "format", "beats", "session / reason")
    rows = [(i.file, "imported", i.format, str(i.beats), f"session {i.session_id}")
            for i in summary.imported]
    rows += [(r.file, "refused", "", "", r.reason) for r in summary.refused]
    table = [header, *rows]
    widths = [max(len(row[k]) for row in table) for k in range(4)]
    lines = []
    for row in table:
        cells = [row[k].rjust(widths[k]) if k == 3 else row[k].ljust(widths[k])
                 for k in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    n_in, n_out = len(summary.imported), len(summary.refused)
    lines.append(f"{n_in} recording{'s' if n_in != 1 else ''} imported, "
                 f"{n_out} file{'s' if n_out != 1 else ''} refused")
    return "\n".join(lines)
