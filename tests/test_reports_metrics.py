"""Activity and usage aggregates of the KPI report and QBR pack (metrics/activity.py,
metrics/usage.py), checked against values computed by hand on a small snapshot."""

import datetime as dt

import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.metrics import activity, usage
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
        "has_usage": True, "deliveries_recent": 3, "deliveries_previous": 4,
        "deliveries_quiet": 0, "deliveries_before_quiet": 3, "viewers_recent": 150,
        "monthly_deliveries_recent": 1.0, "conversion_rate_recent": pytest.approx(0.1),
        "last_delivery_date": D("2025-05-10"), "last_login_date": D("2025-05-10")}
    empty = usage.account_usage_summary(snap, "A2", D("2025-06-30"), SETTINGS)
    assert empty["has_usage"] is False and empty["deliveries_recent"] is None
    assert empty["last_delivery_date"] is None and empty["conversion_rate_recent"] is None


def test_empty_ranges_are_refused(snap):
    with pytest.raises(ValueError):
        usage.usage_by_period(snap, [])
    with pytest.raises(ValueError, match="after"):
        usage.usage_by_period(snap, [("x", D("2025-02-01"), D("2025-01-01"))])


def test_no_contact_is_not_counted_without_any_activity_history(make_snapshot):
    snap = make_snapshot(contracts=[contract("c1", "A1", "2024-01-01", "2025-12-31", mrr=1)],
                         as_of="2025-06-30")
    df = activity.activity_by_owner(snap, *Q2[1:], SETTINGS)
    assert df[["accounts", "meetings", "accounts_no_contact"]].values.tolist() == [[1, 0, 0]]


def test_never_contacted_counts_from_the_start_of_the_activity_history(make_snapshot):
    # A2 was never contacted; the activity history starts 2025-05-01 (A1's email):
    # 60 days later, on 2025-06-30, A2 is without contact; on 2025-06-29 not yet.
    snap = make_snapshot(contracts=[contract("c1", "A1", "2024-01-01", "2025-12-31", mrr=1),
                                    contract("c2", "A2", "2024-01-01", "2025-12-31", mrr=1)],
                         activities=[act("x1", "A1", "2025-06-20", "email", "u1"),
                                     act("x0", "A1", "2025-05-01", "other", "u1")],
                         as_of="2025-06-30")
    day59 = activity.activity_by_owner(snap, D("2025-04-01"), D("2025-06-29"), SETTINGS)
    day60 = activity.activity_by_owner(snap, D("2025-04-01"), D("2025-06-30"), SETTINGS)
    assert day59["accounts_no_contact"].tolist() == [0]
    assert day60["accounts_no_contact"].tolist() == [1]
