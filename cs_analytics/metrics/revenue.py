"""Revenue metrics of SPEC §4: MRR and ARR, the MRR bridge (movements), NRR, GRR, logo churn
over a period, quick ratio and cohort retention — and `kpis`, the headline numbers.

Every function reads a published snapshot, aggregates over the account × month spine and
returns a small DataFrame or dict. The aggregates a page recomputes on each filter change (the
MRR trend, period metrics, cohorts) sum the spine held as arrays (`metrics.spine_arrays`); the
drill-down lists read it in SQL (`metrics.base.spine`). Amounts are unrounded yen; rates are
fractions (0.105 = 10.5%) and None when their denominator is 0. See docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import (as_date, check_period, date_column,
                                       fiscal_year_start_month, plain, query, ratio,
                                       resolve_as_of, spine)
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period, month_start
from cs_analytics.metrics.spine_arrays import MOVEMENTS, spine_arrays
from cs_analytics.models.parameters import MRR_EPSILON

# The JSON keys of `kpis` (issue 3), in this order.
KPI_KEYS = ("mrr", "arr", "customers", "new", "expansion", "contraction", "churn",
            "reactivation", "logo_churn_rate", "nrr", "grr", "gross_mrr_churn", "net_mrr_churn",
            "quick_ratio", "two_year_churn_rate", "period_start", "period_end", "as_of")


# ---------------------------------------------------------------------------- monthly


def mrr_trend(snap, first_month: dt.date, last_month: dt.date, filters: Filters | None = None,
              as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per month in [first_month, last_month] that has data (a spine row of a filtered
    account): month, snapshot_day, mrr, arr, previous_mrr, customers, the signed movement
    totals and their counts."""
    as_of = resolve_as_of(snap, as_of)
    arrays = spine_arrays(snap, as_of)
    first = max(arrays.month_index(first_month), 0)
    last = min(arrays.month_index(last_month), arrays.months - 1)
    totals = arrays.totals(arrays.weights(filters), slice(first, max(last + 1, first)))
    shown = np.flatnonzero(totals["rows"] > 0)  # positions in months first…last
    months = [arrays.month_at(first + m) for m in shown.tolist()]
    as_of_month = month_start(as_of)

    def counts(name: str) -> np.ndarray:
        return totals[name][shown].round().astype("int64")

    # One DataFrame from whole columns (inserting them one by one cost a few ms).
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


def _at(values: np.ndarray, indices: list[int]) -> np.ndarray:
    """values[i] for each index, 0 for an index outside the array (a month without rows)."""
    return np.array([values[i] if 0 <= i < len(values) else 0 for i in indices],
                    dtype=values.dtype)


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

    Summed over the filtered accounts' spine rows held as arrays (metrics.spine_arrays): a
    month outside the spine counts 0, as it has no rows.
    """
    as_of = resolve_as_of(snap, as_of)
    for period in periods:
        check_period(period, as_of)
    arrays = spine_arrays(snap, as_of)
    weights = arrays.weights(filters)
    a = [p.before_month for p in periods]
    b = [p.end_month(as_of) for p in periods]
    ia = [arrays.month_index(m) for m in a]
    ib = [arrays.month_index(m) for m in b]
    # The monthly totals of the months the periods read, from a to b: months lo…hi.
    lo = max(0, min(ia, default=0))
    hi = min(arrays.months - 1, max(ib, default=-1))
    totals = arrays.totals(weights, slice(lo, max(hi + 1, lo)))
    ia_in, ib_in = [i - lo for i in ia], [i - lo for i in ib]
    # inside[p, m]: month lo + m is one of period p's months (a, b] — the movements over P.
    month = np.arange(lo, max(hi + 1, lo))
    inside = np.array([(month > start) & (month <= end) for start, end in zip(ia, ib)],
                      dtype=np.float64).reshape(len(periods), len(month))
    # S: the filtered accounts with MRR at a; their MRR at b (each has a row at b: the spine
    # runs from F_i to the as-of month). Read for the filtered accounts only (weights are 0/1).
    chosen = np.flatnonzero(weights)
    mrr_a, mrr_b = arrays.at_months("mrr", ia, chosen), arrays.at_months("mrr", ib, chosen)
    base = (mrr_a >= MRR_EPSILON).astype(np.float64)
    sums = {
        "start_mrr": _at(totals["mrr"], ia_in),
        "start_customers": _at(totals["customers"], ia_in),
        "mrr": _at(totals["mrr"], ib_in), "customers": _at(totals["customers"], ib_in),
        **{name: inside @ totals[name]
           for kind in MOVEMENTS for name in (kind, f"{kind}_count")},
        "base_customers": base.sum(axis=1),
        "churned_customers": (base * (mrr_b < MRR_EPSILON)).sum(axis=1),
        "base_mrr": (base * mrr_a).sum(axis=1),
        "base_end_mrr": (base * mrr_b).sum(axis=1),
        "base_retained_mrr": (base * np.minimum(mrr_a, mrr_b)).sum(axis=1),
    }
    for name in ("start_customers", "customers", "base_customers", "churned_customers",
                 *(f"{kind}_count" for kind in MOVEMENTS)):
        sums[name] = sums[name].round().astype(np.int64)
    # The rates, per row from plain lists (a records dict per row cost ~10 ms a page).
    col = {name: values.tolist() for name, values in sums.items()}
    based = col["base_customers"]
    nrr = [ratio(e, m) if n else None
           for e, m, n in zip(col["base_end_mrr"], col["base_mrr"], based)]
    grr = [ratio(r, m) if n else None
           for r, m, n in zip(col["base_retained_mrr"], col["base_mrr"], based)]
    # One DataFrame from whole columns: inserting ~30 columns one by one cost ~10 ms.
    return pd.DataFrame({
        "label": [p.label for p in periods],
        "kind": [p.kind for p in periods],
        "period_start": [p.start_date for p in periods],
        "period_end": [p.end_day(as_of) for p in periods],
        "end_month": b,
        **sums,
        "arr": 12 * sums["mrr"],
        "logo_churn_rate": [ratio(c, n) for c, n in zip(col["churned_customers"], based)],
        "nrr": nrr,
        "grr": grr,
        "gross_mrr_churn": [None if g is None else 1 - g for g in grr],
        "net_mrr_churn": [None if n is None else 1 - n for n in nrr],
        "quick_ratio": [
            ratio(new + expansion + reactivation, abs(contraction) + abs(churn))
            for new, expansion, reactivation, contraction, churn in zip(
                col["new"], col["expansion"], col["reactivation"], col["contraction"],
                col["churn"])],
    })


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
    """For each period, {"kpis": `kpis` of it, "bridge": `movement_totals` of it, "two_year":
    the two-year churn rate at its last month with its group (`churn.two_year_churn`: rate,
    customers, churned, month, cohort_first_month, cohort_last_month)}, from two queries
    whatever the number of periods (one `period_metrics`, one two-year churn trend over the
    periods' end months): a page comparing a period with the previous one asks once."""
    from cs_analytics.metrics import churn  # churn builds on this module

    as_of = resolve_as_of(snap, as_of)
    frame = period_metrics(snap, periods, filters, as_of)
    ends = [p.end_month(as_of) for p in periods]
    trend = churn.two_year_churn_trend(snap, sorted(set(ends)), filters, as_of)
    computed_elsewhere = ("two_year_churn_rate", "period_start", "period_end", "as_of")
    out = []
    for period, end, (_, row) in zip(periods, ends, frame.iterrows()):
        two_year = churn.two_year_churn_at(trend, end)
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
    as_of = resolve_as_of(snap, as_of)
    arrays = spine_arrays(snap, as_of)
    weights = arrays.weights(filters)
    fsm = fiscal_year_start_month(snap)
    step = GRAIN_MONTHS[grain]
    last = arrays.months - 1  # the as-of month
    # The cohort of each filtered account: the period containing its F_i.
    members = np.flatnonzero(weights)
    start_of = {m: P.period_containing(grain, arrays.month_at(m), fsm).first_month
                for m in np.unique(arrays.first[members]).tolist()}
    cohorts = sorted(set(start_of.values()))
    column = {c: j for j, c in enumerate(cohorts)}
    cohort_of = np.array([column[start_of[m]] for m in arrays.first[members].tolist()],
                         dtype=np.int64)
    # one_hot[i, j] = 1: member i is in cohort j
    one_hot = np.zeros((len(members), len(cohorts)))
    one_hot[np.arange(len(members)), cohort_of] = 1.0
    first = arrays.first[members]
    mrr = arrays.matrix("mrr")[:, members]
    customers = one_hot.sum(axis=0)
    start_mrr = mrr[first, np.arange(len(members))] @ one_hot
    last_start = np.full(len(cohorts), -1)
    np.maximum.at(last_start, cohort_of, first)
    # MRR of each member k periods after its F_i (its rows run from F_i to the as-of month;
    # a cell is shown once every member of the cohort has reached it).
    offsets = np.arange(0, last + 1, step)
    at = first[None, :] + offsets[:, None]
    reached = at <= last
    mrr_at = np.where(reached, np.take_along_axis(mrr, np.minimum(at, last), axis=0), 0.0)
    active = (mrr_at >= MRR_EPSILON) @ one_hot
    mrr_sum = mrr_at @ one_hot
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

