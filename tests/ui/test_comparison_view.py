"""The comparison view: studies and participants to choose from, ``biofeedback compare`` in a
subprocess with progress while the GUI keeps running, the result in plots and tables."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import subprocess

import pytest
from helpers import s1_study
from ui_helpers import JobWatch, assert_job_left_the_gui_free, waiter, watch_job

from biofeedback.core.formatting import format_number, format_p
from biofeedback.store.paths import database_path
from biofeedback.ui.comparison import ComparisonView
from biofeedback.viewmodels.comparison_format import parse_participants
from conftest import PYTHON, cli_env, save_screenshot

PARTICIPANTS = ("P1", "P2", "P3")


# Study S1 (soothing touch vs mindfulness of breathing) with one practice-comparison session
# of each of three simulated participants.
STUDY = s1_study(PARTICIPANTS)


@pytest.fixture(scope="module")
def cli_result(recorded_template, tmp_path_factory) -> dict:
    """What ``biofeedback compare --study S1 --json`` prints for the study."""
    # On a copy: the template is shared by the whole run and must not be written to.
    folder = tmp_path_factory.mktemp("comparison") / "data"
    shutil.copytree(recorded_template(STUDY), folder)
    done = subprocess.run(
        [PYTHON, "-m", "biofeedback", "compare", "--study", "S1", "--json", "--workers", "1",
         "--data-dir", str(folder)],
        capture_output=True, text=True, env=cli_env(folder), timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def study_dir(recorded_data_dir, data_dir):
    """The study in this test's private data folder (the view's ``data_dir``)."""
    assert recorded_data_dir(STUDY) == data_dir
    return data_dir


@pytest.fixture
def view(qtbot, data_dir) -> ComparisonView:
    widget = ComparisonView(data_dir.resolve(), workers=1)
    qtbot.addWidget(widget)
    widget.resize(1150, 780)
    widget.show()
    return widget


wait_for = waiter(60.0)


def test_choices_list_the_study_and_its_participants(view, study_dir, qt_loop):
    choices = qt_loop.run_until_complete(view.refresh_choices())
    assert choices.studies == [("S1", 3)]
    assert choices.participants == [(p, 1) for p in PARTICIPANTS]
    assert view.study_names() == ["S1"]
    assert view.study_combo.currentText() == "S1 (3 participants)"
    assert view.study_radio.isChecked() and view.compare_button.isEnabled()
    assert "P1 (1 session)" in view.known_label.text()


def test_empty_folder_offers_nothing_and_creates_no_database(view, qt_loop, data_dir):
    choices = qt_loop.run_until_complete(view.refresh_choices())
    assert choices.studies == [] and choices.participants == []
    assert not database_path(data_dir).exists()
    assert not view.compare_button.isEnabled()
    assert "No sessions with a participant yet" in view.placeholder_label.text()


def test_comparison_runs_in_a_subprocess_and_shows_the_cli_numbers(
    view, study_dir, qt_loop, cli_result
):
    qt_loop.run_until_complete(view.refresh_choices())
    finished: list[object] = []
    view.comparison_finished.connect(finished.append)
    messages: list[str] = []
    view.status_message.connect(messages.append)
    progress_seen: set[tuple[int, int]] = set()
    labels_seen: set[str] = set()

    def sample() -> None:
        bar = view.progress_bar
        progress_seen.add((bar.value(), bar.maximum()))
        labels_seen.add(view.progress_label.text())

    async def scenario() -> JobWatch:
        view.compare_button.click()  # starts the comparison as a task
        await wait_for(lambda: view.running)
        assert view.progress_row.isVisible() and not view.compare_button.isEnabled()
        return await watch_job(lambda: view._process, lambda: bool(finished), sample=sample)

    watch = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 120))
    # The comparison ran in another process, and the GUI loop kept turning while it did.
    assert_job_left_the_gui_free(watch, ("-m", "biofeedback", "compare"))
    # The progress bar followed the CLI's "analysed k/n sessions".
    assert any(maximum == 3 and value >= 1 for value, maximum in progress_seen)
    assert any("analysed" in t and "of 3 sessions" in t for t in labels_seen)
    assert not view.progress_row.isVisible() and view.compare_button.isEnabled()
    assert messages[0] == "Comparing study S1…" and messages[-1].startswith("Compared study S1")

    result = finished[0]
    assert isinstance(result, dict)
    # The same numbers as the CLI's JSON (the GUI's process vs. one run by the test).
    comparisons = cli_result["comparisons"]
    assert view.comparison_table.rowCount() == len(comparisons) == 5
    for row, c in enumerate(comparisons):
        assert view.table_value(row, "Metric") == c["metric"]
        assert view.table_value(row, "n") == c["n"] == 3
        assert view.table_value(row, "Mean diff") == pytest.approx(c["mean_diff"], rel=1e-9)
        low, high = view.table_value(row, "95 % CI")
        assert (low, high) == pytest.approx((c["ci_low"], c["ci_high"]), rel=1e-9)
        assert view.table_value(row, "d_z") == pytest.approx(c["d_z"], rel=1e-9)
        assert view.table_value(row, "p (t)") == pytest.approx(c["p_t"], rel=1e-9)
        assert view.table_value(row, "p (Wilcoxon)") == pytest.approx(c["p_wilcoxon"])
        assert view.table_text(row, "d_z") == f"{c['d_z']:.2f}"
        assert view.table_text(row, "p (t)") == format_p(c["p_t"])
        # A d_z CI the statistics could not invert shows as a dash, never as a number.
        dz_text = view.table_text(row, "d_z 95 % CI")
        for bound in (c["d_z_ci_low"], c["d_z_ci_high"]):
            assert (f"{bound:.2f}" if bound is not None else "–") in dz_text
    first = comparisons[0]
    assert view.table_text(0, "Metric") == "Δ lnRMSSD (ln ms)"
    assert view.table_text(0, "Mean diff") == f"{first['mean_diff']:.3f}"
    assert view.table_text(0, "95 % CI") == f"{first['ci_low']:.3f} .. {first['ci_high']:.3f}"

    # Mixed model: formula and fixed effects as the CLI printed them.
    model = cli_result["mixed_model"]
    assert model["formula"] in view.model_formula_label.text()
    effects = view.fixed_effects_table
    assert effects.rowCount() == len(model["fixed_effects"])
    for row, term in enumerate(model["fixed_effects"]):
        assert effects.item(row, 0).text() == term["term"]
        assert effects.item(row, 1).text() == f"{term['estimate']:.4f}"
    # Per practice, breathing, excluded, plots.
    practices = [view.per_practice_table.item(r, 0).text()
                 for r in range(view.per_practice_table.rowCount())]
    assert practices == [p["practice"] for p in cli_result["per_practice"]]
    assert "Breathing rate during the practices" in view.breathing_label.text()
    assert view.warning_label.isHidden() == (cli_result["breathing"]["warning"] is None)
    assert view.details_tabs.tabText(3) == f"Excluded ({len(cli_result['excluded'])})"
    assert view._plots is not None and len(view._plots.ci.items) == 5
    assert "artifact correction: kubios" in view.settings_label.text()
    save_screenshot(view, "comparison_view")
    view.details_tabs.setCurrentIndex(1)
    save_screenshot(view, "comparison_view_model")
    view.details_tabs.setCurrentIndex(2)
    save_screenshot(view, "comparison_view_practice")

    # Individuals: one line per participant through the JSON's two values, and the mean.
    participants = cli_result["participants"]
    assert [p["participant_id"] for p in participants] == list(PARTICIPANTS)
    assert list(view.individual_curves) == list(PARTICIPANTS)
    for entry in participants:
        xs, ys = view.individual_curves[entry["participant_id"]].getData()
        assert list(xs) == [0.0, 1.0]
        assert list(ys) == [entry["delta_ln_rmssd_self_soothing"],
                            entry["delta_ln_rmssd_attention"]]
    xs, ys = view.mean_curve.getData()
    soothing = [p["delta_ln_rmssd_self_soothing"] for p in participants]
    attention = [p["delta_ln_rmssd_attention"] for p in participants]
    assert list(ys) == pytest.approx([sum(soothing) / 3, sum(attention) / 3], rel=1e-12)
    assert ys[0] - ys[1] == pytest.approx(comparisons[0]["mean_diff"], rel=1e-9)
    assert view.details_tabs.tabText(4) == "Individuals"
    view.details_tabs.setCurrentWidget(view.individuals_page)
    assert view.individual_plot.isVisible()
    assert "Δ lnRMSSD" in view.individual_plot.getPlotItem().getAxis("left").labelText
    save_screenshot(view, "comparison_view_individuals")

    # Over time: one curve per participant (baseline lnRMSSD by days), slopes in a table.
    trends = cli_result["trends"]
    assert list(view.trend_curves) == [t["participant_id"] for t in trends] == list(PARTICIPANTS)
    for row, trend in enumerate(trends):
        xs, ys = view.trend_curves[trend["participant_id"]].getData()
        assert list(xs) == [s["days_since_first"] for s in trend["sessions"]]
        assert list(ys) == [s["baseline_ln_rmssd"] for s in trend["sessions"]]
        assert view.slope_table.item(row, 0).text() == trend["participant_id"]
        assert trend["baseline_slope_per_week"] is None  # one session each
        assert view.slope_table.item(row, 2).text() == "–"
    assert view.details_tabs.tabText(5) == "Over time"
    view.details_tabs.setCurrentWidget(view.trends_page)
    assert view.trend_plot.isVisible() and view.slope_table.isVisible()
    save_screenshot(view, "comparison_view_trends")


def test_cancel_kills_the_comparison_process(view, study_dir, qt_loop):
    qt_loop.run_until_complete(view.refresh_choices())
    messages: list[str] = []
    view.status_message.connect(messages.append)

    async def scenario() -> tuple[object, int | None]:
        task = asyncio.ensure_future(view.run_comparison(study="S1"))
        await wait_for(lambda: view.running)
        process = view._process
        view.cancel_button.click()
        result = await task
        return result, process.returncode

    result, returncode = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    assert result is None
    assert returncode is not None and returncode < 0  # killed, not finished
    assert not view.running and not view.progress_row.isVisible()
    assert not view.error_label.isVisible()
    assert messages[-1] == "Comparison of study S1 cancelled"

    # Cancelling the task itself (the window closing) also kills the process.
    async def close_mid_comparison() -> int | None:
        task = asyncio.ensure_future(view.run_comparison(participants=["P1", "P2"]))
        await wait_for(lambda: view.running)
        process = view._process
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return process.returncode

    returncode = qt_loop.run_until_complete(asyncio.wait_for(close_mid_comparison(), 60))
    assert returncode is not None and returncode < 0
    assert not view.running


def test_unknown_participant_shows_the_cli_sentence(view, study_dir, qt_loop):
    qt_loop.run_until_complete(view.refresh_choices())
    view.participants_edit.setText("P9")
    view.participants_radio.setChecked(True)
    result = qt_loop.run_until_complete(
        asyncio.wait_for(view.run_comparison(participants=["P9"]), 60)
    )
    assert result is None
    assert view.error_label.isVisible()
    text = view.error_label.text()
    assert text == "Participant 'P9' has no sessions"
    assert "Traceback" not in text and "biofeedback compare" not in text
    assert not view.progress_row.isVisible()
    assert view.placeholder_label.isVisible()
    assert not view.comparison_table.isVisible()
    save_screenshot(view, "comparison_view_error")

    study = qt_loop.run_until_complete(asyncio.wait_for(view.run_comparison(study="NOPE"), 60))
    assert study is None
    assert view.error_label.text().startswith("No study named 'NOPE'")
    nothing = qt_loop.run_until_complete(view.run_comparison())
    assert nothing is None
    assert view.error_label.text() == "Choose either a study or at least one participant."


def test_breathing_warning_is_shown_prominently(view, cli_result):
    result = copy.deepcopy(cli_result)
    result["breathing"]["warning"] = (
        "Breathing confound: self-soothing 6.0/min vs attention 12.0/min; an HF difference "
        "may be explained by breathing rather than vagal activity."
    )
    result["excluded"] = [{"what": "window", "session_id": 2, "participant_id": "P2",
                           "phase_id": "baseline", "reason": "7.1 % artifacts > 5 %"}]
    result["comparisons"][2]["mean_diff"] = None
    view.show_result(result)
    assert view.warning_label.isVisible()
    assert view.warning_label.text().startswith("⚠ Breathing confound")
    assert view.details_tabs.tabText(3) == "Excluded (1)"
    assert view.excluded_table.item(0, 4).text() == "7.1 % artifacts > 5 %"
    assert view.table_text(2, "Mean diff") == "–"
    save_screenshot(view, "comparison_view_warning")


def test_formatting_helpers():
    assert parse_participants(" P1, P2 ;P1  P3 ") == ["P1", "P2", "P3"]
    assert format_number(None, 2) == "–" and format_number(float("nan"), 2) == "–"
    assert format_number(1174.98, 0) == "1175"
    assert format_p(0.0004) == "< 0.001" and format_p(0.25) == "0.250" and format_p(None) == "–"


def test_individuals_with_a_missing_value_and_trends_with_a_slope(view, cli_result):
    result = copy.deepcopy(cli_result)
    result["participants"][1]["delta_ln_rmssd_attention"] = None
    trend = result["trends"][0]
    first = trend["sessions"][0]
    trend["sessions"] = [
        {**first, "session_id": 100 + i, "days_since_first": 7.0 * i,
         "baseline_ln_rmssd": first["baseline_ln_rmssd"] + 0.1 * i}
        for i in range(4)
    ]
    trend["sessions"][2]["baseline_ln_rmssd"] = None  # excluded baseline: a gap
    trend["baseline_slope_per_week"] = 0.1
    view.show_result(result)
    # P2 has no attention value: a single point, named in the caption; the mean uses P1, P3.
    xs, ys = view.individual_curves["P2"].getData()
    assert list(xs) == [0.0]
    assert list(ys) == [result["participants"][1]["delta_ln_rmssd_self_soothing"]]
    assert "Not paired (1): P2 (no attention value" in view.individuals_caption.text()
    paired = [result["participants"][i] for i in (0, 2)]
    _, mean = view.mean_curve.getData()
    assert mean[0] == pytest.approx(sum(p["delta_ln_rmssd_self_soothing"] for p in paired) / 2)
    # P1's trend: four sessions, one gap, slope shown.
    xs, ys = view.trend_curves["P1"].getData()
    assert list(xs) == [0.0, 7.0, 14.0, 21.0]
    assert ys[2] != ys[2] and ys[3] == pytest.approx(first["baseline_ln_rmssd"] + 0.3)
    assert view.slope_table.item(0, 1).text() == "4"
    assert view.slope_table.item(0, 2).text() == "+0.100"
    assert view.slope_table.item(1, 2).text() == "–"


def test_an_older_result_without_participants_or_trends_still_shows(view, cli_result):
    view.show_result(cli_result)  # plots built first, then an older result replaces them
    result = copy.deepcopy(cli_result)
    del result["participants"], result["trends"]
    view.show_result(result)
    assert view._stack.currentIndex() == 1
    assert view.comparison_table.rowCount() == 5
    assert view.individual_curves == {} and view.mean_curve is None
    assert view.trend_curves == {}
    assert view.individual_plot.isHidden() and view.trend_plot.isHidden()
    assert view.slope_table.isHidden()
    assert "older version" in view.individuals_caption.text()
    assert "older version" in view.trends_caption.text()
    view.details_tabs.setCurrentWidget(view.individuals_page)
    assert view.individuals_caption.isVisible()
