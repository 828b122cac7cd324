"""ヘルススコア — distribution by band now and over time, by owner / segment / industry, the
attribute × health matrix, accounts that declined, component contributions; a band opens its
accounts and an account opens its page."""

import streamlit as st

from cs_analytics.app.ui import charts, data, filters, fmt, session, widgets
from cs_analytics.app.ui.i18n import formatter, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.config import BANDS
from cs_analytics.metrics import health_summary as health

GROUPINGS, GROUP_BY_KEY = tuple(health.GROUPINGS), "health_group_by"
BAND_PARAM = "band"

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
view = filters.view()
widgets.title("health.title")
st.caption(t("health.caption"))

bands = data.call(health.band_distribution, snap, view.filters)
if bands["accounts"].sum() == 0:
    widgets.empty("health.no_scores")
    st.stop()
cols = st.columns(4)
for col, row in zip(cols, bands.itertuples()):
    col.metric(widgets.band_label(row.band), fmt.number(row.accounts), border=True,
               help=t("health.share", share=fmt.pct(row.share)))

over_time = data.call(health.band_counts_over_time, snap, 26, view.filters)
charts.show(charts.band_areas(over_time, t("health.over_time")), key="health_over_time")

st.subheader(t("health.bands_title"))
st.caption(t("common.click_hint"))
chosen = widgets.table(bands, {"band": Col("col.band", "band"),
                               "accounts": Col("team.col.accounts", "int"),
                               "share": Col("health.col.share", "pct")},
                       key="health_bands", download="health-bands", select=True)
band = widgets.remember_choice(
    BAND_PARAM, None if chosen is None else bands["band"].iloc[chosen], BANDS)
if band:
    st.markdown("#### " + t("health.band_accounts", band=widgets.band_label(band)))
    in_band = data.call(health.accounts_in_band, snap, band, view.filters)
    row = widgets.table(in_band, {
        "name": Col("col.account_name"), "owner_name": Col("col.owner"),
        "segment": Col("col.segment"), "score": Col("col.score", "score"),
        "score_change_4w": Col("health.col.change_4w", "number"),
        "top_detractor": Col("health.col.detractor", "enum", "component"),
        "account_id": Col("col.account_link", "account"),
    }, key=f"health_band_{band}", download=f"health-{band}", select=True)
    if row is not None:
        widgets.go_to_account(in_band["account_id"].iloc[row])

left, right = st.columns(2)
with left:
    grouping = st.radio(t("health.group_by"), GROUPINGS, horizontal=True, key=GROUP_BY_KEY,
                        format_func=formatter("health.group"))
    by_group = data.call(health.band_counts_by, snap, grouping, view.filters)
    charts.show(charts.band_bars(by_group, "group", t(f"health.by.{grouping}"), horizontal=True),
                key="health_by_group")
with right:
    matrix = data.call(health.attribute_matrix, snap, view.filters)
    charts.show(charts.matrix(matrix, t("health.matrix_title")), key="health_matrix")

st.subheader(t("health.declined_title"))
declined = data.call(health.declined, snap, 10.0, view.filters)
row = widgets.table(declined, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "score": Col("col.score", "score"), "score_4w_before": Col("health.col.score_4w", "number"),
    "score_change_4w": Col("health.col.change_4w", "number"), "band": Col("col.band", "band"),
    "band_4w_before": Col("health.col.band_4w", "band"),
    "top_detractor": Col("health.col.detractor", "enum", "component"),
    "account_id": Col("col.account_link", "account"),
}, key="health_declined", download="health-declined", select=True, empty_key="health.no_decline")
if row is not None:
    widgets.go_to_account(declined["account_id"].iloc[row])

st.subheader(t("health.components_title"))
components = data.call(health.component_contributions, snap, view.filters)
charts.show(charts.components(components, t("health.components_chart")), key="health_components")
widgets.table(components, {
    "component": Col("glossary.col.component", "enum", "component"),
    "accounts": Col("health.col.with_data", "int"),
    "avg_score": Col("health.col.avg_score", "number"),
    "avg_weight": Col("glossary.col.share", "pct"),
    "avg_contribution": Col("health.col.contribution", "number"),
    "avg_lost": Col("health.col.lost", "number"),
}, key="health_components_table", download="health-components")
