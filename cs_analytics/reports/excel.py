"""The Excel layer of the reports: safe cell writing, number formats, tables, native charts and
print setup, so a sheet reads well on screen, on A4 paper and in an executive's inbox.

Nothing here computes a metric: callers pass numbers from the metrics API and this module only
lays them out. Every string — whatever its origin — is written as an explicit string cell
(inline string, quote prefix when it starts like a formula), so a customer named
`=HYPERLINK(...)` or `+cmd` is shown as text and never evaluated. This module never writes a
formula.
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
# Printed line heights (points) of wrapped text at the default 11 pt: Latin in Calibri, and a
# line holding Japanese, which Excel sets in a taller East Asian font (游ゴシック: 18.75).
LINE_HEIGHT, LINE_HEIGHT_WIDE, ROW_PADDING = 15.0, 19.0, 4.0
WRAP_FILL = 0.9  # share of a column's width a wrapped line fills (breaks fall at words)
MAX_FROZEN_ROWS = 10     # a table lower than this freezes only the title, not half a screen
CHART_ROWS = 18          # rows left free under a chart anchored in the sheet
HELPER_FIRST_COLUMN = 40  # hidden chart helper data lives far to the right (column AN on)


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


class ReportSheet:
    """A worksheet written top to bottom: headings, key/value blocks, tables, charts."""

    def __init__(self, ws: Worksheet, empty_text: str):
        self.ws = ws
        self.row = 1
        self.empty_text = empty_text
        self._widths: dict[int, float] = {}
        self._wrap_columns: set[int] = set()
        self._wrapped: dict[int, list[tuple[int, str]]] = {}  # row → (column, text) wrapped
        self._frozen = False
        self._helper_col = HELPER_FIRST_COLUMN
        self._title_rows = 0

    # ------------------------------------------------------------------ text blocks

    def title(self, text: str, subtitle_lines: Sequence[str] = (), demo_label: str | None = None):
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
        self.row += 1

    def heading(self, text: str) -> None:
        if self.row > 1 and self.ws.cell(self.row - 1, 1).value is not None:
            self.row += 1
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.font = HEADING_FONT
        self.row += 1

    def note(self, text: str) -> None:
        cell = self.ws.cell(self.row, 1)
        write_text(cell, text)
        cell.font = NOTE_FONT
        self.row += 1

    def key_values(self, items: Iterable[tuple[str, object, str]]) -> dict[str, int]:
        """A two-column block of (label, value, kind); returns the row of each label."""
        rows = {}
        for label, value, kind in items:
            label_cell = self.ws.cell(self.row, 1)
            write_text(label_cell, label)
            label_cell.font = Font(bold=True)
            write_value(self.ws.cell(self.row, 2), value, kind)
            self._measure(1, display_width(label))
            self._measure(2, _shown_width(value, kind))
            rows[label] = self.row
            self.row += 1
        self.row += 1
        return rows

    # ------------------------------------------------------------------ tables

    def table(self, columns: Sequence[Column], rows, *, freeze: bool = False,
              first_col: int = 1) -> TableRange:
        """Write a header row and one row per record; `freeze` keeps everything above the first
        data row visible while scrolling (once per sheet). An empty table says so in one row."""
        records = _records(rows)
        header_row = self.row
        for i, col in enumerate(columns):
            c = first_col + i
            cell = self.ws.cell(header_row, c)
            write_text(cell, col.header)
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = CELL_BORDER
            self._measure(c, display_width(col.header) + 1)
            if col.kind == "wrap":
                self._wrap_columns.add(c)
        r = header_row + 1
        for record in records:
            for i, col in enumerate(columns):
                c = first_col + i
                value = record.get(col.key)
                kind = col.kind_of(record)
                cell = self.ws.cell(r, c)
                write_value(cell, value, kind)
                cell.border = CELL_BORDER
                self._measure(c, _shown_width(value, kind))
                if kind == "wrap" and isinstance(value, str):
                    self._wrapped.setdefault(r, []).append((c, value))
            r += 1
        if not records:
            cell = self.ws.cell(r, first_col)
            write_text(cell, self.empty_text)
            cell.font = NOTE_FONT
            r += 1
        if freeze and not self._frozen:
            if header_row <= MAX_FROZEN_ROWS:
                self.ws.freeze_panes = self.ws.cell(header_row + 1, 1).coordinate
                self.ws.print_title_rows = f"{header_row}:{header_row}"
                self._frozen = True
            else:
                self.freeze_title()
        self.row = r + 1
        last = header_row + len(records)
        return TableRange(header_row, header_row + 1, last,
                          {col.key: first_col + i for i, col in enumerate(columns)})

    def freeze_title(self) -> None:
        """Keep the title rows visible (sheets whose first block is not a table)."""
        if not self._frozen and self._title_rows:
            self.ws.freeze_panes = self.ws.cell(self._title_rows + 1, 1).coordinate
            self.ws.print_title_rows = f"1:{self._title_rows}"
            self._frozen = True

    def mark(self, table: TableRange, key: str, row_index: int, good: bool | None) -> None:
        """Colour one cell green (target met) or red (missed)."""
        if good is None:
            return
        self.ws.cell(table.first_row + row_index, table.columns[key]).font = (
            GOOD_FONT if good else BAD_FONT)

    # ------------------------------------------------------------------ charts

    def _place(self, chart, width_cm: float = 18.0, height_cm: float = 8.0) -> None:
        chart.width, chart.height = width_cm, height_cm
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        self.ws.add_chart(chart, self.ws.cell(self.row, 1).coordinate)
        self.row += CHART_ROWS

    def bar_chart(self, table: TableRange, category: str, series: Sequence[str], title: str,
                  kind: str = "yen", stacked: bool = False, horizontal: bool = False) -> BarChart | None:
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
        chart.y_axis.number_format = FORMATS.get(kind, YEN)
        self._place(chart)
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
        chart.y_axis.number_format = FORMATS.get(kind, PERCENT)
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
        'decrease' (and 'base', never shown).
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
            value = float(value or 0.0)
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
                self.ws.cell(r, c0 + i).number_format = YEN
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
        chart.y_axis.number_format = YEN
        self._place(chart)
        return chart

    # ------------------------------------------------------------------ finishing

    def _measure(self, col: int, width: float) -> None:
        if width > self._widths.get(col, 0):
            self._widths[col] = width

    def finish(self, footer: str = "") -> None:
        """Column widths, A4 landscape fit to one page wide, page numbers in the footer."""
        for col, width in self._widths.items():
            limit = WRAP_WIDTH if col in self._wrap_columns else MAX_WIDTH
            letter = get_column_letter(col)
            if self.ws.column_dimensions[letter].hidden:
                continue
            self.ws.column_dimensions[letter].width = max(MIN_WIDTH, min(limit, width + 2))
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddFooter.center.text = "&P / &N"
        if footer:
            ws.oddFooter.left.text = clean_text(footer).replace("&", "&&")
        ws.sheet_view.showGridLines = False

    def fit_wrapped_rows(self) -> None:
        """Row heights for rows holding wrapped text, from the column widths set by `finish`,
        so every line shows on screen and on paper (Excel does not grow a row it is given, and
        openpyxl cannot measure)."""
        for row, cells in self._wrapped.items():
            height = 0.0
            for col, text in cells:
                width = self.ws.column_dimensions[get_column_letter(col)].width or MIN_WIDTH
                per_line = max(1.0, (width - 1) * WRAP_FILL)
                lines = text.splitlines() or [""]
                count = sum(max(1, math.ceil(display_width(line) / per_line)) for line in lines)
                wide = any(display_width(ch) == 2 for ch in text)
                height = max(height, count * (LINE_HEIGHT_WIDE if wide else LINE_HEIGHT))
            if height > LINE_HEIGHT_WIDE:
                self.ws.row_dimensions[row].height = height + ROW_PADDING
                for cell in self.ws[row]:  # the row's other cells start at the top too
                    if cell.value is not None:
                        cell.alignment = Alignment(wrap_text=cell.alignment.wrap_text,
                                                   horizontal=cell.alignment.horizontal,
                                                   vertical="top")


class ReportWorkbook:
    """An openpyxl workbook made of ReportSheets; `to_bytes()` gives the .xlsx file."""

    def __init__(self, title: str, empty_text: str, footer: str = ""):
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.wb.properties.title = clean_text(title)
        self.wb.properties.creator = "CS Analytics"
        self.empty_text = empty_text
        self.footer = footer
        self.sheets: list[ReportSheet] = []

    def sheet(self, name: str) -> ReportSheet:
        ws = self.wb.create_sheet(safe_sheet_title(name))
        sheet = ReportSheet(ws, self.empty_text)
        self.sheets.append(sheet)
        return sheet

    def to_bytes(self) -> bytes:
        for sheet in self.sheets:
            sheet.finish(self.footer)
            sheet.fit_wrapped_rows()
        buffer = io.BytesIO()
        self.wb.save(buffer)
        return buffer.getvalue()


def safe_sheet_title(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
