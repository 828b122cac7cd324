"""Health, segments and signals on generated demo data: invariants that must hold for every row
(window sums equal a direct count, weights and contributions add up, bands follow the
thresholds, one score per active account), and the product question — do accounts that later
churn show falling health and signals before they churn, and how many weeks ahead?"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import Settings
from cs_analytics.ingest import demo
from cs_analytics.warehouse.store import Store

pytestmark = pytest.mark.slow

END = dt.date(2026, 5, 20)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "data"
    demo.build_demo(Settings(), Store(home), accounts=400, years=3, seed=11, end=END)
    return home


@pytest.fixture(scope="module")
def snap(demo_home):
    return Store(demo_home).open_current()


def test_window_sums_equal_a_direct_count(snap):
    # every 7th account-day: the "comes in / goes out" sums against plain range sums
    mismatches = snap.query("""
        WITH sample AS (
            SELECT * FROM fct_health_weekly WHERE hash(account_id, snapshot_day) % 7 = 0
        ),
        direct AS (
            SELECT s.account_id, s.snapshot_day,
                   (SELECT coalesce(sum(deliveries), 0) FROM usage u
                    WHERE u.account_id = s.account_id AND u.date > s.snapshot_day - 90
                      AND u.date <= s.snapshot_day) AS deliveries,
                   (SELECT count(*) FROM usage u WHERE u.account_id = s.account_id
                      AND u.logins > 0 AND u.date > s.snapshot_day - 30
                      AND u.date <= s.snapshot_day) AS login_days,
                   (SELECT coalesce(sum(deliveries), 0) FROM usage u
                    WHERE u.account_id = s.account_id AND u.date > s.snapshot_day - 180
                      AND u.date <= s.snapshot_day - 90) AS previous_window,
                   (SELECT max(date) FROM usage u WHERE u.account_id = s.account_id
                      AND u.logins > 0 AND u.date <= s.snapshot_day) AS last_login,
                   (SELECT count(*) FROM activities a WHERE a.account_id = s.account_id
                      AND a.type IN ('email', 'call', 'other') AND a.date > s.snapshot_day - 90
                      AND a.date <= s.snapshot_day) AS touchpoints,
                   (SELECT count(*) FROM activities a WHERE a.account_id = s.account_id
                      AND a.type = 'meeting' AND a.date > s.snapshot_day - 90
                      AND a.date <= s.snapshot_day) AS meetings,
                   (SELECT max(date) FROM activities a WHERE a.account_id = s.account_id
                      AND a.type IN ('meeting', 'email', 'call')
                      AND a.date <= s.snapshot_day) AS last_contact
            FROM sample s
        )
        SELECT count(*) AS checked,
               count(*) FILTER (WHERE s.deliveries_value IS NOT NULL
                                  AND s.deliveries_value <> d.deliveries) AS deliveries,
               count(*) FILTER (WHERE s.logins_value IS NOT NULL
                                  AND s.logins_value <> d.login_days) AS logins,
               count(*) FILTER (WHERE s.deliveries_previous_window <> d.previous_window)
                   AS previous_window,
               count(*) FILTER (WHERE s.last_login_date IS DISTINCT FROM d.last_login)
                   AS last_login,
               count(*) FILTER (WHERE s.touchpoints_value IS NOT NULL
                                  AND s.touchpoints_value <> d.touchpoints) AS touchpoints,
               count(*) FILTER (WHERE s.meetings_value IS NOT NULL
                                  AND s.meetings_value <> d.meetings) AS meetings,
               count(*) FILTER (WHERE s.last_contact_date IS DISTINCT FROM d.last_contact)
                   AS last_contact,
               count(*) FILTER (WHERE s.deliveries_value IS NOT NULL) AS with_usage,
               count(*) FILTER (WHERE s.touchpoints_value IS NOT NULL) AS with_activities
        FROM sample s JOIN direct d USING (account_id, snapshot_day)
    """).iloc[0].to_dict()
    assert mismatches["checked"] > 1_000
    assert mismatches["with_usage"] > 500 and mismatches["with_activities"] > 500
    assert {k: v for k, v in mismatches.items()
            if k not in ("checked", "with_usage", "with_activities") and v} == {}


def test_scores_weights_and_bands_are_consistent(snap):
    parts = " + ".join(f"{c}_contribution" for c in
                       ("deliveries", "logins", "touchpoints", "meetings", "conversion",
                        "renewal"))
    weights = parts.replace("_contribution", "_weight")
    bad = snap.query(f"""
        SELECT
            count(*) FILTER (WHERE abs(({parts}) - score) > 1e-9) AS contributions,
            count(*) FILTER (WHERE abs(({weights}) - 1) > 1e-9) AS weights,
            count(*) FILTER (WHERE score < 0 OR score > 100) AS out_of_range,
            -- 1e-9: a weighted mean computed as 24.999999999999996 is 25 (🟠)
            count(*) FILTER (WHERE band <> CASE WHEN score + 1e-9 >= 75 THEN 'healthy'
                                                WHEN score + 1e-9 >= 50 THEN 'caution'
                                                WHEN score + 1e-9 >= 25 THEN 'warning'
                                                ELSE 'danger' END) AS bands,
            count(*) FILTER (WHERE score IS NULL) AS unscored
        FROM fct_health_weekly
    """).iloc[0].to_dict()
    assert bad == {"contributions": 0, "weights": 0, "out_of_range": 0, "bands": 0,
                   "unscored": 0}


def test_one_score_per_active_account_and_day(snap):
    assert snap.scalar("SELECT count(*) FROM (SELECT account_id, snapshot_day FROM "
                       "fct_health_weekly GROUP BY ALL HAVING count(*) > 1)") == 0
    active = {r[0] for r in snap.rows("""
        SELECT account_id FROM int_contract_mrr, params
        WHERE mrr > 0 AND start_date <= as_of AND as_of <= coalesce(active_until, as_of)
        GROUP BY account_id HAVING sum(mrr) > 0""")}
    scored = {r[0] for r in snap.rows("SELECT account_id FROM fct_health_current")}
    assert scored == active
    assert {r[0] for r in snap.rows("SELECT account_id FROM fct_segment_current")} == active
    # the revenue models agree on who is a customer in the as-of month
    customers = {r[0] for r in snap.rows(
        "SELECT account_id FROM fct_account_mrr_monthly, params "
        "WHERE month = date_trunc('month', as_of) AND mrr >= mrr_epsilon")}
    assert customers == active


def test_signal_evidence_meets_the_thresholds(snap):
    bad = snap.query("""
        SELECT
            count(*) FILTER (WHERE signal = 'no_login_60d' AND days_since_login < 60) AS login,
            count(*) FILTER (WHERE signal = 'deliveries_drop_50'
                               AND (deliveries_previous_window < 2
                                    OR deliveries_last_window > 0.5 * deliveries_previous_window))
                AS drop,
            count(*) FILTER (WHERE signal = 'no_contact_60d' AND days_since_contact < 60)
                AS contact,
            count(*) FILTER (WHERE signal = 'health_red' AND band <> 'danger') AS red,
            count(*) FILTER (WHERE signal = 'renewal_at_risk'
                               AND (days_to_end > 90 OR following_signed
                                    OR band NOT IN ('warning', 'danger'))) AS renewal,
            count(*) FILTER (WHERE signal = 'notice_deadline_near'
                               AND (days_to_notice_deadline NOT BETWEEN 0 AND 30
                                    OR notice_deadline <> snapshot_day
                                                          + days_to_notice_deadline))
                AS notice
        FROM fct_signals_weekly
    """).iloc[0].to_dict()
    assert bad == {"login": 0, "drop": 0, "contact": 0, "red": 0, "renewal": 0, "notice": 0}
    shown = {r[0] for r in snap.rows("SELECT DISTINCT signal FROM fct_signals_current")}
    assert shown == {"no_login_60d", "deliveries_drop_50", "no_contact_60d", "health_red",
                     "renewal_at_risk", "notice_deadline_near"}
    # a notice deadline alerts only with a risky band or another signal the same day
    alone = snap.scalar("""
        SELECT count(*) FROM fct_signals_weekly n
        WHERE n.signal = 'notice_deadline_near' AND n.band NOT IN ('warning', 'danger')
          AND NOT EXISTS (SELECT 1 FROM fct_signals_weekly o
                          WHERE o.account_id = n.account_id AND o.snapshot_day = n.snapshot_day
                            AND o.signal <> 'notice_deadline_near')""")
    assert alone == 0


# Weekly rows of accounts that stopped being customers before the last month, counted back from
# their last active Monday (weeks_before = 0), with whether a usage/contact signal or any
# signal showed. Usage and contact signals use no hindsight; the renewal component does (a
# later contract counts as signed before its start), so both are measured.
CHURNED_WEEKS = """
    WITH last AS (
        SELECT account_id, max(snapshot_day) AS last_day, min(snapshot_day) AS first_day
        FROM fct_health_weekly WHERE is_weekly GROUP BY account_id
    ),
    churned AS (
        SELECT l.* FROM last l, params p
        WHERE l.last_day < p.as_of - 28 AND l.last_day - l.first_day >= 26 * 7
    )
    SELECT h.account_id, (c.last_day - h.snapshot_day) // 7 AS weeks_before, h.score, h.band,
           EXISTS (SELECT 1 FROM fct_signals_weekly s WHERE s.account_id = h.account_id
                     AND s.snapshot_day = h.snapshot_day
                     AND s.signal IN ('no_login_60d', 'deliveries_drop_50', 'no_contact_60d'))
               AS usage_signal,
           EXISTS (SELECT 1 FROM fct_signals_weekly s WHERE s.account_id = h.account_id
                     AND s.snapshot_day = h.snapshot_day) AS any_signal
    FROM fct_health_weekly h JOIN churned c USING (account_id)
    WHERE h.is_weekly AND h.snapshot_day > c.last_day - 7 * 27
"""


def lead_weeks(weeks, flag: str) -> float:
    """Average over churned accounts of the length of the uninterrupted run of `flag` that
    ends on the last active Monday (0 when the flag is off that week)."""
    leads = []
    for _, account in weeks.groupby("account_id"):
        flags = dict(zip(account["weeks_before"], account[flag]))
        n = 0
        while flags.get(n, False):
            n += 1
        leads.append(n)
    return sum(leads) / len(leads)


def test_churned_accounts_show_falling_health_and_signals_before_they_churn(snap, capsys):
    weeks = snap.query(CHURNED_WEEKS)
    churned = weeks["account_id"].nunique()
    assert churned >= 30
    final = weeks[weeks["weeks_before"] <= 3]["score"].mean()
    earlier = weeks[weeks["weeks_before"].between(20, 26)]["score"].mean()
    assert final < earlier - 20, (final, earlier)
    at_churn = weeks[weeks["weeks_before"] == 0]
    assert at_churn["usage_signal"].mean() >= 0.6
    assert at_churn["any_signal"].mean() >= 0.75
    # …while most customers who stay show none: the signals single churners out
    staying = snap.scalar("""
        SELECT avg((EXISTS (SELECT 1 FROM fct_signals_current s
                            WHERE s.account_id = h.account_id
                              AND s.signal IN ('no_login_60d', 'deliveries_drop_50',
                                               'no_contact_60d')))::INTEGER)
        FROM fct_health_current h""")
    assert staying < at_churn["usage_signal"].mean() / 2
    usage_lead = lead_weeks(weeks, "usage_signal")
    any_lead = lead_weeks(weeks, "any_signal")
    assert usage_lead >= 4
    with capsys.disabled():
        print(f"\n{churned} churned accounts: mean health {earlier:.1f} 20–26 weeks before "
              f"churn, {final:.1f} in the last 4 weeks; a usage/contact signal shows on "
              f"average {usage_lead:.1f} weeks ahead (any signal {any_lead:.1f} weeks)")


def test_cli_on_demo_data(demo_home, monkeypatch, tmp_path):
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(demo_home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    health = CliRunner().invoke(main, ["health", "--format", "json"])
    assert health.exit_code == 0, health.output
    alerts = CliRunner().invoke(main, ["alerts", "--dry-run"])
    assert alerts.exit_code == 0, alerts.output
    assert "(demo data)" in alerts.stdout and "new alerts" in alerts.stdout
