"""The metrics API: python functions over a published Snapshot — the only place numbers are
defined, shared by pages, reports, alerts and the CLI (no streamlit here).

    periods   Period (month, fiscal quarter, fiscal year, trailing 12 months) and helpers
    filters   Filters(owner_ids, segments, industries) → a SQL condition or a mask of held rows
    held      rows of a SQL query held in memory once per snapshot, counted and summed per filter
    monthly   the account × month MRR rows held, and the period metrics (NRR, GRR, logo churn)
    revenue   MRR, ARR, movements (the MRR bridge), quick ratio, cohorts, kpis()
    churn     two-year churn rate, logo churn by period, renewals, churn reasons
    weekly    the weekly health, segment and signal marts: snapshot days, counts of a day
    base      the account × month spine as SQL, the as-of date, value helpers

Definitions: SPEC §4 and docs/metrics.md.

`headline()` is what `python -m cs_analytics metrics` shows: `revenue.kpis` and the health
band counts on the as-of date.
"""

from __future__ import annotations

import datetime as dt

from cs_analytics.metrics import health, revenue
from cs_analytics.metrics.base import resolve_as_of
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period


def headline(snap, period: Period, filters: Filters | None = None,
             as_of: dt.date | None = None) -> dict:
    """`revenue.kpis`, then health_bands: the health band counts on the as-of date (when
    the snapshot has health scores)."""
    as_of = resolve_as_of(snap, as_of)
    values = revenue.kpis(snap, period, filters, as_of)
    if health.has_health(snap):
        values["health_bands"] = health.band_counts(snap, as_of, filters)
    return values


__all__ = ["Filters", "Period", "headline"]
