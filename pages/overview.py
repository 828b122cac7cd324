"""経営サマリー — headline KPIs vs targets, MRR trend, the period's MRR bridge, health and alerts,
and this quarter's renewals by status."""

import streamlit as st

from cs_analytics.metrics import health_summary, periods, renewals, revenue, signals
from cs_analytics.ui import cards, charts, data, filters, renewal_view, session, shape, widgets
from cs_analytics.ui.i18n import t

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view = data.settings(), filters.view()
widgets.title("overview.title")
st.caption(t("overview.caption", period=filters.period_label(view.period)))

# Every query of the page, started side by side; each section takes its result when drawn.
# The period and the previous one, with the period's bridge: one cached call, two queries.
trend_last = view.period.end_month(view.as_of)
[this_quarter] = renewals.quarters_from(snap, 0, 1)
started = {
    "headlines": data.start(revenue.headlines, snap, (view.period, view.previous_period),
                            view.filters),
    "bands": data.start(health_summary.band_distribution, snap, view.filters),
    "alerts": data.start_rows(signals.keys_on, snap, view.filters),
    "trend": data.start(revenue.mrr_trend, snap, periods.add_months(trend_last, -23),
                        trend_last, view.filters),
    "renewals": data.start_rows(renewals.due_in, snap, view.filters, period=this_quarter),
}
current, previous = started["headlines"].result()
cards.revenue_cards(current["kpis"], previous["kpis"], settings)
cards.attention_cards(started["bands"].result(), started["alerts"].result(), data.store())

st.subheader(t("overview.renewals_title", quarter=this_quarter.label))
renewal_view.summary_cards(renewals.summary_of(started["renewals"].result()))
st.page_link("pages/renewals.py", label=t("overview.to_renewals"), icon="🔁")

trend = started["trend"].result()
left, right = st.columns([3, 2])
with left:
    if trend.empty:
        widgets.empty("overview.no_revenue")
    else:
        charts.show(charts.mrr_trend(trend), key="overview_mrr_trend")
with right:
    bridge = current["bridge"]
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
