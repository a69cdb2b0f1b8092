"""CliJob: a real ``python -m biofeedback`` process on a small real store, its result, its
errors in words, and Cancel, after which the job's whole process group is gone."""

from __future__ import annotations

import asyncio
import os

import pytest
from helpers import record_free_session

from biofeedback.store.database import SessionStore
from biofeedback.ui.cli_job import CliJob, cli_error_sentence

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    """A data folder holding one 2-min simulated session."""
    folder = tmp_path_factory.mktemp("cli_job") / "data"
    with SessionStore.open(folder) as store:
        session = record_free_session(store, seed=5, duration_s=120.0)
        n_beats = store.list_sessions()[0].n_beats
    return folder, session.session_id, n_beats


def analyze_args(session_id: int, folder) -> tuple[str, ...]:
    return ("analyze", str(session_id), "--json", "--correction", "kubios",
            "--data-dir", str(folder))


def slow_replay_args(session_id: int, folder) -> tuple[str, ...]:
    """A job that runs for two minutes: the session replayed in real time."""
    return ("replay", str(session_id), "--speed", "1", "--json", "--no-neurokit", "--quiet",
            "--data-dir", str(folder))


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def until_running(job: CliJob) -> asyncio.subprocess.Process:
    while job.process is None:
        await asyncio.sleep(0.01)
    return job.process


def test_a_job_returns_the_clis_json(store_dir):
    folder, session_id, n_beats = store_dir
    job = CliJob("analysis", "phases")
    outcome = asyncio.run(job.run(analyze_args(session_id, folder)))
    assert outcome.status == "done" and outcome.returncode == 0 and outcome.message == ""
    assert isinstance(outcome.result["phases"], list) and len(outcome.result["phases"]) >= 1
    assert outcome.result["session"]["n_beats"] == n_beats
    assert not job.running and job.process is None


def test_a_cli_error_becomes_the_users_sentence(store_dir, tmp_path):
    folder, _, _ = store_dir
    job = CliJob("analysis", "phases")
    outcome = asyncio.run(job.run(analyze_args(999, folder)))
    assert outcome.status == "failed" and outcome.returncode not in (0, None)
    assert outcome.message.startswith("No session 999 in ")
    assert "Traceback" not in outcome.message and "biofeedback analyze" not in outcome.message

    # Exit status 0 without the expected JSON: refused in words, not a KeyError later.
    unreadable = CliJob("analysis", "comparisons")
    outcome = asyncio.run(unreadable.run(analyze_args(store_dir[1], folder)))
    assert outcome.status == "failed"
    assert outcome.message == "The analysis did not return a readable result."

    # A process that cannot start.
    outcome = asyncio.run(job.run(analyze_args(1, folder), cwd=tmp_path / "missing"))
    assert outcome.status == "failed" and outcome.returncode is None
    assert outcome.message.startswith("The analysis could not be started: ")


def test_cancel_kills_the_whole_process_group(store_dir):
    folder, session_id, _ = store_dir
    job = CliJob("replay", "phases")

    async def scenario():
        task = asyncio.ensure_future(job.run(slow_replay_args(session_id, folder)))
        process = await until_running(job)
        pgid = os.getpgid(process.pid)
        assert pgid == process.pid != os.getpgid(0)  # its own group, not ours
        await asyncio.sleep(0.3)
        assert job.running and group_exists(pgid)
        job.cancel()
        return await task, pgid

    outcome, pgid = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert outcome.status == "cancelled" and outcome.returncode == -9
    assert not group_exists(pgid)
    assert not job.running
    job.cancel()  # nothing runs: nothing happens


def test_a_cancelled_coroutine_leaves_no_process_behind(store_dir):
    folder, session_id, _ = store_dir
    job = CliJob("replay", "phases")

    async def scenario():
        task = asyncio.ensure_future(job.run(slow_replay_args(session_id, folder)))
        process = await until_running(job)
        task.cancel()  # the window closing
        with pytest.raises(asyncio.CancelledError):
            await task
        return process

    process = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert process.returncode == -9  # killed and reaped: no zombie
    assert not group_exists(process.pid)
    assert not job.running


def test_a_newer_job_supersedes_the_running_one(store_dir):
    folder, session_id, _ = store_dir
    job = CliJob("analysis", "phases")

    async def scenario():
        first = asyncio.ensure_future(job.run(slow_replay_args(session_id, folder)))
        old = await until_running(job)
        generation = job.generation
        second = await job.run(analyze_args(session_id, folder))
        return await first, second, old, generation

    first, second, old, generation = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert first.status == "superseded" and first.result is None
    assert old.returncode == -9 and not group_exists(old.pid)
    assert second.status == "done" and job.generation == generation + 1


def test_error_sentences():
    assert cli_error_sentence(
        "Traceback...\nbiofeedback analyze: error: no session 9 in /x.sqlite3\n", 2
    ) == "No session 9 in /x.sqlite3"
    assert cli_error_sentence("biofeedback compare: participant 'P9' has no sessions", 2) == (
        "Participant 'P9' has no sessions"
    )
    assert cli_error_sentence("", -9) == "The analysis process was stopped by signal 9."
    assert cli_error_sentence("", -9, "comparison") == (
        "The comparison process was stopped by signal 9."
    )
    assert cli_error_sentence("Traceback (most recent call last):", 1, "comparison") == (
        "The comparison stopped with exit status 1 and no message."
    )
    assert cli_error_sentence("something broke\n", 1) == "Something broke"
