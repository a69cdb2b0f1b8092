"""Importing from the window, end to end against the real ``biofeedback import``: File >
Import… and Import folder…, files and folders dropped on the Sessions tab, the files-done
bar while the GUI keeps turning, the summary dialog (the same rows as the command's own
JSON), the refreshed list whose new sessions work like any other, Cancel, and a failure in
words."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog
from ui_helpers import assert_job_left_the_gui_free, wait_for, watch_job

from biofeedback.store.database import SessionStore
from biofeedback.ui.main_window import MainWindow
from biofeedback.ui.session_browser import SessionBrowser
from biofeedback.viewmodels.import_summary import ImportSummaryView, summary_from_json
from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import DATA, PYTHON, cli_env, save_screenshot

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")

IMPORT_DATA = DATA / "import"
KUBIOS = IMPORT_DATA / "kubios_ms.txt"
ELITE = IMPORT_DATA / "2019-03-14 07-25-31.txt"
BEATS = 40
"""Beats in every synthetic fixture of tests/data/import (its SOURCE.txt)."""

IMPORT_ARGV = ["-m", "biofeedback", "import"]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Two good files and a text file that holds no RR data, side by side in a folder."""
    folder = tmp_path / "to import"
    folder.mkdir()
    kubios = Path(shutil.copy(KUBIOS, folder))
    elite = Path(shutil.copy(ELITE, folder))
    bad = folder / "shopping list.txt"
    bad.write_text("Shopping list\neggs\nmilk\nbread\n", encoding="utf-8")
    return {"folder": folder, "kubios": kubios, "elite": elite, "bad": bad}


@pytest.fixture
def browser(qtbot, data_dir) -> SessionBrowser:
    widget = SessionBrowser(data_dir.resolve())
    qtbot.addWidget(widget)
    widget.resize(1100, 720)
    widget.show()
    return widget


def cli_summary(paths: list[Path], data_dir: Path) -> tuple[int, dict]:
    """What ``biofeedback import PATHS --json`` itself prints, run outside the window."""
    done = subprocess.run(
        [PYTHON, "-m", "biofeedback", "import", *map(str, paths), "--json",
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=cli_env(data_dir), timeout=120, check=False,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def comparable(view: ImportSummaryView) -> dict[str, list[tuple[str, ...]]]:
    """The rows without their session ids (another store numbers them its own way)."""
    return {
        "imported": [(r.name, r.format, str(r.beats), r.start_time) for r in view.imported],
        "refused": [r.cells() for r in view.refused],
    }


def table_cells(table) -> list[tuple[str, ...]]:
    return [
        tuple(table.item(r, c).text() for c in range(table.columnCount()))
        for r in range(table.rowCount())
    ]


def stored_sessions(data_dir: Path) -> dict[int, int]:
    """Session id -> beats stored."""
    with SessionStore.open(data_dir) as store:
        return {s.id: s.n_beats for s in store.list_sessions()}


def drop(widget, paths: list[Path]) -> tuple[bool, bool]:
    """Drag ``paths`` over ``widget`` and drop them, as a file manager does; returns whether
    the drag and the drop were accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = widget.rect().center()
    enter = QDragEnterEvent(QPoint(centre), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return enter.isAccepted(), event.isAccepted()


def test_importing_files_shows_progress_the_summary_and_new_sessions_that_work(
    browser, inputs, qt_loop, data_dir, tmp_path
):
    chosen = [inputs["kubios"], inputs["elite"], inputs["bad"]]
    bar_values: set[tuple[int, int]] = set()
    finished: list[object] = []
    browser.import_finished.connect(finished.append)

    async def scenario() -> tuple[object, ImportSummaryView | None]:
        await browser.refresh()
        task = browser.import_paths(chosen)
        assert task is not None
        watch = await watch_job(
            lambda: browser.importer.process, task.done,
            sample=lambda: bar_values.add(
                (browser.importer.progress_bar.value(), browser.importer.progress_bar.maximum())
            ),
        )
        return watch, await task

    watch, summary = qt_loop.run_until_complete(scenario())
    # The import ran in its own process, with the window's data folder, and the GUI turned.
    assert_job_left_the_gui_free(watch, IMPORT_ARGV, min_turns=5)
    command = watch.commands[0]
    assert command[command.index("--data-dir") + 1] == str(data_dir.resolve())
    assert "--json" in command and "--progress-json" in command
    assert [str(p) for p in chosen] == command[4:7]

    # Files done of all, one report per file, ending at 3 of 3.
    progress = browser.importer.progress_seen
    assert [(p.done, p.total) for p in progress][-1] == (3, 3)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert (3, 3) in bar_values or browser.importer.progress_bar.value() == 3

    assert isinstance(summary, ImportSummaryView) and finished == [summary]
    assert summary.headline == "2 recordings imported, 1 file refused"
    stored = stored_sessions(data_dir)
    assert set(summary.session_ids) == set(stored) and len(stored) == 2
    assert all(beats == BEATS for beats in stored.values())
    rows = {row.name: row for row in summary.imported}
    assert set(rows) == {KUBIOS.name, ELITE.name}
    assert rows[ELITE.name].start_time == "2019-03-14 07:25:31"
    assert rows[KUBIOS.name].format == "kubios_rr"
    assert [r.beats for r in summary.imported] == [BEATS, BEATS]
    assert [r.name for r in summary.refused] == ["shopping list.txt"]
    reason = summary.refused[0].reason
    assert len(reason.split()) >= 4  # a sentence, not a code

    # The window shows what the command itself says (another store, the same rows).
    returncode, own = cli_summary(chosen, tmp_path / "cli-data")
    assert returncode == 1  # something was refused, the summary printed all the same
    assert comparable(summary_from_json(own)) == comparable(summary)

    # The dialog draws the summary: every row, the whole reason.
    dialog = browser.import_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.headline_label.text() == "2 recordings imported, 1 file refused"
    assert table_cells(dialog.imported_table) == [r.cells() for r in summary.imported]
    assert table_cells(dialog.refused_table) == [("shopping list.txt", reason)]
    assert dialog.refused_table.item(0, 1).toolTip() == reason
    save_screenshot(dialog, "import_summary_dialog")

    # The list was read again; the first new session is selected; the headline stays.
    assert set(browser.visible_session_ids()) == set(stored)
    assert browser.selected_session_id() == summary.session_ids[0]
    assert browser.importer.headline_label.text() == "2 recordings imported, 1 file refused."
    assert browser.importer.summary_button.isVisible()
    assert not browser.importer.progress_row.isVisible()
    save_screenshot(browser, "import_sessions_tab")

    # A new session works as any other: choose it from the dialog, replay it, analyse it.
    second = summary.session_ids[1]
    dialog.choose_session(second)
    assert browser.selected_session_id() == second
    requested: list[int] = []
    browser.replay_requested.connect(requested.append)
    browser.replay_button.click()
    assert requested == [second]
    analysis = qt_loop.run_until_complete(browser.analyze(second))
    assert analysis is not None, browser.error_label.text()
    assert analysis["session"]["n_beats"] == BEATS

    # "Show import summary" brings the dialog back after it was closed.
    dialog.close()
    browser.importer.summary_button.click()
    assert browser.import_dialog is not None and browser.import_dialog.isVisible()
    assert browser.import_dialog.summary == summary


def test_folders_and_zip_files_dropped_on_the_sessions_tab_are_imported(
    browser, inputs, qt_loop, data_dir, tmp_path
):
    nested = inputs["folder"] / "2019"
    nested.mkdir()
    inputs["elite"].rename(nested / inputs["elite"].name)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(KUBIOS, "phone/kubios_ms.txt")

    async def scenario() -> ImportSummaryView:
        await browser.refresh()
        finished: list[ImportSummaryView] = []
        browser.import_finished.connect(finished.append)
        # Text, or a web link, is not something to import.
        text = QMimeData()
        text.setText("kubios_ms.txt")
        event = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, text,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(browser, event)
        assert not event.isAccepted()
        assert drop(browser, [inputs["folder"], archive]) == (True, True)
        assert browser.import_running
        # A second drop while the first import runs is turned down in words.
        messages: list[str] = []
        browser.status_message.connect(messages.append)
        assert browser.import_paths([KUBIOS]) is None
        assert messages == ["An import is running; wait for it to finish (or cancel it) first."]
        await wait_for(lambda: finished, timeout_s=120, what="the dropped import")
        return finished[0]

    summary = qt_loop.run_until_complete(scenario())
    assert summary.headline == "3 recordings imported, 1 file refused"
    names = sorted(row.name for row in summary.imported)
    assert len(names) == 3
    assert any(name.endswith("2019/2019-03-14 07-25-31.txt") for name in names)
    assert any("kubios_ms.txt" in name and "export.zip" in name for name in names)
    (refused,) = summary.refused
    assert refused.name.endswith("shopping list.txt")
    stored = stored_sessions(data_dir)
    assert set(stored) == set(summary.session_ids)
    assert set(browser.visible_session_ids()) == set(stored)
    assert browser.import_dialog is not None and browser.import_dialog.isVisible()
    save_screenshot(browser.import_dialog, "import_summary_dialog_dropped_folder")


@pytest.fixture
def window(qtbot, qt_loop, data_dir):
    win = MainWindow(data_dir.resolve(), WindowPreferences(), neurokit=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_file_menu_imports_chosen_files_and_a_chosen_folder(
    window, inputs, qt_loop, data_dir, monkeypatch
):
    menu = window.file_menu
    assert [a.text() for a in menu.actions()] == ["&Import…", "Import &folder…", "", "&Back up…"]
    assert window.import_files_action.shortcut().toString() == "Ctrl+I"
    asked: list[tuple[str, str]] = []

    def open_file_names(parent, caption, folder, filters):
        asked.append((caption, filters))
        return [str(inputs["kubios"])], filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(open_file_names))
    finished: list[ImportSummaryView] = []
    window.browser.import_finished.connect(finished.append)

    async def scenario() -> None:
        window.tabs.setCurrentIndex(0)
        window.import_files_action.trigger()
        assert window.tabs.currentWidget() is window.browser
        await wait_for(lambda: finished, timeout_s=120, what="File > Import…")
        assert "*.zip" in asked[0][1]  # zip files can be chosen too
        # The folder dialog: the folder holds the file imported already and two more.
        monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                            staticmethod(lambda *args: str(inputs["folder"])))
        window.import_folder_action.trigger()
        await wait_for(lambda: len(finished) == 2, timeout_s=120, what="Import folder…")
        # A dialog closed without a choice imports nothing.
        monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                            staticmethod(lambda *args: ""))
        window.import_folder_action.trigger()
        assert not window.browser.import_running

    qt_loop.run_until_complete(scenario())
    first, second = finished
    assert first.headline == "1 recording imported" and first.complete
    assert second.refused and second.imported  # the shopping list, whatever else
    stored = stored_sessions(data_dir)
    assert set(first.session_ids) | set(second.session_ids) == set(stored)
    assert set(window.browser.visible_session_ids()) == set(stored)
    assert window.status_bar.currentMessage() == second.headline
    save_screenshot(window, "import_window_after_folder")


def test_cancel_stops_the_import_and_keeps_the_recordings_done_before(
    browser, qt_loop, data_dir, tmp_path
):
    many = tmp_path / "many"
    many.mkdir()
    n_files = 300
    for i in range(n_files):
        shutil.copy(KUBIOS, many / f"rec_{i:03d}.txt")

    async def scenario() -> ImportSummaryView | None:
        task = browser.import_paths([many])
        assert task is not None
        await wait_for(lambda: browser.importer.progress_seen, timeout_s=120,
                       what="the first progress report")
        process = browser.importer.process
        assert process is not None
        row = browser.importer.progress_row
        assert row.isVisible() and row.bar.maximum() == n_files
        assert row.label.text().startswith("Importing: ")
        save_screenshot(browser, "import_progress")
        browser.importer.cancel_button.click()
        result = await task
        assert process.returncode is not None  # killed, and reaped
        return result

    assert qt_loop.run_until_complete(scenario()) is None
    last = browser.importer.progress_seen[-1]
    assert last.total == n_files and last.done < n_files
    assert browser.importer.headline_label.text().startswith("Import stopped after ")
    assert browser.importer.headline_label.text().endswith(
        "; the recordings imported before that are kept."
    )
    assert not browser.importer.summary_button.isVisible()
    assert browser.import_dialog is None
    stored = stored_sessions(data_dir)
    # Every recording finished before the kill is whole; the list shows them.
    assert 0 < len(stored) < n_files and all(beats == BEATS for beats in stored.values())
    assert set(browser.visible_session_ids()) == set(stored)


def test_an_import_that_cannot_run_says_why(qtbot, qt_loop, tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be\n", encoding="utf-8")
    widget = SessionBrowser(not_a_folder)
    qtbot.addWidget(widget)
    widget.show()
    result = qt_loop.run_until_complete(asyncio.wait_for(widget.run_import([KUBIOS]), 120))
    assert result is None and widget.import_dialog is None
    message = widget.importer.error_label.text()
    assert widget.importer.error_label.isVisible()
    assert message.startswith("Could not import: ")
    assert "Traceback" not in message and str(not_a_folder) in message
