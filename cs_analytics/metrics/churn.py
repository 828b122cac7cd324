"""Churn metrics of SPEC §4: the two-year churn rate (チャーン率) — headline, trend and by start
quarter —, logo churn by period, renewals due and renewal rate, at-risk ARR by renewal quarter,
and churn reasons.

Like revenue.py, every function aggregates over the account × month spine and returns a small
DataFrame or dict; rates are fractions and None when their denominator is 0. The two-year churn
rate sums the spine held as arrays (metrics.spine_arrays: F_i and C_i per account); the lists of
contracts and churns are SQL over the spine and the contracts, and the renewal figures are sums
over those lists (`renewals_of`, `renewals_by_quarter_of`), so a page can restrict a list to
the filtered accounts and sum what is left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import (as_date, check_period, date_column,
                                       fiscal_year_start_month, plain, query, ratio,
                                       resolve_as_of, spine)
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.periods import Period, add_months, month_start
from cs_analytics.metrics.revenue import period_metrics, period_start_sql
from cs_analytics.metrics.spine_arrays import SpineArrays, spine_arrays
from cs_analytics.models.parameters import MRR_EPSILON

TWO_YEARS = 24  # months from the first month with MRR within which a churn counts
HEADLINE_COHORT_MONTHS = 12  # the headline covers customers who started in 12 months


def _life(snap, as_of: dt.date | None,
          filters: Filters | None) -> tuple[SpineArrays, np.ndarray, np.ndarray]:
    """Per filtered account, F_i (first month with MRR > 0) and C_i (the first month after it
    with MRR = 0) as month indices of the spine arrays (metrics.spine_arrays, which hold
    both), with the accounts' weights: (arrays, weights, churned within two years)."""
    arrays = spine_arrays(snap, as_of)
    weights = arrays.weights(filters)
    within = (arrays.churn >= 0) & (arrays.churn <= arrays.first + TWO_YEARS)
    return arrays, weights, within


def two_year_churn_trend(snap, months: list[dt.date] | None = None, filters: Filters | None = None,
                         as_of: dt.date | None = None) -> pd.DataFrame:
    """The headline two-year churn rate at each month M: over customers whose first month F_i
    is in (M−36, M−24], the share with C_i ≤ F_i + 24 months. Columns: month, cohort_first_month,
    cohort_last_month, customers, churned, rate. Default months: the last 12."""
    as_of = resolve_as_of(snap, as_of)
    arrays, weights, within = _life(snap, as_of, filters)
    if months is None:
        months = [add_months(month_start(as_of), -i) for i in range(11, -1, -1)]
    months = sorted({month_start(m) for m in months})
    lag_last = TWO_YEARS
    lag_first = TWO_YEARS + HEADLINE_COHORT_MONTHS - 1
    # Customers and churns by first month, then summed over each month's cohort window.
    size = arrays.months
    customers = np.bincount(arrays.first, weights=weights, minlength=size)
    churned = np.bincount(arrays.first, weights=weights * within, minlength=size)
    window = [(max(arrays.month_index(m) - lag_first, 0), arrays.month_index(m) - lag_last)
              for m in months]
    frame = pd.DataFrame({
        "month": date_column(months),
        "cohort_first_month": date_column([add_months(m, -lag_first) for m in months]),
        "cohort_last_month": date_column([add_months(m, -lag_last) for m in months]),
        "customers": [customers[lo:hi + 1].sum() if hi >= 0 else 0 for lo, hi in window],
        "churned": [churned[lo:hi + 1].sum() if hi >= 0 else 0 for lo, hi in window],
    })
    frame[["customers", "churned"]] = frame[["customers", "churned"]].round().astype(np.int64)
    frame["rate"] = [ratio(c, n) for c, n in zip(frame["churned"], frame["customers"])]
    return frame


def two_year_churn(snap, as_of: dt.date | None = None, filters: Filters | None = None,
                   month: dt.date | None = None) -> dict:
    """The headline two-year churn rate at `month` (default: the as-of month): rate, customers,
    churned, month, cohort_first_month, cohort_last_month."""
    as_of = resolve_as_of(snap, as_of)
    month = month_start(month or as_of)
    return two_year_churn_at(two_year_churn_trend(snap, [month], filters, as_of), month)


def two_year_churn_at(trend: pd.DataFrame, month: dt.date) -> dict:
    """`two_year_churn` at `month`, read from a `two_year_churn_trend` that includes that month
    (a page showing the trend and the headline needs one query, not two)."""
    month = month_start(month)
    rows = trend[[as_date(m) == month for m in trend["month"]]]
    if rows.empty:
        raise CsAnalyticsError(f"two-year churn trend has no month {month.isoformat()}")
    row = rows.iloc[0]
    out = {k: plain(row[k]) for k in ("customers", "churned", "rate")}
    for k in ("month", "cohort_first_month", "cohort_last_month"):
        out[k] = as_date(row[k])
    return out


def two_year_churn_by_cohort(snap, as_of: dt.date | None = None,
                             filters: Filters | None = None) -> pd.DataFrame:
    """Two-year churn per start quarter (fiscal): cohort, cohort_start, customers, eligible
    (F_i + 24 ≤ the as-of month), churned (eligible and churned within two years), rate
    (churned / eligible), churned_to_date (churned within two years so far, eligible or not).
    One row per quarter with a filtered customer."""
    as_of = resolve_as_of(snap, as_of)
    arrays, weights, within = _life(snap, as_of, filters)
    fsm = fiscal_year_start_month(snap)
    eligible = arrays.first + TWO_YEARS <= arrays.month_index(as_of)
    by_first = {name: np.bincount(arrays.first, weights=w, minlength=arrays.months)
                for name, w in (("customers", weights), ("eligible", weights * eligible),
                                ("churned", weights * eligible * within),
                                ("churned_to_date", weights * within))}
    cohorts: dict[dt.date, dict[str, float]] = {}
    for m in np.flatnonzero(by_first["customers"]):
        start = P.period_containing("quarter", arrays.month_at(m), fsm).first_month
        cohort = cohorts.setdefault(start, dict.fromkeys(by_first, 0.0))
        for name, counts in by_first.items():
            cohort[name] += counts[m]
    starts = sorted(cohorts)
    frame = pd.DataFrame({
        "cohort": [P.period_containing("quarter", s, fsm).label for s in starts],
        "cohort_start": pd.Series(starts, dtype=object),
        **{name: np.array([round(cohorts[s][name]) for s in starts], dtype=np.int64)
           for name in by_first},
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
    return period_metrics(snap, periods, filters, as_of)[columns]


# ---------------------------------------------------------------------------- renewals


@dataclass(frozen=True)
class Renewals:
    """Contracts due in a period and how many renewed.

    renewal_rate = renewed_mrr / (renewed_mrr + lost_mrr): contracts whose check month (the
    month after end_date's month) is after the as-of month are pending and left out.
    """

    contracts: pd.DataFrame
    due_count: int
    due_mrr: float
    renewed_count: int
    renewed_mrr: float
    lost_count: int
    lost_mrr: float
    pending_count: int
    pending_mrr: float
    renewal_rate: float | None


def renewal_contracts(snap, period: Period, filters: Filters | None = None,
                      as_of: dt.date | None = None) -> pd.DataFrame:
    """The contracts `renewals` counts: contracts with MRR whose end_date falls in the period;
    renewed ⇔ the account has MRR > 0 in the month after end_date's month (renewal grace
    applied). Columns: contract_id, account_id, name, owner_id, owner_name, start_date,
    end_date, mrr, arr, check_month, next_month_mrr, renewed (True / False / None when
    pending). Each row belongs to one account and depends on nothing else, so the filtered
    list is the unfiltered one restricted to the filtered accounts (`filters.AccountList`)."""
    sp = spine(snap, as_of, filters)
    where, params = condition(filters, snap, "c.account_id")
    sql = f"""
        WITH {sp.cte},
        due AS (
            SELECT c.contract_id, c.account_id, c.start_date, c.end_date, c.mrr,
                   CAST(date_trunc('month', c.end_date) + INTERVAL 1 MONTH AS DATE) AS check_month
            FROM int_contract_mrr c
            WHERE c.end_date BETWEEN $period_start AND $period_end
              AND c.mrr >= $eps
              AND {where}
        )
        SELECT d.contract_id, d.account_id, a.name, a.owner_id, u.name AS owner_name,
               d.start_date, d.end_date, d.mrr, 12 * d.mrr AS arr, d.check_month,
               CASE WHEN d.check_month <= $as_of_month THEN coalesce(s.mrr, 0) END
                   AS next_month_mrr,
               CASE WHEN d.check_month <= $as_of_month THEN coalesce(s.mrr, 0) >= $eps END
                   AS renewed
        FROM due d
        LEFT JOIN spine s ON s.account_id = d.account_id AND s.month = d.check_month
        LEFT JOIN accounts a ON a.account_id = d.account_id
        LEFT JOIN users u ON u.user_id = a.owner_id
        ORDER BY d.end_date, d.contract_id"""
    frame = query(snap, sql, sp.with_params(**params, period_start=period.start_date,
                                           period_end=period.end_date,
                                           as_of_month=sp.as_of_month))
    frame["renewed"] = pd.Series([None if pd.isna(v) else bool(v) for v in frame["renewed"]],
                                 dtype="object")
    return frame


def renewals(snap, period: Period, filters: Filters | None = None,
             as_of: dt.date | None = None) -> Renewals:
    """Contracts with MRR whose end_date falls in the period and how many renewed
    (`renewal_contracts`, summed by `renewals_of`)."""
    return renewals_of(renewal_contracts(snap, period, filters, as_of))


def renewals_of(contracts: pd.DataFrame) -> Renewals:
    """`renewals` of the contracts listed by `renewal_contracts`: a page restricting the list
    to the filtered accounts counts the restricted rows."""
    flags = list(contracts["renewed"])
    mrr = [float(v) for v in contracts["mrr"]]
    renewed = [m for m, f in zip(mrr, flags) if f is True]
    lost = [m for m, f in zip(mrr, flags) if f is False]
    pending = [m for m, f in zip(mrr, flags) if f is None]
    return Renewals(
        contracts=contracts, due_count=len(mrr), due_mrr=float(sum(mrr)),
        renewed_count=len(renewed), renewed_mrr=float(sum(renewed)),
        lost_count=len(lost), lost_mrr=float(sum(lost)),
        pending_count=len(pending), pending_mrr=float(sum(pending)),
        renewal_rate=ratio(sum(renewed), sum(renewed) + sum(lost)) if renewed or lost
        else None)


def renewal_quarters(snap, quarters: int = 4, as_of: dt.date | None = None) -> list[Period]:
    """The fiscal quarters `renewals_by_quarter` covers: the as-of quarter and the next ones."""
    fsm = fiscal_year_start_month(snap)
    current = P.period_containing("quarter", resolve_as_of(snap, as_of), fsm)
    return [P.shift(current, i, fsm) for i in range(quarters)]


def upcoming_contracts(snap, quarters: int = 4, as_of: dt.date | None = None,
                       filters: Filters | None = None) -> pd.DataFrame:
    """The contracts `renewals_by_quarter` sums: contracts with MRR still to end (end_date ≥
    the as-of date) within `renewal_quarters`. Columns: contract_id, account_id, end_date,
    quarter (the fiscal quarter of end_date: its label, a category of the quarters' labels),
    mrr, following_signed (a following contract is already signed). Each row belongs to one
    account, like `renewal_contracts`."""
    as_of = resolve_as_of(snap, as_of)
    fsm = fiscal_year_start_month(snap)
    wanted = renewal_quarters(snap, quarters, as_of)
    where, params = condition(filters, snap, "c.account_id")
    sql = f"""
        SELECT c.contract_id, c.account_id, c.end_date,
               {period_start_sql("CAST(date_trunc('month', c.end_date) AS DATE)", "quarter")}
                   AS quarter_start,
               c.mrr, c.following_signed
        FROM int_contract_mrr c
        WHERE c.end_date >= $as_of AND c.end_date <= $last_day AND c.mrr >= $eps AND {where}
        ORDER BY c.end_date, c.contract_id"""
    frame = query(snap, sql, {**params, "fsm": fsm, "as_of": as_of, "eps": MRR_EPSILON,
                             "last_day": wanted[-1].end_date})
    labels = {q.first_month: q.label for q in wanted}
    # The quarter as a category of the quarters' labels, in order: summing by quarter reads
    # its codes (`renewals_by_quarter_of`).
    frame.insert(3, "quarter", pd.Categorical(
        [labels[as_date(v)] for v in frame.pop("quarter_start")], categories=list(
            labels.values())))
    return frame


def renewals_by_quarter(snap, quarters: int = 4, as_of: dt.date | None = None,
                        filters: Filters | None = None) -> pd.DataFrame:
    """Contracts still to end (end_date ≥ as-of date) by fiscal quarter of end_date, for the
    current quarter and the next ones: quarter, quarter_start, contracts, due_arr, signed_arr
    (a following contract is already signed), at_risk_contracts and at_risk_arr (nothing
    following signed yet). `upcoming_contracts` summed by `renewals_by_quarter_of`."""
    return renewals_by_quarter_of(upcoming_contracts(snap, quarters, as_of, filters),
                                  renewal_quarters(snap, quarters, as_of))


def renewals_by_quarter_of(contracts: pd.DataFrame, quarters: list[Period]) -> pd.DataFrame:
    """`renewals_by_quarter` of the contracts listed by `upcoming_contracts` over the same
    quarters (`renewal_quarters`): one row per quarter, zeros where nothing ends."""
    at = pd.Categorical(contracts["quarter"], categories=[q.label for q in quarters]).codes
    arr = 12 * contracts["mrr"].to_numpy(dtype=np.float64)
    signed = contracts["following_signed"].to_numpy(dtype=bool)

    def total(weights):  # per quarter (float64, also when there are no contracts)
        return np.bincount(at, weights=weights, minlength=len(quarters)).astype(np.float64)

    return pd.DataFrame({
        "quarter": [q.label for q in quarters],
        "quarter_start": [q.first_month for q in quarters],
        "contracts": np.bincount(at, minlength=len(quarters)).astype(np.int64),
        "due_arr": total(arr),
        "signed_arr": total(arr * signed),
        "at_risk_contracts": np.bincount(at[~signed], minlength=len(quarters)).astype(np.int64),
        "at_risk_arr": total(arr * ~signed),
    })


# ---------------------------------------------------------------------------- churn reasons


def _churn_events_sql(cte: str) -> str:
    """Churn movements of the period with their reason: the churn_reason of the contract(s)
    that stopped counting between the previous snapshot day and the churn month's (the latest
    ending one with a reason), else the account's churn_reason, else NULL."""
    return f"""
        WITH {cte},
        events AS (
            SELECT s.account_id, s.month, s.snapshot_day, -s.movement_amount AS churned_mrr
            FROM spine s
            WHERE s.movement = 'churn' AND s.month BETWEEN $first_month AND $end_month
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
            GROUP BY e.account_id, e.month
        ),
        reasoned AS (
            SELECT e.*, a.name, a.owner_id, u.name AS owner_name,
                   coalesce(r.reason, nullif(trim(a.churn_reason), '')) AS reason
            FROM events e
            LEFT JOIN contract_reasons r ON r.account_id = e.account_id AND r.month = e.month
            LEFT JOIN accounts a ON a.account_id = e.account_id
            LEFT JOIN users u ON u.user_id = a.owner_id
        )"""


def churned_accounts(snap, period: Period, filters: Filters | None = None,
                     as_of: dt.date | None = None) -> pd.DataFrame:
    """Every churn of the period: account_id, name, owner_id, owner_name, month, churned_mrr
    (MRR lost, positive), reason (missing — NaN — when not recorded)."""
    sp = spine(snap, as_of, filters)
    check_period(period, sp.as_of)
    sql = _churn_events_sql(sp.cte) + """
        SELECT account_id, name, owner_id, owner_name, month, churned_mrr, reason
        FROM reasoned
        ORDER BY month, churned_mrr DESC, account_id"""
    return query(snap, sql, sp.with_params(first_month=period.first_month,
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
    # Summed in Python: a period has tens of churns, and pandas' groupby and sort cost ~5 ms
    # on a page's every filter change.
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
    })[REASON_COLUMNS]


def reason_share(reasons: pd.DataFrame, wanted) -> dict:
    """Of the churns a `churn_reasons` frame counts, those whose reason is one of `wanted`:
    churned, total (every churn, reason recorded or not) and share (None without churns)."""
    wanted = {str(w).strip() for w in wanted}
    churned = int(sum(n for reason, n in zip(reasons["reason"], reasons["churned"])
                      if isinstance(reason, str) and reason.strip() in wanted))
    total = int(reasons["churned"].sum()) if len(reasons) else 0
    return {"churned": churned, "total": total, "share": ratio(churned, total)}
