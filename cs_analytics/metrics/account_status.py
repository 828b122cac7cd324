"""Each account's state as the CS team reads it in Salesforce (SPEC §5 "Salesforce write-back"):
health score, band, segment, top detractor, open signals, last contact and login, usage of the
last 90 days and the next renewal — and its usage per week. `push` writes these; the values are
the metrics layer's own (the health models, `usage_by_period`), never recomputed here.

Values are those of the snapshot's as-of date, for the accounts that are active customers on it
(the accounts the health score covers); any other account has every value empty, so a customer
who left does not keep a stale score in Salesforce.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cs_analytics.metrics.signals import SIGNALS
from cs_analytics.metrics.usage import USAGE_MEASURES, usage_by_period

RECENT_DAYS = 90  # "deliveries and logins in the last 90 days": (as_of − 90, as_of]

STATUS_COLUMNS = ["account_id", "name", "health_score", "health_band", "segment",
                  "top_detractor", "signals", "last_contact_date", "last_login_date",
                  "deliveries_90d", "logins_90d", "next_renewal_date"]


def account_status(snap) -> pd.DataFrame:
    """One row per account of the snapshot (STATUS_COLUMNS), by account id:

    - health_score, health_band, top_detractor, last_contact_date, last_login_date: the as-of
      row of the health model (fct_health_current; docs/metrics.md "Health score");
    - segment: fct_segment_current; signals: the ids of the signals shown on the as-of date,
      in the order of metrics.signals.SIGNALS, joined with ';' (None when there is none);
    - deliveries_90d, logins_90d: Σ deliveries and Σ logins over the last 90 days up to the
      as-of date (None without usage data for the account);
    - next_renewal_date: the latest end date among the account's recurring contracts still in
      force on the as-of date (grace included) or signed to start later — the date by which
      the next renewal has to be signed.
    Accounts that are not active customers on the as-of date have every value None.
    """
    order = "[" + ", ".join(f"'{s}'" for s in SIGNALS) + "]"
    frame = snap.query(f"""
        WITH signals AS (
            SELECT account_id,
                   string_agg(signal, ';' ORDER BY list_position({order}, signal)) AS signals
            FROM fct_signals_current
            GROUP BY account_id
        ),
        renewals AS (
            SELECT c.account_id, max(c.end_date) AS next_renewal_date
            FROM int_contract_mrr c
            CROSS JOIN params p
            WHERE c.mrr >= p.mrr_epsilon AND coalesce(c.active_until, c.end_date) >= p.as_of
            GROUP BY c.account_id
        )
        SELECT a.account_id, a.name,
               h.score AS health_score, h.band AS health_band, g.segment, h.top_detractor,
               s.signals, h.last_contact_date, h.last_login_date,
               r.next_renewal_date
        FROM accounts a
        LEFT JOIN fct_health_current h USING (account_id)
        LEFT JOIN fct_segment_current g ON g.account_id = h.account_id
        LEFT JOIN signals s ON s.account_id = h.account_id
        LEFT JOIN renewals r ON r.account_id = h.account_id
        ORDER BY a.account_id
    """)
    active = frame["health_band"].notna()
    recent = usage_by_period(
        snap, [("90d", snap.as_of - dt.timedelta(days=RECENT_DAYS - 1), snap.as_of)])
    sums = recent.set_index("account_id")[["deliveries", "logins"]]
    frame = frame.join(sums.rename(columns={"deliveries": "deliveries_90d",
                                            "logins": "logins_90d"}), on="account_id")
    for column in ("deliveries_90d", "logins_90d"):
        frame[column] = frame[column].astype("Int64").where(active, pd.NA)
    return frame[STATUS_COLUMNS]


def complete_weeks(as_of: dt.date, weeks: int) -> list[tuple[dt.date, dt.date]]:
    """The last `weeks` complete weeks (Monday to Sunday) ending on or before `as_of`, oldest
    first."""
    last_sunday = as_of - dt.timedelta(days=(as_of.weekday() + 1) % 7)
    return [(last_sunday - dt.timedelta(days=7 * k + 6), last_sunday - dt.timedelta(days=7 * k))
            for k in reversed(range(weeks))]


WEEKLY_COLUMNS = ["account_id", "week_start", *USAGE_MEASURES]


def weekly_usage(snap, weeks: int) -> pd.DataFrame:
    """Usage per account and complete week (`complete_weeks`): week_start (the Monday) and the
    sums of deliveries, logins, viewers, registrants and conversions over its seven days — the
    sums `usage_by_period` gives for a week, grouped in one scan of the weeks' rows. Only weeks
    with at least one usage row for the account are listed: a week the export did not cover
    is not a week of zeros. By account, then week."""
    if weeks < 1:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    span = complete_weeks(snap.as_of, weeks)
    sums = ", ".join(f"coalesce(sum({m}), 0)::BIGINT AS {m}" for m in USAGE_MEASURES)
    return snap.query(f"""
        SELECT account_id, CAST(date_trunc('week', date) AS DATE) AS week_start, {sums}
        FROM usage
        WHERE date BETWEEN $first AND $last
        GROUP BY ALL
        ORDER BY account_id, week_start
    """, {"first": span[0][0], "last": span[-1][1]})
