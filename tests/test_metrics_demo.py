"""Revenue and churn metrics on the generated demo company: plausible numbers (the strategy's
~21% two-year churn, NRR near 100%), invariants, and the `metrics` table a user reads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.ingest import demo
from cs_analytics.metrics import churn, health, health_summary, renewals, revenue, team
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import fiscal_year_start_month
from cs_analytics.metrics.filters import Filters, condition
from cs_analytics.warehouse.store import Store

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
    due = renewals.summary_of(renewals.due_in(
        snap, P.period_containing("quarter", END - dt.timedelta(days=95))))
    assert due.due_count > 0 and 0.5 <= due.renewal_rate <= 1.0 and due.pending_count == 0
    quarters = renewals.quarters_from(snap, 0, 4)
    ahead = renewals.by_quarter_of(renewals.contracts_due(snap, **renewals.span(quarters)),
                                   quarters)
    assert ahead["due_arr"].sum() > 0
    # every contract due has one status; at-risk ARR is part of pending ARR
    assert (ahead["signed_arr"] + ahead["lost_arr"] + ahead["pending_arr"]
            - ahead["due_arr"]).abs().max() < 1e-6
    assert (ahead["at_risk_arr"] <= ahead["pending_arr"]).all()
    assert (ahead["forecast_low"] <= ahead["forecast_arr"] + 1e-6).all()
    assert (ahead["forecast_arr"] <= ahead["forecast_high"] + 1e-6).all()
    assert (ahead["forecast_high"] <= ahead["pending_arr"] + 1e-6).all()
    trend = revenue.retention_trend(snap, "ttm", 12)
    assert trend["nrr"].notna().all()


def test_renewal_radar_reminders_and_forecast_are_plausible_on_the_demo(snap):
    """What the renewals page shows on the demo: every status this quarter, auto-renewals
    committed by their passed deadline, a radar of deadlines with at-risk accounts among
    them, reminders to send, and P(renew) from past renewals for the common bands."""
    quarter = P.period_containing("quarter", END)
    due = renewals.due_in(snap, quarter)
    assert {"signed", "pending", "at_risk"} <= set(due["status"])
    assert (due["signed_by"] == "auto_renew").any() and (due["signed_by"] == "contract").any()
    radar = renewals.notice_radar(snap, 60)
    assert len(radar) >= 10 and set(radar["status"]) == {"pending", "at_risk"}
    assert radar["owner_name"].notna().all() and radar["band"].notna().mean() > 0.9
    assert len(renewals.reminders(snap, 55, 65)) >= 3
    table = renewals.probabilities(snap).set_index("bucket")
    assert table.loc["healthy", "source"] == "history"
    assert table.loc["healthy", "p"] > table.loc["caution", "p"]
    assert (table["p_low"] <= table["p"]).all() and (table["p"] <= table["p_high"]).all()


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


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A"))))
def test_signals_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters, monkeypatch):
    from cs_analytics.metrics import signals, weekly

    # (the SQL as written: the rows held per snapshot file are read once, from its tables)
    fast = signals.signals_on.__wrapped__(snap, None, (), filters)
    monkeypatch.delitem(weekly.AS_OF_TABLES, "fct_signals_weekly")  # read the weekly mart
    weekly_rows = signals.signals_on.__wrapped__(snap, None, (), filters)
    monkeypatch.undo()
    assert len(fast) > 0
    assert fast.equals(weekly_rows)


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("mart, column", [("fct_health_weekly", "band"),
                                          ("fct_segment_history", "segment"),
                                          ("fct_signals_weekly", "signal")])
def test_counts_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters, mart, column):
    """Bands, segments and signals on the as-of date are counted from the as-of tables
    (fct_*_current); they must be the counts of the weekly mart's as-of rows."""
    from cs_analytics.metrics import health, segments, signals

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


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A")),
                                     Filters(industries=("製造",))))
def test_signal_keys_are_the_keys_of_the_signals_shown(snap, filters, monkeypatch):
    """The overview counts open alerts from the keys alone: the same rows, in the same order,
    on the as-of day and on an earlier snapshot day."""
    from cs_analytics.metrics import signals, weekly

    for day in (None, END - dt.timedelta(days=70)):
        shown = signals.signals_on(snap, day, (), filters)
        keys = signals.keys_on(snap, day, filters)
        assert len(keys) > 0
        assert keys.equals(shown[["account_id", "signal", "since"]])
    current = signals.keys_on(snap, None, filters)
    monkeypatch.delitem(weekly.AS_OF_TABLES, "fct_signals_weekly")  # read the weekly mart
    assert signals.keys_on.__wrapped__(snap, None, filters).equals(current)


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


# ---------------------------------------------------------------------------- filters partition
# Every account has one owner, so the owners' filters split the company: each owner's figures
# added up must be the company's. A filter that dropped, doubled or mixed up accounts fails
# here whatever the figure's definition (the definitions are tested by hand in
# test_metrics_revenue.py, test_metrics_churn.py and test_app_metrics.py; the rows held in
# memory against their SQL in test_held_rows.py).

EARLIER = END - dt.timedelta(days=200)
ADDITIVE = ("start_mrr", "start_customers", "mrr", "customers", "base_customers",
            "churned_customers", "base_mrr", "base_end_mrr", "base_retained_mrr",
            *(name for kind in revenue.MOVEMENTS for name in (kind, f"{kind}_count")))


def _by_owner(snap) -> list[Filters]:
    return [Filters(owner_ids=(r[0],)) for r in snap.rows(
        "SELECT DISTINCT owner_id FROM accounts ORDER BY 1")]


def _added(frames: list[pd.DataFrame], key: str, columns) -> pd.DataFrame:
    return pd.concat(frames).groupby(key)[list(columns)].sum()


@pytest.mark.parametrize("as_of", (None, EARLIER))
def test_each_owners_revenue_and_churn_figures_add_up_to_the_company(snap, as_of):
    fsm = fiscal_year_start_month(snap)
    day = as_of or END
    periods = [*P.last_n("month", 3, day, fsm), *P.last_n("quarter", 4, day, fsm),
               *P.last_n("ttm", 2, day, fsm), *P.last_n("year", 3, day, fsm)]
    owners = _by_owner(snap)
    assert len(owners) > 10

    whole = revenue.period_metrics(snap, periods, None, as_of).set_index("label")
    each = [revenue.period_metrics(snap, periods, f, as_of) for f in owners]
    for frame in (whole, *each):  # the bridge: MRR at a + the period's movements = MRR at b
        moved = frame[list(revenue.MOVEMENTS)].sum(axis=1)
        assert (frame["mrr"] - frame["start_mrr"] - moved).abs().max() < 1e-6
    added = _added(each, "label", ADDITIVE)
    pd.testing.assert_frame_equal(added.loc[whole.index], whole[list(ADDITIVE)],
                                  check_exact=False, atol=1e-6, check_dtype=False)
    assert whole["base_customers"].min() > 0 and whole["churn_count"].sum() > 0

    first, last = day - dt.timedelta(days=6 * 365), day
    trend = revenue.mrr_trend(snap, first, last, None, as_of).set_index("month")
    numbers = [c for c in trend.columns if c != "snapshot_day"]
    added = _added([revenue.mrr_trend(snap, first, last, f, as_of) for f in owners], "month",
                   numbers)
    pd.testing.assert_frame_equal(added, trend[numbers], check_exact=False, atol=1e-6,
                                  check_dtype=False)

    two_year = churn.two_year_churn_trend(snap, None, None, as_of).set_index("month")
    added = _added([churn.two_year_churn_trend(snap, None, f, as_of) for f in owners],
                   "month", ("customers", "churned"))
    assert added.equals(two_year[["customers", "churned"]])
    assert two_year["churned"].sum() > 0
    counted = ("customers", "eligible", "churned", "churned_to_date")
    cohorts = churn.two_year_churn_by_cohort(snap, as_of).set_index("cohort")
    added = _added([churn.two_year_churn_by_cohort(snap, as_of, f) for f in owners], "cohort",
                   counted)
    assert added.loc[cohorts.index].equals(cohorts[list(counted)])

    for grain in ("month", "quarter", "year"):
        table = revenue.cohort_table(snap, grain, "mrr", None, as_of).set_index("cohort")
        added = _added([revenue.cohort_table(snap, grain, "mrr", f, as_of) for f in owners],
                       "cohort", ("customers", "start_mrr"))
        pd.testing.assert_frame_equal(added.loc[table.index], table[["customers", "start_mrr"]],
                                      check_exact=False, atol=1e-6, check_dtype=False)


def test_each_owners_health_and_team_figures_add_up_to_the_company(snap):
    owners = _by_owner(snap)
    bands = health.band_counts(snap)
    for day in (None, END - dt.timedelta(days=70)):
        assert {b: sum(health.band_counts(snap, day, f)[b] for f in owners)
                for b in bands} == health.band_counts(snap, day)
    over_time = health_summary.band_counts_over_time(snap).set_index("snapshot_day")
    added = _added([health_summary.band_counts_over_time(snap, 26, f) for f in owners],
                   "snapshot_day", over_time.columns)
    assert added.equals(over_time)
    matrix = health_summary.attribute_matrix(snap).set_index("tier")
    counts = [c for c in matrix.columns if not c.startswith("segment_")]
    added = _added([health_summary.attribute_matrix(snap, f) for f in owners], "tier", counts)
    assert added.loc[matrix.index].equals(matrix[counts])
    summary = team.owner_summary(snap).set_index("owner_id")
    for f in owners:
        mine = team.owner_summary(snap, f).set_index("owner_id")
        assert list(mine.index) == list(f.owner_ids)
        pd.testing.assert_frame_equal(mine, summary.loc[list(f.owner_ids)], check_dtype=False)

