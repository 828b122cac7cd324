"""Why the numbers moved: the accounts behind each movement total of a period (new, expansion,
reactivation, contraction, churn), largest first, with their share of the movement, owner and
— for a contraction or a churn — the recorded reason (SPEC §4 movements; docs/metrics.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.metrics.base import check_period, query, spine
from cs_analytics.metrics.churn import movement_events_sql
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.periods import Period
from cs_analytics.metrics.spine_arrays import MOVEMENTS

TOP_ACCOUNTS = 5
COLUMNS = ["movement", "rank", "account_id", "name", "owner_id", "owner_name", "amount",
           "share", "cumulative_share", "months", "reason", "movement_total", "accounts"]


def top_contributors(snap, period: Period, filters: Filters | None = None,
                     as_of: dt.date | None = None, top: int = TOP_ACCOUNTS) -> pd.DataFrame:
    """For each movement kind of the period, its `top` accounts by size: one row per account
    with movement, rank (1 = largest), account_id, name, owner_id, owner_name, amount (the
    account's movements of that kind summed over the period's months, signed like the
    bridge), share (amount / the movement's total), cumulative_share (ranks 1…this one),
    months (its months with that movement), reason (contraction and churn: of its latest
    such month, when recorded), movement_total (the bridge's total) and accounts (how many
    accounts the movement has in all). In MOVEMENTS order, then by rank."""
    sp = spine(snap, as_of, filters)
    check_period(period, sp.as_of)
    sql = movement_events_sql(sp.cte) + """,
        per_account AS (
            SELECT movement, account_id, any_value(name) AS name,
                   any_value(owner_id) AS owner_id, any_value(owner_name) AS owner_name,
                   sum(movement_amount) AS amount, count(*) AS months,
                   arg_max(reason, month) AS reason
            FROM reasoned
            GROUP BY movement, account_id
        ),
        ranked AS (
            SELECT *,
                   row_number() OVER (PARTITION BY movement
                                      ORDER BY abs(amount) DESC, account_id) AS rank,
                   sum(amount) OVER (PARTITION BY movement) AS movement_total,
                   count(*) OVER (PARTITION BY movement) AS accounts
            FROM per_account
        )
        SELECT movement, rank, account_id, name, owner_id, owner_name, amount,
               amount / movement_total AS share,
               sum(amount) OVER (PARTITION BY movement ORDER BY rank) / movement_total
                   AS cumulative_share,
               months, reason, movement_total, accounts
        FROM ranked
        WHERE rank <= $top
        ORDER BY list_position($movements, movement), rank"""
    frame = query(snap, sql, sp.with_params(
        movements=list(MOVEMENTS), first_month=period.first_month,
        end_month=period.end_month(sp.as_of), top=top))
    return frame[COLUMNS]
