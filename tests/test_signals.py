"""Churn-risk signals (model 45), each at its boundary with its evidence: no_login_60d (59 vs
60 days), deliveries_drop_50 (≤ 50% of the window before, which had ≥ 2; the windows' edges),
no_contact_60d (59 vs 60 days; `other` is not a contact), health_red, renewal_at_risk (90 vs
91 days, following contract, band), and when an account entered a signal."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.config import Health
from cs_analytics.metrics import signals
from test_health import (AS_OF, CONTRACT_START, DAYS_LEFT, HISTORY_START, activity, build,
                         contract, days_before, days_left_contract, on_days, usage_row,
                         yearly_contract)


HEALTH_SIGNALS = {"health_red", "renewal_at_risk"}


def shown(snap, account_id) -> dict[str, dict]:
    """{signal: evidence row} shown by the account on the as-of date."""
    frame = snap.query("SELECT * FROM fct_signals_current WHERE account_id = $id",
                       {"id": account_id})
    return {r["signal"]: r for r in frame.to_dict("records")}


@pytest.fixture(scope="module")
def usage_snapshot(tmp_path_factory):
    home = tmp_path_factory.mktemp("signals") / "data"
    names = ["l59", "l60", "never", "drop", "nodrop", "small", "prev2", "edge"]
    contracts = [yearly_contract(n) for n in names]
    usage = on_days("l59", {59: 1}, "logins") + on_days("l60", {60: 1, 61: 2}, "logins")
    usage += on_days("drop", {100: 1, 110: 1, 120: 1, 130: 1, 10: 1, 20: 1}, "deliveries")
    usage += on_days("nodrop", {100: 1, 110: 1, 120: 1, 130: 1, 10: 1, 20: 2}, "deliveries")
    usage += on_days("small", {100: 1}, "deliveries")
    usage += on_days("prev2", {100: 2, 10: 1}, "deliveries")
    # previous window (d − 180, d − 90]: days 90 and 179 count, 180 does not; last: day 89
    usage += on_days("edge", {90: 1, 179: 1, 180: 5, 89: 1}, "deliveries")
    return build(home, contracts=contracts, usage=usage)


def test_no_login_boundary(usage_snapshot):
    assert "no_login_60d" not in shown(usage_snapshot, "l59")
    row = shown(usage_snapshot, "l60")["no_login_60d"]
    assert row["last_login_date"].date() == days_before(60)
    assert row["days_since_login"] == 60


def test_never_logged_in_counts_from_the_first_usage_row(usage_snapshot):
    row = shown(usage_snapshot, "never")["no_login_60d"]
    assert row["last_login_date"] is None or str(row["last_login_date"]) == "NaT"
    assert row["days_since_login"] == (AS_OF - HISTORY_START).days


@pytest.mark.parametrize("account_id, last, previous, fires", [
    ("drop", 2, 4, True), ("nodrop", 3, 4, False), ("small", 0, 1, False),
    ("prev2", 1, 2, True), ("edge", 1, 2, True),
])
def test_deliveries_drop(usage_snapshot, account_id, last, previous, fires):
    row = usage_snapshot.query(
        "SELECT deliveries_last_window, deliveries_previous_window FROM fct_health_current "
        "WHERE account_id = $id", {"id": account_id}).iloc[0]
    assert (row["deliveries_last_window"], row["deliveries_previous_window"]) == (last, previous)
    signal = shown(usage_snapshot, account_id).get("deliveries_drop_50")
    assert (signal is not None) is fires
    if fires:
        assert (signal["deliveries_last_window"], signal["deliveries_previous_window"]) == (
            last, previous)


def test_stale_usage_export_does_not_flag_logins(tmp_path):
    # The export stopped 70 days before as_of: a 60-day "no login" says nothing.
    snap = build(tmp_path, contracts=[yearly_contract("a1")], coverage=False,
                 usage=[usage_row("a1", HISTORY_START), usage_row("a1", days_before(70))],
                 activities=[activity("x", "a1", days_before(1), "meeting")])
    assert "no_login_60d" not in shown(snap, "a1")
    assert "deliveries_drop_50" not in shown(snap, "a1")


@pytest.fixture(scope="module")
def contact_snapshot(tmp_path_factory):
    home = tmp_path_factory.mktemp("contacts") / "data"
    names = ["c59", "c60", "other", "same_day", "never"]
    activities = [activity("c59-1", "c59", days_before(59), "email"),
                  activity("c60-1", "c60", days_before(60), "call"),
                  activity("c60-0", "c60", days_before(200), "meeting"),
                  activity("other-1", "other", days_before(10), "other"),
                  activity("other-2", "other", days_before(60), "email"),
                  activity("same-1", "same_day", days_before(70), "email"),
                  activity("same-2", "same_day", days_before(70), "meeting")]
    return build(home, contracts=[yearly_contract(n) for n in names], activities=activities)


@pytest.mark.parametrize("account_id, last, kind, days", [
    ("c60", 60, "call", 60), ("other", 60, "email", 60), ("same_day", 70, "meeting", 70),
])
def test_no_contact_boundary_and_evidence(contact_snapshot, account_id, last, kind, days):
    row = shown(contact_snapshot, account_id)["no_contact_60d"]
    assert row["last_contact_date"].date() == days_before(last)
    assert row["last_contact_type"] == kind
    assert row["days_since_contact"] == days


def test_contact_59_days_ago_is_no_signal(contact_snapshot):
    assert "no_contact_60d" not in shown(contact_snapshot, "c59")


def test_never_contacted_counts_from_the_first_contract(contact_snapshot):
    row = shown(contact_snapshot, "never")["no_contact_60d"]
    assert row["days_since_contact"] == (AS_OF - CONTRACT_START).days


def test_health_red_and_renewal_at_risk_bands(tmp_path):
    # score = days left (DAYS_LEFT): 20 → danger, 49 → warning, 50 → caution
    snap = build(tmp_path, config=DAYS_LEFT, contracts=[
        days_left_contract("red", 20), days_left_contract("w49", 49),
        days_left_contract("c50", 50)])
    # (these accounts never log in nor get contacted: the other two signals show as well)
    assert set(shown(snap, "red")) & HEALTH_SIGNALS == {"health_red", "renewal_at_risk"}
    assert set(shown(snap, "w49")) & HEALTH_SIGNALS == {"renewal_at_risk"}
    assert set(shown(snap, "c50")) & HEALTH_SIGNALS == set()
    row = shown(snap, "red")["renewal_at_risk"]
    assert (row["days_to_end"], row["band"], row["score"]) == (20, "danger", 20.0)
    assert row["contract_end_date"].date() == AS_OF + dt.timedelta(days=20)


def test_renewal_at_risk_window_and_following_contract(tmp_path):
    # Renewal alone, 1 point per 25 days: every account here is 🔴.
    config = {"health": {**DAYS_LEFT["health"],
                         "thresholds": {**Health().thresholds,
                                        "renewal": [[0, 0], [2500, 100]]}}}
    snap = build(tmp_path, config=config, contracts=[
        days_left_contract("d90", 90), days_left_contract("d91", 91),
        days_left_contract("signed", 30),
        contract("signed-next", "signed", AS_OF + dt.timedelta(days=31),
                 AS_OF + dt.timedelta(days=400), mrr=1000)])
    assert "renewal_at_risk" in shown(snap, "d90")
    assert "renewal_at_risk" not in shown(snap, "d91")
    assert "health_red" in shown(snap, "d91")
    assert set(shown(snap, "signed")) & HEALTH_SIGNALS == set()  # renewal 100 once signed


def test_renewal_at_risk_needs_nothing_following(tmp_path):
    # deliveries (weight 3, no deliveries → 0) and renewal (weight 1): a signed renewal scores
    # 100 → 25 🟠, which alone is not "at risk"; unsigned 30 days → 20 → 5 🔴.
    config = {"health": {"weights": {"deliveries": 3, "logins": 0, "touchpoints": 0,
                                     "meetings": 0, "conversion": 0, "renewal": 1}}}
    snap = build(tmp_path, config=config, contracts=[
        days_left_contract("signed", 30), days_left_contract("unsigned", 30),
        contract("signed-next", "signed", AS_OF + dt.timedelta(days=31),
                 AS_OF + dt.timedelta(days=400), mrr=1000)])
    assert snap.scalar("SELECT band FROM fct_health_current WHERE account_id = 'signed'") == \
        "warning"
    assert "renewal_at_risk" not in shown(snap, "signed")
    assert "renewal_at_risk" in shown(snap, "unsigned")


def test_since_and_entered_follow_the_weekly_history(tmp_path):
    # 10 days left at as_of: 🔴 (≤ 24) on the Mondays 14 and 7 days before and at as_of;
    # 31 days left three Mondays before: 🟠.
    snap = build(tmp_path, config=DAYS_LEFT, contracts=[days_left_contract("a", 10)])
    rows = snap.rows("SELECT snapshot_day, since, entered FROM fct_signals_weekly "
                     "WHERE account_id = 'a' AND signal = 'health_red' ORDER BY snapshot_day")
    assert rows == [(days_before(14), days_before(14), True),
                    (days_before(7), days_before(14), False),
                    (AS_OF, days_before(14), False)]
    entries = signals.entries(snap)
    assert set(zip(entries["signal"], entries["snapshot_day"].dt.date)) >= {
        ("health_red", days_before(14))}


def test_signals_api_adds_owner_segment_and_mrr(tmp_path):
    users = [{"user_id": "u1", "name": "山田", "manager_id": "m1"},
             {"user_id": "m1", "name": "佐藤"}]
    accounts = [{"account_id": "a", "name": "株式会社テスト", "owner_id": "u1",
                 "sf_url": "https://example.my.salesforce.com/001"}]
    snap = build(tmp_path, config=DAYS_LEFT, users=users, accounts=accounts,
                 contracts=[days_left_contract("a", 10, mrr=123_456.5)])
    assert list(signals.signals_on(snap)["signal"]) == [  # in the order of SIGNALS
        "no_login_60d", "no_contact_60d", "health_red", "renewal_at_risk"]
    frame = signals.signals_on(snap, signals=("renewal_at_risk", "health_red"))
    assert list(frame["signal"]) == ["health_red", "renewal_at_risk"]
    row = frame.iloc[0]
    assert (row["name"], row["owner_name"], row["owner_manager_id"]) == (
        "株式会社テスト", "山田", "m1")
    assert row["mrr"] == 123_456.5 and row["segment"] == "C"
    assert signals.counts(snap) == {"no_login_60d": 1, "deliveries_drop_50": 0,
                                    "no_contact_60d": 1, "health_red": 1,
                                    "renewal_at_risk": 1, "notice_deadline_near": 0}
    evidence = signals.by_account(frame)["a"]
    assert evidence[0] == {"id": "health_red", "since": days_before(14).isoformat(),
                           "score": 10.0, "band": "danger", "top_detractor": "renewal"}
