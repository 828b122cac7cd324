"""Revenue and churn metrics on the generated demo company: plausible numbers (the strategy's
~21% two-year churn, NRR near 100%), invariants, and the `metrics` table a user reads."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.metrics import churn, revenue
from cs_analytics.metrics import periods as P
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
