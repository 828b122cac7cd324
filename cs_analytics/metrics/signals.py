"""Churn-risk signals (SPEC §4 "Risk signals"): their ids, the evidence each one carries, and the
signals active accounts show on a snapshot day — read by the CLI, the alerts and the pages.

Signals are computed by model 45 (fct_signals_weekly: every Monday and the as-of date, with
`since`, the first snapshot day of the current run, and `entered`); thresholds come from the
[signals] settings; definitions in docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.metrics.base import json_value, stable_types
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.held import per_account
from cs_analytics.metrics.weekly import counts_on, mart_on, snapshot_day_for

SIGNALS = ("no_login_60d", "deliveries_drop_50", "no_contact_60d", "health_red",
           "renewal_at_risk", "notice_deadline_near")
# Signal rows by account, then in the order of SIGNALS (signals_on and keys_on).
_ORDER_BY = ("ORDER BY s.account_id, list_position(["
             + ", ".join(f"'{name}'" for name in SIGNALS) + "], s.signal)")

# The evidence fields that explain each signal (all are columns of fct_signals_weekly).
EVIDENCE: dict[str, tuple[str, ...]] = {
    "no_login_60d": ("last_login_date", "days_since_login"),
    "deliveries_drop_50": ("deliveries_last_window", "deliveries_previous_window"),
    "no_contact_60d": ("last_contact_date", "last_contact_type", "days_since_contact"),
    "health_red": ("score", "band", "top_detractor"),
    "renewal_at_risk": ("contract_end_date", "days_to_end", "band", "score"),
    "notice_deadline_near": ("notice_contract_id", "notice_deadline", "days_to_notice_deadline",
                             "band", "score"),
}

# What an alert message needs beside the evidence.
CONTEXT_COLUMNS = ["account_id", "name", "owner_id", "owner_name", "owner_manager_id", "segment",
                   "mrr", "last_contact_date", "last_contact_type", "sf_url", "score", "band"]


@per_account
def signals_on(snap, day: dt.date | None = None, signals: tuple[str, ...] = (),
               filters: Filters | None = None, account_id: str | None = None) -> pd.DataFrame:
    """Signals shown on the snapshot in effect on `day` (default: the as-of date): every
    fct_signals_weekly column plus name, owner_id, owner_name, owner_manager_id, segment, mrr
    and sf_url; by account then signal order."""
    day = snapshot_day_for(snap, day)
    _check_names(signals)
    where, params = condition(filters, snap, "s.account_id")
    tables = _tables_on(snap, day)
    return stable_types(snap.query(f"""
        SELECT s.*, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name,
               u.manager_id AS owner_manager_id, g.segment, h.mrr, a.sf_url
        FROM {tables[0]}
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN {tables[1]}
        LEFT JOIN {tables[2]}
        WHERE s.snapshot_day = $day
          AND (len($signals) = 0 OR list_contains($signals, s.signal))
          AND ($account_id IS NULL OR s.account_id = $account_id)
          AND {where}
        {_ORDER_BY}
    """, {**params, "day": day, "signals": list(signals), "account_id": account_id}),
        text=("notice_contract_id",), ints=("days_to_notice_deadline",))


@per_account
def keys_on(snap, day: dt.date | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """The rows of `signals_on` as account_id, signal, since only: what an alert's status
    (`alert_actions.with_status`) is decided by. Counting the open alerts needs no names,
    owners or evidence: one table read."""
    day = snapshot_day_for(snap, day)
    where, params = condition(filters, snap, "s.account_id")
    return snap.query(f"""
        SELECT s.account_id, s.signal, s.since
        FROM {_tables_on(snap, day)[0]}
        WHERE s.snapshot_day = $day AND {where}
        {_ORDER_BY}
    """, {**params, "day": day})


def _tables_on(snap, day: dt.date) -> tuple[str, str, str]:
    """The signals, segment and health tables of snapshot day `day`, as FROM/JOIN items."""
    if mart_on(snap, "fct_signals_weekly", day) == "fct_signals_current":
        return ("fct_signals_current s",
                "fct_segment_current g USING (account_id)",
                "fct_health_current h USING (account_id)")
    return ("fct_signals_weekly s",
            "fct_segment_history g USING (account_id, snapshot_day)",
            "fct_health_weekly h USING (account_id, snapshot_day)")


def _check_names(names) -> None:
    unknown = [s for s in names if s not in SIGNALS]
    if unknown:
        raise ValueError(f"signal '{unknown[0]}': expected one of {', '.join(SIGNALS)}")


def only(shown: pd.DataFrame, *names: str) -> pd.DataFrame:
    """The rows of `signals_on` output showing one of `names`, in the same order — what
    `signals_on(..., signals=names)` returns, without another query."""
    _check_names(names)
    return shown[shown["signal"].isin(names)].reset_index(drop=True)


def evidence(row) -> dict:
    """The evidence fields of one signal row, JSON-ready."""
    return {field: json_value(row[field]) for field in EVIDENCE[row["signal"]]}


def by_account(frame: pd.DataFrame) -> dict[str, list[dict]]:
    """{account_id: [{id, since, **evidence}, …]} from `signals_on`."""
    out: dict[str, list[dict]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(row["account_id"], []).append(
            {"id": row["signal"], "since": json_value(row["since"]), **evidence(row)})
    return out


def counts(snap, day: dt.date | None = None, filters: Filters | None = None) -> dict[str, int]:
    """Accounts showing each signal on the snapshot in effect on `day` (every signal present)."""
    return counts_on(snap, "fct_signals_weekly", "signal", SIGNALS, day, filters)


def history(snap, account_id: str) -> pd.DataFrame:
    """The account's signals on every snapshot day: snapshot_day, signal, since, entered and
    the evidence columns; oldest first."""
    return snap.query("""
        SELECT * FROM fct_signals_weekly WHERE account_id = $id ORDER BY snapshot_day, signal
    """, {"id": account_id})


def entries(snap, since: dt.date | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """When accounts entered a signal (a snapshot day showing it after one that did not):
    account_id, name, signal, snapshot_day; newest first."""
    where, params = condition(filters, snap, "s.account_id")
    return snap.query(f"""
        SELECT s.account_id, a.name, s.signal, s.snapshot_day
        FROM fct_signals_weekly s JOIN accounts a USING (account_id)
        WHERE s.entered AND ($since IS NULL OR s.snapshot_day >= $since) AND {where}
        ORDER BY s.snapshot_day DESC, a.name, s.signal
    """, {**params, "since": since})
