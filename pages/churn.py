"""チャーン — logo churn by period, two-year churn (trend and by start quarter), churn reasons,
renewals due and at-risk ARR by renewal quarter."""

import streamlit as st

from cs_analytics.metrics import churn
from cs_analytics.ui import charts, data, filters, fmt, session, widgets
from cs_analytics.ui.i18n import current_language, t
from cs_analytics.ui.widgets import Col

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view = data.settings(), filters.view()
lang, target = current_language(), settings.targets.two_year_churn_max
period_text = filters.period_label(view.period)
widgets.title("churn.title")
st.caption(t("churn.caption", period=period_text))

# Every query of the page, started side by side; each section takes its result when drawn.
logo_grain = view.period.kind if view.period.kind in ("month", "quarter") else "quarter"
started = {
    "trend": data.start(churn.two_year_churn_trend, snap, None, view.filters),  # last 12 months
    "cohorts": data.start(churn.two_year_churn_by_cohort, snap, None, view.filters),
    "logo": data.start(churn.logo_churn_by_period, snap, logo_grain, 8, None, view.filters),
    "lost": data.start_rows(churn.churned_accounts, snap, view.filters, period=view.period),
    "due": data.start_rows(churn.renewal_contracts, snap, view.filters, period=view.period),
    "ahead": data.start_rows(churn.upcoming_contracts, snap, view.filters, quarters=4),
}
trend = started["trend"].result()
headline = churn.two_year_churn_at(trend, view.as_of)
cohorts = started["cohorts"].result()
left, right = st.columns([1, 3])
with left:
    widgets.kpi(t("kpi.two_year_churn_rate"), fmt.pct(headline["rate"]),
                help=t("churn.headline_help", first=fmt.month(headline["cohort_first_month"], lang),
                       last=fmt.month(headline["cohort_last_month"], lang)))
    st.caption(widgets.target_line(headline["rate"], target, at_most=True))
    st.caption(t("churn.headline_counts", churned=headline["churned"],
                 customers=headline["customers"]))
with right:
    trend["label"] = trend["month"]  # months, named and ticked by the chart
    charts.show(charts.rate_with_target(
        trend, "rate", target, title=t("churn.trend_title"), name=t("kpi.two_year_churn_rate"),
        target_name=t("chart.churn_target", value=fmt.pct(target)), bars=False),
        key="churn_two_year_trend")

st.subheader(t("churn.cohort_title"))
if cohorts.empty:
    widgets.empty("churn.no_customers")
else:
    cohorts["label"] = cohorts["cohort"]
    charts.show(charts.rate_with_target(
        cohorts, "rate", target, title=t("churn.cohort_chart"), name=t("churn.col.rate"),
        target_name=t("chart.churn_target", value=fmt.pct(target))), key="churn_cohorts")
    widgets.table(cohorts, {
        "cohort": Col("revenue.col.cohort"), "customers": Col("revenue.col.customers", "int"),
        "eligible": Col("churn.col.eligible", "int"), "churned": Col("churn.col.churned", "int"),
        "rate": Col("churn.col.rate", "pct"),
        "churned_to_date": Col("churn.col.churned_to_date", "int"),
    }, key="churn_cohort_table", download="two-year-churn-by-cohort")

st.subheader(t("churn.logo_title"))
logo = started["logo"].result()
charts.show(charts.rate_with_target(
    logo, "logo_churn_rate", target, title=t("churn.logo_chart"), name=t("kpi.logo_churn_rate"),
    target_name=t("chart.churn_target", value=fmt.pct(target))), key="churn_logo")

st.subheader(t("churn.reasons_title", period=period_text))
lost = started["lost"].result()
reasons = churn.reasons_of(lost)
if reasons.empty:
    widgets.empty("churn.no_churn")
else:
    reasons["reason"] = reasons["reason"].fillna(t("churn.no_reason"))
    charts.show(charts.horizontal_bars(list(reasons["reason"]), list(reasons["churned"]),
                                       title=t("churn.reasons_chart"), name=t("churn.col.count")),
                key="churn_reasons_chart")
    widgets.table(reasons, {
        "reason": Col("churn.col.reason"), "churned": Col("churn.col.count", "int"),
        "share": Col("churn.col.share", "pct"), "churned_mrr": Col("churn.col.lost_mrr", "yen"),
        "mrr_share": Col("churn.col.mrr_share", "pct"),
    }, key="churn_reasons", download="churn-reasons")
    row = widgets.table(lost, {
        "name": Col("col.account_name"), "owner_name": Col("col.owner"),
        "month": Col("col.month", "month"), "churned_mrr": Col("churn.col.lost_mrr", "yen"),
        "reason": Col("churn.col.reason"), "account_id": Col("col.account_link", "account"),
    }, key="churn_accounts", download="churned-accounts", select=True)
    if row is not None:
        widgets.go_to_account(lost["account_id"].iloc[row])

st.subheader(t("churn.renewals_title", period=period_text))
due = churn.renewals_of(started["due"].result())
cols = st.columns(4)
cols[0].metric(t("churn.due"), fmt.number(due.due_count), border=True,
               help=fmt.yen(due.due_mrr * 12))
cols[1].metric(t("churn.renewed"), fmt.number(due.renewed_count), border=True)
cols[2].metric(t("churn.lost"), fmt.number(due.lost_count), border=True)
cols[3].metric(t("churn.renewal_rate"), fmt.pct(due.renewal_rate), border=True,
               help=t("churn.renewal_rate_help", pending=due.pending_count))
due_rows = due.contracts.assign(status=[
    "pending" if r is None else ("renewed" if r else "lost") for r in due.contracts["renewed"]])
row = widgets.table(due_rows, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "end_date": Col("col.end_date", "date"), "arr": Col("col.arr", "yen"),
    "status": Col("churn.col.status", "enum", "churn.status"),
    "account_id": Col("col.account_link", "account"),
}, key="churn_renewals", download="renewals-due", select=True)
if row is not None:
    widgets.go_to_account(due_rows["account_id"].iloc[row])

st.subheader(t("churn.at_risk_title"))
by_quarter = churn.renewals_by_quarter_of(started["ahead"].result(),
                                          churn.renewal_quarters(snap, 4))
charts.show(charts.stacked_bars(by_quarter, "quarter", {
    "signed_arr": (t("churn.signed_arr"), "#2e7d32"),
    "at_risk_arr": (t("churn.at_risk_arr"), "#c62828")}, title=t("churn.at_risk_chart"), yen=True),
    key="churn_at_risk")
widgets.table(by_quarter, {
    "quarter": Col("churn.col.quarter"), "contracts": Col("churn.col.contracts", "int"),
    "due_arr": Col("churn.col.due_arr", "yen"), "signed_arr": Col("churn.signed_arr", "yen"),
    "at_risk_contracts": Col("churn.col.at_risk_contracts", "int"),
    "at_risk_arr": Col("churn.at_risk_arr", "yen"),
}, key="churn_at_risk_table", download="renewals-by-quarter")
