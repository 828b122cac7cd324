"""The commentary of a quarter's KPI report (四半期コメント) in the user-data store: what the CS
manager says about the quarter, who wrote it and when. Every save is kept; the latest is the
quarter's commentary. A refresh never touches it."""

from __future__ import annotations

import sqlite3

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.store import Store, now_iso

MAX_COMMENTARY = 10_000


def save_commentary(store: Store, quarter: str, body: str, author: str) -> None:
    """Record the quarter's commentary (an empty text clears it)."""
    body = (body or "").strip()
    if len(body) > MAX_COMMENTARY:
        raise CsAnalyticsError(
            f"commentary: at most {MAX_COMMENTARY:,} characters, got {len(body):,}")
    if not author:
        raise CsAnalyticsError("commentary: the author is missing")
    con = store.userdata_db()
    try:
        con.execute("INSERT INTO kpi_commentary (quarter, body, author, created_at) "
                    "VALUES (?, ?, ?, ?)", (quarter, body, author, now_iso()))
    finally:
        con.close()


def latest(userdata: sqlite3.Connection | None, quarter: str) -> dict | None:
    """The quarter's commentary — {body, author, written_at (UTC ISO)} — or None when nothing
    (or only a cleared text) was written."""
    if userdata is None:
        return None
    row = userdata.execute(
        "SELECT body, author, created_at FROM kpi_commentary WHERE quarter = ? "
        "ORDER BY id DESC LIMIT 1", (quarter,)).fetchone()
    if row is None or not row["body"]:
        return None
    return {"body": row["body"], "author": row["author"], "written_at": row["created_at"]}


def commentary(store: Store, quarter: str) -> dict | None:
    """`latest` read from the store."""
    con = store.userdata_db()
    try:
        return latest(con, quarter)
    finally:
        con.close()
