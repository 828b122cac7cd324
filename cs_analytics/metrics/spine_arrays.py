"""The account × month spine held in memory as arrays, for the aggregates the pages recompute on
every filter change: the MRR per month, the period metrics (bridge, NRR, GRR, logo churn) and
the two-year churn rate.

Why arrays and not SQL. A filter restricts the accounts and nothing else, and every one of
these aggregates is a sum over accounts. So the spine is loaded once per snapshot and as-of
date — 10,000 accounts × 60 months at the benchmark's scale — into month × account matrices,
a filter becomes a 0/1 weight per account, and an aggregate is a matrix × weights product.
On the 2-core machine, the revenue page's period metrics at 10,000 accounts went from ~40 ms
(a DuckDB query: planning, the filter's semi-join, the spine's self-join for the base set) to
~5 ms, equal to the yen (docs/benchmarks.md, session 8).

The definition of the spine is not repeated here: the rows are those of
`fct_account_mrr_monthly` (models/11) for the snapshot's as-of date and of the snapshot's
`account_mrr_as_of(date)` macro for an earlier one, and every value is read from them. What
this module adds is only the sums, and each aggregate's docstring says which rows it sums.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import numpy as np

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics.base import SPINE_TABLE, resolve_as_of
from cs_analytics.metrics.filters import (SEGMENT_TABLE, AccountAttributes, Filters,
                                          attributes_sql)
from cs_analytics.metrics.periods import add_months, month_start
from cs_analytics.models.parameters import MRR_EPSILON

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")

# The rows of `SpineArrays.sums`, each a month × account matrix; `totals` returns them summed
# over the selected accounts, per month.
SUM_ROWS = ("mrr", "previous_mrr", "customers", "rows",
            *(name for kind in MOVEMENTS for name in (kind, f"{kind}_count")))

# Spine arrays of earlier as-of dates kept per snapshot file (reports and the CLI ask for a
# few); the snapshot's own as-of date is always kept.
EARLIER_AS_OF_KEPT = 3

_load_lock = threading.Lock()


@dataclass(frozen=True)
class SpineArrays:
    """The spine of one snapshot at one as-of date.

    Accounts are the spine's (every account with a first month F_i), in account id order;
    months run from the earliest F_i (index 0) to the as-of month. For account i and month m:

      sums[r, m, i]   the value of SUM_ROWS[r] on the spine row (i, m), 0 without a row:
                      mrr, previous_mrr, customers (1 if mrr ≥ ε), rows (1: the row exists),
                      per movement its movement_amount and 1 on a row with that movement
      first[i]        the index of F_i
      churn[i]        the index of C_i, the first month from F_i with MRR 0; -1 if none
      attributes      the accounts' current owner, industry and segment, which the sidebar
                      filters select on
    """

    as_of: dt.date
    first_month: dt.date
    sums: np.ndarray
    first: np.ndarray
    churn: np.ndarray
    attributes: AccountAttributes

    @property
    def months(self) -> int:
        return self.sums.shape[1]

    def month_index(self, month: dt.date) -> int:
        """The index of `month` (any day in it); negative before the first month."""
        month = month_start(month)
        return ((month.year - self.first_month.year) * 12
                + month.month - self.first_month.month)

    def month_at(self, index: int) -> dt.date:
        return add_months(self.first_month, int(index))

    def matrix(self, name: str) -> np.ndarray:
        """The month × account matrix of one of SUM_ROWS."""
        return self.sums[SUM_ROWS.index(name)]

    def weights(self, filters: Filters | None) -> np.ndarray:
        """1.0 for each account `filters` selects, 0.0 otherwise."""
        return self.attributes.selected(filters).astype(np.float64)

    def totals(self, weights: np.ndarray, months: slice = slice(None)) -> dict[str, np.ndarray]:
        """Every SUM_ROWS sum per month over the weighted accounts, for the month indices
        `months` (all by default): {name: array by month of `months`}. Only those months'
        rows are read (in place): a page's two periods do not read five years."""
        return dict(zip(SUM_ROWS, self.sums[:, months, :] @ weights))

    def at_months(self, name: str, indices: list[int],
                  accounts: np.ndarray | None = None) -> np.ndarray:
        """Rows `indices` of matrix `name` (one per index), for the accounts at positions
        `accounts` (all when None); zeros for a month outside the spine."""
        index = np.asarray(indices, dtype=np.int64)
        inside = (index >= 0) & (index < self.months)
        months = np.where(inside, index, 0)
        matrix = self.matrix(name)
        rows = matrix[months] if accounts is None else matrix[np.ix_(months, accounts)]
        return rows * inside[:, None]


def spine_arrays(snap, as_of: dt.date | None = None) -> SpineArrays:
    """The spine arrays of `snap` at `as_of` (default: its own), loaded once per snapshot file
    and as-of date and shared by every thread."""
    as_of = resolve_as_of(snap, as_of)
    if not snap.has_table(SPINE_TABLE):
        raise CsAnalyticsError(
            f"this snapshot has no revenue tables ({SPINE_TABLE} is missing): it was built by "
            "an older version; refresh the data")
    # Keyed by what the arrays hold: the as-of date, and whether the snapshot has segments.
    key = (as_of, snap.has_table(SEGMENT_TABLE))
    kept = snap.derived("spine_arrays")
    with _load_lock:
        arrays = kept.get(key)
        if arrays is None:
            arrays = kept[key] = _load(snap, as_of)
            earlier = [k for k in kept if k[0] != snap.as_of]
            for k in earlier[:max(0, len(earlier) - EARLIER_AS_OF_KEPT)]:
                del kept[k]
        else:
            kept.move_to_end(key)
    return arrays


def _load(snap, as_of: dt.date) -> SpineArrays:
    if as_of == snap.as_of:
        source, params = SPINE_TABLE, {}
    else:
        source, params = "account_mrr_as_of(CAST($as_of AS DATE))", {"as_of": as_of}
    cur = snap.cursor()
    try:
        # (account_id, owner_id, industry, segment, F_i) per account of the spine
        accounts = cur.execute(attributes_sql(snap, source, ", min(x.first_month)"),
                               params).fetchall()
        first_month = min((r[4] for r in accounts), default=month_start(as_of))
        codes = " ".join(f"WHEN '{kind}' THEN {k}" for k, kind in enumerate(MOVEMENTS))
        rows = cur.execute(f"""
            WITH ids AS (SELECT unnest($ids) AS account_id, unnest($positions) AS i)
            SELECT ids.i, datediff('month', CAST($first_month AS DATE), s.month) AS m,
                   s.mrr, s.previous_mrr, s.movement_amount,
                   CASE s.movement {codes} ELSE -1 END AS movement
            FROM {source} s JOIN ids USING (account_id)""",
            {**params, "ids": [r[0] for r in accounts],
             "positions": list(range(len(accounts))), "first_month": first_month}
        ).fetchnumpy()
    finally:
        cur.close()
    as_of_month = month_start(as_of)
    months = ((as_of_month.year - first_month.year) * 12
              + as_of_month.month - first_month.month + 1)
    i, m = np.asarray(rows["i"], np.int64), np.asarray(rows["m"], np.int64)
    mrr = np.asarray(rows["mrr"], np.float64)
    movement = np.asarray(rows["movement"], np.int64)
    amount = np.asarray(rows["movement_amount"], np.float64)
    sums = np.zeros((len(SUM_ROWS), months, len(accounts)))
    sums[SUM_ROWS.index("mrr"), m, i] = mrr
    sums[SUM_ROWS.index("previous_mrr"), m, i] = np.asarray(rows["previous_mrr"], np.float64)
    sums[SUM_ROWS.index("customers"), m, i] = mrr >= MRR_EPSILON
    sums[SUM_ROWS.index("rows"), m, i] = 1.0
    for k, kind in enumerate(MOVEMENTS):
        hit = movement == k
        sums[SUM_ROWS.index(kind), m[hit], i[hit]] = amount[hit]
        sums[SUM_ROWS.index(f"{kind}_count"), m[hit], i[hit]] = 1.0
    first = np.array([(r[4].year - first_month.year) * 12 + r[4].month - first_month.month
                      for r in accounts], dtype=np.int64)
    # C_i: the first month of the account's rows (which start at F_i) with MRR 0.
    zero = (sums[SUM_ROWS.index("rows")] > 0) & (sums[SUM_ROWS.index("mrr")] < MRR_EPSILON)
    churn = np.where(zero.any(axis=0), zero.argmax(axis=0), -1)
    return SpineArrays(
        as_of=as_of, first_month=first_month, sums=sums, first=first, churn=churn,
        attributes=AccountAttributes.of(accounts, snap.has_table(SEGMENT_TABLE)))
