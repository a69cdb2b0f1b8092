"""Williams designs: Latin, balanced for first-order carry-over, assigned in sequence."""

from __future__ import annotations

from collections import Counter

import pytest

from protocols.design import assign_order, design_orders, williams_orders


@pytest.mark.parametrize("k", range(2, 9))
def test_number_of_orders_and_permutations(k):
    orders = williams_orders(k)
    assert len(orders) == (k if k % 2 == 0 else 2 * k)
    assert all(sorted(o) == list(range(k)) for o in orders)
    assert len(set(orders)) == len(orders)


@pytest.mark.parametrize("k", range(2, 9))
def test_each_condition_once_per_position(k):
    orders = williams_orders(k)
    repeats = len(orders) // k
    for position in range(k):
        counts = Counter(o[position] for o in orders)
        assert counts == dict.fromkeys(range(k), repeats)


@pytest.mark.parametrize("k", range(2, 9))
def test_balanced_for_first_order_carry_over(k):
    orders = williams_orders(k)
    pairs = Counter((o[i], o[i + 1]) for o in orders for i in range(k - 1))
    expected = 1 if k % 2 == 0 else 2
    every_pair = {(a, b) for a in range(k) for b in range(k) if a != b}
    assert set(pairs) == every_pair
    assert set(pairs.values()) == {expected}


def test_standard_construction_first_row():
    assert williams_orders(4)[0] == (0, 1, 3, 2)
    assert williams_orders(6)[0] == (0, 1, 5, 2, 4, 3)
    assert williams_orders(5)[0] == (0, 1, 4, 2, 3)
    assert williams_orders(5)[5] == (3, 2, 4, 1, 0)  # mirror of the first row


def test_two_conditions_is_ab_ba():
    assert williams_orders(2) == [(0, 1), (1, 0)]
    assert design_orders(["A", "B"]) == [("A", "B"), ("B", "A")]


def test_assign_order_cycles_through_the_orders():
    conditions = ["soothing", "attention", "rest"]
    orders = design_orders(conditions)
    got = [assign_order(conditions, i) for i in range(2 * len(orders))]
    assert got == orders + orders
    assert assign_order(["A", "B"], 0) == ("A", "B")
    assert assign_order(["A", "B"], 1) == ("B", "A")
    assert assign_order(["A", "B"], 2) == ("A", "B")


def test_bad_arguments():
    with pytest.raises(ValueError):
        williams_orders(0)
    with pytest.raises(ValueError):
        assign_order(["A", "B"], -1)
