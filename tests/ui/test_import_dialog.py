"""The import summary dialog draws its view: every row's cells, whole reasons (wrapped, and
in the tooltip), and choosing an imported recording asks for its session."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from biofeedback.ui.import_dialog import ImportSummaryDialog
from biofeedback.viewmodels.import_summary import (
    IMPORTED_HEADERS,
    REFUSED_HEADERS,
    summary_from_json,
)
from conftest import save_screenshot

LONG_REASON = (
    "/data/hrv/2021/export_from_watch.csv is a Garmin activity summary (distance, pace, "
    "calories per lap): it holds no beat-to-beat intervals. Export the HRV status or the "
    "FIT file of the activity instead and import that."
)

SUMMARY = {
    "imported": [
        {"file": "/data/hrv/2021/kubios_ms.txt", "files": ["/data/hrv/2021/kubios_ms.txt"],
         "session_id": 4, "format": "kubios", "beats": 40, "markers": 0,
         "start_time": None, "rr_source": "rr", "channels": []},
        {"file": "/data/hrv/2019/2019-03-14 07-25-31.txt",
         "files": ["/data/hrv/2019/2019-03-14 07-25-31.txt"], "session_id": 5,
         "format": "elite_hrv", "beats": 1234, "markers": 0,
         "start_time": "2019-03-14T07:25:31", "rr_source": "rr", "channels": []},
    ],
    "refused": [
        {"file": "/data/hrv/2021/notes.txt",
         "reason": "notes.txt line 1: 'shopping list' is not a number of milliseconds"},
        {"file": "/data/hrv/2021/export_from_watch.csv", "reason": LONG_REASON},
    ],
}


def cell_texts(table) -> list[tuple[str, ...]]:
    return [
        tuple(table.item(r, c).text() for c in range(table.columnCount()))
        for r in range(table.rowCount())
    ]


@pytest.fixture
def dialog(qtbot):
    widget = ImportSummaryDialog(summary_from_json(SUMMARY))
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_the_dialog_lists_every_imported_and_refused_file(dialog):
    assert dialog.headline_label.text() == "2 recordings imported, 2 files refused"
    imported = dialog.imported_table
    assert [imported.horizontalHeaderItem(c).text() for c in range(5)] == list(IMPORTED_HEADERS)
    assert cell_texts(imported) == [
        ("2021/kubios_ms.txt", "kubios", "40", "4", "—"),
        ("2019/2019-03-14 07-25-31.txt", "elite_hrv", "1234", "5", "2019-03-14 07:25:31"),
    ]
    assert imported.item(1, 0).toolTip() == (
        "/data/hrv/2019/2019-03-14 07-25-31.txt\n"
        "1234 beats from RR intervals; stored as session 5."
    )
    refused = dialog.refused_table
    assert [refused.horizontalHeaderItem(c).text() for c in range(2)] == list(REFUSED_HEADERS)
    assert cell_texts(refused) == [
        ("2021/notes.txt",
         "notes.txt line 1: 'shopping list' is not a number of milliseconds"),
        ("2021/export_from_watch.csv", LONG_REASON),
    ]
    assert refused.item(1, 1).toolTip() == LONG_REASON
    assert refused.item(1, 0).toolTip() == "/data/hrv/2021/export_from_watch.csv"
    assert dialog.imported_table.isVisible() and dialog.refused_table.isVisible()
    save_screenshot(dialog, "import_summary_dialog_samples")


def test_nothing_is_cut_off_long_reasons_wrap_onto_more_lines(dialog, qtbot):
    refused = dialog.refused_table
    metrics = refused.fontMetrics()
    reason_width = refused.columnWidth(1)
    # The long reason does not fit one line of its column, so its row is several lines high
    # and tall enough for every wrapped line.
    assert metrics.horizontalAdvance(LONG_REASON) > reason_width
    lines_needed = metrics.boundingRect(
        0, 0, reason_width - 8, 10_000, Qt.TextFlag.TextWordWrap, LONG_REASON
    ).height()
    assert refused.rowHeight(1) >= lines_needed >= 2 * metrics.height()
    assert refused.rowHeight(0) < refused.rowHeight(1)
    # Each column of the imported table is at least as wide as its longest text.
    imported = dialog.imported_table
    for column in range(imported.columnCount()):
        widest = max(
            metrics.horizontalAdvance(imported.item(r, column).text())
            for r in range(imported.rowCount())
        )
        assert imported.columnWidth(column) > widest, IMPORTED_HEADERS[column]
    # Narrower, the reasons take more lines rather than being cut.
    before = refused.rowHeight(1)
    dialog.resize(620, dialog.height())
    qtbot.wait(10)
    assert refused.rowHeight(1) > before


def test_choosing_an_imported_recording_asks_for_its_session(dialog, qtbot):
    chosen: list[int] = []
    dialog.session_chosen.connect(chosen.append)
    assert not dialog.show_button.isEnabled()
    dialog.imported_table.selectRow(1)
    assert dialog.show_button.isEnabled()
    qtbot.mouseClick(dialog.show_button, Qt.MouseButton.LeftButton)
    assert chosen == [5]
    rect = dialog.imported_table.visualRect(dialog.imported_table.model().index(0, 1))
    viewport = dialog.imported_table.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert chosen == [5, 4]


def test_a_summary_without_refusals_shows_no_refused_table(qtbot):
    widget = ImportSummaryDialog(summary_from_json({"imported": SUMMARY["imported"],
                                                    "refused": []}))
    qtbot.addWidget(widget)
    widget.show()
    assert widget.headline_label.text() == "2 recordings imported"
    assert widget.imported_table.isVisible()
    assert not widget.refused_table.isVisible() and not widget.refused_label.isVisible()
    only_refused = ImportSummaryDialog(summary_from_json({"imported": [],
                                                          "refused": SUMMARY["refused"]}))
    qtbot.addWidget(only_refused)
    only_refused.show()
    assert only_refused.headline_label.text() == "No recording imported, 2 files refused"
    assert not only_refused.imported_table.isVisible()
    assert only_refused.refused_table.isVisible()
