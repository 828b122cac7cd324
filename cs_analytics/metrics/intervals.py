"""How sure a rate over a small group is (SPEC §4 "Comparisons and targets"): the Wilson score
interval of a share k of n, and whether the group is a small sample."""

from __future__ import annotations

# The one definition, which the renewal forecast's SQL model calls too.
from cs_analytics.warehouse.models.functions import DEFAULT_CONFIDENCE, wilson_interval

__all__ = ["DEFAULT_CONFIDENCE", "SMALL_SAMPLE_BELOW", "wilson_interval", "is_small"]

SMALL_SAMPLE_BELOW = 30


def is_small(n: int | None, below: int = SMALL_SAMPLE_BELOW) -> bool:
    """A group of fewer than `below` members is a small sample (an empty one too)."""
    return n is None or n < below
