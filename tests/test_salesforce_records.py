"""Salesforce's records as they really are (issue 25): the default mapping counts what a CS team
counts — one meeting per meeting (an invitee's child Event is not a second one), no MRR from a
Draft contract, no contact from an open task, a timed event on its day in Tokyo — through the
real simple-salesforce client against the fake org built to Salesforce's record shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.metrics import accounts, activity
from cs_analytics.warehouse.store import Store
from tests.fakes.salesforce import AS_OF, add_event, connector_settings, pull


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data")


def mrr_in(store, account_id: str, month: str) -> float:
    history = accounts.mrr_history(store.open_current(), account_id)
    row = history[history["month"].astype(str).str.startswith(month)]
    return float(row["mrr"].iloc[0]) if len(row) else 0.0


def meetings_by_owner(store, first: dt.date, last: dt.date) -> dict[str, int]:
    frame = activity.activity_by_owner(store.open_current(), first, last, connector_settings())
    return {r["owner_id"]: int(r["meetings"]) for r in frame.to_dict("records")}


def test_the_default_mapping_counts_what_a_cs_team_counts(org, store):
    pull(org, store)
    snap = store.open_current()

    # The group meeting of 15 February (佐藤, with 田中 invited) is one meeting, 佐藤's: the
    # child copy in 田中's calendar is not a second one.
    assert meetings_by_owner(store, dt.date(2026, 2, 1), dt.date(2026, 2, 28)) == {
        "005M": 1, "005A": 0}
    assert snap.rows("SELECT count(*) FROM activities WHERE type = 'meeting' "
                     "AND account_id = '001B'") == [(1,)]
    # Alpha's MRR from its activated contract only: 1,440,000.5 over 12 month-ends, not
    # tripled by the Draft upsell starting in October.
    assert mrr_in(store, "001A", "2026-03") == pytest.approx(1_440_000.5 / 12, abs=1e-6)
    assert mrr_in(store, "001A", "2025-10") == pytest.approx(1_440_000.5 / 12, abs=1e-6)
    assert snap.rows("SELECT contract_id FROM contracts ORDER BY 1") == [
        ("800A1",), ("800A2",), ("800B1",)]
    # Gamma's call planned for 25 February was never made: Gamma has had no contact.
    assert activity.contact_summary(snap, "001C", AS_OF)["last_contact_date"] is None
    # A meeting at 08:30 on 2 March in Tokyo (23:30 UTC on 1 March) is on 2 March; the
    # all-day training keeps its date.
    assert activity.contact_summary(snap, "001A", dt.date(2026, 3, 5)) == {
        "last_contact_date": dt.date(2026, 3, 2), "last_contact_type": "meeting",
        "last_meeting_date": dt.date(2026, 3, 2), "days_since_contact": 3,
        "days_since_meeting": 3}
    assert snap.rows("SELECT activity_id, date FROM activities WHERE activity_id LIKE '00U%' "
                     "ORDER BY 1") == [("00U1", dt.date(2026, 2, 15)),
                                       ("00U3", dt.date(2026, 3, 2)),
                                       ("00U4", dt.date(2026, 3, 10))]


def test_incremental_refresh_follows_contracts_into_and_out_of_activation(org, store):
    pull(org, store)
    base = 1_440_000.5 / 12

    # The upsell is signed: Draft → Activated. Only the changed contract is read, and it
    # counts from October (2,880,000 over 12 month-ends).
    org.update("Contract", "800A3", Status="Activated", StatusCode="Activated")
    org.requests.clear()
    result = pull(org, store)
    assert {o.name: o.full for o in result.salesforce.objects}["contracts"] is False
    assert mrr_in(store, "001A", "2026-03") == pytest.approx(base + 240_000, abs=1e-6)
    assert mrr_in(store, "001A", "2025-09") == pytest.approx(base, abs=1e-6)

    # The renewal 800A2 goes back to Draft (an amendment): it leaves the data, and with it
    # Alpha's MRR from April 2025 to September 2025.
    org.update("Contract", "800A2", Status="Draft", StatusCode="Draft")
    result = pull(org, store)
    assert {o.name: o.left_out for o in result.salesforce.objects}["contracts"] == {"Status": 1}
    assert store.open_current().rows("SELECT contract_id FROM contracts ORDER BY 1") == [
        ("800A1",), ("800A3",), ("800B1",)]
    assert mrr_in(store, "001A", "2025-06") == 0
    assert mrr_in(store, "001A", "2026-03") == pytest.approx(240_000, abs=1e-6)

    # The planned call is made and closed: now it is Gamma's last contact.
    org.update("Task", "00T6", Status="Completed", IsClosed=True)
    pull(org, store)
    assert activity.contact_summary(store.open_current(), "001C", AS_OF)[
        "last_contact_date"] == dt.date(2026, 2, 25)


def test_each_filter_can_be_changed_or_turned_off_in_the_settings(org, store):
    pull(org, store)
    settings = connector_settings({"objects": {
        "contracts": {"keep": {"Status": ["Activated", "Draft"]}},
        "tasks": {"keep": {"IsClosed": []}},
        "events": {"keep": {"IsChild": []}, "timed": {"date": ""}}}})
    result = pull(org, store, settings)
    # A changed filter pulls the table in full: the records it now keeps arrive.
    assert {o.name: o.full for o in result.salesforce.objects} == {
        "users": False, "accounts": False, "contracts": True, "tasks": True, "events": True}
    snap = store.open_current()
    assert ("800A3",) in snap.rows("SELECT contract_id FROM contracts")
    assert snap.rows("SELECT activity_id, date FROM activities WHERE activity_id IN "
                     "('00T6', '00U2', '00U3') ORDER BY 1") == [
        ("00T6", dt.date(2026, 2, 25)), ("00U2", dt.date(2026, 2, 15)),
        # Without `timed` the event's ActivityDate (its UTC date) is used as it is.
        ("00U3", dt.date(2026, 3, 1))]


def test_timed_events_follow_the_time_zone_and_all_day_events_keep_their_date(org, store):
    add_event(org, Id="00U5", AccountId="001B", OwnerId="005M",
              start=dt.datetime(2026, 3, 20, 15, 30, tzinfo=dt.UTC), Subject="夕方の打合せ")
    pull(org, store, connector_settings({"timezone": "America/Los_Angeles",
                                         "objects": {"events": {"bulk": True}}}))
    # Through Bulk API 2.0 (CSV text: "true", "2026-03-01T23:30:00.000Z") as through REST:
    # 01:00 UTC on 15 February is the 14th in Los Angeles, 23:30 UTC on 1 March is still the
    # 1st, 15:30 UTC on 20 March is 08:30 on the 20th; the all-day event is 10 March anywhere.
    assert store.open_current().rows(
        "SELECT activity_id, date FROM activities WHERE activity_id LIKE '00U%' ORDER BY 1") == [
        ("00U1", dt.date(2026, 2, 14)), ("00U3", dt.date(2026, 3, 1)),
        ("00U4", dt.date(2026, 3, 10)), ("00U5", dt.date(2026, 3, 20))]
