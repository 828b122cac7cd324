"""Metabase: API pulls per card against a local fake Metabase, and the inbox folder of exported
CSV / XLSX / JSON files — each failure publishing nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import openpyxl
import pytest
from click.testing import CliRunner

from cs_analytics.cli import main
from cs_analytics.config import settings_from_dict
from cs_analytics.errors import SourceError, ValidationFailed
from cs_analytics.ingest import metabase, salesforce
from cs_analytics.ingest.refresh import refresh
from cs_analytics.secrets import Secrets
from cs_analytics.warehouse.store import RefreshLog, Store
from tests.fakes.http import Response
from tests.fakes.metabase import API_KEY, FakeMetabase
from tests.fakes.salesforce import FakeSalesforce, password_secrets, populate

AS_OF = dt.date(2026, 3, 31)
USAGE_HEADER = ["顧客ID", "日付", "配信数", "ログイン数", "視聴者数", "週アクティブ"]


@pytest.fixture
def server():
    with FakeMetabase() as fake:
        fake.set_card(12, USAGE_HEADER, [["001A", "2026-03-02", 3, 20, 150, 8],
                                         ["001B", "2026-03-02T00:00:00+09:00", 0, 4, 0, 2]])
        yield fake


@pytest.fixture
def store(make_snapshot):
    """Current data: accounts 001A and 001B (owner u1), no usage yet."""
    make_snapshot(accounts=[{"account_id": "001A", "name": "アルファ", "owner_id": "u1"},
                            {"account_id": "001B", "name": "ベータ", "owner_id": "u1"}],
                  as_of=AS_OF)
    return Store(make_snapshot.home)


def make_settings(server=None, cards=None):
    mb = {}
    if server is not None:
        mb = {"url": server.url + "/", "timeout_seconds": 5,
              "cards": cards if cards is not None else
              [{"id": 12, "table": "usage", "mapping": {"週アクティブ": "active_users"}}]}
    return settings_from_dict({"general": {"as_of": AS_OF}, "metabase": mb,
                               "salesforce": {"backoff_seconds": 0}})


def run(store, settings, key=API_KEY, source="metabase", **kwargs):
    secrets = Secrets({"METABASE_API_KEY": key} if key else {})
    return refresh(settings, store, source=source, secrets=secrets, **kwargs)


def published_state(store):
    current = store.current_file()
    return (store.pointer.read_bytes(), hashlib.sha256(current.path.read_bytes()).hexdigest())


def usage_rows(store):
    return store.open_current().rows(
        "SELECT account_id, date, deliveries, logins, viewers, active_users FROM usage "
        "ORDER BY account_id, date")


# ---------------------------------------------------------------------------- API pulls


def test_card_with_japanese_display_names_is_pulled_into_usage(server, store):
    messages = []
    result = run(store, make_settings(server), progress=messages.append)
    assert usage_rows(store) == [("001A", dt.date(2026, 3, 2), 3, 20, 150, 8),
                                 ("001B", dt.date(2026, 3, 2), 0, 4, 0, 2)]
    request = server.requests[-1]
    assert request.path == "/api/card/12/query/csv" and request.method == "POST"
    assert request.headers["x-api-key"] == API_KEY
    assert request.form() == {"format_rows": "false", "parameters": "[]"}
    assert result.source == "metabase" and result.metabase.cards == [12]
    assert any("Metabase card 12:" in m and "KB of CSV fetched for usage" in m for m in messages)
    assert "metabase   metabase-card-12.csv             → usage             2 rows" in \
        result.summary()
    assert RefreshLog(store).recent(1)[0]["outcome"] == "success"


def test_rejected_api_key_fails_clearly_without_the_key(server, store):
    before = published_state(store)
    with pytest.raises(SourceError) as exc_info:
        run(store, make_settings(server), key="mb_WRONG-SECRET-KEY")
    assert str(exc_info.value) == (
        "Metabase card 12 (usage): Metabase refused the API key (HTTP 401): check "
        "METABASE_API_KEY and that the key's group may view the card")
    assert published_state(store) == before
    log = RefreshLog(store).recent(1)[0]
    assert log["outcome"] == "failed" and log["error"] == str(exc_info.value)


def test_server_error_fails_clearly(server, store):
    before = published_state(store)
    server.fail(r"/api/card/12/", Response(500, {"message": "Connection pool exhausted"}))
    with pytest.raises(SourceError) as exc_info:
        run(store, make_settings(server))
    assert str(exc_info.value) == ("Metabase card 12 (usage): Metabase answered HTTP 500: "
                                   "Connection pool exhausted")
    assert published_state(store) == before


def test_failed_card_query_and_unknown_card(server, store):
    server.fail(r"/api/card/12/", Response(202, {"status": "failed",
                                                 "error": "Table \"usage\" not found"}))
    with pytest.raises(SourceError, match=r"^Metabase card 12 \(usage\): the card's query failed "
                                          r"in Metabase: Table \"usage\" not found$"):
        run(store, make_settings(server))
    with pytest.raises(SourceError, match=r"^Metabase card 99 \(usage\): Metabase has no card "
                                          r"99: check metabase.cards$"):
        run(store, make_settings(server, cards=[{"id": 99, "table": "usage"}]))


def test_missing_api_key_is_named(server, store):
    with pytest.raises(SourceError, match="^metabase.url is set but METABASE_API_KEY is "
                                          "missing"):
        run(store, make_settings(server), key=None)


def test_bad_values_in_a_card_are_reported_by_row_and_column(server, store):
    before = published_state(store)
    server.set_card(12, USAGE_HEADER, [["001A", "2026-03-02", "多い", 20, 150, 8]])
    with pytest.raises(ValidationFailed) as exc_info:
        run(store, make_settings(server))
    assert [str(p) for p in exc_info.value.problems][0].startswith(
        "metabase-card-12.csv:2:配信数: ")
    assert published_state(store) == before


# ---------------------------------------------------------------------------- the inbox


def write_inbox(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "usage-week10.csv").write_bytes(
        "\ufeff取引先ID,日付,配信数,ログイン数\r\n001A,2026-03-09,4,18\r\n".encode("utf-8"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Query result"
    sheet.append(["Account ID", "Date", "Deliveries", "Logins"])
    sheet.append(["001B", dt.datetime(2026, 3, 9), 1, 6])
    book.save(folder / "usage-week10.xlsx")
    (folder / "usage-week11.json").write_text(json.dumps(
        [{"Account ID": "001A", "Date": "2026-03-16T00:00:00+09:00", "Deliveries": 5,
          "Logins": 12}], ensure_ascii=False), encoding="utf-8")
    (folder / "notes.txt").write_text("not an export", encoding="utf-8")


def test_inbox_files_of_all_three_formats_are_loaded_and_moved(store):
    settings = make_settings()
    inbox = metabase.inbox_dir(settings, store)
    write_inbox(inbox)
    result = run(store, settings)
    assert store.open_current().rows(
        "SELECT account_id, date, deliveries, logins FROM usage ORDER BY 2, 1") == [
        ("001A", dt.date(2026, 3, 9), 4, 18), ("001B", dt.date(2026, 3, 9), 1, 6),
        ("001A", dt.date(2026, 3, 16), 5, 12)]
    assert sorted(p.name for p in inbox.iterdir()) == ["notes.txt", "processed"]
    moved = sorted(p.name for p in metabase.processed_dir(settings, store).iterdir())
    assert [name.split("-", 1)[1] for name in moved] == [
        "usage-week10.csv", "usage-week10.xlsx", "usage-week11.json"]
    assert result.metabase.processed and result.metabase.cards == []

    # Nothing new: a metabase refresh has nothing to do and publishes nothing.
    snapshot = store.current_file()
    again = run(store, settings)
    assert again.published is None
    assert again.summary()[0].startswith("nothing to refresh: the Metabase inbox")
    assert store.current_file() == snapshot


def test_a_bad_inbox_file_keeps_every_file_in_the_inbox(store):
    settings = make_settings()
    inbox = metabase.inbox_dir(settings, store)
    write_inbox(inbox)
    (inbox / "usage-week12.csv").write_text("取引先ID,日付,配信数,ログイン数\n001A,2026-03-23,-1,2\n",
                                            encoding="utf-8")
    before = published_state(store)
    with pytest.raises(ValidationFailed) as exc_info:
        run(store, settings)
    assert [str(p).split(":")[:3] for p in exc_info.value.problems] == [
        ["usage-week12.csv", "2", "配信数"]]
    assert published_state(store) == before
    assert len([p for p in inbox.iterdir() if p.is_file()]) == 5
    assert not metabase.processed_dir(settings, store).exists()


def test_inbox_and_cards_load_in_one_snapshot_with_salesforce(server, tmp_path):
    """--source all: Salesforce, the inbox and the API in one build, one publish."""
    store = Store(tmp_path / "data")
    settings = make_settings(server)
    server.set_card(12, USAGE_HEADER, [["001A", "2026-03-02", 3, 20, 150, 8]])
    inbox = metabase.inbox_dir(settings, store)
    write_inbox(inbox)
    with FakeSalesforce(page_size=2) as org:
        populate(org)
        secrets = Secrets({**password_secrets(org), "METABASE_API_KEY": API_KEY})
        result = refresh(settings, store, source="all", secrets=secrets,
                         salesforce_session=org.session())
    assert result.source == "salesforce+metabase"
    assert RefreshLog(store).recent(1)[0]["source"] == "salesforce+metabase"
    assert len(store.snapshot_files()) == 1
    assert store.open_current().rows("SELECT count(*) FROM accounts") == [(3,)]
    assert store.open_current().rows("SELECT count(*) FROM usage") == [(4,)]
    assert set(salesforce.read_watermarks(store)) == {"users", "accounts", "contracts",
                                                      "tasks", "events"}
    assert not [p for p in inbox.iterdir() if p.suffix in (".csv", ".xlsx", ".json")]


def test_a_salesforce_failure_leaves_the_inbox_alone(server, tmp_path):
    store = Store(tmp_path / "data")
    settings = make_settings()
    inbox = metabase.inbox_dir(settings, store)
    write_inbox(inbox)
    with FakeSalesforce(page_size=2) as org:
        populate(org)
        org.fail(r"/query", Response(400, [{"errorCode": "MALFORMED_QUERY",
                                            "message": "unexpected token"}]))
        with pytest.raises(SourceError):
            refresh(settings, store, source="all", secrets=Secrets(password_secrets(org)),
                    salesforce_session=org.session())
    assert store.current_file() is None
    assert len([p for p in inbox.iterdir() if p.is_file()]) == 4


# ---------------------------------------------------------------------------- CLI


def test_cli_refresh_with_nothing_configured(tmp_path):
    env = {"CS_ANALYTICS_HOME": str(tmp_path / "data"),
           "CS_ANALYTICS_CONFIG": str(tmp_path / "none.toml"),
           "CS_ANALYTICS_SECRETS": str(tmp_path / "none-secrets.toml")}
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    for name in ("SF_USERNAME", "SF_SESSION_ID", "SF_CONSUMER_KEY", "SF_INSTANCE_URL"):
        env[name] = ""
    result = CliRunner().invoke(main, ["refresh", "--source", "metabase"], env=env)
    assert result.exit_code == 0
    assert result.stdout.startswith("nothing to refresh: the Metabase inbox")
    result = CliRunner().invoke(main, ["refresh"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: nothing to refresh: Salesforce is not configured")
