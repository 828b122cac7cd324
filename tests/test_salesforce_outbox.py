"""Notes and manual assessments written in the app reach Salesforce as completed Tasks (issue 26
item 5): queued in the user-data store the moment they are recorded, kept while Salesforce is
down, sent by the next push, shown in the app as not yet in Salesforce until then — and, without
Salesforce configured, kept locally as before."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics import clock
from cs_analytics.errors import SourceError
from cs_analytics.outputs.writeback import outbox
from cs_analytics.secrets import Secrets
from cs_analytics.userdata import assessments, notes
from cs_analytics.warehouse.store import Store
from tests.fakes.salesforce import AS_OF, pull as salesforce_pull
from tests.test_app_common import open_account_tab, run_page, texts, use_home  # noqa: F401
from tests.test_salesforce_push import org, run, settings, snapshot, store  # noqa: F401

API_USER = "005FAKE000000001"


def tasks_of(org) -> dict[str, dict]:
    return {r["CS_Outbox_Key__c"]: r for r in org.records["Task"].values()
            if r.get("CS_Outbox_Key__c")}


def write_both(store):
    notes.add_note(store, "001A", "導入研修の振り返り\n次回は活用事例を紹介する", "tanaka@example.com")
    assessments.record_assessment(store, "001B", "warning", dt.date(2026, 6, 30),
                                  "yamada@partner.example.jp", "担当交代で接点が減っている",
                                  today=AS_OF)


def test_the_outbox_keeps_everything_while_salesforce_is_down_and_drains_when_it_returns(
        org, store):
    write_both(store)
    assert outbox.counts(store) == {"pending": 2, "refused": 0, "sent": 0}

    org.drop(r"/services/", times=1000)  # Salesforce unreachable
    with pytest.raises(SourceError, match="the connection failed or dropped"):
        run(org, store)
    assert outbox.counts(store) == {"pending": 2, "refused": 0, "sent": 0}
    assert tasks_of(org) == {}

    org.faults.clear()
    result = run(org, store)
    assert result.tallies["Task"].sent == 2 and result.ok
    assert outbox.pending(store) == []
    tasks = list(tasks_of(org).values())
    note = next(t for t in tasks if t["CS_Outbox_Key__c"].startswith("cs-note-"))
    written = notes.notes(store, "001A").iloc[0]
    assert note["Subject"] == "CS Analyticsメモ: 導入研修の振り返り"
    assert note["Description"].startswith("導入研修の振り返り\n次回は活用事例を紹介する\n\n"
                                          "記入者: tanaka@example.com（CS Analyticsで記録, ")
    assert (note["WhatId"], note["AccountId"], note["Status"], note["IsClosed"]) == (
        "001A", "001A", "Completed", True)
    # The author's e-mail is 田中's Salesforce user: the Task is his.
    assert note["OwnerId"] == "005A"
    assert note["ActivityDate"] == clock.local(written["created_at"], settings()).date() \
        .isoformat()
    assessment = next(t for t in tasks if t["CS_Outbox_Key__c"].startswith("cs-assessment-"))
    assert assessment["Subject"] == "ヘルス手動評価: 警戒（2026-06-30まで）"
    assert assessment["Description"].startswith(
        "手動評価: 警戒 (warning)\n有効期限: 2026-06-30\nコメント: 担当交代で接点が減っている"
        "\n\n記入者: yamada@partner.example.jp")
    # No Salesforce user has that e-mail: the integration user owns it, the author is named.
    assert assessment["OwnerId"] == API_USER
    assert outbox.counts(store) == {"pending": 0, "refused": 0, "sent": 2}
    state = outbox.states(store, "note", "001A")[int(written["id"])]
    assert state["status"] == "sent" and state["task_id"] == note["Id"]

    # Sent once: the next push has nothing for Salesforce.
    org.requests.clear()
    assert run(org, store).to_send == 0 and org.requests == []


def test_a_refused_task_stays_in_the_outbox_with_salesforce_s_reason(org, store):
    write_both(store)
    note = next(i for i in outbox.pending(store) if i.kind == "note")
    org.reject("Task", note.key, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
               "件名は80文字以内にしてください", ["Subject"])
    result = run(org, store)
    assert [(r.object, r.error) for r in result.refused] == [
        ("Task", "FIELD_CUSTOM_VALIDATION_EXCEPTION: 件名は80文字以内にしてください (Subject)")]
    assert result.refused[0].record.startswith("note ")
    assert outbox.counts(store) == {"pending": 1, "refused": 1, "sent": 1}
    shown = outbox.with_status(notes.notes(store, "001A"), store, "note", "001A")
    assert list(shown["salesforce"]) == ["refused"]
    assert "件名は80文字以内" in shown["salesforce_error"].iloc[0]
    org.rejections.clear()
    assert run(org, store).tallies["Task"].sent == 1
    assert outbox.counts(store) == {"pending": 0, "refused": 0, "sent": 2}


def test_a_note_on_an_account_not_in_the_data_waits_without_failing_the_push(org, store):
    notes.add_note(store, "A00007", "デモデータで書いたメモ", "tanaka@example.com")
    result = run(org, store)
    assert result.ok and result.tallies["Task"].waiting == 1 and result.tallies["Task"].sent == 0
    assert "1 waiting (account not in the current data)" in result.summary()[2]
    assert outbox.counts(store)["pending"] == 1


def test_tasks_switched_off_leave_notes_local(org, store):
    write_both(store)
    result = run(org, store, settings(tasks=False))
    assert "Task" not in result.tallies and tasks_of(org) == {}
    assert not outbox.enabled(settings(tasks=False), Secrets({"SF_SESSION_ID": "x",
                                                             "SF_INSTANCE_URL": "http://h"}))


def test_tasks_the_push_wrote_are_not_contacts_in_the_next_refresh(org, tmp_path):
    store = Store(tmp_path / "sf")
    salesforce_pull(org, store)
    notes.add_note(store, "001C", "電話の前に社内で方針を確認", "tanaka@example.com")
    result = run(org, store)
    assert result.tallies["Task"].sent == 1
    task_id = next(iter(tasks_of(org).values()))["Id"]
    messages = []
    salesforce_pull(org, store, messages=messages)
    assert (task_id,) not in store.open_current().rows("SELECT activity_id FROM activities")
    assert ("Salesforce Task: 1 records left out: the Tasks carrying notes and assessments "
            "from this app") in messages


def test_without_salesforce_the_app_keeps_notes_locally_and_says_nothing_of_it(
        org, store, use_home, monkeypatch):
    write_both(store)
    use_home(store.home)
    for name in ("SF_USERNAME", "SF_SESSION_ID", "SF_INSTANCE_URL", "SF_CONSUMER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CS_ANALYTICS_SECRETS", str(store.home / "no-secrets.toml"))
    at = run_page("account", "en", {"account_id": "001A"})
    open_account_tab(at, "notes", "en")
    assert not at.exception
    frame = next(df.value for df in at.dataframe)
    assert "Salesforce" not in frame.columns
    assert "written to Salesforce" not in texts(at)

    # With Salesforce configured, each note says whether it is in Salesforce yet.
    monkeypatch.setenv("SF_INSTANCE_URL", org.url)
    monkeypatch.setenv("SF_SESSION_ID", "not-used-by-the-page")
    at = run_page("account", "en", {"account_id": "001A"})
    open_account_tab(at, "notes", "en")
    assert not at.exception
    frame = next(df.value for df in at.dataframe)
    assert list(frame["Salesforce"]) == ["Not yet sent"]
    assert "Salesforce's answer" not in frame.columns  # nothing refused: no column for it
    assert "are written to Salesforce as completed Tasks" in texts(at)
    at = run_page("account", "en", {"account_id": "001B"})
    open_account_tab(at, "health", "en")
    assessments = next(df.value for df in at.dataframe if "Salesforce" in df.value.columns)
    assert list(assessments["Salesforce"]) == ["Not yet sent"]
    at = run_page("data", "en")
    assert not at.exception
    assert ("2 notes and manual assessments are not in Salesforce yet. The next write-back "
            "sends them.") in texts(at)
