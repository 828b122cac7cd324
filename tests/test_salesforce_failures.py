"""Salesforce failures: each one either recovers (bounded retries, one re-login) or ends in one
clear sentence — and after every failure the published snapshot is exactly what it was."""

from __future__ import annotations

import hashlib

import pytest

from cs_analytics.errors import SourceError, ValidationFailed
from cs_analytics.warehouse.store import RefreshLog, Store
from tests.fakes.http import Response
from tests.fakes.salesforce import connector_settings, errors, password_secrets
from tests.fakes.salesforce import pull as salesforce_pull

CONTRACT_QUERY = r"/query(All)?/\?q=SELECT.*FROM\+Contract"
TASK_QUERY = r"/query(All)?/\?q=SELECT.*FROM\+Task"
LIMIT_EXCEEDED = Response(403, errors("REQUEST_LIMIT_EXCEEDED",
                                      "TotalRequests Limit exceeded."))
EXPIRED = Response(401, errors("INVALID_SESSION_ID", "Session expired or invalid"))


@pytest.fixture
def store(tmp_path, org):
    """A data directory whose current snapshot came from a successful Salesforce refresh."""
    store = Store(tmp_path / "data")
    pull(org, store)
    org.requests.clear()
    return store


def pull(org, store, settings=None, **kwargs):
    return salesforce_pull(org, store, settings, session_timeout=5, **kwargs)


def published_state(store: Store):
    """Pointer, current file name and bytes, and every file in the snapshot folder."""
    current = store.current_file()
    return (store.pointer.read_bytes(), current.path.name,
            hashlib.sha256(current.path.read_bytes()).hexdigest(),
            sorted(p.name for p in store.snapshot_dir.iterdir()))


def assert_failed_cleanly(store, before, exc_info):
    assert published_state(store) == before
    last = RefreshLog(store).recent(1)[0]
    assert last["outcome"] == "failed"
    assert last["error"] == " ".join(str(exc_info.value).split())
    assert last["snapshot_id"] is None


# ---------------------------------------------------------------------------- mapping errors


def test_invalid_field_names_the_field_and_the_setting_to_change(org, store):
    before = published_state(store)
    settings = connector_settings({"objects": {"contracts": {"fields": {"amount": "Amount2__c"}}}})
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, settings)
    assert str(exc_info.value) == (
        "Salesforce object Contract has no field Amount2__c (mapped to contracts.amount): set "
        "salesforce.objects.contracts.fields.amount in the settings file to the field's API "
        "name (custom fields end in __c)")
    assert_failed_cleanly(store, before, exc_info)


def test_unknown_relationship_names_the_setting_too(org, store):
    before = published_state(store)
    settings = connector_settings({"objects": {"accounts": {"fields": {"industry": "Parnt.Industry"}}}})
    with pytest.raises(SourceError, match=r"Salesforce object Account has no field "
                                          r"Parnt\.Industry \(mapped to accounts\.industry\): "
                                          r"set salesforce\.objects\.accounts\.fields\.industry"):
        pull(org, store, settings)
    assert published_state(store) == before


def test_object_without_isdeleted_points_at_track_deletes(org, store):
    settings = connector_settings({"objects": {"users": {"track_deletes": True}}})
    pull(org, store, settings, full=True)  # a full pull does not ask for IsDeleted
    before = published_state(store)
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, settings)
    assert str(exc_info.value) == ("Salesforce object User has no IsDeleted field: set "
                                   "salesforce.objects.users.track_deletes = false")
    assert_failed_cleanly(store, before, exc_info)


def test_a_missing_filter_field_names_the_object_the_field_and_the_setting(org, store):
    before = published_state(store)
    org.schema["Event"].remove("IsChild")
    with pytest.raises(SourceError) as exc_info:
        pull(org, store)
    assert str(exc_info.value) == (
        "Salesforce object Event has no field IsChild, which salesforce.objects.events.keep "
        "filters on: set salesforce.objects.events.keep.IsChild = [] to drop the condition, "
        "or name the field your org uses")
    assert_failed_cleanly(store, before, exc_info)
    org.schema["Event"].remove("ActivityDateTime")
    settings = connector_settings({"objects": {"events": {"keep": {"IsChild": []}}}})
    with pytest.raises(SourceError, match=r"^Salesforce object Event has no field "
                                          r"ActivityDateTime \(the moment of timed records for "
                                          r"activities\.date\): set "
                                          r"salesforce\.objects\.events\.timed\.date"):
        pull(org, store, settings)
    assert published_state(store) == before


def test_unknown_object_and_bad_where(org, store):
    before = published_state(store)
    settings = connector_settings({"objects": {"plans": {
        "table": "contracts", "object": "Plan__c",
        "fields": {"contract_id": "Id", "account_id": "Account__c"}}}})
    with pytest.raises(SourceError, match=r"^Salesforce has no object Plan__c that this user "
                                          r"can read .*: set salesforce\.objects\.plans\.object "
                                          r"to the object's API name, or "
                                          r"salesforce\.objects\.plans\.enabled = false$"):
        pull(org, store, settings)
    settings = connector_settings({"objects": {"accounts": {
        "where": "Type = 'Customer' OR Type = 'Partner'"}}})
    with pytest.raises(SourceError, match=r"^Salesforce rejected the query for Account "
                                          r"\(MALFORMED_QUERY: .*\): check "
                                          r"salesforce\.objects\.accounts\.where"):
        pull(org, store, settings)
    assert published_state(store) == before


def test_values_that_do_not_fit_are_all_reported(org, store):
    before = published_state(store)
    org.update("Contract", "800A1", Amount__c="未定")
    org.update("Contract", "800B1", Amount__c=-5)
    org.update("Task", "00T1", ActivityDate="来週")
    with pytest.raises(ValidationFailed) as exc_info:
        pull(org, store)
    assert str(exc_info.value).startswith("3 Salesforce values do not fit the canonical tables")
    assert exc_info.value.problems == [
        "Salesforce Contract 800A1: Amount__c (contracts.amount) is '未定', not a number; "
        "expected an amount in yen of 0 or more, like 120000 or 1,200,000 — check "
        "salesforce.objects.contracts.fields.amount",
        "Salesforce Contract 800B1: Amount__c (contracts.amount) is -5, a negative amount; "
        "expected an amount in yen of 0 or more, like 120000 or 1,200,000 — check "
        "salesforce.objects.contracts.fields.amount",
        "Salesforce Task 00T1: ActivityDate (activities.date) is '来週', not a date; expected "
        "a date like 2026-04-01 (YYYY-MM-DD or YYYY/MM/DD) — check "
        "salesforce.objects.tasks.fields.date"]
    assert_failed_cleanly(store, before, exc_info)


# ---------------------------------------------------------------------------- transient errors


def test_request_limit_exceeded_is_retried_then_succeeds(org, store):
    org.fail(CONTRACT_QUERY, LIMIT_EXCEEDED, times=2)
    org.update("Contract", "800A1", Amount__c=1_320_000)
    messages = []
    pull(org, store, messages=messages)
    retries = [m for m in messages if "REQUEST_LIMIT_EXCEEDED" in m]
    assert retries == [
        "Salesforce: the API request limit is exceeded (REQUEST_LIMIT_EXCEEDED) while reading "
        "Contract; retry 1 of 3 in 0 s",
        "Salesforce: the API request limit is exceeded (REQUEST_LIMIT_EXCEEDED) while reading "
        "Contract; retry 2 of 3 in 0 s"]
    assert store.open_current().rows(
        "SELECT amount FROM contracts WHERE contract_id = '800A1'") == [(1_320_000.0,)]


def test_request_limit_exceeded_gives_up_after_the_configured_retries(org, store):
    before = published_state(store)
    org.fail(CONTRACT_QUERY, LIMIT_EXCEEDED, times=100)
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, connector_settings({"max_retries": 2}))
    assert str(exc_info.value) == (
        "Salesforce failed while reading Contract: the API request limit is exceeded "
        "(REQUEST_LIMIT_EXCEEDED); gave up after 2 retries")
    assert len([r for r in org.requests if "FROM Contract" in (r.param("q") or "")]) == 3
    assert_failed_cleanly(store, before, exc_info)


def test_server_errors_are_retried(org, store):
    org.fail(TASK_QUERY, Response(503, errors("SERVER_UNAVAILABLE", "down for maintenance")))
    org.fail(r"/query/01g", Response(500, errors("UNKNOWN_EXCEPTION", "oops")))
    messages = []
    pull(org, store, messages=messages, full=True)  # full: several pages
    assert any("Salesforce answered HTTP 503 SERVER_UNAVAILABLE while reading Task; retry 1"
               in m for m in messages)
    assert any("Salesforce answered HTTP 500 UNKNOWN_EXCEPTION" in m for m in messages)


def test_connection_dropped_mid_pagination_restarts_the_object(org, store):
    org.update("Task", "00T3", Subject="更新済み")
    # Page 1 of the tasks query arrives, then the connection drops on page 2 once.
    org.drop(r"/query/01g")
    messages = []
    pull(org, store, messages=messages, full=True)
    assert any("the connection failed or dropped while reading" in m for m in messages)
    assert store.open_current().rows(
        "SELECT activity_id, subject FROM activities ORDER BY 1") == [
        ("00T1", "ご提案資料の送付"), ("00T2", "更新のご相談"), ("00T3", "更新済み"),
        ("00U1", "定例MTG"), ("00U3", "朝会"), ("00U4", "導入研修（終日）")]


def test_connection_dropped_every_time_fails_and_publishes_nothing(org, store):
    before = published_state(store)
    org.drop(r"/query/01g", times=100)
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, full=True)
    assert str(exc_info.value).endswith(
        "the connection failed or dropped; gave up after 3 retries")
    assert_failed_cleanly(store, before, exc_info)


def test_timeout_is_retried(org, store):
    org.delay(CONTRACT_QUERY, seconds=2.0)
    messages = []
    pull(org, store, connector_settings({"timeout_seconds": 0.5}), messages=messages)
    assert any("no answer within 0.5 seconds while reading Contract; retry 1 of 3" in m
               for m in messages)


# ---------------------------------------------------------------------------- sessions


def test_expired_session_logs_in_again_once(org, store):
    org.fail(CONTRACT_QUERY, EXPIRED)
    messages = []
    pull(org, store, messages=messages)
    assert "Salesforce session expired: logging in again" in messages
    assert [flow for flow, _host in org.logins[-2:]] == ["soap", "soap"]
    assert len(org.logins) == 3  # the fixture's refresh, this one, the re-login


def test_session_rejected_again_after_a_new_login_is_a_clear_error(org, store):
    before = published_state(store)
    org.fail(CONTRACT_QUERY, EXPIRED, times=100)
    with pytest.raises(SourceError) as exc_info:
        pull(org, store)
    assert str(exc_info.value) == (
        "Salesforce rejected a new session right after logging in again while reading "
        "Contract: check that the user may use the API")
    assert len(org.logins) == 3
    assert_failed_cleanly(store, before, exc_info)


def test_expired_session_id_cannot_be_renewed(org, store):
    before = published_state(store)
    logins = len(org.logins)
    secrets = {"SF_INSTANCE_URL": org.url, "SF_SESSION_ID": "00DFAKE!expired-session-id"}
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, secrets=secrets)
    assert str(exc_info.value).startswith(
        "Salesforce rejected the session id (INVALID_SESSION_ID): the session in SF_SESSION_ID "
        "has expired or was revoked")
    assert len(org.logins) == logins
    assert_failed_cleanly(store, before, exc_info)


def test_wrong_password_is_one_sentence(org, store):
    before = published_state(store)
    secrets = password_secrets(org, SF_PASSWORD="wrong-password")
    with pytest.raises(SourceError) as exc_info:
        pull(org, store, secrets=secrets)
    assert str(exc_info.value) == (
        "Salesforce login failed (username + password + security token, user "
        "cs-bot@example.com): INVALID_LOGIN: Invalid username, password, security token; or "
        "user locked out.")
    assert_failed_cleanly(store, before, exc_info)


def test_login_server_errors_are_retried(org, store):
    unavailable = "<html><body>Service Unavailable<br></body></html>"  # not well-formed XML
    org.fail(r"/services/Soap/u/", Response(503, unavailable, content_type="text/html"))
    messages = []
    pull(org, store, messages=messages)
    assert any("the login server answered HTTP 503 while logging in; retry 1 of 3" in m
               for m in messages)
