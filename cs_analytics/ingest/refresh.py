"""`refresh`: pull the configured sources (Salesforce, Metabase) into one new snapshot.

Everything happens inside one `open_build`, so a failure anywhere — login, a dropped
connection, a bad value, a broken check — publishes nothing and is recorded in the refresh log.
Salesforce watermarks are saved and Metabase inbox files moved only after the publish.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import requests

from cs_analytics.config import Settings
from cs_analytics.errors import SourceError
from cs_analytics.ingest import metabase, salesforce
from cs_analytics.ingest.source import Source, publish_sources
from cs_analytics.secrets import Secrets, load_secrets
from cs_analytics.warehouse.build import PublishResult
from cs_analytics.warehouse.store import Store

Progress = Callable[[str], None]
SOURCES = ("salesforce", "metabase", "all")


def _quiet(_message: str) -> None:
    pass


@dataclass
class RefreshResult:
    """What one refresh did; `published` is None when there was nothing to do."""

    source: str
    published: PublishResult | None
    salesforce: salesforce.SalesforcePull | None = None
    metabase: metabase.MetabaseLoad | None = None
    seconds: float = 0.0
    nothing_to_do: str | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Lines for the end of a refresh: per object, rows per table, duration."""
        if self.published is None:
            return [self.nothing_to_do or "nothing to refresh"]
        lines = []
        if self.salesforce is not None:
            for o in self.salesforce.objects:
                how = "full" if o.full else "incremental"
                deleted = f", {o.deleted:,} deleted" if o.deleted else ""
                left = "".join(f", {n:,} left out ({path})" for path, n in o.left_out.items())
                lines.append(f"salesforce {o.name:<10} {o.object:<10} → {o.table:<10} "
                             f"{o.fetched:>8,} fetched{deleted}{left} ({how})")
        if self.metabase is not None:
            lines.extend(self.metabase.summary())
        rows = self.published.rows
        lines.append("rows: " + ", ".join(f"{t} {rows.get(t, 0):,}" for t in
                                          ("users", "accounts", "contracts", "activities",
                                           "usage")))
        lines.append(f"snapshot {self.published.snapshot.id} (data as of "
                     f"{self.published.as_of.isoformat()}) published in {self.seconds:.1f} s")
        return lines


def refresh(settings: Settings, store: Store, source: str = "all", full: bool = False,
            progress: Progress | None = None, secrets: Secrets | None = None,
            salesforce_session: requests.Session | None = None,
            metabase_session: requests.Session | None = None) -> RefreshResult:
    """Pull `source` ('salesforce', 'metabase' or 'all' configured ones), build, publish."""
    if source not in SOURCES:
        raise SourceError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    progress = progress or _quiet
    secrets = secrets if secrets is not None else load_secrets()
    started = time.monotonic()

    use_salesforce = source == "salesforce" or (
        source == "all" and salesforce.is_configured(secrets))
    inbox = metabase.inbox_files(settings, store) if source in ("metabase", "all") else []
    use_cards = source in ("metabase", "all") and metabase.is_api_configured(settings)
    use_metabase = bool(inbox) or use_cards

    if not use_salesforce and not use_metabase:
        reason = _nothing_configured(settings, store, source)
        if source == "metabase":
            return RefreshResult(source, None, nothing_to_do=reason,
                                 seconds=time.monotonic() - started)
        raise SourceError(reason)

    sources: list[Source] = []
    if use_salesforce:
        sources.append(salesforce.SalesforceSource(settings, store, secrets, salesforce_session,
                                                   progress, full=full))
    if use_metabase:
        sources.append(metabase.MetabaseSource(settings, store, secrets, inbox, use_cards,
                                               metabase_session, progress))
    published, loaded = publish_sources(settings, store, sources, progress=progress)
    by_source = {s.name: result for s, result in zip(sources, loaded)}
    return RefreshResult("+".join(by_source), published,
                         by_source.get("salesforce"), by_source.get("metabase"),
                         time.monotonic() - started, warnings=list(published.warnings))


def _nothing_configured(settings: Settings, store: Store, source: str) -> str:
    folder = metabase.inbox_dir(settings, store)
    metabase_part = (f"the Metabase inbox {folder} has no CSV, XLSX or JSON files and no "
                     f"Metabase cards are configured (metabase.url, metabase.cards)")
    if source == "metabase":
        return f"nothing to refresh: {metabase_part}"
    return ("nothing to refresh: Salesforce is not configured (set SF_USERNAME, SF_PASSWORD and "
            "SF_SECURITY_TOKEN or another login mode, see docs/operations.md) and "
            f"{metabase_part}")
