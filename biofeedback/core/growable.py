"""A numpy array that grows at its end by doubling its capacity (amortised O(1) per value).

Long sessions append one beat (or one notification) at a time for a day: a Python list of
floats costs 32 bytes per value (the float object and its pointer) and a list of small arrays
about 100 bytes of array header per part, where this costs 8 bytes per value and at most as
many again of spare capacity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GrowableArray"]


class GrowableArray:
    """One-dimensional array appended to at its end; :meth:`view` is what was appended.

    Parameters
    ----------
    dtype : numpy dtype-like
        Type of the values. A part of another type promotes the whole array to their
        common type, as ``np.concatenate`` of the parts would.
    capacity : int
        Values preallocated (at least 1).

    Examples
    --------
    >>> a = GrowableArray(np.int64, capacity=2)
    >>> a.extend(np.array([1, 2, 3]))
    >>> a.append(4)
    >>> a.view().tolist()
    [1, 2, 3, 4]
    """

    __slots__ = ("_data", "_n")

    def __init__(self, dtype: npt.DTypeLike = np.float64, capacity: int = 1024) -> None:
        self._data: npt.NDArray[Any] = np.empty(max(int(capacity), 1), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def dtype(self) -> np.dtype[Any]:
        """Type of the values."""
        return self._data.dtype

    def _reserve(self, n: int) -> None:
        if n > self._data.size:
            bigger = np.empty(max(n, 2 * self._data.size), dtype=self._data.dtype)
            bigger[: self._n] = self._data[: self._n]
            self._data = bigger

    def extend(self, values: npt.ArrayLike) -> None:
        """Append ``values`` (copied: the caller's array is not kept)."""
        part = np.asarray(values)
        if part.dtype != self._data.dtype:
            common = np.result_type(self._data.dtype, part.dtype)
            if common != self._data.dtype:
                self._data = self._data.astype(common)
        k = part.size
        self._reserve(self._n + k)
        self._data[self._n : self._n + k] = part.ravel()
        self._n += k

    def append(self, value: Any) -> None:
        """Append one value."""
        self._reserve(self._n + 1)
        self._data[self._n] = value
        self._n += 1

    def view(self) -> npt.NDArray[Any]:
        """The values appended so far, without a copy (later appends do not show in it)."""
        return self._data[: self._n]

    def copy(self) -> npt.NDArray[Any]:
        """The values appended so far, as an array of their own."""
        return self._data[: self._n].copy()
