"""How sure a rate over a small group is (SPEC §4 "Comparisons and targets"): the Wilson score
interval of a share k of n, and whether the group is a small sample."""

from __future__ import annotations

import math
from statistics import NormalDist

DEFAULT_CONFIDENCE = 0.90
SMALL_SAMPLE_BELOW = 30


def wilson_interval(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE
                    ) -> tuple[float, float] | None:
    """The Wilson score interval of the share k / n at `confidence` (two-sided), as
    (low, high) fractions; None when n is 0 (no share to bound).

    With z the standard normal quantile of (1 + confidence) / 2 and p = k / n:
    centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n).
    Unlike p ± z·√(p(1−p)/n) it stays inside [0, 1] and is not empty at 0 of n.
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"a share needs 0 ≤ k ≤ n, got {k} of {n}")
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def is_small(n: int | None, below: int = SMALL_SAMPLE_BELOW) -> bool:
    """A group of fewer than `below` members is a small sample (an empty one too)."""
    return n is None or n < below
