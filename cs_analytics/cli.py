"""The command line: `python -m cs_analytics COMMAND`. `--help` on any command is its manual.

Errors a user can cause end as one line on stderr and a non-zero exit, never a traceback.
Progress of long work goes to stderr, results to stdout (so `--format json > file` works).
"""

from __future__ import annotations

import functools
import json
import sys

import click

from cs_analytics import clock
from cs_analytics.config import Settings, data_home, defaults_toml, load_settings
from cs_analytics.errors import CsAnalyticsError, ValidationFailed
from cs_analytics.sources.demo import DEFAULT_SEED as DEMO_SEED
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
                   f"built: {clock.local_text(meta['built_at'], obj.settings)}")
        canonical = ("users", "accounts", "contracts", "activities", "usage")
        click.echo("  rows: " + ", ".join(f"{t} {current['rows'].get(t, 0):,}" for t in canonical))
    click.echo("")
    click.echo("recent refreshes:" if log else "recent refreshes: none")
    for r in log:
        line = (f"  #{r['id']:<4} {clock.local_text(r['started_at'], obj.settings)}  "
                f"{r['source']:<10} {r['outcome']:<11}")
        if r["error"]:
            line += f" {r['error']}"
        elif r["snapshot_id"]:
            line += f" → {r['snapshot_id']}"
        click.echo(line)


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
    from cs_analytics.build import today_tokyo
    from cs_analytics.sources import demo as demo_source

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
    from cs_analytics.imports import import_files

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
    if result.warnings:
        click.echo(f"warnings ({len(result.warnings)}):")
        for warning in result.warnings:
            click.echo(f"  {warning}")


@main.command()
@click.option("--source", type=click.Choice(["salesforce", "metabase", "all"]), default="all",
              show_default=True,
              help="all = every configured source: Salesforce when SF_* secrets are set, "
                   "Metabase when the inbox has files or cards are configured.")
@click.option("--full", is_flag=True,
              help="Pull every Salesforce object in full instead of the changes since the last "
                   "refresh (also removes records deleted long ago).")
@click.pass_obj
@user_errors
def refresh(obj: Context, source: str, full: bool) -> None:
    """Pull from Salesforce and Metabase, rebuild and publish a new snapshot.

    Salesforce credentials come from SF_* environment variables or .streamlit/secrets.toml,
    the Metabase API key from METABASE_API_KEY; see docs/operations.md. A failure publishes
    nothing (the previous snapshot stays current) and is recorded in the refresh log.
    """
    from cs_analytics.refresh import refresh as run_refresh

    result = run_refresh(obj.settings, obj.store, source=source, full=full, progress=progress)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for line in result.summary():
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


# ---------------------------------------------------------------------------- revenue and churn


def _yen(value) -> str:
    """Display only: whole yen with thousands separators (¥12,345,678, -¥50,000)."""
    if value is None:
        return "—"
    text = f"¥{abs(value):,.0f}"
    return f"-{text}" if round(value) < 0 else text


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _plain_amount(value):
    """Unrounded amounts for machine output: integral yen without a trailing .0."""
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


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
@click.option("--owner", "owner_ids", multiple=True, metavar="USER_ID",
              help="Only accounts owned by this user (repeatable).")
@click.option("--segment", "segments", multiple=True, type=click.Choice(["S", "A", "B", "C"]),
              help="Only accounts currently in this segment (repeatable).")
@click.option("--industry", "industries", multiple=True,
              help="Only accounts of this industry (repeatable).")
@click.pass_obj
@user_errors
def metrics_cmd(obj: Context, as_of, period_kind: str, fmt: str, owner_ids, segments,
                industries) -> None:
    """Headline KPIs: MRR, ARR, customers, MRR movements, logo churn, NRR, GRR, gross and net
    MRR churn, quick ratio and the two-year churn rate (definitions: docs/metrics.md).

    MRR, ARR and customers are at the period's end (the as-of date for the current period);
    movements are totals over the period, contraction and churn negative. JSON keys: mrr, arr,
    customers, new, expansion, contraction, churn, reactivation, logo_churn_rate, nrr, grr,
    gross_mrr_churn, net_mrr_churn, quick_ratio, two_year_churn_rate, period_start,
    period_end, as_of; a rate is null when its base is empty.
    """
    from cs_analytics import metrics as metrics_api
    from cs_analytics.metrics import periods
    from cs_analytics.metrics.base import fiscal_year_start_month, resolve_as_of
    from cs_analytics.metrics.revenue import KPI_KEYS

    settings = obj.settings
    snap = obj.store.open_current()
    day = resolve_as_of(snap, as_of.date() if as_of else None)
    period = periods.period_containing(period_kind, day, fiscal_year_start_month(snap))
    filters = metrics_api.Filters(owner_ids=owner_ids, segments=segments, industries=industries)
    values = metrics_api.headline(snap, period, None if filters.is_empty else filters, day)
    if fmt == "json":
        click.echo(json.dumps(values, ensure_ascii=False, indent=2, default=str))
        return
    targets = settings.targets
    demo = " — demo data" if snap.is_demo else ""
    click.echo(f"{period.label}: {values['period_start']} – {values['period_end']} "
               f"(data as of {values['as_of']}){demo}")
    if not filters.is_empty:
        shown = [f"{name} {', '.join(v)}" for name, v in (
            ("owner", owner_ids), ("segment", segments), ("industry", industries)) if v]
        click.echo("filtered: " + "; ".join(shown))
    lines = [
        ("MRR", _yen(values["mrr"])),
        ("ARR", _yen(values["arr"])),
        ("customers", f"{values['customers']:,}"),
        ("movements", ""),
        ("  new", _yen(values["new"])),
        ("  expansion", _yen(values["expansion"])),
        ("  contraction", _yen(values["contraction"])),
        ("  churn", _yen(values["churn"])),
        ("  reactivation", _yen(values["reactivation"])),
        ("logo churn rate", _percent(values["logo_churn_rate"])),
        ("NRR", f"{_percent(values['nrr'])}   (target ≥ {_percent(targets.nrr_min)})"),
        ("GRR", f"{_percent(values['grr'])}   (target ≥ {_percent(targets.grr_min)})"),
        ("gross MRR churn", _percent(values["gross_mrr_churn"])),
        ("net MRR churn", _percent(values["net_mrr_churn"])),
        ("quick ratio", "—" if values["quick_ratio"] is None
         else f"{values['quick_ratio']:.2f}"),
        ("two-year churn rate", f"{_percent(values['two_year_churn_rate'])}   "
                                f"(target ≤ {_percent(targets.two_year_churn_max)})"),
    ]
    known = set(KPI_KEYS)
    for key, value in values.items():  # sections added by other modules (health bands)
        if key not in known:
            shown = (", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict)
                     else str(value))
            lines.append((key.replace("_", " "), shown))
    width = max(len(label) for label, _ in lines) + 3
    for label, shown in lines:
        click.echo(f"  {label:<{width}}{shown}".rstrip())


@main.command("movements")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.pass_obj
@user_errors
def movements_cmd(obj: Context, fmt: str) -> None:
    """Every account's MRR per month with its movement, from its first month with MRR to the
    as-of month: account_id, month (YYYY-MM), mrr, previous_mrr, movement (new, reactivation,
    expansion, contraction, churn; empty when unchanged). Amounts are unrounded yen."""
    import csv

    from cs_analytics.metrics import revenue

    obj.settings
    snap = obj.store.open_current()
    out = click.get_text_stream("stdout")
    columns = revenue.MOVEMENT_ROW_COLUMNS
    try:
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for batch in revenue.iter_account_movements(snap):
                writer.writerows((a, m, _plain_amount(v), _plain_amount(p), kind or "")
                                 for a, m, v, p, kind in batch)
            return
        out.write("[")
        first = True
        for batch in revenue.iter_account_movements(snap):
            for a, m, v, p, kind in batch:
                row = dict(zip(columns, (a, m, _plain_amount(v), _plain_amount(p), kind or "")))
                out.write(("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False))
                first = False
        out.write("\n]\n")
        out.flush()
    except BrokenPipeError:
        # `movements | head` closed the pipe: stop quietly, like other Unix tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# ---------------------------------------------------------------------------- health, alerts


@main.command("health")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD",
              help="Date the scores are for. Scores are kept for every Monday and the "
                   "snapshot's data-as-of date; another date shows the latest of those on or "
                   "before it. Default: the data-as-of date.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.pass_obj
@user_errors
def health_cmd(obj: Context, as_of, fmt: str) -> None:
    """Health score of every active account: score, band, the six components (value, score,
    weight, contribution), top detractor, segment, risk signals with their evidence, and the
    manual assessment when one is valid (definitions: docs/metrics.md).

    JSON: a list of objects with account_id, name, owner_id, owner_name, snapshot_day, score,
    band, previous_score, score_change, score_change_4w, onboarding, components {name: {value,
    score, weight, contribution}}, top_detractor, segment, attribute_tier, signals [{id,
    since, evidence…}], manual_assessment. CSV: one row per account, components flattened
    (deliveries_value, deliveries_score, …), signal ids separated by ';'. Lowest score first.
    """
    import csv

    from cs_analytics.config import HEALTH_COMPONENTS
    from cs_analytics.metrics import health

    obj.settings
    store = obj.store
    snap = store.open_current()
    day = health.snapshot_day_for(snap, as_of.date() if as_of else None)
    if as_of and day != as_of.date():
        progress(f"health on {day} (the latest snapshot on or before {as_of.date()})")
    records = health.records(snap, day, health.current_assessments(store))
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    columns = ["account_id", "name", "owner_id", "snapshot_day", "score", "band",
               "score_change", "score_change_4w", "onboarding", "top_detractor", "segment",
               "attribute_tier"]
    parts = ("value", "score", "weight", "contribution")
    writer = csv.writer(click.get_text_stream("stdout"), lineterminator="\n")
    writer.writerow(columns + [f"{c}_{p}" for c in HEALTH_COMPONENTS for p in parts]
                    + ["signals", "manual_band", "manual_expires_on"])
    for r in records:
        manual = r["manual_assessment"] or {}
        writer.writerow([r[c] for c in columns]
                        + [r["components"][c][p] for c in HEALTH_COMPONENTS for p in parts]
                        + [";".join(s["id"] for s in r["signals"]), manual.get("band"),
                           manual.get("expires_on")])


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
    from cs_analytics.alerts import evaluation, run_alerts

    settings = obj.settings
    run = run_alerts(settings, obj.store, dry_run=dry_run)
    demo = " (demo data)" if obj.store.open_current().is_demo else ""
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


# ---------------------------------------------------------------------------- reports


@main.group("report")
def report_group() -> None:
    """Management reports as Excel workbooks: the quarterly KPI report and the QBR pack."""


def _check_out_path(out_path: str) -> None:
    from pathlib import Path

    target = Path(out_path)
    if target.suffix.lower() != ".xlsx":
        raise CsAnalyticsError(f"--out {out_path}: expected a file name ending in .xlsx")
    if not target.parent.is_dir():
        raise CsAnalyticsError(f"--out {out_path}: the folder {target.parent} does not exist")


def _write_workbook(out_path: str, data: bytes) -> None:
    """Write the .xlsx next to its final name, then rename: no half-written report is left."""
    import os
    from pathlib import Path

    target = Path(out_path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_REPORT_LANG = click.option("--lang", type=click.Choice(["ja", "en"]), default=None,
                            help="Language of the workbook (default: general.language).")


@report_group.command("kpi")
@click.option("--quarter", required=True, metavar="YYYYQn",
              help="Fiscal quarter, e.g. 2026Q1 (fiscal years start in "
                   "general.fiscal_year_start_month). The current quarter is reported to date.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The .xlsx file to write (replaced if it exists).")
@_REPORT_LANG
@click.pass_obj
@user_errors
def report_kpi(obj: Context, quarter: str, out_path: str, lang: str | None) -> None:
    """The quarterly KPI report for management: headline KPIs vs targets and the previous
    quarter, MRR bridge, NRR/GRR, churn, health distribution, activity per owner, renewals due
    next quarter and the weekly-review action plans (sheets described in docs/reports.md)."""
    from cs_analytics.reports import kpi_report_workbook

    _write_report(obj, out_path, f"the KPI report for {quarter}",
                  lambda snap, settings, userdata: kpi_report_workbook(
                      snap, settings, quarter, lang or settings.general.language, userdata))


@report_group.command("qbr")
@click.option("--account", "account_id", required=True, metavar="ID", help="Account ID.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The .xlsx file to write (replaced if it exists).")
@_REPORT_LANG
@click.pass_obj
@user_errors
def report_qbr(obj: Context, account_id: str, out_path: str, lang: str | None) -> None:
    """One account's QBR pack: profile and renewal, suggested talking points, contracts and MRR
    history, usage by quarter, health trend, contacts and notes, and open signals."""
    from cs_analytics.reports import qbr_workbook

    _write_report(obj, out_path, f"the QBR pack of {account_id}",
                  lambda snap, settings, userdata: qbr_workbook(
                      snap, settings, account_id, lang or settings.general.language, userdata))


def _write_report(obj: Context, out_path: str, what: str, render) -> None:
    """Shared by the report commands: check the target, render over the current snapshot and
    the user-data store, write the workbook atomically and say where it went."""
    settings, store = obj.settings, obj.store
    _check_out_path(out_path)
    snap = store.open_current()
    progress(f"building {what} (data as of {snap.as_of.isoformat()})")
    userdata = store.userdata_db()
    try:
        data = render(snap, settings, userdata)
    finally:
        userdata.close()
    _write_workbook(out_path, data)
    click.echo(f"wrote {out_path} ({len(data):,} bytes)")
