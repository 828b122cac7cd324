"""チーム — per owner: accounts vs capacity, ARR, segment and health mix, alert load, days since
last contact; click an owner for their portfolio, then an account for its page."""

import streamlit as st

from cs_analytics.app.ui import charts, data, filters, session, widgets
from cs_analytics.app.ui.i18n import t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.metrics import team

OWNER_PARAM = "team_owner"

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
view = filters.view()
widgets.title("team.title")
st.caption(t("team.caption"))

owners = data.call(team.owner_summary, snap, view.filters)
if owners.empty:
    widgets.empty("team.no_owners")
    st.stop()
left, right = st.columns(2)
with left:
    charts.show(charts.capacity(owners, t("team.load_chart")), key="team_load")
with right:
    charts.show(charts.band_bars(owners, "owner_name", t("team.health_chart"), horizontal=True),
                key="team_health")

st.subheader(t("team.owners_title"))
st.caption(t("common.click_hint"))
chosen = widgets.table(owners, {
    "owner_name": Col("col.owner"), "accounts": Col("team.col.accounts", "int"),
    "capacity": Col("team.col.capacity", "int"), "utilization": Col("team.col.utilization", "pct"),
    "arr": Col("col.arr", "yen"), "segment_S": Col("team.col.segment_s", "int"),
    "segment_A": Col("team.col.segment_a", "int"), "segment_B": Col("team.col.segment_b", "int"),
    "segment_C": Col("team.col.segment_c", "int"), "healthy": Col("band.healthy", "int"),
    "caution": Col("band.caution", "int"), "warning": Col("band.warning", "int"),
    "danger": Col("band.danger", "int"), "accounts_with_signals": Col("team.col.alerts", "int"),
    "avg_days_since_contact": Col("team.col.avg_contact", "number"),
    "max_days_since_contact": Col("team.col.max_contact", "int"),
}, key="team_owners", download="team", select=True)
owner_id = widgets.remember_choice(
    OWNER_PARAM, None if chosen is None else owners["owner_id"].iloc[chosen],
    set(owners["owner_id"].tolist()))
if owner_id:
    name = owners.loc[owners["owner_id"] == owner_id, "owner_name"].iloc[0]
    st.subheader(t("team.portfolio_title", owner=widgets.md_escape(name)))
    accounts = data.call(team.portfolio, snap, owner_id, view.filters)
    row = widgets.table(accounts, widgets.PORTFOLIO_COLUMNS, key=f"team_portfolio_{owner_id}",
                        download=f"portfolio-{owner_id}", select=True,
                        empty_key="team.no_accounts")
    if row is not None:
        widgets.go_to_account(accounts["account_id"].iloc[row])
