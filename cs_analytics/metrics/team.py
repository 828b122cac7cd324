"""The CS team view: per owner, the portfolio load and its state (チーム), an owner's portfolio,
the teams weekly reviews are written for, and a team's numbers for one week.

Active customers are the accounts with MRR > 0 in the as-of month (fct_account_mrr_monthly);
health, segments and signals come from the health marts (fct_health_current,
fct_segment_current, fct_signals_current). The owner summary adds up one row per active
customer held in memory; the portfolio is SQL rows held per account; a team's week is SQL.

Teams: each user with role 'manager' leads a team of the users whose manager_id is that manager
(plus the manager); "all" is the whole CS team.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cs_analytics.config import BANDS, SEGMENTS, Settings
from cs_analytics.metrics.filters import Filters, condition, mask
from cs_analytics.metrics.held import Query, held, per_account

ALL_TEAM = "all"


def _active_cte() -> str:
    return """active AS (
            SELECT m.account_id, m.mrr FROM fct_account_mrr_monthly m
            WHERE m.month = (SELECT CAST(date_trunc('month', as_of) AS DATE) FROM params)
              AND m.mrr >= (SELECT mrr_epsilon FROM params)
        )"""


def _select(table: str, columns: str, key: str = "account_id") -> str:
    return f"SELECT {key}, {columns} FROM {table}"


def _owner_rows_sql(snap) -> str:
    """One row per active customer in the accounts table: its owner, MRR, segment, band,
    signal counts and days since the last contact — what the owner summary adds up."""
    health = _select("fct_health_current", "band, last_contact_date")
    segments = _select("fct_segment_current", "segment")
    signals = _select("fct_signals_current", "signal")
    return f"""
        WITH {_active_cte()},
        health AS ({health}),
        segments AS ({segments}),
        signals AS ({signals}),
        signal_counts AS (
            SELECT account_id, count(*) AS n,
                   count(*) FILTER (WHERE signal = 'no_contact_60d') AS no_contact
            FROM signals GROUP BY account_id
        )
        SELECT x.account_id, a.owner_id, x.mrr, s.segment, h.band,
               coalesce(sc.n, 0) AS signals, coalesce(sc.n, 0) > 0 AS with_signals,
               coalesce(sc.no_contact, 0) > 0 AS no_contact,
               p.as_of - h.last_contact_date AS days_since_contact
        FROM active x
        JOIN accounts a USING (account_id)
        CROSS JOIN params p
        LEFT JOIN health h USING (account_id)
        LEFT JOIN segments s USING (account_id)
        LEFT JOIN signal_counts sc USING (account_id)"""


OWNER_ROWS = Query("active customers by owner", _owner_rows_sql, keep=1)
USERS = Query("users by name", """
    SELECT user_id AS owner_id, coalesce(name, user_id) AS owner_name, role, capacity,
           coalesce(active, true) AS active
    FROM users ORDER BY owner_name, owner_id""", keep=1, by_account=False)


def owner_summary(snap, filters: Filters | None = None) -> pd.DataFrame:
    """One row per owner of an active customer (or with a capacity): owner_id, owner_name,
    role, capacity, accounts (active customers), utilization (accounts / capacity), mrr, arr,
    segment_S…segment_C, healthy…danger (band counts), no_score, accounts_with_signals,
    signals, accounts_no_contact (no_contact_60d), avg_days_since_contact,
    max_days_since_contact. Ordered by owner name. Owners without a customer are listed only
    without a filter (their capacity is free)."""
    rows, user_rows = held(snap, OWNER_ROWS), held(snap, USERS)
    users = user_rows.frame()
    kept = mask(filters, snap, rows)
    kept = None if kept is None else np.flatnonzero(kept)
    every = filters is None or filters.is_empty
    n = len(users)
    per_owner = rows.totals(kept, ("owner_id",), ("mrr", "signals", "with_signals",
                                                  "no_contact", "days_since_contact"),
                            maxima=("days_since_contact",))
    # Each owner_id label's user (-1: not a user, left out), and its totals by user.
    user_of = rows.memo("user of owner", lambda: pd.Index(users["owner_id"]).get_indexer(
        rows.codes("owner_id")[1] + [None]))
    known = user_of >= 0

    def by_user(values: np.ndarray, fill=0) -> np.ndarray:  # first axis: owner labels
        out = np.full((n, *values.shape[1:]), fill, dtype=values.dtype)
        out[user_of[known]] = values[known]
        return out

    by_column = {column: rows.totals(kept, ("owner_id", column))
                 for column in ("segment", "band")}

    def counted(column: str, value) -> np.ndarray:
        totals = by_column[column]
        at = totals.labels[1].index(value) if value in totals.labels[1] else None
        return (np.zeros(n, dtype=np.int64) if at is None
                else by_user(totals.count[:, at]))

    accounts = by_user(per_owner.count)
    capacity = user_rows.numbers("capacity")
    with np.errstate(divide="ignore", invalid="ignore"):
        utilization = np.where(capacity > 0, accounts / capacity, np.nan)
    contacted = by_user(per_owner.present["days_since_contact"])
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(contacted > 0,
                           by_user(per_owner.sums["days_since_contact"]) / contacted, np.nan)
    mrr = by_user(per_owner.sums["mrr"])
    columns = {
        "accounts": accounts, "utilization": utilization, "mrr": mrr, "arr": 12 * mrr,
        **{f"segment_{x}": counted("segment", x) for x in SEGMENTS},
        **{b: counted("band", b) for b in BANDS},
        "no_score": counted("band", None),
        "accounts_with_signals": by_user(per_owner.sums["with_signals"]).round().astype(
            np.int64),
        "signals": by_user(per_owner.sums["signals"]),
        "accounts_no_contact": by_user(per_owner.sums["no_contact"]).round().astype(np.int64),
        "avg_days_since_contact": average,
        "max_days_since_contact": by_user(per_owner.maxima["days_since_contact"], np.nan),
    }
    listed = (accounts > 0) | ((capacity > 0) & (user_rows.numbers("active") > 0) & every)
    at = np.flatnonzero(listed)
    chosen = users.take(at)
    return pd.DataFrame({
        **{name: chosen[name].array for name in ("owner_id", "owner_name", "role")},
        "capacity": _whole(capacity[at]),
        **{name: values[at] for name, values in columns.items()},
        "max_days_since_contact": _whole(columns["max_days_since_contact"][at]),
        **{name: columns[name][at].astype(float) for name in ("mrr", "arr", "signals")},
    })


def _whole(values: np.ndarray) -> np.ndarray | pd.arrays.IntegerArray:
    """Whole numbers as DuckDB hands them over: int64, or Int64 when one is missing."""
    missing = np.isnan(values)
    if missing.any():
        return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)
    return values.astype(np.int64)


@per_account
def portfolio(snap, owner_id: str | None = None, filters: Filters | None = None,
              bands: tuple[str, ...] = ()) -> pd.DataFrame:
    """Active customers (of one owner, or all) with their state: account_id, name, owner_id,
    owner_name, industry, mrr, arr, segment, band, score, score_change_4w, top_detractor,
    last_contact_date, days_since_contact, contract_end_date, days_to_end, signals (comma
    separated), sf_url. `bands` keeps those health bands only. Riskiest first (lowest score)."""
    where, params = condition(filters, snap, "a.account_id")
    health = _select("fct_health_current",
                       "band, score, score_change_4w, top_detractor, last_contact_date, "
                       "contract_end_date, days_to_end")
    segments = _select("fct_segment_current", "segment")
    signals = _select("fct_signals_current", "signal")
    return snap.query(f"""
        WITH {_active_cte()},
        health AS ({health}),
        segments AS ({segments}),
        signals AS ({signals}),
        signal_lists AS (
            SELECT account_id, string_agg(signal, ', ' ORDER BY signal) AS signals
            FROM signals GROUP BY account_id
        )
        SELECT a.account_id, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name,
               a.industry, x.mrr, 12 * x.mrr AS arr, s.segment, h.band, h.score,
               h.score_change_4w, h.top_detractor, h.last_contact_date,
               p.as_of - h.last_contact_date AS days_since_contact,
               h.contract_end_date, h.days_to_end, sl.signals, a.sf_url
        FROM active x
        JOIN accounts a USING (account_id)
        CROSS JOIN params p
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN health h USING (account_id)
        LEFT JOIN segments s USING (account_id)
        LEFT JOIN signal_lists sl USING (account_id)
        WHERE ($owner_id IS NULL OR a.owner_id = $owner_id)
          AND (len($bands) = 0 OR list_contains($bands, h.band))
          AND {where}
        ORDER BY h.score NULLS LAST, x.mrr DESC, a.account_id
    """, {**params, "owner_id": owner_id, "bands": list(bands)})


def teams(snap, owner_scope: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The teams weekly reviews are written for: team (key), manager_id, name (the manager's
    name; None for "all"), members. "all" comes first.

    A viewer limited to a portfolio (`owner_scope`, as access.Access gives it) reviews that
    portfolio only, never a team's: one team per owner of the scope, keyed by the owner's
    user id and named after them, with manager_id None and one member."""
    if owner_scope is not None:
        return snap.query("""
            SELECT user_id AS team, CAST(NULL AS VARCHAR) AS manager_id,
                   coalesce(name, user_id) AS name, 1 AS members
            FROM users WHERE list_contains($scope, user_id)
            ORDER BY name, team
        """, {"scope": list(owner_scope)})
    managers = snap.query("""
        SELECT m.user_id AS team, m.user_id AS manager_id, coalesce(m.name, m.user_id) AS name,
               1 + (SELECT count(*) FROM users r WHERE r.manager_id = m.user_id) AS members
        FROM users m
        WHERE m.role = 'manager' AND coalesce(m.active, true)
        ORDER BY name, team
    """)
    total = int(snap.scalar("SELECT count(*) FROM users WHERE coalesce(active, true)") or 0)
    head = pd.DataFrame([{"team": ALL_TEAM, "manager_id": None, "name": None,
                          "members": total}])
    return pd.concat([head, managers], ignore_index=True) if len(managers) else head


def team_owner_ids(snap, team: str, owner_scope: tuple[str, ...] | None = None) -> list[str]:
    """The users of a team: every user for "all", else the manager and their reports. Within
    a portfolio scope (see `teams`) a team is its one owner, and any other key has nobody."""
    if owner_scope is not None:
        return [team] if team in owner_scope else []
    if team == ALL_TEAM:
        return [r[0] for r in snap.rows("SELECT user_id FROM users ORDER BY user_id")]
    return [r[0] for r in snap.rows(
        "SELECT user_id FROM users WHERE user_id = $t OR manager_id = $t ORDER BY user_id",
        {"t": team})]


def week_numbers(snap, owner_ids: list[str], week_start: dt.date, settings: Settings) -> dict:
    """A team's numbers for the week starting on Monday `week_start` (to its Sunday, or the
    as-of date when earlier): the activities its members logged (meetings, emails_calls,
    other), and for the accounts they own on that Monday's health snapshot: accounts (scored),
    healthy…danger, signals_entered (signals the accounts entered on that snapshot day) and
    accounts_no_contact (no_contact_60d). `health_day` is None when that Monday has no
    snapshot (before the history or after as_of)."""
    last_day = min(week_start + dt.timedelta(days=6), snap.as_of)
    acts = snap.query("""
        SELECT count(*) FILTER (WHERE t.type = 'meeting') AS meetings,
               count(*) FILTER (WHERE t.type IN ('email', 'call')) AS emails_calls,
               count(*) FILTER (WHERE t.type = 'other') AS other
        FROM activities t JOIN accounts a USING (account_id)
        WHERE list_contains($owners, coalesce(t.owner_id, a.owner_id))
          AND t.date BETWEEN $first AND $last
    """, {"owners": list(owner_ids), "first": week_start, "last": last_day}).iloc[0]
    result = {"week_start": week_start, "last_day": last_day, "health_day": None,
              **{k: int(acts[k]) for k in ("meetings", "emails_calls", "other")},
              "accounts": 0, **{b: 0 for b in BANDS}, "signals_entered": 0,
              "accounts_no_contact": 0}
    if week_start > snap.as_of:
        return result
    day = snap.scalar("SELECT max(snapshot_day) FROM fct_health_weekly "
                      "WHERE snapshot_day BETWEEN $first AND $last",
                      {"first": week_start, "last": last_day})
    if day is None or pd.isna(day):
        return result
    day = pd.Timestamp(day).date()
    bands = ", ".join(f"count(*) FILTER (WHERE h.band = '{b}') AS {b}" for b in BANDS)
    row = snap.query(f"""
        SELECT count(*) AS accounts, {bands}
        FROM fct_health_weekly h JOIN accounts a USING (account_id)
        WHERE h.snapshot_day = $day AND list_contains($owners, a.owner_id)
    """, {"day": day, "owners": list(owner_ids)}).iloc[0]
    result.update({k: int(row[k]) for k in ("accounts", *BANDS)})
    result["health_day"] = day
    sig = snap.query("""
        SELECT count(*) FILTER (WHERE s.entered) AS signals_entered,
               count(DISTINCT s.account_id) FILTER (WHERE s.signal = 'no_contact_60d')
                   AS accounts_no_contact
        FROM fct_signals_weekly s JOIN accounts a USING (account_id)
        WHERE s.snapshot_day = $day AND list_contains($owners, a.owner_id)
    """, {"day": day, "owners": list(owner_ids)}).iloc[0]
    result.update({k: int(sig[k]) for k in ("signals_entered", "accounts_no_contact")})
    return result
