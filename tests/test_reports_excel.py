"""The reports' Excel layer: strings never evaluated (checked in the written XML), numbers as
numbers, formats, widths, frozen headers, print setup and native charts."""

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cs_analytics.outputs.reports import labels
from cs_analytics.outputs.reports.excel import (BAND_COLOURS, CHART_ROWS, DATE, PERCENT, UNITS, YEN,
                                                Column, ReportWorkbook, clean_text, display_width)

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd", "-1+2", "@SUM(A1)", "=1+1", "\t=cmd",
           "=cmd|' /C calc'!A0"]


def sheet_xml(data: bytes, n: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(f"xl/worksheets/sheet{n}.xml").decode("utf-8")


def cell_xml(xml: str, ref: str) -> str:
    match = re.search(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', xml)
    assert match, f"cell {ref} not in the sheet XML"
    return match.group(0)


def quote_prefixed_styles(data: bytes) -> set[int]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("xl/styles.xml").decode("utf-8")
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)
    entries = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs, re.S)
    return {i for i, xf in enumerate(entries) if 'quotePrefix="1"' in xf}


def one_table_book(columns, rows, **kwargs) -> bytes:
    book = ReportWorkbook("t", "(none)")
    sheet = book.sheet("Data")
    sheet.title("Title", ["sub"])
    sheet.table(columns, rows, freeze=True, **kwargs)
    return book.to_bytes()


def test_formula_like_text_stays_text_in_the_xml():
    rows = [{"name": value} for value in HOSTILE]
    data = one_table_book([Column("name", "顧客名")], rows)
    xml = sheet_xml(data)
    assert "<f>" not in xml and "<f " not in xml, "no formula anywhere in the sheet"
    prefixed = quote_prefixed_styles(data)
    header_row = 4  # title, subtitle, blank, header
    for i, value in enumerate(HOSTILE):
        ref = f"A{header_row + 1 + i}"
        xml_cell = cell_xml(xml, ref)
        assert 't="inlineStr"' in xml_cell, xml_cell
        style = int(re.search(r' s="(\d+)"', xml_cell).group(1))
        assert style in prefixed, f"{value!r} has no quote prefix"
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    read = [ws.cell(header_row + 1 + i, 1) for i in range(len(HOSTILE))]
    assert [c.value for c in read] == HOSTILE
    assert all(c.data_type == "s" for c in read)


def test_plain_text_has_no_quote_prefix_and_control_characters_are_removed():
    data = one_table_book([Column("name", "n")], [{"name": "株式会社さくら"},
                                                  {"name": "bell\x07 and\x00 nul"}])
    xml = sheet_xml(data)
    style = int(re.search(r' s="(\d+)"', cell_xml(xml, "A5")).group(1))
    assert style not in quote_prefixed_styles(data)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    assert ws["A6"].value == "bell and nul"
    assert clean_text("x" * 40000) == "x" * 32767


def test_numbers_stay_numbers_with_their_formats():
    rows = [{"yen": np.float64(1234567.891), "pct": 0.1051, "n": np.int64(42),
             "d": dt.date(2026, 3, 31), "dec": Decimal("12.5"), "ts": pd.Timestamp("2026-04-01"),
             "nan": float("nan"), "none": None, "na": pd.NA}]
    columns = [Column("yen", "¥", "yen"), Column("pct", "%", "pct"), Column("n", "n", "int"),
               Column("d", "date", "date"), Column("dec", "dec", "number"),
               Column("ts", "ts", "date"), Column("nan", "nan", "yen"),
               Column("none", "none", "int"), Column("na", "na", "pct")]
    data = one_table_book(columns, rows)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    r = 5
    assert ws.cell(r, 1).value == pytest.approx(1234567.891)  # unrounded in the cell
    assert ws.cell(r, 1).number_format == YEN == '"¥"#,##0;-"¥"#,##0'
    assert ws.cell(r, 2).value == pytest.approx(0.1051) and ws.cell(r, 2).number_format == PERCENT
    assert ws.cell(r, 3).value == 42 and ws.cell(r, 3).data_type == "n"
    assert ws.cell(r, 4).value == dt.datetime(2026, 3, 31) and ws.cell(r, 4).is_date
    assert ws.cell(r, 4).number_format == DATE
    assert ws.cell(r, 5).value == 12.5 and ws.cell(r, 5).data_type == "n"
    assert ws.cell(r, 6).value == dt.datetime(2026, 4, 1)
    assert [ws.cell(r, c).value for c in (7, 8, 9)] == [None, None, None]
    xml = sheet_xml(data)
    assert 't="n"><v>1234567.891</v>' in cell_xml(xml, "A5")


def test_per_row_kinds():
    rows = [{"v": 1000.0, "kind": "yen"}, {"v": 0.25, "kind": "pct"}]
    data = one_table_book([Column("v", "v", kind_from="kind")], rows)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    assert ws["A5"].number_format == YEN and ws["A6"].number_format == PERCENT


def test_display_width_counts_east_asian_characters_double():
    assert display_width("abc") == 3
    assert display_width("顧客名") == 6
    assert display_width("ＡＢ") == 4      # full-width Latin
    assert display_width("ｶﾞ") == 2        # half-width katakana count single


def test_column_widths_follow_display_width_and_are_capped():
    rows = [{"ja": "株式会社さくら工業ホールディングス", "en": "Sakura Kogyo Holdings KK",
             "long": "x" * 300}]
    data = one_table_book([Column("ja", "顧客名"), Column("en", "name"),
                           Column("long", "long")], rows)
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    ja, en, long = (ws.column_dimensions[c].width for c in "ABC")
    assert ja >= display_width(rows[0]["ja"])  # 34 units for 17 wide characters
    assert en >= len(rows[0]["en"]) and ja > en
    assert long == 60


def test_freeze_print_setup_and_footer():
    data = one_table_book([Column("a", "a")], [{"a": "x"}])
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    assert ws.freeze_panes == "A5"
    assert ws.print_title_rows is None        # one short table: nothing to repeat
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 == "9"
    assert int(ws.page_setup.scale) == 100 and not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.oddFooter.center.text == "&P / &N"
    assert ws.oddHeader.right.text == "&A"    # the sheet's name on every page
    assert all(ws.row_dimensions[r].height for r in range(1, 6))  # heights set: known pages


def _layout_sheet(rows_long: int = 80):
    """Title, a short table with a chart, a second short table, then a long list: the
    sheet a KPI report's churn page looks like."""
    book = ReportWorkbook("t", "(none)")
    sheet = book.sheet("Layout")
    sheet.title("Title", ["sub"])
    sheet.heading("Quarters")
    quarters = sheet.table([Column("q", "Quarter"), Column("v", "Rate", "pct")],
                           [{"q": f"2025Q{i}", "v": i / 10} for i in range(1, 5)], freeze=True)
    sheet.line_chart(quarters, "q", ["v"], "rates")
    sheet.heading("Months")
    sheet.table([Column("m", "Month"), Column("v", "Rate", "pct")],
                [{"m": f"2025-{i:02d}", "v": i / 100} for i in range(1, 13)])
    sheet.heading("Accounts")
    long = sheet.table([Column("id", "Account ID"), Column("name", "Name")],
                       [{"id": f"A{i:03d}", "name": f"顧客{i}"} for i in range(rows_long)])
    return book, sheet, quarters, long


def test_blocks_are_never_split_and_only_the_last_long_table_repeats_its_header():
    book, sheet, quarters, long = _layout_sheet()
    data = book.to_bytes()
    ws = openpyxl.load_workbook(io.BytesIO(data))["Layout"]
    breaks = sheet.page_breaks
    assert breaks and [b.id for b in ws.row_breaks.brk] == breaks
    chart_rows = range(quarters.last_row + 2, quarters.last_row + 2 + CHART_ROWS)
    for block in sheet._blocks:
        if block.kind in ("chart", "title", "text") or block.last_row < long.header_row:
            inside = [b for b in breaks if block.first_row <= b < block.last_row]
            assert not inside, (block, breaks)        # whole on one page
    assert not [b for b in breaks if chart_rows.start <= b < chart_rows.stop - 1]
    # a heading stays with its table: no break between "Accounts" and the list's header
    assert long.header_row - 2 not in breaks and long.header_row - 1 not in breaks
    # the long list continues over pages under its own header (the print title), and only
    # there: the print title is that table's header row, not the sheet's first table's
    assert any(long.first_row < b < long.last_row for b in breaks)
    assert ws.print_title_rows == f"${long.header_row}:${long.header_row}"
    assert ws.cell(long.header_row, 1).value == "Account ID"


def test_a_short_last_table_sets_no_print_title():
    book, sheet, _, _ = _layout_sheet(rows_long=3)
    ws = openpyxl.load_workbook(io.BytesIO(book.to_bytes()))["Layout"]
    assert ws.print_title_rows is None


def test_amount_units_divide_the_cell_and_name_the_unit():
    for unit, value, yen_format in (("yen", 37_950_000, YEN),
                                    ("man", 3_795, UNITS["man"].format("yen")),
                                    ("million", 37.95, UNITS["million"].format("yen"))):
        book = ReportWorkbook("t", "(none)", unit=UNITS[unit])
        sheet = book.sheet("U")
        sheet.key_values([("MRR", 37_950_000.0, "yen"), ("rate", 0.5, "pct")])
        ws = openpyxl.load_workbook(io.BytesIO(book.to_bytes()))["U"]
        assert ws["B1"].value == pytest.approx(value) and ws["B1"].number_format == yen_format
        assert ws["B2"].value == 0.5 and ws["B2"].number_format == PERCENT  # rates untouched
    assert UNITS["man"].format("yen") == '#,##0"万円";-#,##0"万円"'
    assert UNITS["million"].format("yen_delta", "en") == (
        '+#,##0.0" ¥M";-#,##0.0" ¥M";0.0" ¥M"')


def test_band_colours_and_header_fills():
    book = ReportWorkbook("t", "(none)")
    sheet = book.sheet("B")
    sheet.table([Column("band", "Band", colour_from="colour"),
                 Column("n", "良好", "int", header_fill=BAND_COLOURS["healthy"])],
                [{"band": "良好", "colour": BAND_COLOURS["healthy"], "n": 3}])
    ws = openpyxl.load_workbook(io.BytesIO(book.to_bytes()))["B"]
    assert ws["A2"].font.color.rgb.endswith(BAND_COLOURS["healthy"])
    assert ws["B1"].fill.fgColor.rgb.endswith(BAND_COLOURS["healthy"])


def test_empty_table_says_so():
    data = one_table_book([Column("a", "a", "yen")], [])
    ws = openpyxl.load_workbook(io.BytesIO(data))["Data"]
    assert ws["A5"].value == "(none)"


def test_native_charts_and_waterfall_helper_data():
    book = ReportWorkbook("t", "(none)")
    sheet = book.sheet("Bridge")
    steps = [("start", 100.0, "total"), ("new", 30.0, "delta"), ("churn", -50.0, "delta"),
             ("end", 80.0, "total")]
    sheet.waterfall_chart(steps, "MRR", {"category": "item", "base": "(base)", "total": "MRR",
                                          "increase": "up", "decrease": "down"})
    table = sheet.table([Column("q", "q"), Column("v", "v", "yen"), Column("w", "w", "pct")],
                        [{"q": "2026Q1", "v": 1.0, "w": 0.5}, {"q": "2026Q2", "v": 2.0, "w": 0.6}])
    sheet.bar_chart(table, "q", ["v"], "bars", stacked=True)
    sheet.line_chart(table, "q", ["w"], "lines", targets=["w"])
    data = book.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = [z.read(n).decode("utf-8") for n in charts]
    assert len(charts) == 3
    waterfall = next(x for x in xml if "$AN$" in x)
    assert "<barChart>" in waterfall and '<grouping val="stacked"/>' in waterfall
    assert "<a:noFill" in waterfall, "the base series is invisible"
    assert '<plotVisOnly val="0"/>' in waterfall, "helper columns are hidden but plotted"
    assert any("<lineChart>" in x for x in xml)
    assert all("<cat><strRef>" in x for x in xml), "text categories are string references"
    ws = openpyxl.load_workbook(io.BytesIO(data))["Bridge"]
    # helper columns AN..AR: base, total, increase, decrease per step
    helper = [[ws.cell(r, c).value for c in range(41, 45)] for r in range(2, 6)]
    assert helper == [[0, 100, 0, 0], [100, 0, 30, 0], [80, 0, 0, 50], [0, 80, 0, 0]]
    assert ws.column_dimensions["AN"].hidden


def test_labels_exist_in_both_languages_with_the_same_placeholders():
    placeholder = re.compile(r"{(\w+)}")
    for key, (ja, en) in labels.LABELS.items():
        assert ja and en, key
        assert set(placeholder.findall(ja)) == set(placeholder.findall(en)), key
    with pytest.raises(ValueError):
        labels.t("total", "fr")


def test_sheet_names_are_made_valid():
    book = ReportWorkbook("t", "(none)")
    book.sheet("a/b:c*d?[e]" + "x" * 40)
    data = book.to_bytes()
    name = openpyxl.load_workbook(io.BytesIO(data)).sheetnames[0]
    assert len(name) == 31 and not set("/:*?[]") & set(name)
