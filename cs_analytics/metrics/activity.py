"""CS activity metrics (meetings, emails/calls, contact gaps, onboarding completions) per owner
and per account, aggregated in SQL over the canonical activities and the contract marts.

Definitions (docs/reports.md repeats them for readers of the KPI report):

- **Active customer on a day d**: Σ MRR of the account's contracts with
  start_date ≤ d ≤ active_until (renewal grace applied, `int_contract_mrr`) is > 0 — the same
  rule the MRR spine uses on snapshot days.
- **Activity owner**: the activity's owner_id, or the account's owner when the activity has none.
  Meetings and emails/calls count for the activity owner; accounts, contact gaps and onboarding
  count for the account's (current) owner.
- **Contact**: a meeting, email or call ('other' activities are not contact, as in SPEC §4's
  no_contact_60d). An active customer is **without contact** at d when d − (its last contact on
  or before d) ≥ `signals.no_contact_days`; an account never contacted counts from the later of
  its first contract's start and the start of the activity history (so a customer of a few days
  is not "without contact"), and without any activity history nobody is — the same rule as the
  no_contact_60d signal.
- **Onboarding completion**: onboarding starts on the start date of the account's first
  contract with MRR > 0 and ends `health.onboarding_days` (90) days later, on the completion
  day. The account completes onboarding on that day when (1) it is still an active customer
  then, (2) a kickoff meeting took place between `reports.onboarding_kickoff_lead_days` days
  before the start and the completion day, and (3) it delivered at least one event (usage
  deliveries > 0) by the completion day. A period's completions are the accounts whose
  completion day falls in it and that meet all three; the others whose completion day falls in
  it did not complete.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd

from cs_analytics.config import Settings
from cs_analytics.metrics.usage import DateRange, ranges_cte

CONTACT_TYPES = ("meeting", "email", "call")

_ACTIVE_ON_DAY = """
    SELECT c.account_id
    FROM int_contract_mrr c
    WHERE c.mrr IS NOT NULL AND c.start_date <= CAST(? AS DATE)
      AND (c.active_until IS NULL OR c.active_until >= CAST(? AS DATE))
    GROUP BY c.account_id
    HAVING sum(c.mrr) >= (SELECT mrr_epsilon FROM params)
"""

_FIRST_START = """
    SELECT c.account_id, min(c.start_date) AS onboarding_start
    FROM int_contract_mrr c
    WHERE c.mrr >= (SELECT mrr_epsilon FROM params)
    GROUP BY c.account_id
"""


def _onboarding_sql() -> str:
    """Onboarding rows for accounts whose completion day is in [?, ?]; parameters: first_day,
    last_day, onboarding_days, kickoff_lead_days."""
    return f"""
        WITH b AS (SELECT CAST(? AS DATE) AS first_day, CAST(? AS DATE) AS last_day,
                          CAST(? AS INTEGER) AS days, CAST(? AS INTEGER) AS lead_days),
        starts AS ({_FIRST_START}),
        due AS (
            SELECT s.account_id, s.onboarding_start,
                   CAST(s.onboarding_start + b.days AS DATE) AS completion_day, b.lead_days
            FROM starts s CROSS JOIN b
            WHERE s.onboarding_start + b.days BETWEEN b.first_day AND b.last_day
        ),
        active_then AS (
            SELECT d.account_id
            FROM due d
            JOIN int_contract_mrr c ON c.account_id = d.account_id
            WHERE c.mrr IS NOT NULL AND c.start_date <= d.completion_day
              AND (c.active_until IS NULL OR c.active_until >= d.completion_day)
            GROUP BY d.account_id
            HAVING sum(c.mrr) >= (SELECT mrr_epsilon FROM params)
        ),
        kickoff AS (
            SELECT d.account_id, min(a.date) AS kickoff_date
            FROM due d
            JOIN activities a ON a.account_id = d.account_id AND a.type = 'meeting'
             AND a.date BETWEEN d.onboarding_start - d.lead_days AND d.completion_day
            GROUP BY d.account_id
        ),
        delivered AS (
            SELECT d.account_id, min(u.date) AS first_delivery_date
            FROM due d
            JOIN usage u ON u.account_id = d.account_id AND u.deliveries > 0
             AND u.date <= d.completion_day
            GROUP BY d.account_id
        )
        SELECT d.account_id, acc.name, acc.owner_id, d.onboarding_start, d.completion_day,
               t.account_id IS NOT NULL AS active_on_completion_day,
               k.kickoff_date, v.first_delivery_date,
               (t.account_id IS NOT NULL AND k.kickoff_date IS NOT NULL
                AND v.first_delivery_date IS NOT NULL) AS completed
        FROM due d
        JOIN accounts acc USING (account_id)
        LEFT JOIN active_then t USING (account_id)
        LEFT JOIN kickoff k USING (account_id)
        LEFT JOIN delivered v USING (account_id)
    """


def onboarding_completions(snap, first_day: dt.date, last_day: dt.date,
                           settings: Settings) -> pd.DataFrame:
    """Accounts whose onboarding completion day falls in [first_day, last_day], with the three
    conditions and `completed` (see the module docstring), ordered by completion day."""
    return snap.query(
        _onboarding_sql() + " ORDER BY d.completion_day, d.account_id",
        [first_day, last_day, settings.health.onboarding_days,
         settings.reports.onboarding_kickoff_lead_days])


def activity_by_owner(snap, first_day: dt.date, last_day: dt.date, settings: Settings,
                      total_label: str | None = None) -> pd.DataFrame:
    """Per owner over [first_day, last_day]: accounts (active customers owned on last_day),
    meetings, emails, calls, emails_calls, other, accounts_no_contact (active customers owned
    without contact for `signals.no_contact_days` on last_day), onboarding_due and
    onboarding_completed (completion day in the range).

    Owners are every user owning an active customer on last_day or with activity in the range.
    With `total_label`, a last row (owner_id None, owner_name = total_label) sums the columns.
    """
    params = [first_day, last_day,
              last_day, last_day,
              settings.signals.no_contact_days,
              first_day, last_day, settings.health.onboarding_days,
              settings.reports.onboarding_kickoff_lead_days]
    df = snap.query(f"""
        WITH b AS (SELECT CAST(? AS DATE) AS first_day, CAST(? AS DATE) AS last_day),
        active AS ({_ACTIVE_ON_DAY}),
        starts AS ({_FIRST_START}),
        acts AS (
            SELECT coalesce(a.owner_id, acc.owner_id) AS owner_id, a.type
            FROM activities a
            JOIN accounts acc USING (account_id)
            CROSS JOIN b
            WHERE a.date BETWEEN b.first_day AND b.last_day
        ),
        act_counts AS (
            SELECT owner_id,
                   count(*) FILTER (WHERE type = 'meeting') AS meetings,
                   count(*) FILTER (WHERE type = 'email') AS emails,
                   count(*) FILTER (WHERE type = 'call') AS calls,
                   count(*) FILTER (WHERE type = 'other') AS other
            FROM acts GROUP BY owner_id
        ),
        last_contact AS (
            SELECT a.account_id, max(a.date) AS last_contact
            FROM activities a CROSS JOIN b
            WHERE a.type IN ('meeting', 'email', 'call') AND a.date <= b.last_day
            GROUP BY a.account_id
        ),
        portfolio AS (
            SELECT acc.owner_id,
                   count(*) AS accounts,
                   count(*) FILTER (
                       WHERE h.first_activity IS NOT NULL
                         AND b.last_day - coalesce(lc.last_contact,
                                                   greatest(s.onboarding_start, h.first_activity))
                             >= CAST(? AS INTEGER)) AS accounts_no_contact
            FROM active t
            JOIN accounts acc USING (account_id)
            LEFT JOIN last_contact lc USING (account_id)
            LEFT JOIN starts s USING (account_id)
            CROSS JOIN b
            CROSS JOIN (SELECT min(date) AS first_activity FROM activities) h
            GROUP BY acc.owner_id
        ),
        onboarding AS (
            SELECT owner_id, count(*) AS onboarding_due,
                   count(*) FILTER (WHERE completed) AS onboarding_completed
            FROM ({_onboarding_sql()}) GROUP BY owner_id
        ),
        owners AS (
            SELECT owner_id FROM portfolio UNION SELECT owner_id FROM act_counts
            UNION SELECT owner_id FROM onboarding
        )
        SELECT o.owner_id, coalesce(u.name, o.owner_id) AS owner_name,
               coalesce(p.accounts, 0) AS accounts,
               coalesce(c.meetings, 0) AS meetings,
               coalesce(c.emails, 0) AS emails,
               coalesce(c.calls, 0) AS calls,
               coalesce(c.emails, 0) + coalesce(c.calls, 0) AS emails_calls,
               coalesce(c.other, 0) AS other,
               coalesce(p.accounts_no_contact, 0) AS accounts_no_contact,
               coalesce(n.onboarding_due, 0) AS onboarding_due,
               coalesce(n.onboarding_completed, 0) AS onboarding_completed
        FROM owners o
        LEFT JOIN users u ON u.user_id = o.owner_id
        LEFT JOIN portfolio p ON p.owner_id IS NOT DISTINCT FROM o.owner_id
        LEFT JOIN act_counts c ON c.owner_id IS NOT DISTINCT FROM o.owner_id
        LEFT JOIN onboarding n ON n.owner_id IS NOT DISTINCT FROM o.owner_id
        ORDER BY coalesce(u.name, o.owner_id), o.owner_id
    """, params)
    counts = [c for c in df.columns if c not in ("owner_id", "owner_name")]
    df[counts] = df[counts].astype("int64")
    if total_label is not None:
        total = {"owner_id": None, "owner_name": total_label,
                 **{c: int(df[c].sum()) for c in counts}}
        df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    return df


def activity_by_period(snap, ranges: Sequence[DateRange],
                       account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per account × range: meetings, emails, calls, other, contacts (meetings + emails
    + calls). `account_ids=None` means every account."""
    cte, params = ranges_cte(ranges)
    account_filter = "" if account_ids is None else "WHERE list_contains(?, a.account_id)"
    account_params = [] if account_ids is None else [list(account_ids)]
    return snap.query(f"""
        WITH {cte},
        wanted AS (SELECT a.account_id FROM accounts a {account_filter}),
        counts AS (
            SELECT a.account_id, r.period_order,
                   count(*) FILTER (WHERE a.type = 'meeting') AS meetings,
                   count(*) FILTER (WHERE a.type = 'email') AS emails,
                   count(*) FILTER (WHERE a.type = 'call') AS calls,
                   count(*) FILTER (WHERE a.type = 'other') AS other
            FROM activities a
            JOIN wanted USING (account_id)
            JOIN ranges r ON a.date BETWEEN r.first_day AND r.last_day
            GROUP BY a.account_id, r.period_order
        )
        SELECT w.account_id, r.period, r.first_day, r.last_day,
               coalesce(c.meetings, 0) AS meetings, coalesce(c.emails, 0) AS emails,
               coalesce(c.calls, 0) AS calls, coalesce(c.other, 0) AS other,
               coalesce(c.meetings, 0) + coalesce(c.emails, 0) + coalesce(c.calls, 0)
                   AS contacts
        FROM wanted w
        CROSS JOIN ranges r
        LEFT JOIN counts c ON c.account_id = w.account_id AND c.period_order = r.period_order
        ORDER BY w.account_id, r.period_order
    """, params + account_params)


def account_activities(snap, account_id: str, first_day: dt.date | None = None,
                       last_day: dt.date | None = None, limit: int = 200) -> pd.DataFrame:
    """The account's activities, newest first: date, type, owner_id (the account's owner when
    the activity has none), owner_name, subject."""
    return snap.query("""
        SELECT a.date, a.type, coalesce(a.owner_id, acc.owner_id) AS owner_id,
               coalesce(u.name, a.owner_id, acc.owner_id) AS owner_name, a.subject
        FROM activities a
        JOIN accounts acc USING (account_id)
        LEFT JOIN users u ON u.user_id = coalesce(a.owner_id, acc.owner_id)
        WHERE a.account_id = ?
          AND (CAST(? AS DATE) IS NULL OR a.date >= CAST(? AS DATE))
          AND (CAST(? AS DATE) IS NULL OR a.date <= CAST(? AS DATE))
        ORDER BY a.date DESC, a.activity_id DESC
        LIMIT ?
    """, [account_id, first_day, first_day, last_day, last_day, limit])


def contact_summary(snap, account_id: str, as_of: dt.date) -> dict:
    """Last contact (meeting/email/call) and last meeting of an account on or before as_of:
    last_contact_date, last_contact_type, days_since_contact, last_meeting_date,
    days_since_meeting (None when there was none)."""
    row = snap.query("""
        WITH contacts AS (
            SELECT date, type FROM activities
            WHERE account_id = ? AND type IN ('meeting', 'email', 'call')
              AND date <= CAST(? AS DATE)
        )
        SELECT
            (SELECT max(date) FROM contacts) AS last_contact_date,
            (SELECT type FROM contacts ORDER BY date DESC,
                 CASE type WHEN 'meeting' THEN 0 WHEN 'call' THEN 1 ELSE 2 END LIMIT 1)
                AS last_contact_type,
            (SELECT max(date) FROM contacts WHERE type = 'meeting') AS last_meeting_date
    """, [account_id, as_of]).iloc[0].to_dict()
    result = {}
    for key in ("last_contact_date", "last_meeting_date"):
        value = row[key]
        result[key] = None if pd.isna(value) else pd.Timestamp(value).date()
    result["last_contact_type"] = None if pd.isna(row["last_contact_type"]) else str(
        row["last_contact_type"])
    result["days_since_contact"] = (
        (as_of - result["last_contact_date"]).days if result["last_contact_date"] else None)
    result["days_since_meeting"] = (
        (as_of - result["last_meeting_date"]).days if result["last_meeting_date"] else None)
    return result
