"""Segments S/A/B/C (SPEC §4 "Attribute score and segment"): attribute tier × health band, on
a snapshot day, per account over time, and the entering/leaving events.

Computed by models 40–41 (fct_segment_history for every snapshot day, fct_segment_current for
the as-of date — the segment filter of every metric joins it — and fct_segment_events);
definitions in docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.config import SEGMENTS
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.weekly import counts_on, snapshot_day_for


def segments_on(snap, day: dt.date | None = None, filters: Filters | None = None
                ) -> pd.DataFrame:
    """Every active account's attribute points, tier, band and segment on the snapshot in
    effect on `day` (default: the as-of date), with name and owner; by segment then name."""
    day = snapshot_day_for(snap, day)
    where, params = condition(filters, snap, "s.account_id")
    return snap.query(f"""
        SELECT s.*, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name
        FROM fct_segment_history s
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE s.snapshot_day = $day AND {where}
        ORDER BY s.segment NULLS LAST, a.name, s.account_id
    """, {**params, "day": day})


def counts(snap, day: dt.date | None = None, filters: Filters | None = None) -> dict[str, int]:
    """Active accounts per segment (S, A, B, C — every one present) on `day`'s snapshot."""
    return counts_on(snap, "fct_segment_history", "segment", SEGMENTS, day, filters)


def history(snap, account_id: str) -> pd.DataFrame:
    """The account's tier, band and segment on every snapshot day, oldest first."""
    return snap.query("""
        SELECT snapshot_day, is_as_of, attribute_points, attribute_tier, band, segment, arr
        FROM fct_segment_history WHERE account_id = $id ORDER BY snapshot_day
    """, {"id": account_id})


def changes(snap, since: dt.date | None = None, filters: Filters | None = None
            ) -> pd.DataFrame:
    """Segment changes between consecutive snapshot days (an account entering a segment, with
    where it came from): account_id, name, owner_name, snapshot_day, from_segment,
    to_segment; newest first. from_segment is empty when the account was not active (or
    not scored) on the snapshot before; to_segment empty when it no longer is."""
    where, params = condition(filters, snap, "e.account_id")
    return snap.query(f"""
        SELECT DISTINCT e.account_id, a.name, coalesce(u.name, a.owner_id) AS owner_name,
               e.snapshot_day, e.from_segment, e.to_segment
        FROM fct_segment_events e
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        WHERE ($since IS NULL OR e.snapshot_day >= $since) AND {where}
        ORDER BY e.snapshot_day DESC, a.name, e.account_id
    """, {**params, "since": since})


def events(snap, segment: str | None = None, since: dt.date | None = None,
           filters: Filters | None = None) -> pd.DataFrame:
    """Entering/leaving events (fct_segment_events) with the account name, newest first;
    only those of `segment` when given."""
    if segment is not None and segment not in SEGMENTS:
        raise ValueError(f"segment '{segment}': expected one of {', '.join(SEGMENTS)}")
    where, params = condition(filters, snap, "e.account_id")
    return snap.query(f"""
        SELECT e.*, a.name
        FROM fct_segment_events e JOIN accounts a USING (account_id)
        WHERE ($segment IS NULL OR e.segment = $segment)
          AND ($since IS NULL OR e.snapshot_day >= $since) AND {where}
        ORDER BY e.snapshot_day DESC, a.name, e.event DESC
    """, {**params, "segment": segment, "since": since})
