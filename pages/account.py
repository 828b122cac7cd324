"""顧客カルテ — one account: contracts and MRR history, usage trends, activity timeline, health
history with components, signals, notes and manual assessment, link to Salesforce."""

import streamlit as st

from cs_analytics.app.ui import account_view, charts, data, filters, session, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.session import viewer
from cs_analytics.app.ui.widgets import Col
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts, activity
from cs_analytics.outputs.writeback import outbox
from cs_analytics.userdata import notes

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, store, lang = data.settings(), filters.view(), data.store(), current_language()
widgets.title("account.title")

account_id = account_view.pick_account(snap, view)
if account_id is None:
    widgets.empty("account.no_accounts")
    st.stop()
profile = data.call(accounts.profile, snap, account_id)
account_view.header(snap, profile)

# Only the open tab runs (a switch reruns the page from cached data): a click on the account
# page does not read and draw all six sections.
overview_tab, contracts_tab, usage_tab, activity_tab, health_tab, notes_tab = st.tabs(
    [t(f"account.tab.{k}") for k in ("overview", "contracts", "usage", "activity", "health",
                                     "notes")], key="account_tab", on_change="rerun")
if overview_tab.open:
    with overview_tab:
        account_view.health_summary(snap, account_id, store)
        account_view.signals(snap, account_id)
if contracts_tab.open:
    with contracts_tab:
        history = data.call(accounts.mrr_history, snap, account_id)
        if history.empty:
            widgets.empty("account.no_mrr")
        else:
            charts.show(charts.account_mrr(history, t("account.mrr_history")), key="account_mrr")
        widgets.table(data.call(accounts.contracts, snap, account_id), {
            "contract_id": Col("account.col.contract"), "start_date": Col("col.start_date", "date"),
            "end_date": Col("col.end_date", "date"), "type": Col("account.col.type", "enum",
                                                                  "contract_type"),
            "status": Col("account.col.status", "enum", "contract_status", open_set=True),
            "amount": Col("account.col.amount", "yen"),
            "mrr": Col("col.mrr", "yen"), "active": Col("account.col.active"),
            "churn_reason": Col("churn.col.reason"),
        }, key="account_contracts", download=f"contracts-{account_id}",
            empty_key="account.no_contracts")
if usage_tab.open:
    with usage_tab:
        usage = data.call(accounts.usage_by_month, snap, account_id, 12, settings)
        if usage.empty:
            widgets.empty("account.no_usage")
        else:
            charts.show(charts.usage_trend(usage, t("account.usage_title")), key="account_usage")
            widgets.table(usage, {
                "month": Col("col.month", "month"), "deliveries": Col("usage.deliveries", "int"),
                "logins": Col("usage.logins", "int"), "viewers": Col("usage.viewers", "int"),
                "registrants": Col("usage.registrants", "int"),
                "conversions": Col("usage.conversions", "int"),
                "conversion_rate": Col("usage.conversion_rate", "pct"),
            }, key="account_usage_table", download=f"usage-{account_id}")
if activity_tab.open:
    with activity_tab:
        timeline = data.call(activity.account_activities, snap, account_id)
        widgets.table(timeline, {
            "date": Col("account.col.date", "date"),
            "type": Col("account.col.activity_type", "enum", "activity_type"),
            "owner_name": Col("col.owner"), "subject": Col("account.col.subject"),
        }, key="account_activities", download=f"activities-{account_id}",
            empty_key="account.no_activities")
if health_tab.open:
    with health_tab:
        account_view.health_history(snap, account_id, settings)
        account_view.assessment(store, account_id)
if notes_tab.open:
    with notes_tab:
        with st.form(f"note_form_{account_id}", clear_on_submit=True):
            body = st.text_area(t("account.note"), key="account_note_body")
            if st.form_submit_button(t("account.add_note"), type="primary"):
                try:
                    notes.add_note(store, account_id, body, viewer().author)
                except CsAnalyticsError as exc:
                    st.error(str(exc))
        if outbox.enabled(settings):
            st.caption(t("account.outbox_help"))
        written, columns = account_view.with_outbox(notes.notes(store, account_id), {
            "created_at": Col("account.col.written", "moment"), "author": Col("review.col.author"),
            "body": Col("account.note")}, store, "note", account_id)
        widgets.table(written, columns, key="account_notes", download=f"notes-{account_id}",
                      empty_key="account.no_notes")
