"""File import: validate canonical files together, then merge them into one new snapshot.

    result = import_files(settings, store, ["accounts.csv", "contracts.xlsx"])

Used by the CLI `import`, the Data page upload and the Metabase inbox. Every file becomes typed
rows, checked in SQL, and every problem is reported as `file:row:column: what was wrong, what
was expected` (up to `import.max_errors`). Only when no file has a problem are the rows merged
into a build based on the current snapshot (a key that exists is replaced, `replace=True`
replaces whole tables) and published once.

Two ways in. The text path: the file is staged as text (`files.stage_file`), then SQL
converts every spelling SPEC §3 accepts and keeps the raw text of what it cannot convert — it
is where every message comes from. The typed read, tried first: a UTF-8 CSV read by DuckDB
straight into typed columns — into the build's canonical table itself when that table is
empty — which keeps only values spelled so that the text path would read them to the same
value (digits, `YYYY-MM-DD`, …) and hands any other file to the text path. When the checks find
any problem, or a warning about a row of a typed file's table, every file is read again the
text way, so each message is exactly the text path's (docs/data-contract.md, "Performance").

Everything happens inside the build's own DuckDB connection (temporary tables, dropped before
publishing). `read_and_validate` does the same checks in a private in-memory database, without
publishing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import duckdb
import pyarrow as pa

from cs_analytics import contract
from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.ingest import metabase_format as mb
from cs_analytics.ingest.files import (
    MB, WHITESPACE, FileRejected, ReadLimits, StagedFile, sql_literal as lit, stage_file,
    strip_sql, suggested_mapping, typed_csv,
)
from cs_analytics.ingest.messages import Choices, Problem, Text, msg, printable, show_value
from cs_analytics.warehouse.build import Build, PublishResult, open_build
from cs_analytics.warehouse.store import Store

Progress = Callable[[str], None]

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)
TRUE_WORDS = ("true", "1", "yes", "はい")
FALSE_WORDS = ("false", "0", "no", "いいえ")
# NFKC for the characters that matter when reading numbers, dates and codes: full-width ASCII
# (０-９, ，, ．, －, Ａ-Ｚ …), the ideographic space and the full-width yen sign.
_FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\uffe5"
_HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " \u00a5"
# The duplicate-key pre-check for a key ending in a date keeps one bit per day per group; above
# this estimated size it leaves the question to the plain GROUP BY.
DAY_BITS_MAX_BYTES = 128 * MB


def _quiet(_message: str) -> None:
    pass


# ---------------------------------------------------------------------------- results


@dataclass
class TableChange:
    """What an import did to one canonical table."""

    table: str
    rows: int              # rows in the files (identical duplicate rows counted once)
    inserted: int          # keys that were not there before
    updated: int           # keys that were there with other values
    unchanged: int         # keys that were there with the same values
    removed: int = 0       # replace: rows of the previous table not in the files
    replaced: bool = False


@dataclass
class ImportResult:
    files: list[StagedFile]
    tables: dict[str, TableChange]
    warnings: list[Problem]
    published: PublishResult
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class ValidatedImport:
    """Files staged, converted and checked in `con`; `problems` empty means ready to merge."""

    con: duckdb.DuckDBPyConnection
    files: list[StagedFile]
    problems: list[Problem]         # the first `max_errors`, in file/row order
    total_problems: int
    warnings: list[Problem]
    typed: dict[str, str]           # canonical table → temp table (or view) of its rows
    identical_duplicates: dict[str, int]
    owns_connection: bool = False
    temp_objects: list[tuple[str, str]] = field(default_factory=list)
    # True when a typed read found something and every file was read again as text.
    read_again_as_text: bool = False
    settings: Settings | None = None

    @property
    def ok(self) -> bool:
        return self.total_problems == 0

    def rows(self, table: str) -> int:
        return sum(f.rows for f in self.files if f.table == table)

    def raise_if_failed(self) -> None:
        if self.ok:
            return
        names = sorted({printable(p.file) for p in self.problems})
        more = self.total_problems - len(self.problems)
        files = ", ".join(names)
        if more:
            text = msg("import.failed_more", more=more, n=self.total_problems, files=files)
        elif self.total_problems == 1:
            text = msg("import.failed_one", files=files)
        else:
            text = msg("import.failed", n=self.total_problems, files=files)
        raise ValidationFailed(str(text), self.problems, text=text,
                               mapping=suggested_mapping(self.problems))

    def close(self) -> None:
        """Drop the temporary tables (or close the private connection)."""
        if self.owns_connection:
            self.con.close()
            return
        for kind, name in reversed(self.temp_objects):
            self.con.execute(f'DROP {kind} IF EXISTS "{name}"')
        self.temp_objects.clear()

    def discard(self) -> None:
        """Undo everything the validation did in the connection: the temporary tables, and
        the rows read straight into canonical tables (which were empty before)."""
        self.close()
        for table in sorted({f.table for f in self.files if _read_into_canonical(f)}):
            _empty_canonical_table(self.con, table)

    def __enter__(self) -> "ValidatedImport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------- public API


class FileSource:
    """Files (CSV, XLSX, JSON) as a source: validated together against the build's current
    tables and merged into it (a key that exists is replaced; `replace=True` replaces whole
    tables). `per_file` gives each file a (kind, mapping): kind None is inferred, mapping
    ({table: {header: column}}) None is `import.mapping` — a Metabase card's display names,
    say. Every problem raises ValidationFailed and nothing is merged; warnings are added to the
    build. `typed_read=False` stages every file as text (same result, slower; for comparisons).
    """

    def __init__(self, settings: Settings, paths: Sequence[str | Path], *,
                 kind: str | None = None, replace: bool = False,
                 per_file: Sequence[tuple[str | None, dict | None]] | None = None,
                 display_names: Sequence[str] | None = None, typed_read: bool = True,
                 progress: Progress | None = None, name: str = "import"):
        self.paths, self.names = _check_arguments(paths, display_names, kind)
        if per_file is not None and len(per_file) != len(self.paths):
            raise CsAnalyticsError("per_file must give one (kind, mapping) per file")
        self.settings, self.kind, self.replace, self.per_file = settings, kind, replace, per_file
        self.typed_read, self.name = typed_read, name
        self.progress = progress or _quiet
        self.timings: dict[str, float] = {}  # read_and_validate, merge (seconds)

    def load_into(self, build: Build
                  ) -> tuple[list[StagedFile], dict[str, TableChange], list[Problem]]:
        mark = time.monotonic()
        validated = _read_and_validate(build.con, self.settings, self.paths, self.names,
                                       self.kind, self.replace, self.progress,
                                       existing=_BuildTables(), per_file=self.per_file,
                                       typed_read=self.typed_read)
        try:
            self.timings["read_and_validate"] = time.monotonic() - mark
            validated.raise_if_failed()
            mark = time.monotonic()
            changes = merge_validated(build, validated, replace=self.replace,
                                      progress=self.progress)
            self.timings["merge"] = time.monotonic() - mark
        finally:
            validated.close()
        for warning in validated.warnings:
            build.warn(str(warning))
        return validated.files, changes, validated.warnings

    def published(self, loaded) -> None:
        pass


def import_files(settings: Settings, store: Store, paths: Sequence[str | Path],
                 kind: str | None = None, replace: bool = False, progress: Progress | None = None,
                 source: str = "import", display_names: Sequence[str] | None = None, *,
                 typed_read: bool = True) -> ImportResult:
    """Validate files together and publish them merged into the current data, or raise
    ValidationFailed with every problem and publish nothing. `typed_read=False` stages every
    file as text (same result, slower; for comparisons).

    `timings` (seconds): open (lock, refresh log, new snapshot file with the current data),
    read_and_validate, merge (into the canonical tables, written to the file by a checkpoint),
    ingest (the three together: from the call to the imported tables written in the new
    snapshot file), publish (the model rebuild, checks and pointer switch)."""
    progress = progress or _quiet
    files = FileSource(settings, paths, kind=kind, replace=replace, display_names=display_names,
                       typed_read=typed_read, progress=progress, name=source)
    timings: dict[str, float] = {}
    started = time.monotonic()
    with open_build(settings, store, source=source, base="current", progress=progress) as build:
        timings["open"] = time.monotonic() - started
        staged, changes, warnings = files.load_into(build)
        mark = time.monotonic()
        progress("writing the imported tables")
        # Written now rather than by publish's checkpoint, so that `ingest` ends with the data on
        # disk, as the plain DuckDB read it is compared with does (docs/benchmarks.md).
        build.con.execute("CHECKPOINT")
        timings["read_and_validate"] = files.timings["read_and_validate"]
        timings["merge"] = files.timings["merge"] + time.monotonic() - mark
        timings["ingest"] = time.monotonic() - started
        mark = time.monotonic()
        published = build.publish()
        timings["publish"] = time.monotonic() - mark
    return ImportResult(staged, changes, warnings, published, timings)


def read_and_validate(settings: Settings, store: Store, paths: Sequence[str | Path],
                      kind: str | None = None, replace: bool = False,
                      progress: Progress | None = None,
                      display_names: Sequence[str] | None = None, *,
                      typed_read: bool = True) -> ValidatedImport:
    """Stage and check files without publishing (references resolved against the files and the
    current snapshot). Use as a context manager; `.problems`, `.warnings`, `.files`."""
    paths, names = _check_arguments(paths, display_names, kind)
    con = duckdb.connect()
    try:
        validated = _read_and_validate(con, settings, paths, names, kind, replace,
                                       progress or _quiet, existing=_SnapshotTables(store),
                                       typed_read=typed_read)
    except BaseException:
        con.close()
        raise
    validated.owns_connection = True
    return validated


def merge_validated(build: Build, validated: ValidatedImport, *, replace: bool = False,
                    progress: Progress | None = None) -> dict[str, TableChange]:
    """Merge validated rows into a build whose connection staged them; keep the raw rows of
    tables up to `import.raw_rows_max` rows, and the list of files."""
    progress = progress or _quiet
    if not validated.ok:
        validated.raise_if_failed()
    con = build.con
    changes: dict[str, TableChange] = {}
    for table in contract.TABLE_ORDER:
        if table not in validated.typed:
            continue
        progress(f"merging {table}")
        changes[table] = _merge_table(build, validated, table, replace)
    for table in contract.TABLE_ORDER:
        files = [(i, f) for i, f in enumerate(validated.files) if f.table == table]
        if not files or validated.rows(table) > build.settings.import_.raw_rows_max:
            continue
        parts, params = [], []
        for _, f in files:
            parts.append(f'SELECT ? AS _file, * FROM "{f.staging}"')
            params.append(f.name)
        build.save_raw(f"import_{table}", " UNION ALL BY NAME ".join(parts), params)
    summary = pa.table({
        "file": [f.name for f in validated.files],
        "format": [f.format for f in validated.files],
        "encoding": [f.encoding for f in validated.files],
        "delimiter": [f.delimiter for f in validated.files],
        "sheet": [f.sheet for f in validated.files],
        "table": [f.table for f in validated.files],
        "rows": pa.array([f.rows for f in validated.files], type=pa.int64()),
    })
    con.register("imp_file_summary", summary)
    try:
        build.save_raw("import_files", "SELECT * FROM imp_file_summary")
    finally:
        con.unregister("imp_file_summary")
    return changes


# ---------------------------------------------------------------------------- reading


def _check_arguments(paths, display_names, kind):
    paths = [Path(p) for p in paths]
    if not paths:
        text = msg("import.no_files")
        raise CsAnalyticsError(str(text), text=text)
    if kind is not None and kind not in contract.TABLES:
        raise CsAnalyticsError(f"unknown kind {kind!r}; expected one of "
                               f"{', '.join(contract.TABLE_ORDER)}")
    names = list(display_names) if display_names is not None else [p.name for p in paths]
    if len(names) != len(paths):
        raise CsAnalyticsError("display_names must name each file once")
    for path, name in zip(paths, names):
        if not path.exists():
            missing = Problem(name, None, None, msg("file.not_found"))
            raise CsAnalyticsError(str(missing), text=_Located(missing))
    return paths, names


@dataclass(frozen=True)
class _Located:
    """A problem rendered with its place (file:row:column: message), as an error's text."""

    problem: Problem

    def render(self, lang: str = "en") -> str:
        return self.problem.line(lang)


def _read_and_validate(con, settings: Settings, paths: list[Path], names: list[str],
                       kind: str | None, replace: bool, progress: Progress,
                       existing: "_ExistingTables",
                       per_file: Sequence[tuple[str | None, dict | None]] | None = None,
                       typed_read: bool = True) -> ValidatedImport:
    """`per_file`: a (kind, mapping) per file overriding `kind` and `import.mapping`.
    `typed_read`: try the typed read for each file first (see the module docstring)."""
    validated = ValidatedImport(con, [], [], 0, [], {}, {}, settings=settings)
    collector = _Collector(settings.import_.max_errors)
    register_functions(con)
    try:
        for i, (path, name) in enumerate(zip(paths, names)):
            progress(f"reading {printable(name)}")
            staging = f"imp_stage_{i}"
            file_kind, mapping = per_file[i] if per_file else (kind, None)
            mapping = settings.import_.mapping if mapping is None else mapping
            staged = None
            if typed_read:
                staged = _read_typed(con, settings, validated, existing, path, name, file_kind,
                                     mapping, staging, f"imp_read_{i}")
            if staged is None:
                validated.temp_objects += [("TABLE", f"{staging}_data"), ("VIEW", staging)]
                try:
                    staged = stage_file(con, path, staging, kind=file_kind, mapping=mapping,
                                        max_mb=settings.import_.upload_max_mb, name=name,
                                        limits=read_limits(settings))
                    staged.date_order = _date_order(con, staged, settings.import_.date_order)
                except FileRejected as exc:
                    collector.add_rejected(i, exc.problems)
                    continue
            validated.files.append(staged)
            collector.rank.append(i)
            collector.tables.append(staged.table)
            collector.warn_all(len(validated.files) - 1, staged.warnings)
            progress(f"{printable(name)}: {staged.rows:,} rows of {staged.table} "
                     f"({_describe(staged)})")
        file_index = {id(f): i for i, f in enumerate(validated.files)}
        existing.prepare(con, validated)
        for table in contract.TABLE_ORDER:
            files = [f for f in validated.files if f.table == table]
            if not files:
                continue
            progress(f"checking {sum(f.rows for f in files):,} {table} rows")
            typed = f"imp_typed_{table}"
            indexed = [(file_index[id(f)], f) for f in files]
            if all(f.typed for f in files):
                # already converted: a view, not a copy
                validated.temp_objects.append(("VIEW", typed))
                con.execute(f'CREATE OR REPLACE TEMP VIEW "{typed}" AS '
                            + " UNION ALL ".join(_typed_read_rows_sql(table, index, f)
                                                 for index, f in indexed))
            else:
                validated.temp_objects.append(("TABLE", typed))
                con.execute(_typed_table_sql(typed, table, indexed, Bounds.of(settings)))
            validated.typed[table] = typed
            _check_values(con, typed, table, validated, collector)
            validated.identical_duplicates[table] = _check_duplicates(con, typed, table,
                                                                      validated, collector)
        _check_references(con, validated, collector, existing, replace)
        _check_contract_terms(con, validated, collector)
    except BaseException:
        validated.discard()
        raise
    validated.problems, validated.total_problems = collector.problems()
    validated.warnings = collector.warnings()
    typed_tables = {f.table for f in validated.files if f.typed}
    if typed_tables and (collector.total or typed_tables & collector.tables_with_row_warnings):
        # The typed read does not know row numbers for sure (blank lines) and leaves values in
        # other spellings to the text path: every message comes from the text path.
        validated.discard()
        progress("reading the files again as text, to report each finding exactly")
        again = _read_and_validate(con, settings, paths, names, kind, replace, progress,
                                   existing, per_file, typed_read=False)
        again.read_again_as_text = True
        return again
    return validated


def _read_typed(con, settings: Settings, validated: ValidatedImport, existing: "_ExistingTables",
                path: Path, name: str, kind: str | None, mapping: dict, staging: str,
                target: str) -> StagedFile | None:
    """The typed read of one file (module docstring): into the canonical table when it is
    empty and no other file of this import went there, else into the temporary table `target`.
    None when the file is not a UTF-8 CSV mapping onto one table, or some value is not in the
    plain spelling (the caller stages it as text)."""
    source = typed_csv(path, kind=kind, mapping=mapping, max_mb=settings.import_.upload_max_mb,
                       name=name)
    if source is None:
        return None
    staged = source.staged
    spec = contract.TABLES[staged.table]
    types, values, doubts = _typed_read_columns(spec, source.positions, Bounds.of(settings))
    read_sql, params = source.read_sql(types)
    into_canonical = (existing.is_empty_canonical(con, staged.table)
                      and not any(_read_into_canonical(f) for f in validated.files
                                  if f.table == staged.table))
    try:
        if into_canonical:
            columns = ", ".join(f'"{c}"' for c in values)
            rows = con.execute(f'INSERT INTO main."{staged.table}" ({columns}) SELECT '
                               f'{", ".join(values.values())} FROM {read_sql}',
                               params).fetchall()[0][0]
            staged.typed = staged.table
        else:
            select = [f'{values[c.name]} AS "{c.name}"' if c.name in values
                      else f'CAST(NULL AS {c.sql_type}) AS "{c.name}"' for c in spec.columns]
            rows = con.execute(f'CREATE OR REPLACE TEMP TABLE "{target}" AS SELECT '
                               f'{", ".join(select)} FROM {read_sql}', params).fetchall()[0][0]
            validated.temp_objects.append(("TABLE", target))
            staged.typed = target
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return None  # a value in another spelling, a malformed row: the text path says which
    source_sql = f'main."{staged.table}"' if into_canonical else f'"{target}"'
    try:
        doubtful = con.execute(f"SELECT count(*) FILTER ({' OR '.join(doubts)}) "
                               f"FROM {source_sql}").fetchall()[0][0] if doubts else 0
    except BaseException:
        _undo_typed_read(con, staged)
        raise
    if doubtful:
        _undo_typed_read(con, staged)
        return None
    staged.rows = rows
    if rows <= settings.import_.raw_rows_max:
        # raw_import_<table> keeps small imports as received, which is the text staging
        validated.temp_objects += [("TABLE", f"{staging}_data"), ("VIEW", staging)]
        try:
            stage_file(con, path, staging, kind=staged.table, mapping=mapping,
                       max_mb=settings.import_.upload_max_mb, name=name)
        except FileRejected:
            _undo_typed_read(con, staged)
            return None
        except BaseException:
            _undo_typed_read(con, staged)
            raise
        staged.staging = staging
    return staged


def read_limits(settings: Settings) -> ReadLimits:
    """What reading one XLSX or JSON file may take (import.* settings)."""
    return ReadLimits(settings.import_.upload_max_mb, settings.import_.reader_memory_mb,
                      settings.import_.reader_timeout_seconds)


def _date_order(con, staged: StagedFile, setting: str) -> str | None:
    """The day/month order of the file's numeric dates ("1/5/2026"): the setting
    import.date_order when it is set; else what the file shows — a first number above 12 is a
    day (D/M/YYYY), a second one above 12 is a day (M/D/YYYY). A file with such dates that
    shows no order, or both, is refused naming the setting. None when it has none."""
    spec = contract.TABLES[staged.table]
    dates = [c.name for c in spec.columns if c.kind == "date" and c.name in staged.columns]
    if not dates:
        return setting or None
    found = []
    for column in dates:
        n = f"lower({_norm(chr(34) + column + chr(34))})"
        parts = f"regexp_extract({n}, {lit(mb.NUMERIC)}, ['a', 'b', 'year', 'time'])"
        found.append((column,) + con.execute(
            f"SELECT count(*), arg_min(raw, _row), "
            f"min(_row) FILTER (a > 12), arg_min(raw, _row) FILTER (a > 12), "
            f"min(_row) FILTER (b > 12), arg_min(raw, _row) FILTER (b > 12), "
            f"arg_min(a, _row), arg_min(b, _row), arg_min(y, _row), min(_row) "
            f'FROM (SELECT _row, "{column}" AS raw, TRY_CAST({parts}.a AS INTEGER) AS a, '
            f"TRY_CAST({parts}.b AS INTEGER) AS b, {parts}.year AS y "
            f'FROM "{staged.staging}" WHERE regexp_matches("{column}", '
            f"'^\\s*[0-9０-９]{{1,2}}[/.\\-／．－]') "
            f"AND regexp_full_match({n}, {lit(mb.NUMERIC)}))").fetchall()[0])
    numeric = [f for f in found if f[1]]
    if not numeric:
        return setting or None
    if setting:
        return setting
    day_first = min(((f[3], f[4], f[0]) for f in numeric if f[3] is not None), default=None)
    month_first = min(((f[5], f[6], f[0]) for f in numeric if f[5] is not None), default=None)
    if day_first and month_first:
        raise FileRejected([Problem(staged.name, month_first[0], staged.header(day_first[2]), msg(
            "dates.mixed", mdy_example=show_value(month_first[1]), mdy_row=month_first[0],
            dmy_example=show_value(day_first[1]), dmy_row=day_first[0]))])
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    column, _, example, *_, a, b, year, row = numeric[0]
    readings = []
    for month, day in ((a, b), (b, a)):
        try:
            readings.append(dt.date(int(year), month, day).isoformat())
        except (TypeError, ValueError):
            readings.append("?")
    raise FileRejected([Problem(staged.name, row, staged.header(column), msg(
        "dates.ambiguous", example=show_value(example), mdy=readings[0], dmy=readings[1]))])


def _read_into_canonical(staged: StagedFile) -> bool:
    return staged.typed is not None and staged.typed == staged.table


def _undo_typed_read(con, staged: StagedFile) -> None:
    if _read_into_canonical(staged):
        _empty_canonical_table(con, staged.table)
    elif staged.typed is not None:
        con.execute(f'DROP TABLE IF EXISTS "{staged.typed}"')
    staged.typed = None


def _empty_canonical_table(con, table: str) -> None:
    """Back to the empty table the build created (dropped, so its blocks are freed)."""
    con.execute(f'DROP TABLE main."{table}"')
    con.execute(contract.TABLES[table].create_sql())


def _describe(staged: StagedFile) -> str:
    if staged.format == "csv":
        sep = {",": "comma", "\t": "tab", ";": "semicolon"}[staged.delimiter or ","]
        typed = ", typed read" if staged.typed else ""
        return f"CSV, {staged.encoding}, {sep}-separated{typed}"
    if staged.format == "xlsx":
        return f"XLSX, sheet {staged.sheet!r}"
    return f"JSON, {staged.encoding}"


class _Collector:
    """Problems and warnings from every check, kept to the cap but counted in full, reported in
    the order of the files given, then by row."""

    def __init__(self, cap: int):
        self.cap = cap
        self.rank: list[int] = []  # staged file index → position among the files given
        self._problems: list[tuple[int, int, int, Problem]] = []
        self._warnings: list[tuple[int, int, int, Problem]] = []
        self.total = 0
        self.total_warnings = 0
        self._seq = 0
        self.tables: list[str] = []  # staged file index → its table
        self.tables_with_row_warnings: set[str] = set()

    def add(self, file_index: int, problem: Problem) -> None:
        """One problem of a staged file (the caller adds to `total` what it counted)."""
        self._seq += 1
        self._problems.append((self.rank[file_index], problem.row or 0, self._seq, problem))

    def add_rejected(self, position: int, problems: list[Problem]) -> None:
        """The problems of a file that could not be staged at all."""
        for problem in problems:
            self._seq += 1
            self._problems.append((position, problem.row or 0, self._seq, problem))
        self.total += len(problems)

    def warn(self, file_index: int, warning: Problem) -> None:
        if warning.row is not None and warning.row > 1:
            self.tables_with_row_warnings.add(self.tables[file_index])
        self._seq += 1
        self._warnings.append((self.rank[file_index], warning.row or 0, self._seq, warning))
        self.total_warnings += 1

    def warn_all(self, file_index: int, warnings: list[Problem]) -> None:
        for w in warnings:
            self.warn(file_index, w)

    def problems(self) -> tuple[list[Problem], int]:
        ordered = [p for *_, p in sorted(self._problems, key=lambda t: t[:3])]
        return ordered[:self.cap], max(self.total, len(ordered))

    def warnings(self) -> list[Problem]:
        ordered = [w for *_, w in sorted(self._warnings, key=lambda t: t[:3])]
        shown = ordered[:self.cap]
        more = self.total_warnings - len(shown)
        if more > 0:
            shown.append(Problem("import", None, None, msg("warnings.more", n=more)))
        return shown


# ---------------------------------------------------------------------------- conversion SQL


def _norm(ref: str) -> str:
    """SQL: the value with full-width characters folded (NFKC) and whitespace stripped.

    `translate` is slow, so only text with non-ASCII characters (more characters than bytes
    differ) goes through it.
    """
    folded = (f"CASE WHEN strlen({ref}) = length({ref}) THEN {ref} "
              f"ELSE translate({ref}, {lit(_FULL_WIDTH)}, {lit(_HALF_WIDTH)}) END")
    return f"trim({folded}, {lit(WHITESPACE)})"


@dataclass(frozen=True)
class Bounds:
    """The largest values accepted (import.max_amount_yen, exclusive; import.max_count)."""

    amount: float = 1e13
    count: int = 1_000_000_000

    @staticmethod
    def of(settings: Settings) -> "Bounds":
        return Bounds(float(settings.import_.max_amount_yen), int(settings.import_.max_count))


def _convert_sql(column: contract.Column, ref: str, order: str | None = None) -> str:
    """SQL turning the raw text `ref` into the column's type, NULL when it is not valid (the
    bounds are applied after, in `_typed_table_sql`). `order` is the day/month order of the
    file's numeric dates ("mdy", "dmy" or None when it has none or cannot tell).

    A fast path handles the plain spelling (digits, ISO dates) without regular expressions on
    normalised text, which only the other spellings pay for.
    """
    kind, n = column.kind, _norm(ref)
    if kind == "text":
        return ref
    if kind in ("count", "int"):
        whole = (f"TRY_CAST(CASE WHEN regexp_full_match({n}, "
                 r"'([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.0+)?') "
                 rf"THEN regexp_replace({n}, ',|\.0+$', '', 'g') END AS BIGINT)")
        number = _number_sql(n, currency=False)
        slow = (f"coalesce({whole}, CASE WHEN ({number}) = trunc({number}) "
                f"THEN TRY_CAST({number} AS BIGINT) END)")
        return (f"CASE WHEN {ref} <> '' AND length({ref}) <= 18 "
                f"AND NOT regexp_matches({ref}, '[^0-9]') THEN CAST({ref} AS BIGINT) "
                f"ELSE {slow} END")
    if kind == "amount":
        return (f"CASE WHEN regexp_full_match({ref}, '[0-9]{{1,15}}(\\.[0-9]{{1,9}})?') "
                f"THEN CAST({ref} AS DOUBLE) ELSE {_number_sql(n, currency=True)} END")
    if kind == "date":
        return (f"CASE WHEN length({ref}) = 10 AND substr({ref}, 5, 1) = '-' "
                f"AND substr({ref}, 8, 1) = '-' AND TRY_CAST({ref} AS DATE) IS NOT NULL "
                f"THEN TRY_CAST({ref} AS DATE) ELSE {_slow_date_sql(n, order)} END")
    if kind == "bool":
        words = lambda ws: ", ".join(lit(w) for w in ws)  # noqa: E731
        return (f"CASE WHEN lower({n}) IN ({words(TRUE_WORDS)}) THEN true "
                f"WHEN lower({n}) IN ({words(FALSE_WORDS)}) THEN false END")
    if kind == "enum":
        cases = " ".join(f"WHEN {lit(alias)} THEN {lit(value)}"
                         for alias, value in _enum_spellings(column).items())
        return f"CASE lower({n}) {cases} END"
    raise ValueError(kind)  # pragma: no cover


# A number as a spreadsheet or Metabase writes it: grouped with "," (the default) or "’" / "'"
# (Metabase's number separators), decimals after ".", optionally a percentage; amounts may also
# carry the yen in front (¥, ￥ folded, \ as CP932 shows ¥, "JPY ") or behind (円, "JPY",
# "Japanese yen" — Metabase's currency styles).
NUMBER_BODY = (r"([0-9]{1,3}(,[0-9]{3})+|[0-9]{1,3}([’'][0-9]{3})+|[0-9]+)(\.[0-9]+)?")
CURRENCY_BEFORE = r"([¥\\]\s*|jpy\s+)?"
CURRENCY_AFTER = r"(\s*(円|jpy|japanese yen))?"


def number_pattern(currency: bool) -> str:
    if currency:
        return f"{CURRENCY_BEFORE}{NUMBER_BODY}(%|{CURRENCY_AFTER})"
    return f"{NUMBER_BODY}%?"


def _number_sql(n: str, currency: bool) -> str:
    """SQL: the DOUBLE a number spelling of `number_pattern` stands for, else NULL."""
    low = f"lower({n})"
    digits = f"TRY_CAST(regexp_replace({low}, '[^0-9.]', '', 'g') AS DOUBLE)"
    return (f"CASE WHEN regexp_full_match({low}, {lit(number_pattern(currency))}) THEN "
            f"CASE WHEN right({low}, 1) = '%' THEN {digits} / 100 ELSE {digits} END END")


def _slow_date_sql(n: str, order: str | None = None) -> str:
    """YYYY/MM/DD, YYYY-M-D, ISO datetimes (with a zone: the date in Tokyo, except a midnight,
    which is a date written in the export's own zone), and Metabase's date styles
    (`metabase_format`), numeric day/month ones in `order`."""
    date = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}"
    local = (r"[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}[T ]"
             r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?")
    zoned = local + r"(Z|[+-][0-9]{2}:?[0-9]{2})"
    stamp = "TRY_CAST(replace(replace({}, 'T', ' '), '/', '-') AS TIMESTAMP)"
    zone = f"regexp_extract({n}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$')"
    offset_minutes = (f"CASE WHEN {zone} = 'Z' THEN 0 ELSE "
                      f"(CASE WHEN left({zone}, 1) = '-' THEN -1 ELSE 1 END) * "
                      f"(CAST(substr({zone}, 2, 2) AS INTEGER) * 60 + "
                      f"CAST(right({zone}, 2) AS INTEGER)) END")
    local_part = f"regexp_extract({n}, '^(.*?)(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$', 1)"
    local_stamp = stamp.format(local_part)
    return (f"CASE WHEN regexp_full_match({n}, '{date}') "
            f"THEN TRY_CAST(replace({n}, '/', '-') AS DATE) "
            f"WHEN regexp_full_match({n}, '{local}') "
            f"THEN CAST({stamp.format(n)} AS DATE) "
            f"WHEN regexp_full_match({n}, '{zoned}') "
            f"THEN CASE WHEN CAST({local_stamp} AS TIME) = TIME '00:00:00' "
            f"THEN CAST({local_stamp} AS DATE) "
            f"ELSE CAST({local_stamp} + to_minutes(540 - ({offset_minutes})) AS DATE) END "
            f"ELSE {_metabase_date_sql(n, order)} END")


METABASE_DATE_FUNCTION = "cs_metabase_date"


def _metabase_date_sql(n: str, order: str | None) -> str:
    """SQL: the day of a Metabase date style (`metabase_format.parse_date`, a function of the
    connection: `register_functions`); reached only by values no spelling above took."""
    return f"{METABASE_DATE_FUNCTION}({n}, {lit(order or '')})"


def register_functions(con) -> None:
    """The functions the conversion SQL calls, on `con` (once per connection)."""
    if con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?",
                   [METABASE_DATE_FUNCTION]).fetchall()[0][0]:
        return
    con.create_function(METABASE_DATE_FUNCTION, _metabase_dates, ["VARCHAR", "VARCHAR"],
                        "DATE", type="arrow", null_handling="special")


def _metabase_dates(texts: pa.Array, orders: pa.Array) -> pa.Array:
    return pa.array([None if t is None else mb.parse_date(t, o or None)
                     for t, o in zip(texts.to_pylist(), orders.to_pylist())], pa.date32())


def _enum_spellings(column: contract.Column) -> dict[str, str]:
    """Accepted spellings (normalised like the SQL does) → canonical value."""
    spellings = {_fold(c): c for c in column.choices}
    for alias, value in contract.VALUE_ALIASES.get(column.name, {}).items():
        if value in column.choices:
            spellings.setdefault(_fold(alias), value)
    return spellings


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip(WHITESPACE).lower()


def _typed_table_sql(typed: str, table: str, files: list[tuple[int, StagedFile]],
                     bounds: Bounds) -> str:
    """One temp table for all files of a table: `_file`, `_row`, the converted columns, and for
    each non-text column `!name`, the raw text where it could not be converted or is outside
    its bounds (dates 1900–2099, amounts below import.max_amount_yen, counts up to
    import.max_count)."""
    spec = contract.TABLES[table]
    parts = []
    for index, f in files:
        if f.typed:
            parts.append(_typed_read_rows_sql(table, index, f))
            continue
        inner = [f"{index} AS _file", "_row"]
        outer_values, outer_bad, non_empty = [], [], []
        for c in spec.columns:
            if c.name not in f.columns:
                outer_values.append(f'CAST(NULL AS {c.sql_type}) AS "{c.name}"')
                if c.kind != "text":
                    outer_bad.append(f'CAST(NULL AS VARCHAR) AS "!{c.name}"')
                continue
            raw = f'"{c.name}"'
            inner.append(f'{_convert_sql(c, raw, f.date_order)} AS "{c.name}"')
            if c.kind == "text":
                outer_values.append(f'"{c.name}"')
                non_empty.append(raw)
                continue
            inner.append(f'{raw} AS "~{c.name}"')
            non_empty.append(f"NULLIF({_norm(raw)}, '')")
            valid = f'"{c.name}"'
            if c.kind == "date":
                valid = (f'CASE WHEN "{c.name}" BETWEEN DATE {lit(DATE_MIN.isoformat())} '
                         f'AND DATE {lit(DATE_MAX.isoformat())} THEN "{c.name}" END')
            elif c.kind == "amount":
                valid = (f'CASE WHEN isfinite("{c.name}") AND "{c.name}" < {bounds.amount!r} '
                         f'THEN "{c.name}" END')
            elif c.kind in ("count", "int"):
                valid = f'CASE WHEN "{c.name}" <= {int(bounds.count)} THEN "{c.name}" END'
            outer_values.append(f'{valid} AS "{c.name}"')
            outer_bad.append(f'CASE WHEN ({valid}) IS NULL AND "~{c.name}" IS NOT NULL '
                             f'AND {_norm(chr(34) + "~" + c.name + chr(34))} <> \'\' '
                             f'THEN "~{c.name}" END AS "!{c.name}"')
        # rows whose mapped cells are all empty (Excel's ",,,," lines) are skipped
        where = (f"WHERE coalesce({', '.join(non_empty)}) IS NOT NULL" if non_empty
                 else "WHERE false")
        parts.append(f"SELECT _file, _row, {', '.join(outer_values + outer_bad)} FROM "
                     f'(SELECT {", ".join(inner)} FROM "{f.staging}" {where})')
    return f'CREATE OR REPLACE TEMP TABLE "{typed}" AS ' + " UNION ALL ".join(parts)


def _typed_read_columns(spec: contract.Table, present: dict[str, int], bounds: Bounds,
                        ) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """For the typed read of a file with the columns `present`: the DuckDB type each is read
    as, the SQL for its value, and conditions on the rows read that send the file to the text
    path instead. A value is kept only when it is exactly what the text path makes of it:

    - text: kept as read, unless some value starts or ends with whitespace (the text path
      strips it) — checked on the rows read, which is cheaper than stripping every value.
    - date: parsed by DuckDB as YYYY-MM-DD (files.TYPED_DATE_FORMAT); checked on the rows read
      to be inside the accepted range.
    - count/int: DuckDB's own integer parsing also takes "+5", "1e3", "1_000" and rounds
      "12.5", all refused by the text path, so the values are read as text and cast only when
      made of digits (a one-character value that casts is a digit; longer ones are checked).
    - amount, bool, enum: the text path's own conversion, with a failed read where it finds
      nothing (those columns are in the small tables).
    - a required column with an empty value, or an amount or count outside its bounds: the
      text path reports it (or skips the row when all its cells are empty).
    """
    types: dict[str, str] = {}
    values: dict[str, str] = {}
    doubts: list[str] = []
    for c in spec.columns:
        if c.name not in present:
            continue
        ref = f'"{c.name}"'
        if c.required:
            doubts.append(f"{ref} IS NULL")
        if c.kind == "text":
            types[c.name], values[c.name] = "VARCHAR", ref
            codes = ", ".join(str(ord(ch)) for ch in WHITESPACE)
            doubts.append(f"{ref} = '' OR ascii({ref}) IN ({codes}) "
                          f"OR ascii(substr({ref}, -1)) IN ({codes})")
        elif c.kind == "date":
            types[c.name], values[c.name] = "DATE", ref
            doubts.append(f"{ref} NOT BETWEEN DATE {lit(DATE_MIN.isoformat())} "
                          f"AND DATE {lit(DATE_MAX.isoformat())}")
        elif c.kind in ("count", "int"):
            types[c.name] = "VARCHAR"
            values[c.name] = (f"CASE WHEN strlen({ref}) > 1 AND {ref} GLOB '*[!0-9]*' "
                              f"THEN {_refuse('a whole number not written as plain digits')} "
                              f"ELSE CAST({ref} AS BIGINT) END")
            doubts.append(f"{ref} > {int(bounds.count)}")
        else:
            raw = strip_sql(ref) if c.kind == "enum" else ref
            converted = _convert_sql(c, raw)
            types[c.name] = "VARCHAR"
            values[c.name] = (f"CASE WHEN ({converted}) IS NULL AND NULLIF({_norm(raw)}, '') IS "
                              f"NOT NULL THEN {_refuse('a value the text path reports')} "
                              f"ELSE {converted} END")
            if c.kind == "amount":
                doubts.append(f"NOT isfinite({ref}) OR {ref} >= {bounds.amount!r}")
    return types, values, doubts


def _refuse(reason: str) -> str:
    """SQL failing the typed read (the file is then staged as text)."""
    return f"error({lit('typed read: ' + reason)})"


def _typed_read_rows_sql(table: str, index: int, f: StagedFile) -> str:
    """A typed file's rows shaped like the typed table: `_file`, `_row`, the canonical columns,
    and `!name` columns that are all NULL (every value converted). `_row` counts records, not
    lines; no message is ever made from it (a finding makes the text path read the file)."""
    spec = contract.TABLES[table]
    source = f'main."{table}"' if _read_into_canonical(f) else f'"{f.typed}"'
    values = [f'"{c.name}"' for c in spec.columns]
    bad = [f'CAST(NULL AS VARCHAR) AS "!{c.name}"' for c in spec.columns if c.kind != "text"]
    return (f"SELECT {int(index)} AS _file, rowid + 2 AS _row, {', '.join(values + bad)} "
            f"FROM {source}")


# ---------------------------------------------------------------------------- checks


def _files_with(validated: ValidatedImport, table: str, *columns: str) -> list[int]:
    return [i for i, f in enumerate(validated.files)
            if f.table == table and any(c in f.columns for c in columns)]


def _in_list(values: list[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")" if values else "(NULL)"


def _check_values(con, typed: str, table: str, validated: ValidatedImport,
                  collector: _Collector) -> None:
    """Types and ranges, required values, amount-or-mrr, end on or after start. Rows of the
    typed read were converted and have every required value (it checked both), so a table
    read that way only needs the rules across columns."""
    spec = contract.TABLES[table]
    cap = collector.cap
    typed_only = all(f.typed for f in validated.files if f.table == table)
    rules: list[tuple[str, str, Callable]] = []  # (condition, column shown, message of a row)
    bounds = Bounds.of(validated.settings)
    for c in spec.columns:
        if c.kind != "text" and not typed_only:
            rules.append((f'"!{c.name}" IS NOT NULL', c.name,
                          lambda r, c=c: _value_message(
                              c, r[f"!{c.name}"], bounds,
                              validated.files[r["_file"]].date_order)))
    for c in spec.columns:
        if not c.required or typed_only:
            continue
        files = _files_with(validated, table, c.name)
        empty = f'"{c.name}" IS NULL' + ("" if c.kind == "text" else f' AND "!{c.name}" IS NULL')
        rules.append((f"{empty} AND _file IN {_in_list(files)}", c.name,
                      lambda r, c=c: msg("value.empty", expected=_expected_required(c))))
    if table == "contracts":
        files = _files_with(validated, table, "amount", "mrr")
        rules.append(("amount IS NULL AND mrr IS NULL AND \"!amount\" IS NULL AND \"!mrr\" IS NULL "
                      f"AND _file IN {_in_list(files)}", "amount",
                      lambda r: msg("value.amount_and_mrr_empty")))
        rules.append(("end_date < start_date", "end_date",
                      lambda r: msg("value.end_before_start",
                                    end=show_value(r["end_date"].isoformat()),
                                    start=show_value(r["start_date"].isoformat()))))
    if not rules:
        return
    counts = con.execute(f'SELECT {", ".join(f"count(*) FILTER ({cond})" for cond, *_ in rules)} '
                         f'FROM "{typed}"').fetchall()[0]
    for (condition, column, message), count in zip(rules, counts):
        if not count:
            continue
        rows = _dict_rows(con, f'SELECT * FROM "{typed}" WHERE {condition} '
                               f"ORDER BY _file, _row LIMIT {int(cap)}")
        for r in rows:
            f = validated.files[r["_file"]]
            collector.add(r["_file"], Problem(f.name, r["_row"], f.header(column), message(r)))
        collector.total += count


def _expected(c: contract.Column) -> Text:
    if c.kind == "enum":
        return msg("expected.enum", choices=", ".join(c.choices))
    return msg("expected.count" if c.kind == "int" else f"expected.{c.kind}")


def _expected_required(c: contract.Column) -> Text:
    return msg("value.required", column=c.name) if c.kind == "text" else _expected(c)


def _value_message(c: contract.Column, raw: str, bounds: Bounds,
                   order: str | None = None) -> Text:
    """Why the text path could not take `raw` for column `c`, and what it expected."""
    shown, expected = show_value(raw), _expected(c)
    n = unicodedata.normalize("NFKC", raw).strip(WHITESPACE)
    low = n.lower()
    negative = re.fullmatch(r"[-−▲△]\s*([¥\\]|jpy)?\s*[0-9][0-9,’']*(\.[0-9]*)?\s*(円|%)?",
                            low) is not None
    scientific = re.fullmatch(r"-?[0-9]+(\.[0-9]+)?e[+-]?[0-9]+", low) is not None
    number = _python_number(low, c.kind == "amount")
    if c.kind in ("count", "int"):
        digits = n.replace(",", "")
        if negative:
            return msg("value.negative", value=shown, expected=expected)
        if scientific:
            return msg("value.scientific", value=shown, expected=expected)
        whole = number is not None and (not math.isfinite(number) or number == int(number))
        if number is not None and low.endswith("%") and not whole:
            return msg("value.percent_not_whole", value=shown, number=f"{number:g}",
                       expected=expected)
        if whole and number > bounds.count:
            return msg("value.above_bound", value=shown, limit=f"{bounds.count:,}",
                       setting="import.max_count", expected=expected)
        if re.fullmatch(r"[0-9]*\.[0-9]+|[0-9]+\.[0-9]*", digits):
            return msg("value.not_whole", value=shown, expected=expected)
        if re.fullmatch(r"[0-9]+", digits):
            return msg("value.too_large", value=shown, expected=expected)
        return msg("value.not_whole", value=shown, expected=expected)
    if c.kind == "amount":
        if negative:
            return msg("value.negative", value=shown, expected=expected)
        if scientific:
            return msg("value.scientific", value=shown, expected=expected)
        if number is not None:
            return msg("value.above_bound", value=shown, limit=f"{bounds.amount:,.0f}",
                       setting="import.max_amount_yen", expected=expected)
        return msg("value.not_amount", value=shown, expected=expected)
    if c.kind == "date":
        return _date_message(shown, n, order, expected)
    if c.kind == "bool":
        return msg("value.not_bool", value=shown, true=Choices(TRUE_WORDS, "/"),
                   false=Choices(FALSE_WORDS, "/"))
    japanese = [a for a, v in contract.VALUE_ALIASES.get(c.name, {}).items() if v in c.choices]
    also = msg("value.enum_also", aliases=", ".join(japanese)) if japanese else ""
    return msg("value.not_enum", value=shown, column=c.name, expected=expected, also=also)


def _python_number(low: str, currency: bool) -> float | None:
    """The number a spelling of `number_pattern` stands for (as the SQL reads it), else None."""
    if not re.fullmatch(number_pattern(currency), low):
        return None
    value = float(re.sub(r"[^0-9.]", "", low) or "nan")
    return value / 100 if low.endswith("%") else value


def _date_message(shown: str, n: str, order: str | None, expected: Text) -> Text:
    """Why a date was refused: out of range, a time of day that does not exist, a month or a
    quarter rather than a day, against the configured order, or not a date at all."""
    low = n.lower()
    match = re.match(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[tT ,]\s*(.*?))?"
                     r"([zZ]|[+-][0-9]{2}:?[0-9]{2})?$", n)
    styled = None
    for pattern in (mb.MONTH_FIRST, mb.DAY_FIRST):
        styled = styled or re.match(pattern, n, re.IGNORECASE)
    if match:
        year, month, day, time = match.groups()[:4]
        try:
            day_ok = dt.date(int(year), int(month), int(day))
        except ValueError:
            day_ok = None
        if day_ok and time and not mb.valid_time(time):
            return msg("value.bad_time", value=shown, time=printable(time), expected=expected)
        if day_ok and not DATE_MIN <= day_ok <= DATE_MAX:
            return msg("value.date_range", value=shown, first=DATE_MIN.isoformat(),
                       last=DATE_MAX.isoformat())
    elif styled and styled.group("time") and not mb.valid_time(styled.group("time")):
        return msg("value.bad_time", value=shown, time=printable(styled.group("time")),
                   expected=expected)
    elif re.match(mb.NUMERIC, low) and order in mb.DATE_ORDERS:
        return msg("dates.against_setting", value=shown, order=order, expected=expected)
    for pattern, unit in ((mb.MONTH_ONLY, "unit.month"), (mb.QUARTER_ONLY, "unit.quarter"),
                          (mb.WEEK_NUMBER, "unit.week_number"), (mb.YEAR_ONLY, "unit.year")):
        if re.match(pattern, low):
            return msg("value.date_not_day", value=shown, unit=msg(unit), expected=expected)
    return msg("value.not_date", value=shown, expected=expected)


def _check_duplicates(con, typed: str, table: str, validated: ValidatedImport,
                      collector: _Collector) -> int:
    """A key twice in the import: identical rows are a warning (loaded once), different ones an
    error naming both rows. Returns the number of identical repeats."""
    spec = contract.TABLES[table]
    keys = ", ".join(f'"{k}"' for k in spec.key)
    not_null = " AND ".join(f'"{k}" IS NOT NULL' for k in spec.key)
    if _no_duplicate_keys(con, typed, spec, not_null):
        return 0
    dup_keys = f"imp_dupkeys_{table}"
    validated.temp_objects.append(("TABLE", dup_keys))
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{dup_keys}" AS SELECT {keys} FROM "{typed}" '
                f"WHERE {not_null} GROUP BY ALL HAVING count(*) > 1")
    if not con.execute(f'SELECT count(*) FROM "{dup_keys}"').fetchall()[0][0]:
        return 0
    values = ", ".join(f'"{c}"' for c in spec.column_names)
    repeats = (f'SELECT * FROM (SELECT _file, _row, {keys}, '
               f"row({values}) IS NOT DISTINCT FROM first_value(row({values})) OVER w AS same, "
               "first_value(_file) OVER w AS first_file, first_value(_row) OVER w AS first_row, "
               "row_number() OVER w AS n "
               f'FROM "{typed}" SEMI JOIN "{dup_keys}" USING ({keys}) '
               f"WINDOW w AS (PARTITION BY {keys} ORDER BY _file, _row)) WHERE n > 1")
    identical, conflicting = con.execute(
        f"SELECT count(*) FILTER (same), count(*) FILTER (NOT same) FROM ({repeats})").fetchall()[0]
    key_name = " + ".join(spec.key)
    for same in (False, True):
        count = identical if same else conflicting
        if not count:
            continue
        rows = _dict_rows(con, f"SELECT * FROM ({repeats}) WHERE {'' if same else 'NOT '}same "
                               f"ORDER BY _file, _row LIMIT {int(collector.cap)}")
        for r in rows:
            f = validated.files[r["_file"]]
            first = (msg("dup.row", row=r["first_row"]) if r["first_file"] == r["_file"]
                     else msg("dup.file_row", file=printable(validated.files[r["first_file"]].name),
                              row=r["first_row"]))
            value = " + ".join(_plain(r[k]) for k in spec.key)
            column = " + ".join(f.header(k) for k in spec.key)
            if same:
                collector.warn(r["_file"], Problem(
                    f.name, r["_row"], None,
                    msg("dup.repeat", first=first, key_name=key_name, value=show_value(value))))
            else:
                collector.add(r["_file"], Problem(
                    f.name, r["_row"], column,
                    msg("dup.conflict", key_name=key_name, value=show_value(value),
                        first=first)))
        if same:
            collector.total_warnings += count - len(rows)
        else:
            collector.total += count
    return identical


def _no_duplicate_keys(con, typed: str, spec: contract.Table, not_null: str) -> bool:
    """True when no key occurs twice, found without grouping by the whole key: for a key of one
    column plus a date (usage: account_id + date) each group gets one bit per day of the data's
    date range (`bitstring_agg`), and a group has a repeated day exactly when it has fewer
    bits set than rows. False when there may be duplicates (or the bits would take too much
    memory): the caller then groups by the key."""
    if len(spec.key) != 2 or spec.column(spec.key[1]).kind != "date":
        return False
    group, day = (f'"{k}"' for k in spec.key)
    first, last, groups = con.execute(
        f"SELECT min({day}), max({day}), approx_count_distinct({group}) FROM \"{typed}\" "
        f"WHERE {not_null}").fetchall()[0]
    if first is None:
        return True
    span = (last - first).days + 1
    if groups * 1.25 * span / 8 > DAY_BITS_MAX_BYTES:
        return False
    repeated = con.execute(
        f"SELECT count(*) FILTER (bit_count(days) <> n) FROM (SELECT count(*) AS n, "
        f"bitstring_agg(CAST({day} - CAST(? AS DATE) AS INTEGER), 0, {int(span) - 1}) AS days "
        f'FROM "{typed}" WHERE {not_null} GROUP BY {group})', [first]).fetchall()[0][0]
    return repeated == 0


def _plain(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


class _ExistingTables:
    """Where the current data's keys come from when checking references."""

    def prepare(self, con, validated: ValidatedImport) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def relation(self, table: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def is_empty_canonical(self, con, table: str) -> bool:
        """Whether `table` in `con` is a canonical table a file may be read straight into."""
        return False


class _BuildTables(_ExistingTables):
    """Inside a build the canonical tables hold the current data (empty after demo data)."""

    def prepare(self, con, validated) -> None:
        pass

    def relation(self, table: str) -> str:
        return f'main."{table}"'

    def is_empty_canonical(self, con, table: str) -> bool:
        return con.execute(f'SELECT count(*) FROM main."{table}"').fetchall()[0][0] == 0


class _SnapshotTables(_ExistingTables):
    """Outside a build: key columns copied from the current snapshot, unless it is demo data
    (an import replaces demo data instead of merging with it)."""

    def __init__(self, store: Store):
        self.store = store

    def prepare(self, con, validated) -> None:
        snapshot = None
        if self.store.has_snapshot():
            # (its canonical tables only: whichever version built it)
            snapshot = self.store.open_current(any_version=True)
            if snapshot.is_demo:
                snapshot = None
        for table, columns in _reference_columns().items():
            spec = contract.TABLES[table]
            name = f"imp_existing_{table}"
            validated.temp_objects.append(("TABLE", name))
            typed = ", ".join(f'"{c}" {spec.column(c).sql_type}' for c in columns)
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" ({typed})')
            if snapshot is None or not snapshot.has_table(table):
                continue
            cols = ", ".join(f'"{c}"' for c in columns)
            cursor = snapshot.cursor()
            try:
                data = cursor.sql(f'SELECT {cols} FROM "{table}"').to_arrow_table()
            finally:
                cursor.close()
            con.register("imp_existing_arrow", data)
            try:
                con.execute(f'INSERT INTO "{name}" SELECT {cols} FROM imp_existing_arrow')
            finally:
                con.unregister("imp_existing_arrow")

    def relation(self, table: str) -> str:
        return f'"imp_existing_{table}"'


def _reference_columns() -> dict[str, list[str]]:
    """Columns of the current data that reference checks read: keys and referencing columns."""
    columns: dict[str, list[str]] = {}
    for (table, column), (ref_table, ref_column) in {**contract.REFERENCES,
                                                     **contract.WARN_REFERENCES}.items():
        if (table, column) in contract.REFERENCES:
            wanted = columns.setdefault(table, list(contract.TABLES[table].key))
            if column not in wanted:
                wanted.append(column)
        wanted = columns.setdefault(ref_table, list(contract.TABLES[ref_table].key))
        if ref_column not in wanted:
            wanted.append(ref_column)
    return columns


def _check_references(con, validated: ValidatedImport, collector: _Collector,
                      existing: _ExistingTables, replace: bool) -> None:
    """contract → account, activity → account, account → owner (errors); usage → account
    (warning). Keys resolve against the files of this import and the current data."""
    for (table, column), (ref_table, ref_column) in {**contract.REFERENCES,
                                                     **contract.WARN_REFERENCES}.items():
        is_error = (table, column) in contract.REFERENCES
        known = _known_keys(validated, existing, ref_table, ref_column, replace)
        if table in validated.typed:
            typed = validated.typed[table]
            missing = (f'SELECT _file, _row, "{column}" AS value FROM "{typed}" t '
                       f'WHERE "{column}" IS NOT NULL AND NOT EXISTS '
                       f'(SELECT 1 FROM ({known}) k WHERE k.key = t."{column}")')
            # the same, one row per file and value with its row count: far fewer rows to look up
            missing_values = (f'SELECT * FROM (SELECT _file, "{column}" AS value, count(*) AS n '
                              f'FROM "{typed}" WHERE "{column}" IS NOT NULL GROUP BY ALL) t '
                              f"WHERE NOT EXISTS (SELECT 1 FROM ({known}) k "
                              f"WHERE k.key = t.value)")
            if is_error:
                count = con.execute(
                    f"SELECT coalesce(sum(n), 0) FROM ({missing_values})").fetchall()[0][0]
                if count:
                    for r in _dict_rows(con, f"SELECT * FROM ({missing}) ORDER BY _file, _row "
                                             f"LIMIT {int(collector.cap)}"):
                        f = validated.files[r["_file"]]
                        collector.add(r["_file"], Problem(
                            f.name, r["_row"], f.header(column),
                            msg("ref.unknown", value=show_value(r["value"]), column=ref_column,
                                table=ref_table)))
                    collector.total += count
            else:
                unknown = (f"SELECT _file, sum(n) AS n, count(*) AS keys, "
                           f"list(value ORDER BY value)[1:5] AS examples "
                           f"FROM ({missing_values}) GROUP BY _file ORDER BY _file")
                for r in _dict_rows(con, unknown):
                    f = validated.files[r["_file"]]
                    examples = ", ".join(show_value(v, 30) for v in r["examples"])
                    collector.warn(r["_file"], Problem(
                        f.name, None, f.header(column),
                        msg("ref.unknown_usage", rows=r["n"], keys=r["keys"], column=ref_column,
                            table=ref_table,
                            examples=examples + (", …" if r["keys"] > 5 else ""))))
        if is_error and replace and ref_table in validated.typed:
            _check_dangling_after_replace(con, validated, collector, existing, table, column,
                                          ref_table, ref_column, known)


def _known_keys(validated, existing: _ExistingTables, table: str, column: str,
                replace: bool) -> str:
    parts = []
    if table in validated.typed:
        parts.append(f'SELECT "{column}" AS key FROM "{validated.typed[table]}"')
    if not (replace and table in validated.typed):
        parts.append(f'SELECT "{column}" AS key FROM {existing.relation(table)}')
    return " UNION ALL ".join(parts)


def _check_dangling_after_replace(con, validated, collector, existing, table, column,
                                  ref_table, ref_column, known) -> None:
    """Replacing a referenced table must not strand rows of the current data that stay (called
    for imports with replace only)."""
    if table in validated.typed:
        return  # the table is replaced too; its new rows were checked above
    staying = f"SELECT * FROM {existing.relation(table)} e"
    count, examples = con.execute(
        f'SELECT count(*), list(DISTINCT s."{column}" ORDER BY s."{column}")[1:5] '
        f'FROM ({staying}) s WHERE s."{column}" IS NOT NULL AND NOT EXISTS '
        f'(SELECT 1 FROM ({known}) k WHERE k.key = s."{column}")').fetchall()[0]
    if not count:
        return
    index = next(i for i, f in enumerate(validated.files) if f.table == ref_table)
    f = validated.files[index]
    shown = ", ".join(show_value(v, 30) for v in examples)
    collector.add(index, Problem(
        f.name, None, f.header(ref_column),
        msg("ref.replace_strands", table=ref_table, count=count, other=table, shown=shown,
            column=ref_column)))
    collector.total += 1


def _check_contract_terms(con, validated: ValidatedImport, collector: _Collector) -> None:
    """Warning: a contract without mrr whose term contains no month-end has no MRR."""
    typed = validated.typed.get("contracts")
    if typed is None:
        return
    condition = ("mrr IS NULL AND amount IS NOT NULL AND start_date IS NOT NULL AND end_date IS "
                 "NOT NULL AND end_date >= start_date AND last_day(start_date) > end_date")
    count = con.execute(f'SELECT count(*) FROM "{typed}" WHERE {condition}').fetchall()[0][0]
    if not count:
        return
    rows = _dict_rows(con, f'SELECT * FROM "{typed}" WHERE {condition} ORDER BY _file, _row '
                           f"LIMIT {int(collector.cap)}")
    for r in rows:
        f = validated.files[r["_file"]]
        collector.warn(r["_file"], Problem(
            f.name, r["_row"], None,
            msg("contract.no_month_end", contract=show_value(r["contract_id"]),
                start=r["start_date"].isoformat(), end=r["end_date"].isoformat())))
    collector.total_warnings += count - len(rows)


def _dict_rows(con, sql: str, params=None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


# ---------------------------------------------------------------------------- merging


def _merge_table(build: Build, validated: ValidatedImport, table: str,
                 replace: bool) -> TableChange:
    con = build.con
    spec = contract.TABLES[table]
    typed = validated.typed[table]
    cols = ", ".join(f'"{c}"' for c in spec.column_names)
    keys = ", ".join(f'"{k}"' for k in spec.key)
    files = [(i, f) for i, f in enumerate(validated.files) if f.table == table]
    if any(_read_into_canonical(f) for _, f in files):
        # A file was read straight into the table, which was empty before this import; the
        # table's other files are added to it. (No identical duplicates: they would have made
        # every file of the table be read again as text.)
        others = [i for i, f in files if not _read_into_canonical(f)]
        if others:
            build.merge(table, f'SELECT {cols} FROM "{typed}" WHERE _file IN {_in_list(others)}')
        rows = con.execute(f'SELECT count(*) FROM main."{table}"').fetchall()[0][0]
        return TableChange(table, rows, rows, 0, 0, 0, replace)
    incoming = f'SELECT {cols} FROM "{typed}"'
    if validated.identical_duplicates.get(table):
        incoming += f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _file, _row) = 1"
    before = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    if before == 0:
        rows = build.replace(table, incoming)
        return TableChange(table, rows, rows, 0, 0, 0, replace)
    match = " AND ".join(f't."{k}" = i."{k}"' for k in spec.key)
    differs = (f"row({', '.join(f'i.{chr(34)}{c}{chr(34)}' for c in spec.column_names)}) "
               f"IS DISTINCT FROM "
               f"row({', '.join(f't.{chr(34)}{c}{chr(34)}' for c in spec.column_names)})")
    first_key = spec.key[0]
    changes = f"imp_changes_{table}"
    validated.temp_objects.append(("TABLE", changes))
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{changes}" AS SELECT i.*, '
                f't."{first_key}" IS NULL AS _is_new, '
                f"CASE WHEN t.\"{first_key}\" IS NULL THEN true ELSE {differs} END AS _changed "
                f'FROM ({incoming}) i LEFT JOIN "{table}" t ON {match}')
    rows, inserted, updated = con.execute(
        f"SELECT count(*), count(*) FILTER (_is_new), count(*) FILTER (_changed AND NOT _is_new) "
        f'FROM "{changes}"').fetchall()[0]
    unchanged = rows - inserted - updated
    if replace:
        build.replace(table, f'SELECT {cols} FROM "{changes}"')
        return TableChange(table, rows, inserted, updated, unchanged,
                           before - (updated + unchanged), True)
    if inserted or updated:
        build.merge(table, f'SELECT {cols} FROM "{changes}" WHERE _changed')
    return TableChange(table, rows, inserted, updated, unchanged)
