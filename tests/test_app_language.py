"""Every page, in each language, says nothing in the other one (issue 22): a walk over every
page and its drill-downs and tabs collects what a user reads — titles, texts, alerts, cards,
widget labels and options, table headers and cells, chart titles, names, ticks and labels —
and fails on a phrase of the other language's UI catalogue. Data may be in either language
(Japanese customer names in the English UI are fine); the UI's own words may not."""

from __future__ import annotations

import json
import re

import pytest

from cs_analytics.app.ui import glossary
from cs_analytics.app.ui.i18n import LANGUAGES, catalogue, translate
from cs_analytics.app.ui.nav import PAGES
from cs_analytics.config import iter_settings
from cs_analytics.metrics import accounts, health_summary, revenue, team
from cs_analytics.metrics import periods
from cs_analytics.warehouse.store import Store
from test_app_common import (ACCOUNT_TABS, demo_home, make_app, open_account_tab,  # noqa: F401
                             use_home)

OTHER = {"ja": "en", "en": "ja"}
# Table columns that show configuration as it is written in cs_analytics.toml (keys, values):
# code, the same in both languages.
CODE_COLUMNS = ("glossary.col.key", "glossary.col.value", "glossary.col.default")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


# What English may appear in Japanese text as code, not as words: quoted values ('viewers',
# `fields`), a table's name beside its Japanese one (（users）), identifiers (raw_import_files,
# activities.type, an email).
CODE = re.compile(r"'[^'\n]*'|`[^`]*`|[（(][A-Za-z_ ,./<>-]+[）)]"
                  r"|[A-Za-z0-9]*[_.@/<>][A-Za-z0-9_.@/<>-]*")


def without_code(text: str) -> str:
    return CODE.sub(" ", text)


def foreign_phrases(lang: str) -> set[str]:
    """Phrases of the other language's catalogue that this language's catalogue never uses:
    each template's literal parts between placeholders and markdown, long enough to mean
    something (two CJK characters; an English word of five letters, or words with a space —
    lower case, compared as whole words)."""
    own = "\n".join(catalogue(lang).values())
    if lang == "ja":
        own = without_code(own).lower()
    phrases = set()
    for template in catalogue(OTHER[lang]).values():
        for part in PLACEHOLDER.split(template):
            part = part.strip(" *·:：,、。.()（）—-|#\n\t✅⚠️")
            if OTHER[lang] == "ja":
                if len(CJK.findall(part)) >= 2 and part not in own:
                    phrases.add(part)
            elif re.search(r"[A-Za-z]{5,}|[A-Za-z]+ [A-Za-z]+", part):
                if not _word_in(part.lower(), own):
                    phrases.add(part.lower())
    return phrases


def _word_in(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None


# Three English words in a row: a sentence of the English UI (or of code) in the Japanese UI.
ENGLISH_WORDS = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")


def foreign_in(text: str, lang: str, phrases: set[str], data: set[str]) -> list[str]:
    """What of `text` belongs to the other language's UI. Data is in whatever language it is:
    it is left out, except that in the Japanese UI an English value the English catalogue
    names (a Salesforce status) must be shown translated."""
    plain = without_data(text, data)
    if lang == "en":
        return [p for p in phrases if p in plain]
    words = without_code(text).lower()
    return ([p for p in phrases if _word_in(p, words)]
            + ENGLISH_WORDS.findall(without_code(plain)))


# ---------------------------------------------------------------------------- what is shown


def shown_texts(at, lang: str) -> list[str]:
    """Every string the run shows a user (not the keys, formats and ids around them)."""
    code = {translate(lang, key) for key in CODE_COLUMNS}
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "exception", "toast"):
        texts += [str(getattr(e, "value", "")) for e in getattr(at, kind, [])]
    for m in at.metric:
        texts += [m.label, m.value, m.proto.delta, m.proto.help, m.proto.delta_description]
    for kind in ("selectbox", "multiselect", "radio", "checkbox", "text_input", "text_area",
                 "date_input", "button", "toggle", "number_input", "selectbox"):
        for w in getattr(at, kind, []):
            texts += [str(getattr(w, "label", "")), str(getattr(w.proto, "help", "")),
                      str(getattr(w.proto, "placeholder", ""))]
            texts += [str(o) for o in getattr(w, "options", []) or []]
    for kind in ("tabs", "expander", "status"):
        texts += [str(getattr(b, "label", "")) for b in getattr(at, kind, [])]
    texts += [str(b.proto.label) for b in at.get("download_button")]
    texts += [str(b.proto.label) for b in at.get("page_link")]
    texts += [str(w.proto.label) for w in at.get("file_uploader")]
    for df in at.dataframe:
        frame = df.value
        configs = json.loads(df.proto.columns or "{}")
        links = {name for name, c in configs.items()
                 if c.get("type_config", {}).get("type") == "link"}  # shown by display_text
        texts += [str(c) for c in frame.columns]
        for column in frame.columns:
            if column in code or column in links:
                continue
            if frame[column].dtype == object or str(frame[column].dtype) in ("str", "string"):
                texts += [str(v) for v in frame[column].dropna().unique()]
        for config in configs.values():
            texts.append(str(config.get("type_config", {}).get("display_text") or ""))
    for chart in at.get("plotly_chart"):
        texts += _chart_texts(json.loads(chart.proto.spec))
    return [t for t in texts if t]


def _chart_texts(spec: dict) -> list[str]:
    layout = spec.get("layout", {})
    texts = []
    title = layout.get("title")
    texts.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis_title = axis.get("title")
            if isinstance(axis_title, dict):
                texts.append(str(axis_title.get("text", "")))
            texts += [str(v) for v in axis.get("ticktext", [])]
    for trace in spec.get("data", []):
        texts += [str(trace.get("name", "")), str(trace.get("hovertemplate", ""))]
        for field in ("x", "y", "text", "customdata"):
            value = trace.get(field)
            if isinstance(value, list):
                flat = [v for row in value for v in (row if isinstance(row, list) else [row])]
                texts += [v for v in flat if isinstance(v, str)]
    return texts


def data_values(snap) -> set[str]:
    """Every text value of the snapshot's source tables: data, in whatever language it is."""
    values = set()
    for table in ("users", "accounts", "contracts", "activities"):
        frame = snap.query(f"SELECT * FROM {table}")
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) in ("str", "string"):
                values |= {str(v) for v in frame[column].dropna().unique() if str(v).strip()}
    return values


def without_data(text: str, data: set[str]) -> str:
    for value in sorted((v for v in data if v in text), key=len, reverse=True):
        text = text.replace(value, " ")
    return text


# ---------------------------------------------------------------------------- the walk


def visits(snap) -> list[tuple[str, dict, str | None]]:
    """(page, URL parameters, account tab) for every page and the drill-downs and tabs that
    draw more: a team owner's portfolio, a health band's accounts, a movement's accounts, a
    QBR pack, each tab of an account."""
    period = periods.period_containing("quarter", snap.as_of)
    bridge = revenue.movement_totals(snap, period)
    movement = next(m for m in ("expansion", "new", "churn", "contraction")
                    if bridge[f"{m}_count"])
    owner = team.owner_summary(snap)["owner_id"].iloc[0]
    band = next(b for b in ("danger", "warning", "caution", "healthy")
                if health_summary.band_distribution(snap).set_index("band")["accounts"][b])
    account = accounts.account_list(snap)["account_id"].iloc[0]
    qbr_account = accounts.qbr_candidates(snap, period.start_date,
                                          period.end_day(snap.as_of))["account_id"]
    out = [(spec.name, {}, None) for spec in PAGES if spec.name != "account"]
    out += [("team", {"team_owner": owner}, None), ("health", {"band": band}, None),
            ("revenue", {"movement": movement}, None)]
    if len(qbr_account):
        out.append(("qbr", {"account_id": qbr_account.iloc[0]}, None))
    out += [("account", {"account_id": account}, tab) for tab in ACCOUNT_TABS]
    return out


@pytest.fixture(scope="module")
def walked(demo_home, tmp_path_factory):
    """What every visit shows, per language: {lang: [(visit, text)]}."""
    import os

    from test_app_common import clear_caches

    from cs_analytics.config import HOME_ENV

    before = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(demo_home)
    clear_caches()
    snap = Store(demo_home).open_current()
    shown = {}
    try:
        for lang in LANGUAGES:
            shown[lang] = []
            for page, query, tab in visits(snap):
                at = make_app(lang, query)
                at.run()
                if page != "overview":
                    at.switch_page(f"pages/{page}.py").run()
                if tab is not None:
                    open_account_tab(at, tab, lang)
                assert not at.exception, (lang, page, query, tab, at.exception)
                where = f"{page} {query or ''} {tab or ''}".strip()
                shown[lang] += [(where, text) for text in shown_texts(at, lang)]
    finally:
        if before is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = before
        clear_caches()
    return shown, data_values(snap)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_speaks_one_language(walked, lang):
    shown, data = walked
    assert len(shown[lang]) > 1000  # the walk saw the pages, not an error page
    phrases = foreign_phrases(lang)
    found = set()
    for where, text in shown[lang]:
        for phrase in foreign_in(text, lang, phrases, data):
            found.add((where, phrase, text[:120]))
    assert not found, "\n".join(sorted(f"{w}: {p!r} in {t!r}" for w, p, t in found))


def test_the_walk_would_see_a_phrase_of_the_other_language():
    """The check itself: an English UI phrase is foreign to the Japanese UI, and back."""
    assert "data as of" in foreign_phrases("ja")
    assert "データ基準日" in foreign_phrases("en")
    assert "mrr" not in foreign_phrases("ja")  # the same word in both catalogues
    ja, en = foreign_phrases("ja"), foreign_phrases("en")
    assert foreign_in("users 9, accounts 170", "ja", ja, set())
    assert foreign_in("Deliveries are counted over this many days.", "ja", ja, set())
    assert foreign_in("Activated", "ja", ja, {"Activated"})  # a status Salesforce sends
    assert not foreign_in("㈱東邦工業 (佐藤 悠斗)", "en", en, {"㈱東邦工業", "佐藤 悠斗"})  # data
    assert foreign_in("Owner 佐藤 悠斗 · データ基準日 Mar 31, 2026", "en", en, {"佐藤 悠斗"})
    assert not foreign_in("CSV（UTF-8 または Shift_JIS/CP932）、Excel（.xlsx）", "ja", ja, set())


def test_every_setting_is_described_in_japanese():
    """The glossary's settings table in Japanese: a description for each setting (a new
    setting needs one in locales/settings.ja.toml)."""
    keys = {key for key, _, _ in iter_settings()}
    described = glossary.setting_docs("ja")
    assert keys - set(described) == set(), "settings without a Japanese description"
    assert all(CJK.search(text) for text in described.values())
    table = glossary.settings_table(glossary.Settings(), "ja")
    assert set(table["doc"]) == {described[key] for key in keys}


def test_contract_statuses_from_salesforce_are_named_in_each_language():
    assert translate("ja", "contract_status.Activated") == "有効"
    assert translate("ja", "contract_status.Expired") == "期限切れ"
    assert translate("en", "contract_status.Activated") == "Activated"


def test_validation_messages_on_the_data_page_are_in_japanese(demo_home, use_home, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(demo_home, home)
    use_home(home)
    at = make_app("ja")
    at.run()
    at.switch_page("pages/data.py").run()
    bad = ("contract_id,account_id,start_date,end_date,amount\n"
           "C1,A00001,2026/13/01,2027-01-01,100000\n").encode()
    at.file_uploader(key="upload_files").upload("契約.csv", bad, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    messages = [str(v) for df in at.dataframe for v in df.value.get("内容", [])]
    assert messages
    assert all(CJK.search(m) for m in messages), messages
