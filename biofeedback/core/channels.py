"""Regularly sampled raw signals kept with a session beside its beats (ECG, acceleration)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RawChannel:
    """A regularly sampled signal kept with the session (ECG, acceleration).

    Attributes
    ----------
    name : str
        Channel name as shown and exported (``"ECG"``, ``"ACC"``).
    kind : str
        ``"ecg"`` or ``"acc"``.
    unit : str
        Physical unit of the samples (``"uV"``, ``"mg"``).
    sampling_rate_hz : float
        Samples per second, Hz.
    start_s : float
        Session time of the first sample, s.
    columns : tuple of str
        Name of each column of :attr:`samples` (``("ecg",)``, ``("x", "y", "z")``).
    samples : ndarray of float, shape (n, len(columns))
        The samples, in :attr:`unit`.
    source_file : str
        Name of the file they were read from.
    """

    name: str
    kind: str
    unit: str
    sampling_rate_hz: float
    start_s: float
    columns: tuple[str, ...]
    samples: FloatArray
    source_file: str

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return int(self.samples.shape[0])
