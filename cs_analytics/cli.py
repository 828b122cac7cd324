"""The command line: `python -m cs_analytics COMMAND`. `--help` on any command is its manual.

Errors a user can cause end as one line on stderr and a non-zero exit, never a traceback.
Progress of long work goes to stderr, results to stdout (so `--format json > file` works).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import sys
from pathlib import Path

import click
import duckdb

from cs_analytics import clock
from cs_analytics import metrics as metrics_api
from cs_analytics.app import serving
from cs_analytics.config import (CONFIG_ENV, HEALTH_COMPONENTS, REPO_ROOT, Settings,
                                 configuration_markdown, data_home, defaults_toml, load_settings)
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.ingest import demo as demo_source
from cs_analytics.ingest.demo import DEFAULT_SEED as DEMO_SEED
from cs_analytics.ingest.imports import import_files
from cs_analytics.ingest.messages import terminal_safe
from cs_analytics.ingest.refresh import SOURCES as REFRESH_SOURCES
from cs_analytics.ingest.refresh import refresh as run_refresh
from cs_analytics.metrics import accounts, health, periods, renewals, revenue
from cs_analytics.metrics.base import fiscal_year_start_month, resolve_as_of
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.health import json_value
from cs_analytics.metrics.kpis import KPIS
from cs_analytics.outputs.alerts import evaluation, run_alerts
from cs_analytics.outputs.reports import kpi_report_workbook, qbr_workbook
from cs_analytics.outputs.reports.csv_text import GuardedWriter
from cs_analytics.outputs.writeback import push
from cs_analytics.userdata import assessments
from cs_analytics.warehouse.build import rebuild as rebuild_snapshot
from cs_analytics.warehouse.build import today_tokyo
from cs_analytics.warehouse.store import (SCHEMA_VERSION, RefreshLog, Snapshot, Store,
                                          outdated_error, storage_error)


class Context:
    """What every command needs: validated settings, the data directory, and the language of
    the messages about bad data (`--lang`)."""

    def __init__(self, config_path: str | None, lang: str = "en"):
        self._config_path = config_path
        self._settings: Settings | None = None
        self.lang = lang

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config_path)
        return self._settings

    @property
    def store(self) -> Store:
        return Store(data_home())

    def snapshot(self) -> Snapshot:
        """The snapshot to work on; when the current one is damaged and an older intact one
        stands in for it, says so on stderr first."""
        snap = self.store.open_current()
        if snap.damage is not None:
            click.echo(f"warning: the current snapshot is damaged ({snap.damage}); using the "
                       f"newest intact snapshot {snap.id} (data as of {snap.as_of}). Rebuild "
                       "with `import` or `refresh` (docs/operations.md)", err=True)
        return snap


def progress(message: str) -> None:
    click.echo(f"… {terminal_safe(message)}", err=True)


def fail(message: str, code: int = 1):
    click.echo(f"error: {terminal_safe(message)}", err=True)
    sys.exit(code)


def user_errors(fn):
    """Turn errors a user can cause into one line on stderr and exit code 1 (2 for bad data)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            lang = _lang()
            for problem in exc.problems:
                click.echo(terminal_safe(problem.line(lang)), err=True)
            if exc.mapping:
                click.echo(f"to map these columns, add to cs_analytics.toml:\n{exc.mapping}",
                           err=True)
            fail(exc.localized(lang), 2)
        except CsAnalyticsError as exc:
            fail(exc.localized(_lang()))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (OSError, sqlite3.Error, duckdb.Error) as exc:
            # A full or read-only data directory is one line; so is any other I/O error (an
            # --out file on a full disk names that file, not the data directory).
            home = data_home()
            inside = not isinstance(exc, OSError) or _within(exc.filename, home)
            problem = storage_error(exc, home) if inside else None
            if problem is not None:
                fail(str(problem))
            if isinstance(exc, OSError):
                fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            fail(f"{type(exc).__name__}: {' '.join(str(exc).split())}")

    return wrapper


def _within(filename, home) -> bool:
    """Whether an OSError's file is in the data directory (no file named: assume it is)."""
    if not filename:
        return True
    try:
        return Path(filename).resolve().is_relative_to(Path(home).resolve())
    except (OSError, ValueError, TypeError):
        return False


def _lang() -> str:
    context = click.get_current_context(silent=True)
    obj = context.find_object(Context) if context else None
    return obj.lang if obj else "en"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file (default: cs_analytics.toml, or $CS_ANALYTICS_CONFIG).")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True,
              help="Language of the messages about bad data (the Data page runs refreshes in "
                   "the UI's language).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, lang: str) -> None:
    """CS Analytics: churn, NRR, MRR movements, health scores and alerts for Customer Success.

    Data lives in data/ (or $CS_ANALYTICS_HOME): each refresh or import builds a new snapshot
    and publishes it atomically; the app and these commands read the current one.
    """
    ctx.obj = Context(config_path, lang)


@main.command()
@click.option("--limit", default=10, show_default=True, help="Refreshes to list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--exists", is_flag=True,
              help="Print nothing; exit 0 when a snapshot was published (even if it is "
                   "damaged: `make run` must not replace it with demo data), 3 when none was.")
@click.option("--verify", is_flag=True,
              help="Also read every kept snapshot in full (DuckDB checks every block's "
                   "checksum) and list each as intact or damaged; exit 1 if any is damaged.")
@click.pass_obj
@user_errors
def status(obj: Context, limit: int, fmt: str, exists: bool, verify: bool) -> None:
    """Show the current snapshot, its data-as-of date and the last refreshes.

    Reads only: works on a read-only or full data directory. A damaged current snapshot (or
    pointer) is reported with the newest intact snapshot served in its place."""
    obj.settings  # a broken settings file is reported here too
    store = obj.store
    if exists:
        served = store.resolve()
        sys.exit(0 if served.file is not None or served.damage is not None else 3)
    log = RefreshLog(store).recent(limit)
    served = store.resolve()
    damaged = None if served.damage is None else {"file": served.damage.name,
                                                  "reason": served.damage.reason}
    current = None
    if served.file is not None:
        snap = store.open_current(any_version=True)
        meta = snap.meta
        current = {"snapshot": snap.id, "path": str(snap.path), "source": meta["source"],
                   "as_of": snap.as_of.isoformat(), "demo": snap.is_demo,
                   "built_at": str(meta["built_at"]), "rows": meta["rows"],
                   "fallback": served.is_fallback, "schema_version": snap.schema_version,
                   "outdated": None if snap.is_current_version else str(outdated_error(snap))}
    checked = [(f, store.check(f)) for f in store.snapshot_files()] if not verify else \
        store.verify_all()
    snapshots = [{"snapshot": f.id, "intact": problem is None,
                  "problem": None if problem is None else str(problem)} for f, problem in checked]
    if fmt == "json":
        click.echo(json.dumps({"data_home": str(store.home), "current": current,
                               "damaged": damaged, "snapshots": snapshots,
                               "refreshes": log}, ensure_ascii=False, indent=2, default=str))
    else:
        _print_status(store, obj.settings, current, served, snapshots, log, verify)
    if verify and any(not s["intact"] for s in snapshots):
        sys.exit(1)


def _print_status(store: Store, settings: Settings, current, served, snapshots, log,
                  verify: bool) -> None:
    click.echo(f"data directory: {store.home}")
    if served.damage is not None:
        click.echo(f"DAMAGED: {served.damage}")
    if current is None:
        click.echo("current snapshot: none (run `python -m cs_analytics demo` or import data)"
                   if served.damage is None else
                   "current snapshot: none intact — rebuild with `import` or `refresh` "
                   "(docs/operations.md, \"Recovering from a damaged snapshot\")")
    else:
        label = " (demo data)" if current["demo"] else ""
        if current["fallback"]:
            label += (" — the newest intact snapshot, served instead of the damaged one "
                      "(rebuild with `import` or `refresh`)")
        click.echo(f"current snapshot: {current['snapshot']}{label}")
        if current["outdated"]:
            click.echo(f"  NOT READ: {current['outdated']}")
        click.echo(f"  source: {current['source']}   data as of: {current['as_of']}   "
                   f"built: {clock.local_text(current['built_at'], settings)}")
        canonical = ("users", "accounts", "contracts", "activities", "usage")
        click.echo("  rows: " + ", ".join(f"{t} {current['rows'].get(t, 0):,}" for t in canonical))
    damaged = [s for s in snapshots if not s["intact"]]
    if verify or damaged:
        click.echo("")
        click.echo(f"snapshots kept: {len(snapshots)}"
                   + (" (each read in full)" if verify else ""))
        for s in snapshots:
            click.echo(f"  {s['snapshot']}  " + ("intact" if s["intact"]
                                                 else f"DAMAGED: {s['problem']}"))
    click.echo("")
    click.echo("recent refreshes:" if log else "recent refreshes: none")
    for r in log:
        line = (f"  #{r['id']:<4} {clock.local_text(r['started_at'], settings)}  "
                f"{r['source']:<10} {r['outcome']:<11}")
        if r["error"]:
            line += f" {r['error']}"
        elif r["snapshot_id"]:
            line += f" → {r['snapshot_id']}"
        click.echo(line)


@main.command()
@click.option("--address", default=serving.LOCAL_ADDRESS, show_default=True,
              help="Address to listen on. Anything but this computer (e.g. 0.0.0.0) needs "
                   "sign-in ([auth] in .streamlit/secrets.toml) or server.allow_anonymous = "
                   "true in the settings.")
@click.option("--port", default=serving.DEFAULT_PORT, show_default=True,
              type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--headless", is_flag=True, help="Do not open a browser window.")
@click.pass_obj
@user_errors
def serve(obj: Context, address: str, port: int, headless: bool) -> None:
    """Start the app (`streamlit run app.py`; `make run` uses this).

    Without sign-in the app serves this computer only (127.0.0.1): any other address is
    refused unless server.allow_anonymous = true says anonymous network access is wanted.
    With sign-in configured it may listen on the network; serve it behind HTTPS. The app
    applies the same rule itself, however it was started (docs/operations.md, "Security
    model").
    """

    settings = obj.settings
    signed_in = serving.auth_configured()
    if not signed_in and not serving.anonymous_allowed(address, settings):
        raise serving.ExposedWithoutAuth(serving.refusal(address, settings))
    command = serving.streamlit_command(sys.executable, address, port, headless=headless)
    access = ("sign-in required" if signed_in else
              "no sign-in: open to this computer only" if serving.is_loopback(address) else
              "no sign-in: ANONYMOUS ACCESS FROM THE NETWORK (server.allow_anonymous)")
    progress(f"serving on {address}:{port} ({access})")
    env = dict(os.environ)
    if settings.source_path:  # the app reads the same settings file as this check
        env[CONFIG_ENV] = settings.source_path
    os.execve(sys.executable, command, env)


@main.command()
@click.option("--accounts", default=170, show_default=True, type=click.IntRange(1, 100_000),
              help="Accounts generated (churned ones included).")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Years of usage and activity history, ending at --end.")
@click.option("--seed", default=DEMO_SEED, show_default=True, type=int,
              help="Random seed: the same arguments always give the same data.")
@click.option("--end", "end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last date of data and the snapshot's as-of date, YYYY-MM-DD "
                   "(default: general.as_of from the settings, else today in Tokyo).")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the canonical tables as CSV files (users.csv, accounts.csv, "
                   "contracts.csv, activities.csv, usage.csv; UTF-8) into this folder, ready "
                   "for `import`.")
@click.option("--build/--no-build", "build", default=True, show_default=True,
              help="Build and publish the demo snapshot; --no-build with --export only writes "
                   "the files.")
@click.pass_obj
@user_errors
def demo(obj: Context, accounts: int, years: int, seed: int, end, export_dir: str | None,
         build: bool) -> None:
    """Generate the demo dataset (a fictional Japanese webinar-platform company), publish it
    as a snapshot labelled as demo data, and print what it contains.

    The data is deterministic for (--accounts, --years, --seed, --end). Publishing replaces
    the current snapshot; the next real import or refresh starts afresh from real data.
    """

    if not build and export_dir is None:
        raise click.UsageError("--no-build leaves nothing to do without --export DIR.")
    settings = obj.settings
    end_date = end.date() if end else (settings.general.as_of or today_tokyo())
    progress(f"generating demo data: {accounts:,} accounts, {years} years to {end_date}, "
             f"seed {seed}")
    tables = demo_source.generate(accounts=accounts, years=years, seed=seed, end=end_date)
    summary = f"Demo data (seed {seed}, {years} years to {end_date}): " + \
        demo_source.describe(tables, end_date) + "."
    if export_dir is not None:
        progress(f"writing CSV files to {export_dir}")
        demo_source.export_csv(tables, export_dir)
        summary += f" CSV files written to {export_dir}."
    if build:
        result = demo_source.build_demo(settings, obj.store, accounts=accounts, years=years,
                                        seed=seed, end=end_date, progress=progress,
                                        tables=tables)
        summary += (f" Published snapshot {result.snapshot.id} as of {result.as_of} "
                    f"in {result.seconds:.1f} s.")
        for warning in result.warnings:
            progress(f"warning: {warning}")
    else:
        summary += " No snapshot built (--no-build)."
    click.echo(summary)


@main.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--kind", type=click.Choice(["accounts", "users", "contracts", "activities",
                                           "usage"]), default=None,
              help="Table the files fill (default: inferred from each file's columns).")
@click.option("--replace", is_flag=True,
              help="Replace the whole table(s) with the files instead of merging by key.")
@click.pass_obj
@user_errors
def import_cmd(obj: Context, files: tuple[str, ...], kind: str | None, replace: bool) -> None:
    """Validate FILE... (CSV UTF-8/CP932, XLSX, JSON) together, merge them into the current
    data and publish a new snapshot.

    Headers may be canonical names, the Japanese aliases of docs/data-contract.md or a
    mapping from [import.mapping]. A row whose key exists replaces the old row; re-importing
    a file changes nothing. Every problem is listed as file:row:column (exit code 2) and
    nothing is published.
    """

    result = import_files(obj.settings, obj.store, list(files), kind=kind, replace=replace,
                          progress=progress)
    published = result.published
    click.echo(f"imported {len(result.files)} file{'s' if len(result.files) != 1 else ''} "
               f"into snapshot {published.snapshot.id} (data as of {published.as_of})")
    for change in result.tables.values():
        line = (f"  {change.table}: {change.rows:,} rows — {change.inserted:,} new, "
                f"{change.updated:,} updated, {change.unchanged:,} unchanged")
        if change.replaced:
            line += f", {change.removed:,} removed (table replaced)"
        click.echo(line)
    # The build's warnings: the files' (result.warnings, in the command's language) and the
    # build's own, e.g. that it started from an older snapshot because the current one is
    # damaged.
    files = {str(w) for w in result.warnings}
    warnings = ([w.line(obj.lang) for w in result.warnings]
                + [w for w in published.warnings if w not in files])
    if warnings:
        click.echo(f"warnings ({len(warnings)}):")
        for warning in warnings:
            click.echo(f"  {terminal_safe(warning)}")


@main.command()
@click.pass_obj
@user_errors
def rebuild(obj: Context) -> None:
    """Build the current snapshot again from its own canonical tables with this version's
    models (same data, same as-of date; no source is read, user data untouched). A snapshot
    built by another version of CS Analytics is not read until it is rebuilt — by this
    command, an `import` or a `refresh`."""
    published = rebuild_snapshot(obj.settings, obj.store, progress=progress)
    click.echo(f"rebuilt snapshot {published.snapshot.id} (data as of {published.as_of}, "
               f"schema {SCHEMA_VERSION})")


@main.command()
@click.option("--source", type=click.Choice(REFRESH_SOURCES), default="all",
              show_default=True,
              help="all = every configured source: Salesforce when SF_* secrets are set, "
                   "Metabase when the inbox has files or cards are configured.")
@click.option("--full", is_flag=True,
              help="Pull every Salesforce object in full instead of the changes since the last "
                   "refresh (also removes records deleted long ago).")
@click.option("--push", "then_push", is_flag=True,
              help="After a successful refresh, write the new numbers to Salesforce (as "
                   "`push` does).")
@click.pass_obj
@user_errors
def refresh(obj: Context, source: str, full: bool, then_push: bool) -> None:
    """Pull from Salesforce and Metabase, rebuild and publish a new snapshot.

    Salesforce credentials come from SF_* environment variables or .streamlit/secrets.toml,
    the Metabase API key from METABASE_API_KEY; see docs/operations.md. A failure publishes
    nothing (the previous snapshot stays current), is recorded in the refresh log and pushes
    nothing.
    """

    result = run_refresh(obj.settings, obj.store, source=source, full=full, progress=progress)
    for warning in result.warnings:
        click.echo(f"warning: {terminal_safe(warning)}", err=True)
    for line in result.summary():
        click.echo(terminal_safe(line))
    if then_push:
        _push(obj, dry_run=False)


@main.command("push")
@click.option("--dry-run", is_flag=True,
              help="List what would change in Salesforce (account, field, old → new) and check "
                   "the Salesforce set-up; send nothing.")
@click.option("--resend-all", is_flag=True,
              help="Send every value again, not only the changes (after values were cleared or "
                   "edited in Salesforce itself).")
@click.pass_obj
@user_errors
def push_cmd(obj: Context, dry_run: bool, resend_all: bool) -> None:
    """Write the current snapshot's numbers to Salesforce, where the team works: health score,
    band, segment, top detractor, open signals, last contact and login, deliveries and logins
    of the last 90 days and the next renewal on each Account ([salesforce.push]
    account_fields), a weekly usage row per account (usage_object, upserted by its external
    id), and the notes and manual assessments written in the app as completed Tasks.

    Only what changed since the last push Salesforce confirmed is sent; with no change
    nothing is. Each object is described first: a missing field stops the push before
    anything is written, naming the setting. A record Salesforce refuses is listed with its
    error and the others are written; the command then exits with status 1. Set-up, rights
    and scheduling: docs/operations.md ("Salesforce write-back").
    """
    _push(obj, dry_run, resend_all)


def _push(obj: Context, dry_run: bool, resend_all: bool = False) -> None:

    result = push(obj.settings, obj.store, dry_run=dry_run, resend_all=resend_all,
                  progress=progress)
    if dry_run:
        _print_changes(result.lines)
    for line in result.summary():
        click.echo(line)
    shown = obj.settings.salesforce.push.max_errors_shown
    for refusal in result.refused[:shown]:
        click.echo(f"refused: {refusal.object} {refusal.record}: {refusal.error}", err=True)
    if len(result.refused) > shown:
        click.echo(f"refused: … and {len(result.refused) - shown} more", err=True)
    if result.setup_error:
        fail(result.setup_error)
    if result.refused:
        fail(f"Salesforce refused {len(result.refused)} records (listed above); everything "
             "else was written, and the refused ones are sent again by the next push")


def _print_changes(lines) -> None:
    """The dry run's table: record, object, field, old → new."""
    if not lines:
        return
    rows = [(line.record, line.object, line.field,
             "—" if line.old is None else str(line.old),
             "—" if line.new is None else str(line.new)) for line in lines]
    widths = [max(len(r[i]) for r in rows + [("record", "object", "field", "", "")])
              for i in range(3)]
    click.echo(f"{'record':<{widths[0]}}  {'object':<{widths[1]}}  {'field':<{widths[2]}}  "
               f"old → new")
    for record, obj_name, field_name, old, new in rows:
        click.echo(f"{record:<{widths[0]}}  {obj_name:<{widths[1]}}  {field_name:<{widths[2]}}  "
                   f"{old} → {new}")


@main.command("config")
@click.option("--defaults", is_flag=True, help="Print every setting with its default and meaning.")
@click.option("--docs", is_flag=True, help="Rewrite docs/configuration.md from the defaults.")
@click.pass_obj
@user_errors
def config_cmd(obj: Context, defaults: bool, docs: bool) -> None:
    """Check the settings file (or print the documented defaults)."""
    if docs:

        target = REPO_ROOT / "docs" / "configuration.md"
        target.write_text(configuration_markdown(), encoding="utf-8")
        click.echo(f"wrote {target}")
        return
    if defaults:
        click.echo(defaults_toml(), nl=False)
        return
    settings = obj.settings
    click.echo(f"settings OK: {settings.source_path or 'defaults (no cs_analytics.toml)'}")


# ---------------------------------------------------------------------------- revenue and churn


def _yen(value) -> str:
    """Display only: whole yen with thousands separators (¥12,345,678, -¥50,000)."""
    if value is None:
        return "—"
    text = f"¥{abs(value):,.0f}"
    return f"-{text}" if round(value) < 0 else text


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _finite(value):
    """JSON has no Infinity or NaN: a non-finite number (never in a published snapshot, whose
    build refuses them) is written as null rather than as invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain_amount(value):
    """Unrounded amounts for machine output: integral yen without a trailing .0."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def _filter_options(segment_help: str):
    """--owner, --segment and --industry (the sidebar's filters), for the commands that take
    them: the parameters owner_ids, segments, industries."""
    def decorate(fn):
        for option in reversed((
                click.option("--owner", "owner_ids", multiple=True, metavar="USER_ID",
                             help="Only accounts owned by this user (repeatable)."),
                click.option("--segment", "segments", multiple=True,
                             type=click.Choice(["S", "A", "B", "C"]), help=segment_help),
                click.option("--industry", "industries", multiple=True,
                             help="Only accounts of this industry (repeatable)."))):
            fn = option(fn)
        return fn

    return decorate


def _filtered_line(filters, segment: str = "segment") -> str:
    """'filtered: owner U001, U002; segment S' for the filters a command was given."""
    return "filtered: " + "; ".join(f"{name} {', '.join(values)}" for name, values in (
        ("owner", filters.owner_ids), (segment, filters.segments),
        ("industry", filters.industries)) if values)


@main.command("metrics")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD",
              help="Date the numbers are for. Default: the snapshot's data-as-of date; an "
                   "earlier date recomputes every month from the contracts.")
@click.option("--period", "period_kind", type=click.Choice(["month", "quarter", "year", "ttm"]),
              default="quarter", show_default=True,
              help="The calendar month, fiscal quarter, fiscal year or trailing 12 months that "
                   "contain the as-of date.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table: for reading (¥, %); json: rates as fractions.")
@_filter_options("Only accounts currently in this segment (repeatable).")
@click.pass_obj
@user_errors
def metrics_cmd(obj: Context, as_of, period_kind: str, fmt: str, owner_ids, segments,
                industries) -> None:
    """Headline KPIs — every KPI of the registry (metrics/kpis.py): MRR, ARR, customers, MRR
    movements, logo churn, NRR, GRR, gross and net MRR churn, quick ratio, the two-year churn
    rate, … (definitions: docs/metrics.md) — with the previous period and the same period a
    year ago, and each target judged on its basis.

    MRR, ARR and customers are at the period's end (the as-of date for the current period);
    movements are totals over the period, contraction and churn negative. A period that has
    not ended is to date: its previous and year-ago periods are measured like for like (on the
    same day of them). JSON keys: each KPI's key (mrr, arr, customers, new, …, quick_ratio,
    two_year_churn_rate: docs/metrics.md lists them), period_start, period_end, as_of,
    period_complete, days_elapsed, days_in_period, previous and year_ago (objects with the
    same KPI keys), two_year_churn_customers / _churned / _ci90 ([low, high], 90% Wilson) /
    _small_sample, targets ({name: metric, value, basis, direction, on, measured, met}),
    health_bands; a rate is null when its base is empty.
    """

    settings = obj.settings
    snap = obj.snapshot()
    day = resolve_as_of(snap, as_of.date() if as_of else None)
    period = periods.period_containing(period_kind, day, fiscal_year_start_month(snap))
    filters = metrics_api.Filters(owner_ids=owner_ids, segments=segments, industries=industries)
    values = metrics_api.headline(snap, period, None if filters.is_empty else filters, day,
                                  settings)
    if fmt == "json":
        click.echo(json.dumps(_finite(values), ensure_ascii=False, indent=2, default=str,
                              allow_nan=False))
        return
    demo = " — demo data" if snap.is_demo else ""
    click.echo(f"{period.label}{_to_date(values)}: {values['period_start']} – "
               f"{values['period_end']} (data as of {values['as_of']}){demo}")
    if not filters.is_empty:
        click.echo(_filtered_line(filters))
    before, year_ago = values["previous"], values["year_ago"]
    heads = ("", period.label, f"previous {before['label']}{_to_date(before)}",
             f"year ago {year_ago['label']}{_to_date(year_ago)}")
    rows = [(k.name, *(METRIC_FORMATS[k.kind](v.get(k.key)) for v in (values, before,
                                                                       year_ago)))
            for k in KPIS]
    rows.append(("two-year churn group", *(
        _group(v) for v in (values, before, year_ago))))
    widths = [max(len(r[i]) for r in (heads, *rows)) + 3 for i in range(4)]
    for row in (heads, *rows):
        click.echo("  " + "".join(f"{cell:<{w}}" for cell, w in zip(row, widths)).rstrip())
    click.echo("  two-year churn rate: " + _two_year_line(values))
    click.echo("targets (each judged on its basis):")
    for name, target in values["targets"].items():
        click.echo("  " + _target_line(name, target))
    known = {*metrics_api.COMPARED_KEYS, "previous", "year_ago", "targets", "period_complete",
             "days_elapsed", "days_in_period", "two_year_churn_customers",
             "two_year_churn_churned", "two_year_churn_ci90", "two_year_churn_small_sample"}
    for key, value in values.items():  # sections added by other modules (health bands)
        if key not in known:
            shown = (", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict)
                     else str(value))
            click.echo(f"  {key.replace('_', ' ')}: {shown}")


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _count(value) -> str:
    return "—" if value is None else f"{value:,}"


# How the metrics table shows each kind of KPI (metrics/kpis.py).
METRIC_FORMATS = {"yen": _yen, "count": _count, "rate": _percent, "ratio": _ratio}


def _to_date(values: dict) -> str:
    """' to date, 68 of 92 days' for a period that has not ended; '' for a complete one."""
    if values["period_complete"]:
        return ""
    return f" to date, {values['days_elapsed']} of {values['days_in_period']} days"


def _group(values: dict) -> str:
    """The two-year churn rate's group size at the period's end (a change between two rates
    is partly a change of group)."""
    customers = values.get("two_year_churn_customers")
    if customers is None:  # previous / year_ago carry only the rate
        return ""
    return f"{customers:,} customers"


def _two_year_line(values: dict) -> str:
    ci = values["two_year_churn_ci90"]
    interval = "—" if ci is None else f"{_percent(ci[0])}–{_percent(ci[1])}"
    small = ", small sample" if values["two_year_churn_small_sample"] else ""
    return (f"{_percent(values['two_year_churn_rate'])} = {values['two_year_churn_churned']:,} "
            f"of {values['two_year_churn_customers']:,} customers (90% interval {interval}"
            f"{small})")


def _target_line(name: str, target: dict) -> str:
    sign = "≥" if target["direction"] == "at_least" else "≤"
    shown = _ratio if target["metric"] == "quick_ratio" else _percent
    head = f"{name}: {target['metric']} {sign} {shown(target['value'])} on {target['basis']}"
    if target["on"] is None:
        return f"{head} — not judged on a {target['basis']} basis for this period"
    verdict = {True: "met", False: "missed", None: "no value"}[target["met"]]
    return f"{head} ({target['on']}): {shown(target['measured'])} — {verdict}"


def _write_rows(columns, batches, fmt: str, formula_guard: bool = True) -> None:
    """Stream rows (batches of tuples in `columns` order) to stdout as CSV (text starting
    with = + - @ guarded unless `formula_guard` is off) or a JSON array; a closed pipe
    (`| head`) ends quietly."""
    out = click.get_text_stream("stdout")
    try:
        if fmt == "csv":
            writer = GuardedWriter(out, formula_guard, lineterminator="\n")
            writer.writerow(columns)
            for batch in batches:
                writer.writerows(batch)
            return
        out.write("[")
        first = True
        for batch in batches:
            for row in batch:
                out.write(("\n" if first else ",\n")
                          + json.dumps(dict(zip(columns, row)), ensure_ascii=False))
                first = False
        out.write("\n]\n")
        out.flush()
    except BrokenPipeError:

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


FORMULA_GUARD = click.option(
    "--formula-guard/--no-formula-guard", "formula_guard", default=True, show_default=True,
    help="CSV: put an apostrophe before text starting with = + - @ (or a tab), so Excel shows "
         "it instead of running it as a formula; --no-formula-guard writes text exactly as "
         "stored (for programs, not spreadsheets).")


@main.command("movements")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@FORMULA_GUARD
@click.pass_obj
@user_errors
def movements_cmd(obj: Context, fmt: str, formula_guard: bool) -> None:
    """Every account's MRR per month with its movement, from its first month with MRR to the
    as-of month: account_id, month (YYYY-MM), mrr, previous_mrr, movement (new, reactivation,
    expansion, contraction, churn; empty when unchanged). Amounts are unrounded yen."""

    obj.settings
    snap = obj.snapshot()
    batches = ([(a, m, _plain_amount(v), _plain_amount(p), kind or "")
                for a, m, v, p, kind in batch]
               for batch in revenue.iter_account_movements(snap))
    _write_rows(revenue.MOVEMENT_ROW_COLUMNS, batches, fmt, formula_guard)


# ---------------------------------------------------------------------------- health, alerts


@main.group("health", invoke_without_command=True)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD",
              help="Date the scores are for. Scores are kept for every Monday and the "
                   "snapshot's data-as-of date; another date shows the latest of those on or "
                   "before it. Default: the data-as-of date.")
@click.option("--history", is_flag=True,
              help="Every account's score on every Monday instead (the weekly history the "
                   "backtest reads): account_id, day, score, band, each component's score, "
                   "renewal_days_score (the renewal score from the days to the contract's end "
                   "alone, as the backtest takes it), segment.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@FORMULA_GUARD
@click.pass_context
@user_errors
def health_cmd(ctx: click.Context, as_of, history: bool, fmt: str, formula_guard: bool) -> None:
    """Health score of every active account: score, band, the six components (value, score,
    weight, contribution), top detractor, segment, risk signals with their evidence, and the
    manual assessment when one is valid (definitions: docs/metrics.md).

    JSON: a list of objects with account_id, name, owner_id, owner_name, snapshot_day, score,
    band, previous_score, score_change, score_change_4w, onboarding, components {name: {value,
    score, weight, contribution}}, top_detractor, segment, attribute_tier, signals [{id,
    since, evidence…}], manual_assessment. CSV: one row per account, components flattened
    (deliveries_value, deliveries_score, …), signal ids separated by ';'. Lowest score first.

    `health --history` writes the weekly history instead, one row per account and Monday,
    ordered by account and day; `health backtest` checks whether the score warned before
    churn.
    """

    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    obj.settings
    store = obj.store
    snap = obj.snapshot()
    if history:
        if as_of:
            raise click.UsageError("--history writes every Monday; leave out --as-of.")
        _write_rows(health.HISTORY_COLUMNS, health.iter_history(snap), fmt, formula_guard)
        return
    day = health.snapshot_day_for(snap, as_of.date() if as_of else None)
    if as_of and day != as_of.date():
        progress(f"health on {day} (the latest snapshot on or before {as_of.date()})")
    records = health.records(snap, day, assessments.current_assessments(store))
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    columns = ["account_id", "name", "owner_id", "snapshot_day", "score", "band",
               "score_change", "score_change_4w", "onboarding", "top_detractor", "segment",
               "attribute_tier"]
    parts = ("value", "score", "weight", "contribution")
    writer = GuardedWriter(click.get_text_stream("stdout"), formula_guard, lineterminator="\n")
    writer.writerow(columns + [f"{c}_{p}" for c in HEALTH_COMPONENTS for p in parts]
                    + ["signals", "manual_band", "manual_expires_on"])
    for r in records:
        manual = r["manual_assessment"] or {}
        writer.writerow([r[c] for c in columns]
                        + [r["components"][c][p] for c in HEALTH_COMPONENTS for p in parts]
                        + [";".join(s["id"] for s in r["signals"]), manual.get("band"),
                           manual.get("expires_on")])


@health_cmd.command("backtest")
@click.option("--horizon", "horizon", type=click.IntRange(7, 3650), default=None,
              metavar="DAYS",
              help="An account-week counts as churned when a churn follows within this many "
                   "days. Default: backtest.horizon_days (180).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table: for reading; json: rates as fractions.")
@_filter_options("Only account-weeks in this segment on the evaluation day (repeatable).")
@click.pass_obj
@user_errors
def health_backtest_cmd(obj: Context, horizon: int | None, fmt: str, owner_ids, segments,
                        industries) -> None:
    """Does the health score warn before churn? Every Monday of the weekly history (from 91
    days after its start to the data-as-of date minus the horizon), each scored account's band
    that day against whether it churned within the horizon (definitions: docs/metrics.md).

    Prints churn rate per band with a 90% Wilson interval and lift, precision and recall of
    🟠/🔴, lead time, survival by band (Kaplan–Meier, log-rank test), churn by component
    quartile and the evidence behind them; weight alternatives from 30 churned accounts.
    JSON keys: as_of, horizon_days, evaluation_days, bands {band: n, churned, rate, ci90,
    lift}, overall_rate, precision, recall, lead_time_weeks {median, q1, q3, warned,
    not_warned}, logrank_p, churned_accounts, components, and the details (evidence,
    survival_at_horizon, not_warned, carriers, weight_alternatives).
    """
    # lifelines (scipy) loads only for this command
    from cs_analytics.metrics import backtest

    options = backtest.Options.of(obj.settings, horizon)
    snap = obj.snapshot()
    filters = Filters(owner_ids=owner_ids, segments=segments, industries=industries)
    progress(f"backtest over the weekly health history (data as of {snap.as_of}, horizon "
             f"{options.horizon_days} days)")
    result = backtest.run(snap, options, None if filters.is_empty else filters)
    if fmt == "json":
        click.echo(json.dumps(backtest.as_json(result), ensure_ascii=False, indent=2,
                              allow_nan=False))
        return
    for line in _backtest_lines(result, snap.is_demo):
        click.echo(line.rstrip())


def _backtest_lines(result, demo: bool) -> list[str]:
    """The backtest as text for the terminal."""
    options, days = result.options, result.evaluation_days
    label = " — demo data" if demo else ""
    lines = [f"health-score backtest, data as of {result.as_of}{label}",
             f"horizon {options.horizon_days} days; "
             + (f"{len(days)} evaluation Mondays {days[0]} – {days[-1]}" if days else
                "no evaluation Monday yet (the weekly history needs "
                f"{options.min_history_days} days plus the horizon)")]
    if result.filters is not None and not result.filters.is_empty:
        lines.append(_filtered_line(result.filters, "segment on the day"))
    lines.append(f"evidence: {result.churned_accounts} distinct churned accounts "
                 f"({len(result.churns)} churns) behind {result.account_weeks:,} account-weeks"
                 f" of {result.accounts:,} accounts")
    if not result.enough_evidence:
        lines.append(f"WARNING: fewer than {options.min_churned_accounts} churned accounts — "
                     "read the rates as indications, not proof; no weight alternatives")
    if not result.account_weeks:
        return lines
    confidence = f"{options.confidence:.0%}"
    lines += ["", f"churn within {options.horizon_days} days by band on the Monday "
                  f"({confidence} Wilson interval):",
              f"  {'band':<9}{'weeks':>9}{'churned':>9}{'rate':>8}{'interval':>17}{'lift':>7}"
              f"{'accounts':>10}"]
    for r in result.bands.to_dict("records"):
        lines.append(f"  {r['band']:<9}{r['n']:>9,}{r['churned']:>9,}{_rate(r['rate']):>8}"
                     f"{_interval_text(r['ci_low'], r['ci_high']):>17}"
                     f"{_times(r['lift']):>7}{r['accounts']:>10,}")
    lines.append(f"  {'all':<9}{result.account_weeks:>9,}{result.churned_weeks:>9,}"
                 f"{_rate(result.overall_rate):>8}"
                 f"{_interval_text(*result.overall_ci):>17}")
    lead = result.lead_time
    lines += ["", f"warning = 🟠 or 🔴 on the Monday: precision {_rate(result.precision)} "
                  f"({result.warned_churned_weeks:,} of {result.warned_weeks:,} warned weeks "
                  f"churned), recall {_rate(result.recall)} of churned weeks",
              f"lead time: {lead['warned']} of {lead['warned'] + lead['not_warned']} churns "
              f"warned within {options.lead_weeks} weeks before; median "
              f"{_weeks(lead['median'])}, quartiles {_weeks(lead['q1'])} – "
              f"{_weeks(lead['q3'])}"]
    if result.renewal_adjusted_weeks:
        lines.append(f"renewal component as known each Monday: {result.renewal_adjusted_weeks:,}"
                     " account-weeks banded without a renewal signed later")
    lines += ["", f"still a customer {options.horizon_days} days after each quarter's first "
                  f"evaluation Monday (Kaplan–Meier), log-rank p = "
                  + ("—" if result.logrank_p is None else f"{result.logrank_p:.2g}")]
    for r in result.survival_by_band.to_dict("records"):
        lines.append(f"  {r['band']:<9}{_rate(r['survival_at_horizon']):>8}"
                     f"{_interval_text(r['ci_low'], r['ci_high']):>17}  "
                     f"({r['origins']:,} starts, {r['churned']:,} churned)")
    lines += ["", "churn rate by component score quartile (1 = lowest scores):"]
    for component, rows in result.components.groupby("component", sort=False):
        cells = [f"Q{int(q)} {_rate(rate)}" for q, rate, n in
                 zip(rows["quartile"], rows["rate"], rows["n"]) if n]
        lines.append(f"  {component:<12}" + "   ".join(cells))
    not_warned = result.churns[~result.churns["warned"].astype(bool)]
    if len(not_warned):
        lines += ["", "churned without a 🟠/🔴 week before (last score):"]
        for r in not_warned.to_dict("records"):
            score = "—" if _missing(r["last_score"]) else f"{r['last_score']:.0f}"
            lines.append(f"  {r['account_id']}  {r['name']}  churn {str(r['churn_day'])[:7]}"
                         f"  last score {score} ({r['last_band'] or '—'})")
    if result.alternatives is not None:
        lines += ["", "weight alternatives (never applied; add the line under [health.weights] "
                      "to adopt one):",
                  f"  {'change':<24}{'warned':>8}{'precision':>11}{'recall':>8}{'lift':>7}"]
        for r in result.alternatives.to_dict("records"):
            change = ("current weights" if _missing(r["component"]) else
                      f"{r['config_line']} (×{r['factor']:g})")
            lines.append(f"  {change:<24}{_rate(r['warned_share']):>8}"
                         f"{_rate(r['precision']):>11}{_rate(r['recall']):>8}"
                         f"{_times(r['lift']):>7}")
    return lines


def _missing(value) -> bool:
    return value is None or value != value  # None, or NaN in a frame


def _rate(value) -> str:
    return "—" if _missing(value) else _percent(value)


def _interval_text(low, high) -> str:
    if _missing(low) or _missing(high):
        return "—"
    return f"{_percent(low)} – {_percent(high)}"


def _times(value) -> str:
    return "—" if _missing(value) else f"{value:.1f}×"


def _weeks(value) -> str:
    return "—" if _missing(value) else f"{value:.1f} weeks"


@main.command("alerts")
@click.option("--dry-run", is_flag=True,
              help="Evaluate and print the messages that would be sent; record and send "
                   "nothing.")
@click.pass_obj
@user_errors
def alerts_cmd(obj: Context, dry_run: bool) -> None:
    """Evaluate the churn-risk signals of the current snapshot and send the new alerts to
    Slack (SPEC §4 risk signals; definitions: docs/metrics.md).

    An alert fires when an account enters a signal, not on every run; the same account and
    signal alert again only after [alerts] cooldown_days. Acknowledged signals do not alert;
    snoozed ones wait until the snooze ends. Messages go to the incoming webhook in
    SLACK_WEBHOOK_URL (environment or .streamlit/secrets.toml), one per alert or one digest
    ([alerts] mode), naming the customer, owner, segment, MRR, last contact and the evidence.
    A message Slack did not accept is kept and retried on the next run; the command then
    exits with status 1.
    """

    settings = obj.settings
    run = run_alerts(settings, obj.store, dry_run=dry_run)
    demo = " (demo data)" if obj.snapshot().is_demo else ""
    held = [f"{run.count(outcome)} {label}" for outcome, label in (
        (evaluation.ACKNOWLEDGED, "acknowledged"), (evaluation.SNOOZED, "snoozed"),
        (evaluation.COOLDOWN, "within the cooldown"), (evaluation.KNOWN, "already shown "
                                                       "before alerts started"),
        (evaluation.NOTIFIED, "already alerted")) if run.count(outcome)]
    click.echo(f"data as of {run.as_of}{demo}: {run.shown} signals shown, "
               f"{len(run.fired)} new alerts" + (f" ({', '.join(held)} not alerted)"
                                                 if held else ""))
    if dry_run:
        click.echo(f"dry run: {len(run.deliveries)} Slack messages would be sent; nothing "
                   "was recorded or sent")
        for d in run.deliveries:
            click.echo("\n---\n" + d.text)
        return
    if not run.deliveries:
        click.echo("nothing to send")
        return
    click.echo(f"sent {len(run.sent)} of {len(run.deliveries)} Slack messages")
    if run.failed:
        first = run.failed[0]
        fail(f"{len(run.failed)} Slack messages were not delivered ({first.error}); they "
             "will be retried on the next run")


# ---------------------------------------------------------------------------- renewals

RENEWAL_CSV_COLUMNS = ["contract_id", "account_id", "name", "owner_id", "owner_name",
                       "end_date", "mrr", "arr", "status", "signed_by", "renewal_kind",
                       "notice_days", "notice_deadline", "notice_date", "band", "signals",
                       "risk_reasons", "bucket", "p_renew", "expected_arr", "at_stake_arr"]


@main.command("renewals")
@click.option("--quarter", default=None, metavar="2026Q1",
              help="Fiscal quarter whose contracts are due (end date in it), past or future. "
                   "Default: the quarter of the data-as-of date.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="table: for reading (¥, %); csv: one row per contract; json: the summary, "
                   "P(renew) by band and the contracts (rates as fractions).")
@_filter_options("Only accounts currently in this segment (repeatable).")
@FORMULA_GUARD
@click.pass_obj
@user_errors
def renewals_cmd(obj: Context, quarter: str | None, fmt: str, owner_ids, segments,
                 industries, formula_guard: bool) -> None:
    """Renewals due in a fiscal quarter with their status on the data-as-of date — signed,
    lost, pending, at risk —, notice deadlines and the forecast renewing ARR (definitions:
    docs/metrics.md "Renewals").

    At-risk ARR counts only at-risk contracts; pending ARR counts every undecided contract,
    at-risk ones included. Forecast = Σ pending ARR × P(renew | band now), with the range at
    the ends of each band's 90% interval; P comes from past renewals where enough back it,
    else from [renewals] default_probabilities (the table and JSON say which).

    JSON keys: quarter, period_start, period_end, as_of, summary {due_count, due_arr,
    signed_count, signed_arr, auto_renew_count, auto_renew_arr, lost_count, lost_arr,
    pending_count, pending_arr, at_risk_count, at_risk_arr, renewal_rate, forecast_arr,
    forecast_low, forecast_high, expected_arr, expected_rate}, probabilities [{bucket,
    renewals, renewed, rate, ci_low, ci_high, source, p, p_low, p_high, default_p}],
    contracts [one object per contract, the CSV's columns and more]. Amounts are ARR in
    unrounded yen unless named mrr. CSV columns: contract_id, account_id, name, owner_id,
    owner_name, end_date, mrr, arr, status, signed_by, renewal_kind, notice_days,
    notice_deadline, notice_date, band, signals, risk_reasons, bucket, p_renew, expected_arr,
    at_stake_arr. Contracts are listed at risk first, then pending, lost and signed.
    """


    obj.settings
    snap = obj.snapshot()
    fsm = fiscal_year_start_month(snap)
    period = (periods.parse_quarter(quarter, fsm) if quarter
              else periods.period_containing("quarter", snap.as_of, fsm))
    filters = metrics_api.Filters(owner_ids=owner_ids, segments=segments, industries=industries)
    due = renewals.due_in(snap, period, None if filters.is_empty else filters)
    summary = renewals.summary_of(due)
    probabilities = renewals.probabilities(snap)
    if fmt == "csv":
        writer = GuardedWriter(click.get_text_stream("stdout"), formula_guard,
                               lineterminator="\n")
        writer.writerow(RENEWAL_CSV_COLUMNS)
        for row in due[RENEWAL_CSV_COLUMNS].itertuples(index=False):
            writer.writerow(["" if v is None else _plain_amount(v) if isinstance(v, float)
                             else v for v in map(json_value, row)])
        return
    if fmt == "json":
        click.echo(json.dumps({
            "quarter": period.label, "period_start": period.start_date.isoformat(),
            "period_end": period.end_date.isoformat(), "as_of": snap.as_of.isoformat(),
            "summary": summary.as_dict(),
            "probabilities": [{k: json_value(v) for k, v in r.items()}
                              for r in probabilities.to_dict("records")],
            "contracts": [{k: json_value(v) for k, v in r.items()}
                          for r in due.to_dict("records")],
        }, ensure_ascii=False, indent=2))
        return
    demo = " — demo data" if snap.is_demo else ""
    click.echo(f"{period.label}: {period.start_date} – {period.end_date} renewals due "
               f"(status as of {snap.as_of}){demo}")
    if not filters.is_empty:
        click.echo(_filtered_line(filters))
    s = summary
    lines = [
        ("due", s.due_count, s.due_arr, ""),
        ("signed", s.signed_count, s.signed_arr,
         f"of which renewing automatically, not booked yet: {_yen(s.auto_renew_arr)}"),
        ("lost", s.lost_count, s.lost_arr, "no MRR in the month after the end month"),
        ("pending", s.pending_count, s.pending_arr, "at-risk contracts included"),
        ("at risk", s.at_risk_count, s.at_risk_arr, "health 🟠/🔴, a risk signal or notice"),
    ]
    for label, count, arr, note in lines:
        click.echo(f"  {label:<14}{count:>5,}  {_yen(arr):>16}  {note}".rstrip())
    click.echo(f"  {'renewal rate':<14}{_percent(s.renewal_rate):>23}  signed ÷ decided ARR")
    click.echo(f"  {'forecast':<14}{_yen(s.forecast_arr):>23}  of the pending ARR "
               f"({_yen(s.forecast_low)} – {_yen(s.forecast_high)})")
    click.echo(f"  {'expected':<14}{_yen(s.expected_arr):>23}  signed + forecast; expected "
               f"renewal rate {_percent(s.expected_rate)}")
    click.echo("P(renew) by band now:")
    for r in probabilities.to_dict("records"):
        source = (f"past renewals: {r['renewed']} of {r['renewals']}, 90% "
                  f"{_percent(r['ci_low'])} – {_percent(r['ci_high'])}"
                  if r["source"] == "history"
                  else f"configured default ({r['renewals']} past renewals, too few)")
        click.echo(f"  {r['bucket']:<14}{_percent(r['p']):>7}  {source}")
    if due.empty:
        click.echo("no contracts due")
        return
    click.echo("contracts (at risk, pending, lost, signed):")
    for r in due.to_dict("records"):
        deadline = json_value(r["notice_deadline"]) or "—"
        band = r["band"] if isinstance(r["band"], str) else "—"
        click.echo(f"  {r['status']:<8} {json_value(r['end_date'])}  {_yen(r['arr']):>13}  "
                   f"{r['contract_id']}  {r['name']}  ({r['owner_name']}; notice deadline "
                   f"{deadline}; band {band}; P {_percent(json_value(r['p_renew']))})")


# ---------------------------------------------------------------------------- reports


@main.group("report")
def report_group() -> None:
    """Reports: the quarterly KPI report and the internal QBR pack as Excel workbooks, the
    customer QBR deck as PowerPoint (one account, or this quarter's as one zip)."""


def _check_out_path(out_path: str, suffixes: tuple[str, ...] = (".xlsx",)) -> None:

    target = Path(out_path)
    if target.suffix.lower() not in suffixes:
        raise CsAnalyticsError(f"--out {out_path}: expected a file name ending in "
                               f"{' or '.join(suffixes)}")
    if not target.parent.is_dir():
        raise CsAnalyticsError(f"--out {out_path}: the folder {target.parent} does not exist")


def _write_workbook(out_path: str, data: bytes) -> None:
    """Write the file next to its final name, then rename: no half-written report is left."""

    target = Path(out_path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_REPORT_LANG = click.option("--lang", type=click.Choice(["ja", "en"]), default=None,
                            help="Language of the report (default: general.language).")


@report_group.command("kpi")
@click.option("--quarter", default=None, metavar="YYYYQn",
              help="Fiscal quarter, e.g. 2026Q1 (fiscal years start in "
                   "general.fiscal_year_start_month). Default: the last complete quarter. The "
                   "current quarter is reported to date, compared like for like.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The .xlsx file to write (replaced if it exists).")
@click.option("--unit", type=click.Choice(["yen", "man", "million"]), default="yen",
              show_default=True,
              help="Amounts in yen (¥), 万円 (man) or 百万円 (million); the bridge's totals are "
                   "reconciled in a note.")
@_REPORT_LANG
@click.pass_obj
@user_errors
def report_kpi(obj: Context, quarter: str | None, out_path: str, unit: str,
               lang: str | None) -> None:
    """The quarterly KPI report for management: headline KPIs vs the previous quarter, the same
    quarter a year ago and the targets (each on its basis), the commentary, MRR bridge and the
    accounts behind each movement, NRR/GRR, churn, health distribution, activity per owner,
    renewals due in the quarter and the next one by status (pending and at-risk ARR apart) and
    the weekly-review action plans (sheets described in docs/reports.md)."""

    what = f"the KPI report for {quarter or 'the last complete quarter'}"
    _write_report(obj, out_path, what,
                  lambda snap, settings, userdata: kpi_report_workbook(
                      snap, settings, quarter, lang or settings.general.language, userdata,
                      unit))


@report_group.command("qbr")
@click.option("--account", "account_id", required=True, metavar="ID", help="Account ID.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The file to write (replaced if it exists): .pptx for the customer deck, "
                   ".xlsx for the internal preparation pack.")
@_REPORT_LANG
@click.pass_obj
@user_errors
def report_qbr(obj: Context, account_id: str, out_path: str, lang: str | None) -> None:
    """One account's QBR. FILE.pptx: the customer deck (cover, 60-minute agenda, contract
    timeline, usage and outcomes against a year before, highlights, next quarter's plan,
    questions and next steps, appendix; nothing internal), in reports.qbr_template's design
    when set. FILE.xlsx: the internal pack (profile and renewal, talking points, contracts and
    MRR, usage by quarter, health trend, contacts and notes, open signals)."""

    # python-pptx loads only for the commands that write a deck
    from cs_analytics.outputs.reports.qbr_slides import qbr_deck

    if Path(out_path).suffix.lower() == ".pptx":
        _write_report(obj, out_path, f"the customer QBR deck of {account_id}",
                      lambda snap, settings, userdata: qbr_deck(
                          snap, settings, account_id, lang or settings.general.language),
                      suffixes=(".pptx", ".xlsx"))
        return
    _write_report(obj, out_path, f"the QBR pack of {account_id}",
                  lambda snap, settings, userdata: qbr_workbook(
                      snap, settings, account_id, lang or settings.general.language, userdata),
                  suffixes=(".pptx", ".xlsx"))


@report_group.command("qbr-decks")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The .zip file to write (replaced if it exists).")
@click.option("--all", "include_done", is_flag=True,
              help="Also the accounts whose QBR already took place this quarter.")
@_REPORT_LANG
@click.pass_obj
@user_errors
def report_qbr_decks(obj: Context, out_path: str, include_done: bool, lang: str | None) -> None:
    """The customer decks of this quarter's S/A accounts without a QBR yet (the QBR page's
    list), one .pptx each in a zip with an index.csv of customers and files."""
    # python-pptx loads only for the commands that write a deck
    from cs_analytics.outputs.reports.qbr_slides import qbr_decks_zip

    def render(snap, settings, userdata):
        quarter = periods.period_containing("quarter", snap.as_of,
                                            fiscal_year_start_month(snap))
        due = accounts.qbr_candidates(snap, quarter.start_date, quarter.end_day(snap.as_of))
        if not include_done:
            due = due[~due["qbr_done"].astype(bool)]
        chosen = list(zip(due["account_id"], due["name"]))
        if not chosen:
            raise CsAnalyticsError(f"no S/A account is due a QBR in {quarter.label}"
                                   + ("" if include_done else " (add --all for those done)"))
        return qbr_decks_zip(snap, settings, chosen, lang or settings.general.language,
                             progress=lambda done, total, name: progress(
                                 f"deck {done + 1} of {total}: {name}") if done < total else None)

    _write_report(obj, out_path, "this quarter's customer QBR decks", render, suffixes=(".zip",))


def _write_report(obj: Context, out_path: str, what: str, render,
                  suffixes: tuple[str, ...] = (".xlsx",)) -> None:
    """Shared by the report commands: check the target, render over the current snapshot and
    the user-data store, write the file atomically and say where it went."""
    settings, store = obj.settings, obj.store
    _check_out_path(out_path, suffixes)
    snap = obj.snapshot()
    progress(f"building {what} (data as of {snap.as_of.isoformat()})")
    userdata = store.userdata_db(readonly=True)
    try:
        data = render(snap, settings, userdata)
    finally:
        userdata.close()
    _write_workbook(out_path, data)
    click.echo(f"wrote {out_path} ({len(data):,} bytes)")
