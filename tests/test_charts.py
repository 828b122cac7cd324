"""The chart builders of cs_analytics/app/ui/charts.py, without a browser.

Figures are built as plain dicts and not validated when a page runs, so these tests are where
plotly's validation happens: every builder, on small frames like the ones the pages pass (and
the empty and NaN cases they can pass), must give a figure the validating constructor accepts
unchanged, that serializes to JSON, and that shows what a user would notice — names, colors,
axis formats, target lines, translated titles, escaped labels."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import math

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from cs_analytics.app.ui import charts
from cs_analytics.app.ui.i18n import LANGUAGES, translate
from test_app_common import values

HOSTILE = "<b>x</b>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;"
BANDS = {"healthy": 75.0, "caution": 50.0, "warning": 25.0}
MOVEMENTS = ["new", "reactivation", "expansion", "contraction", "churn"]


@pytest.fixture(params=LANGUAGES)
def lang(request, monkeypatch):
    """Build the charts in one language (outside a page run the session has none)."""
    monkeypatch.setattr(charts, "current_language", lambda: request.param)
    monkeypatch.setattr(charts, "t", lambda key, **v: translate(request.param, key, **v))
    return request.param


def months(*isos: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(isos))).astype("datetime64[us]")


def bridge(start, new, reactivation, expansion, contraction, churn) -> dict:
    end = start + new + reactivation + expansion + contraction + churn
    return {"start_mrr": start, "new": new, "reactivation": reactivation,
            "expansion": expansion, "contraction": contraction, "churn": churn, "mrr": end}


def movements_frame(labels: list[str], rows: list[list[float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=MOVEMENTS, dtype="float64")
    df.insert(0, "label", pd.Series(labels, dtype="str"))
    return df


def renewal_quarters() -> pd.DataFrame:
    """Two quarters as `renewals.by_quarter_of` gives them (the columns the chart reads)."""
    return pd.DataFrame({
        "quarter": pd.Series(["2026Q2", "2026Q3"], dtype="str"),
        "signed_arr": [6_000_000.0, 0.0], "lost_arr": [1_200_000.0, 0.0],
        "pending_arr": [3_000_000.0, 9_000_000.0], "at_risk_arr": [1_000_000.0, 2_000_000.0],
        "forecast_arr": [2_400_000.0, 8_000_000.0], "forecast_low": [2_200_000.0, 7_500_000.0],
        "forecast_high": [2_600_000.0, 8_400_000.0],
        "expected_arr": [8_400_000.0, 8_000_000.0]})


def band_frame(category: str, names: list[str], counts: dict[str, list[int]]) -> pd.DataFrame:
    return pd.DataFrame({category: pd.Series(names, dtype="str"), **counts})


# Every public builder, called as the pages call it: id → (builder, call).
CASES = {
    "mrr_trend": ("mrr_trend", lambda: charts.mrr_trend(pd.DataFrame({
        "month": months("2025-04-01", "2025-05-01"), "mrr": [4_130_000.0, 4_140_000.5],
        "customers": [21, 22]}))),
    "waterfall": ("waterfall", lambda: charts.waterfall(
        bridge(5_440_000.0, 60_000.0, 0.0, 80_000.0, -190_000.0, -160_000.0), "Bridge")),
    "waterfall_empty_snapshot": ("waterfall", lambda: charts.waterfall(
        bridge(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), "Bridge")),
    "movements_by_period": ("movements_by_period", lambda: charts.movements_by_period(
        movements_frame(["2025Q1", "2025Q2"], [[100.0, 0.0, 50.0, -20.0, -40.0],
                                                [0.0, 10.0, 0.0, 0.0, -70.0]]))),
    "movements_by_period_empty": ("movements_by_period", lambda: charts.movements_by_period(
        movements_frame([], []))),
    "retention": ("retention", lambda: charts.retention(pd.DataFrame({
        "label": pd.Series(["2025Q1", "2025Q2", "2025Q3"], dtype="str"),
        "nrr": [float("nan"), 1.05, 0.98], "grr": [float("nan"), 0.95, 0.9]}), 1.1, "NRR")),
    "retention_ttm_none": ("retention", lambda: charts.retention(pd.DataFrame({
        "label": ["TTM 2025-01", "TTM 2025-02"], "nrr": pd.Series([None, 1.2], dtype=object),
        "grr": pd.Series([None, 0.9], dtype=object)}), 1.1, "TTM")),
    "rate_bars": ("rate_with_target", lambda: charts.rate_with_target(pd.DataFrame({
        "label": pd.Series(["2025Q1", "2025Q2"], dtype="str"),
        "logo_churn_rate": [0.05, float("nan")]}), "logo_churn_rate", 0.02,
        title="Logo churn", name="Rate", target_name="Target 2.0%")),
    "rate_line_empty": ("rate_with_target", lambda: charts.rate_with_target(pd.DataFrame({
        "label": pd.Series([], dtype="str"), "rate": pd.Series([], dtype="float64")}), "rate",
        0.1, title="Churn", name="Rate", target_name="Target", bars=False)),
    "cohort_heatmap": ("cohort_heatmap", lambda: charts.cohort_heatmap(pd.DataFrame({
        "cohort": pd.Series(["2024Q1", "2024Q2"], dtype="str"), "customers": [5, 2],
        "+0": [1.0, 1.0], "+1": [1.25, 0.5], "+2": [0.8, float("nan")]}), "Cohorts")),
    "band_areas": ("band_areas", lambda: charts.band_areas(pd.DataFrame({
        "snapshot_day": months("2025-10-06", "2025-10-13"), "healthy": [18, 20],
        "caution": [7, 5], "warning": [0, 1], "danger": [1, 0]}), "Bands")),
    "band_areas_empty": ("band_areas", lambda: charts.band_areas(pd.DataFrame({
        "snapshot_day": months(), "healthy": [], "caution": [], "warning": [],
        "danger": []}), "Bands")),
    "band_bars": ("band_bars", lambda: charts.band_bars(band_frame(
        "owner_name", ["佐藤 悠斗", HOSTILE], {"healthy": [3, 0], "caution": [2, 2],
                                             "warning": [0, 1], "danger": [0, 1]}),
        "owner_name", "By owner")),
    "band_bars_horizontal_some_bands": ("band_bars", lambda: charts.band_bars(band_frame(
        "group", ["S", HOSTILE, "B"], {"healthy": [1, 2, 3], "danger": [0, 1, 0]}),
        "group", "By segment", horizontal=True)),
    "band_bars_empty": ("band_bars", lambda: charts.band_bars(band_frame(
        "group", [], {"healthy": [], "caution": [], "warning": [], "danger": []}),
        "group", "By segment", horizontal=True)),
    "matrix": ("matrix", lambda: charts.matrix(pd.DataFrame({
        "tier": pd.Series(["high", "mid", "low"], dtype="str"),
        "healthy": [1, 5, 12], "caution": [0, 0, 6], "warning": [1, 0, 0], "danger": [0, 0, 1],
        "segment_healthy": ["S", "A", "B"], "segment_caution": ["S", "A", "C"],
        "segment_warning": ["A", "B", "C"], "segment_danger": ["A", "B", "C"]}), "Matrix")),
    "matrix_without_segments": ("matrix", lambda: charts.matrix(pd.DataFrame({
        "tier": ["low"], "healthy": [0], "caution": [0], "warning": [0], "danger": [0]}),
        "Matrix")),
    "usage_trend": ("usage_trend", lambda: charts.usage_trend(pd.DataFrame({
        "month": [dt.date(2025, 4, 1), dt.date(2025, 5, 1)], "deliveries": [2.0, 4.0],
        "logins": [39.0, float("nan")]}), "Usage")),
    "health_history": ("health_history", lambda: charts.health_history(pd.DataFrame({
        "snapshot_day": months("2025-04-07", "2025-04-14", "2025-04-21"),
        "score": [80.0, float("nan"), 45.5]}), BANDS, "Health")),
    "horizontal_bars": ("horizontal_bars", lambda: charts.horizontal_bars(
        ["施策終了・中止", HOSTILE], [3, 1], title="Reasons", name="Count")),
    "horizontal_bars_yen": ("horizontal_bars", lambda: charts.horizontal_bars(
        ["A社"], [1_200_000.5], title="MRR", name="MRR", yen=True, color="#00897b")),
    "stacked_bars": ("stacked_bars", lambda: charts.stacked_bars(pd.DataFrame({
        "quarter": pd.Series(["2026Q2", HOSTILE], dtype="str"),
        "signed_arr": [480_000.0, 0.0], "at_risk_arr": [12_960_000.0, 100.0]}), "quarter",
        {"signed_arr": ("Signed", "#2e7d32"), "at_risk_arr": ("At risk", "#c62828")},
        title="ARR by quarter", yen=True)),
    "stacked_bars_counts": ("stacked_bars", lambda: charts.stacked_bars(pd.DataFrame({
        "quarter": ["2026Q2"], "contracts": [3]}), "quarter",
        {"contracts": ("Contracts", "#1f4e79")}, title="Contracts")),
    "capacity": ("capacity", lambda: charts.capacity(pd.DataFrame({
        "owner_name": pd.Series(["佐藤 悠斗", HOSTILE], dtype="str"), "accounts": [5, 4],
        "capacity": [29, 23]}), "Load")),
    "usage_by_quarter": ("usage_by_quarter", lambda: charts.usage_by_quarter(pd.DataFrame({
        "period": pd.Series(["2025Q2", "2025Q3"], dtype="str"), "deliveries": [18.0, 0.0],
        "conversion_rate": [0.138, float("nan")]}), "Usage")),
    "components": ("components", lambda: charts.components(pd.DataFrame({
        "component": pd.Series(["deliveries", "renewal"], dtype="str"),
        "avg_contribution": [21.78, 10.0], "avg_lost": [3.43, 5.0]}), "Components")),
    "components_empty": ("components", lambda: charts.components(pd.DataFrame({
        "component": pd.Series([], dtype="str"), "avg_contribution": [],
        "avg_lost": []}), "Components")),
    "band_rates": ("band_rates", lambda: charts.band_rates(pd.DataFrame({
        "band": ["healthy", "caution", "warning", "danger"], "rate": [0.02, None, 0.53, 0.8],
        "ci_low": [0.018, None, 0.47, 0.71], "ci_high": [0.023, None, 0.58, 0.86]}),
        "Churn by band", "Churn rate")),
    "survival_curves": ("survival_curves", lambda: charts.survival_curves(pd.DataFrame({
        "band": ["healthy", "healthy", "danger", "danger"], "weeks": [0.0, 8.5, 0.0, 4.1],
        "survival": [1.0, 0.97, 1.0, 0.5]}), "Survival", " wk", 25.7, "180 days")),
    "survival_curves_empty": ("survival_curves", lambda: charts.survival_curves(pd.DataFrame({
        "band": pd.Series([], dtype="str"), "weeks": [], "survival": []}), "Survival", "週",
        25.7, "180日")),
    "quartile_rates": ("quartile_rates", lambda: charts.quartile_rates(pd.DataFrame({
        "component": ["logins", "logins", "renewal"], "quartile": [1, 3, 1],
        "rate": [0.22, 0.03, 0.12]}), "By quartile")),
    "lead_times": ("lead_times", lambda: charts.lead_times(pd.DataFrame({
        "weeks": [0, 1, 2, 3], "churns": [0, 2, 0, 1]}), "Lead time", "Churns", "weeks")),
    "renewals_by_quarter": ("renewals_by_quarter", lambda: charts.renewals_by_quarter(
        renewal_quarters(), "Renewals")),
    "renewals_by_quarter_empty": ("renewals_by_quarter", lambda: charts.renewals_by_quarter(
        renewal_quarters().iloc[0:0], "Renewals")),
    "renewal_rate_history": ("renewal_rate_history", lambda: charts.renewal_rate_history(
        pd.DataFrame({"quarter": pd.Series(["2025Q3", "2025Q4"], dtype="str"),
                      "renewal_rate": pd.Series([0.9, None], dtype=object)}), "History")),
    "account_mrr": ("account_mrr", lambda: charts.account_mrr(pd.DataFrame({
        "month": months("2023-07-01", "2023-08-01", "2023-09-01"),
        "mrr": [60_000.0, 60_000.0, 90_000.0],
        "movement": pd.Series(["new", None, "expansion"], dtype="str")}), "MRR history")),
}


def spec(fig: dict | go.Figure) -> dict:
    """What the browser receives (`charts.show` sends the same JSON: test below)."""
    return json.loads(pio.to_json(fig, validate=False))


def traces(fig: dict) -> list[dict]:
    return spec(fig)["data"]


def decoded(value):
    """A spec with plotly's base64 arrays ('bdata', written for numpy arrays by a Figure) as
    lists and NaN as null, as a plain dict writes them: the same figure either way."""
    if isinstance(value, dict):
        if "bdata" in value:
            return decoded(values(value))
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def build(case: str) -> dict:
    return CASES[case][1]()


def same(a, b) -> bool:
    """Equal lists of numbers, NaN (a gap) equal to NaN or null."""
    def norm(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return [norm(v) for v in a] == [norm(v) for v in b]


# ---------------------------------------------------------------------------- every builder


def test_every_public_builder_has_a_case():
    builders = {name for name, f in inspect.getmembers(charts, inspect.isfunction)
                if f.__module__ == charts.__name__ and not name.startswith("_")
                and name not in ("labels", "show")}
    assert builders == {builder for builder, _ in CASES.values()}


@pytest.mark.parametrize("case", CASES)
def test_plotly_validation_accepts_the_figure_unchanged(case, lang):
    fig = build(case)
    assert isinstance(fig, dict)
    validated = go.Figure(fig)  # raises on any property plotly does not know
    # …and rewrites nothing: a value only the validator expands (a named colorscale) would
    # reach the browser unexpanded and render differently.
    assert decoded(spec(validated)) == decoded(spec(fig))


@pytest.mark.parametrize("case", ["rate_bars", "matrix", "usage_trend", "health_history"])
def test_show_sends_the_figure_as_written(case, lang):
    def page(case):
        import test_charts
        from cs_analytics.app.ui import charts

        charts.show(test_charts.build(case), key="chart")  # in `lang`: the fixture's patch

    at = AppTest.from_function(page, args=(case,), default_timeout=30).run()
    assert not at.exception
    [chart] = at.get("plotly_chart")
    assert json.loads(chart.proto.spec) == spec(build(case))


@pytest.mark.parametrize("case", CASES)
def test_figure_serializes_to_strict_json(case, lang):
    fig = build(case)

    def not_json(constant):
        raise AssertionError(f"{constant} in the chart's JSON: browsers cannot parse it")

    sent = json.loads(pio.to_json(fig, validate=False), parse_constant=not_json)
    assert len(sent["data"]) == len(fig["data"])


@pytest.mark.parametrize("case", CASES)
def test_figure_has_the_plotly_white_look(case, lang):
    white = pio.templates["plotly_white"].to_plotly_json()
    template = spec(build(case))["layout"]["template"]
    assert template["layout"] == {k: v for k, v in white["layout"].items()
                                  if k not in ("polar", "ternary", "scene", "geo")}
    for kind in {t.get("type", "scatter") for t in traces(build(case))}:
        assert kind in charts.TRACE_TYPES
        assert template["data"].get(kind) == white["data"].get(kind)


@pytest.mark.parametrize("case", CASES)
def test_layout_shared_by_every_chart(case, lang):
    layout = spec(build(case))["layout"]
    assert layout["margin"] == {"l": 10, "r": 10, "t": 50, "b": 10}
    assert layout["legend"] == {"orientation": "h", "yref": "container", "y": 0,
                                "yanchor": "bottom"}  # below the axis labels, never on them
    assert layout["title"]["text"]


# ---------------------------------------------------------------------------- what users see


def test_mrr_trend(lang):
    fig = spec(build("mrr_trend"))
    (trace,) = fig["data"]
    assert fig["layout"]["title"]["text"] == {"ja": "MRRの推移", "en": "MRR trend"}[lang]
    assert trace["x"] == {"ja": ["2025年4月", "2025年5月"],
                          "en": ["Apr 2025", "May 2025"]}[lang]
    month_ticks(fig["layout"]["xaxis"], trace["x"])
    assert values(trace["y"]) == [4_130_000.0, 4_140_000.5]  # unrounded
    assert values(trace["customdata"]) == [[21], [22]]
    assert trace["hovertemplate"].startswith("¥%{y:,.0f}<br>" + translate(lang, "chart.customers"))
    assert amount_ticks(fig["layout"]["yaxis"], lang)[:3] == {
        "ja": ["0万円", "100万円", "200万円"], "en": ["¥0K", "¥1,000K", "¥2,000K"]}[lang]
    assert (trace["fill"], trace["line"]["color"]) == ("tozeroy", charts.PRIMARY)


def amount_ticks(axis: dict, lang: str) -> list[str]:
    """The shown tick labels of an amount axis, from zero up, checked to be round steps in the
    configured unit (万円 in Japanese, ¥K in English by default) with no label twice."""
    assert axis["tickmode"] == "array"
    ticks, texts = axis["tickvals"], axis["ticktext"]
    assert len(set(texts)) == len(texts)
    assert len({round(b - a, 6) for a, b in zip(ticks, ticks[1:])}) == 1
    assert all(text.endswith("万円") if lang == "ja" else text.endswith("K") for text in texts)
    return texts[ticks.index(0):]


def test_waterfall_starts_the_axis_near_the_lowest_level(lang):
    fig = spec(build("waterfall"))
    (trace,) = fig["data"]
    assert trace["x"][0] == translate(lang, "movement.start")
    assert trace["x"][-1] == translate(lang, "movement.end")
    assert trace["y"] == [5_440_000.0, 60_000.0, 0.0, 80_000.0, -190_000.0, -160_000.0,
                          5_230_000.0]
    assert trace["measure"] == ["absolute"] + ["relative"] * 5 + ["total"]
    assert trace["text"][0] == {"ja": "544万円", "en": "¥5,440K"}[lang]
    assert trace["increasing"]["marker"]["color"] == charts.MOVEMENT_COLORS["expansion"]
    assert trace["decreasing"]["marker"]["color"] == charts.MOVEMENT_COLORS["churn"]
    # Levels 5.44M, 5.50M, 5.50M, 5.58M, 5.39M, 5.23M, 5.23M: low 5.23M, high 5.58M (span 350k).
    low, high, span = 5_230_000.0, 5_580_000.0, 350_000.0
    assert fig["layout"]["yaxis"]["range"] == pytest.approx([low - span * 1.5, high + span * 0.6],
                                                            abs=1e-6)
    axis = fig["layout"]["yaxis"]
    ticks = axis["tickvals"]
    assert ticks[0] <= low - span * 1.5 and ticks[-1] >= high + span * 0.6
    # round steps inside the range drawn (not from zero, where the axis does not go)
    inside = [v for v in ticks if axis["range"][0] <= v <= axis["range"][1]]
    assert len(inside) >= 3 and 0 not in ticks
    assert axis["ticktext"][ticks.index(5_000_000)] == {"ja": "500万円", "en": "¥5,000K"}[lang]
    assert fig["layout"]["showlegend"] is False
    assert fig["layout"]["height"] == 400


def test_waterfall_of_an_empty_snapshot_has_no_axis_range(lang):
    fig = spec(build("waterfall_empty_snapshot"))
    assert "range" not in fig["layout"]["yaxis"]
    assert fig["data"][0]["y"] == [0.0] * 7
    assert 0 in fig["layout"]["yaxis"]["tickvals"]


def test_movements_by_period_stack_gains_and_losses_with_the_net_line(lang):
    fig = spec(build("movements_by_period"))
    bars, net = fig["data"][:5], fig["data"][5]
    assert [b["name"] for b in bars] == [translate(lang, f"movement.{m}") for m in MOVEMENTS]
    assert [b["marker"]["color"] for b in bars] == [charts.MOVEMENT_COLORS[m] for m in MOVEMENTS]
    assert values(bars[3]["y"]) == [-20.0, 0.0]
    assert net["name"] == {"ja": "純増減", "en": "Net change"}[lang]
    assert values(net["y"]) == [90.0, -60.0]  # 100 + 50 − 20 − 40; 10 − 70
    assert fig["layout"]["barmode"] == "relative"
    assert fig["layout"]["title"]["text"] == translate(lang, "chart.movements_by_period")
    # ticks cover the stacked losses (−60) and gains (150) of the bars, not only the net line
    ticks = fig["layout"]["yaxis"]["tickvals"]
    assert ticks[0] <= -60 and ticks[-1] >= 150 and 0 in ticks


def test_empty_movements_draw_empty_traces(lang):
    assert [len(values(t["y"])) for t in traces(build("movements_by_period_empty"))] == [0] * 6


def test_retention_has_nrr_grr_and_the_target_line(lang):
    fig = spec(build("retention"))
    nrr, grr, target = fig["data"]
    assert [nrr["name"], grr["name"]] == ["NRR", "GRR"]
    assert target["name"] == {"ja": "NRR目標 110.0%", "en": "NRR target 110.0%"}[lang]
    assert target["y"] == [1.1, 1.1, 1.1]
    assert target["line"] == {"color": charts.TARGET, "dash": "dash"}
    assert same(values(nrr["y"]), [None, 1.05, 0.98])  # no rate without a base: a gap
    # 1 decimal when the ticks need it (95%, 97.5%, 100%), never "16%, 16%, 17%"; not from
    # zero: retention moves around 100% and is read against its target
    assert fig["layout"]["yaxis"] == {"tickformat": ".1~%"}
    assert fig["layout"]["xaxis"] == {"type": "category"}  # quarters, as they are
    assert nrr["hovertemplate"] == "%{y:.1%}"


def test_ttm_periods_are_named_by_their_month_and_missing_rates_are_null(lang):
    fig = spec(build("retention_ttm_none"))
    nrr, grr, target = fig["data"]
    # month names in the page's language on a category axis: plotly would read "2025-01" as a
    # date and tick it "Jan 2025" in the Japanese UI too
    assert nrr["x"] == {"ja": ["2025年1月", "2025年2月"],
                        "en": ["Jan 2025", "Feb 2025"]}[lang] == target["x"]
    assert month_ticks(fig["layout"]["xaxis"], nrr["x"]) == {
        "ja": ["1月<br>2025", "2月"], "en": ["Jan<br>2025", "Feb"]}[lang]
    assert nrr["y"] == [None, 1.2]


def month_ticks(axis: dict, x: list[str]) -> list[str]:
    """The tick labels of a month axis, checked to be short and level: a category axis over
    the months (never a date axis, which plotly ticks in English), at most 12 labelled, none
    longer than a month's short name with the year under it."""
    assert axis["type"] == "category" and axis["tickvals"] == x
    assert axis["tickangle"] == 0 and axis["automargin"] is True
    labelled = [text for text in axis["ticktext"] if text]
    assert 0 < len(labelled) <= charts.MONTH_TICKS
    assert all(len(line) <= 4 for text in labelled for line in text.split("<br>"))
    return axis["ticktext"]


def test_monthly_movements_are_named_months_on_a_category_axis(lang):
    fig = spec(charts.movements_by_period(movements_frame(
        ["2026-01", "2026-02"], [[1.0, 0, 0, 0, 0], [0, 0, 0, 0, -1.0]])))
    assert fig["data"][0]["x"] == {"ja": ["2026年1月", "2026年2月"],
                                   "en": ["Jan 2026", "Feb 2026"]}[lang]
    month_ticks(fig["layout"]["xaxis"], fig["data"][0]["x"])
    assert spec(build("movements_by_period"))["data"][0]["x"] == ["2025Q1", "2025Q2"]
    assert spec(build("movements_by_period"))["layout"]["xaxis"] == {"type": "category"}
    # two years of months: every other month named, the latest among them, each year once
    two_years = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
    fig = spec(charts.movements_by_period(movements_frame(two_years, [[1.0, 0, 0, 0, 0]] * 24)))
    ticks = month_ticks(fig["layout"]["xaxis"], fig["data"][0]["x"])
    assert ticks[-1] == {"ja": "12月", "en": "Dec"}[lang] and ticks[-2] == ""
    assert sum("<br>" in text for text in ticks) == 2


def test_rate_with_target_as_bars_or_a_line(lang):
    rate, target = traces(build("rate_bars"))
    assert (rate["type"], rate["name"], rate["marker"]["color"]) == ("bar", "Rate", charts.PRIMARY)
    assert same(values(rate["y"]), [0.05, None])
    assert (target["name"], target["y"]) == ("Target 2.0%", [0.02, 0.02])
    line, target = traces(build("rate_line_empty"))
    assert (line["type"], line["mode"]) == ("scatter", "lines+markers")
    assert target["y"] == []
    # a churn rate is a share of customers: its axis starts at 0, so 2 points are 2 points
    for case in ("rate_bars", "rate_line_empty"):
        assert spec(build(case))["layout"]["yaxis"] == {"tickformat": ".1~%",
                                                        "rangemode": "tozero"}


def test_cohort_heatmap_cells_are_percentages(lang):
    fig = spec(build("cohort_heatmap"))
    (trace,) = fig["data"]
    assert trace["x"] == ["+0", "+1", "+2"]
    assert trace["y"] == ["2024Q1", "2024Q2"]
    assert trace["text"] == [["100%", "125%", "80%"], ["100%", "50%", ""]]
    assert (trace["zmin"], trace["zmax"]) == (0, 1.25)
    # one hue, darker for more retained: no red/green meaning
    assert trace["colorscale"][0] == [0.0, plotly.colors.sequential.Blues[0]]
    assert trace["colorscale"][-1] == [1.0, plotly.colors.sequential.Blues[-1]]
    assert fig["layout"]["yaxis"] == {"autorange": "reversed", "type": "category"}
    assert fig["layout"]["height"] == 320  # max(320, 28 × 2 + 120)


def test_band_areas_stack_bands_in_their_colors_on_a_date_axis(lang):
    fig = spec(build("band_areas"))
    assert [t["name"] for t in fig["data"]] == [
        translate(lang, f"band.{b}") for b in ("danger", "warning", "caution", "healthy")]
    assert [t["fillcolor"] for t in fig["data"]] == [
        charts.BAND_COLORS[b] for b in ("danger", "warning", "caution", "healthy")]
    assert {t["stackgroup"] for t in fig["data"]} == {"bands"}
    assert fig["data"][0]["x"] == ["2025-10-06T00:00:00", "2025-10-13T00:00:00"]
    assert values(fig["data"][3]["y"]) == [18, 20]
    shown = {"ja": "%Y/%m/%d", "en": "%b %-d, %Y"}[lang]  # ticks and hover, never "Jan 2026"
    assert fig["layout"]["xaxis"] == {"type": "date", "tickformat": shown, "hoverformat": shown}
    assert fig["layout"]["yaxis"] == {"rangemode": "tozero", "tickformat": ",d"}


def test_band_bars_escape_labels_and_skip_missing_bands(lang):
    fig = spec(build("band_bars"))
    assert [t["marker"]["color"] for t in fig["data"]] == [
        charts.BAND_COLORS[b] for b in ("healthy", "caution", "warning", "danger")]
    assert fig["data"][0]["x"] == ["佐藤 悠斗", ESCAPED]
    assert fig["layout"]["barmode"] == "stack"
    assert fig["layout"]["yaxis"] == {"rangemode": "tozero", "tickformat": ",d"}
    assert fig["layout"]["height"] == 360
    fig = spec(build("band_bars_horizontal_some_bands"))
    assert [t["name"] for t in fig["data"]] == [translate(lang, "band.healthy"),
                                               translate(lang, "band.danger")]
    assert fig["data"][1]["y"] == ["S", ESCAPED, "B"]
    assert values(fig["data"][1]["x"]) == [0, 1, 0]
    assert fig["data"][1]["orientation"] == "h"
    assert fig["layout"]["yaxis"] == {"autorange": "reversed", "type": "category"}
    assert fig["layout"]["xaxis"] == {"rangemode": "tozero", "tickformat": ",d"}
    assert fig["layout"]["height"] == 320  # max(320, 30 × 3 + 120)


def test_matrix_cells_show_segment_and_count(lang):
    fig = spec(build("matrix"))
    (trace,) = fig["data"]
    assert trace["text"][0] == ["S · 1", "S · 0", "A · 1", "A · 0"]
    assert trace["y"] == [translate(lang, f"tier.{t}") for t in ("high", "mid", "low")]
    assert trace["x"][0] == translate(lang, "band.healthy")
    assert trace["customdata"][2] == [12, 6, 0, 1]  # the counts, in the hover
    assert trace["showscale"] is False
    # The colour says how healthy a column is, from green to red — never darkest where the
    # most accounts are (here the healthy low tier).
    assert values(trace["z"]) == [[0, 1, 2, 3]] * 3
    assert (trace["zmin"], trace["zmax"]) == (0, 3)
    scale = [color for _, color in trace["colorscale"]]
    assert scale == charts.BAND_TINTS_COLORS
    assert _hue(scale[0]) == "green" and _hue(scale[-1]) == "red"
    assert fig["layout"]["yaxis"]["autorange"] == "reversed"
    (trace,) = traces(build("matrix_without_segments"))
    assert trace["text"] == [["0", "0", "0", "0"]]


def test_usage_trend_puts_logins_on_the_right_axis(lang):
    fig = spec(build("usage_trend"))
    deliveries, logins = fig["data"]
    assert (deliveries["type"], deliveries["name"]) == ("bar", translate(lang, "usage.deliveries"))
    assert (logins["yaxis"], logins["name"]) == ("y2", translate(lang, "usage.logins"))
    assert same(values(logins["y"]), [39.0, None])
    # counts from zero on both axes: no login axis starting at −5.2
    assert fig["layout"]["yaxis"] == {"rangemode": "tozero", "tickformat": ",d"}
    assert fig["layout"]["yaxis2"] == {"rangemode": "tozero", "tickformat": ",d",
                                       "overlaying": "y", "side": "right", "showgrid": False}


def test_health_history_draws_the_bands_as_background(lang):
    fig = spec(build("health_history"))
    (trace,) = fig["data"]
    assert trace["name"] == translate(lang, "chart.health_score")
    assert same(values(trace["y"]), [80.0, None, 45.5])
    assert trace["x"][0] == "2025-04-07T00:00:00"
    shapes = fig["layout"]["shapes"]
    assert [(s["y0"], s["y1"], s["fillcolor"]) for s in shapes] == [
        (75.0, 100, charts.BAND_COLORS["healthy"]), (50.0, 75.0, charts.BAND_COLORS["caution"]),
        (25.0, 50.0, charts.BAND_COLORS["warning"]), (0, 25.0, charts.BAND_COLORS["danger"])]
    assert all((s["type"], s["xref"], s["x0"], s["x1"], s["opacity"], s["line"]["width"])
               == ("rect", "x domain", 0, 1, 0.08, 0) for s in shapes)
    assert fig["layout"]["yaxis"] == {"range": [0, 100]}
    assert fig["layout"]["xaxis"]["type"] == "date"
    assert fig["layout"]["xaxis"]["hoverformat"] == {"ja": "%Y/%m/%d", "en": "%b %-d, %Y"}[lang]


def test_horizontal_bars(lang):
    fig = spec(build("horizontal_bars"))
    (trace,) = fig["data"]
    assert (trace["y"], trace["x"]) == (["施策終了・中止", ESCAPED], [3, 1])
    assert trace["hovertemplate"] == "%{x:,}<extra></extra>"
    assert fig["layout"]["xaxis"] == {"rangemode": "tozero", "tickformat": ",d"}
    assert fig["layout"]["height"] == 280  # max(280, 32 × 2 + 120)
    fig = spec(build("horizontal_bars_yen"))
    assert fig["data"][0]["x"] == [1_200_000.5]
    assert fig["data"][0]["marker"]["color"] == "#00897b"
    assert amount_ticks(fig["layout"]["xaxis"], lang)[:2] == {"ja": ["0万円", "25万円"],
                                                             "en": ["¥0K", "¥250K"]}[lang]


def test_stacked_bars(lang):
    fig = spec(build("stacked_bars"))
    signed, at_risk = fig["data"]
    assert [(t["name"], t["marker"]["color"]) for t in fig["data"]] == [
        ("Signed", "#2e7d32"), ("At risk", "#c62828")]
    assert signed["x"] == ["2026Q2", ESCAPED]
    assert values(at_risk["y"]) == [12_960_000.0, 100.0]
    assert signed["hovertemplate"] == "¥%{y:,.0f}"  # whole yen in the hover
    ticks = fig["layout"]["yaxis"]["tickvals"]
    assert ticks[-1] >= 480_000 + 12_960_000  # the stacked total
    assert amount_ticks(fig["layout"]["yaxis"], lang)[1] == {"ja": "500万円",
                                                            "en": "¥5,000K"}[lang]
    fig = spec(build("stacked_bars_counts"))
    assert fig["data"][0]["hovertemplate"] == "%{y:,}"
    assert fig["layout"]["yaxis"] == {"rangemode": "tozero", "tickformat": ",d"}


def test_capacity_marks_each_owners_limit(lang):
    fig = spec(build("capacity"))
    bars, limits = fig["data"]
    # owners are rows: names never overlap, however many owners the team has
    assert (bars["orientation"], bars["y"]) == ("h", ["佐藤 悠斗", ESCAPED])
    assert limits["y"] == bars["y"] and values(limits["x"]) == [29, 23]
    assert fig["layout"]["yaxis"] == {"autorange": "reversed", "type": "category"}
    assert fig["layout"]["xaxis"] == {"rangemode": "tozero", "tickformat": ",d"}
    assert (bars["name"], limits["name"]) == (translate(lang, "team.col.accounts"),
                                              translate(lang, "team.col.capacity"))
    assert limits["marker"]["symbol"] == "line-ns-open"
    assert limits["marker"]["color"] == charts.TARGET


def test_usage_by_quarter_has_the_conversion_rate_in_percent(lang):
    fig = spec(build("usage_by_quarter"))
    deliveries, rate = fig["data"]
    assert deliveries["x"] == ["2025Q2", "2025Q3"]
    assert rate["name"] == translate(lang, "usage.conversion_rate")
    assert same(values(rate["y"]), [0.138, None])
    assert (rate["yaxis"], rate["hovertemplate"]) == ("y2", "%{y:.1%}")
    # the conversion rate from 0%, its ticks never "16%, 16%, 17%"; deliveries from 0
    assert fig["layout"]["yaxis2"]["tickformat"] == ".1~%"
    assert fig["layout"]["yaxis2"]["rangemode"] == "tozero"
    assert fig["layout"]["yaxis"] == {"rangemode": "tozero", "tickformat": ",d"}


def test_components_gained_and_lost_points(lang):
    fig = spec(build("components"))
    gained, lost = fig["data"]
    assert gained["y"] == [translate(lang, "component.deliveries"),
                           translate(lang, "component.renewal")]
    assert (gained["name"], lost["name"]) == (translate(lang, "health.col.contribution"),
                                              translate(lang, "health.col.lost"))
    assert (gained["marker"]["color"], lost["marker"]["color"]) == (
        charts.BAND_COLORS["healthy"], charts.BAND_COLORS["danger"])
    assert values(lost["x"]) == [3.43, 5.0]
    assert fig["layout"]["barmode"] == "stack"
    assert fig["layout"]["yaxis"]["autorange"] == "reversed"


def test_account_mrr_steps_with_movement_names(lang):
    (trace,) = traces(build("account_mrr"))
    assert trace["line"] == {"color": charts.PRIMARY, "shape": "hv"}
    assert trace["customdata"] == [translate(lang, "movement.new"), "",
                                   translate(lang, "movement.expansion")]
    assert trace["x"][2] == {"ja": "2023年9月", "en": "Sep 2023"}[lang]
    assert values(trace["y"]) == [60_000.0, 60_000.0, 90_000.0]
    assert amount_ticks(spec(build("account_mrr"))["layout"]["yaxis"], lang)[:2] == {
        "ja": ["0万円", "2万円"], "en": ["¥0K", "¥20K"]}[lang]


def test_band_rates_draw_each_band_in_its_color_with_its_interval(lang):
    [bars] = traces(build("band_rates"))
    assert bars["x"] == [translate(lang, f"band.{b}") for b in
                         ("healthy", "caution", "warning", "danger")]
    assert bars["marker"]["color"] == [charts.BAND_COLORS[b] for b in
                                       ("healthy", "caution", "warning", "danger")]
    assert same(decoded(bars["y"]), [0.02, None, 0.53, 0.8])
    error = bars["error_y"]
    assert error["symmetric"] is False
    assert decoded(error["array"])[2] == pytest.approx(0.05)
    assert decoded(error["arrayminus"])[3] == pytest.approx(0.09)
    assert spec(build("band_rates"))["layout"]["yaxis"] == {"tickformat": ".1~%",
                                                           "rangemode": "tozero"}


def test_survival_curves_are_steps_per_band_with_the_horizon_marked(lang):
    drawn = traces(build("survival_curves"))
    assert [t["name"] for t in drawn] == [translate(lang, "band.healthy"),
                                          translate(lang, "band.danger"), "180 days"]
    assert all(t["line"]["shape"] == "hv" for t in drawn[:2])
    assert drawn[2]["x"] == [25.7, 25.7] and drawn[2]["line"]["dash"] == "dash"
    assert spec(build("survival_curves"))["layout"]["xaxis"]["ticksuffix"] == " wk"


def test_quartile_rates_group_quartiles_per_component(lang):
    drawn = traces(build("quartile_rates"))
    assert [t["name"] for t in drawn] == [translate(lang, "chart.score_quartile", quartile=q)
                                          for q in (1, 2, 3, 4)]
    assert drawn[0]["x"] == [translate(lang, "component.logins"),
                             translate(lang, "component.renewal")]
    assert same(decoded(drawn[0]["y"]), [0.22, 0.12])
    assert same(decoded(drawn[2]["y"]), [0.03, None])  # renewal has no third quartile
    assert spec(build("quartile_rates"))["layout"]["barmode"] == "group"


def test_lead_times_count_whole_churns(lang):
    [bars] = traces(build("lead_times"))
    assert decoded(bars["y"]) == [0, 2, 0, 1]
    assert spec(build("lead_times"))["layout"]["yaxis"]["dtick"] == 1


def test_renewals_by_quarter_stacks_the_statuses_with_the_forecast_range(lang):
    fig = spec(build("renewals_by_quarter"))
    signed, lost, pending, at_risk, expected = fig["data"]
    assert [t["name"] for t in fig["data"][:4]] == [
        translate(lang, f"renewals.status.{s}") for s in ("signed", "lost", "pending", "at_risk")]
    assert [t["marker"]["color"] for t in fig["data"][:4]] == [
        charts.RENEWAL_COLORS[s] for s in ("signed", "lost", "pending", "at_risk")]
    # pending without the at-risk part, so the stack adds up to the ARR due
    assert values(pending["y"]) == [2_000_000.0, 7_000_000.0]
    assert values(at_risk["y"]) == [1_000_000.0, 2_000_000.0]
    assert values(expected["y"]) == [8_400_000.0, 8_000_000.0]
    assert values(expected["error_y"]["array"]) == [200_000.0, 400_000.0]
    assert values(expected["error_y"]["arrayminus"]) == [200_000.0, 500_000.0]
    assert fig["layout"]["barmode"] == "stack"
    # ticked in the UI's unit, from zero to above the highest stack and forecast
    ticks = amount_ticks(fig["layout"]["yaxis"], lang)
    assert ticks[0] == {"ja": "0万円", "en": "¥0K"}[lang]
    assert max(fig["layout"]["yaxis"]["tickvals"]) >= 10_200_000.0


def test_renewal_rate_history_in_percent_with_gaps(lang):
    fig = spec(build("renewal_rate_history"))
    [bars] = fig["data"]
    assert bars["x"] == ["2025Q3", "2025Q4"] and same(values(bars["y"]), [0.9, None])
    assert bars["name"] == translate(lang, "renewals.col.renewal_rate")
    assert fig["layout"]["yaxis"]["tickformat"] == ".1~%"
    assert fig["layout"]["yaxis"]["range"] == [0, 1.05]


def _hue(color: str) -> str:
    """Which of green / yellow / orange / red a light tint is closest to."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    if g > r:
        return "green"
    return "red" if g < 0.85 * r and b > 0.75 * g else "orange" if g < 0.9 * r else "yellow"
