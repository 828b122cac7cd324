"""Revenue metrics of SPEC §4: MRR and ARR, the MRR bridge (movements), NRR, GRR, logo churn
over a period, quick ratio and cohort retention — and `kpis`, the headline numbers.

Every function reads a published snapshot, aggregates in SQL over the account × month spine
(`metrics.base.spine`) and returns a small DataFrame or dict. Amounts are unrounded yen; rates are
fractions (0.105 = 10.5%) and None when their denominator is 0. See docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Sequence

import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import (as_date, check_period, fiscal_year_start_month, plain,
                                       query, ratio, resolve_as_of, spine)
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period, add_months, month_start

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")

# The JSON keys of `kpis` (issue 3), in this order.
KPI_KEYS = ("mrr", "arr", "customers", "new", "expansion", "contraction", "churn",
            "reactivation", "logo_churn_rate", "nrr", "grr", "gross_mrr_churn", "net_mrr_churn",
            "quick_ratio", "two_year_churn_rate", "period_start", "period_end", "as_of")


def _period_movement_columns() -> str:
    """Movement totals and counts of `monthly` rows `m` inside period `p` (a excluded)."""
    parts = []
    for kind in MOVEMENTS:
        inside = "WHERE m.month >= p.first_month"
        parts.append(f"coalesce(sum(m.{kind}) FILTER ({inside}), 0) AS {kind}")
        parts.append(f"CAST(coalesce(sum(m.{kind}_count) FILTER ({inside}), 0) AS BIGINT) "
                     f"AS {kind}_count")
    return ",\n       ".join(parts)


def _monthly_cte() -> str:
    """`monthly`: the spine summed per month — snapshot_day, mrr, previous_mrr, customers and
    the signed movement totals and counts. The movements are grouped by (month, movement) and
    spread into columns afterwards, over a few dozen rows: ten filtered sums over every spine
    row cost twice as much."""
    spread = []
    for kind in MOVEMENTS:
        match = f"v.movement = '{kind}'"
        spread.append(f"coalesce(sum(v.amount) FILTER (WHERE {match}), 0) AS {kind}")
        spread.append(f"CAST(coalesce(sum(v.n) FILTER (WHERE {match}), 0) AS BIGINT) "
                      f"AS {kind}_count")
    spread_columns = ",\n                   ".join(spread)
    return f"""levels AS (
            SELECT s.month, max(s.snapshot_day) AS snapshot_day, sum(s.mrr) AS mrr,
                   sum(s.previous_mrr) AS previous_mrr,
                   count(*) FILTER (WHERE s.mrr >= $eps) AS customers
            FROM spine s
            GROUP BY s.month
        ),
        moves AS (
            SELECT s.month, s.movement, sum(s.movement_amount) AS amount, count(*) AS n
            FROM spine s
            WHERE s.movement IS NOT NULL
            GROUP BY s.month, s.movement
        ),
        monthly AS (
            SELECT l.month, any_value(l.snapshot_day) AS snapshot_day, any_value(l.mrr) AS mrr,
                   any_value(l.previous_mrr) AS previous_mrr,
                   any_value(l.customers) AS customers,
                   {spread_columns}
            FROM levels l
            LEFT JOIN moves v USING (month)
            GROUP BY l.month
        )"""


# ---------------------------------------------------------------------------- monthly


def mrr_trend(snap, first_month: dt.date, last_month: dt.date, filters: Filters | None = None,
              as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per month in [first_month, last_month] that has data: month, snapshot_day, mrr,
    arr, previous_mrr, customers, the signed movement totals and their counts."""
    # Only the months shown are read.
    sp = spine(snap, as_of, filters, months=(first_month, last_month))
    sql = f"""
        WITH {sp.cte},
        {_monthly_cte()}
        SELECT m.month, m.snapshot_day, m.mrr, 12 * m.mrr AS arr, m.previous_mrr,
               m.customers, {", ".join(f"m.{k}, m.{k}_count" for k in MOVEMENTS)}
        FROM monthly m
        WHERE m.month BETWEEN $first_month AND $last_month
        ORDER BY m.month"""
    return query(snap, sql, sp.with_params(first_month=month_start(first_month),
                                          last_month=month_start(last_month)))


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


def period_metrics(snap, periods: Sequence[Period], filters: Filters | None = None,
                   as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per period (SPEC §4 "Period metrics", P = months (a, b]):

    label, kind, period_start, period_end (b's snapshot day), start_mrr / start_customers (at
    a), mrr / arr / customers (at b), signed movement totals and counts over P, base_customers
    (|S|), churned_customers, base_mrr (Σ MRR_i(a)), base_end_mrr (Σ MRR_i(b)),
    base_retained_mrr (Σ min), logo_churn_rate, nrr, grr, gross_mrr_churn, net_mrr_churn,
    quick_ratio.
    """
    as_of = resolve_as_of(snap, as_of)
    for period in periods:
        check_period(period, as_of)
    a = [p.before_month for p in periods]
    first = [p.first_month for p in periods]
    b = [p.end_month(as_of) for p in periods]
    # Every row read lies in some period's months a..b.
    sp = spine(snap, as_of, filters, months=(min(a), max(b)) if periods else None)
    sql = f"""
        WITH {sp.cte},
        periods AS (
            SELECT unnest($p_i) AS i, unnest($p_a) AS a, unnest($p_first) AS first_month,
                   unnest($p_b) AS b
        ),
        {_monthly_cte()},
        totals AS (
            SELECT p.i,
                   coalesce(sum(m.mrr) FILTER (WHERE m.month = p.a), 0) AS start_mrr,
                   CAST(coalesce(sum(m.customers) FILTER (WHERE m.month = p.a), 0) AS BIGINT)
                       AS start_customers,
                   coalesce(sum(m.mrr) FILTER (WHERE m.month = p.b), 0) AS mrr,
                   CAST(coalesce(sum(m.customers) FILTER (WHERE m.month = p.b), 0) AS BIGINT)
                       AS customers,
                   {_period_movement_columns()}
            FROM periods p
            LEFT JOIN monthly m ON m.month BETWEEN p.a AND p.b
            GROUP BY p.i
        ),
        base AS (
            SELECT p.i,
                   count(*) AS base_customers,
                   count(*) FILTER (WHERE sb.mrr < $eps) AS churned_customers,
                   sum(sa.mrr) AS base_mrr,
                   sum(sb.mrr) AS base_end_mrr,
                   sum(least(sa.mrr, sb.mrr)) AS base_retained_mrr
            FROM periods p
            JOIN spine sa ON sa.month = p.a AND sa.mrr >= $eps
            JOIN spine sb ON sb.account_id = sa.account_id AND sb.month = p.b
            GROUP BY p.i
        )
        SELECT t.*,
               coalesce(base.base_customers, 0) AS base_customers,
               coalesce(base.churned_customers, 0) AS churned_customers,
               coalesce(base.base_mrr, 0) AS base_mrr,
               coalesce(base.base_end_mrr, 0) AS base_end_mrr,
               coalesce(base.base_retained_mrr, 0) AS base_retained_mrr
        FROM totals t
        LEFT JOIN base USING (i)
        ORDER BY t.i"""
    frame = query(snap, sql, sp.with_params(p_i=list(range(len(periods))), p_a=a, p_first=first,
                                           p_b=b))
    frame = frame.drop(columns="i")
    frame.insert(0, "label", [p.label for p in periods])
    frame.insert(1, "kind", [p.kind for p in periods])
    frame.insert(2, "period_start", [p.start_date for p in periods])
    frame.insert(3, "period_end", [p.end_day(sp.as_of) for p in periods])
    frame.insert(4, "end_month", b)
    frame["arr"] = 12 * frame["mrr"]
    # The rates, per row from plain column lists (a records dict per row cost ~10 ms a page).
    col = {name: frame[name].tolist() for name in (
        "base_customers", "churned_customers", "base_mrr", "base_end_mrr", "base_retained_mrr",
        *MOVEMENTS)}
    based = col["base_customers"]
    frame["logo_churn_rate"] = [ratio(c, n) for c, n in zip(col["churned_customers"], based)]
    frame["nrr"] = [ratio(e, m) if n else None
                    for e, m, n in zip(col["base_end_mrr"], col["base_mrr"], based)]
    frame["grr"] = [ratio(r, m) if n else None
                    for r, m, n in zip(col["base_retained_mrr"], col["base_mrr"], based)]
    frame["gross_mrr_churn"] = [None if g is None or pd.isna(g) else 1 - g for g in frame["grr"]]
    frame["net_mrr_churn"] = [None if n is None or pd.isna(n) else 1 - n for n in frame["nrr"]]
    frame["quick_ratio"] = [
        ratio(new + expansion + reactivation, abs(contraction) + abs(churn))
        for new, expansion, reactivation, contraction, churn in zip(
            col["new"], col["expansion"], col["reactivation"], col["contraction"],
            col["churn"])]
    return frame


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
    return period_metrics(snap, periods, filters, as_of)[list(MOVEMENTS_BY_PERIOD_COLUMNS)]


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
    return period_metrics(snap, periods, filters, as_of)[list(RETENTION_COLUMNS)]


def kpis(snap, period: Period, filters: Filters | None = None,
         as_of: dt.date | None = None) -> dict:
    """The headline numbers of a period, with exactly the keys of KPI_KEYS: mrr, arr and
    customers at the period's end; movement totals over the period (contraction and churn
    negative); rates as fractions or None; dates as ISO strings."""
    return headlines(snap, [period], filters, as_of)[0]["kpis"]


def headlines(snap, periods: Sequence[Period], filters: Filters | None = None,
              as_of: dt.date | None = None) -> list[dict]:
    """For each period, {"kpis": `kpis` of it, "bridge": `movement_totals` of it}, from two
    queries whatever the number of periods (one `period_metrics`, one two-year churn trend
    over the periods' end months): a page comparing a period with the previous one asks once."""
    from cs_analytics.metrics import churn  # churn builds on this module

    as_of = resolve_as_of(snap, as_of)
    frame = period_metrics(snap, periods, filters, as_of)
    ends = [p.end_month(as_of) for p in periods]
    trend = churn.two_year_churn_trend(snap, sorted(set(ends)), filters, as_of)
    two_year = {as_date(m): plain(rate) for m, rate in zip(trend["month"], trend["rate"])}
    computed_elsewhere = ("two_year_churn_rate", "period_start", "period_end", "as_of")
    out = []
    for period, end, (_, row) in zip(periods, ends, frame.iterrows()):
        values = {k: plain(row[k]) for k in KPI_KEYS if k not in computed_elsewhere}
        values["two_year_churn_rate"] = two_year[end]
        values["period_start"] = period.start_date.isoformat()
        values["period_end"] = period.end_day(as_of).isoformat()
        values["as_of"] = as_of.isoformat()
        out.append({"kpis": {k: values[k] for k in KPI_KEYS}, "bridge": bridge_of(row)})
    return out


# ---------------------------------------------------------------------------- cohorts

GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_start_sql(month_expr: str, grain: str) -> str:
    """SQL: the first month of the calendar month / fiscal quarter / fiscal year containing
    `month_expr` (a first-of-month DATE); needs the named parameter $fsm."""
    if grain == "month":
        return month_expr
    size = GRAIN_MONTHS[grain]
    index = f"(year({month_expr}) * 12 + month({month_expr}) - 1)"
    start = f"({index} - ({index} - ($fsm - 1)) % {size})"
    return f"make_date(CAST({start} // 12 AS INTEGER), CAST({start} % 12 + 1 AS INTEGER), 1)"


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
    if metric not in ("logo", "mrr"):
        raise CsAnalyticsError(f"cohort metric '{metric}': expected logo or mrr")
    sp = spine(snap, as_of, filters)
    fsm = fiscal_year_start_month(snap)
    step = GRAIN_MONTHS[grain]
    sql = f"""
        WITH {sp.cte},
        members AS (
            SELECT s.account_id, s.first_month,
                   {period_start_sql("s.first_month", grain)} AS cohort,
                   s.mrr AS start_mrr
            FROM spine s
            WHERE s.month = s.first_month
        ),
        cells AS (
            -- every spine row carries its account's F_i (first_month): no join back needed
            SELECT {period_start_sql("s.first_month", grain)} AS cohort,
                   datediff('month', s.first_month, s.month) // {step} AS k,
                   count(*) FILTER (WHERE s.mrr >= $eps) AS active,
                   sum(s.mrr) AS mrr
            FROM spine s
            WHERE datediff('month', s.first_month, s.month) % {step} = 0
            GROUP BY ALL
        ),
        sizes AS (
            SELECT cohort, count(*) AS customers, sum(start_mrr) AS start_mrr,
                   max(first_month) AS last_start
            FROM members GROUP BY cohort
        )
        SELECT c.cohort, z.customers, z.start_mrr, z.last_start, c.k, c.active, c.mrr
        FROM cells c JOIN sizes z USING (cohort)
        ORDER BY c.cohort, c.k"""
    cells = query(snap, sql, sp.with_params(fsm=fsm))
    as_of_month = sp.as_of_month
    rows: dict[dt.date, dict] = {}
    max_k = 0
    for r in cells.itertuples(index=False):
        cohort = as_date(r.cohort)
        row = rows.get(cohort)
        if row is None:
            row = rows[cohort] = {
                "cohort": P.period_containing(grain, cohort, fsm).label,
                "cohort_start": cohort, "customers": int(r.customers),
                "start_mrr": float(r.start_mrr), "cells": {}}
        # A cell is shown once every member has reached it: the latest starter included.
        if add_months(as_date(r.last_start), int(r.k) * step) > as_of_month:
            continue
        value = (r.active / r.customers if metric == "logo"
                 else ratio(r.mrr, r.start_mrr))
        row["cells"][int(r.k)] = value
        max_k = max(max_k, int(r.k))
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

