"""The metrics API: python functions over a published Snapshot — the only place numbers are
defined, shared by pages, reports, alerts and the CLI (no streamlit here).

    periods   Period (month, fiscal quarter, fiscal year, trailing 12 months) and helpers
    filters   Filters(owner_ids, segments, industries) → an account condition for SQL
    revenue   MRR, ARR, movements (the MRR bridge), NRR/GRR, quick ratio, cohorts, kpis()
    churn     two-year churn rate, logo churn by period, renewals, churn reasons
    comparisons  a period with its previous and year-ago periods like for like, and targets
    targets   targets judged on their basis (TTM, a period kind, the two-year churn rate)
    intervals the 90% Wilson interval of a rate and the small-sample mark
    contributors the accounts behind each movement total
    base      the account × month spine every metric reads, for the snapshot or an earlier date

Definitions: SPEC §4 and docs/metrics.md.

`headline()` is what `python -m cs_analytics metrics` shows: `revenue.kpis`, the period's
comparisons and targets (`comparisons.compare`: complete or to date, previous and year-ago like
for like, the two-year churn rate's group and interval, each target on its basis), plus the
sections other modules register with `@headline_section` (the health module adds the health
band counts there, and lists itself in SECTION_MODULES so it is imported first).
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


# The KPI keys `previous` and `year_ago` repeat (SPEC §4 "Comparisons"; issue 24 item 8).
COMPARED_KEYS = ("mrr", "arr", "customers", "new", "expansion", "contraction", "churn",
                 "reactivation", "logo_churn_rate", "nrr", "grr", "gross_mrr_churn",
                 "net_mrr_churn", "quick_ratio", "two_year_churn_rate", "period_start",
                 "period_end", "as_of")


def headline(snap, period: Period, filters: Filters | None = None,
             as_of: dt.date | None = None, settings=None) -> dict:
    """`revenue.kpis` of the period, then: period_complete, days_elapsed, days_in_period;
    previous and year_ago (the same KPI keys, like for like, with their own
    period_complete / days_elapsed and two-year churn group); the two-year churn rate's group —
    two_year_churn_customers, two_year_churn_churned, two_year_churn_ci90 ([low, high], the
    90% Wilson interval), two_year_churn_small_sample; targets ({name: metric, value, basis,
    direction, on, measured, met} against `settings.targets`, empty without settings); then
    every registered section's keys."""
    from cs_analytics.metrics import comparisons
    from cs_analytics.metrics.base import resolve_as_of

    for module in SECTION_MODULES:
        importlib.import_module(module)
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
    for section in HEADLINE_SECTIONS:
        values.update(section(snap, period, filters, as_of))
    return values


def _timing(measure: dict) -> dict:
    return {"period_complete": measure["complete"], "days_elapsed": measure["days_elapsed"],
            "days_in_period": measure["days_in_period"]}


__all__ = ["Filters", "Period", "headline", "headline_section", "HEADLINE_SECTIONS",
           "SECTION_MODULES"]
