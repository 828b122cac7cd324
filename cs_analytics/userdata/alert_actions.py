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

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.build import today_tokyo
from cs_analytics.warehouse.store import Store, now_iso

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
    con = store.userdata_db(readonly=True)
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
    snoozed_until and handled_by (the author of the action that applies)."""
    out = signals.copy()
    status, snoozed_until, handled_by = _statuses(signals, recorded, today)
    out["status"] = pd.Series(status, index=out.index, dtype="object")
    out["snoozed_until"] = pd.Series(snoozed_until, index=out.index, dtype="object")
    out["handled_by"] = pd.Series(handled_by, index=out.index, dtype="object")
    return out


def open_count(signals: pd.DataFrame, recorded: pd.DataFrame,
               today: dt.date | None = None) -> int:
    """How many of `signals` are open (`with_status`), without making the frame."""
    return _statuses(signals, recorded, today)[0].count("open")


def _statuses(signals: pd.DataFrame, recorded: pd.DataFrame,
              today: dt.date | None) -> tuple[list, list, list]:
    """Per row of `signals`: its status, snoozed_until and handled_by (`with_status`).

    Only the alerts someone acted on are looked at: the latest action of each kind per
    (account, signal) is kept in a dict of the few recorded actions, and the others are open.
    The overview and the Monday check run this on every rerun, over every alert of the
    company (thousands at 10,000 accounts)."""
    today = today or today_tokyo()
    # (account, signal) → {action: (created_at, until, author) of its latest one}
    acted: dict[tuple, dict[str, tuple]] = {}
    for account, signal, action, *facts in zip(*(recorded[c].tolist() for c in (
            "account_id", "signal", "action", "created_at", "until", "author"))):
        acted.setdefault((account, signal), {})[action] = facts  # in order: the last one wins
    status, snoozed_until, handled_by = (["open"] * len(signals), [None] * len(signals),
                                         [None] * len(signals))
    if acted and len(signals):
        keys = zip(signals["account_id"].tolist(), signals["signal"].tolist())
        hits = [(i, acted[key]) for i, key in enumerate(keys) if key in acted]
        since = pd.to_datetime(signals["since"].iloc[[i for i, _ in hits]]).dt.date.tolist()
        for (i, actions), started in zip(hits, since):
            ack_at, _, ack_by = actions.get("acknowledge", (None, None, None))
            _, until, snoozed_by = actions.get("snooze", (None, None, None))
            if _present(ack_at) and _present(started) and ack_at >= started:
                status[i], handled_by[i] = "acknowledged", ack_by
            elif _present(until) and until >= today:
                status[i], snoozed_until[i], handled_by[i] = "snoozed", until, snoozed_by
    return status, snoozed_until, handled_by


def _present(value) -> bool:
    """Not None and not NaN/NaT (a missing value of a pandas column)."""
    return value is not None and value == value


def open_only(alerts: pd.DataFrame) -> pd.DataFrame:
    """The rows of `with_status` still open."""
    return alerts[alerts["status"] == "open"].reset_index(drop=True)
