"""更新管理 — renewals due this quarter and the next three by status (signed, lost, pending, at
risk), the notice-deadline radar, the reminder list for the renewal-reminder mail (CSV) and
the forecast of renewing ARR beside the renewal rate of past quarters."""

import streamlit as st

from cs_analytics.app.ui import (charts, data, downloads, filters, fmt, renewal_view, session,
                                 widgets)
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.metrics import renewals

QUARTER_PARAM = "renewal_quarter"  # the quarter listed, kept in the URL

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, lang = data.settings(), filters.view(), current_language()
terms = settings.renewals
widgets.title("renewals.title")
st.caption(t("renewals.caption", as_of=fmt.date(snap.as_of, lang)))

ahead = renewals.quarters_from(snap, 0, 4)
radar_terms = {"days": terms.radar_days}
reminder_terms = {"min_days": terms.reminder_days_min, "max_days": terms.reminder_days_max}

by_quarter = data.call(renewals.due_by_quarter, snap, ahead, view.filters)
st.subheader(t("renewals.quarter_title", quarter=ahead[0].label))
renewal_view.summary_cards(renewals.summary_at(by_quarter, 0))

st.subheader(t("renewals.by_quarter_title"))
charts.show(charts.renewals_by_quarter(by_quarter, t("renewals.chart.by_quarter")),
            key="renewals_by_quarter")
widgets.table(by_quarter, renewal_view.QUARTER_COLUMNS, key="renewals_quarters",
              download="renewals-by-quarter")

# The three lists of contracts, one tab each: only the open tab's list is read and drawn.
st.subheader(t("renewals.lists_title"))
st.caption(t("renewals.lists_counts", days=terms.radar_days, min=terms.reminder_days_min,
             max=terms.reminder_days_max,
             radar=renewals.notice_radar.count(snap, **radar_terms, filters=view.filters),
             reminders=renewals.reminders.count(snap, **reminder_terms, filters=view.filters)))
listing, radar, reminding = st.tabs(
    [t("renewals.tab.contracts"), t("renewals.tab.radar"), t("renewals.tab.reminders")],
    key="renewals_list", on_change="rerun")
with listing:
    if listing.open:
        labels = [q.label for q in ahead]
        picked = st.segmented_control(
            t("renewals.pick_quarter"), labels, key="renewals_quarter",
            default=widgets.url_choice(QUARTER_PARAM, labels) or labels[0])
        quarter = ahead[labels.index(widgets.remember_choice(QUARTER_PARAM, picked, labels)
                                     or labels[0])]
        st.subheader(t("renewals.contracts_title", quarter=quarter.label))
        st.caption(t("renewals.contracts_hint"))
        renewal_view.contracts_table(data.call(renewals.due_in, snap, quarter, view.filters),
                                     renewal_view.CONTRACT_COLUMNS, key="renewals_contracts",
                                     download=f"renewals-{quarter.label}")
with radar:
    if radar.open:
        st.subheader(t("renewals.radar_title", days=terms.radar_days))
        st.caption(t("renewals.radar_caption"))
        renewal_view.contracts_table(
            data.call(renewals.notice_radar, snap, **radar_terms, filters=view.filters),
            renewal_view.RADAR_COLUMNS, key="renewals_radar", download="notice-deadlines",
            empty_key="renewals.no_deadlines")
with reminding:
    if reminding.open:
        st.subheader(t("renewals.reminders_title", min=terms.reminder_days_min,
                       max=terms.reminder_days_max))
        st.caption(t("renewals.reminders_caption"))
        reminders = data.call(renewals.reminders, snap, **reminder_terms, filters=view.filters)
        renewal_view.contracts_table(reminders, renewal_view.REMINDER_COLUMNS,
                                     key="renewals_reminders", download="renewal-reminders",
                                     empty_key="renewals.no_reminders")
        if not reminders.empty:
            st.download_button(
                t("renewals.reminders_csv"),
                lambda: downloads.csv_bytes(renewals.reminder_csv_frame(reminders)),
                file_name=downloads.filename("renewal-reminder-mail", snap.as_of, "csv"),
                mime="text/csv", key="renewals_reminder_mail", icon="✉️", on_click="ignore",
                help=t("renewals.reminders_csv_help"))

st.subheader(t("renewals.forecast_title"))
probabilities = data.call(renewals.probabilities, snap)
st.caption(t("renewals.forecast_caption", min=terms.forecast_min_renewals,
             lead=terms.forecast_lead_days))
st.markdown(renewal_view.probability_source_line(probabilities))
past = renewals.quarters_from(snap, -terms.history_quarters, terms.history_quarters)
history = data.call(renewals.due_by_quarter, snap, past, view.filters)
left, right = st.columns(2)
with left:
    widgets.table(probabilities, renewal_view.PROBABILITY_COLUMNS, key="renewals_probabilities",
                  download="renewal-probabilities")
with right:
    charts.show(charts.renewal_rate_history(history, t("renewals.chart.history",
                                                       n=terms.history_quarters)),
                key="renewals_history")
widgets.table(history, renewal_view.HISTORY_COLUMNS, key="renewals_history_table",
              download="renewal-rate-history")
