"""MRR・NRR — the MRR bridge by month or quarter, NRR/GRR trends, movements with the accounts
behind them, and cohort net-MRR retention."""

import streamlit as st

from cs_analytics.app.ui import charts, data, filters, session, shape, widgets
from cs_analytics.app.ui.i18n import formatter, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.metrics import periods, revenue
from cs_analytics.metrics import targets as target_rules
from cs_analytics.metrics.base import fiscal_year_start_month

COHORT_METRIC_KEY = "revenue_cohort_metric"
MOVEMENT_PARAM = "movement"

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view = data.settings(), filters.view()
widgets.title("revenue.title")
period_text = filters.period_label(view.period)
st.caption(t("revenue.caption", period=filters.view_period_text(view.period, view.as_of)))

grain = st.radio(t("revenue.grain"), ("month", "quarter"), horizontal=True, key="revenue_grain",
                 format_func=formatter("period.kind"))
recent = periods.last_n(grain, 12 if grain == "month" else 8, view.period.end_day(view.as_of),
                        view.fiscal_year_start_month)
# Every period this page shows, from one query (the bridge, the bars, both NRR trends — those
# by the fiscal year the snapshot was built with, as `revenue.retention_trend`).
snapshot_fsm = fiscal_year_start_month(snap)
sets = data.call(revenue.period_sets, snap, (
    ("bridge", (view.period,)), ("recent", tuple(recent)),
    ("quarterly", tuple(periods.last_n("quarter", 8, view.as_of, snapshot_fsm))),
    ("ttm", tuple(periods.last_n("ttm", 12, view.as_of, snapshot_fsm))),
), view.filters)
bridge = revenue.bridge_of(sets["bridge"].iloc[0])
by_period = sets["recent"][list(revenue.MOVEMENTS_BY_PERIOD_COLUMNS)]
left, right = st.columns(2)
with left:
    charts.show(charts.waterfall(bridge, t("revenue.bridge_title", period=period_text)),
                key="revenue_waterfall")
with right:
    charts.show(charts.movements_by_period(by_period), key="revenue_movements_chart")

st.subheader(t("revenue.retention_title"))
quarterly = sets["quarterly"][list(revenue.RETENTION_COLUMNS)]
ttm = sets["ttm"][list(revenue.RETENTION_COLUMNS)]
# A target line only on the chart of its basis: the annual NRR target on the TTM chart.
left, right = st.columns(2)
with left:
    charts.show(charts.retention(quarterly, target_rules.line_value(settings.targets, "nrr",
                                                                     "quarter"),
                                 t("revenue.nrr_quarterly")), key="revenue_nrr_quarterly")
with right:
    charts.show(charts.retention(ttm, target_rules.line_value(settings.targets, "nrr", "ttm"),
                                 t("revenue.nrr_ttm")), key="revenue_nrr_ttm")
st.caption(t("revenue.target_basis"))

st.subheader(t("revenue.movements_title", period=period_text))
st.caption(t("common.click_hint"))
movements = shape.movement_summary(bridge)
chosen = widgets.table(movements, widgets.MOVEMENT_SUMMARY_COLUMNS, key="revenue_movements",
                       download="movements-summary", select=True)
movement = widgets.remember_choice(MOVEMENT_PARAM, None if chosen is None
                                   else movements["movement"].iloc[chosen], shape.MOVEMENTS)
if movement:
    st.markdown("#### " + t("revenue.accounts_title", movement=t(f"movement.{movement}"),
                            period=period_text))
    behind = data.call(revenue.movement_accounts, snap, view.period, movement, view.filters)
    row = widgets.table(behind, {
        "name": Col("col.account_name"), "owner_name": Col("col.owner"),
        "month": Col("col.month", "month"), "mrr_before": Col("revenue.col.before", "yen"),
        "mrr_after": Col("revenue.col.after", "yen"), "amount": Col("revenue.col.amount", "yen"),
        "account_id": Col("col.account_link", "account"),
    }, key=f"revenue_accounts_{movement}", download=f"movement-{movement}", select=True)
    if row is not None:
        widgets.go_to_account(behind["account_id"].iloc[row])

st.subheader(t("revenue.cohort_title"))
metric = st.radio(t("revenue.cohort_metric"), revenue.COHORT_METRICS, horizontal=True,
                  key=COHORT_METRIC_KEY, format_func=formatter("revenue.cohort"))
cohorts = data.call(revenue.cohort_table, snap, "quarter", metric, view.filters)
if cohorts.empty:
    widgets.empty("revenue.no_cohorts")
else:
    charts.show(charts.cohort_heatmap(cohorts, t(f"revenue.cohort.{metric}")),
                key="revenue_cohorts")
    offsets = [c for c in cohorts.columns if c.startswith("+")]
    widgets.table(cohorts, {"cohort": Col("revenue.col.cohort"),
                            "customers": Col("revenue.col.customers", "int"),
                            "start_mrr": Col("revenue.col.start_mrr", "yen"),
                            **{c: Col(c, "pct", literal=True) for c in offsets}},
                  key="revenue_cohort_table", download=f"cohorts-{metric}")
