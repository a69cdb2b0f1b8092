"""Counterbalanced condition orders: Williams designs.

A Williams design is a Latin square balanced for first-order carry-over: every condition
appears once in every position, and every condition is immediately preceded by every other
condition equally often (Williams 1949, Aust J Sci Res A 2:149-168). With ``k`` conditions it
needs ``k`` orders when ``k`` is even and ``2k`` when ``k`` is odd (the square plus its mirror
image). Two conditions give the familiar AB/BA crossover.

Construction (the standard one): the first row is ``0, 1, k-1, 2, k-2, 3, ...``; row ``i``
adds ``i`` to every entry modulo ``k``; for odd ``k`` the ``k`` reversed rows follow.
Participants enrolled one after the other take the orders in turn
(:func:`assign_order`), so a study whose size is a multiple of the number of orders is
exactly balanced.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_CONDITIONS = 2
MAX_CONDITIONS = 8


def _first_row(k: int) -> list[int]:
    """``0, 1, k-1, 2, k-2, ...`` (k entries)."""
    row = [0]
    low, high = 1, k - 1
    take_low = True
    while len(row) < k:
        if take_low:
            row.append(low)
            low += 1
        else:
            row.append(high)
            high -= 1
        take_low = not take_low
    return row


def williams_orders(k: int) -> list[tuple[int, ...]]:
    """The orders of a Williams design for ``k`` conditions (condition indices 0..k-1).

    Parameters
    ----------
    k : int
        Number of conditions, at least 1 (1 gives the single order ``(0,)``).

    Returns
    -------
    list of tuple of int
        ``k`` orders for even ``k``, ``2k`` for odd ``k`` (``k >= 3``); each a permutation
        of ``range(k)``.

    Examples
    --------
    >>> williams_orders(2)
    [(0, 1), (1, 0)]
    >>> williams_orders(4)
    [(0, 1, 3, 2), (1, 2, 0, 3), (2, 3, 1, 0), (3, 0, 2, 1)]
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"number of conditions must be a positive integer, not {k!r}")
    first = _first_row(k)
    rows = [tuple((c + shift) % k for c in first) for shift in range(k)]
    if k % 2 == 1 and k > 1:
        rows += [tuple(reversed(r)) for r in rows]
    return rows


def assign_order(conditions: Sequence[str], participant_index: int) -> tuple[str, ...]:
    """Condition order of the participant enrolled ``participant_index``-th (0-based).

    Participants in sequence cycle through :func:`williams_orders` of ``len(conditions)``.

    >>> assign_order(["A", "B"], 0), assign_order(["A", "B"], 1), assign_order(["A", "B"], 2)
    (('A', 'B'), ('B', 'A'), ('A', 'B'))
    """
    if participant_index < 0:
        raise ValueError(f"participant index must be >= 0, not {participant_index}")
    orders = williams_orders(len(conditions))
    order = orders[participant_index % len(orders)]
    return tuple(conditions[i] for i in order)


def design_orders(conditions: Sequence[str]) -> list[tuple[str, ...]]:
    """Every order of the Williams design, written with the condition names."""
    return [tuple(conditions[i] for i in o) for o in williams_orders(len(conditions))]
