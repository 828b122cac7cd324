"""Errors a user can cause: each carries one sentence naming the thing to fix."""


class CsAnalyticsError(Exception):
    """Base for errors shown to users as one line (CLI: stderr + non-zero exit). `text`, when
    given, is the same sentence in every UI language (anything with `render(lang)`)."""

    def __init__(self, message: str = "", *, text=None):
        super().__init__(message)
        self.text = text

    def localized(self, lang: str) -> str:
        """The sentence in `lang` when the error carries its translations, else as raised."""
        return self.text.render(lang) if self.text is not None else str(self)


class Sentence:
    """One sentence in each UI language, for an error's `text`."""

    def __init__(self, en: str, ja: str):
        self.en, self.ja = en, ja

    def render(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


class ConfigError(CsAnalyticsError):
    """The configuration file is missing a value, has an unknown key or a wrong type."""


class ValidationFailed(CsAnalyticsError):
    """Input data broke the data contract; `problems` lists every problem found."""

    def __init__(self, message: str, problems=(), *, text=None, mapping: str | None = None):
        super().__init__(message, text=text)
        self.problems = list(problems)
        # `[import.mapping]` TOML that would map the missing columns, when the problems
        # suggest it (printed by the CLI, shown on the Data page).
        self.mapping = mapping


class BuildFailed(CsAnalyticsError):
    """A snapshot build failed (model error or broken invariant); nothing was published."""


class NoSnapshot(CsAnalyticsError):
    """No snapshot has been published yet."""


class SnapshotOutdated(NoSnapshot):
    """The snapshot to serve was built by another version of CS Analytics (its schema version
    differs from `store.SCHEMA_VERSION`): it is not read until an import, a refresh or
    `rebuild` builds it again from its canonical tables. `found` is its version (None: it
    records none), `snapshot` its id."""

    def __init__(self, message: str, snapshot: str, found: int | None, *, text=None):
        super().__init__(message, text=text)
        self.snapshot = snapshot
        self.found = found


class SourceError(CsAnalyticsError):
    """A source (Salesforce, Metabase) could not be read."""


class SnapshotDamaged(NoSnapshot):
    """The current snapshot (or the pointer to it) is damaged and no intact snapshot is left
    to serve; `damage` says which file and why."""

    def __init__(self, message: str, damage=None):
        super().__init__(message)
        self.damage = damage


class StorageError(CsAnalyticsError):
    """The data directory could not be written (full, read-only, no permission); what was
    being written was left out whole, never half-written."""
