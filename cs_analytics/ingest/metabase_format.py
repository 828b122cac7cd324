"""How Metabase writes its exports, for reading them as written (SPEC §5 "Metabase").

Metabase's CSV, JSON and XLSX writers name columns by display name ("Account ID", "Date: Day",
"Sum of Deliveries", "Amount (¥)") and, for formatted downloads, write every value as it shows
it: dates in the date style of the column or the instance ("January 5, 2026", "Jan 5, 2026",
"5 January, 2026", "Monday, January 5, 2026", "1/5/2026", "5/1/2026", "2026/1/5", with `-` or
`.` as separators, each optionally followed by a time, "12:00 AM" or "00:00"), numbers grouped
("2,185.89"), percentages ("12.5%") and currencies ("¥1,200", "JPY 1,200", "1,200 Japanese
yen"). A Metabase whose site locale is Japanese writes month and day names in Japanese ("1月",
"月曜日", "午前"). This module holds those spellings; `imports` turns them into SQL and
`files` uses the header rules.
"""

from __future__ import annotations

import datetime as dt
import re

# -- headers

# Aggregations whose value is the field's own daily value when the question is grouped by
# account and day: only a sum. ("Cumulative sum of X" is a running total, "Average of X",
# "Count", "Distinct values of X" are other quantities: they map only through a mapping.)
_SUM = re.compile(r"^\s*sum of\s+(.+?)\s*$", re.IGNORECASE)
# A breakout by a temporal unit: "Date: Day", "Created At: Week".
_BREAKOUT = re.compile(
    r"^\s*(.+?)\s*:\s*(minute|hour|day|week|month|quarter|year)\s*$", re.IGNORECASE)
# The currency Metabase appends to a currency column's title ("Amount (¥)").
_CURRENCY = re.compile(r"^\s*(.+?)\s*\((¥|￥|JPY|円|Japanese yen)\)\s*$", re.IGNORECASE)
# A column from a joined table or a foreign key: "Account → Account ID".
_JOINED = re.compile(r"^.*→\s*(.+?)\s*$")


def field_names(header: str) -> list[str]:
    """The field names a Metabase display name may stand for, best first (the header itself
    excluded): "Sum of Deliveries" → ["Deliveries"], "Date: Day" → ["Date"], "Amount (¥)" →
    ["Amount"], "Account → Account ID" → ["Account ID"]."""
    names: list[str] = []
    todo = [header]
    while todo:
        text = todo.pop()
        for pattern in (_SUM, _BREAKOUT, _CURRENCY, _JOINED):
            match = pattern.match(text)
            if match and match.group(1) not in names and match.group(1) != header:
                names.append(match.group(1))
                todo.append(match.group(1))
    return names


# -- dates

MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
             "september", "october", "november", "december")
WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_JA = ("月", "火", "水", "木", "金", "土", "日")

_MONTH_WORDS = sorted({*MONTHS_EN, *(m[:3] for m in MONTHS_EN), "sept"}, key=len, reverse=True)
# A month as Java writes it for MMMM / MMM in English ("January", "Jan", "Sept") or Japanese
# ("1月").
MONTH = r"(?:" + "|".join(_MONTH_WORDS) + r"|[0-9]{1,2}月)"
_WEEKDAY_WORDS = sorted({*WEEKDAYS_EN, *(d[:3] for d in WEEKDAYS_EN), "tues", "thur", "thurs"},
                        key=len, reverse=True)
WEEKDAY = r"(?:" + "|".join(_WEEKDAY_WORDS) + r"|[月火水木金土日](?:曜日)?)"
# A time of day as Metabase appends it: "12:00 AM", "12 AM", "00:00", "12:00:00 AM",
# "12:00:00.000 AM", Japanese "12:00 午前".
TIME = r"[0-9]{1,2}(?::[0-9]{2}){0,2}(?:\.[0-9]{1,3})?(?:\s*(?:am|pm|午前|午後))?"
TIME_PARTS = (r"^([0-9]{1,2})(?::([0-9]{2}))?(?::([0-9]{2}))?(?:\.[0-9]{1,3})?"
              r"(?:\s*(am|pm|午前|午後))?$")
SEPARATOR = r"[/.-]"

# The date styles with a month name, each with named parts: "January 5, 2026",
# "Monday, January 5, 2026" (month first); "5 January, 2026" (day first). Optionally
# followed by ", <time>".
MONTH_FIRST = (rf"^(?:{WEEKDAY},?\s+)?(?P<month>{MONTH})\s+(?P<day>[0-9]{{1,2}}),\s*"
               rf"(?P<year>[0-9]{{4}})(?:,?\s+(?P<time>{TIME}))?$")
DAY_FIRST = (rf"^(?:{WEEKDAY},?\s+)?(?P<day>[0-9]{{1,2}})\s+(?P<month>{MONTH}),?\s*"
             rf"(?P<year>[0-9]{{4}})(?:,?\s+(?P<time>{TIME}))?$")
# The numeric styles: M/D/YYYY or D/M/YYYY (order from import.date_order or the file), and
# YYYY/M/D, each with `/`, `-` or `.` and an optional ", <time>".
NUMERIC = (rf"^(?P<a>[0-9]{{1,2}}){SEPARATOR}(?P<b>[0-9]{{1,2}}){SEPARATOR}(?P<year>[0-9]{{4}})"
           rf"(?:,?\s+(?P<time>{TIME}))?$")
YEAR_FIRST = (rf"^(?P<year>[0-9]{{4}}){SEPARATOR}(?P<month>[0-9]{{1,2}}){SEPARATOR}"
              rf"(?P<day>[0-9]{{1,2}})(?:,?\s+(?P<time>{TIME}))?$")
# Units a date column may be grouped by that are not a day.
MONTH_ONLY = rf"^(?:{MONTH}),?\s+[0-9]{{4}}$|^[0-9]{{1,2}}{SEPARATOR}[0-9]{{4}}$|^[0-9]{{4}}{SEPARATOR}[0-9]{{1,2}}$"
QUARTER_ONLY = r"^q[1-4]\s*-\s*[0-9]{4}$"
WEEK_NUMBER = r"^week\s+[0-9]{1,2}\s*-\s*[0-9]{4}$"
YEAR_ONLY = r"^[0-9]{4}$"
DATE_ORDERS = ("mdy", "dmy")


def month_number(text: str) -> int | None:
    """1–12 for an English or Japanese month name as written by Metabase, else None."""
    text = text.strip().lower()
    if text.endswith("月"):
        digits = text[:-1]
        return int(digits) if digits.isdigit() and 1 <= int(digits) <= 12 else None
    for i, name in enumerate(MONTHS_EN, start=1):
        if text == name or text == name[:3] or (text == "sept" and i == 9):
            return i
    return None


def valid_time(text: str | None) -> bool:
    """Whether a time written by Metabase exists: 1–12 with AM/PM, else 0–23; minutes and
    seconds 0–59."""
    if not text:
        return True
    match = re.match(TIME_PARTS, text.strip(), re.IGNORECASE)
    if not match:
        return False
    hour, minute, second, half = match.groups()
    hour = int(hour)
    if half is not None and not 1 <= hour <= 12:
        return False
    if half is None and hour > 23:
        return False
    return all(part is None or int(part) <= 59 for part in (minute, second))


_COMPILED = {name: re.compile(pattern) for name, pattern in (
    ("month_first", MONTH_FIRST), ("day_first", DAY_FIRST), ("year_first", YEAR_FIRST),
    ("numeric", NUMERIC))}
_WEEK_RANGE = re.compile(r"^(.+?)\s+-\s+(.+)$")


def parse_date(text: str, order: str | None = None) -> dt.date | None:
    """The day a Metabase date style stands for ("January 5, 2026", "Mon, Jan 5, 2026, 12:00
    AM", "5 January, 2026", "2026.1.5", "1/5/2026" in `order`, a week "January 5, 2026 -
    January 11, 2026" → its first day), or None. `text` is already folded (NFKC) and
    trimmed; a time of day must exist."""
    low = text.lower()
    day = _styled(low, order)
    if day is not None:
        return day
    week = _WEEK_RANGE.match(low)
    if week:
        first, last = _styled(week.group(1), order), _styled(week.group(2), order)
        if first is not None and last == first + dt.timedelta(days=6):
            return first
    return None


def _styled(low: str, order: str | None) -> dt.date | None:
    for name in ("month_first", "day_first", "year_first", "numeric"):
        match = _COMPILED[name].match(low)
        if not match:
            continue
        parts = match.groupdict()
        if not valid_time(parts.get("time")):
            return None
        if name == "numeric":
            if order not in DATE_ORDERS:
                return None
            a, b = int(parts["a"]), int(parts["b"])
            month, day = (a, b) if order == "mdy" else (b, a)
        else:
            month = month_number(parts["month"]) if name != "year_first" else int(parts["month"])
            day = int(parts["day"])
        try:
            return dt.date(int(parts["year"]), month or 0, day)
        except ValueError:
            return None
    return None
