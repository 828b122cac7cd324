"""What an executive reads (SPEC §4 "Comparisons and targets"): to-date periods and their
like-for-like previous and year-ago periods, targets judged on their basis, the two-year churn
rate's group and 90% Wilson interval, the accounts behind each movement, and the `metrics`
command that says the same. Every expected value is computed by hand."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from conftest import contract
from cs_analytics.cli import main
from cs_analytics.config import ConfigError, Target, settings_from_dict
from cs_analytics.metrics import comparisons, contributors, headline, intervals
from cs_analytics.metrics import periods as P
from cs_analytics.metrics import targets as target_rules

D = dt.date.fromisoformat
Q2_2025 = P.parse_quarter("2025Q2")


def approx(value):
    return pytest.approx(value, rel=0, abs=1e-9)


# ---------------------------------------------------------------------------- periods


@pytest.mark.parametrize("day, months, expected", [
    ("2026-12-07", -3, "2026-09-07"),
    ("2026-05-31", -3, "2026-02-28"),   # clamped to the month's end
    ("2024-05-31", -3, "2024-02-29"),   # leap year
    ("2026-11-30", -3, "2026-08-30"),   # the same day, not the month's end
    ("2026-03-15", -12, "2025-03-15"),
])
def test_shift_day_keeps_the_day_of_month_clamped(day, months, expected):
    assert P.shift_day(D(day), months) == D(expected)


def test_to_date_quarter_and_its_like_for_like_comparisons():
    quarter = P.parse_quarter("2026Q4")
    as_of = D("2026-12-07")
    assert not P.is_complete(quarter, as_of)
    assert (P.days_elapsed(quarter, as_of), P.days_in(quarter)) == (68, 92)
    previous, day = P.compared(quarter, as_of, "previous")
    assert (previous.label, day) == ("2026Q3", D("2026-09-07"))
    year_ago, day = P.compared(quarter, as_of, "year_ago")
    assert (year_ago.label, day) == ("2025Q4", D("2025-12-07"))
    # a complete period is compared with whole periods, measured on as_of
    q3 = P.parse_quarter("2026Q3")
    assert P.compared(q3, as_of, "previous") == (P.parse_quarter("2026Q2"), as_of)
    assert P.last_complete("quarter", as_of).label == "2026Q3"
    assert P.last_complete("quarter", D("2026-09-30")).label == "2026Q3"


# ---------------------------------------------------------------------------- like for like

# As of 2025-05-10, 2025Q2 has run 40 of 91 days (Apr 1 – May 10).
#   a1 ¥100k all along; a2 ¥50k until 2025-02-20 (nothing follows: churn in February);
#   a3 ¥30k from 2025-02-15; a4 ¥20k from 2025-04-05; a5 ¥40k from 2024-05-01;
#   a6 ¥10k from 2024-05-15.
LIKE_FOR_LIKE = [
    contract("a1", "a1", "2024-01-01", "2025-12-31", mrr=100_000),
    contract("a2", "a2", "2024-01-01", "2025-02-20", mrr=50_000),
    contract("a3", "a3", "2025-02-15", "2025-12-31", mrr=30_000),
    contract("a4", "a4", "2025-04-05", "2025-12-31", mrr=20_000),
    contract("a5", "a5", "2024-05-01", "2025-12-31", mrr=40_000),
    contract("a6", "a6", "2024-05-15", "2025-12-31", mrr=10_000),
]


@pytest.fixture
def to_date(make_snapshot):
    return make_snapshot(contracts=LIKE_FOR_LIKE, as_of="2025-05-10")


def test_previous_of_a_to_date_quarter_is_measured_on_the_same_day(to_date):
    result = comparisons.compare(to_date, Q2_2025)
    now, before, year_ago = result["current"], result["previous"], result["year_ago"]
    assert (now["complete"], now["days_elapsed"], now["days_in_period"]) == (False, 40, 91)
    # Current: start (Mar 31) a1 + a3 + a5 + a6 = 180k; on May 10 + a4 = 200k; new a4 +20k.
    assert now["kpis"]["mrr"] == 200_000 and now["kpis"]["new"] == 20_000
    assert now["kpis"]["nrr"] == approx(1.0)
    # Previous: 2025Q1 as if it were Feb 10 (41 of 90 days). Stock on Feb 10: a2 has not
    # ended yet, a3 has not started: a1 + a2 + a5 + a6 = 200k; no movement in Jan 1 – Feb 10.
    assert (before["label"], before["as_of"], before["complete"]) == ("2025Q1", D("2025-02-10"),
                                                                       False)
    assert (before["days_elapsed"], before["days_in_period"]) == (41, 90)
    k = before["kpis"]
    assert (k["mrr"], k["customers"], k["new"], k["churn"]) == (200_000, 4, 0, 0)
    assert k["period_end"] == "2025-02-10"
    # The whole 2025Q1 would say 180k, new +30k (a3), churn −50k (a2): not like for like.
    whole = comparisons.compare(to_date, P.parse_quarter("2025Q1"))["current"]["kpis"]
    assert (whole["mrr"], whole["new"], whole["churn"]) == (180_000, 30_000, -50_000)
    # Year ago: 2024Q2 as if it were 2024-05-10. Start (Mar 31) a1 + a2 = 150k; a5 started
    # May 1 (new +40k), a6 on May 15 not yet: 190k.
    assert (year_ago["label"], year_ago["as_of"]) == ("2024Q2", D("2024-05-10"))
    k = year_ago["kpis"]
    assert (k["mrr"], k["new"], k["customers"]) == (190_000, 40_000, 3)
    assert k["nrr"] == approx(1.0) and k["logo_churn_rate"] == 0.0


def test_ttm_targets_judge_the_trailing_twelve_months_not_the_quarter(to_date):
    settings = settings_from_dict({"targets": {
        "nrr_quarter": {"metric": "nrr", "value": 0.95, "basis": "quarter",
                        "direction": "at_least"},
        "logo_month": {"metric": "logo_churn_rate", "value": 0.05, "basis": "month",
                       "direction": "at_most"}}})
    result = comparisons.compare(to_date, Q2_2025, settings=settings)
    # TTM at May 2025: a = May 2024 (its last day): a1 100k, a2 50k, a5 40k, a6 10k = 200k;
    # on May 10, 2025: a1 100k, a2 0, a5 40k, a6 10k = 150k. NRR = GRR = 75%.
    ttm = result["current"]["ttm"]
    assert ttm["label"] == "TTM 2025-05"
    assert ttm["kpis"]["nrr"] == approx(0.75) and ttm["kpis"]["grr"] == approx(0.75)
    judged = {row["name"]: row for row in result["targets"]}
    assert judged["nrr"]["measured"] == approx(0.75) and judged["nrr"]["met"] is False
    assert judged["nrr"]["on"] == "TTM 2025-05" and judged["nrr"]["basis"] == "ttm"
    assert judged["grr"]["met"] is False        # 75% < 90%
    # The quarter's own NRR (100%) meets only the quarterly target configured for it.
    assert judged["nrr_quarter"]["measured"] == approx(1.0) and judged["nrr_quarter"]["met"]
    assert judged["nrr_quarter"]["on"] == "2025Q2"
    # A monthly target does not judge a quarter.
    assert judged["logo_month"]["applies"] is False and judged["logo_month"]["met"] is None
    # The two-year target is judged on the two-year churn rate: nobody is eligible yet.
    assert judged["two_year_churn_rate"]["measured"] is None
    assert judged["two_year_churn_rate"]["met"] is None


def test_target_direction_and_chart_lines():
    at_most = Target(metric="two_year_churn_rate", value=0.10, basis="two_year",
                     direction="at_most")
    assert target_rules.met(0.10, at_most) and not target_rules.met(0.1001, at_most)
    assert target_rules.met(None, at_most) is None
    defaults = settings_from_dict({}).targets
    assert target_rules.line_value(defaults, "nrr", "ttm") == 1.10
    assert target_rules.line_value(defaults, "nrr", "quarter") is None  # no quarterly goal
    assert target_rules.line_value(defaults, "logo_churn_rate", "quarter") is None


def test_target_settings_say_their_basis():
    targets = settings_from_dict({"targets": {"nrr": {"value": 1.2}}}).targets
    assert targets["nrr"] == Target("nrr", 1.2, "ttm", "at_least")   # other keys kept
    with pytest.raises(ConfigError, match="targets now say their basis"):
        settings_from_dict({"targets": {"nrr_min": 1.1}})
    with pytest.raises(ConfigError, match="targets.nrr.basis: expected for nrr one of ttm"):
        settings_from_dict({"targets": {"nrr": {"basis": "two_year"}}})
    with pytest.raises(ConfigError, match="targets.x.metric"):
        settings_from_dict({"targets": {"x": {"value": 1, "basis": "ttm",
                                              "direction": "at_least"}}})
    off = settings_from_dict({"targets": {"grr": {"enabled": False}}}).targets
    assert [r["name"] for r in target_rules.judge(off, "quarter", {
        "ttm": {"kpis": {"nrr": 1.0}, "label": "TTM"}, "kpis": {},
        "two_year": {"rate": None, "month": D("2025-05-01")}, "label": "Q"})] == [
        "nrr", "two_year_churn_rate"]


# ---------------------------------------------------------------------------- small samples


def test_wilson_interval_by_hand():
    # 3 of 18 at 90% (z = 1.644854): centre 0.210218, half-width 0.141577.
    low, high = intervals.wilson_interval(3, 18)
    assert low == pytest.approx(0.068641, abs=1e-6)
    assert high == pytest.approx(0.351804, abs=1e-6)
    # "0.0%" on 3 customers: z²/2n = 0.450924, 1 + z²/n = 1.901848 → centre = half-width
    # = 0.237098, so the interval runs up to 47.4%.
    low, high = intervals.wilson_interval(0, 3)
    assert low == 0.0 and high == pytest.approx(0.474196, abs=1e-6)
    assert intervals.wilson_interval(5, 5)[1] == 1.0
    assert intervals.wilson_interval(0, 0) is None
    assert intervals.is_small(29) and not intervals.is_small(30)


def test_two_year_churn_says_its_group_and_interval(make_snapshot):
    """Four customers start in 2023 (M = 2025-12, window 2023-01 … 2023-12); one churns
    within two years: 1 of 4, a small sample with its 90% interval."""
    snap = make_snapshot(contracts=[
        contract("c1", "c1", "2023-01-01", "2025-12-31", mrr=10_000),
        contract("c2", "c2", "2023-03-01", "2024-06-30", mrr=10_000),
        contract("c3", "c3", "2023-06-01", "2025-12-31", mrr=10_000),
        contract("c4", "c4", "2023-12-01", "2025-12-31", mrr=10_000),
    ], as_of="2025-12-31")
    two_year = comparisons.compare(snap, P.parse_quarter("2025Q4"))["current"]["two_year"]
    assert (two_year["churned"], two_year["customers"]) == (1, 4)
    assert two_year["rate"] == 0.25 and two_year["small_sample"]
    assert two_year["ci90"] == pytest.approx(intervals.wilson_interval(1, 4))
    assert (two_year["cohort_first_month"], two_year["cohort_last_month"]) == (
        D("2023-01-01"), D("2023-12-01"))


# ---------------------------------------------------------------------------- why it moved


@pytest.fixture
def moved(make_snapshot):
    """2025Q1: x1 +50k expansion (Feb); x2 +5k in Jan and +5k in Mar; x3 −10k contraction in
    Feb (its upsell ended Jan 31, reason 予算削減); x4 churns in Feb (−60k, contract reason
    施策終了・中止); x5 churns in Feb (−30k, only the account's reason 機能不足)."""
    return make_snapshot(
        accounts=[{"account_id": a, "name": f"社{a}", "owner_id": "u1"}
                  for a in ("x1", "x2", "x3", "x4")]
        + [{"account_id": "x5", "name": "社x5", "owner_id": "u2", "churn_reason": "機能不足"}],
        users=[{"user_id": "u1", "name": "佐藤"}, {"user_id": "u2", "name": "鈴木"}],
        contracts=[
            contract("x1", "x1", "2024-01-01", "2025-12-31", mrr=100_000),
            contract("x1-up", "x1", "2025-02-01", "2025-12-31", mrr=50_000),
            contract("x2", "x2", "2024-01-01", "2025-12-31", mrr=20_000),
            contract("x2-up1", "x2", "2025-01-01", "2025-12-31", mrr=5_000),
            contract("x2-up2", "x2", "2025-03-01", "2025-12-31", mrr=5_000),
            contract("x3", "x3", "2024-01-01", "2025-12-31", mrr=40_000),
            contract("x3-up", "x3", "2024-06-01", "2025-01-31", mrr=10_000,
                     churn_reason="予算削減"),
            contract("x4", "x4", "2024-01-01", "2025-02-15", mrr=60_000,
                     churn_reason="施策終了・中止"),
            contract("x5", "x5", "2024-01-01", "2025-01-31", mrr=30_000),
        ], as_of="2025-06-30")


def test_top_contributors_per_movement_by_hand(moved):
    frame = contributors.top_contributors(moved, P.parse_quarter("2025Q1"))
    rows = [(r["movement"], r["rank"], r["account_id"], r["amount"], round(r["share"], 6),
             round(r["cumulative_share"], 6), r["months"], r["movement_total"], r["accounts"])
            for r in frame.to_dict("records")]
    assert rows == [
        ("expansion", 1, "x1", 50_000, 0.833333, 0.833333, 1, 60_000, 2),
        ("expansion", 2, "x2", 10_000, 0.166667, 1.0, 2, 60_000, 2),
        ("contraction", 1, "x3", -10_000, 1.0, 1.0, 1, -10_000, 1),
        ("churn", 1, "x4", -60_000, 0.666667, 0.666667, 1, -90_000, 2),
        ("churn", 2, "x5", -30_000, 0.333333, 1.0, 1, -90_000, 2),
    ]
    reasons = dict(zip(frame["account_id"], frame["reason"]))
    assert reasons["x3"] == "予算削減" and reasons["x4"] == "施策終了・中止"
    assert reasons["x5"] == "機能不足"                  # the account's reason for a churn
    assert frame.set_index("account_id").loc["x5", "owner_name"] == "鈴木"
    top1 = contributors.top_contributors(moved, P.parse_quarter("2025Q1"), top=1)
    assert list(top1["account_id"]) == ["x1", "x3", "x4"]
    assert list(top1["accounts"]) == [2, 1, 2]          # how many accounts in all


def test_top_of_a_restricted_list_is_the_filtered_top(moved):
    """The overview ranks the unfiltered list restricted to the filtered accounts: the same
    rows as the filtered query (shares of the filtered movement totals)."""
    from cs_analytics.metrics import Filters

    quarter = P.parse_quarter("2025Q1")
    every = contributors.movement_accounts(moved, quarter)
    restricted = contributors.top_of(every[every["owner_id"] == "u1"].reset_index(drop=True))
    filtered = contributors.top_contributors(moved, quarter, Filters(owner_ids=("u1",)))
    assert restricted.to_dict("records") == filtered.to_dict("records")
    churn = filtered[filtered["movement"] == "churn"].iloc[0]
    assert (churn["account_id"], churn["share"], churn["accounts"]) == ("x4", 1.0, 1)


# ---------------------------------------------------------------------------- the CLI


def test_headline_and_metrics_json_carry_the_comparisons(to_date, make_snapshot, tmp_path,
                                                        monkeypatch):
    values = headline(to_date, Q2_2025, settings=settings_from_dict({}))
    assert (values["period_complete"], values["days_elapsed"], values["days_in_period"]) == (
        False, 40, 91)
    assert values["previous"]["mrr"] == 200_000 and values["previous"]["new"] == 0
    assert values["previous"]["period_end"] == "2025-02-10"
    assert values["year_ago"]["mrr"] == 190_000
    assert values["targets"]["nrr"]["measured"] == approx(0.75)
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(make_snapshot.home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    result = CliRunner().invoke(main, ["metrics", "--period", "quarter", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    for key in ("period_complete", "days_elapsed", "days_in_period", "previous", "year_ago",
                "two_year_churn_customers", "two_year_churn_churned", "two_year_churn_ci90",
                "targets"):
        assert key in shown, key
    for key in ("mrr", "arr", "customers", "nrr", "grr", "logo_churn_rate", "new",
                "expansion", "contraction", "churn", "reactivation"):
        assert key in shown["previous"] and key in shown["year_ago"], key
    assert shown["targets"]["nrr"] == {"metric": "nrr", "value": 1.1, "basis": "ttm",
                                       "direction": "at_least", "on": "TTM 2025-05",
                                       "measured": pytest.approx(0.75), "met": False}
    assert shown["two_year_churn_ci90"] is None and shown["two_year_churn_customers"] == 0
    table = CliRunner().invoke(main, ["metrics", "--period", "quarter"],
                               catch_exceptions=False).stdout
    assert "2025Q2 to date, 40 of 91 days" in table
    assert "previous 2025Q1 to date, 41 of 90 days" in table
    assert "year ago 2024Q2 to date, 40 of 91 days" in table
    assert "nrr: nrr ≥ 110.0% on ttm (TTM 2025-05): 75.0% — missed" in table
