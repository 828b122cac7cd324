"""Health score models (30–34) and reads: component scoring at and between thresholds, the
windows' edges, "no data" and weight redistribution, onboarding thresholds, band edges, the
top detractor, changes versus earlier snapshots, manual assessments and the `health` command.
Every expected number is computed by hand from the default settings (config.py) unless the
test sets its own.

Helpers here are shared by test_segments / test_signals / test_alerts (`from test_health
import …`).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from conftest import build_snapshot, contract
from cs_analytics.cli import main
from cs_analytics.config import Health
from cs_analytics.errors import CsAnalyticsError
from cs_analytics.metrics import health
from cs_analytics.userdata import assessments
from cs_analytics.warehouse.store import Store

D = dt.date.fromisoformat
AS_OF = D("2025-06-30")           # a Monday
HISTORY_START = D("2024-01-01")   # usage export and activity history start here
CONTRACT_START = D("2024-07-01")  # a Monday: the weekly history starts here


def days_before(n: int, as_of: dt.date = AS_OF) -> dt.date:
    return as_of - dt.timedelta(days=n)


def usage_row(account_id: str, day: dt.date, **values) -> dict:
    row = {"account_id": account_id, "date": day, "deliveries": 0, "logins": 0}
    row.update(values)
    return row


def activity(activity_id: str, account_id: str, day: dt.date, kind: str) -> dict:
    return {"activity_id": activity_id, "account_id": account_id, "date": day, "type": kind}


def yearly_contract(account_id: str, start: dt.date = CONTRACT_START,
                    end: dt.date = D("2025-12-31"), mrr: float = 100_000.0, **other) -> dict:
    return contract(f"c-{account_id}-{start}", account_id, start, end, mrr=mrr, **other)


def build(home, *, usage=(), activities=(), contracts=(), as_of=AS_OF, config=None,
          accounts=None, users=None, coverage=True):
    """A snapshot whose usage export and activity history cover HISTORY_START..as_of (through
    a background account without contracts), so only what a test gives varies. Every account
    with a contract gets a zero usage row on HISTORY_START (it is in the usage export)."""
    usage = list(usage)
    activities = list(activities)
    if coverage:
        usage += [usage_row("bg", HISTORY_START), usage_row("bg", as_of)]
        activities.append(activity("bg-1", "bg", HISTORY_START, "other"))
        in_export = {c["account_id"] for c in contracts}
        given = {(u["account_id"], u["date"]) for u in usage}
        usage += [usage_row(a, HISTORY_START) for a in sorted(in_export)
                  if (a, HISTORY_START) not in given]
    return build_snapshot(home, users=users, accounts=accounts, contracts=contracts,
                          activities=activities, usage=usage, as_of=as_of, config=config)


def current(snap, account_id: str) -> dict:
    frame = snap.query("SELECT * FROM fct_health_current WHERE account_id = $id",
                       {"id": account_id})
    assert len(frame) == 1, f"{account_id} has no current health row"
    return {k: health.json_value(v) for k, v in frame.iloc[0].to_dict().items()}


def on_days(account_id: str, counts: dict[int, int], field: str) -> list[dict]:
    """Usage rows with `field` = n on the day `days_before(k)` for {k: n}."""
    return [usage_row(account_id, days_before(k), **{field: n}) for k, n in counts.items()]


# ---------------------------------------------------------------------------- components


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """One snapshot with an account per scoring case (default settings)."""
    home = tmp_path_factory.mktemp("health") / "data"
    usage, activities, contracts = [], [], []

    def account(name, end=D("2025-12-31"), **kw):
        contracts.append(yearly_contract(name, end=end, **kw))

    for name, n in (("d0", 0), ("d3", 3), ("d4", 4), ("d12", 12), ("d20", 20)):
        account(name)
        usage += on_days(name, {10 + i: 1 for i in range(n)}, "deliveries")
    account("edge")  # the window (d − 90, d]: day d − 89 counts, day d − 90 does not
    usage += on_days("edge", {89: 1, 90: 1}, "deliveries")
    usage += on_days("edge", {29: 1, 30: 1}, "logins")
    for name, n in (("l4", 4), ("l6", 6)):
        account(name)
        usage += on_days(name, {1 + i: 3 for i in range(n)}, "logins")  # 3 logins a day
    account("c5")
    usage.append(usage_row("c5", days_before(5), viewers=100, conversions=5))
    account("c75")
    usage += [usage_row("c75", days_before(5), viewers=120, conversions=9),
              usage_row("c75", days_before(40), viewers=80, conversions=6),
              usage_row("c75", days_before(95), viewers=1000, conversions=0)]  # outside
    account("noviewers")
    usage.append(usage_row("noviewers", days_before(5), deliveries=2, viewers=0,
                           conversions=0))
    for name, emails, meetings in (("t2", 2, 1), ("t3", 3, 2)):
        account(name)
        activities += [activity(f"{name}-e{i}", name, days_before(5 + i), "email")
                       for i in range(emails)]
        activities += [activity(f"{name}-m{i}", name, days_before(20 + i), "meeting")
                       for i in range(meetings)]
    activities.append(activity("t2-old", "t2", days_before(90), "call"))  # outside the window
    for name, days in (("r30", 30), ("r60", 60), ("r180", 180), ("r200", 200)):
        account(name, end=AS_OF + dt.timedelta(days=days))
    account("signed", end=AS_OF + dt.timedelta(days=30))
    contracts.append(contract("c-signed-next", "signed", AS_OF + dt.timedelta(days=31),
                              AS_OF + dt.timedelta(days=395), mrr=100_000))
    snap = build(home, usage=usage, activities=activities, contracts=contracts)
    return snap


@pytest.mark.parametrize("account_id, value, score", [
    ("d0", 0, 0.0), ("d3", 3, 40.0), ("d4", 4, 50.0), ("d12", 12, 100.0), ("d20", 20, 100.0),
])
def test_deliveries_scored_at_and_between_points(scored, account_id, value, score):
    row = current(scored, account_id)
    assert row["deliveries_value"] == value
    assert row["deliveries_score"] == pytest.approx(score, abs=1e-9)


@pytest.mark.parametrize("account_id, value, score", [("l4", 4, 50.0), ("l6", 6, 65.0)])
def test_logins_count_days_with_a_login(scored, account_id, value, score):
    row = current(scored, account_id)
    assert row["logins_value"] == value
    assert row["logins_score"] == pytest.approx(score, abs=1e-9)


def test_window_edges(scored):
    row = current(scored, "edge")
    assert row["deliveries_value"] == 1  # d − 89 in, d − 90 out
    assert row["logins_value"] == 1      # d − 29 in, d − 30 out


@pytest.mark.parametrize("account_id, rate, score", [("c5", 0.05, 40.0), ("c75", 0.075, 55.0)])
def test_conversion_rate(scored, account_id, rate, score):
    row = current(scored, account_id)
    assert row["conversion_value"] == pytest.approx(rate, abs=1e-12)
    assert row["conversion_score"] == pytest.approx(score, abs=1e-9)


def test_touchpoints_and_meetings(scored):
    t2, t3 = current(scored, "t2"), current(scored, "t3")
    assert (t2["touchpoints_value"], t2["touchpoints_score"]) == (2, 50.0)
    assert (t3["touchpoints_value"], t3["touchpoints_score"]) == (3, pytest.approx(65.0))
    assert (t2["meetings_value"], t2["meetings_score"]) == (1, 60.0)
    assert (t3["meetings_value"], t3["meetings_score"]) == (2, 85.0)
    assert t2["last_contact_date"] == days_before(5).isoformat()
    assert t2["last_contact_type"] == "email"


@pytest.mark.parametrize("account_id, days, score", [
    ("r30", 30, 20.0), ("r60", 60, 40.0), ("r180", 180, 100.0), ("r200", 200, 100.0),
    ("signed", 30, 100.0),
])
def test_renewal_days_to_end(scored, account_id, days, score):
    row = current(scored, account_id)
    assert row["renewal_value"] == days
    assert row["renewal_score"] == pytest.approx(score, abs=1e-9)
    assert row["following_signed"] is (account_id == "signed")


def test_conversion_without_viewers_has_no_data(scored):
    row = current(scored, "noviewers")
    assert row["conversion_value"] is None and row["conversion_score"] is None
    assert row["conversion_weight"] == 0 and row["conversion_contribution"] == 0
    assert row["deliveries_value"] == 2


def test_score_is_the_weighted_mean_and_contributions_add_up(scored):
    row = current(scored, "t3")
    # deliveries 0 → 0, logins 0 → 0, touchpoints 3 → 65, meetings 2 → 85, conversion: no
    # viewers → no data, renewal 184 days → 100. Weights 25, 20, 15, 15, –, 15 (sum 90).
    assert row["score"] == pytest.approx((15 * 65 + 15 * 85 + 15 * 100) / 90, abs=1e-9)
    assert row["band"] == "warning"  # 41.67: at least 25, below 50
    assert row["components_with_data"] == 5
    assert row["deliveries_weight"] == pytest.approx(25 / 90)
    assert row["conversion_weight"] == 0
    weights = sum(row[f"{c}_weight"] for c in health.HEALTH_COMPONENTS)
    contributions = sum(row[f"{c}_contribution"] for c in health.HEALTH_COMPONENTS)
    assert weights == pytest.approx(1.0)
    assert contributions == pytest.approx(row["score"])
    # points lost: deliveries 25/90 × 100 = 27.8, logins 22.2, touchpoints 5.8, meetings 2.5
    assert row["top_detractor"] == "deliveries"


def test_no_usage_at_all_redistributes_the_weight(tmp_path):
    snap = build(tmp_path, contracts=[yearly_contract("a1")],
                 activities=[activity("m1", "a1", days_before(3), "meeting")], coverage=False)
    row = current(snap, "a1")
    # No usage rows, and the activity history starts 3 days ago: touchpoints and meetings
    # have no data either, only renewal is left.
    assert row["components_with_data"] == 1
    assert row["renewal_weight"] == 1.0
    assert row["score"] == 100.0
    for c in ("deliveries", "logins", "conversion", "touchpoints", "meetings"):
        assert row[f"{c}_value"] is None and row[f"{c}_score"] is None
        assert row[f"{c}_weight"] == 0


def test_account_missing_from_the_usage_export_is_not_scored_zero(tmp_path):
    # The export covers the windows (account bg) but has no row for a2 at all.
    snap = build(tmp_path, contracts=[yearly_contract("a2")], coverage=False,
                 usage=[usage_row("bg", HISTORY_START), usage_row("bg", AS_OF)],
                 activities=[activity("bg-1", "bg", HISTORY_START, "other"),
                             activity("m1", "a2", days_before(3), "meeting")])
    row = current(snap, "a2")
    # no usage row for a2: deliveries, logins, conversion have no data; touchpoints 0 → 0,
    # meetings 1 → 60, renewal 184 days → 100, weights 15 each
    assert row["deliveries_score"] is None and row["logins_score"] is None
    assert row["score"] == pytest.approx((0 + 60 + 100) / 3)
    assert row["touchpoints_weight"] == pytest.approx(1 / 3)
    assert row["top_detractor"] == "touchpoints"  # loses 33.3 points, meetings 13.3


def test_usage_export_not_covering_the_window_is_no_data(tmp_path):
    # The export starts 60 days before as_of: the 90-day windows are not covered, the 30-day
    # logins window is.
    start = days_before(60)
    snap = build(tmp_path, contracts=[yearly_contract("a1")], coverage=False,
                 usage=[usage_row("a1", start, deliveries=5, logins=1),
                        usage_row("a1", days_before(1), logins=1, viewers=10, conversions=1)],
                 activities=[activity("bg-1", "a1", HISTORY_START, "other")])
    row = current(snap, "a1")
    assert row["deliveries_value"] is None and row["conversion_value"] is None
    assert row["logins_value"] == 1
    assert row["logins_score"] == pytest.approx(12.5)


def test_onboarding_thresholds_in_the_first_90_days(tmp_path):
    contracts = [yearly_contract("new30", start=days_before(30)),
                 yearly_contract("new89", start=days_before(89)),
                 yearly_contract("old90", start=days_before(90))]
    usage = []
    for name in ("new30", "new89", "old90"):
        usage += [usage_row(name, days_before(3), deliveries=1, logins=1),
                  usage_row(name, days_before(4), logins=1)]
    activities = [activity(f"{n}-m", n, days_before(2), "meeting")
                  for n in ("new30", "new89", "old90")]
    snap = build(tmp_path, contracts=contracts, usage=usage, activities=activities)
    for name in ("new30", "new89"):
        row = current(snap, name)
        assert row["is_onboarding"] is True
        assert row["deliveries_score"] == 50.0   # onboarding (0,0)-(1,50)
        assert row["logins_score"] == 50.0       # onboarding (0,0)-(2,50)
        assert row["meetings_score"] == 70.0     # onboarding (0,0)-(1,70)
        assert row["touchpoints_score"] == 0.0   # not listed: the normal curve
    row = current(snap, "old90")
    assert row["is_onboarding"] is False
    assert row["deliveries_score"] == pytest.approx(40 / 3)  # normal (0,0)-(3,40)
    assert row["logins_score"] == 25.0                       # normal (0,0)-(4,50)
    assert row["meetings_score"] == 60.0


# ---------------------------------------------------------------------------- bands, changes

# Only the renewal component counts, scored 1 point per day to the contract's end (0–100):
# the score is the number of days left, which puts accounts exactly on the band edges.
DAYS_LEFT = {"health": {
    "weights": {"deliveries": 0, "logins": 0, "touchpoints": 0, "meetings": 0,
                "conversion": 0, "renewal": 1},
    "thresholds": {**Health().thresholds, "renewal": [[0, 0], [100, 100]]}}}


def days_left_contract(account_id: str, days: int, as_of: dt.date = AS_OF, **kw) -> dict:
    return yearly_contract(account_id, end=as_of + dt.timedelta(days=days), **kw)


@pytest.mark.parametrize("days, band", [
    (100, "healthy"), (75, "healthy"), (74, "caution"), (50, "caution"), (49, "warning"),
    (25, "warning"), (24, "danger"), (0, "danger"),
])
def test_band_edges(tmp_path, days, band):
    snap = build(tmp_path, contracts=[days_left_contract("a1", days)], config=DAYS_LEFT)
    row = current(snap, "a1")
    assert row["score"] == pytest.approx(days)
    assert row["band"] == band


def test_configured_bands(tmp_path):
    config = {"health": {**DAYS_LEFT["health"],
                         "bands": {"healthy": 90.0, "caution": 60.0, "warning": 30.0}}}
    snap = build(tmp_path, contracts=[days_left_contract("a", 89), days_left_contract("b", 90),
                                      days_left_contract("c", 29)], config=config)
    assert [current(snap, a)["band"] for a in "abc"] == ["caution", "healthy", "danger"]


def test_changes_versus_previous_and_four_weeks_earlier(tmp_path):
    snap = build(tmp_path, contracts=[days_left_contract("a1", 50)], config=DAYS_LEFT)
    row = current(snap, "a1")
    assert row["previous_day"] == days_before(7).isoformat()
    assert (row["previous_score"], row["score_change"]) == (57.0, -7.0)
    assert row["day_4w_before"] == days_before(28).isoformat()
    assert (row["score_4w_before"], row["score_change_4w"]) == (78.0, -28.0)
    assert (row["previous_band"], row["band_4w_before"]) == ("caution", "healthy")


def test_as_of_between_mondays(tmp_path):
    as_of = D("2025-07-02")  # a Wednesday
    snap = build(tmp_path, contracts=[days_left_contract("a1", 50, as_of)], config=DAYS_LEFT,
                 as_of=as_of)
    row = current(snap, "a1")
    assert row["is_weekly"] is False and row["is_as_of"] is True
    assert row["previous_day"] == "2025-06-30"      # the Monday of the same week
    assert row["score_change"] == pytest.approx(-2.0)
    assert row["day_4w_before"] == "2025-06-02"     # latest Monday on or before as_of − 28
    assert row["score_change_4w"] == pytest.approx(-30.0)
    days = health.snapshot_days(snap)
    assert days[-2:] == [D("2025-06-30"), as_of]
    assert all(d.weekday() == 0 for d in days[:-1])


def test_only_active_accounts_are_scored(tmp_path):
    contracts = [yearly_contract("active"),
                 yearly_contract("ended", end=days_before(10)),
                 # renewed 20 days after the end: inside the 31-day grace, active in the gap
                 yearly_contract("gap", end=days_before(10)),
                 contract("gap-next", "gap", AS_OF + dt.timedelta(days=10), D("2026-06-30"),
                          mrr=1000)]
    snap = build(tmp_path, contracts=contracts)
    scored_ids = {r[0] for r in snap.rows("SELECT account_id FROM fct_health_current")}
    assert scored_ids == {"active", "gap"}
    gap = current(snap, "gap")
    assert gap["renewal_score"] == 100.0 and gap["following_signed"] is True
    assert gap["days_to_end"] == -10


# ---------------------------------------------------------------------------- manual assessment


def test_manual_assessment_is_shown_until_it_expires(tmp_path):
    store = Store(tmp_path)
    today = D("2025-07-01")
    a = assessments.record_assessment(store, "a1", "warning", D("2025-07-15"), "u1",
                                 comment="予算削減の話あり", today=today)
    assert a.band == "warning"
    assert assessments.current_assessments(store, today)["a1"].comment == "予算削減の話あり"
    assert "a1" in assessments.current_assessments(store, D("2025-07-15"))   # valid on expiry day
    assert "a1" not in assessments.current_assessments(store, D("2025-07-16"))
    assessments.record_assessment(store, "a1", "danger", D("2025-08-31"), "u2", today=today)
    latest = assessments.current_assessments(store, D("2025-07-10"))["a1"]
    assert (latest.band, latest.author) == ("danger", "u2")
    assert [x.band for x in assessments.assessment_history(store, "a1")] == ["danger", "warning"]


@pytest.mark.parametrize("kwargs, message", [
    ({"band": "red"}, "expected one of healthy, caution, warning, danger"),
    ({"expires_on": D("2025-06-30")}, "choose today (2025-07-01) or a later date"),
    ({"author": " "}, "author"),
    ({"account_id": ""}, "account id is empty"),
])
def test_manual_assessment_rejects_bad_input(tmp_path, kwargs, message):
    args = {"account_id": "a1", "band": "caution", "expires_on": D("2025-07-31"),
            "author": "u1", **kwargs}
    with pytest.raises(CsAnalyticsError, match=re.escape(message)):
        assessments.record_assessment(Store(tmp_path), today=D("2025-07-01"), **args)


def test_manual_assessment_beside_the_score_never_replaces_it(tmp_path):
    home = tmp_path / "data"
    snap = build(home, contracts=[days_left_contract("a1", 80)], config=DAYS_LEFT)
    store = Store(home)
    assessments.record_assessment(store, "a1", "danger", D("2099-01-01"), "u1", comment="要注意")
    [record] = health.records(snap, assessments=assessments.current_assessments(store))
    assert (record["score"], record["band"]) == (80.0, "healthy")
    assert record["manual_assessment"]["band"] == "danger"
    assert record["manual_assessment"]["comment"] == "要注意"


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("CS_ANALYTICS_HOME", str(home))
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    return home


def test_health_command_json(cli_home):
    build(cli_home, contracts=[yearly_contract("a1"), days_left_contract("a2", 20)],
          usage=[usage_row("a1", days_before(1), deliveries=3, logins=1)],
          activities=[activity("x", "a1", days_before(61), "email")])
    result = CliRunner().invoke(main, ["health", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["account_id"] for r in records] == ["a2", "a1"]  # lowest score first
    a1 = records[1]
    assert set(a1) >= {"account_id", "name", "owner_id", "score", "band", "components",
                       "top_detractor", "segment", "signals"}
    assert set(a1["components"]) == set(health.HEALTH_COMPONENTS)
    # no viewers: conversion has no data, the other weights sum to 90
    assert a1["components"]["deliveries"] == {
        "value": 3.0, "score": 40.0, "weight": pytest.approx(25 / 90),
        "contribution": pytest.approx(40 * 25 / 90)}
    assert a1["components"]["conversion"] == {"value": None, "score": None, "weight": 0.0,
                                              "contribution": 0.0}
    assert {s["id"] for s in a1["signals"]} == {"no_contact_60d"}
    [signal] = a1["signals"]
    assert signal["last_contact_date"] == days_before(61).isoformat()
    assert signal["days_since_contact"] == 61
    assert signal["last_contact_type"] == "email"


def test_health_command_csv_and_as_of(cli_home):
    build(cli_home, contracts=[days_left_contract("a1", 50)], config=None)
    result = CliRunner().invoke(main, ["health", "--as-of", "2025-06-25"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(",")))
    assert row["snapshot_day"] == "2025-06-23"   # the Monday on or before 2025-06-25
    assert "the latest snapshot on or before 2025-06-25" in result.stderr
    assert {"deliveries_score", "renewal_contribution", "signals"} <= set(header)
    later = CliRunner().invoke(main, ["health", "--as-of", "2025-07-01"])
    assert later.exit_code == 1
    assert "after this snapshot's data as-of 2025-06-30" in later.stderr
    early = CliRunner().invoke(main, ["health", "--as-of", "2023-01-01"])
    assert early.exit_code == 1 and "history starts on 2024-07-01" in early.stderr


# ---------------------------------------------------------------------------- settings, edges


def test_conversion_basis_registrants(tmp_path):
    snap = build(tmp_path, contracts=[yearly_contract("a1")],
                 config={"health": {"conversion_basis": "registrants"}},
                 usage=[usage_row("a1", days_before(3), viewers=10, registrants=100,
                                  conversions=99)])
    row = current(snap, "a1")
    assert row["conversion_value"] == pytest.approx(0.10)   # viewers / registrants
    assert row["conversion_score"] == pytest.approx(70.0)


def test_open_ended_contract_scores_full_renewal(tmp_path):
    snap = build(tmp_path, contracts=[contract("c1", "a1", CONTRACT_START, None, mrr=50_000)])
    row = current(snap, "a1")
    assert row["renewal_value"] is None and row["renewal_score"] == 100.0
    assert row["contract_end_date"] is None


def test_band_counts_join_the_headline_metrics(tmp_path):
    from cs_analytics import metrics as metrics_api
    from cs_analytics.metrics import periods

    snap = build(tmp_path, config=DAYS_LEFT, contracts=[
        days_left_contract("a", 80), days_left_contract("b", 60), days_left_contract("c", 10)])
    period = periods.period_containing("month", AS_OF, 1)
    values = metrics_api.headline(snap, period)
    assert values["health_bands"] == {"healthy": 1, "caution": 1, "warning": 0, "danger": 1}
    # three weeks earlier: 101 → 100, 81, 31 days left
    assert health.band_counts(snap, days_before(21)) == {"healthy": 2, "caution": 0,
                                                          "warning": 1, "danger": 0}


@pytest.mark.parametrize("config, message", [
    ({"signals": {"deliveries_drop_ratio": 1.5}}, "signals.deliveries_drop_ratio"),
    ({"segments": {"arr_points": [[1, 2, 3]]}}, "segments.arr_points[0]"),
    ({"health": {"windows": {"logins_days": 0}}}, "health.windows.logins_days"),
    ({"alerts": {"cooldown_days": -1}}, "alerts.cooldown_days"),
])
def test_settings_the_models_rely_on_are_checked(config, message):
    from cs_analytics.config import settings_from_dict
    from cs_analytics.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_from_dict(config)
