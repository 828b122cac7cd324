"""The account × month MRR rows (fct_account_mrr_monthly, models/11) held in memory, and the
period metrics of SPEC §4 summed from them — the bridge, NRR, GRR and logo churn of any
period, for any filter. Revenue and churn figures both read these.

For an earlier as-of date the rows are those of the model's macro `account_mrr_as_of(date)`,
the same definition recomputed for that date.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd

from cs_analytics.metrics.base import SPINE_TABLE, as_date, check_period, ratio, resolve_as_of
from cs_analytics.metrics.filters import Filters, accounts_kept
from cs_analytics.metrics.held import HeldRows, Query, held
from cs_analytics.metrics.periods import Period

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")

# One row per account and month from the account's first month with MRR; `customer`: an
# active customer that month (MRR ≥ the snapshot's mrr_epsilon, as the models count them).
_COLUMNS = """s.account_id, s.month, s.first_month, s.mrr, s.previous_mrr,
              s.mrr >= p.mrr_epsilon AS customer, s.movement, s.movement_amount"""
SPINE = Query("account mrr monthly", f"""
    SELECT {_COLUMNS} FROM {SPINE_TABLE} s CROSS JOIN params p
    ORDER BY s.month, s.account_id""", keep=1)
SPINE_AS_OF = Query("account mrr monthly as of", f"""
    SELECT {_COLUMNS} FROM account_mrr_as_of(CAST($as_of AS DATE)) s CROSS JOIN params p
    ORDER BY s.month, s.account_id""", keep=3)


def spine_rows(snap, as_of: dt.date | None = None) -> HeldRows:
    """The spine's rows at `as_of` (default: the snapshot's), ordered by month."""
    as_of = resolve_as_of(snap, as_of)
    return held(snap, SPINE) if as_of == snap.as_of else held(snap, SPINE_AS_OF, as_of=as_of)


def monthly_totals(snap, rows: HeldRows, filters: Filters | None, first: dt.date,
                   last: dt.date) -> tuple[list, dict[str, np.ndarray]]:
    """The filtered accounts' rows of the months first…last summed by month: (the months
    with a row, in order; {name: array by month}) for mrr, previous_mrr, customers, rows and
    each movement's signed total and count."""
    first, last = as_date(first), as_date(last)
    chosen = None if filters is None or filters.is_empty else filters.accounts_kept(snap, rows)
    labels = rows.codes("month")[1]
    within = slice(bisect.bisect_left(labels, first), bisect.bisect_right(labels, last))
    by_month = rows.sums(chosen, ("month",), (None, "mrr", "previous_mrr", "customer"), within)
    moved = rows.rows_of(chosen, rows.span("month", first, last), having="movement")
    moves = rows.totals(moved, ("month", "movement"), ("movement_amount",))
    movements = moves.labels[1]
    out = {"mrr": by_month["mrr"], "previous_mrr": by_month["previous_mrr"],
           "customers": by_month["customer"], "rows": by_month[None]}
    for kind in MOVEMENTS:
        at = movements.index(kind) if kind in movements else None
        zeros = np.zeros(len(out["rows"]))
        out[kind] = zeros if at is None else moves.sums["movement_amount"][within, at]
        out[f"{kind}_count"] = zeros if at is None else moves.count[within, at]
    return labels[within], out


def period_metrics(snap, periods: Sequence[Period], filters: Filters | None = None,
                   as_of: dt.date | None = None,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per period (SPEC §4 "Period metrics", P = months (a, b]):

    label, kind, period_start, period_end (b's snapshot day), end_month (b), start_mrr /
    start_customers (at a), mrr / arr / customers / arpa (MRR per customer, at b), signed
    movement totals and counts
    over P, base_customers (|S|, the customers at a), churned_customers (of S, not customers
    at b), base_mrr (Σ MRR_i(a)), base_end_mrr (Σ MRR_i(b)), base_retained_mrr
    (Σ min(MRR_i(a), MRR_i(b))), logo_churn_rate, nrr, grr, gross_mrr_churn, net_mrr_churn,
    quick_ratio. Summed over the filtered accounts' rows of the spine; a month without rows
    counts 0. With `columns`, only those, in that order.
    """
    values = period_columns(snap, periods, filters, as_of)
    return pd.DataFrame({name: values[name] for name in (values if columns is None
                                                         else columns)})


def period_columns(snap, periods: Sequence[Period], filters: Filters | None = None,
                   as_of: dt.date | None = None) -> dict[str, list | np.ndarray]:
    """`period_metrics` as {column: its values, one per period} (a list or an array), for a
    caller reading them as Python values rather than as a frame."""
    as_of = resolve_as_of(snap, as_of)
    for period in periods:
        check_period(period, as_of)
    rows = spine_rows(snap, as_of)
    a = [p.before_month for p in periods]
    b = [p.end_month(as_of) for p in periods]
    months, totals = monthly_totals(snap, rows, filters, min(a, default=as_of),
                                    max(b, default=as_of))
    position = {m: i for i, m in enumerate(months)}
    ia = np.array([position.get(m, -1) for m in a], dtype=np.int64)
    ib = np.array([position.get(m, -1) for m in b], dtype=np.int64)
    # P's months (a, b] are positions after_a … through_b − 1 of `months`.
    after_a = np.array([bisect.bisect_right(months, m) for m in a], dtype=np.int64)
    through_b = np.array([bisect.bisect_right(months, m) for m in b], dtype=np.int64)

    def at(name: str, indices: np.ndarray) -> np.ndarray:  # 0 for a month without rows
        values = totals[name]
        return np.where(indices >= 0, values[np.maximum(indices, 0)] if len(values) else 0, 0)

    def over_period(name: str) -> np.ndarray:  # Σ over the months of (a, b]
        running = np.concatenate([[0], np.cumsum(totals[name])])
        return running[through_b] - running[after_a]

    # S: the filtered customers at a, with their MRR at a and at b (read for those only).
    chosen = np.flatnonzero(accounts_kept(filters, snap, rows))
    month_of = {m: i for i, m in enumerate(rows.codes("month")[1])}
    read = sorted({*a, *b})  # each month read once, for a and b alike
    row_of = {m: i for i, m in enumerate(read)}
    at_a, at_b = [row_of[m] for m in a], [row_of[m] for m in b]
    mrr = _at_months(rows, "mrr", [month_of.get(m, -1) for m in read], chosen)
    customer = _at_months(rows, "customer", [month_of.get(m, -1) for m in read], chosen)
    mrr_a, mrr_b, base, customer_b = mrr[at_a], mrr[at_b], customer[at_a], customer[at_b]
    sums = {
        "start_mrr": at("mrr", ia), "start_customers": at("customers", ia),
        "mrr": at("mrr", ib), "customers": at("customers", ib),
        **{name: over_period(name) for kind in MOVEMENTS for name in (kind, f"{kind}_count")},
        "base_customers": base.sum(axis=1),
        "churned_customers": (base * (1 - customer_b)).sum(axis=1),
        "base_mrr": (base * mrr_a).sum(axis=1),
        "base_end_mrr": (base * mrr_b).sum(axis=1),
        "base_retained_mrr": (base * np.minimum(mrr_a, mrr_b)).sum(axis=1),
    }
    for name in ("start_customers", "customers", "base_customers", "churned_customers",
                 *(f"{kind}_count" for kind in MOVEMENTS)):
        sums[name] = np.asarray(sums[name]).round().astype(np.int64)
    col = {name: values.tolist() for name, values in sums.items()}
    based = col["base_customers"]
    nrr = [ratio(e, m) if n else None
           for e, m, n in zip(col["base_end_mrr"], col["base_mrr"], based)]
    grr = [ratio(r, m) if n else None
           for r, m, n in zip(col["base_retained_mrr"], col["base_mrr"], based)]
    return {
        "label": [p.label for p in periods],
        "kind": [p.kind for p in periods],
        "period_start": [p.start_date for p in periods],
        "period_end": [p.end_day(as_of) for p in periods],
        "end_month": b,
        **sums,
        "arr": 12 * sums["mrr"],
        "arpa": [ratio(mrr_b, n) for mrr_b, n in zip(col["mrr"], col["customers"])],
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
    }


def _at_months(rows: HeldRows, name: str, months: list[int], accounts: np.ndarray
               ) -> np.ndarray:
    """[len(months), len(accounts)]: column `name` of each account's row in each month (its
    position in `rows.codes("month")`; -1: a month without rows, all 0)."""
    index = np.asarray(months, dtype=np.int64)
    grid = rows.grid(name, ("month",))
    return (np.take(np.take(grid, np.maximum(index, 0), axis=0), accounts, axis=1)
            * (index >= 0)[:, None])
