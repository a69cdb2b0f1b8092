"""Publication figures drawn from the results of a recorded study: sizes, axes, legends and
drawn elements checked through matplotlib's objects (not pixels); every figure is saved as
a PNG under test-output/screenshots to be looked at."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import s1_study, sim_record
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.patches import Rectangle

from biofeedback.figures.catalog import FIGURES, SessionResults, draw, figure_names
from biofeedback.figures.render import figure_bytes, inline_svg
from biofeedback.figures.session import MAX_TACHOGRAM_POINTS
from biofeedback.figures.style import CATEGORY_COLOURS
from biofeedback.figures.summary import NothingToDrawError
from conftest import save_figure_png

# Study S1 with P1-P3 (sessions 1-3) and session 4, a stress_reactivity session of Q1.
RECORDED = (*s1_study(["P1", "P2", "P3"]),
            sim_record(7, "Q1", "--protocol", "stress_reactivity"))
WIDTHS_MM = (85, 180)


@pytest.fixture(scope="module")
def recorded(recorded_template):
    return recorded_template(RECORDED)


@pytest.fixture(scope="module")
def study_result(recorded):
    """The comparison of P1-P3 and Q1: practices of S1 and Q1's stressor session."""
    from biofeedback.comparison.compare import compare

    result, _ = compare(recorded, participants=["P1", "P2", "P3", "Q1"], workers=1)
    return result


@pytest.fixture(scope="module")
def session_results(recorded):
    from biofeedback.analysis import analyze_recording
    from biofeedback.analysis.windows import binned_trajectory
    from biofeedback.core.signals import ANALYSIS_SIGNALS
    from biofeedback.store.database import SessionStore

    with SessionStore.open_for_reading(recorded) as store:
        recording = store.load_recording(4, signals=ANALYSIS_SIGNALS)
    return SessionResults(recording, analyze_recording(recording).to_dict(details=True),
                          binned_trajectory(recording))


def _texts(fig) -> set[str]:
    return {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}


def _legend_texts(fig) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def _check_size(fig, width_mm: float) -> None:
    assert fig.get_figwidth() * 25.4 == pytest.approx(width_mm)
    assert 30.0 < fig.get_figheight() * 25.4 < 200.0


def test_the_catalog_names_every_figure_of_the_reports():
    assert figure_names("session") == ["tachogram", "trajectories", "phase-indices"]
    assert figure_names("study") == ["forest", "phase-values", "paired", "breathing",
                                     "trends", "reactivity"]
    assert set(FIGURES) == {*figure_names("session"), *figure_names("study")}


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_tachogram(session_results, width_mm):
    fig = draw("tachogram", session_results, width_mm=width_mm)
    save_figure_png(fig, f"tachogram-{width_mm}mm")
    _check_size(fig, width_mm)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "RR interval (ms)" and ax.get_xlabel() == "time (min)"
    (line,) = ax.get_lines()[:1]
    recording = session_results.recording
    gaps = len(recording.gaps)
    # every beat drawn (a 33-min session is under the cap), a NaN break at each gap
    assert len(line.get_xdata()) == recording.n_beats + gaps <= MAX_TACHOGRAM_POINTS
    spans = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(spans) == len(recording.phases)
    names = _texts(fig)
    assert {"Quiet rest", "Recovery"} <= {n.strip() for n in names}
    # the mental arithmetic's answers are not drawn as markers; the connection events are
    assert all("marker (n = " in t for t in _legend_texts(fig))


def test_a_long_tachogram_is_thinned_keeping_its_extremes(session_results):
    from dataclasses import replace

    recording = session_results.recording
    n = 100_000
    rr = np.full(n, 800.0)
    rr[54_321] = 1900.0
    long = replace(recording, rr_ms=rr, time_s=np.cumsum(rr) / 1000.0, gaps=[], phases=[],
                   markers=[])
    fig = draw("tachogram", SessionResults(long, session_results.analysis, []))
    line = fig.axes[0].get_lines()[0]
    ys = np.asarray(line.get_ydata(), dtype=float)
    assert len(ys) <= MAX_TACHOGRAM_POINTS + 2 and np.nanmax(ys) == 1900.0


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_trajectories(session_results, width_mm):
    fig = draw("trajectories", session_results, width_mm=width_mm)
    save_figure_png(fig, f"trajectories-{width_mm}mm")
    _check_size(fig, width_mm)
    top, bottom = fig.axes
    assert top.get_ylabel() == "heart rate (bpm)" and bottom.get_ylabel() == "lnRMSSD (ln ms)"
    assert bottom.get_xlabel() == "time (min)"
    for ax, key in ((top, "hr_bpm"), (bottom, "ln_rmssd")):
        ys = np.asarray(ax.get_lines()[0].get_ydata(), dtype=float)
        expected = [np.nan if getattr(b, key) is None else getattr(b, key)
                    for b in session_results.bins]
        np.testing.assert_array_equal(ys, expected)


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_phase_indices(session_results, width_mm):
    fig = draw("phase-indices", session_results, width_mm=width_mm)
    save_figure_png(fig, f"phase-indices-{width_mm}mm")
    _check_size(fig, width_mm)
    phases = session_results.analysis["phases"]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "HR (bpm)", "lnRMSSD (ln ms)", "breathing\n(breaths/min)"]
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == [p["name"] for p in phases]
    hr = fig.axes[0].collections[0].get_offsets()[:, 1]
    np.testing.assert_allclose(hr, [p["mean_hr_bpm"] for p in phases])


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_forest(study_result, width_mm):
    fig = draw("forest", study_result, width_mm=width_mm)
    save_figure_png(fig, f"forest-{width_mm}mm")
    _check_size(fig, width_mm)
    ax = fig.axes[0]
    comparisons = study_result["comparisons"]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Δ lnRMSSD", "Δ HR", "Δ HF", "Δ LF", "Δ breathing"]
    assert "$d_z$ with 95% CI, n = 3" in ax.get_xlabel()
    assert len([c for c in ax.collections if isinstance(c, LineCollection)]) == len(comparisons)
    d_z = [line.get_xdata()[0] for line in ax.get_lines() if line.get_marker() == "s"]
    assert d_z == pytest.approx([c["d_z"] for c in comparisons])
    lnrmssd = comparisons[0]
    assert f"{lnrmssd['mean_diff']:.3f} [{lnrmssd['ci_low']:.3f}, " \
           f"{lnrmssd['ci_high']:.3f}] ln ms" in _texts(fig)


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_phase_values(study_result, width_mm):
    fig = draw("phase-values", study_result, width_mm=width_mm)
    save_figure_png(fig, f"phase-values-{width_mm}mm")
    _check_size(fig, width_mm)
    practices = study_result["per_practice"]
    assert [ax.get_ylabel() for ax in fig.axes[1:]] == [
        "Δ lnRMSSD\n(ln ms)", "Δ HR\n(bpm)", "Δ breathing\n(breaths/min)"]
    assert _legend_texts(fig) == ["self-soothing", "attention",
                                  "mean over participants, 95% CI"]
    for ax, key in zip(fig.axes[1:], ("delta_ln_rmssd", "delta_hr_bpm", "delta_breaths_per_min"),
                       strict=True):
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert [b.get_height() for b in bars] == pytest.approx([p[key] for p in practices])
        assert [b.get_facecolor()[:3] for b in bars] == [
            pytest.approx(_rgb(CATEGORY_COLOURS[p["category"]])) for p in practices]
        assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == len(practices)


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_paired_changes(study_result, width_mm):
    fig = draw("paired", study_result, width_mm=width_mm)
    save_figure_png(fig, f"paired-{width_mm}mm")
    _check_size(fig, width_mm)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "Δ lnRMSSD from baseline (ln ms)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["self-soothing", "attention"]
    pairs = [line for line in ax.get_lines() if (line.get_gid() or "").startswith("participant")]
    expected = [(p["delta_ln_rmssd_self_soothing"], p["delta_ln_rmssd_attention"])
                for p in study_result["participants"]]
    assert sorted(tuple(line.get_ydata()) for line in pairs) == sorted(expected)
    assert _legend_texts(fig) == ["participant (n = 3)", "mean, 95% CI"]
    assert {"P1", "P2", "P3"} <= _texts(fig)


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_breathing_check(study_result, width_mm):
    fig = draw("breathing", study_result, width_mm=width_mm)
    save_figure_png(fig, f"breathing-{width_mm}mm")
    _check_size(fig, width_mm)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "breathing rate (breaths/min)"
    check = study_result["breathing"]
    title = ax.get_title(loc="left")
    assert f"difference {check['mean_diff']:.2f} breaths/min" in title
    assert ("no breathing warning" in title) == (check["warning"] is None)
    assert len([ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("participant")]) == 3


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_trends(study_result, width_mm):
    fig = draw("trends", study_result, width_mm=width_mm)
    save_figure_png(fig, f"trends-{width_mm}mm")
    _check_size(fig, width_mm)
    top, bottom = fig.axes
    assert top.get_ylabel() == "baseline lnRMSSD\n(ln ms)"
    assert bottom.get_xlabel() == "days since the participant's first session"
    legend = _legend_texts(fig)
    assert legend[:4] == ["P1", "P2", "P3", "Q1"] or legend[:3] == ["P1", "P2", "P3"]
    assert legend[-2:] == ["self-soothing", "attention"]
    # one Δ point per practice of each S1 session
    assert len(bottom.get_lines()) - 1 == 2 * 3


@pytest.mark.parametrize("width_mm", WIDTHS_MM)
def test_reactivity(study_result, width_mm):
    fig = draw("reactivity", study_result, width_mm=width_mm)
    save_figure_png(fig, f"reactivity-{width_mm}mm")
    _check_size(fig, width_mm)
    hr, ln = fig.axes
    assert hr.get_ylabel() == "heart rate (bpm)" and ln.get_ylabel() == "lnRMSSD (ln ms)"
    assert [t.get_text() for t in ln.get_xticklabels()] == ["baseline", "stressor", "recovery"]
    (q1,) = study_result["reactivity"]
    session_line = hr.get_lines()[0]
    assert list(session_line.get_ydata()) == pytest.approx(
        [q1["values"]["hr_bpm"][k] for k in ("baseline", "stressor", "recovery")])
    assert _legend_texts(fig) == ["session (n = 1)", "mean, 95% CI"]


def test_a_figure_without_its_data_says_what_is_missing(study_result):
    without = dict(study_result, reactivity=[], participants=[], comparisons=[],
                   per_practice=[], trends=[])
    for name, missing in (("reactivity", "no session has a stressor phase"),
                          ("paired", "no participant has a change in ln_rmssd"),
                          ("breathing", "no participant has a breathing rate"),
                          ("forest", "no contrast"), ("phase-values", "no practice"),
                          ("trends", "no session has a baseline")):
        with pytest.raises(NothingToDrawError, match=missing):
            draw(name, without)


def test_formats_and_inline_svg(study_result):
    fig = draw("paired", study_result)
    assert figure_bytes(fig, "png", dpi=300).startswith(b"\x89PNG")
    assert figure_bytes(fig, "pdf").startswith(b"%PDF")
    assert figure_bytes(fig, "svg") == figure_bytes(fig, "svg")  # reproducible
    svg = inline_svg(fig)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "http" not in svg and "<!DOCTYPE" not in svg
    assert ">P1</text>" in svg.replace("\n", "")  # text stays text
    with pytest.raises(ValueError, match="png, svg, pdf"):
        figure_bytes(fig, "jpg")


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def test_figures_load_no_display_and_the_window_loads_no_matplotlib():
    code = ("import sys, json\n"
            "import biofeedback.figures.catalog, biofeedback.cli.main\n"
            "biofeedback.cli.main.build_parser()\n"
            "before = 'matplotlib' in sys.modules\n"
            "import biofeedback.ui.main_window, biofeedback.session.live_session\n"
            "window = 'matplotlib' in sys.modules\n"
            "import biofeedback.figures.session, biofeedback.figures.contrasts\n"
            "import biofeedback.figures.course, biofeedback.figures.render\n"
            "print(json.dumps([before, window, 'matplotlib.pyplot' in sys.modules]))\n")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY",)}
    env["MPLBACKEND"] = ""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    before, window, pyplot = json.loads(out.stdout)
    assert not before and not window and not pyplot
