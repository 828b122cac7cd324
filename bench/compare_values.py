"""Every number of the metrics API on one data directory, dumped and compared between two
versions of the code (issue 23: the values must be equal to the yen before and after).

    # with the old code first (e.g. `git archive OLD | tar -x -C /tmp/old`):
    PYTHONPATH=/tmp/old CS_ANALYTICS_HOME=DIR python bench/compare_values.py dump before.pkl
    PYTHONPATH=.        CS_ANALYTICS_HOME=DIR python bench/compare_values.py dump after.pkl
    PYTHONPATH=.        python bench/compare_values.py compare before.pkl after.pkl

`dump` calls the public metrics functions (revenue, churn, comparisons, contributors, renewals,
health, segments, signals, team, accounts, data quality, the headline, the account status and
usage the write-back and the QBR deck read, the KPI report and the backtest) for six filters
(each kind, two together, one selecting nobody), the snapshot's as-of date and an earlier one,
and pickles each result. `compare` reports, per call, whether the two results are identical
(values, column order and dtypes), equal within ¥0.000001, or different, and exits 1 when
any differs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import math
import pickle
import sys
import traceback

import numpy as np
import pandas as pd

TOLERANCE = 1e-6


def _module(*names: str):
    """The first of `names` that imports: a dump runs on the code before and after the package
    layout moved modules (cs_analytics.store → cs_analytics.warehouse.store, …)."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return importlib.import_module(names[-1])


def _filters(snap):
    from cs_analytics.metrics import Filters

    owners = [r[0] for r in snap.rows("SELECT DISTINCT owner_id FROM accounts ORDER BY 1")]
    industries = [r[0] for r in snap.rows(
        "SELECT industry FROM accounts WHERE industry IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC, 1")]
    return {
        "none": None,
        "segments S+A": Filters(segments=("S", "A")),
        "industries": Filters(industries=tuple(industries[:2])),
        "owners": Filters(owner_ids=tuple(owners[:3])),
        "together": Filters(owner_ids=tuple(owners[:len(owners) // 2]), segments=("B", "C"),
                            industries=tuple(industries[:3])),
        "nobody": Filters(owner_ids=("no-such-owner",)),
    }


def dump(path: str) -> None:
    from cs_analytics import metrics as metrics_api
    from cs_analytics.config import BANDS, load_settings
    from cs_analytics.metrics import (account_status, accounts, churn, comparisons,
                                      contributors, data_quality, health, health_summary,
                                      renewals, revenue, segments, signals, team, usage)
    from cs_analytics.metrics import periods as P
    from cs_analytics.metrics.base import fiscal_year_start_month
    kpi = _module("cs_analytics.outputs.reports.kpi", "cs_analytics.reports.kpi")
    Store = _module("cs_analytics.warehouse.store", "cs_analytics.store").Store
    from cs_analytics.config import data_home

    snap = Store(data_home()).open_current()
    settings = load_settings()
    fsm = fiscal_year_start_month(snap)
    end = snap.as_of
    earlier = end - dt.timedelta(days=200)
    days = health.snapshot_days(snap)
    earlier_day = [d for d in days if d <= end - dt.timedelta(days=70)][-1]
    out: dict = {}

    def record(name, fn, *args, **kwargs):
        try:
            out[name] = fn(*args, **kwargs)
        except Exception as exc:  # an error is a result too: it must be the same
            out[name] = ("error", type(exc).__name__, str(exc))
            traceback.print_exc()

    for fname, f in _filters(snap).items():
        for aname, as_of in (("own", None), ("earlier", earlier)):
            day = as_of or end
            key = f"{fname}|{aname}"
            periods = [*P.last_n("month", 3, day, fsm), *P.last_n("quarter", 8, day, fsm),
                       *P.last_n("ttm", 12, day, fsm), *P.last_n("year", 4, day, fsm),
                       P.period_containing("year", day - dt.timedelta(days=5 * 365), fsm)]
            quarter = P.period_containing("quarter", day, fsm)
            year = P.period_containing("year", day, fsm)
            record(f"mrr_trend|{key}", revenue.mrr_trend, snap,
                   day - dt.timedelta(days=6 * 365), day, f, as_of)
            record(f"mrr_trend_24|{key}", revenue.mrr_trend, snap,
                   P.add_months(P.month_start(day), -23), day, f, as_of)
            record(f"period_metrics|{key}", revenue.period_metrics, snap, periods, f, as_of)
            record(f"movement_totals|{key}", revenue.movement_totals, snap, quarter, f, as_of)
            record(f"movements_by_period|{key}", revenue.movements_by_period, snap,
                   P.last_n("month", 12, day, fsm), f, as_of)
            record(f"period_sets|{key}", revenue.period_sets, snap, (
                ("bridge", (quarter,)), ("recent", tuple(P.last_n("month", 12, day, fsm))),
                ("ttm", tuple(P.last_n("ttm", 12, day, fsm)))), f, as_of)
            for kind, n in (("quarter", 8), ("ttm", 12), ("month", 12), ("year", 3)):
                record(f"retention_trend {kind}|{key}", revenue.retention_trend, snap, kind, n,
                       as_of, f)
            record(f"kpis|{key}", revenue.kpis, snap, quarter, f, as_of)
            record(f"headlines|{key}", revenue.headlines, snap,
                   [quarter, P.previous(quarter, fsm), year], f, as_of)
            record(f"headline|{key}", metrics_api.headline, snap, quarter, f, as_of)
            for grain in ("month", "quarter", "year"):
                for metric in ("logo", "mrr"):
                    record(f"cohort_table {grain} {metric}|{key}", revenue.cohort_table, snap,
                           grain, metric, f, as_of)
            for movement in revenue.MOVEMENTS:
                record(f"movement_accounts {movement}|{key}", revenue.movement_accounts, snap,
                       year, movement, f, as_of)
            record(f"two_year_churn_trend|{key}", churn.two_year_churn_trend, snap, None, f,
                   as_of)
            record(f"two_year_churn_trend months|{key}", churn.two_year_churn_trend, snap,
                   [P.add_months(P.month_start(day), -k) for k in (0, 3, 12, 30, 50)], f, as_of)
            record(f"two_year_churn|{key}", churn.two_year_churn, snap, as_of, f)
            record(f"two_year_churn_by_cohort|{key}", churn.two_year_churn_by_cohort, snap,
                   as_of, f)
            for kind in ("month", "quarter", "year"):
                record(f"logo_churn_by_period {kind}|{key}", churn.logo_churn_by_period, snap,
                       kind, 8, as_of, f)
            record(f"churned_accounts|{key}", churn.churned_accounts, snap, year, f, as_of)
            record(f"churn_reasons|{key}", churn.churn_reasons, snap, year, f, as_of)
            # comparisons: the period with its previous and year-ago periods like for like
            # (measured on earlier as-of days), TTM at its end, targets on their basis
            for period in (quarter, year, P.period_containing("month", day, fsm),
                           P.previous(quarter, fsm)):
                record(f"compare {period.kind} {period.label}|{key}", comparisons.compare,
                       snap, period, f, as_of, settings)
            record(f"headline settings|{key}", metrics_api.headline, snap, quarter, f, as_of,
                   settings)
            record(f"contributors movement_accounts|{key}", contributors.movement_accounts,
                   snap, year, f, as_of)
            record(f"top_contributors|{key}", contributors.top_contributors, snap, quarter, f,
                   as_of)

        for dname, day in (("as_of", None), ("earlier", earlier_day)):
            key = f"{fname}|{dname}"
            record(f"band_counts|{key}", health.band_counts, snap, day, f)
            record(f"segment_counts|{key}", segments.counts, snap, day, f)
            record(f"signal_counts|{key}", signals.counts, snap, day, f)
            record(f"signals_on|{key}", signals.signals_on, snap, day, (), f)
            record(f"keys_on|{key}", signals.keys_on, snap, day, f)
            record(f"scores_on|{key}", health.scores_on, snap, day, f)
            record(f"segments_on|{key}", segments.segments_on, snap, day, f)
        key = f"{fname}|as_of"
        record(f"records|{key}", health.records, snap, None, {}, f)
        record(f"band_distribution|{key}", health_summary.band_distribution, snap, f)
        for weeks in (26, 5):
            record(f"band_counts_over_time {weeks}|{key}", health_summary.band_counts_over_time,
                   snap, weeks, f)
        for by in ("owner", "segment", "industry"):
            record(f"band_counts_by {by}|{key}", health_summary.band_counts_by, snap, by, f)
        record(f"attribute_matrix|{key}", health_summary.attribute_matrix, snap, f)
        for drop in (10.0, 5.0):
            record(f"declined {drop}|{key}", health_summary.declined, snap, drop, f)
        record(f"component_contributions|{key}", health_summary.component_contributions,
               snap, f)
        for band in BANDS:
            record(f"accounts_in_band {band}|{key}", health_summary.accounts_in_band, snap,
                   band, f)
        record(f"current_signals|{key}", health_summary.current_signals, snap, (), f)
        record(f"owner_summary|{key}", team.owner_summary, snap, f)
        record(f"portfolio|{key}", team.portfolio, snap, None, f)
        record(f"portfolio at risk|{key}", team.portfolio, snap, None, f, ("warning", "danger"))
        first_owner = snap.rows("SELECT min(owner_id) FROM accounts")[0][0]
        record(f"portfolio owner|{key}", team.portfolio, snap, first_owner, f)
        record(f"account_list|{key}", accounts.account_list, snap, f)
        quarter = P.period_containing("quarter", end, fsm)
        record(f"qbr_candidates|{key}", accounts.qbr_candidates, snap, quarter.start_date,
               end, f)
        record(f"stale_records|{key}", data_quality.stale_records, snap, f)
        # renewals (fct_renewals on the snapshot's as-of date): the lists and their sums
        terms = settings.renewals
        ahead = renewals.quarters_from(snap, 0, 4)
        past = renewals.quarters_from(snap, -terms.history_quarters, terms.history_quarters)
        for wname, window in (("ahead", ahead), ("past", past)):
            record(f"contracts_due {wname}|{key}", renewals.contracts_due, snap,
                   **renewals.span(window), filters=f)
            record(f"renewals by_quarter_of {wname}|{key}",
                   lambda w=window: renewals.by_quarter_of(
                       renewals.contracts_due(snap, **renewals.span(w), filters=f), w))
        for q in (ahead[0], past[-1], P.period_containing("year", end, fsm)):
            record(f"due_in {q.label}|{key}", renewals.due_in, snap, q, f)
            record(f"renewals summary_of {q.label}|{key}",
                   lambda q=q: renewals.summary_of(renewals.due_in(snap, q, f)).as_dict())
        record(f"notice_radar|{key}", renewals.notice_radar, snap, terms.radar_days, f)
        record(f"reminders|{key}", renewals.reminders, snap, terms.reminder_days_min,
               terms.reminder_days_max, f)
        record(f"reminder_csv_frame|{key}", lambda: renewals.reminder_csv_frame(
            renewals.reminders(snap, terms.reminder_days_min, terms.reminder_days_max, f)))

    record("renewal probabilities", renewals.probabilities, snap)
    record("account_status", account_status.account_status, snap)
    record("weekly_usage", account_status.weekly_usage, snap, 8)
    for account_id in [r[0] for r in snap.rows(
            "SELECT account_id FROM fct_health_current ORDER BY account_id LIMIT 3")]:
        record(f"quarter_usage {account_id}", usage.quarter_usage, snap, account_id, end,
               settings)
    fsm_quarter = P.period_containing("quarter", end, fsm)
    for q in (fsm_quarter, P.previous(fsm_quarter, fsm)):
        record(f"kpi_report {q.label}", lambda q=q: vars(kpi.kpi_report_data(snap, settings, q)))
    try:
        from cs_analytics.metrics import backtest
        options = backtest.Options.of(settings)
        record("backtest", lambda: vars(backtest.run(snap, options)))
        for fname in ("segments S+A", "owners", "together", "nobody"):
            record(f"backtest {fname}", lambda fname=fname: vars(backtest.run(
                snap, options, _filters(snap)[fname])))
    except ImportError:
        pass
    with open(path, "wb") as fh:
        pickle.dump(out, fh)
    print(f"{len(out)} results written to {path}")


def _diff(a, b, where: str) -> list[str]:
    """Differences between two results: [] when identical; entries starting with '≈' are
    equal within TOLERANCE, others differ."""
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        if list(a.columns) != list(b.columns):
            return [f"{where}: columns {list(a.columns)} ≠ {list(b.columns)}"]
        if len(a) != len(b):
            return [f"{where}: {len(a)} rows ≠ {len(b)}"]
        problems = []
        for column in a.columns:
            problems += _diff(a[column], b[column], f"{where}.{column}")
        if not a.index.equals(b.index):
            problems.append(f"{where}: index differs")
        return problems
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        if a.equals(b) and a.dtype == b.dtype:
            return []
        if len(a) == 0 and len(b) == 0:
            return [f"≈{where}: empty, dtype {a.dtype} ≠ {b.dtype}"]
        prefix = "" if a.dtype == b.dtype else f" dtype {a.dtype} ≠ {b.dtype};"
        try:
            x, y = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float,
                                                                        na_value=np.nan)
            same_nan = np.array_equal(np.isnan(x), np.isnan(y))
            gap = float(np.nanmax(np.abs(x - y))) if len(x) else 0.0
            if same_nan and gap <= TOLERANCE:
                if a.astype(object).equals(b.astype(object)) or gap == 0:
                    return [f"≈{where}:{prefix} same values"] if prefix else []
                return [f"≈{where}:{prefix} max difference {gap:.2e}"]
            return [f"{where}:{prefix} max difference {gap}, NaN same: {same_nan}"]
        except (TypeError, ValueError):
            pass
        if [_plain(v) for v in a] == [_plain(v) for v in b]:
            return [f"≈{where}:{prefix} same values"]
        first = next(i for i, (u, v) in enumerate(zip(a, b)) if _plain(u) != _plain(v))
        return [f"{where}:{prefix} row {first}: {a.iloc[first]!r} ≠ {b.iloc[first]!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{where}: keys {list(a)} ≠ {list(b)}"]
        return [p for k in a for p in _diff(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} ≠ {len(b)}"]
        return [p for i, (u, v) in enumerate(zip(a, b)) for p in _diff(u, v, f"{where}[{i}]")]
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return _diff(vars(a), vars(b), where)
    if type(a) is not type(b) and not (_number(a) and _number(b)):
        return [f"{where}: {type(a).__name__} {a!r} ≠ {type(b).__name__} {b!r}"]
    if _number(a) and _number(b):
        if a == b or (math.isnan(float(a)) and math.isnan(float(b))):
            return [] if type(a) is type(b) else [f"≈{where}: {type(a).__name__} ≠ "
                                                  f"{type(b).__name__}"]
        if abs(float(a) - float(b)) <= TOLERANCE:
            return [f"≈{where}: {a!r} vs {b!r}"]
        return [f"{where}: {a!r} ≠ {b!r}"]
    try:
        equal = bool(a == b)
    except (TypeError, ValueError):
        equal = repr(a) == repr(b)
    return [] if equal else [f"{where}: {a!r} ≠ {b!r}"]


def _number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _plain(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


# Where the package layout moved a module: a dump of the older code names the old place.
MOVED = {"cs_analytics.reports": "cs_analytics.outputs.reports",
         "cs_analytics.alerts": "cs_analytics.outputs.alerts",
         "cs_analytics.writeback": "cs_analytics.outputs.writeback",
         "cs_analytics.store": "cs_analytics.warehouse.store",
         "cs_analytics.build": "cs_analytics.warehouse.build",
         "cs_analytics.models": "cs_analytics.warehouse.models",
         "cs_analytics.sources": "cs_analytics.ingest"}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        for old, new in MOVED.items():
            if module == old or module.startswith(old + "."):
                try:
                    return super().find_class(new + module[len(old):], name)
                except ModuleNotFoundError:
                    break
        return super().find_class(module, name)


def compare(before_path: str, after_path: str) -> int:
    with open(before_path, "rb") as fh:
        before = _Unpickler(fh).load()
    with open(after_path, "rb") as fh:
        after = _Unpickler(fh).load()
    identical = approximately = different = 0
    for name in before:
        if name not in after:
            print(f"MISSING {name}")
            different += 1
            continue
        problems = _diff(before[name], after[name], name)
        real = [p for p in problems if not p.startswith("≈")]
        if real:
            different += 1
            print(f"DIFFERENT {name}")
            for p in real[:5]:
                print(f"    {p}")
        elif problems:
            approximately += 1
            print(f"EQUAL WITHIN ¥{TOLERANCE} {name}")
            for p in problems[:3]:
                print(f"    {p[1:]}")
        else:
            identical += 1
    extra = [n for n in after if n not in before]
    for name in extra:
        print(f"NEW {name}")
    print(f"{len(before)} results: {identical} identical, {approximately} equal within "
          f"¥{TOLERANCE}, {different} different")
    return 1 if different else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        print(__doc__)
        sys.exit(2)
