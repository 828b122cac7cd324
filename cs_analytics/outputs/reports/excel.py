"""The Excel layer of the reports: safe cell writing, number formats, tables, native charts and
print setup, so a sheet reads well on screen, on A4 paper and in an executive's inbox.

Nothing here computes a metric: callers pass numbers from the metrics API and this module only
lays them out. Every string — whatever its origin — is written as an explicit string cell
(inline string, quote prefix when it starts like a formula), so a customer named
`=HYPERLINK(...)` or `+cmd` is shown as text and never evaluated. This module never writes a
formula.

Printing: every row gets an explicit height and the sheet an explicit scale, so where pages
break is known here and not left to the spreadsheet application. A heading stays with its
table, a chart and a table that fits on a page are never split (a manual page break moves them
to the next page), and a table longer than a page is the last block of its sheet: its own
header row is the sheet's print title, repeated above its rows on every page it continues
on — no sheet-wide header over other tables.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

# Number formats. Amounts stay unrounded in the cell; the format rounds for display only.
YEN = '"¥"#,##0;-"¥"#,##0'
YEN_SIGNED = '+"¥"#,##0;-"¥"#,##0;"¥"0'
PERCENT = "0.0%"
PERCENT_POINTS = '+0.0" pt";-0.0" pt";0.0" pt"'
PERCENT_SIGNED = "+0%;-0%;0%"  # a relative change: +12% = 12% more than the comparison
INTEGER = "#,##0"
INTEGER_SIGNED = "+#,##0;-#,##0;0"
DECIMAL = "#,##0.0"
DECIMAL_SIGNED = "+#,##0.0;-#,##0.0;0.0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"

FORMATS = {
    "yen": YEN, "yen_delta": YEN_SIGNED, "pct": PERCENT, "pct_delta": PERCENT_POINTS,
    "pct_change": PERCENT_SIGNED,
    "int": INTEGER, "int_delta": INTEGER_SIGNED, "number": DECIMAL, "number_delta": DECIMAL_SIGNED,
    "date": DATE,
}
TEXT_KINDS = ("text", "wrap")
KINDS = tuple(FORMATS) + TEXT_KINDS
AMOUNT_KINDS = ("yen", "yen_delta")


@dataclass(frozen=True)
class AmountUnit:
    """How amounts are shown: in yen, 万円 (units of ¥10,000) or 百万円 (¥1,000,000). A cell
    holds the amount divided by `divisor`, unrounded — sums in Excel stay exact —, and its
    format rounds for display (`decimals` places) and names the unit."""

    key: str
    divisor: float
    formats: Mapping[str, Mapping[str, str]]  # language → {"yen": …, "yen_delta": …}
    decimals: int = 0

    def format(self, kind: str, lang: str = "ja") -> str:
        return self.formats.get(lang, self.formats["ja"])[kind]


def _unit_formats(body: str, suffix: str) -> dict[str, str]:
    return {"yen": f'{body}"{suffix}";-{body}"{suffix}"',
            "yen_delta": f'+{body}"{suffix}";-{body}"{suffix}";{body.replace("#,##", "")}'
                         f'"{suffix}"'}


UNITS = {
    "yen": AmountUnit("yen", 1.0, {"ja": {"yen": YEN, "yen_delta": YEN_SIGNED}}),
    "man": AmountUnit("man", 10_000.0, {"ja": _unit_formats("#,##0", "万円"),
                                       "en": _unit_formats("#,##0", " ×¥10k")}),
    "million": AmountUnit("million", 1_000_000.0,
                          {"ja": _unit_formats("#,##0.0", "百万円"),
                           "en": _unit_formats("#,##0.0", " ¥M")}, decimals=1),
}

# Characters XML 1.0 cannot carry; source data may contain them (pasted from other tools).
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
EXCEL_MAX_TEXT = 32767

TITLE_FONT = Font(bold=True, size=14)
HEADING_FONT = Font(bold=True, size=12, color="1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
NOTE_FONT = Font(italic=True, color="595959", size=9)
DEMO_FONT = Font(bold=True, color="C00000")
GOOD_FONT = Font(color="006100", bold=True)
BAD_FONT = Font(color="9C0006", bold=True)
THIN = Side(style="thin", color="BFBFBF")
CELL_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 6.0, 60.0, 48.0
HEADER_WIDTH = 22.0      # a header wider than this wraps (its row grows) instead of widening
                         # its column: long period titles do not shrink the printed page
MAX_FROZEN_ROWS = 10     # a table lower than this freezes only the title, not half a screen
CHART_ROWS = 14          # rows (of LINE_PT) left free under a chart anchored in the sheet
CHART_WIDTH_CM, CHART_HEIGHT_CM = 18.0, 8.0
HELPER_FIRST_COLUMN = 40  # hidden chart helper data lives far to the right (column AN on)

# The printed page: A4 landscape, margins in inches, sizes in points (1/72 inch).
PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 841.89, 595.28
SIDE_MARGIN_IN, TOP_MARGIN_IN, HEADER_MARGIN_IN = 0.4, 0.8, 0.3
LINE_PT = 18.0           # a row of 11-point text, Japanese glyphs included
POINTS_PER_WIDTH = 7.0   # a column's printed width per unit of Excel width: the widest font an
                         # application substitutes for Calibri (DejaVu Sans), so it fits in all
ROW_SPACING = 1.5        # row height per point of font size (larger fonts)
PAGE_FILL = 0.9          # share of a page's height filled: what the applications' own
                         # rounding of row heights and scale cannot overflow
CM_PT = 72 / 2.54

# Health bands as coloured text (no emoji: printers and LibreOffice draw them as boxes).
BAND_COLOURS = {"healthy": "2E7D32", "caution": "B8860B", "warning": "E65100",
                "danger": "C62828"}


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clean_text(value) -> str:
    """A string Excel can store: illegal control characters removed, length capped."""
    text = _ILLEGAL.sub("", str(value))
    return text[:EXCEL_MAX_TEXT]


def write_text(cell: Cell, value) -> None:
    """Write `value` as an explicit string cell that Excel never evaluates.

    openpyxl would turn a string starting with '=' into a formula; forcing the data type to 's'
    writes it as an inline string, and the quote prefix keeps Excel from re-interpreting it when
    a user edits the cell.
    """
    text = clean_text(value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True


def _plain_number(value):
    """A Python int/float from a numeric value (numpy, Decimal), or None when not a number."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, int):
        return value
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def write_value(cell: Cell, value, kind: str = "text") -> None:
    """Write one value with the number format of its kind; missing values leave the cell empty.

    Numbers stay numbers (never text), dates stay dates; strings go through `write_text`.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown cell kind {kind!r}")
    if _is_missing(value):
        cell.value = None
        return
    if isinstance(value, str):
        write_text(cell, value)
        if kind == "wrap":
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        return
    if kind == "date" or isinstance(value, (dt.date, dt.datetime)):
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if isinstance(value, dt.datetime):
            value = value.date() if value.time() == dt.time() else value.replace(tzinfo=None)
        if not isinstance(value, (dt.date, dt.datetime)):
            write_text(cell, value)
            return
        cell.value = value
        cell.number_format = DATETIME if isinstance(value, dt.datetime) else DATE
        return
    if isinstance(value, (bool, np.bool_)):
        cell.value = bool(value)
        return
    number = _plain_number(value)
    if number is None:
        if isinstance(value, (float, np.floating)):  # ±inf: no meaningful number to show
            cell.value = None
        else:
            write_text(cell, value)  # anything else (a list, an object) is shown as text
        return
    cell.value = number
    if kind in FORMATS:
        cell.number_format = FORMATS[kind]


def _shown_width(value, kind: str) -> int:
    """Approximate display width of a value once formatted."""
    if _is_missing(value):
        return 0
    if isinstance(value, str):
        return max((display_width(line) for line in value.splitlines() or [""]), default=0)
    if isinstance(value, dt.datetime) and value.time() != dt.time():
        return 16
    if kind == "date" or isinstance(value, (dt.date, dt.datetime)):
        return 10
    number = _plain_number(value)
    if number is None:
        return display_width(str(value))
    if kind.startswith("pct"):
        return len(f"{number * 100:.1f}") + 4
    if kind.startswith("yen") or kind.startswith("int"):
        return len(f"{abs(number):,.0f}") + 3
    return len(f"{abs(number):,.1f}") + 2


@dataclass(frozen=True)
class Column:
    """One column of a table: the row key it reads, its translated header and its kind."""

    key: str
    header: str
    kind: str = "text"
    kind_from: str | None = None  # a row key holding this cell's kind (tables mixing ¥ and %)
    colour_from: str | None = None  # a row key holding this cell's font colour (hex RGB)
    header_fill: str | None = None  # the header cell's fill colour (hex RGB), e.g. a band's

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    def kind_of(self, record: Mapping) -> str:
        return (record.get(self.kind_from) if self.kind_from else None) or self.kind


@dataclass(frozen=True)
class TableRange:
    """Where a table landed: header row, data rows and the column number of each key."""

    header_row: int
    first_row: int
    last_row: int
    columns: dict[str, int]

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1

    def without_last_row(self) -> "TableRange":
        """The same table without its last row (a total row left out of a chart)."""
        return TableRange(self.header_row, self.first_row, self.last_row - 1, self.columns)

    def ref(self, ws: Worksheet, key: str, with_header: bool = True) -> Reference:
        col = self.columns[key]
        return Reference(ws, min_col=col, max_col=col,
                         min_row=self.header_row if with_header else self.first_row,
                         max_row=self.last_row)


def _records(rows) -> list[Mapping]:
    """Rows from a DataFrame, a list of dicts or a list of objects with attributes."""
    if rows is None:
        return []
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        return rows.to_dict("records")
    return [r if isinstance(r, Mapping) else vars(r) for r in rows]


def _categories(chart, ref: Reference, text: bool = True) -> None:
    """Category labels of every series: a string reference for text labels (openpyxl's
    set_categories writes a numeric one, which Excel may show as 1, 2, 3…)."""
    if not text:
        chart.set_categories(ref)
        return
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(ref)))


@dataclass(frozen=True)
class Block:
    """Rows that print together: a heading with its table, a chart, a note, a title."""

    first_row: int
    last_row: int
    kind: str                      # "title", "text", "table", "chart"
    header_row: int | None = None  # a table's header row


class ReportSheet:
    """A worksheet written top to bottom: headings, key/value blocks, tables, charts; laid out
    on A4 pages when the workbook is finished (`finish`)."""

    def __init__(self, ws: Worksheet, empty_text: str, unit: AmountUnit = UNITS["yen"],
                 lang: str = "ja"):
        self.ws = ws
        self.row = 1
        self.empty_text = empty_text
        self.unit = unit
        self.lang = lang
        self._widths: dict[int, float] = {}
        self._wrap_columns: set[int] = set()
        self._frozen = False
        self._helper_col = HELPER_FIRST_COLUMN
        self._title_rows = 0
        self._blocks: list[Block] = []
        self._heading_row: int | None = None  # a heading waiting for the block it introduces
        self._charts: list[tuple[int, object]] = []
        self._paragraphs: dict[int, tuple[str, int]] = {}  # row → (text, columns spanned)
        self.page_breaks: list[int] = []    # rows after which a page ends (set by finish)

    # ------------------------------------------------------------------ blocks

    def _block(self, first_row: int, last_row: int, kind: str,
               header_row: int | None = None) -> None:
        """Record rows that print together; a pending heading joins them."""
        if self._heading_row is not None:
            first_row = self._heading_row
            self._heading_row = None
        self._blocks.append(Block(first_row, last_row, kind, header_row))

    def _write(self, cell: Cell, value, kind: str) -> None:
        """`write_value`, with amounts in the sheet's unit (divided, unrounded; the format
        rounds and names the unit)."""
        if kind in AMOUNT_KINDS and self.unit.divisor != 1:
            number = _plain_number(value)
            if number is not None:
                write_value(cell, number / self.unit.divisor, kind)
                cell.number_format = self.unit.format(kind, self.lang)
                return
        write_value(cell, value, kind)

    def _shown(self, value, kind: str) -> int:
        if kind in AMOUNT_KINDS and self.unit.divisor != 1:
            number = _plain_number(value)
            if number is not None:
                return len(f"{abs(number) / self.unit.divisor:,.{self.unit.decimals}f}") + 6
        return _shown_width(value, kind)

    # ------------------------------------------------------------------ text blocks

    def title(self, text: str, subtitle_lines: Sequence[str] = (), demo_label: str | None = None):
        first = self.row
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.font = TITLE_FONT
        self.row += 1
        if demo_label:
            cell = self.ws.cell(self.row, 1)
            write_text(cell, demo_label)
            cell.font = DEMO_FONT
            self.row += 1
        for line in subtitle_lines:
            cell = self.ws.cell(self.row, 1)
            write_text(cell, line)
            cell.font = NOTE_FONT
            self.row += 1
        self._title_rows = self.row - 1
        self._block(first, self.row - 1, "title")
        self.row += 1

    def heading(self, text: str) -> None:
        if self.row > 1 and self.ws.cell(self.row - 1, 1).value is not None:
            self.row += 1
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.font = HEADING_FONT
        self._heading_row = self.row
        self.row += 1

    def note(self, text: str) -> None:
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.font = NOTE_FONT
        self._block(self.row, self.row, "text")
        self.row += 1

    def paragraph(self, text: str, columns: int = 6) -> None:
        """A long text (a commentary) in one wrapped cell merged over the first `columns`
        columns: one block, as tall as its lines."""
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.border = CELL_BORDER
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row,
                            end_column=columns)
        self._paragraphs[self.row] = (clean_text(text), columns)
        self._block(self.row, self.row, "text")
        self.row += 2

    def key_values(self, items: Iterable[tuple[str, object, str]]) -> dict[str, int]:
        """A two-column block of (label, value, kind); returns the row of each label."""
        rows = {}
        first = self.row
        for label, value, kind in items:
            label_cell = self.ws.cell(self.row, 1)
            write_text(label_cell, label)
            label_cell.font = Font(bold=True)
            self._write(self.ws.cell(self.row, 2), value, kind)
            self._measure(1, display_width(label))
            self._measure(2, self._shown(value, kind))
            rows[label] = self.row
            self.row += 1
        self._block(first, self.row - 1, "text")
        self.row += 1
        return rows

    # ------------------------------------------------------------------ tables

    def table(self, columns: Sequence[Column], rows, *, freeze: bool = False,
              first_col: int = 1) -> TableRange:
        """Write a header row and one row per record; `freeze` keeps everything above the first
        data row visible while scrolling (once per sheet). An empty table says so in one row.
        A table that may grow longer than a page must be the last block of its sheet (its
        header is then repeated on the pages it continues on)."""
        records = _records(rows)
        header_row = self.row
        for i, col in enumerate(columns):
            c = first_col + i
            cell = self.ws.cell(header_row, c)
            write_text(cell, col.header)
            cell.font = HEADER_FONT
            cell.fill = (PatternFill("solid", fgColor=col.header_fill) if col.header_fill
                         else HEADER_FILL)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = CELL_BORDER
            self._measure(c, min(display_width(col.header) + 1,
                                 max(HEADER_WIDTH, _longest_word(col.header) + 1)))
            if col.kind == "wrap":
                self._wrap_columns.add(c)
        r = header_row + 1
        for record in records:
            for i, col in enumerate(columns):
                c = first_col + i
                value = record.get(col.key)
                kind = col.kind_of(record)
                cell = self.ws.cell(r, c)
                self._write(cell, value, kind)
                cell.border = CELL_BORDER
                if kind != "wrap":  # a row made tall by a wrapped cell reads from the top
                    cell.alignment = Alignment(vertical="top")
                colour = record.get(col.colour_from) if col.colour_from else None
                if isinstance(colour, str) and colour:
                    cell.font = Font(color=colour, bold=True)
                self._measure(c, self._shown(value, kind))
            r += 1
        if not records:
            cell = self.ws.cell(r, first_col)
            write_text(cell, self.empty_text)
            cell.font = NOTE_FONT
            r += 1
        if freeze and not self._frozen:
            if header_row <= MAX_FROZEN_ROWS:
                self.ws.freeze_panes = self.ws.cell(header_row + 1, 1).coordinate
                self._frozen = True
            else:
                self.freeze_title()
        self._block(header_row, r - 1, "table", header_row)
        self.row = r + 1
        last = header_row + len(records)
        return TableRange(header_row, header_row + 1, last,
                          {col.key: first_col + i for i, col in enumerate(columns)})

    def freeze_title(self) -> None:
        """Keep the title rows visible on screen (sheets whose first block is not a table)."""
        if not self._frozen and self._title_rows:
            self.ws.freeze_panes = self.ws.cell(self._title_rows + 1, 1).coordinate
            self._frozen = True

    def mark(self, table: TableRange, key: str, row_index: int, good: bool | None) -> None:
        """Colour one cell green (target met) or red (missed)."""
        if good is None:
            return
        self.ws.cell(table.first_row + row_index, table.columns[key]).font = (
            GOOD_FONT if good else BAD_FONT)

    # ------------------------------------------------------------------ charts

    def chart_slot(self) -> int:
        """Keep the rows of a chart here, to be drawn (`at=`) once the table it shows — written
        below it — exists: a table that grows with the data stays the last block."""
        at = self.row
        self._block(at, at + CHART_ROWS - 1, "chart")
        self.row += CHART_ROWS
        return at

    def _place(self, chart, at: int | None = None, width_cm: float = CHART_WIDTH_CM,
               height_cm: float = CHART_HEIGHT_CM) -> None:
        chart.width, chart.height = width_cm, height_cm
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        row = self.row if at is None else at
        self.ws.add_chart(chart, self.ws.cell(row, 1).coordinate)
        self._charts.append((row, chart))
        if at is None:
            self._block(row, row + CHART_ROWS - 1, "chart")
            self.row += CHART_ROWS

    def _axis_format(self, kind: str, default: str) -> str:
        if kind in AMOUNT_KINDS:
            return self.unit.format(kind, self.lang)
        return FORMATS.get(kind, default)

    def bar_chart(self, table: TableRange, category: str, series: Sequence[str], title: str,
                  kind: str = "yen", stacked: bool = False, horizontal: bool = False,
                  at: int | None = None) -> BarChart | None:
        """A bar per category and series; `at`: the rows kept by `chart_slot`."""
        if table.rows <= 0:
            return None
        chart = BarChart()
        chart.type = "bar" if horizontal else "col"
        chart.title = title
        if stacked:
            chart.grouping = "stacked"
            chart.overlap = 100
        for key in series:
            chart.add_data(table.ref(self.ws, key), titles_from_data=True)
        _categories(chart, table.ref(self.ws, category, with_header=False))
        chart.y_axis.number_format = self._axis_format(kind, YEN)
        self._place(chart, at)
        return chart

    def line_chart(self, table: TableRange, category: str, series: Sequence[str], title: str,
                   kind: str = "pct", targets: Sequence[str] = (),
                   dates: bool = False) -> LineChart | None:
        """A line per series; `targets` are series drawn dashed (e.g. the 110% NRR target);
        `dates`: the categories are date cells, labelled as dates."""
        if table.rows <= 0:
            return None
        chart = LineChart()
        chart.title = title
        for key in list(series) + list(targets):
            chart.add_data(table.ref(self.ws, key), titles_from_data=True)
        for s in chart.series[len(series):]:
            s.graphicalProperties.line.dashStyle = "dash"
            s.smooth = False
        for s in chart.series:
            s.smooth = False
        _categories(chart, table.ref(self.ws, category, with_header=False), text=not dates)
        chart.y_axis.number_format = self._axis_format(kind, PERCENT)
        if dates:
            chart.x_axis.number_format = DATE
            chart.x_axis.majorTimeUnit = "days"
        self._place(chart)
        return chart

    def waterfall_chart(self, steps: Sequence[tuple[str, float, str]], title: str,
                        series_labels: Mapping[str, str]) -> BarChart | None:
        """A waterfall drawn as a stacked column chart over hidden helper columns.

        steps: (label, value, role) with role 'total' (a bar from zero: start and end MRR) or
        'delta' (a signed movement floating on the running total). Series: an invisible base,
        then totals, increases and decreases. `series_labels` names 'total', 'increase',
        'decrease' (and 'base', never shown). Values are in the sheet's amount unit.
        """
        if not steps:
            return None
        c0 = self._helper_col
        self._helper_col += 5
        first = self.row
        names = ("category", "base", "total", "increase", "decrease")
        for i, name in enumerate(names):
            write_text(self.ws.cell(first, c0 + i), series_labels.get(name, name))
        running = 0.0
        for n, (label, value, role) in enumerate(steps, start=1):
            value = float(value or 0.0) / self.unit.divisor
            base = total = up = down = 0.0
            if role == "total":
                total = value
                running = value
            elif value >= 0:
                base, up = running, value
                running += value
            else:
                running += value
                base, down = running, -value
            r = first + n
            write_text(self.ws.cell(r, c0), label)
            for i, v in enumerate((base, total, up, down), start=1):
                self.ws.cell(r, c0 + i).value = v
                self.ws.cell(r, c0 + i).number_format = self.unit.format("yen", self.lang)
        last = first + len(steps)
        for i in range(5):
            self.ws.column_dimensions[get_column_letter(c0 + i)].hidden = True
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = title
        chart.visible_cells_only = False  # the helper columns are hidden
        data = Reference(self.ws, min_col=c0 + 1, max_col=c0 + 4, min_row=first, max_row=last)
        chart.add_data(data, titles_from_data=True)
        _categories(chart, Reference(self.ws, min_col=c0, min_row=first + 1, max_row=last))
        base = chart.series[0]
        base.graphicalProperties = GraphicalProperties(noFill=True)
        base.graphicalProperties.line.noFill = True
        for s, colour in zip(chart.series[1:], ("4472C4", "70AD47", "C00000")):
            s.graphicalProperties = GraphicalProperties(solidFill=colour)
        chart.legend.position = "b"
        chart.y_axis.number_format = self.unit.format("yen", self.lang)
        self._place(chart)
        return chart

    # ------------------------------------------------------------------ finishing

    def _measure(self, col: int, width: float) -> None:
        if width > self._widths.get(col, 0):
            self._widths[col] = width

    def finish(self, footer: str = "", header: str = "") -> None:
        """Column widths, then the printed pages: A4 landscape at a scale that fits the widest
        block on one page wide, explicit row heights, manual page breaks between blocks, the
        header row of a last table that runs over pages as the print title, page numbers in
        the footer and `header` on top of every page."""
        for col, width in self._widths.items():
            limit = WRAP_WIDTH if col in self._wrap_columns else MAX_WIDTH
            letter = get_column_letter(col)
            if self.ws.column_dimensions[letter].hidden:
                continue
            self.ws.column_dimensions[letter].width = max(MIN_WIDTH, min(limit, width + 2))
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN_IN
        ws.page_margins.top = ws.page_margins.bottom = TOP_MARGIN_IN
        ws.page_margins.header = ws.page_margins.footer = HEADER_MARGIN_IN
        ws.print_options.horizontalCentered = True
        ws.oddFooter.center.text = "&P / &N"
        if footer:
            ws.oddFooter.left.text = clean_text(footer).replace("&", "&&")
        if header:
            ws.oddHeader.left.text = clean_text(header).replace("&", "&&")
        ws.oddHeader.right.text = "&A"  # the sheet's name: which part of the report a page is
        ws.sheet_view.showGridLines = False
        self._lay_out_pages()

    def _column_points(self, col: int) -> float:
        """A column's printed width in points, at most (POINTS_PER_WIDTH per unit of width;
        Excel with Calibri prints it narrower)."""
        dim = self.ws.column_dimensions.get(get_column_letter(col))
        if dim is not None and dim.hidden:
            return 0.0
        width = dim.width if dim is not None and dim.width else 8.43
        return width * POINTS_PER_WIDTH

    def _row_heights(self, last_row: int) -> dict[int, float]:
        """Every row's height in points: a line per text line (wrapped cells: their lines at
        the column's width), the font's size for titles and headings."""
        widths = {c: self._column_points(c) / POINTS_PER_WIDTH
                  for c in range(1, HELPER_FIRST_COLUMN)}
        heights = {r: LINE_PT for r in range(1, last_row + 1)}
        # The written cells only: iter_rows would create every cell up to the helper columns
        # and widen the sheet's used (printed) range with them.
        for cell in list(self.ws._cells.values()):
            if cell.value is None or not widths.get(cell.column) or cell.row > last_row:
                continue
            size = float(cell.font.sz or 11) if cell.font is not None else 11.0
            line = max(LINE_PT, size * ROW_SPACING)
            lines = 1
            if cell.row in self._paragraphs and cell.column == 1:
                text, span = self._paragraphs[cell.row]
                lines = _lines(text, sum(widths[c] for c in range(1, span + 1)))
            elif cell.alignment is not None and cell.alignment.wrap_text:
                lines = _lines(str(cell.value), widths[cell.column])
            heights[cell.row] = max(heights[cell.row], line * lines)
        return heights

    def _scale(self) -> int:
        """The print scale (percent) at which the used columns and charts fit one page wide."""
        used = max((c for c in self._widths if not self.ws.column_dimensions[
            get_column_letter(c)].hidden), default=1)
        if self._paragraphs:
            used = max(used, max(span for _, span in self._paragraphs.values()))
        width = sum(self._column_points(c) for c in range(1, used + 1))
        if self._charts:
            width = max(width, CHART_WIDTH_CM * CM_PT)
        printable = PAGE_WIDTH_PT - 2 * 72 * SIDE_MARGIN_IN
        return max(10, min(100, math.floor(100 * printable * 0.98 / width)))

    def _lay_out_pages(self) -> None:
        """Explicit row heights and scale, and page breaks between blocks: a block that does
        not fit in what is left of a page starts the next one; a table longer than a page
        flows over pages with its header repeated (the print title) when it is the sheet's
        last block."""
        ws = self.ws
        last_row = max(self.row, ws.max_row)
        heights = self._row_heights(last_row)
        for r, h in heights.items():
            ws.row_dimensions[r].height = h
        scale = self._scale()
        ws.page_setup.scale = scale
        ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = None
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        printable = PAGE_HEIGHT_PT - 2 * 72 * TOP_MARGIN_IN
        capacity = printable * 100 / scale * PAGE_FILL
        blocks = sorted(self._blocks, key=lambda b: b.first_row)
        last_table = max((i for i, b in enumerate(blocks) if b.kind in ("table", "chart")),
                         default=-1)
        used, previous_end, breaks, title_row = 0.0, 0, [], None

        def span(first: int, last: int) -> float:
            return sum(heights.get(r, LINE_PT) for r in range(first, last + 1))

        for i, block in enumerate(blocks):
            gap = span(previous_end + 1, block.first_row - 1)
            height = span(block.first_row, block.last_row)
            if used + gap + height <= capacity:
                used += gap + height
            elif height <= capacity:
                breaks.append(block.first_row - 1)
                used = height
            else:  # longer than a page: its rows flow over pages
                repeat = i == last_table and block.kind == "table"
                head = span(block.first_row, (block.header_row or block.first_row) + 1)
                if used > 0 and used + gap + head > capacity:
                    breaks.append(block.first_row - 1)
                    used = 0.0
                else:
                    used += gap
                for r in range(block.first_row, block.last_row + 1):
                    if used + heights[r] > capacity and used > 0:
                        breaks.append(r - 1)
                        used = heights[block.header_row] if repeat else 0.0
                    used += heights[r]
                if repeat:
                    title_row = block.header_row
            previous_end = block.last_row
        self.page_breaks = [b for b in breaks if b >= 1]
        for row in self.page_breaks:
            ws.row_breaks.append(Break(id=row))
        if title_row is not None:
            ws.print_title_rows = f"{title_row}:{title_row}"


def _longest_word(text: str) -> int:
    """The display width of the longest run without a space (where a header cannot wrap)."""
    return max((display_width(word) for word in text.split()), default=0)


def _lines(text: str, width: float) -> int:
    """Lines `text` takes wrapped at `width` characters (wide characters count double)."""
    usable = max(1.0, width - 1)
    return sum(max(1, math.ceil(display_width(line) / usable)) for line in text.split("\n"))


class ReportWorkbook:
    """An openpyxl workbook made of ReportSheets; `to_bytes()` gives the .xlsx file.
    Amounts are shown in `unit` (yen by default); `header` is printed on top of every page."""

    def __init__(self, title: str, empty_text: str, footer: str = "",
                 unit: AmountUnit | None = None, lang: str = "ja", header: str = ""):
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.title = title
        self.wb.properties.title = clean_text(title)
        self.wb.properties.creator = "CS Analytics"
        self.empty_text = empty_text
        self.footer = footer
        self.header = header
        self.unit = unit or UNITS["yen"]
        self.lang = lang
        self.sheets: list[ReportSheet] = []

    def sheet(self, name: str) -> ReportSheet:
        ws = self.wb.create_sheet(safe_sheet_title(name))
        sheet = ReportSheet(ws, self.empty_text, self.unit, self.lang)
        self.sheets.append(sheet)
        return sheet

    def titled_sheet(self, name: str, demo_label: str | None = None) -> ReportSheet:
        """A sheet named `name` whose first line reads '<workbook title> — <name>'."""
        sheet = self.sheet(name)
        sheet.title(f"{self.title} — {name}", demo_label=demo_label)
        return sheet

    def to_bytes(self) -> bytes:
        for sheet in self.sheets:
            sheet.finish(self.footer, self.header)
        buffer = io.BytesIO()
        self.wb.save(buffer)
        return buffer.getvalue()


def safe_sheet_title(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
