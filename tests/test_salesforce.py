"""Salesforce refresh through the real simple-salesforce client against a local fake org:
full and incremental pulls, paging, relationship fields, deletes, Bulk API 2.0."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cs_analytics.errors import BuildFailed
from cs_analytics.ingest import salesforce
from cs_analytics.warehouse.build import open_build
from cs_analytics.warehouse.store import RefreshLog, Store
from tests.fakes.salesforce import add_task, connector_settings, pull


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data")


def rows(store, sql):
    return store.open_current().rows(sql)


def test_first_refresh_pulls_every_object_into_the_canonical_tables(org, store):
    messages = []
    result = pull(org, store, messages=messages)

    assert rows(store, "SELECT user_id, name, email, role, manager_id, active FROM users "
                       "ORDER BY 1") == [
        ("005A", "田中 太郎", "tanaka@example.com", "member", "005M", True),
        ("005M", "佐藤 花子", "sato@example.com", "member", None, True)]
    assert rows(store, "SELECT account_id, name, owner_id, industry, created_date, sf_url "
                       "FROM accounts ORDER BY 1") == [
        ("001A", "株式会社アルファ", "005A", "金融", dt.date(2024, 4, 15),
         "https://fake-org.my.salesforce.com/lightning/r/Account/001A/view"),
        ("001B", "ベータ㈱", "005M", "医療", dt.date(2024, 12, 1),
         "https://fake-org.my.salesforce.com/lightning/r/Account/001B/view"),
        ("001C", "Gamma Inc.", "005A", None, dt.date(2025, 1, 10),
         "https://fake-org.my.salesforce.com/lightning/r/Account/001C/view")]
    assert rows(store, "SELECT contract_id, account_id, start_date, end_date, amount, status "
                       "FROM contracts ORDER BY 1") == [
        ("800A1", "001A", dt.date(2024, 4, 15), dt.date(2025, 4, 14), 1_200_000.0, "Activated"),
        ("800A2", "001A", dt.date(2025, 4, 15), dt.date(2026, 4, 14), 1_440_000.5, "Activated"),
        ("800B1", "001B", dt.date(2025, 1, 1), dt.date(2025, 12, 31), 600_000.0, "Activated")]
    # Email → email, Call → call, no subtype → other, Event → meeting; the task without an
    # account is skipped with a warning. The open task and the invitee's copy of the group
    # meeting are left out; the timed event at 23:30 UTC on 1 March is on 2 March in Tokyo.
    assert rows(store, "SELECT activity_id, account_id, date, type, owner_id, subject "
                       "FROM activities ORDER BY 1") == [
        ("00T1", "001A", dt.date(2026, 2, 2), "email", "005A", "ご提案資料の送付"),
        ("00T2", "001B", dt.date(2026, 2, 10), "call", "005M", "更新のご相談"),
        ("00T3", "001A", dt.date(2026, 2, 20), "other", "005A", "社内メモ"),
        ("00U1", "001B", dt.date(2026, 2, 15), "meeting", "005M", "定例MTG"),
        ("00U3", "001A", dt.date(2026, 3, 2), "meeting", "005A", "朝会"),
        ("00U4", "001A", dt.date(2026, 3, 10), "meeting", "005A", "導入研修（終日）")]
    assert any("Task: 1 records skipped because AccountId (activities.account_id) is empty, "
               "e.g. 00T4" in w for w in result.warnings)

    # Accounts (3), contracts (4), tasks (5) and events (4) came in pages of 2 through
    # nextRecordsUrl.
    more = [r.path for r in org.requests if "/query/01g" in r.path]
    assert len(more) == 5
    assert all(r.host == "fake-org.my.salesforce.com" for r in org.requests[1:])
    # A first pull is a full one: the plain query endpoint, no SystemModstamp filter.
    assert not any("SystemModstamp >=" in q for q in org.queries())
    assert [o.fetched for o in result.salesforce.objects] == [2, 3, 4, 5, 4]
    assert [o.left_out for o in result.salesforce.objects] == [
        {}, {}, {"Status": 1}, {"IsClosed": 1}, {"IsChild": 1}]
    assert "Salesforce Task: 5 records fetched (full pull)" in messages
    assert ("Salesforce Contract: 1 records left out: salesforce.objects.contracts.keep "
            "(Status not Activated)") in messages
    assert result.summary()[-2] == "rows: users 2, accounts 3, contracts 3, activities 6, usage 0"
    assert "4 fetched, 1 left out (IsChild) (full)" in result.summary()[4]
    log = RefreshLog(store).recent(1)[0]
    assert log["outcome"] == "success" and log["source"] == "salesforce"


def test_raw_records_are_kept_with_relationship_fields_flattened(org, store):
    settings = connector_settings({"objects": {
        "accounts": {"fields": {"industry": "Parent.Industry"}},
        "contracts": {"fields": {"churn_reason": "Account.Churn_Reason__c"}}}})
    pull(org, store, settings)

    # Gamma's parent is Alpha (金融); the others have no parent: the relationship is null.
    assert rows(store, "SELECT account_id, industry FROM accounts ORDER BY 1") == [
        ("001A", None), ("001B", None), ("001C", "金融")]
    assert rows(store, "SELECT contract_id, churn_reason FROM contracts ORDER BY 1") == [
        ("800A1", None), ("800A2", None), ("800B1", "施策終了・中止")]
    raw = store.open_current().query(
        "SELECT id, account_churn_reason__c, system_modstamp FROM raw_salesforce_contracts "
        "ORDER BY id")
    # Raw records are kept as received, the Draft 800A3 too.
    assert list(raw["account_churn_reason__c"].fillna("-")) == ["-", "-", "-", "施策終了・中止"]
    assert raw["system_modstamp"].iloc[0].startswith("2026-03-01T")
    parents = store.open_current().rows(
        "SELECT id, parent_industry FROM raw_salesforce_accounts ORDER BY id")
    assert parents == [("001A", None), ("001B", None), ("001C", "金融")]


def test_incremental_refresh_merges_changes_and_removes_deleted_records(org, store):
    pull(org, store)
    marks = salesforce.read_watermarks(store)
    assert marks["accounts"].since == org.records["Account"]["001C"]["SystemModstamp"]

    org.update("Account", "001B", Name="ベータ株式会社")
    org.delete("Contract", "800B1")
    add_task(org, Id="00T5", AccountId="001C", OwnerId="005A", ActivityDate="2026-03-02",
            TaskSubtype="Call", Subject="初回オンボーディング")
    org.delete("Event", "00U1")
    org.requests.clear()
    result = pull(org, store)

    queries = {q.split(" FROM ")[1].split()[0]: q for q in org.queries()}
    assert "SystemModstamp >= 2026-03-01T00:05:00+00:00" in queries["Account"]
    assert "IsDeleted" in queries["Contract"]
    # Deleted records come only from queryAll; User has no IsDeleted and uses query.
    endpoints = {r.param("q").split(" FROM ")[1].split()[0]: r.path.rstrip("/").rsplit("/", 1)[1]
                 for r in org.requests if r.param("q")}
    assert endpoints == {"User": "query", "Account": "queryAll", "Contract": "queryAll",
                         "Task": "queryAll", "Event": "queryAll"}
    assert rows(store, "SELECT account_id, name FROM accounts ORDER BY 1") == [
        ("001A", "株式会社アルファ"), ("001B", "ベータ株式会社"), ("001C", "Gamma Inc.")]
    assert rows(store, "SELECT contract_id FROM contracts ORDER BY 1") == [("800A1",), ("800A2",)]
    assert rows(store, "SELECT activity_id, type FROM activities ORDER BY 1") == [
        ("00T1", "email"), ("00T2", "call"), ("00T3", "other"), ("00T5", "call"),
        ("00U3", "meeting"), ("00U4", "meeting")]
    # The newest record before the refresh (the watermark) is read again with each change.
    summary = {o.name: (o.full, o.fetched, o.deleted) for o in result.salesforce.objects}
    assert summary["contracts"] == (False, 2, 1)
    assert summary["events"] == (False, 2, 1)
    assert salesforce.read_watermarks(store)["contracts"].since == \
        org.records["Contract"]["800B1"]["SystemModstamp"]


def test_columns_salesforce_does_not_map_survive_a_refresh(org, store):
    pull(org, store)
    settings = connector_settings()
    with open_build(settings, store, source="import") as build:
        build.con.execute("UPDATE users SET role = 'manager', capacity = 30 WHERE user_id = '005M'")
        build.con.execute("UPDATE accounts SET phase = 'mature' WHERE account_id = '001A'")
        build.publish()
    org.update("User", "005M", Email="hanako.sato@example.com")
    org.update("Account", "001A", Industry="保険")
    pull(org, store)
    assert rows(store, "SELECT user_id, email, role, capacity FROM users ORDER BY 1") == [
        ("005A", "tanaka@example.com", "member", None),
        ("005M", "hanako.sato@example.com", "manager", 30)]
    assert rows(store, "SELECT industry, phase FROM accounts WHERE account_id = '001A'") == [
        ("保険", "mature")]


def test_full_refresh_drops_records_that_vanished_without_a_delete(org, store):
    pull(org, store)
    # Emptied from the recycle bin: incremental pulls never hear of it again.
    del org.records["Task"]["00T2"]
    pull(org, store)
    assert ("00T2",) in rows(store, "SELECT activity_id FROM activities")
    result = pull(org, store, full=True)
    assert ("00T2",) not in rows(store, "SELECT activity_id FROM activities")
    assert all(o.full for o in result.salesforce.objects)
    assert not any("SystemModstamp >=" in q for q in org.queries()[-5:])


def test_a_changed_mapping_pulls_that_table_in_full(org, store):
    pull(org, store)
    org.requests.clear()
    settings = connector_settings({"objects": {"accounts": {"fields": {"churn_reason":
                                                                  "Churn_Reason__c"}}}})
    result = pull(org, store, settings)
    full = {o.name: o.full for o in result.salesforce.objects}
    assert full == {"users": False, "accounts": True, "contracts": False, "tasks": False,
                    "events": False}
    assert rows(store, "SELECT account_id, churn_reason FROM accounts ORDER BY 1") == [
        ("001A", None), ("001B", "施策終了・中止"), ("001C", None)]


def test_refresh_over_demo_data_starts_from_empty_tables(org, store):
    settings = connector_settings()
    with open_build(settings, store, source="demo", base="empty", is_demo=True) as build:
        build.con.execute("INSERT INTO users (user_id, name) VALUES ('demo-u', 'Demo')")
        build.con.execute("INSERT INTO accounts (account_id, name, owner_id) "
                          "VALUES ('demo-a', 'Demo', 'demo-u')")
        build.publish()
    salesforce.write_watermarks(store, {"accounts": salesforce.Watermark(
        dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "stale")})
    result = pull(org, store)
    assert all(o.full for o in result.salesforce.objects)
    assert rows(store, "SELECT count(*) FROM accounts WHERE account_id = 'demo-a'") == [(0,)]
    assert rows(store, "SELECT count(*) FROM accounts") == [(3,)]
    assert not store.open_current().is_demo


def test_tasks_of_accounts_outside_the_accounts_filter_are_skipped(org, store):
    org.update("Account", "001C", Type="Prospect")
    add_task(org, Id="00T9", AccountId="001C", OwnerId="005A", ActivityDate="2026-03-01",
            TaskSubtype="Call", Subject="見込み客")
    settings = connector_settings({"objects": {"accounts": {"where": "Type = 'Customer'"}}})
    result = pull(org, store, settings)
    assert rows(store, "SELECT account_id FROM accounts ORDER BY 1") == [("001A",), ("001B",)]
    assert ("00T9",) not in rows(store, "SELECT activity_id FROM activities")
    assert any("Task: 1 records skipped because their account is not among the pulled "
               "accounts (e.g. account 001C)" in w for w in result.warnings)
    assert "WHERE (Type = 'Customer')" in org.queries()[1]


def test_bulk_api_pull_full_then_incremental_with_a_delete(org, store):
    settings = connector_settings({"objects": {"tasks": {"bulk": True}}})
    pull(org, store, settings)
    assert rows(store, "SELECT activity_id, type, date FROM activities WHERE activity_id "
                       "LIKE '00T%' ORDER BY 1") == [
        ("00T1", "email", dt.date(2026, 2, 2)), ("00T2", "call", dt.date(2026, 2, 10)),
        ("00T3", "other", dt.date(2026, 2, 20))]
    jobs = [r for r in org.requests if r.path.endswith("/jobs/query") and r.method == "POST"]
    assert [j.json()["operation"] for j in jobs] == ["query"]
    # 5 task rows in Bulk pages of 2: three result pages, the next ones by locator.
    results = [r for r in org.requests if r.path.endswith("/results")]
    assert [r.param("locator") for r in results] == [None, "2", "4"]

    org.delete("Task", "00T1")
    org.update("Task", "00T2", Subject="更新のご相談（再）")
    pull(org, store, settings)
    jobs = [r for r in org.requests if r.path.endswith("/jobs/query") and r.method == "POST"]
    assert jobs[-1].json()["operation"] == "queryAll"
    assert "SystemModstamp >=" in jobs[-1].json()["query"]
    assert rows(store, "SELECT activity_id, subject FROM activities WHERE activity_id "
                       "LIKE '00T%' ORDER BY 1") == [
        ("00T2", "更新のご相談（再）"), ("00T3", "社内メモ")]


def test_custom_objects_and_fields_from_config(org, store):
    org.define("Plan__c", ["Account__c", "Start__c", "End__c", "Monthly__c", "Kind__c"])
    org.add("Plan__c", Id="a0P1", Account__c="001B", Start__c="2026-01-01",
            End__c="2026-12-31", Monthly__c=50_000, Kind__c="アップセル")
    settings = connector_settings({"objects": {"plans": {
        "table": "contracts", "object": "Plan__c",
        "fields": {"contract_id": "Id", "account_id": "Account__c", "start_date": "Start__c",
                   "end_date": "End__c", "mrr": "Monthly__c", "type": "Kind__c"}}}})
    pull(org, store, settings)
    assert rows(store, "SELECT contract_id, account_id, mrr, amount, type FROM contracts "
                       "WHERE contract_id = 'a0P1'") == [("a0P1", "001B", 50_000.0, None,
                                                          "upsell")]


def test_watermarks_are_stored_only_after_a_publish(org, store):
    pull(org, store)
    before = salesforce.read_watermarks(store)
    org.update("Account", "001A", Name="変更後")
    # A reference check fails after the pull: nothing is published, the watermark stays.
    org.update("Account", "001B", OwnerId="005Z")
    with pytest.raises(BuildFailed, match="accounts.owner_id refers to users that do not "
                                          "exist: 005Z"):
        pull(org, store)
    assert salesforce.read_watermarks(store) == before
    stored = json.loads(store.meta_db().execute(
        "SELECT value FROM watermarks WHERE object = 'accounts'").fetchone()[0])
    assert set(stored) == {"since", "fingerprint"}


def test_contract_renewal_terms_from_mapped_custom_fields(org, store):
    """Renewal terms have no standard Contract field: an org's custom fields are mapped in the
    settings; a checkbox comes as a JSON boolean, a number field as a decimal."""
    org.define("Contract", ["AccountId", "StartDate", "EndDate", "Status", "Amount__c",
                            "AutoRenew__c", "NoticeDays__c", "NoticeDate__c"])
    org.update("Contract", "800B1", AutoRenew__c=True, NoticeDays__c=60.0,
               NoticeDate__c="2025-10-01")
    org.update("Contract", "800A2", AutoRenew__c=False)
    settings = connector_settings({"objects": {"contracts": {"fields": {
        "auto_renew": "AutoRenew__c", "notice_days": "NoticeDays__c",
        "notice_date": "NoticeDate__c"}}}})
    pull(org, store, settings)
    assert rows(store, "SELECT contract_id, auto_renew, notice_days, notice_date, amount "
                       "FROM contracts ORDER BY contract_id") == [
        ("800A1", None, None, None, 1_200_000.0),
        ("800A2", False, None, None, 1_440_000.5),
        ("800B1", True, 60, dt.date(2025, 10, 1), 600_000.0)]


def test_renewal_terms_are_not_queried_unless_mapped(org, store):
    """The default mapping leaves the renewal fields out: an org without such custom fields
    refreshes as before."""
    pull(org, store)
    soql = " ".join(q for q in org.queries() if "FROM Contract" in q)
    assert "AutoRenew" not in soql and "Notice" not in soql
    assert rows(store, "SELECT count(*) FROM contracts WHERE auto_renew IS NULL") == [(3,)]
