"""The KPI cards shared by the Overview and KPI report pages: each value with its change versus
the previous period and, for the strategy's rates, where it stands against the target."""

from __future__ import annotations

import streamlit as st

from cs_analytics.config import Settings
from cs_analytics.ui import fmt, widgets
from cs_analytics.ui.i18n import current_language, t
from cs_analytics.ui.widgets import kpi, target_line

# kpis() keys shown as cards, in order.
REVENUE_CARDS = ("mrr", "arr", "customers", "nrr", "grr", "logo_churn_rate",
                 "two_year_churn_rate", "quick_ratio")

# Whether a rise of a number is good news: it decides a change's colour on every card.
UP_IS_GOOD = {"mrr": True, "arr": True, "customers": True, "nrr": True, "grr": True,
              "logo_churn_rate": False, "two_year_churn_rate": False, "quick_ratio": True,
              "new": True, "reactivation": True, "expansion": True, "contraction": False,
              "churn": False, "score": True}


def revenue_cards(current: dict, previous: dict | None, settings: Settings,
                  columns: int = 4) -> None:
    """Cards for `revenue.kpis` of the period, with changes versus the previous period. Each
    row of `columns` cards is its own st.columns, so a narrow screen that stacks the columns
    keeps the cards in reading order (MRR, ARR, customers, NRR, …)."""
    lang = current_language()
    prev = previous or {}
    targets = settings.targets
    description = t("common.vs_previous")
    for first in range(0, len(REVENUE_CARDS), columns):
        for col, key in zip(st.columns(columns), REVENUE_CARDS[first:first + columns]):
            with col:
                _revenue_card(key, current.get(key), prev.get(key), targets, lang, description)
    st.caption(targets_line(current))


def _revenue_card(key: str, value, previous_value, targets, lang: str, description: str) -> None:
    label, change = t(f"kpi.{key}"), widgets.change(value, previous_value)
    shown = {"change": change, "up_is_good": UP_IS_GOOD[key], "description": description}
    if key in ("mrr", "arr"):
        unit = widgets.amount_unit(lang)
        kpi(label, fmt.amount(value, lang, unit), help=fmt.yen(value),
            change_text=None if change is None else fmt.amount_delta(change, lang, unit), **shown)
    elif key == "customers":
        kpi(label, fmt.number(value), change_text=None if change is None else fmt.signed(change),
            **shown)
    elif key == "quick_ratio":
        kpi(label, fmt.number(value, 2), help=t("kpi.quick_ratio_help"),
            change_text=None if change is None else fmt.signed(change, 2), **shown)
    else:
        at_most = not UP_IS_GOOD[key]
        target = {"nrr": targets.nrr_min, "grr": targets.grr_min,
                  "two_year_churn_rate": targets.two_year_churn_max}.get(key)
        kpi(label, fmt.pct(value),
            change_text=None if change is None else fmt.pct_points(change, lang),
            help=target_line(value, target, at_most=at_most) if target else None, **shown)


def targets_line(current: dict) -> str:
    """One line: each strategy rate against its target, with the gap in points."""
    from cs_analytics.ui.data import settings

    targets = settings().targets
    lang = current_language()
    parts = []
    for key, target, at_most in (("nrr", targets.nrr_min, False), ("grr", targets.grr_min, False),
                                 ("two_year_churn_rate", targets.two_year_churn_max, True)):
        value = current.get(key)
        gap = None if value is None else fmt.pct_points(value - target, lang)
        parts.append(t("kpi.target_part", kpi=t(f"kpi.{key}"), value=fmt.pct(value),
                       target=target_line(value, target, at_most=at_most),
                       gap=gap or fmt.MISSING))
    return t("kpi.targets", parts=" · ".join(parts))


def attention_cards(bands, shown, store) -> None:
    """Accounts per health band (`health_summary.band_distribution`) and the open alerts
    among the signals shown (`signals.keys_on`), each linking to where to act."""
    from cs_analytics import alert_actions
    from cs_analytics.ui.widgets import band_label

    alerts = alert_actions.with_status(shown, alert_actions.actions(store))
    cols = st.columns(5)
    for col, row in zip(cols, bands.itertuples()):
        col.metric(band_label(row.band), fmt.number(row.accounts), border=True,
                   help=t("health.share", share=fmt.pct(row.share)))
    cols[4].metric(t("check.count.alerts"), fmt.number(len(alert_actions.open_only(alerts))),
                   border=True, help=t("overview.alerts_help"))
    left, right = st.columns(2)
    left.page_link("pages/health.py", label=t("overview.to_health"), icon="🩺")
    right.page_link("pages/weekly_check.py", label=t("overview.to_check"), icon="✅")
