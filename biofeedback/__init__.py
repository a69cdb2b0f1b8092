"""biofeedback: heart-rate variability biofeedback and research.

Importing the package is cheap: neurokit2, bleak and Qt are only imported where they are used.
"""

from importlib import metadata

try:
    __version__ = metadata.version("biofeedback")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
