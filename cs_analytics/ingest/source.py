"""The one protocol every source implements (salesforce, metabase, files, demo): write the
canonical tables of contract.py into a build; once the snapshot holding them is the current
one, keep what was consumed (watermarks, processed inbox files). `publish_sources` runs one or
more sources into one new snapshot, or publishes nothing if any of them fails."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from cs_analytics.config import Settings
from cs_analytics.warehouse.build import Build, PublishResult, open_build
from cs_analytics.warehouse.store import Store

Progress = Callable[[str], None]


@runtime_checkable
class Source(Protocol):
    """A source of canonical rows. `name` labels the snapshot in the refresh log."""

    name: str

    def load_into(self, build: Build) -> Any:
        """Write this source's rows into `build`'s canonical tables (replace or merge, as the
        source defines) and return what was loaded, for the summary. Bad data raises a
        CsAnalyticsError naming what to fix; the build is then discarded."""
        ...

    def published(self, loaded: Any) -> None:
        """Called once the snapshot holding `loaded` is the current one, never otherwise."""
        ...


def publish_sources(settings: Settings, store: Store, sources: Sequence[Source], *,
                    base: str = "current", is_demo: bool = False, as_of: dt.date | None = None,
                    progress: Progress | None = None) -> tuple[PublishResult, list[Any]]:
    """Load every source into one build based on `base` ("current" or "empty"), publish it,
    then tell each source. Returns the publish result and what each source loaded, in order."""
    label = "+".join(s.name for s in sources)
    with open_build(settings, store, source=label, base=base, is_demo=is_demo,
                    progress=progress) as build:
        loaded = [s.load_into(build) for s in sources]
        published = build.publish(as_of=as_of)
    for source, result in zip(sources, loaded):
        source.published(result)
    return published, loaded
