"""File > Back up… in the window (issue 14, item 6): a save dialog, the backup off the GUI
thread while the window itself records, and the status line saying how it went."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from ui_helpers import waiter

from biofeedback.session.launch import SessionRequest
from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import save_screenshot
from sensors.simulated import SimulatedStrap

wait_for = waiter(30.0)


@pytest.fixture
def window(qtbot, qt_loop, data_dir):
    with SessionStore.open(data_dir) as store:  # one session recorded earlier
        earlier = LiveSession(SimulatedStrap(seed=4, speed=None, duration_s=600.0),
                              store=store, participant_id="p03", neurokit=False)
        qt_loop.run_until_complete(earlier.run())
    win = MainWindow(data_dir.resolve(), WindowPreferences(), neurokit=False)
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    yield win
    if win.running and win.current is not None:
        win.current.stop()
        qt_loop.run_until_complete(wait_for(lambda: not win.running, what="session end"))


def choose(monkeypatch, answer: str, asked: list[tuple[str, str, str]]) -> None:
    """Answer the save dialog with ``answer`` ("" = the user cancelled)."""

    def save_file_name(parent, caption, suggested, filters):
        asked.append((caption, suggested, filters))
        return answer, filters.split(";;")[0] if answer else ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_file_name))


def beats(path: Path, session_id: int) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT seq, time_s, rr_ms FROM beats WHERE session_id = ?"
                            " ORDER BY seq", (session_id,)).fetchall()
    finally:
        conn.close()


def test_back_up_while_the_window_records_says_backed_up_and_verified(
    window, qt_loop, data_dir, tmp_path, monkeypatch
):
    assert [a.text() for a in window.file_menu.actions()][-1] == "&Back up…"
    out = tmp_path / "usb stick" / "sessions.sqlite3"
    out.parent.mkdir()
    asked: list[tuple[str, str, str]] = []
    choose(monkeypatch, str(out), asked)
    messages: list[str] = []
    window.status_bar.messageChanged.connect(messages.append)

    async def scenario() -> int:
        window.start_session(SessionRequest(source="sim", speed=20.0, seed=3,
                                            participant_id="p01"))
        await wait_for(lambda: window.status.n_beats >= 40, what="40 beats")
        window.backup_action.trigger()
        assert not window.backup_action.isEnabled()  # one backup at a time
        await wait_for(lambda: window.backup_action.isEnabled(), what="the backup")
        n_then = window.status.n_beats
        await wait_for(lambda: window.status.n_beats >= n_then + 20, what="more beats")
        assert window.running  # the recording went on
        save_screenshot(window, "backup_window_done")
        session_id = window.current.session.session_id
        window.stop_session()
        await wait_for(lambda: not window.running, what="session end")
        return session_id

    live_id = qt_loop.run_until_complete(scenario())
    caption, suggested, filters = asked[0]
    assert caption == "Back up every session"
    assert Path(suggested).name == f"biofeedback-backup-{datetime.date.today()}.sqlite3"
    assert filters.startswith("Biofeedback backups (*.sqlite3)")
    assert f"Backing up every session to {out}…" in messages
    assert f"Backed up 2 sessions to {out} (verified)" in messages
    conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    saved, final = beats(out, live_id), beats(data_dir / "biofeedback.sqlite3", live_id)
    # What the recording had committed when the backup began (the window counts beats it
    # has seen; the store commits them a moment later), each beat as stored.
    assert 0 < len(saved) < len(final) and saved == final[: len(saved)]
    assert sorted(p.name for p in out.parent.iterdir()) == ["sessions.sqlite3"]


def test_a_backup_that_cannot_be_written_says_why_and_a_cancelled_dialog_does_nothing(
    window, qt_loop, tmp_path, monkeypatch
):
    asked: list[tuple[str, str, str]] = []
    missing = tmp_path / "unplugged" / "b.sqlite3"
    choose(monkeypatch, str(missing), asked)

    async def scenario() -> None:
        window.backup_action.trigger()
        await wait_for(lambda: window.status_bar.currentMessage().startswith("Could not"),
                       what="the error")
        save_screenshot(window, "backup_window_error")
        choose(monkeypatch, "", asked)
        window.backup_action.trigger()  # the user closed the dialog
        assert window.backup_action.isEnabled()

    qt_loop.run_until_complete(scenario())
    assert window.status_bar.currentMessage() == (
        f"Could not back up: cannot back up to {missing}: the folder {missing.parent} does "
        "not exist")
    # The next dialog opened where the last backup was meant to go.
    assert Path(asked[1][1]).parent == missing.parent
    assert not missing.parent.exists()
