"""One warm ``biofeedback`` process that runs command lines for the window, off the GUI thread.

Starting ``python -m biofeedback analyze ...`` for every Analyze costs Python's start and
neurokit2's import, several seconds on a busy machine, for an analysis that itself takes a
fraction of a second. The window instead keeps one ``python -m biofeedback.cli.serve``
process (:mod:`biofeedback.cli.serve`): started with the first job, it stays, with neurokit2
imported, for the next ones. It runs one command at a time and answers exactly what the
command would have printed, so :class:`~biofeedback.ui.cli_job.CliJob` reads its outcome the
same way. Killing it (Cancel, a superseded job) ends that job; the next job starts a new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biofeedback.ui.cli_job import kill_process_group

logger = logging.getLogger(__name__)

__all__ = ["WORKER_ARGV", "WarmWorker", "WorkerReply"]

WORKER_ARGV: tuple[str, ...] = ("-m", "biofeedback.cli.serve")
"""The worker's command line after the interpreter."""

WorkerReply = dict[str, Any]
"""``{"returncode": int, "stdout": str, "stderr": str}``."""


class WarmWorker:
    """The window's warm command process (see the module docstring).

    Use from the event loop's thread only; one :meth:`request` at a time.
    """

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self.started = 0
        """How many worker processes were started (a test checks the second job reuses one)."""

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The worker process, while it lives."""
        process = self._process
        return process if process is not None and process.returncode is None else None

    async def start(self) -> asyncio.subprocess.Process:
        """The running worker, started now when there is none (it warms up meanwhile)."""
        process = self.process
        if process is not None:
            return process
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, *WORKER_ARGV,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            # Its own process group, as a one-off command's: killing it stops all of it.
            start_new_session=os.name == "posix",
        )
        self.started += 1
        return self._process

    async def request(
        self, process: asyncio.subprocess.Process, argv: Sequence[str], cwd: Path | None
    ) -> WorkerReply | None:
        """Run one command line in ``process``; None when the process ended before replying
        (killed, or it failed)."""
        assert process.stdin is not None and process.stdout is not None
        message = json.dumps({"argv": list(argv), "cwd": None if cwd is None else str(cwd)})
        data = message.encode("utf-8")
        try:
            process.stdin.write(b"%d\n" % len(data) + data)
            await process.stdin.drain()
            header = await process.stdout.readline()
            if not header.strip():
                return None
            body = await process.stdout.readexactly(int(header))
        except (OSError, ValueError, asyncio.IncompleteReadError):
            logger.debug("the warm worker ended mid-request", exc_info=True)
            return None
        reply = json.loads(body.decode("utf-8"))
        return reply if isinstance(reply, dict) else None

    def kill(self, process: asyncio.subprocess.Process | None = None) -> None:
        """Kill the worker (and its process group) now; the next job starts a new one.

        Parameters
        ----------
        process : asyncio.subprocess.Process, optional
            Only this worker process: a job that ended late must not kill the worker a newer
            job has started meanwhile.
        """
        if process is None:
            process = self._process
        if process is self._process:
            self._process = None
        if process is not None:
            kill_process_group(process)
