"""`push` (issue 26): the CS fields of each Account and the weekly usage rows written to Salesforce
through the real simple-salesforce client against the fake org — only what changed since the
last confirmed push, per-record errors reported without stopping the others, the set-up checked
before any write, retries and one re-login, sObject Collections or Bulk API 2.0."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.errors import SourceError
from cs_analytics.metrics.account_status import account_status
from cs_analytics.outputs.writeback import push
from cs_analytics.outputs.writeback.state import PushedState
from cs_analytics.secrets import Secrets
from cs_analytics.warehouse.store import RefreshLog, Store
from tests.conftest import build_snapshot, contract
from tests.fakes.http import Response
from tests.fakes.salesforce import (ACCOUNT_PUSH_FIELDS, AS_OF, FakeSalesforce, errors,
                                    password_secrets, populate, set_up_writeback)

# Complete weeks up to Tuesday 2026-03-31: the 13 Mondays 2025-12-29 … 2026-03-23.
MONDAYS = [dt.date(2025, 12, 29) + dt.timedelta(weeks=k) for k in range(13)]


@pytest.fixture
def org():
    with FakeSalesforce(page_size=200) as fake:
        populate(fake)
        set_up_writeback(fake)
        yield fake


def usage_rows(account_id: str, deliveries: int, logins: int, days=90, last=AS_OF):
    """One usage row a day for `days` days up to `last`: a delivery every `deliveries`-th day,
    `logins` logins a day."""
    rows = []
    for k in range(days):
        day = last - dt.timedelta(days=k)
        rows.append({"account_id": account_id, "date": day,
                     "deliveries": 1 if k % deliveries == 0 else 0, "logins": logins,
                     "viewers": 10, "registrants": 20, "conversions": 1})
    return rows


def snapshot(home, *, extra_activities=(), usage_b_logins=2, beta_contract=True):
    """Alpha, Beta and Gamma are active customers (ids of the fake org); Delta left in 2025."""
    users = [{"user_id": "005M", "name": "佐藤 花子", "email": "sato@example.com"},
             {"user_id": "005A", "name": "田中 太郎", "email": "tanaka@example.com"}]
    accounts = [{"account_id": "001A", "name": "株式会社アルファ", "owner_id": "005A",
                 "industry": "金融"},
                {"account_id": "001B", "name": "ベータ㈱", "owner_id": "005M"},
                {"account_id": "001C", "name": "Gamma Inc.", "owner_id": "005A"},
                {"account_id": "001D", "name": "デルタ", "owner_id": "005A"}]
    contracts = [contract("800A2", "001A", "2025-04-15", "2026-04-14", amount=1_440_000),
                 *([contract("800B2", "001B", "2026-01-01", "2026-12-31", amount=720_000)]
                   if beta_contract else []),
                 contract("800C1", "001C", "2025-06-01", "2026-05-31", amount=1_200_000),
                 contract("800C2", "001C", "2026-06-01", "2027-05-31", amount=1_200_000),
                 contract("800D1", "001D", "2024-01-01", "2024-12-31", amount=600_000)]
    activities = [{"activity_id": "00T1", "account_id": "001A", "date": "2026-03-20",
                   "type": "meeting", "owner_id": "005A"},
                  {"activity_id": "00T2", "account_id": "001B", "date": "2026-02-10",
                   "type": "call", "owner_id": "005M"},
                  {"activity_id": "00T0", "account_id": "001C", "date": "2025-11-01",
                   "type": "email", "owner_id": "005A"},
                  *extra_activities]
    usage = (usage_rows("001A", 3, 5) + usage_rows("001B", 10, usage_b_logins)
             + usage_rows("001C", 30, 0, days=120))
    return build_snapshot(home, users=users, accounts=accounts, contracts=contracts,
                          activities=activities, usage=usage, as_of=AS_OF, source="salesforce")


def settings(**push_settings):
    return settings_from_dict({"general": {"as_of": AS_OF},
                               "salesforce": {"backoff_seconds": 0, "bulk_poll_seconds": 0.01,
                                              "timeout_seconds": 5, "push": push_settings}})


def run(org, store, config=None, **kwargs):
    return push(config or settings(), store, secrets=Secrets(password_secrets(org)),
                session=org.session(timeout=5), **kwargs)


def writes(org):
    """The write calls the org received: (method, path) of PATCH/POST/PUT requests."""
    return [(r.method, r.path.split("/v59.0/")[1]) for r in org.requests
            if r.method in ("PATCH", "POST", "PUT") and "/services/data/" in r.path]


@pytest.fixture
def store(tmp_path):
    snapshot(tmp_path / "data")
    return Store(tmp_path / "data")


def test_first_push_writes_every_customer_and_the_second_sends_nothing(org, store):
    messages = []
    result = run(org, store, progress=messages.append)

    status = account_status(store.open_current()).set_index("account_id")
    alpha = org.records["Account"]["001A"]
    # Alpha: deliveries every third day over the 90 days to 31 March (30), 5 logins a day.
    assert alpha["CS_Deliveries_90d__c"] == 30 and alpha["CS_Logins_90d__c"] == 450
    assert alpha["CS_Health_Score__c"] == round(status.loc["001A", "health_score"], 1)
    assert alpha["CS_Health_Band__c"] == status.loc["001A", "health_band"]
    assert alpha["CS_Health_Band__c"] in ("healthy", "caution", "warning", "danger")
    assert alpha["CS_Segment__c"] == status.loc["001A", "segment"]
    assert alpha["CS_Last_Contact__c"] == "2026-03-20"
    assert alpha["CS_Last_Login__c"] == "2026-03-31"
    assert alpha["CS_Next_Renewal__c"] == "2026-04-14"
    # Gamma's renewal is signed: the next one to work on ends in May 2027. No contact since
    # November, no login at all: its open signals, in the documented order.
    gamma = org.records["Account"]["001C"]
    assert gamma["CS_Next_Renewal__c"] == "2027-05-31"
    assert gamma["CS_Signals__c"] == "no_login_60d;no_contact_60d"
    assert gamma["CS_Last_Login__c"] is None and gamma["CS_Deliveries_90d__c"] == 3
    # Delta left in 2024: its fields stay empty, so nothing is sent for it.
    sent_ids = [rec["Id"] for r in org.requests if r.path.endswith("/composite/sobjects")
                for rec in r.json()["records"]]
    assert sorted(sent_ids) == ["001A", "001B", "001C"]

    assert result.tallies["Account"].sent == 3 and result.tallies["Account"].unchanged == 1
    usage = org.records["CS_Usage_Weekly__c"]
    assert result.tallies["CS_Usage_Weekly__c"].sent == len(usage) == 3 * 13
    week = next(r for r in usage.values() if r["CS_Key__c"] == "001A:2026-03-23")
    assert (week["Account__c"], week["Week_Start__c"]) == ("001A", "2026-03-23")
    # 23–29 March: 0-based days 2..8 before the 31st; deliveries on days 3 and 6.
    assert week["Deliveries__c"] == 2 and week["Logins__c"] == 35 and week["Viewers__c"] == 70
    assert {r["CS_Key__c"].split(":")[1] for r in usage.values()} == {
        m.isoformat() for m in MONDAYS}

    # Described before written; written through sObject Collections with allOrNone false.
    paths = [(r.method, r.path.split("/v59.0/")[1]) for r in org.requests
             if "/services/data/" in r.path]
    assert paths[:2] == [("GET", "sobjects/Account/describe"),
                         ("GET", "sobjects/CS_Usage_Weekly__c/describe")]
    assert writes(org) == [("PATCH", "composite/sobjects"),
                           ("PATCH", "composite/sobjects/CS_Usage_Weekly__c/CS_Key__c")]
    patches = [r.json() for r in org.requests if r.method == "PATCH"]
    assert all(body["allOrNone"] is False for body in patches)
    assert len(patches[1]["records"]) == 39
    assert result.summary()[0].split() == ["salesforce", "push", "Account", "3", "sent,", "1",
                                           "unchanged,", "0", "refused"]
    log = RefreshLog(store).recent(1)[0]
    assert (log["source"], log["outcome"], log["error"]) == ("salesforce push", "success", None)
    assert log["rows"]["Account"] == {"sent": 3, "unchanged": 1, "failed": 0}
    assert log["snapshot_id"] == store.open_current().id

    org.requests.clear()
    again = run(org, store)
    assert org.requests == []  # not even a login
    assert again.to_send == 0 and again.tallies["Account"].unchanged == 4
    assert again.summary()[-1].startswith("nothing changed since the last push")


def test_a_changed_account_sends_one_record_with_only_what_changed(org, store, tmp_path):
    run(org, store)
    before = dict(org.records["Account"]["001B"])
    # Beta had a meeting on 30 March: its last contact moves, its touchpoints score rises.
    snapshot(tmp_path / "data", extra_activities=[{
        "activity_id": "00U9", "account_id": "001B", "date": "2026-03-30", "type": "meeting",
        "owner_id": "005M"}])
    org.requests.clear()
    result = run(org, store)
    patches = [r.json() for r in org.requests if r.method == "PATCH"]
    assert len(patches) == 1 and len(patches[0]["records"]) == 1
    sent = patches[0]["records"][0]
    assert sent["Id"] == "001B" and sent["CS_Last_Contact__c"] == "2026-03-30"
    assert set(sent) - {"attributes", "Id"} <= {
        "CS_Last_Contact__c", "CS_Health_Score__c", "CS_Health_Band__c", "CS_Segment__c",
        "CS_Top_Detractor__c", "CS_Signals__c"}
    assert "CS_Deliveries_90d__c" not in sent and "CS_Next_Renewal__c" not in sent
    assert result.tallies["Account"].sent == 1 and result.tallies["Account"].unchanged == 3
    assert result.tallies["CS_Usage_Weekly__c"].sent == 0
    assert org.records["Account"]["001B"]["CS_Deliveries_90d__c"] == before[
        "CS_Deliveries_90d__c"]


def test_dry_run_lists_each_change_and_sends_nothing(org, store, tmp_path):
    result = run(org, store, dry_run=True)
    assert writes(org) == []
    assert result.setup_error is None  # logged in and described: the set-up is complete
    lines = {(line.record, line.field): (line.old, line.new) for line in result.lines
             if line.object == "Account"}
    assert lines[("株式会社アルファ (001A)", "CS_Next_Renewal__c")] == (None, "2026-04-14")
    assert lines[("株式会社アルファ (001A)", "CS_Deliveries_90d__c")] == (None, 30)
    assert not any(record.startswith("デルタ") for record, _ in lines)
    assert result.summary()[-1].startswith("dry run to ")
    assert PushedState(store, result.target).load("Account") == {}

    run(org, store)
    snapshot(tmp_path / "data", usage_b_logins=3)
    org.requests.clear()
    result = run(org, store, dry_run=True)
    assert writes(org) == []
    changed = [(line.record, line.field, line.old, line.new) for line in result.lines
               if line.object == "Account"]
    assert ("ベータ㈱ (001B)", "CS_Logins_90d__c", 180, 270) in changed
    assert all(record == "ベータ㈱ (001B)" for record, *_ in changed)
    usage = [line for line in result.lines if line.object == "CS_Usage_Weekly__c"]
    assert {line.field for line in usage} == {"Logins__c"}
    # 2 → 3 logins a day: 14 → 21 a week, 8 → 12 in the week of 1 January (usage from the 1st).
    assert {(line.old, line.new) for line in usage} == {(14, 21), (8, 12)}
    assert len(usage) == 13


def test_refused_records_are_reported_and_the_others_written(org, store):
    org.reject("Account", "001B", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
               "ヘルススコアは0〜100で入力してください", ["CS_Health_Score__c"])
    org.delete("Account", "001C")
    result = run(org, store)
    assert org.records["Account"]["001A"]["CS_Health_Band__c"] is not None
    assert org.records["Account"]["001B"]["CS_Health_Band__c"] is None
    assert sorted((r.record, r.error) for r in result.refused if r.object == "Account") == [
        ("Gamma Inc. (001C)", "ENTITY_IS_DELETED: entity is deleted"),
        ("ベータ㈱ (001B)", "FIELD_CUSTOM_VALIDATION_EXCEPTION: ヘルススコアは0〜100で入力して"
                           "ください (CS_Health_Score__c)")]
    assert result.tallies["Account"].sent == 1 and result.tallies["Account"].failed == 2
    # Gamma's usage rows point at a deleted account: refused one by one as well.
    assert result.tallies["CS_Usage_Weekly__c"].failed == 13
    assert result.tallies["CS_Usage_Weekly__c"].sent == 26
    log = RefreshLog(store).recent(1)[0]
    assert log["outcome"] == "failed"
    assert log["error"].startswith("15 records refused by Salesforce: Account ")

    # Once the rule is fixed, the next push sends the refused records — and only them.
    org.rejections.clear()
    org.requests.clear()
    result = run(org, store)
    sent = [rec["Id"] for r in org.requests if r.method == "PATCH" and
            r.path.endswith("/composite/sobjects") for rec in r.json()["records"]]
    assert sent == ["001B", "001C"]
    assert org.records["Account"]["001B"]["CS_Health_Band__c"] is not None


def test_a_missing_field_stops_the_push_before_any_write(org, store):
    org.schema["Account"].remove("CS_Segment__c")
    del org.schema["CS_Usage_Weekly__c"]
    with pytest.raises(SourceError) as exc_info:
        run(org, store)
    message = str(exc_info.value)
    assert message.startswith("Salesforce is not set up for the write-back, so nothing was "
                              "written: Account has no field CS_Segment__c "
                              "(salesforce.push.account_fields.segment); there is no object "
                              "CS_Usage_Weekly__c this user can see "
                              "(salesforce.push.usage_object)")
    assert "\n" not in message
    assert writes(org) == []
    log = RefreshLog(store).recent(1)[0]
    assert (log["source"], log["outcome"]) == ("salesforce push", "failed")
    assert log["error"] == message
    # Renamed in the settings (or switched off), the push goes through.
    result = run(org, store, settings(account_fields={"segment": ""}, usage_object=""))
    assert result.tallies["Account"].sent == 3 and "CS_Usage_Weekly__c" not in result.tallies


def test_a_read_only_field_or_a_key_that_is_not_an_external_id_is_refused_too(org, store):
    org.field_types("Account", read_only=["CS_Health_Band__c"])
    org.external_ids["CS_Usage_Weekly__c"].clear()
    with pytest.raises(SourceError, match=r"this user cannot write Account\.CS_Health_Band__c "
                                          r"\(salesforce\.push\.account_fields\.health_band\): "
                                          r"give the integration user edit access to the field; "
                                          r"CS_Usage_Weekly__c\.CS_Key__c is not an External ID "
                                          r"field \(salesforce\.push\.usage_key_field\)"):
        run(org, store)
    assert writes(org) == []


def test_above_the_threshold_records_go_through_bulk_api_2(org, store, tmp_path):
    org.reject("CS_Usage_Weekly__c", "001B:2026-03-23", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
               "週の開始日は月曜日にしてください", ["Week_Start__c"])
    result = run(org, store, settings(bulk_threshold=2))
    jobs = [r.json() for r in org.requests if r.method == "POST" and
            r.path.endswith("/jobs/ingest")]
    assert [(j["object"], j["operation"], j.get("externalIdFieldName")) for j in jobs] == [
        ("Account", "update", None), ("CS_Usage_Weekly__c", "upsert", "CS_Key__c")]
    assert not any(r.path.endswith("/composite/sobjects") for r in org.requests)
    assert result.tallies["Account"].sent == 3
    assert result.tallies["CS_Usage_Weekly__c"].sent == 38
    assert [(r.record, r.error) for r in result.refused] == [
        ("001B:2026-03-23", "FIELD_CUSTOM_VALIDATION_EXCEPTION: 週の開始日は月曜日にしてください "
                            "(Week_Start__c)")]
    assert org.records["Account"]["001A"]["CS_Next_Renewal__c"] == "2026-04-14"

    # Beta's contract is cancelled (no longer a customer: every field is emptied, with #N/A
    # in the CSV) and Alpha had a meeting (only its last contact changes: the other cells
    # stay empty, which leaves those fields as they are).
    snapshot(tmp_path / "data", beta_contract=False, extra_activities=[{
        "activity_id": "00U8", "account_id": "001A", "date": "2026-03-30", "type": "meeting",
        "owner_id": "005A"}])
    org.requests.clear()
    result = run(org, store, settings(bulk_threshold=1))
    assert result.tallies["Account"].sent == 2
    upload = next(r.body.decode() for r in org.requests if r.method == "PUT")
    rows = {row["Id"]: row for row in csv.DictReader(io.StringIO(upload))}
    assert set(rows["001B"].values()) == {"001B", "#N/A"}
    assert rows["001A"]["CS_Last_Contact__c"] == "2026-03-30"
    assert rows["001A"]["CS_Next_Renewal__c"] == ""
    beta, alpha = org.records["Account"]["001B"], org.records["Account"]["001A"]
    assert all(beta[f] is None for f in ACCOUNT_PUSH_FIELDS)
    assert alpha["CS_Last_Contact__c"] == "2026-03-30"
    assert alpha["CS_Next_Renewal__c"] == "2026-04-14"


def test_transient_errors_are_retried_and_an_expired_session_renewed_once(org, store):
    org.fail(r"composite/sobjects$", Response(503, errors("SERVER_UNAVAILABLE", "maintenance")),
             method="PATCH")
    org.fail(r"composite/sobjects/CS_Usage", Response(401, errors("INVALID_SESSION_ID",
                                                                  "Session expired or invalid")))
    messages = []
    result = run(org, store, progress=messages.append)
    assert result.ok and result.tallies["CS_Usage_Weekly__c"].sent == 39
    assert any("Salesforce answered HTTP 503 SERVER_UNAVAILABLE while writing Account; retry 1"
               in m for m in messages)
    assert "Salesforce session expired: logging in again" in messages
    assert len(org.logins) == 2
    # Retried calls wrote nothing twice: one usage record per account and week.
    assert len(org.records["CS_Usage_Weekly__c"]) == 39


def test_a_row_lock_is_sent_once_more(org, store):
    org.reject("Account", "001A", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to "
                                                        "this record", times=1)
    messages = []
    result = run(org, store, progress=messages.append)
    assert result.ok and result.tallies["Account"].sent == 3
    assert ("Salesforce Account: 1 records were locked by another update; sending them once "
            "more") in messages


def test_usage_rows_are_upserted_by_external_id_so_a_rerun_never_duplicates(org, store):
    run(org, store)
    # Someone emptied a field in Salesforce: --resend-all writes every value again, and the
    # usage rows, matched by CS_Key__c, are updated rather than added.
    org.records["Account"]["001A"]["CS_Segment__c"] = None
    assert run(org, store).to_send == 0
    again = run(org, store, resend_all=True)
    assert again.tallies["CS_Usage_Weekly__c"].sent == 39
    assert again.tallies["Account"].sent == 3
    assert len(org.records["CS_Usage_Weekly__c"]) == 39
    assert org.records["Account"]["001A"]["CS_Segment__c"] is not None


def test_demo_data_is_never_pushed(org, tmp_path):
    build_snapshot(tmp_path / "demo", accounts=[{"account_id": "001A", "name": "x",
                                                 "owner_id": "u1"}],
                   as_of=AS_OF, is_demo=True, source="demo")
    with pytest.raises(SourceError, match="the current snapshot is demo data: nothing is "
                                          "written to Salesforce"):
        run(org, Store(tmp_path / "demo"))
    assert org.requests == []


def test_a_damaged_snapshot_is_never_pushed_from_the_older_one_standing_in(org, tmp_path):
    """An older snapshot served in place of a damaged current one would overwrite newer values
    in Salesforce: push refuses before any call."""
    from bench.faults import garble_snapshot

    home = tmp_path / "data"
    for day in ("2026-03-31", AS_OF):
        build_snapshot(home, accounts=[{"account_id": "001A", "name": "x", "owner_id": "u1"}],
                       as_of=day)
    garble_snapshot(home)
    with pytest.raises(SourceError, match="the current snapshot is damaged .*nothing is "
                                          "written to Salesforce"):
        run(org, Store(home))
    assert org.requests == []


def test_without_salesforce_configured_push_says_how_to_configure_it(store):
    with pytest.raises(SourceError, match="^Salesforce is not configured"):
        push(settings(), store, secrets=Secrets({}))


# ---------------------------------------------------------------------------- the command line


def cli_env(org, tmp_path, token):
    config = tmp_path / "cs_analytics.toml"
    config.write_text("[general]\nas_of = 2026-03-31\n[salesforce]\nbackoff_seconds = 0\n"
                      "timeout_seconds = 5\nbulk_poll_seconds = 0.01\n", encoding="utf-8")
    return {"CS_ANALYTICS_HOME": str(tmp_path / "data"), "CS_ANALYTICS_CONFIG": str(config),
            "CS_ANALYTICS_SECRETS": str(tmp_path / "no-secrets.toml"),
            "SF_INSTANCE_URL": org.url, "SF_SESSION_ID": token}


def test_cli_push_dry_run_table_then_push_and_a_refused_record_exits_1(org, store, tmp_path):
    from click.testing import CliRunner

    from cs_analytics.cli import main

    token = org.issue_token()
    env = cli_env(org, tmp_path, token)
    dry = CliRunner().invoke(main, ["push", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0].split() == ["record", "object", "field", "old", "→", "new"]
    assert any(line.split() == ["株式会社アルファ", "(001A)", "Account", "CS_Next_Renewal__c",
                                "—", "→", "2026-04-14"] for line in lines)
    assert lines[-1].startswith("dry run to 127.0.0.1:")
    assert writes(org) == []

    org.reject("Account", "001B", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
               f"session {token} may not write this")
    result = CliRunner().invoke(main, ["push"], env=env)
    assert result.exit_code == 1
    assert ("refused: Account ベータ㈱ (001B): FIELD_CUSTOM_VALIDATION_EXCEPTION: session *** "
            "may not write this") in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: Salesforce refused 1 records (listed above); everything else was written, and "
        "the refused ones are sent again by the next push")
    assert result.stdout.splitlines()[0].split()[3:] == ["2", "sent,", "1", "unchanged,", "1",
                                                         "refused"]
    assert token not in result.output
    assert token not in RefreshLog(store).recent(1)[0]["error"]

    org.rejections.clear()
    again = CliRunner().invoke(main, ["push"], env=env)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0].split()[3:] == ["1", "sent,", "3", "unchanged,", "0",
                                                        "refused"]


def test_cli_refresh_then_push(org, tmp_path):
    from click.testing import CliRunner

    from cs_analytics.cli import main

    env = cli_env(org, tmp_path, org.issue_token())
    result = CliRunner().invoke(main, ["refresh", "--source", "salesforce", "--push"], env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert any(line.startswith("snapshot ") for line in out)
    # Alpha is the org's one active customer (its renewal runs to 14 April).
    assert out[-4].split()[:6] == ["salesforce", "push", "Account", "1", "sent,", "2"]
    assert out[-1].startswith("pushed to 127.0.0.1:")
    assert org.records["Account"]["001A"]["CS_Next_Renewal__c"] == "2026-04-14"
    # A refresh that fails pushes nothing.
    org.fail(r"/query", Response(500, errors("UNKNOWN_EXCEPTION", "down")), times=100)
    org.requests.clear()
    failed = CliRunner().invoke(main, ["refresh", "--source", "salesforce", "--push"], env=env)
    assert failed.exit_code == 1 and writes(org) == []


def test_the_salesforce_metadata_in_docs_names_exactly_the_default_fields():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from cs_analytics.config import SalesforcePush

    root = Path(__file__).resolve().parent.parent / "docs/salesforce/force-app/main/default"
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}

    def fields(obj):
        found = {}
        for path in (root / "objects" / obj / "fields").glob("*.field-meta.xml"):
            xml = ET.parse(path).getroot()
            found[xml.find("m:fullName", ns).text] = (
                xml.find("m:type", ns).text, xml.findtext("m:externalId", "false", ns))
        return found

    p = SalesforcePush()
    assert set(fields("Account")) == set(p.account_fields.values())
    usage = fields(p.usage_object)
    assert set(usage) == set(p.usage_fields.values()) | {p.usage_key_field}
    assert usage[p.usage_key_field] == ("Text", "true")
    assert usage[p.usage_fields["account"]][0] == "Lookup"
    assert fields("Activity") == {p.task_key_field: ("Text", "true")}
    # The types the fake org is set up with are the metadata's.
    kinds = {"Number": "double", "Text": "string", "Date": "date", "Lookup": "reference"}
    assert {f: kinds[t] for f, (t, _) in fields("Account").items()} == ACCOUNT_PUSH_FIELDS
    permset = (root / "permissionsets/CS_Analytics_Integration.permissionset-meta.xml").read_text()
    for name in [*fields("Account"), *usage]:
        assert f"{name}</field>" in permset
