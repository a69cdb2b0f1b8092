"""The window replaying a stored session with ECG and ACC: the strip and the respiration trace
fill from the replayed samples, and a seek starts them again at the new time."""

from __future__ import annotations

import numpy as np
import pytest
from signal_synth import recorded_with_signals
from ui.test_main_window import wait_for, window  # noqa: F401 - the window fixture

from biofeedback.core.types import SourceState
from biofeedback.store.paths import database_path
from conftest import save_screenshot
from sensors.replay import SIGNAL_PIECE_S

pytestmark = pytest.mark.timeout(60)

ECG_HZ, ECG_T0 = 130.0, 0.1  # where recorded_with_signals places the ECG


def test_a_replay_in_the_window_shows_the_stored_ecg_and_respiration(
    data_dir, qt_loop, window  # noqa: F811 - the fixture
):
    data_dir.mkdir(mode=0o700, exist_ok=True)
    sid, ecg, _acc = recorded_with_signals(database_path(data_dir), 60.0)
    window.settings.speed = 20.0

    async def scenario() -> None:
        window.browser.replay_requested.emit(sid)
        await wait_for(
            lambda: window.view_model is not None
            and window.view_model.signals.respiration.times_s.size > 0
            and window.view_model.signals.ecg.arrays()[0].size > ECG_HZ * 8,
            what="8 s of replayed ECG and a respiration trace",
        )
        window.replay_bar.toggle_play()
        await wait_for(lambda: window.status.state is SourceState.PAUSED, what="pause")
        strip = window.signal_strip
        assert strip is not None and strip.ecg_plot.isVisible() and strip.resp_plot.isVisible()
        window._draw_frame()
        save_screenshot(window, "window_replay_ecg_strip")
        # What is drawn is the stored ECG, sample for sample, at its stored times (mV); the
        # strip's x axis is seconds before the newest sample.
        t_before, mv = strip.ecg_curve.getData()
        t = t_before + window.view_model.signals.ecg.arrays()[0][-1]
        index = np.round((t - ECG_T0) * ECG_HZ).astype(int)
        np.testing.assert_allclose(t, ECG_T0 + index / ECG_HZ, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(np.round(mv * 1000.0).astype(np.int32), ecg[index, 0])
        assert strip.resp_curve.getData()[1].size > 0
        # A seek forward: the strip starts again from the new time, nothing before it.
        window.replay_bar.toggle_play()
        window.replay_bar.seek(45.0)
        await wait_for(lambda: window.view_model.signals.ecg.arrays()[0].size > ECG_HZ * 3
                       and window.view_model.signals.ecg.arrays()[0][0] >= 44.0,
                       what="3 s of ECG after the seek")
        window._draw_frame()
        t_after = strip.ecg_curve.getData()[0] + window.view_model.signals.ecg.arrays()[0][-1]
        assert t_after[0] >= 45.0 - SIGNAL_PIECE_S
        window.replay_bar.set_speed(None)
        await wait_for(lambda: not window.running, what="replay end")

    qt_loop.run_until_complete(scenario())
