"""Serial subtraction: restart rule, adaptive time limit, timeouts, markers, summary."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import MarkerKind
from protocols.stressor import (
    SerialSubtractionTask,
    StressorError,
    run_simulated,
    simulate_participant,
)


def make(**kw):
    opts = dict(initial_time_limit_s=8.0, min_time_limit_s=3.0, max_time_limit_s=12.0)
    opts.update(kw)
    return SerialSubtractionTask(**opts)


def test_defaults_follow_the_tsst():
    task = SerialSubtractionTask()
    assert (task.start, task.step) == (1022, 13)
    assert task.tighten_factor == 0.9 and task.relax_factor == 1.1
    prompt = task.begin(10.0)
    assert (prompt.number, prompt.expected, prompt.shown_s) == (1022, 1009, 10.0)
    assert prompt.deadline_s == 10.0 + task.initial_time_limit_s


def test_correct_answers_count_down_and_tighten_the_limit():
    task = make()
    task.begin(0.0)
    t = 0.0
    numbers = []
    for n in range(1, 16):
        t += 1.0
        expected = task.current_prompt.expected
        result = task.answer(str(expected), t)
        assert result.correct and not result.restarted and result.feedback == "Correct"
        assert result.latency_ms == pytest.approx(1000.0)
        numbers.append(result.next_prompt.number)
        assert task.time_limit_s == pytest.approx(max(3.0, 8.0 * 0.9**n))
        assert result.next_prompt.time_limit_s == pytest.approx(task.time_limit_s)
    assert numbers[:4] == [1009, 996, 983, 970]
    assert task.time_limit_s == 3.0  # floor reached: 8 * 0.9**15 = 1.65


def test_wrong_answer_restarts_and_relaxes_the_limit():
    task = make()
    task.begin(0.0)
    task.answer(1009, 1.0)
    task.answer(996, 2.0)
    assert task.time_limit_s == pytest.approx(8.0 * 0.81)
    result = task.answer("980", 3.5)  # 983 expected
    assert not result.correct and result.restarted and result.value == 980
    assert result.feedback == "Wrong — start again from 1022"
    assert result.next_prompt.number == 1022 and result.next_prompt.expected == 1009
    assert task.time_limit_s == pytest.approx(8.0 * 0.81 * 1.1)
    assert result.latency_ms == pytest.approx(1500.0)
    # relaxing stops at the ceiling
    for i in range(10):
        task.answer("nope", 4.0 + i)
    assert task.time_limit_s == 12.0


@pytest.mark.parametrize("typed", ["abc", "", "  ", "1009.0", "1,009", "10 09"])
def test_non_numeric_answers_are_errors(typed):
    task = make()
    task.begin(0.0)
    task.answer("1009", 1.0)
    result = task.answer(typed, 2.0)
    assert not result.correct and result.value is None and result.raw == typed
    assert result.restarted and result.next_prompt.number == 1022


def test_answers_are_stripped_and_ints_accepted():
    task = make()
    task.begin(0.0)
    assert task.answer(" 1009 \n", 1.0).correct
    assert task.answer(996, 2.0).correct


def test_timeout_is_an_error_dated_at_the_deadline():
    task = make()
    task.begin(0.0)
    task.answer("1009", 2.0)  # limit now 7.2 s, deadline 9.2
    assert task.time_left_s(5.0) == pytest.approx(4.2)
    assert task.poll(9.0) is None
    result = task.poll(9.7)  # polled late: still dated at the deadline
    assert result is not None and result.timed_out and not result.correct
    assert result.at_s == pytest.approx(9.2)
    assert result.feedback == "Time's up — start again from 1022"
    assert result.restarted and result.next_prompt.number == 1022
    assert result.next_prompt.shown_s == pytest.approx(9.2)
    assert result.latency_ms == pytest.approx(7200.0)
    assert task.time_limit_s == pytest.approx(7.2 * 1.1)
    assert task.poll(9.7) is None


def test_polling_granularity_does_not_change_the_outcome():
    def run(poll_step):
        task = make()
        task.begin(0.0)
        t = 0.0
        while t < 60.0:
            t = round(t + poll_step, 9)
            while task.poll(t) is not None:
                pass
        return [(m.onset_s, m.label) for m in task.markers()]

    fine, coarse = run(0.05), run(5.0)
    assert [label for _, label in fine] == [label for _, label in coarse]
    assert np.allclose([t for t, _ in fine], [t for t, _ in coarse])


def test_late_answer_counts_as_timeout():
    task = make()
    task.begin(0.0)
    result = task.answer("1009", 8.0)  # deadline is 8.0
    assert result.timed_out and result.next_prompt.number == 1022
    timeout = task.markers()[-2]
    assert timeout.extra["event"] == "timeout" and timeout.extra["late_answer"] == "1009"


def test_markers_and_summary():
    task = make()
    task.begin(100.0)
    task.answer("1009", 101.0)  # correct, 1000 ms
    task.answer("996", 103.0)  # correct, 2000 ms
    task.answer("900", 106.0)  # wrong, 3000 ms
    assert task.poll(114.0) is not None  # timeout at 106 + 8*0.81*1.1 = 113.128
    task.answer("1009", 115.0)  # correct, 1872 ms
    summary = task.finish(120.0)
    markers = task.markers()
    assert all(m.kind == MarkerKind.STRESSOR for m in markers)
    assert [m.extra["event"] for m in markers] == [
        "begin", "prompt", "answer", "prompt", "answer", "prompt", "answer", "prompt",
        "timeout", "prompt", "answer", "prompt", "end",
    ]
    assert [m.onset_s for m in markers] == sorted(m.onset_s for m in markers)
    wrong = markers[6]
    assert wrong.label == "answer 900 wrong"
    assert wrong.extra == {
        "task": "serial_subtraction",
        "event": "answer",
        "prompt": 2,
        "number": 996,
        "expected": 983,
        "answer": 900,
        "raw": "900",
        "correct": False,
        "latency_ms": 3000.0,
        "time_limit_s": pytest.approx(8.0 * 0.81),
        "restart": True,
        "next_time_limit_s": pytest.approx(8.0 * 0.81 * 1.1),
    }
    assert markers[8].label == "timeout at 1022"
    assert markers[8].onset_s == pytest.approx(106.0 + 8.0 * 0.81 * 1.1)
    assert markers[1].label == "prompt 1022" and markers[1].extra["expected"] == 1009
    assert summary == {
        "answers": 4,
        "correct": 3,
        "wrong": 1,
        "timeouts": 1,
        "errors": 2,
        "restarts": 2,
        "accuracy": pytest.approx(3 / 5),
        "mean_latency_ms": pytest.approx((1000 + 2000 + 3000 + 1872) / 4),
        "lowest_number": 996,
        "completed_sequences": 0,
        "initial_time_limit_s": 8.0,
        "final_time_limit_s": pytest.approx(8.0 * 0.81 * 1.1 * 1.1 * 0.9),
    }
    assert markers[-1].extra["correct"] == 3
    # finished: no more prompts, answers rejected, new_markers drains once
    assert task.poll(1000.0) is None and task.time_left_s(119.0) == 0.0
    with pytest.raises(RuntimeError):
        task.answer("996", 126.0)
    assert len(task.new_markers()) == len(markers) and task.new_markers() == []


def test_finish_counts_timeouts_due_before_the_end():
    task = make()
    task.begin(0.0)
    summary = task.finish(20.0)  # deadlines at 8.0 and 8.0 + 8.8 = 16.8
    assert summary["timeouts"] == 2 and summary["answers"] == 0
    assert summary["mean_latency_ms"] is None and summary["lowest_number"] == 1022


def test_reaching_the_bottom_starts_over_without_an_error():
    task = SerialSubtractionTask(start=30, step=13, initial_time_limit_s=5.0)
    task.begin(0.0)
    assert task.answer("17", 1.0).next_prompt.number == 17
    result = task.answer("4", 2.0)
    assert result.correct and not result.restarted and result.next_prompt.number == 30
    summary = task.summary()
    assert summary["completed_sequences"] == 1 and summary["errors"] == 0
    assert summary["lowest_number"] == 4


def test_answer_before_begin_is_a_programming_error():
    task = make()
    with pytest.raises(RuntimeError):
        task.answer("1009", 0.0)
    task.begin(0.0)
    with pytest.raises(RuntimeError):
        task.begin(1.0)


def test_from_options():
    task = SerialSubtractionTask.from_options({"start": 2023, "step": 17, "time_limit_s": 6.0})
    assert (task.start, task.step, task.initial_time_limit_s) == (2023, 17, 6.0)
    assert task.settings()["initial_time_limit_s"] == 6.0
    # the options the protocol loader produces pass straight through
    quiet = SerialSubtractionTask.from_options(
        {"start": 1022, "step": 13, "time_limit_s": None, "error_feedback": False}
    )
    assert quiet.initial_time_limit_s == 7.5 and not quiet.error_feedback
    quiet.begin(0.0)
    result = quiet.answer("1000", 1.0)
    assert result.feedback == "" and result.restarted and result.next_prompt.number == 1022
    assert quiet.poll(100.0).feedback == ""
    with pytest.raises(StressorError, match="unknown serial subtraction option"):
        SerialSubtractionTask.from_options({"strat": 1022})
    with pytest.raises(BiofeedbackError):
        SerialSubtractionTask(initial_time_limit_s=1.0, min_time_limit_s=2.0)
    with pytest.raises(StressorError):
        SerialSubtractionTask(step=0)
    with pytest.raises(StressorError):
        SerialSubtractionTask(tighten_factor=1.2)


def test_simulated_participant():
    task = SerialSubtractionTask()
    rng = np.random.default_rng(7)
    assert simulate_participant(task, rng) is None  # not begun
    results = run_simulated(task, rng, 0.0, 300.0, accuracy=0.85, mean_latency_s=4.0)
    summary = task.summary()
    assert task.finished and len(results) == summary["answers"] + summary["timeouts"]
    assert summary["answers"] > 30 and summary["correct"] > 0 and summary["errors"] > 0
    assert 0.6 < summary["correct"] / summary["answers"] <= 1.0
    assert 2500 < summary["mean_latency_ms"] < 5500
    assert summary["lowest_number"] < 1022
    assert all(0.0 <= m.onset_s <= 300.0 for m in task.markers())
    assert simulate_participant(task, rng) is None  # finished


def test_simulation_is_reproducible():
    def run(seed):
        task = SerialSubtractionTask()
        run_simulated(task, np.random.default_rng(seed), 0.0, 120.0)
        return task.summary()

    assert run(3) == run(3)
