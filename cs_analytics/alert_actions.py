"""Acknowledging and snoozing alerts (the Monday check's "open alerts"), in the user-data store's
`alert_actions` table; a refresh never touches it.

An alert is an account showing a signal (fct_signals_current, with `since` = the first day of
the current run of that signal). It is:
- acknowledged when an `acknowledge` action for the account and signal was recorded on or after
  `since` (the same episode; when the signal clears and comes back, it is open again);
- snoozed while the latest `snooze` action's `until` date is today (Tokyo) or later;
- open otherwise.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.build import today_tokyo
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.store import Store, now_iso

MAX_COMMENT = 2_000
STATUSES = ("open", "acknowledged", "snoozed")


def _record(store: Store, account_id: str, signal: str, action: str, author: str,
            until: dt.date | None = None, comment: str = "") -> int:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise CsAnalyticsError(f"comment: at most {MAX_COMMENT:,} characters")
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO alert_actions (account_id, signal, action, until, comment, author, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (account_id, signal, action, until.isoformat() if until else None, comment, author,
             now_iso()))
        return int(cur.lastrowid)
    finally:
        con.close()


def acknowledge(store: Store, account_id: str, signal: str, author: str,
                comment: str = "") -> int:
    """Mark the account's current episode of `signal` as seen and handled."""
    return _record(store, account_id, signal, "acknowledge", author, comment=comment)


def snooze(store: Store, account_id: str, signal: str, until: dt.date, author: str,
           comment: str = "", today: dt.date | None = None) -> int:
    """Hide the alert until `until` (inclusive); it must be a future date."""
    today = today or today_tokyo()
    if until <= today:
        raise CsAnalyticsError(f"snooze until {until.isoformat()}: choose a date after today "
                               f"({today.isoformat()})")
    return _record(store, account_id, signal, "snooze", author, until=until, comment=comment)


def actions(store: Store) -> pd.DataFrame:
    """Every recorded action, oldest first: id, account_id, signal, action, until (date),
    comment, author, created_at (date, UTC)."""
    con = store.userdata_db()
    try:
        rows = con.execute(
            "SELECT id, account_id, signal, action, until, comment, author, created_at "
            "FROM alert_actions ORDER BY id").fetchall()
    finally:
        con.close()
    records = []
    for r in rows:
        record = dict(r)
        record["until"] = dt.date.fromisoformat(record["until"]) if record["until"] else None
        record["created_at"] = dt.date.fromisoformat(record["created_at"][:10])
        records.append(record)
    return pd.DataFrame(records, columns=["id", "account_id", "signal", "action", "until",
                                          "comment", "author", "created_at"])


def with_status(signals: pd.DataFrame, recorded: pd.DataFrame,
                today: dt.date | None = None) -> pd.DataFrame:
    """`signals` (account_id, signal, since, …) with status (open / acknowledged / snoozed),
    snoozed_until and handled_by (the author of the action that applies).

    The latest action of each kind per (account, signal) is looked up in a dict of the few
    recorded actions, not by converting every alert row into a dict: the overview and the
    Monday check run this on every rerun, over every alert of the company (thousands at 10,000
    accounts)."""
    today = today or today_tokyo()
    out = signals.copy()
    latest = recorded.drop_duplicates(["account_id", "signal", "action"], keep="last")
    keys = list(zip(out["account_id"].tolist(), out["signal"].tolist()))

    def latest_of(action: str, column: str) -> list:
        rows = latest[latest["action"] == action]  # a few rows: what users recorded
        found = dict(zip(zip(rows["account_id"], rows["signal"]), rows[column]))
        return [found.get(key) for key in keys]

    since = (pd.to_datetime(out["since"]).dt.date.tolist() if len(out) else [])
    ack_at, ack_by = latest_of("acknowledge", "created_at"), latest_of("acknowledge", "author")
    until, snz_by = latest_of("snooze", "until"), latest_of("snooze", "author")
    acknowledged = [a is not None and a == a and s is not None and s == s and a >= s
                    for a, s in zip(ack_at, since)]
    snoozed = [u is not None and u == u and u >= today for u in until]
    status = ["acknowledged" if a else "snoozed" if z else "open"
              for a, z in zip(acknowledged, snoozed)]
    out["status"] = pd.Series(status, index=out.index, dtype="object")
    out["snoozed_until"] = pd.Series(
        [u if z and not a else None for a, z, u in zip(acknowledged, snoozed, until)],
        index=out.index, dtype="object")
    out["handled_by"] = pd.Series(
        [ab if a else sb if z else None
         for a, z, ab, sb in zip(acknowledged, snoozed, ack_by, snz_by)],
        index=out.index, dtype="object")
    return out


def open_only(alerts: pd.DataFrame) -> pd.DataFrame:
    """The rows of `with_status` still open."""
    return alerts[alerts["status"] == "open"].reset_index(drop=True)
