"""The Source protocol (ingest/source.py): sources load into one build, are told only after the
snapshot holding their rows is published, and a failing source publishes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_analytics.config import settings_from_dict
from cs_analytics.errors import SourceError
from cs_analytics.ingest import demo, metabase, salesforce
from cs_analytics.ingest.imports import FileSource
from cs_analytics.ingest.source import Source, publish_sources
from cs_analytics.warehouse.store import Store

END = dt.date(2026, 4, 30)
SETTINGS = settings_from_dict({})


class Renamer:
    """A source written as a new one would be: it renames one account, and records when the
    runner tells it its rows are published."""

    name = "crm"

    def __init__(self, store: Store, account_id: str, new_name: str):
        self.store, self.account_id, self.new_name = store, account_id, new_name
        self.told: list[tuple[int, str | None]] = []

    def load_into(self, build) -> int:
        build.con.execute("UPDATE accounts SET name = ? WHERE account_id = ?",
                          [self.new_name, self.account_id])
        return 1

    def published(self, loaded: int) -> None:
        current = self.store.current_file()
        self.told.append((loaded, current.id if current else None))


class Broken:
    name = "broken"

    def load_into(self, build):
        raise SourceError("broken: the export has no account_id column")

    def published(self, loaded) -> None:
        raise AssertionError("a source is never told about a snapshot that was not published")


def test_two_sources_make_one_snapshot_and_hear_of_it_after_the_publish(tmp_path):
    store = Store(tmp_path / "data")
    tables = demo.generate(accounts=12, years=1, seed=3, end=END)
    first = str(tables["accounts"]["account_id"].iloc[0])
    renamer = Renamer(store, first, "株式会社テスト")
    published, loaded = publish_sources(SETTINGS, store, [demo.DemoSource(tables), renamer],
                                        base="empty", is_demo=True, as_of=END)
    snap = store.open_current()
    assert snap.meta["source"] == "demo+crm"
    assert loaded[0]["accounts"] == 12 and loaded[1] == 1
    assert snap.scalar("SELECT name FROM accounts WHERE account_id = ?", [first]) == "株式会社テスト"
    assert renamer.told == [(1, published.snapshot.id)]


def test_a_failing_source_publishes_nothing_and_no_source_is_told(tmp_path):
    store = Store(tmp_path / "data")
    before = demo.build_demo(SETTINGS, store, accounts=12, years=1, seed=3, end=END)
    first = store.open_current().scalar("SELECT min(account_id) FROM accounts")
    renamer = Renamer(store, first, "renamed")
    with pytest.raises(SourceError, match="no account_id column"):
        publish_sources(SETTINGS, store, [renamer, Broken()])
    assert store.current_file().id == before.snapshot.id
    assert store.open_current().scalar(
        "SELECT name FROM accounts WHERE account_id = ?", [first]) != "renamed"
    assert renamer.told == []


def test_every_source_of_the_product_has_the_protocol(tmp_path):
    store = Store(tmp_path / "data")
    (tmp_path / "accounts.csv").write_text("account_id,name\n", encoding="utf-8")
    products = [salesforce.SalesforceSource(SETTINGS, store, secrets=None),
                metabase.MetabaseSource(SETTINGS, store, None, inbox=[], pull_api=False),
                FileSource(SETTINGS, [tmp_path / "accounts.csv"]),
                demo.DemoSource({})]
    assert [s.name for s in products] == ["salesforce", "metabase", "import", "demo"]
    assert all(isinstance(source, Source) for source in products)
    assert not isinstance(object(), Source)
