"""週次チェック — the Monday checklist: 🟠/🔴 accounts, no contact ≥60 days, no login ≥60 days,
stale Salesforce records, and the open alerts to acknowledge or snooze."""

import streamlit as st

from cs_analytics.app.ui import alert_form, data, filters, fmt, session, widgets
from cs_analytics.app.ui.i18n import t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.metrics import data_quality, signals, team
from cs_analytics.userdata import alert_actions

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, store = data.settings(), filters.view(), data.store()
widgets.title("check.title")
st.caption(t("check.caption", days=settings.signals.no_contact_days))

at_risk = data.call(team.portfolio, snap, None, view.filters, ("warning", "danger"))
shown = data.call(signals.signals_on, snap, None, (), view.filters)  # every signal
stale = data.call(data_quality.stale_records, snap, view.filters)
no_contact = signals.only(shown, "no_contact_60d")
no_login = signals.only(shown, "no_login_60d")
alerts = alert_actions.with_status(shown, alert_actions.actions(store))
open_alerts = alert_actions.open_only(alerts)
cols = st.columns(5)
for col, key, frame in zip(cols, ("at_risk", "no_contact", "no_login", "stale", "alerts"),
                           (at_risk, no_contact, no_login, stale, open_alerts)):
    col.metric(t(f"check.count.{key}"), fmt.number(len(frame)), border=True)


def go_to(frame, row):
    if row is not None:
        widgets.go_to_account(frame["account_id"].iloc[row])


st.subheader("1. " + t("check.at_risk_title"))
go_to(at_risk, widgets.table(at_risk, widgets.PORTFOLIO_COLUMNS, key="check_at_risk",
                             download="check-at-risk", select=True, empty_key="check.none"))
st.subheader("2. " + t("check.no_contact_title", days=settings.signals.no_contact_days))
go_to(no_contact, widgets.table(no_contact, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "last_contact_date": Col("check.col.last_contact", "date"),
    "last_contact_type": Col("check.col.contact_type", "enum", "activity_type"),
    "days_since_contact": Col("team.col.days_since_contact", "int"), "mrr": Col("col.mrr", "yen"),
    "account_id": Col("col.account_link", "account"), "sf_url": Col("col.salesforce", "url"),
}, key="check_no_contact", download="check-no-contact", select=True, empty_key="check.none"))
st.subheader("3. " + t("check.no_login_title", days=settings.signals.no_login_days))
go_to(no_login, widgets.table(no_login, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "last_login_date": Col("check.col.last_login", "date"),
    "days_since_login": Col("check.col.days_since_login", "int"), "mrr": Col("col.mrr", "yen"),
    "account_id": Col("col.account_link", "account"),
}, key="check_no_login", download="check-no-login", select=True, empty_key="check.none"))
st.subheader("4. " + t("check.stale_title"))
go_to(stale, widgets.table(stale, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "issue": Col("check.col.issue", "enum", "issue"), "detail": Col("check.col.detail"),
    "account_id": Col("col.account_link", "account"), "sf_url": Col("col.salesforce", "url"),
}, key="check_stale", download="check-stale-records", select=True, empty_key="check.none"))

st.subheader("5. " + t("check.alerts_title"))
alert_form.last_recorded()
st.caption(t("check.alerts_hint"))
row = widgets.table(alerts, {
    "status": Col("check.col.status", "enum", "check.status"), "name": Col("col.account_name"),
    "owner_name": Col("col.owner"), "signal": Col("team.col.signals", "enum", "signal"),
    "since": Col("qbr.col.since", "date"), "snoozed_until": Col("check.col.until", "date"),
    "handled_by": Col("check.col.handled_by"), "account_id": Col("col.account_link", "account"),
}, key="check_alerts", download="check-alerts", select=True, empty_key="check.no_alerts")

if row is not None:
    alert_form.handle(alerts.iloc[row], store, settings)
