"""Serial subtraction under time pressure: the logic of the mental-arithmetic stressor.

The participant counts backwards from 1022 in steps of 13 as fast and accurately as possible;
after a mistake they must start again from 1022. This is the mental-arithmetic part of the
Trier Social Stress Test (Kirschbaum, Pirke & Hellhammer 1993, Neuropsychobiology
28(1-2):76-81). In the spirit of the Montreal Imaging Stress Task (Dedovic et al. 2005,
J Psychiatry Neurosci 30(5):319-325) each answer has a time limit that adapts to the
participant: it tightens after a correct answer and relaxes after an error, keeping the task
just beyond what they can comfortably do. Running out of time counts as an error.

No UI and no clock here: every method takes ``now_s``, the caller's *session* clock (s since
the session start), so a replayed or simulated session behaves the same at any speed.
Events are kept as :class:`~biofeedback.core.types.Marker` objects of kind
``MarkerKind.STRESSOR`` with structured ``extra`` for the session store.

Typical use by a protocol runner::

    task = SerialSubtractionTask.from_options(phase.stressor.options)
    prompt = task.begin(now_s)            # show prompt.number, a countdown of prompt.time_limit_s
    ...
    result = task.answer(typed_text, now_s)   # show result.feedback, then result.next_prompt
    ...
    result = task.poll(now_s)             # every tick: a timeout, or None
    ...
    task.finish(now_s)                    # phase over
    for m in task.new_markers(): store.add_marker(session_id, m)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import Marker, MarkerKind

DEFAULT_START = 1022
"""Start number of the TSST (Kirschbaum et al. 1993)."""
DEFAULT_STEP = 13
"""Subtrahend of the TSST (Kirschbaum et al. 1993)."""
DEFAULT_INITIAL_TIME_LIMIT_S = 7.5
"""Time allowed for the first answer, s (our choice: a brisk pace most adults can keep at
first; the MIST calibrates its own limit from a training run)."""
DEFAULT_MIN_TIME_LIMIT_S = 2.5
"""Floor of the adaptive time limit, s (our choice: still enough to type a 3-4 digit number)."""
DEFAULT_MAX_TIME_LIMIT_S = 15.0
"""Ceiling of the adaptive time limit, s (our choice)."""
DEFAULT_TIGHTEN_FACTOR = 0.9
"""Limit multiplier after a correct answer (10 % shorter, as the MIST's 10 % steps)."""
DEFAULT_RELAX_FACTOR = 1.1
"""Limit multiplier after an error or a timeout (10 % longer)."""

TASK_NAME = "serial_subtraction"


class StressorError(BiofeedbackError, ValueError):
    """Stressor settings that cannot be used (unknown option, impossible value)."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """What the participant sees: a number to subtract from, and a deadline.

    Attributes
    ----------
    index : int
        Running number of the prompt in the task (0-based).
    number : int
        Number shown ("1022").
    expected : int
        The correct answer (``number - step``).
    shown_s : float
        Session-clock time the prompt was shown, s.
    time_limit_s : float
        Time allowed for this answer, s.
    """

    index: int
    number: int
    expected: int
    shown_s: float
    time_limit_s: float

    @property
    def deadline_s(self) -> float:
        """Session-clock time at which the answer is too late, s."""
        return self.shown_s + self.time_limit_s


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """The outcome of one prompt: an answer, or a timeout.

    Attributes
    ----------
    prompt : Prompt
        The prompt answered.
    at_s : float
        Session-clock time of the answer (of the deadline, for a timeout), s.
    value : int or None
        The answer as a number; None when it was not a whole number or on timeout.
    raw : str or None
        The answer as given (None on timeout).
    correct : bool
        Whether it was right (always False on timeout).
    timed_out : bool
        The time limit ran out before an answer.
    latency_ms : float
        Time from the prompt to the answer (to the deadline, on timeout), ms.
    feedback : str
        Text to show ("Correct", "Wrong — start again from 1022", ...).
    restarted : bool
        The sequence restarts from the start number (after an error or a timeout).
    next_prompt : Prompt
        The prompt shown next (at ``at_s``).
    """

    prompt: Prompt
    at_s: float
    value: int | None
    raw: str | None
    correct: bool
    timed_out: bool
    latency_ms: float
    feedback: str
    restarted: bool
    next_prompt: Prompt


def _parse_answer(value: int | str) -> int | None:
    """A whole number from what was typed, or None (non-numeric, fractional, empty)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.startswith(("+", "-")):
        sign, digits = text[0], text[1:]
    else:
        sign, digits = "", text
    if not digits.isascii() or not digits.isdigit():
        return None
    return int(sign + digits)


class SerialSubtractionTask:
    """Serial subtraction with an adaptive time limit, driven by the caller's session clock.

    Parameters
    ----------
    start : int
        First number shown and the number to restart from after an error (TSST: 1022).
    step : int
        Number subtracted each time (TSST: 13).
    initial_time_limit_s : float
        Time allowed for the first answer, s (7.5).
    min_time_limit_s, max_time_limit_s : float
        Floor and ceiling of the adaptive limit, s (2.5, 15.0).
    tighten_factor : float
        Multiplier of the limit after each correct answer, in (0, 1] (0.9).
    relax_factor : float
        Multiplier of the limit after each error or timeout, >= 1 (1.1).
    error_feedback : bool
        Show feedback text (True, default). False leaves :attr:`AnswerResult.feedback`
        empty, for an experimenter who gives the feedback in person; the restart rule and the
        adaptive limit apply all the same.

    Notes
    -----
    After ``n`` correct answers in a row from the start the limit is
    ``max(min_time_limit_s, initial_time_limit_s * tighten_factor**n)``; every error
    multiplies it by ``relax_factor`` up to ``max_time_limit_s``. The limit is kept across
    restarts (it tracks the participant's ability, not the position in the sequence).

    An error (wrong or non-numeric answer) or a timeout restarts the sequence from ``start``.
    When the next answer would be below zero (the participant counted all the way down,
    unlikely in 5 minutes) the sequence starts over from ``start`` without counting an error.
    """

    def __init__(
        self,
        start: int = DEFAULT_START,
        step: int = DEFAULT_STEP,
        initial_time_limit_s: float = DEFAULT_INITIAL_TIME_LIMIT_S,
        min_time_limit_s: float = DEFAULT_MIN_TIME_LIMIT_S,
        max_time_limit_s: float = DEFAULT_MAX_TIME_LIMIT_S,
        tighten_factor: float = DEFAULT_TIGHTEN_FACTOR,
        relax_factor: float = DEFAULT_RELAX_FACTOR,
        error_feedback: bool = True,
    ) -> None:
        for name, number in (("start", start), ("step", step)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise StressorError(f"serial subtraction {name} must be a whole number")
        if step <= 0 or start < step:
            raise StressorError(
                f"serial subtraction needs step > 0 and start >= step (start {start}, "
                f"step {step})"
            )
        limits = (initial_time_limit_s, min_time_limit_s, max_time_limit_s)
        if not all(math.isfinite(x) and x > 0 for x in limits):
            raise StressorError("serial subtraction time limits must be positive seconds")
        if not min_time_limit_s <= initial_time_limit_s <= max_time_limit_s:
            raise StressorError(
                f"serial subtraction needs min_time_limit_s <= initial_time_limit_s <= "
                f"max_time_limit_s ({min_time_limit_s}, {initial_time_limit_s}, "
                f"{max_time_limit_s})"
            )
        if not 0 < tighten_factor <= 1:
            raise StressorError(f"tighten_factor must be in (0, 1], not {tighten_factor}")
        if not relax_factor >= 1 or not math.isfinite(relax_factor):
            raise StressorError(f"relax_factor must be >= 1, not {relax_factor}")
        self.start = start
        self.step = step
        self.initial_time_limit_s = float(initial_time_limit_s)
        self.min_time_limit_s = float(min_time_limit_s)
        self.max_time_limit_s = float(max_time_limit_s)
        self.tighten_factor = float(tighten_factor)
        self.relax_factor = float(relax_factor)
        self.error_feedback = bool(error_feedback)

        self.time_limit_s = self.initial_time_limit_s
        self._current = start
        self._prompt: Prompt | None = None
        self._n_prompts = 0
        self._finished_s: float | None = None
        self._results: list[AnswerResult] = []
        self._markers: list[Marker] = []
        self._emitted = 0
        self._lowest = start
        self._completed_sequences = 0

    # -- construction from protocol settings ----------------------------------------------

    _OPTION_NAMES = (
        "start",
        "step",
        "initial_time_limit_s",
        "min_time_limit_s",
        "max_time_limit_s",
        "tighten_factor",
        "relax_factor",
        "error_feedback",
    )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SerialSubtractionTask:
        """Build the task from a protocol's ``StressorSettings.options``.

        ``time_limit_s`` is accepted as another name for ``initial_time_limit_s``; options set
        to None are left at their defaults. Unknown options raise :class:`StressorError` (a
        misspelt option must not be ignored).
        """
        opts = {k: v for k, v in options.items() if v is not None}
        if "time_limit_s" in opts:
            if "initial_time_limit_s" in opts:
                raise StressorError("give time_limit_s or initial_time_limit_s, not both")
            opts["initial_time_limit_s"] = opts.pop("time_limit_s")
        unknown = sorted(set(opts) - set(cls._OPTION_NAMES))
        if unknown:
            raise StressorError(
                f"unknown serial subtraction option(s) {', '.join(unknown)}; known: "
                f"{', '.join((*cls._OPTION_NAMES, 'time_limit_s'))}"
            )
        return cls(**opts)

    def settings(self) -> dict[str, Any]:
        """The task's parameters (JSON-ready), for the session's stored settings."""
        return {
            "task": TASK_NAME,
            "start": self.start,
            "step": self.step,
            "initial_time_limit_s": self.initial_time_limit_s,
            "min_time_limit_s": self.min_time_limit_s,
            "max_time_limit_s": self.max_time_limit_s,
            "tighten_factor": self.tighten_factor,
            "relax_factor": self.relax_factor,
            "error_feedback": self.error_feedback,
        }

    # -- state -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """:meth:`begin` was called."""
        return self._prompt is not None

    @property
    def finished(self) -> bool:
        """:meth:`finish` was called."""
        return self._finished_s is not None

    @property
    def current_prompt(self) -> Prompt | None:
        """The prompt being shown (None before :meth:`begin`)."""
        return self._prompt

    @property
    def results(self) -> list[AnswerResult]:
        """Every answer and timeout so far, in order."""
        return list(self._results)

    def _require_running(self) -> Prompt:
        if self._prompt is None:
            raise RuntimeError("serial subtraction: call begin() first")
        if self._finished_s is not None:
            raise RuntimeError("serial subtraction: the task has finished")
        return self._prompt

    # -- the task --------------------------------------------------------------------------

    def begin(self, now_s: float) -> Prompt:
        """Show the first prompt (the start number) at ``now_s``."""
        if self._prompt is not None:
            raise RuntimeError("serial subtraction: begin() was already called")
        self._marker(
            now_s,
            f"serial subtraction start {self.start} step {self.step}",
            {"event": "begin", **self.settings()},
        )
        return self._show(now_s)

    def _show(self, now_s: float) -> Prompt:
        prompt = Prompt(
            index=self._n_prompts,
            number=self._current,
            expected=self._current - self.step,
            shown_s=float(now_s),
            time_limit_s=self.time_limit_s,
        )
        self._n_prompts += 1
        self._prompt = prompt
        self._marker(
            now_s,
            f"prompt {prompt.number}",
            {
                "event": "prompt",
                "prompt": prompt.index,
                "number": prompt.number,
                "expected": prompt.expected,
                "time_limit_s": round(prompt.time_limit_s, 6),
            },
        )
        return prompt

    def hold(self, seconds: float) -> None:
        """Move the current prompt's deadline ``seconds`` later: the protocol was paused for
        that long, and time on hold is not time to answer (its latency excludes it too)."""
        if self._prompt is not None and self._finished_s is None and seconds > 0:
            self._prompt = replace(self._prompt, shown_s=self._prompt.shown_s + float(seconds))

    def time_left_s(self, now_s: float) -> float:
        """Time left to answer the current prompt, s (0 when due, before begin or after
        finish)."""
        if self._prompt is None or self._finished_s is not None:
            return 0.0
        return max(0.0, self._prompt.deadline_s - now_s)

    def answer(self, value: int | str, now_s: float) -> AnswerResult:
        """Take the participant's answer to the current prompt.

        Parameters
        ----------
        value : int or str
            What they answered; text is stripped, and anything that is not a whole number
            is an error.
        now_s : float
            Session-clock time of the answer, s.

        Returns
        -------
        AnswerResult
            Correct: the next number follows and the limit tightens. Wrong: "Wrong — start
            again from 1022", restart, the limit relaxes. An answer at or after the deadline
            is too late: the result is the timeout (the late answer is noted in its marker).
        """
        prompt = self._require_running()
        if now_s >= prompt.deadline_s:
            result = self._timeout(prompt, late_answer=str(value))
            return result
        parsed = _parse_answer(value)
        correct = parsed is not None and parsed == prompt.expected
        latency_ms = (now_s - prompt.shown_s) * 1000.0
        restarted = False
        if correct:
            self._lowest = min(self._lowest, prompt.expected)
            self.time_limit_s = max(
                self.min_time_limit_s, self.time_limit_s * self.tighten_factor
            )
            if prompt.expected - self.step < 0:
                self._completed_sequences += 1
                self._current = self.start
                feedback = f"Correct — you reached the end; start again from {self.start}"
            else:
                self._current = prompt.expected
                feedback = "Correct"
        else:
            self.time_limit_s = min(self.max_time_limit_s, self.time_limit_s * self.relax_factor)
            self._current = self.start
            restarted = True
            feedback = f"Wrong — start again from {self.start}"
        raw = str(value)
        self._marker(
            now_s,
            f"answer {raw.strip() or '(empty)'} {'correct' if correct else 'wrong'}",
            {
                "event": "answer",
                "prompt": prompt.index,
                "number": prompt.number,
                "expected": prompt.expected,
                "answer": parsed,
                "raw": raw,
                "correct": correct,
                "latency_ms": round(latency_ms, 3),
                "time_limit_s": round(prompt.time_limit_s, 6),
                "restart": restarted,
                "next_time_limit_s": round(self.time_limit_s, 6),
            },
        )
        next_prompt = self._show(now_s)
        if not self.error_feedback:
            feedback = ""
        result = AnswerResult(
            prompt=prompt,
            at_s=float(now_s),
            value=parsed,
            raw=raw,
            correct=correct,
            timed_out=False,
            latency_ms=latency_ms,
            feedback=feedback,
            restarted=restarted,
            next_prompt=next_prompt,
        )
        self._results.append(result)
        return result

    def poll(self, now_s: float) -> AnswerResult | None:
        """Check the deadline: a timeout result when the current prompt's time ran out.

        The timeout is dated at the deadline (not at ``now_s``), and so is the next prompt,
        so the outcome does not depend on how often the caller polls. After a long pause
        several deadlines may have passed: call again until it returns None.
        """
        if self._prompt is None or self._finished_s is not None:
            return None
        if now_s < self._prompt.deadline_s:
            return None
        return self._timeout(self._prompt)

    def _timeout(self, prompt: Prompt, late_answer: str | None = None) -> AnswerResult:
        at_s = prompt.deadline_s
        self.time_limit_s = min(self.max_time_limit_s, self.time_limit_s * self.relax_factor)
        self._current = self.start
        feedback = f"Time's up — start again from {self.start}" if self.error_feedback else ""
        extra: dict[str, Any] = {
            "event": "timeout",
            "prompt": prompt.index,
            "number": prompt.number,
            "expected": prompt.expected,
            "correct": False,
            "latency_ms": round(prompt.time_limit_s * 1000.0, 3),
            "time_limit_s": round(prompt.time_limit_s, 6),
            "restart": True,
            "next_time_limit_s": round(self.time_limit_s, 6),
        }
        if late_answer is not None:
            extra["late_answer"] = late_answer
        self._marker(at_s, f"timeout at {prompt.number}", extra)
        next_prompt = self._show(at_s)
        result = AnswerResult(
            prompt=prompt,
            at_s=at_s,
            value=None,
            raw=None,
            correct=False,
            timed_out=True,
            latency_ms=prompt.time_limit_s * 1000.0,
            feedback=feedback,
            restarted=True,
            next_prompt=next_prompt,
        )
        self._results.append(result)
        return result

    def finish(self, now_s: float) -> dict[str, Any]:
        """End the task (the phase is over); the prompt on screen is not counted.

        Timeouts due before ``now_s`` are counted first. Returns :meth:`summary`.
        """
        if self._prompt is not None and self._finished_s is None:
            while self.poll(now_s) is not None:
                pass
            self._finished_s = float(now_s)
            self._marker(now_s, "serial subtraction end", {"event": "end", **self.summary()})
        return self.summary()

    # -- records ---------------------------------------------------------------------------

    def _marker(self, at_s: float, label: str, extra: dict[str, Any]) -> None:
        self._markers.append(
            Marker(float(at_s), 0.0, label, MarkerKind.STRESSOR, {"task": TASK_NAME, **extra})
        )

    def markers(self) -> list[Marker]:
        """Every event so far as ``MarkerKind.STRESSOR`` markers, in time order.

        ``extra["event"]`` is ``begin``, ``prompt``, ``answer``, ``timeout`` or ``end``;
        answers and timeouts carry ``prompt``, ``number``, ``expected``, ``correct``,
        ``latency_ms``, ``time_limit_s``, ``restart`` and ``next_time_limit_s``; answers also
        ``answer`` (int or None) and ``raw``.
        """
        return list(self._markers)

    def new_markers(self) -> list[Marker]:
        """Markers made since the last call (to store events as they happen)."""
        fresh = self._markers[self._emitted :]
        self._emitted = len(self._markers)
        return fresh

    def summary(self) -> dict[str, Any]:
        """Performance so far (JSON-ready).

        Keys: ``answers`` (answers given, timeouts excluded), ``correct``, ``wrong``
        (wrong or non-numeric answers), ``timeouts``, ``errors`` (wrong + timeouts),
        ``restarts`` (= errors), ``accuracy`` (correct / (answers + timeouts), None before
        any), ``mean_latency_ms`` (of answers given, None when none), ``lowest_number``
        (lowest correct answer reached, ``start`` when none), ``completed_sequences``,
        ``initial_time_limit_s`` and ``final_time_limit_s``.
        """
        answered = [r for r in self._results if not r.timed_out]
        correct = sum(r.correct for r in answered)
        timeouts = len(self._results) - len(answered)
        wrong = len(answered) - correct
        latencies = [r.latency_ms for r in answered]
        total = len(self._results)
        return {
            "answers": len(answered),
            "correct": correct,
            "wrong": wrong,
            "timeouts": timeouts,
            "errors": wrong + timeouts,
            "restarts": wrong + timeouts,
            "accuracy": correct / total if total else None,
            "mean_latency_ms": float(np.mean(latencies)) if latencies else None,
            "lowest_number": self._lowest,
            "completed_sequences": self._completed_sequences,
            "initial_time_limit_s": self.initial_time_limit_s,
            "final_time_limit_s": self.time_limit_s,
        }


# -- simulated participants ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimulatedResponse:
    """What a simulated participant will answer to a prompt, and when.

    Attributes
    ----------
    at_s : float
        Session-clock time of the answer, s (may fall after the deadline: a timeout).
    value : int
        The number they will give.
    """

    at_s: float
    value: int


def simulate_participant(
    task: SerialSubtractionTask,
    rng: np.random.Generator,
    accuracy: float = 0.8,
    mean_latency_s: float = 4.0,
) -> SimulatedResponse | None:
    """Draw a simulated participant's response to the task's current prompt.

    The answer is right with probability ``accuracy``, otherwise off by a typical slip
    (±1, ±2, ±10 or a borrowing error of ±3). The latency is log-normal with mean
    ``mean_latency_s`` (coefficient of variation 0.35); if it exceeds the time limit the
    caller's :meth:`SerialSubtractionTask.poll` records a timeout first.

    The caller answers with ``task.answer(str(r.value), r.at_s)`` once its session clock
    reaches ``r.at_s`` (after polling), then draws the next response. Returns None when
    the task has not begun or has finished.
    """
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], not {accuracy}")
    if not mean_latency_s > 0:
        raise ValueError(f"mean latency must be positive, not {mean_latency_s}")
    prompt = task.current_prompt
    if prompt is None or task.finished:
        return None
    cv = 0.35
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(mean_latency_s) - sigma * sigma / 2.0
    latency_s = float(rng.lognormal(mu, sigma))
    if rng.random() < accuracy:
        value = prompt.expected
    else:
        value = prompt.expected + int(rng.choice([-10, -3, -2, -1, 1, 2, 3, 10]))
    return SimulatedResponse(at_s=prompt.shown_s + latency_s, value=value)


def run_simulated(
    task: SerialSubtractionTask,
    rng: np.random.Generator,
    start_s: float,
    end_s: float,
    accuracy: float = 0.8,
    mean_latency_s: float = 4.0,
) -> list[AnswerResult]:
    """Run a whole stressor phase with a simulated participant, from ``start_s`` to ``end_s``.

    Begins the task (unless already begun), answers with :func:`simulate_participant`,
    records timeouts, and finishes the task at ``end_s``. Returns the results in order.
    """
    if not task.started:
        task.begin(start_s)
    results: list[AnswerResult] = []
    while not task.finished:
        response = simulate_participant(task, rng, accuracy, mean_latency_s)
        assert response is not None
        prompt = task.current_prompt
        assert prompt is not None
        if min(response.at_s, prompt.deadline_s) >= end_s:
            break
        if response.at_s < prompt.deadline_s:
            results.append(task.answer(str(response.value), response.at_s))
        else:
            timeout = task.poll(prompt.deadline_s)
            assert timeout is not None
            results.append(timeout)
    task.finish(end_s)
    return results
