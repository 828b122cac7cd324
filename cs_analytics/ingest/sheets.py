"""XLSX and JSON files read in a child process with a memory cap (`python -m
cs_analytics.ingest.sheets REQUEST.json`), so that no workbook or JSON text — a cell at
XFD1048576, a zip bomb, a 5,000-digit number — can take down the process that asked.

`files.stage_file` starts this module for every XLSX or JSON file; it gets back the mapped
columns as an Arrow file (`_row` + canonical columns as text), or the file's problems, or — when
the child runs out of its memory or time, or dies — a one-line reason. Before calamine sees a
workbook, the sheet's real extent is measured by streaming its XML (the `<dimension>` and every
row and cell reference, whatever the ZIP directory claims) and checked against limits relative
to `import.upload_max_mb`. A JSON file is parsed record by record, never as one document.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import resource
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

import pyarrow as pa

from cs_analytics.ingest.files import (
    MB, WHITESPACE, HeaderMap, StagedFile, decode_text, resolve_headers,
)
from cs_analytics.ingest.messages import FileRejected, msg, printable, reject, show_value
from python_calamine import CalamineWorkbook

# Limits a workbook must stay within, per MB of import.upload_max_mb: the sheet's XML (with
# the shared strings) unpacked, and the cells of the sheet's extent (rows × columns), which is
# what the reader allocates. At the default 200 MB: 2,000 MB of XML, 8,000,000 cells.
UNPACKED_PER_MB = 10
CELLS_PER_MB = 40_000
BATCH_ROWS = 65_536
JSON_CHUNK = 1 << 20
JSON_RECORD_MAX = 16 * MB
XML_TAG_MAX = 1 << 20
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384


@dataclass
class Request:
    """What the parent asks the child: one file, how to map it, where to write, the caps."""

    path: str
    name: str
    format: str                  # xlsx | json
    kind: str | None
    mapping: dict
    upload_max_mb: int
    memory_mb: int
    out: str                     # Arrow IPC file to write
    workdir: str


@dataclass
class Result:
    """The child's answer (written as JSON next to the Arrow file)."""

    table: str = ""
    columns: dict = field(default_factory=dict)
    rows: int = 0
    sheet: str | None = None
    encoding: str | None = None
    warnings: list = field(default_factory=list)     # Problem.to_json()
    problems: list = field(default_factory=list)     # Problem.to_json(); non-empty = rejected


# ---------------------------------------------------------------------------- the child


def main(argv: list[str]) -> int:
    request = Request(**json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    limit = request.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    result_path = Path(request.out + ".json")
    try:
        result = read(request)
    except FileRejected as exc:
        result = Result(problems=[p.to_json() for p in exc.problems])
    except MemoryError:
        return 3
    result_path.write_text(json.dumps(dataclasses.asdict(result), ensure_ascii=False),
                           encoding="utf-8")
    return 0


def read(request: Request) -> Result:
    path, name = Path(request.path), request.name
    staged = StagedFile(path, name, request.format, "", "", {})
    if request.format == "xlsx":
        sheet, rows = _xlsx_rows(path, name, request.upload_max_mb)
        staged.sheet = sheet
        header_row, headers = next(rows, (None, None))
        if headers is None:
            raise reject(name, msg("xlsx.empty_sheet", sheet=show_value(sheet)))
    else:
        workdir = Path(request.workdir)
        decoded = decode_text(path, name, workdir, csv=False)
        try:
            staged.encoding = decoded.encoding
            headers = _json_headers(decoded.path, name)
            rows = _json_rows(decoded.path, name, headers)
            hm = resolve_headers(headers, request.kind, request.mapping, name, staged)
            count = _write_arrow(hm, rows, Path(request.out))
        finally:
            decoded.cleanup()
        return _result(staged, count)
    hm = resolve_headers(headers, request.kind, request.mapping, name, staged)
    count = _write_arrow(hm, rows, Path(request.out))
    return _result(staged, count)


def _result(staged: StagedFile, rows: int) -> Result:
    return Result(staged.table, staged.columns, rows, staged.sheet, staged.encoding,
                  [w.to_json() for w in staged.warnings])


def _write_arrow(hm: HeaderMap, rows, out: Path) -> int:
    """`_row` + the mapped columns as strings, in batches; rows with no value in any mapped
    column are left out (Excel's empty rows). Returns the number of rows written."""
    positions = list(hm.columns.items())
    schema = pa.schema([("_row", pa.int64())] + [(c, pa.string()) for c, _ in positions])
    written = 0
    with pa.OSFile(str(out), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        numbers: list[int] = []
        values: dict[str, list] = {c: [] for c, _ in positions}

        def flush():
            if numbers:
                writer.write_batch(pa.record_batch(
                    [pa.array(numbers, pa.int64())] + [pa.array(values[c], pa.string())
                                                       for c, _ in positions], schema=schema))
                numbers.clear()
                for v in values.values():
                    v.clear()

        for number, cells in rows:
            picked = [cells[p] if p < len(cells) else None for _, p in positions]
            if all(v is None for v in picked):
                continue
            numbers.append(number)
            for (column, _), value in zip(positions, picked):
                values[column].append(value)
            written += 1
            if len(numbers) >= BATCH_ROWS:
                flush()
        flush()
    return written


# ---------------------------------------------------------------------------- XLSX


def _xlsx_rows(path: Path, name: str, upload_max_mb: int):
    """The chosen sheet's name and an iterator of (sheet row number, [cell text]) from its
    first non-empty row (the header) on — once its extent has been checked."""
    sheet, part, strings = _sheet_part(path, name)
    measure_sheet(path, name, sheet, part, strings, upload_max_mb)

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_name(sheet).iter_rows()
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise reject(name, msg("xlsx.unreadable", detail=_first_line(exc))) from None
    return sheet, _cells_from(rows, name)


def _cells_from(rows, name: str):
    try:
        for i, row in enumerate(rows):
            cells = [_cell_text(v) for v in row]
            if any(v is not None for v in cells):
                yield i + 1, [c or "" for c in cells]
                break
        else:
            return
        for j, row in enumerate(rows, start=i + 2):
            yield j, [_cell_text(v) for v in row]
    except MemoryError:
        raise
    except Exception as exc:
        raise reject(name, msg("xlsx.unreadable", detail=_first_line(exc))) from None


_SMALL_PART = 4 * MB


def _sheet_part(path: Path, name: str) -> tuple[str, str, str | None]:
    """The sheet to read ("Query result" if there is one, else the first), the ZIP member
    holding its XML and the shared-strings member, from workbook.xml and its relationships."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = {i.filename for i in zf.infolist()}
            book = _small_xml(zf, "xl/workbook.xml", name)
            rels = _small_xml(zf, "xl/_rels/workbook.xml.rels", name)
    except (zipfile.BadZipFile, OSError, KeyError, ElementTree.ParseError, EOFError,
            zlib.error, NotImplementedError) as exc:
        raise reject(name, msg("xlsx.unreadable", detail=_first_line(exc))) from None
    # Namespaces are matched by local name: "Strict Open XML" workbooks use other URIs.
    sheets = [(s.get("name"), next((v for k, v in s.attrib.items() if k.endswith("}id")), None))
              for s in book.iter() if s.tag.rsplit("}", 1)[-1] == "sheet"]
    if not sheets:
        raise reject(name, msg("xlsx.no_sheets"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    names = [n for n, _ in sheets]
    sheet = "Query result" if "Query result" in names else names[0]
    target = targets.get(dict(sheets)[sheet], "")
    part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    part = re.sub(r"[^/]+/\.\./", "", part)
    if part not in members:
        raise reject(name, msg("xlsx.unreadable", detail=f"no part {printable(part)}"))
    strings = next((m for m in members if m.lower() == "xl/sharedstrings.xml"), None)
    return sheet, part, strings


def _small_xml(zf: zipfile.ZipFile, member: str, name: str):
    with zf.open(member) as fh:
        data = fh.read(_SMALL_PART + 1)
    if len(data) > _SMALL_PART:
        raise reject(name, msg("xlsx.unreadable", detail=f"{member} is larger than 4 MB"))
    return ElementTree.fromstring(data)


@dataclass
class Extent:
    """A sheet as its XML says, measured while streaming it: the largest row and column any
    row, cell or the dimension refers to, the cells written, and the bytes unpacked."""

    rows: int = 0
    columns: int = 0
    cells: int = 0
    unpacked: int = 0

    @property
    def area(self) -> int:
        return self.rows * self.columns


# Tags of the sheet XML, counted and matched a chunk at a time by C-level `count`s and
# `findall`s (a per-tag Python loop is far too slow for a million rows). Writers put a row's or
# cell's `r` first (Excel, Apache POI, openpyxl): that is the fast pattern; a chunk where some
# reference is written otherwise (another attribute first, a namespace prefix) is matched
# again with the general pattern.
_ROW_REF_FAST = re.compile(rb'<row r="([0-9]{1,7})"')
_CELL_REF_FAST = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])")
_ROW_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\s[^<>]*?\br\s*=\s*[\"']([0-9]{1,7})[\"']")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s/>])")
_CELL_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^<>]*?\br\s*=\s*[\"']([A-Za-z]{1,3})([0-9]{1,7})[\"']")
_DIMENSION_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s([^<>]*)>")
_DIMENSION = re.compile(rb'\bref\s*=\s*["\']([A-Za-z$]*)([0-9$]*)(?::([A-Za-z$]*)([0-9$]*))?["\']')


def _count_cells(data: bytes) -> int:
    return data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/")


def _count_rows(data: bytes) -> int:
    return data.count(b"<row ") + data.count(b"<row>") + data.count(b"<row/")


def measure_sheet(path: Path, name: str, sheet: str, part: str, strings: str | None,
                  upload_max_mb: int) -> Extent:
    """The sheet's extent, streaming its XML in chunks (decompressed here, counted byte by
    byte: a ZIP directory may lie about sizes), refused as soon as the unpacked XML or the
    extent passes its limit."""
    limit = upload_max_mb * UNPACKED_PER_MB * MB
    extent = Extent()
    try:
        with zipfile.ZipFile(path) as zf:
            if strings is not None:
                extent.unpacked += _unpacked_size(zf, strings, limit, name, sheet)
            _scan_cells(zf, part, extent, limit, name, sheet,
                        lambda: check_extent(name, sheet, extent, upload_max_mb))
    except FileRejected:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, zlib.error,
            NotImplementedError) as exc:
        raise reject(name, msg("xlsx.unreadable", detail=_first_line(exc))) from None
    return extent


def _unpacked_size(zf: zipfile.ZipFile, member: str, limit: int, name: str, sheet: str) -> int:
    size = 0
    with zf.open(member) as fh:
        while chunk := fh.read(MB):
            size += len(chunk)
            if size > limit:
                raise _too_unpacked(name, sheet, limit)
    return size


def _too_unpacked(name: str, sheet: str, limit: int) -> FileRejected:
    return reject(name, msg("xlsx.unpacked_too_large", sheet=show_value(sheet),
                            max_mb=limit // MB, ratio=UNPACKED_PER_MB))


def _scan_cells(zf: zipfile.ZipFile, part: str, extent: Extent, limit: int, name: str,
                sheet: str, check: Callable[[], None]) -> None:
    """Rows and columns of the sheet, as upper bounds: exact when every row and cell has its
    reference (Excel, Metabase) or none has (rows and cells then count by position); a row or
    cell without a reference after ones with it is counted as if after the largest."""
    carry = b""
    explicit_rows = unreferenced_rows = explicit_columns = unreferenced_columns = 0
    with zf.open(part) as fh:
        while True:
            chunk = fh.read(4 * MB)
            extent.unpacked += len(chunk)
            if extent.unpacked > limit:
                raise _too_unpacked(name, sheet, limit)
            data = carry + chunk
            if chunk:
                cut = data.rfind(b"<")
                if cut >= 0 and data.find(b">", cut) < 0:
                    data, carry = data[:cut], data[cut:]
                    if len(carry) > XML_TAG_MAX:
                        raise reject(name, msg("xlsx.unreadable",
                                               detail="an XML tag longer than 1 MB"))
                else:
                    carry = b""
            if b"<dimension" in data or b":dimension" in data:
                for dimension in _DIMENSION_TAG.findall(data):
                    _measure_dimension(b" " + dimension, extent, name, sheet)
            prefixed = b":row" in data or b":c " in data
            rows = len(_ROW_TAG.findall(data)) if prefixed else _count_rows(data)
            cells = len(_CELL_TAG.findall(data)) if prefixed else _count_cells(data)
            row_refs = [] if prefixed else _ROW_REF_FAST.findall(data)
            if len(row_refs) < rows:
                row_refs = _ROW_REF.findall(data)
            cell_refs = [] if prefixed else _CELL_REF_FAST.findall(data)
            if len(cell_refs) < cells:
                cell_refs = _CELL_REF.findall(data)
            if row_refs:
                explicit_rows = max(explicit_rows, max(map(int, row_refs)))
            unreferenced_rows += rows - len(row_refs)
            if cell_refs:
                letters, numbers = zip(*cell_refs)
                explicit_rows = max(explicit_rows, max(map(int, numbers)))
                explicit_columns = max(explicit_columns, max(
                    _column_number(c) for c in set(letters)))
            extent.cells += cells
            if cells > len(cell_refs):
                unreferenced_columns = max(unreferenced_columns,
                                           _most_unreferenced_cells(data, prefixed))
            extent.rows = max(extent.rows, explicit_rows + unreferenced_rows)
            extent.columns = max(extent.columns, explicit_columns + unreferenced_columns)
            if extent.rows > EXCEL_MAX_ROWS or extent.columns > EXCEL_MAX_COLUMNS:
                break
            check()
            if not chunk:
                break
    if extent.rows > EXCEL_MAX_ROWS or extent.columns > EXCEL_MAX_COLUMNS:
        raise reject(name, msg("xlsx.bad_cell_reference", sheet=show_value(sheet),
                               ref=show_value(_cell_name(min(extent.columns, 99_999),
                                                         extent.rows))))


def _most_unreferenced_cells(data: bytes, prefixed: bool) -> int:
    """The most cells without a reference in one row of `data` (an upper bound: every cell
    of a row that has some cell without a reference)."""
    if prefixed:
        return max(len(_CELL_TAG.findall(piece)) for piece in _ROW_TAG.split(data))
    return max(map(_count_cells, data.split(b"<row")))


def _measure_dimension(attributes: bytes, extent: Extent, name: str, sheet: str) -> None:
    match = _DIMENSION.search(attributes)
    if not match:
        return
    last_col, last_row = match.group(3) or match.group(1), match.group(4) or match.group(2)
    last_col, last_row = last_col.replace(b"$", b""), last_row.replace(b"$", b"")
    if not last_col or not last_row:
        return
    if len(last_col) > 3 or len(last_row) > 7:
        raise reject(name, msg("xlsx.bad_cell_reference", sheet=show_value(sheet),
                               ref=show_value(last_col.decode() + last_row.decode())))
    col, row = _column_number(last_col), int(last_row)
    extent.rows, extent.columns = max(extent.rows, row), max(extent.columns, col)


def check_extent(name: str, sheet: str, extent: Extent, upload_max_mb: int) -> None:
    max_cells = upload_max_mb * CELLS_PER_MB
    if extent.area > max_cells:
        raise reject(name, msg(
            "xlsx.too_many_cells", sheet=show_value(sheet), rows=extent.rows,
            columns=extent.columns, cell=_cell_name(extent.columns, extent.rows), cells=extent.area,
            max_cells=max_cells, per_mb=CELLS_PER_MB))


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ch - 64)
    return number


def _cell_name(col: int, row: int) -> str:
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters or 'A'}{max(row, 1)}"


def _cell_text(value) -> str | None:
    """A spreadsheet or JSON value as the text a user would have typed."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value).strip(WHITESPACE)
    return text or None


# ---------------------------------------------------------------------------- JSON


def _json_headers(path: Path, name: str) -> list[str]:
    """Every key of every record, in order of first appearance (a first pass over the file)."""
    headers: dict[str, None] = {}
    for number, record in _json_records(path, name):
        for key in record:
            headers.setdefault(str(key), None)
    return list(headers)


def _json_rows(path: Path, name: str, headers: list[str]):
    for number, record in _json_records(path, name):
        yield number + 1, [_cell_text(record.get(h)) for h in headers]


class _JsonInt(str):
    """A JSON integer kept as its digits (a 5,000-digit integer is a value to report, not a
    crash in Python's int conversion)."""


def _decoder() -> json.JSONDecoder:
    # NaN and Infinity stay words, which no column accepts.
    return json.JSONDecoder(parse_int=_JsonInt, parse_constant=str)


def _json_records(path: Path, name: str):
    """(record number from 1, object) for an array of objects, or objects one after another
    (JSON lines; a single object is one record). Reads the text in chunks: memory holds one
    record, not the file."""
    decoder = _decoder()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = _Text(fh, name)
        first = reader.skip_space()
        if first == "":
            raise reject(name, msg("json.not_array"))
        if first not in "[{":
            raise reader.invalid("Expecting value")
        in_array = first == "["
        if in_array:
            reader.pos += 1
        number = 0
        while True:
            ch = reader.skip_space()
            if in_array and ch == "]":
                reader.pos += 1
                if reader.skip_space() != "":
                    raise reader.invalid("Extra data")
                return
            if ch == "":
                if in_array:
                    raise reader.invalid("Expecting ',' delimiter or ']'")
                return
            if in_array and number:
                if ch != ",":
                    raise reader.invalid("Expecting ',' delimiter")
                reader.pos += 1
                ch = reader.skip_space()
            record = reader.value(decoder, number + 1)
            number += 1
            if not isinstance(record, dict):
                raise reject(name, msg("json.record_not_object", n=number,
                                       kind="int" if isinstance(record, _JsonInt)
                                       else type(record).__name__,
                                       value=show_value(record)),
                             row=number + 1)
            yield number, record


class _Text:
    """A window over a text file for parsing JSON values one at a time."""

    def __init__(self, fh, name: str):
        self.fh, self.name = fh, name
        self.buf, self.pos, self.line_base, self.eof = "", 0, 1, False

    def _more(self, size: int = JSON_CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(size)
        if not chunk:
            self.eof = True
            return False
        if self.pos > JSON_CHUNK:
            self.line_base += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += chunk
        return True

    def skip_space(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def value(self, decoder: json.JSONDecoder, number: int):
        size = JSON_CHUNK
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise self.invalid(exc.msg, exc.pos) from None
                if len(self.buf) - self.pos > JSON_RECORD_MAX:
                    raise reject(self.name, msg("json.record_too_large", n=number,
                                                max_mb=JSON_RECORD_MAX // MB),
                                 row=number + 1) from None
                self._more(size)
                size *= 2
                continue
            except RecursionError:
                raise reject(self.name, msg("json.too_deep")) from None
            except ValueError as exc:  # e.g. Python's limit on integer digits
                raise self.invalid(str(exc).split(":")[0]) from None
            if end == len(self.buf) and not self.eof:
                # a number may continue in the next chunk
                if self._more(size):
                    continue
            self.pos = end
            return value

    def invalid(self, detail: str, pos: int | None = None) -> FileRejected:
        pos = self.pos if pos is None else pos
        line = self.line_base + self.buf.count("\n", 0, pos)
        column = pos - (self.buf.rfind("\n", 0, pos) + 1) + 1
        return reject(self.name, msg("json.invalid", detail=detail, line=line, column=column))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return printable(text.splitlines()[0][:200])


if __name__ == "__main__":  # pragma: no cover - run as the child process
    sys.exit(main(sys.argv))
