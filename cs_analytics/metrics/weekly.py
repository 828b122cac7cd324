"""The weekly marts — health scores, segments and signals: a row per active account for every
Monday and for the as-of date (fct_health_weekly, fct_segment_history, fct_signals_weekly) —
their snapshot days, the table holding one day's rows, and the rows of a day counted by value.
"""

from __future__ import annotations

import datetime as dt

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics.base import resolve_as_of
from cs_analytics.metrics.filters import Filters, mask
from cs_analytics.metrics.held import Query, held

# Each weekly mart and the table of its as-of rows (`WHERE is_as_of`, built with it): a row
# per account, which a day's predicate skips no row group of.
AS_OF_TABLES = {"fct_health_weekly": "fct_health_current",
                "fct_segment_history": "fct_segment_current",
                "fct_signals_weekly": "fct_signals_current"}


def snapshot_days(snap) -> list[dt.date]:
    """Every day the health score was computed for: Mondays and the as-of date, oldest first."""
    return [r[0] for r in snap.rows(
        "SELECT snapshot_day FROM int_health_snapshot_days ORDER BY snapshot_day")]


def snapshot_day_for(snap, day: dt.date | None = None) -> dt.date:
    """The health snapshot in effect on `day`: the latest snapshot day on or before it (None:
    the as-of date). Scores exist for Mondays and the as-of date only."""
    if day is None:
        return snap.as_of
    day = resolve_as_of(snap, day)
    found = snap.scalar("SELECT max(snapshot_day) FROM int_health_snapshot_days "
                        "WHERE snapshot_day <= $day", {"day": day})
    if found is None:
        first = snap.scalar("SELECT min(snapshot_day) FROM int_health_snapshot_days")
        raise CsAnalyticsError(
            f"no health score on or before {day.isoformat()}: the history starts on "
            f"{first.isoformat() if first else snap.as_of.isoformat()}")
    return found


def mart_on(snap, mart: str, day: dt.date) -> str:
    """The table to read weekly mart `mart`'s rows of snapshot day `day` from: its as-of table
    for the as-of date, else the mart itself."""
    current = AS_OF_TABLES.get(mart)
    return current if current and day == snap.as_of else mart


# The rows `counts_on` counts: the account and the counted column of each weekly mart's rows
# on one snapshot day ($day), and of its as-of table (every row is the as-of day's).
COUNTED = (("fct_health_weekly", "band"), ("fct_segment_history", "segment"),
           ("fct_signals_weekly", "signal"))
DAY_ROWS = {
    **{(mart, column): Query(f"{mart}.{column} of a day", f"SELECT account_id, {column} "
                             f"FROM {mart} WHERE snapshot_day = $day", keep=8)
       for mart, column in COUNTED},
    **{(AS_OF_TABLES[mart], column): Query(f"{AS_OF_TABLES[mart]}.{column}",
                                           f"SELECT account_id, {column} "
                                           f"FROM {AS_OF_TABLES[mart]}", keep=1)
       for mart, column in COUNTED},
}


def counts_on(snap, table: str, column: str, keys, day: dt.date | None = None,
              filters: Filters | None = None) -> dict[str, int]:
    """Rows of a weekly mart (`table`: fct_health_weekly, fct_segment_history,
    fct_signals_weekly) per value of `column` on the snapshot in effect on `day`: every one of
    `keys` present (0 when none); rows without a value are not counted."""
    counts = {k: 0 for k in keys}
    day = snapshot_day_for(snap, day)
    rows = held(snap, DAY_ROWS[mart_on(snap, table, day), column], day=day)
    for (value,), n in rows.counts(mask(filters, snap, rows), column).items():
        if value is not None:
            counts[value] = n
    return counts
