"""四半期KPIレポート — the quarterly report for management, on screen and as an Excel download.

The content is `reports.kpi.kpi_report_data`, the same object the Excel workbook renders. The
page opens on the last complete quarter; the current one is shown to date, compared like for
like."""

import streamlit as st

from cs_analytics import clock
from cs_analytics.app.ui import (cards, charts, data, filters, fmt, renewal_view, reports, session,
                                 widgets)
from cs_analytics.app.ui.i18n import current_language, formatter, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.outputs.reports import kpi as kpi_report
from cs_analytics.userdata import commentary

UNITS = ("yen", "man", "million")

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, store, lang = data.settings(), filters.view(), data.store(), current_language()
viewer = session.viewer()
widgets.title("kpi_report.title")
if viewer.owner_scope is not None:
    st.info(t("kpi_report.restricted"))  # company-wide figures; this viewer sees one portfolio
    st.stop()
quarters = filters.period_options("quarter", view.as_of, view.fiscal_year_start_month)
default = kpi_report.default_quarter(snap).label
periods_by_code = {code: filters.period_from_code("quarter", code, view.fiscal_year_start_month)
                   for code in quarters}
code = st.selectbox(t("kpi_report.quarter"), quarters, key="kpi_quarter",
                    index=quarters.index(default) if default in quarters else 0,
                    format_func=lambda c: filters.view_period_text(periods_by_code[c],
                                                                   view.as_of, lang))
report = reports.kpi_report(snap, settings, code, lang, store)
st.caption(t("kpi_report.caption", start=fmt.date(report.quarter.start_date, lang),
             end=fmt.date(report.end_day, lang))
           + (" " + t("kpi_report.partial", days=report.days_elapsed,
                      total=report.days_in_quarter) if report.is_partial else ""))
filters.like_for_like_caption(report.comparison)
left, right = st.columns([1, 2])
unit = left.radio(t("kpi_report.unit"), UNITS, horizontal=True, key="kpi_unit",
                  format_func=formatter("kpi_report.units"))
with right:
    widgets.report_download(lambda r: kpi_report.render_kpi_workbook(r, unit), report,
                            stem=f"kpi-report-{code}", label=t("kpi_report.download"),
                            key="kpi_download")

cards.revenue_cards(report.comparison, settings)
st.subheader(t("kpi_report.headline_title"))
heads = kpi_report.headline_columns(report)
widgets.table(reports.kpi_headline(snap, settings, code, lang), {
    "label": Col("kpi_report.col.kpi"), "value_text": Col(heads["value"], literal=True),
    "previous_text": Col(heads["previous"], literal=True),
    "change_text": Col("kpi_report.col.change"),
    "year_ago_text": Col(heads["year_ago"], literal=True),
    "year_change_text": Col("kpi_report.col.year_change"),
    "target": Col("kpi_report.col.target"), "status": Col("kpi_report.col.status"),
    "note": Col("kpi_report.col.note"),
}, key="kpi_headline", download=f"kpi-headline-{code}", shared=True)

st.subheader(t("kpi_report.commentary_title", quarter=report.quarter.label))
note = report.commentary
if note:
    st.markdown(widgets.md_escape(note["body"]))
    st.caption(t("kpi_report.commentary_by", author=note["author"],
                 at=clock.local_text(note["written_at"], settings)))
else:
    st.caption(t("kpi_report.commentary_none"))
if viewer.can_manage_data:
    with st.form(f"kpi_commentary_{report.quarter.label}"):
        body = st.text_area(t("kpi_report.commentary_edit"), value=note["body"] if note else "",
                            key=f"kpi_commentary_text_{report.quarter.label}", height=120)
        if st.form_submit_button(t("kpi_report.commentary_save"), type="primary"):
            try:
                commentary.save_commentary(store, report.quarter.label, body, viewer.author)
                st.rerun()
            except CsAnalyticsError as exc:
                st.error(str(exc))

st.subheader(t("kpi_report.bridge_title"))
left, right = st.columns(2)
with left:
    charts.show(charts.waterfall(report.bridge, t("revenue.bridge_title",
                                                  period=report.quarter.label)), key="kpi_bridge")
with right:
    charts.show(charts.movements_by_period(report.bridge_quarters), key="kpi_bridge_quarters")
st.markdown("#### " + t("kpi_report.movers_title", quarter=report.quarter.label))
row = widgets.table(report.contributors, widgets.CONTRIBUTOR_COLUMNS, key="kpi_movers",
                    download=f"movement-accounts-{code}", select=True, shared=True,
                    empty_key="overview.no_movers")
if row is not None:
    widgets.go_to_account(report.contributors["account_id"].iloc[row])

st.subheader(t("revenue.retention_title"))
left, right = st.columns(2)
with left:
    charts.show(charts.retention(report.retention_quarters, report.target_lines["nrr_quarter"],
                                 t("revenue.nrr_quarterly")), key="kpi_nrr_quarterly")
with right:
    charts.show(charts.retention(report.retention_ttm, report.target_lines["nrr_ttm"],
                                 t("revenue.nrr_ttm")), key="kpi_nrr_ttm")
st.caption(t("revenue.target_basis"))

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

for key, quarter, due, summary in (
        ("this", report.quarter, report.renewals, report.renewal_summary),
        ("next", report.next_quarter, report.next_renewals, report.next_renewal_summary)):
    st.subheader(t(f"kpi_report.renewals_{key}", quarter=quarter.label))
    renewal_view.summary_cards(summary)
    renewal_view.contracts_table(due, renewal_view.CONTRACT_COLUMNS, key=f"kpi_renewals_{key}",
                                 download=f"renewals-{quarter.label}", shared=True)
st.caption(t("kpi_report.renewals_caption"))

st.subheader(t("kpi_report.plans_title"))
widgets.table(report.action_plans, {
    "team": Col("review.col.team"), "week_start": Col("review.col.week", "date"),
    "due_date": Col("review.col.due", "date"), "description": Col("review.col.description"),
    "owner": Col("review.col.owner"), "status": Col("review.col.status", "enum", "review.status"),
}, key="kpi_plans", download=f"action-plans-{code}", empty_key="kpi_report.no_plans")
