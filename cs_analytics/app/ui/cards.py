"""The KPI cards shared by the Overview and KPI report pages: each value with its change versus
the previous period (like for like while the period is to date) and the same period a year ago,
the two-year churn rate with its group and interval, and each target judged on its basis."""

from __future__ import annotations

import streamlit as st

from cs_analytics.app.ui import filters, fmt, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import band_label, kpi
from cs_analytics.config import Settings
from cs_analytics.metrics import kpis
from cs_analytics.metrics.comparisons import group_changed
from cs_analytics.userdata import alert_actions

# kpis() keys shown as cards, in order (the KPI registry, metrics/kpis.py).
REVENUE_CARDS = kpis.CARDS

# Whether a rise of a number is good news: it decides a change's colour on every card.
UP_IS_GOOD = {**{k.key: k.up_is_good for k in kpis.KPIS}, "score": True}


# Cards per row: wide enough for a yen amount in 万円 and a change with its sample size
# ("2/26社・小サンプル") at 1440 px without truncation; nine cards make three full rows.
CARDS_PER_ROW = 3


def revenue_cards(comparison: dict, settings: Settings) -> None:
    """Cards for `comparisons.compare` of the period: each KPI with its change versus the
    previous period, the year-ago change beside it, and the strategy's rates with their
    target — judged on the target's basis, not on the period's own value. Each row of
    CARDS_PER_ROW cards is its own st.columns, so a narrow screen that stacks the columns keeps
    the cards in reading order (MRR, ARR, customers, …)."""
    lang = current_language()
    compared_with = t("compare.compared_with",
                      previous=filters.measured_text(comparison["previous"]),
                      year_ago=filters.measured_text(comparison["year_ago"]))
    for first in range(0, len(REVENUE_CARDS), CARDS_PER_ROW):
        row = REVENUE_CARDS[first:first + CARDS_PER_ROW]
        for col, key in zip(st.columns(CARDS_PER_ROW), row):
            with col:
                _revenue_card(key, comparison, compared_with, lang)
    st.caption(year_ago_line(comparison))
    st.caption(targets_line(comparison))


def _revenue_card(key: str, comparison: dict, compared_with: str, lang: str) -> None:
    """One card: the value, its change versus the previous period (coloured by whether a rise
    is good for this KPI, grey when it rounds to zero) and, in its help, the year-ago change
    and the target on its basis."""
    value = comparison["current"]["kpis"].get(key)
    before = comparison["previous"]["kpis"].get(key)
    ago = comparison["year_ago"]["kpis"].get(key)
    label, change = t(f"kpi.{key}"), widgets.change(value, before)
    year_text = t("compare.year_ago_change", change=_change_text(key, value, ago, lang))
    shown = {"change": change, "up_is_good": UP_IS_GOOD[key],
             "description": t("compare.vs_previous")}
    kind = kpis.kpi(key).kind
    if kind == "yen":
        unit = widgets.amount_unit(lang)
        kpi(label, fmt.amount(value, lang, unit), help=fmt.yen(value),
            change_text=None if change is None else fmt.amount_delta(change, lang, unit), **shown)
    elif kind == "count":
        kpi(label, fmt.number(value), help=f"{year_text}\n\n{compared_with}",
            change_text=None if change is None else fmt.signed(change), **shown)
    elif kind == "ratio":
        kpi(label, fmt.number(value, 2),
            help=f"{t('kpi.quick_ratio_help')}\n\n{year_text}\n\n{compared_with}"
            if key == "quick_ratio" else f"{year_text}\n\n{compared_with}",
            change_text=None if change is None else fmt.signed(change, 2), **shown)
    elif key == "two_year_churn_rate":
        two = comparison["current"]["two_year"]
        # over other customers than the previous rate: the change is not coloured as better
        # or worse (the help names both groups)
        other = group_changed(two, comparison["previous"]["two_year"])
        kpi(label, fmt.pct(value), change=change,
            change_text=None if change is None else fmt.pct_points(change, lang),
            up_is_good=None if other else UP_IS_GOOD[key],
            description=group_text(two, short=True), help=two_year_help(comparison))
    else:
        kpi(label, fmt.pct(value),
            help=f"{target_help(comparison, key)}\n\n{year_text}\n\n{compared_with}",
            change_text=None if change is None else fmt.pct_points(change, lang), **shown)


def year_ago_line(comparison: dict) -> str:
    """One line beside the cards: each card's KPI against the same period a year ago."""
    lang = current_language()
    current, ago = comparison["current"]["kpis"], comparison["year_ago"]["kpis"]
    parts = [t("compare.year_ago_part", kpi=t(f"kpi.{key}"),
               change=_change_text(key, current.get(key), ago.get(key), lang))
             for key in REVENUE_CARDS]
    return t("compare.year_ago_line", period=filters.measured_text(comparison["year_ago"]),
             parts=" · ".join(parts))


def _change_text(key: str, value, before, lang: str) -> str:
    """A change as the card shows it: percent for amounts and counts, points for rates."""
    if value is None or before is None:
        return fmt.MISSING
    kind = kpis.kpi(key).kind
    if kind == "rate":
        return fmt.pct_points(value - before, lang)
    if kind == "ratio":
        return fmt.signed(value - before, 2)
    if not before:
        return fmt.MISSING
    return f"{(value - before) / abs(before) * 100:+.1f}%"


def group_text(two_year: dict, short: bool = False) -> str:
    """'18社中3社 · 90%信頼区間 6.9%〜35.2% · 小サンプル': the two-year churn rate's group
    (`short`: without the interval, which the card's help then gives)."""
    parts = [t("compare.group_short" if short else "compare.group",
               churned=two_year["churned"], customers=two_year["customers"])]
    if two_year["ci90"] is not None and not short:
        parts.append(t("compare.interval", low=fmt.pct(two_year["ci90"][0]),
                       high=fmt.pct(two_year["ci90"][1])))
    if two_year["small_sample"]:
        parts.append(t("compare.small_sample"))
    return " · ".join(parts)


def two_year_help(comparison: dict) -> str:
    """The two-year churn rate's cohort window, its target on its basis and, when the
    comparisons are over other customers, their groups: the change is partly a new group."""
    two = comparison["current"]["two_year"]
    lang = current_language()
    lines = [group_text(two),
             t("churn.headline_help", first=fmt.month(two["cohort_first_month"], lang),
               last=fmt.month(two["cohort_last_month"], lang))]
    target = _judged(comparison, "two_year_churn_rate")
    if target:
        lines.append(target_text(target))
    for name in ("previous", "year_ago"):
        other = comparison[name]["two_year"]
        if group_changed(two, other):
            lines.append(t(f"compare.group_{name}", churned=other["churned"],
                           customers=other["customers"],
                           first=fmt.month(other["cohort_first_month"], lang),
                           last=fmt.month(other["cohort_last_month"], lang)))
    return "\n\n".join(lines)


def _judged(comparison: dict, metric: str, basis: str | None = None) -> dict | None:
    for row in comparison["targets"]:
        if row["metric"] == metric and row["applies"] and (basis is None or
                                                          row["basis"] == basis):
            return row
    return None


def target_text(row: dict) -> str:
    """'直近12か月（TTM 2026-12）101.6% · 目標 ≥ 110.0% ⚠️': a judged target with its basis."""
    sign = "≥" if row["direction"] == "at_least" else "≤"
    shown = fmt.number(row["measured"], 2) if row["metric"] == "quick_ratio" else fmt.pct(
        row["measured"])
    goal = (fmt.number(row["value"], 2) if row["metric"] == "quick_ratio"
            else fmt.pct(row["value"]))
    mark = "" if row["met"] is None else (" ✅" if row["met"] else " ⚠️")
    return t("compare.target", basis=t(f"compare.basis.{row['basis']}", on=row["on"]),
             value=shown, sign=sign, target=goal) + mark


def target_help(comparison: dict, key: str) -> str:
    """A rate card's help: the period's own value is judged only by a target of the period's
    kind; an annual target is judged on the trailing twelve months."""
    period_kind = comparison["current"]["period"].kind
    lines = []
    own = _judged(comparison, key, period_kind)
    if own is None:
        lines.append(t("compare.no_period_target"))
    for row in comparison["targets"]:
        if row["metric"] == key and row["applies"]:
            lines.append(target_text(row))
    return "\n\n".join(lines)


def targets_line(comparison: dict) -> str:
    """One line: every target judged on its basis, with the gap in points."""
    lang = current_language()
    parts = []
    for row in comparison["targets"]:
        if not row["applies"]:
            continue
        gap = (None if row["measured"] is None or row["metric"] == "quick_ratio"
               else fmt.pct_points(row["measured"] - row["value"], lang))
        part = t("compare.target_part", kpi=t(f"kpi.{row['metric']}"), target=target_text(row),
                 gap=gap or fmt.MISSING)
        if row["metric"] == "two_year_churn_rate":
            part += t("compare.group_paren",
                      group=group_text(comparison["current"]["two_year"]))
        parts.append(part)
    return t("compare.targets", parts=" · ".join(parts)) if parts else ""


def attention_cards(bands, shown, store) -> None:
    """Accounts per health band (`health_summary.band_distribution`) and the open alerts
    among the signals shown (`signals.keys_on`), each linking to where to act."""
    open_alerts = alert_actions.open_count(shown, alert_actions.actions(store))
    cols = st.columns(5)
    for col, row in zip(cols, bands.itertuples()):
        col.metric(band_label(row.band), fmt.number(row.accounts), border=True,
                   help=t("health.share", share=fmt.pct(row.share)))
    cols[4].metric(t("check.count.alerts"), fmt.number(open_alerts),
                   border=True, help=t("overview.alerts_help"))
    left, right = st.columns(2)
    left.page_link("pages/health.py", label=t("overview.to_health"), icon="🩺")
    right.page_link("pages/weekly_check.py", label=t("overview.to_check"), icon="✅")
