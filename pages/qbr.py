"""QBR準備 — the S/A accounts due a QBR this quarter (their customer decks as one zip), and per
account its QBR pack (usage by quarter, health trend, contacts, renewal, risks, suggested
talking points) with the internal Excel pack and the customer PowerPoint deck to download.

The pack is `reports.qbr.qbr_data`, the same object the Excel workbook and the deck render."""

import streamlit as st

from cs_analytics.app.ui import charts, data, filters, qbr_view, reports, session, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts, periods
from cs_analytics.outputs.reports import qbr

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, lang = data.settings(), filters.view(), current_language()
widgets.title("qbr.title")
quarter = periods.period_containing("quarter", view.as_of, view.fiscal_year_start_month)
st.caption(t("qbr.caption", quarter=quarter.label))

due = data.call(accounts.qbr_candidates, snap, quarter.start_date, quarter.end_day(view.as_of),
                view.filters)
chosen = widgets.table(due, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "segment": Col("col.segment"), "band": Col("col.band", "band"),
    "score": Col("col.score", "score"), "arr": Col("col.arr", "yen"),
    "contract_end_date": Col("col.end_date", "date"),
    "last_qbr_date": Col("qbr.col.last_qbr", "date"),
    "qbr_done": Col("qbr.col.done", "enum", "qbr.done"),
    "account_id": Col("col.account_link", "account"),
}, key="qbr_due", download=f"qbr-due-{quarter.label}", select=True, empty_key="qbr.no_due")
qbr_view.batch_decks(snap, settings, due, quarter.label)
account_id = widgets.remember_choice(
    "account_id", None if chosen is None else due["account_id"].iloc[chosen],
    set(due["account_id"].tolist()))
if account_id is None:
    st.info(t("qbr.pick_hint"))
    st.stop()

try:
    pack = reports.qbr_pack(snap, settings, account_id, lang)
except CsAnalyticsError as exc:
    st.warning(str(exc))
    st.stop()
st.subheader(t("qbr.pack_title", name=widgets.md_escape(pack.profile["name"])))
widgets.report_download(qbr.render_qbr_workbook, pack, stem=f"qbr-{account_id}",
                        label=t("qbr.download"), key="qbr_download")
qbr_view.deck_download(snap, settings, pack)
qbr_view.summary(pack)
qbr_view.talking_points(pack)

left, right = st.columns(2)
with left:
    if pack.has_usage:
        charts.show(charts.usage_by_quarter(pack.usage_quarters, t("qbr.usage_title")),
                    key="qbr_usage")
    else:
        widgets.empty("account.no_usage")
with right:
    if pack.health_trend.empty:
        widgets.empty("health.no_scores")
    else:
        charts.show(charts.health_history(pack.health_trend, settings.health.bands,
                                          t("qbr.health_title")), key="qbr_health")
widgets.table(pack.usage_quarters, {
    "period": Col("qbr.col.quarter"), "deliveries": Col("usage.deliveries", "int"),
    "viewers": Col("usage.viewers", "int"), "registrants": Col("usage.registrants", "int"),
    "conversion_rate": Col("usage.conversion_rate", "pct"),
}, key="qbr_usage_table", download=f"qbr-usage-{account_id}")
widgets.table(pack.activity_quarters, {
    "period": Col("qbr.col.quarter"), "meetings": Col("team.col.meetings", "int"),
    "emails": Col("activity_type.email", "int"), "calls": Col("activity_type.call", "int"),
    "contacts": Col("qbr.col.contacts", "int"),
}, key="qbr_contacts", download=f"qbr-contacts-{account_id}")
qbr_view.signals(pack)
