"""The window's ECG strip and respiration trace: the widget fed chunks in-process, and the
window with real bleak against the virtual PMD strap."""

from __future__ import annotations

import numpy as np
import pytest
from signal_synth import chunks_of, synthetic_acc, synthetic_ecg
from ui.test_main_window import wait_for, window  # noqa: F401 - the window fixture
from virtual_strap import StrapFactory, VirtualStrap

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import ECG_WAIT_NOTE
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.signal_strip import SignalStrip
from biofeedback.viewmodels.preferences import WindowPreferences
from biofeedback.viewmodels.signal_traces import SignalTraces
from conftest import save_screenshot

pytestmark = pytest.mark.timeout(60)


def _h10_chunks(seconds: float) -> list[SignalChunk]:
    """ECG (73 samples at 130 Hz a frame) and ACC (36 at 50 Hz) from session time 3 s, in
    the order a Polar H10 hands them on."""
    return sorted(
        chunks_of(synthetic_ecg(seconds), "ecg", "uV", 130.0, 3.0, 73)
        + chunks_of(synthetic_acc(seconds, 50.0), "acc", "mG", 50.0, 3.0, 36),
        key=lambda c: c.t0_s + c.n_samples / c.rate_hz,
    )


def _shown_strip(qapp: object, width: int) -> tuple[SignalStrip, SignalTraces]:
    signals = SignalTraces()
    strip = SignalStrip()
    strip.resize(width, 270)
    strip.set_signals(signals)
    strip.show()
    return strip, signals


def _draw(qapp: object, strip: SignalStrip, signals: SignalTraces, chunks: list) -> None:
    for chunk in chunks:
        signals.add(chunk)
        signals.respiration.refresh()  # the window's clock timer does that
    strip.redraw()
    qapp.processEvents()  # type: ignore[attr-defined]


def test_the_strip_draws_the_last_10_s_in_mv_scrolling_under_fixed_axes(qapp):
    strip, signals = _shown_strip(qapp, 900)
    chunks = _h10_chunks(85.0)
    _draw(qapp, strip, signals, chunks[:-20])
    # Drawn: every sample of the last 10 s (1301 of them: fewer than two per pixel), in mV,
    # against seconds before the newest sample.
    t, mv = signals.ecg.arrays()
    x, y = strip.ecg_curve.getData()
    np.testing.assert_array_equal(y, mv)
    np.testing.assert_allclose(x + t[-1], t, atol=1e-9)
    assert x[0] == pytest.approx(-10.0, abs=1 / 130) and x[-1] == 0.0
    assert 0.9 < float(y.max()) < 2.0  # an R wave of about a millivolt, not a thousand
    ecg_view = strip.ecg_plot.getPlotItem().vb
    resp_view = strip.resp_plot.getPlotItem().vb
    assert ecg_view.viewRange()[0] == [-10.0, 0.0]
    assert resp_view.viewRange()[0] == [-60.0, 0.0]
    ecg_y, resp_y = ecg_view.viewRange()[1], resp_view.viewRange()[1]
    assert ecg_y[0] < float(y.min()) and float(y.max()) < ecg_y[1]
    rx, ry = strip.resp_curve.getData()
    np.testing.assert_array_equal(ry, signals.respiration.values_mg)
    np.testing.assert_allclose(rx + signals.respiration.times_s[-1],
                               signals.respiration.times_s, atol=1e-9)
    assert resp_y[0] < float(ry.min()) and float(ry.max()) < resp_y[1]
    save_screenshot(strip, "ecg_strip_widget")
    # Scrolling: 20 more chunks later the newest samples sit at 0 and the oldest left the
    # strip, while the axes stayed where they were (no re-laid ticks per frame).
    _draw(qapp, strip, signals, chunks[-20:])
    t2, mv2 = signals.ecg.arrays()
    x2, y2 = strip.ecg_curve.getData()
    assert t2[-1] > t[-1] + 5.0
    np.testing.assert_array_equal(y2, mv2)
    np.testing.assert_allclose(x2 + t2[-1], t2, atol=1e-9)
    assert ecg_view.viewRange() == [[-10.0, 0.0], ecg_y]
    assert resp_view.viewRange()[0] == [-60.0, 0.0]


def test_a_narrow_strip_draws_each_pixel_columns_min_and_max_keeping_the_r_peaks(qapp):
    strip, signals = _shown_strip(qapp, 420)
    _draw(qapp, strip, signals, _h10_chunks(40.0))
    columns = int(strip.ecg_plot.getPlotItem().vb.width())
    t, mv = signals.ecg.arrays()
    assert t.size > 2 * columns  # so it decimates
    x, y = strip.ecg_curve.getData()
    assert y.size == 2 * columns
    expected_x, expected_y = signals.ecg.curve(columns)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(x, expected_x)
    # Each R peak is a local maximum of the samples above 0.8 mV: each is drawn at its height.
    peaks = np.flatnonzero((mv[1:-1] > 0.8) & (mv[1:-1] >= mv[:-2]) & (mv[1:-1] > mv[2:])) + 1
    assert len(peaks) >= 9
    for peak in peaks:
        assert np.any(y == mv[peak])
    assert y.min() == mv.min()
    save_screenshot(strip, "ecg_strip_widget_narrow")


@pytest.fixture
def pmd_strap(strap_with: StrapFactory) -> VirtualStrap:
    """The virtual strap speaking PMD (paired; ECG 130 Hz, ACC 50 Hz), breathing 30/min, at
    real time: the strap's clock and the session's agree, as they do with a real H10. Its ECG
    begins 2 s after the START, as an H10's begins up to ~30 s later."""
    return strap_with("--pmd", "--pmd-paired", "--breathing", "30", "--pmd-ecg-delay", "2",
                      speed=1.0)


def test_a_strap_with_ecg_and_acc_shows_the_strip_and_the_toggles_persist(
    window, qt_loop, data_dir, pmd_strap  # noqa: F811 - the fixture
):
    assert window.signal_strip is None  # nothing to show before a session sends ECG

    async def scenario() -> None:
        window.start_session(SessionRequest(
            source=f"ble:{pmd_strap.device_address}", record=False, speed=None
        ))
        # Until the first ECG, the status line says it may take a while to begin.
        await wait_for(lambda: window.view_model is not None
                       and ECG_WAIT_NOTE in window.status_bar.status_label.text(),
                       what="the note that the ECG may take 30 s")
        assert not window.view_model.signals.has_ecg
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
        # The ECG came: the sentence that started it lost its note.
        assert window.status.message == "Raw ECG (130 Hz) and accelerometer (50 Hz) started"
        assert window.status_bar.status_label.text().startswith(
            "Streaming: Raw ECG (130 Hz) and accelerometer (50 Hz) started · ")
        # One curve, the view-model's last 10 s in mV (a chest ECG: about a millivolt),
        # against seconds before the newest sample.
        t, mv = strip.ecg_curve.getData()
        assert t[-1] - t[0] <= 10.0 and t[-1] == 0.0
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
