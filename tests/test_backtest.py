"""The health-score backtest (metrics/backtest.py, `health backtest`, `health --history`) on
hand-built histories whose every figure is computed by hand below: evaluation days, a band's
rate and Wilson interval, the horizon's edge (a churn on day W + horizon counts, W + horizon + 1
does not), churns before W, lead time, survival, a filter restricting the population, the
renewal component as known on each Monday, and weight alternatives."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import build_snapshot, contract
from cs_analytics.app.ui import fmt, glossary
from cs_analytics.app.ui.i18n import translate
from cs_analytics.cli import main
from cs_analytics.config import HEALTH_COMPONENTS, HOME_ENV, Settings, settings_from_dict
from cs_analytics.metrics import backtest
from cs_analytics.metrics.filters import Filters, account_positions
from cs_analytics.metrics.intervals import wilson_interval
from cs_analytics.warehouse.store import Store
from test_app_common import demo_home, metric, run_page, table_with, texts, use_home  # noqa: F401

D = dt.date.fromisoformat
START = D("2024-01-01")          # a Monday: contracts and the usage export start here
AS_OF = D("2024-06-30")
MRR = 100_000.0                  # ARR 1.2M → 1 attribute point → tier low (B healthy, C danger)
ONLY_LOGINS = {"health": {"weights": {c: (1.0 if c == "logins" else 0.0)
                                      for c in HEALTH_COMPONENTS}}}
ONLY_RENEWAL = {"health": {"weights": {c: (1.0 if c == "renewal" else 0.0)
                                       for c in HEALTH_COMPONENTS}}}
Z90 = 1.6448536269514722         # the normal quantile of 0.95


def days(first: dt.date, last: dt.date):
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def logins(account_id: str, active_until: dt.date | None = None) -> list[dict]:
    """A usage row every day START..AS_OF: one login a day through `active_until` (None: no
    login at all), zero after."""
    return [{"account_id": account_id, "date": d, "deliveries": 0,
             "logins": int(active_until is not None and d <= active_until)}
            for d in days(START, AS_OF)]


def mrr_contract(account_id: str, start: dt.date, end: dt.date, n: int = 1) -> dict:
    return contract(f"{account_id}-{n}", account_id, start, end, mrr=MRR)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Seven accounts scored on logins alone (login days in the last 30: 12+ → 100 healthy,
    0–1 → danger). Weekly history from Monday 2024-01-01; with 91 days of warm-up the first
    evaluation day is Monday 2024-04-01.

      H1  healthy all along, a customer through 2024-12-31
      H2  healthy, contract ends 2024-05-15 → churn movement in May, snapshot day 05-31
      R   churned in February (snapshot day 02-29), back from 03-15, healthy after
      E   churned in February, never back: not a customer on any evaluation day
      D1  no login (danger) all along, a customer through 2024-12-31
      D2  no login, contract ends 2024-04-20 → churn in April, snapshot day 04-30
      D3  logs in daily through 04-14 (healthy), then not: danger from Monday 05-13;
          contract ends 06-10 → churn in June, whose snapshot day is the as-of date 06-30
    H* and R are owned by u1, D* by u2."""
    home = tmp_path_factory.mktemp("backtest") / "data"
    year_end = D("2024-12-31")
    contracts = [mrr_contract("H1", START, year_end), mrr_contract("H2", START, D("2024-05-15")),
                 mrr_contract("R", START, D("2024-02-20")),
                 mrr_contract("R", D("2024-03-15"), year_end, 2),
                 mrr_contract("E", START, D("2024-02-20")), mrr_contract("D1", START, year_end),
                 mrr_contract("D2", START, D("2024-04-20")),
                 mrr_contract("D3", START, D("2024-06-10"))]
    usage = (logins("H1", AS_OF) + logins("H2", AS_OF) + logins("R", AS_OF) + logins("E", AS_OF)
             + logins("D1") + logins("D2") + logins("D3", D("2024-04-14")))
    accounts = [{"account_id": a, "name": f"Account {a}", "owner_id": "u1" if a[0] in "HRE"
                 else "u2"} for a in ("H1", "H2", "R", "E", "D1", "D2", "D3")]
    return build_snapshot(home, accounts=accounts, contracts=contracts, usage=usage,
                          as_of=AS_OF, config=ONLY_LOGINS)


def run(snap, horizon: int, filters: Filters | None = None, **options) -> backtest.Backtest:
    return backtest.run(snap, backtest.Options(horizon_days=horizon, **options), filters)


def band(result: backtest.Backtest, name: str) -> dict:
    return result.bands.set_index("band").loc[name].to_dict()


# ---------------------------------------------------------------------------- population


def test_evaluation_days_are_the_mondays_from_91_days_in_to_as_of_minus_the_horizon(history):
    result = run(history, 60)
    # 2024-01-01 + 91 = 04-01 (a Monday); 06-30 − 60 = 05-01, so the last Monday is 04-29.
    assert result.history_first_day == START
    assert result.evaluation_days == [D("2024-04-01"), D("2024-04-08"), D("2024-04-15"),
                                      D("2024-04-22"), D("2024-04-29")]
    assert result.as_of == AS_OF


def test_a_bands_rate_and_its_wilson_interval(history):
    result = run(history, 60)
    # healthy: H1, H2, R, D3 on each of the 5 Mondays = 20 account-weeks; H2's 5 churned
    # (its churn snapshot day 05-31 is within 60 days of 04-01 … 04-29).
    healthy = band(result, "healthy")
    assert (healthy["n"], healthy["churned"]) == (20, 5)
    assert healthy["rate"] == 0.25
    # Wilson at 90%: centre (p + z²/2n) / (1 + z²/n), half-width z√(p(1−p)/n + z²/4n²) / (…)
    z2 = Z90 ** 2
    centre = (0.25 + z2 / 40) / (1 + z2 / 20)
    half = Z90 * math.sqrt(0.25 * 0.75 / 20 + z2 / 1600) / (1 + z2 / 20)
    assert (healthy["ci_low"], healthy["ci_high"]) == pytest.approx((centre - half,
                                                                    centre + half))
    assert (healthy["ci_low"], healthy["ci_high"]) == pytest.approx((0.1274, 0.4322), abs=1e-4)
    # danger: D1 on 5 Mondays, D2 on the 3 before its contract ended (04-01, 04-08, 04-15),
    # all 3 churned (snapshot day 04-30).
    danger = band(result, "danger")
    assert (danger["n"], danger["churned"], danger["rate"]) == (8, 3, 3 / 8)
    assert (band(result, "caution")["n"], band(result, "warning")["n"]) == (0, 0)
    assert math.isnan(band(result, "caution")["rate"])
    assert result.account_weeks == 28 and result.churned_weeks == 8
    assert result.overall_rate == 8 / 28
    assert healthy["lift"] == pytest.approx(0.25 / (8 / 28))
    assert danger["lift"] == pytest.approx((3 / 8) / (8 / 28))
    # 🟠/🔴 = danger here: 3 of its 8 weeks churned (precision); 3 of the 8 churned weeks
    # were 🟠/🔴 (recall).
    assert (result.precision, result.recall) == (3 / 8, 3 / 8)
    assert (healthy["accounts"], healthy["churned_accounts"]) == (4, 1)
    assert (danger["accounts"], danger["churned_accounts"]) == (2, 1)
    assert result.churned_accounts == 2 and result.accounts == 6


def test_the_horizon_counts_day_w_plus_horizon_and_not_the_day_after(history):
    # H2's churn snapshot day 05-31 is exactly 60 days after Monday 04-01.
    assert band(run(history, 60), "healthy")["churned"] == 5
    # With a 59-day horizon it is day W + 59 + 1 for 04-01: that week no longer churned; the
    # evaluation Mondays are the same (06-30 − 59 = 05-02).
    shorter = run(history, 59)
    assert shorter.evaluation_days == run(history, 60).evaluation_days
    assert band(shorter, "healthy")["churned"] == 4


def test_churn_before_the_day_is_not_an_outcome_and_former_customers_are_not_scored(history):
    result = run(history, 60)
    population = set(result.churns["account_id"])
    assert population == {"H2", "D2"}
    # R churned in February and is a customer again on every evaluation Monday: its 5 weeks
    # count as healthy, none churned. E churned in February for good: not in the population.
    weeks = backtest.account_weeks(history, backtest.alternatives_of(backtest.Options()))
    evaluated = np.isin(weeks.day, [(d - dt.date(1970, 1, 1)).days
                                    for d in result.evaluation_days])
    e, r = account_positions(history, np.array(["E", "R"])).tolist()
    assert not (evaluated & (weeks.account == e)).any()
    r_weeks = evaluated & (weeks.account == r)
    assert r_weeks.sum() == 5
    assert not ((weeks.next_churn[r_weeks].astype(np.int64) - weeks.day[r_weeks]) <= 60).any()


# ---------------------------------------------------------------------------- lead time


def test_lead_time_from_the_first_warning_week_to_the_churn_month(history):
    # Horizon 90: the only evaluation Monday is 04-01 (06-30 − 90 = 04-01), when H2, D2 and
    # D3 all churn within 90 days (05-31, 04-30, 06-30).
    result = run(history, 90)
    assert result.evaluation_days == [D("2024-04-01")]
    churns = result.churns.set_index("account_id")
    assert set(churns.index) == {"H2", "D2", "D3"}
    # D2 never logged in: first scored (and danger) on 02-05, the first Monday whose 30-day
    # login window the usage export covers (it starts 01-01). 04-30 − 02-05 = 85 days.
    assert churns.loc["D2", "lead_weeks"] == pytest.approx(85 / 7)
    assert churns.loc["D2", "first_warned_day"].date() == D("2024-02-05")
    # D3's last login 04-14: 1 login day in the window on Monday 05-13 (danger), 8 on 05-06.
    # 06-30 − 05-13 = 48 days.
    assert churns.loc["D3", "lead_weeks"] == pytest.approx(48 / 7)
    # H2 was healthy to the end: not warned, listed with its last score (its last Monday
    # before the contract ended on 05-15).
    assert not churns.loc["H2", "warned"]
    assert churns.loc["H2", "last_score"] == 100.0
    assert churns.loc["H2", "last_band"] == "healthy"
    assert churns.loc["H2", "last_day"].date() == D("2024-05-13")
    lead = result.lead_time
    assert (lead["warned"], lead["not_warned"]) == (2, 1)
    leads = sorted([85 / 7, 48 / 7])
    assert lead["median"] == pytest.approx(sum(leads) / 2)
    assert lead["q1"] == pytest.approx(leads[0] + 0.25 * (leads[1] - leads[0]))
    assert lead["q3"] == pytest.approx(leads[0] + 0.75 * (leads[1] - leads[0]))
    assert result.warned_churn_share == pytest.approx(2 / 3)
    counts = result.lead_time_counts.set_index("weeks")["churns"]
    assert counts.sum() == 2 and counts[12] == 1 and counts[6] == 1


# ---------------------------------------------------------------------------- survival


def test_kaplan_meier_by_band_from_each_quarters_first_evaluation_day(history):
    result = run(history, 60)
    # One quarter (2024Q2): origin Monday 04-01. Healthy H1, H2, R, D3: H2 churns after 60
    # days (05-31), D3 after 90 (06-30); danger D1, D2: D2 after 29 days (04-30).
    summary = result.survival_by_band.set_index("band")
    assert summary.loc["healthy", "origins"] == 4 and summary.loc["danger", "origins"] == 2
    assert summary.loc["healthy", "survival_at_horizon"] == pytest.approx(3 / 4)
    assert summary.loc["danger", "survival_at_horizon"] == pytest.approx(1 / 2)
    assert summary.loc["healthy", "churned"] == 1 and summary.loc["danger", "churned"] == 1
    curve = result.survival[result.survival["band"] == "healthy"]
    assert curve["survival"].iloc[0] == 1.0
    assert curve["survival"].iloc[-1] == pytest.approx(3 / 4 * 2 / 3)  # D3 at 90 days
    assert 0 < result.logrank_p <= 1


def test_survival_from_counted_rows_equals_lifelines_on_every_row():
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    rng = np.random.default_rng(3)
    origin = rng.choice([19_800, 19_891, 19_982], 600).astype(np.int32)
    churn = origin + rng.choice([30, 61, 91, 120], 600)
    next_churn = np.where(rng.random(600) < 0.3, churn, backtest._NO_CHURN).astype(np.int32)
    band = rng.integers(0, 4, 600).astype(np.int8)
    options = backtest.Options(horizon_days=91)
    curves, summary, p_value = backtest._survival(origin, band, next_churn, AS_OF, options)
    end = (AS_OF - dt.date(1970, 1, 1)).days
    event = next_churn != backtest._NO_CHURN
    duration = np.where(event, next_churn.astype(np.int64), end) - origin
    for code, name in enumerate(("healthy", "caution", "warning", "danger")):
        mine = band == code
        direct = KaplanMeierFitter(alpha=0.1).fit(duration[mine], event[mine])
        ours = curves[curves["band"] == name]
        assert ours["survival"].to_numpy() == pytest.approx(
            direct.survival_function_.iloc[:, 0].to_numpy())
        assert ours["ci_low"].to_numpy() == pytest.approx(
            direct.confidence_interval_survival_function_.iloc[:, 0].to_numpy())
        assert summary.set_index("band").loc[name, "origins"] == mine.sum()
    assert p_value == pytest.approx(multivariate_logrank_test(duration, band, event).p_value)


# ---------------------------------------------------------------------------- filters


def test_an_owner_filter_restricts_the_population(history):
    result = run(history, 60, Filters(owner_ids=("u2",)))
    # u2's accounts: D3 healthy on every evaluation Monday (not churned within 60 days), D1
    # and D2 danger; H2's churned weeks (u1) are gone.
    assert (band(result, "healthy")["n"], band(result, "healthy")["churned"]) == (5, 0)
    assert (band(result, "danger")["n"], band(result, "danger")["churned"]) == (8, 3)
    assert result.account_weeks == 13 and result.churned_accounts == 1
    assert set(result.churns["account_id"]) == {"D2"}
    assert result.precision == 3 / 8 and result.recall == 1.0
    assert run(history, 60, Filters(owner_ids=("nobody",))).account_weeks == 0


def test_a_segment_filter_uses_the_segment_held_on_the_day(history):
    # Tier low: healthy weeks are segment B, danger weeks C. D2 churned in April and has no
    # segment now; its weeks in C still count.
    result = run(history, 60, Filters(segments=("C",)))
    assert (band(result, "danger")["n"], band(result, "danger")["churned"]) == (8, 3)
    assert band(result, "healthy")["n"] == 0
    assert history.scalar("SELECT count(*) FROM fct_segment_current WHERE account_id = 'D2'") == 0
    healthy_only = run(history, 60, Filters(segments=("B",)))
    assert healthy_only.account_weeks == 20 and band(healthy_only, "healthy")["churned"] == 5


# ---------------------------------------------------------------------------- point in time


def test_the_renewal_component_is_taken_as_known_on_the_day(tmp_path):
    # Scored on renewal alone. K's contract ends 05-31 and a renewal starts 06-01: the weekly
    # history gives K 100 on every Monday (a following contract "signed"), but on 04-01 the
    # data cannot tell that it was: 60 days to the end scores 20 + 30 × 40/60 = 40 (🟠).
    contracts = [mrr_contract("K", START, D("2024-05-31")),
                 mrr_contract("K", D("2024-06-01"), D("2025-05-31"), 2)]
    snap = build_snapshot(tmp_path / "data", contracts=contracts, as_of=AS_OF,
                          usage=logins("K", AS_OF), config=ONLY_RENEWAL)
    recorded = snap.scalar("SELECT band FROM fct_health_weekly WHERE account_id = 'K' "
                           "AND snapshot_day = DATE '2024-04-01'")
    assert recorded == "healthy"
    result = run(snap, 90)
    assert result.evaluation_days == [D("2024-04-01")]
    assert band(result, "warning")["n"] == 1 and band(result, "healthy")["n"] == 0
    assert result.renewal_adjusted_weeks == 1
    renewal = result.components[result.components["component"] == "renewal"]
    assert renewal["low"].tolist() == [40.0]


# ---------------------------------------------------------------------------- components


def test_churn_by_component_quartile_keeps_equal_scores_together(history):
    result = run(history, 60)
    logins_rows = result.components[result.components["component"] == "logins"]
    # Logins scores: 100 on the 20 healthy weeks (5 churned), 0 on the 8 danger weeks (3
    # churned). Ranks: the 0s hold ranks 1–8 (middle 4/28 → quartile 1), the 100s ranks 9–28
    # (middle 18/28 → quartile 3).
    assert logins_rows[["quartile", "low", "high", "n", "churned"]].values.tolist() == [
        [1, 0.0, 0.0, 8, 3], [3, 100.0, 100.0, 20, 5]]
    assert logins_rows["rate"].tolist() == [3 / 8, 5 / 20]
    # Components without data (no activities: touchpoints, meetings) have no rows.
    assert set(result.components["component"]) >= {"logins", "renewal"}
    assert "touchpoints" not in set(result.components["component"])


# ---------------------------------------------------------------------------- evidence, weights


def test_thin_evidence_hides_the_weight_alternatives(history):
    result = run(history, 60)
    assert result.churned_accounts == 2 and not result.enough_evidence
    assert result.alternatives is None and result.carriers.empty
    assert backtest.as_json(result)["weight_alternatives"] is None


def test_a_factor_of_one_reproduces_the_score_for_every_component(history):
    result = run(history, 60, min_churned_accounts=1, weight_factors=(1.0,))
    alternatives = result.alternatives
    assert len(alternatives) == 1 + len(HEALTH_COMPONENTS)
    current = alternatives.iloc[0]
    for _, row in alternatives.iloc[1:].iterrows():
        assert (row["precision"], row["recall"], row["warned_share"]) == \
            (current["precision"], current["recall"], current["warned_share"])
    assert current["precision"] == result.precision and current["recall"] == result.recall
    assert backtest.best_alternative(alternatives) is None


def test_weight_alternatives_rescore_from_the_recorded_components(tmp_path):
    # Scored on logins and renewal, weight 1 each. A never logs in; its contract runs to 2026
    # (renewal 100): (0 + 100) / 2 = 50, caution. B logs in daily (100) and its contract ends
    # 05-10, 39 days after 04-01 (renewal 20 + 9 × 40/60 = 26): 63, caution; B churns in May.
    # Renewal × 0.5: A (0 + 50) / 1.5 = 33.3 → 🟠, B (100 + 13) / 1.5 = 75.3 → 🟢.
    # Renewal × 2: A 200 / 3 = 66.7, B (100 + 52) / 3 = 50.7: both 🟡.
    weights = {"health": {"weights": {c: (1.0 if c in ("logins", "renewal") else 0.0)
                                      for c in HEALTH_COMPONENTS}}}
    contracts = [mrr_contract("A", START, D("2026-12-31")),
                 mrr_contract("B", START, D("2024-05-10"))]
    snap = build_snapshot(tmp_path / "data", contracts=contracts, as_of=AS_OF, config=weights,
                          usage=logins("A") + logins("B", AS_OF))
    result = run(snap, 90, min_churned_accounts=1, weight_factors=(0.5, 2.0))
    assert band(result, "caution")["n"] == 2 and result.warned_weeks == 0
    alternatives = result.alternatives
    rows = alternatives.set_index(["component", "factor"])
    assert rows.loc[("renewal", 0.5), "warned_share"] == 0.5
    assert rows.loc[("renewal", 0.5), "precision"] == 0.0  # A warned, B churned
    assert rows.loc[("renewal", 2.0), "warned_share"] == 0.0
    assert rows.loc[("renewal", 0.5), "config_line"] == "renewal = 0.5"
    halved = alternatives[(alternatives["component"] == "renewal")
                          & (alternatives["factor"] == 0.5)].iloc[0].to_dict()
    assert backtest.weights_section(snap, halved).splitlines() == [
        "[health.weights]", "deliveries = 0", "logins = 1", "touchpoints = 0", "meetings = 0",
        "conversion = 0", "renewal = 0.5  # was 1"]


def test_wilson_interval():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10, 0.90)
    assert low == 0.0 and high == pytest.approx(Z90 ** 2 / 10 / (1 + Z90 ** 2 / 10))
    low, high = wilson_interval(10, 10, 0.90)
    assert high == 1.0 and low == pytest.approx(1 / (1 + Z90 ** 2 / 10))
    assert wilson_interval(5, 20, 0.95)[0] < wilson_interval(5, 20, 0.90)[0]


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_home(history, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(history.path.parent.parent))
    return history


def test_cli_backtest_json_has_the_issues_keys(cli_home):
    result = CliRunner().invoke(main, ["health", "backtest", "--horizon", "60",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"as_of", "horizon_days", "evaluation_days", "bands", "overall_rate",
                         "precision", "recall", "lead_time_weeks", "logrank_p",
                         "churned_accounts", "components"}
    assert data["as_of"] == "2024-06-30" and data["horizon_days"] == 60
    assert data["evaluation_days"][0] == "2024-04-01" and len(data["evaluation_days"]) == 5
    assert data["bands"]["healthy"]["n"] == 20 and data["bands"]["healthy"]["churned"] == 5
    assert data["bands"]["healthy"]["ci90"] == pytest.approx([0.1274, 0.4322], abs=1e-4)
    assert data["bands"]["caution"]["rate"] is None and data["bands"]["caution"]["ci90"] is None
    assert set(data["lead_time_weeks"]) == {"median", "q1", "q3", "warned", "not_warned"}
    assert data["churned_accounts"] == 2 and data["evidence"]["enough"] is False
    assert data["components"]["logins"][0]["quartile"] == 1


def test_cli_backtest_table_and_filters(cli_home):
    result = CliRunner().invoke(main, ["health", "backtest", "--horizon", "60"])
    assert result.exit_code == 0, result.output
    assert "5 evaluation Mondays 2024-04-01 – 2024-04-29" in result.stdout
    assert "fewer than 30 churned accounts" in result.stdout
    assert "H2  Account H2" in result.stdout  # churned without warning
    owner = CliRunner().invoke(main, ["health", "backtest", "--horizon", "60", "--owner", "u1",
                                      "--format", "json"])
    assert json.loads(owner.stdout)["bands"]["danger"]["n"] == 0
    assert json.loads(owner.stdout)["filters"]["owner_ids"] == ["u1"]


def test_cli_history_exports_every_monday(cli_home):
    result = CliRunner().invoke(main, ["health", "--history"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].split(",") == ["account_id", "day", "score", "band",
                                   *(f"{c}_score" for c in HEALTH_COMPONENTS),
                                   "renewal_days_score", "segment"]
    weekly = cli_home.scalar("SELECT count(*) FROM fct_health_weekly WHERE is_weekly")
    assert len(lines) - 1 == weekly
    [d2] = [line.split(",") for line in lines if line.startswith("D2,2024-04-01,")]
    row = dict(zip(lines[0].split(","), d2))
    assert (row["score"], row["band"], row["logins_score"], row["segment"]) == \
        ("0.0", "danger", "0.0", "C")
    assert row["touchpoints_score"] == "" and row["conversion_score"] == ""  # no data
    refused = CliRunner().invoke(main, ["health", "--history", "--as-of", "2024-04-01"])
    assert refused.exit_code != 0 and "--history" in refused.output


# ---------------------------------------------------------------------------- glossary, page


def test_the_glossary_defines_the_backtest_with_the_configured_values():
    settings = settings_from_dict({"backtest": {"horizon_days": 120, "min_churned_accounts": 40}})
    values = glossary.definition_values(settings)
    keys = dict(glossary.DEFINITIONS)["backtest"]
    assert {"backtest_population", "backtest_outcome", "backtest_rates", "backtest_lead_time",
            "backtest_survival", "backtest_components", "backtest_evidence",
            "backtest_weights"} <= set(keys)
    assert "120 days (the horizon)" in translate("en", "glossary.def.backtest_population",
                                                 **values)
    assert "40社未満" in translate("ja", "glossary.def.backtest_evidence", **values)
    assert "×0.5, ×2" in translate("en", "glossary.def.backtest_weights", **values)


def test_the_page_shows_the_metrics_figures_and_follows_the_owner_filter(demo_home, use_home):
    use_home(demo_home)
    snap = Store(demo_home).open_current()
    options = backtest.Options.of(Settings())
    whole = backtest.run(snap, options)
    at = run_page("score_check", "en")
    assert not at.exception and not at.error
    label = translate("en", "score_check.kpi.warned_rate", horizon=180)
    assert metric(at, label).value == fmt.pct(whole.precision)
    weeks, churned_accounts = (translate("en", "score_check.col.weeks"),
                               translate("en", "score_check.col.churned_accounts"))
    shown = table_with(at, weeks, churned_accounts)
    assert shown[weeks].tolist() == whole.bands["n"].tolist()
    assert shown[churned_accounts].tolist() == whole.bands["churned_accounts"].tolist()
    evidence = translate("en", "score_check.evidence", accounts=whole.churned_accounts,
                         churns=len(whole.churns), weeks=fmt.number(whole.account_weeks),
                         population=whole.accounts)
    assert evidence in texts(at)
    owner = snap.scalar("SELECT owner_id FROM accounts GROUP BY owner_id ORDER BY count(*) DESC "
                        "LIMIT 1")
    mine = backtest.run(snap, options, Filters(owner_ids=(owner,)))
    assert 0 < mine.account_weeks < whole.account_weeks
    at = run_page("score_check", "en", query={"owner": owner})
    assert table_with(at, weeks, churned_accounts)[weeks].tolist() == mine.bands["n"].tolist()
    assert translate("en", "score_check.evidence", accounts=mine.churned_accounts,
                     churns=len(mine.churns), weeks=fmt.number(mine.account_weeks),
                     population=mine.accounts) in texts(at)
