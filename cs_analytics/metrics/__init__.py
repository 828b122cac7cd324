"""The metrics API: python functions over a published Snapshot — the only place numbers are
defined, shared by pages, reports, alerts and the CLI (no streamlit here).

    periods   Period (month, fiscal quarter, fiscal year, trailing 12 months) and helpers
    filters   Filters(owner_ids, segments, industries) → an account condition for SQL
    revenue   MRR, ARR, movements (the MRR bridge), NRR/GRR, quick ratio, cohorts, kpis()
    churn     two-year churn rate, logo churn by period, renewals, churn reasons
    base      the account × month spine every metric reads, for the snapshot or an earlier date

Definitions: SPEC §4 and docs/metrics.md.

`headline()` is what `python -m cs_analytics metrics` and the overview show: `revenue.kpis`
plus the sections other modules register with `@headline_section` (the health module adds the
health band counts there, and lists itself in SECTION_MODULES so it is imported first).
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Callable

from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period

# f(snap, period, filters, as_of) -> dict of extra headline keys (JSON-ready values).
HeadlineSection = Callable[[object, Period, "Filters | None", dt.date], dict]
HEADLINE_SECTIONS: list[HeadlineSection] = []
# Modules that register headline sections; imported by headline() before it runs them.
SECTION_MODULES: tuple[str, ...] = ("cs_analytics.metrics.health",)


def headline_section(fn: HeadlineSection) -> HeadlineSection:
    """Register a function whose keys are added to `headline()` (e.g. health band counts)."""
    HEADLINE_SECTIONS.append(fn)
    return fn


def headline(snap, period: Period, filters: Filters | None = None,
             as_of: dt.date | None = None) -> dict:
    """`revenue.kpis` followed by every registered section's keys."""
    from cs_analytics.metrics import revenue
    from cs_analytics.metrics.base import resolve_as_of

    for module in SECTION_MODULES:
        importlib.import_module(module)
    as_of = resolve_as_of(snap, as_of)
    values = revenue.kpis(snap, period, filters, as_of)
    for section in HEADLINE_SECTIONS:
        values.update(section(snap, period, filters, as_of))
    return values


__all__ = ["Filters", "Period", "headline", "headline_section", "HEADLINE_SECTIONS",
           "SECTION_MODULES"]
