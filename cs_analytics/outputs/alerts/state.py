"""Alert state kept in meta.sqlite across snapshots (tables from store.META_MIGRATIONS):

    alert_signal_state  per (account, signal): shown at the last evaluation?, the episode's
                        start, whether it was handled (alerted, acknowledged, …)
    alert_log           every alert fired, once per episode (UNIQUE account, signal, since)
    alert_deliveries    the Slack messages carrying them: pending → sent, or failed (retried on
                        the next run); `sent` only once Slack answered 200
    alert_runs          one row per (non-dry) evaluation

Acknowledgements and snoozes are user data (cs_analytics.userdata.alert_actions, userdata.sqlite).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

import pandas as pd

from cs_analytics.outputs.alerts.evaluation import Decision, EpisodeState, Key
from cs_analytics.warehouse.store import Store, now_iso


@dataclass(frozen=True)
class Delivery:
    id: int
    mode: str
    payload: dict
    status: str
    attempts: int
    last_error: str | None


def load_states(con: sqlite3.Connection) -> dict[Key, EpisodeState]:
    rows = con.execute(
        "SELECT account_id, signal, active, since, notified, outcome FROM alert_signal_state")
    return {(r["account_id"], r["signal"]): EpisodeState(
        bool(r["active"]), dt.date.fromisoformat(r["since"]), bool(r["notified"]), r["outcome"])
        for r in rows}


def save_states(con: sqlite3.Connection, states: dict[Key, EpisodeState], as_of: dt.date,
                snapshot_id: str | None) -> None:
    now = now_iso()
    con.executemany(
        "INSERT INTO alert_signal_state (account_id, signal, active, since, notified, outcome, "
        "as_of, snapshot_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account_id, signal) DO UPDATE SET active = excluded.active, "
        "since = excluded.since, notified = excluded.notified, outcome = excluded.outcome, "
        "as_of = excluded.as_of, snapshot_id = excluded.snapshot_id, "
        "updated_at = excluded.updated_at",
        [(a, s, int(st.active), st.since.isoformat(), int(st.notified), st.outcome,
          as_of.isoformat(), snapshot_id, now) for (a, s), st in states.items()])


def has_evaluated(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT count(*) FROM alert_runs").fetchone()[0] > 0


def record_run(con: sqlite3.Connection, as_of: dt.date, snapshot_id: str | None, shown: int,
               fired: int) -> None:
    con.execute("INSERT INTO alert_runs (evaluated_at, as_of, snapshot_id, shown, fired) "
                "VALUES (?, ?, ?, ?, ?)", (now_iso(), as_of.isoformat(), snapshot_id, shown, fired))


def last_fired_on(con: sqlite3.Connection) -> dict[Key, dt.date]:
    rows = con.execute("SELECT account_id, signal, max(fired_on) AS fired_on FROM alert_log "
                       "GROUP BY account_id, signal")
    return {(r["account_id"], r["signal"]): dt.date.fromisoformat(r["fired_on"]) for r in rows}


def enqueue(con: sqlite3.Connection, mode: str, payload: dict) -> int:
    cur = con.execute(
        "INSERT INTO alert_deliveries (created_at, mode, payload) VALUES (?, ?, ?)",
        (now_iso(), mode, json.dumps(payload, ensure_ascii=False)))
    return int(cur.lastrowid)


def record_alert(con: sqlite3.Connection, decision: Decision, *, today: dt.date,
                 as_of: dt.date, snapshot_id: str | None, delivery_id: int) -> None:
    s = decision.shown
    con.execute(
        "INSERT INTO alert_log (account_id, signal, since, fired_on, fired_at, as_of, "
        "snapshot_id, evidence, delivery_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (s.account_id, s.signal, decision.since.isoformat(), today.isoformat(), now_iso(),
         as_of.isoformat(), snapshot_id, json.dumps(s.evidence, ensure_ascii=False, default=str),
         delivery_id))


def due_deliveries(con: sqlite3.Connection) -> list[Delivery]:
    """Messages not yet accepted by Slack (new ones and failed ones), oldest first."""
    rows = con.execute("SELECT id, mode, payload, status, attempts, last_error "
                       "FROM alert_deliveries WHERE status IN ('pending', 'failed') ORDER BY id")
    return [Delivery(r["id"], r["mode"], json.loads(r["payload"]), r["status"], r["attempts"],
                     r["last_error"]) for r in rows]


def mark_attempt(con: sqlite3.Connection, delivery_id: int, *, ok: bool, attempts: int,
                 error: str | None) -> None:
    now = now_iso()
    con.execute(
        "UPDATE alert_deliveries SET status = ?, attempts = attempts + ?, last_error = ?, "
        "last_attempt_at = ?, sent_at = CASE WHEN ? THEN ? ELSE sent_at END WHERE id = ?",
        ("sent" if ok else "failed", attempts, None if ok else error, now, ok, now, delivery_id))


# ---------------------------------------------------------------------------- reading (pages)


def delivery_log(store: Store, limit: int = 50) -> pd.DataFrame:
    """The latest Slack messages: id, created_at, mode, status, attempts, last_error, sent_at,
    alerts (how many alerts the message carries); newest first."""
    columns = ["id", "created_at", "mode", "status", "attempts", "last_error", "sent_at",
               "alerts"]
    con = store.meta_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT d.id, d.created_at, d.mode, d.status, d.attempts, d.last_error, d.sent_at, "
            "(SELECT count(*) FROM alert_log l WHERE l.delivery_id = d.id) AS alerts "
            "FROM alert_deliveries d ORDER BY d.id DESC LIMIT ?", (limit,)).fetchall()
    finally:
        con.close()
    return pd.DataFrame([dict(r) for r in rows], columns=columns)


def fired_alerts(store: Store, since: dt.date | None = None) -> pd.DataFrame:
    """Alerts fired (newest first): account_id, signal, since, fired_on, as_of, evidence
    (dict), delivery status."""
    columns = ["account_id", "signal", "since", "fired_on", "as_of", "evidence", "status"]
    con = store.meta_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT l.account_id, l.signal, l.since, l.fired_on, l.as_of, l.evidence, d.status "
            "FROM alert_log l LEFT JOIN alert_deliveries d ON d.id = l.delivery_id "
            "WHERE ? IS NULL OR l.fired_on >= ? ORDER BY l.id DESC",
            (since and since.isoformat(), since and since.isoformat())).fetchall()
    finally:
        con.close()
    records = [{**dict(r), "evidence": json.loads(r["evidence"])} for r in rows]
    return pd.DataFrame(records, columns=columns)
