"""Reshaping metrics results for display (rows ↔ columns, picking fields) — never computing a
number: every value here comes from the metrics API unchanged."""

from __future__ import annotations

import pandas as pd

from cs_analytics.app.ui import fmt

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


def movement_summary(bridge: dict) -> pd.DataFrame:
    """`revenue.movement_totals` as one row per movement: movement, count, amount."""
    return pd.DataFrame([{"movement": m, "count": bridge[f"{m}_count"], "amount": bridge[m]}
                         for m in MOVEMENTS])


def _value_text(value, kind: str, lang: str) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if kind == "yen":
        return fmt.yen(value)
    if kind == "pct":
        return fmt.pct(value)
    if kind == "int":
        return fmt.number(value)
    return fmt.number(value, 2)


def _change_text(change, kind: str, lang: str) -> str | None:
    if change is None or (isinstance(change, float) and pd.isna(change)):
        return None
    if kind == "pct":  # already in percentage points
        return fmt.pct_points(change / 100, lang)
    if kind == "yen":
        return ("+" if change >= 0 else "-") + fmt.yen(abs(change))
    return fmt.signed(change, 0 if kind == "int" else 2)


def headline_rows(headline: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The KPI report's headline (one row per KPI with its own kind) as display text."""
    kinds = headline["kind"].tolist()

    def texts(column: str, text) -> list:
        return [text(v, k, lang) for v, k in zip(headline[column].tolist(), kinds)]

    return pd.DataFrame({
        **{name: headline[name] for name in headline.columns},
        "value_text": texts("value", _value_text),
        "previous_text": texts("previous", _value_text),
        "change_text": texts("change", _change_text),
        "year_ago_text": texts("year_ago", _value_text),
        "year_change_text": texts("year_change", _change_text),
    }, index=headline.index)
