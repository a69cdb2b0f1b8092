"""The source and session panel: real widgets, real bleak against the virtual BlueZ strap,
real studies in a private SQLite store."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt

from biofeedback.core.types import Marker, MarkerKind
from biofeedback.session.launch import SessionRequest
from biofeedback.session.protocol_session import PROTOCOL_COMPLETED
from biofeedback.session.studies import create_study, enrol
from biofeedback.store import SessionStore
from biofeedback.store.studies import record_session_in_study
from biofeedback.ui.source_panel import (
    FREE_PRACTICE_LABEL,
    SessionRequestError,
    SourcePanel,
    participant_id_problem,
)
from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import save_screenshot
from sensors.ble.scan import StrapAdvertisement

OLD_STRAP = "C0:FF:EE:00:00:07"


def make_panel(qtbot, data_dir, settings: WindowPreferences | None = None, **kwargs) -> SourcePanel:
    panel = SourcePanel(settings or WindowPreferences(), data_dir, **kwargs)
    qtbot.addWidget(panel)
    panel.resize(420, 760)
    panel.show()
    return panel


def press_start(qtbot, panel: SourcePanel) -> SessionRequest:
    with qtbot.waitSignal(panel.start_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    request = blocker.args[0]
    assert isinstance(request, SessionRequest)
    return request


def press_start_refused(qtbot, panel: SourcePanel) -> None:
    with qtbot.assertNotEmitted(panel.start_requested):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def combo_entries(combo) -> list[tuple[str, object, bool]]:
    model = combo.model()
    return [
        (model.item(i).text().strip(), model.item(i).data(Qt.ItemDataRole.UserRole),
         model.item(i).isEnabled())
        for i in range(model.rowCount())
    ]


# ------------------------------------------------------------------------ simulated strap


def test_simulated_strap_request_with_seed_speed_and_protocol(qtbot, qt_loop, data_dir):
    panel = make_panel(qtbot, data_dir)
    # Before the library is loaded (worker thread) only free practice is offered.
    assert combo_entries(panel.protocol_combo) == [(FREE_PRACTICE_LABEL, None, True)]
    qt_loop.run_until_complete(panel.load())
    entries = combo_entries(panel.protocol_combo)
    assert entries[0] == (FREE_PRACTICE_LABEL, None, True)
    headers = [text for text, data, enabled in entries if not enabled]
    assert headers[0] == "— Self-soothing (self-compassion) —"
    assert "— Attention (mindfulness) —" in headers and "— Lab: stress reactivity —" in headers
    ids = [data for _, data, enabled in entries if enabled]
    assert {"soothing_touch", "mindfulness_of_breathing", "resonance_breathing",
            "stress_reactivity", "stress_reactivity:soothing_touch",
            "practice_comparison"} <= set(ids)
    assert all(data is None for _, data, enabled in entries if not enabled)

    assert panel.source_kind() == "sim" and not panel.sim_options.isHidden()
    assert panel.ble_options.isHidden() and panel.replay_options.isHidden()
    qtbot.keyClicks(panel.seed_edit, "42")
    panel.sim_speed_combo.setCurrentIndex(panel.sim_speed_combo.findData(10.0))
    panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("resonance_breathing"))
    qtbot.keyClicks(panel.participant_edit, "P07")
    save_screenshot(panel, "source_panel_sim")
    request = press_start(qtbot, panel)
    assert request == SessionRequest(
        source="sim", protocol_id="resonance_breathing", participant_id="P07", study=None,
        speed=10.0, record=True, seed=42, voice="en", speech_rate_wpm=150,
    )
    # max speed is None; an empty seed is None (from the clock); free practice is None.
    panel.sim_speed_combo.setCurrentIndex(panel.sim_speed_combo.findData(None))
    panel.seed_edit.clear()
    panel.protocol_combo.setCurrentIndex(0)
    panel.record_check.setChecked(False)
    request = press_start(qtbot, panel)
    assert (request.speed, request.seed, request.protocol_id, request.record) == (
        None, None, None, False)


# --------------------------------------------------------------------------- Bluetooth


def test_scan_lists_the_virtual_strap_with_rssi_and_start_connects_to_it(
    qtbot, qt_loop, data_dir, virtual_strap
):
    settings = WindowPreferences()
    settings.remember_strap(OLD_STRAP, "Old strap")
    panel = make_panel(qtbot, data_dir, settings, scan_timeout_s=1.5)
    panel.ble_radio.click()
    assert panel.source_kind() == "ble" and not panel.ble_options.isHidden()
    # Remembered straps are listed before any scan.
    assert panel.strap_rows() == [("Old strap", OLD_STRAP, "", "remembered")]

    with qtbot.waitSignal(panel.scan_finished, timeout=10_000) as finished:
        qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
        assert panel.is_scanning
        assert panel.scan_button.text() == "Scanning… 2 s"
        qt_loop.run_until_complete(panel.wait_idle())
    found = finished.args[0]
    assert [s.address for s in found] == [virtual_strap.device_address]
    rssi = found[0].rssi
    assert rssi is not None and -100 < rssi < 0
    assert panel.scan_button.text() == "Scan" and not panel.is_scanning
    assert panel.strap_rows() == [
        (virtual_strap.name, virtual_strap.device_address, f"{rssi} dBm", ""),
        ("Old strap", OLD_STRAP, "not seen", "remembered"),
    ]
    assert panel.ble_status.text().startswith("Found 1 strap;")
    assert panel.error_text("ble") == ""

    # No selection: the strongest strap in range.
    assert press_start(qtbot, panel).source == "ble"
    panel.strap_list.setCurrentItem(panel.strap_list.topLevelItem(0))
    assert panel.selected_strap == virtual_strap.device_address
    assert not panel.forget_button.isEnabled()  # not a remembered strap
    save_screenshot(panel, "source_panel_scan")
    request = press_start(qtbot, panel)
    assert request.source == f"ble:{virtual_strap.device_address}"
    assert request.source_target == virtual_strap.device_address

    # The fixture runs one virtual strap (one fake org.bluez per bus), so a second strap is
    # added to the real scan result to check the order: strongest first, whatever the order
    # of arrival, with the selection kept.
    stronger = StrapAdvertisement("Near strap", "A0:9E:1A:00:00:09", rssi + 20)
    panel.show_scan_results([*found, stronger])
    assert [row[:3] for row in panel.strap_rows()] == [
        ("Near strap", "A0:9E:1A:00:00:09", f"{rssi + 20} dBm"),
        (virtual_strap.name, virtual_strap.device_address, f"{rssi} dBm"),
        ("Old strap", OLD_STRAP, "not seen"),
    ]
    assert panel.strap_list.currentItem().text(1) == virtual_strap.device_address


def test_scan_can_be_cancelled_from_its_button(qtbot, qt_loop, data_dir, virtual_strap):
    panel = make_panel(qtbot, data_dir, scan_timeout_s=20.0)
    panel.set_source("ble")
    qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
    assert panel.scan_button.text() == "Scanning… 20 s"
    qt_loop.run_until_complete(wait_until_discovering(virtual_strap))
    qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)  # the same button cancels
    qt_loop.run_until_complete(panel.wait_idle())
    assert not panel.is_scanning and panel.scan_button.text() == "Scan"
    assert panel.ble_status.text() == "Scan stopped."
    assert panel.error_text("ble") == ""


async def wait_until_discovering(strap) -> None:
    """Let the loop run until the virtual adapter reports an active discovery."""
    for _ in range(100):
        if "discovering=1" in strap.command("status"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the scan never started discovery")


def test_scan_with_the_adapter_off_shows_the_reason_in_the_panel(
    qtbot, qt_loop, data_dir, virtual_strap
):
    assert virtual_strap.command("power off").startswith("OK")
    panel = make_panel(qtbot, data_dir, scan_timeout_s=1.0)
    panel.set_source("ble")
    with qtbot.waitSignal(panel.scan_finished, timeout=10_000) as finished:
        qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
        qt_loop.run_until_complete(panel.wait_idle())
    assert finished.args[0] == []
    error = panel.error_text("ble")
    assert error.startswith("Scanning for straps: Bluetooth is not available")
    assert "powered off" in error.lower() and "Traceback" not in error
    assert not panel.ble_error.isHidden()
    assert panel.scan_button.text() == "Scan" and panel.scan_button.isEnabled()
    save_screenshot(panel, "source_panel_scan_error")


def test_remembered_straps_are_listed_and_forget_removes_one(qtbot, data_dir):
    settings = WindowPreferences(last_source=f"ble:{OLD_STRAP}")
    settings.remember_strap("A0:9E:1A:00:00:02", "TICKR")
    settings.remember_strap(OLD_STRAP, "Polar H10 7E2A")
    panel = make_panel(qtbot, data_dir, settings)
    assert panel.source_kind() == "ble" and panel.selected_strap == OLD_STRAP
    assert panel.strap_rows() == [
        ("Polar H10 7E2A", OLD_STRAP, "", "remembered"),
        ("TICKR", "A0:9E:1A:00:00:02", "", "remembered"),
    ]
    assert panel.forget_button.isEnabled()
    with qtbot.waitSignal(panel.settings_changed, timeout=1000):
        qtbot.mouseClick(panel.forget_button, Qt.MouseButton.LeftButton)
    assert [s.address for s in settings.known_straps] == ["A0:9E:1A:00:00:02"]
    assert settings.last_source == "ble"  # forget_strap dropped it from the last source too
    assert panel.strap_rows() == [("TICKR", "A0:9E:1A:00:00:02", "", "remembered")]
    assert panel.selected_strap is None and not panel.forget_button.isEnabled()
    assert panel.ble_status.text() == f"Forgot strap {OLD_STRAP}."
    assert press_start(qtbot, panel).source == "ble"
    panel.strap_list.setCurrentItem(panel.strap_list.topLevelItem(0))
    assert press_start(qtbot, panel).source == "ble:A0:9E:1A:00:00:02"


# ------------------------------------------------------------------------------ replay


def test_replay_of_a_session_or_a_file_and_missing_targets(qtbot, data_dir, tmp_path):
    panel = make_panel(qtbot, data_dir)
    panel.replay_radio.click()
    assert not panel.replay_options.isHidden() and panel.sim_options.isHidden()
    press_start_refused(qtbot, panel)
    assert panel.error_text("replay").startswith("Choose what to replay")
    with pytest.raises(SessionRequestError) as refused:
        panel.request()
    assert refused.value.field == "replay"

    qtbot.keyClicks(panel.replay_edit, "12")
    assert panel.error_text("replay") == ""  # typing clears it
    panel.replay_speed_combo.setCurrentIndex(panel.replay_speed_combo.findData(60.0))
    request = press_start(qtbot, panel)
    assert (request.source, request.source_kind, request.source_target, request.speed) == (
        "replay:12", "replay", "12", 60.0)

    missing = tmp_path / "nope.txt"
    panel.set_replay_target(str(missing))  # what "Open RR file…" does after its dialog
    press_start_refused(qtbot, panel)
    assert panel.error_text("replay") == f"There is no RR file {str(missing)!r}."

    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("812\n798\n805\n", encoding="utf-8")
    panel.set_replay_target(str(rr_file))
    panel.replay_speed_combo.setCurrentIndex(panel.replay_speed_combo.findData(None))
    request = press_start(qtbot, panel)
    assert request.source == f"replay:{rr_file.resolve()}" and request.speed is None
    assert panel.error_text("replay") == ""


# ------------------------------------------------------------------------------ studies


def test_study_gives_the_participants_order_and_next_condition(qtbot, qt_loop, data_dir):
    conditions = ["soothing_touch", "mindfulness_of_breathing"]
    with SessionStore.open(data_dir) as store:
        create_study(store, "msc-pilot", conditions)
        create_study(store, "other", ["quiet_rest", "body_scan"])
        first = enrol(store, "msc-pilot", "P01").condition_order
        # P01 completed their first condition (a complete session with the protocol's end).
        session_id = store.create_session(source="sim", participant_id="P01",
                                          protocol_id=first[0])
        store.add_marker(session_id, Marker(600.0, 0.0, PROTOCOL_COMPLETED, MarkerKind.PROTOCOL))
        store.finish_session(session_id)
        record_session_in_study(store, session_id, "msc-pilot", "P01", 0)
    assert first == ("soothing_touch", "mindfulness_of_breathing")

    settings = WindowPreferences(protocol_id="resonance_breathing", study="msc-pilot")
    panel = make_panel(qtbot, data_dir, settings)
    assert panel.study() is None  # studies are not loaded yet: chosen once they are
    qt_loop.run_until_complete(panel.load())
    qt_loop.run_until_complete(panel.wait_idle())
    assert [panel.study_combo.itemText(i) for i in range(panel.study_combo.count())] == [
        "No study", "msc-pilot", "other"]
    assert panel.study() == "msc-pilot"
    assert not panel.protocol_combo.isEnabled()
    assert panel.study_info.text().startswith("Enter the participant's id")
    press_start_refused(qtbot, panel)
    assert "needs a participant id" in panel.error_text("participant")

    qtbot.keyClicks(panel.participant_edit, "P01")
    qt_loop.run_until_complete(panel.wait_idle())
    assert panel.study_order == first
    assert panel.next_condition == "mindfulness_of_breathing"
    assert panel.protocol_id() == "mindfulness_of_breathing"
    assert panel.error_text("participant") == ""
    info = panel.study_info.text()
    assert "<s>soothing_touch</s> → <b>mindfulness_of_breathing</b>" in info
    assert "condition 2 of 2" in info
    save_screenshot(panel, "source_panel_study")
    request = press_start(qtbot, panel)
    assert (request.study, request.participant_id, request.protocol_id) == (
        "msc-pilot", "P01", "mindfulness_of_breathing")

    # A new participant: the order they would get (the Williams design's next one).
    panel.participant_edit.setText("P02")
    qt_loop.run_until_complete(panel.wait_idle())
    assert panel.study_order == ("mindfulness_of_breathing", "soothing_touch")
    assert panel.next_condition == "mindfulness_of_breathing"
    assert "P02 is new to this study" in panel.study_info.text()
    assert press_start(qtbot, panel).protocol_id == "mindfulness_of_breathing"
    with SessionStore.open(data_dir) as store:  # looking did not enrol anyone
        from biofeedback.store.studies import get_study

        assert [e.participant_id for e in get_study(store, "msc-pilot").participants] == ["P01"]

    # Settings keep the study and the free protocol chosen before it.
    panel.store_into_settings()
    assert (settings.study, settings.protocol_id, settings.participant_id) == (
        "msc-pilot", "resonance_breathing", "P02")
    # No study: the protocol is free again and back to the earlier choice.
    panel.set_study(None)
    assert panel.protocol_combo.isEnabled() and panel.protocol_id() == "resonance_breathing"
    assert panel.study_info.isHidden() and panel.study_order is None
    assert press_start(qtbot, panel).study is None


def test_study_without_a_database_lists_no_studies(qtbot, qt_loop, data_dir):
    panel = make_panel(qtbot, data_dir)
    assert qt_loop.run_until_complete(panel.refresh_studies()) == []
    assert panel.study_combo.count() == 1 and panel.study() is None
    assert not (data_dir / "biofeedback.sqlite3").exists()  # looking created nothing


# ------------------------------------------------------------------- participant, running


@pytest.mark.parametrize("bad", ["Jane Doe", "p/01", "é@x"])
def test_invalid_participant_id_is_shown_and_nothing_starts(qtbot, data_dir, bad):
    panel = make_panel(qtbot, data_dir)
    panel.participant_edit.setText(bad)  # keyClicks cannot type non-ASCII keys
    expected = participant_id_problem(bad)
    assert expected is not None and "letters, digits, '-' or '_'" in expected
    assert panel.error_text("participant") == expected
    press_start_refused(qtbot, panel)
    with pytest.raises(SessionRequestError) as refused:
        panel.request()
    assert refused.value.field == "participant" and str(refused.value) == expected
    panel.participant_edit.setText("P-01_b")
    assert panel.error_text("participant") == ""
    assert press_start(qtbot, panel).participant_id == "P-01_b"


def test_set_running_switches_to_stop_and_locks_the_choices(qtbot, data_dir):
    panel = make_panel(qtbot, data_dir)
    press_start(qtbot, panel)
    panel.set_running(True)
    assert panel.is_running and panel.start_button.text() == "Stop"
    locked = [panel.sim_radio, panel.ble_radio, panel.replay_radio, panel.seed_edit,
              panel.participant_edit, panel.study_combo, panel.protocol_combo,
              panel.record_check, panel.scan_button, panel.strap_list]
    assert not any(w.isEnabled() for w in locked)
    with qtbot.waitSignal(panel.stop_requested, timeout=1000), \
            qtbot.assertNotEmitted(panel.start_requested):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    panel.set_running(False)
    assert not panel.is_running and panel.start_button.text() == "Start"
    assert all(w.isEnabled() for w in locked)
    assert press_start(qtbot, panel).source == "sim"


def test_apply_and_store_settings(qtbot, data_dir):
    settings = WindowPreferences(last_source="replay:7", speed=20.0, participant_id="P05",
                           protocol_id="stress_reactivity:body_scan")
    panel = make_panel(qtbot, data_dir, settings)
    assert panel.source_kind() == "replay" and panel.replay_edit.text() == "7"
    assert panel.replay_speed_combo.currentText() == "20x"  # a command-line speed is kept
    assert panel.participant_id() == "P05"
    assert panel.protocol_id() == "stress_reactivity:body_scan"
    request = press_start(qtbot, panel)
    assert (request.source, request.speed, request.protocol_id) == (
        "replay:7", 20.0, "stress_reactivity:body_scan")

    panel.set_source("sim")
    panel.sim_speed_combo.setCurrentIndex(panel.sim_speed_combo.findData(None))
    panel.set_participant("")
    panel.set_protocol(None)
    panel.store_into_settings()
    assert (settings.last_source, settings.speed, settings.participant_id,
            settings.protocol_id, settings.study) == ("sim", None, None, None, None)

    broken = WindowPreferences(last_source="usb")  # a spec that names no source: simulated strap
    assert make_panel(qtbot, data_dir, broken).source_kind() == "sim"
