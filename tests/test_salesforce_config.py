"""Connector settings: Salesforce object overrides merge into the defaults, mistakes name the
key, SOQL is built from the mapping with format_soql."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.config import SalesforceObject, settings_from_dict
from cs_analytics.errors import ConfigError
from cs_analytics.ingest import metabase, salesforce


def test_overriding_one_field_keeps_the_rest_of_the_default_mapping():
    s = settings_from_dict({"salesforce": {"objects": {
        "contracts": {"fields": {"amount": "TotalContractValue__c", "status": ""}},
        "events": {"enabled": False}}}})
    contracts = s.salesforce.objects["contracts"]
    assert contracts.object == "Contract" and contracts.table == "contracts"
    assert contracts.fields == {"contract_id": "Id", "account_id": "AccountId",
                                "start_date": "StartDate", "end_date": "EndDate", "status": "",
                                "amount": "TotalContractValue__c", "auto_renew": "",
                                "notice_days": "", "notice_date": ""}
    assert set(s.salesforce.objects) == {"users", "accounts", "contracts", "tasks", "events"}
    assert s.salesforce.objects["events"].enabled is False
    assert s.salesforce.objects["events"].constants == {"type": "meeting"}
    assert salesforce.selected_fields(contracts, include_deleted=True) == [
        "Id", "SystemModstamp", "AccountId", "StartDate", "EndDate", "TotalContractValue__c",
        "Status", "IsDeleted"]


@pytest.mark.parametrize("raw, message", [
    ({"objects": {"contracts": {"fields": {"amout": "Amount__c"}}}},
     "salesforce.objects.contracts.fields.amout: expected a column of contracts"),
    ({"objects": {"contracts": {"fields": {"amount": "Amount__c FROM User --"}}}},
     "salesforce.objects.contracts.fields.amount: expected a field API name like Amount__c"),
    ({"objects": {"plans": {"table": "contracts", "object": "Plan__c",
                            "fields": {"account_id": "Account__c"}}}},
     "salesforce.objects.plans.fields.contract_id: missing: the key column contract_id"),
    ({"objects": {"plans": {"table": "contract", "object": "Plan__c"}}},
     "salesforce.objects.plans.table: expected one of users"),
    ({"objects": {"accounts": {"object": "Account; DELETE"}}},
     "salesforce.objects.accounts.object: expected a Salesforce object API name"),
    ({"task_type_map": {"Email": "mail"}},
     "salesforce.task_type_map.Email: expected one of meeting, email, call, other"),
    ({"timezone": "Asia/Tokio"}, "salesforce.timezone: expected a time zone name"),
    ({"objects": {"contracts": {"keep": {"Status IN ('Draft')": ["x"]}}}},
     "salesforce.objects.contracts.keep.Status IN ('Draft'): expected a field API name"),
    ({"objects": {"events": {"timed": {"subject": "ActivityDateTime"}}}},
     "salesforce.objects.events.timed.subject: expected a date column of activities: date"),
    ({"objects": {"events": {"all_day": "IsAllDay Event"}}},
     "salesforce.objects.events.all_day: expected a checkbox field API name"),
    ({"api_version": "v59.0"}, "salesforce.api_version: expected a version like 59.0"),
])
def test_salesforce_setting_mistakes_name_the_key(raw, message):
    with pytest.raises(ConfigError) as exc_info:
        settings_from_dict({"salesforce": raw})
    assert str(exc_info.value).startswith(message)


def test_filters_merge_key_by_key_and_an_empty_list_is_no_condition():
    s = settings_from_dict({"salesforce": {"objects": {
        "contracts": {"keep": {"Status": ["Activated", "有効"]}},
        "tasks": {"keep": {"IsClosed": [], "Status": ["Completed"]}}}}})
    objects = s.salesforce.objects
    assert objects["contracts"].keep == {"Status": ["Activated", "有効"]}
    assert objects["tasks"].keep == {"IsClosed": [], "Status": ["Completed"]}
    assert objects["events"].keep == {"IsChild": ["false"]}
    assert objects["events"].timed == {"date": "ActivityDateTime"}
    assert objects["events"].all_day == "IsAllDayEvent"
    record = {"IsClosed": False, "Status": "Completed"}
    assert salesforce.left_out_by(objects["tasks"], record) is None
    assert salesforce.left_out_by(objects["tasks"], {**record, "Status": "Deferred"}) == "Status"
    # REST gives checkboxes as JSON booleans, Bulk API 2.0 as text.
    assert salesforce.left_out_by(objects["events"], {"IsChild": "false"}) is None
    assert salesforce.left_out_by(objects["events"], {"IsChild": True}) == "IsChild"


def test_a_disabled_object_needs_no_key_mapping():
    s = settings_from_dict({"salesforce": {"objects": {"plans": {
        "table": "contracts", "object": "Plan__c", "enabled": False}}}})
    assert s.salesforce.objects["plans"].enabled is False


@pytest.mark.parametrize("raw, message", [
    ({"cards": [{"id": 0, "table": "usage"}]}, "metabase.cards[0].id: expected the card's id"),
    ({"cards": [{"id": 4, "table": "usage", "mapping": {"週": "week"}}]},
     "metabase.cards[0].mapping.週: expected a column of usage"),
])
def test_metabase_card_mistakes_name_the_key(raw, message):
    with pytest.raises(ConfigError) as exc_info:
        settings_from_dict({"metabase": raw})
    assert str(exc_info.value).startswith(message)


def test_card_mapping_puts_the_cards_display_names_first():
    s = settings_from_dict({
        "import": {"mapping": {"usage": {"週": "date", "回数": "logins"},
                               "accounts": {"会社コード": "account_id"}}},
        "metabase": {"url": "http://mb", "cards": [
            {"id": 3, "table": "usage", "mapping": {"回数": "deliveries"}}]}})
    assert metabase.card_mapping(s, s.metabase.cards[0]) == {
        "usage": {"回数": "deliveries", "週": "date"}, "accounts": {"会社コード": "account_id"}}


def test_soql_is_built_with_format_soql():
    obj = SalesforceObject(table="accounts", object="Account", where="Type = 'Customer'",
                           fields={"account_id": "Id", "name": "Name", "owner_id": "Owner.Id"})
    since = dt.datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    fields = salesforce.selected_fields(obj, include_deleted=True)
    assert salesforce.build_soql(obj, fields, since) == (
        "SELECT Id, SystemModstamp, Name, Owner.Id, IsDeleted FROM Account "
        "WHERE (Type = 'Customer') AND SystemModstamp >= 2026-03-01T00:30:15+00:00")
    assert salesforce.build_soql(obj, ["Id"], None) == \
        "SELECT Id FROM Account WHERE (Type = 'Customer')"


def test_flat_names_of_field_paths():
    assert [salesforce.flat_name(p) for p in ("Owner.Name", "SystemModstamp", "Amount__c",
                                              "Account.Owner.Email", "IsDeleted")] == [
        "owner_name", "system_modstamp", "amount__c", "account_owner_email", "is_deleted"]


def test_datetimes_become_dates_in_the_configured_time_zone():
    tokyo = salesforce.Converter(settings_from_dict({}))
    utc = salesforce.Converter(settings_from_dict({"salesforce": {"timezone": "UTC"}}))
    column = salesforce.contract.TABLES["accounts"].column("created_date")
    for raw in ("2024-04-14T20:00:00.000+0000", "2024-04-14T20:00:00.000Z"):
        assert tokyo.value(column, "accounts", raw) == dt.date(2024, 4, 15)
        assert utc.value(column, "accounts", raw) == dt.date(2024, 4, 14)
    assert tokyo.value(column, "accounts", "2024-04-14") == dt.date(2024, 4, 14)
