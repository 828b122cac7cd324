"""Health score reads (SPEC §4 "Health score"): the score of every active account on a snapshot
day with its components, segment and signals, the band counts, one account's history and the
weekly history the backtest reads.

Scores are computed by the SQL models 30–34 (fct_health_weekly, one row per active account per
Monday and for the as-of date; fct_health_current for the as-of date); definitions in
docs/metrics.md. Aggregations for the pages live in metrics/health_summary.py; manual
assessments, which CS members record beside the score, in cs_analytics/userdata/assessments.py.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.config import BANDS, HEALTH_COMPONENTS
from cs_analytics.metrics import signals as signals_api
from cs_analytics.metrics.base import json_value
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.weekly import counts_on, snapshot_day_for, snapshot_days

__all__ = ["snapshot_days", "snapshot_day_for", "json_value", "scores_on",
           "band_counts", "components_of", "records", "history", "iter_history"]


def scores_on(snap, day: dt.date | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """Every active account's health on the snapshot in effect on `day` (default: as-of):
    the fct_health_weekly row plus name, owner_id, owner_name, segment and attribute_tier;
    lowest score first."""
    day = snapshot_day_for(snap, day)
    where, params = condition(filters, snap, "h.account_id")
    return snap.query(f"""
        SELECT h.*, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name,
               s.segment, s.attribute_tier
        FROM fct_health_weekly h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN fct_segment_history s USING (account_id, snapshot_day)
        WHERE h.snapshot_day = $day AND {where}
        ORDER BY h.score NULLS FIRST, a.name, h.account_id
    """, {**params, "day": day})


def band_counts(snap, day: dt.date | None = None, filters: Filters | None = None
                ) -> dict[str, int]:
    """Active accounts per band on the snapshot in effect on `day` (every band present)."""
    return counts_on(snap, "fct_health_weekly", "band", BANDS, day, filters)


def components_of(row) -> dict[str, dict]:
    """{component: {value, score, weight, contribution}} from a fct_health_weekly row."""
    return {c: {"value": json_value(row[f"{c}_value"]), "score": json_value(row[f"{c}_score"]),
                "weight": json_value(row[f"{c}_weight"]),
                "contribution": json_value(row[f"{c}_contribution"])}
            for c in HEALTH_COMPONENTS}


def records(snap, day: dt.date | None = None, assessments: dict | None = None,
            filters: Filters | None = None) -> list[dict]:
    """One JSON-ready object per active account (CLI `health --format json`): account_id,
    name, owner_id, owner_name, snapshot_day, score, band, previous_score, score_change,
    score_change_4w, onboarding, components, top_detractor, segment, attribute_tier,
    signals [{id, since, evidence…}], manual_assessment (or None)."""
    frame = scores_on(snap, day, filters)
    on = frame["snapshot_day"].iloc[0] if len(frame) else snapshot_day_for(snap, day)
    by_account = signals_api.by_account(signals_api.signals_on(snap, on, filters=filters))
    assessments = assessments or {}
    out = []
    for row in frame.to_dict("records"):
        assessment = assessments.get(row["account_id"])
        out.append({
            "account_id": row["account_id"],
            "name": row["name"],
            "owner_id": row["owner_id"],
            "owner_name": row["owner_name"],
            "snapshot_day": json_value(row["snapshot_day"]),
            "score": json_value(row["score"]),
            "band": json_value(row["band"]),
            "previous_score": json_value(row["previous_score"]),
            "score_change": json_value(row["score_change"]),
            "score_change_4w": json_value(row["score_change_4w"]),
            "onboarding": bool(row["is_onboarding"]),
            "components": components_of(row),
            "top_detractor": json_value(row["top_detractor"]),
            "segment": json_value(row["segment"]),
            "attribute_tier": json_value(row["attribute_tier"]),
            "signals": by_account.get(row["account_id"], []),
            "manual_assessment": assessment.as_dict() if assessment else None,
        })
    return out


def history(snap, account_id: str) -> pd.DataFrame:
    """The account's rows of fct_health_weekly (every Monday it was active, and the as-of
    date), oldest first, with its segment."""
    return snap.query("""
        SELECT h.*, s.segment, s.attribute_tier
        FROM fct_health_weekly h
        LEFT JOIN fct_segment_history s USING (account_id, snapshot_day)
        WHERE h.account_id = $id
        ORDER BY h.snapshot_day
    """, {"id": account_id})


# The weekly history as `health --history` exports it: what the backtest reads, so anyone can
# recompute it (with `movements` for the churns).
HISTORY_COLUMNS = ("account_id", "day", "score", "band",
                   *(f"{c}_score" for c in HEALTH_COMPONENTS), "renewal_days_score", "segment")


def iter_history(snap, batch_size: int = 10_000):
    """Every account's row of every Monday of the weekly history (fct_health_weekly where
    is_weekly, with its segment that day), in batches of tuples in HISTORY_COLUMNS order, by
    account and day; dates as ISO text. Streams: the history is never held at once."""
    components = ", ".join(f"h.{c}_score" for c in HEALTH_COMPONENTS)
    cur = snap.cursor()
    try:
        cur.execute(f"""
            SELECT h.account_id, strftime(h.snapshot_day, '%Y-%m-%d'), h.score, h.band,
                   {components}, h.renewal_days_score, s.segment
            FROM fct_health_weekly h
            LEFT JOIN fct_segment_history s USING (account_id, snapshot_day)
            WHERE h.is_weekly
            ORDER BY h.account_id, h.snapshot_day""")
        while rows := cur.fetchmany(batch_size):
            yield rows
    finally:
        cur.close()
