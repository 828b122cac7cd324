"""The CS team view: per owner, the portfolio load and its state (チーム), an owner's portfolio,
the teams weekly reviews are written for, and a team's numbers for one week.

Active customers are the accounts with MRR > 0 in the as-of month (fct_account_mrr_monthly);
health, segments and signals come from the health marts (fct_health_current,
fct_segment_current, fct_signals_current). Everything is aggregated in SQL, but for the owner
summary, which sums one SQL row per active customer in memory (a filter keeps its accounts' rows).

Teams: each user with role 'manager' leads a team of the users whose manager_id is that manager
(plus the manager); "all" is the whole CS team.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cs_analytics.config import BANDS, SEGMENTS, Settings
from cs_analytics.metrics.filters import Filters, account_positions, condition, rows_kept

ALL_TEAM = "all"


def _active_cte() -> str:
    return """active AS (
            SELECT m.account_id, m.mrr FROM fct_account_mrr_monthly m
            WHERE m.month = (SELECT CAST(date_trunc('month', as_of) AS DATE) FROM params)
              AND m.mrr >= (SELECT mrr_epsilon FROM params)
        )"""


def _optional(snap, table: str, columns: str, key: str = "account_id") -> str:
    """A health mart, or an empty stand-in when the snapshot was built without it."""
    if snap.has_table(table):
        return f"SELECT {key}, {columns} FROM {table}"
    nulls = ", ".join(f"NULL AS {c.split(' AS ')[-1].strip()}" for c in columns.split(","))
    return f"SELECT NULL::VARCHAR AS {key}, {nulls} WHERE false"


def owner_summary(snap, filters: Filters | None = None) -> pd.DataFrame:
    """One row per owner of an active customer (or with a capacity): owner_id, owner_name,
    role, capacity, accounts (active customers), utilization (accounts / capacity), mrr, arr,
    segment_S…segment_C, healthy…danger (band counts), no_score, accounts_with_signals,
    signals, accounts_no_contact (no_contact_60d), avg_days_since_contact,
    max_days_since_contact. Ordered by owner name.

    Summed from one row per active customer (`_OwnerRows`, read once per snapshot file): a
    filter keeps the rows of the accounts it selects (`filters.rows_kept`), so a
    filter change costs ~1 ms at 10,000 accounts instead of a ~20 ms query. Owners without a
    customer are listed only without a filter (their capacity is free). Each column is what
    `SELECT … GROUP BY owner` over those rows gives (tests/test_metrics_demo.py holds it to
    that query for every kind of filter)."""
    rows = snap.derived_once("owner_summary", None, lambda: _OwnerRows.read(snap))
    return rows.summary(snap, filters)


class _OwnerRows:
    """Each active customer (its account in the accounts table) with what the summary sums,
    and the users (owners) in the summary's order."""

    def __init__(self, rows: pd.DataFrame, users: pd.DataFrame, account: np.ndarray):
        self.users = users
        self.account = account  # the row's account, a position in the filter attributes
        self.owner = pd.Index(users["owner_id"]).get_indexer(rows["owner_id"])  # -1: no user
        self.mrr = rows["mrr"].to_numpy(dtype=float)
        self.segment = rows["segment"].to_numpy(dtype=object, na_value=None)
        self.band = rows["band"].to_numpy(dtype=object, na_value=None)
        self.signals = rows["signals"].to_numpy(dtype=np.int64)
        self.no_contact = rows["no_contact"].to_numpy(dtype=np.int64)
        self.days = rows["days_since_contact"].to_numpy(dtype=float, na_value=np.nan)

    @classmethod
    def read(cls, snap) -> "_OwnerRows":
        health = _optional(snap, "fct_health_current", "band, last_contact_date")
        segments = _optional(snap, "fct_segment_current", "segment")
        signals = _optional(snap, "fct_signals_current", "signal")
        rows = snap.query(f"""
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
                   coalesce(sc.n, 0) AS signals, coalesce(sc.no_contact, 0) AS no_contact,
                   p.as_of - h.last_contact_date AS days_since_contact
            FROM active x
            JOIN accounts a USING (account_id)
            CROSS JOIN params p
            LEFT JOIN health h USING (account_id)
            LEFT JOIN segments s USING (account_id)
            LEFT JOIN signal_counts sc USING (account_id)""")
        users = snap.query("""
            SELECT user_id AS owner_id, coalesce(name, user_id) AS owner_name, role, capacity,
                   coalesce(active, true) AS active
            FROM users ORDER BY owner_name, owner_id""")
        return cls(rows, users, account_positions(snap, rows["account_id"]))

    def summary(self, snap, filters: Filters | None) -> pd.DataFrame:
        every = filters is None or filters.is_empty
        keep = (self.owner >= 0) & rows_kept(snap, self.account, filters)
        owner, n = self.owner[keep], len(self.users)

        def count(where=None) -> np.ndarray:
            return np.bincount(owner if where is None else owner[where], minlength=n)

        def total(values) -> np.ndarray:
            return np.bincount(owner, weights=values, minlength=n)

        segment, band, days = self.segment[keep], self.band[keep], self.days[keep]
        accounts = count()
        capacity = self.users["capacity"].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            utilization = np.where(capacity > 0, accounts / capacity, np.nan)
        dated = ~np.isnan(days)
        contacted = count(dated)
        latest = np.full(n, -np.inf)
        np.maximum.at(latest, owner[dated], days[dated])
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(contacted > 0, total(np.where(dated, days, 0.0)) / contacted,
                               np.nan)
        mrr = total(self.mrr[keep])
        columns = {
            "accounts": accounts, "utilization": utilization, "mrr": mrr, "arr": 12 * mrr,
            **{f"segment_{x}": count(segment == x) for x in SEGMENTS},
            **{b: count(band == b) for b in BANDS},
            "no_score": count(pd.isna(band)),
            "accounts_with_signals": count(self.signals[keep] > 0),
            "signals": total(self.signals[keep].astype(float)),
            "accounts_no_contact": count(self.no_contact[keep] > 0),
            "avg_days_since_contact": average,
            "max_days_since_contact": np.where(contacted > 0, latest, np.nan),
        }
        listed = (accounts > 0) | ((capacity > 0) & self.users["active"].to_numpy(dtype=bool)
                                   & every)
        at = np.flatnonzero(listed)
        users = self.users.take(at)
        return pd.DataFrame({
            **{name: users[name].array for name in ("owner_id", "owner_name", "role")},
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


def portfolio(snap, owner_id: str | None = None, filters: Filters | None = None,
              bands: tuple[str, ...] = ()) -> pd.DataFrame:
    """Active customers (of one owner, or all) with their state: account_id, name, owner_id,
    owner_name, industry, mrr, arr, segment, band, score, score_change_4w, top_detractor,
    last_contact_date, days_since_contact, contract_end_date, days_to_end, signals (comma
    separated), sf_url. `bands` keeps those health bands only. Riskiest first (lowest score)."""
    where, params = condition(filters, snap, "a.account_id")
    health = _optional(snap, "fct_health_current",
                       "band, score, score_change_4w, top_detractor, last_contact_date, "
                       "contract_end_date, days_to_end")
    segments = _optional(snap, "fct_segment_current", "segment")
    signals = _optional(snap, "fct_signals_current", "signal")
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
    if not snap.has_table("fct_health_weekly") or week_start > snap.as_of:
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
    if snap.has_table("fct_signals_weekly"):
        sig = snap.query("""
            SELECT count(*) FILTER (WHERE s.entered) AS signals_entered,
                   count(DISTINCT s.account_id) FILTER (WHERE s.signal = 'no_contact_60d')
                       AS accounts_no_contact
            FROM fct_signals_weekly s JOIN accounts a USING (account_id)
            WHERE s.snapshot_day = $day AND list_contains($owners, a.owner_id)
        """, {"day": day, "owners": list(owner_ids)}).iloc[0]
        result.update({k: int(sig[k]) for k in ("signals_entered", "accounts_no_contact")})
    return result
