"""The metrics API: python functions over a published Snapshot — the only place numbers are
defined, shared by pages, reports, alerts and the CLI (no streamlit here).

    periods   Period (month, fiscal quarter, fiscal year, trailing 12 months) and helpers
    filters   Filters(owner_ids, segments, industries) → a SQL condition or a mask of held rows
    held      rows of a SQL query held in memory once per snapshot, counted and summed per filter
    monthly   the account × month MRR rows held, and the period metrics (NRR, GRR, logo churn)
    revenue   MRR, ARR, movements (the MRR bridge), quick ratio, cohorts, kpis()
    kpis      the KPI registry: each KPI's key, names, format, direction and the outputs showing it
    churn     two-year churn rate, logo churn by period, churn reasons
    comparisons  a period with its previous and year-ago periods like for like, and targets
    targets   targets judged on their basis (TTM, a period kind, the two-year churn rate)
    intervals the 90% Wilson interval of a rate and the small-sample mark
    contributors the accounts behind each movement total
    renewals  renewal statuses, notice deadlines, at-risk and pending ARR, the forecast
    weekly    the weekly health, segment and signal marts: snapshot days, counts of a day
    base      the account × month spine as SQL, the as-of date, value helpers

Definitions: SPEC §4 and docs/metrics.md.

`headline()` is what `python -m cs_analytics metrics` shows: `revenue.kpis`, the period's
comparisons and targets (`comparisons.compare`: complete or to date, previous and year-ago like
for like, the two-year churn rate's group and interval, each target on its basis) and the
health band counts on the as-of date.
"""

from __future__ import annotations

import datetime as dt

from cs_analytics.metrics import comparisons, health
from cs_analytics.metrics.base import resolve_as_of
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period
from cs_analytics.metrics.revenue import KPI_KEYS


# The KPI keys `previous` and `year_ago` repeat (SPEC §4 "Comparisons"): every key of kpis().
COMPARED_KEYS = KPI_KEYS


def headline(snap, period: Period, filters: Filters | None = None,
             as_of: dt.date | None = None, settings=None) -> dict:
    """`revenue.kpis` of the period, then: period_complete, days_elapsed, days_in_period;
    previous and year_ago (the same KPI keys, like for like, with their own
    period_complete / days_elapsed and two-year churn group); the two-year churn rate's group —
    two_year_churn_customers, two_year_churn_churned, two_year_churn_ci90 ([low, high], the
    90% Wilson interval), two_year_churn_small_sample; targets ({name: metric, value, basis,
    direction, on, measured, met} against `settings.targets`, empty without settings); then
    health_bands: the health band counts on the as-of date (when the snapshot has health
    scores)."""
    as_of = resolve_as_of(snap, as_of)
    compared = comparisons.compare(snap, period, filters, as_of, settings)
    current = compared["current"]
    values = {**current["kpis"], **_timing(current)}
    for name in comparisons.COMPARISONS:
        measure = compared[name]
        values[name] = {"label": measure["label"],
                        **{k: measure["kpis"][k] for k in COMPARED_KEYS}, **_timing(measure),
                        "two_year_churn_customers": measure["two_year"]["customers"],
                        "two_year_churn_churned": measure["two_year"]["churned"]}
    two_year = current["two_year"]
    values["two_year_churn_customers"] = two_year["customers"]
    values["two_year_churn_churned"] = two_year["churned"]
    values["two_year_churn_ci90"] = (None if two_year["ci90"] is None
                                     else list(two_year["ci90"]))
    values["two_year_churn_small_sample"] = two_year["small_sample"]
    values["targets"] = {row["name"]: {k: row[k] for k in (
        "metric", "value", "basis", "direction", "on", "measured", "met")}
        for row in compared["targets"]}
    values["health_bands"] = health.band_counts(snap, as_of, filters)
    return values


def _timing(measure: dict) -> dict:
    return {"period_complete": measure["complete"], "days_elapsed": measure["days_elapsed"],
            "days_in_period": measure["days_in_period"]}


__all__ = ["Filters", "Period", "headline"]
