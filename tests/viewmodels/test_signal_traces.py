"""The ECG strip's ring buffer and the respiration trace, fed the chunks a strap hands on."""

from __future__ import annotations

import numpy as np
import pytest
from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

from biofeedback.core.acc_breathing import respiration_signal
from biofeedback.core.signals import SignalChunk
from biofeedback.viewmodels.signal_traces import EcgStrip, RespirationTrace, SignalTraces


def test_the_ecg_strip_holds_the_last_10_s_in_mv_across_the_wrap_around():
    ecg = synthetic_ecg(25.0, 130.0)
    strip = EcgStrip(10.0)
    chunks = chunks_of(ecg, "ecg", "uV", 130.0, 2.0, 73)
    strip.add(chunks[0])
    t, mv = strip.arrays()
    np.testing.assert_allclose(mv, ecg[:73, 0] / 1000.0)
    np.testing.assert_allclose(t, 2.0 + np.arange(73) / 130.0)
    for chunk in chunks[1:]:
        strip.add(chunk)
    # 25 s through a buffer of ~10.5 s: it wrapped around twice; oldest first, exactly the
    # last 10 s (1300 samples after the newest's 10-s mark, inclusive).
    n = ecg.shape[0]
    t, mv = strip.arrays()
    first = n - 1 - 1300
    np.testing.assert_allclose(t, 2.0 + np.arange(first, n) / 130.0)
    np.testing.assert_allclose(mv, ecg[first:, 0] / 1000.0)
    assert strip.capacity < n
    assert 0.5 < mv.max() < 2.0  # an R wave of about a millivolt, not a thousand


def test_a_chunk_longer_than_the_strip_keeps_its_newest_samples():
    ecg = synthetic_ecg(30.0, 130.0)
    strip = EcgStrip(10.0)
    strip.add(SignalChunk("ecg", 0.0, 130.0, ecg, "uV"))
    t, mv = strip.arrays()
    np.testing.assert_allclose(mv, ecg[-1301:, 0] / 1000.0)
    np.testing.assert_allclose(t[-1], (ecg.shape[0] - 1) / 130.0)


def test_a_chunk_that_cannot_be_drawn_is_dropped_with_its_reason():
    signals = SignalTraces()
    signals.add(SignalChunk("ecg", 0.0, 130.0, np.zeros((4, 1), np.int32), "mV"))
    assert signals.problem == "ECG strip: unit is 'mV', expected 'uV'"
    assert not signals.has_ecg
    signals.add(SignalChunk("acc", 0.0, 50.0, np.zeros((4, 2), np.int32), "mG"))
    assert signals.problem == (
        "respiration trace: expected 'acc' in mG with 3 channels, got 'acc' in 'mG' with "
        "shape (4, 2)"
    )


def test_the_respiration_trace_is_the_breathing_signal_of_the_last_60_s():
    acc = synthetic_acc(90.0, 50.0)
    trace = RespirationTrace(60.0, period_s=1.0)
    chunks = chunks_of(acc, "acc", "mG", 50.0, 0.0, 36)
    refreshed = 0
    for chunk in chunks:
        trace.add(chunk)
        refreshed += trace.refresh()
    # Recomputed at most once per second of ACC, not per chunk: every other 0.72-s chunk.
    assert refreshed in (61, 62, 63)
    assert trace.times_s[-1] - trace.times_s[0] == pytest.approx(60.0, abs=0.1)
    assert trace.times_s[-1] == pytest.approx(acc.shape[0] / 50.0, abs=0.1)
    np.testing.assert_array_equal(trace.before_newest_s, trace.times_s - trace.times_s[-1])
    # What is drawn is the breathing signal the rate is counted on, over the ACC kept
    # (10 s more than shown, for the filters' edges).
    times = np.arange(acc.shape[0]) / 50.0
    kept = times >= times[-1] - 71.0
    expected = respiration_signal(times[kept], acc[kept].astype(float))
    same = np.interp(trace.times_s, expected.times_s, expected.trace)
    assert np.corrcoef(trace.values_mg, same)[0, 1] > 0.99
    # 0.25-Hz breathing, ~24 mG deep along the breathing axis (12 on x, 20 on z).
    crossings = np.flatnonzero(np.diff(np.sign(trace.values_mg)) > 0)
    assert len(crossings) in (14, 15, 16)
    assert 15.0 < np.ptp(trace.values_mg[50:-50]) < 60.0


def test_a_chunk_re_placed_earlier_replaces_what_it_overlaps():
    # A strap's first frames are placed before its clock offset is measured: the next chunk
    # can start before the first one ends. The newer placement wins; times keep increasing.
    ecg = synthetic_ecg(3.0, 130.0)
    strip = EcgStrip(10.0)
    strip.add(SignalChunk("ecg", 0.5, 130.0, ecg[:73], "uV"))
    strip.add(SignalChunk("ecg", 0.0, 130.0, ecg[73:], "uV"))
    t, mv = strip.arrays()
    np.testing.assert_allclose(t, np.arange(ecg.shape[0] - 73) / 130.0)
    np.testing.assert_allclose(mv, ecg[73:, 0] / 1000.0)
    acc = synthetic_acc(20.0, 50.0)
    trace = RespirationTrace(60.0)
    trace.add(SignalChunk("acc", 0.5, 50.0, acc[:36], "mG"))
    trace.add(SignalChunk("acc", 0.0, 50.0, acc[36:], "mG"))
    assert trace.refresh()
    assert trace.times_s[0] == pytest.approx(0.0, abs=0.1)
    assert trace.times_s[-1] == pytest.approx((acc.shape[0] - 37) / 50.0, abs=0.1)


def _fed_strip(seconds: float, span_s: float = 10.0) -> tuple[EcgStrip, np.ndarray]:
    ecg = synthetic_ecg(seconds, 130.0)
    strip = EcgStrip(span_s)
    for chunk in chunks_of(ecg, "ecg", "uV", 130.0, 5.0, 73):
        strip.add(chunk)
    return strip, ecg


def test_the_curve_is_the_last_10_s_in_mv_against_time_before_the_newest_sample():
    strip, ecg = _fed_strip(27.0)  # wrapped around twice
    x, mv = strip.curve(900)  # 1301 samples, fewer than two per column: all of them
    n = ecg.shape[0]
    first = n - 1 - 1300
    np.testing.assert_allclose(x, (np.arange(first, n) - (n - 1)) / 130.0, atol=1e-9)
    np.testing.assert_array_equal(mv, ecg[first:, 0] / 1000.0)
    assert x[0] == pytest.approx(-10.0) and x[-1] == 0.0
    # The same (preallocated) arrays every frame, and the buffer read without a copy.
    again_x, again_mv = strip.curve(900)
    assert np.shares_memory(again_x, x) and np.shares_memory(again_mv, mv)
    t, held = strip.view()
    assert not t.flags.writeable and not held.flags.writeable
    assert np.shares_memory(strip.view()[1], held)
    np.testing.assert_array_equal(strip.arrays()[1], held)


def test_more_samples_than_two_per_pixel_column_become_each_columns_min_and_max():
    strip, _ecg = _fed_strip(23.0)
    t, mv = strip.arrays()
    x, drawn = strip.curve(200)
    assert x.size == drawn.size == 400
    # Column c holds samples [c*n//200, (c+1)*n//200): both points at its first sample's
    # time, its minimum then its maximum.
    starts = np.arange(200) * t.size // 200
    ends = np.append(starts[1:], t.size)
    for c in (0, 57, 199):
        column = mv[starts[c] : ends[c]]
        assert (drawn[2 * c], drawn[2 * c + 1]) == (column.min(), column.max())
        assert x[2 * c] == x[2 * c + 1] == pytest.approx(t[starts[c]] - t[-1])
    # Every R peak keeps its height: the drawn extremes are the samples' extremes.
    assert drawn.max() == mv.max() and drawn.min() == mv.min()
    np.testing.assert_array_equal(drawn[1::2], np.maximum.reduceat(mv, starts))
    assert x[0] == pytest.approx(-10.0) and x[-1] <= 0.0
    # Back to every sample when the strip is wide again, or not laid out yet (no width).
    assert strip.curve(1000)[0].size == t.size
    np.testing.assert_array_equal(strip.curve(0)[1], mv)


def test_the_window_refresh_waits_for_the_filters_imported_in_a_fresh_process():
    # A fresh interpreter: the first ACC chunk starts scipy.signal's import in the background,
    # the window's refresh says "not yet" instead of waiting, then draws the same trace.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys, time
        import numpy as np
        from biofeedback.core.signals import SignalChunk
        from biofeedback.viewmodels.signal_traces import RespirationTrace
        assert "scipy.signal" not in sys.modules
        t = np.arange(0, 20, 1 / 50)
        z = 1000 + 20 * np.sin(2 * np.pi * 0.2 * t)
        samples = np.stack([np.zeros_like(t), np.zeros_like(t), z], axis=1).astype(np.int32)
        trace = RespirationTrace(60.0, period_s=1.0)
        trace.add(SignalChunk(stream="acc", t0_s=0.0, rate_hz=50.0, unit="mG",
                              samples=samples))
        first = trace.refresh_when_ready()
        deadline = time.monotonic() + 120
        while not trace.refresh_when_ready():
            assert time.monotonic() < deadline, "scipy.signal never became ready"
            time.sleep(0.01)
        reference = RespirationTrace(60.0, period_s=1.0)
        reference.add(SignalChunk(stream="acc", t0_s=0.0, rate_hz=50.0, unit="mG",
                                  samples=samples))
        assert reference.refresh()
        np.testing.assert_array_equal(trace.values_mg, reference.values_mg)
        print("first", first)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "first False"
