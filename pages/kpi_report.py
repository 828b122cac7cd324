"""四半期KPIレポート — the quarterly report for management, on screen and as an Excel download.

The content is `reports.kpi.kpi_report_data`, the same object the Excel workbook renders."""

import streamlit as st

from cs_analytics.reports import kpi as kpi_report
from cs_analytics.ui import (cards, charts, data, filters, fmt, reports, session, shape,
                             widgets)
from cs_analytics.ui.i18n import current_language, t
from cs_analytics.ui.widgets import Col

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, store, lang = data.settings(), filters.view(), data.store(), current_language()
widgets.title("kpi_report.title")
if session.viewer().owner_scope is not None:
    st.info(t("kpi_report.restricted"))  # company-wide figures; this viewer sees one portfolio
    st.stop()
quarters = filters.period_options("quarter", view.as_of, view.fiscal_year_start_month)
default = filters.period_code(view.period) if view.period.kind == "quarter" else quarters[0]
code = st.selectbox(t("kpi_report.quarter"), quarters, index=quarters.index(default)
                    if default in quarters else 0, key="kpi_quarter")
report = reports.kpi_report(snap, settings, code, lang, store)
st.caption(t("kpi_report.caption", start=fmt.date(report.quarter.start_date, lang),
             end=fmt.date(report.end_day, lang))
           + (" " + t("kpi_report.partial") if report.is_partial else ""))
widgets.report_download(kpi_report.render_kpi_workbook, report, stem=f"kpi-report-{code}",
                        label=t("kpi_report.download"), key="kpi_download")

cards.revenue_cards(report.kpis, report.previous_kpis, settings)
st.subheader(t("kpi_report.headline_title"))
widgets.table(shape.headline_rows(report.headline, lang), {
    "label": Col("kpi_report.col.kpi"), "value_text": Col("kpi_report.col.value"),
    "previous_text": Col("kpi_report.col.previous"), "change_text": Col("kpi_report.col.change"),
    "target": Col("kpi_report.col.target"), "status": Col("kpi_report.col.status"),
}, key="kpi_headline", download=f"kpi-headline-{code}")

st.subheader(t("kpi_report.bridge_title"))
left, right = st.columns(2)
with left:
    charts.show(charts.waterfall(report.bridge, t("revenue.bridge_title",
                                                  period=report.quarter.label)), key="kpi_bridge")
with right:
    charts.show(charts.movements_by_period(report.bridge_quarters), key="kpi_bridge_quarters")

st.subheader(t("revenue.retention_title"))
left, right = st.columns(2)
with left:
    charts.show(charts.retention(report.retention_quarters, settings.targets.nrr_min,
                                 t("revenue.nrr_quarterly")), key="kpi_nrr_quarterly")
with right:
    charts.show(charts.retention(report.retention_ttm, settings.targets.nrr_min,
                                 t("revenue.nrr_ttm")), key="kpi_nrr_ttm")

st.subheader(t("kpi_report.churn_title"))
widgets.table(report.churn_reasons.fillna({"reason": t("churn.no_reason")}), {
    "reason": Col("churn.col.reason"), "churned": Col("churn.col.count", "int"),
    "share": Col("churn.col.share", "pct"), "churned_mrr": Col("churn.col.lost_mrr", "yen"),
}, key="kpi_reasons", download=f"churn-reasons-{code}", empty_key="churn.no_churn")

st.subheader(t("kpi_report.health_title"))
widgets.table(report.health_distribution, {
    "band": Col("col.band", "band"), "start": Col("kpi_report.col.start", "int"),
    "end": Col("kpi_report.col.end", "int"), "change": Col("kpi_report.col.change", "int"),
    "end_share": Col("kpi_report.col.share", "pct"),
}, key="kpi_health", download=f"health-distribution-{code}", empty_key="health.no_scores",
    shared=True)

st.subheader(t("kpi_report.activity_title"))
widgets.table(report.activity, {
    "owner_name": Col("col.owner"), "accounts": Col("team.col.accounts", "int"),
    "meetings": Col("team.col.meetings", "int"),
    "emails_calls": Col("team.col.emails_calls", "int"),
    "accounts_no_contact": Col("team.col.no_contact", "int"),
    "onboarding_due": Col("team.col.onboarding_due", "int"),
    "onboarding_completed": Col("team.col.onboarding_completed", "int"),
}, key="kpi_activity", download=f"activity-{code}", shared=True)

st.subheader(t("kpi_report.renewals_title", quarter=report.next_quarter.label))
st.caption(t("kpi_report.renewals_caption", due=widgets.amount(report.renewal_summary["due_arr"]),
             risk=widgets.amount(report.renewal_summary["at_risk_arr"])))
row = widgets.table(report.renewals, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "end_date": Col("col.end_date", "date"), "arr": Col("col.arr", "yen"),
    "status": Col("churn.col.status", "enum", "kpi_report.status"), "band": Col("col.band", "band"),
    "account_id": Col("col.account_link", "account"),
}, key="kpi_renewals", download=f"renewals-{report.next_quarter.label}", select=True, shared=True)
if row is not None:
    widgets.go_to_account(report.renewals["account_id"].iloc[row])

st.subheader(t("kpi_report.plans_title"))
widgets.table(report.action_plans, {
    "team": Col("review.col.team"), "week_start": Col("review.col.week", "date"),
    "due_date": Col("review.col.due", "date"), "description": Col("review.col.description"),
    "owner": Col("review.col.owner"), "status": Col("review.col.status", "enum", "review.status"),
}, key="kpi_plans", download=f"action-plans-{code}", empty_key="kpi_report.no_plans")
