"""The package loggers: what broad ``except`` blocks swallow is logged, and the CLI shows it.

``--log-level`` (before or after the command) or ``$BIOFEEDBACK_LOG_LEVEL`` sends the package
loggers' records to standard error; the default WARNING leaves the console as it was.
"""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess

import pytest

from biofeedback.cli.log import (
    DEFAULT_LOG_LEVEL,
    LOG_LEVEL_ENV,
    configure_logging,
    resolve_log_level,
)
from biofeedback.core.source import HeartRateSource
from biofeedback.core.types import SourceState
from conftest import PYTHON, cli_env


def _run(data_dir, *args: str, env_level: str | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env(data_dir)
    env.pop(LOG_LEVEL_ENV, None)
    if env_level is not None:
        env[LOG_LEVEL_ENV] = env_level
    return subprocess.run(
        [PYTHON, "-m", "biofeedback", *args], capture_output=True, text=True, env=env,
        timeout=120,
    )


def test_log_level_debug_shows_a_log_line_on_stderr(data_dir):
    quiet = _run(data_dir, "protocols")
    loud = _run(data_dir, "--log-level", "DEBUG", "protocols")
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == ""
    assert "DEBUG biofeedback.cli.main: command protocols" in loud.stderr
    assert loud.stdout == quiet.stdout  # logging never touches the command's output


def test_log_level_after_the_command_and_from_the_environment(data_dir):
    after = _run(data_dir, "protocols", "--log-level", "debug")
    assert after.returncode == 0 and "DEBUG biofeedback.cli.main" in after.stderr
    from_env = _run(data_dir, "protocols", env_level="DEBUG")
    assert from_env.returncode == 0 and "DEBUG biofeedback.cli.main" in from_env.stderr
    # The option wins over the environment.
    overridden = _run(data_dir, "--log-level", "WARNING", "protocols", env_level="DEBUG")
    assert overridden.returncode == 0 and overridden.stderr == ""


def test_bad_log_level_is_refused_naming_where_it_came_from(data_dir):
    bad_env = _run(data_dir, "protocols", env_level="loud")
    assert bad_env.returncode == 2
    assert f"{LOG_LEVEL_ENV}='loud' is not one of DEBUG, INFO" in bad_env.stderr
    bad_option = _run(data_dir, "--log-level", "chatty", "protocols")
    assert bad_option.returncode == 2
    assert "--log-level='chatty' is not one of" in bad_option.stderr


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, DEFAULT_LOG_LEVEL),
        (None, {LOG_LEVEL_ENV: " info "}, "INFO"),
        (None, {LOG_LEVEL_ENV: ""}, DEFAULT_LOG_LEVEL),
        ("debug", {LOG_LEVEL_ENV: "ERROR"}, "DEBUG"),
    ],
)
def test_resolve_log_level(option, environ, expected):
    assert resolve_log_level(option, environ) == expected


def test_configure_logging_lets_package_debug_through_but_not_other_libraries():
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    try:
        logging.getLogger("biofeedback.some.module").debug("ours")
        logging.getLogger("some_other_library").debug("theirs")
        logging.getLogger("some_other_library").warning("their warning")
        # A second call replaces the handler instead of doubling every line.
        assert configure_logging("DEBUG", stream) is not handler
        logging.getLogger("sensors.ble.strap").debug("once")
    finally:
        root = logging.getLogger()
        for h in list(root.handlers):
            if type(h) is type(handler):
                root.removeHandler(h)
        for name in ("biofeedback", "sensors", "protocols", "bleak"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = stream.getvalue()
    assert "DEBUG biofeedback.some.module: ours" in text
    assert "theirs" not in text
    assert "WARNING some_other_library: their warning" in text
    assert text.count("once") == 1


class _FailingCleanupSource(HeartRateSource):
    """A source whose run fails and whose cleanup fails too."""

    kind = "test"

    def session_time_s(self) -> float:
        return 0.0

    async def _run(self) -> None:
        raise ValueError("run broke")

    async def _cleanup(self) -> None:
        raise OSError("cleanup broke")


def test_a_failing_source_reports_its_error_and_logs_both_tracebacks(caplog):
    async def main() -> list[object]:
        source = _FailingCleanupSource()
        await source.start()
        return [event async for event in source]

    caplog.set_level(logging.DEBUG, logger="biofeedback.core.source")
    events = asyncio.run(main())
    assert events[-1].state is SourceState.FAILED
    assert events[-1].message == "ValueError: run broke"
    records = [r for r in caplog.records if r.name == "biofeedback.core.source"]
    assert [r.getMessage() for r in records] == [
        "_FailingCleanupSource failed",
        "cleanup of _FailingCleanupSource failed",
    ]
    assert [type(r.exc_info[1]) for r in records] == [ValueError, OSError]
