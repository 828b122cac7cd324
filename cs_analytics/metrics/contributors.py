"""Why the numbers moved: the accounts behind each movement total of a period (new, expansion,
reactivation, contraction, churn), largest first, with their share of the movement, owner and
— for a contraction or a churn — the recorded reason (SPEC §4 movements; docs/metrics.md).

`movement_accounts` lists every account's movements of the period (one row per movement kind
and account, each row belonging to one account: held per account, `metrics.held.per_account`),
and `top_of` ranks such a list; `top_contributors` is both.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from cs_analytics.metrics.base import check_period, query, ratio, spine, stable_types
from cs_analytics.metrics.churn import movement_events_sql
from cs_analytics.metrics.filters import Filters, mask
from cs_analytics.metrics.held import HeldRows, per_account
from cs_analytics.metrics.monthly import MOVEMENTS
from cs_analytics.metrics.periods import Period

TOP_ACCOUNTS = 5
ACCOUNT_COLUMNS = ["movement", "account_id", "name", "owner_id", "owner_name", "amount",
                   "months", "reason"]
COLUMNS = ["movement", "rank", "account_id", "name", "owner_id", "owner_name", "amount",
           "share", "cumulative_share", "months", "reason", "movement_total", "accounts"]


@per_account
def movement_accounts(snap, period: Period, filters: Filters | None = None,
                      as_of: dt.date | None = None) -> pd.DataFrame:
    """Every account's movements over the period, one row per movement kind and account:
    movement, account_id, name, owner_id, owner_name, amount (its movements of that kind
    summed over the period's months, signed like the bridge: Σ amount of a kind = the bridge's
    total), months (how many months had it), reason (contraction and churn: the reason of its
    latest such month, when recorded; see churn.movement_events_sql)."""
    sp = spine(snap, as_of, filters)
    check_period(period, sp.as_of)
    sql = movement_events_sql(sp.cte) + """
        SELECT movement, account_id, any_value(name) AS name,
               any_value(owner_id) AS owner_id, any_value(owner_name) AS owner_name,
               sum(movement_amount) AS amount, count(*) AS months,
               arg_max(reason, month) AS reason
        FROM reasoned
        GROUP BY movement, account_id
        ORDER BY list_position($movements, movement), abs(sum(movement_amount)) DESC,
                 account_id"""
    frame = query(snap, sql, sp.with_params(movements=list(MOVEMENTS),
                                           first_month=period.first_month,
                                           end_month=period.end_month(sp.as_of)))
    return stable_types(frame[ACCOUNT_COLUMNS], text=("reason",))


def top_of(accounts: pd.DataFrame, top: int = TOP_ACCOUNTS) -> pd.DataFrame:
    """The `top` largest accounts of each movement kind in a `movement_accounts` list (its
    rows of the filtered accounts, say): the list's columns plus rank (1 = largest by size),
    share (amount / the kind's total over the list), cumulative_share (ranks 1 … this one),
    movement_total and accounts (how many accounts the kind has in the list). In MOVEMENTS
    order, then by rank; ties by account id."""
    return _top(HeldRows(accounts, by_account=False), None, top)


def _top(rows: HeldRows, kept: np.ndarray | None, top: int) -> pd.DataFrame:
    """`top_of` the rows `kept` (a bool per row; all for None) of a list held as `rows`: only
    the rows shown are taken out."""
    codes, kinds = rows.codes("movement")
    listed = np.arange(rows.size) if kept is None else np.flatnonzero(kept)
    listed_codes = codes[listed]
    all_amounts = rows.numbers("amount")
    ids = rows.memo(("arrow", "account_id"), lambda: pa.array(rows.frame()["account_id"].array))
    ranked = []  # (the kind's rows, its top ones)
    for movement in MOVEMENTS:
        at = listed[listed_codes == kinds.index(movement)] if movement in kinds else listed[:0]
        if len(at):
            ranked.append((at, _largest(all_amounts[at], ids, at, top)))
    shown = iter(_records(rows.take(
        np.concatenate([at[order] for at, order in ranked]) if ranked else listed[:0])))
    rows_out = []
    for at, order in ranked:
        amounts = all_amounts[at]
        total = float(amounts.sum())
        running = 0.0
        for rank, i in enumerate(order, start=1):
            running += amounts[i]
            rows_out.append({**next(shown), "rank": rank,
                             "share": ratio(amounts[i], total),
                             "cumulative_share": ratio(running, total),
                             "movement_total": total, "accounts": len(at)})
    return pd.DataFrame(rows_out, columns=COLUMNS)


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows of `frame` as dicts of Python values (what `to_dict("records")` gives), read
    a column at a time."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _largest(amounts: np.ndarray, ids: pa.Array, at: np.ndarray, top: int) -> list[int]:
    """Positions in `amounts` of the `top` largest by size, ties by account id (`ids` at rows
    `at`): only the rows at least as large as the top-th are sorted."""
    size = np.abs(amounts)
    if len(size) > top:
        cut = np.partition(size, len(size) - top)[len(size) - top]
        candidates = np.flatnonzero(size >= cut)
    else:
        candidates = np.arange(len(size))
    names = ids.take(pa.array(at[candidates])).to_pylist()
    ranked = sorted(range(len(candidates)), key=lambda j: (-size[candidates[j]], names[j]))
    return [int(candidates[j]) for j in ranked[:top]]


def top_contributors(snap, period: Period, filters: Filters | None = None,
                     as_of: dt.date | None = None, top: int = TOP_ACCOUNTS) -> pd.DataFrame:
    """For each movement kind of the period, its `top` accounts by size (`top_of` of
    `movement_accounts`, taken from the rows held for the period without copying the list
    out): movement, rank, account_id, name, owner_id, owner_name, amount,
    share, cumulative_share, months, reason, movement_total (the bridge's total), accounts."""
    rows = movement_accounts.rows(snap, period, as_of=as_of)
    return _top(rows, mask(filters, snap, rows), top)
