"""Shared pieces of the benchmark scripts (not a test)."""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def children_peak_rss_mb() -> float:
    """Largest peak RSS among this process's finished children (the neurokit2 worker), MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def run_child(script: Path, *args: str) -> dict:
    """Run one scenario in a fresh interpreter, so its peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, str(script), "--child", *args], capture_output=True, text=True,
        check=False, cwd=ROOT,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout)


def machine() -> dict:
    """What the figures were measured on."""
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
