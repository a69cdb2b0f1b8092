"""The window's ECG strip and respiration trace, with real bleak against the virtual PMD strap."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ui.test_main_window import wait_for, window  # noqa: F401 - the window fixture
from virtual_strap import VirtualStrap, bluetoothctl_stub

from biofeedback.session.launch import SessionRequest
from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import save_screenshot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def pmd_strap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[VirtualStrap]:
    """The virtual strap speaking PMD (paired; ECG 130 Hz, ACC 50 Hz), breathing 30/min, at
    real time: the strap's clock and the session's agree, as they do with a real H10."""
    strap = VirtualStrap(tmp_path / "strap", speed=1.0,
                         extra_args=["--pmd", "--pmd-paired", "--breathing", "30"])
    strap.start()
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", strap.bus_address)
    monkeypatch.setenv(
        "PATH", f"{bluetoothctl_stub(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    try:
        yield strap
    finally:
        strap.stop()


def test_a_strap_with_ecg_and_acc_shows_the_strip_and_the_toggles_persist(
    window, qt_loop, data_dir, pmd_strap  # noqa: F811 - the fixture
):
    assert window.signal_strip is None  # nothing to show before a session sends ECG

    async def scenario() -> None:
        window.start_session(SessionRequest(
            source=f"ble:{pmd_strap.device_address}", record=False, speed=None
        ))
        await wait_for(
            lambda: window.view_model is not None
            and window.view_model.signals.respiration.times_s.size > 0
            and window.view_model.signals.ecg.arrays()[0].size > 130 * 3,
            what="3 s of ECG and a respiration trace",
        )
        vm = window.view_model
        strip = window.signal_strip
        await wait_for(lambda: strip is not None and strip.ecg_plot.isVisible()
                       and strip.resp_plot.isVisible(), what="the strip shown")
        window._request_frame()
        await wait_for(lambda: strip.ecg_curve.xData is not None
                       and strip.ecg_curve.xData.size > 130 * 3, what="the strip drawn")
        save_screenshot(window, "window_ecg_strip")
        # One curve, the view-model's last 10 s in mV (a chest ECG: about a millivolt).
        t, mv = strip.ecg_curve.getData()
        assert t[-1] - t[0] <= 10.0
        assert 0.3 < float(np.max(mv)) - float(np.min(mv)) < 5.0
        shown_x = strip.ecg_plot.getPlotItem().viewRange()[0]
        assert shown_x[1] - shown_x[0] == pytest.approx(10.0, rel=0.02)
        _t, ry = strip.resp_curve.getData()
        np.testing.assert_array_equal(ry, vm.signals.respiration.values_mg[: ry.size])
        # Inside the physiology page, which the feedback cover replaces.
        assert window.physiology_stack.widget(0).isAncestorOf(strip)

        window.ecg_strip_action.setChecked(False)
        assert not strip.ecg_plot.isVisible()
        assert strip.resp_plot.isVisible()
        window.respiration_action.setChecked(False)
        assert not strip.isVisible()
        saved = WindowPreferences.load(data_dir)
        assert (saved.show_ecg_strip, saved.show_respiration) == (False, False)
        window.ecg_strip_action.setChecked(True)
        assert strip.ecg_plot.isVisible() and not strip.resp_plot.isVisible()
        assert WindowPreferences.load(data_dir).show_ecg_strip is True
        window.current.stop()
        await wait_for(lambda: not window.running, what="session end")

    qt_loop.run_until_complete(scenario())
