"""The metrics the app added (accounts, team, data quality, health summaries) and the alert
acknowledgements, on small hand-written snapshots whose numbers are computed by hand, and
invariants on the demo data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import build_snapshot, contract

from cs_analytics.config import BANDS
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import accounts, data_quality, health, health_summary, team
from cs_analytics.metrics.filters import Filters
from cs_analytics.userdata import alert_actions
from cs_analytics.warehouse.store import Store
from test_app_common import demo_home  # noqa: F401

AS_OF = dt.date(2026, 3, 31)
ALL_S = {"segments": {"matrix": {tier: {b: "S" for b in BANDS} for tier in ("high", "mid",
                                                                            "low")}}}


def _usage(account_id, first, last):
    days = (last - first).days + 1
    return [{"account_id": account_id, "date": first + dt.timedelta(days=i), "deliveries": 1,
             "logins": 2, "viewers": 10, "registrants": 20, "conversions": 1}
            for i in range(days)]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four accounts: A1 and A2 paying now, A3 owned by an inactive user, A4 churned in
    January 2026 without a reason and with its ended contract still 'Activated'."""
    home = tmp_path_factory.mktemp("small")
    return build_snapshot(
        home, as_of=AS_OF, config=ALL_S,
        users=[{"user_id": "m1", "name": "部長", "role": "manager"},
               {"user_id": "u1", "name": "田中", "capacity": 10, "manager_id": "m1",
                "active": True},
               {"user_id": "u2", "name": "佐藤", "capacity": 5, "manager_id": "m1",
                "active": False}],
        accounts=[{"account_id": "A1", "name": "㈱あさひ", "owner_id": "u1", "industry": "金融",
                   "sf_url": "https://example.my.salesforce.com/A1"},
                  {"account_id": "A2", "name": "いろは", "owner_id": "u1", "industry": ""},
                  {"account_id": "A3", "name": "うみ", "owner_id": "u2", "industry": "製造"},
                  {"account_id": "A4", "name": "えがお", "owner_id": "u1", "industry": "金融"}],
        contracts=[contract("c1", "A1", "2025-04-01", "2026-03-31", mrr=100_000,
                            status="Activated"),
                   contract("c2", "A2", "2026-01-01", "2026-12-31", amount=1_200_000),
                   contract("c3", "A3", "2025-06-01", "2026-05-31", mrr=50_000),
                   contract("c4", "A4", "2025-01-01", "2025-12-31", mrr=80_000,
                            status="Activated")],
        activities=[{"activity_id": "t1", "account_id": "A1", "date": "2026-03-10",
                     "type": "meeting", "owner_id": "u1", "subject": "QBR 2026Q1"},
                    {"activity_id": "t2", "account_id": "A1", "date": "2026-02-01",
                     "type": "email", "owner_id": "u1", "subject": "ご案内"},
                    {"activity_id": "t3", "account_id": "A3", "date": "2025-12-01",
                     "type": "call", "owner_id": "u2", "subject": "電話"}],
        usage=_usage("A1", dt.date(2026, 1, 1), AS_OF))


# ---------------------------------------------------------------------------- accounts


def test_owner_and_industry_lists(small):
    owners = accounts.owners(small)
    assert list(owners["user_id"]) == ["u2", "u1"]  # by name: 佐藤 < 田中
    assert list(owners["accounts"]) == [1, 3]
    assert accounts.industries(small) == ["製造", "金融"]


def test_account_list_puts_current_customers_first(small):
    listed = accounts.account_list(small)
    # customers now, by name (いろは < うみ < ㈱あさひ in code point order), then the others
    assert list(listed["account_id"]) == ["A2", "A3", "A1", "A4"]
    assert list(listed["active"]) == [True, True, True, False]
    assert list(listed["mrr"]) == pytest.approx([100_000, 50_000, 100_000, 0])
    only_u2 = accounts.account_list(small, Filters(owner_ids=("u2",)))
    assert list(only_u2["account_id"]) == ["A3"]


def test_the_account_picker_lists_the_filtered_accounts_with_their_owner(small):
    """The picker's options (made once for every account and kept per filter): the filtered
    list's accounts in its order, each labelled with its owner, in the page's language."""
    from cs_analytics.app.ui.account_view import _picker_options

    ids, labels = _picker_options(small, None, "ja")
    assert ids == ("A2", "A3", "A1", "A4")
    assert labels == {"A2": "いろは（田中）", "A3": "うみ（佐藤）", "A1": "㈱あさひ（田中）",
                      "A4": "えがお（田中）"}
    ids, labels = _picker_options(small, Filters(owner_ids=("u1",)), "en")
    assert ids == ("A2", "A1", "A4")
    assert labels == {"A2": "いろは (田中)", "A1": "㈱あさひ (田中)", "A4": "えがお (田中)"}
    ids, labels = _picker_options(small, Filters(industries=("製造", "IT")), "ja")
    assert (ids, dict(labels)) == (("A3",), {"A3": "うみ（佐藤）"})
    assert _picker_options(small, Filters(owner_ids=("nobody",)), "ja") == ((), {})


def test_profile_by_hand(small):
    p = accounts.profile(small, "A1")
    assert p["mrr"] == pytest.approx(100_000, abs=1e-6)
    assert p["arr"] == pytest.approx(1_200_000, abs=1e-6)
    assert p["first_month"] == dt.date(2025, 4, 1)
    assert p["last_end_date"] == dt.date(2026, 3, 31)
    assert p["last_contact_date"] == dt.date(2026, 3, 10)
    assert p["days_since_contact"] == 21
    assert p["owner_name"] == "田中" and p["contracts"] == 1
    gone = accounts.profile(small, "A4")
    assert gone["mrr"] == 0 and gone["last_contact_date"] is None
    assert gone["days_since_contact"] is None
    assert accounts.profile(small, "nope") is None


def test_contracts_and_mrr_history(small):
    c = accounts.contracts(small, "A2")
    assert c["mrr"].iloc[0] == pytest.approx(100_000, abs=1e-6)  # 1,200,000 / 12 month-ends
    assert bool(c["active"].iloc[0])
    assert not bool(accounts.contracts(small, "A4")["active"].iloc[0])
    history = accounts.mrr_history(small, "A4")
    assert list(history["movement"].fillna(""))[-3:] == ["churn", "", ""]


def test_usage_by_month_sums_in_sql(small):
    usage = accounts.usage_by_month(small, "A1", 3)
    assert list(usage["month"]) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1),
                                    dt.date(2026, 3, 1)]
    assert list(usage["deliveries"]) == [31, 28, 31]
    assert list(usage["logins"]) == [62, 56, 62]
    assert list(usage["conversion_rate"]) == pytest.approx([0.1, 0.1, 0.1])
    assert accounts.usage_by_month(small, "A2", 3).empty  # no usage data at all


def test_qbr_candidates_know_whether_the_qbr_took_place(small):
    due = accounts.qbr_candidates(small, dt.date(2026, 1, 1), AS_OF).set_index("account_id")
    assert set(due.index) == {"A1", "A2", "A3"}  # every active customer is S here
    assert bool(due.loc["A1", "qbr_done"]) and not bool(due.loc["A2", "qbr_done"])
    assert pd.Timestamp(due.loc["A1", "last_qbr_date"]).date() == dt.date(2026, 3, 10)
    earlier = accounts.qbr_candidates(small, dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert not earlier["qbr_done"].any()


# ---------------------------------------------------------------------------- team


def test_owner_summary_by_hand(small):
    summary = team.owner_summary(small).set_index("owner_id")
    assert list(summary.index) == ["u2", "u1"]
    u1 = summary.loc["u1"]
    assert (u1["accounts"], u1["capacity"]) == (2, 10)
    assert u1["utilization"] == pytest.approx(0.2)
    assert u1["mrr"] == pytest.approx(200_000, abs=1e-6)
    assert u1["arr"] == pytest.approx(2_400_000, abs=1e-6)
    assert u1["segment_S"] == 2
    assert sum(u1[b] for b in BANDS) + u1["no_score"] == 2
    assert summary.loc["u2", "accounts"] == 1
    assert summary.loc["u2", "max_days_since_contact"] == (AS_OF - dt.date(2025, 12, 1)).days


def test_portfolio_and_teams(small):
    portfolio = team.portfolio(small, "u1")
    assert set(portfolio["account_id"]) == {"A1", "A2"}
    a1 = portfolio.set_index("account_id").loc["A1"]
    assert a1["days_since_contact"] == 21 and a1["segment"] == "S"
    assert a1["sf_url"].startswith("https://")
    teams = team.teams(small)
    assert list(teams["team"]) == [team.ALL_TEAM, "m1"]
    assert teams.set_index("team").loc["m1", "members"] == 3
    assert team.team_owner_ids(small, "m1") == ["m1", "u1", "u2"]


def test_week_numbers_count_the_weeks_activities(small):
    week = team.week_numbers(small, ["u1", "u2"], dt.date(2026, 3, 9), None)
    assert (week["meetings"], week["emails_calls"], week["other"]) == (1, 0, 0)
    assert week["last_day"] == dt.date(2026, 3, 15)
    assert week["health_day"] == dt.date(2026, 3, 9)
    assert week["accounts"] == sum(week[b] for b in BANDS) == 3
    quiet = team.week_numbers(small, ["u1"], dt.date(2026, 3, 16), None)
    assert quiet["meetings"] == 0


# ---------------------------------------------------------------------------- data quality


def test_stale_salesforce_records_by_hand(small):
    issues = data_quality.stale_records(small)
    assert list(zip(issues["account_id"], issues["issue"], issues["detail"])) == [
        ("A4", "contract_status_stale", "c4 (2025-12-31)"),
        ("A4", "churn_reason_missing", "2026-01"),
        ("A3", "owner_inactive", "u2"),
        ("A2", "industry_missing", ""),
    ]
    assert data_quality.stale_records(small, Filters(owner_ids=("u2",)))["account_id"].tolist() \
        == ["A3"]
    # The list is held per account: the rows a filter keeps are those of the filtered query
    # as written, in the same order.
    for filters in (Filters(owner_ids=("u2",)), Filters(owner_ids=("u1",)),
                    Filters(industries=("金融",)), Filters(industries=("IT",))):
        expected = data_quality.stale_records.__wrapped__(small, filters)
        restricted = data_quality.stale_records(small, filters)
        assert list(zip(restricted["account_id"], restricted["issue"], restricted["detail"])) \
            == list(zip(expected["account_id"], expected["issue"], expected["detail"]))


# ---------------------------------------------------------------------------- health summaries


def test_health_summaries_agree_with_each_other(demo_home):
    snap = Store(demo_home).open_current()
    bands = health_summary.band_distribution(snap)
    total = int(bands["accounts"].sum())
    assert total == len(health.scores_on(snap)) > 0
    assert bands["share"].sum() == pytest.approx(1.0)
    over_time = health_summary.band_counts_over_time(snap)
    assert pd.Timestamp(over_time["snapshot_day"].iloc[-1]).date() == snap.as_of
    assert list(over_time[list(BANDS)].iloc[-1]) == list(bands["accounts"])
    matrix = health_summary.attribute_matrix(snap)
    assert int(matrix[list(BANDS)].to_numpy().sum()) == total
    for group in ("owner", "segment", "industry"):
        assert int(health_summary.band_counts_by(snap, group)["accounts"].sum()) == total
    for band, count in zip(bands["band"], bands["accounts"]):
        assert len(health_summary.accounts_in_band(snap, band)) == count


def test_component_contributions_add_up_to_the_average_score(demo_home):
    snap = Store(demo_home).open_current()
    parts = health_summary.component_contributions(snap)
    scores = health.scores_on(snap)["score"]
    assert parts["avg_contribution"].sum() == pytest.approx(scores.mean(), abs=1e-9)
    for row in parts.itertuples():
        assert row.avg_contribution + row.avg_lost == pytest.approx(100 * row.avg_weight)


@pytest.mark.parametrize("filters", (None, Filters(segments=("S", "A")),
                                     Filters(industries=("no-such-industry",))))
def test_component_contributions_are_the_averages_over_the_scored_accounts(demo_home, filters):
    from cs_analytics.config import HEALTH_COMPONENTS

    snap = Store(demo_home).open_current()
    scores = health.scores_on(snap, None, filters)
    parts = health_summary.component_contributions(snap, filters)
    assert list(parts["component"]) == list(HEALTH_COMPONENTS)
    for row in parts.itertuples():
        score, weight = scores[f"{row.component}_score"], scores[f"{row.component}_weight"]
        assert row.accounts == score.count()
        for got, expected in ((row.avg_score, score.mean()), (row.avg_weight, weight.mean()),
                              (row.avg_contribution,
                               scores[f"{row.component}_contribution"].mean()),
                              (row.avg_lost, (weight * (100 - score)).fillna(0).mean())):
            if scores.empty:
                assert pd.isna(got)
            else:
                assert got == pytest.approx(expected, abs=1e-9)
    assert parts["accounts"].dtype == "int64" and parts["avg_score"].dtype == "float64"


def test_declined_accounts_dropped_or_changed_band(demo_home):
    snap = Store(demo_home).open_current()
    rank = {b: i for i, b in enumerate(BANDS)}
    for row in health_summary.declined(snap, 10.0).itertuples():
        assert row.score_change_4w <= -10 or rank[row.band] > rank[row.band_4w_before]
    everyone = health.scores_on(snap).dropna(subset=["score_4w_before"])
    dropped = everyone[everyone["score_change_4w"] <= -10]
    assert set(dropped["account_id"]) <= set(health_summary.declined(snap, 10.0)["account_id"])


def test_one_accounts_components(demo_home):
    snap = Store(demo_home).open_current()
    account_id = health.scores_on(snap)["account_id"].iloc[0]
    current = health_summary.account_current(snap, account_id)
    parts = health_summary.account_components(current)
    assert parts["contribution"].fillna(0).sum() == pytest.approx(current["score"], abs=1e-9)
    assert health_summary.account_current(snap, "no-such-account") is None


# ---------------------------------------------------------------------------- alert actions


def test_alert_status_from_acknowledgements_and_snoozes(tmp_path):
    store = Store(tmp_path)
    today = dt.date(2026, 4, 2)
    shown = pd.DataFrame([
        {"account_id": "A1", "signal": "no_login_60d", "since": dt.date(2026, 3, 2)},
        {"account_id": "A2", "signal": "no_login_60d", "since": dt.date(2026, 3, 2)},
        {"account_id": "A3", "signal": "health_red", "since": dt.date(2026, 3, 30)},
        {"account_id": "A4", "signal": "health_red", "since": dt.date(2026, 3, 30)},
    ])
    alert_actions.acknowledge(store, "A1", "no_login_60d", "me")  # today (after since)
    alert_actions.snooze(store, "A2", "no_login_60d", dt.date(2026, 4, 9), "me", today=today)
    alert_actions.snooze(store, "A4", "health_red", dt.date(2026, 4, 3), "me", today=today)
    recorded = alert_actions.actions(store)
    status = alert_actions.with_status(shown, recorded, today=today)
    assert list(status["status"]) == ["acknowledged", "snoozed", "open", "snoozed"]
    assert status["snoozed_until"].iloc[1] == dt.date(2026, 4, 9)
    later = alert_actions.with_status(shown, recorded, today=dt.date(2026, 4, 5))
    assert list(later["status"]) == ["acknowledged", "snoozed", "open", "open"]
    assert len(alert_actions.open_only(later)) == 2
    # the Overview's count of open alerts is the Monday check's list's length
    assert alert_actions.open_count(shown, recorded, today=dt.date(2026, 4, 5)) == 2
    assert alert_actions.open_count(shown, recorded, today=today) == 1
    assert alert_actions.open_count(shown.iloc[0:0], recorded, today=today) == 0
    # an acknowledgement older than the episode does not cover a new episode
    old = recorded.assign(created_at=dt.date(2026, 3, 1))
    again = alert_actions.with_status(shown, old, today=today)
    assert again["status"].iloc[0] == "open"
    with pytest.raises(CsAnalyticsError, match="after today"):
        alert_actions.snooze(store, "A1", "no_login_60d", today, "me", today=today)
    assert status["handled_by"].tolist() == ["me", "me", None, "me"]
    # no alerts, or no actions recorded yet
    none = alert_actions.with_status(shown.iloc[0:0], recorded, today=today)
    assert none.empty and {"status", "snoozed_until", "handled_by"} <= set(none.columns)
    fresh = alert_actions.with_status(shown, alert_actions.actions(Store(tmp_path / "new")),
                                      today=today)
    assert set(fresh["status"]) == {"open"}


def test_the_latest_action_of_each_kind_decides_an_alerts_status(tmp_path):
    store = Store(tmp_path)
    today = dt.date(2026, 4, 2)
    shown = pd.DataFrame([
        {"account_id": "A1", "signal": "no_login_60d", "since": pd.Timestamp("2026-03-02")},
        {"account_id": "A2", "signal": "health_red", "since": pd.Timestamp("2026-03-30")},
        {"account_id": "A2", "signal": "no_login_60d", "since": pd.NaT},
    ])
    alert_actions.snooze(store, "A1", "no_login_60d", dt.date(2026, 4, 9), "ann", today=today)
    alert_actions.snooze(store, "A1", "no_login_60d", dt.date(2026, 4, 3), "bob", today=today)
    alert_actions.snooze(store, "A2", "health_red", dt.date(2026, 4, 9), "ann", today=today)
    alert_actions.acknowledge(store, "A2", "health_red", "bob")
    alert_actions.acknowledge(store, "A2", "no_login_60d", "ann")  # no episode start known
    status = alert_actions.with_status(shown, alert_actions.actions(store), today=today)
    assert status[["status", "snoozed_until", "handled_by"]].values.tolist() == [
        ["snoozed", dt.date(2026, 4, 3), "bob"],  # the later snooze, shorter, wins
        ["acknowledged", None, "bob"],  # an acknowledgement covering the episode wins
        ["open", None, None],
    ]
