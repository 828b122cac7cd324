"""Notes on an account (顧客カルテのメモ) in the user-data store; a refresh never touches them."""

from __future__ import annotations

import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.store import Store, now_iso

MAX_NOTE = 10_000


def add_note(store: Store, account_id: str, body: str, author: str) -> int:
    """Record a note; returns its id. Empty notes are refused."""
    body = (body or "").strip()
    if not body:
        raise CsAnalyticsError("note: please write something")
    if len(body) > MAX_NOTE:
        raise CsAnalyticsError(f"note: at most {MAX_NOTE:,} characters, got {len(body):,}")
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO notes (account_id, author, body, created_at) VALUES (?, ?, ?, ?)",
            (account_id, author, body, now_iso()))
        return int(cur.lastrowid)
    finally:
        con.close()


def notes(store: Store, account_id: str, limit: int = 100) -> pd.DataFrame:
    """The account's notes, newest first: id, created_at, author, body."""
    con = store.userdata_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT id, created_at, author, body FROM notes WHERE account_id = ? "
            "ORDER BY created_at DESC, id DESC LIMIT ?", (account_id, limit)).fetchall()
    finally:
        con.close()
    return pd.DataFrame([dict(r) for r in rows], columns=["id", "created_at", "author", "body"])
