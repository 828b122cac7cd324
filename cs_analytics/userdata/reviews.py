"""Weekly reviews (週次振り返り) in the user-data store: per team and week, the results, KSF
(key success factors) with repeatable action plans, KFF (key failure factors) with improvement
plans, and dated action plans with an owner and a status.

A week is named by its Monday. Teams are named by the app (see metrics/team.py `teams`); this
module stores whatever team key it is given. A refresh never touches these tables.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.warehouse.store import Store, now_iso

MAX_TEXT = 10_000
PLAN_STATUSES = ("open", "done", "dropped")
REVIEW_FIELDS = ("results", "ksf", "ksf_actions", "kff", "kff_actions")


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week containing `day`."""
    return day - dt.timedelta(days=day.weekday())


def last_complete_week(day: dt.date) -> dt.date:
    """The Monday of the latest week (Monday–Sunday) that has ended by `day`: the week a
    review on `day` looks back on (the week containing `day` itself when `day` is a Sunday)."""
    return week_start(day + dt.timedelta(days=1)) - dt.timedelta(weeks=1)


def _check_text(name: str, value: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CsAnalyticsError(f"{name}: please write something")
    if len(value) > MAX_TEXT:
        raise CsAnalyticsError(f"{name}: at most {MAX_TEXT:,} characters, got {len(value):,}")
    return value


def _check_week(week: dt.date) -> str:
    if week.weekday() != 0:
        raise CsAnalyticsError(f"week {week.isoformat()}: a week is named by its Monday")
    return week.isoformat()


def get_review(store: Store, team: str, week: dt.date) -> dict | None:
    """The review of a team's week, or None when nothing was written yet."""
    con = store.userdata_db(readonly=True)
    try:
        row = con.execute("SELECT * FROM weekly_reviews WHERE team = ? AND week_start = ?",
                          (team, _check_week(week))).fetchone()
    finally:
        con.close()
    return dict(row) if row else None


def save_review(store: Store, team: str, week: dt.date, *, author: str, results: str = "",
                ksf: str = "", ksf_actions: str = "", kff: str = "", kff_actions: str = "") -> None:
    """Create or replace the review of a team's week."""
    values = {name: _check_text(name, value) for name, value in
              (("results", results), ("ksf", ksf), ("ksf_actions", ksf_actions), ("kff", kff),
               ("kff_actions", kff_actions))}
    con = store.userdata_db()
    try:
        con.execute(
            "INSERT INTO weekly_reviews (team, week_start, results, ksf, ksf_actions, kff, "
            "kff_actions, author, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (team, week_start) DO UPDATE SET results = excluded.results, "
            "ksf = excluded.ksf, ksf_actions = excluded.ksf_actions, kff = excluded.kff, "
            "kff_actions = excluded.kff_actions, author = excluded.author, "
            "updated_at = excluded.updated_at",
            (team, _check_week(week), values["results"], values["ksf"], values["ksf_actions"],
             values["kff"], values["kff_actions"], author, now_iso()))
    finally:
        con.close()


def reviews_between(store: Store, first_day: dt.date, last_day: dt.date,
                    team: str | None = None) -> pd.DataFrame:
    """Reviews of the weeks starting in [first_day, last_day], oldest first."""
    con = store.userdata_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT * FROM weekly_reviews WHERE week_start BETWEEN ? AND ? "
            "AND (? IS NULL OR team = ?) ORDER BY week_start, team",
            (first_day.isoformat(), last_day.isoformat(), team, team)).fetchall()
    finally:
        con.close()
    columns = ["team", "week_start", *REVIEW_FIELDS, "author", "updated_at"]
    return pd.DataFrame([dict(r) for r in rows], columns=columns)


def add_action_plan(store: Store, team: str, week: dt.date, *, description: str, author: str,
                    due_date: dt.date | None = None, owner: str = "") -> int:
    """Record a dated action plan for a team's week; returns its id."""
    description = _check_text("description", description, required=True)
    con = store.userdata_db()
    try:
        cur = con.execute(
            "INSERT INTO action_plans (team, week_start, due_date, description, owner, status, "
            "author, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            (team, _check_week(week), due_date.isoformat() if due_date else None, description,
             _check_text("owner", owner), author, now_iso()))
        return int(cur.lastrowid)
    finally:
        con.close()


def set_action_plan_status(store: Store, plan_id: int, status: str) -> None:
    if status not in PLAN_STATUSES:
        raise CsAnalyticsError(f"status '{status}': expected one of {', '.join(PLAN_STATUSES)}")
    con = store.userdata_db()
    try:
        cur = con.execute("UPDATE action_plans SET status = ? WHERE id = ?", (status, plan_id))
        if cur.rowcount == 0:
            raise CsAnalyticsError(f"action plan {plan_id} does not exist")
    finally:
        con.close()


def action_plans(store: Store, team: str | None = None, *, week: dt.date | None = None,
                 first_day: dt.date | None = None, last_day: dt.date | None = None
                 ) -> pd.DataFrame:
    """Action plans of a team (None: every team), of one week or of the weeks starting in
    [first_day, last_day]; ordered by week, due date, id."""
    clauses, params = ["(? IS NULL OR team = ?)"], [team, team]
    if week is not None:
        clauses.append("week_start = ?")
        params.append(_check_week(week))
    if first_day is not None:
        clauses.append("week_start >= ?")
        params.append(first_day.isoformat())
    if last_day is not None:
        clauses.append("week_start <= ?")
        params.append(last_day.isoformat())
    con = store.userdata_db(readonly=True)
    try:
        rows = con.execute(
            "SELECT id, team, week_start, due_date, description, owner, status, author, "
            "created_at FROM action_plans WHERE " + " AND ".join(clauses)
            + " ORDER BY week_start, due_date IS NULL, due_date, id", params).fetchall()
    finally:
        con.close()
    columns = ["id", "team", "week_start", "due_date", "description", "owner", "status",
               "author", "created_at"]
    records = []
    for r in rows:
        record = dict(r)
        for col in ("week_start", "due_date"):
            record[col] = dt.date.fromisoformat(record[col]) if record[col] else None
        records.append(record)
    frame = pd.DataFrame(records, columns=columns)
    for col in ("week_start", "due_date"):
        frame[col] = frame[col].astype("object")
    return frame


def open_action_plans(store: Store, team: str | None = None) -> pd.DataFrame:
    """Open action plans of a team (None: every team) across weeks: due first (soonest
    first), then those without a due date, by week."""
    plans = action_plans(store, team)
    plans = plans[plans["status"] == "open"].reset_index(drop=True)
    order = sorted(range(len(plans)), key=lambda i: (
        plans["due_date"][i] is None, plans["due_date"][i] or plans["week_start"][i],
        plans["week_start"][i], plans["id"][i]))
    return plans.iloc[order].reset_index(drop=True)
