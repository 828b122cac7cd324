"""Plotly figures for the pages. Each takes a small DataFrame from the metrics API (already
aggregated) and returns a figure with translated names; pages show it with `show(fig)`.

Amounts are plotted unrounded and formatted in hovers as ¥12,345,678; rates as percentages.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from cs_analytics.ui import fmt
from cs_analytics.ui.i18n import current_language, t

BAND_COLORS = {"healthy": "#2e7d32", "caution": "#f9a825", "warning": "#ef6c00",
               "danger": "#c62828"}
MOVEMENT_COLORS = {"new": "#1565c0", "reactivation": "#6a1b9a", "expansion": "#2e7d32",
                   "contraction": "#ef6c00", "churn": "#c62828"}
PRIMARY = "#1f4e79"
TARGET = "#c62828"
YEN_HOVER = "¥%{y:,.0f}"
# Every figure gets this template as it is created. Passed to each figure instead (layout
# template="…"), plotly deep-copies and re-validates the whole template: ~15 ms a figure.
pio.templates.default = "plotly_white"


def labels(values) -> list[str]:
    """Category labels from data (owner names, industries, churn reasons) as plain text:
    plotly renders a few HTML tags (<b>, <a href>) in labels, so they are escaped."""
    return [html.escape(str(v)) for v in values]


def show(fig: go.Figure, key: str) -> None:
    st.plotly_chart(fig, key=key, width="stretch", config={"displaylogo": False})


def _layout(fig: go.Figure, *, title: str | None = None, yaxis: dict | None = None,
            height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.15}, hovermode="x unified",
                      yaxis=yaxis or {})
    return fig


def _yen_axis() -> dict:
    return {"tickprefix": "¥", "tickformat": ",.0f", "separatethousands": True}


def _pct_axis() -> dict:
    return {"tickformat": ".0%"}


def _month_labels(months) -> list[str]:
    lang = current_language()
    return [fmt.month(m, lang) for m in months]


def mrr_trend(df: pd.DataFrame) -> go.Figure:
    """MRR per month (area) with the customer count in the hover."""
    x = _month_labels(df["month"])
    fig = go.Figure(go.Scatter(
        x=x, y=df["mrr"], name=t("chart.mrr"), mode="lines+markers", fill="tozeroy",
        line={"color": PRIMARY}, customdata=df[["customers"]].to_numpy(),
        hovertemplate=YEN_HOVER + "<br>" + t("chart.customers") + " %{customdata[0]:,}"
        + "<extra></extra>"))
    return _layout(fig, title=t("chart.mrr_trend"), yaxis=_yen_axis())


def waterfall(bridge: dict, title: str) -> go.Figure:
    """The MRR bridge of one period: start, new, reactivation, expansion, contraction, churn,
    end (amounts signed; the last bar is the total)."""
    steps = ["new", "reactivation", "expansion", "contraction", "churn"]
    x = [t("movement.start")] + [t(f"movement.{m}") for m in steps] + [t("movement.end")]
    y = [bridge["start_mrr"]] + [bridge[m] for m in steps] + [bridge["mrr"]]
    measure = ["absolute"] + ["relative"] * len(steps) + ["total"]
    lang = current_language()
    fig = go.Figure(go.Waterfall(
        x=x, y=y, measure=measure, name=t("chart.bridge"),
        text=[fmt.yen_compact(v, lang) for v in y], textposition="outside",
        increasing={"marker": {"color": MOVEMENT_COLORS["expansion"]}},
        decreasing={"marker": {"color": MOVEMENT_COLORS["churn"]}},
        totals={"marker": {"color": PRIMARY}},
        hovertemplate="%{x}: ¥%{y:,.0f}<extra></extra>"))
    fig.update_layout(showlegend=False)
    # The movements are small next to the MRR itself: start the axis near the lowest level
    # the bridge reaches, as a bridge chart usually does, so the steps can be read.
    levels, level = [], 0.0
    for value, kind in zip(y, measure):
        level = value if kind in ("absolute", "total") else level + value
        levels.append(level)
    low, high = min(levels), max(levels)
    axis = _yen_axis()
    if low > 0 and high > low:
        axis["range"] = [max(0.0, low - (high - low) * 1.5), high + (high - low) * 0.6]
    return _layout(fig, title=title, yaxis=axis, height=400)


def movements_by_period(df: pd.DataFrame) -> go.Figure:
    """Signed movement totals per period as stacked bars (gains up, losses down)."""
    fig = go.Figure()
    for m in ("new", "reactivation", "expansion", "contraction", "churn"):
        fig.add_trace(go.Bar(x=list(df["label"]), y=df[m], name=t(f"movement.{m}"),
                             marker_color=MOVEMENT_COLORS[m], hovertemplate=YEN_HOVER))
    net = df[["new", "reactivation", "expansion", "contraction", "churn"]].sum(axis=1)
    fig.add_trace(go.Scatter(x=list(df["label"]), y=net, name=t("chart.net_change"),
                             mode="lines+markers", line={"color": "#212121"},
                             hovertemplate=YEN_HOVER))
    fig.update_layout(barmode="relative")
    return _layout(fig, title=t("chart.movements_by_period"), yaxis=_yen_axis())


def retention(df: pd.DataFrame, target: float, title: str) -> go.Figure:
    """NRR and GRR per period with the NRR target line (TTM periods named by their month)."""
    x = [str(label).removeprefix("TTM ") for label in df["label"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=df["nrr"], name="NRR", mode="lines+markers",
                             line={"color": PRIMARY}, hovertemplate="%{y:.1%}"))
    fig.add_trace(go.Scatter(x=x, y=df["grr"], name="GRR", mode="lines+markers",
                             line={"color": "#00897b"}, hovertemplate="%{y:.1%}"))
    fig.add_trace(_target_trace(x, target, t("chart.nrr_target", value=fmt.pct(target))))
    return _layout(fig, title=title, yaxis=_pct_axis())


def _target_trace(x: list, target: float, name: str) -> go.Scatter:
    """A dashed horizontal target line as its own trace (so it shows in the legend)."""
    return go.Scatter(x=x, y=[target] * len(x), name=name, mode="lines",
                      line={"color": TARGET, "dash": "dash"}, hovertemplate="%{y:.1%}")


def rate_with_target(df: pd.DataFrame, column: str, target: float, *, title: str,
                     name: str, target_name: str, bars: bool = True) -> go.Figure:
    """A rate per period (bars or a line) with a dashed target line."""
    x = list(df["label"])
    fig = go.Figure()
    if bars:
        fig.add_trace(go.Bar(x=x, y=df[column], name=name, marker_color=PRIMARY,
                             hovertemplate="%{y:.1%}"))
    else:
        fig.add_trace(go.Scatter(x=x, y=df[column], name=name, mode="lines+markers",
                                 line={"color": PRIMARY}, hovertemplate="%{y:.1%}"))
    fig.add_trace(_target_trace(x, target, target_name))
    return _layout(fig, title=title, yaxis=_pct_axis())


def cohort_heatmap(df: pd.DataFrame, title: str) -> go.Figure:
    """Cohorts (rows) × periods since start (columns); cells are fractions."""
    offsets = [c for c in df.columns if c.startswith("+")]
    z = df[offsets].astype("float64").to_numpy()
    text = [[fmt.pct(v, 0) if pd.notna(v) else "" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=offsets, y=list(df["cohort"]), text=text, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=max(1.0, float(pd.DataFrame(z).max().max() or 1)),
        hovertemplate="%{y} %{x}: %{z:.1%}<extra></extra>", colorbar={"tickformat": ".0%"}))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(hovermode="closest")
    return _layout(fig, title=title, height=max(320, 28 * len(df) + 120))


def _date_axis(fig: go.Figure) -> None:
    fig.update_xaxes(type="date", tickformat="%Y/%m/%d" if current_language() == "ja"
                     else "%b %d, %Y")


def band_areas(df: pd.DataFrame, title: str) -> go.Figure:
    """Accounts per health band over time, stacked (df: snapshot_day, and one column per band)."""
    x = [pd.Timestamp(d) for d in df["snapshot_day"]]
    fig = go.Figure()
    for band in ("danger", "warning", "caution", "healthy"):
        fig.add_trace(go.Scatter(
            x=x, y=df[band], name=t(f"band.{band}"), mode="lines", stackgroup="bands",
            line={"color": BAND_COLORS[band], "width": 0.5}, fillcolor=BAND_COLORS[band]))
    _date_axis(fig)
    return _layout(fig, title=title)


def band_bars(df: pd.DataFrame, category: str, title: str, *, horizontal: bool = False
              ) -> go.Figure:
    """Accounts per band (stacked) per category (owner, segment…): df has `category` and one
    column per band."""
    fig = go.Figure()
    for band in ("healthy", "caution", "warning", "danger"):
        if band not in df:
            continue
        kwargs = ({"y": labels(df[category]), "x": df[band], "orientation": "h"} if horizontal
                  else {"x": labels(df[category]), "y": df[band]})
        fig.add_trace(go.Bar(name=t(f"band.{band}"), marker_color=BAND_COLORS[band], **kwargs))
    fig.update_layout(barmode="stack", hovermode="closest")
    if horizontal:
        fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, title=title, height=max(320, 30 * len(df) + 120) if horizontal else 360)


def matrix(df: pd.DataFrame, title: str) -> go.Figure:
    """Attribute tier (rows) × health band (columns) account counts, with the segment letter."""
    bands = ["healthy", "caution", "warning", "danger"]
    z = df[bands].to_numpy()
    seg = df[[f"segment_{b}" for b in bands]].to_numpy() if f"segment_{bands[0]}" in df else None
    text = [[f"{seg[i][j]} · {int(z[i][j])}" if seg is not None else f"{int(z[i][j])}"
             for j in range(len(bands))] for i in range(len(df))]
    fig = go.Figure(go.Heatmap(
        z=z, x=[t(f"band.{b}") for b in bands], y=[t(f"tier.{v}") for v in df["tier"]],
        text=text, texttemplate="%{text}", colorscale="Oranges",
        hovertemplate="%{y} × %{x}: %{z}<extra></extra>", showscale=False))
    fig.update_yaxes(type="category", autorange="reversed")  # high tier on top
    fig.update_layout(hovermode="closest")
    return _layout(fig, title=title, height=320)


def usage_trend(df: pd.DataFrame, title: str) -> go.Figure:
    """Monthly deliveries (bars) and logins and viewers (lines)."""
    x = _month_labels(df["month"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=df["deliveries"], name=t("usage.deliveries"),
                         marker_color=PRIMARY))
    fig.add_trace(go.Scatter(x=x, y=df["logins"], name=t("usage.logins"), mode="lines+markers",
                             line={"color": "#00897b"}, yaxis="y2"))
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})
    return _layout(fig, title=title)


def health_history(df: pd.DataFrame, bands: dict[str, float], title: str) -> go.Figure:
    """Score over snapshot days with the band thresholds as background."""
    x = [pd.Timestamp(d) for d in df["snapshot_day"]]
    fig = go.Figure()
    edges = [(bands["healthy"], 100, "healthy"), (bands["caution"], bands["healthy"], "caution"),
             (bands["warning"], bands["caution"], "warning"), (0, bands["warning"], "danger")]
    for low, high, band in edges:
        fig.add_hrect(y0=low, y1=high, fillcolor=BAND_COLORS[band], opacity=0.08, line_width=0)
    fig.add_trace(go.Scatter(x=x, y=df["score"], name=t("chart.health_score"),
                             mode="lines+markers", line={"color": PRIMARY},
                             hovertemplate="%{y:.0f}"))
    _date_axis(fig)
    return _layout(fig, title=title, yaxis={"range": [0, 100]})


def horizontal_bars(names: list[str], values: list[float], *, title: str, name: str,
                    yen: bool = False, color: str = PRIMARY) -> go.Figure:
    fig = go.Figure(go.Bar(y=labels(names), x=values, orientation="h", name=name,
                           marker_color=color,
                           hovertemplate=("¥%{x:,.0f}" if yen else "%{x:,}") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(hovermode="closest")
    if yen:
        fig.update_xaxes(tickprefix="¥", tickformat=",.0f")
    return _layout(fig, title=title, height=max(280, 32 * len(names) + 120))


def stacked_bars(df: pd.DataFrame, x: str, series: dict[str, tuple[str, str]], *, title: str,
                 yen: bool = False) -> go.Figure:
    """Stacked bars: series = {column: (name, color)}."""
    fig = go.Figure()
    for column, (name, color) in series.items():
        fig.add_trace(go.Bar(x=labels(df[x]), y=df[column], name=name, marker_color=color,
                             hovertemplate=YEN_HOVER if yen else "%{y:,}"))
    fig.update_layout(barmode="stack")
    return _layout(fig, title=title, yaxis=_yen_axis() if yen else None)


def capacity(df: pd.DataFrame, title: str) -> go.Figure:
    """Active customers per owner (bars) against each owner's capacity (markers)."""
    x = labels(df["owner_name"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=df["accounts"], name=t("team.col.accounts"),
                         marker_color=PRIMARY))
    fig.add_trace(go.Scatter(x=x, y=df["capacity"], name=t("team.col.capacity"), mode="markers",
                             marker={"symbol": "line-ew-open", "size": 28, "color": TARGET,
                                     "line": {"width": 3}}))
    return _layout(fig, title=title)


def usage_by_quarter(df: pd.DataFrame, title: str) -> go.Figure:
    """Deliveries per quarter (bars) with the conversion rate (line, right axis)."""
    x = list(df["period"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=df["deliveries"], name=t("usage.deliveries"),
                         marker_color=PRIMARY))
    fig.add_trace(go.Scatter(x=x, y=df["conversion_rate"], name=t("usage.conversion_rate"),
                             mode="lines+markers", yaxis="y2", line={"color": "#00897b"},
                             hovertemplate="%{y:.1%}"))
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right",
                                               "tickformat": ".0%", "showgrid": False})
    return _layout(fig, title=title)


def components(df: pd.DataFrame, title: str) -> go.Figure:
    """Per component, the average points it adds to the score and the points it costs."""
    names = [t(f"component.{c}") for c in df["component"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=df["avg_contribution"], orientation="h",
                         name=t("health.col.contribution"), marker_color=BAND_COLORS["healthy"],
                         hovertemplate="%{x:.1f}<extra></extra>"))
    fig.add_trace(go.Bar(y=names, x=df["avg_lost"], orientation="h", name=t("health.col.lost"),
                         marker_color=BAND_COLORS["danger"],
                         hovertemplate="%{x:.1f}<extra></extra>"))
    fig.update_layout(barmode="stack", hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, title=title)


def account_mrr(df: pd.DataFrame, title: str) -> go.Figure:
    """One account's MRR per month (steps), movements marked with their name."""
    x = _month_labels(df["month"])
    names = [t(f"movement.{m}") if isinstance(m, str) else "" for m in df["movement"]]
    fig = go.Figure(go.Scatter(
        x=x, y=df["mrr"], name=t("chart.mrr"), mode="lines+markers", line_shape="hv",
        line={"color": PRIMARY}, customdata=names,
        hovertemplate=YEN_HOVER + " %{customdata}<extra></extra>"))
    return _layout(fig, title=title, yaxis=_yen_axis())
