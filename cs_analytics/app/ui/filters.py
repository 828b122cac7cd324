"""The shared sidebar: period, owner, segment and industry filters, kept in the URL.

The URL holds language-independent codes (`?period=quarter&p=2026Q1&owner=U001&owner=U002`),
so a copied link reproduces the view in either language. On the first run of a session the
widgets are seeded from the URL; after every run the URL is rewritten from the widgets (pages
switched through the menu keep the filters because the widgets live in app.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from cs_analytics.app.ui import data, fmt
from cs_analytics.app.ui.i18n import current_language, formatter, t, translate
from cs_analytics.app.ui.session import Viewer
from cs_analytics.config import SEGMENTS, Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts as account_metrics
from cs_analytics.metrics import periods
from cs_analytics.metrics.filters import Filters
from cs_analytics.warehouse.store import Snapshot

PERIOD_KINDS = ("quarter", "month", "ttm")
PERIOD_COUNT = {"quarter": 8, "month": 24, "ttm": 12}

# widget key → URL parameter
PARAMS = {
    "f_period_kind": "period",
    "f_period": "p",
    "f_owner": "owner",
    "f_segment": "segment",
    "f_industry": "industry",
}
MULTI = {"f_owner", "f_segment", "f_industry"}
SEEDED_KEY = "_filters_seeded"
VIEW_KEY = "_view"


@dataclass(frozen=True)
class View:
    """What the sidebar selected, for the page to render."""

    period: periods.Period
    filters: Filters
    as_of: dt.date
    fiscal_year_start_month: int

    @property
    def previous_period(self) -> periods.Period:
        return periods.previous(self.period, self.fiscal_year_start_month)


def period_options(kind: str, as_of: dt.date, fsm: int) -> list[str]:
    """Codes of the selectable periods of a kind, newest first."""
    recent = periods.last_n(kind, PERIOD_COUNT[kind], as_of, fsm)
    return [period_code(p) for p in reversed(recent)]


def period_code(period: periods.Period) -> str:
    if period.kind == "quarter":
        return period.label
    return f"{period.last_month:%Y-%m}"


def period_from_code(kind: str, code: str, fsm: int) -> periods.Period:
    if kind == "quarter":
        return periods.parse_quarter(code, fsm)
    month = periods.parse_month(code)
    return month if kind == "month" else periods.ttm(month.first_month)


def period_label(period: periods.Period, lang: str | None = None) -> str:
    """How a period reads in the UI: 2026Q1, 2026年3月, 直近12ヶ月（2026年3月まで）."""
    lang = lang or current_language()
    if period.kind == "month":
        return fmt.month(period.first_month, lang)
    if period.kind == "ttm":
        return translate(lang, "period.ttm_label", month=fmt.month(period.last_month, lang))
    if period.kind == "year":
        return translate(lang, "period.year_label", label=period.label)
    return period.label


def period_text(measure: dict, lang: str | None = None) -> str:
    """How a measured period (`comparisons.compare`'s measure) reads: its label, and for a
    period to date the days elapsed — '2026Q4（途中経過: 92日中68日）'."""
    return view_period_text(measure["period"], measure["as_of"], lang)


def view_period_text(period: periods.Period, as_of: dt.date, lang: str | None = None) -> str:
    """`period_text` of a period on `as_of` (the sidebar's period on the data as-of date)."""
    lang = lang or current_language()
    text = period_label(period, lang)
    if periods.is_complete(period, as_of):
        return text
    return text + translate(lang, "compare.to_date", days=periods.days_elapsed(period, as_of),
                            total=periods.days_in(period))


def measured_text(measure: dict, lang: str | None = None) -> str:
    """What a comparison measured: '2026Q3', or like for like '2026Q3・2026/09/07まで'."""
    lang = lang or current_language()
    if measure["complete"]:
        return period_label(measure["period"], lang)
    return translate(lang, "compare.until", label=period_label(measure["period"], lang),
                     date=fmt.date(measure["period"].end_day(measure["as_of"]), lang))


def like_for_like_caption(compared: dict) -> None:
    """For a period to date, a caption saying that its comparisons stop at the same day."""
    if compared["current"]["complete"]:
        return
    st.caption(t("compare.like_for_like", previous=measured_text(compared["previous"]),
                 year_ago=measured_text(compared["year_ago"])))


def seed_from_url() -> None:
    """Copy the URL's filter parameters into the widgets, once per session."""
    if st.session_state.get(SEEDED_KEY):
        return
    st.session_state[SEEDED_KEY] = True
    for key, param in PARAMS.items():
        if param not in st.query_params:
            continue
        if key in MULTI:
            st.session_state[key] = [v for v in st.query_params.get_all(param) if v]
        else:
            st.session_state[key] = st.query_params[param]


KEPT_PREFIX = "_kept_"


def restore(key: str) -> None:
    """Streamlit may drop a widget's state when the page changes (st.switch_page); the value
    is kept in a plain session key too and put back before the widget is drawn."""
    kept = KEPT_PREFIX + key
    if key not in st.session_state and kept in st.session_state:
        st.session_state[key] = st.session_state[kept]


def keep(key: str) -> None:
    st.session_state[KEPT_PREFIX + key] = st.session_state.get(key)


def _keep_valid(key: str, options: list, default) -> None:
    """A value from the URL or an older snapshot that is no longer offered falls back."""
    restore(key)
    if key not in st.session_state:
        st.session_state[key] = default
        return
    value = st.session_state[key]
    if key in MULTI:
        st.session_state[key] = [v for v in (value or []) if v in options]
    elif value not in options:
        st.session_state[key] = default


def write_url(defaults: dict[str, object]) -> None:
    """Rewrite the filter parameters from the widgets; defaults are left out of the URL."""
    for key, param in PARAMS.items():
        value = st.session_state.get(key)
        if value in (None, [], defaults.get(key)):
            if param in st.query_params:
                del st.query_params[param]
            continue
        wanted = [str(v) for v in value] if key in MULTI else str(value)
        current = st.query_params.get_all(param) if key in MULTI else st.query_params.get(param)
        if current != wanted:
            st.query_params[param] = wanted


def sidebar(snap: Snapshot, settings: Settings, viewer: Viewer) -> View:
    """Render the filters in the sidebar and return the selected view."""
    if viewer.sees_nothing:  # app.py stops such a viewer first; an empty scope is no filter
        raise CsAnalyticsError("this account is not linked to a CS owner: no figures to show")
    fsm = settings.general.fiscal_year_start_month
    as_of = snap.as_of
    lang = current_language()
    seed_from_url()

    _keep_valid("f_period_kind", list(PERIOD_KINDS), "quarter")
    kind = st.sidebar.radio(
        t("filters.period_kind"), PERIOD_KINDS, key="f_period_kind", horizontal=True,
        format_func=formatter("period.kind"))
    options = period_options(kind, as_of, fsm)
    _keep_valid("f_period", options, options[0])
    code = st.sidebar.selectbox(
        t("filters.period"), options, key="f_period",
        format_func=lambda c: period_label(period_from_code(kind, c, fsm), lang))
    period = period_from_code(kind, code, fsm)

    owners = data.call(account_metrics.owners, snap)
    if viewer.owner_scope is not None:
        owners = owners[owners["user_id"].isin(viewer.owner_scope)]
    owner_names = dict(zip(owners["user_id"].tolist(), owners["name"].tolist()))
    _keep_valid("f_owner", list(owner_names), [])
    owner_ids = st.sidebar.multiselect(
        t("filters.owner"), list(owner_names), key="f_owner",
        format_func=lambda u: owner_names.get(u, u), placeholder=t("filters.all"))

    _keep_valid("f_segment", list(SEGMENTS), [])
    segments = st.sidebar.multiselect(
        t("filters.segment"), list(SEGMENTS), key="f_segment", placeholder=t("filters.all"))

    industries = data.call(account_metrics.industries, snap)
    _keep_valid("f_industry", industries, [])
    chosen_industries = st.sidebar.multiselect(
        t("filters.industry"), industries, key="f_industry", placeholder=t("filters.all"))

    for key in PARAMS:
        keep(key)
    if viewer.owner_scope is not None and not owner_ids:
        owner_ids = list(viewer.owner_scope)
    write_url({"f_period_kind": "quarter", "f_period": options[0]})
    view = View(period=period,
                filters=Filters(owner_ids=tuple(owner_ids), segments=tuple(segments),
                                industries=tuple(chosen_industries)),
                as_of=as_of, fiscal_year_start_month=fsm)
    st.session_state[VIEW_KEY] = view
    return view


def view() -> View:
    """The view selected in the sidebar this run (set by app.py before the page runs)."""
    try:
        return st.session_state[VIEW_KEY]
    except KeyError:
        raise CsAnalyticsError("the sidebar filters were not set up; open the app through "
                               "app.py") from None
