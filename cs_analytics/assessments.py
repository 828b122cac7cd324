"""Manual health assessments (SPEC §4): a CS member's band + comment + expiry date for an
account, in the user-data store. Shown next to the computed score, never replacing it, and
ignored once expired (an assessment is valid through its expiry date)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.config import BANDS
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.store import Store, now_iso

MAX_COMMENT = 2_000


def record(store: Store, account_id: str, band: str, expires_on: dt.date, author: str,
           comment: str = "", today: dt.date | None = None) -> int:
    """Record an assessment; the expiry must not be in the past."""
    today = today or dt.date.today()
    if band not in BANDS:
        raise CsAnalyticsError(f"band '{band}': expected one of {', '.join(BANDS)}")
    if expires_on < today:
        raise CsAnalyticsError(f"expiry {expires_on.isoformat()} is in the past; choose "
                               f"{today.isoformat()} or later")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise CsAnalyticsError(f"comment: at most {MAX_COMMENT:,} characters")
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO manual_assessments (account_id, band, comment, expires_on, author, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, band, comment, expires_on.isoformat(), author, now_iso()))
        return int(cur.lastrowid)
    finally:
        con.close()


def history(store: Store, account_id: str) -> pd.DataFrame:
    """Every assessment of the account, newest first: id, band, comment, expires_on (date),
    author, created_at."""
    con = store.userdata_db()
    try:
        rows = con.execute(
            "SELECT id, band, comment, expires_on, author, created_at FROM manual_assessments "
            "WHERE account_id = ? ORDER BY id DESC", (account_id,)).fetchall()
    finally:
        con.close()
    records = [{**dict(r), "expires_on": dt.date.fromisoformat(r["expires_on"])} for r in rows]
    return pd.DataFrame(records, columns=["id", "band", "comment", "expires_on", "author",
                                          "created_at"])


def current(store: Store, account_id: str, today: dt.date | None = None) -> dict | None:
    """The latest assessment still valid today, or None."""
    today = today or dt.date.today()
    for row in history(store, account_id).to_dict("records"):
        if row["expires_on"] >= today:
            return row
    return None
