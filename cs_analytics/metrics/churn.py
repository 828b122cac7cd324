"""Churn metrics of SPEC §4: the two-year churn rate (チャーン率) — headline, trend and by start
quarter —, logo churn by period and churn reasons (renewals: metrics/renewals.py).

Like revenue.py, every function aggregates over the account × month spine and returns a small
DataFrame or dict; rates are fractions and None when their denominator is 0. The two-year churn
rate counts the account life table (models/13: F_i and C_i per account) held in memory; the
list of churns is SQL over the spine and the contracts, held per account
(`metrics.held.per_account`), and the reasons are sums over it (`reasons_of`).
"""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np
import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import (as_date, check_period, date_column,
                                       fiscal_year_start_month, plain, query, ratio,
                                       resolve_as_of, spine)
from cs_analytics.metrics.filters import Filters, mask
from cs_analytics.metrics.held import HeldRows, Query, held, per_account
from cs_analytics.metrics.intervals import wilson_interval
from cs_analytics.metrics.monthly import period_metrics
from cs_analytics.metrics.periods import Period, add_months, month_start

TWO_YEARS = 24  # months from the first month with MRR within which a churn counts
HEADLINE_COHORT_MONTHS = 12  # the headline covers customers who started in 12 months


# One row per account of the spine: F_i and whether it churned within two years (C_i, the
# first month after F_i with MRR 0, at most TWO_YEARS months after F_i).
_LIFE_COLUMNS = """l.account_id, l.first_month,
                   coalesce(l.churn_month <= l.first_month + to_months($two_years), false)
                       AS churned_within_two_years"""
LIFE = Query("account life", f"SELECT {_LIFE_COLUMNS} FROM fct_account_life l", keep=1)
LIFE_AS_OF = Query("account life as of", f"""
    SELECT {_LIFE_COLUMNS} FROM account_life_as_of(CAST($as_of AS DATE)) l""", keep=3)


def _life(snap, as_of: dt.date, filters: Filters | None) -> tuple[list, np.ndarray,
                                                                  np.ndarray]:
    """The filtered accounts of the life table counted by F_i: (the first months, in order;
    customers; of them, churned within two years), one entry per first month."""
    rows: HeldRows = (held(snap, LIFE, two_years=TWO_YEARS) if as_of == snap.as_of
                      else held(snap, LIFE_AS_OF, as_of=as_of, two_years=TWO_YEARS))
    totals = rows.totals(mask(filters, snap, rows), ("first_month",),
                         ("churned_within_two_years",))
    return (totals.labels[0][:-1], totals.count[:-1],
            totals.sums["churned_within_two_years"][:-1].round().astype(np.int64))


def two_year_churn_trend(snap, months: list[dt.date] | None = None, filters: Filters | None = None,
                         as_of: dt.date | None = None) -> pd.DataFrame:
    """The headline two-year churn rate at each month M: over customers whose first month F_i
    is in (M−36, M−24], the share with C_i ≤ F_i + 24 months. Columns: month, cohort_first_month,
    cohort_last_month, customers, churned, rate. Default months: the last 12."""
    columns = _trend_columns(snap, months, filters, as_of)
    frame = pd.DataFrame({
        **{k: date_column(columns[k]) for k in ("month", "cohort_first_month",
                                                "cohort_last_month")},
        **{k: np.array(columns[k], dtype=np.int64) for k in ("customers", "churned")},
    })
    frame["rate"] = columns["rate"]
    return frame


def _trend_columns(snap, months: list[dt.date] | None, filters: Filters | None,
                   as_of: dt.date | None) -> dict[str, list]:
    """`two_year_churn_trend` as {column: its values, one per month} of Python values."""
    as_of = resolve_as_of(snap, as_of)
    firsts, customers, churned = _life(snap, as_of, filters)
    if months is None:
        months = [add_months(month_start(as_of), -i) for i in range(11, -1, -1)]
    months = sorted({month_start(m) for m in months})
    lag_last = TWO_YEARS
    lag_first = TWO_YEARS + HEADLINE_COHORT_MONTHS - 1
    # Customers and churns by first month, summed over each month's cohort window.
    running = {name: np.concatenate([[0], np.cumsum(values)])
               for name, values in (("customers", customers), ("churned", churned))}
    window = [(bisect.bisect_left(firsts, add_months(m, -lag_first)),
               bisect.bisect_right(firsts, add_months(m, -lag_last))) for m in months]
    columns = {
        "month": months,
        "cohort_first_month": [add_months(m, -lag_first) for m in months],
        "cohort_last_month": [add_months(m, -lag_last) for m in months],
        **{name: [int(total[hi] - total[lo]) for lo, hi in window]
           for name, total in running.items()},
    }
    columns["rate"] = [ratio(c, n) for c, n in zip(columns["churned"], columns["customers"])]
    return columns


def two_year_churn(snap, as_of: dt.date | None = None, filters: Filters | None = None,
                   month: dt.date | None = None) -> dict:
    """The headline two-year churn rate at `month` (default: the as-of month): rate, customers,
    churned, month, cohort_first_month, cohort_last_month, ci90 (its 90% Wilson interval)."""
    as_of = resolve_as_of(snap, as_of)
    month = month_start(month or as_of)
    return two_year_churn_of_months(snap, [month], filters, as_of)[month]


def two_year_churn_at(trend: pd.DataFrame, month: dt.date) -> dict:
    """`two_year_churn` at `month`, read from a `two_year_churn_trend` that includes that month
    (a page showing the trend and the headline needs one query, not two), with ci90: the
    rate's 90% Wilson interval (low, high), None without customers."""
    columns = {k: trend[k].tolist() for k in ("month", "customers", "churned", "rate",
                                              "cohort_first_month", "cohort_last_month")}
    return _two_year_of_months(columns, [month])[month_start(month)]


def two_year_churn_of_months(snap, months: list[dt.date], filters: Filters | None = None,
                             as_of: dt.date | None = None) -> dict[dt.date, dict]:
    """{month: `two_year_churn` at that month} for each of `months` (a new dict each): one
    count of the life table for them all."""
    return _two_year_of_months(_trend_columns(snap, months, filters, as_of), months)


def _two_year_of_months(columns: dict[str, list], months: list[dt.date]) -> dict[dt.date, dict]:
    """{month: `two_year_churn_at`} for each of `months`, from a trend's columns."""
    listed = [as_date(m) for m in columns["month"]]
    out = {}
    for month in map(month_start, months):
        if month not in listed:
            raise CsAnalyticsError(f"two-year churn trend has no month {month.isoformat()}")
        at = listed.index(month)
        row = {k: plain(columns[k][at]) for k in ("customers", "churned", "rate")}
        row["month"] = listed[at]
        for k in ("cohort_first_month", "cohort_last_month"):
            row[k] = as_date(columns[k][at])
        row["ci90"] = wilson_interval(row["churned"], row["customers"])
        out[month] = row
    return out


def two_year_churn_by_cohort(snap, as_of: dt.date | None = None,
                             filters: Filters | None = None) -> pd.DataFrame:
    """Two-year churn per start quarter (fiscal): cohort, cohort_start, customers, eligible
    (F_i + 24 ≤ the as-of month), churned (eligible and churned within two years), rate
    (churned / eligible), churned_to_date (churned within two years so far, eligible or not).
    One row per quarter with a filtered customer."""
    as_of = resolve_as_of(snap, as_of)
    firsts, customers, churned = _life(snap, as_of, filters)
    fsm = fiscal_year_start_month(snap)
    as_of_month = month_start(as_of)
    cohorts: dict[dt.date, dict[str, int]] = {}
    for first, n, c in zip(firsts, customers.tolist(), churned.tolist()):
        if not n:
            continue
        eligible = add_months(first, TWO_YEARS) <= as_of_month
        start = P.period_containing("quarter", first, fsm).first_month
        cohort = cohorts.setdefault(start, dict.fromkeys(
            ("customers", "eligible", "churned", "churned_to_date"), 0))
        cohort["customers"] += n
        cohort["eligible"] += n if eligible else 0
        cohort["churned"] += c if eligible else 0
        cohort["churned_to_date"] += c
    starts = sorted(cohorts)
    frame = pd.DataFrame({
        "cohort": [P.period_containing("quarter", s, fsm).label for s in starts],
        "cohort_start": pd.Series(starts, dtype=object),
        **{name: np.array([cohorts[s][name] for s in starts], dtype=np.int64)
           for name in ("customers", "eligible", "churned", "churned_to_date")},
    })
    frame["rate"] = [ratio(c, e) for c, e in zip(frame["churned"], frame["eligible"])]
    return frame


# ---------------------------------------------------------------------------- logo churn


def logo_churn_by_period(snap, kind: str = "quarter", n: int = 8, as_of: dt.date | None = None,
                         filters: Filters | None = None) -> pd.DataFrame:
    """Logo churn for the last `n` periods: label, period_start, period_end, base_customers
    (customers at the start), churned_customers (of those, MRR 0 at the end), logo_churn_rate,
    and the churn movements inside the period (churn_count, churn)."""
    as_of = resolve_as_of(snap, as_of)
    periods = P.last_n(kind, n, as_of, fiscal_year_start_month(snap))
    columns = ["label", "period_start", "period_end", "base_customers", "churned_customers",
               "logo_churn_rate", "churn_count", "churn"]
    return period_metrics(snap, periods, filters, as_of, columns)


# ---------------------------------------------------------------------------- churn reasons


REASONED_MOVEMENTS = ("contraction", "churn")  # movements a churn reason can explain


def movement_events_sql(cte: str) -> str:
    """The movements of kinds $movements in months $first_month…$end_month, one row per
    account and month (`reasoned`: account_id, month, snapshot_day, movement,
    movement_amount, churned_mrr = −amount, name, owner_id, owner_name, reason).

    reason — for a contraction or a churn only: the churn_reason of the contract(s) that
    stopped counting between the previous snapshot day and the month's (the latest ending one
    with a reason); for a churn, else the account's churn_reason; else NULL."""
    reasoned = ", ".join(f"'{m}'" for m in REASONED_MOVEMENTS)
    return f"""
        WITH {cte},
        events AS (
            SELECT s.account_id, s.month, s.snapshot_day, s.movement, s.movement_amount,
                   -s.movement_amount AS churned_mrr
            FROM spine s
            WHERE list_contains($movements, s.movement)
              AND s.month BETWEEN $first_month AND $end_month
        ),
        contract_reasons AS (
            SELECT e.account_id, e.month,
                   arg_max(trim(c.churn_reason), c.active_until) AS reason
            FROM events e
            JOIN int_contract_mrr c
              ON c.account_id = e.account_id
             AND c.active_until < e.snapshot_day
             AND c.active_until >= last_day(CAST(e.month - INTERVAL 1 MONTH AS DATE))
             AND nullif(trim(c.churn_reason), '') IS NOT NULL
            WHERE e.movement IN ({reasoned})
            GROUP BY e.account_id, e.month
        ),
        reasoned AS (
            SELECT e.*, a.name, a.owner_id, u.name AS owner_name,
                   coalesce(r.reason, CASE WHEN e.movement = 'churn'
                                           THEN nullif(trim(a.churn_reason), '') END) AS reason
            FROM events e
            LEFT JOIN contract_reasons r ON r.account_id = e.account_id AND r.month = e.month
            LEFT JOIN accounts a ON a.account_id = e.account_id
            LEFT JOIN users u ON u.user_id = a.owner_id
        )"""


@per_account
def churned_accounts(snap, period: Period, filters: Filters | None = None,
                     as_of: dt.date | None = None) -> pd.DataFrame:
    """Every churn of the period: account_id, name, owner_id, owner_name, month, churned_mrr
    (MRR lost, positive), reason (missing — NaN — when not recorded)."""
    sp = spine(snap, as_of, filters)
    check_period(period, sp.as_of)
    sql = movement_events_sql(sp.cte) + """
        SELECT account_id, name, owner_id, owner_name, month, churned_mrr, reason
        FROM reasoned
        ORDER BY month, churned_mrr DESC, account_id"""
    return query(snap, sql, sp.with_params(movements=["churn"], first_month=period.first_month,
                                          end_month=period.end_month(sp.as_of)))


def churn_reasons(snap, period: Period, filters: Filters | None = None,
                  as_of: dt.date | None = None) -> pd.DataFrame:
    """Churns of the period by reason: reason (missing when not recorded), churned (count of
    churn movements), churned_mrr (MRR lost), share, mrr_share; largest first."""
    return reasons_of(churned_accounts(snap, period, filters, as_of))


REASON_COLUMNS = ["reason", "churned", "churned_mrr", "share", "mrr_share"]


def reasons_of(churned: pd.DataFrame) -> pd.DataFrame:
    """`churn_reasons` of the churns listed by `churned_accounts`: a page or report showing
    both reads the period's churns once. Largest first (count, then MRR), then by reason,
    not recorded last."""
    # (a period has tens of churns: summed in a dict)
    totals: dict = {}
    for reason, mrr in zip(churned["reason"].tolist(), churned["churned_mrr"].tolist()):
        key = None if pd.isna(reason) else reason
        count, lost = totals.get(key, (0, 0.0))
        totals[key] = (count + 1, lost + mrr)
    order = sorted(totals, key=lambda r: (-totals[r][0], -totals[r][1], r is None, r or ""))
    counts = np.array([totals[r][0] for r in order], dtype=np.int64)
    lost = np.array([totals[r][1] for r in order], dtype=np.float64)
    total, total_mrr = counts.sum(), lost.sum()
    return pd.DataFrame({
        "reason": pd.Series(order, dtype=churned["reason"].dtype),
        "churned": counts, "churned_mrr": lost,
        "share": pd.Series([ratio(v, total) for v in counts.tolist()], dtype=np.float64),
        "mrr_share": pd.Series([ratio(v, total_mrr) for v in lost.tolist()], dtype=np.float64),
    }, columns=REASON_COLUMNS)


def reason_share(reasons: pd.DataFrame, wanted) -> dict:
    """Of the churns a `churn_reasons` frame counts, those whose reason is one of `wanted`:
    churned, total (every churn, reason recorded or not) and share (None without churns)."""
    wanted = {str(w).strip() for w in wanted}
    churned = int(sum(n for reason, n in zip(reasons["reason"], reasons["churned"])
                      if isinstance(reason, str) and reason.strip() in wanted))
    total = int(reasons["churned"].sum()) if len(reasons) else 0
    return {"churned": churned, "total": total, "share": ratio(churned, total)}
