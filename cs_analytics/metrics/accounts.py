"""One account and the lists the app picks accounts and owners from (顧客カルテ, sidebar).

Facts about an account as recorded (profile, contracts, MRR history, monthly usage) and the QBR
candidates, aggregated in SQL; activities are in activity.py, health in the health marts.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.metrics.held import per_account
from cs_analytics.metrics.periods import add_months, last_day, month_start
from cs_analytics.metrics.usage import usage_by_period


def owners(snap) -> pd.DataFrame:
    """Users who own at least one account: user_id, name, accounts (count), by name."""
    return snap.query("""
        SELECT u.user_id, coalesce(u.name, u.user_id) AS name, count(a.account_id) AS accounts
        FROM users u JOIN accounts a ON a.owner_id = u.user_id
        GROUP BY ALL ORDER BY name, u.user_id
    """)


def users(snap) -> pd.DataFrame:
    """The active users (`active` not false): user_id, name, by name — who a task can be
    given to."""
    return snap.query("""
        SELECT user_id, coalesce(name, user_id) AS name FROM users
        WHERE active IS DISTINCT FROM false ORDER BY name, user_id
    """)


def industries(snap) -> list[str]:
    """Distinct non-empty industries, sorted."""
    return [r[0] for r in snap.rows(
        "SELECT DISTINCT industry FROM accounts WHERE coalesce(industry, '') <> '' ORDER BY 1")]


@per_account
def account_list(snap, filters: Filters | None = None) -> pd.DataFrame:
    """Accounts for a picker: account_id, name, owner_name, mrr at the as-of month (0 when not
    a customer now), active (bool). Active customers first, then by name."""
    where, params = condition(filters, snap, "a.account_id")
    return snap.query(f"""
        WITH current AS (
            SELECT account_id, mrr FROM fct_account_mrr_monthly
            WHERE month = (SELECT CAST(date_trunc('month', as_of) AS DATE) FROM params)
        )
        SELECT a.account_id, a.name, coalesce(u.name, a.owner_id) AS owner_name,
               coalesce(c.mrr, 0) AS mrr, coalesce(c.mrr, 0) > 0 AS active
        FROM accounts a
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN current c USING (account_id)
        WHERE {where}
        ORDER BY active DESC, a.name, a.account_id
    """, params)


def profile(snap, account_id: str) -> dict | None:
    """The account's record with its owner, first customer month, current MRR/ARR and the
    latest contract end; None when the account does not exist."""
    frame = snap.query("""
        WITH m AS (
            SELECT account_id, min(first_month) AS first_month,
                   max(mrr) FILTER (WHERE month = (SELECT CAST(date_trunc('month', as_of) AS DATE)
                                                   FROM params)) AS mrr
            FROM fct_account_mrr_monthly WHERE account_id = $id GROUP BY account_id
        ),
        c AS (
            SELECT account_id, max(end_date) AS last_end_date, min(start_date) AS first_start_date,
                   count(*) AS contracts
            FROM contracts WHERE account_id = $id GROUP BY account_id
        ),
        t AS (
            SELECT account_id, max(date) FILTER (WHERE type IN ('meeting', 'email', 'call'))
                       AS last_contact_date,
                   max(date) FILTER (WHERE type = 'meeting') AS last_meeting_date
            FROM activities WHERE account_id = $id GROUP BY account_id
        )
        SELECT a.account_id, a.name, a.owner_id, coalesce(u.name, a.owner_id) AS owner_name,
               u.email AS owner_email, a.industry, a.phase, a.created_date, a.churn_reason,
               a.parent_id, a.sf_url, m.first_month, coalesce(m.mrr, 0) AS mrr,
               12 * coalesce(m.mrr, 0) AS arr, c.first_start_date, c.last_end_date,
               coalesce(c.contracts, 0) AS contracts, t.last_contact_date, t.last_meeting_date,
               (SELECT as_of FROM params) AS as_of
        FROM accounts a
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN m USING (account_id)
        LEFT JOIN c USING (account_id)
        LEFT JOIN t USING (account_id)
        WHERE a.account_id = $id
    """, {"id": account_id})
    if frame.empty:
        return None
    row = {k: (None if _is_missing(v) else v) for k, v in frame.iloc[0].to_dict().items()}
    for key in ("created_date", "first_month", "first_start_date", "last_end_date",
                "last_contact_date", "last_meeting_date", "as_of"):
        if row[key] is not None:
            row[key] = pd.Timestamp(row[key]).date()
    row["days_since_contact"] = (
        (row["as_of"] - row["last_contact_date"]).days if row["last_contact_date"] else None)
    return row


def contracts(snap, account_id: str) -> pd.DataFrame:
    """The account's contracts, newest first, with their MRR and whether each is active on the
    as-of date (renewal grace applied)."""
    return snap.query("""
        SELECT c.contract_id, c.start_date, c.end_date, c.type, c.status, c.amount,
               m.mrr, m.active_until,
               (m.mrr IS NOT NULL AND c.start_date <= p.as_of
                AND (m.active_until IS NULL OR m.active_until >= p.as_of)) AS active,
               c.churn_reason
        FROM contracts c
        JOIN int_contract_mrr m USING (contract_id)
        CROSS JOIN params p
        WHERE c.account_id = $id
        ORDER BY c.start_date DESC, c.contract_id
    """, {"id": account_id})


def mrr_history(snap, account_id: str) -> pd.DataFrame:
    """The account's MRR per month (first customer month to as-of) with its movement."""
    return snap.query("""
        SELECT month, mrr, previous_mrr, movement, movement_amount
        FROM fct_account_mrr_monthly WHERE account_id = $id ORDER BY month
    """, {"id": account_id})


def usage_by_month(snap, account_id: str, months: int = 12, settings=None) -> pd.DataFrame:
    """Usage sums per calendar month over the last `months` months up to as-of (the as-of month
    is partial): month, deliveries, logins, viewers, registrants, conversions, conversion_rate.
    Empty when the account has no usage data at all."""
    as_of = snap.as_of
    start = add_months(month_start(as_of), -(months - 1))
    ranges = []
    for i in range(months):
        first = add_months(start, i)
        ranges.append((first.isoformat(), first, min(last_day(first), as_of)))
    frame = usage_by_period(snap, ranges, [account_id], settings)
    if frame.empty or not bool(frame["has_usage"].iloc[0]):
        return frame.iloc[0:0]
    frame["month"] = pd.to_datetime(frame["first_day"]).dt.date
    return frame[["month", "deliveries", "logins", "viewers", "registrants", "conversions",
                  "conversion_rate"]].reset_index(drop=True)


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


QBR_SEGMENTS = ("S", "A")
QBR_KEYWORD = "QBR"  # a meeting whose subject contains this (any case) counts as a QBR


@per_account
def qbr_candidates(snap, first_day: dt.date, last_day: dt.date,
                   filters: Filters | None = None) -> pd.DataFrame:
    """Active customers in segment S or A (QBRs are held for them every quarter) with whether
    a QBR meeting (subject containing QBR_KEYWORD) took place in [first_day, last_day]:
    account_id, name, owner_name, segment, band, score, arr, contract_end_date, last_qbr_date
    (latest ever), qbr_done (in the range). Not yet done first, then by contract end."""
    where, params = condition(filters, snap, "a.account_id")
    return snap.query(f"""
        WITH qbr AS (
            SELECT account_id, max(date) AS last_qbr_date,
                   max(date) FILTER (WHERE date BETWEEN $first AND $last) AS qbr_in_range
            FROM activities
            WHERE type = 'meeting' AND contains(upper(coalesce(subject, '')), $keyword)
            GROUP BY account_id
        )
        SELECT a.account_id, a.name, coalesce(u.name, a.owner_id) AS owner_name, s.segment,
               h.band, h.score, s.arr, h.contract_end_date, q.last_qbr_date,
               q.qbr_in_range IS NOT NULL AS qbr_done
        FROM fct_segment_current s
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN fct_health_current h USING (account_id)
        LEFT JOIN qbr q USING (account_id)
        WHERE list_contains($segments, s.segment) AND {where}
        ORDER BY qbr_done, h.contract_end_date NULLS LAST, s.segment, a.name, a.account_id
    """, {**params, "first": first_day, "last": last_day, "keyword": QBR_KEYWORD.upper(),
          "segments": list(QBR_SEGMENTS)})
