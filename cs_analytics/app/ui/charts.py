"""Plotly figures for the pages. Each takes a small DataFrame from the metrics API (already
aggregated) and returns a figure with translated names; pages show it with `show(fig)`.

A figure is plotly's plain dict ({"data": [...], "layout": {...}}), written directly and handed
to Streamlit as it is (`show`), so no property is validated, copied or walked on a rerun.
tests/test_charts.py passes every builder's output through plotly's validating constructor
instead, so an invalid property fails a test, not a page.

Amounts are plotted unrounded, their axes ticked in the configured unit (万円 in Japanese by
default: `display.amount_unit_ja`) and their hovers in whole yen; rates as percentages. Count and
rate axes start at zero, tick labels never repeat, and colours go one way: green is good, red
is bad (tests/test_charts.py checks each builder).
"""

from __future__ import annotations

import datetime as dt
import html
import re

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from cs_analytics.app.ui import fmt, widgets
from cs_analytics.app.ui.i18n import current_language, t

BAND_COLORS = {"healthy": "#2e7d32", "caution": "#f9a825", "warning": "#ef6c00",
               "danger": "#c62828"}
MOVEMENT_COLORS = {"new": "#1565c0", "reactivation": "#6a1b9a", "expansion": "#2e7d32",
                   "contraction": "#ef6c00", "churn": "#c62828"}
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")
PRIMARY = "#1f4e79"
SECONDARY = "#00897b"
TARGET = "#c62828"
YEN_HOVER = "¥%{y:,.0f}"
PCT_HOVER = "%{y:.1%}"
TRACE_TYPES = ("bar", "scatter", "heatmap", "waterfall")


def _plotly_white() -> dict:
    """plotly_white without its defaults for trace types and subplot kinds not drawn here:
    a figure carries only the template entries it draws with (plotly copies the template
    whenever it builds or serializes a figure)."""
    white = pio.templates["plotly_white"].to_plotly_json()
    return {"data": {k: v for k, v in white["data"].items() if k in TRACE_TYPES},
            "layout": {k: v for k, v in white["layout"].items()
                       if k not in ("polar", "ternary", "scene", "geo")}}


TEMPLATE = _plotly_white()


def _colorscale(colors: list[str]) -> list[list]:
    """A named plotly.py colorscale spelled out: plotly.js has its own, different scales under
    some of the same names ("Blues"), and only a validated figure expands the name."""
    last = len(colors) - 1
    return [[i / last, color] for i, color in enumerate(colors)]


BLUES = _colorscale(plotly.colors.sequential.Blues)
# Light tints of the band colours, healthy → danger (the matrix's cells)
BAND_TINTS_COLORS = ["#c8e6c9", "#fff3bf", "#ffd8a8", "#ffc9c9"]
BAND_TINTS = _colorscale(BAND_TINTS_COLORS)


def labels(values) -> list[str]:
    """Category labels from data (owner names, industries, churn reasons) as plain text:
    plotly renders a few HTML tags (<b>, <a href>) in labels, so they are escaped."""
    return [html.escape(str(v)) for v in values]


def show(fig: dict, key: str) -> None:
    st.plotly_chart(_Written(fig), key=key, width="stretch", config={"displaylogo": False})


class _Written(go.Figure):
    """A figure already written as plotly's plain dict, for `st.plotly_chart`: Streamlit
    validates a dict it is given (rebuilding it through graph_objects) but takes a Figure's
    `to_dict()` as it is — so this Figure is only that dict. go.Figure's constructor, which
    would copy and wrap every trace, is not run: nothing but `to_dict` may be used."""

    def __init__(self, fig: dict):  # noqa: D107 — deliberately not go.Figure.__init__
        self._written = fig

    def to_dict(self) -> dict:
        return self._written


def _figure(traces: list[dict], layout: dict) -> dict:
    """The figure of plain trace and layout dicts, not validated (see the module docstring)."""
    return {"data": traces, "layout": {"template": TEMPLATE, **layout}}


def _plain(values) -> list:
    """Numbers as Python scalars, as validation would have made them (a bridge dict or a list
    from a Series holds numpy scalars)."""
    return np.asarray(values).tolist()


# The legend in one row at the bottom of the figure, below the axis and its labels (however
# many lines they take): placed in the figure's coordinates, not the plot's.
LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}


def _layout(*, title: str | None, yaxis: dict | None = None, height: int = 360,
            **more) -> dict:
    """The layout every chart shares, plus the chart's own properties (`more`)."""
    layout = {"height": height, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
              "legend": LEGEND, "hovermode": "x unified", **more}
    if title is not None:
        layout["title"] = {"text": title}
    if yaxis:
        layout["yaxis"] = yaxis
    return layout


def _amount_axis(*extents, from_zero: bool = True) -> dict:
    """An axis of amounts (yen) ticked in the configured unit: round steps over everything the
    chart draws (`extents`: the values, sums and levels it reaches), zero included unless
    `from_zero=False` (an axis whose range is set, as a bridge's)."""
    reached = [float(v) for v in np.ravel(np.concatenate(
        [np.atleast_1d(np.asarray(e, dtype="float64")) for e in extents] or [[0.0]]))
        if not np.isnan(v)]
    lang = current_language()
    ticks, texts = fmt.amount_ticks(min(reached, default=0.0), max(reached, default=0.0), lang,
                                    widgets.amount_unit(lang), from_zero=from_zero)
    return {"tickmode": "array", "tickvals": ticks, "ticktext": texts, "zeroline": True}


def _pct_axis(*, from_zero: bool = False) -> dict:
    """A rate axis: percentages with as many decimals as a tick needs (16%, 16.5%, 17% — never
    16%, 16%, 17%); from zero for shares of a whole (churn, conversion)."""
    axis = {"tickformat": ".1~%"}
    if from_zero:
        axis["rangemode"] = "tozero"
    return axis


def _count_axis(**more) -> dict:
    """An axis of counts: from zero, whole numbers only."""
    return {"rangemode": "tozero", "tickformat": ",d", **more}


def _category_axis() -> dict:
    """A category axis listing from the top (first row first)."""
    return {"autorange": "reversed", "type": "category"}


def _date_axis() -> dict:
    """Dates as the rest of the page writes them, on the ticks and in the hover (plotly's own
    month names would be English in the Japanese UI)."""
    shown = "%Y/%m/%d" if current_language() == "ja" else "%b %-d, %Y"
    return {"type": "date", "tickformat": shown, "hoverformat": shown}


def _days(values) -> list[str]:
    """Days as the ISO text plotly writes for a Timestamp: the same points on a date axis,
    without a Timestamp object per point to copy and JSON-encode."""
    return [pd.Timestamp(d).isoformat() for d in values]


_MONTH_LABEL = re.compile(r"(?:TTM )?(\d{4})-(\d{2})")
MONTH_TICKS = 12  # at most this many month names under a chart; the others unlabelled


def _periods(values) -> tuple[list[str], dict]:
    """The x values and x axis of a chart over periods. Months ("2026-02", "TTM 2026-02", or
    dates) are named in the UI's language (2026年2月, Feb 2026) and ticked short and level
    ("2月", the year under the first month of each year shown), at most MONTH_TICKS of them;
    quarters ("2026Q1") are written as they are. Plotly would read "2026-02" as a date and tick
    it in English ("Jan 2026"); long labels it would rotate and cut ("2026年…")."""
    values = list(values)
    months = [_month_of(v) for v in values]
    if not values or any(m is None for m in months):
        return [str(v) for v in values], {"type": "category"}
    lang = current_language()
    x = [fmt.month(m, lang) for m in months]
    step = -(-len(months) // MONTH_TICKS)
    text, year = [], None
    for i, month in enumerate(months):
        if (len(months) - 1 - i) % step:
            text.append("")
            continue
        short = f"{month.month}月" if lang == "ja" else f"{month:%b}"
        text.append(short if month.year == year else f"{short}<br>{month.year}")
        year = month.year
    return x, {"type": "category", "tickmode": "array", "tickvals": x, "ticktext": text,
               "tickangle": 0, "automargin": True}


def _month_of(value) -> dt.date | None:
    if isinstance(value, str):
        found = _MONTH_LABEL.fullmatch(value)
        return dt.date(int(found[1]), int(found[2]), 1) if found else None
    if value is None or pd.isna(value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).date().replace(day=1)
    return None


def _line(x, y, name: str, color: str, **more) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers",
            "line": {"color": color}, **more}


def _bar(x, y, name: str, color: str, **more) -> dict:
    return {"type": "bar", "x": x, "y": y, "name": name, "marker": {"color": color}, **more}


def mrr_trend(df: pd.DataFrame) -> dict:
    """MRR per month (area) with the customer count in the hover."""
    x, xaxis = _periods(df["month"])
    trace = _line(x, df["mrr"].to_numpy(), t("chart.mrr"), PRIMARY,
                  fill="tozeroy", customdata=df[["customers"]].to_numpy(),
                  hovertemplate=YEN_HOVER + "<br>" + t("chart.customers")
                  + " %{customdata[0]:,}<extra></extra>")
    return _figure([trace], _layout(title=t("chart.mrr_trend"), xaxis=xaxis,
                                    yaxis=_amount_axis(df["mrr"])))


def waterfall(bridge: dict, title: str) -> dict:
    """The MRR bridge of one period: start, new, reactivation, expansion, contraction, churn,
    end (amounts signed; the last bar is the total)."""
    x = [t("movement.start")] + [t(f"movement.{m}") for m in MOVEMENTS] + [t("movement.end")]
    y = _plain([bridge["start_mrr"]] + [bridge[m] for m in MOVEMENTS] + [bridge["mrr"]])
    measure = ["absolute"] + ["relative"] * len(MOVEMENTS) + ["total"]
    lang = current_language()
    unit = widgets.amount_unit(lang)
    trace = {"type": "waterfall", "x": x, "y": y, "measure": measure, "name": t("chart.bridge"),
             "text": [fmt.amount(v, lang, unit) for v in y], "textposition": "outside",
             "increasing": {"marker": {"color": MOVEMENT_COLORS["expansion"]}},
             "decreasing": {"marker": {"color": MOVEMENT_COLORS["churn"]}},
             "totals": {"marker": {"color": PRIMARY}},
             "hovertemplate": "%{x}: ¥%{y:,.0f}<extra></extra>"}
    # The movements are small next to the MRR itself: start the axis near the lowest level
    # the bridge reaches, as a bridge chart usually does, so the steps can be read.
    levels, level = [], 0.0
    for value, kind in zip(y, measure):
        level = value if kind in ("absolute", "total") else level + value
        levels.append(level)
    low, high = min(levels), max(levels)
    if low > 0 and high > low:
        shown = [max(0.0, low - (high - low) * 1.5), high + (high - low) * 0.6]
        axis = {**_amount_axis(shown, from_zero=False), "range": shown}
    else:
        axis = _amount_axis(levels)
    return _figure([trace], _layout(title=title, yaxis=axis, height=400, showlegend=False))


def movements_by_period(df: pd.DataFrame) -> dict:
    """Signed movement totals per period as stacked bars (gains up, losses down)."""
    x, xaxis = _periods(df["label"])
    columns = [df[m].to_numpy() for m in MOVEMENTS]
    traces = [_bar(x, column, t(f"movement.{m}"), MOVEMENT_COLORS[m], hovertemplate=YEN_HOVER)
              for m, column in zip(MOVEMENTS, columns)]
    amounts = np.column_stack(columns).astype(np.float64)
    net = np.nansum(amounts, axis=1)
    traces.append(_line(x, net, t("chart.net_change"), "#212121", hovertemplate=YEN_HOVER))
    reached = (np.nansum(np.clip(amounts, 0, None), axis=1),
               np.nansum(np.clip(amounts, None, 0), axis=1), net)
    return _figure(traces, _layout(title=t("chart.movements_by_period"), xaxis=xaxis,
                                   yaxis=_amount_axis(*reached), barmode="relative"))


def retention(df: pd.DataFrame, target: float | None, title: str) -> dict:
    """NRR and GRR per period (TTM periods named by their month), with the NRR target line
    only when a target of the chart's basis is given (an annual target is no line on a
    quarterly chart)."""
    x, xaxis = _periods(df["label"])
    traces = [_line(x, df["nrr"].to_numpy(), "NRR", PRIMARY, hovertemplate=PCT_HOVER),
              _line(x, df["grr"].to_numpy(), "GRR", SECONDARY, hovertemplate=PCT_HOVER)]
    if target is not None:
        traces.append(_target_trace(x, target, t("chart.nrr_target", value=fmt.pct(target))))
    return _figure(traces, _layout(title=title, xaxis=xaxis, yaxis=_pct_axis()))


def _target_trace(x: list, target: float, name: str) -> dict:
    """A dashed horizontal target line as its own trace (so it shows in the legend)."""
    return {"type": "scatter", "x": x, "y": [target] * len(x), "name": name, "mode": "lines",
            "line": {"color": TARGET, "dash": "dash"}, "hovertemplate": PCT_HOVER}


def rate_with_target(df: pd.DataFrame, column: str, target: float | None, *, title: str,
                     name: str, target_name: str | None = None, bars: bool = True,
                     counts: str | None = None, periods: str = "label") -> dict:
    """A rate per period (bars or a line) from zero, with a dashed target line only when a
    target of the chart's basis is given; `counts`: a column of group sizes shown on each
    point ("n=18") and in its hover — a rate over few customers says so. The periods are
    column `periods` (labels, months or dates)."""
    x, xaxis = _periods(df[periods])
    draw = _bar if bars else _line
    more = {"hovertemplate": PCT_HOVER}
    if counts is not None:
        n = [int(v) for v in df[counts]]
        more = {"customdata": n, "text": [f"n={v}" for v in n],
                "hovertemplate": "%{y:.1%} (n=%{customdata})"}
        if not bars:
            more.update(mode="lines+markers+text", textposition="top center")
    traces = [draw(x, df[column].to_numpy(), name, PRIMARY, **more)]
    if target is not None:
        traces.append(_target_trace(x, target, target_name or name))
    return _figure(traces, _layout(title=title, xaxis=xaxis, yaxis=_pct_axis(from_zero=True)))


def cohort_heatmap(df: pd.DataFrame, title: str) -> dict:
    """Cohorts (rows) × periods since start (columns); cells are fractions."""
    offsets = [c for c in df.columns if c.startswith("+")]
    z = df[offsets].astype("float64").to_numpy()
    text = [[fmt.pct(v, 0) if pd.notna(v) else "" for v in row] for row in z]
    trace = {"type": "heatmap", "z": z, "x": offsets, "y": list(df["cohort"]), "text": text,
             "texttemplate": "%{text}", "colorscale": BLUES, "zmin": 0,
             "zmax": max(1.0, float(pd.DataFrame(z).max().max() or 1)),
             "hovertemplate": "%{y} %{x}: %{z:.1%}<extra></extra>",
             "colorbar": {"tickformat": ".0%"}}
    return _figure([trace], _layout(title=title, yaxis=_category_axis(), hovermode="closest",
                                    height=max(320, 28 * len(df) + 120)))


def band_areas(df: pd.DataFrame, title: str) -> dict:
    """Accounts per health band over time, stacked (df: snapshot_day, and one column per band)."""
    x = _days(df["snapshot_day"])
    traces = [{"type": "scatter", "x": x, "y": df[band].to_numpy(), "name": t(f"band.{band}"),
               "mode": "lines", "stackgroup": "bands",
               "line": {"color": BAND_COLORS[band], "width": 0.5},
               "fillcolor": BAND_COLORS[band]}
              for band in ("danger", "warning", "caution", "healthy")]
    return _figure(traces, _layout(title=title, xaxis=_date_axis(), yaxis=_count_axis()))


def band_bars(df: pd.DataFrame, category: str, title: str, *, horizontal: bool = False
              ) -> dict:
    """Accounts per band (stacked) per category (owner, segment…): df has `category` and one
    column per band."""
    names = labels(df[category])
    traces = []
    for band in ("healthy", "caution", "warning", "danger"):
        if band not in df:
            continue
        counts = df[band].to_numpy()
        trace = ({"y": names, "x": counts, "orientation": "h"} if horizontal
                 else {"x": names, "y": counts})
        traces.append({"type": "bar", "name": t(f"band.{band}"),
                       "marker": {"color": BAND_COLORS[band]}, **trace})
    if horizontal:
        layout = _layout(title=title, yaxis=_category_axis(), xaxis=_count_axis(),
                         height=max(320, 30 * len(df) + 120), barmode="stack",
                         hovermode="closest")
    else:
        layout = _layout(title=title, yaxis=_count_axis(), barmode="stack", hovermode="closest")
    return _figure(traces, layout)


def matrix(df: pd.DataFrame, title: str) -> dict:
    """Attribute tier (rows) × health band (columns) account counts, with the segment letter.
    Each cell is tinted in its band's colour, from green (healthy) to red (danger): the colour
    says how healthy, the text how many (a count scale would paint the biggest group — often
    the healthy one — darkest)."""
    bands = ["healthy", "caution", "warning", "danger"]
    counts = df[bands].to_numpy()
    seg = df[[f"segment_{b}" for b in bands]].to_numpy() if f"segment_{bands[0]}" in df else None
    text = [[f"{seg[i][j]} · {int(counts[i][j])}" if seg is not None else f"{int(counts[i][j])}"
             for j in range(len(bands))] for i in range(len(df))]
    trace = {"type": "heatmap", "z": [list(range(len(bands)))] * len(df),
             "x": [t(f"band.{b}") for b in bands], "y": [t(f"tier.{v}") for v in df["tier"]],
             "text": text, "texttemplate": "%{text}", "customdata": counts.tolist(),
             "colorscale": BAND_TINTS, "zmin": 0, "zmax": len(bands) - 1,
             "xgap": 2, "ygap": 2, "hovertemplate": "%{y} × %{x}: %{customdata}<extra></extra>",
             "showscale": False}
    # The high tier (first row) on top.
    return _figure([trace], _layout(title=title, yaxis=_category_axis(), height=320,
                                    hovermode="closest"))


def usage_trend(df: pd.DataFrame, title: str) -> dict:
    """Monthly deliveries (bars, left axis) and logins (line, right axis)."""
    x, xaxis = _periods(df["month"])
    traces = [_bar(x, df["deliveries"].to_numpy(), t("usage.deliveries"), PRIMARY),
              _line(x, df["logins"].to_numpy(), t("usage.logins"), SECONDARY, yaxis="y2")]
    return _figure(traces, _layout(title=title, xaxis=xaxis, yaxis=_count_axis(),
                                   yaxis2=_count_axis(overlaying="y", side="right",
                                                      showgrid=False)))


def health_history(df: pd.DataFrame, bands: dict[str, float], title: str) -> dict:
    """Score over snapshot days with the band thresholds as background."""
    x = _days(df["snapshot_day"])
    edges = [(bands["healthy"], 100, "healthy"), (bands["caution"], bands["healthy"], "caution"),
             (bands["warning"], bands["caution"], "warning"), (0, bands["warning"], "danger")]
    # What fig.add_hrect draws: a rectangle across the plot's width between two scores.
    shapes = [{"type": "rect", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": low,
               "y1": high, "fillcolor": BAND_COLORS[band], "opacity": 0.08, "line": {"width": 0},
               "layer": "below"}
              for low, high, band in edges]
    trace = _line(x, df["score"].to_numpy(), t("chart.health_score"), PRIMARY,
                  hovertemplate="%{y:.0f}")
    return _figure([trace], _layout(title=title, yaxis={"range": [0, 100]}, xaxis=_date_axis(),
                                    shapes=shapes))


def horizontal_bars(names: list[str], values: list[float], *, title: str, name: str,
                    yen: bool = False, color: str = PRIMARY) -> dict:
    trace = {"type": "bar", "y": labels(names), "x": _plain(values), "orientation": "h",
             "name": name, "marker": {"color": color},
             "hovertemplate": ("¥%{x:,.0f}" if yen else "%{x:,}") + "<extra></extra>"}
    layout = _layout(title=title, yaxis=_category_axis(), height=max(280, 32 * len(names) + 120),
                     hovermode="closest", xaxis=_amount_axis(values) if yen else _count_axis())
    return _figure([trace], layout)


def stacked_bars(df: pd.DataFrame, x: str, series: dict[str, tuple[str, str]], *, title: str,
                 yen: bool = False) -> dict:
    """Stacked bars: series = {column: (name, color)}."""
    categories = labels(df[x])
    traces = [_bar(categories, df[column].to_numpy(), name, color,
                   hovertemplate=YEN_HOVER if yen else "%{y:,}")
              for column, (name, color) in series.items()]
    totals = df[list(series)].sum(axis=1)
    return _figure(traces, _layout(title=title, barmode="stack",
                                   yaxis=_amount_axis(totals) if yen else _count_axis()))


def capacity(df: pd.DataFrame, title: str) -> dict:
    """Active customers per owner (bars) against each owner's capacity (markers). Owners are
    rows, so their names never overlap however many there are."""
    names = labels(df["owner_name"])
    traces = [{"type": "bar", "y": names, "x": df["accounts"].to_numpy(), "orientation": "h",
               "name": t("team.col.accounts"), "marker": {"color": PRIMARY}},
              {"type": "scatter", "y": names, "x": df["capacity"].to_numpy(),
               "name": t("team.col.capacity"), "mode": "markers",
               "marker": {"symbol": "line-ns-open", "size": 22, "color": TARGET,
                          "line": {"width": 3}}}]
    return _figure(traces, _layout(title=title, yaxis=_category_axis(), xaxis=_count_axis(),
                                   height=max(320, 30 * len(df) + 120), hovermode="closest"))


def usage_by_quarter(df: pd.DataFrame, title: str) -> dict:
    """Deliveries per quarter (bars) with the conversion rate (line, right axis)."""
    x = list(df["period"])
    traces = [_bar(x, df["deliveries"].to_numpy(), t("usage.deliveries"), PRIMARY),
              _line(x, df["conversion_rate"].to_numpy(), t("usage.conversion_rate"), SECONDARY,
                    yaxis="y2", hovertemplate=PCT_HOVER)]
    return _figure(traces, _layout(title=title, yaxis=_count_axis(),
                                   yaxis2={**_pct_axis(from_zero=True), "overlaying": "y",
                                           "side": "right", "showgrid": False}))


def components(df: pd.DataFrame, title: str) -> dict:
    """Per component, the average points it adds to the score and the points it costs."""
    names = [t(f"component.{c}") for c in df["component"]]

    def points(column: str, name: str, band: str) -> dict:
        return {"type": "bar", "y": names, "x": df[column].to_numpy(), "orientation": "h",
                "name": name, "marker": {"color": BAND_COLORS[band]},
                "hovertemplate": "%{x:.1f}<extra></extra>"}

    traces = [points("avg_contribution", t("health.col.contribution"), "healthy"),
              points("avg_lost", t("health.col.lost"), "danger")]
    return _figure(traces, _layout(title=title, yaxis=_category_axis(), barmode="stack",
                                   hovermode="closest"))


def account_mrr(df: pd.DataFrame, title: str) -> dict:
    """One account's MRR per month (steps), movements marked with their name."""
    names = [t(f"movement.{m}") if isinstance(m, str) else "" for m in df["movement"]]
    x, xaxis = _periods(df["month"])
    trace = _line(x, df["mrr"].to_numpy(), t("chart.mrr"), PRIMARY,
                  line={"color": PRIMARY, "shape": "hv"}, customdata=names,
                  hovertemplate=YEN_HOVER + " %{customdata}<extra></extra>")
    return _figure([trace], _layout(title=title, xaxis=xaxis, yaxis=_amount_axis(df["mrr"])))


def band_rates(df: pd.DataFrame, title: str, name: str) -> dict:
    """A rate per health band (df: band, rate, ci_low, ci_high) as bars in the bands' colors,
    with the interval as error bars."""
    rate = df["rate"].astype("float64").to_numpy()
    trace = _bar([t(f"band.{b}") for b in df["band"]], rate, name,
                 [BAND_COLORS[b] for b in df["band"]],
                 error_y={"type": "data", "symmetric": False,
                          "array": df["ci_high"].astype("float64").to_numpy() - rate,
                          "arrayminus": rate - df["ci_low"].astype("float64").to_numpy(),
                          "color": "#424242"},
                 hovertemplate=PCT_HOVER + "<extra></extra>")
    return _figure([trace], _layout(title=title, yaxis=_pct_axis(from_zero=True),
                                    showlegend=False, hovermode="closest"))


def survival_curves(df: pd.DataFrame, title: str, week_suffix: str, marker_weeks: float,
                    marker_name: str) -> dict:
    """Kaplan–Meier curves by health band (df: band, weeks, survival) as steps over weeks
    (ticks end in `week_suffix`), with a dashed vertical line at `marker_weeks` (the horizon)
    named `marker_name`."""
    traces = []
    for band in ("healthy", "caution", "warning", "danger"):
        rows = df[df["band"] == band]
        if rows.empty:
            continue
        traces.append(_line(rows["weeks"].astype("float64").to_numpy(),
                            rows["survival"].astype("float64").to_numpy(),
                            t(f"band.{band}"), BAND_COLORS[band], mode="lines",
                            line={"color": BAND_COLORS[band], "shape": "hv"},
                            hovertemplate=PCT_HOVER + "<extra></extra>"))
    traces.append({"type": "scatter", "x": [marker_weeks, marker_weeks], "y": [0, 1],
                   "name": marker_name, "mode": "lines", "hoverinfo": "skip",
                   "line": {"color": "#757575", "dash": "dash", "width": 1}})
    return _figure(traces, _layout(title=title, yaxis={**_pct_axis(), "range": [0, 1.02]},
                                   xaxis={"ticksuffix": week_suffix}, hovermode="closest"))


QUARTILE_COLORS = ("#c62828", "#ef6c00", "#7cb342", "#2e7d32")


def quartile_rates(df: pd.DataFrame, title: str) -> dict:
    """Churn rate per component (x) and score quartile (bars side by side; df: component,
    quartile, rate). A quartile no account-week fell in has no bar."""
    components = list(dict.fromkeys(df["component"]))
    names = [t(f"component.{c}") for c in components]
    traces = []
    for q, color in enumerate(QUARTILE_COLORS, start=1):
        rows = df[df["quartile"] == q].set_index("component").reindex(components)
        traces.append(_bar(names, rows["rate"].astype("float64").to_numpy(),
                           t("chart.score_quartile", quartile=q), color,
                           hovertemplate=PCT_HOVER + "<extra></extra>"))
    return _figure(traces, _layout(title=title, yaxis=_pct_axis(from_zero=True), barmode="group",
                                   hovermode="closest"))


def lead_times(df: pd.DataFrame, title: str, name: str, x_title: str) -> dict:
    """Churns per week of warning before the churn (df: weeks, churns)."""
    counts = df["churns"].to_numpy()
    trace = _bar(df["weeks"].to_numpy(), counts, name, PRIMARY,
                 hovertemplate="%{x}: %{y:,}<extra></extra>")
    # Whole churns: ticks at whole numbers (a step of 1 while the bars are short).
    yaxis = _count_axis()
    if len(counts) and counts.max() <= 10:
        yaxis["dtick"] = 1
    return _figure([trace], _layout(title=title, xaxis={"title": {"text": x_title}},
                                    yaxis=yaxis, showlegend=False, hovermode="closest"))


RENEWAL_COLORS = {"signed": "#2e7d32", "lost": "#c62828", "pending": "#90a4ae",
                  "at_risk": "#ef6c00"}


def renewals_by_quarter(df: pd.DataFrame, title: str) -> dict:
    """ARR due per quarter stacked by status — signed, lost, pending (not at risk), at risk —
    with the expected renewing ARR (signed + forecast) as a marker whose bar is the forecast's
    range (`renewals.by_quarter_of`)."""
    x = list(df["quarter"])
    pending = df["pending_arr"].to_numpy() - df["at_risk_arr"].to_numpy()
    stacks = {"signed": df["signed_arr"].to_numpy(), "lost": df["lost_arr"].to_numpy(),
              "pending": pending, "at_risk": df["at_risk_arr"].to_numpy()}
    traces = [_bar(x, values, t(f"renewals.status.{status}"), RENEWAL_COLORS[status],
                   hovertemplate=YEN_HOVER) for status, values in stacks.items()]
    expected = df["expected_arr"].to_numpy()
    low = df["signed_arr"].to_numpy() + df["forecast_low"].to_numpy()
    high = df["signed_arr"].to_numpy() + df["forecast_high"].to_numpy()
    traces.append({"type": "scatter", "x": x, "y": _plain(expected), "mode": "markers",
                   "name": t("renewals.chart.expected"),
                   "marker": {"symbol": "diamond", "size": 11, "color": PRIMARY},
                   "error_y": {"type": "data", "symmetric": False,
                               "array": _plain(high - expected),
                               "arrayminus": _plain(expected - low), "color": PRIMARY},
                   "hovertemplate": YEN_HOVER})
    due = df["signed_arr"].to_numpy() + df["lost_arr"].to_numpy() + df["pending_arr"].to_numpy()
    return _figure(traces, _layout(title=title, barmode="stack",
                                   yaxis=_amount_axis(due, high)))


def renewal_rate_history(df: pd.DataFrame, title: str) -> dict:
    """The renewal rate (ARR) of each past quarter as bars (`renewals.by_quarter_of`)."""
    x = list(df["quarter"])
    rates = pd.to_numeric(df["renewal_rate"], errors="coerce").to_numpy()
    return _figure([_bar(x, rates, t("renewals.col.renewal_rate"), SECONDARY,
                         hovertemplate=PCT_HOVER)],
                   _layout(title=title, yaxis={**_pct_axis(), "range": [0, 1.05]}))
