"""Where the package loggers' records go: standard error, at a level the user picks.

Every module logs through ``logging.getLogger(__name__)`` and never configures logging itself
(a library must not). The command line is the one place that does: ``--log-level`` or, when
that is not given, the environment variable ``BIOFEEDBACK_LOG_LEVEL`` (which also reaches the
subprocesses the window starts). The default WARNING keeps the console as quiet as before;
DEBUG shows what the broad ``except`` blocks swallowed, with tracebacks, and bleak's own log of
the Bluetooth conversation.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import TextIO

LOG_LEVEL_ENV = "BIOFEEDBACK_LOG_LEVEL"
"""Environment variable read when ``--log-level`` is not given."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""Accepted level names (case-insensitive)."""

DEFAULT_LOG_LEVEL = "WARNING"

PACKAGE_LOGGERS = ("biofeedback", "sensors", "protocols", "bleak")
"""Loggers set to the chosen level; other libraries stay at WARNING so DEBUG is readable."""

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs (a type of its own so it can be found).

    Without an explicit stream it writes to whatever ``sys.stderr`` is at the time of each
    record, like logging's last-resort handler, so a replaced or captured stderr (pytest, a
    redirect) is honoured and a closed old one is never written to.
    """

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(sys.stderr if stream is None else stream)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def resolve_log_level(option: str | None, environ: Mapping[str, str]) -> str:
    """The level name to use: the option, else ``BIOFEEDBACK_LOG_LEVEL``, else WARNING.

    Raises
    ------
    ValueError
        If the chosen value is not a level name; the message names where it came from.
    """
    if option is not None:
        value, origin = option, "--log-level"
    elif environ.get(LOG_LEVEL_ENV, "").strip():
        value, origin = environ[LOG_LEVEL_ENV], LOG_LEVEL_ENV
    else:
        return DEFAULT_LOG_LEVEL
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{origin}={value!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def configure_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send log records of ``level`` and above from the package loggers to ``stream``.

    Parameters
    ----------
    level : str
        One of :data:`LOG_LEVELS`.
    stream : file, optional
        Where records go; standard error by default.

    Returns
    -------
    logging.Handler
        The handler installed on the root logger (one per call; a second call replaces it).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler(stream)
    handler.setFormatter(logging.Formatter(_FORMAT))
    # Records propagate to the root's handlers whatever the root's own level, so other
    # libraries stay at the root's WARNING while the package loggers go lower.
    root.addHandler(handler)
    for name in PACKAGE_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return handler
