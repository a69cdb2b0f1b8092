"""Fixtures of the audio tests: a private speech cache, so every test synthesizes with the
real engine into a folder of its own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def speech_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$BIOFEEDBACK_CACHE_DIR`` set to a folder of the test's own (subprocesses too)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BIOFEEDBACK_CACHE_DIR", str(folder))
    return folder
