"""Snapshots and the stores beside them.

Layout of the data directory (`data/` or `CS_ANALYTICS_HOME`):

    snapshots/snap-<stamp>-<refresh id>.duckdb   published snapshots (kept: `snapshots.keep`)
    snapshots/.building-<refresh id>.duckdb       a build in progress (removed on failure/restart)
    CURRENT                                       name of the current snapshot file (the pointer)
    meta.sqlite                                   refresh log and connector state (watermarks,
                                                  alert deliveries) — survives across snapshots
    userdata.sqlite                               user-entered data (notes, assessments, alert
                                                  acknowledgements, weekly reviews); never
                                                  touched by a refresh
    .build.lock                                   held by the one build allowed at a time

A build writes a new file, closes it, renames it into place and then switches the pointer with
an atomic `os.replace`, so readers see either the old snapshot or the new one, never a part.
Readers open the snapshot's real path read-only, one long-lived connection per snapshot, and take
a cursor per query (DuckDB connections are not shared between threads).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb

from cs_analytics.errors import CsAnalyticsError, NoSnapshot

POINTER = "CURRENT"
SNAPSHOT_DIR = "snapshots"
BUILDING_PREFIX = ".building-"

_MISSING = object()
_derived_locks_lock = threading.Lock()  # guards the creation of Snapshot.derived_once's locks


@dataclass(frozen=True)
class SnapshotFile:
    id: str
    path: Path


class Snapshot:
    """A published snapshot opened read-only. Safe to share between threads."""

    def __init__(self, file: SnapshotFile, connection: duckdb.DuckDBPyConnection,
                 facts: dict | None = None):
        self.id = file.id
        self.path = file.path
        self._con = connection
        # What never changes in a published file (its tables, its meta row), shared by every
        # Snapshot of the file: pages ask for it dozens of times per run, a query each.
        self._facts = {} if facts is None else facts

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def query(self, sql: str, params=None):
        """Run a query and return a pandas DataFrame."""
        cur = self._con.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def rows(self, sql: str, params=None) -> list[tuple]:
        cur = self._con.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def scalar(self, sql: str, params=None):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def fact(self, name: str, sql: str):
        """The single value `sql` returns, read once per snapshot file (a published snapshot
        never changes) — for parameters every metric reads, such as the fiscal year start."""
        key = ("fact", name)
        if key not in self._facts:
            self._facts[key] = self.scalar(sql)
        return self._facts[key]

    def derived(self, name: str) -> OrderedDict:
        """A dict kept with the file's facts for values derived from the file's tables (they
        never change either), shared by every Snapshot of the file: `name` says whose."""
        return self._facts.setdefault(("derived", name), OrderedDict())

    def derived_once(self, name: str, key, load: Callable[[], Any]) -> Any:
        """`derived(name)[key]`, made by `load()` the first time it is asked for: once per
        snapshot file, whichever thread asks first — the others wait for its value."""
        kept = self.derived(name)
        found = kept.get(key, _MISSING)
        if found is not _MISSING:
            return found
        with _derived_locks_lock:
            lock = self._facts.setdefault(("derived locks", name, key), threading.Lock())
        with lock:
            found = kept.get(key, _MISSING)
            if found is _MISSING:
                found = kept[key] = load()
        return found

    def has_table(self, name: str) -> bool:
        tables = self._facts.get("tables")
        if tables is None:
            tables = frozenset(r[0] for r in self.rows(
                "SELECT table_name FROM information_schema.tables"))
            self._facts["tables"] = tables
        return name in tables

    @property
    def meta(self) -> dict:
        """The snapshot's own description: source, built_at, as_of, is_demo, row counts."""
        if "meta" not in self._facts:
            row = self.query("SELECT * FROM snapshot_meta").iloc[0].to_dict()
            row["rows"] = json.loads(row.get("rows") or "{}")
            self._facts["meta"] = row
        return self._facts["meta"]

    @property
    def as_of(self) -> dt.date:
        value = self.meta["as_of"]
        return value.date() if hasattr(value, "date") else value

    @property
    def is_demo(self) -> bool:
        return bool(self.meta["is_demo"])


class _ConnectionCache:
    """One read-only connection per snapshot file for the whole process, with the file's
    facts (Snapshot._facts)."""

    def __init__(self, size: int = 3):
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[duckdb.DuckDBPyConnection, dict]] = OrderedDict()

    def get(self, path: Path) -> duckdb.DuckDBPyConnection:
        return self.entry(path)[0]

    def entry(self, path: Path) -> tuple[duckdb.DuckDBPyConnection, dict]:
        key = str(path)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = (duckdb.connect(key, read_only=True), {})
                self._items[key] = item
                # Older connections are dropped, not closed: a thread may still be reading
                # through a cursor of one; it closes when the last reference goes.
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
            return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_connections = _ConnectionCache()
# The snapshot file each pointer's content names, by (snapshot directory, content).
_pointers: dict[tuple[str, bytes], SnapshotFile] = {}


class Store:
    """The data directory: snapshots, the pointer, the refresh log and the user-data store."""

    def __init__(self, home: str | Path):
        self.home = Path(home)
        self.snapshot_dir = self.home / SNAPSHOT_DIR
        self.pointer = self.home / POINTER

    # ------------------------------------------------------------------ reading

    def current_file(self) -> SnapshotFile | None:
        """The snapshot the pointer names, or None. Asked on every page run (and by parts
        of it): the pointer is read each time, and the file it names is resolved once per
        name (`_pointers`) instead of on each read (~0.1 ms, more while other threads run);
        the snapshot file is still checked to exist."""
        try:
            with open(self.pointer, "rb") as fh:
                name = fh.read()
        except FileNotFoundError:
            return None
        key = (str(self.snapshot_dir), name)
        file = _pointers.get(key)
        if file is None:
            text = name.decode("utf-8").strip()
            if not text:
                return None
            file = SnapshotFile(id=_snapshot_id(text),
                                path=(self.snapshot_dir / text).resolve())
            if len(_pointers) > 64:
                _pointers.clear()
            _pointers[key] = file
        return file if os.path.exists(file.path) else None

    def has_snapshot(self) -> bool:
        return self.current_file() is not None

    def open_current(self) -> Snapshot:
        file = self.current_file()
        if file is None:
            raise NoSnapshot(
                f"no snapshot published in {self.home}: run `python -m cs_analytics demo` "
                "or import data first")
        return Snapshot(file, *_connections.entry(file.path))

    def snapshot_files(self) -> list[SnapshotFile]:
        """Published snapshot files, newest first."""
        if not self.snapshot_dir.exists():
            return []
        files = sorted(self.snapshot_dir.glob("snap-*.duckdb"), reverse=True)
        return [SnapshotFile(id=_snapshot_id(p.name), path=p.resolve()) for p in files]

    # ------------------------------------------------------------------ writing

    def ensure_dirs(self) -> None:
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def build_lock(self):
        """Only one build at a time; a second one fails at once with a clear message."""
        self.ensure_dirs()
        fd = os.open(self.home / ".build.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CsAnalyticsError(
                    "another refresh or import is running on this data directory; "
                    "try again when it has finished") from None
            yield
        finally:
            os.close(fd)

    def building_path(self, refresh_id: int) -> Path:
        return self.snapshot_dir / f"{BUILDING_PREFIX}{refresh_id}.duckdb"

    def clean_partial_builds(self) -> list[Path]:
        """Remove files left by builds that died; call only while holding the build lock."""
        removed = []
        for path in self.snapshot_dir.glob(f"{BUILDING_PREFIX}*"):
            path.unlink(missing_ok=True)
            removed.append(path)
        # A publish killed between renaming its file into place and switching the pointer
        # leaves a complete file newer than the current one that nothing points to.
        current = self.current_file()
        for f in self.snapshot_files():
            if current is not None and f.path.name > current.path.name:
                f.path.unlink(missing_ok=True)
                removed.append(f.path)
        for path in self.home.glob(f"{POINTER}.tmp*"):
            path.unlink(missing_ok=True)
        return removed

    def publish(self, building: Path, refresh_id: int, keep: int) -> SnapshotFile:
        """Move a closed, validated build into place and switch the pointer to it."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"snap-{stamp}-{refresh_id}.duckdb"
        final = self.snapshot_dir / name
        _fsync_file(building)
        os.replace(building, final)
        tmp = self.home / f"{POINTER}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        _fsync_dir(self.home)
        self.prune(keep)
        return SnapshotFile(id=_snapshot_id(name), path=final.resolve())

    def prune(self, keep: int) -> list[Path]:
        """Delete all but the newest `keep` snapshots; the current one is never deleted.

        A reader still holding a pruned file open keeps reading it (POSIX unlink semantics).
        """
        current = self.current_file()
        removed = []
        for f in self.snapshot_files()[keep:]:
            if current is not None and f.path == current.path:
                continue
            f.path.unlink(missing_ok=True)
            Path(str(f.path) + ".wal").unlink(missing_ok=True)
            removed.append(f.path)
        return removed

    # ------------------------------------------------------------------ side stores

    def meta_db(self) -> sqlite3.Connection:
        self.home.mkdir(parents=True, exist_ok=True)
        return open_sqlite(self.home / "meta.sqlite", META_MIGRATIONS)

    def userdata_db(self) -> sqlite3.Connection:
        self.home.mkdir(parents=True, exist_ok=True)
        return open_sqlite(self.home / "userdata.sqlite", USERDATA_MIGRATIONS)


def _snapshot_id(name: str) -> str:
    return name.removesuffix(".duckdb").removeprefix("snap-")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- SQLite side stores
# Both side stores are SQLite in WAL mode: several processes (the app, a CLI refresh, cron)
# read and write them at once, which a DuckDB file does not allow.

META_MIGRATIONS: list[str] = [
    """
    CREATE TABLE refresh_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL,          -- running | success | failed | interrupted
        snapshot_id TEXT,
        rows TEXT,                      -- JSON: {table: row count}
        error TEXT,
        pid INTEGER
    );
    CREATE TABLE watermarks (
        source TEXT NOT NULL,
        object TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, object)
    );
    """,
    # Churn-risk alerts (cs_analytics/alerts): what the last evaluation saw, every alert fired,
    # and the Slack messages carrying them. A message is 'sent' only after Slack accepted it.
    """
    CREATE TABLE alert_signal_state (
        account_id TEXT NOT NULL,
        signal TEXT NOT NULL,
        active INTEGER NOT NULL,        -- shown at the last evaluation
        since TEXT NOT NULL,            -- data date the current (or last) episode began
        notified INTEGER NOT NULL,      -- the episode was alerted or deliberately not
        outcome TEXT,                   -- fired | acknowledged | cooldown | known | waiting
        as_of TEXT NOT NULL,            -- as-of date of the snapshot last evaluated
        snapshot_id TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (account_id, signal)
    );
    CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        mode TEXT NOT NULL,             -- each | digest
        payload TEXT NOT NULL,          -- the JSON body posted to the webhook
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt_at TEXT,
        sent_at TEXT
    );
    CREATE INDEX alert_deliveries_status ON alert_deliveries (status);
    CREATE TABLE alert_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        signal TEXT NOT NULL,
        since TEXT NOT NULL,            -- the episode (alert_signal_state.since)
        fired_on TEXT NOT NULL,         -- evaluation date; the cooldown counts from it
        fired_at TEXT NOT NULL,
        as_of TEXT NOT NULL,
        snapshot_id TEXT,
        evidence TEXT NOT NULL,         -- JSON
        delivery_id INTEGER REFERENCES alert_deliveries (id),
        UNIQUE (account_id, signal, since)
    );
    CREATE INDEX alert_log_account ON alert_log (account_id, signal, fired_on);
    CREATE TABLE alert_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        evaluated_at TEXT NOT NULL,
        as_of TEXT NOT NULL,
        snapshot_id TEXT,
        shown INTEGER NOT NULL,         -- signals shown on the as-of date
        fired INTEGER NOT NULL          -- alerts fired by this evaluation
    );
    """,
    # Salesforce write-back (cs_analytics/writeback): the values Salesforce confirmed for each
    # record `push` wrote, per org, so the next push sends only what changed.
    """
    CREATE TABLE salesforce_pushed (
        target TEXT NOT NULL,           -- the org written to (writeback.state.target_of)
        object TEXT NOT NULL,           -- Account, the usage object, Task
        record_key TEXT NOT NULL,       -- account id, usage external id, outbox key
        fields TEXT NOT NULL,           -- JSON {Salesforce field: value} as confirmed
        record_id TEXT,                 -- the Salesforce record id
        pushed_at TEXT NOT NULL,
        PRIMARY KEY (target, object, record_key)
    );
    """,
]

USERDATA_MIGRATIONS: list[str] = [
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX notes_account ON notes (account_id);
    CREATE TABLE manual_assessments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        band TEXT NOT NULL CHECK (band IN ('healthy', 'caution', 'warning', 'danger')),
        comment TEXT NOT NULL DEFAULT '',
        expires_on TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX manual_assessments_account ON manual_assessments (account_id);
    CREATE TABLE alert_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        signal TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('acknowledge', 'snooze')),
        until TEXT,                     -- snooze end date (ISO)
        comment TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX alert_actions_account ON alert_actions (account_id, signal);
    CREATE TABLE weekly_reviews (
        team TEXT NOT NULL,
        week_start TEXT NOT NULL,       -- the Monday (ISO)
        results TEXT NOT NULL DEFAULT '',
        ksf TEXT NOT NULL DEFAULT '',
        ksf_actions TEXT NOT NULL DEFAULT '',
        kff TEXT NOT NULL DEFAULT '',
        kff_actions TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (team, week_start)
    );
    CREATE TABLE action_plans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        team TEXT NOT NULL,
        week_start TEXT NOT NULL,
        due_date TEXT,
        description TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
        author TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX action_plans_week ON action_plans (team, week_start);
    """,
    """
    CREATE TABLE kpi_commentary (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        quarter TEXT NOT NULL,          -- the fiscal quarter's label, e.g. 2026Q3
        body TEXT NOT NULL,             -- '' clears the quarter's commentary
        author TEXT NOT NULL,
        created_at TEXT NOT NULL        -- UTC, ISO
    );
    CREATE INDEX kpi_commentary_quarter ON kpi_commentary (quarter, id);
    """,
    # Notes and manual assessments wait here until Salesforce confirms the Task carrying them
    # (cs_analytics/writeback/outbox.py). The triggers enqueue each one in the same transaction
    # that records it, whoever writes it.
    """
    CREATE TABLE salesforce_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('note', 'assessment')),
        record_id INTEGER NOT NULL,     -- notes.id or manual_assessments.id
        account_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- with kind and record_id, the Task's external id: unique across data directories
        token TEXT NOT NULL DEFAULT (lower(hex(randomblob(8)))),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt_at TEXT,
        task_id TEXT,                   -- the Salesforce Task, once confirmed
        sent_at TEXT,
        UNIQUE (kind, record_id)
    );
    CREATE INDEX salesforce_outbox_status ON salesforce_outbox (status, account_id);
    CREATE TRIGGER notes_to_salesforce_outbox AFTER INSERT ON notes
    BEGIN
        INSERT INTO salesforce_outbox (kind, record_id, account_id, created_at)
        VALUES ('note', NEW.id, NEW.account_id, NEW.created_at);
    END;
    CREATE TRIGGER assessments_to_salesforce_outbox AFTER INSERT ON manual_assessments
    BEGIN
        INSERT INTO salesforce_outbox (kind, record_id, account_id, created_at)
        VALUES ('assessment', NEW.id, NEW.account_id, NEW.created_at);
    END;
    """,
]


def open_sqlite(path: Path, migrations: list[str]) -> sqlite3.Connection:
    """Open a side store and bring its schema up to date (migrations are append-only)."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=30000")
    con.execute("PRAGMA foreign_keys=ON")
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version < len(migrations):
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            for i, sql in enumerate(migrations[version:], start=version + 1):
                for statement in _statements(sql):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {i}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return con


def _statements(script: str) -> list[str]:
    parts, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            parts.append(buf.strip())
            buf = ""
    if buf.strip():
        parts.append(buf.strip())
    return [p for p in parts if p]


@contextlib.contextmanager
def write_transaction(con: sqlite3.Connection):
    """One write transaction on a side store, taken at once (BEGIN IMMEDIATE: a second writer
    waits its turn instead of failing halfway), committed at the end, rolled back on any
    error; the connection is closed either way."""
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- refresh log


class RefreshLog:
    """One row per build attempt, kept in meta.sqlite across snapshots."""

    def __init__(self, store: Store):
        self.store = store

    def start(self, source: str) -> int:
        con = self.store.meta_db()
        try:
            cur = con.execute(
                "INSERT INTO refresh_log (source, started_at, outcome, pid) "
                "VALUES (?, ?, 'running', ?)", (source, now_iso(), os.getpid()))
            return cur.lastrowid
        finally:
            con.close()

    def finish(self, refresh_id: int, outcome: str, *, snapshot_id: str | None = None,
               rows: dict | None = None, error: str | None = None) -> None:
        con = self.store.meta_db()
        try:
            con.execute(
                "UPDATE refresh_log SET finished_at = ?, outcome = ?, snapshot_id = ?, rows = ?, "
                "error = ? WHERE id = ?",
                (now_iso(), outcome, snapshot_id, json.dumps(rows or {}, ensure_ascii=False),
                 error, refresh_id))
        finally:
            con.close()

    def mark_interrupted(self) -> int:
        """Builds still 'running' when the build lock is free were killed: say so."""
        con = self.store.meta_db()
        try:
            cur = con.execute(
                "UPDATE refresh_log SET outcome = 'interrupted', finished_at = ?, "
                "error = coalesce(error, 'the process stopped before the build finished') "
                "WHERE outcome = 'running'", (now_iso(),))
            return cur.rowcount
        finally:
            con.close()

    def record(self, source: str, started_at: str, outcome: str, *,
               snapshot_id: str | None = None, rows: dict | None = None,
               error: str | None = None) -> int:
        """One finished run that built nothing (a Salesforce push), written when it ends so
        a build starting meanwhile never takes it for an interrupted one."""
        con = self.store.meta_db()
        try:
            cur = con.execute(
                "INSERT INTO refresh_log (source, started_at, finished_at, outcome, snapshot_id, "
                "rows, error, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, started_at, now_iso(), outcome, snapshot_id,
                 json.dumps(rows or {}, ensure_ascii=False), error, os.getpid()))
            return int(cur.lastrowid)
        finally:
            con.close()

    def recent(self, limit: int = 20) -> list[dict]:
        con = self.store.meta_db()
        try:
            rows = con.execute(
                "SELECT * FROM refresh_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        finally:
            con.close()
        result = []
        for r in rows:
            d = dict(r)
            d["rows"] = json.loads(d["rows"]) if d["rows"] else {}
            result.append(d)
        return result


def reset_connection_cache() -> None:
    """Forget cached read-only connections and pointers (tests, and after the data directory
    is replaced)."""
    _connections.clear()
    _pointers.clear()
