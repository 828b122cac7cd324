"""経営サマリー — headline KPIs vs the previous period, a year ago and the targets (each on its
basis), MRR trend, the period's MRR bridge and the accounts behind it, health and alerts, and
this quarter's renewals by status."""

import streamlit as st

from cs_analytics.app.ui import cards, charts, data, filters, renewal_view, session, shape, widgets
from cs_analytics.app.ui.i18n import t
from cs_analytics.metrics import (comparisons, contributors, health_summary, periods, renewals,
                                  revenue, signals)

TOP_ACCOUNTS = 3

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view = data.settings(), filters.view()
widgets.title("overview.title")

[this_quarter] = renewals.quarters_from(snap, 0, 1)
# The period with its previous and year-ago periods and the targets: one cached call.
compared = data.call(comparisons.compare, snap, view.period, view.filters, None, settings)
st.caption(t("overview.caption", period=filters.period_text(compared["current"])))
filters.like_for_like_caption(compared)
cards.revenue_cards(compared, settings)
cards.attention_cards(data.call(health_summary.band_distribution, snap, view.filters),
                      data.call(signals.keys_on, snap, None, view.filters), data.store())

st.subheader(t("overview.renewals_title", quarter=this_quarter.label))
due = data.call(renewals.due_by_quarter, snap, [this_quarter], view.filters)
renewal_view.summary_cards(renewals.summary_at(due, 0))
st.page_link("pages/renewals.py", label=t("overview.to_renewals"), icon="🔁")

trend_last = view.period.end_month(view.as_of)
trend = data.call(revenue.mrr_trend, snap, periods.add_months(trend_last, -23), trend_last,
                  view.filters)
left, right = st.columns([3, 2])
with left:
    if trend.empty:
        widgets.empty("overview.no_revenue")
    else:
        charts.show(charts.mrr_trend(trend), key="overview_mrr_trend")
with right:
    bridge = compared["current"]["bridge"]
    charts.show(charts.waterfall(bridge, t("overview.bridge_title",
                                           period=filters.period_label(view.period))),
                key="overview_waterfall")

st.subheader(t("overview.movements_title"))
st.caption(t("overview.movements_hint"))
movements = shape.movement_summary(bridge)
selected = widgets.table(movements, widgets.MOVEMENT_SUMMARY_COLUMNS, key="overview_movements",
                         download="movements-summary", select=True)
if selected is not None:
    st.switch_page("pages/revenue.py",
                   query_params={"movement": movements["movement"].iloc[selected]})

st.subheader(t("overview.movers_title", period=filters.period_label(view.period)))
st.caption(t("overview.movers_hint", n=TOP_ACCOUNTS))
movers = data.call(contributors.top_contributors, snap, view.period, view.filters,
                   top=TOP_ACCOUNTS)
row = widgets.table(movers, widgets.CONTRIBUTOR_COLUMNS, key="overview_movers",
                    download="movement-accounts", select=True, empty_key="overview.no_movers")
if row is not None:
    widgets.go_to_account(movers["account_id"].iloc[row])
