"""The app's helpers without a browser: formatting, downloads, the i18n catalogues, the glossary
content, and the user-data stores the pages write (weekly reviews, action plans, notes)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from cs_analytics.app.ui import admin, downloads, fmt, glossary
from cs_analytics.app.ui.i18n import LANGUAGES, catalogue, placeholders, translate
from cs_analytics.config import Settings, iter_settings, settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import renewals
from cs_analytics.userdata import notes, reviews
from cs_analytics.warehouse.store import Store

REPO = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------- formatting


def test_yen_is_whole_yen_with_separators():
    assert fmt.yen(12_345_678) == "¥12,345,678"
    assert fmt.yen(12_345_678.5) == "¥12,345,678"  # banker's rounding of .5 to even
    assert fmt.yen(0.4) == "¥0"
    assert fmt.yen(-1_200) == "-¥1,200"
    assert fmt.yen(None) == "—"
    assert fmt.yen(float("nan")) == "—"


def test_amounts_read_in_one_configured_unit():
    assert fmt.amount(12_345_678, "ja", "man") == "1,235万円"
    assert fmt.amount(123_456, "ja", "man") == "12.3万円"
    assert fmt.amount(70_000, "ja", "man") == "7.0万円"       # not ¥70,000 beside 84.0万円
    assert fmt.amount(250_000_000, "ja", "man") == "25,000万円"  # not 億円 on another card
    assert fmt.amount(0, "ja", "man") == "0万円"
    assert fmt.amount(12_345_678, "ja", "thousand") == "12,346千円"
    assert fmt.amount(12_345_678, "ja", "million") == "12.3百万円"
    assert fmt.amount(12_345_678, "en", "thousand") == "¥12,346K"
    assert fmt.amount(456_000, "en", "million") == "¥0.5M"
    assert fmt.amount(12_345_678, "en", "yen") == "¥12,345,678"
    assert fmt.amount(-3_000_000, "ja", "man") == "-300万円"
    assert fmt.amount(None, "ja", "man") == "—"
    assert fmt.amount_delta(1_200_000, "ja", "man") == "+120万円"
    assert fmt.amount_delta(-1_200_000, "en", "thousand") == "-¥1,200K"


def test_amount_axis_ticks_are_round_steps_in_the_unit():
    values, texts = fmt.amount_ticks(0, 5_230_000, "ja", "man")
    assert values[0] < 0 < 5_230_000 < values[-1]
    steps = {b - a for a, b in zip(values, values[1:])}
    assert steps == {2_000_000}
    assert texts[values.index(0)] == "0万円" and "400万円" in texts
    values, texts = fmt.amount_ticks(0, 123_000, "ja", "man")
    assert "2.5万円" in texts and "5.0万円" in texts  # one number of decimals on an axis
    values, texts = fmt.amount_ticks(-400_000, 600_000, "en", "thousand")
    assert "-¥400K" in texts and "¥600K" in texts


def test_percentages_have_one_decimal():
    assert fmt.pct(0.1054) == "10.5%"
    assert fmt.pct(1.1) == "110.0%"
    assert fmt.pct(0) == "0.0%"
    assert fmt.pct(None) == "—"
    assert fmt.pct_points(0.012, "ja") == "+1.2pt"
    assert fmt.pct_points(-0.012, "en") == "-1.2 pp"


def test_dates_and_months_per_language():
    day = dt.date(2026, 3, 5)
    assert fmt.date(day, "ja") == "2026/03/05"
    assert fmt.date(day, "en") == "Mar 5, 2026"
    assert fmt.date(pd.Timestamp("2026-03-05"), "ja") == "2026/03/05"
    assert fmt.date(None, "ja") == "—"
    assert fmt.date(pd.NaT, "ja") == "—"
    assert fmt.month(day, "ja") == "2026年3月"
    assert fmt.month(day, "en") == "Mar 2026"
    assert fmt.days(1, "en") == "1 day" and fmt.days(60, "ja") == "60日"


# ---------------------------------------------------------------------------- downloads

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "普通の名前",
           'quote " and \\ backslash', "<b>html</b>"]


def test_csv_has_bom_and_guards_formula_text_but_not_numbers():
    df = pd.DataFrame({"name": HOSTILE, "mrr": [-1.5] * len(HOSTILE)})
    raw = downloads.csv_bytes(df)
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", keep_default_na=False)
    assert list(back["name"]) == ["'" + v if v[0] in "=+-@\t" else v for v in HOSTILE]
    assert list(back["mrr"]) == [-1.5] * len(HOSTILE)


def test_excel_keeps_text_exact_as_string_cells_and_numbers_formatted():
    df = pd.DataFrame({"顧客名": HOSTILE, "MRR": [100000.123456] * len(HOSTILE),
                       "NRR": [1.105] * len(HOSTILE),
                       "終了日": [dt.date(2026, 3, 31)] * len(HOSTILE)})
    wb = load_workbook(io.BytesIO(downloads.excel_bytes(
        df, sheet="accounts", kinds={"MRR": "yen", "NRR": "pct", "終了日": "date"})))
    ws = wb["accounts"]
    assert [c.value for c in ws[1]] == ["顧客名", "MRR", "NRR", "終了日"]
    for i, text in enumerate(HOSTILE, start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.value == text and cell.data_type == "s"
    assert ws["B2"].value == pytest.approx(100000.123456, abs=1e-6)  # unrounded
    assert ws["B2"].number_format == '"¥"#,##0'
    assert ws["C2"].number_format == "0.0%"
    assert ws["D2"].value.date() == dt.date(2026, 3, 31)
    assert ws.freeze_panes == "A2"


def test_table_frames_translate_each_value_and_keep_missing_ones_empty():
    """What a table shows and what its download holds, in the language of the page: the
    download is made when clicked, outside the page run, so it takes the language along."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    df = pd.DataFrame({
        "account_id": ["A1", "A/2", None, "A1"],
        "band": ["danger", None, "healthy", "danger"],
        "signals": ["no_login_60d,health_red", None, "", "health_red"],
        "mrr": [1000.5, None, 3.0, 1000.5],
        "end": [pd.Timestamp("2026-03-31"), pd.NaT, pd.Timestamp("2026-03-31"), pd.NaT],
    })
    columns = {"account_id": Col("col.account_link", "account"), "band": Col("col.band", "band"),
               "signals": Col("team.col.signals", "enums", "signal"),
               "mrr": Col("col.mrr", "yen"), "end": Col("col.end_date", "date")}
    shown, config = widgets._display_frame(df, columns)  # the session's language: ja
    assert shown.column_names[:2] == [translate("ja", "col.account_link"),
                                      translate("ja", "col.band")]
    links = shown.column(translate("ja", "col.account_link")).to_pylist()
    assert links[:3] == ["account?account_id=A1", "account?account_id=A%2F2", None]
    safe = widgets._account_urls(pd.Series(["001A000001", None, "A-1_x.y"], dtype="str"))
    assert safe.to_pylist() == ["account?account_id=001A000001", None,
                                "account?account_id=A-1_x.y"]
    bands = shown.column(translate("ja", "col.band")).to_pylist()
    assert bands[0] == bands[3] == "🔴 " + translate("ja", "band.danger")
    assert bands[1] is None
    # A missing amount is empty (null), not NaN.
    assert shown.column(translate("ja", "col.mrr")).to_pylist() == [1000.5, None, 3.0, 1000.5]
    # Dates stay dates (the table sorts them as dates); the browser draws them as fmt.date.
    end = translate("ja", "col.end_date")
    assert pa.types.is_timestamp(shown.schema.field(end).type)
    dates = shown.column(end).to_pylist()
    assert dates[0] == pd.Timestamp("2026-03-31") and dates[1] is None
    assert config[end]["type_config"]["format"] == widgets.DATE_FORMATS["date"]["ja"]

    raw, kinds = widgets._download_frame(df, columns, "en")
    assert list(raw.columns) == [translate("en", c.label) for c in columns.values()]
    signals = raw[translate("en", "team.col.signals")].tolist()
    assert signals[0] == (translate("en", "signal.no_login_60d") + ", "
                          + translate("en", "signal.health_red"))
    assert pd.isna(signals[1]) and pd.isna(signals[2])
    assert raw[translate("en", "col.band")].tolist()[0] == "🔴 " + translate("en", "band.danger")
    assert raw[translate("en", "col.mrr")].tolist()[0] == 1000.5  # unrounded
    assert kinds[translate("en", "col.mrr")] == "yen"


def test_a_long_header_over_short_numbers_does_not_widen_its_column():
    """A wide table fits the page: a column's width follows its values when its header is far
    wider (the header in the column's tooltip); nine columns or more keep the first in view."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    df = pd.DataFrame({"name": ["佐藤 悠斗"], "days": [17], "n": [3],
                       **{f"c{i}": [i] for i in range(6)}})
    columns = {"name": Col("col.owner"), "days": Col("team.col.max_contact", "int"),
               "n": Col("team.col.accounts", "int"),
               **{f"c{i}": Col(f"c{i}", "int", literal=True) for i in range(6)}}
    _, config = widgets._display_frame(df, columns)
    long = translate("ja", "team.col.max_contact")  # 最終接触からの最大日数 over "17"
    assert config[long]["width"] == widgets.MIN_COLUMN_PX and config[long]["help"] == long
    assert config[translate("ja", "team.col.accounts")].get("width") is None  # fits as it is
    assert config[translate("ja", "col.owner")]["pinned"] is True  # 9 columns
    _, config = widgets._display_frame(df[["name", "days"]], {k: columns[k]
                                                               for k in ("name", "days")})
    assert not config.get(translate("ja", "col.owner"), {}).get("pinned")


def test_a_table_shows_its_rows_in_order_whatever_the_frames_index():
    """Results filtered or sorted in pandas keep their old index labels: the table shows the
    rows in the frame's order, each value with its own row."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    df = pd.DataFrame({"name": ["B", "A", "C"], "band": ["healthy", "danger", None],
                       "share": [0.5, 0.25, None]}, index=[7, 2, 5])
    columns = {"name": Col("col.account_name"), "band": Col("col.band", "band"),
               "share": Col("churn.col.share", "pct")}
    shown, _config = widgets._display_frame(df, columns)
    assert shown.column(0).to_pylist() == ["B", "A", "C"]
    assert shown.column(1).to_pylist() == ["🟢 " + translate("ja", "band.healthy"),
                                           "🔴 " + translate("ja", "band.danger"), None]
    assert shown.column(2).to_pylist() == [50.0, 25.0, None]


def test_a_column_of_mixed_values_is_shown_as_it_is():
    """A text column holding numbers and text (a free-form field) cannot be typed by Arrow:
    the table is handed to Streamlit as a frame, which shows the values as text."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    df = pd.DataFrame({"id": ["A1", "A2", "A3"], "note": [12, "twelve", None]},
                      index=[3, 1, 2])
    columns = {"id": Col("col.account_link", "account"), "note": Col("note", literal=True)}
    shown, _config = widgets._display_frame(df, columns)
    assert isinstance(shown, pd.DataFrame)
    assert shown.iloc[:, 0].tolist() == ["account?account_id=A1", "account?account_id=A2",
                                         "account?account_id=A3"]
    assert shown.iloc[:, 1].tolist()[:2] == [12, "twelve"]


def _moment(day: dt.date, pattern: str) -> str:
    """The moment.js tokens the table's date columns use, as the browser renders them."""
    tokens = {"YYYY": str(day.year), "MMM": day.strftime("%b"), "MM": f"{day.month:02d}",
              "M": str(day.month), "DD": f"{day.day:02d}", "D": str(day.day)}
    return re.sub("YYYY|MMM|MM|M|DD|D", lambda m: tokens[m.group(0)], pattern)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_table_date_formats_read_like_the_rest_of_the_page(lang):
    """A table's dates are drawn by the browser: they must read as fmt writes them elsewhere."""
    from cs_analytics.app.ui.widgets import DATE_FORMATS

    for day in (dt.date(2026, 3, 5), dt.date(2025, 12, 31), dt.date(2026, 10, 1)):
        assert _moment(day, DATE_FORMATS["date"][lang]) == fmt.date(day, lang)
        assert _moment(day, DATE_FORMATS["month"][lang]) == fmt.month(day, lang)


def test_excel_of_empty_and_missing_values():
    df = pd.DataFrame({"a": [None, float("nan")], "b": [pd.NaT, pd.Timestamp("2026-01-02")]})
    ws = load_workbook(io.BytesIO(downloads.excel_bytes(df))).active
    assert ws["A2"].value is None and ws["A3"].value is None and ws["B2"].value is None
    assert ws["B3"].value.date() == dt.date(2026, 1, 2)
    empty = load_workbook(io.BytesIO(downloads.excel_bytes(pd.DataFrame()))).active
    assert empty.max_row == 1


def test_download_file_names_are_ascii():
    assert downloads.filename("movement-new", dt.date(2026, 3, 31), "csv") == \
        "cs-analytics_movement-new_2026-03-31.csv"
    assert downloads.filename("顧客 一覧", None, "xlsx") == "cs-analytics_-----.xlsx"


# ---------------------------------------------------------------------------- i18n


def test_catalogues_have_the_same_keys_and_placeholders():
    ja, en = catalogue("ja"), catalogue("en")
    assert set(ja) == set(en), set(ja) ^ set(en)
    for key in ja:
        assert placeholders(ja[key]) == placeholders(en[key]), key
        assert ja[key].strip() and en[key].strip(), key


KEY_LITERAL = re.compile(r"""["']([a-z][a-z_0-9]*(?:\.[a-z_0-9]+)+)["']""")
# (and Streamlit's own config options, e.g. st.get_option("server.address"))
NOT_KEYS = re.compile(r"\.(py|toml|sqlite|duckdb|sheet)$|^(cs_analytics|st|pages)\.|"
                      r"^(server|client|browser|theme|secrets)\.")


def test_every_key_literal_in_the_app_exists():
    files = [REPO / "app.py", *(REPO / "pages").glob("*.py"),
             *(REPO / "cs_analytics" / "app" / "ui").glob("*.py")]
    cat = catalogue("ja")
    prefixes = {k.rsplit(".", 1)[0] for k in cat}
    missing = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        # docstrings describe keys by example; only code is checked
        source = re.sub(r'"""[\s\S]*?"""', "", source)
        for match in KEY_LITERAL.finditer(source):
            key = match.group(1)
            if NOT_KEYS.search(key) or key in cat or key in prefixes:
                continue
            missing.append(f"{path.name}: {key}")
    assert not missing, missing


def test_translate_fills_placeholders():
    assert translate("ja", "frame.as_of", date="2026/03/31") == "データ基準日 2026/03/31"
    assert translate("en", "frame.as_of", date="Mar 31, 2026") == "Data as of Mar 31, 2026"
    with pytest.raises(KeyError):
        translate("en", "no.such.key")


def test_every_enum_value_shown_has_a_name():
    from cs_analytics import contract
    from cs_analytics.config import BANDS, HEALTH_COMPONENTS
    from cs_analytics.metrics.data_quality import ISSUES

    for lang in LANGUAGES:
        cat = catalogue(lang)
        for prefix, values in (("band", BANDS), ("component", HEALTH_COMPONENTS),
                               ("movement", ("new", "reactivation", "expansion", "contraction",
                                             "churn")),
                               ("signal", ("no_login_60d", "deliveries_drop_50",
                                           "no_contact_60d", "health_red", "renewal_at_risk",
                                           "notice_deadline_near")),
                               ("renewals.status", renewals.STATUSES),
                               ("renewals.signed_by", renewals.SIGNED_BY),
                               ("renewals.bucket", renewals.BUCKETS),
                               ("renewals.risk", renewals.RISK_REASONS),
                               ("renewals.kind", ("auto", "manual")),
                               ("renewals.source", ("history", "default")),
                               ("activity_type", contract.ACTIVITY_TYPES),
                               ("contract_type", contract.CONTRACT_TYPES),
                               ("issue", ISSUES), ("review.status", reviews.PLAN_STATUSES)):
            for value in values:
                assert f"{prefix}.{value}" in cat, (lang, prefix, value)


# ---------------------------------------------------------------------------- glossary


def test_glossary_lists_every_setting_with_its_current_value():
    settings = settings_from_dict({"signals": {"no_login_days": 45},
                                   "general": {"fiscal_year_start_month": 4}})
    table = glossary.settings_table(settings)
    assert list(table["key"]) == [key for key, _, _ in iter_settings()]
    row = table.set_index("key").loc["signals.no_login_days"]
    assert row["value"] == "45" and row["default"] == "60" and "no_login_60d" in row["doc"]
    assert table.set_index("key").loc["import.upload_max_mb", "value"] == "200"


def test_glossary_definitions_use_the_configured_thresholds():
    settings = settings_from_dict({"signals": {"no_login_days": 45},
                                   "health": {"bands": {"healthy": 80, "caution": 55,
                                                        "warning": 30}}})
    values = glossary.definition_values(settings)
    text = translate("ja", "glossary.def.no_login", **values)
    assert "45 日以上" in text
    bands = translate("en", "glossary.def.bands", **values)
    assert "healthy ≥ 80" in bands and "danger < 30" in bands
    for section, keys in glossary.DEFINITIONS:
        for key in keys:
            for lang in LANGUAGES:
                translate(lang, f"glossary.def.{key}", **values)  # every placeholder known
                translate(lang, f"glossary.name.{key}")


def test_glossary_components_and_matrix_follow_settings():
    components = glossary.health_components(Settings()).set_index("component")
    assert components["share"].sum() == pytest.approx(1.0)
    assert components.loc["deliveries", "weight"] == 25.0
    assert components.loc["deliveries", "share"] == pytest.approx(0.25)
    assert components.loc["deliveries", "points"] == "0:0 → 3:40 → 6:70 → 12:100"
    matrix = glossary.segment_matrix(Settings()).set_index("tier")
    assert matrix.loc["high", "healthy"] == "S" and matrix.loc["low", "danger"] == "C"


# ---------------------------------------------------------------------------- user data


def test_a_review_looks_back_on_the_last_week_that_has_ended():
    """Monday 2026-12-07: the week of Nov 30 – Dec 6 has ended; Sunday Dec 6 ends its own
    week; a Wednesday looks back on the week before its own."""
    from cs_analytics.userdata import reviews

    assert reviews.last_complete_week(dt.date(2026, 12, 7)) == dt.date(2026, 11, 30)
    assert reviews.last_complete_week(dt.date(2026, 12, 6)) == dt.date(2026, 11, 30)
    assert reviews.last_complete_week(dt.date(2026, 12, 5)) == dt.date(2026, 11, 23)
    assert reviews.last_complete_week(dt.date(2026, 12, 9)) == dt.date(2026, 11, 30)


def test_weekly_review_round_trip_and_update(tmp_path):
    store = Store(tmp_path)
    monday = dt.date(2026, 3, 23)
    assert reviews.get_review(store, "U001", monday) is None
    reviews.save_review(store, "U001", monday, author="a@example.co.jp", results="更新3件",
                        ksf="定例MTG", ksf_actions="毎週実施", kff="=1+1", kff_actions="")
    saved = reviews.get_review(store, "U001", monday)
    assert (saved["results"], saved["ksf"], saved["kff"]) == ("更新3件", "定例MTG", "=1+1")
    reviews.save_review(store, "U001", monday, author="b", results="更新4件")
    saved = reviews.get_review(store, "U001", monday)
    assert saved["results"] == "更新4件" and saved["ksf"] == "" and saved["author"] == "b"
    frame = reviews.reviews_between(store, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert list(frame["team"]) == ["U001"]


def test_weeks_are_mondays_and_texts_are_bounded(tmp_path):
    store = Store(tmp_path)
    assert reviews.week_start(dt.date(2026, 3, 29)) == dt.date(2026, 3, 23)  # Sunday
    assert reviews.week_start(dt.date(2026, 3, 23)) == dt.date(2026, 3, 23)
    with pytest.raises(CsAnalyticsError, match="Monday"):
        reviews.save_review(store, "all", dt.date(2026, 3, 24), author="a")
    with pytest.raises(CsAnalyticsError, match="at most"):
        reviews.save_review(store, "all", dt.date(2026, 3, 23), author="a",
                            results="x" * (reviews.MAX_TEXT + 1))
    with pytest.raises(CsAnalyticsError, match="write something"):
        reviews.add_action_plan(store, "all", dt.date(2026, 3, 23), description="  ",
                                author="a")


def test_action_plans_per_week_status_and_open_list(tmp_path):
    store = Store(tmp_path)
    w1, w2 = dt.date(2026, 3, 16), dt.date(2026, 3, 23)
    a = reviews.add_action_plan(store, "U001", w1, description="QBR資料", author="x",
                                due_date=dt.date(2026, 3, 27), owner="吉田")
    b = reviews.add_action_plan(store, "U001", w2, description="オンボーディング", author="x")
    c = reviews.add_action_plan(store, "U001", w2, description="更新提案", author="x",
                                due_date=dt.date(2026, 3, 20))
    reviews.add_action_plan(store, "other", w2, description="別チーム", author="x")
    week = reviews.action_plans(store, "U001", week=w2)
    assert list(week["id"]) == [c, b]  # dated first
    reviews.set_action_plan_status(store, c, "done")
    assert list(reviews.open_action_plans(store, "U001")["id"]) == [a, b]
    with pytest.raises(CsAnalyticsError, match="expected one of"):
        reviews.set_action_plan_status(store, a, "finished")
    with pytest.raises(CsAnalyticsError, match="does not exist"):
        reviews.set_action_plan_status(store, 999, "done")


def test_notes_newest_first_and_never_empty(tmp_path):
    store = Store(tmp_path)
    first = notes.add_note(store, "A1", "初回MTG", "a")
    second = notes.add_note(store, "A1", "<script>x</script>", "b")
    notes.add_note(store, "A2", "other", "a")
    frame = notes.notes(store, "A1")
    assert set(frame["id"]) == {first, second} and len(frame) == 2
    assert "<script>x</script>" in set(frame["body"])
    with pytest.raises(CsAnalyticsError):
        notes.add_note(store, "A1", "   ", "a")


# ---------------------------------------------------------------------------- data page helpers


def test_refresh_command_and_streamed_output():
    assert admin.refresh_command(True)[-1] == "demo"
    assert admin.refresh_command(False)[-3:] == ["refresh", "--source", "all"]
    assert admin.refresh_command(False, "ja")[-5:] == ["--lang", "ja", "refresh", "--source",
                                                      "all"]
    import sys

    run = admin.CommandRun([sys.executable, "-c",
                            "import sys; print('… step 1', file=sys.stderr); print('done'); "
                            "print('error: the thing broke', file=sys.stderr); sys.exit(1)"])
    lines = list(run)
    assert lines == ["… step 1", "done", "error: the thing broke"]
    assert run.returncode == 1 and run.error == "the thing broke"


def test_upload_size_limit_and_problems_table():
    assert admin.too_large([10, 2 * 1024 * 1024 + 1], 2)
    assert not admin.too_large([2 * 1024 * 1024], 2)

    from cs_analytics.ingest.messages import Problem

    frame = admin.problems_frame([Problem("a.csv", 3, "end_date", "not a date")])
    assert frame.to_dict("records") == [{"file": "a.csv", "row": 3, "column": "end_date",
                                         "message": "not a date"}]


def test_refresh_and_snapshot_tables_on_an_empty_directory(tmp_path):
    store = Store(tmp_path)
    assert admin.refresh_table(store, Settings(), "ja").empty
    assert admin.snapshot_table(store, Settings()).empty


def test_placeholders_helper():
    assert placeholders("{a} and {b:,}") == {"a", "b"}
    assert placeholders("none") == set()


def test_cached_results_follow_the_settings_values():
    """A page's cached numbers are keyed by what the settings say, not by the object: an edited
    settings file (a new object with another target) is a new key, a reload of the same file
    is the same key."""
    from cs_analytics.app.ui import data

    base = settings_from_dict({"targets": {"nrr": {"value": 1.1}}})
    same = settings_from_dict({"targets": {"nrr": {"value": 1.1}}})
    edited = settings_from_dict({"targets": {"nrr": {"value": 1.05}}})
    assert data._key(base) == data._key(same) == data._key(base)
    assert data._key(edited) != data._key(base)
    assert data._key("2026Q1") == "2026Q1"


def test_cached_calls_are_keyed_by_every_value_of_their_arguments():
    """Periods, filters, dates and lists of them are keyed by what they hold: equal values
    share a cached result, any difference — a month, a label, a filter value, list or tuple,
    1 or 1.0 or True — is another result. Other values are left to Streamlit's hashing."""
    import pandas as pd

    from cs_analytics.metrics.filters import Filters
    from cs_analytics.metrics.periods import Period
    from cs_analytics.app.ui import data

    q1 = Period("quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 1), "2026Q1")
    variants = [
        q1, Period("quarter", dt.date(2026, 1, 1), dt.date(2026, 2, 1), "2026Q1"),
        Period("quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 1), "FY2026Q1"),
        (q1,), [q1], (("bridge", (q1,)),), (("bars", (q1,)),),
        Filters(segments=("S",)), Filters(segments=("S", "A")), Filters(owner_ids=("S",)),
        dt.date(2026, 3, 31), dt.datetime(2026, 3, 31), 1, 1.0, True, None, "1",
    ]
    keys = [data._key(v) for v in variants]
    assert len(set(map(repr, keys))) == len(variants)
    same = Period("quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 1), "2026Q1")
    assert data._key((("bridge", (same,)),)) == keys[5]
    assert data._key(Filters(segments=["S", "A"])) == keys[8]
    frame = pd.DataFrame({"a": [1]})
    assert data._key(frame) is frame and data._key((frame,)) == (frame,)


def test_the_app_rereads_the_settings_file_when_it_changes(tmp_path, monkeypatch):
    """An administrator edits a target in the settings file: the next page run uses it, with
    no restart (the cached settings are keyed by the file's modification time)."""
    import os

    import streamlit as st

    from cs_analytics.app.ui import data

    path = tmp_path / "settings.toml"
    path.write_text("[targets.nrr]\nvalue = 1.1\n", encoding="utf-8")
    os.utime(path, (1_000_000, 1_000_000))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(path))
    st.cache_resource.clear()
    try:
        assert data.settings().targets["nrr"].value == 1.1
        path.write_text("[targets.nrr]\nvalue = 1.05\n", encoding="utf-8")
        os.utime(path, (2_000_000, 2_000_000))
        assert data.settings().targets["nrr"].value == 1.05
    finally:
        st.cache_resource.clear()


def test_display_frames_of_shared_frames_are_made_once_per_language():
    """A frame of a shared report object looks the same on every run: it is formatted once
    per language and reused while the object lives; another frame is formatted anew."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    cache = widgets._ShownFrames(size=2)
    df = pd.DataFrame({"band": ["danger", "healthy"], "mrr": [1.5, 2.0]}, index=[5, 7])
    columns = {"band": Col("col.band", "band"), "mrr": Col("col.mrr", "yen")}
    shown, _config = cache.get(df, columns, "ja")
    assert list(df.index) == [5, 7]  # df itself untouched
    assert shown.column_names == [translate("ja", "col.band"), translate("ja", "col.mrr")]
    again = cache.get(df, columns, "ja")
    assert again[0] is shown  # the same Arrow table: not converted again
    assert cache.get(df, columns, "en")[0] is not shown
    other = df.copy()
    assert cache.get(other, columns, "ja")[0] is not shown
    assert cache.get(df, {"band": Col("col.band", "band")}, "ja")[0] is not shown
    assert len(cache._items) == 2  # bounded


def test_download_buttons_make_their_files_when_clicked(tmp_path, monkeypatch):
    """Both buttons of a table hold a callable that Streamlit runs on click, outside the page
    run: the CSV and the workbook it makes carry the page's language and the raw values."""
    from cs_analytics.app.ui import widgets
    from cs_analytics.app.ui.widgets import Col

    monkeypatch.setenv("CS_ANALYTICS_HOME", str(tmp_path))
    clicked = {}
    monkeypatch.setattr(widgets.st, "download_button",
                        lambda label, data, **kw: clicked.setdefault(kw["key"], (data, kw)))
    df = pd.DataFrame({"name": ["株式会社A", "=cmd"], "mrr": [1000.5, 2.25],
                       "band": ["danger", None]})
    columns = {"name": Col("col.account_name"), "mrr": Col("col.mrr", "yen"),
               "band": Col("col.band", "band")}
    widgets.download_buttons(df, columns, stem="accounts", key="t")
    (csv_data, csv_kw), (xlsx_data, xlsx_kw) = clicked["t_csv"], clicked["t_xlsx"]
    assert callable(csv_data) and callable(xlsx_data)  # nothing made before the click
    assert csv_kw["file_name"].endswith(".csv") and xlsx_kw["file_name"].endswith(".xlsx")
    raw = csv_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == [translate("ja", "col.account_name"), translate("ja", "col.mrr"),
                                 translate("ja", "col.band")]
    book = load_workbook(io.BytesIO(xlsx_data()))
    sheet = book["accounts"]
    assert [c.value for c in sheet[1]] == header.split(",")
    assert sheet["A3"].value == "=cmd" and sheet["A3"].data_type == "s"
    assert sheet["B2"].value == 1000.5 and sheet["C2"].value == "🔴 " + translate("ja",
                                                                                  "band.danger")
