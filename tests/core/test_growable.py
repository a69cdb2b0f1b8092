"""GrowableArray against np.concatenate of the same parts."""

import numpy as np

from biofeedback.core.growable import GrowableArray


def test_parts_appended_equal_their_concatenation_through_many_doublings():
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=int(k)) for k in rng.integers(0, 9, 500)]
    grown = GrowableArray(float, capacity=1)
    seen = []
    for part in parts:
        grown.extend(part)
        seen.append(grown.view())
    expected = np.concatenate(parts)
    np.testing.assert_array_equal(grown.view(), expected)
    assert len(grown) == expected.size and grown.dtype == expected.dtype
    # an earlier view keeps its values while the buffer grew and was replaced
    np.testing.assert_array_equal(seen[10], expected[: seen[10].size])
    copy = grown.copy()
    grown.append(7.0)
    assert copy.size == expected.size and grown.view()[-1] == 7.0


def test_a_part_of_a_wider_type_promotes_as_concatenate_does():
    grown = GrowableArray(np.int64)
    grown.extend(np.array([1, 2], dtype=np.int64))
    grown.extend(np.array([0.5]))
    assert grown.dtype == np.concatenate([np.array([1, 2]), np.array([0.5])]).dtype
    assert grown.view().tolist() == [1.0, 2.0, 0.5]
    bools = GrowableArray(bool)
    bools.extend(np.array([True, False]))
    assert bools.dtype == np.bool_ and bools.view().tolist() == [True, False]
