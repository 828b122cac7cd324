"""Revenue and churn metrics on the generated demo company: plausible numbers (the strategy's
~21% two-year churn, NRR near 100%), invariants, and the `metrics` table a user reads."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import churn, revenue
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.metrics.filters import Filters
from cs_analytics.sources import demo
from cs_analytics.store import Store

END = dt.date(2026, 4, 30)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "data"
    demo.build_demo(settings_from_dict({}), Store(home), accounts=600, years=3, seed=7, end=END)
    return home


@pytest.fixture(scope="module")
def snap(demo_home):
    return Store(demo_home).open_current()


def test_customers_match_the_generators_own_count(snap):
    tables = demo.generate(accounts=600, years=3, seed=7, end=END)
    k = revenue.kpis(snap, P.period_containing("month", END))
    assert k["customers"] == len(demo.active_account_ids(tables["contracts"], END))


def test_two_year_churn_is_near_the_strategy_figure(snap):
    cohorts = churn.two_year_churn_by_cohort(snap)
    overall = cohorts["churned"].sum() / cohorts["eligible"].sum()
    assert 0.12 <= overall <= 0.32, overall
    headline = churn.two_year_churn(snap)
    assert headline["customers"] >= 50
    assert 0.05 <= headline["rate"] <= 0.40, headline


@pytest.mark.parametrize("kind", ["quarter", "year", "ttm"])
def test_retention_is_plausible_and_consistent(snap, kind):
    k = revenue.kpis(snap, P.period_containing(kind, END))
    assert 0.80 <= k["nrr"] <= 1.30, k
    assert 0.0 <= k["grr"] <= 1.0 and k["grr"] <= k["nrr"] + 1e-12
    assert 0.0 <= k["logo_churn_rate"] <= 0.35
    assert k["gross_mrr_churn"] == pytest.approx(1 - k["grr"])
    assert k["arr"] == pytest.approx(12 * k["mrr"])
    totals = revenue.movement_totals(snap, P.period_containing(kind, END))
    moved = sum(totals[m] for m in revenue.MOVEMENTS)
    assert totals["mrr"] == pytest.approx(totals["start_mrr"] + moved, abs=1e-3)


def test_churn_reasons_follow_the_strategy_document(snap):
    reasons = churn.churn_reasons(snap, P.period_containing("year", END - dt.timedelta(days=365)))
    assert reasons.iloc[0]["reason"] == "施策終了・中止"
    assert reasons.iloc[0]["share"] >= 0.5


def test_cohorts_renewals_and_trends_run_on_the_demo(snap):
    cohorts = revenue.cohort_table(snap, "quarter", "mrr")
    assert (cohorts["+0"] == 1.0).all() and len(cohorts) >= 8
    due = churn.renewals(snap, P.period_containing("quarter", END - dt.timedelta(days=95)))
    assert due.due_count > 0 and 0.5 <= due.renewal_rate <= 1.0
    ahead = churn.renewals_by_quarter(snap)
    assert ahead["due_arr"].sum() > 0
    assert (ahead["signed_arr"] + ahead["at_risk_arr"] - ahead["due_arr"]).abs().max() < 1e-6
    trend = revenue.retention_trend(snap, "ttm", 12)
    assert trend["nrr"].notna().all()


def test_metrics_table_on_the_demo(demo_home, tmp_path, monkeypatch):
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(demo_home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    result = CliRunner().invoke(main, ["metrics", "--format", "table"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "(data as of 2026-04-30) — demo data" in text
    for label in ("MRR", "ARR", "customers", "logo churn rate", "NRR", "GRR",
                  "two-year churn rate"):
        assert f"\n  {label} " in text
    assert "¥" in text and "%" in text


# ---------------------------------------------------------------------------- one query, many views
# Pages ask for several views of the same periods at once (the period and the previous one;
# the bridge, the bars and both NRR trends). The combined calls must give exactly what the
# single calls give, filtered or not.

FILTERS = (None, Filters(segments=("S", "A")), Filters(industries=("製造", "IT")))


@pytest.mark.parametrize("filters", FILTERS)
def test_headlines_are_the_kpis_and_bridges_of_each_period(snap, filters):
    fsm = fiscal_year_start_month(snap)
    period = P.period_containing("quarter", END, fsm)
    previous = P.previous(period, fsm)
    current, before = revenue.headlines(snap, [period, previous], filters)
    for got, p in ((current, period), (before, previous)):
        assert got["bridge"] == revenue.movement_totals(snap, p, filters)
        assert got["kpis"] == revenue.kpis(snap, p, filters)
        assert got["kpis"]["two_year_churn_rate"] == churn.two_year_churn(
            snap, None, filters, month=p.end_month(END))["rate"]
        assert got["kpis"]["mrr"] == pytest.approx(
            got["bridge"]["start_mrr"] + sum(got["bridge"][m] for m in revenue.MOVEMENTS))


@pytest.mark.parametrize("filters", FILTERS)
def test_period_sets_match_the_single_views(snap, filters):
    fsm = fiscal_year_start_month(snap)
    period = P.period_containing("month", END)
    recent = P.last_n("month", 12, END, fsm)
    sets = revenue.period_sets(snap, (
        ("bridge", (period,)), ("recent", tuple(recent)),
        ("quarterly", tuple(P.last_n("quarter", 8, END, fsm))),
        ("ttm", tuple(P.last_n("ttm", 12, END, fsm)))), filters)
    assert revenue.bridge_of(sets["bridge"].iloc[0]) == revenue.movement_totals(
        snap, period, filters)
    columns = list(revenue.MOVEMENTS_BY_PERIOD_COLUMNS)
    assert sets["recent"][columns].equals(revenue.movements_by_period(snap, recent, filters))
    columns = list(revenue.RETENTION_COLUMNS)
    for name, kind, n in (("quarterly", "quarter", 8), ("ttm", "ttm", 12)):
        single = revenue.retention_trend(snap, kind, n, None, filters)
        assert sets[name][columns].equals(single), name


@pytest.mark.parametrize("filters", FILTERS)
def test_headline_two_year_churn_is_the_last_month_of_the_trend(snap, filters):
    trend = churn.two_year_churn_trend(snap, None, filters)
    assert churn.two_year_churn_at(trend, END) == churn.two_year_churn(snap, None, filters)
    with pytest.raises(CsAnalyticsError, match="no month"):
        churn.two_year_churn_at(trend, dt.date(2020, 1, 1))


class _WeeklyTablesOnly:
    """The snapshot as an older build left it: no fct_signals_current."""

    def __init__(self, snap):
        self._snap = snap

    def __getattr__(self, name):
        return getattr(self._snap, name)

    def has_table(self, name):
        return name != "fct_signals_current" and self._snap.has_table(name)


class _BuiltBeforeTheLifeTable(_WeeklyTablesOnly):
    """The snapshot as a build before models/13 left it: no fct_account_life."""

    def has_table(self, name):
        return name != "fct_account_life" and self._snap.has_table(name)


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A")),
                                     Filters(industries=("製造",))))
def test_two_year_churn_of_an_older_snapshot_equals_the_life_table(snap, filters):
    """A snapshot built before the account life table existed groups its spine the same way
    (until the next refresh rebuilds it), at its as-of date and at an earlier one."""
    older = _BuiltBeforeTheLifeTable(snap)
    for as_of in (None, END - dt.timedelta(days=200)):
        trend = churn.two_year_churn_trend(snap, None, filters, as_of)
        assert trend["customers"].sum() > 0 and trend["churned"].sum() > 0
        assert churn.two_year_churn_trend(older, None, filters, as_of).equals(trend)
        assert churn.two_year_churn_by_cohort(older, as_of, filters).equals(
            churn.two_year_churn_by_cohort(snap, as_of, filters))


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A"))))
def test_signals_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters):
    from cs_analytics.metrics import signals

    fast = signals.signals_on(snap, None, (), filters)
    weekly = signals.signals_on(_WeeklyTablesOnly(snap), None, (), filters)
    assert len(fast) > 0
    assert fast.equals(weekly)


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A")),
                                     Filters(industries=("製造",))))
@pytest.mark.parametrize("mart, column", [("fct_health_weekly", "band"),
                                          ("fct_segment_history", "segment"),
                                          ("fct_signals_weekly", "signal")])
def test_counts_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters, mart, column):
    """Bands, segments and signals on the as-of date are counted from the as-of tables
    (fct_*_current); they must be the counts of the weekly mart's as-of rows."""
    from cs_analytics.metrics import health, segments, signals
    from cs_analytics.metrics.filters import condition

    counted = {"fct_health_weekly": health.band_counts, "fct_segment_history": segments.counts,
               "fct_signals_weekly": signals.counts}[mart]
    where, params = condition(filters, snap)
    weekly = dict(snap.rows(
        f"SELECT {column}, count(*) FROM {mart} WHERE snapshot_day = $day "
        f"AND {column} IS NOT NULL AND {where} GROUP BY 1", {**params, "day": END}))
    assert sum(weekly.values()) > 0
    for day in (None, END):
        got = counted(snap, day, filters)
        assert {k: n for k, n in got.items() if n} == weekly
        assert set(weekly) <= set(got)
    if mart == "fct_signals_weekly":  # a snapshot built before fct_signals_current
        assert counted(_WeeklyTablesOnly(snap), None, filters) == got


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A")),
                                     Filters(industries=("製造",))))
def test_signal_keys_are_the_keys_of_the_signals_shown(snap, filters):
    """The overview counts open alerts from the keys alone: the same rows, in the same order,
    on the as-of day and on an earlier snapshot day."""
    from cs_analytics.metrics import signals

    for day in (None, END - dt.timedelta(days=70)):
        shown = signals.signals_on(snap, day, (), filters)
        keys = signals.keys_on(snap, day, filters)
        assert len(keys) > 0
        assert keys.equals(shown[["account_id", "signal", "since"]])
    weekly = signals.keys_on(_WeeklyTablesOnly(snap), None, filters)
    assert weekly.equals(signals.keys_on(snap, None, filters))


@pytest.mark.parametrize("names", (("no_contact_60d",), ("no_login_60d", "health_red")))
def test_one_signals_query_serves_every_list_of_the_monday_check(snap, names):
    from cs_analytics.metrics import signals

    shown = signals.signals_on(snap)
    assert signals.only(shown, *names).equals(signals.signals_on(snap, None, names))
    with pytest.raises(ValueError, match="expected one of"):
        signals.only(shown, "no_such_signal")


def test_no_periods_is_an_empty_frame_not_an_error(snap):
    frame = revenue.period_metrics(snap, [])
    assert frame.empty and {"label", "nrr", "start_mrr"} <= set(frame.columns)


def _lists_read_restricted():
    """The lists the pages read through `data.start_rows`, with their arguments (the stale
    records, which the demo company has none of: tests/test_app_metrics.py)."""
    from cs_analytics.metrics import accounts, signals, team

    quarter = P.period_containing("quarter", END)
    return {
        "portfolio_at_risk": (team.portfolio, {"bands": ("warning", "danger")}),
        "signals": (signals.signals_on, {}),
        "qbr_candidates": (accounts.qbr_candidates, {"first_day": quarter.start_date,
                                                      "last_day": END}),
        "churned_accounts": (churn.churned_accounts, {"period": P.period_containing("year",
                                                                                    END)}),
    }


@pytest.mark.parametrize("name", list(_lists_read_restricted()))
def test_a_list_restricted_to_the_filtered_accounts_is_the_filtered_list(snap, name):
    """The pages compute these lists once per snapshot and restrict them on each filter
    change: the rows, their order, values and types must be what the filtered query gives —
    for each kind of filter, together, and for a filter that selects nothing."""
    from cs_analytics.metrics.filters import account_ids, rows_of

    fn, kwargs = _lists_read_restricted()[name]
    owners = snap.query("SELECT DISTINCT owner_id FROM accounts ORDER BY owner_id")["owner_id"]
    whole = fn(snap, filters=None, **kwargs)
    assert len(whole) > 10, name
    for filters in (Filters(segments=("S", "A")), Filters(industries=("製造", "IT")),
                    Filters(owner_ids=tuple(owners[:3])),
                    Filters(owner_ids=tuple(owners[:20]), segments=("A", "B", "C"),
                            industries=("製造", "IT", "小売")),
                    Filters(owner_ids=("no-such-owner",))):
        expected = fn(snap, filters=filters, **kwargs)
        restricted = rows_of(whole, account_ids(snap, filters))
        assert list(restricted.columns) == list(expected.columns)
        if expected.empty:  # (DuckDB types an empty result's text columns as objects)
            assert restricted.empty, (name, filters)
            continue
        assert restricted.equals(expected), (name, filters)
        assert list(restricted.dtypes) == list(expected.dtypes), (name, filters)
        assert restricted.index.equals(expected.index)
