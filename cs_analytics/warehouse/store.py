"""Snapshots and the stores beside them.

Layout of the data directory (`data/` or `CS_ANALYTICS_HOME`):

    snapshots/snap-<stamp>-<refresh id>.duckdb   published snapshots (kept: `snapshots.keep`)
    snapshots/snap-<…>.duckdb.check               the size the snapshot was published with
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

Opening verifies the snapshot (`Store.resolve`): a pointer that names no snapshot, a file that
is missing, has another size than it was published with, or that DuckDB cannot open as a
complete snapshot is reported in one line (`Damage`), and the newest intact older snapshot is
served in its place, marked as such (`Snapshot.damage`); builds start from that one too.

The directory is created 0700 and every file in it 0600: the snapshots hold every customer's
revenue. Read-only work opens the side stores read-only; a write that fails because the disk
is full or read-only becomes one `StorageError` line, and nothing half-written is left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import duckdb

from cs_analytics.errors import (CsAnalyticsError, NoSnapshot, Sentence, SnapshotDamaged,
                                 SnapshotOutdated, StorageError)
from cs_analytics.once import MadeOnce

POINTER = "CURRENT"
SNAPSHOT_DIR = "snapshots"
BUILDING_PREFIX = ".building-"
CHECK_SUFFIX = ".check"
SNAPSHOT_NAME = re.compile(r"snap-[0-9A-Za-z]+-[0-9]+\.duckdb")
DIR_MODE = 0o700
FILE_MODE = 0o600
# Tables every published snapshot has: a file without them is not a complete snapshot.
# The version of what a snapshot holds — the canonical tables of contract.py and the tables the
# models write. Raise it with any change to them: a snapshot whose snapshot_meta records another
# version (or none) is not read, and the next build (import, refresh, `rebuild`) makes it again
# from its canonical tables. So metrics read every model's table without asking whether it is
# there.
SCHEMA_VERSION = 2

REQUIRED_TABLES = frozenset({"snapshot_meta", "users", "accounts", "contracts", "activities",
                             "usage", "fct_account_mrr_monthly"})



@dataclass(frozen=True)
class SnapshotFile:
    id: str
    path: Path


# What can be wrong with a snapshot file or the pointer, as one English line (the app says
# the same in its own language: ui/locales, `damage.<kind>`).
PROBLEMS = {
    "missing": "the file is missing",
    "size": "the file is {size} bytes but was published with {expected} (truncated or "
            "overwritten)",
    "unreadable": "DuckDB cannot read it: {detail}",
    "incomplete": "it is not a complete snapshot: {detail}",
    "pointer_missing": "is missing although snapshots exist",
    "pointer_unreadable": "cannot be read: {detail}",
    "pointer_invalid": "names no snapshot file ({detail})",
}


@dataclass(frozen=True)
class Problem:
    """What is wrong with a snapshot file or the pointer: its kind (a key of PROBLEMS) and
    the values the sentence names. str() is the English line."""

    kind: str
    values: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return PROBLEMS[self.kind].format(**dict(self.values))


def _problem(kind: str, **values) -> Problem:
    return Problem(kind, tuple((k, str(v)) for k, v in values.items()))


@dataclass(frozen=True)
class Damage:
    """A damaged snapshot file, or pointer: which (`name`) and what is wrong (`problem`)."""

    name: str
    problem: Problem

    @property
    def reason(self) -> str:
        return str(self.problem)

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Served:
    """What `Store.resolve` found: the snapshot to serve (None: none) and, when the current
    one is damaged, the damage — `file` is then the newest intact older snapshot."""

    file: SnapshotFile | None
    damage: Damage | None = None

    @property
    def is_fallback(self) -> bool:
        return self.file is not None and self.damage is not None


class Snapshot:
    """A published snapshot opened read-only. Safe to share between threads."""

    def __init__(self, file: SnapshotFile, connection: duckdb.DuckDBPyConnection,
                 facts: dict | None = None, damage: Damage | None = None):
        self.id = file.id
        self.path = file.path
        # Set when this snapshot is served in place of a damaged current one.
        self.damage = damage
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
        return self._derived(name).values

    def derived_once(self, name: str, key, load: Callable[[], Any],
                     keep: int | None = None) -> Any:
        """`derived(name)[key]`, made by `load()` the first time it is asked for: once per
        snapshot file, whichever thread asks first — the others wait for its value. With
        `keep`, at most that many values of `name` are kept, the least recently asked for
        dropped first (a dropped value is made again when asked for)."""
        made = self._derived(name)
        made.keep = keep
        return made.get(key, load)

    def _derived(self, name: str) -> MadeOnce:
        return self._facts.setdefault(("derived", name), MadeOnce())

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
    def schema_version(self) -> int | None:
        """The SCHEMA_VERSION the snapshot was built with (None: built before versions)."""
        value = self.meta.get("schema_version")
        return None if value is None or value != value else int(value)

    @property
    def is_current_version(self) -> bool:
        return self.schema_version == SCHEMA_VERSION

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
        self._opened: dict[str, tuple | None] = {}

    def get(self, path: Path) -> duckdb.DuckDBPyConnection:
        return self.entry(path)[0]

    def entry(self, path: Path, stat_key: tuple | None = None
              ) -> tuple[duckdb.DuckDBPyConnection, dict]:
        """The file's connection and facts; opening it checks it is a complete snapshot
        (duckdb.Error or _Incomplete when not). `stat_key` is the file's (path, size, mtime)
        when it was checked, kept to notice a later change (`opened_as`)."""
        key = str(path)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = _open_snapshot(key)
                self._items[key] = item
                self._opened[key] = stat_key
                # Older connections are dropped, not closed: a thread may still be reading
                # through a cursor of one; it closes when the last reference goes.
                while len(self._items) > self._size:
                    dropped, _ = self._items.popitem(last=False)
                    self._opened.pop(dropped, None)
            else:
                self._items.move_to_end(key)
            return item

    def opened_as(self, path: Path) -> tuple | None:
        """The (path, size, mtime) the file had when its open connection was checked."""
        with self._lock:
            return self._opened.get(str(path)) if str(path) in self._items else None

    def drop(self, path: Path) -> None:
        """Forget the file's connection (not closed: a reader may still hold a cursor)."""
        with self._lock:
            self._items.pop(str(path), None)
            self._opened.pop(str(path), None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._opened.clear()


class _Incomplete(Exception):
    """A file DuckDB opens but that lacks what every published snapshot has."""


def _open_snapshot(path: str) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """A read-only connection to a snapshot file and its facts, its tables and meta row read
    (pages read both at once anyway): a truncated, overwritten or incomplete file fails here,
    with duckdb.Error or _Incomplete, instead of in the middle of a page."""
    con = duckdb.connect(path, read_only=True)
    try:
        tables = frozenset(r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall())
        missing = sorted(REQUIRED_TABLES - tables)
        if missing:
            raise _Incomplete(f"tables missing: {', '.join(missing)}")
        meta = con.execute("SELECT * FROM snapshot_meta").df()
        if len(meta) != 1:
            raise _Incomplete(f"snapshot_meta has {len(meta)} rows, expected 1")
        row = meta.iloc[0].to_dict()
        row["rows"] = json.loads(row.get("rows") or "{}")
    except BaseException:
        con.close()
        raise
    return con, {"tables": tables, "meta": row}


_connections = _ConnectionCache()
# The snapshot file each pointer's content names, by (snapshot directory, content).
_pointers: dict[tuple[str, bytes], SnapshotFile | Damage] = {}
# Why a file is not an intact snapshot, by (path, size, mtime): a damaged file is not opened
# again on every page run, and a file replaced since is checked anew.
_damaged: dict[tuple[str, int, int], Problem] = {}


class Store:
    """The data directory: snapshots, the pointer, the refresh log and the user-data store."""

    def __init__(self, home: str | Path):
        self.home = Path(home)
        self.snapshot_dir = self.home / SNAPSHOT_DIR
        self.pointer = self.home / POINTER

    # ------------------------------------------------------------------ reading

    def pointed(self) -> SnapshotFile | Damage | None:
        """What the pointer names: a snapshot file (which may be missing), a Damage when it
        names no snapshot file, or None when there is no pointer. Asked on every page run:
        the pointer is read each time, and what its content names is resolved once per
        content (`_pointers`)."""
        try:
            with open(self.pointer, "rb") as fh:
                content = fh.read(4096)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return Damage(POINTER, _problem("pointer_unreadable", detail=exc.strerror or exc))
        key = (str(self.snapshot_dir), content)
        found = _pointers.get(key)
        if found is None:
            found = _read_pointer(content, self.snapshot_dir)
            if len(_pointers) > 64:
                _pointers.clear()
            _pointers[key] = found
        return found

    def current_file(self) -> SnapshotFile | None:
        """The snapshot file the pointer names, if the pointer is sound and the file exists
        (whether the file is intact is `resolve`'s question)."""
        file = self.pointed()
        return file if isinstance(file, SnapshotFile) and os.path.exists(file.path) else None

    def resolve(self) -> Served:
        """The snapshot to serve: the current one when it is intact; when it (or the pointer)
        is damaged, the newest intact snapshot older than it, with the damage — or no file
        when none is intact. Each file is verified once per process (see `check`)."""
        pointed = self.pointed()
        if pointed is None:
            if not self.snapshot_files():
                return Served(None)
            damage = Damage(POINTER, _problem("pointer_missing"))
            return Served(self._newest_intact(None), damage)
        if isinstance(pointed, Damage):
            return Served(self._newest_intact(None), pointed)
        problem = self.check(pointed)
        if problem is None:
            return Served(pointed)
        damage = Damage(pointed.path.name, problem)
        return Served(self._newest_intact(pointed.path.name), damage)

    def check(self, file: SnapshotFile) -> Problem | None:
        """Why `file` is not an intact snapshot, or None when it is: it exists,
        has the size it was published with (`.check`), and DuckDB opens it as a complete
        snapshot. An intact file keeps its read-only connection open for the readers."""
        try:
            stat = os.stat(file.path)
        except FileNotFoundError:
            return _problem("missing")
        except OSError as exc:
            return _problem("unreadable", detail=exc.strerror or exc)
        key = (str(file.path), stat.st_size, stat.st_mtime_ns)
        if key in _damaged:
            return _damaged[key]
        if _connections.opened_as(file.path) == key:
            return None
        # Not open yet, or changed since it was opened (a published file never changes):
        # verify it (again) before serving it.
        _connections.drop(file.path)
        problem = _size_problem(file.path, stat.st_size)
        if problem is None:
            try:
                _connections.entry(file.path, key)
            except duckdb.Error as exc:
                problem = _problem("unreadable", detail=_one_line(exc))
            except _Incomplete as exc:
                problem = _problem("incomplete", detail=_one_line(exc))
        if problem is not None:
            if len(_damaged) > 64:
                _damaged.clear()
            _damaged[key] = problem
        return problem

    def verify_all(self) -> list[tuple[SnapshotFile, Problem | None]]:
        """Every kept snapshot, newest first, with what is wrong with it (None: intact) after
        reading every table in full, so that DuckDB checks the checksum of every block."""
        result = []
        for f in self.snapshot_files():
            problem = self.check(f)
            if problem is None:
                try:
                    _read_every_block(f.path)
                except duckdb.Error as exc:
                    problem = _problem("unreadable", detail=_one_line(exc))
            result.append((f, problem))
        return result

    def _newest_intact(self, older_than: str | None) -> SnapshotFile | None:
        for f in self.snapshot_files():
            if older_than is not None and f.path.name >= older_than:
                continue
            if self.check(f) is None:
                return f
        return None

    def has_snapshot(self) -> bool:
        """Whether a snapshot can be served (the current one, or an intact older one)."""
        return self.resolve().file is not None

    def open_current(self, any_version: bool = False) -> Snapshot:
        """The snapshot to serve (`resolve`), opened read-only. NoSnapshot when nothing was
        published; SnapshotDamaged when the current one is damaged and none older is intact;
        SnapshotOutdated when it was built by another schema version, unless `any_version`
        (for what reads only its canonical tables or its description)."""
        served = self.resolve()
        if served.file is None:
            if served.damage is not None:
                raise SnapshotDamaged(
                    f"the current snapshot is damaged ({served.damage}) and no intact older "
                    "snapshot is kept: rebuild it with `python -m cs_analytics import` or "
                    "`refresh` (docs/operations.md, \"Recovering from a damaged snapshot\")",
                    served.damage)
            raise NoSnapshot(
                f"no snapshot published in {self.home}: run `python -m cs_analytics demo` "
                "or import data first")
        snap = Snapshot(served.file, *_connections.entry(served.file.path),
                        damage=served.damage)
        if not any_version and not snap.is_current_version:
            raise outdated_error(snap)
        return snap

    def snapshot_files(self) -> list[SnapshotFile]:
        """Published snapshot files, newest first."""
        if not self.snapshot_dir.exists():
            return []
        files = sorted((p for p in self.snapshot_dir.glob("snap-*.duckdb")
                        if SNAPSHOT_NAME.fullmatch(p.name)), reverse=True)
        return [SnapshotFile(id=_snapshot_id(p.name), path=p.resolve()) for p in files]

    # ------------------------------------------------------------------ writing

    def ensure_dirs(self) -> None:
        """The data directory and its snapshot directory, created private (0700)."""
        _private_dir(self.home)
        _private_dir(self.snapshot_dir)

    @contextlib.contextmanager
    def build_lock(self):
        """Only one build at a time; a second one fails at once with a clear message."""
        self.ensure_dirs()
        fd = os.open(self.home / ".build.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
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

    def build_running(self) -> bool:
        """Whether a build holds the build lock now (read-only: the lock file is not
        created, and a read-only directory has no build running)."""
        try:
            fd = os.open(self.home / ".build.lock", os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
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
        kept = {f.path.name for f in self.snapshot_files()}
        for path in self.snapshot_dir.glob(f"snap-*{CHECK_SUFFIX}"):
            if path.name.removesuffix(CHECK_SUFFIX) not in kept:
                path.unlink(missing_ok=True)
        for path in self.home.glob(f"{POINTER}.tmp*"):
            path.unlink(missing_ok=True)
        return removed

    def publish(self, building: Path, refresh_id: int, keep: int) -> SnapshotFile:
        """Move a closed, validated build into place and switch the pointer to it. A failure
        on the way (a full disk) leaves the build file where it was and the pointer as it was."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"snap-{stamp}-{refresh_id}.duckdb"
        final = self.snapshot_dir / name
        check = self.snapshot_dir / (name + CHECK_SUFFIX)
        tmp = self.home / f"{POINTER}.tmp{os.getpid()}"
        os.chmod(building, FILE_MODE)
        _fsync_file(building)
        try:
            _write_private(check, json.dumps({"size": os.path.getsize(building)}) + "\n")
            os.replace(building, final)
            try:
                _write_private(tmp, name + "\n")
                os.replace(tmp, self.pointer)
            except BaseException:
                os.replace(final, building)
                raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            check.unlink(missing_ok=True)
            raise
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
            Path(str(f.path) + CHECK_SUFFIX).unlink(missing_ok=True)
            removed.append(f.path)
        return removed

    # ------------------------------------------------------------------ side stores

    def meta_db(self, readonly: bool = False) -> sqlite3.Connection:
        """The refresh log and connector state. `readonly`: for work that only reads — opens
        the file read-only (nothing is created or migrated; a missing store reads empty)."""
        return self._side_store("meta.sqlite", META_MIGRATIONS, readonly)

    def userdata_db(self, readonly: bool = False) -> sqlite3.Connection:
        """The user-entered data; `readonly` as for `meta_db`."""
        return self._side_store("userdata.sqlite", USERDATA_MIGRATIONS, readonly)

    def _side_store(self, name: str, migrations: list[str], readonly: bool) -> sqlite3.Connection:
        path = self.home / name
        try:
            if readonly:
                return open_sqlite_readonly(path, migrations)
            _private_dir(self.home)
            return open_sqlite(path, migrations)
        except (OSError, sqlite3.Error) as exc:
            raise storage_error(exc, self.home) or exc


def outdated_error(snap: Snapshot) -> SnapshotOutdated:
    """The one sentence for a snapshot built by another version (the app says it in its own
    language: ui/locales, `frame.snapshot_outdated`)."""
    found = snap.schema_version
    shown = found if found is not None else "—"
    en = (f"snapshot {snap.id} was built by another version of CS Analytics (snapshot schema "
          f"{shown}; this version reads {SCHEMA_VERSION}): rebuild it from its own data with "
          "`python -m cs_analytics rebuild` (or an `import` or `refresh`)")
    ja = (f"スナップショット {snap.id} は別のバージョンの CS Analytics で作成されています（スキーマ "
          f"{shown}、このバージョンは {SCHEMA_VERSION}）。`python -m cs_analytics rebuild`"
          "（または import / refresh）で、そのデータから作り直してください")
    return SnapshotOutdated(en, snap.id, found, text=Sentence(en, ja))


def _read_pointer(content: bytes, snapshot_dir: Path) -> SnapshotFile | Damage:
    """The snapshot file a pointer's content names, or why it names none."""
    try:
        text = content.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Damage(POINTER, _problem("pointer_invalid", detail="not text"))
    if not SNAPSHOT_NAME.fullmatch(text):
        shown = text[:40].encode("unicode_escape").decode("ascii") or "nothing"
        return Damage(POINTER, _problem("pointer_invalid", detail=shown))
    return SnapshotFile(id=_snapshot_id(text), path=(snapshot_dir / text).resolve())


def _size_problem(path: Path, size: int) -> Problem | None:
    """A snapshot whose size differs from the one it was published with is truncated or
    overwritten. Snapshots published before sizes were recorded have no `.check`."""
    try:
        recorded = json.loads(Path(str(path) + CHECK_SUFFIX).read_text(encoding="utf-8"))["size"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # an unreadable record is no evidence against the file; DuckDB decides
    if size != recorded:
        return _problem("size", size=f"{size:,}", expected=f"{recorded:,}")
    return None


def _read_every_block(path: Path) -> None:
    """Read every column of every table, so DuckDB checks each block's checksum."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE'").fetchall()]
        for table in tables:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall()]
            if columns:
                aggregates = ", ".join(f'count("{c}")' for c in columns)
                con.execute(f'SELECT {aggregates} FROM "{table}"').fetchall()
    finally:
        con.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _private_dir(path: Path) -> None:
    """Create `path` (and missing parents) with mode 0700; an existing one is left as is."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Write a small file (mode 0600) and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


# ---------------------------------------------------------------------------- write failures

_FULL = {errno.ENOSPC: "full", errno.EDQUOT: "full (disk quota exceeded)"}
_READ_ONLY = {errno.EROFS: "read-only", errno.EACCES: "not writable (permission denied)",
              errno.EPERM: "not writable (permission denied)"}


def storage_error(exc: BaseException, home: Path) -> StorageError | None:
    """The one-line StorageError a failed write in the data directory means — the disk is
    full, or it is read-only or not writable — or None for any other error."""
    state = None
    if isinstance(exc, OSError):
        state = _FULL.get(exc.errno) or _READ_ONLY.get(exc.errno)
    elif isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorname", "") or ""
        if code == "SQLITE_FULL" or "disk is full" in str(exc):
            state = "full"
        elif code.startswith("SQLITE_READONLY") or "readonly database" in str(exc):
            state = "read-only"
        elif code.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR")) or "unable to open" in str(exc):
            state = _probe(home)
    elif isinstance(exc, duckdb.Error):
        text = str(exc)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            state = "full"
        elif "Read-only file system" in text:
            state = "read-only"
        elif "Permission denied" in text:
            state = "not writable (permission denied)"
    if state is None:
        return None
    detail = _one_line(exc)
    return StorageError(f"the data directory {home} is {state}: {detail}; nothing was changed")


def _probe(home: Path) -> str | None:
    """Whether the data directory (or the nearest existing parent) is read-only or full."""
    path = home
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    if info.f_flag & os.ST_RDONLY:
        return "read-only"
    if info.f_bavail == 0:
        return "full"
    if not os.access(path, os.W_OK):
        return "not writable (permission denied)"
    return None


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
    # Churn-risk alerts (outputs/alerts): what the last evaluation saw, every alert fired,
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
    # Salesforce write-back (outputs/writeback): the values Salesforce confirmed for each
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
    # (outputs/writeback/outbox.py). The triggers enqueue each one in the same transaction
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


class SideStoreConnection(sqlite3.Connection):
    """A side-store connection: a statement that fails because the disk is full or
    read-only raises one StorageError line (SQLite has rolled the statement back, so nothing
    half-written remains) instead of sqlite3's error."""

    home: Path

    def execute(self, *args, **kwargs):
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.home) or exc

    def executemany(self, *args, **kwargs):
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.home) or exc

    def commit(self):
        try:
            return super().commit()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.home) or exc


def _connect(target: str | Path, *, uri: bool = False, home: Path) -> SideStoreConnection:
    con = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False,
                          uri=uri, factory=SideStoreConnection)
    con.home = home
    con.row_factory = sqlite3.Row
    return con


def open_sqlite(path: Path, migrations: list[str]) -> sqlite3.Connection:
    """Open a side store and bring its schema up to date (migrations are append-only). A new
    store is created private (0600; SQLite gives its -wal and -shm files the same mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    con = _connect(path, home=path.parent)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA foreign_keys=ON")
        _migrate(con, migrations)
    except BaseException:
        con.close()
        raise
    return con


def open_sqlite_readonly(path: Path, migrations: list[str]) -> sqlite3.Connection:
    """Open a side store for reading only: nothing is created, written or migrated on disk.
    A store that does not exist yet reads as empty; one older than this code's schema is
    read from a copy in memory brought up to date. In a read-only directory (where SQLite
    cannot create the shared-memory file a WAL store needs) the file is opened as immutable:
    no one can be writing to it there."""
    home = path.parent
    if not path.exists():
        con = _connect(":memory:", home=home)
        _migrate(con, migrations)
        return con
    target = "file:" + quote(str(path.resolve()))
    con = _connect(target + "?mode=ro", uri=True, home=home)
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except (sqlite3.OperationalError, StorageError):
        con.close()
        con = _connect(target + "?immutable=1", uri=True, home=home)
        version = con.execute("PRAGMA user_version").fetchone()[0]
    con.execute("PRAGMA busy_timeout=30000")
    if version < len(migrations):
        copy = _connect(":memory:", home=home)
        con.backup(copy)
        con.close()
        _migrate(copy, migrations)
        return copy
    return con


def _migrate(con: sqlite3.Connection, migrations: list[str]) -> None:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(migrations):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        for i, sql in enumerate(migrations[version:], start=version + 1):
            for statement in _statements(sql):
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {i}")
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


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
                "error = coalesce(error, ?) WHERE outcome = 'running'", (now_iso(), ABANDONED))
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
        """The latest builds, newest first. Read-only: a build still recorded as 'running'
        whose process is gone (killed, or the machine restarted) while no build holds the
        lock is shown as interrupted, as the next build will record it."""
        con = self.store.meta_db(readonly=True)
        try:
            rows = con.execute(
                "SELECT * FROM refresh_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        finally:
            con.close()
        result = []
        running = None
        for r in rows:
            d = dict(r)
            d["rows"] = json.loads(d["rows"]) if d["rows"] else {}
            if d["outcome"] == "running" and not _process_alive(d.get("pid")):
                running = self.store.build_running() if running is None else running
                if not running:
                    d["outcome"] = "interrupted"
                    d["error"] = d["error"] or ABANDONED
            result.append(d)
        return result


ABANDONED = "the process stopped before the build finished"


def _process_alive(pid) -> bool:
    """Whether process `pid` exists on this machine (a build's, recorded when it started)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except (OverflowError, ValueError):
        return False
    return True


def reset_connection_cache() -> None:
    """Forget cached read-only connections and pointers (tests, and after the data directory
    is replaced)."""
    _connections.clear()
    _pointers.clear()
