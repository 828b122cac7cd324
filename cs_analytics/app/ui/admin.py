"""The Data page's work: snapshot and refresh history as tables, uploads, and refreshes run as
a separate process.

A refresh runs `python -m cs_analytics refresh --source all` (`demo` on demo data) in a child
process whose stderr progress lines are streamed to the page: the server never blocks on it,
and a crash in the refresh cannot take the server down. The store's build lock makes a second
refresh (from another session or cron) fail at once with a clear message.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from cs_analytics import clock
from cs_analytics.app.ui.i18n import catalogue, translate
from cs_analytics.config import CANONICAL_TABLES, REPO_ROOT, Settings
from cs_analytics.ingest.messages import printable
from cs_analytics.outputs.writeback.run import LOG_SOURCE as PUSH_SOURCE
from cs_analytics.warehouse.store import RefreshLog, Store

UPLOAD_TYPES = ("csv", "xlsx", "json")


def snapshot_table(store: Store, settings: Settings) -> pd.DataFrame:
    """Published snapshot files, newest first: id, current (the pointer names it), shown
    (the one served: the current one, or the newest intact one when it is damaged), size
    (MB), written at (in the configured zone, with its label), and what is wrong with it
    (store.Problem; None: intact)."""
    current = store.current_file()
    shown = store.resolve().file
    rows = []
    for f in store.snapshot_files():
        try:
            stat = f.path.stat()
        except FileNotFoundError:  # pruned while listing
            continue
        rows.append({"id": f.id, "current": current is not None and f.path == current.path,
                     "shown": shown is not None and f.path == shown.path,
                     "size_mb": stat.st_size / 1_000_000,
                     "written_at": clock.local_text(
                         dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC), settings),
                     "problem": store.check(f)})
    return pd.DataFrame(rows, columns=["id", "current", "shown", "size_mb", "written_at",
                                       "problem"])


def refresh_table(store: Store, settings: Settings, lang: str,
                  limit: int = 30) -> pd.DataFrame:
    """The refresh log, newest first: times in the configured zone, the row counts as one
    short text in `lang` ("ユーザー 9、顧客 170")."""
    columns = ["id", "source", "started_at", "finished_at", "outcome", "snapshot_id", "rows",
               "error"]
    if not (store.home / "meta.sqlite").exists():
        return pd.DataFrame(columns=columns)
    rows = []
    for r in RefreshLog(store).recent(limit):
        counts = r.get("rows") or {}
        shown = (push_counts(counts, lang) if r.get("source") == PUSH_SOURCE else
                 translate(lang, "data.rows_separator").join(
                     translate(lang, "data.rows_of", n=counts[table],
                               table=translate(lang, f"data.table.{table}"))
                     for table in CANONICAL_TABLES if table in counts))
        rows.append({**{k: r.get(k) for k in columns},
                     "started_at": clock.local_text(r.get("started_at"), settings),
                     "finished_at": clock.local_text(r.get("finished_at"), settings),
                     "rows": shown})
    return pd.DataFrame(rows, columns=columns)


def push_counts(counts: dict, lang: str) -> str:
    """A push's records per Salesforce object: sent, unchanged, refused (and waiting)."""
    parts = []
    for obj, c in counts.items():
        text = translate(lang, "data.push_counts", object=obj, sent=f"{c.get('sent', 0):,}",
                         unchanged=f"{c.get('unchanged', 0):,}",
                         failed=f"{c.get('failed', 0):,}")
        if c.get("waiting"):
            text += translate(lang, "data.push_waiting", waiting=f"{c['waiting']:,}")
        parts.append(text)
    return "; ".join(parts)


# Progress lines of an import or a build (ingest.imports, build, models) → the catalogue
# key that says it in the UI's language; a line none matches is shown as it is.
PROGRESS = tuple((re.compile(pattern), key) for pattern, key in (
    (r"reading the files again as text\b.*", "data.progress.reread"),
    (r"reading (?P<name>.+)", "data.progress.reading"),
    (r"(?P<name>.+): (?P<rows>[\d,]+) rows of (?P<table>\w+)(?: \(.*\))?", "data.progress.read"),
    (r"checking (?P<rows>[\d,]+) (?P<table>\w+) rows", "data.progress.checking"),
    (r"merging (?P<table>\w+)", "data.progress.merging"),
    (r"writing the imported tables", "data.progress.writing"),
    (r"generating demo data\b.*", "data.progress.generating"),
    (r"loading (?P<table>\w+) \((?P<rows>[\d,]+) rows\)", "data.progress.loading"),
    (r"checking keys and references", "data.progress.keys"),
    (r"building models", "data.progress.models"),
    (r"model (?P<model>\S+)", "data.progress.model"),
    (r"checking invariants", "data.progress.invariants"),
    (r"publishing", "data.progress.publishing"),
))


def progress_text(line: str, lang: str) -> str:
    """A progress line of an import or a refresh in `lang` (the CLI marks them with "… ")."""
    text = line.strip().removeprefix("…").strip()
    for pattern, key in PROGRESS:
        if found := pattern.fullmatch(text):
            values = found.groupdict()
            if "table" in values:
                table_key = f"data.table.{values['table']}"
                if table_key in catalogue(lang):
                    values["table"] = translate(lang, table_key)
            return "… " + translate(lang, key, **values)
    return line


def too_large(sizes: list[int], limit_mb: int) -> bool:
    return any(size > limit_mb * 1024 * 1024 for size in sizes)


def save_uploads(files) -> tuple[tempfile.TemporaryDirectory, list[Path], list[str]]:
    """Write uploaded files to a private temporary folder (the importer reads paths).

    Returns the folder (delete it with .cleanup()), the paths and the names as uploaded; the
    names are used in error messages so the user sees their own file names.
    """
    folder = tempfile.TemporaryDirectory(prefix="cs-upload-")
    paths, names = [], []
    for i, upload in enumerate(files):
        suffix = Path(upload.name).suffix.lower()
        path = Path(folder.name) / f"upload-{i}{suffix}"
        with open(path, "wb") as fh:
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                fh.write(chunk)
        paths.append(path)
        names.append(upload.name)
    return folder, paths, names


def problems_frame(problems, lang: str = "en") -> pd.DataFrame:
    """Validation problems (file, row, column, message in `lang`) as a table, in the order
    found; names from files with their control characters shown as escapes."""
    rows = [{"file": printable(p.file), "row": p.row,
             "column": None if p.column is None else printable(p.column),
             "message": p.localized(lang)} for p in problems]
    return pd.DataFrame(rows, columns=["file", "row", "column", "message"])


def refresh_command(is_demo: bool, lang: str = "en", outdated: bool = False) -> list[str]:
    """The CLI command a refresh button runs (problems with the data in `lang`): with
    `outdated` (a snapshot built by another version), `rebuild` from its own data."""
    if outdated:
        return [sys.executable, "-m", "cs_analytics", "--lang", lang, "rebuild"]
    if is_demo:
        return [sys.executable, "-m", "cs_analytics", "demo"]
    return [sys.executable, "-m", "cs_analytics", "--lang", lang, "refresh", "--source", "all"]


class CommandRun:
    """A CLI command in a child process; iterate over it for its output lines."""

    def __init__(self, command: list[str]):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
            errors="replace", start_new_session=True)
        self.lines: list[str] = []

    def __iter__(self) -> Iterator[str]:
        """Progress (stderr) and summary (stdout) lines as the command prints them."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip()
            if line:
                self.lines.append(line)
                yield line
        self.process.wait()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def error(self) -> str | None:
        """The one-line reason the CLI gave for failing (its last `error:` line)."""
        for line in reversed(self.lines):
            if line.startswith("error:"):
                return line.removeprefix("error:").strip()
        return self.lines[-1] if self.lines and self.returncode else None
