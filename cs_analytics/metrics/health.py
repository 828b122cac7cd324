"""Health score reads (SPEC §4 "Health score"): the score of every active account on a snapshot
day with its components, segment, signals and manual assessment — and the manual assessments
themselves, which CS members record in the user-data store beside the computed score.

Scores are computed by the SQL models 30–34 (fct_health_weekly, one row per active account per
Monday and for the as-of date; fct_health_current for the as-of date); definitions in
docs/metrics.md. Aggregations for the pages live in metrics/health_summary.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd

from cs_analytics.build import today_tokyo
from cs_analytics.config import BANDS, HEALTH_COMPONENTS
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import headline_section
from cs_analytics.metrics.account_rows import account_rows
from cs_analytics.metrics.base import plain
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.store import Store, now_iso

MAX_COMMENT = 2_000


def has_health(snap) -> bool:
    return snap.has_table("fct_health_weekly")


def _require_health(snap) -> None:
    if not has_health(snap):
        raise CsAnalyticsError(
            "this snapshot has no health scores (fct_health_weekly is missing): it was built by "
            "an older version; refresh the data")


def snapshot_days(snap) -> list[dt.date]:
    """Every day the health score was computed for: Mondays and the as-of date, oldest first."""
    _require_health(snap)
    return [r[0] for r in snap.rows(
        "SELECT snapshot_day FROM int_health_snapshot_days ORDER BY snapshot_day")]


def snapshot_day_for(snap, day: dt.date | None = None) -> dt.date:
    """The health snapshot in effect on `day`: the latest snapshot day on or before it (None:
    the as-of date). Scores exist for Mondays and the as-of date only."""
    _require_health(snap)
    if day is None:
        return snap.as_of
    if isinstance(day, dt.datetime):
        day = day.date()
    if day > snap.as_of:
        raise CsAnalyticsError(
            f"date {day.isoformat()} is after this snapshot's data as-of "
            f"{snap.as_of.isoformat()}; refresh the data or choose an earlier date")
    found = snap.scalar("SELECT max(snapshot_day) FROM int_health_snapshot_days "
                        "WHERE snapshot_day <= $day", {"day": day})
    if found is None:
        first = snap.scalar("SELECT min(snapshot_day) FROM int_health_snapshot_days")
        raise CsAnalyticsError(
            f"no health score on or before {day.isoformat()}: the history starts on "
            f"{first.isoformat() if first else snap.as_of.isoformat()}")
    return found


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


def counts_on(snap, table: str, column: str, keys, day: dt.date | None = None,
              filters: Filters | None = None) -> dict[str, int]:
    """Rows of a weekly health mart (`table`: fct_health_weekly, fct_segment_history,
    fct_signals_weekly) per value of `column` on the snapshot in effect on `day`: every one of
    `keys` present (0 when none, and all 0 when the snapshot has no such table); rows without a
    value are not counted. The as-of date's rows are counted in memory (metrics.account_rows),
    another day's in SQL."""
    counts = {k: 0 for k in keys}
    if not snap.has_table(table):
        return counts
    day = snapshot_day_for(snap, day)
    source = mart_on(snap, table, day)
    if source != table:
        # The as-of table: its rows held in memory, counted with the filter's weights.
        rows = account_rows(snap, f"SELECT account_id, {column} FROM {source}")
        for (value,), n in rows.counts(rows.weights(snap, filters), column).items():
            if value is not None:
                counts[value] = n
        return counts
    where, params = condition(filters, snap, "account_id")
    for value, n in snap.rows(f"SELECT {column}, count(*) FROM {source} "
                              f"WHERE {column} IS NOT NULL AND snapshot_day = $day AND {where} "
                              f"GROUP BY {column}", {**params, "day": day}):
        counts[value] = int(n)
    return counts


# Each weekly mart and the table of its as-of rows (`WHERE is_as_of`, built with it).
AS_OF_TABLES = {"fct_health_weekly": "fct_health_current",
                "fct_segment_history": "fct_segment_current",
                "fct_signals_weekly": "fct_signals_current"}


def mart_on(snap, mart: str, day: dt.date) -> str:
    """The table to read weekly mart `mart`'s rows of snapshot day `day` from: its as-of table
    for the as-of date (a row per account: 10,000 at 10k accounts, against 1.1M weekly rows
    in account order, where a day skips no row group — filtered band counts 12 → 5 ms), else
    the mart itself (also for a snapshot built before its as-of table)."""
    current = AS_OF_TABLES.get(mart)
    return current if current and day == snap.as_of and snap.has_table(current) else mart


def band_counts(snap, day: dt.date | None = None, filters: Filters | None = None
                ) -> dict[str, int]:
    """Active accounts per band on the snapshot in effect on `day` (every band present)."""
    return counts_on(snap, "fct_health_weekly", "band", BANDS, day, filters)


@headline_section
def _headline_bands(snap, period, filters, as_of) -> dict:
    """`metrics` command: the health band counts on the as-of date."""
    if not has_health(snap):
        return {}
    return {"health_bands": band_counts(snap, as_of, filters)}


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
    from cs_analytics.metrics import signals as signals_api

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
    _require_health(snap)
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
    _require_health(snap)
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


# ---------------------------------------------------------------------------- manual assessment


@dataclass(frozen=True)
class ManualAssessment:
    """A CS member's own reading of an account's health, shown beside the computed score."""

    id: int
    account_id: str
    band: str
    comment: str
    expires_on: dt.date
    author: str
    created_at: str

    def is_valid_on(self, day: dt.date) -> bool:
        """Valid through its expiry date; ignored from the day after."""
        return day <= self.expires_on

    def as_dict(self) -> dict:
        d = asdict(self)
        d["expires_on"] = self.expires_on.isoformat()
        return d


def record_assessment(store: Store, account_id: str, band: str, expires_on: dt.date,
                      author: str, comment: str = "", today: dt.date | None = None
                      ) -> ManualAssessment:
    """Record a manual assessment (band, comment, expiry). It never changes the computed
    score; the latest one still valid is shown beside it."""
    today = today or today_tokyo()
    account_id = (account_id or "").strip()
    author = (author or "").strip()
    comment = (comment or "").strip()
    if not account_id:
        raise CsAnalyticsError("manual assessment: the account id is empty")
    if band not in BANDS:
        raise CsAnalyticsError(f"manual assessment band '{band}': expected one of "
                               f"{', '.join(BANDS)}")
    if not isinstance(expires_on, dt.date) or isinstance(expires_on, dt.datetime):
        raise CsAnalyticsError("manual assessment: the expiry must be a date like 2026-06-30")
    if expires_on < today:
        raise CsAnalyticsError(f"manual assessment expiring {expires_on.isoformat()}: choose "
                               f"today ({today.isoformat()}) or a later date")
    if not author:
        raise CsAnalyticsError("manual assessment: say who records it (author)")
    if len(comment) > MAX_COMMENT:
        raise CsAnalyticsError(f"manual assessment comment: at most {MAX_COMMENT:,} characters")
    created_at = now_iso()
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO manual_assessments (account_id, band, comment, expires_on, author, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, band, comment, expires_on.isoformat(), author, created_at))
        new_id = int(cur.lastrowid)
    finally:
        con.close()
    return ManualAssessment(new_id, account_id, band, comment, expires_on, author, created_at)


def assessment_history(store: Store, account_id: str) -> list[ManualAssessment]:
    """Every assessment recorded for the account, newest first (expired ones included)."""
    return _assessments(store, "WHERE account_id = ? ORDER BY created_at DESC, id DESC",
                        (account_id,))


def current_assessments(store: Store, on: dt.date | None = None) -> dict[str, ManualAssessment]:
    """The latest assessment of each account still valid on `on` (default: today in Tokyo).
    An account whose latest assessment expired shows none, even if an older one has a later
    expiry: a new assessment replaces the previous one."""
    on = on or today_tokyo()
    latest: dict[str, ManualAssessment] = {}
    for a in _assessments(store, "ORDER BY created_at, id", ()):
        latest[a.account_id] = a
    return {k: a for k, a in latest.items() if a.is_valid_on(on)}


def _assessments(store: Store, tail: str, params: tuple) -> list[ManualAssessment]:
    con = store.userdata_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT id, account_id, band, comment, expires_on, author, created_at "
            f"FROM manual_assessments {tail}", params).fetchall()
    finally:
        con.close()
    return [ManualAssessment(r["id"], r["account_id"], r["band"], r["comment"],
                             dt.date.fromisoformat(r["expires_on"]), r["author"],
                             r["created_at"]) for r in rows]


def json_value(value):
    """A JSON-ready python value: dates as ISO strings, NaN/NaT as None."""
    value = plain(value)
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
