"""Targets judged on their basis (SPEC §4 "Comparisons and targets"): an annual NRR/GRR target
on the trailing twelve months at the period's end, the two-year churn target on the two-year
churn rate, a period target only on a period of its kind — never a quarter's NRR against an
annual goal."""

from __future__ import annotations

from typing import Mapping

from cs_analytics.config import Target

PERIOD_BASES = ("month", "quarter", "year")
EPSILON = 1e-12  # a value equal to its target (up to float noise) meets it


def met(value, target: Target) -> bool | None:
    """Whether `value` reaches `target` in its direction; None without a value."""
    if value is None:
        return None
    if target.direction == "at_most":
        return value <= target.value + EPSILON
    return value >= target.value - EPSILON


def judged_value(target: Target, period_kind: str, measures: Mapping) -> tuple[object, str | None]:
    """(the value `target` is judged on, the label of what it was measured over) for a period
    of `period_kind`, from `measures` — the `comparisons.measure` of that period: its kpis,
    its TTM kpis at the period's end and its two-year churn. (None, None) when the target does
    not apply: a period basis of another kind than the period shown."""
    if target.basis == "ttm":
        return measures["ttm"]["kpis"].get(target.metric), measures["ttm"]["label"]
    if target.basis == "two_year":
        return measures["two_year"]["rate"], measures["two_year"]["month"].strftime("%Y-%m")
    if target.basis == period_kind:
        return measures["kpis"].get(target.metric), measures["label"]
    return None, None


def judge(targets: Mapping[str, Target], period_kind: str, measures: Mapping) -> list[dict]:
    """One row per enabled target: name, metric, value (the target), basis, direction,
    measured (the value on its basis), on (what it was measured over: "TTM 2026-12",
    "2026Q4", the two-year churn's month), applies (False for a period target of another kind:
    measured and met are then None), met (True / False, None without a value)."""
    rows = []
    for name, target in targets.items():
        if not target.enabled:
            continue
        value, on = judged_value(target, period_kind, measures)
        rows.append({"name": name, "metric": target.metric, "value": target.value,
                     "basis": target.basis, "direction": target.direction, "measured": value,
                     "on": on, "applies": on is not None, "met": met(value, target)})
    return rows


def for_metric(rows: list[dict], metric: str, basis: str | None = None) -> dict | None:
    """The first judged target of `metric` (with `basis`, when given) among `judge`'s rows."""
    for row in rows:
        if row["metric"] == metric and (basis is None or row["basis"] == basis):
            return row
    return None


def line_value(targets: Mapping[str, Target], metric: str, basis: str) -> float | None:
    """The target value of `metric` on `basis`, for a chart of that basis to draw as a line;
    None when no such target is configured (the chart then draws none)."""
    for target in targets.values():
        if target.enabled and target.metric == metric and target.basis == basis:
            return target.value
    return None
