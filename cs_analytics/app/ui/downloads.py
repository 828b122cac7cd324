"""Table downloads: CSV that Japanese Excel opens (UTF-8 with BOM) and Excel workbooks.

Values from source data (account names, subjects) must never run as formulas:
- Excel: every text cell is written as an explicit string cell (the text stays exactly as it
  is, `=HYPERLINK(...)` included, and Excel shows it as text);
- CSV: Excel evaluates a cell starting with = + - @ (or a tab / carriage return) even in a CSV,
  so such text cells get a leading apostrophe, the usual guard (OWASP "CSV injection").
  Numbers are never touched. The Excel download is the one that keeps text byte-for-byte.
Pure functions (no streamlit), tested directly.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from cs_analytics.outputs.reports.csv_text import guard_formula
from cs_analytics.outputs.reports.excel import write_text

# Column kind → Excel number format.
EXCEL_FORMATS = {
    "yen": '"¥"#,##0',
    "pct": "0.0%",
    "int": "#,##0",
    "number": "#,##0.0",
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
    "score": "0",
}


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with a BOM; text that Excel would run as a formula gets an apostrophe."""
    safe = df.copy()
    for col in safe.columns:
        if _is_text(safe[col]):
            safe[col] = safe[col].map(guard_formula)
    return safe.to_csv(index=False).encode("utf-8-sig")


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def excel_bytes(df: pd.DataFrame, sheet: str = "data",
                kinds: dict[str, str] | None = None) -> bytes:
    """One-sheet workbook: bold frozen header, numbers as numbers with yen/percent formats,
    dates as dates, every text as an explicit string cell."""
    kinds = kinds or {}
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(sheet)
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    for j, name in enumerate(df.columns, start=1):
        cell = ws.cell(row=1, column=j)
        write_cell(cell, str(name))
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j)
            write_cell(cell, value)
            fmt = EXCEL_FORMATS.get(kinds.get(df.columns[j - 1], ""))
            if fmt and not isinstance(cell.value, str):
                cell.number_format = fmt
    for j, name in enumerate(df.columns, start=1):
        width = max([_display_width(name)] + [_display_width(v) for v in df.iloc[:200, j - 1]])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{max(len(df) + 1, 1)}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_cell(cell, value) -> None:
    """Write one value: text always as a string cell (never a formula), missing as empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        cell.value = None
        return
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
        if value.time() == dt.time(0):
            value = value.date()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, (int, float, dt.date, dt.datetime)):
        cell.value = value
    else:
        write_text(cell, value)


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    # East Asian characters take two columns in Excel.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text[:80])


def _sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in name).strip("'") or "data"
    return cleaned[:31]


def filename(stem: str, as_of: dt.date | None, ext: str) -> str:
    """cs-analytics_movements_2026-03-31.csv: ASCII, safe for every browser."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem)
    suffix = f"_{as_of.isoformat()}" if as_of else ""
    return f"cs-analytics_{safe}{suffix}.{ext}"
