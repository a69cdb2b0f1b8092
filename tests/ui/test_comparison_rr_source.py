"""The Compare tab with RR from the raw ECG: the choice reaches ``biofeedback compare
--rr-source ecg`` (run in its own process, with 2 worker processes), the session without ECG
is listed as excluded, the agreement with the strap is shown, and the per-practice table says
where each practice's breathing rate came from."""

from __future__ import annotations

import asyncio

from ecg_sessions import enrol_comparison_study, record_ecg_comparison
from ui_helpers import waiter

from biofeedback.ui.comparison import ComparisonView
from conftest import save_screenshot

wait_for = waiter(60.0)


def test_compare_tab_takes_rr_from_the_ecg(qtbot, data_dir, qt_loop) -> None:
    sessions = record_ecg_comparison(data_dir)
    enrol_comparison_study(data_dir, sessions)
    view = ComparisonView(data_dir.resolve(), workers=1)
    qtbot.addWidget(view)
    view.resize(1250, 780)
    view.show()
    qt_loop.run_until_complete(view.refresh_choices())
    combo = view.chooser.rr_source_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "RR from the strap", "RR from the raw ECG"]
    assert view.chooser.chosen_rr_source() == "strap"
    combo.setCurrentIndex(1)
    assert view.chooser.chosen_rr_source() == "ecg"
    finished: list[dict] = []
    view.comparison_finished.connect(finished.append)

    async def scenario() -> None:
        view.compare_button.click()
        await wait_for(lambda: bool(finished))

    qt_loop.run_until_complete(asyncio.wait_for(scenario(), 120))
    result = finished[0]
    assert result["settings"]["rr_source"] == "ecg"
    line = view.ecg_label.text()
    assert view.ecg_label.isVisible()
    assert line.startswith("RR from the raw ECG of 3 sessions (neurokit2 ")
    assert f"1 excluded without usable ECG: {sessions['P4']} (P4)" in line
    assert "ECG and 0 strap beats unpaired per session" in line
    assert "RR from the raw ECG" in view.settings_label.text()
    # Excluded tab: the session without ECG, with its reason.
    table = view.excluded_table
    reasons = {(table.item(r, 2).text(), table.item(r, 4).text())
               for r in range(table.rowCount())}
    assert ("P4", "no stored ECG") in reasons
    # Per practice: P2 and P3 breathed on the ACC in both practices, P1 on the RR spectrum.
    practice = view.per_practice_table
    headers = [practice.horizontalHeaderItem(c).text() for c in range(practice.columnCount())]
    column = headers.index("Breathing from")
    assert [practice.item(r, column).text() for r in range(practice.rowCount())] == [
        "ACC 2, RR spectrum 1"] * 2
    assert "ACC 1, RR spectrum 2" in practice.item(0, column).toolTip()
    assert view.breathing_label.text().endswith(
        "(rates from the ACC for 2 participants, the RR spectrum for 1)")
    save_screenshot(view, "comparison_view_ecg")
    view.details_tabs.setCurrentWidget(practice)
    save_screenshot(view, "comparison_view_ecg_practice")
