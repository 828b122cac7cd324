"""The benchmark: ingest, snapshot build, pages, memory and reports at 10,000
accounts, measured in one run against fixed targets; prints a table, writes bench/results.json.

    make bench                                  # python -m bench.run
    python -m bench.run --accounts 30 --small-accounts 15 --years 1 --repeats 1

Every measurement runs in its own subprocess (this module's `worker` command, or
bench/apptest_tour.py for the pages), so a peak RSS is that of the process doing the work and
nothing one step leaves in memory helps the next. What each figure covers: docs/benchmarks.md.
Working files (generated CSVs, data directories) go under bench/work/ (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import click

from cs_analytics.config import CONFIG_ENV, HOME_ENV
from cs_analytics.errors import CsAnalyticsError

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
APPTEST_SCRIPT = BENCH_DIR / "apptest_tour.py"
PUSH_SCRIPT = BENCH_DIR / "push_salesforce.py"
DEFAULT_WORK = BENCH_DIR / "work"
DEFAULT_OUT = BENCH_DIR / "results.json"
WORKER_TIMEOUT_SECONDS = 3600
STEPS = ("ingest", "build", "pages", "tour", "reports", "backtest", "push")
SEED_TABLES = ("users", "accounts", "contracts", "activities")  # usage is the ingest step
GB = 1024.0

Progress = Callable[[str], None]


class BenchError(CsAnalyticsError):
    """A benchmark step failed (the message names the step and its log file)."""


@dataclass(frozen=True)
class Profile:
    """What is measured: the large profile (`accounts`) and the small one for the growth ratio."""

    accounts: int = 10_000
    small_accounts: int = 1_000
    years: int = 3
    seed: int = 7
    end: dt.date = dt.date(2026, 3, 31)
    repeats: int = 3  # timings are the median of this many runs


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    limit: float
    unit: str  # "s", "x" (ratio), "MB"


# The targets, on the 2-core development machine (docs/benchmarks.md).
TARGETS = {
    "ingest_ratio": Target("ingest_ratio", "ingest: ours / floor", 1.5, "x"),
    "build_seconds": Target("build_seconds", "build {n}: wall time", 60.0, "s"),
    "build_peak_mb": Target("build_peak_mb", "build {n}: peak RSS", 4 * GB, "MB"),
    "build_growth": Target("build_growth", "build growth {n} / {small}", 12.0, "x"),
    "page_cold_seconds": Target("page_cold_seconds", "page {page}: cold", 3.0, "s"),
    "page_warm_seconds": Target("page_warm_seconds", "page {page}: warm", 1.0, "s"),
    "page_warm_ratio": Target("page_warm_ratio", "page {page}: warm / trivial", 5.0, "x"),
    "tour_peak_mb": Target("tour_peak_mb", "page tour: peak RSS", 1.5 * GB, "MB"),
    # `health backtest` in a fresh process (imports, rows, every figure).
    "backtest_cold_seconds": Target("backtest_cold_seconds", "health backtest {n}: cold", 10.0,
                                    "s"),
    # The Salesforce write-back against the fake org, through Bulk API 2.0.
    "push_first_seconds": Target("push_first_seconds", "push {n}: first full push", 30.0, "s"),
    "push_unchanged_seconds": Target("push_unchanged_seconds", "push {n}: nothing changed",
                                     3.0, "s"),
}


# ---------------------------------------------------------------------------- orchestration


def run_bench(profile: Profile, work: Path, steps: tuple[str, ...] = STEPS,
              progress: Progress | None = None) -> dict:
    """Run the benchmark and return the results (the content of results.json)."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work, profile)
    sizes = sorted({profile.small_accounts, profile.accounts})
    results: dict = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "profile": {**asdict(profile), "end": profile.end.isoformat()},
        "targets": {k: asdict(t) for k, t in TARGETS.items()},
        "data": {},
    }
    runner = _Runner(work, config, say)
    for n in sizes:
        results["data"][str(n)] = runner.dataset(profile, n)
    if "ingest" in steps:
        results["ingest"] = {str(n): runner.ingest(n, results["data"][str(n)],
                                                   repeats=profile.repeats if n == profile.accounts
                                                   else 1, floor=n == profile.accounts)
                             for n in sizes}
    if "build" in steps:
        results["build"] = {str(n): runner.build(n, profile.repeats) for n in sizes}
    large = runner.home(profile.accounts)
    if "pages" in steps:
        say(f"pages at {profile.accounts:,} accounts (AppTest, cold and warm, "
            f"{profile.repeats} runs each)")
        results["pages"] = runner.apptest("pages", large, repeats=profile.repeats)
    if "tour" in steps:
        say("page tour: one session through every page (peak RSS)")
        results["tour"] = runner.apptest("tour", large)
    if "reports" in steps:
        results["reports"] = {kind: runner.report(kind, large, profile.repeats)
                              for kind in ("kpi", "qbr")}
    if "backtest" in steps:
        results["backtest"] = runner.backtest(large, profile.repeats)
    if "push" in steps:
        say(f"push at {profile.accounts:,} accounts to the fake Salesforce org (first full "
            f"push, then nothing changed; {profile.repeats} runs)")
        results["push"] = runner.push(large, profile.repeats)
    results["machine"]["load_average_end"] = list(os.getloadavg())
    results["seconds"] = round(time.monotonic() - started, 1)
    results["checks"] = evaluate(results, profile)
    return results


class _Runner:
    """Runs the steps' subprocesses and keeps the working directories in `work`."""

    def __init__(self, work: Path, config: Path, say: Progress):
        self.work, self.config, self.say = work, config, say
        self.log = work / "bench.log"
        self.log.write_text("", encoding="utf-8")  # the log of this run only

    def home(self, n: int) -> Path:
        return self.work / f"home-{n}"

    def _seed_home(self, n: int) -> Path:
        return self.work / f"seed-{n}"

    def worker(self, step: str, args: dict, script: Path | None = None,
               home: Path | None = None) -> dict:
        return run_worker(step, args, self.log, config=self.config, home=home, script=script)

    def dataset(self, profile: Profile, n: int) -> dict:
        """The generated CSV files of `n` accounts, reused while the generator is unchanged."""
        directory = self.work / f"data-{n}a-{profile.years}y-seed{profile.seed}-{profile.end}"
        manifest_path = directory / "manifest.json"
        fingerprint = generator_fingerprint()
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("generator") == fingerprint:
                self.say(f"data: reusing {directory.name}")
                return manifest
        shutil.rmtree(directory, ignore_errors=True)
        self.say(f"data: generating {n:,} accounts × {profile.years} years (demo --export)")
        manifest = self.worker("generate", {"accounts": n, "years": profile.years,
                                            "seed": profile.seed,
                                            "end": profile.end.isoformat(),
                                            "dir": str(directory)})
        manifest["generator"] = fingerprint
        manifest["dir"] = str(directory)
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return manifest

    def ingest(self, n: int, data: dict, repeats: int, floor: bool) -> dict:
        """Seed a data directory with every table but usage, then import usage.csv into a fresh
        copy of it `repeats` times (the floor is timed before and after each import)."""
        seed = self._seed_home(n)
        shutil.rmtree(seed, ignore_errors=True)
        self.say(f"ingest {n:,}: importing {', '.join(SEED_TABLES)} (setup, not timed)")
        csv_dir = Path(data["dir"])
        self.worker("seed", {"files": [str(csv_dir / f"{t}.csv") for t in SEED_TABLES]},
                    home=seed)
        runs = []
        for i in range(repeats):
            home = self.home(n)
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(seed, home)
            self.say(f"ingest {n:,}: import usage.csv ({data['rows']['usage']:,} rows)"
                     + (f", run {i + 1}/{repeats}" if repeats > 1 else ""))
            runs.append(self.worker("ingest", {"csv": str(csv_dir / "usage.csv"),
                                               "floor": floor,
                                               "scratch": str(self.work / "floor.duckdb")},
                                    home=home))
        return summarise_ingest(runs)

    def build(self, n: int, repeats: int) -> dict:
        home = self.home(n)
        if not (home / "CURRENT").exists():
            raise BenchError(f"no data directory for {n:,} accounts in {home}; run the "
                             "ingest step first")
        runs = []
        for i in range(repeats):
            self.say(f"build {n:,}: full snapshot rebuild, run {i + 1}/{repeats}")
            runs.append(self.worker("build", {}, home=home))
        return summarise_runs(runs, keys=("seconds", "peak_rss_mb"))

    def apptest(self, step: str, home: Path, repeats: int = 1) -> dict:
        return self.worker(step, {"repeats": repeats}, script=APPTEST_SCRIPT, home=home)

    def backtest(self, home: Path, repeats: int) -> dict:
        runs = []
        for i in range(repeats):
            self.say(f"health backtest: cold, run {i + 1}/{repeats}")
            runs.append(self.worker("backtest", {}, home=home))
        return summarise_runs(runs, keys=("seconds", "peak_rss_mb"))

    def push(self, home: Path, repeats: int) -> dict:
        return self.worker("push", {"repeats": repeats, "scratch": str(self.work / "push-home")},
                           script=PUSH_SCRIPT, home=home)

    def report(self, kind: str, home: Path, repeats: int) -> dict:
        runs = []
        for i in range(repeats):
            self.say(f"report {kind}: run {i + 1}/{repeats}")
            runs.append(self.worker("report", {"kind": kind}, home=home))
        return summarise_runs(runs, keys=("seconds", "peak_rss_mb"))


def run_worker(step: str, args: dict, log: Path, *, config: Path, home: Path | None = None,
               script: Path | None = None) -> dict:
    """Run one measurement in a fresh Python process; its last stdout line is its JSON result.

    stderr (progress, Streamlit's warnings) goes to `log`."""
    command = ([sys.executable, str(script)] if script else
               [sys.executable, "-m", "bench.run", "worker"])
    command += [step, json.dumps(args)]
    env = {**os.environ, CONFIG_ENV: str(config),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                       os.environ.get("PYTHONPATH")]))}
    if home is not None:
        env[HOME_ENV] = str(home)
    with open(log, "a", encoding="utf-8") as err:
        err.write(f"\n===== {dt.datetime.now():%H:%M:%S} {step} {json.dumps(args)}\n")
        err.flush()
        try:
            done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                  stderr=err, text=True, timeout=WORKER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise BenchError(f"bench step {step} did not finish within "
                             f"{WORKER_TIMEOUT_SECONDS} s; see {log}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"bench step {step} failed (exit code {done.returncode}): "
                         f"{_last_line(log)}; see {log}")
    return json.loads(lines[-1])


def _last_line(log: Path) -> str:
    lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()
             if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def write_config(work: Path, profile: Profile) -> Path:
    """The settings the bench runs with: the documented defaults, except the as-of date (the
    data's last day) and the import size limit (the 10k usage file is ~270 MB)."""
    path = work / "bench.toml"
    path.write_text(
        "# Written by `python -m bench.run`: defaults, plus what the bench needs.\n"
        "[general]\n"
        f"as_of = {profile.end.isoformat()}\n\n"
        "[snapshots]\nkeep = 2\n\n"
        "[import]\nupload_max_mb = 4096\n", encoding="utf-8")
    return path


def generator_fingerprint() -> str:
    """Changes when the demo generator or the data contract changes (the CSVs are regenerated)."""
    digest = hashlib.sha256()
    for name in ("ingest/demo.py", "contract.py"):
        digest.update((REPO / "cs_analytics" / name).read_bytes())
    return digest.hexdigest()[:16]


def machine_info() -> dict:
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    import duckdb
    import pandas

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "streamlit": _version("streamlit"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "tree_modified": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average_start": list(os.getloadavg()),
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


# ---------------------------------------------------------------------------- summaries


def median(values) -> float:
    return float(statistics.median(values))


def summarise_runs(runs: list[dict], keys: tuple[str, ...]) -> dict:
    """The details of the run closest to the median of `keys[0]`, with each of `keys` replaced
    by the median over the runs (the individual values kept in `runs`)."""
    middle = median(r[keys[0]] for r in runs)
    summary = dict(min(runs, key=lambda r: abs(r[keys[0]] - middle)))
    for key in keys:
        summary[key] = median(r[key] for r in runs)
    summary["runs"] = [{k: r[k] for k in keys} for r in runs]
    return summary


def summarise_ingest(runs: list[dict]) -> dict:
    """Medians of ours and of the floor; the ratio is paired: each import against the mean of
    the floor timed just before and just after it (the machine's load drifts), then the median
    over the runs."""
    floors = [f for r in runs for f in r["floor_seconds"]]
    summary = summarise_runs(runs, keys=("ours_seconds", "import_seconds", "peak_rss_mb"))
    summary["floor_seconds"] = median(floors) if floors else None
    summary["floor_runs"] = floors
    ratios = [r["ours_seconds"] / statistics.fmean(r["floor_seconds"]) for r in runs
              if r["floor_seconds"]]
    summary["ratio_runs"] = ratios
    summary["ratio"] = median(ratios) if ratios else None
    return summary


def evaluate(results: dict, profile: Profile) -> list[dict]:
    """One row per target: measured value, limit, met. A step not run has no rows."""
    checks: list[dict] = []
    n, small = str(profile.accounts), str(profile.small_accounts)

    def add(key: str, measured, **names) -> None:
        target = TARGETS[key]
        label = target.label.format(n=f"{profile.accounts:,}",
                                    small=f"{profile.small_accounts:,}", **names)
        checks.append({"target": key, "label": label, "measured": measured, "unit": target.unit,
                       "limit": target.limit,
                       "met": measured is not None and measured <= target.limit})

    ingest = results.get("ingest", {}).get(n)
    if ingest:
        add("ingest_ratio", ingest["ratio"])
    build = results.get("build")
    if build:
        add("build_seconds", build[n]["seconds"])
        add("build_peak_mb", build[n]["peak_rss_mb"])
        if small != n:
            add("build_growth", build[n]["seconds"] / build[small]["seconds"])
    pages = results.get("pages")
    if pages:
        trivial = pages["trivial"]
        for name, page in pages["pages"].items():
            add("page_cold_seconds", page["cold_seconds"] if page["ok"] else None, page=name)
            add("page_warm_seconds", page["warm_seconds"] if page["ok"] else None, page=name)
            add("page_warm_ratio", page["warm_seconds"] / trivial["warm_seconds"]
                if page["ok"] else None, page=name)
    tour = results.get("tour")
    if tour:
        add("tour_peak_mb", tour["peak_rss_mb"] if tour["ok"] else None)
    backtest = results.get("backtest")
    if backtest:
        add("backtest_cold_seconds", backtest["seconds"])
    pushed = results.get("push")
    if pushed:
        add("push_first_seconds", pushed["first_seconds"])
        add("push_unchanged_seconds", pushed["unchanged_seconds"])
    return checks


# ---------------------------------------------------------------------------- the table


def _show(value, unit: str) -> str:
    if value is None:
        return "failed"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "MB":
        return f"{value / GB:.2f} GB" if value >= GB else f"{value:,.0f} MB"
    return str(value)


def format_table(results: dict) -> str:
    """The results as a plain-text table: every target, then the other figures measured."""
    profile, machine = results["profile"], results["machine"]
    large = str(profile["accounts"])
    data = results["data"].get(large, {})
    rows = data.get("rows", {})
    lines = [
        f"CS Analytics benchmark — {profile['accounts']:,} accounts × {profile['years']} years "
        f"to {profile['end']} (usage {rows.get('usage', 0):,} rows, contracts "
        f"{rows.get('contracts', 0):,}, activities {rows.get('activities', 0):,})",
        f"machine: {machine['cpus']} CPUs, {machine['memory_gb']} GB; load average "
        f"{machine['load_average_start'][0]:.1f} at start, "
        f"{machine.get('load_average_end', [0])[0]:.1f} at end; median of "
        f"{profile['repeats']} runs",
        "",
    ]
    width = max([len(c["label"]) for c in results["checks"]] + [40])
    lines.append(f"{'target':<{width}}  {'measured':>10}  {'limit':>10}  ok")
    for c in results["checks"]:
        lines.append(f"{c['label']:<{width}}  {_show(c['measured'], c['unit']):>10}  "
                     f"{'≤ ' + _show(c['limit'], c['unit']):>10}  "
                     f"{'yes' if c['met'] else 'NO'}")
    info = _info_rows(results)
    if info:
        lines += ["", "other figures"]
        info_width = max(len(label) for label, _ in info)
        lines += [f"  {label:<{info_width}}  {value}" for label, value in info]
    failed = [c for c in results["checks"] if not c["met"]]
    lines += ["", f"{len(results['checks']) - len(failed)} of {len(results['checks'])} targets "
                  f"met in {results.get('seconds', 0):.0f} s"]
    return "\n".join(lines)


def _info_rows(results: dict) -> list[tuple[str, str]]:
    info: list[tuple[str, str]] = []
    for n, ingest in results.get("ingest", {}).items():
        if ingest.get("floor_seconds") is not None:
            info.append((f"ingest {int(n):,}: ours (read, validate, map, write)",
                         _show(ingest["ours_seconds"], "s")))
            info.append((f"ingest {int(n):,}: floor (read_csv → new table)",
                         _show(ingest["floor_seconds"], "s")))
        info.append((f"ingest {int(n):,}: whole `import` incl. rebuild",
                     _show(ingest["import_seconds"], "s")))
    for n, build in results.get("build", {}).items():
        info.append((f"build {int(n):,}: wall time, peak RSS",
                     f"{_show(build['seconds'], 's')}, {_show(build['peak_rss_mb'], 'MB')}"))
        slow = sorted(build["steps"], key=lambda s: -s[1])[:3]
        info.append((f"build {int(n):,}: slowest steps",
                     ", ".join(f"{name} {secs:.1f} s" for name, secs in slow)))
    pages = results.get("pages")
    if pages:
        trivial = pages["trivial"]
        info.append(("trivial page: cold, warm",
                     f"{_show(trivial['cold_seconds'], 's')}, "
                     f"{_show(trivial['warm_seconds'], 's')}"))
        for name, page in pages["pages"].items():
            if not page["ok"]:
                info.append((f"page {name}", "FAILED: " + "; ".join(page["problems"])[:200]))
    tour = results.get("tour")
    if tour and not tour["ok"]:
        info.append(("page tour", "FAILED: " + "; ".join(tour["problems"])[:200]))
    backtest = results.get("backtest")
    if backtest:
        info.append(("health backtest: import, rows, figures",
                     f"{_show(backtest['import_seconds'], 's')}, "
                     f"{_show(backtest['rows_seconds'], 's')}, "
                     f"{_show(backtest['figures_seconds'], 's')}; "
                     f"{backtest['account_weeks']:,} account-weeks, "
                     f"{backtest['churned_accounts']:,} churned accounts, peak RSS "
                     f"{_show(backtest['peak_rss_mb'], 'MB')}"))
    pushed = results.get("push")
    if pushed:
        how = (f"Bulk API 2.0: {', '.join(pushed['jobs'])}, polled every "
               f"{pushed['poll_seconds']:g} s" if pushed["jobs"] else "sObject Collections")
        info.append(("push: records of the first push",
                     f"{pushed['accounts']:,} accounts, {pushed['usage_rows']:,} weekly usage "
                     f"rows ({how})"))
        info.append(("push: Salesforce calls when nothing changed",
                     str(pushed["calls_when_unchanged"])))
    for kind, report in results.get("reports", {}).items():
        subject = report.get("quarter") if kind == "kpi" else report.get("account_id")
        info.append((f"report {kind} ({subject})",
                     f"{_show(report['seconds'], 's')}, peak RSS "
                     f"{_show(report['peak_rss_mb'], 'MB')}, {report['bytes']:,} bytes"))
    return info


# ---------------------------------------------------------------------------- workers


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_subjects(snap) -> dict:
    """What the report and page measurements open: the as-of quarter, and the first account of
    the QBR list (S/A customers, QBR not yet held first) — or the first active account."""
    from cs_analytics.metrics import accounts, periods
    from cs_analytics.metrics.base import fiscal_year_start_month

    quarter = periods.period_containing("quarter", snap.as_of, fiscal_year_start_month(snap))
    due = accounts.qbr_candidates(snap, quarter.start_date, quarter.end_day(snap.as_of))
    if len(due):
        account_id = str(due["account_id"].iloc[0])
    else:
        account_id = snap.scalar("SELECT account_id FROM accounts ORDER BY account_id LIMIT 1")
    return {"quarter": quarter.label, "account_id": account_id}


def _settings_and_store():
    from cs_analytics.config import data_home, load_settings
    from cs_analytics.warehouse.store import Store

    return load_settings(), Store(data_home())


def worker_generate(args: dict) -> dict:
    from cs_analytics.ingest import demo

    end = dt.date.fromisoformat(args["end"])
    tables = demo.generate(accounts=args["accounts"], years=args["years"], seed=args["seed"],
                           end=end)
    paths = demo.export_csv(tables, args["dir"])
    return {"accounts": args["accounts"], "years": args["years"], "seed": args["seed"],
            "end": args["end"], "rows": {name: len(frame) for name, frame in tables.items()},
            "bytes": {name: path.stat().st_size for name, path in paths.items()}}


def worker_seed(args: dict) -> dict:
    from cs_analytics.ingest.imports import import_files

    settings, store = _settings_and_store()
    result = import_files(settings, store, args["files"])
    return {"rows": {t: c.rows for t, c in result.tables.items()}}


def floor_seconds(csv: Path, scratch: Path) -> tuple[float, int]:
    """Plain DuckDB: a new database file, CREATE TABLE … AS SELECT * FROM read_csv(…), closed."""
    import duckdb

    scratch.unlink(missing_ok=True)
    Path(str(scratch) + ".wal").unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(scratch))
    con.execute("CREATE TABLE usage AS SELECT * FROM read_csv(?)", [str(csv)])
    con.close()
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(scratch), read_only=True)
    rows = con.execute("SELECT count(*) FROM usage").fetchall()[0][0]
    con.close()
    scratch.unlink(missing_ok=True)
    return seconds, rows


def _read_through(path: Path) -> None:
    """Read a file once so the timed readers all find it in the OS page cache."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def worker_ingest(args: dict) -> dict:
    """`import usage.csv` as the CLI runs it (imports.import_files), between two floor runs."""
    from cs_analytics.ingest.imports import import_files

    settings, store = _settings_and_store()
    csv, scratch = Path(args["csv"]), Path(args["scratch"])
    _read_through(csv)
    floors, floor_rows = [], None
    if args["floor"]:
        seconds, floor_rows = floor_seconds(csv, scratch)
        floors.append(seconds)
    started = time.perf_counter()
    result = import_files(settings, store, [csv])
    import_seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    if args["floor"]:
        floors.append(floor_seconds(csv, scratch)[0])
    change = result.tables["usage"]
    timings = result.timings
    if floor_rows is not None and floor_rows != change.rows:
        raise BenchError(f"the floor read {floor_rows:,} rows but the import {change.rows:,}")
    return {
        "rows": change.rows,
        "file_mb": csv.stat().st_size / 1024 / 1024,
        "ours_seconds": timings["read_and_validate"] + timings["merge"],
        "read_and_validate_seconds": timings["read_and_validate"],
        "merge_seconds": timings["merge"],
        "rebuild_seconds": timings["publish"],
        "import_seconds": import_seconds,
        "floor_seconds": floors,
        "warnings": len(result.warnings),
        "peak_rss_mb": peak,
    }


def worker_build(args: dict) -> dict:
    """The full rebuild a refresh does: copy the current data into a new snapshot, check keys
    and references, run every model (MRR, health for every weekly snapshot, segments,
    signals) and the invariant checks, publish. Steps are timed from the progress messages."""
    from cs_analytics.warehouse.build import open_build

    settings, store = _settings_and_store()
    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    with open_build(settings, store, source="bench", base="current",
                    progress=lambda m: marks.append((time.perf_counter(), m))) as build:
        opened = time.perf_counter()
        result = build.publish()
    finished = time.perf_counter()
    steps = [["open build (copy the current data)", opened - started]]
    for (at, message), (until, _) in zip(marks, marks[1:] + [(finished, "")]):
        steps.append([message, until - at])
    return {"seconds": finished - started, "peak_rss_mb": peak_rss_mb(),
            "rows": {k: result.rows[k] for k in ("accounts", "contracts", "activities", "usage")},
            "steps": [[name, round(secs, 3)] for name, secs in steps]}


def worker_report(args: dict) -> dict:
    from cs_analytics.outputs.reports import kpi_report_workbook, qbr_workbook

    settings, store = _settings_and_store()
    snap = store.open_current()
    subjects = bench_subjects(snap)
    userdata = store.userdata_db()
    try:
        started = time.perf_counter()
        if args["kind"] == "kpi":
            data = kpi_report_workbook(snap, settings, subjects["quarter"], "ja", userdata)
        else:
            data = qbr_workbook(snap, settings, subjects["account_id"], "ja", userdata)
        seconds = time.perf_counter() - started
    finally:
        userdata.close()
    return {"seconds": seconds, "bytes": len(data), "peak_rss_mb": peak_rss_mb(), **subjects}


def worker_backtest(args: dict) -> dict:
    """`health backtest` as the CLI runs it, in a fresh process: the metrics module imported
    (lifelines with it), the account-week rows read from the snapshot, every figure computed,
    and the JSON made. The default options (horizon 180 days)."""
    settings, store = _settings_and_store()
    started = time.perf_counter()
    snap = store.open_current()
    from cs_analytics.metrics import backtest

    imported = time.perf_counter()
    options = backtest.Options.of(settings)
    backtest.account_weeks(snap, backtest.alternatives_of(options))
    backtest.churn_events(snap, options.lead_weeks)
    read = time.perf_counter()
    result = backtest.run(snap, options)
    json.dumps(backtest.as_json(result), allow_nan=False)
    finished = time.perf_counter()
    return {"seconds": finished - started, "import_seconds": imported - started,
            "rows_seconds": read - imported, "figures_seconds": finished - read,
            "account_weeks": result.account_weeks, "churned_accounts": result.churned_accounts,
            "evaluation_days": len(result.evaluation_days), "peak_rss_mb": peak_rss_mb()}


WORKERS = {"generate": worker_generate, "seed": worker_seed, "ingest": worker_ingest,
           "build": worker_build, "report": worker_report, "backtest": worker_backtest}


# ---------------------------------------------------------------------------- command line


def _progress(message: str) -> None:
    click.echo(f"… {message}", err=True)


@click.group(invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--accounts", default=Profile.accounts, show_default=True,
              type=click.IntRange(1, 100_000), help="Accounts of the large profile.")
@click.option("--small-accounts", default=Profile.small_accounts, show_default=True,
              type=click.IntRange(1, 100_000), help="Accounts of the small profile (build growth).")
@click.option("--years", default=Profile.years, show_default=True, type=click.IntRange(1, 20))
@click.option("--seed", default=Profile.seed, show_default=True, type=int)
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=str(Profile.end),
              show_default=True, help="Last day of the data and the as-of date.")
@click.option("--repeats", default=Profile.repeats, show_default=True,
              type=click.IntRange(1, 20), help="Runs per timing (the median is reported).")
@click.option("--steps", default=",".join(STEPS), show_default=True,
              help="Comma-separated subset of the steps (build, pages, tour and reports reuse "
                   "the data directories of an earlier ingest).")
@click.option("--work", "work_dir", type=click.Path(file_okay=False), default=str(DEFAULT_WORK),
              show_default=True, help="Working files: generated CSVs and data directories.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=str(DEFAULT_OUT),
              show_default=True, help="Where the results are written as JSON.")
@click.pass_context
def main(ctx: click.Context, accounts: int, small_accounts: int, years: int, seed: int, end,
         repeats: int, steps: str, work_dir: str, out_path: str) -> None:
    """Measure ingest, build, pages, memory and reports against the targets and
    write the results (docs/benchmarks.md explains every figure). Exit code 0 whether or not
    the targets are met; 1 when a step fails."""
    if ctx.invoked_subcommand is not None:
        return
    chosen = tuple(s.strip() for s in steps.split(",") if s.strip())
    unknown = [s for s in chosen if s not in STEPS]
    if unknown:
        raise click.UsageError(f"unknown step {unknown[0]!r}; expected some of {', '.join(STEPS)}")
    profile = Profile(accounts=accounts, small_accounts=small_accounts, years=years, seed=seed,
                      end=end.date(), repeats=repeats)
    try:
        results = run_bench(profile, Path(work_dir).resolve(), chosen, _progress)
    except CsAnalyticsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(format_table(results))
    click.echo(f"\nresults written to {out}")


@main.command("profile")
@click.option("--pages", "page_names", default="", metavar="NAMES",
              help="Comma-separated page names (default: every page).")
@click.option("--filters", default=10, show_default=True, type=click.IntRange(1, 15),
              help="Filter changes (segment combinations) per page.")
@click.option("--accounts", default=Profile.accounts, show_default=True,
              type=click.IntRange(1, 100_000), help="The data directory to profile on.")
@click.option("--work", "work_dir", type=click.Path(file_okay=False), default=str(DEFAULT_WORK),
              show_default=True, help="The working directory of an earlier bench run.")
def profile_cmd(page_names: str, filters: int, accounts: int, work_dir: str) -> None:
    """Where each page's rerun after a filter change spends its time: the reruns are timed
    (median, and the part spent in snapshot queries), then run again under cProfile, written
    to WORK/profiles/<page>.txt (costliest functions) and <page>.prof (pstats). Uses the data
    of an earlier `bench` run at --accounts."""
    from cs_analytics.app.ui.nav import PAGES

    work = Path(work_dir).resolve()
    home = work / f"home-{accounts}"
    if not (home / "CURRENT").exists():
        raise click.UsageError(f"no data at {home}: run the benchmark first "
                               f"(make bench, or --steps ingest with --accounts {accounts})")
    chosen = [n.strip() for n in page_names.split(",") if n.strip()]
    known = [p.name for p in PAGES]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise click.UsageError(f"unknown page {unknown[0]!r}; expected some of "
                               f"{', '.join(known)}")
    config = work / "bench.toml"
    if not config.exists():
        config = write_config(work, Profile(accounts=accounts))
    out = work / "profiles"
    _progress(f"profiling {len(chosen) or len(known)} pages at {accounts:,} accounts, "
              f"{filters} filter changes each")
    try:
        result = _Runner(work, config, _progress).worker(
            "profile", {"out": str(out), "pages": chosen, "filters": filters},
            script=APPTEST_SCRIPT, home=home)
    except CsAnalyticsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    trivial = result["pages"]["trivial"]["warm_seconds"]
    click.echo(f"{'page':<16}{'warm':>10}{'/ trivial':>11}{'queries':>10}  profile")
    for name, page in result["pages"].items():
        click.echo(f"{name:<16}{page['warm_seconds']:>9.3f}s{page['warm_seconds'] / trivial:>10.1f}×"
                   f"{page['query_seconds']:>9.3f}s  {page['profile']}")
    problems = [f"{name}: {p}" for name, page in result["pages"].items()
                for p in page["problems"]]
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    sys.exit(1 if problems else 0)


@main.command("worker", hidden=True)
@click.argument("step", type=click.Choice(sorted(WORKERS)))
@click.argument("args_json")
def worker_cmd(step: str, args_json: str) -> None:
    """Run one measurement (used by the bench itself); prints its result as one JSON line."""
    result = WORKERS[step](json.loads(args_json))
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
