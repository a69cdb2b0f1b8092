"""Shared fixtures."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from audio_server import NO_SOUND_SERVER

if TYPE_CHECKING:
    from helpers import CliStep

    from biofeedback.store.database import SessionStore

# Qt widgets are real but drawn off screen (CI has no display).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never play on the developer's speakers: Qt Multimedia (here and in every subprocess)
# finds no sound server, as in CI; tests/audio_server.py starts a private one with a null
# sink for the tests that listen to what is played.
os.environ["QT_AUDIO_BACKEND"] = "pulseaudio"
os.environ["PULSE_SERVER"] = NO_SOUND_SERVER

TESTS = Path(__file__).parent
ROOT = TESTS.parent
"""The repository (tests live in a tree that mirrors the packages below tests/)."""
DATA = TESTS / "data"
OUTPUT = TESTS.parent / "test-output"


@pytest.fixture(scope="session", autouse=True)
def _speech_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Synthesized speech goes to a cache of the test run, never the user's cache folder
    (``$BIOFEEDBACK_CACHE_DIR``, inherited by subprocesses)."""
    folder = tmp_path_factory.mktemp("speech-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BIOFEEDBACK_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder, also exported as $BIOFEEDBACK_DATA_DIR for subprocesses."""
    folder = tmp_path / "data"
    monkeypatch.setenv("BIOFEEDBACK_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def store(data_dir: Path) -> Iterator[SessionStore]:
    """An empty session store in the test's private data folder (``data_dir``)."""
    from biofeedback.store.database import SessionStore

    with SessionStore.open(data_dir) as opened:
        yield opened


@pytest.fixture(scope="session")
def recorded_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Sequence[CliStep]], Path]:
    """``template(steps) -> folder``: a data folder made by running the ``biofeedback``
    commands ``steps`` (see ``helpers.s1_study``) in order, made once per test run.

    The folders are shared by every test: read them or copy them (``recorded_data_dir``),
    never write to them. A folder for ``steps`` starts as a copy of the one made for the
    longest prefix of ``steps`` already made, so modules that record the same study with one
    session more or less simulate the common sessions once.
    """
    from biofeedback.cli.main import main

    made: dict[tuple[CliStep, ...], Path] = {(): tmp_path_factory.mktemp("recorded") / "data"}

    def run(step: CliStep, folder: Path) -> None:
        # Captured here, not by the test that happens to ask first (its capsys reads stdout).
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*step, "--data-dir", str(folder)])
        assert code == 0, f"{' '.join(step)}: {err.getvalue()}"

    def template(steps: Sequence[CliStep]) -> Path:
        key = tuple(tuple(step) for step in steps)
        n = max(i for i in range(len(key) + 1) if key[:i] in made)
        for i in range(n, len(key)):
            # Every prefix is kept: another module may want the study one session shorter.
            folder = tmp_path_factory.mktemp("recorded") / "data"
            if made[key[:i]].exists():
                shutil.copytree(made[key[:i]], folder)
            run(key[i], folder)
            made[key[:i + 1]] = folder
        return made[key]

    return template


@pytest.fixture
def recorded_data_dir(
    recorded_template: Callable[[Sequence[CliStep]], Path], data_dir: Path
) -> Callable[[Sequence[CliStep]], Path]:
    """``fill(steps) -> data_dir``: this test's own copy of ``recorded_template(steps)`` in
    its private ``data_dir``, so a test may write to its store without touching others."""

    def fill(steps: Sequence[CliStep]) -> Path:
        shutil.copytree(recorded_template(steps), data_dir)
        return data_dir

    return fill


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


def save_figure_png(figure: object, name: str, dpi: float = 200.0) -> Path:
    """Save a matplotlib figure as ``test-output/screenshots/figure-NAME.png`` at its print
    size (look at them as a reviewer would: legible, nothing overlapping)."""
    from biofeedback.figures.render import save_figure

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return save_figure(figure, SCREENSHOTS / f"figure-{name}.png", dpi=dpi)  # type: ignore[arg-type]


@pytest.fixture
def qt_loop(qapp: object):
    """A qasync event loop (asyncio on Qt's loop) for the test; closed afterwards."""
    from biofeedback.ui.event_loop import close_event_loop, create_event_loop

    qapp.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    loop = create_event_loop(qapp)  # type: ignore[arg-type]
    yield loop
    close_event_loop(loop)


# The virtual BlueZ strap fixture (tests/virtual_strap.py), for every test module.
from virtual_strap import strap_with, virtual_strap  # noqa: E402, F401
