"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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


# The virtual BlueZ strap fixture (tests/virtual_strap.py), for every test module.
from virtual_strap import virtual_strap  # noqa: E402, F401
