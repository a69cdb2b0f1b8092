"""The shared "GUI stays responsive" check: it passes for a job in another process and fails
for one that holds the GUI thread, whatever the machine's load."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from ui_helpers import assert_job_left_the_gui_free, qt_turn, wait_for, watch_job

from conftest import PYTHON

SLEEP = "import time; time.sleep(1.0)"


def test_a_job_in_another_process_leaves_the_loop_turning(qt_loop):
    job: dict[str, object] = {}

    async def scenario():
        async def run() -> None:
            job["p"] = await asyncio.create_subprocess_exec(
                PYTHON, "-c", SLEEP,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
            await job["p"].wait()  # type: ignore[attr-defined]
            job["done"] = True

        task = asyncio.ensure_future(run())
        await wait_for(lambda: "p" in job)
        watch = await watch_job(lambda: job.get("p"), lambda: "done" in job)
        await task
        return watch

    watch = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    assert_job_left_the_gui_free(watch, ("-c", SLEEP))


def test_a_job_that_blocks_the_gui_thread_fails_the_check(qt_loop):
    job: dict[str, object] = {}

    def blocking_job() -> None:
        process = subprocess.Popen([PYTHON, "-c", SLEEP])
        job["p"] = process
        # What a widget must never do: wait for the job on the GUI thread.
        asyncio.get_running_loop().call_soon(lambda: (process.wait(), job.update(done=True)))

    async def scenario():
        blocking_job()
        return await watch_job(lambda: job.get("p"), lambda: "done" in job)

    watch = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    assert watch.turns_while_running == 0
    with pytest.raises(AssertionError):
        assert_job_left_the_gui_free(watch, ("-c", SLEEP))


def test_a_job_that_burns_gui_cpu_fails_the_check(qt_loop):
    job: dict[str, object] = {}

    def spin(seconds: float) -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    async def scenario():
        job["p"] = await asyncio.create_subprocess_exec(PYTHON, "-c", SLEEP)
        for _ in range(3):
            await qt_turn()
        # Heavy work on the GUI thread while the process runs (the analysis done in-thread).
        asyncio.get_running_loop().call_later(0.1, spin, 0.7)

        async def finish() -> None:
            await job["p"].wait()  # type: ignore[attr-defined]
            job["done"] = True

        waiting = asyncio.ensure_future(finish())
        watch = await watch_job(lambda: job.get("p"), lambda: "done" in job)
        await waiting
        return watch

    watch = qt_loop.run_until_complete(asyncio.wait_for(scenario(), 60))
    assert watch.max_gui_cpu_s >= 0.5
    with pytest.raises(AssertionError):
        assert_job_left_the_gui_free(watch, ("-c", SLEEP), min_turns=1)
