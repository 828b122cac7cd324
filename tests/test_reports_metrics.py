"""Activity and usage aggregates of the KPI report and QBR pack (metrics/activity.py,
metrics/usage.py), checked against values computed by hand on a small snapshot."""

import datetime as dt

import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.metrics import activity, churn, periods, usage
from tests.conftest import contract

D = dt.date.fromisoformat
Q1 = ("2025Q1", D("2025-01-01"), D("2025-03-31"))
Q2 = ("2025Q2", D("2025-04-01"), D("2025-06-30"))
SETTINGS = settings_from_dict({})

USERS = [{"user_id": "u1", "name": "佐藤"}, {"user_id": "u2", "name": "鈴木"}]
ACCOUNTS = [
    {"account_id": "A1", "name": "=HYPERLINK(\"http://x\",\"y\")", "owner_id": "u1"},
    {"account_id": "A2", "name": "株式会社さくら工業", "owner_id": "u1"},
    {"account_id": "A3", "name": "新規㈱", "owner_id": "u2"},
    {"account_id": "A4", "name": "短期㈱", "owner_id": "u2"},
    {"account_id": "A5", "name": "最近㈱", "owner_id": "u2"},
    {"account_id": "A6", "name": "解約㈱", "owner_id": "u2"},
]
CONTRACTS = [
    contract("c1", "A1", "2024-01-01", "2025-12-31", mrr=100_000),
    contract("c2", "A2", "2024-01-01", "2025-12-31", mrr=50_000),
    contract("c3", "A3", "2025-03-15", "2026-03-14", mrr=30_000),
    contract("c4", "A4", "2025-02-01", "2025-05-31", mrr=20_000),
    contract("c5", "A5", "2025-06-10", "2026-06-09", mrr=40_000),
    contract("c6", "A6", "2024-06-01", "2025-05-31", mrr=10_000),
]


def act(activity_id, account_id, date, type_, owner_id=None, subject=None):
    return {"activity_id": activity_id, "account_id": account_id, "date": date, "type": type_,
            "owner_id": owner_id, "subject": subject}


ACTIVITIES = [
    act("x1", "A1", "2025-04-10", "meeting", "u1", "定例MTG"),
    act("x2", "A1", "2025-05-01", "email", None, "ご案内"),      # no owner → account owner u1
    act("x3", "A1", "2025-06-01", "call", "u2", "+cmd"),        # u2 called u1's customer
    act("x4", "A1", "2025-06-15", "other", "u1", "資料送付"),
    act("x5", "A2", "2025-03-01", "meeting", "u1", "QBR"),
    act("x6", "A3", "2025-03-01", "meeting", "u2", "キックオフ"),  # 14 days before the start
    act("x7", "A4", "2025-02-05", "meeting", "u2", "キックオフ"),
]


def use(account_id, date, deliveries, logins=0, viewers=None, registrants=None, conversions=None):
    return {"account_id": account_id, "date": date, "deliveries": deliveries, "logins": logins,
            "viewers": viewers, "registrants": registrants, "conversions": conversions}


USAGE = [
    use("A1", "2025-01-15", 4, 0, 200, 250, 30),
    use("A1", "2025-04-05", 2, 3, 100, 150, 10),
    use("A1", "2025-05-10", 1, 1, 50, 60, None),
    use("A3", "2025-04-20", 2, 1, 40, 50, 4),
]


@pytest.fixture
def snap(make_snapshot):
    return make_snapshot(users=USERS, accounts=ACCOUNTS, contracts=CONTRACTS,
                         activities=ACTIVITIES, usage=USAGE, as_of="2025-06-30")


def test_activity_by_owner_hand_computed(snap):
    df = activity.activity_by_owner(snap, *Q2[1:], SETTINGS, total_label="合計")
    rows = {r["owner_name"]: r for r in df.to_dict("records")}
    assert list(rows) == ["佐藤", "鈴木", "合計"]
    assert rows["佐藤"] == {
        "owner_id": "u1", "owner_name": "佐藤", "accounts": 2, "meetings": 1, "emails": 1,
        "calls": 0, "emails_calls": 1, "other": 1, "accounts_no_contact": 1,
        "onboarding_due": 0, "onboarding_completed": 0}
    # A3 last contact 121 days ago (no contact); A5 started 20 days ago, never contacted: not yet
    assert rows["鈴木"] == {
        "owner_id": "u2", "owner_name": "鈴木", "accounts": 2, "meetings": 0, "emails": 0,
        "calls": 1, "emails_calls": 1, "other": 0, "accounts_no_contact": 1,
        "onboarding_due": 2, "onboarding_completed": 1}
    total = rows["合計"]
    assert total["owner_id"] is None
    assert (total["accounts"], total["meetings"], total["emails_calls"], total["accounts_no_contact"],
            total["onboarding_due"], total["onboarding_completed"]) == (4, 1, 2, 2, 2, 1)


def test_no_contact_boundary_is_inclusive_at_the_configured_days(make_snapshot):
    # last contact 2025-05-01; 2025-06-29 is 59 days later, 2025-06-30 is 60 days later
    snap = make_snapshot(contracts=[contract("c1", "A1", "2024-01-01", "2025-12-31", mrr=1)],
                         activities=[act("x1", "A1", "2025-05-01", "email", "u1")],
                         as_of="2025-06-30")
    day59 = activity.activity_by_owner(snap, D("2025-04-01"), D("2025-06-29"), SETTINGS)
    day60 = activity.activity_by_owner(snap, D("2025-04-01"), D("2025-06-30"), SETTINGS)
    assert day59["accounts_no_contact"].tolist() == [0]
    assert day60["accounts_no_contact"].tolist() == [1]


def test_onboarding_completions_conditions(snap):
    df = activity.onboarding_completions(snap, *Q2[1:], SETTINGS)
    rows = {r["account_id"]: r for r in df.to_dict("records")}
    assert list(rows) == ["A4", "A3"]  # ordered by completion day
    a3, a4 = rows["A3"], rows["A4"]
    assert a3["completion_day"].date() == D("2025-06-13")  # 2025-03-15 + 90 days
    assert a3["kickoff_date"].date() == D("2025-03-01")
    assert a3["first_delivery_date"].date() == D("2025-04-20")
    assert a3["completed"] and a3["active_on_completion_day"]
    assert a4["completion_day"].date() == D("2025-05-02")
    assert a4["active_on_completion_day"] and a4["kickoff_date"] is not None
    assert not a4["completed"], "no delivery in the first 90 days"


def test_onboarding_kickoff_outside_lead_days_does_not_count(make_snapshot):
    snap = make_snapshot(contracts=[contract("c1", "A1", "2025-03-15", "2026-03-14", mrr=1)],
                         activities=[act("x1", "A1", "2025-02-12", "meeting", "u1")],  # 31 days
                         usage=[use("A1", "2025-04-01", 1)], as_of="2025-06-30")
    df = activity.onboarding_completions(snap, *Q2[1:], SETTINGS)
    assert df["completed"].tolist() == [False]
    lenient = settings_from_dict({"reports": {"onboarding_kickoff_lead_days": 31}})
    assert activity.onboarding_completions(snap, *Q2[1:], lenient)["completed"].tolist() == [True]


def test_activity_by_period_and_account_activities(snap):
    df = activity.activity_by_period(snap, [Q1, Q2], ["A1", "A2"])
    got = {(r["account_id"], r["period"]): (r["meetings"], r["emails"], r["calls"], r["other"],
                                             r["contacts"]) for r in df.to_dict("records")}
    assert got == {("A1", "2025Q1"): (0, 0, 0, 0, 0), ("A1", "2025Q2"): (1, 1, 1, 1, 3),
                   ("A2", "2025Q1"): (1, 0, 0, 0, 1), ("A2", "2025Q2"): (0, 0, 0, 0, 0)}
    listed = activity.account_activities(snap, "A1")
    assert listed["subject"].tolist() == ["資料送付", "+cmd", "ご案内", "定例MTG"]
    assert listed["owner_name"].tolist() == ["佐藤", "鈴木", "佐藤", "佐藤"]
    since = activity.account_activities(snap, "A1", D("2025-05-01"), D("2025-06-01"))
    assert since["subject"].tolist() == ["+cmd", "ご案内"]


def test_contact_summary(snap):
    s = activity.contact_summary(snap, "A1", D("2025-06-30"))
    assert s == {"last_contact_date": D("2025-06-01"), "last_meeting_date": D("2025-04-10"),
                 "last_contact_type": "call", "days_since_contact": 29, "days_since_meeting": 81}
    none = activity.contact_summary(snap, "A5", D("2025-06-30"))
    assert none["last_contact_date"] is None and none["days_since_meeting"] is None


def test_usage_by_period_sums_and_conversion(snap):
    df = usage.usage_by_period(snap, [Q1, Q2], ["A1", "A2", "A3"], SETTINGS)
    got = {(r["account_id"], r["period"]): r for r in df.to_dict("records")}
    a1q1, a1q2 = got[("A1", "2025Q1")], got[("A1", "2025Q2")]
    assert (a1q1["deliveries"], a1q1["viewers"], a1q1["conversions"]) == (4, 200, 30)
    assert a1q1["conversion_rate"] == pytest.approx(30 / 200)
    assert (a1q2["deliveries"], a1q2["logins"], a1q2["viewers"], a1q2["registrants"],
            a1q2["conversions"]) == (3, 4, 150, 210, 10)
    # the day without conversions is left out of the rate: 10 / 100, not 10 / 150
    assert a1q2["conversion_rate"] == pytest.approx(0.1)
    a2q2 = got[("A2", "2025Q2")]
    assert not a2q2["has_usage"]
    assert all(a2q2[k] is None or a2q2[k] != a2q2[k] for k in ("deliveries", "viewers"))
    a3q1 = got[("A3", "2025Q1")]
    assert a3q1["has_usage"] and a3q1["deliveries"] == 0, "usage elsewhere: an empty quarter is 0"
    assert a3q1["conversion_rate"] is None or a3q1["conversion_rate"] != a3q1["conversion_rate"]


def test_usage_conversion_basis_registrants(snap):
    settings = settings_from_dict({"health": {"conversion_basis": "registrants"}})
    df = usage.usage_by_period(snap, [Q2], ["A1"], settings)
    assert df["conversion_rate"].iloc[0] == pytest.approx(150 / 210)


def test_usage_by_period_all_accounts(snap):
    df = usage.usage_by_period(snap, [Q2])
    assert sorted(df["account_id"]) == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert int(df["deliveries"].fillna(0).sum()) == 5


def test_account_usage_summary_windows(snap):
    s = usage.account_usage_summary(snap, "A1", D("2025-06-30"), SETTINGS)
    assert s == {
        "has_usage": True, "window_days": 90,
        "recent_first": D("2025-04-02"), "recent_last": D("2025-06-30"),
        "previous_first": D("2025-01-02"), "previous_last": D("2025-04-01"),
        "deliveries_recent": 3, "deliveries_previous": 4, "viewers_recent": 150,
        "monthly_deliveries_recent": 1.0, "conversion_rate_recent": pytest.approx(0.1),
        "last_delivery_date": D("2025-05-10"), "days_since_delivery": 51,
        "last_login_date": D("2025-05-10")}
    empty = usage.account_usage_summary(snap, "A2", D("2025-06-30"), SETTINGS)
    assert empty["has_usage"] is False and empty["deliveries_recent"] is None
    assert empty["last_delivery_date"] is None and empty["conversion_rate_recent"] is None


def test_the_summary_window_is_the_deliveries_signal_window(snap):
    """One window for the whole pack: the deliveries_drop_50 signal's, however configured."""
    settings = settings_from_dict({"signals": {"deliveries_window_days": 60}})
    s = usage.account_usage_summary(snap, "A1", D("2025-06-30"), settings)
    assert (s["recent_first"], s["previous_first"], s["previous_last"]) == (
        D("2025-05-02"), D("2025-03-03"), D("2025-05-01"))
    assert (s["deliveries_recent"], s["deliveries_previous"]) == (1, 2)
    assert s["monthly_deliveries_recent"] == pytest.approx(0.5)  # per 30 days


def test_shift_day_clamps_to_the_month_end():
    assert periods.shift_day(D("2026-03-31"), -1) == D("2026-02-28")
    assert periods.shift_day(D("2024-02-29"), -12) == D("2023-02-28")
    assert periods.shift_day(D("2025-12-07"), 12) == D("2026-12-07")
    assert periods.shift_day(D("2025-09-30"), -12) == D("2024-09-30")


QUARTER_USAGE = [
    use("A1", "2024-01-05", 1, 1, 10, 20, 1),
    use("A1", "2024-04-10", 3, 1, 300, 400, 30),
    use("A1", "2024-05-20", 2, 1, 100, 150, None),
    use("A1", "2024-06-25", 5, 1, 50, 60, None),
    use("A1", "2025-04-08", 4, 2, 200, 260, 40),
    use("A1", "2025-05-01", 1, 1, 100, 120, 5),
    use("A2", "2025-04-10", 2, 1, 80, 90, 8),
]


@pytest.fixture
def quarter_snap(make_snapshot):
    return make_snapshot(contracts=[contract("c1", "A1", "2024-01-01", "2025-12-31", mrr=1),
                                    contract("c2", "A2", "2025-01-01", "2025-12-31", mrr=1),
                                    contract("c3", "A3", "2024-01-01", "2025-12-31", mrr=1)],
                         usage=QUARTER_USAGE, as_of="2025-05-15")


def test_quarter_usage_pace_and_year_ago_by_hand(quarter_snap):
    df = usage.quarter_usage(quarter_snap, "A1", D("2025-05-15"), SETTINGS)
    assert df["period"].tolist() == ["2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert df["complete"].tolist() == [True, True, True, False]
    q2 = df.iloc[3].to_dict()
    assert (q2["first_day"], q2["last_day"], q2["days"], q2["days_in_period"]) == (
        D("2025-04-01"), D("2025-05-15"), 45, 91)
    assert q2["deliveries"] == 5
    # like for like: 2024-04-01 .. 2024-05-15 holds the 04-10 row only
    assert q2["year_ago_period"] == "2024Q2" and q2["year_ago_last_day"] == D("2024-05-15")
    assert q2["deliveries_year_ago"] == 3
    assert q2["deliveries_change"] == pytest.approx(5 / 3 - 1)
    # the pace: 5 in 45 of 91 days; the whole of 2024Q2 had 3 + 2 + 5
    assert q2["deliveries_pace"] == pytest.approx(5 * 91 / 45)
    assert q2["deliveries_year_ago_full"] == 10
    assert q2["deliveries_pace_change"] == pytest.approx(5 * 91 / 45 / 10 - 1)
    assert q2["viewers_pace"] == pytest.approx(300 * 91 / 45)
    assert q2["conversion_rate"] == pytest.approx(45 / 300)
    assert q2["conversion_rate_year_ago"] == pytest.approx(30 / 300)  # 05-20 has no conversions
    # 2025Q1: usage data, no delivery; its year ago (2024Q1) began before the usage export's
    # first day (2024-01-05): nothing like for like to compare with
    q1 = df.iloc[2].to_dict()
    assert q1["deliveries"] == 0 and q1["deliveries_pace"] == 0
    assert q1["deliveries_year_ago"] is None and q1["deliveries_change"] is None
    assert q1["conversion_rate"] is None


def test_quarter_usage_has_no_pace_early_in_a_quarter(quarter_snap):
    early = usage.quarter_usage(quarter_snap, "A1", D("2025-04-20"), SETTINGS).iloc[3]
    assert early["days"] == 20 and early["deliveries"] == 4
    assert early["deliveries_pace"] is None and early["deliveries_pace_change"] is None
    sooner = settings_from_dict({"reports": {"pace_min_days": 20}})
    paced = usage.quarter_usage(quarter_snap, "A1", D("2025-04-20"), sooner).iloc[3]
    assert paced["deliveries_pace"] == pytest.approx(4 * 91 / 20)


def test_quarter_usage_year_ago_before_the_account_was_a_customer(quarter_snap):
    df = usage.quarter_usage(quarter_snap, "A2", D("2025-05-15"), SETTINGS)
    q2 = df.iloc[3]
    assert q2["deliveries"] == 2
    assert q2["deliveries_year_ago"] is None, "A2 became a customer in 2025"
    none = usage.quarter_usage(quarter_snap, "A3", D("2025-05-15"), SETTINGS)
    assert not none["has_usage"].any() and none["deliveries"].tolist() == [None] * 4


def test_usage_totals(quarter_snap):
    totals = usage.usage_totals(quarter_snap, "A1", D("2024-01-01"), D("2025-05-15"), SETTINGS)
    assert (totals["deliveries"], totals["viewers"], totals["conversions"]) == (16, 760, 76)
    assert totals["viewers_per_delivery"] == pytest.approx(760 / 16)
    assert totals["conversion_rate"] == pytest.approx(76 / (10 + 300 + 200 + 100))
    assert usage.usage_totals(quarter_snap, "A3", D("2024-01-01"), D("2025-05-15"),
                              SETTINGS)["deliveries"] is None


def test_churn_reason_share(make_snapshot):
    contracts = [contract(f"c{i}", f"A{i}", "2024-01-01", end, mrr=1, churn_reason=reason)
                 for i, (end, reason) in enumerate([
                     ("2024-10-31", "施策終了・中止"), ("2025-01-31", " 施策終了・中止 "),
                     ("2025-02-28", "予算削減"), ("2025-03-31", None),
                     ("2025-12-31", None)])]
    snap = make_snapshot(contracts=contracts, as_of="2025-06-30")
    # churns in the twelve months to 2025-06: A0 (November), A1 (February), A2 (March), A3
    # (April, no reason recorded): two of the four had a campaign reason
    reasons = churn.churn_reasons(snap, periods.ttm(D("2025-06-01")))
    assert churn.reason_share(reasons, ["施策終了・中止"]) == {
        "churned": 2, "total": 4, "share": pytest.approx(0.5)}
    assert churn.reason_share(reasons.iloc[0:0], ["施策終了・中止"]) == {
        "churned": 0, "total": 0, "share": None}
