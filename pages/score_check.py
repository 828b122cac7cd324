"""スコア検証 — does the health score warn before churn? Churn by band with intervals, precision,
recall and lead time of 🟠/🔴, survival by band, which components warn, the evidence behind
them, and weight alternatives a manager may adopt (never applied)."""

import streamlit as st

from cs_analytics.app.ui import charts, data, filters, fmt, session, widgets
from cs_analytics.app.ui.i18n import current_language, t
from cs_analytics.app.ui.widgets import Col
from cs_analytics.metrics import backtest

HORIZON_KEY = "score_check_horizon"

session.ensure_navigation()

snap = widgets.require_snapshot(data.current_snapshot())
settings, view, lang = data.settings(), filters.view(), current_language()
widgets.title("score_check.title")
horizons = sorted({90, 180, 365, settings.backtest.horizon_days})
horizon = st.radio(t("score_check.horizon"), horizons, key=HORIZON_KEY, horizontal=True,
                   index=horizons.index(settings.backtest.horizon_days),
                   format_func=lambda days: t("score_check.days", days=days))
options = backtest.Options.of(settings, horizon)
result = data.call(backtest.run, snap, options, view.filters)
days, lead = result.evaluation_days, result.lead_time
if not days:
    widgets.empty("score_check.no_days", min_history=options.min_history_days,
                  horizon=horizon, first=fmt.date(result.history_first_day, lang)
                  if result.history_first_day else "—")
    st.stop()
st.caption(t("score_check.caption", horizon=horizon, days=len(days),
             first=fmt.date(days[0], lang), last=fmt.date(days[-1], lang),
             min_history=options.min_history_days))
if not result.account_weeks:
    widgets.empty("score_check.no_rows")
    st.stop()

st.markdown(t("score_check.evidence", accounts=fmt.number(result.churned_accounts),
              churns=fmt.number(len(result.churns)), weeks=fmt.number(result.account_weeks),
              population=fmt.number(result.accounts)))
if not result.enough_evidence:
    st.warning(t("score_check.thin_evidence", minimum=options.min_churned_accounts,
                 accounts=result.churned_accounts), icon="⚠️")

healthy = result.bands.set_index("band").loc["healthy"]
cols = st.columns(4)
with cols[0]:
    widgets.kpi(t("score_check.kpi.warned_rate", horizon=horizon), fmt.pct(result.precision),
                help=t("score_check.kpi.warned_rate_help", weeks=fmt.number(result.warned_weeks),
                       churned=fmt.number(result.warned_churned_weeks), horizon=horizon))
    st.caption(t("score_check.kpi.lift", lift=fmt.number(result.warned_lift, 1),
                 overall=fmt.pct(result.overall_rate)))
with cols[1]:
    widgets.kpi(t("score_check.kpi.healthy_rate", horizon=horizon), fmt.pct(healthy["rate"]),
                help=t("score_check.kpi.healthy_rate_help", weeks=fmt.number(healthy["n"]),
                       churned=fmt.number(healthy["churned"])))
    st.caption(t("score_check.kpi.interval", low=fmt.pct(healthy["ci_low"]),
                 high=fmt.pct(healthy["ci_high"]), confidence=fmt.pct(options.confidence, 0)))
with cols[2]:
    widgets.kpi(t("score_check.kpi.warned_churns"), fmt.pct(result.warned_churn_share),
                help=t("score_check.kpi.recall_help", recall=fmt.pct(result.recall)))
    st.caption(t("score_check.kpi.warned_churns_caption", warned=lead["warned"],
                 churns=lead["warned"] + lead["not_warned"], weeks=options.lead_weeks))
with cols[3]:
    widgets.kpi(t("score_check.kpi.lead_time"), t("score_check.weeks", weeks=fmt.number(
        lead["median"], 1)), help=t("score_check.kpi.lead_time_help", weeks=options.lead_weeks))
    st.caption(t("score_check.kpi.quartiles", q1=fmt.number(lead["q1"], 1),
                 q3=fmt.number(lead["q3"], 1)))

st.subheader(t("score_check.bands_title", horizon=horizon))
charts.show(charts.band_rates(result.bands, t("score_check.bands_chart", horizon=horizon,
                                                confidence=fmt.pct(options.confidence, 0)),
                              t("score_check.col.rate")), key="score_check_bands")
widgets.table(result.bands, {
    "band": Col("col.band", "band"), "n": Col("score_check.col.weeks", "int"),
    "churned": Col("score_check.col.churned_weeks", "int"),
    "rate": Col("score_check.col.rate", "pct"), "ci_low": Col("score_check.col.ci_low", "pct"),
    "ci_high": Col("score_check.col.ci_high", "pct"), "lift": Col("score_check.col.lift", "number"),
    "accounts": Col("score_check.col.accounts", "int"),
    "churned_accounts": Col("score_check.col.churned_accounts", "int"),
}, key="score_check_band_table", download="score-check-bands")
st.caption(t("score_check.bands_note", confidence=fmt.pct(options.confidence, 0),
             adjusted=fmt.number(result.renewal_adjusted_weeks)))

st.subheader(t("score_check.lead_title"))
charts.show(charts.lead_times(result.lead_time_counts, t("score_check.lead_chart"),
                              t("score_check.col.churns"), t("score_check.weeks_before")),
            key="score_check_lead")
st.markdown("#### " + t("score_check.not_warned_title", count=lead["not_warned"]))
not_warned = result.churns[~result.churns["warned"].astype(bool)]
row = widgets.table(not_warned, {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "churn_day": Col("score_check.col.churn_month", "month"),
    "last_day": Col("score_check.col.last_day", "date"),
    "last_score": Col("score_check.col.last_score", "score"),
    "last_band": Col("col.band", "band"),
    "last_detractor": Col("health.col.detractor", "enum", "component"),
    "account_id": Col("col.account_link", "account"),
}, key="score_check_not_warned", download="score-check-not-warned", select=True,
    empty_key="score_check.all_warned")
if row is not None:
    widgets.go_to_account(not_warned["account_id"].iloc[row])

st.subheader(t("score_check.survival_title"))
charts.show(charts.survival_curves(
    result.survival, t("score_check.survival_chart"), t("score_check.week_suffix"),
    horizon / 7, t("score_check.days", days=horizon)), key="score_check_km")
if result.logrank_p is not None:
    st.caption(t("score_check.logrank", p=f"= {result.logrank_p:.3f}"
                 if result.logrank_p >= 0.001 else "< 0.001",
                 reading=t("score_check.logrank_differs" if result.logrank_p < 0.05
                           else "score_check.logrank_same")))
widgets.table(result.survival_by_band, {
    "band": Col("col.band", "band"), "origins": Col("score_check.col.origins", "int"),
    "churned": Col("score_check.col.churned_in_horizon", "int"),
    "survival_at_horizon": Col("score_check.col.survival", "pct"),
    "ci_low": Col("score_check.col.ci_low", "pct"), "ci_high": Col("score_check.col.ci_high", "pct"),
}, key="score_check_survival", download="score-check-survival")

st.subheader(t("score_check.components_title"))
charts.show(charts.quartile_rates(result.components, t("score_check.components_chart",
                                                       horizon=horizon)),
            key="score_check_components")
st.caption(t("score_check.components_note"))
widgets.table(result.components, {
    "component": Col("glossary.col.component", "enum", "component"),
    "quartile": Col("score_check.col.quartile", "int"),
    "low": Col("score_check.col.low", "number"), "high": Col("score_check.col.high", "number"),
    "n": Col("score_check.col.weeks", "int"), "churned": Col("score_check.col.churned_weeks", "int"),
    "rate": Col("score_check.col.rate", "pct"), "lift": Col("score_check.col.lift", "number"),
}, key="score_check_component_table", download="score-check-components")

st.subheader(t("score_check.weights_title"))
if result.alternatives is None:
    widgets.empty("score_check.weights_hidden", minimum=options.min_churned_accounts,
                  accounts=result.churned_accounts)
    st.stop()
charts.show(charts.horizontal_bars(
    [t(f"component.{c}") for c in result.carriers["component"]],
    list(result.carriers["churns"]), title=t("score_check.carriers_chart"),
    name=t("score_check.col.churns")), key="score_check_carriers")
st.caption(t("score_check.weights_note"))
alternatives = result.alternatives
widgets.table(alternatives.assign(component=alternatives["component"].fillna("current")), {
    "component": Col("score_check.col.changed", "enum", "score_check.component"),
    "factor": Col("score_check.col.factor", "number"),
    "weight": Col("glossary.col.weight", "number"),
    "new_weight": Col("score_check.col.new_weight", "number"),
    "warned_share": Col("score_check.col.warned_share", "pct"),
    "precision": Col("score_check.col.precision", "pct"),
    "recall": Col("score_check.col.recall", "pct"), "f1": Col("score_check.col.f1", "pct"),
    "lift": Col("score_check.col.lift", "number"), "config_line": Col("score_check.col.config_line"),
}, key="score_check_alternatives", download="score-check-weights")
best = backtest.best_alternative(alternatives)
if best is not None:
    st.markdown(t("score_check.best", line=best["config_line"], f1=fmt.pct(best["f1"]),
                  current=fmt.pct(alternatives["f1"].iloc[0])))
    st.code(backtest.weights_section(snap, best), language="toml")
