"""Python functions the SQL models call, registered on the build's connection (`register`):
each is defined once, here, and the metrics use the same function for the figures they compute
in Python."""

from __future__ import annotations

import math
from statistics import NormalDist

import duckdb

DEFAULT_CONFIDENCE = 0.90


def wilson_interval(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE
                    ) -> tuple[float, float] | None:
    """The Wilson score interval of the share k / n at `confidence` (two-sided), as
    (low, high) fractions within [0, 1]; None when n is 0 (no share to bound).

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


def _wilson_sql(k, n, confidence):
    """wilson_interval for SQL: [low, high], NULL when n is 0 or NULL."""
    if k is None or n is None or confidence is None:
        return None
    found = wilson_interval(int(k), int(n), float(confidence))
    return None if found is None else list(found)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Make the functions callable from the models on `con`:
    wilson_interval(k, n, confidence) → DOUBLE[2] [low, high] (NULL without a share)."""
    con.create_function("wilson_interval", _wilson_sql, ["BIGINT", "BIGINT", "DOUBLE"],
                        "DOUBLE[]", null_handling="special")
