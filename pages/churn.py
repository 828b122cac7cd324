"""チャーン — logo churn by period, two-year churn (trend and by start quarter, each rate with its
group), churn reasons, renewals due by status and the renewal ARR of the coming quarters."""

import streamlit as st

from cs_analytics.app.ui import cards, charts, data, filters, fmt, renewal_view, session, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.metrics import churn, intervals, renewals
from cs_analytics.metrics import targets as target_rules

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view = data.settings(), filters.view()
lang = current_language()
# Target lines only on charts of their basis: the two-year target on two-year churn rates, a
# logo churn target (none by default) on logo churn of its period kind.
target = target_rules.line_value(settings.targets, "two_year_churn_rate", "two_year")
period_text = filters.period_label(view.period)
widgets.title("churn.title")
st.caption(t("churn.caption", period=filters.view_period_text(view.period, view.as_of)))

logo_grain = view.period.kind if view.period.kind in ("month", "quarter") else "quarter"
logo_target = target_rules.line_value(settings.targets, "logo_churn_rate", logo_grain)
trend = data.call(churn.two_year_churn_trend, snap, None, view.filters)  # last 12 months
headline = churn.two_year_churn_at(trend, view.as_of)
headline["small_sample"] = intervals.is_small(headline["customers"],
                                              settings.samples.small_below)
cohorts = data.call(churn.two_year_churn_by_cohort, snap, None, view.filters)
left, right = st.columns([1, 3])
with left:
    widgets.kpi(t("kpi.two_year_churn_rate"), fmt.pct(headline["rate"]),
                description=cards.group_text(headline, short=True),
                help=t("churn.headline_help", first=fmt.month(headline["cohort_first_month"], lang),
                       last=fmt.month(headline["cohort_last_month"], lang)))
    if target is not None:
        st.caption(widgets.target_line(headline["rate"], target, at_most=True))
    st.caption(t("churn.headline_counts", churned=headline["churned"],
                 customers=headline["customers"]) + " · " + cards.group_text(headline))
with right:
    charts.show(charts.rate_with_target(
        trend, "rate", target, title=t("churn.trend_title"), name=t("kpi.two_year_churn_rate"),
        target_name=None if target is None else t("chart.churn_target", value=fmt.pct(target)),
        bars=False, counts="customers", periods="month"), key="churn_two_year_trend")
    st.caption(t("churn.trend_groups"))

st.subheader(t("churn.cohort_title"))
if cohorts.empty:
    widgets.empty("churn.no_customers")
else:
    charts.show(charts.rate_with_target(
        cohorts, "rate", target, title=t("churn.cohort_chart"), name=t("churn.col.rate"),
        target_name=None if target is None else t("chart.churn_target", value=fmt.pct(target)),
        counts="eligible", periods="cohort"), key="churn_cohorts")
    widgets.table(cohorts, {
        "cohort": Col("revenue.col.cohort"), "customers": Col("revenue.col.customers", "int"),
        "eligible": Col("churn.col.eligible", "int"), "churned": Col("churn.col.churned", "int"),
        "rate": Col("churn.col.rate", "pct"),
        "churned_to_date": Col("churn.col.churned_to_date", "int"),
    }, key="churn_cohort_table", download="two-year-churn-by-cohort")

st.subheader(t("churn.logo_title"))
logo = data.call(churn.logo_churn_by_period, snap, logo_grain, 8, None, view.filters)
charts.show(charts.rate_with_target(
    logo, "logo_churn_rate", logo_target, title=t("churn.logo_chart"),
    name=t("kpi.logo_churn_rate"), counts="base_customers"), key="churn_logo")
if logo_target is None:
    st.caption(t("churn.logo_no_target"))

st.subheader(t("churn.reasons_title", period=period_text))
lost = data.call(churn.churned_accounts, snap, period=view.period, filters=view.filters)
reasons = churn.reasons_of(lost)  # churn_reasons of the churns listed
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
st.caption(t("churn.renewals_caption"))
due = data.call(renewals.due_summary, snap, view.period, view.filters)
renewal_view.summary_cards(due)
# The contracts behind the cards, read only while their list is open (the Renewals page lists
# them by quarter). The label stays the same for every filter: the list stays open.
if due.due_count:
    listed = st.expander(t("churn.renewals_list"), key="churn_renewals_open", on_change="rerun")
    with listed:
        if listed.open:
            renewal_view.contracts_table(
                data.call(renewals.due_in, snap, view.period, view.filters),
                renewal_view.CONTRACT_COLUMNS, key="churn_renewals", download="renewals-due")
st.page_link("pages/renewals.py", label=t("churn.to_renewals"), icon="🔁")

st.subheader(t("churn.at_risk_title"))
by_quarter = data.call(renewals.due_by_quarter, snap, renewals.quarters_from(snap, 0, 4),
                       view.filters)
charts.show(charts.renewals_by_quarter(by_quarter, t("churn.at_risk_chart")), key="churn_at_risk")
widgets.table(by_quarter, renewal_view.QUARTER_COLUMNS, key="churn_at_risk_table",
              download="renewals-by-quarter")
