"""Moments as users read them: in the configured time zone (`general.timezone`), with its label.

Stored moments (build times, refresh log, user-data records) are UTC; everything shown to a user
— the banner, reports, history tables, alert messages — goes through `local` or `local_text`,
so a build time and the data-as-of date are read in the same zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from cs_analytics.config import Settings


def zone(settings: Settings) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.general.timezone)


def local(moment: dt.datetime | str, settings: Settings) -> dt.datetime:
    """`moment` in the configured zone. A naive datetime, or an ISO string without an offset,
    is UTC (how the stores record it)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone(settings))


def local_text(moment: dt.datetime | str | None, settings: Settings) -> str:
    """'2026-12-07 05:05 JST': minutes, in the configured zone, with the zone's label."""
    return zone_text(moment, settings.general.timezone)


def zone_text(moment: dt.datetime | str | None, timezone: str) -> str:
    """`local_text` in the zone named `timezone` (for an object that keeps the zone's name,
    such as a report rendered later)."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    shown = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    return f"{shown:%Y-%m-%d %H:%M} {shown.tzname()}"


def now(settings: Settings) -> dt.datetime:
    """The current moment in the configured zone."""
    return dt.datetime.now(zone(settings))


def today(settings: Settings) -> dt.date:
    """Today's date in the configured zone (not the server's)."""
    return now(settings).date()
