"""One snapshot build: load canonical tables into a new DuckDB file, run the models and checks,
publish atomically — or publish nothing and record why.

    with open_build(settings, store, source="import") as build:
        build.merge("accounts", "SELECT * FROM staged_accounts")   # any SQL over build.con
        info = build.publish()

Everything a source does (extract, stage, merge) happens inside the `with`, so the refresh log
row exists from the first request to the last, and a killed process is recorded as interrupted by
the next build.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from cs_analytics import contract
from cs_analytics.config import Settings
from cs_analytics.errors import BuildFailed, CsAnalyticsError
from cs_analytics.warehouse import models
from cs_analytics.warehouse.store import (FILE_MODE, SCHEMA_VERSION, RefreshLog, SnapshotFile, Store,
                                          storage_error)

Progress = Callable[[str], None]
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def _quiet(_message: str) -> None:
    pass


PAUSE_ENV = "CS_ANALYTICS_PAUSE_AT"


def pause_point(name: str) -> None:
    """Crash-test hook: with CS_ANALYTICS_PAUSE_AT=name the build stops here (and says so on
    stderr) so a test can kill it at a known step — 'extract', 'build' or 'publish'."""
    if os.environ.get(PAUSE_ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(3600)


def today_tokyo() -> dt.date:
    return dt.datetime.now(TOKYO).date()


@dataclass
class PublishResult:
    snapshot: SnapshotFile
    refresh_id: int
    rows: dict[str, int]
    as_of: dt.date
    seconds: float
    warnings: list[str] = field(default_factory=list)


class Build:
    """A snapshot under construction. Use through `open_build`."""

    def __init__(self, settings: Settings, store: Store, source: str, refresh_id: int,
                 path: Path, base: str, is_demo: bool, progress: Progress):
        self.settings = settings
        self.store = store
        self.source = source
        self.refresh_id = refresh_id
        self.path = path
        self.is_demo = is_demo
        self.progress = progress
        self.warnings: list[str] = []
        self.published: PublishResult | None = None
        self._started = time.monotonic()
        self.con = duckdb.connect(str(path))
        os.chmod(path, FILE_MODE)
        # The base is the snapshot served now: the current one, or the newest intact one when
        # the current one is damaged (`base_damage`), so a build can always repair the data.
        served = store.resolve()
        self.previous = served.file
        self.base_damage = served.damage
        if served.damage is not None:
            self.warn(f"the current snapshot is damaged ({served.damage}); this build starts "
                      + (f"from the newest intact snapshot {served.file.id}"
                         if served.file is not None else "from empty tables"))
        self.previous_is_demo = False
        self.previous_as_of: dt.date | None = None
        self._create_canonical_tables(base)
        pause_point("extract")

    # ------------------------------------------------------------------ loading

    def _create_canonical_tables(self, base: str) -> None:
        """The canonical tables, empty, then — with base 'current' or 'rebuild' — filled with
        the served snapshot's rows, whichever schema version built it: its canonical tables
        are all a build needs, the models make the rest again."""
        for name in contract.TABLE_ORDER:
            self.con.execute(contract.TABLES[name].create_sql())
        if base not in ("current", "rebuild") or self.previous is None:
            return
        self.con.execute("ATTACH ? AS previous (READ_ONLY)", [str(self.previous.path)])
        try:
            self.previous_is_demo, self.previous_as_of = self.con.execute(
                "SELECT is_demo, as_of FROM previous.snapshot_meta").fetchall()[0]
            self.previous_is_demo = bool(self.previous_is_demo)
            # Real data is never merged into demo data: the first real import starts afresh.
            # A rebuild keeps what the snapshot is, demo data included.
            if base == "rebuild":
                self.is_demo = self.previous_is_demo
            if base == "rebuild" or not self.previous_is_demo:
                for name in contract.TABLE_ORDER:
                    # A column (or table) another version's contract did not have is empty
                    # (NULL), as it is for a file without that column.
                    had = {r[0] for r in self.con.execute(
                        "SELECT column_name FROM duckdb_columns() "
                        "WHERE database_name = 'previous' AND table_name = ?", [name]
                    ).fetchall()}
                    if not had:
                        continue
                    cols = ", ".join(f'"{c}"' if c in had else f'NULL AS "{c}"'
                                     for c in contract.TABLES[name].column_names)
                    self.con.execute(
                        f'INSERT INTO "{name}" SELECT {cols} FROM previous."{name}"')
        finally:
            self.con.execute("DETACH previous")

    def replace(self, table: str, select_sql: str, params=None) -> int:
        """Replace a whole canonical table with the rows of `select_sql`."""
        self.con.execute(f'DELETE FROM "{table}"')
        return self._insert(table, select_sql, params)

    def merge(self, table: str, select_sql: str, params=None) -> int:
        """Upsert the rows of `select_sql` by the table's key: an existing key is replaced."""
        spec = contract.TABLES[table]
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _incoming AS {select_sql}", params or [])
        match = " AND ".join(f't."{k}" = i."{k}"' for k in spec.key)
        self.con.execute(
            f'DELETE FROM "{table}" t WHERE EXISTS (SELECT 1 FROM _incoming i WHERE {match})')
        count = self._insert(table, "SELECT * FROM _incoming")
        self.con.execute("DROP TABLE _incoming")
        return count

    def delete(self, table: str, key_sql: str, params=None) -> int:
        """Delete the rows whose key is returned by `key_sql` (deleted source records)."""
        spec = contract.TABLES[table]
        match = " AND ".join(f't."{k}" = d."{k}"' for k in spec.key)
        before = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        self.con.execute(
            f'DELETE FROM "{table}" t WHERE EXISTS (SELECT 1 FROM ({key_sql}) d WHERE {match})',
            params or [])
        return before - self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]

    def _insert(self, table: str, select_sql: str, params=None) -> int:
        spec = contract.TABLES[table]
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        casts = ", ".join(f'CAST("{c.name}" AS {c.sql_type}) AS "{c.name}"' for c in spec.columns)
        before = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        self.con.execute(
            f'INSERT INTO "{table}" ({cols}) SELECT {casts} FROM ({select_sql})', params or [])
        return self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0] - before

    def save_raw(self, name: str, select_sql: str, params=None) -> None:
        """Keep a source's rows as received, for tracing a number back to its origin."""
        self.con.execute(f'CREATE OR REPLACE TABLE "raw_{name}" AS {select_sql}', params or [])

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # ------------------------------------------------------------------ publishing

    def publish(self, as_of: dt.date | None = None) -> PublishResult:
        """Validate, run models and checks, close the file and switch the pointer to it."""
        as_of = as_of or self.settings.general.as_of or today_tokyo()
        pause_point("build")
        self.progress("checking keys and references")
        check_canonical(self.con)
        self.progress("building models")
        models.run_models(self.con, self.settings, as_of, self.progress)
        self.progress("checking invariants")
        models.run_checks(self.con)
        rows = self.table_counts()
        self.con.execute(
            "CREATE TABLE snapshot_meta AS SELECT ? AS refresh_id, ? AS source, "
            "CAST(? AS TIMESTAMP) AS built_at, CAST(? AS DATE) AS as_of, ? AS is_demo, "
            "? AS rows, ? AS warnings, CAST(? AS INTEGER) AS schema_version",
            [self.refresh_id, self.source, dt.datetime.now(dt.UTC).replace(tzinfo=None),
             as_of, self.is_demo, json.dumps(rows, ensure_ascii=False),
             json.dumps(self.warnings, ensure_ascii=False), SCHEMA_VERSION])
        self.con.execute("CHECKPOINT")
        self.con.close()
        pause_point("publish")
        self.progress("publishing")
        snapshot = self.store.publish(self.path, self.refresh_id, self.settings.snapshots.keep)
        self.published = PublishResult(snapshot, self.refresh_id, rows, as_of,
                                       time.monotonic() - self._started, list(self.warnings))
        return self.published

    def table_counts(self) -> dict[str, int]:
        names = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
        return {n: self.con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}


class open_build:
    """Context manager: lock, log, fresh file; on any exit without publish, nothing changes."""

    def __init__(self, settings: Settings, store: Store, *, source: str, base: str = "current",
                 is_demo: bool = False, progress: Progress | None = None):
        self.settings, self.store, self.source = settings, store, source
        self.base, self.is_demo = base, is_demo
        self.progress = progress or _quiet
        self._lock = store.build_lock()
        self.log = RefreshLog(store)
        self.build: Build | None = None

    def __enter__(self) -> Build:
        try:
            self._lock.__enter__()
        except OSError as exc:  # a read-only or full data directory: one line
            raise storage_error(exc, self.store.home) or exc
        try:
            self.log.mark_interrupted()
            self.store.clean_partial_builds()
            refresh_id = self.log.start(self.source)
            try:
                self.build = Build(self.settings, self.store, self.source, refresh_id,
                                   self.store.building_path(refresh_id), self.base, self.is_demo,
                                   self.progress)
            except Exception as exc:
                path = self.store.building_path(refresh_id)
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
                self._log_finish(refresh_id, "failed", error=_one_line(exc))
                problem = storage_error(exc, self.store.home)
                if problem is not None:
                    raise problem from exc
                raise
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self.build

    def _log_finish(self, refresh_id: int, outcome: str, **details) -> None:
        """Record the outcome; a log that cannot be written (a full disk) must not hide the
        build's own error — the row then stays 'running' and is shown as interrupted once
        this process has ended."""
        try:
            self.log.finish(refresh_id, outcome, **details)
        except (CsAnalyticsError, OSError):
            pass

    def __exit__(self, exc_type, exc, tb):
        build = self.build
        try:
            if build.published is not None and exc is None:
                self._log_finish(build.refresh_id, "success",
                                 snapshot_id=build.published.snapshot.id,
                                 rows=build.published.rows)
                return False
            with _suppress():
                build.con.close()
            build.path.unlink(missing_ok=True)
            Path(str(build.path) + ".wal").unlink(missing_ok=True)
            if exc is None:
                message = "the build ended without publishing"
            elif isinstance(exc, KeyboardInterrupt):
                message = "interrupted by the user"
            else:
                message = _one_line(exc)
            storage = None if exc is None else storage_error(exc, self.store.home)
            if storage is not None:
                message = str(storage)
            self._log_finish(build.refresh_id, "interrupted" if isinstance(exc, KeyboardInterrupt)
                             else "failed", error=message)
            if storage is not None:  # a full or read-only disk: one line, nothing published
                raise storage from exc
            if exc is not None and not isinstance(exc, (CsAnalyticsError, KeyboardInterrupt)):
                # An unexpected error inside a build (a model bug, a disk error) still reaches
                # the user as one sentence; the log keeps the same sentence.
                raise BuildFailed(f"the snapshot build failed and nothing was published: "
                                  f"{message}") from exc
            return False
        finally:
            self._lock.__exit__(None, None, None)


def rebuild(settings: Settings, store: Store, progress: Progress | None = None) -> PublishResult:
    """Build the served snapshot again from its own canonical tables with this version's
    models, for the same as-of date — what a snapshot built by another version needs before it
    is read (`store.SCHEMA_VERSION`). No source is read; user data is not touched."""
    if not store.has_snapshot():
        raise CsAnalyticsError("there is no snapshot to rebuild: run `python -m cs_analytics "
                               "demo` or import data first")
    with open_build(settings, store, source="rebuild", base="rebuild",
                    progress=progress) as build:
        return build.publish(as_of=build.previous_as_of)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def check_canonical(con: duckdb.DuckDBPyConnection, limit: int = 5) -> None:
    """Keys unique and not null, references resolved, across the whole merged dataset."""
    problems: list[str] = []
    for name, spec in contract.TABLES.items():
        keys = ", ".join(f'"{k}"' for k in spec.key)
        nulls = " OR ".join(f'"{k}" IS NULL' for k in spec.key)
        n = con.execute(f'SELECT count(*) FROM "{name}" WHERE {nulls}').fetchall()[0][0]
        if n:
            problems.append(f"{name}: {n} rows without {' + '.join(spec.key)}")
        dup = con.execute(
            f'SELECT {keys}, count(*) FROM "{name}" GROUP BY ALL HAVING count(*) > 1 '
            f"LIMIT {limit}").fetchall()
        if dup:
            shown = ", ".join(" + ".join(str(v) for v in r[:-1]) for r in dup)
            problems.append(f"{name}: duplicate {' + '.join(spec.key)}: {shown}")
    for (table, column), (ref_table, ref_column) in contract.REFERENCES.items():
        missing = con.execute(
            f'SELECT DISTINCT t."{column}" FROM "{table}" t '
            f'WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM "{ref_table}" r WHERE r."{ref_column}" = t."{column}") '
            f'ORDER BY 1 LIMIT {limit}').fetchall()
        if missing:
            shown = ", ".join(str(r[0]) for r in missing)
            problems.append(f"{table}.{column} refers to {ref_table} that do not exist: {shown}")
    if problems:
        raise BuildFailed("the data is inconsistent and nothing was published: "
                          + "; ".join(problems))
