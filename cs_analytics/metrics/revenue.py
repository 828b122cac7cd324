"""Revenue metrics of SPEC §4: MRR and ARR, the MRR bridge (movements), NRR, GRR, logo churn
over a period, quick ratio and cohort retention — and `kpis`, the headline numbers.

Every function reads a published snapshot, aggregates over the account × month spine and
returns a small DataFrame or dict: the MRR trend, period metrics (`metrics.monthly`) and
cohorts sum the spine's rows held in memory; the drill-down lists are its SQL rows of the
accounts a filter selects. Amounts are unrounded yen; rates are fractions (0.105 = 10.5%) and
None when their denominator is 0. See docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import churn
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import (check_period, date_column,
                                       fiscal_year_start_month, plain, query, ratio,
                                       resolve_as_of, spine)
from cs_analytics.metrics.filters import Filters, accounts_kept
from cs_analytics.metrics.held import per_account
from cs_analytics.metrics.kpis import DATE_KEYS, KPIS
from cs_analytics.metrics.monthly import (MOVEMENTS, monthly_totals, period_columns,
                                          period_metrics, spine_rows)
from cs_analytics.metrics.periods import Period, month_start

# The JSON keys of `kpis`, in this order: the registry's KPIs, then the period and the date.
KPI_KEYS = (*(k.key for k in KPIS), *DATE_KEYS)


# ---------------------------------------------------------------------------- monthly


def mrr_trend(snap, first_month: dt.date, last_month: dt.date, filters: Filters | None = None,
              as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per month in [first_month, last_month] that has data (a spine row of a filtered
    account): month, snapshot_day, mrr, arr, previous_mrr, customers, the signed movement
    totals and their counts."""
    as_of = resolve_as_of(snap, as_of)
    rows = spine_rows(snap, as_of)
    months, totals = monthly_totals(snap, rows, filters, month_start(first_month),
                                    month_start(last_month))
    shown = np.flatnonzero(totals["rows"] > 0)  # (rows of months first…last only)
    months = [months[i] for i in shown.tolist()]
    as_of_month = month_start(as_of)

    def counts(name: str) -> np.ndarray:
        return totals[name][shown].round().astype("int64")

    return pd.DataFrame({
        "month": date_column(months),
        # the month's last day; the as-of date itself in the as-of month
        "snapshot_day": date_column([as_of if m == as_of_month else P.last_day(m)
                                     for m in months]),
        "mrr": totals["mrr"][shown],
        "arr": 12 * totals["mrr"][shown],
        "previous_mrr": totals["previous_mrr"][shown],
        "customers": counts("customers"),
        **{name: totals[kind][shown] if name == kind else counts(name)
           for kind in MOVEMENTS for name in (kind, f"{kind}_count")},
    })


MOVEMENT_ROW_COLUMNS = ("account_id", "month", "mrr", "previous_mrr", "movement")


def iter_account_movements(snap, batch_size: int = 10_000) -> Iterator[list[tuple]]:
    """Every account × month row of the snapshot, in batches: (account_id, month as YYYY-MM,
    mrr, previous_mrr, movement or None), ordered by account and month. Streams: the whole
    spine (accounts × months) is never held in memory at once."""
    cur = snap.cursor()
    try:
        cur.execute("""
            SELECT account_id, strftime(month, '%Y-%m'), mrr, previous_mrr, movement
            FROM fct_account_mrr_monthly
            ORDER BY account_id, month""")
        while rows := cur.fetchmany(batch_size):
            yield rows
    finally:
        cur.close()


# ---------------------------------------------------------------------------- periods


BRIDGE_KEYS = ("start_mrr", *MOVEMENTS, *(f"{m}_count" for m in MOVEMENTS), "mrr")
MOVEMENTS_BY_PERIOD_COLUMNS = ("label", "period_start", "period_end", "start_mrr", *MOVEMENTS,
                               *(f"{m}_count" for m in MOVEMENTS), "mrr", "customers")
RETENTION_COLUMNS = ("label", "period_start", "period_end", "base_customers",
                     "churned_customers", "base_mrr", "base_end_mrr", "base_retained_mrr",
                     "logo_churn_rate", "nrr", "grr")


def bridge_of(row) -> dict:
    """The MRR bridge in one row of `period_metrics` (see `movement_totals`)."""
    return {k: plain(row[k]) for k in BRIDGE_KEYS}


def movement_totals(snap, period: Period, filters: Filters | None = None,
                    as_of: dt.date | None = None) -> dict:
    """The MRR bridge of a period: start_mrr (month a), the signed movement totals and counts,
    mrr (month b). start_mrr + Σ movements = mrr."""
    return bridge_of(period_metrics(snap, [period], filters, as_of).iloc[0])


def movements_by_period(snap, periods: Sequence[Period], filters: Filters | None = None,
                        as_of: dt.date | None = None) -> pd.DataFrame:
    """The bridge per period (a waterfall per month or quarter)."""
    return period_metrics(snap, periods, filters, as_of, MOVEMENTS_BY_PERIOD_COLUMNS)


def period_sets(snap, sets: Sequence[tuple[str, Sequence[Period]]],
                filters: Filters | None = None, as_of: dt.date | None = None
                ) -> dict[str, pd.DataFrame]:
    """`period_metrics` of several named lists of periods — the bridge of the period, the bars
    of the last quarters, the NRR trends — from ONE query: {name: its periods' rows, in order}.
    A page showing four of them waits for one query over the spine instead of four."""
    unique = list(dict.fromkeys(p for _, group in sets for p in group))
    frame = period_metrics(snap, unique, filters, as_of)
    position = {p: i for i, p in enumerate(unique)}
    return {name: frame.iloc[[position[p] for p in group]].reset_index(drop=True)
            for name, group in sets}


@per_account
def movement_accounts(snap, period: Period, movement: str, filters: Filters | None = None,
                      as_of: dt.date | None = None) -> pd.DataFrame:
    """The accounts behind one movement total of a period (drill-down): one row per account
    and month with account_id, name, owner_id, owner_name, month, mrr_before, mrr_after,
    amount. The amounts sum to the period's movement total."""
    if movement not in MOVEMENTS:
        raise CsAnalyticsError(f"movement '{movement}': expected one of {', '.join(MOVEMENTS)}")
    sp = spine(snap, as_of, filters)
    check_period(period, sp.as_of)
    sql = f"""
        WITH {sp.cte}
        SELECT s.account_id, a.name, a.owner_id, u.name AS owner_name, s.month,
               s.previous_mrr AS mrr_before, s.mrr AS mrr_after, s.movement_amount AS amount
        FROM spine s
        LEFT JOIN accounts a ON a.account_id = s.account_id
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE s.movement = $movement AND s.month BETWEEN $first_month AND $end_month
        ORDER BY abs(s.movement_amount) DESC, s.account_id, s.month"""
    return query(snap, sql, sp.with_params(movement=movement, first_month=period.first_month,
                                          end_month=period.end_month(sp.as_of)))


def retention_trend(snap, kind: str = "quarter", n: int = 8, as_of: dt.date | None = None,
                    filters: Filters | None = None) -> pd.DataFrame:
    """NRR, GRR and logo churn for the last `n` periods ending with the current one, oldest
    first: per fiscal quarter (kind="quarter"), or trailing twelve months at each month
    (kind="ttm"); "month" and "year" work the same way."""
    as_of = resolve_as_of(snap, as_of)
    periods = P.last_n(kind, n, as_of, fiscal_year_start_month(snap))
    return period_metrics(snap, periods, filters, as_of, RETENTION_COLUMNS)


def kpis(snap, period: Period, filters: Filters | None = None,
         as_of: dt.date | None = None) -> dict:
    """The headline numbers of a period, with exactly the keys of KPI_KEYS: mrr, arr and
    customers at the period's end; movement totals over the period (contraction and churn
    negative); rates as fractions or None; dates as ISO strings."""
    return headlines(snap, [period], filters, as_of)[0]["kpis"]


def headlines(snap, periods: Sequence[Period], filters: Filters | None = None,
              as_of: dt.date | None = None) -> list[dict]:
    """For each period, {"kpis": `kpis` of it, "bridge": `movement_totals` of it, "two_year":
    the two-year churn rate at its last month with its group (`churn.two_year_churn`: rate,
    customers, churned, month, cohort_first_month, cohort_last_month)}, from two queries
    whatever the number of periods (one `period_metrics`, one two-year churn trend over the
    periods' end months): a page comparing a period with the previous one asks once."""
    as_of = resolve_as_of(snap, as_of)
    columns = {name: values.tolist() if isinstance(values, np.ndarray) else values
               for name, values in period_columns(snap, periods, filters, as_of).items()}
    ends = [p.end_month(as_of) for p in periods]
    two_years = churn.two_year_churn_of_months(snap, ends, filters, as_of)
    computed_elsewhere = ("two_year_churn_rate", *DATE_KEYS)
    out = []
    for period, end, cells in zip(periods, ends, zip(*columns.values())):
        row = dict(zip(columns, cells))
        two_year = dict(two_years[end])
        values = {k: plain(row[k]) for k in KPI_KEYS if k not in computed_elsewhere}
        values["two_year_churn_rate"] = two_year["rate"]
        values["period_start"] = period.start_date.isoformat()
        values["period_end"] = period.end_day(as_of).isoformat()
        values["as_of"] = as_of.isoformat()
        out.append({"kpis": {k: values[k] for k in KPI_KEYS}, "bridge": bridge_of(row),
                    "two_year": two_year})
    return out


# ---------------------------------------------------------------------------- cohorts

GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}


# The cohort table's cells (SPEC §4 "Cohorts"): net MRR retention, logo retention.
COHORT_METRICS = ("mrr", "logo")


def cohort_table(snap, grain: str = "quarter", metric: str = "logo",
                 filters: Filters | None = None, as_of: dt.date | None = None) -> pd.DataFrame:
    """Cohorts by first month with MRR (F_i), grouped by month, fiscal quarter or fiscal year.

    One row per cohort: cohort (label), cohort_start, customers, start_mrr (Σ MRR_i(F_i)),
    then one column per offset "+0", "+1", … (months, quarters or years after each customer's
    F_i): the share of the cohort with MRR > 0 then (metric="logo") or the cohort's MRR then /
    start_mrr (metric="mrr"). A cell is empty until every member of the cohort has reached it.
    """
    if grain not in GRAIN_MONTHS:
        raise CsAnalyticsError(f"cohort grain '{grain}': expected month, quarter or year")
    if metric not in COHORT_METRICS:
        raise CsAnalyticsError(
            f"cohort metric '{metric}': expected {' or '.join(sorted(COHORT_METRICS))}")
    as_of = resolve_as_of(snap, as_of)
    spine_held = spine_rows(snap, as_of)
    fsm = fiscal_year_start_month(snap)
    step = GRAIN_MONTHS[grain]
    months = spine_held.codes("month")[1]  # every month from the first F_i to the as-of month
    last = len(months) - 1  # the as-of month
    # The filtered accounts, each with F_i (as a month index) and its cohort: the period
    # containing F_i.
    members = np.flatnonzero(accounts_kept(filters, snap, spine_held))
    month_index = {m: i for i, m in enumerate(months)}
    firsts = spine_held.codes("first_month")[1]
    first = np.array([month_index[m] for m in firsts], dtype=np.int64)[
        spine_held.by_account("first_month")[members]]
    start_of = {m: P.period_containing(grain, months[m], fsm).first_month
                for m in np.unique(first).tolist()}
    cohorts = sorted(set(start_of.values()))
    column = {c: j for j, c in enumerate(cohorts)}
    cohort_of = np.array([column[start_of[m]] for m in first.tolist()], dtype=np.int64)
    n = len(cohorts)
    mrr = spine_held.grid("mrr", ("month",))
    customer = spine_held.grid("customer", ("month",))
    customers = np.bincount(cohort_of, minlength=n)
    start_mrr = np.bincount(cohort_of, weights=mrr[first, members], minlength=n)
    last_start = np.full(n, -1)
    np.maximum.at(last_start, cohort_of, first)
    # Each member k periods after its F_i (its rows run from F_i to the as-of month; a cell is
    # shown once every member of the cohort has reached it), summed by cohort.
    offsets = np.arange(0, last + 1, step)
    at = first[None, :] + offsets[:, None]
    reached = at <= last
    cell = (np.arange(len(offsets))[:, None] * n + cohort_of[None, :]).ravel()

    def by_cohort(grid: np.ndarray) -> np.ndarray:  # [offset, cohort]
        then = np.where(reached, grid[np.minimum(at, last), members[None, :]], 0.0)
        return np.bincount(cell, weights=then.ravel(),
                           minlength=len(offsets) * n).reshape(len(offsets), n)

    active, mrr_sum = by_cohort(customer), by_cohort(mrr)
    rows: dict[dt.date, dict] = {}
    max_k = 0
    for j, cohort in enumerate(cohorts):
        row = rows[cohort] = {
            "cohort": P.period_containing(grain, cohort, fsm).label,
            "cohort_start": cohort, "customers": int(round(customers[j])),
            "start_mrr": float(start_mrr[j]), "cells": {}}
        for k in range(len(offsets)):
            if last_start[j] + k * step > last:
                break
            row["cells"][k] = (active[k, j] / customers[j] if metric == "logo"
                               else ratio(mrr_sum[k, j], start_mrr[j]))
            max_k = max(max_k, k)
    records = []
    for cohort in sorted(rows):
        row = rows[cohort]
        record = {k: row[k] for k in ("cohort", "cohort_start", "customers", "start_mrr")}
        for k in range(max_k + 1):
            record[f"+{k}"] = row["cells"].get(k)
        records.append(record)
    columns = ["cohort", "cohort_start", "customers", "start_mrr",
               *(f"+{k}" for k in range(max_k + 1))]
    return pd.DataFrame.from_records(records, columns=columns)

