"""Files → staging tables: one CSV, XLSX or JSON file read into a DuckDB table of text columns.

`stage_file` recognises the format by content (and extension), decodes the text (UTF-8, UTF-8
with BOM, CP932, UTF-16), maps the headers onto the canonical columns of one table (SPEC §3),
infers that table from the columns when it is not given, and writes the rows as VARCHAR columns
named by canonical column, plus `_row`: the row number as a spreadsheet user counts it (header =
row 1). Converting and validating the values is `ingest.imports`' job. A CSV is read here
by DuckDB (after one streaming scan that refuses NUL bytes and over-long lines); an XLSX or JSON
file is read by `ingest.sheets` in a child process with a memory cap and a time limit.

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
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from cs_analytics import contract
from cs_analytics.ingest import metabase_format
from cs_analytics.ingest.messages import (
    Choices, FileRejected, Problem, Text, msg, printable, reject, show_value,
)

# Whitespace stripped around every value (the same set in Python and in SQL).
WHITESPACE = " \t\r\n\v\f\u00a0\u3000"
CHUNK = 1 << 24
MB = 1024 * 1024
DELIMITERS = (",", "\t", ";")
# The longest line a CSV may have (DuckDB's `max_line_size`, given explicitly to every read):
# a longer line is refused by the scan that checks the encoding, naming its row, because
# DuckDB's parallel reader drops a last line longer than its buffer without an error.
MAX_LINE_BYTES = 2 * MB
MAX_HEADER_BYTES = 16 * MB
# Files with more columns than this are narrowed to their mapped columns (Python's csv module,
# streaming) before DuckDB reads them: DuckDB is not made to declare 100k+ columns.
MAX_DUCKDB_COLUMNS = 2000
# Python's csv module (the rewrites and the error path) reads values as long as a line.
csv.field_size_limit(MAX_LINE_BYTES + 1)

# Signatures of common files that are not data exports, to refuse them before parsing.
_MAGIC = (
    (b"\xd0\xcf\x11\xe0", "what.xls_or_encrypted"),
    (b"%PDF", "what.pdf"),
    (b"\x1f\x8b", "what.gzip"),
    (b"\x89PNG", "what.png"),
    (b"\xff\xd8\xff", "what.jpeg"),
    (b"GIF8", "what.gif"),
    (b"7z\xbc\xaf", "what.7z"),
    (b"Rar!", "what.rar"),
    (b"{\\rtf", "what.rtf"),
    (b"SQLite format 3", "what.sqlite"),
)


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
    # The day/month order of the file's numeric dates ("mdy" | "dmy"), None when it has none.
    date_order: str | None = None

    def header(self, column: str) -> str:
        """The column as the user named it (for messages)."""
        return self.columns.get(column, column)


# ---------------------------------------------------------------------------- format


def sniff_format(path: Path, name: str, max_mb: int) -> str:
    """csv | xlsx | json, decided from the first bytes and the extension; refuse anything else."""
    if not path.is_file():
        raise _reject(name, msg("file.not_regular" if path.exists() else "file.not_found"))
    size = path.stat().st_size
    if size > max_mb * MB:
        raise _reject(name, msg("file.too_large", size=f"{size / MB:,.1f}", max_mb=max_mb))
    if size == 0:
        raise _reject(name, msg("file.empty"))
    with open(path, "rb") as fh:
        head = fh.read(8192)
    ext = path.suffix.lower() if path.suffix else Path(name).suffix.lower()
    is_zip = head.startswith((b"PK\x03\x04", b"PK\x05\x06"))
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _reject(name, msg("file.magic", what=msg(what)))
    if is_zip:
        if ext in (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"):
            raise _reject(name, msg("file.zip_with_text_ext", ext=printable(ext)))
        return "xlsx"
    if ext in (".xlsx", ".xlsm"):
        raise _reject(name, msg("file.xlsx_not_zip", ext=printable(ext)))
    if ext == ".xls":
        raise _reject(name, msg("file.xls"))
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not utf16:
        raise _reject(name, msg("file.binary"))
    text_start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if re.match(rb"(?i)<(!doctype html|html|\?xml)", text_start):
        raise _reject(name, msg("file.html"))
    if ext in (".json", ".jsonl", ".ndjson"):
        if not text_start.startswith((b"[", b"{")):
            raise _reject(name, msg("file.json_ext_not_json", ext=printable(ext)))
        return "json"
    if ext not in (".csv", ".tsv", ".txt") and text_start.startswith((b"[", b"{")):
        return "json"
    return "csv"


def _reject(name: str, text: Text, row: int | None = None,
            column: str | None = None) -> FileRejected:
    return reject(name, text, row, column)


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


class _Guard:
    """Watches UTF-8 bytes go by for what must never reach DuckDB: a NUL byte (text never has
    one; a file with one is binary or damaged) and a line longer than MAX_LINE_BYTES (refused
    by name rather than left to DuckDB, whose parallel reader drops a last line longer than its
    buffer). Each check costs a memchr or a few memrchr per chunk."""

    def __init__(self, limit: int | None = MAX_LINE_BYTES):
        self.limit = limit
        self.offset = 0
        self.line_start = 0
        self.nul_at: int | None = None
        self.long_line: tuple[int, int] | None = None  # (offset of its start, length)
        self._measuring = False  # a long line was found; its end is still to come

    def feed(self, data: bytes) -> None:
        if self.nul_at is None:
            nul = data.find(b"\x00")
            if nul >= 0:
                self.nul_at = self.offset + nul
        if self._measuring:
            end = data.find(b"\n")
            if end >= 0:
                self.long_line = (self.line_start, self.offset + end - self.line_start)
                self._measuring = False
        elif self.long_line is None and self.limit is not None:
            self._lines(data)
        self.offset += len(data)

    def _lines(self, data: bytes) -> None:
        start = self.offset
        while True:
            # the current line must end within `limit` bytes of its start
            window_end = self.line_start + self.limit + 1 - start
            lo = max(0, self.line_start - start)
            if window_end > len(data):
                last = data.rfind(b"\n", lo)
                if last >= 0:
                    self.line_start = start + last + 1
                return
            newline = data.rfind(b"\n", lo, window_end)
            if newline < 0:
                end = data.find(b"\n", window_end)
                if end >= 0:
                    self.long_line = (self.line_start, start + end - self.line_start)
                else:
                    self.long_line = (self.line_start, start + len(data) - self.line_start)
                    self._measuring = True
                return
            self.line_start = start + newline + 1

    def finish(self) -> None:
        length = self.offset - self.line_start
        if self._measuring:
            self.long_line = (self.line_start, length)
            self._measuring = False
        if self.long_line is None and self.limit is not None and length > self.limit:
            self.long_line = (self.line_start, length)

    def check(self, path: Path, name: str) -> None:
        """Refuse the file for the first thing found (positions in `path`'s bytes)."""
        if self.nul_at is not None:
            raise _reject(name, msg("file.nul", pos=self.nul_at + 1,
                                    line=_line_of(path, self.nul_at)))
        if self.long_line is not None:
            at, length = self.long_line
            raise _reject(name, msg("csv.line_too_long", size=f"{length / MB:,.1f}",
                                    max_mb=self.limit // MB), row=_line_of(path, at))


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


def decode_text(path: Path, name: str, workdir: Path, csv: bool = True) -> DecodedText:
    """Find the encoding (BOM → UTF-8 with BOM / UTF-16; strict UTF-8; else CP932) in one
    streaming pass; CP932 and UTF-16 are transcoded to a temporary UTF-8 file in chunks. A NUL
    byte anywhere refuses the file, and so does, in a CSV, a line longer than MAX_LINE_BYTES
    (naming its line)."""
    line_limit = MAX_LINE_BYTES if csv else None
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(path, name, "utf-16", workdir, line_limit)
    else:
        encoding = "utf-8"
    layout, guard = _Layout(), _Guard(line_limit)
    start = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    bad = _first_non_utf8(path, start, (layout, guard))
    if bad is None:
        guard.finish()
        _check_guard(guard, path, name, start)
        return DecodedText(path, encoding, False, layout.has_inner_blank_line)
    if encoding == "utf-8-sig":
        raise _not_text(path, name, "encoding.utf8", bad)
    return _transcode(path, name, "cp932", workdir, line_limit)


def _check_guard(guard: _Guard, path: Path, name: str, start: int) -> None:
    """`guard.check` with positions counted from the start of the file (after `start` bytes
    of BOM)."""
    if guard.nul_at is not None:
        guard.nul_at += start
    if guard.long_line is not None:
        guard.long_line = (guard.long_line[0] + start, guard.long_line[1])
    guard.check(path, name)


def utf8_encoding(path: Path) -> str | None:
    """'utf-8-sig' or 'utf-8' when the whole file is UTF-8 text without a NUL byte or an
    over-long line, else None — one pass without copying, and without the blank-line scan
    (pure ASCII chunks are not even decoded)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    bom = head.startswith(codecs.BOM_UTF8)
    guard = _Guard()
    if _first_non_utf8(path, len(codecs.BOM_UTF8) if bom else 0, (guard,)) is not None:
        return None
    guard.finish()
    if guard.nul_at is not None or guard.long_line is not None:
        return None
    return "utf-8-sig" if bom else "utf-8"


def _first_non_utf8(path: Path, start: int, watchers=()) -> int | None:
    """The position of the first byte from `start` that is not valid UTF-8, or None; the bytes
    go through each of `watchers` (`feed`) on the way."""
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
            for watcher in watchers:
                watcher.feed(chunk)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset - 1
    return None


def _transcode(path: Path, name: str, encoding: str, workdir: Path,
               line_limit: int | None) -> DecodedText:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    layout, guard = _Layout(), _Guard(line_limit)
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
                    raise _not_text(path, name, "encoding.utf8_or_cp932" if encoding == "cp932"
                                    else "encoding.utf16", offset - pending + exc.start) from None
                if text:
                    data = text.removeprefix("\ufeff").encode("utf-8") if offset == 0 else \
                        text.encode("utf-8")
                    layout.feed(data)
                    guard.feed(data)
                    dst.write(data)
                if final:
                    break
                offset += len(chunk)
        guard.finish()
        guard.check(Path(tmp), name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return DecodedText(Path(tmp), encoding, True, layout.has_inner_blank_line)


def _not_text(path: Path, name: str, expected: str, pos: int) -> FileRejected:
    pos = max(pos, 0)
    line = _line_of(path, pos)
    return _reject(name, msg("file.not_text", expected=msg(expected), pos=pos + 1, line=line))


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
    """Each header's canonical column in `table`: the header itself (mapping, canonical name,
    alias), else the field a Metabase display name stands for ("Sum of Deliveries",
    "Date: Day", "Amount (¥)")."""
    spec = contract.TABLES[table]
    names = set(spec.column_names)
    result = HeaderMap(table, {}, {}, [], [])
    for i, header in enumerate(headers):
        if not header.strip(WHITESPACE):
            continue  # a column without a header (Excel leaves empty trailing columns)
        canonical = contract.canonical_column(header, table, mapping)
        if canonical not in names:
            canonical = next((c for c in (contract.canonical_column(field, table, mapping)
                                          for field in metabase_format.field_names(header))
                              if c in names), None)
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


def infer_kind(headers: list[str], mapping: dict | None, name: str) -> str:
    """The canonical table a file's columns describe; unknown or ambiguous is a problem."""
    matches: list[tuple[int, str]] = []
    for tier, table, groups in KIND_RULES:
        mapped = set(map_headers(headers, table, mapping).columns)
        if all(any(c in mapped for c in group) for group in groups):
            matches.append((tier, table))
    shown = ", ".join(show_value(h, 40) for h in headers[:30] if h.strip(WHITESPACE))
    shown_text = msg("header.more_columns", shown=shown, n=f"{len(headers):,}") \
        if len(headers) > 30 else shown
    if not matches:
        raise _reject(name, msg("kind.unknown", shown=shown_text or msg("kind.none")), row=1)
    best = min(t for t, _ in matches)
    tables = [table for tier, table in matches if tier == best]
    if len(tables) > 1:
        raise _reject(name, msg("kind.ambiguous", shown=shown_text,
                                tables=Choices(tuple(tables), ",")), row=1)
    return tables[0]


def _header_problems(name: str, hm: HeaderMap) -> list[Problem]:
    problems = [Problem(name, 1, second, msg("header.duplicate", second=show_value(second),
                                             first=show_value(first), canonical=canonical))
                for canonical, first, second in hm.duplicates]
    spec = contract.TABLES[hm.table]
    missing = [c for c in spec.required if c not in hm.columns]
    suggested = dict(zip(missing, _unmapped_candidates(hm)))
    for column in missing:
        header = suggested.get(column)
        if header is None:
            problems.append(Problem(name, 1, column,
                                    msg("header.missing", names=_names_for(column))))
        else:
            problems.append(Problem(name, 1, column, msg(
                "header.missing_with_mapping", names=_names_for(column),
                header=show_value(header), table=hm.table, source=header, column=column,
                lines=f"{_toml_string(header)} = {_toml_string(column)}")))
    if hm.table == "contracts" and "amount" not in hm.columns and "mrr" not in hm.columns:
        problems.append(Problem(name, 1, "amount", msg(
            "header.amount_and_mrr_missing", amount=_names_for("amount", "/"),
            mrr=_names_for("mrr", "/"))))
    return problems


def _unmapped_candidates(hm: HeaderMap) -> list[str]:
    """Headers that could be a missing column: the unknown ones, Metabase aggregations
    ("Count", "Sum of …") first."""
    aggregates = [h for h in hm.unknown
                  if re.match(r"(?i)^\s*(count|sum|cumulative|distinct|average|min|max|median)\b", h)]
    return aggregates + [h for h in hm.unknown if h not in aggregates]


def suggested_mapping(problems) -> str | None:
    """The `[import.mapping]` TOML that the missing-column problems suggest, ready to paste,
    or None when they suggest nothing."""
    tables: dict[str, dict[str, str]] = {}
    for problem in problems:
        if problem.text.key == "header.missing_with_mapping":
            values = dict(problem.text.values)
            tables.setdefault(values["table"], {})[values["source"]] = values["column"]
    if not tables:
        return None
    return "\n\n".join(f"[import.mapping.{table}]\n" + "\n".join(
        f"{_toml_string(h)} = {_toml_string(c)}" for h, c in headers.items())
        for table, headers in tables.items())


def _toml_string(text: str) -> str:
    return '"' + printable(text).replace('"', '\\"') + '"'


def _names_for(column: str, word: str = "or") -> Choices:
    aliases = [a for a, c in contract.ALIASES.items() if c == column]
    return Choices(tuple([column] + aliases[:5]), word)


# ---------------------------------------------------------------------------- staging


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, staging: str, *,
               kind: str | None = None, mapping: dict | None = None, max_mb: int = 200,
               name: str | None = None, workdir: Path | None = None,
               limits: ReadLimits | None = None) -> StagedFile:
    """Read one file into the view `staging` (`_row` + canonical VARCHAR columns): a CSV with
    DuckDB here, an XLSX or JSON file in a child process within `limits`.

    Raises FileRejected with every file-level problem (format, encoding, headers, structure).
    """
    path = Path(path)
    name = name or path.name
    fmt = sniff_format(path, name, max_mb)
    workdir = Path(workdir or tempfile.gettempdir())
    if fmt == "csv":
        return _stage_csv(con, path, staging, kind, mapping, name, workdir)
    limits = limits or ReadLimits(upload_max_mb=max_mb)
    return _stage_in_child(con, path, staging, fmt, kind, mapping, name, workdir, limits)


def resolve_headers(headers: list[str], kind: str | None, mapping: dict | None, name: str,
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
        more = msg("header.ignored_more", n=len(hm.unknown) - 20) if len(hm.unknown) > 20 else ""
        staged.warnings.append(Problem(name, 1, None, msg("header.ignored", table=table,
                                                          shown=shown, more=more)))
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
        hm = resolve_headers(headers, kind, mapping, name, staged)
        source, explicit_rows = decoded.path, False
        positions = dict(hm.columns)
        if len(headers) > MAX_DUCKDB_COLUMNS:
            # Only the mapped columns go on, each at its new position after `_row`.
            keep = sorted(positions.values())
            extra = _rewrite_with_row_numbers(decoded.path, delimiter, workdir, name, keep,
                                              len(headers))
            positions = {c: keep.index(p) for c, p in positions.items()}
            source, explicit_rows, width = extra.path, True, len(keep) + 1
        elif decoded.has_inner_blank_line:
            extra = _rewrite_with_row_numbers(decoded.path, delimiter, workdir, name)
            source, explicit_rows, width = extra.path, True, len(headers) + 1
        else:
            width = len(headers)
        names = [f"c{i}" for i in range(width)]
        columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
        offset = 1 if explicit_rows else 0
        text_kinds = ("text", "enum")
        spec = contract.TABLES[hm.table]
        select = []
        for column, position in positions.items():
            ref = f"c{position + offset}"
            if spec.column(column).kind in text_kinds:
                select.append(f'{strip_sql(ref)} AS "{column}"')
            else:
                select.append(f'{ref} AS "{column}"')
        if explicit_rows:
            select.insert(0, "CAST(c0 AS BIGINT) AS _row")
        sql = (f'CREATE OR REPLACE TEMP TABLE "{staging}_data" AS SELECT {", ".join(select)} '
               f"FROM read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', "
               f"escape = '\"', columns = {columns}, null_padding = true, "
               f"max_line_size = {MAX_LINE_BYTES}, parallel = ?)")
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
        except duckdb.InterruptException:
            raise
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
        line = fh.readline(MAX_HEADER_BYTES)
    if len(line) >= MAX_HEADER_BYTES:
        raise _reject(name, msg("csv.header_too_long", mb=MAX_HEADER_BYTES // MB), row=1)
    line = line.rstrip("\r\n")
    if not line.strip(WHITESPACE):
        raise _reject(name, msg("csv.no_header"), row=1)
    if line.count('"') % 2:
        raise _reject(name, msg("csv.header_unclosed_quote"), row=1)
    return line


def _rewrite_with_row_numbers(path: Path, delimiter: str, workdir: Path, name: str,
                              keep: list[int] | None = None,
                              width: int | None = None) -> DecodedText:
    """A copy with each record's spreadsheet row number first and blank records dropped; with
    `keep`, only the values at those positions (a record with more than `width` values is
    then a problem here, since DuckDB no longer sees it whole)."""
    fd, tmp = tempfile.mkstemp(prefix="import-rows-", suffix=".csv", dir=workdir)
    problems: list[Problem] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as src, \
                os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            reader = csv.reader(src, delimiter=delimiter, quotechar='"', doublequote=True,
                                strict=False)
            writer = csv.writer(dst, delimiter=",", quotechar='"', lineterminator="\n")
            try:
                for row_number, record in enumerate(reader, start=1):
                    if keep is not None:
                        if row_number > 1 and len(record) > width and len(problems) < 1000:
                            problems.append(_too_many_values(name, reader.line_num,
                                                             len(record), width, delimiter))
                        record = [record[i] if i < len(record) else "" for i in keep]
                    if row_number == 1:
                        writer.writerow(["_row", *record])
                    elif any(v.strip(WHITESPACE) for v in record):
                        writer.writerow([row_number, *record])
            except csv.Error as exc:
                raise _reject(name, msg("csv.unreadable_near", row=reader.line_num,
                                        detail=str(exc)), row=reader.line_num) from None
        if problems:
            raise FileRejected(problems)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return DecodedText(Path(tmp), "utf-8", True, False)


def _too_many_values(name: str, row: int, n: int, width: int, delimiter: str) -> Problem:
    return Problem(name, row, None, msg("csv.too_many_values", n=n, width=width,
                                        separator=msg(_delimiter_name(delimiter))))


def _csv_structure_problems(path: Path, name: str, delimiter: str, width: int,
                            exc: duckdb.Error) -> list[Problem]:
    """Rows DuckDB could not read, located exactly with Python's csv module (error path only)."""
    problems: list[Problem] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', strict=True)
            for row_number, record in enumerate(reader, start=1):
                if row_number > 1 and len(record) > width:
                    problems.append(_too_many_values(name, row_number, len(record), width,
                                                     delimiter))
                    if len(problems) >= 1000:
                        break
    except csv.Error as csv_exc:
        problems.append(Problem(name, reader.line_num, None,
                                msg("csv.bad_quotes", detail=str(csv_exc))))
    if problems:
        return problems
    text = str(exc)
    match = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(match.group(1)) if match else None
    reason = msg("csv.reason.malformed")
    if "unterminated quote" in text.lower():
        reason = msg("csv.reason.unclosed")
    elif "maximum line size" in text.lower():
        reason = msg("csv.reason.too_long")
    elif "expected number of columns" in text.lower():
        reason = msg("csv.reason.width", width=width)
    return [Problem(name, line, None, msg("csv.malformed", reason=reason))]


def _delimiter_name(delimiter: str) -> str:
    return {",": "separator.commas", "\t": "separator.tabs",
            ";": "separator.semicolons"}[delimiter]


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
               f"strict_mode = true, max_line_size = {MAX_LINE_BYTES}, parallel = true)")
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
        hm = resolve_headers(headers, kind, mapping, name, staged)
    except FileRejected:
        return None
    if len(headers) > MAX_DUCKDB_COLUMNS:
        return None
    return TypedCsv(staged, len(headers), dict(hm.columns))


# ---------------------------------------------------------------------------- XLSX and JSON


@dataclass(frozen=True)
class ReadLimits:
    """What reading one XLSX or JSON file may take: the size limit the workbook caps are
    relative to, and the child process's memory and time (import.* settings)."""

    upload_max_mb: int = 200
    memory_mb: int = 768
    timeout_seconds: float = 600.0


_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_MEMORY_HINTS = ("memory allocation", "MemoryError", "Cannot allocate memory", "std::bad_alloc",
                 "out of memory", "capacity overflow")


def _stage_in_child(con, path: Path, staging: str, fmt: str, kind, mapping, name: str,
                    workdir: Path, limits: ReadLimits) -> StagedFile:
    """Read an XLSX or JSON file in a child process (`ingest.sheets`) with a memory cap and a
    time limit, and load the rows it wrote into the staging table. Whatever the child does —
    finish, refuse the file, run out of memory or time, abort in native code — the answer is
    the file's rows or a FileRejected naming the file."""
    with tempfile.TemporaryDirectory(prefix="import-read-", dir=workdir) as folder:
        out = Path(folder) / "rows.arrow"
        request = Path(folder) / "request.json"
        request.write_text(json.dumps({
            "path": str(path.resolve()), "name": name, "format": fmt, "kind": kind,
            "mapping": mapping or {}, "upload_max_mb": limits.upload_max_mb,
            "memory_mb": limits.memory_mb, "out": str(out), "workdir": str(workdir.resolve()),
        }, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "cs_analytics.ingest.sheets", str(request)],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=limits.timeout_seconds,
                env=env, cwd=folder)
        except subprocess.TimeoutExpired:
            raise _reject(name, msg("file.unreadable", reason=msg(
                "reader.timeout", seconds=int(limits.timeout_seconds)))) from None
        answer = Path(str(out) + ".json")
        if done.returncode != 0 or not answer.exists():
            raise _reject(name, msg("file.unreadable",
                                    reason=_child_failure(done, limits)))
        result = json.loads(answer.read_text(encoding="utf-8"))
        if result["problems"]:
            raise FileRejected([Problem.from_json(p) for p in result["problems"]])
        staged = StagedFile(path, name, fmt, result["table"], staging, result["columns"],
                            rows=result["rows"], encoding=result["encoding"],
                            sheet=result["sheet"],
                            warnings=[Problem.from_json(w) for w in result["warnings"]])
        with pa.memory_map(str(out)) as source:
            table = pa.ipc.open_file(source).read_all()
            con.register(f"{staging}_arrow", table)
            try:
                con.execute(f'CREATE OR REPLACE TEMP TABLE "{staging}_data" AS '
                            f'SELECT * FROM "{staging}_arrow"')
            finally:
                con.unregister(f"{staging}_arrow")
                del table
    con.execute(f'CREATE OR REPLACE TEMP VIEW "{staging}" AS SELECT * FROM "{staging}_data"')
    return staged


def _child_failure(done: subprocess.CompletedProcess, limits: ReadLimits) -> Text:
    """Why the reading child stopped without an answer, in one sentence."""
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode == 3 or any(hint in stderr for hint in _MEMORY_HINTS):
        return msg("reader.memory", mb=limits.memory_mb)
    if done.returncode < 0:
        try:
            detail = f"signal {-done.returncode} ({signal.Signals(-done.returncode).name})"
        except ValueError:
            detail = f"signal {-done.returncode}"
    else:
        lines = [line for line in stderr.splitlines() if line.strip()]
        detail = f"exit code {done.returncode}" + (f": {printable(lines[-1][:200])}"
                                                   if lines else "")
    return msg("reader.crashed", detail=detail)
