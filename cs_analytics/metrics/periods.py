"""Reporting periods: calendar months, fiscal quarters and years, trailing twelve months.

A period is a run of whole months [first_month, last_month] (first days of months). Fiscal
quarters and years start in `fiscal_year_start_month` (SPEC §4): with an April start, fiscal
year 2026 is April 2026 – March 2027 and "2026Q1" is April–June 2026.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from cs_analytics.errors import CsAnalyticsError

KINDS = ("month", "quarter", "year", "ttm")
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12, "ttm": 12}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def last_day(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: dt.date, n: int) -> dt.date:
    """First day of the month `n` months after (or before) `month`'s month."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> int:
    """Whole months from first's month to last's month (0 when the same month)."""
    return (last.year - first.year) * 12 + last.month - first.month


def period_start_sql(month_expr: str, grain: str) -> str:
    """SQL: the first month of the calendar month / fiscal quarter / fiscal year containing
    `month_expr` (a first-of-month DATE); needs the named parameter $fsm."""
    if grain == "month":
        return month_expr
    size = MONTHS_IN[grain]
    index = f"(year({month_expr}) * 12 + month({month_expr}) - 1)"
    start = f"({index} - ({index} - ($fsm - 1)) % {size})"
    return f"make_date(CAST({start} // 12 AS INTEGER), CAST({start} % 12 + 1 AS INTEGER), 1)"


@dataclass(frozen=True)
class Period:
    """Months first_month..last_month; `label` is how reports name it ("2026Q1", "FY2026")."""

    kind: str
    first_month: dt.date
    last_month: dt.date
    label: str

    @property
    def start_date(self) -> dt.date:
        return self.first_month

    @property
    def end_date(self) -> dt.date:
        return last_day(self.last_month)

    @property
    def before_month(self) -> dt.date:
        """Month a of SPEC §4: the month before the period, whose customers are the base S."""
        return add_months(self.first_month, -1)

    @property
    def months(self) -> list[dt.date]:
        return [add_months(self.first_month, i)
                for i in range(months_between(self.first_month, self.last_month) + 1)]

    def contains(self, day: dt.date) -> bool:
        return self.first_month <= day <= self.end_date

    def end_month(self, as_of: dt.date) -> dt.date:
        """Month b of SPEC §4: the last month, or the as-of month for the current period."""
        return min(self.last_month, month_start(as_of))

    def end_day(self, as_of: dt.date) -> dt.date:
        """The snapshot day of month b: its last day, or as_of in the as-of month."""
        return min(self.end_date, as_of)


def fiscal_year_of(month: dt.date, fiscal_year_start_month: int) -> int:
    """Fiscal years are named by the calendar year they start in."""
    return month.year if month.month >= fiscal_year_start_month else month.year - 1


def fiscal_quarter_of(month: dt.date, fiscal_year_start_month: int) -> int:
    return (month.month - fiscal_year_start_month) % 12 // 3 + 1


def quarter(fiscal_year: int, number: int, fiscal_year_start_month: int) -> Period:
    if not 1 <= number <= 4:
        raise CsAnalyticsError(f"quarter number {number}: expected 1 to 4")
    first = add_months(dt.date(fiscal_year, fiscal_year_start_month, 1), 3 * (number - 1))
    return Period("quarter", first, add_months(first, 2), f"{fiscal_year}Q{number}")


def fiscal_year(year: int, fiscal_year_start_month: int) -> Period:
    first = dt.date(year, fiscal_year_start_month, 1)
    return Period("year", first, add_months(first, 11), f"FY{year}")


def month_period(month: dt.date) -> Period:
    month = month_start(month)
    return Period("month", month, month, f"{month:%Y-%m}")


def ttm(last_month: dt.date) -> Period:
    """The trailing twelve months ending with `last_month`."""
    last_month = month_start(last_month)
    return Period("ttm", add_months(last_month, -11), last_month, f"TTM {last_month:%Y-%m}")


def period_containing(kind: str, as_of: dt.date, fiscal_year_start_month: int = 1) -> Period:
    """The month, fiscal quarter, fiscal year or trailing twelve months that contain `as_of`."""
    month = month_start(as_of)
    if kind == "month":
        return month_period(month)
    if kind == "quarter":
        return quarter(fiscal_year_of(month, fiscal_year_start_month),
                       fiscal_quarter_of(month, fiscal_year_start_month), fiscal_year_start_month)
    if kind == "year":
        return fiscal_year(fiscal_year_of(month, fiscal_year_start_month), fiscal_year_start_month)
    if kind == "ttm":
        return ttm(month)
    raise CsAnalyticsError(f"period kind '{kind}': expected one of {', '.join(KINDS)}")


def shift(period: Period, n: int, fiscal_year_start_month: int = 1) -> Period:
    """The period of the same kind `n` steps later (negative: earlier); TTM steps by a month."""
    step = 1 if period.kind == "ttm" else MONTHS_IN[period.kind]
    return period_containing(period.kind, add_months(period.last_month, n * step),
                             fiscal_year_start_month)


def previous(period: Period, fiscal_year_start_month: int = 1) -> Period:
    """The period just before, of the same length (for TTM: the twelve months before)."""
    return period_containing(period.kind, period.before_month, fiscal_year_start_month)


def shift_day(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` months later (earlier when negative), clamped to
    that month's last day: 2026-05-31 shifted by −3 months is 2026-02-28."""
    month = add_months(day, months)
    return min(month.replace(day=1) + dt.timedelta(days=day.day - 1), last_day(month))


def is_complete(period: Period, as_of: dt.date) -> bool:
    """A period is complete when its last day is on or before `as_of`; else it is to date."""
    return period.end_date <= as_of


def days_in(period: Period) -> int:
    return (period.end_date - period.start_date).days + 1


def days_elapsed(period: Period, as_of: dt.date) -> int:
    """Days of the period up to and including `as_of` (all of them once it is complete)."""
    return max(0, (min(period.end_date, as_of) - period.start_date).days + 1)


# How far back each comparison of SPEC §4 looks, in months: the previous period of the same
# kind (for TTM, the twelve months before) and the same period a year earlier (前年同期).
COMPARISON_MONTHS = {"previous": {"month": 1, "quarter": 3, "year": 12, "ttm": 12},
                     "year_ago": {"month": 12, "quarter": 12, "year": 12, "ttm": 12}}


def compared(period: Period, as_of: dt.date, comparison: str,
             fiscal_year_start_month: int = 1) -> tuple[Period, dt.date]:
    """The period a comparison reads, and the day it is measured on (SPEC §4 "Comparisons").

    comparison: "previous" or "year_ago". A complete period is compared with the whole earlier
    period, measured on `as_of` (its own last day has passed). A period to date is compared
    like for like: the earlier period measured as if `as_of` were the same day of it — the
    same day of the month, shifted by the comparison's months and clamped to that month's
    end; its stock values on that day, its flows over its first days only.
    """
    months = COMPARISON_MONTHS[comparison][period.kind]
    earlier = period_containing(period.kind, add_months(period.last_month, -months),
                                fiscal_year_start_month)
    if is_complete(period, as_of):
        return earlier, as_of
    return earlier, shift_day(as_of, -months)


def last_complete(kind: str, as_of: dt.date, fiscal_year_start_month: int = 1) -> Period:
    """The latest period of a kind that is complete on `as_of` (the one containing it when
    `as_of` is its last day, else the one before)."""
    current = period_containing(kind, as_of, fiscal_year_start_month)
    return current if is_complete(current, as_of) else shift(current, -1,
                                                             fiscal_year_start_month)


def last_n(kind: str, n: int, as_of: dt.date, fiscal_year_start_month: int = 1) -> list[Period]:
    """The `n` periods ending with the one containing `as_of`, oldest first.

    TTM periods roll monthly: one trailing-twelve-month window ending in each of the last n
    months.
    """
    current = period_containing(kind, as_of, fiscal_year_start_month)
    return [shift(current, -i, fiscal_year_start_month) for i in range(n - 1, -1, -1)]


_QUARTER = re.compile(r"^\s*(?:FY)?\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(?:FY)?\s*(\d{4})\s*$", re.IGNORECASE)
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def parse_quarter(text: str, fiscal_year_start_month: int = 1) -> Period:
    """"2026Q1" (also "FY2026Q1", "2026-Q1") → the first quarter of fiscal year 2026."""
    match = _QUARTER.match(text or "")
    if not match:
        raise CsAnalyticsError(f"quarter '{text}': expected a fiscal quarter like 2026Q1")
    return quarter(int(match.group(1)), int(match.group(2)), fiscal_year_start_month)


def parse_year(text: str, fiscal_year_start_month: int = 1) -> Period:
    """"FY2026" or "2026" → fiscal year 2026."""
    match = _YEAR.match(text or "")
    if not match:
        raise CsAnalyticsError(f"fiscal year '{text}': expected a year like FY2026")
    return fiscal_year(int(match.group(1)), fiscal_year_start_month)


def parse_month(text: str) -> Period:
    """"2026-04" → April 2026."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CsAnalyticsError(f"month '{text}': expected a month like 2026-04")
    return month_period(dt.date(int(match.group(1)), int(match.group(2)), 1))
