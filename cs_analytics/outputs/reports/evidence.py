"""One account's own evidence as short sentences (Japanese or English): how each quarter
compares with the same quarter a year before, its best quarter, the current quarter's pace, its
contacts. The internal talking points and the customer deck both tell their story from these,
so they quote the same figures. Only formats figures from the metrics API; computes none.

`quarters` are the rows of `metrics.usage.quarter_usage` (oldest first).
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from cs_analytics.outputs.reports.labels import t


def count(value) -> str:
    """1,234 (rounded to a whole number); — when missing."""
    return "—" if value is None else f"{value:,.0f}"


def percent(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def signed_percent(value) -> str:
    """+12% / -8% (a relative change); — when missing."""
    return "—" if value is None else f"{value:+.0%}"


def signed_points(value) -> str:
    """+1.2pt / -0.8pt (a change of a rate, in percentage points)."""
    return "—" if value is None else f"{value * 100:+.1f}pt"


def yen(value) -> str:
    return "—" if value is None else f"¥{value:,.0f}"


def iso(day: dt.date | None) -> str:
    return day.isoformat() if day else "—"


def long_date(day: dt.date | None, lang: str) -> str:
    """2026年12月7日 / Dec 7, 2026 (what a customer reads)."""
    if day is None:
        return "—"
    return f"{day.year}年{day.month}月{day.day}日" if lang == "ja" else f"{day:%b} {day.day}, {day.year}"


def short_date(day: dt.date | None, lang: str) -> str:
    """12/7 / Dec 7."""
    if day is None:
        return "—"
    return f"{day.month}/{day.day}" if lang == "ja" else f"{day:%b} {day.day}"


def complete_quarters(quarters: Sequence[dict]) -> list[dict]:
    return [q for q in quarters if q["complete"]]


def current_partial(quarters: Sequence[dict]) -> dict | None:
    """The current quarter when it has not ended (it is shown to date)."""
    return quarters[-1] if quarters and not quarters[-1]["complete"] else None


def best_quarter(quarters: Sequence[dict], measure: str = "deliveries") -> dict | None:
    """The complete quarter with the most `measure` (the latest of ties); None without one
    above zero."""
    best = None
    for q in complete_quarters(quarters):
        if q[measure] and (best is None or q[measure] >= best[measure]):
            best = q
    return best


def year_over_year(quarter: dict, measure: str = "deliveries") -> tuple[float | None, float | None,
                                                                        float | None]:
    """(value, year-ago value, change) the way a quarter is compared: a complete quarter with
    the whole year-ago quarter, the current one by its pace with the whole year-ago quarter."""
    if quarter["complete"]:
        return quarter[measure], quarter[f"{measure}_year_ago"], quarter[f"{measure}_change"]
    return (quarter[f"{measure}_pace"], quarter[f"{measure}_year_ago_full"],
            quarter[f"{measure}_pace_change"])


def grew_and_fell(quarters: Sequence[dict], lang: str, measure: str = "deliveries") -> str:
    """"Up on a year ago: 2026Q3 (+17%); down: 2026Q1 (-3%)" over the quarters with a
    comparison (the current one by its pace); empty when none has one."""
    up, down = [], []
    for q in quarters:
        _, _, change = year_over_year(q, measure)
        if change is None:
            continue
        key = "ev.quarter_change" if q["complete"] else "ev.quarter_change_pace"
        item = t(key, lang, quarter=q["period"], change=signed_percent(change))
        (up if change > 0 else down if change < 0 else []).append(item)
    parts = []
    if up:
        parts.append(t("ev.grew", lang, quarters=t("ev.list_sep", lang).join(up)))
    if down:
        parts.append(t("ev.fell", lang, quarters=t("ev.list_sep", lang).join(down)))
    return t("ev.parts_sep", lang).join(parts)


def quarter_results(quarters: Sequence[dict], lang: str, measure: str = "deliveries") -> str:
    """The latest complete quarter against a year before, then the current quarter to date with
    its pace: "2026Q3: 21 deliveries (a year before 18, +17%). 2026Q4 to Dec 7: 20 (pace ~27 for
    the quarter; the whole of 2025Q4: 25)." Empty without usage data."""
    if not quarters or not quarters[-1]["has_usage"]:
        return ""
    noun = t(f"ev.measure.{measure}", lang)
    sentences = []
    done = complete_quarters(quarters)
    if done:
        q = done[-1]
        value, before, change = year_over_year(q, measure)
        if before is None:
            sentences.append(t("ev.quarter", lang, quarter=q["period"], measure=noun,
                               value=count(value)))
        elif change is None:
            sentences.append(t("ev.quarter_before", lang, quarter=q["period"], measure=noun,
                               value=count(value), before=count(before)))
        else:
            sentences.append(t("ev.quarter_yoy", lang, quarter=q["period"], measure=noun,
                               value=count(value), before=count(before),
                               change=signed_percent(change)))
    q = current_partial(quarters)
    if q is not None:
        end = short_date(q["last_day"], lang)
        if q[f"{measure}_pace"] is None:
            sentences.append(t("ev.to_date", lang, quarter=q["period"], end=end, measure=noun,
                               value=count(q[measure]), days=q["days"],
                               total=q["days_in_period"]))
        else:
            full = q[f"{measure}_year_ago_full"]
            sentences.append(t("ev.to_date_pace" if full is not None else "ev.to_date_pace_only",
                               lang, quarter=q["period"], end=end, measure=noun,
                               value=count(q[measure]), pace=count(q[f"{measure}_pace"]),
                               year_ago=q["year_ago_period"], before=count(full)))
    return "".join(sentences)


def window_text(usage: dict, lang: str, which: str = "recent") -> str:
    """The named delivery window: "the last 90 days (2026-09-09 to 2026-12-07)"."""
    return t(f"ev.window.{which}", lang, days=usage["window_days"],
             first=iso(usage[f"{which}_first"]), last=iso(usage[f"{which}_last"]))


def delivery_windows(usage: dict, lang: str) -> str:
    """Deliveries in the one named window and the window before it."""
    return t("ev.windows", lang, recent_window=window_text(usage, lang, "recent"),
             recent=count(usage["deliveries_recent"]),
             previous_window=window_text(usage, lang, "previous"),
             previous=count(usage["deliveries_previous"]))


def contact_counts(counts: dict | None, lang: str) -> str:
    """"Since 2026-01-01: 3 meetings, 12 emails, 2 calls"; empty without counts."""
    if not counts:
        return ""
    return t("ev.contacts", lang, first=iso(counts["first_day"]), meetings=counts["meetings"],
             emails=counts["emails"], calls=counts["calls"])
