"""biofeedback: heart-rate variability biofeedback and research.

Importing the package is cheap: neurokit2, bleak and Qt are only imported where they are used,
and even the version is looked up only when asked for (importlib.metadata costs ~60 ms, which
the window's start-up does not need).
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("biofeedback")
        except metadata.PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0"
    raise AttributeError(f"module 'biofeedback' has no attribute {name!r}")
