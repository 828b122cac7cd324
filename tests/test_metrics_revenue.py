"""Revenue metrics API (metrics/revenue.py) and the `metrics` / `movements` commands, on small
snapshots whose numbers are computed by hand (SPEC §4)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from click.testing import CliRunner

from conftest import build_snapshot, contract
from cs_analytics.cli import main
from cs_analytics.config import Settings
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import Filters, churn, headline, revenue
from cs_analytics.metrics import periods as P

D = dt.date.fromisoformat
Q1_2025 = P.parse_quarter("2025Q1", 1)


def approx(value):
    return pytest.approx(value, rel=0, abs=1e-9)


# ---------------------------------------------------------------------------- period metrics


def test_nrr_above_100_percent_from_expansion(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("a1-base", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
        contract("a1-up", "a1", "2025-02-01", "2025-12-31", mrr=50_000, type="upsell"),
        contract("a2", "a2", "2024-06-01", "2025-12-31", mrr=50_000),
    ], as_of="2025-06-30")
    k = revenue.kpis(snap, Q1_2025)
    assert list(k) == list(revenue.KPI_KEYS)
    assert k["mrr"] == 200_000 and k["arr"] == 2_400_000 and k["customers"] == 2
    assert (k["new"], k["expansion"], k["contraction"], k["churn"], k["reactivation"]) == \
        (0, 50_000, 0, 0, 0)
    assert k["nrr"] == approx(200_000 / 150_000)
    assert k["grr"] == approx(1.0)
    assert k["net_mrr_churn"] == approx(1 - 200_000 / 150_000)
    assert k["gross_mrr_churn"] == approx(0.0)
    assert k["logo_churn_rate"] == 0.0
    assert k["quick_ratio"] is None          # nothing lost: no denominator
    assert (k["period_start"], k["period_end"], k["as_of"]) == \
        ("2025-01-01", "2025-03-31", "2025-06-30")


@pytest.fixture
def mixed(make_snapshot):
    """Q1 2025 base (Dec 2024): a1 ¥100k, a2 ¥100k, a3 ¥20k. In the quarter a1 expands to
    ¥150k, a2 contracts to ¥40k, a3 churns, a5 (churned in Nov 2024) comes back at ¥30k and a4
    joins in January and leaves in March."""
    return make_snapshot(contracts=[
        contract("a1", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
        contract("a1-up", "a1", "2025-02-01", "2025-12-31", mrr=50_000, type="upsell"),
        contract("a2", "a2", "2024-01-01", "2025-01-31", mrr=100_000),
        contract("a2-down", "a2", "2025-02-01", "2025-12-31", mrr=40_000, type="renewal"),
        contract("a3", "a3", "2024-03-01", "2025-02-28", mrr=20_000),
        contract("a5-old", "a5", "2024-01-01", "2024-10-31", mrr=10_000),
        contract("a5-back", "a5", "2025-03-01", "2025-12-31", mrr=30_000, type="new"),
        # 2 month-ends (Jan 31, Feb 28) → ¥100,000 a month; not active on Mar 31.
        contract("a4", "a4", "2025-01-10", "2025-03-20", amount=200_000),
    ], as_of="2025-06-30")


def test_grr_is_capped_per_account_and_movements_add_up(mixed):
    k = revenue.kpis(mixed, Q1_2025)
    base = 220_000
    assert k["nrr"] == approx((150_000 + 40_000 + 0) / base)
    # Not (min of totals): a1's expansion does not offset a2's contraction.
    assert k["grr"] == approx((100_000 + 40_000 + 0) / base)
    assert k["gross_mrr_churn"] == approx(80_000 / base)
    assert k["net_mrr_churn"] == approx(30_000 / base)
    assert k["logo_churn_rate"] == approx(1 / 3)
    assert (k["new"], k["expansion"], k["contraction"], k["churn"], k["reactivation"]) == \
        (100_000, 50_000, -60_000, -120_000, 30_000)
    assert k["quick_ratio"] == approx((100_000 + 50_000 + 30_000) / (60_000 + 120_000))
    assert k["mrr"] == 150_000 + 40_000 + 30_000 and k["customers"] == 3


def test_a_customer_joining_and_churning_in_the_quarter_is_in_the_bridge_only(mixed):
    totals = revenue.movement_totals(mixed, Q1_2025)
    assert totals["start_mrr"] == 220_000 and totals["mrr"] == 220_000
    assert totals["start_mrr"] + sum(totals[m] for m in revenue.MOVEMENTS) == totals["mrr"]
    assert (totals["new_count"], totals["churn_count"]) == (1, 2)
    new = revenue.movement_accounts(mixed, Q1_2025, "new")
    assert new[["account_id", "mrr_before", "mrr_after", "amount"]].values.tolist() == \
        [["a4", 0, 100_000, 100_000]]
    churned = revenue.movement_accounts(mixed, Q1_2025, "churn")
    assert [(r.account_id, r.month.strftime("%Y-%m"), r.amount)
            for r in churned.itertuples()] == [("a4", "2025-03", -100_000),
                                               ("a3", "2025-03", -20_000)]
    assert set(churned.columns) >= {"name", "owner_id", "owner_name"}


def test_period_metrics_for_months_and_ttm(mixed):
    months = [P.month_period(D(m)) for m in ("2025-01-01", "2025-02-01", "2025-03-01")]
    frame = revenue.period_metrics(mixed, months)
    assert frame["mrr"].tolist() == [320_000, 310_000, 220_000]
    assert frame["start_mrr"].tolist() == [220_000, 320_000, 310_000]
    # February: a2 100k → 40k (contraction), a1 +50k; base = a1, a2, a3, a4 (¥320k).
    feb = frame.iloc[1]
    assert feb["nrr"] == approx((150_000 + 40_000 + 20_000 + 100_000) / 320_000)
    assert feb["grr"] == approx((100_000 + 40_000 + 20_000 + 100_000) / 320_000)
    ttm = revenue.period_metrics(mixed, [P.ttm(D("2025-03-01"))]).iloc[0]
    # a = March 2024: a1 100k, a2 100k, a3 20k, a5 10k.
    assert ttm["base_customers"] == 4 and ttm["base_mrr"] == 230_000
    assert ttm["nrr"] == approx((150_000 + 40_000 + 0 + 30_000) / 230_000)
    assert ttm["grr"] == approx((100_000 + 40_000 + 0 + 10_000) / 230_000)


def test_rates_are_none_without_a_base(make_snapshot):
    snap = make_snapshot(contracts=[contract("c", "a1", "2025-02-01", "2025-12-31", mrr=1_000)],
                         as_of="2025-03-31")
    k = revenue.kpis(snap, Q1_2025)
    assert k["nrr"] is None and k["grr"] is None and k["logo_churn_rate"] is None
    assert k["gross_mrr_churn"] is None and k["net_mrr_churn"] is None
    assert k["new"] == 1_000 and k["quick_ratio"] is None


def test_a_snapshot_without_contracts_has_zero_mrr_and_no_rates(make_snapshot):
    snap = make_snapshot(accounts=[{"account_id": "a1", "name": "A", "owner_id": "u1"}],
                         as_of="2025-06-30")
    k = headline(snap, P.period_containing("quarter", snap.as_of))
    assert (k["mrr"], k["customers"], k["new"], k["churn"]) == (0, 0, 0, 0)
    assert k["nrr"] is None and k["two_year_churn_rate"] is None and k["quick_ratio"] is None
    assert revenue.cohort_table(snap).empty
    assert snap.scalar("SELECT count(*) FROM fct_mrr_monthly") == 0


def test_retention_trend_by_quarter_and_ttm(mixed):
    quarters = revenue.retention_trend(mixed, "quarter", 3)
    assert quarters["label"].tolist() == ["2024Q4", "2025Q1", "2025Q2"]
    q1 = quarters.iloc[1]
    assert q1["nrr"] == approx(190_000 / 220_000) and q1["grr"] == approx(140_000 / 220_000)
    ttm = revenue.retention_trend(mixed, "ttm", 2)
    assert ttm["label"].tolist() == ["TTM 2025-05", "TTM 2025-06"]


def test_mrr_trend_matches_the_monthly_totals_table(mixed):
    trend = revenue.mrr_trend(mixed, D("2024-01-01"), D("2025-06-01"))
    table = mixed.query("SELECT * FROM fct_mrr_monthly ORDER BY month")
    assert trend["mrr"].tolist() == table["mrr"].tolist()
    assert trend["previous_mrr"].tolist() == table["previous_mrr"].tolist()
    for kind in revenue.MOVEMENTS:
        assert trend[kind].tolist() == table[kind].tolist()
        assert trend[f"{kind}_count"].tolist() == table[f"{kind}_count"].tolist()
    assert (trend["arr"] == 12 * trend["mrr"]).all()


def test_a_period_after_the_as_of_date_is_an_error(mixed):
    with pytest.raises(CsAnalyticsError, match="starts after the as-of date"):
        revenue.kpis(mixed, P.parse_quarter("2025Q3", 1))
    with pytest.raises(CsAnalyticsError, match="movement 'upsell'"):
        revenue.movement_accounts(mixed, Q1_2025, "upsell")


# ---------------------------------------------------------------------------- as-of dates

ASOF_ROWS = [
    contract("a1", "a1", "2024-01-01", "2025-02-10", mrr=100_000),
    contract("a2", "a2", "2024-06-15", "2026-06-14", amount=2_400_000),
    contract("a2-up", "a2", "2025-02-12", "2026-06-14", mrr=5_000),
    contract("a3", "a3", "2025-02-05", "2026-02-04", mrr=7_000),
    contract("a4", "a4", "2023-01-01", "2024-12-31", mrr=9_000),
    contract("a4-late", "a4", "2025-01-20", "2025-12-31", mrr=9_500),
]


@pytest.mark.parametrize("as_of", ["2025-02-11", "2025-02-04", "2025-01-31", "2024-11-30"])
def test_an_earlier_as_of_equals_a_snapshot_built_for_that_date(tmp_path, as_of):
    later = build_snapshot(tmp_path / "later", contracts=ASOF_ROWS, as_of="2025-06-30")
    direct = build_snapshot(tmp_path / "direct", contracts=ASOF_ROWS, as_of=as_of)
    day = D(as_of)
    for kind in ("month", "quarter", "year", "ttm"):
        period = P.period_containing(kind, day, 1)
        assert revenue.kpis(later, period, as_of=day) == revenue.kpis(direct, period)
    recomputed = revenue.mrr_trend(later, D("2023-01-01"), day, as_of=day)
    assert recomputed.to_dict("records") == \
        revenue.mrr_trend(direct, D("2023-01-01"), day).to_dict("records")
    # Two-year churn: the account life table of the later snapshot, recomputed by its macro.
    months = [P.add_months(day.replace(day=1), -i) for i in range(3)]
    assert churn.two_year_churn_trend(later, months, as_of=day).equals(
        churn.two_year_churn_trend(direct, months))
    assert churn.two_year_churn_by_cohort(later, as_of=day).equals(
        churn.two_year_churn_by_cohort(direct))


def test_an_as_of_after_the_snapshot_is_refused(mixed):
    with pytest.raises(CsAnalyticsError, match="after this snapshot's data as-of 2025-06-30"):
        revenue.kpis(mixed, Q1_2025, as_of=D("2025-07-01"))


# ---------------------------------------------------------------------------- filters


@pytest.fixture
def owned(make_snapshot):
    users = [{"user_id": "u1", "name": "佐藤"}, {"user_id": "u2", "name": "鈴木"}]
    accounts = [
        {"account_id": "a1", "name": "さくら商事", "owner_id": "u1", "industry": "金融"},
        {"account_id": "a2", "name": "青葉製作所", "owner_id": "u2", "industry": "製造"},
        {"account_id": "a3", "name": "北斗病院", "owner_id": "u2", "industry": "医療"},
    ]
    return make_snapshot(users=users, accounts=accounts, contracts=[
        contract("c1", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
        contract("c2", "a2", "2024-01-01", "2025-01-31", mrr=50_000),
        contract("c3", "a3", "2024-01-01", "2025-12-31", mrr=30_000),
    ], as_of="2025-03-31")


def test_owner_and_industry_filters(owned):
    mine = revenue.kpis(owned, Q1_2025, Filters(owner_ids=["u2"]))
    assert mine["mrr"] == 30_000 and mine["churn"] == -50_000
    assert mine["logo_churn_rate"] == approx(0.5)
    finance = revenue.kpis(owned, Q1_2025, Filters(industries=("金融",)))
    assert finance["mrr"] == 100_000 and finance["customers"] == 1
    both = revenue.kpis(owned, Q1_2025, Filters(owner_ids=("u2",), industries=("医療",)))
    assert both["mrr"] == 30_000 and both["churn"] == 0
    nobody = revenue.kpis(owned, Q1_2025, Filters(owner_ids=("u9",)))
    assert nobody["mrr"] == 0 and nobody["customers"] == 0 and nobody["nrr"] is None
    drill = revenue.movement_accounts(owned, Q1_2025, "churn", Filters(owner_ids=["u2"]))
    assert drill[["account_id", "name", "owner_name"]].values.tolist() == \
        [["a2", "青葉製作所", "鈴木"]]


def test_segment_filter_reads_the_current_segments(owned):
    segments = dict(owned.rows("SELECT account_id, segment FROM fct_segment_current"))
    segment = segments["a1"]
    expected = {a for a, s in segments.items() if s == segment}
    got = revenue.mrr_trend(owned, D("2025-03-01"), D("2025-03-01"), Filters(segments=[segment]))
    mrr = {"a1": 100_000, "a2": 0, "a3": 30_000}
    assert got["mrr"].iloc[0] == sum(mrr[a] for a in expected)


def test_arpa_is_mrr_per_active_customer_at_the_period_end_filtered_and_compared(owned, tmp_path,
                                                                               monkeypatch):
    """ARPA = MRR / active customers at the period's end. 2025Q1 ends in March: a1 ¥100,000
    and a3 ¥30,000 (a2 left after January) → ¥130,000 / 2 = ¥65,000; owner u2: ¥30,000 / 1;
    the previous quarter (December: all three) ¥180,000 / 3 = ¥60,000; nobody: no value."""
    from cs_analytics.outputs.reports.kpi import kpi_report_data

    assert revenue.kpis(owned, Q1_2025)["arpa"] == approx(65_000)
    assert revenue.kpis(owned, Q1_2025, Filters(owner_ids=["u2"]))["arpa"] == approx(30_000)
    assert revenue.kpis(owned, Q1_2025, Filters(owner_ids=["u9"]))["arpa"] is None
    values = headline(owned, Q1_2025)
    assert values["arpa"] == approx(65_000) and values["previous"]["arpa"] == approx(60_000)

    report = kpi_report_data(owned, Settings(), "2025Q1", lang="en")
    row = report.headline.set_index("key").loc["arpa"]
    assert row["label"] == "ARPA (MRR per customer)" and row["kind"] == "yen"
    assert (row["value"], row["previous"], row["change"]) == (
        approx(65_000), approx(60_000), approx(5_000))

    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(owned.path.parent.parent))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    table = CliRunner().invoke(main, ["metrics", "--as-of", "2025-03-31"]).stdout
    assert [line.split()[:3] for line in table.splitlines() if "ARPA" in line] == \
        [["ARPA", "¥65,000", "¥60,000"]]
    listed = json.loads(CliRunner().invoke(
        main, ["metrics", "--as-of", "2025-03-31", "--format", "json", "--owner", "u2"]).stdout)
    assert listed["arpa"] == approx(30_000)


# ---------------------------------------------------------------------------- cohorts


def test_cohort_table_logo_and_net_mrr_retention(make_snapshot):
    snap = make_snapshot(contracts=[
        contract("c1", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
        contract("c2", "a2", "2024-03-01", "2024-08-31", mrr=50_000),       # churns Sep
        contract("c3", "a3", "2024-04-01", "2025-12-31", mrr=10_000),
        contract("c3-up", "a3", "2024-05-01", "2025-12-31", mrr=10_000),
    ], as_of="2024-10-15")
    logo = revenue.cohort_table(snap, "quarter", "logo")
    assert logo["cohort"].tolist() == ["2024Q1", "2024Q2"]
    assert logo.columns.tolist() == ["cohort", "cohort_start", "customers", "start_mrr",
                                     "+0", "+1", "+2"]
    q1 = logo.iloc[0]
    assert (q1["customers"], q1["start_mrr"]) == (2, 150_000)
    # +1: a1 in Apr, a2 in Jun (3 months after each start); +2: a1 Jul, a2 Sep (churned).
    assert (q1["+0"], q1["+1"], q1["+2"]) == (1.0, 1.0, 0.5)
    q2 = logo.iloc[1]
    assert (q2["+0"], q2["+1"], q2["+2"]) == (1.0, 1.0, 1.0)   # a3 reaches +2 in October
    mrr = revenue.cohort_table(snap, "quarter", "mrr")
    assert mrr.iloc[0]["+2"] == approx(100_000 / 150_000)
    assert mrr.iloc[1]["+1"] == approx(20_000 / 10_000)
    monthly = revenue.cohort_table(snap, "month", "logo")
    assert monthly["cohort"].tolist() == ["2024-01", "2024-03", "2024-04"]
    assert monthly.iloc[1]["+6"] == 0.0 and monthly.iloc[1].isna()["+8"]


# ---------------------------------------------------------------------------- headline


def test_headline_is_the_kpis_their_comparisons_then_the_health_band_counts(mixed):
    values = headline(mixed, Q1_2025)
    keys = list(values)
    assert keys[:len(revenue.KPI_KEYS)] == list(revenue.KPI_KEYS)
    assert keys[len(revenue.KPI_KEYS):-1] == [
        "period_complete", "days_elapsed", "days_in_period", "previous", "year_ago",
        "two_year_churn_customers", "two_year_churn_churned", "two_year_churn_ci90",
        "two_year_churn_small_sample", "targets"]
    assert keys[-1] == "health_bands"
    assert {k: values[k] for k in revenue.KPI_KEYS} == revenue.kpis(mixed, Q1_2025)
    assert values["mrr"] == 220_000
    assert values["arpa"] == approx(220_000 / 3)  # docs/metrics.md: A, B and D at b
    assert set(values["health_bands"]) == {"healthy", "caution", "warning", "danger"}


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(make_snapshot, tmp_path, monkeypatch, mixed):
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(make_snapshot.home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_metrics_json_has_the_issue_keys(cli):
    result = cli("metrics", "--period", "quarter", "--as-of", "2025-03-31", "--format", "json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert list(values)[:len(revenue.KPI_KEYS)] == list(revenue.KPI_KEYS)
    assert values["nrr"] == approx(190_000 / 220_000)
    assert values["logo_churn_rate"] == approx(1 / 3)
    assert values["period_end"] == "2025-03-31" and values["as_of"] == "2025-03-31"


def test_metrics_table_is_readable(cli):
    result = cli("metrics", "--period", "quarter", "--as-of", "2025-03-31")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "2025Q1: 2025-01-01 – 2025-03-31 (data as of 2025-03-31)" in text
    assert "¥220,000" in text and "¥2,640,000" in text
    assert "-¥120,000" in text and "-¥60,000" in text
    assert "86.4%" in text and "63.6%" in text and "33.3%" in text


def test_metrics_rejects_an_as_of_after_the_snapshot(cli):
    result = cli("metrics", "--as-of", "2025-08-01")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: as-of date 2025-08-01 is after")
    assert len(result.stderr.strip().splitlines()) == 1


def test_movements_csv_and_json(cli):
    result = cli("movements")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["account_id", "month", "mrr", "previous_mrr", "movement"]
    a1 = [r for r in rows if r["account_id"] == "a1"]
    assert a1[0] == {"account_id": "a1", "month": "2024-01", "mrr": "100000",
                     "previous_mrr": "0", "movement": "new"}
    assert a1[1]["movement"] == ""
    assert [r["month"] for r in a1] == [f"{y}-{m:02d}" for y, m in
                                       [(2024, m) for m in range(1, 13)] +
                                       [(2025, m) for m in range(1, 7)]]
    listed = json.loads(cli("movements", "--format", "json").stdout)
    assert len(listed) == len(rows)
    assert listed[0] == {"account_id": "a1", "month": "2024-01", "mrr": 100000,
                         "previous_mrr": 0, "movement": "new"}
    feb = next(r for r in listed if r["account_id"] == "a2" and r["month"] == "2025-02")
    assert (feb["mrr"], feb["previous_mrr"], feb["movement"]) == (40000, 100000, "contraction")
