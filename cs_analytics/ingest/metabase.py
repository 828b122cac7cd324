"""Metabase → canonical tables (SPEC §5): exported files dropped in the inbox folder, and
saved questions (cards) pulled through the API (`POST /api/card/:id/query/csv` — or json,
xlsx — key in `x-api-key`). Both go through the file importer's validation, which reads
Metabase's exports as its writers make them, formatted or not (`metabase_format`), with the
card's column mapping for API pulls; inbox files move to the processed folder only after a
successful publish.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests

from cs_analytics.config import MetabaseCard, Settings
from cs_analytics.errors import SourceError
from cs_analytics.ingest.imports import FileSource
from cs_analytics.secrets import Secrets
from cs_analytics.warehouse.store import Store

Progress = Callable[[str], None]
INBOX_SUFFIXES = (".csv", ".xlsx", ".json")
API_KEY = "METABASE_API_KEY"


def _quiet(_message: str) -> None:
    pass


# ---------------------------------------------------------------------------- the inbox


def inbox_dir(settings: Settings, store: Store) -> Path:
    return store.home / settings.metabase.inbox_dir


def processed_dir(settings: Settings, store: Store) -> Path:
    return store.home / settings.metabase.processed_dir


def inbox_files(settings: Settings, store: Store) -> list[Path]:
    """Exported files waiting in the inbox (CSV, XLSX, JSON), oldest first, so a newer export
    of the same rows wins when both are merged in one build."""
    folder = inbox_dir(settings, store)
    if not folder.is_dir():
        return []
    processed = processed_dir(settings, store).resolve()
    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in INBOX_SUFFIXES
             and not p.name.startswith(".") and p.resolve().parent != processed]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def move_to_processed(paths: list[Path], settings: Settings, store: Store) -> list[Path]:
    """Move loaded inbox files aside, prefixed with the time they were loaded (UTC), so the
    same export dropped twice never overwrites the first copy."""
    target = processed_dir(settings, store)
    target.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    moved = []
    for path in paths:
        destination = target / f"{stamp}-{path.name}"
        n = 1
        while destination.exists():
            n += 1
            destination = target / f"{stamp}-{n}-{path.name}"
        shutil.move(str(path), destination)
        moved.append(destination)
    return moved


# ---------------------------------------------------------------------------- the API


def is_api_configured(settings: Settings) -> bool:
    return bool(settings.metabase.url.strip() and settings.metabase.cards)


class MetabaseClient:
    """Pulls cards as CSV (or JSON, XLSX). Errors are one sentence naming the card and what to
    fix; the API key never appears in them."""

    def __init__(self, settings: Settings, secrets: Secrets,
                 session: requests.Session | None = None):
        self.base = settings.metabase.url.strip().rstrip("/")
        self.timeout = settings.metabase.timeout_seconds
        self.secrets = secrets
        self.session = session or requests.Session()
        key = secrets.get(API_KEY)
        if not key:
            raise SourceError(f"metabase.url is set but {API_KEY} is missing: create an API key "
                              f"in Metabase (Admin → Settings → Authentication → API keys) and "
                              f"set it in the environment or .streamlit/secrets.toml")
        self._key = key

    def card_export(self, card: MetabaseCard) -> bytes:
        """The card's results exported in `card.format`, formatted when `card.format_rows`
        (the form fields Metabase's download button posts)."""
        url = f"{self.base}/api/card/{card.id}/query/{card.format}"
        try:
            response = self.session.post(
                url, headers={"x-api-key": self._key, "Accept": _ACCEPT[card.format]},
                data={"format_rows": "true" if card.format_rows else "false",
                      "parameters": "[]"}, timeout=self.timeout)
        except requests.Timeout:
            raise self._error(card, f"no answer within {self.timeout:g} seconds "
                                    f"(metabase.timeout_seconds)") from None
        except requests.ConnectionError:
            raise self._error(card, f"cannot connect to {self.base}: check metabase.url") from None
        if response.status_code in (401, 403):
            raise self._error(card, f"Metabase refused the API key (HTTP "
                                    f"{response.status_code}): check {API_KEY} and that the "
                                    f"key's group may view the card")
        if response.status_code == 404:
            raise self._error(card, f"Metabase has no card {card.id}: check metabase.cards")
        if response.status_code >= 300:
            raise self._error(card, f"Metabase answered HTTP {response.status_code}: "
                                    f"{_reason(response)}")
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type and _is_failure(response):
            # A query that fails inside Metabase comes back as a JSON object, not an export.
            raise self._error(card, f"the card's query failed in Metabase: {_reason(response)}")
        return response.content

    def _error(self, card: MetabaseCard, message: str) -> SourceError:
        return SourceError(self.secrets.redact(f"Metabase card {card.id} ({card.table}): "
                                               f"{message}"))


_ACCEPT = {"csv": "text/csv", "json": "application/json",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _is_failure(response: requests.Response) -> bool:
    """A JSON answer is a failure unless it is the rows of a JSON export (an array)."""
    try:
        data = response.json()
    except ValueError:
        return True
    return not isinstance(data, list)


def _reason(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300] or "no reason given"
    if isinstance(data, dict):
        for key in ("error", "message", "cause"):
            if data.get(key):
                return " ".join(str(data[key]).split())[:300]
    return " ".join(json.dumps(data, ensure_ascii=False).split())[:300]


@dataclass
class CardExport:
    """A card's export written to a temporary file, ready for the importer."""

    card: MetabaseCard
    path: Path
    display_name: str


@dataclass
class Pulled:
    """Files fetched from the API for one refresh; `cleanup()` removes them."""

    directory: Path
    exports: list[CardExport] = field(default_factory=list)

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def pull_cards(settings: Settings, secrets: Secrets, session: requests.Session | None = None,
               progress: Progress | None = None) -> Pulled:
    """Download every configured card to a temporary file (deleted by `cleanup`)."""
    progress = progress or _quiet
    client = MetabaseClient(settings, secrets, session)
    pulled = Pulled(Path(tempfile.mkdtemp(prefix="cs-analytics-metabase-")))
    try:
        for card in settings.metabase.cards:
            progress(f"Metabase card {card.id}: downloading")
            content = client.card_export(card)
            name = f"metabase-card-{card.id}.{card.format}"
            path = pulled.directory / name
            path.write_bytes(content)
            progress(f"Metabase card {card.id}: {len(content) / 1024:,.1f} KB of "
                     f"{card.format.upper()} fetched for {card.table}")
            pulled.exports.append(CardExport(card, path, name))
    except BaseException:
        pulled.cleanup()
        raise
    return pulled


# ---------------------------------------------------------------------------- loading


def card_mapping(settings: Settings, card: MetabaseCard) -> dict[str, dict[str, str]]:
    """import.mapping with the card's own display-name mapping first for its table."""
    mapping = {table: dict(headers) for table, headers in settings.import_.mapping.items()}
    mapping[card.table] = {**card.mapping, **{h: c for h, c in mapping.get(card.table, {}).items()
                                              if h not in card.mapping}}
    return mapping


@dataclass
class MetabaseLoad:
    """What the Metabase part of a refresh loaded."""

    files: list  # imports' StagedFile: name, table, rows
    changes: dict  # table → imports.TableChange
    inbox: list[Path]
    cards: list[int]
    processed: list[Path] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [f"metabase   {f.name:<32} → {f.table:<10} {f.rows:>8,} rows" for f in self.files]
        for table, change in self.changes.items():
            lines.append(f"metabase   {table}: {change.inserted:,} new, {change.updated:,} "
                         f"changed, {change.unchanged:,} unchanged")
        return lines


class MetabaseSource:
    """Metabase as a source: the inbox files and (when the API is configured) the pulled cards,
    validated together by the file importer and merged into the build. Inbox files use
    import.mapping and are recognised by their columns; a card's rows go to its table with its
    mapping. The inbox files move to the processed folder only once the snapshot is published."""

    name = "metabase"

    def __init__(self, settings: Settings, store: Store, secrets: Secrets, inbox: list[Path],
                 pull_api: bool, session: requests.Session | None = None,
                 progress: Progress | None = None):
        self.settings, self.store, self.secrets = settings, store, secrets
        self.inbox, self.pull_api, self.session = list(inbox), pull_api, session
        self.progress = progress or _quiet

    def load_into(self, build) -> MetabaseLoad:
        pulled = (pull_cards(self.settings, self.secrets, self.session, self.progress)
                  if self.pull_api else None)
        try:
            exports = pulled.exports if pulled is not None else []
            paths = [*self.inbox, *(e.path for e in exports)]
            names = [*(p.name for p in self.inbox), *(e.display_name for e in exports)]
            per_file = [(None, None) for _ in self.inbox] + [
                (e.card.table, card_mapping(self.settings, e.card)) for e in exports]
            files, changes, _warnings = FileSource(
                self.settings, paths, per_file=per_file, display_names=names,
                progress=self.progress).load_into(build)
        finally:
            if pulled is not None:
                pulled.cleanup()
        return MetabaseLoad(files, changes, list(self.inbox), [e.card.id for e in exports])

    def published(self, loaded: MetabaseLoad) -> None:
        if self.inbox:
            loaded.processed = move_to_processed(self.inbox, self.settings, self.store)
