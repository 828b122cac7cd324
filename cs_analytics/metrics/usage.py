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
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import fiscal_year_start_month, ratio

DateRange = tuple[str, dt.date, dt.date]

USAGE_MEASURES = ("deliveries", "logins", "viewers", "registrants", "conversions")
QUARTER_COLUMNS = ["period", "first_day", "last_day", "days", "days_in_period", "complete",
                   "year_ago_period", "year_ago_last_day", "has_usage"] + [
    f"{m}{suffix}" for m in USAGE_MEASURES
    for suffix in ("", "_year_ago", "_change", "_pace", "_year_ago_full", "_pace_change")] + [
    "conversion_rate", "conversion_rate_year_ago", "conversion_rate_year_ago_full"]


def relative_change(now, before) -> float | None:
    """now / before − 1 (+0.25 = 25% more); None when either is missing or before is 0."""
    share = ratio(now, before)
    return None if share is None else share - 1


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


def summary_window(settings: Settings, as_of: dt.date) -> dict:
    """The one delivery window the QBR pack and its talking points use, named by its days:
    the last W days (as_of − W, as_of] and the W days before, W =
    `signals.deliveries_window_days` — the deliveries_drop_50 signal's window, so the signal's
    evidence and the pack's figures are the same numbers."""
    days = settings.signals.deliveries_window_days
    return {"window_days": days,
            "recent_first": as_of - dt.timedelta(days=days - 1), "recent_last": as_of,
            "previous_first": as_of - dt.timedelta(days=2 * days - 1),
            "previous_last": as_of - dt.timedelta(days=days)}


def account_usage_summary(snap, account_id: str, as_of: dt.date,
                          settings: Settings) -> dict:
    """The usage facts the QBR talking points read, for one account at `as_of`, over the one
    window of `summary_window` (its keys are included).

    Keys: has_usage, window_days, recent_first, recent_last, previous_first, previous_last,
    deliveries_recent, deliveries_previous, viewers_recent, monthly_deliveries_recent
    (deliveries_recent per 30 days), conversion_rate_recent, last_delivery_date,
    days_since_delivery, last_login_date.
    """
    window = summary_window(settings, as_of)
    numerator, denominator = _conversion_sql(settings)
    row = snap.query(f"""
        WITH b AS (SELECT CAST(? AS DATE) AS d, CAST(? AS INTEGER) AS w)
        SELECT
            count(u.account_id) > 0 AS has_usage,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - b.w), 0) AS deliveries_recent,
            coalesce(sum(u.deliveries) FILTER (WHERE u.date > b.d - 2 * b.w
                                               AND u.date <= b.d - b.w), 0)
                AS deliveries_previous,
            coalesce(sum(u.viewers) FILTER (WHERE u.date > b.d - b.w), 0) AS viewers_recent,
            sum({numerator}) FILTER (WHERE u.date > b.d - b.w
                                     AND {numerator} IS NOT NULL AND {denominator} IS NOT NULL)
                AS rate_num,
            sum({denominator}) FILTER (WHERE u.date > b.d - b.w
                                       AND {numerator} IS NOT NULL AND {denominator} IS NOT NULL)
                AS rate_den,
            max(u.date) FILTER (WHERE u.deliveries > 0) AS last_delivery_date,
            max(u.date) FILTER (WHERE u.logins > 0) AS last_login_date
        FROM b
        LEFT JOIN usage u ON u.account_id = ? AND u.date <= b.d
    """, [as_of, window["window_days"], account_id]).iloc[0].to_dict()
    rate_den = row.pop("rate_den")
    rate_num = row.pop("rate_num")
    has_usage = bool(row["has_usage"])
    summary = {"has_usage": has_usage, **window}
    for key in ("deliveries_recent", "deliveries_previous", "viewers_recent"):
        summary[key] = int(row[key]) if has_usage else None
    summary["monthly_deliveries_recent"] = (
        summary["deliveries_recent"] * 30 / window["window_days"] if has_usage else None)
    summary["conversion_rate_recent"] = (
        float(rate_num) / float(rate_den) if has_usage and not pd.isna(rate_den) and rate_den > 0
        else None)
    for key in ("last_delivery_date", "last_login_date"):
        value = row[key]
        summary[key] = None if pd.isna(value) else pd.Timestamp(value).date()
    last = summary["last_delivery_date"]
    summary["days_since_delivery"] = None if last is None else (as_of - last).days
    return summary


def usage_first_date(snap) -> dt.date | None:
    """The first day the usage export covers (any account), or None without usage."""
    value = snap.scalar("SELECT usage_first_date FROM int_health_coverage")
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def comparable_from(snap, account_id: str) -> dt.date | None:
    """The first day a year-ago comparison of the account's usage can start: the later of the
    usage export's first day and the first day of the account's first month as a customer
    (before either there is nothing like-for-like). None without usage data."""
    covered = usage_first_date(snap)
    customer = snap.scalar(
        "SELECT min(month) FROM fct_account_mrr_monthly WHERE account_id = ? AND mrr > 0",
        [account_id])
    if covered is None or customer is None or pd.isna(customer):
        return covered
    return max(covered, pd.Timestamp(customer).date())


def quarter_usage(snap, account_id: str, as_of: dt.date, settings: Settings,
                  quarters: int = 4) -> pd.DataFrame:
    """The account's usage in each of the last `quarters` fiscal quarters (the current one to
    as_of), oldest first, each beside the same days a year earlier, with the current quarter's
    pace — what a QBR shows when it puts a partial quarter next to full ones.

    Per quarter (QUARTER_COLUMNS): period, first_day, last_day (as_of for the current
    quarter), days counted, days_in_period, complete; for each measure m of USAGE_MEASURES:
    - m: the sum over [first_day, last_day];
    - m_year_ago: the like-for-like year ago (SPEC §4): the year-ago quarter from its first day
      to `year_ago_last_day` (last_day shifted by 12 months) — the whole quarter when complete;
    - m_pace: m pro-rated to the whole quarter, m × days_in_period / days (equal to m for a
      complete quarter; missing while fewer than `reports.pace_min_days` days have passed);
    - m_year_ago_full: the whole year-ago quarter (what a pace compares with);
    - m_change: relative_change(m, m_year_ago); m_pace_change: relative_change(m_pace,
      m_year_ago_full) — the same for a complete quarter;
    and conversion_rate (health.conversion_basis) for the quarter, its like-for-like year ago
    and the whole year-ago quarter.
    Every value is missing when the account has no usage data at all; the year-ago values are
    missing when the year-ago quarter began before the usage export's first day or before the
    account's first month as a customer (there is nothing like-for-like to compare with).
    """
    fsm = fiscal_year_start_month(snap)
    current = P.last_n("quarter", quarters, as_of, fsm)
    ranges, rows = [], []
    for q in current:
        last = q.end_day(as_of)
        year_ago = P.shift(q, -4, fsm)
        year_ago_last = P.shift_day(last, -12)
        rows.append({"period": q.label, "first_day": q.start_date, "last_day": last,
                     "days": P.days_elapsed(q, as_of), "days_in_period": P.days_in(q),
                     "complete": P.is_complete(q, as_of), "year_ago_period": year_ago.label,
                     "year_ago_last_day": year_ago_last})
        ranges += [(q.label, q.start_date, last), (year_ago.label, year_ago.start_date,
                                                   year_ago_last),
                   (year_ago.label, year_ago.start_date, year_ago.end_date)]
    sums = usage_by_period(snap, ranges, [account_id], settings).to_dict("records")
    covered_from = comparable_from(snap, account_id)
    min_days = settings.reports.pace_min_days
    for i, row in enumerate(rows):
        now, before, before_full = sums[3 * i: 3 * i + 3]
        has_usage = bool(now["has_usage"])
        covered = has_usage and covered_from is not None and pd.Timestamp(
            before["first_day"]).date() >= covered_from
        row["has_usage"] = has_usage
        for m in USAGE_MEASURES:
            value = _number(now[m]) if has_usage else None
            row[m] = value
            row[f"{m}_year_ago"] = _number(before[m]) if covered else None
            row[f"{m}_year_ago_full"] = _number(before_full[m]) if covered else None
            if value is None or (not row["complete"] and row["days"] < min_days):
                row[f"{m}_pace"] = None
            else:
                row[f"{m}_pace"] = value * row["days_in_period"] / row["days"]
            row[f"{m}_change"] = relative_change(value, row[f"{m}_year_ago"])
            row[f"{m}_pace_change"] = relative_change(row[f"{m}_pace"], row[f"{m}_year_ago_full"])
        row["conversion_rate"] = _number(now["conversion_rate"]) if has_usage else None
        row["conversion_rate_year_ago"] = _number(before["conversion_rate"]) if covered else None
        row["conversion_rate_year_ago_full"] = (_number(before_full["conversion_rate"])
                                                if covered else None)
    return pd.DataFrame(rows, columns=QUARTER_COLUMNS, dtype=object)  # missing stays None


def usage_totals(snap, account_id: str, first_day: dt.date, last_day: dt.date,
                 settings: Settings) -> dict:
    """The account's usage summed over [first_day, last_day] (the QBR's value story):
    every measure of USAGE_MEASURES, conversion_rate and viewers_per_delivery (viewers ÷
    deliveries); all None without usage data."""
    row = usage_by_period(snap, [("total", first_day, last_day)], [account_id],
                          settings).iloc[0].to_dict()
    has_usage = bool(row["has_usage"])
    totals = {m: _number(row[m]) if has_usage else None for m in USAGE_MEASURES}
    totals["conversion_rate"] = _number(row["conversion_rate"]) if has_usage else None
    totals["viewers_per_delivery"] = ratio(totals["viewers"], totals["deliveries"])
    return {"has_usage": has_usage, "first_day": first_day, "last_day": last_day, **totals}


def _number(value):
    """A plain float from a SQL sum or ratio; None when missing."""
    return None if value is None or pd.isna(value) else float(value)
