"""Numbers and dates as the users read them: ¥12,345,678, 1,235万円, 10.5%, 2026/03/31.

Pure functions (no streamlit) so they are tested directly. Values are rounded here, for display
only; the metrics keep them unrounded. `None` (a rate without a denominator, a missing value)
shows as an em dash.
"""

from __future__ import annotations

import datetime as dt
import math

from cs_analytics.config import AMOUNT_UNITS
import pandas as pd

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


# How each unit of config.AMOUNT_UNITS reads: the number, then its mark, per language.
AMOUNT_TEXT = {"ja": {"yen": "¥{}", "thousand": "{}千円", "man": "{}万円", "million": "{}百万円"},
               "en": {"yen": "¥{}", "thousand": "¥{}K", "million": "¥{}M"}}


def amount(value, lang: str, unit: str, decimals: int | None = None) -> str:
    """An amount in the configured unit (one unit for every card and axis of a language):
    12,345,678 → '1,235万円' (man), '¥12,346K' (thousand). Unless `decimals` says otherwise:
    whole units from 100 up, one decimal below (¥70,000 → '7.0万円'); whole yen in 'yen'."""
    if _missing(value):
        return MISSING
    v = float(value) / AMOUNT_UNITS[unit]
    if decimals is None:
        decimals = 0 if unit == "yen" or v == 0 or abs(v) >= 100 else 1
    number = f"{abs(v):,.{decimals}f}"
    sign = "-" if round(v, decimals) < 0 else ""
    return sign + AMOUNT_TEXT[lang][unit].format(number)


def amount_delta(value, lang: str, unit: str) -> str:
    """A signed change of an amount in the configured unit: '+120万円', '-¥1,200K'."""
    if _missing(value):
        return MISSING
    text = amount(value, lang, unit)
    return text if text.startswith("-") else "+" + text


def amount_ticks(low: float, high: float, lang: str, unit: str, count: int = 5, *,
                 from_zero: bool = True) -> tuple[list[float], list[str]]:
    """Ticks for an amount axis spanning [low, high] (yen; widened to 0 unless `from_zero` is
    False): about `count` round steps (1, 2, 2.5 or 5 × a power of ten), one step beyond each
    end, as values in yen and their text in the configured unit."""
    if from_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = low + AMOUNT_UNITS[unit]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step) - 1, math.ceil(high / step) + 1
    values = [i * step for i in range(first, last + 1)]
    # one number of decimals for the whole axis: as many as the step needs in the unit
    in_units = step / AMOUNT_UNITS[unit]
    decimals = next(d for d in (0, 1, 2) if abs(round(in_units, d) - in_units) < 1e-9 * step
                    or d == 2)
    return values, [amount(v, lang, unit, decimals) for v in values]


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
