"""The live view and the values panel, real widgets on the offscreen platform."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.types import Gap, Marker, PhaseSpan
from biofeedback.session.live_session import BeatsProcessed, LiveSession, SessionEvent
from biofeedback.ui.live_view import (
    PHASE_COLOURS,
    TREND_PERIOD_S,
    LiveView,
    span_end_s,
    whole_session_end_s,
)
from biofeedback.ui.plot_items import Curve
from biofeedback.ui.values_panel import DASH, ValuesPanel
from biofeedback.viewmodels.spectrum import current_segment, live_spectrum
from conftest import save_screenshot
from sensors.simulated import ArtifactRates, SimulatedStrap

PHASES = [
    PhaseSpan("baseline", "Baseline", "baseline", 0.0, 150.0),
    PhaseSpan("stressor", "Serial subtraction", "stressor", 150.0, 300.0),
    PhaseSpan("practice", "Soothing touch", "practice", 300.0, 480.0, "soothing_touch"),
    PhaseSpan("recovery", "Recovery", "recovery", 480.0, 480.0),  # still running
]
MARKERS = {200.0: "itchy nose", 420.0: "talked", 560.0: "noise"}


Recorded = list[SessionEvent]


def _run_session(
    qt_loop,
    duration_s: float,
    *,
    seed: int = 3,
    dropped: float = 0.002,
    spectral_wall_s: float = 0.0,
) -> tuple[LiveSession, Recorded]:
    """A real simulated session at max speed; every event it publishes, in order."""
    strap = SimulatedStrap(
        seed=seed,
        speed=None,
        duration_s=duration_s,
        artifacts=ArtifactRates(ectopic_pair=0.004, missed=0.002, dropped_notification=dropped),
    )
    # spectral values every second of session time, as at real time (max speed would
    # otherwise refresh them a few times per wall second only)
    session = LiveSession(strap, store=None, neurokit=False, spectral_min_wall_s=spectral_wall_s)
    events: Recorded = []
    pending = sorted(MARKERS.items())

    def record(event: SessionEvent) -> None:
        events.append(event)  # a value: it carries the indices of its moment
        if not isinstance(event, BeatsProcessed):
            return
        if pending and event.batch.received_s >= pending[0][0]:
            onset, label = pending.pop(0)
            session.add_marker(label, onset_s=onset)  # published to us as a Marker

    session.subscribe(record)
    qt_loop.run_until_complete(session.run(duration_s=duration_s))
    return session, events


@pytest.fixture(scope="module")
def ten_minutes(request):
    """Events of a 10-min simulated session (shared: each test feeds its own view)."""
    qapp = request.getfixturevalue("qapp")
    from biofeedback.ui.event_loop import close_event_loop, create_event_loop

    loop = create_event_loop(qapp)
    try:
        result = _run_session(loop, 600.0)
    finally:
        close_event_loop(loop)  # one qasync loop at a time: tests may make their own
    return result


def _view(qtbot, events: Recorded, span_s: float = 300.0) -> LiveView:
    view = LiveView(span_s=span_s)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    for event in events:
        view.traces.on_event(event)
    return view


def test_live_view_draws_the_visible_span_of_a_real_session(qtbot, ten_minutes):
    session, recorded = ten_minutes
    events = recorded
    view = _view(qtbot, recorded, span_s=600.0)
    view.set_phases(PHASES)
    view.redraw()
    spectrum = live_spectrum(*current_segment(session))
    assert spectrum is not None
    view.show_spectrum(spectrum)

    last_beat = session.stats.last_beat_s
    x0, x1 = view.visible_range()
    # the last 10 min, the right edge a 1-min step ahead of the newest beat (it stands still)
    assert 600.0 < last_beat < 601.0
    assert (x0, x1) == (60.0, 660.0) == (span_end_s(last_beat, 600.0) - 600.0, 660.0)
    assert view.hr_plot.vb.viewRange()[0] == pytest.approx([x0, x1])
    assert view.trend_plot.vb.viewRange()[0] == pytest.approx([x0, x1])  # same range

    hr_x, hr_y = view.hr_curve.getData()
    rr_x, rr_y = view.rr_curve.getData()
    # clipped to the view, one point either side
    assert (hr_x[1:-1] >= x0).all() and (hr_x[1:-1] <= x1).all()
    assert hr_x[0] < x0 + 2.0 and hr_x[-1] >= last_beat - 1e-9
    beats = {
        b.time_s: b.rr_ms
        for e in events if isinstance(e, BeatsProcessed) for b in e.batch.beats
    }
    in_view = [t for t in beats if x0 <= t <= x1]
    assert np.isfinite(hr_y).sum() >= len(in_view)  # not decimated: a few hundred beats
    finite = np.isfinite(rr_y)
    for t, rr, hr in zip(rr_x[finite], rr_y[finite], hr_y[finite], strict=True):
        assert beats[float(t)] == rr
        assert hr == pytest.approx(60000.0 / rr)
    # gaps in view are breaks in the curve
    gaps = [e for e in events if isinstance(e, Gap) and x0 <= e.start_s <= x1]
    assert np.isnan(hr_y).sum() == len(gaps) > 0
    # artifact beats are drawn as points on both plots
    art_x, art_y = view.rr_artifacts.getData()
    assert art_x.size > 0
    assert all(beats[float(t)] == y for t, y in zip(art_x, art_y, strict=True))
    assert view.hr_artifacts.getData()[0].size == art_x.size
    # lnRMSSD trend and HF (valid values only)
    _, ln_y = view.ln_rmssd_curve.getData()
    assert np.isfinite(ln_y).sum() > 100
    assert np.nanmin(ln_y) > 1.0 and np.nanmax(ln_y) < 6.0
    _, hf_y = view.hf_curve.getData()
    assert np.isfinite(hf_y).any() and np.nanmin(hf_y) > 0

    # phases in view are shaded with their kind's colour and named; markers drawn
    visible_phases = [p for p in view._phase_items if p.regions[0].isVisible()]
    expected = {
        p.phase_id for p in PHASES
        if p.start_s <= x1 and (p.end_s if p.end_s > p.start_s else last_beat) >= x0
    }
    assert {"practice", "recovery"} <= expected
    assert {p.phase.phase_id for p in visible_phases} == expected
    recovery = next(p for p in visible_phases if p.phase.phase_id == "recovery")
    # the open phase reaches the standing right edge (not "now": no repaint per beat)
    assert recovery.regions[0].getRegion() == pytest.approx((480.0, x1))
    assert recovery.label.toPlainText() == "Recovery"
    for items in visible_phases:
        assert items.regions[0].brush.color().name() == PHASE_COLOURS[items.phase.kind]
    marker_lines = [line for line in view._marker_lines[0].lines if line.isVisible()]
    assert sorted(line.value() for line in marker_lines) == [200.0, 420.0, 560.0]
    assert {line.label.format for line in marker_lines} == {"itchy nose", "talked", "noise"}
    assert len([m for m in view.traces.markers]) == 3

    # the spectrum: curve, shaded bands, breathing peak
    fx, fy = view.psd_curve.getData()
    assert fx.max() <= 0.5 + 1e-9 and fy.max() > 0
    lf_x, _ = view.lf_fill.getData()
    hfb_x, _ = view.hf_fill.getData()
    assert lf_x.max() == pytest.approx(0.15) and hfb_x.min() == pytest.approx(0.15)
    assert view.breathing_line.isVisible()
    assert view.breathing_line.value() == pytest.approx(spectrum.breathing_peak_hz)
    save_screenshot(view, "live_view")


def test_span_selector_emits_and_whole_session_is_shown(qtbot, ten_minutes):
    session, recorded = ten_minutes
    view = _view(qtbot, recorded, span_s=60.0)
    view.redraw()
    assert view.visible_range()[1] - view.visible_range()[0] == pytest.approx(60.0)
    index = view.span_combo.findData(0.0)
    with qtbot.waitSignal(view.span_changed, timeout=1000) as blocker:
        view.span_combo.setCurrentIndex(index)
    assert blocker.args == [0.0]
    assert view.span_s == 0.0
    x0, x1 = view.visible_range()
    # the whole session, up to the next time-axis step of at least 5 % past it (60 s)
    last = session.stats.last_beat_s
    assert 600.0 < last < 601.0
    assert x0 == 0.0 and x1 == whole_session_end_s(last) == 660.0
    hr_x, _ = view.hr_curve.getData()
    assert hr_x[0] == pytest.approx(session.stats.first_beat_s)
    with qtbot.waitSignal(view.span_changed, timeout=1000) as blocker:
        view.set_span_s(120.0)
    assert blocker.args == [120.0]
    assert view.span_combo.currentData() == 120.0
    # an unusual span (from the settings file) gets its own entry
    view.set_span_s(900.0)
    assert view.span_combo.currentText() == "15 min"
    with qtbot.assertNotEmitted(view.span_changed):
        view.set_span_s(900.0)


def test_redraw_is_cheap_when_nothing_changed_and_follows_now(qtbot, ten_minutes):
    _, recorded = ten_minutes
    half = len(recorded) // 2
    view = _view(qtbot, recorded[:half])
    view.redraw()
    drawn = view.hr_curve.getData()[0].size
    first_half_end = view.traces.last_time_s
    for event in recorded[half:]:
        view.traces.on_event(event)
    # feeding does not repaint
    assert view.hr_curve.getData()[0].size == drawn
    view.redraw(now_s=first_half_end + 30.0)
    x0, x1 = view.visible_range(first_half_end + 30.0)
    assert view.hr_plot.vb.viewRange()[0] == pytest.approx([x0, x1])


def test_truncate_and_reset(qtbot, ten_minutes):
    _, recorded = ten_minutes
    view = _view(qtbot, recorded, span_s=0.0)
    view.set_phases(PHASES)
    view.redraw()
    view.truncate_after(240.0)
    view.redraw()
    hr_x, _ = view.hr_curve.getData()
    assert hr_x.max() < 240.0
    assert all(m.onset_s < 240.0 for m in view.traces.markers)
    visible = [line.value() for line in view._marker_lines[0].lines if line.isVisible()]
    assert visible == [200.0]
    view.reset()
    assert view.hr_curve.getData()[0].size == 0
    assert view._phase_items == []
    assert view.spectrum is None and view.spectrum_message.isVisible()


def test_two_hours_on_screen_are_decimated_and_keep_their_peaks(qtbot, qt_loop):
    session, recorded = _run_session(
        qt_loop, 7200.0, seed=11, dropped=0.0005, spectral_wall_s=0.002
    )
    events = recorded
    view = _view(qtbot, recorded, span_s=0.0)
    view.set_phases(
        [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 1800.0),
         PhaseSpan("practice", "Mindfulness of breathing", "practice", 1800.0, 5400.0),
         PhaseSpan("rest", "Quiet rest", "rest", 5400.0, 7200.0)]
    )
    view.redraw()
    view.show_spectrum(live_spectrum(*current_segment(session)))
    width = view.hr_plot.vb.width()
    n_beats = session.stats.n_beats
    assert n_beats > 7500
    hr_x, hr_y = view.hr_curve.getData()
    gaps = sum(isinstance(e, Gap) for e in events)
    assert hr_x.size <= 2 * width + gaps + 4 < n_beats
    assert view.points_drawn["hr"] == hr_x.size
    # peaks survive: the drawn extremes are those of the data
    _, rr_all, hr_all, _ = view.traces.beat_arrays()
    assert np.nanmax(hr_y) == np.nanmax(hr_all)
    assert np.nanmin(view.rr_curve.getData()[1]) == np.nanmin(rr_all)
    assert np.isnan(hr_y).sum() == gaps
    # the markers, 220 s and 140 s apart (about 10 px here), keep only the first label
    lines = [line for line in view._marker_lines[0].lines if line.isVisible()]
    assert len(lines) == 3
    assert [line.label.isVisible() for line in lines] == [True, False, False]
    # the artifact points are all there
    assert view.rr_artifacts.getData()[0].size == view.traces.artifact_flags().sum()
    save_screenshot(view, "live_view_2h")


def test_values_panel_shows_values_units_and_dashes(qtbot, ten_minutes):
    session, _ = ten_minutes
    panel = ValuesPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert {panel.text_of(k) for k in ("hr", "rmssd", "breathing", "coherence", "hf")} == {DASH}
    indices = session.indices()
    panel.show_indices(indices)
    assert panel.text_of("hr") == f"{indices.hr_bpm:.0f}"
    assert panel.text_of("rmssd") == f"{indices.rmssd_60_ms:.0f}"
    assert panel.tiles["rmssd"].detail.text() == f"lnRMSSD {indices.ln_rmssd_60:.2f}"
    assert panel.text_of("breathing") == f"{indices.breaths_per_min:.1f}"
    assert panel.text_of("coherence") == f"{indices.coherence_score:.1f}"
    assert panel.text_of("hf") == f"{indices.hf_ms2:.0f}"
    assert panel.tiles["hr"].unit.text() == "bpm"
    assert panel.tiles["rmssd"].unit.text() == "ms"
    assert panel.tiles["breathing"].unit.text() == "/min"
    assert panel.tiles["rmssd"].caption.text() == "RMSSD · last 60 s"
    panel.resize(panel.sizeHint())
    qtbot.waitExposed(panel)
    # every value fits its label (no clipped digits)
    for tile in panel.tiles.values():
        metrics = tile.value.fontMetrics()
        assert metrics.horizontalAdvance(tile.value.text()) <= tile.value.width()
    save_screenshot(panel, "values_panel")
    # not enough data after a gap: dashes, HF hidden behind a dash too
    from dataclasses import replace

    panel.show_indices(replace(indices, rmssd_60_ms=None, ln_rmssd_60=None, hf_ms2=None))
    assert panel.text_of("rmssd") == DASH and panel.text_of("hf") == DASH
    assert panel.tiles["rmssd"].detail.text() == ""
    assert panel.text_of("hr") == f"{indices.hr_bpm:.0f}"
    panel.show_indices(None)
    assert panel.text_of("coherence") == DASH


def test_marker_label_with_braces_is_shown_literally(qtbot):
    view = LiveView(span_s=60.0)
    qtbot.addWidget(view)
    view.traces.on_event(Marker(10.0, 0.0, "answer {1009}"))
    view.redraw(now_s=30.0)
    line = next(line for line in view._marker_lines[0].lines if line.isVisible())
    assert line.label.toPlainText() == "answer {1009}"


def _assert_curves_show_the_traces(view: LiveView, *, trends: bool = True) -> None:
    """Each curve holds what the model gives for the visible range and the plot's width."""
    x0, x1 = view.visible_range()
    curves = [(view.hr_curve, "hr", view.hr_plot), (view.rr_curve, "rr", view.hr_plot)]
    if trends:
        curves += [(view.ln_rmssd_curve, "ln_rmssd", view.trend_plot),
                   (view.hf_curve, "hf", view.trend_plot)]
    curves += [(view.hr_artifacts, "hr_artifacts", view.hr_plot),
               (view.rr_artifacts, "rr_artifacts", view.hr_plot)]
    for curve, name, plot in curves:
        want_x, want_y = view.traces.view(name, x0, x1, view._max_points(plot))
        got_x, got_y = curve.getData()
        np.testing.assert_array_equal(got_x, want_x)
        np.testing.assert_array_equal(got_y, want_y)
        # and what its pieces draw, joined where they share a point, is the same
        drawn_x, drawn_y = _joined(curve.drawn_pieces(), curve.overlap)
        np.testing.assert_array_equal(drawn_x, want_x)
        np.testing.assert_array_equal(drawn_y, want_y)


def _joined(
    pieces: list[tuple[np.ndarray, np.ndarray]], overlap: int
) -> tuple[np.ndarray, np.ndarray]:
    """The points of consecutive pieces that share ``overlap`` points, as one series."""
    if not pieces:
        return np.empty(0), np.empty(0)
    xs, ys = [pieces[0][0]], [pieces[0][1]]
    for x, y in pieces[1:]:
        if overlap:
            assert x[0] == xs[-1][-1]  # joined: no hole in the line
            np.testing.assert_array_equal(y[:1], ys[-1][-1:])
        xs.append(x[overlap:])
        ys.append(y[overlap:])
    return np.concatenate(xs), np.concatenate(ys)


def test_drawn_curves_follow_appends_zoom_span_and_seeks(qtbot, ten_minutes):
    """Whole session on a narrow plot (decimated, buckets kept between frames): the curves
    always hold the model's values; the trends follow every TREND_PERIOD_S of new data."""
    _, recorded = ten_minutes
    start = len(recorded) * 2 // 5
    view = _view(qtbot, recorded[:start], span_s=0.0)
    view.resize(330, 600)
    qtbot.wait(50)
    view.redraw()
    assert view.points_drawn["hr"] < view.traces.n_beats  # decimated
    _assert_curves_show_the_traces(view)
    ranges = {view.visible_range()}
    trend_redraws = 0
    for event in recorded[start:start + 400]:
        before = view.ln_rmssd_curve.getData()[0].copy()
        view.traces.on_event(event)
        view.redraw()
        ranges.add(view.visible_range())
        _assert_curves_show_the_traces(view, trends=False)
        if np.array_equal(view.ln_rmssd_curve.getData()[0], before):
            # not redrawn: less than a trend period of new trend data since it was
            assert view.traces.trend_end_s < view._trend_drawn_s + TREND_PERIOD_S
        else:
            trend_redraws += 1
            _assert_curves_show_the_traces(view)
    # the range steps (15 s, then 30 s, ahead): between steps, 400 frames append
    assert len(ranges) == 16
    assert 10 < trend_redraws < 200
    view.resize(700, 600)  # another zoom level
    qtbot.wait(50)
    view.redraw()
    _assert_curves_show_the_traces(view)
    view.set_span_s(120.0)
    view.redraw()
    _assert_curves_show_the_traces(view)
    view.set_span_s(0.0)
    view.redraw()
    _assert_curves_show_the_traces(view)
    view.truncate_after(200.0)  # a seek back: the kept buckets are dropped
    view.redraw()
    _assert_curves_show_the_traces(view)
    for event in recorded:
        if isinstance(event, BeatsProcessed) and event.batch.received_s > 200.0:
            view.traces.on_event(event)
    view.redraw()
    _assert_curves_show_the_traces(view)


def test_a_beat_repaints_the_curve_ends_and_the_span_steps(qtbot, ten_minutes):
    """Over 5 min the range stands still and jumps by 30 s; between jumps a beat only sets
    the tails of the curves (pieces frozen before stay as they are), and the drawn pieces
    always show the model's values; the phases stay shaded over their span."""
    _, recorded = ten_minutes
    start = len(recorded) // 3
    view = _view(qtbot, recorded[:start], span_s=300.0)
    phases = [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 250.0),
              PhaseSpan("practice", "Slow breathing", "practice", 250.0, 250.0)]  # open
    view.set_phases(phases)
    view.redraw()
    ranges = set()
    steady = jumps = 0
    for event in recorded[start:]:
        view.traces.on_event(event)
        before = view.hr_curve.full_redraws
        pieces = view.hr_curve.drawn_pieces()[:-1]
        view.redraw()
        x0, x1 = view.visible_range()
        last = view.traces.last_time_s
        assert x1 - x0 == 300.0 and (last < x1 <= last + 30.0 or x1 == 300.0)
        assert x1 % 30.0 == 0.0
        _assert_curves_show_the_traces(view, trends=False)  # trends: every TREND_PERIOD_S
        if (x0, x1) in ranges:
            # the same range: appended, the frozen pieces untouched
            assert view.hr_curve.full_redraws == before
            for (old_x, old_y), (new_x, new_y) in zip(
                pieces, view.hr_curve.drawn_pieces(), strict=False
            ):
                np.testing.assert_array_equal(old_x, new_x)
                np.testing.assert_array_equal(old_y, new_y)
            steady += 1
        else:
            # a step: the oldest beats clipped off, the pieces after them kept as they are
            assert view.hr_curve.full_redraws == before
            new_pieces = view.hr_curve.drawn_pieces()
            assert pieces and any(
                old[0].size == new[0].size and np.array_equal(old[0], new[0])
                for old, new in zip(pieces[::-1], new_pieces[-2::-1], strict=False)
            )
            ranges.add((x0, x1))
            jumps += 1
        baseline, practice = view._phase_items
        assert baseline.regions[0].getRegion() == (0.0, 250.0)
        assert baseline.regions[0].isVisible() == (x0 <= 250.0)
        # the open phase is shaded from its start to the right edge
        assert practice.regions[0].getRegion() == (250.0, x1)
        assert all(r.getRegion() == (250.0, x1) for r in practice.regions)
    assert [x1 for _, x1 in sorted(ranges)] == [float(t) for t in range(300, 631, 30)]
    assert steady > 10 * jumps
    save_screenshot(view, "live_view_5min_steps")


def test_the_time_to_the_next_range_step_and_a_step_due(qtbot, ten_minutes):
    _session, recorded = ten_minutes
    view = _view(qtbot, recorded, span_s=300.0)
    view.redraw(605.0)
    x0, x1 = view.visible_range(605.0)
    assert (x0, x1) == (330.0, 630.0)  # 30-s steps over 5 min
    assert view.seconds_to_step(605.0) == pytest.approx(25.0)
    assert view.seconds_to_step(629.9) == pytest.approx(0.1)
    assert view.seconds_to_step(630.0) == 0.0  # the clock reached the edge: due
    view.redraw(630.0)
    assert view.seconds_to_step(630.0) == pytest.approx(30.0)
    view.set_span_s(0.0)  # another span: the range drawn is stale until drawn again
    assert view.seconds_to_step(630.0) == 0.0


def test_a_stepped_view_draws_the_pixels_of_one_drawn_at_once(qtbot, ten_minutes):
    """The beat curves' pieces kept across range steps draw exactly what a view drawn once
    draws."""
    _, recorded = ten_minutes
    start = len(recorded) // 3
    stepped = _view(qtbot, recorded[:start], span_s=60.0)
    stepped.redraw()
    for event in recorded[start:]:
        stepped.traces.on_event(event)
        stepped.redraw()
    assert stepped.hr_curve.full_redraws == 1  # every 10-s step kept the pieces
    for curve, plot in ((stepped.hr_curve, stepped.hr_plot), (stepped.rr_curve, stepped.rr_plot)):
        # the pieces dropped hold nothing: none is drawn, nor would be at a wider span
        holding = [
            item
            for item in plot.vb.childGroup.childItems()
            if isinstance(item, Curve)
            and item.opts["pen"] == curve._pen  # not the grid's
            and item.getData()[0] is not None
            and item.getData()[0].size
        ]
        assert len(holding) == len(curve.drawn_pieces())
    once = _view(qtbot, recorded, span_s=60.0)
    once.redraw()
    assert once.visible_range() == stepped.visible_range()
    qtbot.wait(20)
    got, want = stepped.graphics.grab().toImage(), once.graphics.grab().toImage()
    assert got.size() == want.size()
    # the HR and RR plots (the trend's HF axis follows its history of ranges, and its top
    # tick label reaches above the trend plot: not compared)
    bottom = int(once.rr_plot.sceneBoundingRect().bottom())
    assert bottom > 300
    assert got.copy(0, 0, got.width(), bottom) == want.copy(0, 0, want.width(), bottom)
