"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Qt widgets are real but drawn off screen (CI has no display).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TESTS = Path(__file__).parent
DATA = TESTS / "data"
OUTPUT = TESTS.parent / "test-output"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder, also exported as $BIOFEEDBACK_DATA_DIR for subprocesses."""
    folder = tmp_path / "data"
    monkeypatch.setenv("BIOFEEDBACK_DATA_DIR", str(folder))
    return folder


def cli_env(data_dir: Path) -> dict[str, str]:
    """Environment for running the CLI in a subprocess."""
    env = dict(os.environ)
    env["BIOFEEDBACK_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
SCREENSHOTS = OUTPUT / "screenshots"


def save_screenshot(widget: object, name: str) -> Path:
    """Save ``widget.grab()`` as ``test-output/screenshots/NAME.png`` (look at them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"  # type: ignore[attr-defined]
    return path


@pytest.fixture
def qt_loop(qapp: object):
    """A qasync event loop (asyncio on Qt's loop) for the test; closed afterwards."""
    from biofeedback.ui.event_loop import close_event_loop, create_event_loop

    qapp.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    loop = create_event_loop(qapp)  # type: ignore[arg-type]
    yield loop
    close_event_loop(loop)


# The virtual BlueZ strap fixture (tests/virtual_strap.py), for every test module.
from virtual_strap import virtual_strap  # noqa: E402, F401
