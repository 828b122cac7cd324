"""The Monday check's alert form: acknowledge or snooze the selected alert, with a comment.

The form belongs to one alert (its widget keys name the account and signal), starts empty
again after an action, and the next run says what was recorded, by whom."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from cs_analytics import clock
from cs_analytics.app.ui import fmt
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.session import viewer
from cs_analytics.app.ui.widgets import md_escape
from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.userdata import alert_actions
from cs_analytics.warehouse.store import Store

RECORDED_KEY = "_alert_recorded"  # what the last action recorded, shown once after it
SNOOZE_DAYS = 7                   # the snooze date offered first


def last_recorded() -> None:
    """The confirmation of the action of the previous run, if there was one."""
    if recorded := st.session_state.pop(RECORDED_KEY, None):
        st.success(recorded, icon="✅")


def handle(alert: pd.Series, store: Store, settings: Settings) -> None:
    """The form for one alert (a row of `alert_actions.with_status`)."""
    form = f"alert_form_{alert['account_id']}_{alert['signal']}"
    about = {"name": md_escape(alert["name"]), "signal": t(f"signal.{alert['signal']}")}
    with st.form(form, clear_on_submit=True):
        st.markdown(t("check.handle", **about))
        comment = st.text_input(t("check.comment"), key=f"{form}_comment")
        until = st.date_input(t("check.col.until"), key=f"{form}_until",
                              value=clock.today(settings) + dt.timedelta(days=SNOOZE_DAYS))
        ack, snooze = st.columns(2)
        acknowledged = ack.form_submit_button(t("check.acknowledge"), type="primary")
        snoozed = snooze.form_submit_button(t("check.snooze"))
    if not (acknowledged or snoozed):
        return
    author = viewer().author
    said = {"author": md_escape(author),
            "comment": md_escape(comment.strip()) if comment.strip() else t("check.no_comment")}
    try:
        if acknowledged:
            alert_actions.acknowledge(store, alert["account_id"], alert["signal"], author,
                                      comment)
            recorded = t("check.recorded_acknowledge", **about, **said)
        else:
            alert_actions.snooze(store, alert["account_id"], alert["signal"], until, author,
                                 comment, today=clock.today(settings))
            recorded = t("check.recorded_snooze", **about, **said,
                         until=fmt.date(until, current_language()))
    except CsAnalyticsError as exc:
        st.error(str(exc))
        return
    st.session_state[RECORDED_KEY] = recorded
    for field in ("comment", "until"):
        st.session_state.pop(f"{form}_{field}", None)
    st.rerun()
