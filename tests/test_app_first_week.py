"""What a new user would hit in the first week (issue 22), as AppTest sees it: the alert form
belongs to the selected alert, uploading over demo data says what will happen, deltas and
amounts read one way everywhere, times in the configured zone, inputs with no misleading
defaults, and the headline cards in reading order."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics import alert_actions
from cs_analytics.store import Store
from test_app_common import (demo_home, make_app, metric, open_account_tab,  # noqa: F401
                             run_page, select_row, table, table_with, texts,
                             use_home)
from test_app_interactions import own_demo_home  # noqa: F401

# ---------------------------------------------------------------------------- alerts


def _press(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def test_an_alert_comment_belongs_to_the_selected_alert(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("weekly_check", "en")
    alerts = table(at, "check_alerts")
    assert len(alerts) >= 2
    select_row(at, "check_alerts", 0)
    comment = next(w for w in at.text_input if w.label == "Comment")
    comment.input("called the customer, campaign restarts in May")
    _press(at, "Acknowledge")
    assert not at.exception
    first = alert_actions.actions(store).iloc[-1]
    assert first["comment"] == "called the customer, campaign restarts in May"
    # Cleared after the action, and a confirmation of what was recorded, by whom.
    shown = texts(at)
    assert "Acknowledged" in shown and "local" in shown
    assert "called the customer, campaign restarts in May" in shown
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")

    select_row(at, "check_alerts", 1)
    assert all(w.value == "" for w in at.text_input if w.label == "Comment")
    _press(at, "Snooze")
    assert not at.exception
    second = alert_actions.actions(store).iloc[-1]
    assert second["action"] == "snooze"
    assert (second["account_id"], second["signal"]) != (first["account_id"], first["signal"])
    assert second["comment"] == ""  # not the first alert's comment
    assert "Snoozed" in texts(at)


# ---------------------------------------------------------------------------- upload over demo


def test_uploading_over_demo_data_says_what_will_happen(own_demo_home, use_home, tmp_path,
                                                       monkeypatch):
    config = tmp_path / "cs_analytics.toml"
    config.write_text("[import]\nupload_max_mb = 50\n", encoding="utf-8")
    monkeypatch.setenv("CS_ANALYTICS_CONFIG", str(config))
    use_home(own_demo_home)
    store = Store(own_demo_home)
    pointer = store.pointer.read_text()
    demo_account = store.open_current().scalar("SELECT min(account_id) FROM accounts")
    at = run_page("data", "ja")
    # Before the button: the demo data is replaced, and what a first import needs.
    shown = texts(at)
    assert "最初の取り込みでデモデータはすべて置き換えられ" in shown
    assert "顧客（accounts）" in shown and "ユーザー（users）" in shown
    assert not at.checkbox  # no "unticked = add and update" over demo data
    uploader = at.file_uploader(key="upload_files")
    assert uploader.proto.max_upload_size_mb == 50  # the limit the uploader states
    contracts = ("contract_id,account_id,start_date,end_date,amount\n"
                 f"C9001,{demo_account},2026-01-01,2026-12-31,1200000\n").encode()
    uploader.upload("契約.csv", contracts, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("現在のデータはデモデータのため、この取り込みはデモデータを置き換えます" in e
               for e in errors), errors
    assert [s.state for s in at.status] == ["error"]  # not "取り込み中…" for ever
    assert at.status[0].label == "取り込めませんでした"
    assert store.pointer.read_text() == pointer  # nothing published


def test_import_progress_and_history_in_the_uis_language(own_demo_home, use_home):
    use_home(own_demo_home)
    store = Store(own_demo_home)
    at = run_page("data", "ja")
    users = "ユーザーID,名前\nU1,山田 太郎\n".encode("cp932")
    accounts_csv = "取引先ID,取引先名,担当者ID\nA1,㈱サンプル,U1\n".encode("cp932")
    at.file_uploader(key="upload_files").upload("users.csv", users, "text/csv").upload(
        "取引先.csv", accounts_csv, "text/csv")
    next(b for b in at.button if b.label == "取り込む").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.state for s in at.status] == ["complete"]
    progress = [m.value for m in at.status[0].markdown]
    assert progress and all(line.startswith("… ") for line in progress), progress
    assert any("キーと参照を確認中" in line for line in progress)
    log = table_with(at, "行数", "開始")
    assert list(log["行数"]) == ["ユーザー 1、顧客 1、契約 0、活動 0、利用実績 0"]
    assert all(str(v).endswith(" JST") for v in log["開始"])
    assert all(str(v).endswith(" JST") for v in table_with(at, "表示中", "作成日時")["作成日時"])
    assert store.open_current().scalar("SELECT count(*) FROM accounts") == 1
