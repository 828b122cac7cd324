"""Building blocks every page uses: the banner, KPI cards, tables with downloads, empty states.

Tables take a column spec ({column: (i18n label key, kind)}) so labels are translated, numbers
formatted (yen, one-decimal percentages, health as a progress bar, links) and both downloads
(CSV with BOM, Excel) come with the same headers. Text from source data is only ever shown
through st.dataframe or escaped markdown, never as HTML.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote_plus

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from cs_analytics import clock
from cs_analytics.app.ui import data, downloads, fmt
from cs_analytics.app.ui.data import salesforce_org
from cs_analytics.app.ui.i18n import catalogue, current_language, t, translate
from cs_analytics.errors import SnapshotOutdated
from cs_analytics.warehouse.store import SCHEMA_VERSION, Damage, Problem, Snapshot

MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$=")
# Where Streamlit's markdown (GFM) would turn plain text into a link — a scheme before "://",
# "www.", an e-mail's "@" — whatever the escaping, since it finds them in the parsed text: an
# invisible word joiner (U+2060) there keeps the text as it reads but no longer a link.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9+.-])(?=:/)|(?<=\bwww)(?=\.)|(?<=[\w.+-])(?=@)")
WORD_JOINER = "\u2060"


def md_escape(text) -> str:
    """Text from data, made plain text in markdown: every markdown/directive character is
    backslash-escaped, so `**x**`, `<b>`, `:red[x]` or `$x$` show literally, and URLs, "www."
    names and e-mail addresses inside it are not turned into links."""
    text = _AUTOLINK.sub(WORD_JOINER, str(text))
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


# ------------------------------------------------------------------------------ frame


def banner(snap: Snapshot | None) -> None:
    """"Data as of" line on top of every page, with the snapshot and the demo-data label."""
    lang = current_language()
    if snap is None:
        if data.snapshot_outdated() is None:  # (else `damage_notice` says why)
            st.caption(t("frame.no_snapshot_banner"))
        return
    parts = [t("frame.as_of", date=fmt.date(snap.as_of, lang)),
             t("frame.snapshot", id=snap.id)]
    built = snap.meta.get("built_at")  # UTC, stored without its zone
    if built is not None and not pd.isna(built):
        parts.append(t("frame.built_at", time=clock.local_text(pd.Timestamp(built).to_pydatetime(),
                                                               data.settings())))
    text = " · ".join(parts)
    if snap.is_demo:
        st.markdown(f":orange-badge[{t('frame.demo_label')}] {md_escape(text)}",
                    help=t("frame.demo_help"))
    else:
        st.caption(text)


def damage_notice(snap: Snapshot | None, damage: Damage | None) -> None:
    """Under the banner when the current snapshot is damaged: which one and why, and that an
    older intact snapshot is shown instead (`snap.damage`) — or that none is left to show; or
    that the snapshot was built by another version and is not read until it is rebuilt."""
    lang = current_language()
    outdated = data.snapshot_outdated() if snap is None and damage is None else None
    if outdated is not None:
        st.error(outdated_text(outdated), icon="🛑")
    if snap is not None and snap.damage is not None:
        st.warning(t("frame.snapshot_fallback", damaged=md_escape(snap.damage.name),
                     reason=problem_text(snap.damage.problem, lang), id=snap.id,
                     date=fmt.date(snap.as_of, lang)), icon="⚠️")
    elif snap is None and damage is not None:
        st.error(t("frame.snapshot_damaged", damaged=md_escape(damage.name),
                   reason=problem_text(damage.problem, lang)), icon="🛑")


def outdated_text(outdated: SnapshotOutdated) -> str:
    """The sentence for a snapshot built by another version, in the page's language."""
    return t("frame.snapshot_outdated", id=md_escape(outdated.snapshot),
             found="—" if outdated.found is None else outdated.found, expected=SCHEMA_VERSION)


def problem_text(problem: Problem | None, lang: str | None = None, *,
                 markdown: bool = True) -> str | None:
    """What is wrong with a snapshot file (store.Problem) in the page's language — escaped
    for markdown, or plain for a table cell; None when nothing is."""
    if problem is None:
        return None
    values = {k: md_escape(v) if markdown else v for k, v in problem.values}
    return translate(lang or current_language(), f"damage.{problem.kind}", **values)


def access_notice(signed_in: bool, allow_anonymous: bool) -> None:
    """Under the banner on every page of an app without sign-in: that it runs open, and for
    whom — this computer only, or (server.allow_anonymous) anyone who can reach it."""
    if signed_in:
        return
    if allow_anonymous:
        st.warning(t("frame.open_anonymous"), icon="⚠️")
    else:
        st.caption("🔓 " + t("frame.open_local"))


def moment(value) -> str:
    """A stored moment (UTC) as users read it: in the configured zone, with its label."""
    return clock.local_text(value, data.settings())


def title(key: str) -> None:
    st.title(t(key))


def require_snapshot(snap: Snapshot | None) -> Snapshot:
    """Stop the page with a helpful message when no data has been published yet."""
    if snap is None:
        if data.snapshot_outdated() is None:  # (else the frame's notice says why)
            st.info(t("common.no_snapshot"))
        st.page_link("pages/data.py", label=t("common.go_to_data"), icon="🗄️")
        st.stop()
    return snap


def empty(key: str = "common.no_rows", **values) -> None:
    st.info(t(key, **values))


# ------------------------------------------------------------------------------ KPI cards


def kpi(label: str, value: str, *, change=None, change_text: str | None = None,
        up_is_good: bool | None = True, help: str | None = None,
        description: str | None = None) -> None:
    """One KPI card: value, change vs the previous period (`delta`), and a line vs target."""
    st.metric(label, value, help=help, border=True, delta_description=description,
              **delta(change, change_text, up_is_good=up_is_good))


def delta(change, text: str | None, *, up_is_good: bool | None = True) -> dict:
    """st.metric's delta arguments for a change `change` shown as `text`. A change that rounds
    to zero as shown reads "0" (no sign, no arrow) in neutral grey; otherwise the arrow
    follows the change and the colour says whether it is good for this metric:
    `up_is_good=False` for a rise that is bad (churn, contraction), None for neither."""
    if text is None or change is None or pd.isna(change):
        return {}
    if not any(ch in "123456789" for ch in text):
        return {"delta": text.lstrip("+-±"), "delta_color": "off", "delta_arrow": "off"}
    rising = change > 0
    colour = "off" if up_is_good is None else "green" if rising == up_is_good else "red"
    return {"delta": text, "delta_color": colour, "delta_arrow": "up" if rising else "down"}


def target_line(value, target, *, at_most: bool) -> str:
    """'目標 ≤ 10.0% ✅' / 'Target ≥ 110.0% ⚠️': where a rate stands against its target."""
    if value is None or pd.isna(value):
        met = None
    else:
        met = value <= target + 1e-12 if at_most else value >= target - 1e-12
    sign = "≤" if at_most else "≥"
    mark = "" if met is None else (" ✅" if met else " ⚠️")
    return t("common.target", sign=sign, value=fmt.pct(target)) + mark


def amount_unit(lang: str | None = None) -> str:
    """The unit amounts are shown in on cards and axes, for the UI's language (settings)."""
    lang = lang or current_language()
    return data.settings().display.amount_unit(lang)


def amount(value) -> str:
    """An amount on a card, header or caption: in the configured unit (1,235万円); tables and
    downloads give whole yen."""
    lang = current_language()
    return fmt.amount(value, lang, amount_unit(lang))


def change(current, previous):
    """current − previous, or None when either is missing."""
    if current is None or previous is None or pd.isna(current) or pd.isna(previous):
        return None
    return current - previous


# ------------------------------------------------------------------------------ tables


@dataclass(frozen=True)
class Col:
    """A table column: its i18n label key and how it is shown.

    kinds: text, yen, pct (fraction), int, number, date, month, score (0–100 progress bar),
    moment (a stored UTC time → the configured zone, labelled: 2026-12-07 05:05 JST),
    url (a link to the configured Salesforce org; any other URL is not shown), account
    (account id → link to the account page), band (health band code → emoji + name), enum
    (a code translated through `prefix`), enums (comma-separated codes, each translated).
    """

    label: str
    kind: str = "text"
    prefix: str = ""  # kind "enum": values are shown as t(f"{prefix}.{value}")
    literal: bool = False  # the label is shown as is (e.g. cohort offsets "+3")
    # kind "enum" over values from a source (a Salesforce picklist): a value the catalogue
    # does not name is shown as it is
    open_set: bool = False

    @property
    def text(self) -> str:
        return self.label if self.literal else t(self.label)

    def text_in(self, lang: str) -> str:
        return self.label if self.literal else translate(lang, self.label)


# An account list with its state (metrics.team.portfolio): used by Team and Health pages.
PORTFOLIO_COLUMNS = {
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "segment": Col("col.segment"), "band": Col("col.band", "band"),
    "score": Col("col.score", "score"), "score_change_4w": Col("health.col.change_4w", "number"),
    "top_detractor": Col("health.col.detractor", "enum", "component"),
    "arr": Col("col.arr", "yen"), "days_since_contact": Col("team.col.days_since_contact", "int"),
    "contract_end_date": Col("col.end_date", "date"),
    "signals": Col("team.col.signals", "enums", "signal"),
    "account_id": Col("col.account_link", "account"), "sf_url": Col("col.salesforce", "url"),
}


# The period's movements (shape.movement_summary): used by the Overview and MRR pages.
MOVEMENT_SUMMARY_COLUMNS = {
    "movement": Col("revenue.col.movement", "enum", "movement"),
    "count": Col("revenue.col.accounts", "int"), "amount": Col("revenue.col.amount", "yen"),
}

# The accounts behind each movement (contributors.top_of): used by the Overview and KPI pages.
CONTRIBUTOR_COLUMNS = {
    "movement": Col("revenue.col.movement", "enum", "movement"),
    "rank": Col("compare.col.rank", "int"), "accounts": Col("compare.col.accounts", "int"),
    "name": Col("col.account_name"), "owner_name": Col("col.owner"),
    "amount": Col("revenue.col.amount", "yen"), "share": Col("compare.col.share", "pct"),
    "cumulative_share": Col("compare.col.cumulative_share", "pct"),
    "reason": Col("churn.col.reason"), "account_id": Col("col.account_link", "account"),
}

# Number columns shown as they are, with their display format.
NUMBER_FORMATS = {"yen": "yen", "int": "localized", "number": "%.1f"}

# Date columns by language, as the browser draws them (moment.js tokens): the same text as
# fmt.date and fmt.month — 2026/03/31 and 2026年3月, Mar 31, 2026 and Mar 2026.
DATE_FORMATS = {"date": {"ja": "YYYY/MM/DD", "en": "MMM D, YYYY"},
                "month": {"ja": "YYYY年M月", "en": "MMM YYYY"}}


ACCOUNT_URL_PREFIX = "account?account_id="


def account_url(account_id: str) -> str:
    return ACCOUNT_URL_PREFIX + quote_plus(str(account_id))


def _display_frame(df: pd.DataFrame, columns: dict[str, Col]) -> tuple[object, dict]:
    """What a table shows of `df` — its columns translated, formatted and in order — as an
    Arrow table, and the column config. Each column goes to Arrow on its own, so no pandas
    frame or pandas metadata is built for a table whose index is hidden. A column Arrow cannot
    type (mixed values) makes it a pandas frame, which Streamlit shows as text."""
    lang = current_language()
    shown = {}  # label → column
    config = {}
    kinds = {}  # label → kind
    for name, col in columns.items():
        label = col.text_in(lang)
        kinds[label] = col.kind
        values = df[name]
        if col.kind == "pct":
            shown[label] = _numbers(values) * 100
            config[label] = st.column_config.NumberColumn(label, format="%.1f%%")
        elif col.kind in NUMBER_FORMATS:
            shown[label] = _numbers(values)
            config[label] = st.column_config.NumberColumn(label, format=NUMBER_FORMATS[col.kind])
        elif col.kind == "score":
            shown[label] = _numbers(values)
            # green above the middle of the scale (50: 🟢/🟡), red below it (🟠/🔴) — never
            # the theme's red for a healthy 94
            config[label] = st.column_config.ProgressColumn(
                label, min_value=0, max_value=100, format="%.0f", color="auto")
        elif col.kind in DATE_FORMATS:
            # Real dates, drawn in the page's format by the browser: a date column sorts by
            # date, not as text ("Mar 5" after "Apr 30"), and nothing is formatted per row.
            shown[label] = _datetimes(values)
            config[label] = st.column_config.DateColumn(
                label, format=DATE_FORMATS[col.kind][lang])
        elif col.kind == "url":
            # Only links to the configured Salesforce org are shown (cs_analytics.outputs.links).
            checked = salesforce_org().links(values)
            if all(v is None for v in checked):
                continue  # no account has a link: leave the column out
            shown[label] = pa.array(checked, type=pa.string())
            config[label] = st.column_config.LinkColumn(
                label, display_text=translate(lang, "common.open_salesforce"))
        elif col.kind == "account":
            shown[label] = _account_urls(values)
            config[label] = st.column_config.LinkColumn(
                label, display_text=translate(lang, "common.open_account"))
        elif col.kind == "band":
            shown[label] = _each_shown(values, band_label)
        elif col.kind == "moment":
            settings = data.settings()
            shown[label] = _each_shown(values, lambda v: clock.local_text(v, settings))
        elif col.kind == "enum":
            shown[label] = _each_shown(values, lambda v, c=col: _enum_name(v, c, lang))
        elif col.kind == "enums":
            shown[label] = _each_shown(values, lambda v, p=col.prefix: _enum_list(v, p))
        elif isinstance(values.dtype, pd.StringDtype):
            shown[label] = values  # Arrow-backed text goes to the table as it is
        else:
            shown[label] = values.astype("object").where(values.notna(), None)
    _fit(config, shown, kinds)
    try:
        table = pa.Table.from_arrays([_arrow_column(v) for v in shown.values()],
                                     names=list(shown))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.DataFrame({label: v.to_numpy(zero_copy_only=False)
                             if isinstance(v, pa.Array) else v for label, v in shown.items()},
                            index=df.index), config
    return table, config


# A column whose header is much wider than its values (a long header over short numbers) is
# drawn as wide as its values, with the header's whole text in its tooltip: a wide table then
# fits the page instead of hiding its last columns. A table of many columns also keeps its
# first (the account or owner) in view when scrolled sideways.
CHAR_PX = 7           # a half-width character; a CJK character counts two
HEADER_PAD_PX = 30    # a header's padding and menu icon
CELL_PAD_PX = 18
MIN_COLUMN_PX = 56
NARROW_FROM_PX = 100  # headers narrower than this are left as they are
PIN_FROM = 9          # columns
NO_FIT = {"score", "url", "account"}  # drawn at their own width (bars, link texts)


def _fit(config: dict, shown: dict, kinds: dict[str, str]) -> None:
    for position, (label, values) in enumerate(shown.items()):
        entry = config.get(label) or st.column_config.Column(label)
        header = _text_width(label) * CHAR_PX + HEADER_PAD_PX
        if kinds[label] not in NO_FIT and header > NARROW_FROM_PX:
            content = _content_px(kinds[label], values, below=header - CELL_PAD_PX)
            if content is not None and header > content + CELL_PAD_PX:
                entry["width"] = max(MIN_COLUMN_PX, content)
                entry["help"] = label
        if position == 0 and len(shown) >= PIN_FROM:
            entry["pinned"] = True
        config[label] = entry


def _content_px(kind: str, values, below: int | None = None) -> int | None:
    """How wide the widest shown value of a column is, in pixels (estimated from its text);
    with `below`, None for text known to be at least that wide (its longest value's
    characters alone are: each is one or two half-widths)."""
    if kind in DATE_FORMATS:
        return (10 if kind == "date" else 9) * CHAR_PX + CELL_PAD_PX
    if kind in NUMBER_FORMATS or kind == "pct":
        numbers = _float_array(values)
        top = np.nanmax(np.abs(numbers)) if np.isfinite(numbers).any() else np.nan
        if np.isnan(top):
            return MIN_COLUMN_PX
        text = {"yen": f"-¥{top:,.0f}", "int": f"-{top:,.0f}", "number": f"-{top:,.1f}",
                "pct": f"-{top:.1f}%"}[kind]
        return len(text) * CHAR_PX + CELL_PAD_PX
    texts = _distinct_texts(values.iloc[:2000] if isinstance(values, pd.Series)
                            else values[:2000])
    if len(texts) == 0:
        return MIN_COLUMN_PX
    if below is not None and max(map(len, texts)) * CHAR_PX + CELL_PAD_PX >= below:
        return None
    return max(_text_width(text) for text in texts) * CHAR_PX + CELL_PAD_PX


def _distinct_texts(values) -> list[str]:
    """The distinct present values of a shown column as text: by Arrow for text Arrow holds
    (no pandas operation per column), else through pandas."""
    arrow = values
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype) \
            and values.dtype.storage == "pyarrow":
        arrow = pa.array(values.array)
    if isinstance(arrow, (pa.Array, pa.ChunkedArray)) and (
            pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return pc.unique(arrow).drop_null().to_pylist()
    return list(pd.Series(values).dropna().astype(str).unique())


def _text_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _float_array(values) -> np.ndarray:
    """A shown number column (Series or array) as float64 (`_numbers`), NaN where a value is
    missing or not a number."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    return _numbers(series).to_numpy(dtype=np.float64, na_value=np.nan)


def _arrow_column(values) -> pa.Array | pa.ChunkedArray:
    """A shown column (Series, array or Arrow) as Arrow; a missing number (NaN) is null.
    A Series backed by Arrow (text, nullable integers) hands over its own array."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufbM":
            return pa.array(values.to_numpy(), from_pandas=True)
        return pa.array(values.array, from_pandas=True)
    return pa.array(values, from_pandas=True)


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers as they are; anything else (None, text) through to_numeric, missing → NaN."""
    if values.dtype.kind in "iuf":
        return values
    return pd.to_numeric(values, errors="coerce")


def _datetimes(values: pd.Series) -> pd.Series:
    """Dates (datetime.date objects, Timestamps or ISO text) as datetime64; missing → NaT."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return pd.to_datetime(values, errors="coerce")


_URL_SAFE_ID = r"^[A-Za-z0-9_.~-]+$"


def _account_urls(values: pd.Series) -> pa.Array:
    """account_url of each id (null where the id is missing), as Arrow. Ids made of URL-safe
    characters only — Salesforce ids, the demo's — need no quoting: checked and joined as two
    Arrow operations, without a Python string per row."""
    ids = pa.Array.from_pandas(values.astype("str"))
    if pc.all(pc.match_substring_regex(ids, _URL_SAFE_ID)).as_py() is not False:
        prefix = pa.scalar(ACCOUNT_URL_PREFIX, ids.type)
        return pc.binary_join_element_wise(prefix, ids, pa.scalar("", ids.type))
    return pa.array([account_url(v) if present else None
                     for v, present in zip(values, values.notna())], type=pa.string())


def _each_value(values: pd.Series, convert) -> np.ndarray | list:
    """convert(v) for each present value, None for a missing one; each distinct value is
    converted once (a table of thousands of rows repeats a few dates, bands and codes), and
    spread back to the rows by position."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists): one by one
        return _each_value_slowly(values, convert)
    # factorize leaves missing values out of `uniques` (code -1 → the trailing None)
    return np.array(_converted(uniques, convert), dtype=object)[codes]


def _each_shown(values: pd.Series, convert) -> pa.Array | np.ndarray | list:
    """`_each_value` for a table. Text held by Arrow is encoded by Arrow itself and the
    converted distinct values taken by position — no Python object per row; other columns
    (and converted values of mixed types) as `_each_value` gives them."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return _each_value(values, convert)
    encoded = pc.dictionary_encode(pa.array(values.array))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    try:
        lookup = pa.array(_converted(encoded.dictionary.to_pylist(), convert), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _each_value(values, convert)
    return lookup.take(encoded.indices)  # (a null index: null)


def _converted(uniques, convert) -> list:
    """convert(v) of each distinct value (None for a missing one), then None: the value of a
    missing row (code −1)."""
    return [*(convert(v) if _present(v) else None for v in uniques), None]


def _each_value_slowly(values: pd.Series, convert) -> list:
    done: dict = {}
    out = []
    for v in values:
        if not _present(v):
            out.append(None)
            continue
        try:
            out.append(done[v])
        except KeyError:
            out.append(done.setdefault(v, convert(v)))
        except TypeError:  # an unhashable value
            out.append(convert(v))
    return out


def _download_frame(df: pd.DataFrame, columns: dict[str, Col], lang: str,
                    settings=None) -> tuple[pd.DataFrame, dict]:
    """Raw values (unrounded amounts, fractions) under the translated headers; moments in the
    configured zone. Takes the language and settings explicitly: it runs when a download is
    clicked, outside the page run."""
    out = pd.DataFrame(index=df.index)
    kinds = {}
    for name, col in columns.items():
        label = col.text_in(lang)
        if col.kind == "account":
            out[label] = df[name]
            kinds[label] = "text"
            continue
        if col.kind == "band":
            out[label] = _each_value(df[name], lambda v: band_label(v, lang))
        elif col.kind == "moment":
            zone = settings or data.settings()
            out[label] = _each_value(df[name], lambda v: clock.local_text(v, zone))
            kinds[label] = "text"
            continue
        elif col.kind == "enum":
            out[label] = _each_value(df[name], lambda v, c=col: _enum_name(v, c, lang))
        elif col.kind == "enums":
            out[label] = _each_value(df[name], lambda v, p=col.prefix: _enum_list(v, p, lang))
        else:
            out[label] = df[name]
        kinds[label] = col.kind
    return out.reset_index(drop=True), kinds


def table(df: pd.DataFrame, columns: dict[str, Col], *, key: str, download: str | None = None,
          select: bool = False, height: int | str = "auto", empty_key: str = "common.no_rows",
          shared: bool = False) -> int | None:
    """Show a table with translated headers and CSV/Excel downloads.

    With `select=True` a row can be clicked; the position (0-based, in `df` order) of the
    selected row is returned, else None. `shared=True` says `df` is a frame of a shared,
    never-changed object (`data.call_shared`): what it looks like on screen is then made once
    and kept while that object lives, not again on every run.
    """
    if df is None or df.empty:
        empty(empty_key)
        return None
    if shared:
        shown, config = _SHOWN.get(df, columns, current_language())
    else:
        shown, config = _display_frame(df, columns)
    kwargs = {}
    if select:
        kwargs = {"on_select": "rerun", "selection_mode": "single-row"}
    event = st.dataframe(shown, column_config=config, hide_index=True, key=key,
                         height=height, width="stretch", placeholder=fmt.MISSING, **kwargs)
    if download:
        download_buttons(df, columns, stem=download, key=key)
    if select:
        rows = event.selection.rows if event is not None else []
        if rows and rows[0] < len(df):
            return int(rows[0])
    return None


class _ShownFrames:
    """What shared frames look like on screen (`_display_frame`: the shown columns as Arrow,
    their config), by the frame's identity, language and columns; the frame is held with its
    entry, so its id cannot be reused while the entry exists."""

    def __init__(self, size: int = 64):
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple] = OrderedDict()

    def get(self, df: pd.DataFrame, columns: dict[str, Col], lang: str) -> tuple:
        key = (id(df), lang, tuple(columns.items()))
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] is df:
                self._items.move_to_end(key)
                return item[1:]
        shown, config = _display_frame(df, columns)
        with self._lock:
            self._items[key] = (df, shown, config)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return shown, config


_SHOWN = _ShownFrames()


def download_buttons(df: pd.DataFrame, columns: dict[str, Col], *, stem: str,
                     key: str) -> None:
    """CSV (UTF-8 with BOM) and Excel buttons of `df` under the translated headers of
    `columns`; the files — and the frame behind them — are made only when clicked."""
    snap = data.current_snapshot()
    as_of = snap.as_of if snap is not None else None
    lang, settings = current_language(), data.settings()

    def csv() -> bytes:
        return downloads.csv_bytes(_download_frame(df, columns, lang, settings)[0])

    def excel() -> bytes:
        raw, kinds = _download_frame(df, columns, lang, settings)
        return downloads.excel_bytes(raw, sheet=stem, kinds=kinds)

    with st.container(horizontal=True):  # side by side, left-aligned
        st.download_button(translate(lang, "common.download_csv"), csv,
                           file_name=downloads.filename(stem, as_of, "csv"),
                           mime="text/csv", key=f"{key}_csv", icon="⬇️", on_click="ignore")
        st.download_button(translate(lang, "common.download_excel"), excel,
                           file_name=downloads.filename(stem, as_of, "xlsx"), mime=XLSX_MIME,
                           key=f"{key}_xlsx", icon="⬇️", on_click="ignore")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_download(render, report, *, stem: str, label: str, key: str, ext: str = "xlsx",
                    mime: str = XLSX_MIME, primary: bool = True) -> None:
    """A download button for a report file — a workbook unless `ext`/`mime` say otherwise —
    rendered when clicked."""
    snap = data.current_snapshot()
    st.download_button(label, lambda: render(report),
                       file_name=downloads.filename(stem, snap.as_of if snap else None, ext),
                       mime=mime, key=key, icon="📥", type="primary" if primary else "secondary",
                       on_click="ignore")


BAND_EMOJI = {"healthy": "🟢", "caution": "🟡", "warning": "🟠", "danger": "🔴"}


def band_label(band: str, lang: str | None = None) -> str:
    if band not in BAND_EMOJI:
        return str(band)
    return f"{BAND_EMOJI[band]} {translate(lang or current_language(), f'band.{band}')}"


def _enum_name(value, col: Col, lang: str) -> str:
    key = f"{col.prefix}.{value}"
    if col.open_set and key not in catalogue(lang):
        return str(value)
    return translate(lang, key)


def _enum_list(value, prefix: str, lang: str | None = None) -> str | None:
    """'a, b' (codes joined by metrics) → translated names joined the same way."""
    if not _present(value) or not str(value).strip():
        return None
    lang = lang or current_language()
    return ", ".join(translate(lang, f"{prefix}.{code.strip()}")
                     for code in str(value).split(","))


def _present(value) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def remember_choice(param: str, chosen: str | None, allowed) -> str | None:
    """A drill-down choice kept in the URL: a new click wins, else the URL's value (so a
    shared link or a jump from another page opens the same drill-down)."""
    if chosen is not None:
        if st.query_params.get(param) != chosen:
            st.query_params[param] = chosen
        return chosen
    return url_choice(param, allowed)


def url_choice(param: str, allowed=None) -> str | None:
    """The drill-down choice the URL holds, if `allowed` has it (any value when None)."""
    value = st.query_params.get(param)
    return value if value and (allowed is None or value in allowed) else None


def go_to_account(account_id: str) -> None:
    """Open the account page (顧客カルテ) for an account."""
    st.switch_page("pages/account.py", query_params={"account_id": account_id})
