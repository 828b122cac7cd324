"""Errors a user can cause: each carries one sentence naming the thing to fix."""


class CsAnalyticsError(Exception):
    """Base for errors shown to users as one line (CLI: stderr + non-zero exit)."""


class ConfigError(CsAnalyticsError):
    """The configuration file is missing a value, has an unknown key or a wrong type."""


class ValidationFailed(CsAnalyticsError):
    """Input data broke the data contract; `problems` lists every problem found."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class BuildFailed(CsAnalyticsError):
    """A snapshot build failed (model error or broken invariant); nothing was published."""


class NoSnapshot(CsAnalyticsError):
    """No snapshot has been published yet."""


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
