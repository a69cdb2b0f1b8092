"""A warm ``biofeedback`` process: runs command lines sent on standard input, one at a time.

``python -m biofeedback.cli.serve`` imports neurokit2 and the analysis, analyses a short
synthetic recording once (so every import a first analysis makes is done), then reads
requests and answers each as ``python -m biofeedback ARGS`` would have: its exit status,
standard output and standard error. The window keeps one such process for the Sessions
tab's Analyze (:mod:`biofeedback.ui.warm_worker`), which then answers in a fraction of a
second instead of paying Python's start and neurokit2's import (several seconds) each time.

Protocol (binary pipes, one exchange at a time): a request is one frame holding the JSON
``{"argv": [...], "cwd": "..."}``, a reply one frame holding
``{"returncode": int, "stdout": str, "stderr": str}``; a frame is its length in bytes as
ASCII digits and a newline, then that many bytes of UTF-8. End of input ends the process.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from typing import IO, Any

logger = logging.getLogger(__name__)

__all__ = ["read_frame", "serve", "write_frame"]


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    """Send one message: its length, a newline, its JSON."""
    data = json.dumps(message).encode("utf-8")
    stream.write(b"%d\n" % len(data) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """Receive one message; None at the end of the stream."""
    header = stream.readline()
    if not header.strip():
        return None
    data = stream.read(int(header))
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a frame must hold a JSON object")
    return message


def run_command(argv: list[str], cwd: str | None) -> dict[str, Any]:
    """Run one ``biofeedback`` command line in this process, capturing what it prints."""
    from biofeedback.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                if cwd is not None:
                    os.chdir(cwd)
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
            except Exception as exc:  # main turns errors into messages; this is the last net
                logger.debug("warm command failed", exc_info=True)
                print(f"biofeedback: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
                code = 1
    finally:
        os.chdir(before)
    return {"returncode": int(code), "stdout": out.getvalue(), "stderr": err.getvalue()}


def warm_up() -> None:
    """Import and run once what an analysis needs, on a 5-min synthetic recording."""
    import numpy as np

    from biofeedback.analysis import analyze_recording
    from biofeedback.cli import analyze  # noqa: F401 - the command's own imports
    from biofeedback.core.recording import Recording
    from biofeedback.core.types import PhaseSpan

    t = np.arange(1, 351) * 0.85 + 0.02 * np.sin(np.arange(350) * 0.9)
    rr = np.diff(np.concatenate(([0.0], t))) * 1000.0
    rr[100] *= 1.9  # one missed beat: the correction runs too
    t = np.cumsum(rr) / 1000.0
    analyze_recording(Recording(rr, t, phases=[PhaseSpan("p", "P", "rest", 0.0, 300.0)]))


def serve() -> None:
    """Answer requests on standard input until it closes."""
    # Keep the reply channel private: anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    try:
        warm_up()
    except Exception:  # broad: a failed warm-up only makes the first command slower
        logger.debug("warming the analysis failed", exc_info=True)
    while True:
        try:
            request = read_frame(requests)
        except (OSError, ValueError, KeyboardInterrupt):
            return
        if request is None:
            return
        reply = run_command([str(a) for a in request.get("argv", [])], request.get("cwd"))
        try:
            write_frame(replies, reply)
        except OSError:
            return


if __name__ == "__main__":
    serve()
