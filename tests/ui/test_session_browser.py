"""The session browser: listing, search, replay requests and per-phase analysis in a
subprocess while the GUI keeps running."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest
from helpers import record_free_session
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from ui_helpers import JobWatch, assert_job_left_the_gui_free, wait_for, watch_job

from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.store.paths import database_path
from biofeedback.ui.replay_bar import format_hms
from biofeedback.ui.session_browser import (
    EMPTY_MESSAGE,
    SessionBrowser,
    SessionTableModel,
    cli_error_sentence,
)
from biofeedback.ui.warm_worker import WORKER_ARGV
from conftest import PYTHON, cli_env, save_screenshot
from sensors.simulated import SimulatedStrap


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory) -> dict:
    """A data folder with three sessions, recorded once for the module:
    a 2-min free session of p01, a resonance-breathing protocol session of p02 (four
    phases, via the CLI) and a 3-min session of p01 that ended interrupted."""
    folder = tmp_path_factory.mktemp("browser") / "data"
    ids = {}
    with SessionStore.open(folder) as store:
        ids["free"] = record_free_session(store, seed=11, duration_s=120.0).session_id
    done = subprocess.run(
        [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--seed", "3", "--speed",
         "max", "--protocol", "resonance_breathing", "--participant", "p02", "--no-neurokit",
         "--quiet", "--data-dir", str(folder)],
        capture_output=True, text=True, env=cli_env(folder), timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    ids["protocol"] = int(done.stdout.strip())
    with SessionStore.open(folder) as store:
        session = record_free_session(store, seed=12, duration_s=180.0)
        ids["interrupted"] = session.session_id
        # What the store does to a session whose recorder died.
        store.finish_session(session.session_id, "interrupted")
    return {"folder": folder, "ids": ids}


@pytest.fixture
def sessions(template_dir, data_dir) -> dict[str, int]:
    """The three sessions, in this test's private data folder."""
    shutil.copytree(template_dir["folder"], data_dir)
    return dict(template_dir["ids"])


@pytest.fixture
def browser(qtbot, data_dir) -> SessionBrowser:
    widget = SessionBrowser(data_dir.resolve())
    qtbot.addWidget(widget)
    widget.resize(1100, 720)
    widget.show()
    return widget


def row_texts(browser: SessionBrowser) -> dict[int, dict[str, str]]:
    """Displayed cells of every visible row, by session id."""
    proxy = browser.proxy
    headers = SessionTableModel.COLUMN_HEADERS
    out = {}
    for session_id in browser.visible_session_ids():
        row = next(
            r for r in range(proxy.rowCount())
            if proxy.index(r, 0).data() == str(session_id)
        )
        out[session_id] = {h: proxy.index(row, c).data() for c, h in enumerate(headers)}
    return out


DIRECT_ANALYSIS = """
import json, sys
from biofeedback.analysis import AnalysisSettings, analyze_recording
from biofeedback.store.database import SessionStore
with SessionStore.open(sys.argv[1]) as store:
    recording = store.load_recording(int(sys.argv[2]))
result = analyze_recording(recording, AnalysisSettings(correction="kubios"))
print(json.dumps([
    {"name": p.name, "hr": p.mean_hr_bpm, "rmssd": p.rmssd_ms, "hf_valid": p.hf_valid,
     "lf": p.lf_ms2}
    for p in result.phases
]))
"""


def test_lists_every_session_with_participant_duration_and_status(
    browser, sessions, qt_loop, data_dir
):
    listed = qt_loop.run_until_complete(browser.refresh())
    assert {s.id for s in listed} == set(sessions.values())
    with SessionStore.open(data_dir) as store:
        stored = {s.id: s for s in store.list_sessions()}
    rows = row_texts(browser)
    # Newest first.
    assert list(rows) == sorted(sessions.values(), reverse=True)
    free = rows[sessions["free"]]
    assert free["Participant"] == "p01" and free["Status"] == "complete"
    assert free["Protocol"] == "—" and free["Source"] == "sim"
    assert 118 <= stored[sessions["free"]].duration_s <= 121
    assert free["Duration"] == format_hms(stored[sessions["free"]].duration_s)
    assert free["Duration"] in ("0:01:58", "0:01:59", "0:02:00", "0:02:01")
    assert free["Beats"] == str(stored[sessions["free"]].n_beats)
    protocol = rows[sessions["protocol"]]
    assert protocol["Participant"] == "p02" and protocol["Protocol"] == "resonance_breathing"
    assert protocol["Duration"].startswith("0:14:")
    interrupted = rows[sessions["interrupted"]]
    assert interrupted["Status"] == "interrupted"
    assert interrupted["Duration"] == format_hms(stored[sessions["interrupted"]].duration_s)
    assert interrupted["Duration"].startswith(("0:02:5", "0:03:0"))
    # Local date, readable: "YYYY-MM-DD HH:MM".
    assert all(len(r["Date"]) == 16 and r["Date"][4] == "-" for r in rows.values())
    assert browser.count_label.text() == "3 sessions"
    assert not browser.empty_label.isVisible() and browser.table_view.isVisible()

    # Sorting by a column sorts the values, not their text.
    beats_column = SessionTableModel.COLUMN_HEADERS.index("Beats")
    browser.table_view.sortByColumn(beats_column, Qt.SortOrder.AscendingOrder)
    by_beats = sorted(sessions.values(), key=lambda i: stored[i].n_beats)
    assert browser.visible_session_ids() == by_beats
    browser.table_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    browser.select_session(sessions["protocol"])
    save_screenshot(browser, "session_browser")


def test_search_filters_on_every_text_column(browser, sessions, qt_loop):
    qt_loop.run_until_complete(browser.refresh())
    search = browser.search_edit

    def shown_after(text: str) -> set[int]:
        search.clear()
        QTest.keyClicks(search, text)
        return set(browser.visible_session_ids())

    assert shown_after("p02") == {sessions["protocol"]}
    assert shown_after("RESONANCE") == {sessions["protocol"]}
    assert shown_after("interrupted") == {sessions["interrupted"]}
    assert shown_after("p01 complete") == {sessions["free"]}
    assert shown_after(str(sessions["interrupted"])) >= {sessions["interrupted"]}
    year = row_texts(browser)[sessions["interrupted"]]["Date"][:4]
    assert shown_after(year) == set(sessions.values())
    assert shown_after("nobody") == set()
    assert browser.count_label.text() == "0 of 3 sessions match “nobody”"
    assert shown_after("p01") == {sessions["free"], sessions["interrupted"]}
    assert browser.count_label.text() == "2 of 3 sessions match “p01”"
    save_screenshot(browser, "session_browser_search")
    search.clear()
    assert set(browser.visible_session_ids()) == set(sessions.values())


def test_replay_button_double_click_and_enter_emit_the_session_id(
    browser, sessions, qt_loop, qtbot
):
    qt_loop.run_until_complete(browser.refresh())
    assert not browser.replay_button.isEnabled()  # nothing selected yet
    requested: list[int] = []
    browser.replay_requested.connect(requested.append)
    assert browser.select_session(sessions["interrupted"])
    assert browser.replay_button.isEnabled() and browser.analyze_button.isEnabled()
    qtbot.mouseClick(browser.replay_button, Qt.MouseButton.LeftButton)
    assert requested == [sessions["interrupted"]]

    view = browser.table_view
    row = browser.visible_session_ids().index(sessions["free"])
    cell = view.visualRect(browser.proxy.index(row, 1)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert requested[-1] == sessions["free"]
    assert browser.selected_session_id() == sessions["free"]

    QTest.keyClick(view, Qt.Key.Key_Return)
    assert requested[-1] == sessions["free"]


def test_analysis_runs_in_a_subprocess_while_the_gui_keeps_running(
    browser, sessions, qt_loop, data_dir
):
    qt_loop.run_until_complete(browser.refresh())
    session_id = sessions["protocol"]
    finished: list[tuple[int, object]] = []
    browser.analysis_finished.connect(lambda i, r: finished.append((i, r)))
    elapsed_texts: set[str] = set()

    def sample() -> None:
        elapsed_texts.add(browser.elapsed_label.text())
        if len(elapsed_texts) == 5:
            save_screenshot(browser, "analysis_running")

    async def scenario() -> JobWatch:
        browser.select_session(session_id)
        browser.analyze_button.click()  # starts the analysis as a task
        await wait_for(lambda: browser.analysis_running)
        assert browser.progress_row.isVisible()
        assert browser.progress_bar.maximum() == 0  # busy indicator
        return await watch_job(lambda: browser._process, lambda: bool(finished), sample=sample)

    # The analysis module run directly on the same stored session, in parallel to save time.
    direct_run = subprocess.Popen(
        [PYTHON, "-c", DIRECT_ANALYSIS, str(data_dir), str(session_id)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(data_dir),
    )
    watch = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    # The analysis ran in another process and the GUI loop kept turning meanwhile: never a
    # pause the user would notice as a frozen window.
    assert_job_left_the_gui_free(watch, WORKER_ARGV)
    assert len(elapsed_texts) >= 5 and all("Analysing session" in t for t in elapsed_texts)
    assert not browser.progress_row.isVisible()
    assert finished[0][0] == session_id

    # The same numbers as the analysis module on the same stored session.
    out, err = direct_run.communicate(timeout=60)
    assert direct_run.returncode == 0, err
    direct = json.loads(out)
    table = browser.analysis_table
    assert table.row_count == len(direct) == 4
    for row, phase in enumerate(direct):
        assert table.value(row, "name") == phase["name"]
        assert table.value(row, "mean_hr_bpm") == pytest.approx(phase["hr"], rel=1e-12)
        assert table.value(row, "rmssd_ms") == pytest.approx(phase["rmssd"], rel=1e-12)
        assert table.text(row, "mean_hr_bpm") == f"{phase['hr']:.1f}"
        assert table.text(row, "rmssd_ms") == f"{phase['rmssd']:.1f}"
        assert table.text(row, "hf_valid") == ("yes" if phase["hf_valid"] else "no")
        if phase["lf"] is None:
            assert table.text(row, "lf_ms2") == "–"
    assert "HR\n(bpm)" in table.headers and "RMSSD\n(ms)" in table.headers
    assert "HF\n(ms²)" in table.headers and "Breathing\n(/min)" in table.headers
    assert "artifact correction: kubios" in table.summary_label.text()
    assert "neurokit2" in table.summary_label.text()
    assert "phase_id" not in table.keys
    save_screenshot(browser, "analysis_table")

    # Asked again: the cached result, at once, without a process.
    again = qt_loop.run_until_complete(browser.analyze(session_id))
    assert again is finished[0][1] and not browser.analysis_running
    assert len(finished) == 2


def test_the_second_analysis_reuses_the_warm_worker_with_the_same_values(
    browser, sessions, qt_loop, data_dir
):
    qt_loop.run_until_complete(browser.refresh())
    # The one-off command on the same sessions, in parallel to save time.
    one_off = {
        key: subprocess.Popen(
            [PYTHON, "-m", "biofeedback", "analyze", str(sessions[key]), "--json",
             "--correction", "kubios", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(data_dir),
        )
        for key in ("free", "protocol")
    }

    async def analyse(key: str) -> tuple[dict, int]:
        result = await browser.analyze(sessions[key])
        assert result is not None and not browser.analysis_running
        worker = browser.worker.process
        assert worker is not None and worker.returncode is None  # kept, idle
        return result, worker.pid

    first, first_pid = qt_loop.run_until_complete(asyncio.wait_for(analyse("free"), 90))
    second, second_pid = qt_loop.run_until_complete(asyncio.wait_for(analyse("protocol"), 60))
    assert second_pid == first_pid and browser.worker.started == 1
    # Not the cache: the protocol session was never analysed before, and its table shows it.
    assert browser.analysis_table.row_count == len(second["phases"]) == 4
    for key, warm in (("free", first), ("protocol", second)):
        out, err = one_off[key].communicate(timeout=90)
        assert one_off[key].returncode == 0, err
        assert warm == json.loads(out)  # every value, setting and version the same

    # Closing the browser ends the warm worker.
    worker = browser.worker.process
    browser.close()
    qt_loop.run_until_complete(asyncio.wait_for(worker.wait(), 10))
    assert worker.returncode is not None and browser.worker.process is None


def test_cancel_kills_the_analysis_process(browser, sessions, qt_loop):
    qt_loop.run_until_complete(browser.refresh())
    messages: list[str] = []
    browser.status_message.connect(messages.append)

    async def scenario() -> tuple[object, int | None]:
        task = asyncio.ensure_future(browser.analyze(sessions["free"]))
        await wait_for(lambda: browser.analysis_running)
        process = browser._process
        browser.cancel_button.click()
        result = await task
        return result, process.returncode

    result, returncode = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert result is None
    assert returncode is not None and returncode < 0  # killed, not finished
    assert not browser.progress_row.isVisible() and not browser.error_label.isVisible()
    assert browser.cached_analysis(sessions["free"]) is None
    assert browser.analysis_table.row_count == 0
    assert messages[-1] == f"Analysis of session {sessions['free']} cancelled"

    # Cancelling the task itself (the window closing) also kills the process.
    async def close_mid_analysis() -> int | None:
        task = asyncio.ensure_future(browser.analyze(sessions["protocol"]))
        await wait_for(lambda: browser.analysis_running)
        process = browser._process
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return process.returncode

    returncode = qt_loop.run_until_complete(asyncio.wait_for(close_mid_analysis(), 30))
    assert returncode is not None and returncode < 0
    assert not browser.analysis_running


def test_analysis_of_a_deleted_session_shows_the_cli_sentence(
    browser, sessions, qt_loop, data_dir
):
    qt_loop.run_until_complete(browser.refresh())
    gone = sessions["free"]
    with SessionStore.open(data_dir) as store:
        store.delete_session(gone)
    result = qt_loop.run_until_complete(asyncio.wait_for(browser.analyze(gone), 30))
    assert result is None
    assert browser.error_label.isVisible()
    text = browser.error_label.text()
    assert text.startswith(f"No session {gone} in ")
    assert "Traceback" not in text and "biofeedback analyze:" not in text
    assert not browser.progress_row.isVisible()
    save_screenshot(browser, "analysis_error")
    # The list catches up on refresh.
    qt_loop.run_until_complete(browser.refresh())
    assert gone not in browser.visible_session_ids()


def test_empty_store_shows_the_empty_message_without_creating_a_database(
    browser, qt_loop, data_dir
):
    assert qt_loop.run_until_complete(browser.refresh()) == []
    assert browser.empty_label.isVisible() and not browser.table_view.isVisible()
    assert browser.empty_label.text() == EMPTY_MESSAGE
    assert not database_path(data_dir).exists()
    assert not browser.replay_button.isEnabled() and not browser.analyze_button.isEnabled()
    save_screenshot(browser, "session_browser_empty")
    # A session recorded meanwhile shows up on Refresh.
    with SessionStore.open(data_dir) as store:
        session = LiveSession(
            SimulatedStrap(seed=4, speed=None, duration_s=30.0), store=store,
            participant_id="p03", neurokit=False,
        )
        qt_loop.run_until_complete(session.run(duration_s=30.0))
    listed: list[str] = []
    browser.status_message.connect(listed.append)

    async def click_refresh() -> None:
        browser.refresh_button.click()
        await wait_for(lambda: browser.model.rowCount() == 1)

    qt_loop.run_until_complete(asyncio.wait_for(click_refresh(), 10))
    assert listed == [f"1 session in {browser.data_dir}"]
    assert browser.visible_session_ids() == [session.session_id]
    assert browser.table_view.isVisible() and not browser.empty_label.isVisible()


def test_cli_error_sentences():
    assert cli_error_sentence(
        "some warning\nbiofeedback analyze: error: no session 9 in /d/biofeedback.sqlite3\n", 1
    ) == "No session 9 in /d/biofeedback.sqlite3"
    assert cli_error_sentence(
        "biofeedback analyze: internal error: ValueError: bad\nPlease report this with the "
        "command you ran.\n", 1
    ) == "Internal error: ValueError: bad Please report this with the command you ran."
    assert cli_error_sentence("", -9) == "The analysis process was stopped by signal 9."
    assert cli_error_sentence("", 3) == "The analysis stopped with exit status 3 and no message."
