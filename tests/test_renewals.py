"""Renewals (models 14 and 50, metrics/renewals.py; SPEC §4 "Renewals"): each status on
hand-built contracts — auto-renewing with and without notice given, a renewal signed late
inside the grace, a lost one, at risk by band, by signal and by notice —, the notice deadline,
the sums (pending and at-risk ARR apart), the forecast's arithmetic with configured and
historical P(renew), the radar's and the reminder list's edges, the notice_deadline_near
signal and its alert entering once, and the `renewals` command.

Health here is the renewal component alone, scored 1 point per day to the contract's end
(DAYS_LEFT): an account ending in 20 days is 🔴, in 40 🟠, in 92 🟢. Accounts log in and are
contacted the day before the as-of date unless a test wants a signal."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import build_snapshot
from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.metrics import Filters, renewals
from cs_analytics.metrics import periods as P
from cs_analytics.outputs.alerts import evaluation as ev
from cs_analytics.outputs.alerts import messages, run_alerts
from cs_analytics.warehouse.store import Store
from test_alerts import FakeSlack, webhook
from test_health import AS_OF, DAYS_LEFT, activity, build, contract, days_before, usage_row

D = dt.date.fromisoformat
ARR = 1_200_000.0  # every contract here: MRR ¥100,000


def day(n: int) -> dt.date:
    """The as-of date (2025-06-30, a Monday) plus n days."""
    return AS_OF + dt.timedelta(days=n)


def term(contract_id, account_id, start, end, **kw) -> dict:
    return contract(contract_id, account_id, start, end, mrr=100_000, **kw)


def quiet(*account_ids, contact=True):
    """Usage and activity rows that keep no_login_60d and no_contact_60d off."""
    usage = [usage_row(a, days_before(1), logins=1) for a in account_ids]
    activities = [activity(f"e-{a}", a, days_before(1), "email") for a in account_ids
                  if contact]
    return usage, activities


def by_contract(frame) -> dict[str, dict]:
    return {r["contract_id"]: r for r in frame.to_dict("records")}


# ---------------------------------------------------------------------------- statuses

STATUS_CONTRACTS = [
    # Auto-renewing, 60 days' notice: the deadline (Jun 1) passed without notice — signed by
    # auto-renewal, although nothing is booked and the account is 🟠 (31 days left).
    term("auto_past", "auto_past", "2024-08-01", "2025-07-31", auto_renew=True, notice_days=60),
    # The same terms, but the customer gave notice on May 25: pending and at risk.
    term("notice_given", "notice_given", "2024-08-01", "2025-07-31", auto_renew=True,
         notice_days=60, notice_date="2025-05-25"),
    # Auto-renewing, 30 days' notice, deadline Aug 31 still ahead, 🟢: pending.
    term("auto_open", "auto_open", "2024-10-01", "2025-09-30", auto_renew=True, notice_days=30),
    # Ended Mar 10; the renewal starts Apr 5 (25 days later, inside the 31-day grace): signed.
    term("late", "late", "2024-03-11", "2025-03-10"),
    term("late-next", "late", "2025-04-05", "2026-04-04"),
    # Ended Apr 30, nothing follows, no MRR in May: lost (the account churned at it).
    term("lost", "lost", "2024-05-01", "2025-04-30"),
    # Re-signed each term, ends in 20 days, 🔴: at risk by its band (and its signals).
    term("red", "red", "2024-07-21", "2025-07-20", auto_renew=False),
    # Ended Jun 20, nothing yet, June is the as-of month: inside the grace, pending.
    term("in_grace", "in_grace", "2024-06-21", "2025-06-20"),
    # An add-on ending May 31 while the account's base contract runs on: signed (it carries on).
    term("addon", "base", "2024-06-01", "2025-05-31"),
    term("base-main", "base", "2024-01-01", "2025-12-31"),
    # 🟢 (184 days left) but never contacted: at risk by its no_contact_60d signal.
    term("silent", "silent", "2025-01-01", "2025-12-31"),
]


@pytest.fixture(scope="module")
def statuses(tmp_path_factory):
    home = tmp_path_factory.mktemp("renewals") / "data"
    names = sorted({c["account_id"] for c in STATUS_CONTRACTS} - {"silent"})
    usage, activities = quiet(*names, "silent")
    activities = [a for a in activities if a["account_id"] != "silent"]
    return build(home, contracts=STATUS_CONTRACTS, usage=usage, activities=activities,
                 config=DAYS_LEFT)


@pytest.mark.parametrize("contract_id, status, signed_by, risk", [
    ("auto_past", "signed", "auto_renew", None),
    ("notice_given", "at_risk", None, "band,signal,notice"),  # 🟠: renewal_at_risk shows
    ("auto_open", "pending", None, None),
    ("late", "signed", "contract", None),
    ("lost", "lost", None, None),
    ("red", "at_risk", None, "band,signal"),
    ("in_grace", "pending", None, None),
    ("addon", "signed", "contract", None),
    ("silent", "at_risk", None, "signal"),
])
def test_each_status(statuses, contract_id, status, signed_by, risk):
    rows = by_contract(renewals.contracts_due(statuses, D("2024-01-01"), D("2026-12-31")))
    row = rows[contract_id]
    assert row["status"] == status
    assert (row["signed_by"] if isinstance(row["signed_by"], str) else None) == signed_by
    assert (row["risk_reasons"] if isinstance(row["risk_reasons"], str) else None) == risk


def test_what_each_status_rests_on(statuses):
    due = renewals.contracts_due(statuses, D("2024-01-01"), D("2026-12-31"))
    assert list(due.columns) == renewals.COLUMNS
    rows = by_contract(due)
    assert rows["late"]["following_contract_id"] == "late-next"
    assert rows["addon"]["following_contract_id"] == "base-main"
    assert bool(rows["lost"]["account_churned"]) is True
    assert rows["in_grace"]["days_to_end"] == -10 and pd_none(rows["in_grace"]["band"])
    assert rows["red"]["band"] == "danger" and "renewal_at_risk" in rows["red"]["signals"]
    assert rows["silent"]["signals"] == "no_contact_60d" and rows["silent"]["band"] == "healthy"
    assert bool(rows["notice_given"]["notice_given"]) is True
    assert rows["auto_past"]["band"] == "warning"  # a risky band, but the renewal is committed


def pd_none(value) -> bool:
    return value is None or bool(pd.isna(value))


def test_notice_deadline_is_end_date_minus_notice_days(statuses):
    rows = by_contract(renewals.contracts_due(statuses, D("2024-01-01"), D("2026-12-31")))
    assert rows["auto_past"]["notice_deadline"].date() == D("2025-06-01")
    assert rows["auto_open"]["notice_deadline"].date() == D("2025-08-31")
    assert rows["auto_open"]["days_to_notice_deadline"] == 62
    assert pd_none(rows["red"]["notice_deadline"])  # re-signed each term: nothing to cancel
    assert (rows["auto_open"]["renewal_kind"], rows["red"]["renewal_kind"]) == ("auto", "manual")


def test_empty_terms_take_the_configured_defaults(tmp_path):
    config = {**DAYS_LEFT, "renewals": {"auto_renew_default": True, "notice_days_default": 45}}
    usage, activities = quiet("unset", "manual", "own")
    snap = build(tmp_path, config=config, usage=usage, activities=activities, contracts=[
        term("unset", "unset", "2024-10-01", "2025-09-30"),
        term("manual", "manual", "2024-10-01", "2025-09-30", auto_renew=False),
        term("own", "own", "2024-10-01", "2025-09-30", notice_days=90)])
    rows = by_contract(renewals.contracts_due(snap, D("2025-07-01"), D("2025-09-30")))
    assert (bool(rows["unset"]["auto_renew"]), rows["unset"]["notice_days"]) == (True, 45)
    assert rows["unset"]["notice_deadline"].date() == D("2025-08-16")
    assert pd_none(rows["manual"]["notice_days"]) and pd_none(rows["manual"]["notice_deadline"])
    # its own 90 days: the deadline (Jul 2) is 2 days ahead, still pending
    assert rows["own"]["notice_deadline"].date() == D("2025-07-02")
    assert rows["own"]["status"] == "pending"


def test_lists_sort_what_needs_action_first(statuses):
    due = renewals.contracts_due(statuses, D("2025-07-01"), D("2025-09-30"))
    # at risk (notice_given: P 0.05 → ¥1,140,000 at stake; red: P 0.40 → ¥720,000), pending,
    # then signed
    assert list(due["contract_id"]) == ["notice_given", "red", "auto_open", "auto_past"]
    assert list(due["at_stake_arr"][:3]) == [pytest.approx(ARR * 0.95),
                                             pytest.approx(ARR * 0.60),
                                             pytest.approx(ARR * 0.05)]


# The worked example of docs/metrics.md "Renewals due and renewal rate": as of 2025-04-10.
EXAMPLE = [
    contract("r1", "a1", "2024-02-01", "2025-01-31", mrr=100_000),
    contract("r1-next", "a1", "2025-02-01", "2026-01-31", mrr=110_000, type="renewal"),
    contract("r2", "a2", "2024-02-16", "2025-02-15", mrr=50_000),
    contract("r3", "a3", "2024-03-11", "2025-03-10", mrr=30_000),
    contract("r3-next", "a3", "2025-04-05", "2026-04-04", mrr=30_000, type="renewal"),
    contract("r4", "a4", "2024-04-01", "2025-03-31", mrr=20_000),
    contract("r5", "a5", "2024-04-01", "2025-03-31", mrr=5_000),
    contract("r5-base", "a5", "2024-01-01", "2025-12-31", mrr=40_000),
    contract("r6", "a6", "2024-06-01", "2025-05-31", mrr=70_000),
    contract("r6-next", "a6", "2025-06-01", "2026-05-31", mrr=70_000, type="renewal"),
    contract("r7", "a7", "2024-09-01", "2025-08-31", mrr=60_000),
]


def test_worked_example_of_the_metrics_doc(make_snapshot):
    snap = make_snapshot(contracts=EXAMPLE, as_of="2025-04-10")
    q1 = renewals.due_in(snap, P.parse_quarter("2025Q1"))
    assert dict(zip(q1["contract_id"], q1["status"])) == {
        "r1": "signed", "r2": "lost", "r3": "signed", "r4": "lost", "r5": "signed"}
    s = renewals.summary_of(q1)
    assert (s.due_count, s.due_arr) == (5, 12 * 205_000)
    assert (s.signed_arr, s.lost_arr, s.pending_arr) == (12 * 135_000, 12 * 70_000, 0.0)
    assert s.renewal_rate == pytest.approx(135_000 / 205_000)
    # r6 (May 31) is signed in advance; r7 (Aug 31) has nothing following yet
    quarters = [P.parse_quarter(q) for q in ("2025Q2", "2025Q3", "2025Q4", "2026Q1")]
    ahead = renewals.by_quarter_of(renewals.contracts_due(snap, **renewals.span(quarters)),
                                   quarters)
    rows = {r["quarter"]: r for r in ahead.to_dict("records")}
    assert (rows["2025Q2"]["signed_arr"], rows["2025Q2"]["pending_arr"]) == (840_000, 0)
    assert (rows["2025Q3"]["pending_arr"], rows["2025Q3"]["due_count"]) == (720_000, 1)
    assert rows["2025Q4"]["pending_arr"] == 480_000      # r5-base: nothing follows it
    assert rows["2026Q1"]["pending_arr"] == 1_320_000    # r1-next



def test_a_quarter_of_the_by_quarter_table_is_that_quarters_summary(make_snapshot):
    """The renewals page reads the as-of quarter's cards from the by-quarter table: each row
    must be the summary of that quarter's own list, field for field."""
    snap = make_snapshot(contracts=EXAMPLE, as_of="2025-04-10")
    quarters = [P.parse_quarter(q) for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4")]
    due = renewals.contracts_due(snap, **renewals.span(quarters))
    ahead = renewals.by_quarter_of(due, quarters)
    for position, quarter in enumerate(quarters):
        assert renewals.summary_at(ahead, position) == renewals.summary_of(
            renewals.due_in(snap, quarter))
    assert renewals.summary_at(ahead, 0).renewal_rate == pytest.approx(135_000 / 205_000)
    assert renewals.summary_at(ahead, 2).renewal_rate is None  # nothing decided in 2025Q3

# ---------------------------------------------------------------------------- sums, forecast


def test_quarter_sums_keep_pending_and_at_risk_apart(statuses):
    q3 = renewals.summary_of(renewals.due_in(statuses, P.parse_quarter("2025Q3")))
    assert (q3.due_count, q3.due_arr) == (4, 4 * ARR)
    assert (q3.signed_count, q3.signed_arr) == (1, ARR)
    assert (q3.auto_renew_count, q3.auto_renew_arr) == (1, ARR)
    assert (q3.pending_count, q3.pending_arr) == (3, 3 * ARR)   # at-risk ones included
    assert (q3.at_risk_count, q3.at_risk_arr) == (2, 2 * ARR)   # only the at-risk ones
    assert (q3.lost_count, q3.lost_arr) == (0, 0.0)
    assert q3.renewal_rate == 1.0  # signed ÷ (signed + lost)
    q2 = renewals.summary_of(renewals.due_in(statuses, P.parse_quarter("2025Q2")))
    # lost (Apr 30), addon (May 31) signed, in_grace (Jun 20) pending
    assert (q2.due_count, q2.signed_arr, q2.lost_arr, q2.pending_arr) == (3, ARR, ARR, ARR)
    assert q2.renewal_rate == 0.5


def test_forecast_with_the_configured_probabilities(statuses):
    """Too few past renewals: P is the configured default of each bucket (no interval)."""
    q3 = renewals.summary_of(renewals.due_in(statuses, P.parse_quarter("2025Q3")))
    # pending: notice_given (notice given → 0.05), red (🔴 → 0.40), auto_open (🟢 → 0.95)
    forecast = ARR * (0.05 + 0.40 + 0.95)
    assert q3.forecast_arr == pytest.approx(forecast, abs=1e-6)
    assert (q3.forecast_low, q3.forecast_high) == (pytest.approx(forecast),
                                                   pytest.approx(forecast))
    assert q3.expected_arr == pytest.approx(ARR + forecast)          # signed + forecast
    assert q3.expected_rate == pytest.approx((ARR + forecast) / (4 * ARR))
    table = renewals.probabilities(statuses).set_index("bucket")
    assert list(table.index) == list(renewals.BUCKETS)
    assert set(table["source"]) == {"default"}


def test_quarters_of_a_list_add_up_to_its_summary(statuses):
    quarters = [P.parse_quarter(q) for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4")]
    due = renewals.contracts_due(statuses, **renewals.span(quarters))
    by_quarter = renewals.by_quarter_of(due, quarters)
    assert list(by_quarter["quarter"]) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert list(by_quarter["due_count"]) == [1, 3, 4, 2]   # Q4: silent, base-main
    whole = renewals.summary_of(due)
    for name in ("due_arr", "signed_arr", "lost_arr", "pending_arr", "at_risk_arr",
                 "forecast_arr", "forecast_low", "forecast_high"):
        assert by_quarter[name].sum() == pytest.approx(getattr(whole, name)), name
    q3 = renewals.summary_of(renewals.due_in(statuses, quarters[2]))
    assert by_quarter.iloc[2]["forecast_arr"] == pytest.approx(q3.forecast_arr)


Z_90 = 1.6448536269514722  # the 90% two-sided normal quantile


def wilson(k: int, n: int) -> tuple[float, float]:
    p, z = k / n, Z_90
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_forecast_from_past_renewals_by_the_band_held_before_them(tmp_path):
    """Six renewals ended on Jan 31, 2025: their band on the Monday on or before Nov 2, 2024
    (end − 90 days) was 🟢; four renewed, two were lost. With forecast_min_renewals = 5 the
    🟢 P is 4/6 with its 90% Wilson interval; the other buckets keep their defaults."""
    past = []
    for i in range(6):
        past.append(term(f"p{i}", f"p{i}", "2024-02-01", "2025-01-31"))
        if i < 4:
            past.append(term(f"p{i}-next", f"p{i}", "2025-02-01", "2026-01-31"))
    pending = [term("open", "open", "2024-10-01", "2025-09-30"),        # 🟢 now
               term("warn", "warn", "2024-08-10", "2025-08-09")]        # 40 days: 🟠
    config = {**DAYS_LEFT, "renewals": {"forecast_min_renewals": 5}}
    usage, activities = quiet("open", "warn", *(f"p{i}" for i in range(4)))
    snap = build(tmp_path, config=config, contracts=past + pending, usage=usage,
                 activities=activities)
    table = renewals.probabilities(snap).set_index("bucket")
    healthy = table.loc["healthy"]
    low, high = wilson(4, 6)
    assert (healthy["renewals"], healthy["renewed"], healthy["source"]) == (6, 4, "history")
    assert healthy["p"] == pytest.approx(4 / 6)
    assert (healthy["p_low"], healthy["p_high"]) == (pytest.approx(low), pytest.approx(high))
    assert table.loc["warning", "source"] == "default" and table.loc["warning", "p"] == 0.65
    q3 = renewals.summary_of(renewals.due_in(snap, P.parse_quarter("2025Q3")))
    assert q3.forecast_arr == pytest.approx(ARR * 4 / 6 + ARR * 0.65)
    assert q3.forecast_low == pytest.approx(ARR * low + ARR * 0.65)
    assert q3.forecast_high == pytest.approx(ARR * high + ARR * 0.65)
    # the quarter's history: 6 due, 4 signed, 2 lost
    q1 = renewals.summary_of(renewals.due_in(snap, P.parse_quarter("2025Q1")))
    assert (q1.signed_count, q1.lost_count, q1.renewal_rate) == (4, 2, pytest.approx(4 / 6))


def test_wilson_interval_of_no_renewals_is_empty_and_of_none_renewed_starts_at_zero(tmp_path):
    config = {**DAYS_LEFT, "renewals": {"forecast_min_renewals": 1}}
    snap = build(tmp_path, config=config,
                 contracts=[term("gone", "gone", "2024-02-01", "2025-01-31")])
    table = renewals.probabilities(snap).set_index("bucket")
    assert table.loc["healthy", "renewed"] == 0 and table.loc["healthy", "ci_low"] == 0.0
    assert table.loc["healthy", "ci_high"] == pytest.approx(wilson(0, 1)[1])
    assert pd_none(table.loc["danger", "rate"]) and pd_none(table.loc["danger", "ci_low"])


# ---------------------------------------------------------------------------- radar, reminders


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    """Contracts at the edges of the radar (notice deadline within 60 days) and of the
    reminder list (ending in 55–65 days)."""
    home = tmp_path_factory.mktemp("renewal-windows") / "data"
    rows = [
        # radar, 30 days' notice: deadlines −1 (passed: committed), 0, 60, 61 days ahead
        term("dl-1", "dl-1", "2024-08-01", day(29), auto_renew=True, notice_days=30),
        term("dl0", "dl0", "2024-08-01", day(30), auto_renew=True, notice_days=30),
        term("dl60", "dl60", "2024-08-01", day(90), auto_renew=True, notice_days=30),
        term("dl61", "dl61", "2024-08-01", day(91), auto_renew=True, notice_days=30),
        term("dl-notice", "dl-notice", "2024-08-01", day(60), auto_renew=True, notice_days=30,
             notice_date=days_before(3)),
        # reminders: ending 54, 55, 65, 66 days ahead (re-signed each term)
        term("end54", "end54", "2024-08-01", day(54)),
        term("end55", "end55", "2024-08-01", day(55)),
        term("end65", "end65", "2024-08-01", day(65)),
        term("end66", "end66", "2024-08-01", day(66)),
        # in the window but renewed already, or cancelled: not reminded
        term("end60-signed", "signed", "2024-08-01", day(60)),
        term("end60-signed-next", "signed", day(61), day(426)),
        # auto-renewing, 90 days' notice long passed: committed, reminded of the renewal
        term("end60-auto", "auto", "2024-08-01", day(60), auto_renew=True, notice_days=90),
        # two contracts of one account ending the same day: one mail
        term("end60-a", "two", "2024-08-01", day(60)),
        term("end60-b", "two", "2024-12-01", day(60)),
    ]
    usage, activities = quiet(*sorted({r["account_id"] for r in rows}))
    return build(home, contracts=rows, usage=usage, activities=activities, config=DAYS_LEFT)


def test_notice_radar_edges(windows):
    radar = renewals.notice_radar(windows, 60)
    assert list(radar["contract_id"]) == ["dl0", "dl60"]
    assert list(radar["days_to_notice_deadline"]) == [0, 60]
    committed = by_contract(renewals.contracts_due(windows, AS_OF, day(100)))["dl-1"]
    assert (committed["status"], committed["signed_by"]) == ("signed", "auto_renew")


def test_reminder_window_edges(windows):
    listed = renewals.reminders(windows, 55, 65)
    assert list(listed["contract_id"]) == ["end55", "end60-auto", "end60-a", "end60-b",
                                           "end65"]
    assert list(listed["days_to_end"]) == [55, 60, 60, 60, 65]
    assert list(renewals.reminders(windows, 54, 54)["contract_id"]) == ["end54"]
    assert list(renewals.reminders(windows, 66, 66)["contract_id"]) == ["end66"]


def test_reminder_csv_has_one_row_per_account_and_end_date(windows):
    csv = renewals.reminder_csv_frame(renewals.reminders(windows, 55, 65))
    assert list(csv.columns) == renewals.REMINDER_CSV_COLUMNS
    two = csv.set_index("account_id").loc["two"]
    assert (two["contract_ids"], two["arr"], two["end_date"]) == (
        "end60-a;end60-b", 2_400_000, day(60).isoformat())
    auto = csv.set_index("account_id").loc["auto"]
    assert bool(auto["auto_renew"]) and auto["status"] == "signed"
    assert auto["notice_deadline"] == day(-30).isoformat()
    assert len(csv) == 4


def test_filters_restrict_every_list(windows):
    none = Filters(owner_ids=("nobody",))
    assert renewals.notice_radar(windows, 60, none).empty
    assert renewals.reminders(windows, 55, 65, none).empty
    assert renewals.summary_of(renewals.contracts_due(windows, AS_OF, day(100), none)).due_arr \
        == 0.0


# ---------------------------------------------------------------------------- signal, alert


def notice_contracts(as_of: dt.date) -> list[dict]:
    """Ending 40 days after AS_OF (🟠 at AS_OF) with 10 days' notice: the deadline is 30 days
    after AS_OF, so notice_deadline_near enters on AS_OF (37 days on the Monday before)."""
    end = day(40)
    return [
        term("near", "near", "2024-08-01", end, auto_renew=True, notice_days=10),
        # deadline 31 days after AS_OF: not yet
        term("far", "far", "2024-08-01", day(41), auto_renew=True, notice_days=10),
        # 🟢 (120 days left) and no other signal: a deadline alone does not alert
        term("calm", "calm", "2024-08-01", day(120), auto_renew=True, notice_days=100),
        # notice already given, or the renewal already signed: nothing left to prevent
        term("told", "told", "2024-08-01", end, auto_renew=True, notice_days=10,
             notice_date=days_before(5)),
        term("done", "done", "2024-08-01", end, auto_renew=True, notice_days=10),
        term("done-next", "done", day(41), day(400)),
    ]


def build_notice(home, as_of=AS_OF):
    rows = notice_contracts(as_of)
    accounts = [{"account_id": a, "name": f"株式会社{a}", "owner_id": "u1"}
                for a in sorted({r["account_id"] for r in rows})]
    users = [{"user_id": "u1", "name": "山田 太郎", "manager_id": "m1"},
             {"user_id": "m1", "name": "佐藤 花子"}]
    usage = [usage_row(a["account_id"], days_before(1, as_of), logins=1) for a in accounts]
    activities = [activity(f"e-{a['account_id']}", a["account_id"], days_before(1, as_of),
                           "email") for a in accounts]
    return build(home, contracts=rows, accounts=accounts, users=users, usage=usage,
                 activities=activities, as_of=as_of, config=DAYS_LEFT)


def notice_rows(snap) -> dict[str, dict]:
    frame = snap.query("SELECT * FROM fct_signals_current WHERE signal = 'notice_deadline_near'")
    return {r["account_id"]: r for r in frame.to_dict("records")}


def test_notice_deadline_near_signal(tmp_path):
    snap = build_notice(tmp_path / "data")
    rows = notice_rows(snap)
    assert set(rows) == {"near"}
    near = rows["near"]
    assert (near["notice_contract_id"], near["days_to_notice_deadline"]) == ("near", 30)
    assert near["notice_deadline"].date() == day(30)
    assert (near["band"], bool(near["entered"]), near["since"].date()) == ("warning", True, AS_OF)


def test_notice_alert_enters_once(tmp_path):
    slack = FakeSlack()
    try:
        home = tmp_path / "data"
        build_notice(home)
        settings = settings_from_dict({**DAYS_LEFT, "alerts": {
            "backoff_seconds": 0.01, "slack_member_ids": {"u1": "U0OWNER", "m1": "U0MGR"}}})
        store = Store(home)
        first = run_alerts(settings, store, today=AS_OF, sender=webhook(slack, settings))
        assert [(d.shown.account_id, d.shown.signal) for d in first.fired] == [
            ("near", "notice_deadline_near")]
        [payload] = slack.accepted()
        text = messages.plain_text(payload)
        assert "株式会社near" in text and "解約予告期限が近い" in text
        assert f"契約 near の解約予告期限 {day(30).isoformat()}（残り30日）" in text
        assert "<@U0OWNER>" in text and "<@U0MGR>" in text   # the owner and the manager
        # the same snapshot again: nothing new
        again = run_alerts(settings, store, today=day(1), sender=webhook(slack, settings))
        assert again.fired == [] and len(slack.accepted()) == 1
        # a week later "near" (deadline 23 days away) is the same episode; "far" (24 days
        # away now) enters and alerts once
        build_notice(home, as_of=day(7))
        later = run_alerts(settings, store, today=day(7), sender=webhook(slack, settings))
        notice = {d.shown.account_id: d.outcome for d in later.decisions
                  if d.shown.signal == "notice_deadline_near"}
        assert notice == {"near": ev.NOTIFIED, "far": ev.FIRE}
        assert [d.shown.account_id for d in later.fired] == ["far"]
        assert len(slack.accepted()) == 2
    finally:
        slack.close()


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_home(statuses, monkeypatch, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(statuses.path.parent.parent))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))


def test_renewals_command_json_csv_and_table(cli_home):
    result = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q3", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["quarter"], data["period_start"], data["as_of"]) == (
        "2025Q3", "2025-07-01", "2025-06-30")
    assert data["summary"]["at_risk_arr"] == 2 * ARR and data["summary"]["pending_arr"] == 3 * ARR
    assert [c["contract_id"] for c in data["contracts"]] == ["notice_given", "red", "auto_open",
                                                           "auto_past"]
    assert data["contracts"][2]["notice_deadline"] == "2025-08-31"
    assert {p["bucket"] for p in data["probabilities"]} == set(renewals.BUCKETS)

    result = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q3", "--format", "csv"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("contract_id,account_id,name,owner_id,owner_name,end_date")
    assert lines[1] == ("notice_given,notice_given,notice_given,u1,User u1,2025-07-31,100000,"
                        "1200000,at_risk,,auto,60,2025-06-01,2025-05-25,warning,"
                        'renewal_at_risk,"band,signal,notice",notice_given,0.05,60000,1140000')

    result = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q3"])
    assert result.exit_code == 0
    assert "at risk" in result.stdout and "¥2,400,000" in result.stdout
    assert "configured default" in result.stdout


def test_renewals_command_refuses_a_bad_quarter(cli_home):
    result = CliRunner().invoke(main, ["renewals", "--quarter", "2025Q5"])
    assert result.exit_code == 1
    assert "error: quarter '2025Q5'" in result.stderr
