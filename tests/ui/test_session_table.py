"""The session table: what its cells and tooltips say."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from biofeedback.importing import store_imported
from biofeedback.io.readers.base import ImportedRecording
from biofeedback.io.readers.timeline import make_recording
from biofeedback.store.database import SessionStore
from biofeedback.ui.session_table import SessionTableModel


def imported(rr: list[float], **extra) -> ImportedRecording:
    rec = make_recording(Path("rr.txt"), "plain", rr)
    return ImportedRecording(recording=rec, format="plain", original_name="rr.txt",
                             files=["rr.txt"], **extra)


def sinus(n: int) -> list[float]:
    return [float(round(800 + 30 * np.sin(k / 3.0))) for k in range(n)]


def test_the_session_list_tells_whether_the_file_gave_a_start_time(qapp, tmp_path):
    """An import without a start time is listed as such, not as recorded when imported; the
    table shows the import date in brackets and a device-local time as it is."""
    with SessionStore.open(tmp_path) as store:
        undated = store_imported(store, imported(sinus(30))).session_id
        dated = store_imported(store, imported(
            sinus(30), start_time=datetime(2019, 3, 14, 7, 25, 31))).session_id
        rows = {s.id: s for s in store.list_sessions()}
    assert rows[undated].start_known is False and rows[dated].start_known is True
    assert rows[dated].started_utc == "2019-03-14T07:25:31"
    model = SessionTableModel()
    model.set_sessions([rows[dated], rows[undated]])
    date = next(h for h in range(model.columnCount()) if model.headerData(
        h, Qt.Orientation.Horizontal) == "Date")
    assert model.data(model.index(0, date)) == "2019-03-14 07:25"
    assert "local time" in model.data(model.index(0, date), Qt.ItemDataRole.ToolTipRole)
    undated_text = model.data(model.index(1, date))
    assert undated_text.startswith("(") and undated_text.endswith(" import)")
    assert "tells no start time" in model.data(model.index(1, date),
                                               Qt.ItemDataRole.ToolTipRole)


def test_an_interrupted_session_tells_why_in_its_tooltip(qapp, tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.create_session(source="sim")
        store.finish_session(sid, "interrupted", "disk full")
        rows = store.list_sessions()
    model = SessionTableModel()
    model.set_sessions(rows)
    status = next(h for h in range(model.columnCount()) if model.headerData(
        h, Qt.Orientation.Horizontal) == "Status")
    assert model.data(model.index(0, status)) == "interrupted"
    assert model.data(model.index(0, status), Qt.ItemDataRole.ToolTipRole) == (
        "The recording stopped unexpectedly (disk full); everything up to then is kept.")
