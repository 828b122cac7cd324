"""The command line: `python -m cs_analytics COMMAND`. `--help` on any command is its manual.

Errors a user can cause end as one line on stderr and a non-zero exit, never a traceback.
Progress of long work goes to stderr, results to stdout (so `--format json > file` works).
"""

from __future__ import annotations

import functools
import json
import sys

import click

from cs_analytics.config import Settings, data_home, defaults_toml, load_settings
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.store import RefreshLog, Store


class Context:
    """What every command needs: validated settings and the data directory."""

    def __init__(self, config_path: str | None):
        self._config_path = config_path
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config_path)
        return self._settings

    @property
    def store(self) -> Store:
        return Store(data_home())


def progress(message: str) -> None:
    click.echo(f"… {message}", err=True)


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def user_errors(fn):
    """Turn errors a user can cause into one line on stderr and exit code 1 (2 for bad data)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            fail(str(exc), 2)
        except CsAnalyticsError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file (default: cs_analytics.toml, or $CS_ANALYTICS_CONFIG).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """CS Analytics: churn, NRR, MRR movements, health scores and alerts for Customer Success.

    Data lives in data/ (or $CS_ANALYTICS_HOME): each refresh or import builds a new snapshot
    and publishes it atomically; the app and these commands read the current one.
    """
    ctx.obj = Context(config_path)


@main.command()
@click.option("--limit", default=10, show_default=True, help="Refreshes to list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--exists", is_flag=True,
              help="Print nothing; exit 0 when a snapshot is published, 3 when there is none.")
@click.pass_obj
@user_errors
def status(obj: Context, limit: int, fmt: str, exists: bool) -> None:
    """Show the current snapshot, its data-as-of date and the last refreshes."""
    obj.settings  # a broken settings file is reported here too
    store = obj.store
    if exists:
        sys.exit(0 if store.has_snapshot() else 3)
    log = RefreshLog(store).recent(limit) if (store.home / "meta.sqlite").exists() else []
    current = None
    if store.has_snapshot():
        snap = store.open_current()
        meta = snap.meta
        current = {"snapshot": snap.id, "path": str(snap.path), "source": meta["source"],
                   "as_of": snap.as_of.isoformat(), "demo": snap.is_demo,
                   "built_at": str(meta["built_at"]), "rows": meta["rows"]}
    if fmt == "json":
        click.echo(json.dumps({"data_home": str(store.home), "current": current,
                               "refreshes": log}, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"data directory: {store.home}")
    if current is None:
        click.echo("current snapshot: none (run `python -m cs_analytics demo` or import data)")
    else:
        label = " (demo data)" if current["demo"] else ""
        click.echo(f"current snapshot: {current['snapshot']}{label}")
        click.echo(f"  source: {current['source']}   data as of: {current['as_of']}   "
                   f"built: {current['built_at']} UTC")
        canonical = ("users", "accounts", "contracts", "activities", "usage")
        click.echo("  rows: " + ", ".join(f"{t} {current['rows'].get(t, 0):,}" for t in canonical))
    click.echo("")
    click.echo("recent refreshes:" if log else "recent refreshes: none")
    for r in log:
        line = (f"  #{r['id']:<4} {r['started_at']}  {r['source']:<10} {r['outcome']:<11}")
        if r["error"]:
            line += f" {r['error']}"
        elif r["snapshot_id"]:
            line += f" → {r['snapshot_id']}"
        click.echo(line)


@main.command("config")
@click.option("--defaults", is_flag=True, help="Print every setting with its default and meaning.")
@click.option("--docs", is_flag=True, help="Rewrite docs/configuration.md from the defaults.")
@click.pass_obj
@user_errors
def config_cmd(obj: Context, defaults: bool, docs: bool) -> None:
    """Check the settings file (or print the documented defaults)."""
    if docs:
        from cs_analytics.config import REPO_ROOT, configuration_markdown

        target = REPO_ROOT / "docs" / "configuration.md"
        target.write_text(configuration_markdown(), encoding="utf-8")
        click.echo(f"wrote {target}")
        return
    if defaults:
        click.echo(defaults_toml(), nl=False)
        return
    settings = obj.settings
    click.echo(f"settings OK: {settings.source_path or 'defaults (no cs_analytics.toml)'}")
