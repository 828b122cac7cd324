"""Product usage aggregates (Metabase's daily usage rows) per account and date range, for the QBR
pack and its talking points. Everything is summed in SQL: the usage table may hold 11M rows.

Date ranges are `(label, first_day, last_day)` tuples, both days included. An account with no
usage row at all (usage not imported for it) gets NULL values — "no data", not zero; an account
with usage rows elsewhere gets 0 for a range without rows.

Conversion rate follows `health.conversion_basis`: conversions / viewers ('viewers') or
viewers / registrants ('registrants'), summed over the days where both numbers are present;
NULL when the denominator is 0 or missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd

from cs_analytics.config import Settings

DateRange = tuple[str, dt.date, dt.date]

RECENT_DAYS = 90  # the "last 90 days" window of SPEC §4 used by the QBR's usage summary

USAGE_MEASURES = ("deliveries", "logins", "viewers", "registrants", "conversions")


def ranges_cte(ranges: Sequence[DateRange]) -> tuple[str, list]:
    """`ranges(period_order, period, first_day, last_day)` as a parameterised VALUES list."""
    if not ranges:
        raise ValueError("at least one date range is needed")
    rows, params = [], []
    for order, (label, first_day, last_day) in enumerate(ranges):
        if first_day > last_day:
            raise ValueError(f"date range {label}: {first_day} is after {last_day}")
        rows.append("(?, ?, CAST(? AS DATE), CAST(? AS DATE))")
        params += [order, label, first_day, last_day]
    sql = ("ranges AS (SELECT * FROM (VALUES " + ", ".join(rows)
           + ") v(period_order, period, first_day, last_day))")
    return sql, params


def _conversion_sql(settings: Settings | None, alias: str = "u") -> tuple[str, str]:
    """(numerator, denominator) column expressions for the configured conversion basis."""
    basis = settings.health.conversion_basis if settings is not None else "viewers"
    if basis == "registrants":
        return f"{alias}.viewers", f"{alias}.registrants"
    return f"{alias}.conversions", f"{alias}.viewers"


def usage_by_period(snap, ranges: Sequence[DateRange], account_ids: Sequence[str] | None = None,
                    settings: Settings | None = None) -> pd.DataFrame:
    """One row per account × range: deliveries, logins, viewers, registrants, conversions (sums)
    and conversion_rate, with `has_usage` telling whether the account has any usage data.

    `account_ids=None` means every account in the snapshot.
    """
    cte, params = ranges_cte(ranges)
    numerator, denominator = _conversion_sql(settings)
    account_filter = "" if account_ids is None else "WHERE list_contains(?, a.account_id)"
    account_params = [] if account_ids is None else [list(account_ids)]
    sql = f"""
        WITH {cte},
        wanted AS (SELECT a.account_id FROM accounts a {account_filter}),
        span AS (SELECT min(first_day) AS lo, max(last_day) AS hi FROM ranges),
        with_usage AS (
            SELECT DISTINCT u.account_id FROM usage u JOIN wanted w USING (account_id)
        ),
        sums AS (
            SELECT u.account_id, r.period_order,
                   sum(u.deliveries) AS deliveries, sum(u.logins) AS logins,
                   sum(u.viewers) AS viewers, sum(u.registrants) AS registrants,
                   sum(u.conversions) AS conversions,
                   sum({numerator}) FILTER (WHERE {numerator} IS NOT NULL
                                            AND {denominator} IS NOT NULL) AS rate_num,
                   sum({denominator}) FILTER (WHERE {numerator} IS NOT NULL
                                              AND {denominator} IS NOT NULL) AS rate_den,
                   count(*) AS usage_days
            FROM usage u
            JOIN wanted w USING (account_id)
            CROSS JOIN span s
            JOIN ranges r ON u.date BETWEEN r.first_day AND r.last_day
            WHERE u.date BETWEEN s.lo AND s.hi
            GROUP BY u.account_id, r.period_order
        )
        SELECT w.account_id, r.period, r.first_day, r.last_day,
               wu.account_id IS NOT NULL AS has_usage,
               CASE WHEN wu.account_id IS NOT NULL THEN coalesce(s.deliveries, 0) END AS deliveries,
               CASE WHEN wu.account_id IS NOT NULL THEN coalesce(s.logins, 0) END AS logins,
               CASE WHEN wu.account_id IS NOT NULL THEN coalesce(s.viewers, 0) END AS viewers,
               CASE WHEN wu.account_id IS NOT NULL THEN coalesce(s.registrants, 0) END
                   AS registrants,
               CASE WHEN wu.account_id IS NOT NULL THEN coalesce(s.conversions, 0) END
                   AS conversions,
               CASE WHEN s.rate_den > 0 THEN CAST(s.rate_num AS DOUBLE) / s.rate_den END
                   AS conversion_rate,
               coalesce(s.usage_days, 0) AS usage_days
        FROM wanted w
        CROSS JOIN ranges r
        LEFT JOIN with_usage wu ON wu.account_id = w.account_id
        LEFT JOIN sums s ON s.account_id = w.account_id AND s.period_order = r.period_order
        ORDER BY w.account_id, r.period_order
    """
    return snap.query(sql, params + account_params)


def account_usage_summary(snap, account_id: str, as_of: dt.date,
                          settings: Settings) -> dict:
    """The usage facts the QBR talking points read, for one account at `as_of`.

    Windows end on as_of and include it: the last 90 days are (as_of − 90, as_of], the 90 days
    before are (as_of − 180, as_of − 90]; the quiet window is the last
    `reports.campaign_quiet_days` and the burst window the 90 days before it.
    Keys: has_usage, deliveries_recent, deliveries_previous, deliveries_quiet,
    deliveries_before_quiet, monthly_deliveries_recent (recent ÷ 3), conversion_rate_recent,
    viewers_recent, last_delivery_date, last_login_date.
    """
    quiet = settings.reports.campaign_quiet_days
    numerator, denominator = _conversion_sql(settings)
    row = snap.query(f"""
        WITH b AS (SELECT CAST(? AS DATE) AS d, CAST(? AS INTEGER) AS quiet,
                          CAST(? AS INTEGER) AS recent)
        SELECT
            count(u.account_id) > 0 AS has_usage,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - b.recent AND u.date <= b.d), 0)
                AS deliveries_recent,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - 2 * b.recent
                                               AND u.date <= b.d - b.recent), 0)
                AS deliveries_previous,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - b.quiet AND u.date <= b.d), 0)
                AS deliveries_quiet,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - b.quiet - b.recent
                                               AND u.date <= b.d - b.quiet), 0)
                AS deliveries_before_quiet,
            coalesce(sum(u.viewers) FILTER (WHERE u.date > b.d - b.recent AND u.date <= b.d), 0)
                AS viewers_recent,
            sum({numerator}) FILTER (WHERE u.date > b.d - b.recent AND u.date <= b.d
                                     AND {numerator} IS NOT NULL AND {denominator} IS NOT NULL)
                AS rate_num,
            sum({denominator}) FILTER (WHERE u.date > b.d - b.recent AND u.date <= b.d
                                       AND {numerator} IS NOT NULL AND {denominator} IS NOT NULL)
                AS rate_den,
            max(u.date) FILTER (WHERE u.deliveries > 0 AND u.date <= b.d) AS last_delivery_date,
            max(u.date) FILTER (WHERE u.logins > 0 AND u.date <= b.d) AS last_login_date
        FROM b
        LEFT JOIN usage u ON u.account_id = ? AND u.date <= b.d
    """, [as_of, quiet, RECENT_DAYS, account_id]).iloc[0].to_dict()
    rate_den = row.pop("rate_den")
    rate_num = row.pop("rate_num")
    has_usage = bool(row["has_usage"])
    summary = {"has_usage": has_usage}
    for key in ("deliveries_recent", "deliveries_previous", "deliveries_quiet",
                "deliveries_before_quiet", "viewers_recent"):
        summary[key] = int(row[key]) if has_usage else None
    summary["monthly_deliveries_recent"] = (
        summary["deliveries_recent"] / 3 if has_usage else None)
    summary["conversion_rate_recent"] = (
        float(rate_num) / float(rate_den) if has_usage and not pd.isna(rate_den) and rate_den > 0
        else None)
    for key in ("last_delivery_date", "last_login_date"):
        value = row[key]
        summary[key] = None if pd.isna(value) else pd.Timestamp(value).date()
    return summary
