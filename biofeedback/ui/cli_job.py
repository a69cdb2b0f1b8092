"""One ``python -m biofeedback CMD ... --json`` job at a time, off the GUI thread.

Analyze (the session browser) and Compare (the comparison view) both run the CLI in a
subprocess so neither the database nor the statistics ever touch the GUI thread. This module
holds what they share: spawning the process in its own process group (so Cancel also stops
the worker processes it starts), a generation counter (a job superseded by a newer one never
shows its result), cancel, reaping on cancellation (no zombie), validation of the JSON on
standard output and the CLI's error turned into the user's sentence.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from biofeedback.ui.warm_worker import WarmWorker

logger = logging.getLogger(__name__)

__all__ = ["CliJob", "JobOutcome", "cli_error_sentence", "kill_process_group"]

_CLI_ERROR = re.compile(r"^biofeedback [\w-]+: (?:error: )?(.*)$")

_REAP_TIMEOUT_S = 2.0
"""How long a killed process is waited for (s); SIGKILL ends it well within that."""


def cli_error_sentence(stderr: str, returncode: int | None, what: str = "analysis") -> str:
    """What a failed ``biofeedback`` command said, as a sentence for the user.

    Parameters
    ----------
    stderr : str
        The process's standard error.
    returncode : int or None
        Its exit status (negative: killed by that signal).
    what : str
        The job in words (``"analysis"``, ``"comparison"``), used when the CLI said nothing.

    Returns
    -------
    str
        The CLI's own message without its ``biofeedback analyze: error:`` prefix, e.g.
        ``"No session 9 in /home/me/.local/share/biofeedback/biofeedback.sqlite3"``.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        match = _CLI_ERROR.match(line)
        if match:
            text = " ".join([match.group(1), *lines[i + 1 :]])
            return text[:1].upper() + text[1:]
    if lines and not lines[-1].startswith(("Traceback", "File ")):
        text = lines[-1]
        return text[:1].upper() + text[1:]
    if returncode is not None and returncode < 0:
        return f"The {what} process was stopped by signal {-returncode}."
    return f"The {what} stopped with exit status {returncode} and no message."


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended.

    Attributes
    ----------
    status : {"done", "failed", "cancelled", "superseded"}
        ``superseded``: a newer job was started (or :meth:`CliJob.supersede` called); its
        caller must not touch the display, which belongs to the newer job.
    result : dict or None
        The JSON printed by the CLI (only when ``done``).
    message : str
        The sentence for the user (only when ``failed``).
    returncode : int or None
        The process's exit status (negative: killed by that signal); None if never started.
    """

    status: Literal["done", "failed", "cancelled", "superseded"]
    result: dict[str, Any] | None = None
    message: str = ""
    returncode: int | None = None


class CliJob:
    """Runs one ``python -m biofeedback ...`` process at a time and reports its outcome.

    Parameters
    ----------
    what : str
        The job in words, for the error sentences (``"analysis"``, ``"comparison"``).
    required_list : str
        Key of the JSON object that must hold a list for the result to be readable
        (``"phases"``, ``"comparisons"``).
    progress : re.Pattern, optional
        A pattern with two groups (done, total) matched on standard error, e.g.
        ``analysed (\\d+)/(\\d+) sessions``; matching lines are left out of error sentences.
    on_progress : callable, optional
        Called with ``(done, total)`` on the GUI thread for each progress line of the
        current job.
    on_stderr_line : callable, optional
        Called on the GUI thread with each whole line of the current job's standard error
        (without its newline); it returns whether the line was a progress report, which is
        then left out of error sentences. For commands whose progress is more than two
        numbers (``import --progress-json`` prints a JSON object per file).
    result_on_error : bool
        A job that exits with a positive status yet prints a readable result is ``done``
        (with its ``returncode``), not ``failed``: ``biofeedback import`` exits with 1 when
        it refused a file, after printing the summary of what it did import.
    worker : WarmWorker, optional
        Run the commands in this warm process (:mod:`biofeedback.ui.warm_worker`) instead of
        a new ``python -m biofeedback`` each time; cancelling or superseding a job kills it
        (the next job starts another). Its standard error arrives with its end, so progress
        lines are not reported.
    """

    def __init__(
        self,
        what: str,
        required_list: str,
        *,
        progress: re.Pattern[str] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_stderr_line: Callable[[str], bool] | None = None,
        result_on_error: bool = False,
        worker: WarmWorker | None = None,
    ) -> None:
        self._worker = worker
        self._what = what
        self._required = required_list
        self._progress = progress
        self._on_progress = on_progress
        self._on_stderr_line = on_stderr_line
        self._result_on_error = result_on_error
        self._process: asyncio.subprocess.Process | None = None
        self._generation = 0
        self._cancelled_generation = -1

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The running process, or None."""
        return self._process

    @property
    def running(self) -> bool:
        """Whether a process is running."""
        return self._process is not None

    @property
    def generation(self) -> int:
        """Number of the current job (incremented by each :meth:`run` and :meth:`supersede`)."""
        return self._generation

    def supersede(self) -> int:
        """Kill the running process (if any) and make its job stale; returns the new number."""
        self._kill()
        self._generation += 1
        return self._generation

    def cancel(self) -> None:
        """Stop the running job: its process group is killed and :meth:`run` returns
        ``cancelled``. Nothing happens when no process runs."""
        if self._process is None:
            return
        self._cancelled_generation = self._generation
        self._kill()

    async def run(self, args: Sequence[str], *, cwd: Path | None = None) -> JobOutcome:
        """Run ``python -m biofeedback ARGS`` (ARGS should hold ``--json``) to its end.

        Starting a job supersedes the one running. When this coroutine is cancelled (the
        window closing), the process group is killed and reaped before it returns.

        Parameters
        ----------
        args : sequence of str
            The command line after ``python -m biofeedback``.
        cwd : Path, optional
            Working folder of the process.

        Returns
        -------
        JobOutcome
            Done with the JSON, failed with a sentence, cancelled or superseded.
        """
        if self._worker is not None:
            return await self._run_warm(self._worker, args, cwd)
        generation = self.supersede()
        command = (sys.executable, "-m", "biofeedback", *args)
        stderr_parts: list[str] = []
        process: asyncio.subprocess.Process | None = None
        try:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                    cwd=None if cwd is None else str(cwd),
                    # Its own process group: Cancel stops its worker processes too.
                    start_new_session=os.name == "posix",
                )
            except OSError as exc:
                return self._outcome_failed(
                    generation, f"The {self._what} could not be started: {exc}", None
                )
            self._process = process
            assert process.stdout is not None and process.stderr is not None
            stdout, _ = await asyncio.gather(
                process.stdout.read(),
                self._read_stderr(process.stderr, stderr_parts, generation),
            )
            await process.wait()
        finally:
            if process is not None and process.returncode is None:
                # The coroutine was cancelled: leave no process behind, and reap it so no
                # zombie is left either.
                kill_process_group(process)
                try:
                    await asyncio.wait_for(process.wait(), _REAP_TIMEOUT_S)
                except (TimeoutError, ProcessLookupError, OSError):
                    logger.debug("could not reap a cancelled job", exc_info=True)
            if self._process is process:
                self._process = None
        return self._outcome(generation, process.returncode, stdout, "".join(stderr_parts))

    async def _run_warm(
        self, worker: WarmWorker, args: Sequence[str], cwd: Path | None
    ) -> JobOutcome:
        """:meth:`run` in the warm worker: the same outcomes from its reply."""
        generation = self.supersede()
        try:
            process = await worker.start()
        except OSError as exc:
            return self._outcome_failed(
                generation, f"The {self._what} could not be started: {exc}", None
            )
        self._process = process
        reply = None
        try:
            reply = await worker.request(process, args, cwd)
        finally:
            if reply is None:
                # Cancelled mid-job (the window closing) or the worker died: leave no
                # process behind, and reap it so no zombie is left either.
                worker.kill(process)
                try:
                    await asyncio.wait_for(process.wait(), _REAP_TIMEOUT_S)
                except (TimeoutError, ProcessLookupError, OSError):
                    logger.debug("could not reap the warm worker", exc_info=True)
            if self._process is process:
                self._process = None
        if reply is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), _REAP_TIMEOUT_S)
            return self._outcome(generation, process.returncode, b"", "")
        return self._outcome(generation, int(reply.get("returncode", 1)),
                             str(reply.get("stdout", "")).encode("utf-8"),
                             str(reply.get("stderr", "")))

    # -- internals -------------------------------------------------------------------------

    def _outcome(
        self, generation: int, returncode: int | None, stdout: bytes, stderr: str
    ) -> JobOutcome:
        if generation != self._generation:
            return JobOutcome("superseded", returncode=returncode)
        if generation == self._cancelled_generation:
            return JobOutcome("cancelled", returncode=returncode)
        result_expected = returncode == 0 or (
            self._result_on_error and returncode is not None and returncode > 0
        )
        result = self._read_result(stdout) if result_expected else None
        if result is not None:
            return JobOutcome("done", result=result, returncode=returncode)
        if returncode != 0:
            return self._outcome_failed(generation, self._error_sentence(stderr, returncode),
                                        returncode)
        return self._outcome_failed(
            generation, f"The {self._what} did not return a readable result.", returncode
        )

    def _read_result(self, stdout: bytes) -> dict[str, Any] | None:
        """The JSON object on standard output, or None when it is not one that holds the
        required list."""
        try:
            result = json.loads(stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(result, dict) or not isinstance(result.get(self._required), list):
            return None
        return result

    def _outcome_failed(self, generation: int, message: str, returncode: int | None) -> JobOutcome:
        if generation != self._generation:
            return JobOutcome("superseded", returncode=returncode)
        return JobOutcome("failed", message=message, returncode=returncode)

    def _error_sentence(self, stderr: str, returncode: int | None) -> str:
        lines = [line for line in re.split(r"[\r\n]+", stderr) if line.strip()]
        if self._progress is not None:
            lines = [line for line in lines if not self._progress.search(line)]
        return cli_error_sentence("\n".join(lines), returncode, self._what)

    async def _read_stderr(
        self, stream: asyncio.StreamReader, parts: list[str], generation: int
    ) -> None:
        """Collect standard error, reporting each progress line of the current job."""
        if self._on_stderr_line is not None:
            await self._read_stderr_lines(stream, parts, generation, self._on_stderr_line)
            return
        while chunk := await stream.read(4096):
            text = chunk.decode("utf-8", "replace")
            parts.append(text)
            if self._progress is None or self._on_progress is None:
                continue
            found = self._progress.findall(text)
            if found and generation == self._generation:
                done, total = (int(x) for x in found[-1])
                self._on_progress(done, total)

    async def _read_stderr_lines(
        self,
        stream: asyncio.StreamReader,
        parts: list[str],
        generation: int,
        on_line: Callable[[str], bool],
    ) -> None:
        """Collect standard error line by line; lines the callback takes as progress are
        not kept. Reads chunks rather than lines so a very long line cannot overrun the
        reader's limit."""
        pending = ""
        # A character of a file name may straddle two chunks.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while chunk := await stream.read(4096):
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                if generation != self._generation or not on_line(line.rstrip("\r")):
                    parts.append(line + "\n")
        if pending and (generation != self._generation or not on_line(pending.rstrip("\r"))):
            parts.append(pending)

    def _kill(self) -> None:
        if self._process is not None:
            if self._worker is not None:
                self._worker.kill(self._process)
            kill_process_group(self._process)


def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """Kill a job's process and, on POSIX, its whole process group (the job's own children)
    at once; nothing when it has already ended."""
    if process.returncode is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
            return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
