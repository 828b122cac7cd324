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
                if target is not None:
                    st.caption(target_line(value, target, at_most=at_most))
