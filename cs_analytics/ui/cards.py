"""The KPI cards shared by the Overview and KPI report pages: each value with its change versus
the previous period and, for the strategy's rates, where it stands against the target."""

from __future__ import annotations

import streamlit as st

from cs_analytics.config import Settings
from cs_analytics.ui import fmt
from cs_analytics.ui.i18n import current_language, t
from cs_analytics.ui.widgets import kpi, rate_delta, target_line, yen_change

# kpis() keys shown as cards, in order.
REVENUE_CARDS = ("mrr", "arr", "customers", "nrr", "grr", "logo_churn_rate",
                 "two_year_churn_rate", "quick_ratio")


def revenue_cards(current: dict, previous: dict | None, settings: Settings,
                  columns: int = 4) -> None:
    """Cards for `revenue.kpis` of the period, with deltas versus the previous period."""
    lang = current_language()
    prev = previous or {}
    targets = settings.targets
    description = t("common.vs_previous")
    cols = st.columns(columns)
    for i, key in enumerate(REVENUE_CARDS):
        with cols[i % columns]:
            value, previous_value = current.get(key), prev.get(key)
            label = t(f"kpi.{key}")
            if key in ("mrr", "arr"):
                kpi(label, fmt.yen_compact(value, lang), help=fmt.yen(value),
                    delta=yen_change(value, previous_value), description=description)
            elif key == "customers":
                delta = (None if value is None or previous_value is None
                         else fmt.signed(value - previous_value))
                kpi(label, fmt.number(value), delta=delta, description=description)
            elif key == "quick_ratio":
                delta = (None if value is None or previous_value is None
                         else fmt.signed(value - previous_value, 2))
                kpi(label, fmt.number(value, 2), delta=delta, description=description,
                    help=t("kpi.quick_ratio_help"))
            else:
                at_most = key in ("logo_churn_rate", "two_year_churn_rate")
                target = {"nrr": targets.nrr_min, "grr": targets.grr_min,
                          "two_year_churn_rate": targets.two_year_churn_max}.get(key)
                kpi(label, fmt.pct(value), delta=rate_delta(value, previous_value),
                    delta_color="inverse" if at_most else "normal",
                    description=description,
                    help=target_line(value, target, at_most=at_most) if target else None)
    st.caption(targets_line(current))


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
