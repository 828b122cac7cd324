"""A period as an executive reads it (SPEC §4 "Comparisons and targets"): its KPIs, whether it
is complete or to date (days elapsed), the previous period and the same period a year ago
measured like for like, the trailing twelve months at its end, the two-year churn rate with
its group and 90% Wilson interval, and every target judged on its basis.

Every number is `revenue.headlines` of a period measured on a day — one call per distinct
day (the period's and its comparisons', which differ only while the period is to date).
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from cs_analytics.config import Settings
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import revenue, targets as target_rules
from cs_analytics.metrics.base import fiscal_year_start_month, resolve_as_of
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.intervals import SMALL_SAMPLE_BELOW, is_small
from cs_analytics.metrics.periods import Period

COMPARISONS = ("previous", "year_ago")
MEASURES = ("current", *COMPARISONS)


def compare(snap, period: Period, filters: Filters | None = None, as_of: dt.date | None = None,
            settings: Settings | None = None) -> dict:
    """{"current", "previous", "year_ago"}: each a `measure` (below) — the period on `as_of`,
    the previous period and the year-ago period each on its like-for-like day — and
    "targets": `targets.judge` of the current period against `settings.targets` (empty
    without settings); `settings.samples.small_below` says what a small sample is.

    A measure: label, period, as_of (the day it is measured on), complete, days_elapsed,
    days_in_period, kpis (`revenue.kpis`), bridge (`revenue.movement_totals`), ttm ({label,
    kpis} of the trailing twelve months ending with the period's last month), two_year (the
    two-year churn rate at that month: rate, customers, churned, month, cohort months, ci90 =
    its 90% Wilson interval (low, high) or None, small_sample)."""
    as_of = resolve_as_of(snap, as_of)
    fsm = fiscal_year_start_month(snap)
    days = {"current": (period, as_of)}
    for name in COMPARISONS:
        days[name] = P.compared(period, as_of, name, fsm)
    # One headlines call per day measured on: each period with its TTM at its end.
    asked: dict[dt.date, list[Period]] = {}
    for measured, day in days.values():
        ttm = P.ttm(measured.end_month(day))
        for p in (measured, ttm):
            if p not in asked.setdefault(day, []):
                asked[day].append(p)
    results = {day: dict(zip(wanted, revenue.headlines(snap, wanted, filters, day)))
               for day, wanted in asked.items()}
    small_below = settings.samples.small_below if settings else SMALL_SAMPLE_BELOW
    out = {}
    for name, (measured, day) in days.items():
        out[name] = _measure(measured, day, results[day], small_below)
    out["targets"] = target_rules.judge(settings.targets if settings else {}, period.kind,
                                        out["current"])
    return out


def _measure(period: Period, day: dt.date, results: dict, small_below: int) -> dict:
    own = results[period]
    ttm = P.ttm(period.end_month(day))
    two_year = dict(own["two_year"])
    two_year["small_sample"] = is_small(two_year["customers"], small_below)
    return {
        "label": period.label, "period": period, "as_of": day,
        "complete": P.is_complete(period, day),
        "days_elapsed": P.days_elapsed(period, day), "days_in_period": P.days_in(period),
        "kpis": own["kpis"], "bridge": own["bridge"],
        "ttm": {"label": ttm.label, "kpis": results[ttm]["kpis"]},
        "two_year": two_year,
    }


def group_changed(current: Mapping, earlier: Mapping) -> bool:
    """Whether two two-year churn rates (`measure`["two_year"]) are over different groups: their
    cohort windows differ, so a change between them is partly a different set of customers."""
    return (current["cohort_first_month"] != earlier["cohort_first_month"]
            or current["cohort_last_month"] != earlier["cohort_last_month"])
