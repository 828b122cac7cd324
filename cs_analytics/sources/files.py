"""Files → staging tables: one CSV, XLSX or JSON file read into a DuckDB table of text columns.

`stage_file` recognises the format by content (and extension), decodes the text (UTF-8, UTF-8
with BOM, CP932, UTF-16), maps the headers onto the canonical columns of one table (SPEC §3),
infers that table from the columns when it is not given, and writes the rows as VARCHAR columns
named by canonical column, plus `_row`: the row number as a spreadsheet user counts it (header =
row 1). Converting and validating the values is `cs_analytics.imports`' job.

How `_row` stays exact for CSV: DuckDB's `read_csv` reads the file in order into a fresh table
(insertion order is preserved), so `rowid` is the record's position after the header. DuckDB
skips blank lines, which would shift every later row, so the scan that checks the encoding also
looks for blank lines before the last line of data; a file that has some is rewritten through
Python's csv module with an explicit `_row` column instead (slower, and rare). A quoted value
spanning several lines counts as one row, as it does in Excel.

`typed_csv` is the other way in, for large clean files: a UTF-8 CSV whose headers map onto one
table, which `imports` reads with DuckDB straight into typed columns (`TypedCsv.read_sql`)
instead of staging it as text first. It checks the encoding but not blank lines: that read never
reports a row number (see docs/data-contract.md, "Performance").
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from cs_analytics import contract

# Whitespace stripped around every value (the same set in Python and in SQL).
WHITESPACE = " \t\r\n\v\f\u00a0\u3000"
CHUNK = 1 << 24
MB = 1024 * 1024
# An XLSX is a ZIP: refuse one that would expand to more than this multiple of the size limit.
XLSX_EXPANSION_LIMIT = 20
DELIMITERS = (",", "\t", ";")

# Signatures of common files that are not data exports, to refuse them before parsing.
_MAGIC = (
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook (or an encrypted workbook); save it as "
                          ".xlsx or CSV"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document"),
    (b"SQLite format 3", "an SQLite database"),
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, where a spreadsheet user would look for it."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        if self.column is not None:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class FileRejected(Exception):
    """A file that cannot be staged at all (format, encoding, headers); carries its problems."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class StagedFile:
    """One file read into `staging` (columns: `_row` + canonical columns as VARCHAR), or by
    the typed read into `typed`."""

    path: Path
    name: str                       # as shown in messages
    format: str                     # csv | xlsx | json
    table: str                      # canonical table the rows belong to
    staging: str                    # staging view in the connection
    columns: dict[str, str]         # canonical column → header as written in the file
    rows: int = 0
    encoding: str | None = None     # csv/json only
    delimiter: str | None = None    # csv only
    sheet: str | None = None        # xlsx only
    warnings: list[Problem] = field(default_factory=list)
    # The table holding the converted rows when the file was read by the typed read (the
    # canonical table itself, or a temporary table); None when it was staged as text. A typed
    # file has a staging view only when it is small enough for raw_import_<table>.
    typed: str | None = None

    def header(self, column: str) -> str:
        """The column as the user named it (for messages)."""
        return self.columns.get(column, column)


def show_value(value, limit: int = 60) -> str:
    """A value quoted for a one-line message, control characters escaped, long text cut."""
    text = str(value)
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > limit:
        text = text[:limit] + "…"
    return f'"{text}"'


# ---------------------------------------------------------------------------- format


def sniff_format(path: Path, name: str, max_mb: int) -> str:
    """csv | xlsx | json, decided from the first bytes and the extension; refuse anything else."""
    size = path.stat().st_size
    if size > max_mb * MB:
        raise _reject(name, f"is {size / MB:,.1f} MB; files larger than {max_mb} MB are not "
                            "accepted (setting import.upload_max_mb)")
    if size == 0:
        raise _reject(name, "is empty; expected a header row and data rows")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    ext = path.suffix.lower() if path.suffix else Path(name).suffix.lower()
    is_zip = head.startswith((b"PK\x03\x04", b"PK\x05\x06"))
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _reject(name, f"is {what}, not a CSV, XLSX or JSON file")
    if is_zip:
        if ext in (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"):
            raise _reject(name, f"has the extension {ext} but is a ZIP archive (an XLSX "
                                "workbook?); expected a CSV, XLSX or JSON file")
        return "xlsx"
    if ext in (".xlsx", ".xlsm"):
        raise _reject(name, f"has the extension {ext} but is not an Excel workbook; expected "
                            "an .xlsx file saved by Excel, Metabase or Google Sheets")
    if ext == ".xls":
        raise _reject(name, "is an old Excel .xls workbook; save it as .xlsx or CSV")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not utf16:
        raise _reject(name, "is a binary file, not a CSV, XLSX or JSON file")
    text_start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if re.match(rb"(?i)<(!doctype html|html|\?xml)", text_start):
        raise _reject(name, "is an HTML or XML page, not a data export (a failed download or a "
                            "login page?); expected a CSV, XLSX or JSON file")
    if ext in (".json", ".jsonl", ".ndjson"):
        if not text_start.startswith((b"[", b"{")):
            raise _reject(name, f"has the extension {ext} but does not contain JSON; expected "
                                "an array of objects like [{\"account_id\": \"A1\", …}]")
        return "json"
    if ext not in (".csv", ".tsv", ".txt") and text_start.startswith((b"[", b"{")):
        return "json"
    return "csv"


def _reject(name: str, message: str, row: int | None = None,
            column: str | None = None) -> FileRejected:
    return FileRejected([Problem(name, row, column, message)])


# ---------------------------------------------------------------------------- text decoding


class _Layout:
    """Watches UTF-8 bytes go by: blank lines before the last line of data shift row numbers."""

    def __init__(self):
        self.offset = 0
        self.first_blank: int | None = None
        self.last_content = -1
        self._tail = b"\n"  # the start of the file counts as after a line break

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self.first_blank is None:
            joined = self._tail + data
            for pattern in (b"\n\n", b"\n\r\n"):
                pos = joined.find(pattern)
                if pos >= 0:
                    at = self.offset - len(self._tail) + pos
                    self.first_blank = at if self.first_blank is None else min(self.first_blank, at)
            self._tail = joined[-2:]
        stripped = len(data.rstrip(b"\r\n"))
        if stripped:
            self.last_content = self.offset + stripped - 1
        self.offset += len(data)

    @property
    def has_inner_blank_line(self) -> bool:
        return self.first_blank is not None and self.first_blank < self.last_content


@dataclass
class DecodedText:
    """A text file as UTF-8 on disk: the original file, or a temporary transcoded copy."""

    path: Path
    encoding: str
    temporary: bool
    has_inner_blank_line: bool

    def cleanup(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def decode_text(path: Path, name: str, workdir: Path) -> DecodedText:
    """Find the encoding (BOM → UTF-8 with BOM / UTF-16; strict UTF-8; else CP932) in one
    streaming pass; CP932 and UTF-16 are transcoded to a temporary UTF-8 file in chunks."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(path, name, "utf-16", workdir)
    else:
        encoding = "utf-8"
    layout = _Layout()
    bad = _first_non_utf8(path, len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0, layout)
    if bad is None:
        return DecodedText(path, encoding, False, layout.has_inner_blank_line)
    if encoding == "utf-8-sig":
        raise _not_text(path, name, "UTF-8", bad)
    return _transcode(path, name, "cp932", workdir)


def utf8_encoding(path: Path) -> str | None:
    """'utf-8-sig' or 'utf-8' when the whole file is UTF-8 text, else None — one pass without
    copying, and without the blank-line scan (pure ASCII chunks are not even decoded)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    bom = head.startswith(codecs.BOM_UTF8)
    if _first_non_utf8(path, len(codecs.BOM_UTF8) if bom else 0, None) is not None:
        return None
    return "utf-8-sig" if bom else "utf-8"


def _first_non_utf8(path: Path, start: int, layout: _Layout | None) -> int | None:
    """The position of the first byte from `start` that is not valid UTF-8, or None; the bytes
    go through `layout` on the way."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = start
    with open(path, "rb") as fh:
        fh.seek(start)
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            pending = len(decoder.getstate()[0])
            try:
                if pending or not chunk.isascii():
                    decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            if layout is not None:
                layout.feed(chunk)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset - 1
    return None


def _transcode(path: Path, name: str, encoding: str, workdir: Path) -> DecodedText:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    layout = _Layout()
    fd, tmp = tempfile.mkstemp(prefix="import-", suffix=".csv", dir=workdir)
    offset = 0
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            while True:
                chunk = src.read(CHUNK)
                final = not chunk
                pending = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(chunk, final=final)
                except UnicodeDecodeError as exc:
                    raise _not_text(path, name, "UTF-8 or CP932 (Shift-JIS)" if encoding == "cp932"
                                    else "UTF-16", offset - pending + exc.start) from None
                if text:
                    data = text.removeprefix("\ufeff").encode("utf-8") if offset == 0 else \
                        text.encode("utf-8")
                    layout.feed(data)
                    dst.write(data)
                if final:
                    break
                offset += len(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return DecodedText(Path(tmp), encoding, True, layout.has_inner_blank_line)


def _not_text(path: Path, name: str, expected: str, pos: int) -> FileRejected:
    pos = max(pos, 0)
    line = _line_of(path, pos)
    return _reject(name, f"is not {expected} text: the byte at position {pos + 1:,} (line "
                         f"{line:,}) cannot be decoded; expected a CSV saved as UTF-8 or CP932 "
                         "(Excel: 'CSV UTF-8')")


def _line_of(path: Path, pos: int) -> int:
    line, done = 1, 0
    with open(path, "rb") as fh:
        while done < pos:
            chunk = fh.read(min(CHUNK, pos - done))
            if not chunk:
                break
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


# ---------------------------------------------------------------------------- headers


def detect_delimiter(line: str) -> str:
    """The most frequent of , TAB ; outside quotes in the header line (',' when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class HeaderMap:
    """Headers of one file mapped onto one canonical table."""

    table: str
    columns: dict[str, int]        # canonical column → position in the file
    headers: dict[str, str]        # canonical column → header as written
    unknown: list[str]             # headers not part of the table
    duplicates: list[tuple[str, str, str]]  # (canonical, first header, second header)


def map_headers(headers: list[str], table: str, mapping: dict | None) -> HeaderMap:
    spec = contract.TABLES[table]
    names = set(spec.column_names)
    result = HeaderMap(table, {}, {}, [], [])
    for i, header in enumerate(headers):
        if not header.strip(WHITESPACE):
            continue  # a column without a header (Excel leaves empty trailing columns)
        canonical = contract.canonical_column(header, table, mapping)
        if canonical not in names:
            result.unknown.append(header)
        elif canonical in result.columns:
            result.duplicates.append((canonical, result.headers[canonical], header))
        else:
            result.columns[canonical] = i
            result.headers[canonical] = header
    return result


# What each table's file must contain to be recognised without --kind; the tiers break ties
# (an activities export often also carries the account's name and owner).
KIND_RULES: tuple[tuple[int, str, tuple[tuple[str, ...], ...]], ...] = (
    (1, "usage", (("account_id",), ("date",), ("deliveries", "logins"))),
    (1, "activities", (("activity_id",),)),
    (1, "contracts", (("contract_id",),)),
    (2, "accounts", (("account_id",), ("name",), ("owner_id",))),
    (3, "users", (("user_id",), ("name",))),
)
KIND_HINT = ("users (user_id, name), accounts (account_id, name, owner_id), contracts "
             "(contract_id, …), activities (activity_id, …), usage (account_id, date, deliveries "
             "or logins)")


def infer_kind(headers: list[str], mapping: dict | None, name: str) -> str:
    """The canonical table a file's columns describe; unknown or ambiguous is a problem."""
    matches: list[tuple[int, str]] = []
    for tier, table, groups in KIND_RULES:
        mapped = set(map_headers(headers, table, mapping).columns)
        if all(any(c in mapped for c in group) for group in groups):
            matches.append((tier, table))
    shown = ", ".join(show_value(h, 40) for h in headers[:30] if h.strip(WHITESPACE))
    if len(headers) > 30:
        shown += f", … ({len(headers)} columns)"
    if not matches:
        raise _reject(name, f"cannot tell which table this file is for from its columns "
                            f"({shown or 'none'}); expected the columns of one of {KIND_HINT}, "
                            "or give the kind (--kind)", row=1)
    best = min(t for t, _ in matches)
    tables = [table for tier, table in matches if tier == best]
    if len(tables) > 1:
        raise _reject(name, f"its columns ({shown}) fit several tables ({', '.join(tables)}); "
                            "expected the kind to be given (--kind)", row=1)
    return tables[0]


def _header_problems(name: str, hm: HeaderMap) -> list[Problem]:
    problems = [Problem(name, 1, second, f"{show_value(second)} and {show_value(first)} both "
                                         f"mean {canonical}; expected one column per field "
                                         "(remove one, or map it elsewhere in [import.mapping])")
                for canonical, first, second in hm.duplicates]
    spec = contract.TABLES[hm.table]
    for column in spec.required:
        if column not in hm.columns:
            problems.append(Problem(name, 1, column, f"column is missing; expected a column "
                                                     f"named {_names_for(column)}"))
    if hm.table == "contracts" and "amount" not in hm.columns and "mrr" not in hm.columns:
        problems.append(Problem(name, 1, "amount", "columns amount and mrr are both missing; "
                                                   "expected amount (total for the term, "
                                                   f"{_names_for('amount', False)}) or mrr "
                                                   f"({_names_for('mrr', False)})"))
    return problems


def _names_for(column: str, lead: bool = True) -> str:
    aliases = [a for a, c in contract.ALIASES.items() if c == column]
    names = [column] + aliases[:5]
    return (" or ".join(", ".join(names).rsplit(", ", 1)) if lead else " / ".join(names))


# ---------------------------------------------------------------------------- staging


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, staging: str, *,
               kind: str | None = None, mapping: dict | None = None, max_mb: int = 200,
               name: str | None = None, workdir: Path | None = None) -> StagedFile:
    """Read one file into the view `staging` (`_row` + canonical VARCHAR columns).

    Raises FileRejected with every file-level problem (format, encoding, headers, structure).
    """
    path = Path(path)
    name = name or path.name
    fmt = sniff_format(path, name, max_mb)
    workdir = Path(workdir or tempfile.gettempdir())
    if fmt == "csv":
        return _stage_csv(con, path, staging, kind, mapping, name, workdir)
    if fmt == "xlsx":
        sheet, header_row, headers, rows = _read_xlsx(path, name, max_mb)
        staged = StagedFile(path, name, "xlsx", "", staging, {}, sheet=sheet)
    else:
        encoding, header_row, headers, rows = _read_json(path, name, workdir)
        staged = StagedFile(path, name, "json", "", staging, {}, encoding=encoding)
    hm = _resolve_headers(headers, kind, mapping, name, staged)
    table = _rows_to_arrow(hm, rows)
    con.register(f"{staging}_arrow", table)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{staging}_data" AS '
                    f'SELECT * FROM "{staging}_arrow"')
    finally:
        con.unregister(f"{staging}_arrow")
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{staging}" AS SELECT * FROM "{staging}_data"')
    staged.rows = table.num_rows
    return staged


def _resolve_headers(headers: list[str], kind: str | None, mapping: dict | None, name: str,
                     staged: StagedFile) -> HeaderMap:
    table = kind or infer_kind(headers, mapping, name)
    hm = map_headers(headers, table, mapping)
    problems = _header_problems(name, hm)
    if problems:
        raise FileRejected(problems)
    staged.table = table
    staged.columns = dict(hm.headers)
    if hm.unknown:
        shown = ", ".join(show_value(h, 40) for h in hm.unknown[:20])
        more = f" and {len(hm.unknown) - 20} more" if len(hm.unknown) > 20 else ""
        staged.warnings.append(Problem(name, 1, None, f"columns not part of {table} were "
                                                      f"ignored: {shown}{more}"))
    return hm


def _stage_csv(con, path: Path, staging: str, kind, mapping, name: str,
               workdir: Path) -> StagedFile:
    decoded = decode_text(path, name, workdir)
    extra: DecodedText | None = None
    try:
        header_line = _csv_header(decoded.path, name)
        delimiter = detect_delimiter(header_line)
        headers = next(csv.reader([header_line], delimiter=delimiter), [])
        staged = StagedFile(path, name, "csv", "", staging, {}, encoding=decoded.encoding,
                            delimiter=delimiter)
        hm = _resolve_headers(headers, kind, mapping, name, staged)
        source, explicit_rows = decoded.path, False
        if decoded.has_inner_blank_line:
            extra = _rewrite_with_row_numbers(decoded.path, delimiter, workdir, name)
            source, explicit_rows = extra.path, True
        width = len(headers) + (1 if explicit_rows else 0)
        names = [f"c{i}" for i in range(width)]
        columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
        offset = 1 if explicit_rows else 0
        text_kinds = ("text", "enum")
        spec = contract.TABLES[hm.table]
        select = []
        for column, position in hm.columns.items():
            ref = f"c{position + offset}"
            if spec.column(column).kind in text_kinds:
                select.append(f'{strip_sql(ref)} AS "{column}"')
            else:
                select.append(f'{ref} AS "{column}"')
        if explicit_rows:
            select.insert(0, "CAST(c0 AS BIGINT) AS _row")
        sql = (f'CREATE OR REPLACE TEMP TABLE "{staging}_data" AS SELECT {", ".join(select)} '
               f"FROM read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', "
               f"escape = '\"', columns = {columns}, null_padding = true, parallel = ?)")
        params = [str(source), "," if explicit_rows else delimiter]
        try:
            try:
                con.execute(sql, params + [True])
            except duckdb.Error as exc:
                # Short rows are padded with NULLs, which DuckDB's parallel reader cannot combine
                # with values spanning lines: read such files with one thread.
                if "parallel" not in str(exc):
                    raise
                con.execute(sql, params + [False])
        except duckdb.Error as exc:
            raise FileRejected(_csv_structure_problems(decoded.path, name, delimiter,
                                                       len(headers), exc)) from None
        row_sql = "_row" if explicit_rows else "rowid + 2 AS _row"
        cols = ", ".join(f'"{c}"' for c in hm.columns)
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{staging}" AS SELECT {row_sql}'
                    f'{", " if cols else ""}{cols} FROM "{staging}_data"')
        staged.rows = con.execute(f'SELECT count(*) FROM "{staging}_data"').fetchall()[0][0]
        return staged
    finally:
        decoded.cleanup()
        if extra is not None:
            extra.cleanup()


def _csv_header(path: Path, name: str) -> str:
    """The first line of a UTF-8 file (without BOM); a header split over lines is refused."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        line = fh.readline(1 << 20)
    if len(line) >= 1 << 20:
        raise _reject(name, "has a header row longer than 1 MB; expected a header row of "
                            "column names", row=1)
    line = line.rstrip("\r\n")
    if not line.strip(WHITESPACE):
        raise _reject(name, "has no header in its first row; expected column names in row 1",
                      row=1)
    if line.count('"') % 2:
        raise _reject(name, "has a header row with an unclosed quote; expected column names "
                            "in row 1", row=1)
    return line


def _rewrite_with_row_numbers(path: Path, delimiter: str, workdir: Path,
                              name: str) -> DecodedText:
    """A copy with each record's spreadsheet row number first and blank records dropped."""
    fd, tmp = tempfile.mkstemp(prefix="import-rows-", suffix=".csv", dir=workdir)
    try:
        with open(path, encoding="utf-8-sig", newline="") as src, \
                os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            reader = csv.reader(src, delimiter=delimiter, quotechar='"', doublequote=True,
                                strict=False)
            writer = csv.writer(dst, delimiter=",", quotechar='"', lineterminator="\n")
            try:
                for row_number, record in enumerate(reader, start=1):
                    if row_number == 1:
                        writer.writerow(["_row", *record])
                    elif any(v.strip(WHITESPACE) for v in record):
                        writer.writerow([row_number, *record])
            except csv.Error as exc:
                raise _reject(name, f"could not be read as CSV near row {reader.line_num}: "
                                    f"{exc}; expected comma, tab or semicolon separated values "
                                    'with "double quotes" around values that contain them',
                              row=reader.line_num) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return DecodedText(Path(tmp), "utf-8", True, False)


def _csv_structure_problems(path: Path, name: str, delimiter: str, width: int,
                            exc: duckdb.Error) -> list[Problem]:
    """Rows DuckDB could not read, located exactly with Python's csv module (error path only)."""
    problems: list[Problem] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', strict=True)
            for row_number, record in enumerate(reader, start=1):
                if row_number > 1 and len(record) > width:
                    problems.append(Problem(
                        name, row_number, None,
                        f"has {len(record)} values but the header has {width} columns; expected "
                        f"at most {width} values separated by {_delimiter_name(delimiter)} "
                        "(quote values that contain the separator)"))
                    if len(problems) >= 1000:
                        break
    except csv.Error as csv_exc:
        problems.append(Problem(name, reader.line_num, None,
                                f"could not be read as CSV: {csv_exc}; expected "
                                '"double quotes" to be closed and doubled ("") inside values'))
    if problems:
        return problems
    text = str(exc)
    match = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(match.group(1)) if match else None
    reason = "the line is malformed"
    if "unterminated quote" in text.lower():
        reason = "a quoted value is never closed"
    elif "maximum line size" in text.lower():
        reason = "the line is too long"
    elif "expected number of columns" in text.lower():
        reason = f"the line does not have {width} values"
    return [Problem(name, line, None, f"could not be read as CSV: {reason}; expected comma, "
                                      "tab or semicolon separated values with \"double quotes\" "
                                      "around values that contain them")]


def _delimiter_name(delimiter: str) -> str:
    return {",": "commas", "\t": "tabs", ";": "semicolons"}[delimiter]


def strip_sql(ref: str) -> str:
    """SQL: the value without surrounding whitespace, NULL when nothing is left. `trim` with a
    character list is slow, so only values that start or end with whitespace pay for it."""
    ws = sql_literal(WHITESPACE)
    return (f"NULLIF(CASE WHEN contains({ws}, left({ref}, 1)) OR contains({ws}, right({ref}, 1)) "
            f"THEN trim({ref}, {ws}) ELSE {ref} END, '')")


def sql_literal(text: str) -> str:
    """A program constant as an SQL string literal (never used for user input)."""
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------- typed read

# The one date spelling the typed read parses itself — DuckDB's strptime with this format takes
# a year, a month and a day of 1–2 digits separated by '-', surrounding ASCII whitespace
# ignored; every value it accepts is read to the same date by the text path. Any other spelling
# makes the read fail, and the file is staged as text.
TYPED_DATE_FORMAT = "%Y-%m-%d"


@dataclass
class TypedCsv:
    """A UTF-8 CSV whose separator and header map are known: enough for `imports` to read it
    with DuckDB straight into typed columns, without staging it as text first."""

    staged: StagedFile              # table, headers, encoding, delimiter, header warnings
    width: int                      # columns in the header row
    positions: dict[str, int]       # canonical column → position in the file

    def read_sql(self, types: dict[str, str]) -> tuple[str, list]:
        """`read_csv(…)` and its parameters: each mapped column named by its canonical name and
        read as the DuckDB type in `types` (VARCHAR when absent), the other columns as
        `_ignored_N`. Strict: a row with too few or too many values, or a value its type cannot
        parse, fails the whole read."""
        names = {position: column for column, position in self.positions.items()}
        columns = ", ".join(
            f"'{names.get(i, f'_ignored_{i}')}': '{types.get(names.get(i, ''), 'VARCHAR')}'"
            for i in range(self.width))
        sql = ("read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', "
               f"escape = '\"', columns = {{{columns}}}, "
               f"dateformat = {sql_literal(TYPED_DATE_FORMAT)}, null_padding = false, "
               "strict_mode = true, parallel = true)")
        return sql, [str(self.staged.path), self.staged.delimiter]


def typed_csv(path: Path, *, kind: str | None = None, mapping: dict | None = None,
              max_mb: int = 200, name: str | None = None) -> TypedCsv | None:
    """The file as a `TypedCsv`, or None when it is not a UTF-8 CSV whose headers map onto one
    table. Everything else — XLSX, JSON, CP932, UTF-16, a refused file, a header problem — is
    left to `stage_file`, which reads it or reports it exactly."""
    path = Path(path)
    name = name or path.name
    try:
        if sniff_format(path, name, max_mb) != "csv":
            return None
        encoding = utf8_encoding(path)
        if encoding is None:
            return None
        header_line = _csv_header(path, name)
        delimiter = detect_delimiter(header_line)
        headers = next(csv.reader([header_line], delimiter=delimiter), [])
        staged = StagedFile(path, name, "csv", "", "", {}, encoding=encoding,
                            delimiter=delimiter)
        hm = _resolve_headers(headers, kind, mapping, name, staged)
    except FileRejected:
        return None
    return TypedCsv(staged, len(headers), dict(hm.columns))


# ---------------------------------------------------------------------------- XLSX and JSON


def _read_xlsx(path: Path, name: str, max_mb: int):
    try:
        with zipfile.ZipFile(path) as zf:
            expanded = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise _reject(name, f"is not a readable XLSX workbook ({exc}); expected an .xlsx file "
                            "saved by Excel, Metabase or Google Sheets") from None
    if expanded > max_mb * MB * XLSX_EXPANSION_LIMIT:
        raise _reject(name, f"expands to {expanded / MB:,.0f} MB when unpacked; expected a "
                            f"workbook of at most {max_mb * XLSX_EXPANSION_LIMIT:,} MB unpacked")
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
        if not names:
            raise _reject(name, "has no sheets; expected a sheet named 'Query result' or data on "
                                "the first sheet")
        sheet = "Query result" if "Query result" in names else names[0]
        cells = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise _reject(name, f"is not a readable XLSX workbook ({_first_line(exc)}); expected an "
                            ".xlsx file saved by Excel, Metabase or Google Sheets") from None
    header_row = None
    for i, row in enumerate(cells):
        if any(_cell_text(v) is not None for v in row):
            header_row = i
            break
    if header_row is None:
        raise _reject(name, f"sheet {show_value(sheet)} is empty; expected a header row and data "
                            "rows")
    headers = [_cell_text(v) or "" for v in cells[header_row]]
    rows = ((i + 1, [_cell_text(v) for v in row]) for i, row in enumerate(cells)
            if i > header_row)
    return sheet, header_row + 1, headers, rows


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
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value).strip(WHITESPACE)
    return text or None


def _read_json(path: Path, name: str, workdir: Path):
    decoded = decode_text(path, name, workdir)
    try:
        text = decoded.path.read_text(encoding="utf-8-sig")
    finally:
        decoded.cleanup()
    stripped = text.lstrip()
    records: list
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        if stripped.startswith("{") and exc.msg == "Extra data":
            records = _json_lines(text, name)
        else:
            raise _reject(name, f"is not valid JSON: {exc.msg} at line {exc.lineno} column "
                                f"{exc.colno}; expected an array of objects like "
                                '[{"account_id": "A1", …}]') from None
    except RecursionError:
        raise _reject(name, "is JSON nested too deeply; expected an array of flat objects") \
            from None
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise _reject(name, "is JSON but not an array; expected an array of objects like "
                            '[{"account_id": "A1", …}]')
    headers: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _reject(name, f"record {i + 1} is {type(record).__name__} {show_value(record)}; "
                                "expected every record to be an object", row=i + 2)
        for key in record:
            headers.setdefault(str(key), None)
    header_list = list(headers)
    rows = ((i + 2, [_cell_text(record.get(h)) for h in header_list])
            for i, record in enumerate(records))
    return decoded.encoding, 1, header_list, rows


def _json_lines(text: str, name: str) -> list:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise _reject(name, f"line {number} is not valid JSON: {exc.msg} at column "
                                f"{exc.colno}; expected one object per line", row=number) from None
    return records


def _rows_to_arrow(hm: HeaderMap, rows) -> pa.Table:
    """`_row` + the mapped columns as strings; rows with no value at all are left out."""
    numbers: list[int] = []
    values: dict[str, list] = {c: [] for c in hm.columns}
    positions = list(hm.columns.items())
    for number, cells in rows:
        picked = [(c, cells[p] if p < len(cells) else None) for c, p in positions]
        if all(v is None for _, v in picked):
            continue
        numbers.append(number)
        for column, value in picked:
            values[column].append(value)
    arrays = {"_row": pa.array(numbers, type=pa.int64())}
    arrays.update({c: pa.array(v, type=pa.string()) for c, v in values.items()})
    return pa.table(arrays)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
