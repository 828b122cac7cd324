"""Numbers and dates as the users read them: ¥12,345,678, 1,235万円, 10.5%, 2026/03/31.

Pure functions (no streamlit) so they are tested directly. Values are rounded here, for display
only; the metrics keep them unrounded. `None` (a rate without a denominator, a missing value)
shows as an em dash.
"""

from __future__ import annotations

import datetime as dt
import math

MISSING = "—"


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False


def number(value, decimals: int = 0) -> str:
    """1234567 → '1,234,567'."""
    if _missing(value):
        return MISSING
    return f"{value:,.{decimals}f}"


def yen(value) -> str:
    """Whole yen with thousands separators: ¥12,345,678 (negative: -¥1,200)."""
    if _missing(value):
        return MISSING
    rounded = round(float(value))
    sign = "-" if rounded < 0 else ""
    return f"{sign}¥{abs(rounded):,}"


def yen_compact(value, lang: str) -> str:
    """Large amounts the short way: Japanese 1,235万円 / 1.23億円, English ¥12.3M / ¥456K."""
    if _missing(value):
        return MISSING
    v = float(value)
    sign = "-" if v < 0 else ""
    a = abs(v)
    if lang == "ja":
        if a >= 1e8:
            return f"{sign}{a / 1e8:,.2f}億円"
        if a >= 1e6:
            return f"{sign}{a / 1e4:,.0f}万円"
        if a >= 1e4:
            return f"{sign}{a / 1e4:,.1f}万円"
        return yen(v)
    if a >= 1e9:
        return f"{sign}¥{a / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{sign}¥{a / 1e6:,.1f}M"
    if a >= 1e4:
        return f"{sign}¥{a / 1e3:,.0f}K"
    return yen(v)


def yen_delta(value, lang: str) -> str:
    """A signed change in yen, in the compact style: +120万円 / -¥1.2M."""
    if _missing(value):
        return MISSING
    text = yen_compact(value, lang)
    return text if text.startswith("-") else "+" + text


def pct(value, decimals: int = 1) -> str:
    """A fraction as a percentage to one decimal: 0.1054 → '10.5%'."""
    if _missing(value):
        return MISSING
    return f"{float(value) * 100:.{decimals}f}%"


def pct_points(value, lang: str, decimals: int = 1) -> str:
    """A change of a rate, in percentage points: 0.012 → '+1.2pt' ('+1.2 pp' in English)."""
    if _missing(value):
        return MISSING
    unit = "pt" if lang == "ja" else " pp"
    return f"{float(value) * 100:+.{decimals}f}{unit}"


def signed(value, decimals: int = 0) -> str:
    if _missing(value):
        return MISSING
    return f"{value:+,.{decimals}f}"


def date(value, lang: str) -> str:
    """2026/03/31 in Japanese, Mar 31, 2026 in English."""
    if value is None or _missing_date(value):
        return MISSING
    d = _as_date(value)
    return d.strftime("%Y/%m/%d") if lang == "ja" else d.strftime("%b %d, %Y").replace(" 0", " ")


def month(value, lang: str) -> str:
    """2026年3月 in Japanese, Mar 2026 in English."""
    if value is None or _missing_date(value):
        return MISSING
    d = _as_date(value)
    return f"{d.year}年{d.month}月" if lang == "ja" else d.strftime("%b %Y")


def days(value, lang: str) -> str:
    if _missing(value):
        return MISSING
    n = int(value)
    if lang == "ja":
        return f"{n:,}日"
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def _missing_date(value) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    return dt.date.fromisoformat(str(value)[:10])
