"""The customer QBR deck (reports/qbr_deck.py, qbr_slides.py, slides.py): opened with
python-pptx — slides and titles in both languages, every chart a native chart with the metrics'
series, fonts on every run — nothing internal anywhere in the file, a company template's master
and layouts, the batch zip and the CLI; and the deck rendered by LibreOffice with every word
inside the box it belongs to."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from click.testing import CliRunner
from pptx import Presentation
from pptx.util import Inches

from cs_analytics import cli
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import usage
from cs_analytics.outputs.reports import qbr_data
from cs_analytics.outputs.reports.labels import LABELS
from cs_analytics.outputs.reports.qbr_deck import AGENDA, AGENDA_MINUTES, qbr_deck_data
from cs_analytics.outputs.reports.qbr_slides import (fonts_of, qbr_deck, qbr_decks_zip,
                                                     render_qbr_deck)
from cs_analytics.outputs.reports.slides import WIDE
from cs_analytics.warehouse.store import Store
from tests.conftest import contract
from tests import deck_render

SETTINGS = settings_from_dict({})
AS_OF = "2025-05-15"  # 45 of 91 days into 2025Q2: the current quarter is shown with its pace
LONG_NAME = "株式会社ものすごく長い名前のグローバルホールディングスアンドパートナーズ西日本支社営業企画部"
NOTE_MARKER = "社内メモ：値引きは最大10%まで"
CHURN_NOTE = "予算削減（社内記録）"

USERS = [{"user_id": "u1", "name": "佐藤 花子", "email": "hanako.sato@example.com"}]
ACCOUNTS = [
    {"account_id": "A1", "name": "株式会社テスト商事", "owner_id": "u1",
     "churn_reason": CHURN_NOTE},
    {"account_id": "A2", "name": "ノーデータ株式会社", "owner_id": "u1"},
    {"account_id": "A3", "name": LONG_NAME, "owner_id": "u1"},
]
CONTRACTS = [
    contract("c1", "A1", "2023-04-01", "2024-03-31", amount=1_200_000, type="new"),
    contract("c2", "A1", "2024-04-01", "2025-03-31", amount=1_440_000, type="renewal"),
    contract("c3", "A1", "2025-04-01", "2026-03-31", amount=1_440_000, type="renewal"),
    contract("c4", "A2", "2024-10-01", "2025-09-30", amount=600_000, type="new"),
] + [contract(f"d{i}", "A3", f"{2015 + i}-06-01", f"{2016 + i}-05-31", amount=2_400_000 + i,
              type="renewal" if i else "new") for i in range(11)]
ACTIVITIES = [
    {"activity_id": "x1", "account_id": "A1", "date": "2025-01-10", "type": "meeting",
     "owner_id": "u1", "subject": "定例"},
    {"activity_id": "x2", "account_id": "A1", "date": "2025-04-20", "type": "email",
     "owner_id": "u1", "subject": "ご案内"},
]


def _usage_rows(account_id: str, first: dt.date, last: dt.date, scale: int) -> list[dict]:
    """One row a week: deliveries, viewers, registrants and conversions that vary by week."""
    rows, day, week = [], first, 0
    while day <= last:
        rows.append({"account_id": account_id, "date": day, "deliveries": 1 + week % 3,
                     "logins": 5, "viewers": scale * (10 + week % 7),
                     "registrants": scale * (15 + week % 5), "conversions": week % 4})
        day += dt.timedelta(days=7)
        week += 1
    return rows


USAGE = (_usage_rows("A1", dt.date(2023, 4, 3), dt.date(2025, 5, 12), 10)
         + _usage_rows("A3", dt.date(2023, 4, 4), dt.date(2025, 5, 13), 3))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from tests.conftest import build_snapshot

    home = tmp_path_factory.mktemp("deck-home")
    build_snapshot(home, users=USERS, accounts=ACCOUNTS, contracts=CONTRACTS,
                   activities=ACTIVITIES, usage=USAGE, as_of=AS_OF)
    con = Store(home).userdata_db()
    con.execute("INSERT INTO notes (account_id, author, body, created_at) VALUES "
                "('A1', '佐藤', ?, '2025-05-01T09:00:00+00:00')", (NOTE_MARKER,))
    con.commit()
    con.close()
    return home


@pytest.fixture(scope="module")
def snap(home):
    return Store(home).open_current()


@pytest.fixture(scope="module")
def decks(snap):
    """The decks the tests read: A1 in both languages, A2 (no usage), A3 (long name, eleven
    contracts)."""
    return {(a, lang): qbr_deck(snap, SETTINGS, a, lang)
            for a, lang in (("A1", "ja"), ("A1", "en"), ("A2", "ja"), ("A3", "en"))}


def open_deck(data: bytes):
    return Presentation(io.BytesIO(data))


def titles(prs) -> list[str]:
    return [slide.shapes.title.text_frame.text for slide in prs.slides]


TITLES_JA = ["株式会社テスト商事 様", "本日のアジェンダ（60分）", "ご契約と更新のスケジュール",
             "ご利用状況: 四半期ごとの配信数", "成果: 申込者・視聴者・コンバージョン", "ハイライトと成果のまとめ",
             "次の四半期のご提案", "ご確認事項とネクストステップ", "付録: 四半期ごとの数値", "付録: ご契約の一覧"]
TITLES_EN = ["株式会社テスト商事", "Today's agenda (60 minutes)", "Your contract and renewal timeline",
             "Usage: deliveries by quarter", "Outcomes: registrants, viewers, conversions",
             "Highlights and the value delivered", "Our plan for next quarter",
             "Open questions and next steps", "Appendix: the numbers by quarter",
             "Appendix: your contracts"]


# ---------------------------------------------------------------------------- what is in it


def test_slides_and_titles_in_both_languages(decks):
    ja, en = open_deck(decks[("A1", "ja")]), open_deck(decks[("A1", "en")])
    assert titles(ja) == TITLES_JA
    assert titles(en) == TITLES_EN
    cover = " ".join(s.text_frame.text for s in ja.slides[0].shapes if s.has_text_frame)
    assert "四半期ビジネスレビュー 2025Q2" in cover and "佐藤 花子" in cover
    assert "対象期間: 2024年7月1日 〜 2025年5月15日" in cover  # four quarters, to the as-of date
    assert (ja.slide_width, ja.slide_height) == WIDE  # 16:9


def test_the_english_deck_has_no_japanese_but_the_names(decks):
    prs = open_deck(decks[("A1", "en")])
    names = ("株式会社テスト商事", "佐藤 花子")
    for slide in prs.slides:
        for text in _texts(slide):
            for name in names:
                text = text.replace(name, "")
            assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text


def _texts(slide) -> list[str]:
    out = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            out.append(shape.text_frame.text)
        if getattr(shape, "has_table", False) and shape.has_table:
            out += [c.text for row in shape.table.rows for c in row.cells]
        if getattr(shape, "has_chart", False) and shape.has_chart:
            chart = shape.chart
            out += [str(c) for c in chart.plots[0].categories]
            out += [s.name for plot in chart.plots for s in plot.series]
    return out


def test_the_agenda_is_sixty_minutes(decks):
    prs = open_deck(decks[("A1", "ja")])
    table = next(s for s in prs.slides[1].shapes if s.has_table).table
    minutes = [int(row.cells[2].text.rstrip("分")) for row in list(table.rows)[1:]]
    assert minutes == [m for m, _ in AGENDA] and sum(minutes) == AGENDA_MINUTES == 60
    assert [row.cells[0].text for row in list(table.rows)[1:]][-1] == "0:50–1:00"


def _charts(prs) -> list:
    return [shape for slide in prs.slides for shape in slide.shapes
            if getattr(shape, "has_chart", False) and shape.has_chart]


def test_every_chart_is_native_with_the_metrics_series(snap, decks):
    prs = open_deck(decks[("A1", "ja")])
    charts = _charts(prs)
    assert len(charts) == 3
    for frame in charts:  # a chart part with its embedded workbook: editable in PowerPoint
        assert frame.chart.part.partname.startswith("/ppt/charts/chart")
        assert frame.chart.part.chart_workbook.xlsx_part is not None
    quarters = usage.quarter_usage(snap, "A1", snap.as_of, SETTINGS).to_dict("records")
    deliveries, volumes, rate = (c.chart for c in charts)
    assert [str(c) for c in deliveries.plots[0].categories] == [
        "2024Q3", "2024Q4", "2025Q1", "2025Q2見込み"]
    series = {s.name: list(s.values) for s in deliveries.plots[0].series}
    assert list(series) == ["前年同期", "当年"]
    current = quarters[-1]
    assert not current["complete"] and current["days"] == 45
    assert series["当年"][:3] == [q["deliveries"] for q in quarters[:3]]
    assert series["当年"][3] == pytest.approx(current["deliveries"] * 91 / 45)  # the pace
    assert series["前年同期"][:3] == [q["deliveries_year_ago"] for q in quarters[:3]]
    assert series["前年同期"][3] == current["deliveries_year_ago_full"]  # all of 2024Q2
    assert deliveries.chart_type.name == "COLUMN_CLUSTERED"
    assert [s.name for s in volumes.plots[0].series] == ["申込者数", "視聴者数"]
    assert list(volumes.plots[0].series[1].values)[:3] == [q["viewers"] for q in quarters[:3]]
    assert rate.chart_type.name == "LINE_MARKERS"
    rates = {s.name: list(s.values) for s in rate.plots[0].series}
    assert rates["転換率"] == pytest.approx([q["conversion_rate"] for q in quarters])
    assert rates["転換率（前年同期）"] == pytest.approx(
        [q["conversion_rate_year_ago"] for q in quarters])


def test_the_partial_quarter_is_labelled_to_date_with_its_pace(snap, decks):
    prs = open_deck(decks[("A1", "ja")])
    table = next(s for s in prs.slides[3].shapes if s.has_table).table
    labels = [row.cells[0].text for row in table.rows]
    assert "2025Q2 途中経過（5/15まで）" in labels and "2025Q2 見込み（日割り換算）" in labels
    note = " ".join(_texts(prs.slides[3]))
    assert "2025Q2は5/15時点（91日中45日経過）の実績" in note


FORBIDDEN = [v for key, pair in LABELS.items() for v in pair
             if key.startswith(("band.", "signal."))] + [
    "ヘルス", "health", "スコア", "score", "シグナル", "signal", "セグメント", "segment", "チャーン",
    "churn", "解約", "MRR", "ARR", "detractor", "減点", "リスク", "risk", "74%", "施策終了",
    NOTE_MARKER, CHURN_NOTE, "hanako.sato@example.com", "警戒", "注意", "危険", "良好"]


def _all_text_parts(data: bytes) -> dict[str, str]:
    """Every XML part of the .pptx as text, the embedded chart workbooks' parts included."""
    parts = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            body = z.read(name)
            if name.endswith(".xlsx"):
                for inner, text in _all_text_parts(body).items():
                    parts[f"{name}!{inner}"] = text
            elif name.endswith((".xml", ".rels")):
                parts[name] = body.decode("utf-8")
    return parts


def _values(xml: str) -> list[str]:
    """What an XML part says: every text node and attribute value (not tag names)."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"))
    found = []
    for element in root.iter():
        found += [v for v in (element.text, element.tail) if v and v.strip()]
        found += list(element.attrib.values())
    return found


def _mentions(values: list[str], word: str) -> bool:
    if word.isascii():
        pattern = re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", re.I)
        return any(pattern.search(v) for v in values)
    return any(word in v for v in values)


@pytest.mark.parametrize("key", [("A1", "ja"), ("A1", "en"), ("A2", "ja"), ("A3", "en")])
def test_nothing_internal_anywhere_in_the_deck(snap, decks, key):
    parts = _all_text_parts(decks[key])
    if key != ("A2", "ja"):  # A2 has no usage, so no charts
        assert any("embeddings" in name for name in parts), "the charts' workbooks are read"
    pack = qbr_data(snap, SETTINGS, key[0], key[1])
    internal = list(FORBIDDEN)
    if pack.health is not None:
        internal.append(f"{pack.health['score']:.1f}")
    for name, xml in parts.items():
        values = _values(xml)
        for word in internal:
            assert not _mentions(values, word), f"{word!r} in {name}"


def test_the_check_for_internal_words_would_catch_one(snap):
    """The deck's data object has no internal field: adding one by hand shows up in the XML."""
    deck = qbr_deck_data(snap, SETTINGS, "A1")
    deck.highlights = deck.highlights + ["ヘルス 警戒"]
    parts = _all_text_parts(render_qbr_deck(deck, fonts_of(SETTINGS, "ja")))
    assert any(_mentions(_values(xml), "警戒") for xml in parts.values())


def test_fonts_on_every_run_and_chart(decks):
    for data in (decks[("A1", "ja")], decks[("A1", "en")]):
        parts = _all_text_parts(data)
        runs = 0
        for name, xml in parts.items():
            if not re.match(r"ppt/(slides/slide|charts/chart)\d+\.xml$", name):
                continue
            for props in re.findall(r"<a:(?:rPr|defRPr)\b[^>]*?(?:/>|>.*?</a:(?:rPr|defRPr)>)",
                                    xml, re.S):
                if name.startswith("ppt/slides/") and "defRPr" in props:
                    continue
                runs += 1
                assert '<a:latin typeface="Arial"/>' in props, (name, props)
                assert '<a:ea typeface="游ゴシック"/>' in props, (name, props)
        assert runs > 100
    assert 'lang="ja-JP"' in _all_text_parts(decks[("A1", "ja")])["ppt/slides/slide2.xml"]
    assert 'lang="en-US"' in _all_text_parts(decks[("A1", "en")])["ppt/slides/slide2.xml"]


def test_custom_fonts_are_used(snap):
    custom = settings_from_dict({"reports": {"deck_font_east_asian": "メイリオ",
                                             "deck_font_latin": "Segoe UI"}})
    xml = _all_text_parts(qbr_deck(snap, custom, "A1"))["ppt/slides/slide4.xml"]
    assert '<a:ea typeface="メイリオ"/>' in xml and '<a:latin typeface="Segoe UI"/>' in xml
    assert "游ゴシック" not in xml


def test_an_account_without_usage_says_so(decks):
    prs = open_deck(decks[("A2", "ja")])
    assert titles(prs)[:4] == ["ノーデータ株式会社 様"] + TITLES_JA[1:4]
    assert _charts(prs) == []
    assert "ご利用データがまだ連携されていない" in " ".join(_texts(prs.slides[3]))


def test_many_contracts_continue_the_appendix(decks):
    prs = open_deck(decks[("A3", "en")])
    names = titles(prs)
    assert names[0] == LONG_NAME
    assert names.count("Appendix: your contracts") >= 1
    rows = sum(len(shape.table.rows) - 1 for slide in prs.slides
               if slide.shapes.title.text_frame.text == "Appendix: your contracts"
               for shape in slide.shapes if getattr(shape, "has_table", False) and shape.has_table)
    assert rows == 11, "every contract is listed"
    timeline = " ".join(_texts(prs.slides[2]))
    assert "5 earlier contracts are listed in the appendix." in timeline


def test_highlights_and_plan_come_from_the_data(snap):
    deck = qbr_deck_data(snap, SETTINGS, "A1")
    quarters = usage.quarter_usage(snap, "A1", snap.as_of, SETTINGS).to_dict("records")
    assert deck.quarters[-1]["deliveries"] == quarters[-1]["deliveries"]
    totals = usage.usage_totals(snap, "A1", dt.date(2023, 4, 3), snap.as_of, SETTINGS)
    # the value story counts from the first contract (2023-04-01; usage starts 2023-04-03)
    assert f"{totals['deliveries']:,.0f}回の配信" in deck.value_story
    assert f"延べ {totals['viewers']:,.0f}人" in deck.value_story
    keys = [item.key for item in deck.plan]
    assert "regular_review" in keys  # last meeting 2025-01-10: 125 days before as-of
    review = next(item for item in deck.plan if item.key == "regular_review")
    assert review.basis == "前回のお打ち合わせ: 2025年1月10日"
    assert deck.questions[-1] == LABELS["deck.question.general"][0]
    assert deck.next_steps[-1].action == "本日の議事録を共有"
    other = qbr_deck_data(snap, SETTINGS, "A3")
    assert deck.value_story != other.value_story


# ---------------------------------------------------------------------------- template


def corporate_template(path, *, potx: bool = False) -> None:
    """A company template: 4:3, a band on the slide master, a 'タイトルのみ' layout whose title
    sits elsewhere, and a sample slide that must not reach a deck."""
    prs = Presentation()
    scratch = prs.slides.add_slide(prs.slide_layouts[6])
    band = scratch.shapes.add_shape(1, 0, 0, prs.slide_width, Inches(0.25))
    band.name = "CorporateBand"
    prs.slide_master.shapes._spTree.append(band._element)
    sample = prs.slides.add_slide(prs.slide_layouts[1])
    sample.shapes.title.text = "Sample slide to drop"
    ids = prs.slides._sldIdLst
    first = list(ids)[0]
    ids.remove(first)
    prs.part.drop_rel(first.rId)
    title_only = prs.slide_layouts[5]
    title_only.name = "タイトルのみ"
    title = title_only.placeholders[0]
    title.left, title.top, title.width, title.height = (Inches(0.4), Inches(0.35), Inches(9.2),
                                                        Inches(0.9))
    buffer = io.BytesIO()
    prs.save(buffer)
    data = buffer.getvalue()
    if potx:
        source = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                body = source.read(item.filename)
                if item.filename == "[Content_Types].xml":
                    body = body.replace(b"presentationml.presentation.main+xml",
                                        b"presentationml.template.main+xml")
                target.writestr(item, body)
        data = out.getvalue()
    path.write_bytes(data)


@pytest.fixture(scope="module")
def template_deck(snap, tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "corporate.pptx"
    corporate_template(path)
    settings = settings_from_dict({"reports": {"qbr_template": str(path)}})
    return qbr_deck(snap, settings, "A1")


def test_a_company_template_gives_its_master_and_layouts(template_deck):
    prs = open_deck(template_deck)
    assert (prs.slide_width, prs.slide_height) == (Inches(10), Inches(7.5))
    assert "CorporateBand" in [s.name for s in prs.slide_master.shapes]
    assert titles(prs) == TITLES_JA
    assert prs.slides[0].slide_layout.name == "Title Slide"
    layout_title = next(l for l in prs.slide_layouts if l.name == "タイトルのみ").placeholders[0]
    for slide in list(prs.slides)[1:]:
        assert slide.slide_layout.name == "タイトルのみ"
        title = slide.shapes.title
        assert (title.left, title.top, title.width) == (layout_title.left, layout_title.top,
                                                        layout_title.width)
        for shape in slide.shapes:  # everything on the (4:3) slide
            assert shape.left >= 0 and shape.left + shape.width <= prs.slide_width + 1
            assert shape.top + shape.height <= prs.slide_height + 1
    assert not any("Sample slide to drop" in " ".join(_texts(s)) for s in prs.slides)
    xml = _all_text_parts(template_deck)["ppt/slides/slide5.xml"]
    assert "<a:schemeClr" in xml, "colours follow the template's theme"


def test_a_potx_template_works_too(snap, tmp_path):
    path = tmp_path / "corporate.potx"
    corporate_template(path, potx=True)
    settings = settings_from_dict({"reports": {"qbr_template": str(path)}})
    prs = open_deck(qbr_deck(snap, settings, "A1"))
    assert "CorporateBand" in [s.name for s in prs.slide_master.shapes]


def test_template_errors_are_one_sentence(snap, tmp_path):
    missing = settings_from_dict({"reports": {"qbr_template": str(tmp_path / "nope.pptx")}})
    with pytest.raises(CsAnalyticsError, match="reports.qbr_template: .*nope.pptx does not exist"):
        qbr_deck(snap, missing, "A1")
    broken = tmp_path / "broken.pptx"
    broken.write_text("not a deck")
    with pytest.raises(CsAnalyticsError, match="is not a PowerPoint file that can be opened"):
        qbr_deck(snap, settings_from_dict({"reports": {"qbr_template": str(broken)}}), "A1")
    with pytest.raises(CsAnalyticsError, match="reports.qbr_template"):
        settings_from_dict({"reports": {"qbr_template": "deck.key"}})


def test_a_relative_template_is_read_next_to_the_configuration(snap, tmp_path, monkeypatch):
    from cs_analytics.config import load_settings

    corporate_template(tmp_path / "brand.pptx")
    config = tmp_path / "cs_analytics.toml"
    config.write_text('[reports]\nqbr_template = "brand.pptx"\n', encoding="utf-8")
    prs = open_deck(qbr_deck(snap, load_settings(config), "A1"))
    assert "CorporateBand" in [s.name for s in prs.slide_master.shapes]


# ---------------------------------------------------------------------------- batch and CLI


def test_the_batch_zip_holds_every_deck_and_an_index(snap):
    seen = []
    data = qbr_decks_zip(snap, SETTINGS, [("A1", "株式会社テスト商事"), ("A2", "ノーデータ株式会社")],
                         progress=lambda done, total, name: seen.append((done, total)))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = sorted(z.namelist())
        assert names == ["index.csv", "qbr-A1_2025-05-15.pptx", "qbr-A2_2025-05-15.pptx"]
        index = z.read("index.csv").decode("utf-8-sig").splitlines()
        assert index[1] == "A1,株式会社テスト商事,qbr-A1_2025-05-15.pptx"
        assert titles(open_deck(z.read("qbr-A2_2025-05-15.pptx")))[0] == "ノーデータ株式会社 様"
    assert seen == [(0, 2), (1, 2), (2, 2)]


def run(args, home):
    return CliRunner().invoke(cli.main, args, env={"CS_ANALYTICS_HOME": str(home)})


def test_cli_writes_the_deck_and_the_pack(home, tmp_path):
    out = tmp_path / "deck.pptx"
    result = run(["report", "qbr", "--account", "A1", "--out", str(out), "--lang", "en"], home)
    assert result.exit_code == 0, result.output
    assert titles(open_deck(out.read_bytes())) == TITLES_EN
    out = tmp_path / "pack.xlsx"
    assert run(["report", "qbr", "--account", "A1", "--out", str(out)], home).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"
    result = run(["report", "qbr", "--account", "A1", "--out", str(tmp_path / "x.pdf")], home)
    assert result.exit_code == 1 and "expected a file name ending in .pptx or .xlsx" in \
        result.output
    assert not list(tmp_path.glob(".*.tmp*"))


def test_cli_batch_of_the_quarter(home, tmp_path):
    out = tmp_path / "decks.zip"
    result = run(["report", "qbr-decks", "--out", str(out), "--all"], home)
    # a three-account snapshot may have no S/A account: then the command says so
    if result.exit_code == 0:
        with zipfile.ZipFile(out) as z:
            assert "index.csv" in z.namelist()
    else:
        assert "no S/A account is due a QBR in 2025Q2" in result.output
        assert not out.exists()


# ---------------------------------------------------------------------------- rendered


@pytest.fixture(scope="module")
def overflowing_deck() -> bytes:
    """A deck with one text box too small for its text: the render check must catch it."""
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.util import Pt

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(2), Inches(0.5))
    box.name = "TooSmall"
    box.text_frame.word_wrap = True
    box.text_frame.auto_size = MSO_AUTO_SIZE.NONE
    box.text_frame.text = "この箱には収まらない長い文章です。三行以上に折り返されるはずです。"
    box.text_frame.paragraphs[0].runs[0].font.size = Pt(18)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()


def test_rendered_text_fits_its_boxes(decks, overflowing_deck, tmp_path):
    """Every text box and table of four decks (two languages, no usage, a long name and many
    contracts), each alone on a page: LibreOffice prints every word inside its box. The
    deliberately overflowing box is the one caught."""
    data, shapes = deck_render.isolated_deck(*decks.values(), overflowing_deck)
    pdf = deck_render.render_pdf(data, tmp_path)
    pages = deck_render.page_words(pdf)
    assert len(pages) == len(shapes) > 200
    caught = [(box.slide, box.name, [w.text for w in deck_render.overflowing(words, box)])
              for words, box in zip(pages, shapes) if deck_render.overflowing(words, box)]
    assert [name for _, name, _ in caught] == ["TooSmall"], caught
    assert all(words for words in pages), "every shape printed its text"


def test_rendered_pages_have_no_stray_text(decks, tmp_path):
    """The whole deck rendered: one page per slide, every word inside a shape of its slide
    (chart labels inside their charts)."""
    data = decks[("A1", "ja")]
    pdf = deck_render.render_pdf(data, tmp_path)
    prs = open_deck(data)
    assert deck_render.page_count(pdf) == len(prs.slides)
    for number, (words, boxes) in enumerate(zip(deck_render.page_words(pdf),
                                                deck_render.all_boxes(prs)), start=1):
        assert not deck_render.outside_every_box(words, boxes), number


def test_rendered_template_deck_fits(template_deck, tmp_path):
    data, shapes = deck_render.isolated_deck(template_deck)
    pages = deck_render.page_words(deck_render.render_pdf(data, tmp_path))
    assert len(pages) == len(shapes)
    for words, box in zip(pages, shapes):
        assert not deck_render.overflowing(words, box), (box.slide, box.name, box.text[:40])


@pytest.mark.parametrize("account_id", ["A1", "A2"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_plan_item_reads_in_both_languages(snap, account_id, lang):
    """Each plan item the rules can lead to, for a customer with and without usage data:
    a title, a body, a question and a next step, and no placeholder left unfilled."""
    from cs_analytics.outputs.reports import qbr_deck as deck_module

    pack = qbr_data(snap, SETTINGS, account_id, lang)
    deck = qbr_deck_data(snap, SETTINGS, account_id, lang, pack=pack)
    for key in sorted(set(deck_module.PLAN_OF_RULE.values())):
        item = deck_module._plan_item(deck, pack, key)
        assert item.title and item.body, key
        for text in (item.title, item.body, item.basis):
            assert "{" not in text and "None" not in text, (key, text)
        deck.plan = [item]
        assert deck_module.questions(deck)[0] == LABELS[f"deck.question.{key}"][
            0 if lang == "ja" else 1]
        assert deck_module.next_steps(deck)[0].action
