"""Revenue and churn metrics on the generated demo company: plausible numbers (the strategy's
~21% two-year churn, NRR near 100%), invariants, and the `metrics` table a user reads."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import BANDS, HEALTH_COMPONENTS, settings_from_dict
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import churn, health_summary, renewals, revenue
from cs_analytics.metrics import periods as P
from cs_analytics.metrics.base import as_date, fiscal_year_start_month
from cs_analytics.metrics.filters import Filters, account_ids, condition
from cs_analytics.metrics.spine_arrays import EARLIER_AS_OF_KEPT, spine_arrays
from cs_analytics.models.parameters import MRR_EPSILON
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


class _WeeklyTablesOnly:
    """The snapshot as an older build left it: no fct_signals_current."""

    def __init__(self, snap):
        self._snap = snap

    def __getattr__(self, name):
        return getattr(self._snap, name)

    def has_table(self, name):
        return name != "fct_signals_current" and self._snap.has_table(name)


# ---------------------------------------------------------------------------- the spine as arrays
# The revenue and churn aggregates sum the spine held as arrays (metrics.spine_arrays). Each
# is checked here against the same sum written plainly in SQL over the snapshot's own tables
# — the spine (fct_account_mrr_monthly, or its macro for an earlier as-of date) and the life
# table (fct_account_life) — with the filters' own SQL condition, for every kind of filter,
# one that selects nobody, and two as-of dates.

EARLIER = END - dt.timedelta(days=200)
ARRAY_FILTERS = (None, Filters(segments=("S", "A")), Filters(industries=("製造", "IT")),
                 Filters(owner_ids=("first three owners",)),
                 Filters(segments=("B", "C"), industries=("製造", "IT", "小売")),
                 Filters(owner_ids=("no-such-owner",)))


def _resolved(snap, filters):
    if filters is not None and filters.owner_ids == ("first three owners",):
        owners = snap.query("SELECT DISTINCT owner_id FROM accounts ORDER BY owner_id")
        return Filters(owner_ids=tuple(owners["owner_id"][:3]))
    return filters


def _spine_rows(snap, filters, as_of):
    """The filtered spine as a CTE `s`, with its parameters."""
    where, params = condition(filters, snap, "s.account_id")
    if as_of is None:
        return f"s AS (SELECT * FROM fct_account_mrr_monthly s WHERE {where})", params
    return (f"s AS (SELECT * FROM account_mrr_as_of(CAST($as_of AS DATE)) s WHERE {where})",
            {**params, "as_of": as_of})


def _period_by_sql(snap, period, filters, as_of):
    cte, params = _spine_rows(snap, filters, as_of)
    params = {**params, "a": period.before_month, "b": period.end_month(as_of or END),
              "eps": MRR_EPSILON}
    moves = ", ".join(
        f"coalesce(sum(movement_amount) FILTER (WHERE {inside}), 0) AS {kind}, "
        f"count(*) FILTER (WHERE {inside}) AS {kind}_count"
        for kind in revenue.MOVEMENTS
        for inside in [f"movement = '{kind}' AND month > $a AND month <= $b"])
    totals = snap.query(f"""
        WITH {cte}
        SELECT coalesce(sum(mrr) FILTER (WHERE month = $a), 0) AS start_mrr,
               count(*) FILTER (WHERE month = $a AND mrr >= $eps) AS start_customers,
               coalesce(sum(mrr) FILTER (WHERE month = $b), 0) AS mrr,
               count(*) FILTER (WHERE month = $b AND mrr >= $eps) AS customers, {moves}
        FROM s""", params).iloc[0].to_dict()
    base = snap.query(f"""
        WITH {cte}
        SELECT count(*) AS base_customers,
               count(*) FILTER (WHERE sb.mrr < $eps) AS churned_customers,
               coalesce(sum(sa.mrr), 0) AS base_mrr, coalesce(sum(sb.mrr), 0) AS base_end_mrr,
               coalesce(sum(least(sa.mrr, sb.mrr)), 0) AS base_retained_mrr
        FROM s sa JOIN s sb ON sb.account_id = sa.account_id AND sb.month = $b
        WHERE sa.month = $a AND sa.mrr >= $eps""", params).iloc[0].to_dict()
    return {**totals, **base}


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("as_of", (None, EARLIER))
def test_period_metrics_are_the_sums_over_the_filtered_spine(snap, filters, as_of):
    filters = _resolved(snap, filters)
    fsm = fiscal_year_start_month(snap)
    day = as_of or END
    periods = [*P.last_n("month", 3, day, fsm), *P.last_n("quarter", 4, day, fsm),
               *P.last_n("ttm", 2, day, fsm), *P.last_n("year", 4, day, fsm),
               P.period_containing("year", day - dt.timedelta(days=5 * 365), fsm)]
    frame = revenue.period_metrics(snap, periods, filters, as_of)
    for i, period in enumerate(periods):
        expected = _period_by_sql(snap, period, filters, as_of)
        for name, value in expected.items():
            assert frame[name].iloc[i] == pytest.approx(value, abs=1e-6), (period.label, name)
    if filters is None:  # (the year before the data: nothing to sum)
        assert frame["start_mrr"].iloc[-1] == 0 and frame["mrr"].iloc[0] > 0


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("as_of", (None, EARLIER))
def test_mrr_trend_is_the_filtered_spine_summed_by_month(snap, filters, as_of):
    filters = _resolved(snap, filters)
    cte, params = _spine_rows(snap, filters, as_of)
    moves = ", ".join(f"coalesce(sum(movement_amount) FILTER (WHERE movement = '{k}'), 0) AS {k}, "
                      f"count(*) FILTER (WHERE movement = '{k}') AS {k}_count"
                      for k in revenue.MOVEMENTS)
    expected = snap.query(f"""
        WITH {cte}
        SELECT month, max(snapshot_day) AS snapshot_day, sum(mrr) AS mrr, 12 * sum(mrr) AS arr,
               sum(previous_mrr) AS previous_mrr,
               count(*) FILTER (WHERE mrr >= $eps) AS customers, {moves}
        FROM s GROUP BY month ORDER BY month""", {**params, "eps": MRR_EPSILON})
    got = revenue.mrr_trend(snap, END - dt.timedelta(days=6 * 365), END, filters, as_of)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) and (len(got) > 0) == (filters is None or
                                                            filters.owner_ids != ("no-such-owner",))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=1e-6)


def _life_rows(snap, filters, as_of):
    where, params = condition(filters, snap, "l.account_id")
    source = ("fct_account_life" if as_of is None
              else "account_life_as_of(CAST($as_of AS DATE))")
    return snap.rows(f"SELECT l.first_month, l.churn_month FROM {source} l WHERE {where}",
                     {**params, **({} if as_of is None else {"as_of": as_of})})


def _churned_in_two_years(first, churn_month):
    return churn_month is not None and churn_month <= P.add_months(first, 24)


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("as_of", (None, EARLIER))
def test_two_year_churn_is_counted_from_the_life_table(snap, filters, as_of):
    """F_i and C_i as the life table (models/13) holds them: the trend over its 12 months and
    the start quarters."""
    filters = _resolved(snap, filters)
    life = _life_rows(snap, filters, as_of)
    trend = churn.two_year_churn_trend(snap, None, filters, as_of)
    assert len(trend) == 12
    for month, customers, churned in zip(trend["month"], trend["customers"], trend["churned"]):
        month = as_date(month)
        cohort = [(f, c) for f, c in life
                  if P.add_months(month, -35) <= f <= P.add_months(month, -24)]
        assert customers == len(cohort)
        assert churned == sum(_churned_in_two_years(f, c) for f, c in cohort)
    fsm = fiscal_year_start_month(snap)
    as_of_month = P.month_start(as_of or END)
    quarters: dict = {}
    for f, c in life:
        q = quarters.setdefault(P.period_containing("quarter", f, fsm).first_month, [0, 0, 0, 0])
        eligible = P.add_months(f, 24) <= as_of_month
        q[0] += 1
        q[1] += eligible
        q[2] += eligible and _churned_in_two_years(f, c)
        q[3] += _churned_in_two_years(f, c)
    cohorts = churn.two_year_churn_by_cohort(snap, as_of, filters)
    assert list(cohorts["cohort_start"]) == sorted(quarters)
    assert cohorts[["customers", "eligible", "churned", "churned_to_date"]].values.tolist() \
        == [quarters[q] for q in sorted(quarters)]
    if filters is None:
        assert trend["churned"].sum() > 0 and cohorts["churned"].sum() > 0


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("grain", ("month", "quarter", "year"))
def test_cohort_table_cells_are_read_from_the_filtered_spine(snap, filters, grain):
    filters = _resolved(snap, filters)
    cte, params = _spine_rows(snap, filters, EARLIER)
    rows = snap.rows(f"WITH {cte} SELECT account_id, first_month, month, mrr FROM s", params)
    mrr = {(a, m): v for a, _, m, v in rows}
    first = {a: f for a, f, _, _ in rows}
    fsm = fiscal_year_start_month(snap)
    step = revenue.GRAIN_MONTHS[grain]
    members: dict = {}
    for account, f in first.items():
        members.setdefault(P.period_containing(grain, f, fsm).first_month, []).append(account)
    logo = revenue.cohort_table(snap, grain, "logo", filters, EARLIER)
    net = revenue.cohort_table(snap, grain, "mrr", filters, EARLIER)
    assert list(logo["cohort_start"]) == sorted(members) == list(net["cohort_start"])
    last = P.month_start(EARLIER)
    for i, start in enumerate(sorted(members)):
        accounts = members[start]
        start_mrr = sum(mrr[a, first[a]] for a in accounts)
        assert logo["customers"].iloc[i] == len(accounts)
        assert logo["start_mrr"].iloc[i] == pytest.approx(start_mrr)
        latest = max(first[a] for a in accounts)
        for k in range(len(logo.columns) - 4):
            if P.add_months(latest, k * step) > last:  # not every member has reached it
                assert pd.isna(logo[f"+{k}"].iloc[i]) and pd.isna(net[f"+{k}"].iloc[i])
                continue
            then = [mrr[a, P.add_months(first[a], k * step)] for a in accounts]
            assert logo[f"+{k}"].iloc[i] == pytest.approx(
                sum(v >= MRR_EPSILON for v in then) / len(accounts))
            assert net[f"+{k}"].iloc[i] == pytest.approx(sum(then) / start_mrr)


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
def test_account_ids_are_the_accounts_the_filter_condition_selects(snap, filters):
    filters = _resolved(snap, filters)
    where, params = condition(filters, snap, "account_id")
    expected = snap.query(f"SELECT account_id FROM accounts WHERE {where} ORDER BY account_id",
                          params)["account_id"].tolist()
    assert account_ids(snap, filters) == expected
    assert (len(expected) == 0) == (filters is not None
                                    and filters.owner_ids == ("no-such-owner",))


def _selects_someone(filters) -> bool:
    return filters is None or filters.owner_ids != ("no-such-owner",)


_BAND_COUNTS = ", ".join(f"count(*) FILTER (WHERE h.band = '{b}') AS {b}" for b in BANDS)


def _frames_equal(got: pd.DataFrame, expected: pd.DataFrame, **kwargs) -> None:
    assert list(got.columns) == list(expected.columns)
    if expected.empty:  # (DuckDB types an empty result's text columns as objects)
        assert got.empty
        return
    pd.testing.assert_frame_equal(got, expected, **kwargs)


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
def test_band_counts_over_time_are_the_filtered_weekly_rows_counted(snap, filters):
    filters = _resolved(snap, filters)
    where, params = condition(filters, snap, "h.account_id")
    for weeks in (26, 5):
        expected = snap.query(f"""
            SELECT h.snapshot_day, {_BAND_COUNTS}, count(*) AS accounts
            FROM fct_health_weekly h
            WHERE (h.is_weekly OR h.is_as_of) AND h.snapshot_day > $end - 7 * $weeks
              AND {where}
            GROUP BY 1 ORDER BY 1""", {**params, "end": END, "weeks": weeks})
        got = health_summary.band_counts_over_time(snap, weeks, filters)
        _frames_equal(got, expected)
        assert (len(got) == weeks + 1) == _selects_someone(filters)  # weeks Mondays, as-of


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("by", list(health_summary.GROUPINGS))
def test_band_counts_by_group_are_the_filtered_current_rows_counted(snap, filters, by):
    filters = _resolved(snap, filters)
    where, params = condition(filters, snap, "h.account_id")
    expected = snap.query(f"""
        SELECT {health_summary.GROUPINGS[by]} AS "group", {_BAND_COUNTS}, count(*) AS accounts
        FROM fct_health_current h
        JOIN accounts a USING (account_id)
        LEFT JOIN users u ON u.user_id = a.owner_id
        LEFT JOIN fct_segment_current s USING (account_id)
        WHERE {where}
        GROUP BY 1 ORDER BY 1 NULLS LAST""", params)
    got = health_summary.band_counts_by(snap, by, filters)
    _frames_equal(got, expected)
    assert (len(got) > 1) == _selects_someone(filters)


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
def test_attribute_matrix_counts_the_filtered_segments_by_tier_and_band(snap, filters):
    filters = _resolved(snap, filters)
    where, params = condition(filters, snap, "s.account_id")
    expected = {(tier, band): n for tier, band, n in snap.rows(f"""
        SELECT attribute_tier, band, count(*) FROM fct_segment_current s
        WHERE band IS NOT NULL AND {where} GROUP BY ALL""", params)}
    matrix = health_summary.attribute_matrix(snap, filters)
    got = {(row["tier"], band): row[band] for row in matrix.to_dict("records") for band in BANDS}
    assert {k: n for k, n in got.items() if n} == expected
    assert (sum(got.values()) > 0) == _selects_someone(filters)
    assert matrix["segment_healthy"].notna().all()


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
def test_component_averages_are_the_filtered_current_rows_averaged(snap, filters):
    filters = _resolved(snap, filters)
    where, params = condition(filters, snap, "h.account_id")
    got = health_summary.component_contributions(snap, filters)
    assert list(got["component"]) == list(HEALTH_COMPONENTS)
    for i, c in enumerate(HEALTH_COMPONENTS):
        accounts, score, weight, contribution, lost = snap.rows(f"""
            SELECT count({c}_score), avg({c}_score), avg({c}_weight), avg({c}_contribution),
                   avg(coalesce({c}_weight * (100 - {c}_score), 0))
            FROM fct_health_current h WHERE {where}""", params)[0]
        assert got["accounts"].iloc[i] == accounts
        for name, value in (("avg_score", score), ("avg_weight", weight),
                            ("avg_contribution", contribution), ("avg_lost", lost)):
            if value is None:
                assert pd.isna(got[name].iloc[i]) and not _selects_someone(filters)
            else:
                assert got[name].iloc[i] == pytest.approx(value, rel=1e-12), (c, name)
    assert list(got.dtypes[1:]) == ["int64", *["float64"] * 4]


def test_rows_held_in_memory_are_counted_and_averaged_as_sql_does(snap):
    """`account_rows` (the health figures' rows held in memory): NULLs counted as their own
    group and left out of an average, a filter selecting rows by their account, and a row
    whose account is not in the accounts table counted without a filter, never with one."""
    from cs_analytics.metrics.account_rows import account_rows

    a, b, c = account_ids(snap, None)[:3]
    sql = """SELECT * FROM (VALUES ($a, 'x', 1.0), ($a, NULL, NULL), ($b, 'x', 3.0),
                                   ($c, 'y', 5.0), ('not-an-account', 'x', 7.0))
             t(account_id, g, v)"""
    params = {"a": a, "b": b, "c": c}
    rows = account_rows(snap, sql, params)
    assert account_rows(snap, sql, dict(params)) is rows  # read once per file and query
    everyone = rows.weights(snap, None)
    assert rows.counts(everyone, "g") == {("x",): 3, (None,): 1, ("y",): 1}
    assert rows.counts(everyone, "g", "g") == {("x", "x"): 3, (None, None): 1, ("y", "y"): 1}
    assert rows.means(everyone, ("v",)) == {"v": (4, 4.0)}
    owner = snap.scalar("SELECT owner_id FROM accounts WHERE account_id = $a", {"a": a})
    for filters in (Filters(owner_ids=(owner,)), Filters(owner_ids=("no-such-owner",))):
        where, where_params = condition(filters, snap, "account_id")
        expected = {(g,): n for g, n in snap.rows(
            f"SELECT g, count(*) FROM ({sql}) WHERE {where} GROUP BY g",
            {**params, **where_params})}
        weights = rows.weights(snap, filters)
        assert rows.counts(weights, "g") == expected
        n, mean = snap.rows(f"SELECT count(v), avg(v) FROM ({sql}) WHERE {where}",
                            {**params, **where_params})[0]
        got_n, got_mean = rows.means(weights, ("v",))["v"]
        assert got_n == n
        assert got_mean == pytest.approx(mean) if mean is not None else pd.isna(got_mean)


def test_the_spine_arrays_are_loaded_once_per_as_of_date(snap):
    """One load per snapshot file and as-of date, shared by every call; the snapshot's own
    as-of date always kept, a few earlier ones."""
    own = spine_arrays(snap)
    assert spine_arrays(snap, END) is own
    days = [END - dt.timedelta(days=31 * k) for k in range(1, EARLIER_AS_OF_KEPT + 3)]
    oldest = spine_arrays(snap, days[0])
    assert spine_arrays(snap, days[0]) is oldest
    for day in days[1:]:
        spine_arrays(snap, day)
    assert spine_arrays(snap, END) is own
    assert spine_arrays(snap, days[-1]) is spine_arrays(snap, days[-1])
    assert spine_arrays(snap, days[0]) is not oldest  # dropped, then loaded again
    earlier = [key for key in snap.derived("spine_arrays") if key[0] != END]
    assert len(earlier) == EARLIER_AS_OF_KEPT


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A"))))
def test_signals_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters):
    from cs_analytics.metrics import signals

    fast = signals.signals_on(snap, None, (), filters)
    weekly = signals.signals_on(_WeeklyTablesOnly(snap), None, (), filters)
    assert len(fast) > 0
    assert fast.equals(weekly)


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
@pytest.mark.parametrize("mart, column", [("fct_health_weekly", "band"),
                                          ("fct_segment_history", "segment"),
                                          ("fct_signals_weekly", "signal")])
def test_counts_of_the_as_of_day_read_from_the_current_tables_equal_the_weekly_ones(
        snap, filters, mart, column):
    """Bands, segments and signals on the as-of date are counted from the as-of tables
    (fct_*_current) held in memory (metrics.account_rows); they must be the counts of the
    weekly mart's as-of rows."""
    from cs_analytics.metrics import health, segments, signals

    filters = _resolved(snap, filters)
    counted = {"fct_health_weekly": health.band_counts, "fct_segment_history": segments.counts,
               "fct_signals_weekly": signals.counts}[mart]
    where, params = condition(filters, snap)
    weekly = dict(snap.rows(
        f"SELECT {column}, count(*) FROM {mart} WHERE snapshot_day = $day "
        f"AND {column} IS NOT NULL AND {where} GROUP BY 1", {**params, "day": END}))
    assert (sum(weekly.values()) > 0) == _selects_someone(filters)
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
    """The lists the pages read through `data.start_rows` (and the account picker's, through
    `metrics.filters.AccountList`), with their arguments (the stale records, which the demo
    company has none of: tests/test_app_metrics.py). The churn, overview and renewals pages
    sum the renewal lists after restricting them (`renewals.summary_of`,
    `renewals.by_quarter_of`)."""
    from cs_analytics.metrics import accounts, signals, team

    quarter = P.period_containing("quarter", END)
    return {
        "portfolio_at_risk": (team.portfolio, {"bands": ("warning", "danger")}),
        "signals": (signals.signals_on, {}),
        "qbr_candidates": (accounts.qbr_candidates, {"first_day": quarter.start_date,
                                                      "last_day": END}),
        "churned_accounts": (churn.churned_accounts, {"period": P.period_containing("year",
                                                                                    END)}),
        "renewals_due": (renewals.due_in, {"period": P.period_containing("year", END)}),
        "renewals_ahead": (renewals.contracts_due, {"first_day": quarter.start_date,
                                                    "last_day": END + dt.timedelta(days=365)}),
        "notice_radar": (renewals.notice_radar, {"days": 60}),
        "renewal_reminders": (renewals.reminders, {"min_days": 30, "max_days": 90}),
        "declined": (health_summary.declined, {"min_drop": 5.0}),
        "signal_keys": (signals.keys_on, {}),
        "account_picker": (accounts.account_list, {}),  # the account page's picker
    }


@pytest.mark.parametrize("name", list(_lists_read_restricted()))
def test_a_list_restricted_to_the_filtered_accounts_is_the_filtered_list(snap, name):
    """The pages compute these lists once per snapshot and restrict them on each filter
    change: the rows, their order, values and types must be what the filtered query gives —
    for each kind of filter, together, and for a filter that selects nothing."""
    from cs_analytics.metrics.filters import AccountList

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
        restricted = AccountList(snap, whole).restricted(filters)
        assert list(restricted.columns) == list(expected.columns)
        if expected.empty:  # (DuckDB types an empty result's text columns as objects)
            assert restricted.empty, (name, filters)
            continue
        assert restricted.equals(expected), (name, filters)
        assert list(restricted.dtypes) == list(expected.dtypes), (name, filters)
        assert restricted.index.equals(expected.index)


def _owner_summary_in_sql(snap, filters):
    """The owner summary as one SQL query (what `team.owner_summary` computed before it
    summed rows held in memory): the reference it is held to."""
    from cs_analytics.config import SEGMENTS
    from cs_analytics.metrics.team import _active_cte, _optional

    where, params = condition(filters, snap, "a.account_id")
    seg = ", ".join(f"count(*) FILTER (WHERE s.segment = '{x}') AS segment_{x}" for x in SEGMENTS)
    band = ", ".join(f"count(*) FILTER (WHERE h.band = '{b}') AS {b}" for b in BANDS)
    return snap.query(f"""
        WITH {_active_cte()},
        health AS ({_optional(snap, "fct_health_current", "band, last_contact_date")}),
        segments AS ({_optional(snap, "fct_segment_current", "segment")}),
        signals AS ({_optional(snap, "fct_signals_current", "signal")}),
        signal_counts AS (
            SELECT account_id, count(*) AS n,
                   count(*) FILTER (WHERE signal = 'no_contact_60d') AS no_contact
            FROM signals GROUP BY account_id
        ),
        portfolio AS (
            SELECT a.owner_id, count(*) AS accounts, sum(x.mrr) AS mrr, {seg}, {band},
                   count(*) FILTER (WHERE h.band IS NULL) AS no_score,
                   count(*) FILTER (WHERE sc.n > 0) AS accounts_with_signals,
                   coalesce(sum(sc.n), 0) AS signals,
                   count(*) FILTER (WHERE sc.no_contact > 0) AS accounts_no_contact,
                   avg(p.as_of - h.last_contact_date) AS avg_days_since_contact,
                   max(p.as_of - h.last_contact_date) AS max_days_since_contact
            FROM active x
            JOIN accounts a USING (account_id)
            CROSS JOIN params p
            LEFT JOIN health h USING (account_id)
            LEFT JOIN segments s USING (account_id)
            LEFT JOIN signal_counts sc USING (account_id)
            WHERE {where}
            GROUP BY a.owner_id
        )
        SELECT u.user_id AS owner_id, coalesce(u.name, u.user_id) AS owner_name, u.role,
               u.capacity, coalesce(p.accounts, 0) AS accounts,
               CASE WHEN u.capacity > 0 THEN coalesce(p.accounts, 0) / u.capacity END
                   AS utilization,
               coalesce(p.mrr, 0) AS mrr, 12 * coalesce(p.mrr, 0) AS arr,
               {", ".join(f"coalesce(p.segment_{x}, 0) AS segment_{x}" for x in SEGMENTS)},
               {", ".join(f"coalesce(p.{b}, 0) AS {b}" for b in BANDS)},
               coalesce(p.no_score, 0) AS no_score,
               coalesce(p.accounts_with_signals, 0) AS accounts_with_signals,
               coalesce(p.signals, 0) AS signals,
               coalesce(p.accounts_no_contact, 0) AS accounts_no_contact,
               p.avg_days_since_contact, p.max_days_since_contact
        FROM users u
        LEFT JOIN portfolio p ON p.owner_id = u.user_id
        WHERE p.owner_id IS NOT NULL
           OR (u.capacity > 0 AND coalesce(u.active, true) AND $all_owners)
        ORDER BY owner_name, owner_id
    """, {**params, "all_owners": filters is None or filters.is_empty})


@pytest.mark.parametrize("filters", ARRAY_FILTERS)
def test_the_owner_summary_is_the_filtered_portfolios_grouped_by_owner(snap, filters):
    """The team page's table: every column, its type and the owners listed (those with a free
    capacity only without a filter) are what the SQL grouping gives."""
    from cs_analytics.metrics import team

    filters = _resolved(snap, filters)
    got, expected = team.owner_summary(snap, filters), _owner_summary_in_sql(snap, filters)
    assert list(got.columns) == list(expected.columns)
    if expected.empty:  # (DuckDB types an empty result's text columns as objects)
        assert got.empty and not _selects_someone(filters)
        return
    assert got.equals(expected), filters
    assert list(got.dtypes) == list(expected.dtypes)
